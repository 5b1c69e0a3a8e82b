//! `postino blobs`: the message bodies, wherever `[blobs]` keeps them:
//! moving them all to another store, checking them.

use clap::Subcommand;
use postino_common::store::BlobCheck;

use super::print::{ListFormat, print};
use crate::ops::{self, Ops};

/// Progress lines at most every this many bodies.
const PROGRESS_EVERY: usize = 1000;

#[derive(Debug, Subcommand)]
pub enum BlobsCommand {
    /// Move every message body to another store: database, filesystem or
    /// s3 (set `[blobs] backend` to it too, for new bodies). It runs beside
    /// the server; stopped, it goes on where it stopped when run again.
    Migrate {
        /// The store to move the bodies to.
        #[arg(long, value_name = "STORE")]
        to: String,
    },
    /// Check that every message body is where its row says, of its size
    /// and hash; fails if one is not.
    Verify(ListFormat),
}

pub async fn run(ops: &Ops, command: BlobsCommand) -> anyhow::Result<()> {
    match command {
        BlobsCommand::Migrate { to } => {
            let to = ops::parse_blob_target(&to)?;
            let total = ops.blobs_elsewhere(to).await?;
            eprintln!("{total} bodies to move to {}", to.name());
            let moved = ops
                .move_blobs(to, progress(move |n| format!("moved {n} of {total}")))
                .await?;
            println!(
                "moved {} bodies to {}; {} left elsewhere",
                moved.moved, moved.to, moved.left
            );
        }
        BlobsCommand::Verify(format) => {
            let check = ops
                .check_blobs(progress(|n| format!("checked {n}")))
                .await?;
            print(&format, &check, check_text)?;
            if !check.problems.is_empty() {
                anyhow::bail!(
                    "{} of {} bodies are missing or damaged",
                    check.problems.len(),
                    check.checked
                );
            }
        }
    }
    Ok(())
}

/// A progress callback printing `line` for the count now and then.
fn progress(line: impl Fn(usize) -> String) -> impl FnMut(usize) {
    let mut shown = 0;
    move |done| {
        if done >= shown + PROGRESS_EVERY {
            eprintln!("{}", line(done));
            shown = done;
        }
    }
}

fn check_text(check: &BlobCheck) {
    for problem in &check.problems {
        let place = problem.location.as_deref().unwrap_or("database");
        println!("{} {place}: {}", problem.hash, problem.problem);
    }
    println!(
        "checked {} bodies: {} missing or damaged",
        check.checked,
        check.problems.len()
    );
}

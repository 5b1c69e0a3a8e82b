//! `postino backup` and `postino restore`: the whole store, online, into a
//! directory, and back (see [`crate::backup`]).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use super::print::{ListFormat, print, size_text};
use crate::backup::{self, Verified};
use crate::ops::Ops;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    command: Option<BackupCommand>,
    /// The directory to write the backup to: new, or empty.
    dest: Option<PathBuf>,
    /// Take an incremental backup on this earlier one (a directory beside
    /// DEST): every table, and only the bodies it and its own bases lack.
    #[arg(long, value_name = "BACKUP")]
    base: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Check a backup without restoring it: every file against its
    /// checksum, every body against its hash, through its bases; fails if
    /// anything is missing or damaged.
    Verify {
        src: PathBuf,
        #[command(flatten)]
        format: ListFormat,
    },
}

pub async fn run(ops: &Ops, args: BackupArgs) -> anyhow::Result<()> {
    match (args.command, args.dest) {
        (Some(BackupCommand::Verify { src, format }), _) => {
            let verified = backup::verify(&src)?;
            print(&format, &verified, verified_text)?;
            if !verified.problems.is_empty() {
                anyhow::bail!(
                    "{} is damaged: {} problems",
                    src.display(),
                    verified.problems.len()
                );
            }
            Ok(())
        }
        (None, Some(dest)) => {
            let store = ops.whole_store("back up the store")?;
            let started = Instant::now();
            let taken = backup::take(store, &dest, args.base.as_deref(), table_done).await?;
            println!(
                "backed up {} tables, {} rows, {} new bodies ({}), {} bodies left to the base, in {:.1} s",
                taken.tables,
                taken.rows,
                taken.bodies.count,
                size_text(taken.bodies.bytes as i64),
                taken.in_base,
                started.elapsed().as_secs_f64()
            );
            ops.record_backup("store.backup", &dest.display().to_string(), &taken)
                .await?;
            Ok(())
        }
        (None, None) => anyhow::bail!("name the directory to back up to: postino backup DEST"),
    }
}

/// `postino restore SRC`.
pub async fn restore(ops: &Ops, src: PathBuf, replace: bool) -> anyhow::Result<()> {
    let store = ops.whole_store("restore the store")?;
    let started = Instant::now();
    let restored = backup::restore(store, &src, replace, table_done).await?;
    println!(
        "restored {} tables, {} rows, {} bodies ({}), in {:.1} s",
        restored.tables,
        restored.rows,
        restored.bodies,
        size_text(restored.body_bytes as i64),
        started.elapsed().as_secs_f64()
    );
    ops.record_backup("store.restore", &src.display().to_string(), &restored)
        .await?;
    Ok(())
}

fn table_done(table: &str, rows: u64) {
    eprintln!("{table}: {rows} rows");
}

fn verified_text(verified: &Verified) {
    for problem in &verified.problems {
        println!("{problem}");
    }
    println!(
        "checked {} tables, {} rows, {} bodies ({}): {} problems",
        verified.tables,
        verified.rows,
        verified.bodies,
        size_text(verified.body_bytes as i64),
        verified.problems.len()
    );
}

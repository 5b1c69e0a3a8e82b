//! `postino sieve`: a mailbox's Sieve scripts (filters, out-of-office
//! replies), checked when stored.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use postino_common::store::SieveScript;
use postino_config::SieveConfig;

use super::print::{ListFormat, print_list, size_text};
use crate::ops::{Ops, utc};

#[derive(Debug, Subcommand)]
pub enum SieveCommand {
    /// List a mailbox's scripts: name, whether active, size, last change.
    List {
        address: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Print a script's source, as stored.
    Get { address: String, name: String },
    /// Store a script read from FILE (`-`: standard input), new or
    /// replacing the one of that name; refused unless it compiles.
    Put {
        address: String,
        name: String,
        file: PathBuf,
        /// Make it the mailbox's active script too.
        #[arg(long)]
        activate: bool,
    },
    /// Make a script the one delivery runs (at most one is active).
    Activate { address: String, name: String },
    /// Leave the mailbox with no active script.
    Deactivate { address: String },
    /// Rename a script.
    Rename {
        address: String,
        old: String,
        new: String,
    },
    /// Remove a script; the active one must be deactivated first.
    Remove { address: String, name: String },
}

pub async fn run(ops: &Ops, limits: &SieveConfig, command: SieveCommand) -> anyhow::Result<()> {
    match command {
        SieveCommand::List { address, format } => {
            let scripts = ops.sieve_scripts(&address).await?;
            print_list(&format, &scripts, script_table)?;
        }
        SieveCommand::Get { address, name } => {
            let source = ops.sieve_script(&address, &name).await?;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(source.as_bytes())
                .and_then(|()| stdout.flush())
                .context("cannot write the script to standard output")?;
        }
        SieveCommand::Put {
            address,
            name,
            file,
            activate,
        } => {
            let source = read_script(&file, limits)?;
            let stored = ops
                .put_sieve_script(&address, &name, &source, limits, activate)
                .await?;
            let state = if stored.active { ", active" } else { "" };
            println!(
                "stored sieve script {} of {address} ({}{state})",
                stored.name,
                size_text(stored.size)
            );
        }
        SieveCommand::Activate { address, name } => {
            ops.activate_sieve_script(&address, Some(&name)).await?;
            println!("sieve script {name} of {address} is active");
        }
        SieveCommand::Deactivate { address } => {
            ops.activate_sieve_script(&address, None).await?;
            println!("{address} has no active sieve script");
        }
        SieveCommand::Rename { address, old, new } => {
            ops.rename_sieve_script(&address, &old, &new).await?;
            println!("sieve script {old} of {address} is now {new}");
        }
        SieveCommand::Remove { address, name } => {
            ops.remove_sieve_script(&address, &name).await?;
            println!("removed sieve script {name} of {address}");
        }
    }
    Ok(())
}

/// The script in `file` (`-`: standard input), as UTF-8 (RFC 5228 §2.2).
/// A byte past the size limit is enough to have it refused, so no more is
/// read; what was read is then passed on whole, its last character
/// perhaps cut, for the refusal.
fn read_script(file: &Path, limits: &SieveConfig) -> anyhow::Result<String> {
    let most = limits.max_script_size.0.saturating_add(1);
    let mut bytes = Vec::new();
    let shown = file.display();
    if file == Path::new("-") {
        std::io::stdin()
            .take(most)
            .read_to_end(&mut bytes)
            .context("cannot read the script from standard input")?;
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(most).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {shown}"))?;
    }
    if bytes.len() as u64 == most {
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    String::from_utf8(bytes).with_context(|| format!("{shown} is not UTF-8 text"))
}

fn script_table(scripts: &[SieveScript]) {
    println!("{:<32} {:<6} {:>10}  UPDATED", "SCRIPT", "ACTIVE", "SIZE");
    for s in scripts {
        let active = if s.active { "yes" } else { "no" };
        println!(
            "{:<32} {:<6} {:>10}  {}",
            s.name,
            active,
            size_text(s.size),
            utc(s.updated_at)
        );
    }
}

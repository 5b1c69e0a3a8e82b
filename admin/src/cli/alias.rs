//! `postino alias`: aliases and catch-alls (`@domain`).

use clap::Subcommand;
use postino_common::store::Alias;

use super::print::{ListFormat, print_list};
use crate::ops::Ops;

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Add an alias (or `@domain` catch-all) delivering to the targets.
    Add {
        alias: String,
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// List aliases, all or one domain's.
    List {
        domain: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Remove an alias, or only the given targets of it.
    Remove { alias: String, targets: Vec<String> },
}

pub async fn run(ops: &Ops, command: AliasCommand) -> anyhow::Result<()> {
    match command {
        AliasCommand::Add { alias, targets } => {
            let added = ops.add_alias(&alias, &targets).await?;
            for a in added {
                println!("added alias {} -> {}", a.source, a.target);
            }
        }
        AliasCommand::List { domain, format } => {
            let aliases = ops.aliases(domain.as_deref()).await?;
            print_list(&format, &aliases, alias_table)?;
        }
        AliasCommand::Remove { alias, targets } => {
            for a in ops.remove_alias(&alias, &targets).await? {
                println!("removed alias {} -> {}", a.source, a.target);
            }
        }
    }
    Ok(())
}

pub fn alias_table(aliases: &[Alias]) {
    println!("{:<40} TARGET", "ALIAS");
    for a in aliases {
        println!("{:<40} {}", a.source, a.target);
    }
}

//! `postino dkim`: the domains' DKIM signing keys, generated, listed and
//! rotated.

use clap::Subcommand;
use postino_common::store::{DkimKey, DkimKeyState};
use postino_config::HumanDuration;

use super::print::{ListFormat, print_list};
use crate::ops::{self, Ops};

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Generate a domain's signing keys; they sign from now on.
    Generate {
        domain: String,
        /// The key's selector, for one algorithm only (default:
        /// YYYYMMDD-rsa, YYYYMMDD-ed).
        #[arg(long)]
        selector: Option<String>,
        /// rsa (RSA-2048), ed25519, or both.
        #[arg(long, default_value = "both", value_name = "ALGORITHM")]
        algorithm: String,
    },
    /// List keys, all or one domain's, with their state.
    List {
        domain: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Replace a domain's active keys with new ones, which sign at once;
    /// the old ones stay published for the grace period.
    Rotate {
        domain: String,
        /// How long the old keys stay published, such as 7d or 48h.
        #[arg(long, default_value = "7d", value_name = "DURATION")]
        grace: HumanDuration,
    },
}

pub async fn run(ops: &Ops, command: DkimCommand) -> anyhow::Result<()> {
    match command {
        DkimCommand::Generate {
            domain,
            selector,
            algorithm,
        } => {
            let added = ops
                .generate_dkim_keys(&domain, selector.as_deref(), &algorithm)
                .await?;
            for key in &added {
                println!(
                    "generated {} key {} for {}: it signs from now on",
                    key.algorithm, key.selector, key.domain
                );
            }
            println!("publish its records: postino dns {domain}");
        }
        DkimCommand::List { domain, format } => {
            let keys = ops.dkim_keys(domain.as_deref()).await?;
            print_list(&format, &keys, dkim_table)?;
        }
        DkimCommand::Rotate { domain, grace } => {
            let rotation = ops.rotate_dkim_keys(&domain, grace.0).await?;
            for key in &rotation.added {
                println!(
                    "generated {} key {} for {}: it signs from now on",
                    key.algorithm, key.selector, key.domain
                );
            }
            for key in &rotation.retiring {
                let until = key.retire_at.map_or_else(String::new, ops::utc);
                println!(
                    "retiring {} key {}: keep it published until {until}",
                    key.algorithm, key.selector
                );
            }
            println!("publish the new records: postino dns {domain}");
        }
    }
    Ok(())
}

fn dkim_table(keys: &[DkimKey]) {
    println!(
        "{:<32} {:<24} {:<14} {:<8} {:<20} UNTIL",
        "DOMAIN", "SELECTOR", "ALGORITHM", "STATE", "CREATED"
    );
    for k in keys {
        let until = match (k.state, k.retire_at) {
            (DkimKeyState::Active, _) | (_, None) => "-".to_string(),
            (_, Some(at)) => ops::utc(at),
        };
        println!(
            "{:<32} {:<24} {:<14} {:<8} {:<20} {until}",
            k.domain,
            k.selector,
            k.algorithm.as_str(),
            k.state.as_str(),
            ops::utc(k.created_at)
        );
    }
}

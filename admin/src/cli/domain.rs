//! `postino domain`: the hosted domains, their quotas, mailbox limits and
//! state.

use clap::{ArgGroup, Subcommand};
use postino_common::mta_sts::Mode;
use postino_common::store::Domain;
use postino_config::ByteSize;

use super::activation;
use super::alias::alias_table;
use super::mailbox::account_table;
use super::print::{ListFormat, print, print_list, quota_text, size_text};
use super::sending::{LimitArg, SendingArgs, limit_arg, sending_text};
use crate::ops::{DomainChange, DomainDetails, Ops, OpsError};

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a domain.
    Add {
        name: String,
        /// Storage for the whole domain, such as 10GB (default: no limit).
        #[arg(long, value_name = "SIZE")]
        quota: Option<ByteSize>,
        /// Most mailboxes the domain may have (default: no limit).
        #[arg(long, value_name = "N")]
        max_mailboxes: Option<u64>,
    },
    /// List domains.
    List(ListFormat),
    /// Show a domain with its mailboxes and aliases.
    Show {
        name: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Change a domain's quota, mailbox limit, state, spam settings,
    /// sending limits or MTA-STS mode.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        name: String,
        /// Storage for the whole domain, such as 10GB (0: no limit).
        #[arg(long, value_name = "SIZE", group = "change")]
        quota: Option<ByteSize>,
        /// Most mailboxes the domain may have (0: no limit).
        #[arg(long, value_name = "N", group = "change")]
        max_mailboxes: Option<u64>,
        /// Let the domain take mail and its users log in again.
        #[arg(long, group = "change", conflicts_with = "disable")]
        enable: bool,
        /// Refuse mail for the domain and logins of its users; nothing is
        /// removed.
        #[arg(long, group = "change")]
        disable: bool,
        /// Whether rspamd's verdict applies to the domain's mail (spam
        /// refused or filed in Junk): on or off.
        #[arg(long, value_name = "on|off", group = "change", value_parser = on_off)]
        spam_filter: Option<bool>,
        /// The rspamd settings id of the domain's spam profile; "" for
        /// rspamd's defaults.
        #[arg(long, value_name = "ID", group = "change")]
        spam_profile: Option<String>,
        #[command(flatten)]
        sending: SendingArgs,
        /// Days the domain's Junk and Trash keep a message (0: forever;
        /// default: the configured retention).
        #[arg(long, value_name = "DAYS|default", group = "change", value_parser = limit_arg)]
        junk_retention_days: Option<LimitArg>,
        /// The mode of the MTA-STS policy published for the domain.
        #[arg(long, value_name = "enforce|testing|none", group = "change", value_parser = str::parse::<Mode>)]
        mta_sts: Option<Mode>,
    },
    /// Remove a domain.
    Remove {
        name: String,
        /// Remove it even if it has mailboxes, with all their mail.
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(ops: &Ops, command: DomainCommand) -> anyhow::Result<()> {
    match command {
        DomainCommand::Add {
            name,
            quota,
            max_mailboxes,
        } => {
            let domain = ops
                .add_domain(&name, quota.map_or(0, |q| q.0), max_mailboxes.unwrap_or(0))
                .await?;
            println!("added domain {}", domain.name);
        }
        DomainCommand::List(format) => {
            let domains = ops.domains().await?;
            print_list(&format, &domains, domain_table)?;
        }
        DomainCommand::Show { name, format } => {
            let details = ops.domain(&name).await?;
            print(&format, &details, domain_details)?;
        }
        DomainCommand::Update {
            name,
            quota,
            max_mailboxes,
            enable,
            disable,
            spam_filter,
            spam_profile,
            sending,
            junk_retention_days,
            mta_sts,
        } => {
            let [max_messages_per_hour, max_recipients_per_day] = sending.change();
            let change = DomainChange {
                quota_bytes: quota.map(|q| q.0),
                max_mailboxes,
                active: activation(enable, disable),
                spam_filter,
                spam_profile,
                max_messages_per_hour,
                max_recipients_per_day,
                junk_retention_days: junk_retention_days.map(LimitArg::value),
                mta_sts,
            };
            let d = ops.update_domain(&name, &change).await?;
            let max = if d.max_mailboxes == 0 {
                "no mailbox limit".to_string()
            } else {
                format!("at most {} mailboxes", d.max_mailboxes)
            };
            let state = if d.active { "active" } else { "disabled" };
            println!(
                "domain {}: quota {}, {max}, {state}, {}, {}, {}, MTA-STS {}",
                d.name,
                quota_text(d.quota_bytes),
                spam_text(&d),
                domain_sending_text(&d),
                retention_text(&d),
                d.mta_sts_mode
            );
        }
        DomainCommand::Remove { name, force } => {
            let domain = ops
                .remove_domain(&name, force)
                .await
                .map_err(|err| match err {
                    OpsError::Conflict(message) => {
                        anyhow::anyhow!("{message} (--force removes them too)")
                    }
                    other => other.into(),
                })?;
            println!(
                "removed domain {} ({} mailboxes)",
                domain.name, domain.mailboxes
            );
        }
    }
    Ok(())
}

/// The domain's line, then its mailboxes and aliases.
/// `on` or `off`, for a setting given on the command line.
fn on_off(value: &str) -> Result<bool, String> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("`{other}` is neither on nor off")),
    }
}

/// The domain's spam settings, in words.
fn spam_text(domain: &Domain) -> String {
    match (domain.spam_filter, domain.spam_profile.as_deref()) {
        (false, _) => "spam filter off".to_string(),
        (true, None) => "spam filter on".to_string(),
        (true, Some(profile)) => format!("spam filter on (profile {profile})"),
    }
}

/// How long the domain's Junk and Trash keep mail, in words.
fn retention_text(domain: &Domain) -> String {
    match domain.junk_retention_days {
        None => "Junk and Trash: the configured retention".to_string(),
        Some(0) => "Junk and Trash: kept forever".to_string(),
        Some(days) => format!("Junk and Trash: {days} days"),
    }
}

fn domain_sending_text(domain: &Domain) -> String {
    sending_text(
        domain.max_messages_per_hour,
        domain.max_recipients_per_day,
        "configured",
    )
}

fn domain_details(details: &DomainDetails) {
    domain_table(std::slice::from_ref(&details.domain));
    println!("{}", spam_text(&details.domain));
    println!("{}", domain_sending_text(&details.domain));
    println!("{}", retention_text(&details.domain));
    println!("MTA-STS {}", details.domain.mta_sts_mode);
    println!();
    account_table(&details.accounts);
    println!();
    alias_table(&details.aliases);
}

fn domain_table(domains: &[Domain]) {
    println!(
        "{:<32} {:>10} {:>10} {:>9} {:>9} {:>6}",
        "DOMAIN", "USED", "QUOTA", "MAILBOXES", "MAX", "ACTIVE"
    );
    for d in domains {
        let max = if d.max_mailboxes == 0 {
            "unlimited".to_string()
        } else {
            d.max_mailboxes.to_string()
        };
        let active = if d.active { "yes" } else { "no" };
        println!(
            "{:<32} {:>10} {:>10} {:>9} {:>9} {:>6}",
            d.name,
            size_text(d.used_bytes),
            quota_text(d.quota_bytes),
            d.mailboxes,
            max,
            active
        );
    }
}

//! `postino mailbox`: mailboxes, their passwords, quotas and state.

use std::path::PathBuf;

use clap::{ArgGroup, Subcommand};
use postino_common::store::{Account, Share};
use postino_config::ByteSize;

use super::migrate::print_mailbox;
use super::print::{ListFormat, print, print_list, quota_text, size_text};
use super::sending::{SendingArgs, hits_table, sending_text};
use super::{activation, read_password};
use crate::migrate::{self, Format};
use crate::ops::{MailboxChange, MailboxDetails, Ops};

#[derive(Debug, Subcommand)]
pub enum MailboxCommand {
    /// Add a mailbox.
    Add {
        address: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Storage for this mailbox, such as 2GB (default: only the domain's quota).
        #[arg(long, value_name = "SIZE")]
        quota: Option<ByteSize>,
        /// The owner's name, such as "Mario Rossi".
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List mailboxes, all or one domain's.
    List {
        domain: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show a mailbox with its folders.
    Show {
        address: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Set a mailbox's password.
    Passwd {
        address: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a mailbox's quota (0: only the domain's quota).
    Quota { address: String, size: ByteSize },
    /// Change a mailbox's owner name, quota, state or sending limits.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        address: String,
        /// The owner's name, such as "Mario Rossi".
        #[arg(long, value_name = "NAME", group = "change")]
        display_name: Option<String>,
        /// Storage for this mailbox, such as 2GB (0: only the domain's quota).
        #[arg(long, value_name = "SIZE", group = "change")]
        quota: Option<ByteSize>,
        /// Let the mailbox log in again.
        #[arg(long, group = "change", conflicts_with = "disable")]
        enable: bool,
        /// Refuse the mailbox's logins; it still receives mail.
        #[arg(long, group = "change")]
        disable: bool,
        #[command(flatten)]
        sending: SendingArgs,
    },
    /// List the mailboxes that ran into their sending limits in the last
    /// week, latest first.
    LimitHits {
        #[command(flatten)]
        format: ListFormat,
    },
    /// Remove a mailbox with all its mail.
    Remove { address: String },
    /// Share a mailbox, such as an office's role mailbox, with a mailbox of
    /// its domain, which then sees its folders over IMAP under
    /// Condivise/ADDRESS/; sharing again changes the rights.
    Share {
        address: String,
        user: String,
        /// IMAP rights (RFC 4314): l see, r read, s keep \Seen, w other
        /// flags, i add messages, p post, k make folders, x delete folders,
        /// t mark deleted, e expunge, a change rights.
        #[arg(long, default_value = "lrswipkxte")]
        rights: String,
        /// Also let USER send as ADDRESS (MAIL FROM and From:).
        #[arg(long)]
        send_as: bool,
    },
    /// Take from a mailbox every right in another's.
    Unshare { address: String, user: String },
    /// List the shares of a mailbox, or of every mailbox of a domain or all.
    Shares {
        /// A mailbox address, or a domain.
        of: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Import an mbox file (mboxrd or mboxo) into a folder of a mailbox,
    /// with the flags of its Status, X-Status and X-Keywords fields.
    Import {
        address: String,
        file: PathBuf,
        /// The folder to import into (made if missing).
        #[arg(long, value_name = "NAME", default_value = "INBOX")]
        folder: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Write every folder of a mailbox, with flags and dates, into DEST (a
    /// new or empty directory): a Maildir++ tree, or one mbox file per
    /// folder.
    Export {
        address: String,
        #[arg(long, value_enum)]
        format: Format,
        dest: PathBuf,
        /// Print JSON instead of a line.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(ops: &Ops, command: MailboxCommand) -> anyhow::Result<()> {
    match command {
        MailboxCommand::Add {
            address,
            password_stdin,
            quota,
            name,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let account = ops
                .add_mailbox(&address, password.as_ref(), quota.map_or(0, |q| q.0), &name)
                .await?;
            println!("added mailbox {}", account.address);
            if password.is_none() {
                println!(
                    "it has no password yet: set one with `postino mailbox passwd {} --password-stdin`",
                    account.address
                );
            }
        }
        MailboxCommand::List { domain, format } => {
            let accounts = ops.mailboxes(domain.as_deref()).await?;
            print_list(&format, &accounts, account_table)?;
        }
        MailboxCommand::Show { address, format } => {
            let details = ops.mailbox(&address).await?;
            print(&format, &details, mailbox_details)?;
        }
        MailboxCommand::Passwd { address, .. } => {
            ops.set_mailbox_password(&address, &read_password()?)
                .await?;
            println!("password of {address} changed");
        }
        MailboxCommand::Quota { address, size } => {
            let change = MailboxChange {
                quota_bytes: Some(size.0),
                ..MailboxChange::default()
            };
            let account = ops.update_mailbox(&address, &change).await?;
            println!(
                "quota of {} is now {}",
                account.address,
                quota_text(account.quota_bytes)
            );
        }
        MailboxCommand::Update {
            address,
            display_name,
            quota,
            enable,
            disable,
            sending,
        } => {
            let [max_messages_per_hour, max_recipients_per_day] = sending.change();
            let change = MailboxChange {
                display_name,
                quota_bytes: quota.map(|q| q.0),
                active: activation(enable, disable),
                max_messages_per_hour,
                max_recipients_per_day,
            };
            let a = ops.update_mailbox(&address, &change).await?;
            let state = if a.active {
                "active"
            } else {
                "disabled (it still receives mail)"
            };
            println!(
                "mailbox {}: name \"{}\", quota {}, {state}, {}",
                a.address,
                a.display_name,
                quota_text(a.quota_bytes),
                account_sending_text(&a)
            );
        }
        MailboxCommand::LimitHits { format } => {
            let hits = ops.limit_hits().await?;
            print_list(&format, &hits, hits_table)?;
        }
        MailboxCommand::Import {
            address,
            file,
            folder,
            format,
        } => {
            let report = migrate::import_mbox(ops, &address, &file, &folder).await;
            print_mailbox(&format, &report)?;
        }
        MailboxCommand::Export {
            address,
            format,
            dest,
            json,
        } => {
            let exported = migrate::export(ops, &address, format, &dest).await?;
            print(&ListFormat { json }, &exported, |e| {
                println!(
                    "exported {} messages ({}) in {} folders to {}",
                    e.messages,
                    ByteSize(e.bytes),
                    e.folders,
                    e.destination
                );
            })?;
        }
        MailboxCommand::Share {
            address,
            user,
            rights,
            send_as,
        } => {
            let share = ops.share_mailbox(&address, &user, &rights, send_as).await?;
            let sending = if share.send_as {
                ", may send as it"
            } else {
                ""
            };
            println!(
                "{} is shared with {}: rights {}{sending}",
                share.owner, share.grantee, share.rights
            );
        }
        MailboxCommand::Unshare { address, user } => {
            ops.unshare_mailbox(&address, &user).await?;
            println!("{user} has no right in {address} any more");
        }
        MailboxCommand::Shares { of, format } => {
            let shares = match of.as_deref() {
                Some(of) if of.contains('@') => ops.mailbox_shares(Some(of), None).await?,
                domain => ops.mailbox_shares(None, domain).await?,
            };
            print_list(&format, &shares, share_table)?;
        }
        MailboxCommand::Remove { address } => {
            let account = ops.remove_mailbox(&address).await?;
            println!(
                "removed mailbox {} ({} of mail)",
                account.address,
                size_text(account.used_bytes)
            );
        }
    }
    Ok(())
}

/// The mailbox's line, then its folders.
fn account_sending_text(account: &Account) -> String {
    sending_text(
        account.max_messages_per_hour,
        account.max_recipients_per_day,
        "the domain's",
    )
}

fn mailbox_details(details: &MailboxDetails) {
    account_table(std::slice::from_ref(&details.account));
    println!("{}", account_sending_text(&details.account));
    println!();
    println!("{:<20} {:<12} {:>10}", "FOLDER", "SPECIAL-USE", "UIDNEXT");
    for folder in &details.folders {
        let special = folder.special_use.as_deref().unwrap_or("-");
        println!("{:<20} {:<12} {:>10}", folder.name, special, folder.uidnext);
    }
}

pub fn account_table(accounts: &[Account]) {
    println!("{:<40} {:>10} {:>10}  NAME", "MAILBOX", "USED", "QUOTA");
    for a in accounts {
        println!(
            "{:<40} {:>10} {:>10}  {}",
            a.address,
            size_text(a.used_bytes),
            quota_text(a.quota_bytes),
            a.display_name
        );
    }
}

fn share_table(shares: &[Share]) {
    println!(
        "{:<40} {:<40} {:<12} SEND-AS",
        "MAILBOX", "SHARED WITH", "RIGHTS"
    );
    for share in shares {
        let send_as = if share.send_as { "yes" } else { "no" };
        println!(
            "{:<40} {:<40} {:<12} {send_as}",
            share.owner, share.grantee, share.rights
        );
    }
}

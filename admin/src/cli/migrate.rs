//! `postino migrate`: moving a comune's mail in from the server it uses
//! today.

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgGroup, Subcommand};

use super::print::{ListFormat, print};
use super::read_password;
use crate::migrate::report::MailboxReport;
use crate::migrate::{self, Master, Security, Server};
use crate::ops::Ops;

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Copy mailboxes from an IMAP server: every folder, every message with
    /// its flags and date. Run again, it copies only what is new.
    #[command(group(ArgGroup::new("security").args(["tls", "starttls", "plain"])))]
    Imap {
        /// The source server, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        source: String,
        /// TLS from the start (port 993); the default.
        #[arg(long)]
        tls: bool,
        /// STARTTLS before logging in (port 143).
        #[arg(long)]
        starttls: bool,
        /// No TLS at all: only for a source on loopback or a trusted network.
        #[arg(long)]
        plain: bool,
        /// Log in to every mailbox as this master user (Dovecot's
        /// `user*master`), its password read from standard input; the CSV
        /// then needs no passwords.
        #[arg(long, value_name = "USER")]
        master_user: Option<String>,
        /// What joins the mailbox's user and the master user.
        #[arg(
            long,
            value_name = "TEXT",
            default_value = "*",
            requires = "master_user"
        )]
        master_separator: String,
        /// Mailboxes copied at once.
        #[arg(long, value_name = "N", default_value_t = 4)]
        jobs: usize,
        /// The list of mailboxes: lines of `address,source user,source password`.
        csv: PathBuf,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Copy a Maildir++ tree (Dovecot, Courier) into a mailbox: `cur/` and
    /// `new/` into INBOX, each `.Folder.Sub` into `Folder/Sub`, with the
    /// flags of the file names and the files' dates.
    Maildir {
        address: String,
        dir: PathBuf,
        #[command(flatten)]
        format: ListFormat,
    },
}

pub async fn run(ops: &Ops, command: MigrateCommand) -> anyhow::Result<()> {
    match command {
        MigrateCommand::Imap {
            source,
            tls: _,
            starttls,
            plain,
            master_user,
            master_separator,
            jobs,
            csv,
            format,
        } => {
            let server = parse_source(&source, starttls, plain)?;
            let text = std::fs::read_to_string(&csv)
                .with_context(|| format!("cannot read {}", csv.display()))?;
            let master = match master_user {
                Some(user) => Some(Master {
                    user,
                    separator: master_separator,
                    password: read_password()?,
                }),
                None => None,
            };
            let lines = migrate::csv::parse(&text, master.is_some());
            let report = migrate::imap(ops, &server, lines, master.as_ref(), jobs).await;
            print(&format, &report, migrate::report::Report::print)?;
            let troubled = report.troubled();
            if troubled > 0 {
                anyhow::bail!(
                    "{troubled} of {} mailboxes were not copied whole",
                    report.mailboxes.len()
                );
            }
        }
        MigrateCommand::Maildir {
            address,
            dir,
            format,
        } => {
            let report = migrate::import_maildir(ops, &address, &dir).await;
            print_mailbox(&format, &report)?;
        }
    }
    Ok(())
}

/// One mailbox's report, as a line or JSON; an error unless it was all
/// copied.
pub fn print_mailbox(format: &ListFormat, report: &MailboxReport) -> anyhow::Result<()> {
    print(format, report, |r| {
        println!("{}: {}", r.address, r.summary());
        for failure in &r.failures {
            println!("    {failure}");
        }
    })?;
    match (&report.error, report.failed) {
        (Some(error), _) => anyhow::bail!("{}: {error}", report.address),
        (None, 0) => Ok(()),
        (None, failed) => anyhow::bail!("{failed} messages were not imported"),
    }
}

/// The source server from `HOST:PORT` and the security chosen.
fn parse_source(text: &str, starttls: bool, plain: bool) -> anyhow::Result<Server> {
    let (host, port) = text
        .rsplit_once(':')
        .context("--source must be HOST:PORT, such as imap.example.it:993")?;
    let port = port
        .parse()
        .with_context(|| format!("--source: `{port}` is not a port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        anyhow::bail!("--source must be HOST:PORT, such as imap.example.it:993");
    }
    let security = match (starttls, plain) {
        (true, _) => Security::StartTls,
        (_, true) => Security::Plain,
        _ => Security::Tls,
    };
    Ok(Server {
        host: host.to_string(),
        port,
        security,
    })
}

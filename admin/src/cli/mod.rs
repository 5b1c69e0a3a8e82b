//! The command line: argument parsing and output, a module per command
//! group (`postino domain …` in `domain`, and so on). Each command is a
//! thin adapter over [`crate::ops`].

mod admin;
mod alias;
mod audit;
mod backup;
mod blobs;
mod dkim;
mod dns;
mod domain;
mod logging;
mod mailbox;
mod migrate;
mod print;
mod queue;
mod relay;
mod sending;
mod sieve;
mod token;
mod usage;

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use postino_common::auth::Secret;
use postino_common::store::{AccessMethod, AdminAccess};
use postino_config::Config;

use self::print::ListFormat;
use crate::ops::{self, Actor, Ops};
use crate::serve;

/// Postino: mail for the comuni of a province.
#[derive(Debug, Parser)]
#[command(name = "postino", version, about)]
pub struct Args {
    /// The configuration file. Default: /etc/postino/postino.toml if it
    /// exists (as the Debian package installs it); else Postino runs on its
    /// embedded default: data in ./postino-data, every listener on loopback.
    #[arg(
        long,
        short,
        global = true,
        env = "POSTINO_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every enabled service until SIGTERM or Ctrl-C.
    Serve,
    /// Check a configuration file without starting anything.
    CheckConfig {
        /// The file to check (default: --config, else
        /// /etc/postino/postino.toml).
        file: Option<PathBuf>,
    },
    /// Manage hosted domains.
    #[command(subcommand)]
    Domain(domain::DomainCommand),
    /// Manage mailboxes.
    #[command(subcommand)]
    Mailbox(mailbox::MailboxCommand),
    /// Manage aliases and catch-alls (`@domain`).
    #[command(subcommand)]
    Alias(alias::AliasCommand),
    /// Manage admin principals.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage DKIM signing keys.
    #[command(subcommand)]
    Dkim(dkim::DkimCommand),
    /// Manage relay clients: agency systems that send mail through Postino.
    #[command(subcommand)]
    Relay(relay::RelayCommand),
    /// Inspect the outbound queue, retry or remove queued messages.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Print the DNS records a domain needs: MX, SPF, DKIM, DMARC and
    /// client autoconfiguration, for its zone file.
    Dns {
        domain: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Manage a mailbox's Sieve scripts: mail filters and out-of-office
    /// replies.
    #[command(subcommand)]
    Sieve(sieve::SieveCommand),
    /// Show the storage used by every domain (or one) and its mailboxes,
    /// against their quotas.
    Usage {
        domain: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show the audit log, newest first: who changed what, when, from where.
    Audit(audit::AuditArgs),
    /// Move or check the message bodies (`[blobs]`).
    #[command(subcommand)]
    Blobs(blobs::BlobsCommand),
    /// Move mail in from another server.
    #[command(subcommand)]
    Migrate(migrate::MigrateCommand),
    /// Back the whole store up into a directory while the server runs:
    /// accounts, folders, messages, queue, keys, audit log, with every
    /// message body wherever `[blobs]` keeps it. `backup verify` checks one.
    Backup(backup::BackupArgs),
    /// Load a backup into an empty store (stop the server first). IMAP
    /// clients find the same folders, UIDs and MODSEQs, and download
    /// nothing again.
    Restore {
        /// The backup's directory.
        src: PathBuf,
        /// Replace what the store holds instead of refusing a store that
        /// is not empty.
        #[arg(long)]
        force: bool,
    },
}

/// The configuration file of a Debian installation (`dist/debian`), read
/// when no other is named and it exists.
const SYSTEM_CONFIG: &str = "/etc/postino/postino.toml";

pub async fn run(args: Args) -> anyhow::Result<()> {
    if let Command::CheckConfig { file } = &args.command {
        let Some(path) = file.clone().or_else(|| config_file(args.config.clone())) else {
            anyhow::bail!(
                "check-config needs a file: postino check-config FILE (there is no {SYSTEM_CONFIG})"
            );
        };
        let checked = postino_config::load(&path)?;
        println!(
            "{}: ok (store: {:?}, data_dir: {})",
            path.display(),
            checked.store.backend,
            checked.data_dir.display()
        );
        return Ok(());
    }
    let file = config_file(args.config);
    let config = match &file {
        Some(path) => postino_config::load(path)?,
        None => Config::embedded(),
    };
    logging::init(matches!(args.command, Command::Serve), config.log.format);
    if let Command::Serve = args.command {
        if file.is_none() {
            tracing::info!(
                "no configuration file: running on the embedded default (data in ./postino-data)"
            );
        }
        return serve::run(config, file.as_deref()).await;
    }
    let store = ops::open_store(&config).await?;
    let actor = Actor::cli();
    let access = AdminAccess {
        who: actor.name.clone(),
        origin: actor.origin.clone(),
        method: AccessMethod::Cli,
        succeeded: true,
        detail: command_words(),
    };
    // A restore needs an empty store: its action is logged once it is done.
    let restoring = matches!(args.command, Command::Restore { .. });
    let ops = Ops::new(store.clone(), ops::authenticator(&store, &config), actor);
    let log_access = || async {
        store
            .record_admin_access(&access)
            .await
            .context("cannot write the access log")
    };
    let result = async {
        if !restoring {
            log_access().await?;
        }
        manage(&ops, &config, args.command).await?;
        if restoring {
            log_access().await?;
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

/// The subcommand words of this run, such as `domain add`: what the
/// access log says a CLI action was, without the values it was given.
fn command_words() -> String {
    let mut words = Vec::new();
    if let Ok(matches) = Args::command().try_get_matches_from(std::env::args_os()) {
        let mut current = &matches;
        while let Some((name, next)) = current.subcommand() {
            words.push(name.to_string());
            current = next;
        }
    }
    words.join(" ")
}

/// The file named by `--config` (or `POSTINO_CONFIG`), else
/// [`SYSTEM_CONFIG`] if it exists; `None` means the embedded default.
fn config_file(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        let system = Path::new(SYSTEM_CONFIG);
        system.exists().then(|| system.to_path_buf())
    })
}

async fn manage(ops: &Ops, config: &Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve | Command::CheckConfig { .. } => unreachable!("handled in run"),
        Command::Domain(command) => domain::run(ops, command).await,
        Command::Mailbox(command) => mailbox::run(ops, command).await,
        Command::Alias(command) => alias::run(ops, command).await,
        Command::Admin(command) => admin::run(ops, command).await,
        Command::Dkim(command) => dkim::run(ops, command).await,
        Command::Relay(command) => relay::run(ops, command).await,
        Command::Queue(command) => queue::run(ops, command).await,
        Command::Dns { domain, format } => {
            let publishing = crate::ops::Publishing::from_config(config);
            dns::run(ops, &domain, &publishing, &format).await
        }
        Command::Sieve(command) => sieve::run(ops, &config.sieve, command).await,
        Command::Usage { domain, format } => usage::run(ops, domain.as_deref(), &format).await,
        Command::Audit(args) => audit::run(ops, args).await,
        Command::Blobs(command) => blobs::run(ops, command).await,
        Command::Migrate(command) => migrate::run(ops, command).await,
        Command::Backup(args) => backup::run(ops, args).await,
        Command::Restore { src, force } => backup::restore(ops, src, force).await,
    }
}

/// `--enable` and `--disable` as the state to set, if any.
fn activation(enable: bool, disable: bool) -> Option<bool> {
    match (enable, disable) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

/// The first line of standard input, without its line end.
fn read_password() -> anyhow::Result<Secret> {
    let mut input = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let line = input.lines().next().unwrap_or_default();
    Ok(Secret::new(line))
}

//! The command line: argument parsing and output. Each command is a thin
//! adapter over [`crate::ops`].

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{ArgGroup, Args as ClapArgs, Parser, Subcommand};
use postino_common::auth::Secret;
use postino_common::store::{
    Account, Admin, AdminScope, Alias, ApiToken, AuditRecord, DkimKey, DkimKeyState, Domain,
    QueueEntry, RelayClient,
};
use postino_config::{ByteSize, Config, HumanDuration};
use serde::Serialize;

use crate::ops::{
    self, Actor, AuditFilter, DnsRecord, DomainChange, DomainUsage, MailboxChange, Ops, OpsError,
    RelayChange, Time,
};
use crate::serve;

/// Postino: mail for the comuni of a province.
#[derive(Debug, Parser)]
#[command(name = "postino", version, about)]
pub struct Args {
    /// The configuration file. Without one, Postino runs on its embedded
    /// default: data in ./postino-data, every listener on loopback.
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
        /// The file to check (default: --config).
        file: Option<PathBuf>,
    },
    /// Manage hosted domains.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Manage mailboxes.
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// Manage aliases and catch-alls (`@domain`).
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Manage admin principals.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage DKIM signing keys.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// Manage relay clients: agency systems that send mail through Postino.
    #[command(subcommand)]
    Relay(RelayCommand),
    /// Inspect the outbound queue, retry or remove queued messages.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Print the DNS records a domain needs: MX, SPF, DKIM, DMARC and
    /// client autoconfiguration, for its zone file.
    Dns {
        domain: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show the storage used by every domain (or one) and its mailboxes,
    /// against their quotas.
    Usage {
        domain: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show the audit log, newest first: who changed what, when, from where.
    Audit {
        /// Only the entries about this domain (it may have been removed since).
        #[arg(long, value_name = "NAME")]
        domain: Option<String>,
        /// Only the entries of this actor, such as an admin's username or
        /// cli:root.
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        /// Only the entries from this time on: RFC 3339, YYYY-MM-DD for
        /// midnight UTC, or seconds since the epoch.
        #[arg(long, value_name = "TIME")]
        since: Option<Time>,
        /// Only the entries before this time: RFC 3339, YYYY-MM-DD for
        /// midnight UTC (that day is not included), or seconds since the
        /// epoch.
        #[arg(long, value_name = "TIME")]
        until: Option<Time>,
        /// At most this many entries, 1 to 1000.
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: i64,
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV (RFC 4180), for a spreadsheet.
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Debug, ClapArgs)]
struct ListFormat {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum DomainCommand {
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
    /// Change a domain's quota, mailbox limit or state.
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
    },
    /// Remove a domain.
    Remove {
        name: String,
        /// Remove it even if it has mailboxes, with all their mail.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum MailboxCommand {
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
    /// Change a mailbox's owner name, quota or state.
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
    },
    /// Remove a mailbox with all its mail.
    Remove { address: String },
}

#[derive(Debug, Subcommand)]
enum AliasCommand {
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

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add an admin: provincial (--all-domains) or comune (--domain ...).
    Add {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// May manage every domain.
        #[arg(long, conflicts_with = "domain", required_unless_present = "domain")]
        all_domains: bool,
        /// May manage this domain (repeat for several).
        #[arg(long, value_name = "NAME")]
        domain: Vec<String>,
    },
    /// List admins with the domains they may manage.
    List(ListFormat),
    /// Set an admin's password; its open sessions end, its API tokens stay.
    Passwd {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove an admin, with its API tokens and sessions.
    Remove { username: String },
    /// Manage API tokens, with which scripts act as an admin over the HTTP API.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token acting as USER; it is printed once, alone on
    /// standard output, and cannot be shown again.
    Create {
        user: String,
        /// What the token is for, such as the script that uses it.
        #[arg(long, default_value = "api")]
        name: String,
    },
    /// List tokens, all or one admin's, revoked ones included.
    List {
        user: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Revoke a token: it stops working at once.
    Revoke {
        /// The token's id, as `admin token list` shows it.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum RelayCommand {
    /// Add a relay client, recognised by its source networks or by a
    /// password (SMTP AUTH with NAME as the user name).
    Add {
        /// Letters, digits, '.', '_' or '-'.
        name: String,
        /// A source network, such as 10.1.0.0/16 (repeat for several);
        /// give networks or --password-stdin.
        #[arg(long, value_name = "CIDR")]
        cidr: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// A hosted domain it may send from (repeat for several; at least one).
        #[arg(long, value_name = "DOMAIN")]
        sender_domain: Vec<String>,
        /// Most messages a minute, such as 30/min (default: no limit).
        #[arg(long, value_name = "N/min", value_parser = parse_rate)]
        rate: Option<u64>,
    },
    /// List relay clients.
    List(ListFormat),
    /// Change a relay client's networks, sender domains or rate, or reset
    /// the password of one that logs in. Each option given replaces the
    /// current value; a client keeps the way it is recognised.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        name: String,
        /// A source network, such as 10.1.0.0/16 (repeat for several); the
        /// given ones replace the current ones.
        #[arg(long, value_name = "CIDR", group = "change")]
        cidr: Vec<String>,
        /// Read a new password from the first line of standard input.
        #[arg(long, group = "change")]
        password_stdin: bool,
        /// A hosted domain it may send from (repeat for several); the given
        /// ones replace the current ones.
        #[arg(long, value_name = "DOMAIN", group = "change")]
        sender_domain: Vec<String>,
        /// Most messages a minute, such as 30/min.
        #[arg(long, value_name = "N/min", value_parser = parse_rate, group = "change")]
        rate: Option<u64>,
        /// Lift the rate limit.
        #[arg(long, group = "change", conflicts_with = "rate")]
        no_rate_limit: bool,
    },
    /// Remove a relay client.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
enum QueueCommand {
    /// List queued messages, oldest first.
    List(ListFormat),
    /// Show a queued message with each recipient's state and last reply.
    Show {
        /// The message's id, as `queue list` shows it.
        id: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Make a message (or every one) due now, deferred recipients included.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every queued message.
        #[arg(long)]
        all: bool,
    },
    /// Remove a message from the queue, undelivered to its open recipients.
    Remove { id: String },
}

#[derive(Debug, Subcommand)]
enum DkimCommand {
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

pub async fn run(args: Args) -> anyhow::Result<()> {
    if let Command::CheckConfig { file } = &args.command {
        let Some(path) = file.as_deref().or(args.config.as_deref()) else {
            anyhow::bail!("check-config needs a file: postino check-config FILE");
        };
        let checked = postino_config::load(path)?;
        println!(
            "{}: ok (store: {:?}, data_dir: {})",
            path.display(),
            checked.store.backend,
            checked.data_dir.display()
        );
        return Ok(());
    }
    let config = load_config(args.config.as_deref())?;
    init_logging(matches!(args.command, Command::Serve));
    if let Command::Serve = args.command {
        if args.config.is_none() {
            tracing::info!(
                "no configuration file: running on the embedded default (data in ./postino-data)"
            );
        }
        return serve::run(config).await;
    }
    let store = ops::open_store(&config).await?;
    let ops = Ops::new(
        store.clone(),
        ops::authenticator(&store, &config),
        Actor::cli(),
    );
    let result = manage(&ops, &config.hostname, args.command).await;
    store.close().await;
    result
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(path) => Ok(postino_config::load(path)?),
        None => Ok(Config::embedded()),
    }
}

/// rustls warns of every client that sends an IP address or a malformed
/// name as its TLS server name, as clients set up with the server's address
/// do: noise, unless debugging.
const QUIET_SNI: &str = "rustls::msgs::handshake=error";

fn init_logging(serving: bool) {
    let wanted = std::env::var("POSTINO_LOG").ok();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(wanted.as_deref(), serving))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// The log filter: `POSTINO_LOG` if set and valid, else `info` when
/// serving and `warn` otherwise; rustls's complaints about server names are
/// left out below debug.
fn log_filter(wanted: Option<&str>, serving: bool) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::LevelFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = wanted
        .and_then(|wanted| EnvFilter::try_new(wanted).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    if filter
        .max_level_hint()
        .is_some_and(|level| level >= LevelFilter::DEBUG)
    {
        filter
    } else {
        filter.add_directive(QUIET_SNI.parse().expect("a valid directive"))
    }
}

async fn manage(ops: &Ops, hostname: &str, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve | Command::CheckConfig { .. } => unreachable!("handled in run"),
        Command::Domain(command) => domain(ops, command).await,
        Command::Mailbox(command) => mailbox(ops, command).await,
        Command::Alias(command) => alias(ops, command).await,
        Command::Admin(command) => admin(ops, command).await,
        Command::Dkim(command) => dkim(ops, command).await,
        Command::Relay(command) => relay(ops, command).await,
        Command::Queue(command) => queue(ops, command).await,
        Command::Dns { domain, format } => {
            let records = ops.dns_records(&domain, hostname).await?;
            print_list(&format, &records, zone_lines)
        }
        Command::Usage { domain, format } => {
            let usage = ops.usage(domain.as_deref()).await?;
            print_list(&format, &usage, usage_table)
        }
        Command::Audit {
            domain,
            actor,
            since,
            until,
            limit,
            json,
            csv,
        } => {
            let records = ops
                .audit_log(&AuditFilter {
                    domain,
                    actor,
                    since: since.map(Time::start),
                    until: until.map(Time::start),
                    before_id: None,
                    limit: Some(limit),
                })
                .await?;
            if csv {
                print!("{}", ops::audit_csv(&records));
                Ok(())
            } else {
                print_list(&ListFormat { json }, &records, audit_table)
            }
        }
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

async fn domain(ops: &Ops, command: DomainCommand) -> anyhow::Result<()> {
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
            if format.json {
                print_json(&details)?;
            } else {
                domain_table(std::slice::from_ref(&details.domain));
                println!();
                account_table(&details.accounts);
                println!();
                alias_table(&details.aliases);
            }
        }
        DomainCommand::Update {
            name,
            quota,
            max_mailboxes,
            enable,
            disable,
        } => {
            let change = DomainChange {
                quota_bytes: quota.map(|q| q.0),
                max_mailboxes,
                active: activation(enable, disable),
            };
            let d = ops.update_domain(&name, &change).await?;
            let max = if d.max_mailboxes == 0 {
                "no mailbox limit".to_string()
            } else {
                format!("at most {} mailboxes", d.max_mailboxes)
            };
            let state = if d.active { "active" } else { "disabled" };
            println!(
                "domain {}: quota {}, {max}, {state}",
                d.name,
                quota_text(d.quota_bytes)
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

async fn mailbox(ops: &Ops, command: MailboxCommand) -> anyhow::Result<()> {
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
            if format.json {
                print_json(&details)?;
            } else {
                account_table(std::slice::from_ref(&details.account));
                println!();
                println!("{:<20} {:<12} {:>10}", "FOLDER", "SPECIAL-USE", "UIDNEXT");
                for folder in &details.folders {
                    let special = folder.special_use.as_deref().unwrap_or("-");
                    println!("{:<20} {:<12} {:>10}", folder.name, special, folder.uidnext);
                }
            }
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
        } => {
            let change = MailboxChange {
                display_name,
                quota_bytes: quota.map(|q| q.0),
                active: activation(enable, disable),
            };
            let a = ops.update_mailbox(&address, &change).await?;
            let state = if a.active {
                "active"
            } else {
                "disabled (it still receives mail)"
            };
            println!(
                "mailbox {}: name \"{}\", quota {}, {state}",
                a.address,
                a.display_name,
                quota_text(a.quota_bytes)
            );
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

async fn alias(ops: &Ops, command: AliasCommand) -> anyhow::Result<()> {
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

async fn admin(ops: &Ops, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Add {
            username,
            all_domains,
            domain,
            ..
        } => {
            let scope = if all_domains {
                AdminScope::AllDomains
            } else {
                AdminScope::Domains(domain)
            };
            let admin = ops.add_admin(&username, &read_password()?, scope).await?;
            println!(
                "added admin {} ({})",
                admin.username,
                scope_text(&admin.scope)
            );
        }
        AdminCommand::List(format) => {
            let admins = ops.admins().await?;
            print_list(&format, &admins, admin_table)?;
        }
        AdminCommand::Passwd { username, .. } => {
            ops.set_admin_password(&username, &read_password()?).await?;
            println!("password of admin {username} changed");
        }
        AdminCommand::Remove { username } => {
            let admin = ops.remove_admin(&username).await?;
            println!(
                "removed admin {} ({})",
                admin.username,
                scope_text(&admin.scope)
            );
        }
        AdminCommand::Token(command) => token(ops, command).await?,
    }
    Ok(())
}

async fn token(ops: &Ops, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { user, name } => {
            let (token, secret) = ops.create_api_token(&user, &name).await?;
            // Alone on standard output, so that a script can capture it.
            println!("{}", secret.expose());
            eprintln!(
                "created API token {} ({}) acting as {}: it is shown only this once, keep it safe",
                token.id, token.name, token.admin
            );
        }
        TokenCommand::List { user, format } => {
            let tokens = ops.api_tokens(user.as_deref()).await?;
            print_list(&format, &tokens, token_table)?;
        }
        TokenCommand::Revoke { id } => {
            let token = ops.revoke_api_token(id).await?;
            println!(
                "revoked API token {} ({}) of {}",
                token.id, token.name, token.admin
            );
        }
    }
    Ok(())
}

async fn dkim(ops: &Ops, command: DkimCommand) -> anyhow::Result<()> {
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

async fn relay(ops: &Ops, command: RelayCommand) -> anyhow::Result<()> {
    match command {
        RelayCommand::Add {
            name,
            cidr,
            password_stdin,
            sender_domain,
            rate,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let client = ops
                .add_relay_client(
                    &name,
                    &cidr,
                    password.as_ref(),
                    &sender_domain,
                    rate.unwrap_or(0),
                )
                .await?;
            println!(
                "added relay client {} ({}), sending from {}",
                client.name,
                relay_recognised_by(&client),
                client.sender_domains.join(", ")
            );
        }
        RelayCommand::List(format) => {
            let clients = ops.relay_clients().await?;
            print_list(&format, &clients, relay_table)?;
        }
        RelayCommand::Update {
            name,
            cidr,
            password_stdin,
            sender_domain,
            rate,
            no_rate_limit,
        } => {
            let change = RelayChange {
                networks: (!cidr.is_empty()).then_some(cidr),
                password: password_stdin.then(read_password).transpose()?,
                sender_domains: (!sender_domain.is_empty()).then_some(sender_domain),
                rate_per_minute: if no_rate_limit { Some(0) } else { rate },
            };
            let client = ops.update_relay_client(&name, &change).await?;
            let rate = match client.rate_per_minute {
                0 => "no limit".to_string(),
                n => format!("{n}/min"),
            };
            println!(
                "relay client {} ({}{}), sending from {}, rate {rate}",
                client.name,
                relay_recognised_by(&client),
                if change.password.is_some() {
                    ", password reset"
                } else {
                    ""
                },
                client.sender_domains.join(", ")
            );
        }
        RelayCommand::Remove { name } => {
            let client = ops.remove_relay_client(&name).await?;
            println!("removed relay client {}", client.name);
        }
    }
    Ok(())
}

/// A rate as `N/min` or plain `N`, in messages a minute.
fn parse_rate(text: &str) -> Result<u64, String> {
    let number = text.strip_suffix("/min").unwrap_or(text);
    match number.trim().parse::<u64>() {
        Ok(rate) if rate > 0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate such as 30/min (a whole number of messages a minute, at least 1)"
        )),
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

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn print_list<T: Serialize>(
    format: &ListFormat,
    items: &[T],
    table: fn(&[T]),
) -> anyhow::Result<()> {
    if format.json {
        print_json(&items)
    } else {
        table(items);
        Ok(())
    }
}

fn size_text(bytes: i64) -> String {
    ByteSize(u64::try_from(bytes).unwrap_or(0)).to_string()
}

fn quota_text(bytes: i64) -> String {
    if bytes == 0 {
        "unlimited".to_string()
    } else {
        size_text(bytes)
    }
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

fn account_table(accounts: &[Account]) {
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

fn scope_text(scope: &AdminScope) -> String {
    match scope {
        AdminScope::AllDomains => "all domains".to_string(),
        AdminScope::Domains(names) => names.join(", "),
    }
}

fn admin_table(admins: &[Admin]) {
    println!("{:<32} DOMAINS", "ADMIN");
    for a in admins {
        println!("{:<32} {}", a.username, scope_text(&a.scope));
    }
}

fn token_table(tokens: &[ApiToken]) {
    println!(
        "{:>6} {:<24} {:<24} {:<20} {:<20} REVOKED",
        "ID", "ADMIN", "NAME", "CREATED", "LAST USED"
    );
    let time = |at: Option<i64>| at.map_or_else(|| "-".to_string(), ops::utc);
    for t in tokens {
        println!(
            "{:>6} {:<24} {:<24} {:<20} {:<20} {}",
            t.id,
            t.admin,
            t.name,
            ops::utc(t.created_at),
            time(t.last_used_at),
            time(t.revoked_at)
        );
    }
}

/// Used of quota, as a percentage; none without a quota.
fn percent_text(used: i64, quota: i64) -> String {
    if quota > 0 {
        format!("{:.1}%", used as f64 * 100.0 / quota as f64)
    } else {
        "-".to_string()
    }
}

/// Each domain's line, then its mailboxes' lines, indented.
fn usage_table(usage: &[DomainUsage]) {
    println!(
        "{:<44} {:>10} {:>10} {:>7}",
        "ADDRESS", "USED", "QUOTA", "USE"
    );
    for u in usage {
        let d = &u.domain;
        println!(
            "{:<44} {:>10} {:>10} {:>7}",
            d.name,
            size_text(d.used_bytes),
            quota_text(d.quota_bytes),
            percent_text(d.used_bytes, d.quota_bytes)
        );
        for a in &u.accounts {
            let address = format!("  {}", a.address);
            let state = if a.active { "" } else { "  (disabled)" };
            println!(
                "{address:<44} {:>10} {:>10} {:>7}{state}",
                size_text(a.used_bytes),
                quota_text(a.quota_bytes),
                percent_text(a.used_bytes, a.quota_bytes)
            );
        }
    }
}

fn audit_table(records: &[AuditRecord]) {
    println!(
        "{:>6} {:<20} {:<24} {:<16} {:<16} TARGET",
        "ID", "AT", "ACTOR", "ORIGIN", "ACTION"
    );
    for r in records {
        println!(
            "{:>6} {:<20} {:<24} {:<16} {:<16} {}",
            r.id,
            ops::utc(r.at),
            r.actor,
            r.origin,
            r.action,
            r.target
        );
    }
}

fn alias_table(aliases: &[Alias]) {
    println!("{:<40} TARGET", "ALIAS");
    for a in aliases {
        println!("{:<40} {}", a.source, a.target);
    }
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

fn relay_recognised_by(client: &RelayClient) -> String {
    if client.password {
        "by password".to_string()
    } else {
        format!("from {}", client.networks.join(", "))
    }
}

fn relay_table(clients: &[RelayClient]) {
    println!(
        "{:<24} {:<40} {:>8}  SENDER DOMAINS",
        "RELAY CLIENT", "RECOGNISED", "RATE"
    );
    for c in clients {
        let rate = if c.rate_per_minute == 0 {
            "-".to_string()
        } else {
            format!("{}/min", c.rate_per_minute)
        };
        println!(
            "{:<24} {:<40} {:>8}  {}",
            c.name,
            relay_recognised_by(c),
            rate,
            c.sender_domains.join(", ")
        );
    }
}

/// Records as zone-file lines, each after a comment saying what it is for.
fn zone_lines(records: &[DnsRecord]) {
    for r in records {
        println!("; {}", r.comment);
        println!("{}. IN {} {}", r.name, r.kind, r.data);
    }
}

async fn queue(ops: &Ops, command: QueueCommand) -> anyhow::Result<()> {
    match command {
        QueueCommand::List(format) => {
            let entries = ops.queue().await?;
            print_list(&format, &entries, queue_table)?;
        }
        QueueCommand::Show { id, format } => {
            let entry = ops.queued(&id).await?;
            if format.json {
                print_json(&entry)?;
            } else {
                queue_details(&entry);
            }
        }
        QueueCommand::Retry { id, .. } => {
            let retried = ops.retry_queued(id.as_deref()).await?;
            match retried.id {
                Some(id) => println!("message {id} is due now"),
                None => println!("{} queued messages are due now", retried.messages),
            }
        }
        QueueCommand::Remove { id } => {
            let entry = ops.remove_queued(&id).await?;
            let open = entry.recipients.iter().filter(|r| r.is_open()).count();
            println!(
                "removed message {} from the queue; {open} recipients will not get it",
                entry.id
            );
        }
    }
    Ok(())
}

fn queue_sender(entry: &QueueEntry) -> &str {
    if entry.sender.is_empty() {
        "<>"
    } else {
        &entry.sender
    }
}

/// When a message is tried next, or that a worker holds it now.
fn queue_next(entry: &QueueEntry) -> String {
    if entry.leased_until > postino_common::store::now() {
        "sending now".to_string()
    } else {
        ops::utc(entry.next_attempt_at)
    }
}

/// Its recipients counted by state, such as `2 deferred, 1 delivered`.
fn queue_states(entry: &QueueEntry) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in &entry.recipients {
        match counts.iter_mut().find(|(status, _)| *status == r.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((&r.status, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    parts.join(", ")
}

fn queue_table(entries: &[QueueEntry]) {
    println!(
        "{:>8} {:<40} {:>10} {:<20} {:<20} RECIPIENTS",
        "ID", "SENDER", "SIZE", "QUEUED", "NEXT ATTEMPT"
    );
    for e in entries {
        println!(
            "{:>8} {:<40} {:>10} {:<20} {:<20} {}",
            e.id,
            queue_sender(e),
            size_text(e.size),
            ops::utc(e.created_at),
            queue_next(e),
            queue_states(e)
        );
    }
}

fn queue_details(entry: &QueueEntry) {
    println!("{:<13} {}", "id", entry.id);
    println!("{:<13} {}", "sender", queue_sender(entry));
    println!("{:<13} {}", "size", size_text(entry.size));
    println!("{:<13} {}", "queued", ops::utc(entry.created_at));
    println!("{:<13} {}", "next attempt", queue_next(entry));
    let sending = entry.leased_until > postino_common::store::now();
    if let Some(worker) = entry.leased_by.as_deref().filter(|_| sending) {
        println!("{:<13} {worker}", "worker");
    }
    println!();
    println!(
        "{:<40} {:<10} {:>8}  LAST REPLY",
        "RECIPIENT", "STATUS", "ATTEMPTS"
    );
    for r in &entry.recipients {
        println!(
            "{:<40} {:<10} {:>8}  {}",
            r.address,
            r.status,
            r.attempts,
            r.last_reply.as_deref().unwrap_or("-")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_complaints_are_quiet_unless_debugging() {
        for (wanted, quiet) in [
            (None, true),
            (Some("info"), true),
            (Some("warn,postino::auth=info"), true),
            (Some("debug"), false),
            (Some("info,rustls=trace"), false),
        ] {
            let filter = log_filter(wanted, true).to_string();
            assert_eq!(filter.contains(QUIET_SNI), quiet, "{wanted:?}: {filter}");
        }
    }
}

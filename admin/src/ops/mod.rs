//! Management rules, written once: the CLI, the HTTP API and the web
//! console are thin adapters over these operations.
//!
//! Every operation checks the actor's scope (a comune admin reaches only its
//! own domains and is told "not found" for the rest, so it cannot learn that
//! another domain exists), validates its input, and records an audit entry
//! in the same transaction as the change.

mod account;
mod admins;
mod aliases;
mod audit;
mod backup;
mod blobs;
mod dkim;
mod domains;
mod error;
mod export;
pub mod generated_sieve;
mod import;
mod log_export;
mod mailboxes;
mod mta_sts;
mod queue;
mod relay;
mod sending;
mod shares;
pub mod sieve;
mod time;
mod tokens;
mod usage;

use postino_common::address::DomainName;
use postino_common::auth::{Authenticator, Secret, ThrottlePolicy};
use postino_common::blobs::BlobStore;
use postino_common::store::{Admin, AdminScope, AuditEntry, Location, Store, WriteTx};
use postino_config::{Backend, Config};
use serde::Serialize;

pub use audit::{AuditFilter, audit_csv};
pub use blobs::parse_target as parse_blob_target;
pub use dkim::DnsRecord;
pub use domains::{DomainChange, DomainDetails};
pub use error::OpsError;
pub use export::{BODIES_AT_ONCE, Exported};
pub use import::{Imported, Importer, Incoming, NotImported};
pub use log_export::LogExport;
pub use mailboxes::{MailboxChange, MailboxDetails};
pub use mta_sts::{Publishing, served_policy};
pub use relay::RelayChange;
pub use sending::parse_limit;
pub use time::{Time, utc};
pub use usage::{DomainUsage, MailboxUsage};

pub type Result<T, E = OpsError> = std::result::Result<T, E>;

/// Shortest password accepted for mailboxes and admins.
const MIN_PASSWORD_LEN: usize = 8;

/// Who asks for a change, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    /// An IP address, or `cli`.
    pub origin: String,
    pub scope: AdminScope,
    /// The mailbox of a user logged in to the console or the API for
    /// self-service; such an actor's scope reaches no domain.
    pub own_address: Option<String>,
}

impl Actor {
    /// An admin principal, logged in from `origin`.
    pub fn admin(admin: &Admin, origin: String) -> Actor {
        Actor {
            name: admin.username.clone(),
            origin,
            scope: admin.scope.clone(),
            own_address: None,
        }
    }

    /// A mailbox user, logged in from `origin`: it may see and change its
    /// own account only (see [`Ops::own_account`]).
    pub fn mailbox_user(address: String, origin: String) -> Actor {
        Actor {
            name: address.clone(),
            origin,
            scope: AdminScope::Domains(Vec::new()),
            own_address: Some(address),
        }
    }

    /// The operator at the command line: every domain.
    pub fn cli() -> Actor {
        Actor {
            name: format!("cli:{}", cli_user()),
            origin: "cli".to_string(),
            scope: AdminScope::AllDomains,
            own_address: None,
        }
    }

    /// `postino serve` itself, for the upkeep it does on a timer.
    pub fn server() -> Actor {
        Actor {
            name: "postino".to_string(),
            origin: "serve".to_string(),
            scope: AdminScope::AllDomains,
            own_address: None,
        }
    }
}

/// Who runs the CLI: the user who ran sudo, else the real user id's name
/// in the system's user database (not `$USER`, which cron and systemd do not
/// set, and anyone may), else the number itself.
fn cli_user() -> String {
    use nix::unistd::{Uid, User};
    if let Ok(user) = std::env::var("SUDO_USER") {
        return user;
    }
    let uid = Uid::current();
    match User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// The management operations, on behalf of one actor.
pub struct Ops {
    store: Store,
    auth: Authenticator,
    actor: Actor,
}

/// Opens the store a configuration names.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    use anyhow::Context;
    let path = config.sqlite_path();
    let location = match (config.store.backend, &config.store.url) {
        (Backend::Postgres, Some(url)) => Location::Postgres(url),
        _ => Location::Sqlite(&path),
    };
    let blobs = BlobStore::configured(config).context("cannot reach the body store ([blobs])")?;
    Store::open(location, config.store.max_connections, blobs)
        .await
        .with_context(|| match config.store.backend {
            Backend::Sqlite => format!("cannot open the store {}", path.display()),
            Backend::Postgres => "cannot open the PostgreSQL store (store.url)".to_string(),
        })
}

/// The authenticator a configuration describes.
pub fn authenticator(store: &Store, config: &Config) -> Authenticator {
    Authenticator::new(
        store.clone(),
        ThrottlePolicy::from_config(&config.auth),
        config.auth.max_concurrent_hashes as usize,
    )
}

impl Ops {
    pub fn new(store: Store, auth: Authenticator, actor: Actor) -> Ops {
        Ops { store, auth, actor }
    }

    /// Fails unless the actor may manage `domain`, answering "not found" so
    /// that out-of-scope domains stay invisible.
    fn check_scope(&self, domain: &str) -> Result<()> {
        if self.actor.scope.covers(domain) {
            Ok(())
        } else {
            Err(OpsError::NotFound {
                what: "domain",
                name: domain.to_string(),
            })
        }
    }

    /// Whether the actor may see an address (or `@domain`), by its domain.
    fn covers_address(&self, address: &str) -> bool {
        address
            .rsplit_once('@')
            .is_some_and(|(_, domain)| self.actor.scope.covers(domain))
    }

    /// The domain a listing is limited to, if any: valid, in scope, hosted.
    async fn listed_domain(&self, domain: Option<&str>) -> Result<Option<DomainName>> {
        let Some(name) = domain else { return Ok(None) };
        let name = domains::parse_domain(name)?;
        self.check_scope(name.as_str())?;
        if self.store.domain(name.as_str()).await?.is_none() {
            return Err(OpsError::NotFound {
                what: "domain",
                name: name.to_string(),
            });
        }
        Ok(Some(name))
    }

    fn require_all_domains(&self, action: &str) -> Result<()> {
        match self.actor.scope {
            AdminScope::AllDomains => Ok(()),
            AdminScope::Domains(_) => Err(OpsError::Forbidden(format!(
                "only a provincial admin may {action}"
            ))),
        }
    }

    /// Checks a new password against the rules, naming `field` if it
    /// breaks one.
    fn check_password(field: &'static str, password: &Secret) -> Result<()> {
        if password.expose().chars().count() < MIN_PASSWORD_LEN {
            return Err(OpsError::Invalid {
                field,
                message: format!("must be at least {MIN_PASSWORD_LEN} characters"),
            });
        }
        Ok(())
    }

    /// Checks a new password and hashes it for storing.
    async fn hash(&self, password: &Secret) -> Result<String> {
        Self::check_password("password", password)?;
        Ok(self.auth.hash_password(password).await?)
    }

    /// Records `action` on `target`, about `domains` (the first is the one
    /// listed), in the transaction that makes the change.
    async fn audit<'d>(
        &self,
        tx: &mut WriteTx,
        action: &str,
        domains: impl IntoIterator<Item = &'d str>,
        target: &str,
        before: Option<&impl Serialize>,
        after: Option<&impl Serialize>,
    ) -> Result<()> {
        tx.audit(&AuditEntry {
            actor: self.actor.name.clone(),
            origin: self.actor.origin.clone(),
            action: action.to_string(),
            domains: domains.into_iter().map(str::to_string).collect(),
            target: target.to_string(),
            before: before.and_then(|v| serde_json::to_value(v).ok()),
            after: after.and_then(|v| serde_json::to_value(v).ok()),
        })
        .await?;
        Ok(())
    }
}

/// What the ops tests share.
#[cfg(test)]
pub(crate) mod testing {
    use postino_common::auth::{Authenticator, ThrottlePolicy};
    use postino_common::store::{AdminScope, AppendTarget, NewMessage, Store};

    use super::{Actor, Ops};

    /// Ops acting with `scope`, with login throttling that waits little.
    pub(crate) fn ops(store: &Store, scope: AdminScope) -> Ops {
        let actor = Actor {
            name: "test".to_string(),
            origin: "test".to_string(),
            scope,
            own_address: None,
        };
        acting(store, actor)
    }

    /// Delivers a message of `size` bytes to the INBOX of `address`.
    pub(crate) async fn deliver(store: &Store, address: &str, size: usize) {
        let account = store.account(address).await.unwrap().unwrap();
        let inbox = store.folder(account.id, "INBOX").await.unwrap().unwrap();
        let mut raw = b"Subject: test\r\n\r\n".to_vec();
        raw.resize(size, b'x');
        store
            .append(NewMessage::to_folders(
                raw.into(),
                vec![AppendTarget::new(inbox.id)],
            ))
            .await
            .unwrap()
            .expect("the message is stored");
    }

    /// Ops acting as `actor`, with the same throttling as [`ops`].
    pub(crate) fn acting(store: &Store, actor: Actor) -> Ops {
        Ops::new(
            store.clone(),
            Authenticator::new(store.clone(), ThrottlePolicy::for_tests(5, 3), 2),
            actor,
        )
    }
}

//! The administrators' access log: every login of an admin, refused ones
//! too, beside the audit log of what they changed, and chained like it
//! (see [`log_chain`](super::log_chain)).

use serde::Serialize;
use sqlx::FromRow;

use super::log_chain::{Field, LogChain};
use super::{IntFlag, Result, Store, now};

/// How an admin logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMethod {
    /// A console or API password login.
    Password,
    /// An API token.
    Token,
    /// A `postino` command on the server.
    Cli,
}

impl AccessMethod {
    fn name(self) -> &'static str {
        match self {
            AccessMethod::Password => "password",
            AccessMethod::Token => "token",
            AccessMethod::Cli => "cli",
        }
    }
}

/// A login to record.
#[derive(Debug, Clone)]
pub struct AdminAccess {
    /// The admin's username, or `cli:USER`.
    pub who: String,
    /// An IP address, or `cli`.
    pub origin: String,
    pub method: AccessMethod,
    pub succeeded: bool,
    /// The token's name, the CLI command, or why the login was refused.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct AccessRecord {
    pub id: i64,
    pub at: i64,
    pub who: String,
    pub origin: String,
    pub method: String,
    #[sqlx(try_from = "IntFlag")]
    pub succeeded: bool,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Store {
    /// Records a login, in a transaction of its own.
    pub async fn record_admin_access(&self, access: &AdminAccess) -> Result<()> {
        let text = |value: &str| Field::Text(Some(value.to_string()));
        let fields = [
            Field::Int(now()),
            text(&access.who),
            text(&access.origin),
            text(access.method.name()),
            Field::Int(i64::from(access.succeeded)),
            text(&access.detail),
        ];
        let mut tx = self.begin().await?;
        tx.chain_append(LogChain::Access, &fields).await?;
        tx.commit().await
    }

    /// The logins from `since` (inclusive) to `until` (exclusive), seconds
    /// since the epoch, oldest first: for an export.
    pub async fn admin_accesses(&self, since: i64, until: i64) -> Result<Vec<AccessRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, at, who, origin, method, succeeded, detail, prev_hash, hash \
             FROM admin_access WHERE at >= $1 AND at < $2 ORDER BY id",
        )
        .bind(since)
        .bind(until)
        .fetch_all(self.pool())
        .await?)
    }
}

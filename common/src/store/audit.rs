//! The audit log: who changed what, when, from where, with before and after.

use serde::Serialize;
use sqlx::FromRow;

use super::{Result, Store, WriteTx, now};

/// A change to record, written in the same transaction as the change.
/// `before` and `after` are JSON and must never hold a secret.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    /// Where the request came from: an IP address, or `cli`.
    pub origin: String,
    /// What was done, such as `domain.add`.
    pub action: String,
    pub domain: Option<String>,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub domain: Option<String>,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Store {
    /// The newest entries first, all or one domain's.
    pub async fn audit_log(&self, domain: Option<&str>, limit: i64) -> Result<Vec<AuditRecord>> {
        let query = match domain {
            Some(name) => sqlx::query_as(
                "SELECT id, at, actor, origin, action, domain, target, before, after FROM audit_log \
                 WHERE domain = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(name),
            None => sqlx::query_as(
                "SELECT id, at, actor, origin, action, domain, target, before, after FROM audit_log \
                 ORDER BY id DESC LIMIT $1",
            ),
        };
        Ok(query.bind(limit).fetch_all(self.pool()).await?)
    }
}

impl WriteTx {
    pub async fn audit(&mut self, entry: &AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, origin, action, domain, target, before, after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(now())
        .bind(&entry.actor)
        .bind(&entry.origin)
        .bind(&entry.action)
        .bind(entry.domain.as_deref())
        .bind(&entry.target)
        .bind(entry.before.as_ref().map(|v| v.to_string()))
        .bind(entry.after.as_ref().map(|v| v.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

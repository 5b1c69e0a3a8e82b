//! The audit log: who changed what, when, from where, with before and after.

use serde::Serialize;
use sqlx::FromRow;

use super::log_chain::{Field, LogChain};
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
    /// Every domain the entry is about, the one listed first; none for
    /// entries about admins and tokens. A comune admin sees the entry only
    /// if all of them are its own.
    pub domains: Vec<String>,
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
    /// The first of the domains the entry is about.
    pub domain: Option<String>,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The hash of the entry before this one in the chain, and this
    /// entry's own (see `postino audit verify`); none for entries older
    /// than the chain.
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// Which entries to list: every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries about these domains and no other (an admin's scope);
    /// entries about no domain are then left out too.
    pub within: Option<Vec<String>>,
    /// Only entries about this domain, among others or alone.
    pub domain: Option<String>,
    pub actor: Option<String>,
    /// Seconds since the epoch, inclusive.
    pub since: Option<i64>,
    /// Seconds since the epoch, exclusive.
    pub until: Option<i64>,
    /// Only entries older than this id, for paging.
    pub before_id: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// The newest entries first, all or one domain's.
    pub async fn audit_log(&self, domain: Option<&str>, limit: i64) -> Result<Vec<AuditRecord>> {
        self.audit_search(&AuditQuery {
            domain: domain.map(str::to_string),
            limit,
            ..AuditQuery::default()
        })
        .await
    }

    /// Every entry from `since` (inclusive) to `until` (exclusive), seconds
    /// since the epoch, oldest first: for an export.
    pub async fn audit_between(&self, since: i64, until: i64) -> Result<Vec<AuditRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, at, actor, origin, action, domain, target, before, after, prev_hash, hash \
             FROM audit_log WHERE at >= $1 AND at < $2 ORDER BY id",
        )
        .bind(since)
        .bind(until)
        .fetch_all(self.pool())
        .await?)
    }

    /// The entries a query selects, newest first.
    pub async fn audit_search(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        enum Value<'a> {
            Text(&'a str),
            Int(i64),
        }
        let mut conditions = Vec::new();
        let mut values: Vec<Value<'_>> = Vec::new();
        // Numbered placeholders for `given`, whose values follow the others.
        let mut placeholders = |given: Vec<_>| {
            let first = values.len() + 1;
            values.extend(given);
            (first..=values.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(domain) = &query.domain {
            let p = placeholders(vec![Value::Text(domain)]);
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM audit_domains d WHERE d.audit_id = audit_log.id AND d.domain = {p})"
            ));
        }
        if let Some(actor) = &query.actor {
            conditions.push(format!(
                "actor = {}",
                placeholders(vec![Value::Text(actor)])
            ));
        }
        if let Some(since) = query.since {
            conditions.push(format!("at >= {}", placeholders(vec![Value::Int(since)])));
        }
        if let Some(until) = query.until {
            conditions.push(format!("at < {}", placeholders(vec![Value::Int(until)])));
        }
        if let Some(id) = query.before_id {
            conditions.push(format!("id < {}", placeholders(vec![Value::Int(id)])));
        }
        if let Some(within) = &query.within {
            if within.is_empty() {
                return Ok(Vec::new());
            }
            let texts = || within.iter().map(|d| Value::Text(d)).collect();
            let listed = placeholders(texts());
            let others = placeholders(texts());
            conditions.push(format!(
                "domain IN ({listed}) AND NOT EXISTS (SELECT 1 FROM audit_domains d \
                 WHERE d.audit_id = audit_log.id AND d.domain NOT IN ({others}))"
            ));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT id, at, actor, origin, action, domain, target, before, after, prev_hash, hash \
             FROM audit_log \
             {filter} ORDER BY id DESC LIMIT ${}",
            values.len() + 1
        );
        // Only numbered placeholders and fixed text went into `sql`.
        let mut select = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for value in values {
            select = match value {
                Value::Text(text) => select.bind(text),
                Value::Int(n) => select.bind(n),
            };
        }
        Ok(select.bind(query.limit).fetch_all(self.pool()).await?)
    }
}

impl WriteTx {
    pub async fn audit(&mut self, entry: &AuditEntry) -> Result<()> {
        let text = |value: &str| Field::Text(Some(value.to_string()));
        let json =
            |value: &Option<serde_json::Value>| Field::Text(value.as_ref().map(|v| v.to_string()));
        let fields = [
            Field::Int(now()),
            text(&entry.actor),
            text(&entry.origin),
            text(&entry.action),
            Field::Text(entry.domains.first().cloned()),
            text(&entry.target),
            json(&entry.before),
            json(&entry.after),
        ];
        let id = self.chain_append(LogChain::Audit, &fields).await?;
        for domain in &entry.domains {
            sqlx::query(
                "INSERT INTO audit_domains (audit_id, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(domain)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }
}

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

#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize, utoipa::ToSchema)]
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

/// Which entries to list: every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries about one of these domains (an admin's scope); entries
    /// about no domain are then left out too.
    pub within: Option<Vec<String>>,
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

    /// The entries a query selects, newest first.
    pub async fn audit_search(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        enum Value<'a> {
            Text(&'a str),
            Int(i64),
        }
        let mut conditions = Vec::new();
        let mut values: Vec<Value<'_>> = Vec::new();
        let mut add = |condition: &str, value| {
            values.push(value);
            conditions.push(condition.replace('?', &format!("${}", values.len())));
        };
        if let Some(domain) = &query.domain {
            add("domain = ?", Value::Text(domain));
        }
        if let Some(actor) = &query.actor {
            add("actor = ?", Value::Text(actor));
        }
        if let Some(since) = query.since {
            add("at >= ?", Value::Int(since));
        }
        if let Some(until) = query.until {
            add("at < ?", Value::Int(until));
        }
        if let Some(id) = query.before_id {
            add("id < ?", Value::Int(id));
        }
        if let Some(within) = &query.within {
            if within.is_empty() {
                return Ok(Vec::new());
            }
            let first = values.len() + 1;
            let placeholders: Vec<String> = (first..first + within.len())
                .map(|n| format!("${n}"))
                .collect();
            conditions.push(format!("domain IN ({})", placeholders.join(", ")));
            values.extend(within.iter().map(|d| Value::Text(d)));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT id, at, actor, origin, action, domain, target, before, after FROM audit_log \
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

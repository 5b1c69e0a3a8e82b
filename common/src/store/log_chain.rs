//! Hash chains over the administrators' logs: the audit log of changes
//! and the access log. Tamper evidence for rows anyone with the database
//! password could edit.
//!
//! Each entry holds `prev_hash`, the hash of the entry before it in id
//! order, and `hash`, the SHA-256 of a canonical encoding of its content
//! followed by `prev_hash`. `log_chains` holds, per log, the hash the
//! oldest entry kept follows (the last purged entry's, `''` before any
//! purge) and the newest entry's. [`Store::verify_chain`] walks the log
//! and names the first entry that does not fit: changed (its hash no
//! longer matches), or not following the entry before it (one removed
//! between them, or entries moved). Removing the newest entries shows as
//! a head that no entry reaches.
//!
//! Appends lock the log's `log_chains` row (`FOR UPDATE` on PostgreSQL;
//! SQLite has one writer at a time) until their transaction commits, so
//! two nodes appending at once take turns and the chain never forks. The
//! entry's id is not in its hash: ids order the chain, and a renumbering
//! that keeps the order changes nothing an inspector reads.

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Result, Store, WriteTx};

/// A chained log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogChain {
    /// `audit_log`: who changed what.
    Audit,
    /// `admin_access`: administrators' logins.
    Access,
}

/// The kind of a hashed column.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
}

/// A hashed column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Field {
    Int(i64),
    Text(Option<String>),
}

impl LogChain {
    pub const ALL: [LogChain; 2] = [LogChain::Audit, LogChain::Access];

    /// Its name in `log_chains` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            LogChain::Audit => "audit",
            LogChain::Access => "access",
        }
    }

    /// Its table.
    pub fn table(self) -> &'static str {
        match self {
            LogChain::Audit => "audit_log",
            LogChain::Access => "admin_access",
        }
    }

    /// The columns an entry's hash covers, in their order in the encoding.
    fn columns(self) -> &'static [(&'static str, Kind)] {
        match self {
            LogChain::Audit => &[
                ("at", Kind::Int),
                ("actor", Kind::Text),
                ("origin", Kind::Text),
                ("action", Kind::Text),
                ("domain", Kind::Text),
                ("target", Kind::Text),
                ("before", Kind::Text),
                ("after", Kind::Text),
            ],
            LogChain::Access => &[
                ("at", Kind::Int),
                ("who", Kind::Text),
                ("origin", Kind::Text),
                ("method", Kind::Text),
                ("succeeded", Kind::Int),
                ("detail", Kind::Text),
            ],
        }
    }

    fn column_list(self) -> String {
        let names: Vec<&str> = self.columns().iter().map(|(name, _)| *name).collect();
        names.join(", ")
    }

    /// The hash of an entry of this log with `fields` (in [`columns`]
    /// order) after the entry whose hash is `prev_hash`, in lower-case hex.
    /// Every value is tagged and texts are length-prefixed, so no two
    /// different entries encode alike.
    ///
    /// [`columns`]: LogChain::columns
    pub(super) fn hash(self, fields: &[Field], prev_hash: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"postino-log-chain-v1\0");
        hasher.update(self.name().as_bytes());
        hasher.update(b"\0");
        for field in fields {
            match field {
                Field::Int(n) => {
                    hasher.update(b"i");
                    hasher.update(n.to_be_bytes());
                }
                Field::Text(None) => hasher.update(b"n"),
                Field::Text(Some(text)) => {
                    hasher.update(b"s");
                    hasher.update((text.len() as u64).to_be_bytes());
                    hasher.update(text.as_bytes());
                }
            }
        }
        hasher.update(b"p");
        hasher.update(prev_hash.as_bytes());
        hex::encode(hasher.finalize())
    }

    /// The hashed fields of a row whose first columns are [`columns`].
    ///
    /// [`columns`]: LogChain::columns
    fn fields(self, row: &AnyRow) -> Result<Vec<Field>> {
        self.columns()
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| {
                Ok(match kind {
                    Kind::Int => Field::Int(row.try_get(i)?),
                    Kind::Text => Field::Text(row.try_get(i)?),
                })
            })
            .collect()
    }
}

/// Where a chain stops fitting together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry's content or hash changed since it was written.
    Altered { id: i64 },
    /// The entry does not follow the one before it: an entry between them
    /// was removed, or entries were moved.
    Unlinked { id: i64 },
    /// No entry reaches the newest hash recorded: the newest entries were
    /// removed. `last` is the last entry that fits, if any.
    Truncated { last: Option<i64> },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Altered { id } => write!(f, "entry {id} was altered"),
            ChainBreak::Unlinked { id } => write!(
                f,
                "entry {id} does not follow the entry before it: an entry was removed \
                 before it, or entries were re-ordered"
            ),
            ChainBreak::Truncated { last: Some(id) } => {
                write!(f, "the entries after entry {id} were removed")
            }
            ChainBreak::Truncated { last: None } => write!(f, "every entry was removed"),
        }
    }
}

/// What [`Store::verify_chain`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub chain: &'static str,
    /// Entries checked.
    pub entries: u64,
    /// Entries written before the log was chained, not checked.
    pub unchained: u64,
    /// The hash the oldest entry kept follows: that of the last purged
    /// entry, empty before any purge.
    pub anchor: String,
    /// The newest entry's hash.
    pub head: String,
    /// The first break, if the chain does not hold.
    #[serde(serialize_with = "crate::store::log_chain::as_text")]
    pub broken: Option<ChainBreak>,
}

fn as_text<S: serde::Serializer>(
    broken: &Option<ChainBreak>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match broken {
        Some(broken) => serializer.serialize_some(&broken.to_string()),
        None => serializer.serialize_none(),
    }
}

/// Entries read at a time while verifying.
const PAGE: i64 = 1000;

impl WriteTx {
    /// Locks `chain` until the commit and returns its (anchor, head).
    async fn lock_chain(&mut self, chain: LogChain) -> Result<(String, String)> {
        let lock = match self.store.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let select = format!("SELECT anchor_hash, head_hash FROM log_chains WHERE name = $1{lock}");
        let found: Option<(String, String)> = sqlx::query_as(AssertSqlSafe(select.clone()))
            .bind(chain.name())
            .fetch_optional(self.conn())
            .await?;
        if let Some(ends) = found {
            return Ok(ends);
        }
        // The log's first entry; a concurrent first one may get there
        // first, and then this waits for it.
        sqlx::query(
            "INSERT INTO log_chains (name, anchor_hash, head_hash) VALUES ($1, '', '') \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(chain.name())
        .execute(self.conn())
        .await?;
        Ok(sqlx::query_as(AssertSqlSafe(select))
            .bind(chain.name())
            .fetch_one(self.conn())
            .await?)
    }

    /// Appends an entry with `fields` to `chain` and returns its id.
    pub(super) async fn chain_append(&mut self, chain: LogChain, fields: &[Field]) -> Result<i64> {
        let (_, head) = self.lock_chain(chain).await?;
        let hash = chain.hash(fields, &head);
        let n = fields.len();
        let placeholders: Vec<String> = (1..=n + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}, prev_hash, hash) VALUES ({}) RETURNING id",
            chain.table(),
            chain.column_list(),
            placeholders.join(", ")
        );
        let mut insert = sqlx::query_scalar(AssertSqlSafe(sql));
        for field in fields {
            insert = match field {
                Field::Int(value) => insert.bind(*value),
                Field::Text(value) => insert.bind(value.clone()),
            };
        }
        let id: i64 = insert.bind(head).bind(&hash).fetch_one(self.conn()).await?;
        sqlx::query("UPDATE log_chains SET head_hash = $1 WHERE name = $2")
            .bind(&hash)
            .bind(chain.name())
            .execute(self.conn())
            .await?;
        Ok(id)
    }
}

impl Store {
    /// Removes the entries of `chain` older than `before` (seconds since
    /// the epoch), oldest first, up to the first one that is not: the
    /// chain stays whole, anchored on the last entry removed. Returns how
    /// many were removed.
    pub async fn purge_chain(&self, chain: LogChain, before: i64) -> Result<u64> {
        let table = chain.table();
        let mut tx = self.begin().await?;
        let (anchor, _) = tx.lock_chain(chain).await?;
        let kept: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT MIN(id) FROM {table} WHERE at >= $1"
        )))
        .bind(before)
        .fetch_one(tx.conn())
        .await?;
        let cut = kept.unwrap_or(i64::MAX);
        let last: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT hash FROM {table} WHERE id < $1 AND hash IS NOT NULL ORDER BY id DESC LIMIT 1"
        )))
        .bind(cut)
        .fetch_optional(tx.conn())
        .await?
        .flatten();
        let removed = sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE id < $1")))
            .bind(cut)
            .execute(tx.conn())
            .await?
            .rows_affected();
        let anchor = last.unwrap_or(anchor);
        sqlx::query("UPDATE log_chains SET anchor_hash = $1 WHERE name = $2")
            .bind(anchor)
            .bind(chain.name())
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Walks `chain` from its anchor to its head and reports the first
    /// entry that does not fit, if any.
    pub async fn verify_chain(&self, chain: LogChain) -> Result<ChainReport> {
        let table = chain.table();
        let ends: Option<(String, String)> =
            sqlx::query_as("SELECT anchor_hash, head_hash FROM log_chains WHERE name = $1")
                .bind(chain.name())
                .fetch_optional(self.pool())
                .await?;
        let (anchor, head) = ends.unwrap_or_default();
        let unchained: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE hash IS NULL"
        )))
        .fetch_one(self.pool())
        .await?;
        let mut report = ChainReport {
            chain: chain.name(),
            entries: 0,
            unchained: u64::try_from(unchained).unwrap_or(0),
            anchor: anchor.clone(),
            head: head.clone(),
            broken: None,
        };
        let sql = format!(
            "SELECT {}, id, prev_hash, hash FROM {table} \
             WHERE hash IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
            chain.column_list()
        );
        let n = chain.columns().len();
        let mut expected = anchor;
        let mut last = None;
        loop {
            let rows: Vec<AnyRow> = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(last.unwrap_or(i64::MIN))
                .bind(PAGE)
                .fetch_all(self.pool())
                .await?;
            for row in &rows {
                let id: i64 = row.try_get(n)?;
                let prev: Option<String> = row.try_get(n + 1)?;
                let hash: Option<String> = row.try_get(n + 2)?;
                let prev = prev.unwrap_or_default();
                if prev != expected {
                    report.broken = Some(ChainBreak::Unlinked { id });
                    return Ok(report);
                }
                let hash = hash.unwrap_or_default();
                if chain.hash(&chain.fields(row)?, &prev) != hash {
                    report.broken = Some(ChainBreak::Altered { id });
                    return Ok(report);
                }
                report.entries += 1;
                expected = hash;
                last = Some(id);
            }
            if rows.len() < PAGE as usize {
                break;
            }
        }
        if expected != head {
            report.broken = Some(ChainBreak::Truncated { last });
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AccessMethod, AdminAccess};

    crate::store_tests!(appends_at_once_make_one_chain);

    /// Without the lock on the chain's row, appends that read the same
    /// newest hash would fork the chain, and verify would find it.
    async fn appends_at_once_make_one_chain(store: Store) {
        let appends: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .record_admin_access(&AdminAccess {
                            who: format!("admin{i}"),
                            origin: "192.0.2.1".to_string(),
                            method: AccessMethod::Token,
                            succeeded: true,
                            detail: "script".to_string(),
                        })
                        .await
                })
            })
            .collect();
        for append in appends {
            append.await.expect("the task ends").expect("the append");
        }
        let report = store.verify_chain(LogChain::Access).await.unwrap();
        assert_eq!((report.entries, &report.broken), (16, &None), "{report:?}");
        assert_eq!(report.anchor, "");
    }

    #[test]
    fn the_encoding_keeps_fields_apart() {
        let text = |s: &str| Field::Text(Some(s.to_string()));
        let chain = LogChain::Access;
        let one = chain.hash(&[text("ab"), text("c")], "");
        assert_eq!(one.len(), 64);
        assert_ne!(one, chain.hash(&[text("a"), text("bc")], ""));
        assert_ne!(one, chain.hash(&[text("ab"), text("c")], "x"));
        assert_ne!(
            chain.hash(&[Field::Text(None)], ""),
            chain.hash(&[text("")], "")
        );
        assert_ne!(one, LogChain::Audit.hash(&[text("ab"), text("c")], ""));
        assert_eq!(one, chain.hash(&[text("ab"), text("c")], ""));
    }
}

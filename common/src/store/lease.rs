//! Leases on the rows of the tables background workers take their work
//! from: the outbound queue, and the messages to teach rspamd.
//!
//! A lease is a time, not a lock: `leased_until` and `leased_by` on the row,
//! beside `next_attempt_at`. Taking leases is one write transaction (on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so concurrent workers pass over
//! each other's candidates; on SQLite the write transaction excludes other
//! writers), so no two workers hold a row at once, on one node or several.
//! A worker that dies leaves its lease to run out, and then any worker
//! takes the row again.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use super::{Backend, Result, Store, now};

/// The name a worker holds leases by: the node's hostname, the process
/// and when it started, so that no two workers anywhere share it.
pub fn holder_name(hostname: &str) -> String {
    format!("{hostname}:{}:{}", std::process::id(), now())
}

/// A table whose rows workers lease. Each has the columns `id`,
/// `next_attempt_at`, `leased_until` and `leased_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Jobs {
    /// `queue`: outbound messages.
    Queue,
    /// `learning_jobs`: messages to teach rspamd.
    Learning,
}

impl Jobs {
    fn table(self) -> &'static str {
        match self {
            Jobs::Queue => "queue",
            Jobs::Learning => "learning_jobs",
        }
    }

    /// The statement that finds (and on PostgreSQL locks) row `$1` if
    /// worker `$2` holds its lease.
    pub(super) fn held_sql(self, backend: Backend) -> AssertSqlSafe<String> {
        let lock = match backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        AssertSqlSafe(format!(
            "SELECT id FROM {} WHERE id = $1 AND leased_by = $2{lock}",
            self.table()
        ))
    }
}

impl Store {
    /// Leases up to `limit` rows of `jobs` that are due and not leased (or
    /// whose lease ran out) to `worker` for `lease`, and returns their ids,
    /// the earliest due first.
    pub(super) async fn take_leases(
        &self,
        jobs: Jobs,
        worker: &str,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<i64>> {
        let now = now();
        let until = now.saturating_add(i64::try_from(lease.as_secs()).unwrap_or(i64::MAX));
        let skip_locked = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let table = jobs.table();
        let mut tx = self.begin().await?;
        let rows: Vec<(i64,)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id FROM {table} WHERE next_attempt_at <= $1 AND leased_until <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2{skip_locked}"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
        let ids: Vec<i64> = rows.into_iter().map(|(id,)| id).collect();
        let update = format!("UPDATE {table} SET leased_until = $1, leased_by = $2 WHERE id = $3");
        for &id in &ids {
            sqlx::query(AssertSqlSafe(update.as_str()))
                .bind(until)
                .bind(worker)
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Gives up `worker`'s lease on row `id` of `jobs` without recording
    /// an attempt, so that another worker may take it at once.
    pub(super) async fn give_back(&self, jobs: Jobs, id: i64, worker: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {} SET leased_until = 0, leased_by = NULL WHERE id = $1 AND leased_by = $2",
            jobs.table()
        )))
        .bind(id)
        .bind(worker)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// When the next row of `jobs` becomes due, Unix seconds: its next
    /// attempt, or the end of its lease if that is later. `None` when the
    /// table is empty.
    pub(super) async fn next_due_of(&self, jobs: Jobs) -> Result<Option<i64>> {
        let (due,): (Option<i64>,) = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT MIN(CASE WHEN leased_until > next_attempt_at THEN leased_until \
             ELSE next_attempt_at END) FROM {}",
            jobs.table()
        )))
        .fetch_one(self.pool())
        .await?;
        Ok(due)
    }
}

//! Failed-login counters and the clients each name logged in from, kept in
//! the store so that every node sees them.

use sqlx::FromRow;

use super::{Result, Store};

/// Failures counted under one key within the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct FailureCounts {
    pub failures: i64,
    pub first_at: i64,
    pub last_at: i64,
}

impl Store {
    /// The failures under `key` since `since` (Unix seconds), if any.
    pub async fn failures(&self, key: &str, since: i64) -> Result<Option<FailureCounts>> {
        Ok(sqlx::query_as(
            "SELECT failures, first_at, last_at FROM auth_failures WHERE key = $1 AND last_at >= $2",
        )
        .bind(key)
        .bind(since)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Counts one more failure under `key` at `at`; a count whose last failure
    /// is older than `since` starts again from one.
    pub async fn record_failure(&self, key: &str, at: i64, since: i64) -> Result<FailureCounts> {
        let mut tx = self.begin().await?;
        let counts = sqlx::query_as(
            "INSERT INTO auth_failures (key, failures, first_at, last_at) VALUES ($1, 1, $2, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN auth_failures.last_at < $3 THEN 1 ELSE auth_failures.failures + 1 END, \
               first_at = CASE WHEN auth_failures.last_at < $3 THEN $2 ELSE auth_failures.first_at END, \
               last_at = $2 \
             RETURNING failures, first_at, last_at",
        )
        .bind(key)
        .bind(at)
        .bind(since)
        .fetch_one(tx.conn())
        .await?;
        // Forget stale counters as we go, so the table stays small.
        sqlx::query("DELETE FROM auth_failures WHERE last_at < $1")
            .bind(since)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// When `client` last logged in as `key`, if at `since` or later.
    pub async fn known_client(&self, key: &str, client: &str, since: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT last_at FROM auth_known_clients WHERE key = $1 AND client = $2 AND last_at >= $3",
        )
        .bind(key)
        .bind(client)
        .bind(since)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Notes that `client` logged in as `key` at `at`, and forgets clients
    /// not seen since `since`.
    pub async fn remember_client(
        &self,
        key: &str,
        client: &str,
        at: i64,
        since: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO auth_known_clients (key, client, last_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key, client) DO UPDATE SET last_at = $3",
        )
        .bind(key)
        .bind(client)
        .bind(at)
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM auth_known_clients WHERE last_at < $1")
            .bind(since)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }
}

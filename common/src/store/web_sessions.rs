//! Sessions of the console and of cookie-authenticated API calls, in the
//! store so that every node behind a load balancer knows them. Only the
//! cookie's digest is stored (see `auth::bearer`).

use super::{Result, Store, WriteTx, now};

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOwner {
    Admin(i64),
    Account(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub owner: SessionOwner,
    /// The token every change made through this session must carry.
    pub csrf: String,
    pub expires_at: i64,
}

impl Store {
    /// The live session with this digest.
    pub async fn web_session(&self, digest: &str) -> Result<Option<WebSession>> {
        let row: Option<(Option<i64>, Option<i64>, String, i64)> = sqlx::query_as(
            "SELECT admin_id, account_id, csrf, expires_at FROM web_sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(digest)
        .bind(now())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|(admin, account, csrf, expires_at)| {
            let owner = match (admin, account) {
                (Some(id), _) => SessionOwner::Admin(id),
                (None, Some(id)) => SessionOwner::Account(id),
                (None, None) => return None,
            };
            Some(WebSession {
                owner,
                csrf,
                expires_at,
            })
        }))
    }

    pub async fn delete_web_session(&self, digest: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(digest)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

impl WriteTx {
    /// Opens a session for `lifetime_secs`, and drops expired ones.
    pub async fn create_web_session(
        &mut self,
        digest: &str,
        owner: SessionOwner,
        csrf: &str,
        lifetime_secs: i64,
    ) -> Result<WebSession> {
        let now = now();
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.conn())
            .await?;
        let (admin, account) = match owner {
            SessionOwner::Admin(id) => (Some(id), None),
            SessionOwner::Account(id) => (None, Some(id)),
        };
        let expires_at = now + lifetime_secs;
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, admin_id, account_id, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(digest)
        .bind(admin)
        .bind(account)
        .bind(csrf)
        .bind(now)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        Ok(WebSession {
            owner,
            csrf: csrf.to_string(),
            expires_at,
        })
    }
}

//! Mailbox users' logins, shown to them on their console page so that a
//! login they did not make stands out. Written in batches (see
//! `auth::LoginLog`), never on the login path; metadata purged after
//! `retention.metadata`.

use serde::Serialize;
use sqlx::FromRow;

use super::{Result, Store};

/// A login of a mailbox user.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct UserLogin {
    pub account_id: i64,
    /// Seconds since the epoch.
    pub at: i64,
    pub ip: String,
    /// imap, pop3, smtp, managesieve or web.
    pub protocol: String,
}

impl Store {
    /// Writes `logins` in one transaction.
    pub async fn record_user_logins(&self, logins: &[UserLogin]) -> Result<()> {
        let mut tx = self.begin().await?;
        for login in logins {
            // An account removed since its login has no history left to add to.
            sqlx::query(
                "INSERT INTO user_logins (account_id, at, ip, protocol) \
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)",
            )
            .bind(login.account_id)
            .bind(login.at)
            .bind(&login.ip)
            .bind(&login.protocol)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await
    }

    /// An account's latest logins, newest first.
    pub async fn user_logins(&self, account_id: i64, limit: i64) -> Result<Vec<UserLogin>> {
        Ok(sqlx::query_as(
            "SELECT account_id, at, ip, protocol FROM user_logins \
             WHERE account_id = $1 ORDER BY at DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}

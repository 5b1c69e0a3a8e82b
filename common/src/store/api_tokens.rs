//! API tokens: long-lived credentials of an admin principal, for
//! automation. Only their digest is stored (see `auth::bearer`).

use serde::Serialize;
use sqlx::FromRow;

use super::{AccessMethod, Admin, AdminAccess, Result, Store, StoreError, WriteTx, now};

/// How often a token's `last_used_at` is written at most: a busy script
/// should not turn every read into a write.
const LAST_USED_RESOLUTION: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct ApiToken {
    pub id: i64,
    /// The admin principal the token acts as.
    pub admin: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

macro_rules! select_token {
    ($tail:literal) => {
        concat!(
            "SELECT t.id, a.username AS admin, t.name, t.created_at, t.last_used_at, t.revoked_at ",
            "FROM api_tokens t JOIN admins a ON a.id = t.admin_id ",
            $tail
        )
    };
}

impl Store {
    /// Every token, or one admin's, oldest first.
    pub async fn api_tokens(&self, admin: Option<&str>) -> Result<Vec<ApiToken>> {
        let query = match admin {
            Some(name) => {
                sqlx::query_as(select_token!("WHERE a.username = $1 ORDER BY t.id")).bind(name)
            }
            None => sqlx::query_as(select_token!("ORDER BY t.id")),
        };
        Ok(query.fetch_all(self.pool()).await?)
    }

    /// The admin a live token with this digest acts as, noting its use;
    /// its first use in each hour (of the clock) goes to the access log,
    /// as a login from `origin`, so that a busy script does not write an
    /// entry per request.
    pub async fn admin_by_token(&self, digest: &str, origin: &str) -> Result<Option<Admin>> {
        let row: Option<(i64, i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, admin_id, name, last_used_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(digest)
        .fetch_optional(self.pool())
        .await?;
        let Some((token_id, admin_id, name, last_used)) = row else {
            return Ok(None);
        };
        let now = now();
        let hour = now - now.rem_euclid(3600);
        let new_hour = last_used.is_none_or(|at| at < hour);
        // Of two requests at once, the one whose update lands logs the use.
        let noted = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 \
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(token_id)
        .bind(if new_hour {
            hour
        } else {
            now - LAST_USED_RESOLUTION
        })
        .execute(self.pool())
        .await?
        .rows_affected();
        let admin = self.admin_by_id(admin_id).await?;
        if let Some(admin) = &admin
            && new_hour
            && noted == 1
        {
            self.record_admin_access(&AdminAccess {
                who: admin.username.clone(),
                origin: origin.to_string(),
                method: AccessMethod::Token,
                succeeded: true,
                detail: name,
            })
            .await?;
        }
        Ok(admin)
    }
}

impl WriteTx {
    pub async fn create_api_token(
        &mut self,
        admin: &str,
        name: &str,
        digest: &str,
    ) -> Result<ApiToken> {
        let id: (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (admin_id, name, token_hash, created_at) \
             SELECT id, $2, $3, $4 FROM admins WHERE username = $1 RETURNING id",
        )
        .bind(admin)
        .bind(name)
        .bind(digest)
        .bind(now())
        .fetch_optional(self.conn())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "admin",
            name: admin.to_string(),
        })?;
        self.api_token(id.0).await
    }

    /// Revokes a token; revoking one twice is not an error.
    pub async fn revoke_api_token(&mut self, id: i64) -> Result<ApiToken> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(self.conn())
            .await?;
        self.api_token(id).await
    }

    pub async fn api_token(&mut self, id: i64) -> Result<ApiToken> {
        sqlx::query_as(select_token!("WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(self.conn())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "token",
                name: id.to_string(),
            })
    }
}

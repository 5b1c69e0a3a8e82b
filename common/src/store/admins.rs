//! Admin principals: provincial admins (every domain) and comune admins
//! (their own domains only).

use serde::Serialize;

use super::{Result, Store, WriteTx, domains, inserted, now};

/// Which domains an admin may manage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminScope {
    AllDomains,
    Domains(Vec<String>),
}

impl AdminScope {
    pub fn covers(&self, domain: &str) -> bool {
        match self {
            AdminScope::AllDomains => true,
            AdminScope::Domains(names) => names.iter().any(|n| n == domain),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admin {
    pub id: i64,
    pub username: String,
    pub scope: AdminScope,
    pub created_at: i64,
    #[serde(skip)]
    pub password_hash: String,
}

/// The admin query with a trailing clause, as one `&'static str`.
macro_rules! select_admin {
    ($tail:literal) => {
        concat!(
            "SELECT id, username, password_hash, all_domains, created_at FROM admins ",
            $tail
        )
    };
}

type AdminRow = (i64, String, String, i64, i64);

impl Store {
    pub async fn admin(&self, username: &str) -> Result<Option<Admin>> {
        let row = sqlx::query_as(select_admin!("WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        self.with_scope(row).await
    }

    pub async fn admin_by_id(&self, id: i64) -> Result<Option<Admin>> {
        let row = sqlx::query_as(select_admin!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        self.with_scope(row).await
    }

    /// Every admin principal, by username. Admins are a handful: each
    /// one's scope is read as for a single admin.
    pub async fn admins(&self) -> Result<Vec<Admin>> {
        let rows: Vec<AdminRow> = sqlx::query_as(select_admin!("ORDER BY username"))
            .fetch_all(self.pool())
            .await?;
        let mut admins = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(admin) = self.with_scope(Some(row)).await? {
                admins.push(admin);
            }
        }
        Ok(admins)
    }

    /// An admin row with the domains of its scope.
    async fn with_scope(&self, row: Option<AdminRow>) -> Result<Option<Admin>> {
        let Some((id, username, password_hash, all_domains, created_at)) = row else {
            return Ok(None);
        };
        let scope = if all_domains != 0 {
            AdminScope::AllDomains
        } else {
            let names: Vec<(String,)> = sqlx::query_as(
                "SELECT d.name FROM admin_domains ad JOIN domains d ON d.id = ad.domain_id \
                 WHERE ad.admin_id = $1 ORDER BY d.name",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?;
            AdminScope::Domains(names.into_iter().map(|(n,)| n).collect())
        };
        Ok(Some(Admin {
            id,
            username,
            scope,
            created_at,
            password_hash,
        }))
    }
}

impl WriteTx {
    pub async fn create_admin(
        &mut self,
        username: &str,
        password_hash: &str,
        scope: &AdminScope,
    ) -> Result<i64> {
        let result: std::result::Result<(i64,), _> = sqlx::query_as(
            "INSERT INTO admins (username, password_hash, all_domains, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(i64::from(*scope == AdminScope::AllDomains))
        .bind(now())
        .fetch_one(self.conn())
        .await;
        let (id,) = inserted(result, "admin", || username.to_string())?;
        if let AdminScope::Domains(names) = scope {
            for name in names {
                let domain = self
                    .domain(name)
                    .await?
                    .ok_or_else(|| domains::not_found(name))?;
                sqlx::query("INSERT INTO admin_domains (admin_id, domain_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(domain.id)
                    .execute(self.conn())
                    .await?;
            }
        }
        Ok(id)
    }

    /// Deletes an admin, with its domains, API tokens and sessions. False
    /// if there is no such admin.
    pub async fn delete_admin(&mut self, username: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM admins WHERE username = $1")
            .bind(username)
            .execute(self.conn())
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Sets an admin's password hash and ends its sessions, which were
    /// opened with the old password; its API tokens stay valid. False if
    /// there is no such admin.
    pub async fn set_admin_password(
        &mut self,
        username: &str,
        password_hash: &str,
    ) -> Result<bool> {
        let updated = sqlx::query("UPDATE admins SET password_hash = $1 WHERE username = $2")
            .bind(password_hash)
            .bind(username)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "DELETE FROM web_sessions WHERE admin_id IN (SELECT id FROM admins WHERE username = $1)",
        )
        .bind(username)
        .execute(self.conn())
        .await?;
        Ok(updated.rows_affected() > 0)
    }
}

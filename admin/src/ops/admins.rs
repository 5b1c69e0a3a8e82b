//! Admin principals: provincial (every domain) and comune (listed domains).

use postino_common::auth::Secret;
use postino_common::store::{Admin, AdminScope};

use super::domains::parse_domain;
use super::{Ops, OpsError, Result};

fn check_username(username: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._@-".contains(c);
    if (1..=64).contains(&username.len()) && username.chars().all(allowed) {
        Ok(())
    } else {
        Err(OpsError::Invalid {
            field: "username",
            message: format!(
                "`{username}` must be 1 to 64 characters: lowercase letters, digits, '.', '_', '@' or '-'"
            ),
        })
    }
}

impl Ops {
    pub async fn add_admin(
        &self,
        username: &str,
        password: &Secret,
        scope: AdminScope,
    ) -> Result<Admin> {
        self.require_all_domains("add admins")?;
        check_username(username)?;
        let scope = match scope {
            AdminScope::AllDomains => AdminScope::AllDomains,
            AdminScope::Domains(names) if names.is_empty() => {
                return Err(OpsError::Invalid {
                    field: "domain",
                    message: "a comune admin needs at least one domain".to_string(),
                });
            }
            AdminScope::Domains(names) => AdminScope::Domains(
                names
                    .iter()
                    .map(|n| parse_domain(n).map(|d| d.to_string()))
                    .collect::<Result<_>>()?,
            ),
        };
        let hash = self.hash(password).await?;
        let mut tx = self.store.begin().await?;
        tx.create_admin(username, &hash, &scope).await?;
        let after = serde_json::json!({ "username": username, "scope": scope });
        self.audit(
            &mut tx,
            "admin.add",
            None,
            username,
            None::<&()>,
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        self.existing_admin(username).await
    }

    /// Removes an admin; its API tokens and sessions end with it.
    pub async fn remove_admin(&self, username: &str) -> Result<Admin> {
        self.require_all_domains("remove admins")?;
        let admin = self.existing_admin(username).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_admin(username).await? {
            return Err(not_found(username));
        }
        let before = serde_json::json!({ "username": username, "scope": admin.scope });
        self.audit(
            &mut tx,
            "admin.remove",
            None,
            username,
            Some(&before),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(admin)
    }

    /// Sets an admin's password, ending the sessions opened with the old one.
    pub async fn set_admin_password(&self, username: &str, password: &Secret) -> Result<()> {
        self.require_all_domains("set admins' passwords")?;
        let hash = self.hash(password).await?;
        let mut tx = self.store.begin().await?;
        if !tx.set_admin_password(username, &hash).await? {
            return Err(not_found(username));
        }
        // The audit entry says that the password changed, never what to.
        self.audit(
            &mut tx,
            "admin.passwd",
            None,
            username,
            None::<&()>,
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn existing_admin(&self, username: &str) -> Result<Admin> {
        self.store
            .admin(username)
            .await?
            .ok_or_else(|| not_found(username))
    }
}

fn not_found(username: &str) -> OpsError {
    OpsError::NotFound {
        what: "admin",
        name: username.to_string(),
    }
}

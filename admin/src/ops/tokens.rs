//! API tokens: long-lived credentials with which a script acts as an admin
//! principal over the HTTP API, with that admin's scope. Only provincial
//! admins create, list and revoke them. A token is shown once, when it is
//! created; the store keeps its digest only, and the audit log never sees
//! it.

use postino_common::auth::{Secret, bearer};
use postino_common::store::{Admin, ApiToken};

use super::{Ops, OpsError, Result};

/// What every token starts with, so that a leaked one is easy to spot in
/// logs and by secret scanners.
const TOKEN_PREFIX: &str = "pst_";
/// The longest token name, in characters.
const MAX_NAME: usize = 64;

/// A token's name, trimmed: 1 to [`MAX_NAME`] printable characters.
fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    let length = name.chars().count();
    if (1..=MAX_NAME).contains(&length) && !name.chars().any(char::is_control) {
        Ok(name.to_string())
    } else {
        Err(OpsError::Invalid {
            field: "name",
            message: format!("must be 1 to {MAX_NAME} printable characters"),
        })
    }
}

impl Ops {
    /// Creates a token acting as admin `username`, returning it with its
    /// secret, which cannot be had again.
    pub async fn create_api_token(&self, username: &str, name: &str) -> Result<(ApiToken, Secret)> {
        self.require_all_domains("manage API tokens")?;
        let name = check_name(name)?;
        let (secret, digest) = bearer::generate(TOKEN_PREFIX);
        let mut tx = self.store.begin().await?;
        let token = tx.create_api_token(username, &name, &digest).await?;
        self.audit(
            &mut tx,
            "token.create",
            None,
            &token.admin,
            None::<&()>,
            Some(&token),
        )
        .await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    /// Every token, or one admin's, revoked ones included, oldest first.
    pub async fn api_tokens(&self, username: Option<&str>) -> Result<Vec<ApiToken>> {
        self.require_all_domains("manage API tokens")?;
        if let Some(username) = username
            && self.store.admin(username).await?.is_none()
        {
            return Err(OpsError::NotFound {
                what: "admin",
                name: username.to_string(),
            });
        }
        Ok(self.store.api_tokens(username).await?)
    }

    /// Revokes a token: it stops working at once. Revoking a revoked token
    /// changes nothing and is not audited again.
    pub async fn revoke_api_token(&self, id: i64) -> Result<ApiToken> {
        self.require_all_domains("manage API tokens")?;
        let mut tx = self.store.begin().await?;
        let before = tx.api_token(id).await?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let after = tx.revoke_api_token(id).await?;
        self.audit(
            &mut tx,
            "token.revoke",
            None,
            &after.admin,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The admin principals, by username.
    pub async fn admins(&self) -> Result<Vec<Admin>> {
        self.require_all_domains("list admins")?;
        Ok(self.store.admins().await?)
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(tokens_act_as_their_admin_until_revoked);

    const COMUNE: &str = "comune.esempio.pu.it";

    async fn tokens_act_as_their_admin_until_revoked(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        provincia.add_domain(COMUNE, 0, 0).await.unwrap();
        let scope = AdminScope::Domains(vec![COMUNE.to_string()]);
        let password = Secret::new("password-robusta");
        provincia
            .add_admin("anna", &password, scope.clone())
            .await
            .unwrap();
        provincia
            .add_admin("root", &password, AdminScope::AllDomains)
            .await
            .unwrap();

        let (token, secret) = provincia
            .create_api_token("anna", " protocollo ")
            .await
            .unwrap();
        assert!(secret.expose().starts_with("pst_"));
        assert_eq!(token.admin, "anna");
        assert_eq!(token.name, "protocollo");
        assert_eq!(token.revoked_at, None);
        let digest = bearer::digest(secret.expose());
        let admin = store
            .admin_by_token(&digest, "192.0.2.1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((admin.username.as_str(), &admin.scope), ("anna", &scope));

        let audit = store.audit_log(None, 10).await.unwrap();
        assert_eq!(audit[0].action, "token.create");
        assert_eq!(audit[0].target, "anna");
        assert_eq!(audit[0].domain, None);
        let after = audit[0].after.as_deref().unwrap();
        assert!(after.contains("\"protocollo\""), "{after}");
        for entry in &audit {
            let text = format!("{entry:?}");
            assert!(!text.contains(secret.expose()), "a secret in {text}");
            assert!(!text.contains(&digest), "a digest in {text}");
        }

        // Provincial admins only; a comune admin learns nothing.
        for refused in [
            comune.create_api_token("anna", "mio").await.map(|_| ()),
            comune.api_tokens(None).await.map(|_| ()),
            comune.api_tokens(Some("anna")).await.map(|_| ()),
            comune.revoke_api_token(token.id).await.map(|_| ()),
            comune.admins().await.map(|_| ()),
        ] {
            assert!(
                matches!(refused, Err(OpsError::Forbidden(_))),
                "{refused:?}"
            );
        }
        for name in ["", "   ", &"x".repeat(65), "a\tb", "a\nb"] {
            let refused = provincia.create_api_token("anna", name).await;
            assert!(
                matches!(&refused, Err(OpsError::Invalid { field: "name", .. })),
                "{name:?}: {refused:?}"
            );
        }
        let unknown = provincia.create_api_token("nessuno", "x").await;
        assert!(
            matches!(&unknown, Err(OpsError::NotFound { what: "admin", .. })),
            "{unknown:?}"
        );
        let unknown = provincia.api_tokens(Some("nessuno")).await;
        assert!(
            matches!(&unknown, Err(OpsError::NotFound { what: "admin", .. })),
            "{unknown:?}"
        );

        let (other, _) = provincia
            .create_api_token("root", &"é".repeat(64))
            .await
            .unwrap();
        let ids = |tokens: Vec<ApiToken>| tokens.iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(
            ids(provincia.api_tokens(None).await.unwrap()),
            [token.id, other.id]
        );
        assert_eq!(
            ids(provincia.api_tokens(Some("anna")).await.unwrap()),
            [token.id]
        );

        let revoked = provincia.revoke_api_token(token.id).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_eq!(
            store.admin_by_token(&digest, "192.0.2.1").await.unwrap(),
            None
        );
        let again = provincia.revoke_api_token(token.id).await.unwrap();
        assert_eq!(again, revoked);
        let audit = store.audit_log(None, 10).await.unwrap();
        let revokes: Vec<_> = audit
            .iter()
            .filter(|e| e.action == "token.revoke")
            .collect();
        assert_eq!(revokes.len(), 1, "{audit:#?}");
        assert!(
            revokes[0]
                .before
                .as_deref()
                .unwrap()
                .contains("\"revoked_at\":null")
        );
        let missing = provincia.revoke_api_token(9999).await;
        assert!(
            matches!(&missing, Err(OpsError::NotFound { what: "token", .. })),
            "{missing:?}"
        );

        let admins = provincia.admins().await.unwrap();
        let listed: Vec<(&str, &AdminScope)> = admins
            .iter()
            .map(|a| (a.username.as_str(), &a.scope))
            .collect();
        assert_eq!(
            listed,
            [("anna", &scope), ("root", &AdminScope::AllDomains)]
        );
    }
}

//! Self-service for a mailbox user logged in to the console or the API
//! (an actor with `own_address`): reading its own account and changing its
//! own password, nothing else. Everything else refuses it, as its scope
//! reaches no domain.

use std::net::IpAddr;

use postino_common::auth::{AuthError, Secret, Service};
use postino_common::store::{Account, UserLogin};

use super::{Ops, OpsError, Result};

/// Logins a user's page lists.
const RECENT_LOGINS: i64 = 20;

impl Ops {
    /// The mailbox the actor is logged in as; admins have none.
    fn own_address(&self) -> Result<&str> {
        self.actor.own_address.as_deref().ok_or_else(|| {
            OpsError::Forbidden("only a mailbox user has an own account".to_string())
        })
    }

    /// The actor's own mailbox.
    pub async fn own_account(&self) -> Result<Account> {
        let address = self.own_address()?;
        self.store
            .account(address)
            .await?
            .ok_or_else(|| OpsError::NotFound {
                what: "mailbox",
                name: address.to_string(),
            })
    }

    /// The actor's own mailbox's latest logins, newest first, so that its
    /// user can spot one they did not make.
    pub async fn own_logins(&self) -> Result<Vec<UserLogin>> {
        let account = self.own_account().await?;
        Ok(self.store.user_logins(account.id, RECENT_LOGINS).await?)
    }

    /// Changes the actor's own password, given the current one. Checking it
    /// is a login from `ip`, throttled like any other: a stolen session
    /// cannot be used to guess the password, nor to change it without
    /// knowing it.
    pub async fn change_own_password(
        &self,
        current: &Secret,
        new: &Secret,
        ip: IpAddr,
    ) -> Result<()> {
        let address = self.own_address()?;
        // Before the check, which counts a failure when it fails: a new
        // password too short must not cost the user a login attempt.
        Self::check_password("new_password", new)?;
        match self
            .auth
            .login_user(Service::Admin, address, current, ip)
            .await
        {
            Ok(_) => {}
            Err(AuthError::Invalid) => {
                return Err(OpsError::Invalid {
                    field: "current_password",
                    message: "is not the current password".to_string(),
                });
            }
            Err(other) => return Err(other.into()),
        }
        let hash = self.auth.hash_password(new).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password(address, &hash).await?;
        // The audit entry says that the password changed, never what to.
        self.audit(
            &mut tx,
            "mailbox.passwd",
            address.rsplit_once('@').map(|(_, domain)| domain),
            address,
            None::<&()>,
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::testing::{acting, ops};
    use crate::ops::{Actor, MailboxChange};

    postino_common::store_tests!(
        a_user_changes_its_own_password_knowing_the_current_one,
        mailbox_users_reach_nothing_else
    );

    const COMUNE: &str = "comune.esempio.pu.it";
    const ADDRESS: &str = "anna@comune.esempio.pu.it";
    const OLD: &str = "vecchia-password";
    const NEW: &str = "nuova-password-lunga";
    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));

    async fn with_mailbox(store: &Store) -> Ops {
        let provincia = ops(store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 0, 0).await.unwrap();
        provincia
            .add_mailbox(ADDRESS, Some(&Secret::new(OLD)), 0, "Anna")
            .await
            .unwrap();
        acting(
            store,
            Actor::mailbox_user(ADDRESS.to_string(), "192.0.2.9".to_string()),
        )
    }

    async fn a_user_changes_its_own_password_knowing_the_current_one(store: Store) {
        let anna = with_mailbox(&store).await;
        assert_eq!(anna.own_account().await.unwrap().display_name, "Anna");

        let short = anna
            .change_own_password(&Secret::new(OLD), &Secret::new("corta"), IP)
            .await;
        assert!(
            matches!(
                &short,
                Err(OpsError::Invalid {
                    field: "new_password",
                    ..
                })
            ),
            "{short:?}"
        );
        let wrong = anna
            .change_own_password(&Secret::new("sbagliata"), &Secret::new(NEW), IP)
            .await;
        assert!(
            matches!(
                &wrong,
                Err(OpsError::Invalid {
                    field: "current_password",
                    ..
                })
            ),
            "{wrong:?}"
        );
        anna.change_own_password(&Secret::new(OLD), &Secret::new(NEW), IP)
            .await
            .unwrap();
        let login = |password: &'static str| {
            let auth = anna.auth.clone();
            async move {
                auth.login_user(Service::Imap, ADDRESS, &Secret::new(password), IP)
                    .await
            }
        };
        assert!(login(NEW).await.is_ok());
        assert!(matches!(login(OLD).await, Err(AuthError::Invalid)));

        let audit = store.audit_log(Some(COMUNE), 10).await.unwrap();
        let entry = &audit[0];
        assert_eq!(
            (
                entry.action.as_str(),
                entry.actor.as_str(),
                entry.target.as_str()
            ),
            ("mailbox.passwd", ADDRESS, ADDRESS)
        );
        assert_eq!(entry.origin, "192.0.2.9");
        assert_eq!((&entry.before, &entry.after), (&None, &None));
        let text = format!("{audit:?}");
        assert!(!text.contains(NEW) && !text.contains(OLD), "{text}");

        // Past the address's failure limit (5 in the tests: the wrong
        // current password and the old password above, then these three),
        // even the right password is refused, and the throttle surfaces as
        // such.
        for _ in 0..3 {
            let wrong = anna
                .change_own_password(&Secret::new("sbagliata"), &Secret::new(OLD), IP)
                .await;
            assert!(matches!(wrong, Err(OpsError::Invalid { .. })), "{wrong:?}");
        }
        let throttled = anna
            .change_own_password(&Secret::new(NEW), &Secret::new(OLD), IP)
            .await;
        assert!(
            matches!(throttled, Err(OpsError::Auth(AuthError::Throttled { .. }))),
            "{throttled:?}"
        );
    }

    async fn mailbox_users_reach_nothing_else(store: Store) {
        let anna = with_mailbox(&store).await;
        let refused = anna.mailbox(ADDRESS).await;
        assert!(
            matches!(refused, Err(OpsError::NotFound { .. })),
            "{refused:?}"
        );
        let change = MailboxChange {
            quota_bytes: Some(1),
            ..MailboxChange::default()
        };
        let refused = anna.update_mailbox(ADDRESS, &change).await;
        assert!(
            matches!(refused, Err(OpsError::NotFound { .. })),
            "{refused:?}"
        );
        assert!(anna.domains().await.unwrap().is_empty());
        assert!(anna.usage(None).await.unwrap().is_empty());
        let audit = anna.audit_log(&Default::default()).await.unwrap();
        assert!(audit.is_empty(), "{audit:?}");

        let provincia = ops(&store, AdminScope::AllDomains);
        for refused in [provincia.own_account().await.map(|_| ()), {
            provincia
                .change_own_password(&Secret::new(OLD), &Secret::new(NEW), IP)
                .await
        }] {
            assert!(
                matches!(refused, Err(OpsError::Forbidden(_))),
                "{refused:?}"
            );
        }
    }
}

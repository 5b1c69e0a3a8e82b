//! Mailboxes: add, list, show, update, password, remove.

use postino_common::address::Address;
use postino_common::auth::Secret;
use postino_common::store::{Account, Domain, Folder, LimitsOf, NewAccount};
use postino_config::ByteSize;
use serde::{Deserialize, Serialize};

use super::sending::{self, LimitsChange};
use super::{Ops, OpsError, Result};

/// The longest display name, in characters.
const MAX_DISPLAY_NAME: usize = 200;

/// A mailbox with its folders.
#[derive(Debug, Serialize)]
pub struct MailboxDetails {
    #[serde(flatten)]
    pub account: Account,
    pub folders: Vec<Folder>,
}

pub(super) fn parse_address(field: &'static str, address: &str) -> Result<Address> {
    address.parse().map_err(
        |e: postino_common::address::AddressError| OpsError::Invalid {
            field,
            message: e.to_string(),
        },
    )
}

/// What to change in a mailbox: each field given replaces the current
/// value, the others stay.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxChange {
    pub display_name: Option<String>,
    /// 0: bounded by the domain's quota only.
    pub quota_bytes: Option<u64>,
    pub active: Option<bool>,
    /// Messages the mailbox may send in an hour; 0: no limit; `null`: its
    /// domain's limit. Provincial admins only.
    #[serde(default, deserialize_with = "sending::present")]
    #[schema(value_type = Option<u64>)]
    pub max_messages_per_hour: Option<Option<u64>>,
    /// Distinct recipients it may write to in a day, likewise.
    #[serde(default, deserialize_with = "sending::present")]
    #[schema(value_type = Option<u64>)]
    pub max_recipients_per_day: Option<Option<u64>>,
}

/// A display name as stored: trimmed, at most [`MAX_DISPLAY_NAME`]
/// characters, no control characters (it ends up in headers and tables).
fn check_display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(OpsError::Invalid {
            field: "display_name",
            message: format!("must be at most {MAX_DISPLAY_NAME} characters"),
        });
    }
    if name.chars().any(char::is_control) {
        return Err(OpsError::Invalid {
            field: "display_name",
            message: "must not contain control characters".to_string(),
        });
    }
    Ok(name.to_string())
}

/// Checks a mailbox quota against its domain's: a mailbox cannot be
/// promised more than the whole domain has.
fn check_quota(domain: &Domain, quota_bytes: u64) -> Result<()> {
    let domain_quota = u64::try_from(domain.quota_bytes).unwrap_or(0);
    if domain_quota > 0 && quota_bytes > domain_quota {
        return Err(OpsError::Invalid {
            field: "quota_bytes",
            message: format!(
                "{} is more than the quota of domain `{}` ({})",
                ByteSize(quota_bytes),
                domain.name,
                ByteSize(domain_quota)
            ),
        });
    }
    Ok(())
}

fn mailbox_not_found(address: &Address) -> OpsError {
    OpsError::NotFound {
        what: "mailbox",
        name: address.to_string(),
    }
}

impl Ops {
    /// Parses an address and checks that its domain is in the actor's scope.
    pub(super) fn mailbox_address(&self, address: &str) -> Result<Address> {
        let address = parse_address("address", address)?;
        self.check_scope(address.domain().as_str())?;
        Ok(address)
    }

    /// Adds a mailbox. Without a password nobody can log in to it until one
    /// is set. A quota of 0 leaves it bounded by the domain's quota only.
    pub async fn add_mailbox(
        &self,
        address: &str,
        password: Option<&Secret>,
        quota_bytes: u64,
        display_name: &str,
    ) -> Result<Account> {
        let address = self.mailbox_address(address)?;
        let display_name = check_display_name(display_name)?;
        let password_hash = match password {
            Some(password) => Some(self.hash(password).await?),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let domain = tx.domain_for_update(address.domain().as_str()).await?;
        check_quota(&domain, quota_bytes)?;
        let account = tx
            .create_account(&NewAccount {
                address,
                display_name,
                password_hash,
                quota_bytes,
            })
            .await?;
        self.audit(
            &mut tx,
            "mailbox.add",
            Some(domain.name.as_str()),
            &account.address,
            None::<&()>,
            Some(&account),
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// The mailboxes the actor may see, all or one domain's.
    pub async fn mailboxes(&self, domain: Option<&str>) -> Result<Vec<Account>> {
        let domain = self.listed_domain(domain).await?;
        let mut accounts = self
            .store
            .accounts(domain.as_ref().map(|d| d.as_str()))
            .await?;
        accounts.retain(|a| self.covers_address(&a.address));
        Ok(accounts)
    }

    /// The mailbox `address`, which must exist and be the actor's to
    /// manage.
    pub(super) async fn managed_account(&self, address: &str) -> Result<Account> {
        let address = self.mailbox_address(address)?;
        self.store
            .account(address.as_str())
            .await?
            .ok_or_else(|| mailbox_not_found(&address))
    }

    pub async fn mailbox(&self, address: &str) -> Result<MailboxDetails> {
        let account = self.managed_account(address).await?;
        Ok(MailboxDetails {
            folders: self.store.folders(account.id).await?,
            account,
        })
    }

    pub async fn set_mailbox_password(&self, address: &str, password: &Secret) -> Result<()> {
        let address = self.mailbox_address(address)?;
        let hash = self.hash(password).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password(address.as_str(), &hash).await?;
        // The audit entry says that the password changed, never what to.
        let domain = address.domain();
        self.audit(
            &mut tx,
            "mailbox.passwd",
            Some(domain.as_str()),
            address.as_str(),
            None::<&()>,
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a mailbox's display name, quota or state. A disabled
    /// mailbox cannot log in (IMAP, SMTP submission, the console) but
    /// still receives mail, which waits for it; aliases to it still
    /// deliver. A change that changes nothing is not audited.
    pub async fn update_mailbox(&self, address: &str, change: &MailboxChange) -> Result<Account> {
        let address = self.mailbox_address(address)?;
        let display_name = change
            .display_name
            .as_deref()
            .map(check_display_name)
            .transpose()?;
        let mut tx = self.store.begin().await?;
        // Held until commit, so that the domain's quota cannot be lowered
        // below this mailbox's meanwhile.
        let domain = tx.domain_for_update(address.domain().as_str()).await?;
        let before = tx
            .account(address.as_str())
            .await?
            .ok_or_else(|| mailbox_not_found(&address))?;
        if let Some(quota_bytes) = change.quota_bytes {
            check_quota(&domain, quota_bytes)?;
            tx.set_account_quota(address.as_str(), quota_bytes).await?;
        }
        if let Some(display_name) = &display_name {
            tx.set_display_name(address.as_str(), display_name).await?;
        }
        if let Some(active) = change.active {
            tx.set_account_active(address.as_str(), active).await?;
        }
        let sending = LimitsChange {
            messages_per_hour: change.max_messages_per_hour,
            recipients_per_day: change.max_recipients_per_day,
        };
        if sending.is_some() {
            let now = [before.max_messages_per_hour, before.max_recipients_per_day];
            self.set_sending(&mut tx, LimitsOf::Account(before.id), now, sending)
                .await?;
        }
        let after = tx
            .account(address.as_str())
            .await?
            .ok_or_else(|| mailbox_not_found(&address))?;
        if after != before {
            self.audit(
                &mut tx,
                "mailbox.update",
                Some(domain.name.as_str()),
                address.as_str(),
                Some(&before),
                Some(&after),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(after)
    }

    /// Removes a mailbox with all its mail.
    pub async fn remove_mailbox(&self, address: &str) -> Result<Account> {
        let address = self.mailbox_address(address)?;
        let mut tx = self.store.begin().await?;
        let account = tx.remove_account(address.as_str()).await?;
        let domain = address.domain();
        self.audit(
            &mut tx,
            "mailbox.remove",
            Some(domain.as_str()),
            address.as_str(),
            Some(&account),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use postino_common::auth::{AuthError, Service};
    use postino_common::store::{AdminScope, Recipient, Store};

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(
        mailboxes_are_updated_and_audited,
        display_names_are_checked,
        comune_admins_update_their_own_mailboxes_only
    );

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";
    const ANNA: &str = "anna@comune.esempio.pu.it";
    const PASSWORD: &str = "password-di-anna";

    async fn mailboxes_are_updated_and_audited(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 10_000_000, 0).await.unwrap();
        provincia
            .add_mailbox(ANNA, Some(&Secret::new(PASSWORD)), 0, " Anna Rossi ")
            .await
            .unwrap();

        let change = MailboxChange {
            display_name: Some("Anna Bianchi".to_string()),
            quota_bytes: Some(2_000_000),
            active: Some(false),
            ..MailboxChange::default()
        };
        let account = provincia.update_mailbox(ANNA, &change).await.unwrap();
        assert_eq!(
            (
                account.display_name.as_str(),
                account.quota_bytes,
                account.active
            ),
            ("Anna Bianchi", 2_000_000, false)
        );
        let audit = store.audit_log(Some(COMUNE), 10).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["mailbox.update", "mailbox.add", "domain.add"]);
        assert_eq!(
            audit[1]
                .after
                .as_deref()
                .map(|a| a.contains("\"Anna Rossi\"")),
            Some(true)
        );
        let before = audit[0].before.as_deref().unwrap();
        let after = audit[0].after.as_deref().unwrap();
        assert!(
            before.contains("\"display_name\":\"Anna Rossi\""),
            "{before}"
        );
        assert!(before.contains("\"active\":true"), "{before}");
        assert!(after.contains("\"quota_bytes\":2000000"), "{after}");
        assert!(after.contains("\"active\":false"), "{after}");
        let text = format!("{audit:?}");
        assert!(
            !text.contains(PASSWORD) && !text.contains("argon2"),
            "{text}"
        );

        // Disabled: no login, but mail still arrives.
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let login = provincia
            .auth
            .login_user(Service::Imap, ANNA, &Secret::new(PASSWORD), ip)
            .await;
        assert!(matches!(login, Err(AuthError::Invalid)), "{login:?}");
        let recipients = store.resolve(ANNA).await.unwrap();
        assert!(
            matches!(&recipients[..], [Recipient::Local { address, .. }] if address == ANNA),
            "{recipients:?}"
        );
        let enable = MailboxChange {
            active: Some(true),
            ..MailboxChange::default()
        };
        provincia.update_mailbox(ANNA, &enable).await.unwrap();
        let login = provincia
            .auth
            .login_user(Service::Imap, ANNA, &Secret::new(PASSWORD), ip)
            .await;
        assert!(login.is_ok(), "{login:?}");

        // A quota over the domain's is refused; a change that changes
        // nothing is not audited.
        let too_big = MailboxChange {
            quota_bytes: Some(10_000_001),
            ..MailboxChange::default()
        };
        let refused = provincia.update_mailbox(ANNA, &too_big).await;
        assert!(
            matches!(
                &refused,
                Err(OpsError::Invalid {
                    field: "quota_bytes",
                    ..
                })
            ),
            "{refused:?}"
        );
        let entries = store.audit_log(None, 100).await.unwrap().len();
        provincia.update_mailbox(ANNA, &enable).await.unwrap();
        assert_eq!(store.audit_log(None, 100).await.unwrap().len(), entries);
        let account = store.account(ANNA).await.unwrap().unwrap();
        assert_eq!(account.quota_bytes, 2_000_000);

        let missing = provincia
            .update_mailbox(&format!("nessuno@{COMUNE}"), &enable)
            .await;
        assert!(
            matches!(
                &missing,
                Err(OpsError::NotFound {
                    what: "mailbox",
                    ..
                })
            ),
            "{missing:?}"
        );
    }

    async fn display_names_are_checked(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 0, 0).await.unwrap();
        let longest = "è".repeat(MAX_DISPLAY_NAME);
        provincia
            .add_mailbox(ANNA, None, 0, &format!("  {longest}\n"))
            .await
            .unwrap();
        assert_eq!(
            store.account(ANNA).await.unwrap().unwrap().display_name,
            longest
        );
        for bad in [
            "x".repeat(MAX_DISPLAY_NAME + 1),
            "Anna\nBcc: tutti".to_string(),
            "Anna\u{7}".to_string(),
            "Anna\u{85}Rossi".to_string(),
        ] {
            let refused = provincia
                .add_mailbox(&format!("altro@{COMUNE}"), None, 0, &bad)
                .await;
            assert!(
                matches!(
                    &refused,
                    Err(OpsError::Invalid {
                        field: "display_name",
                        ..
                    })
                ),
                "{bad:?}: {refused:?}"
            );
            let change = MailboxChange {
                display_name: Some(bad.clone()),
                ..MailboxChange::default()
            };
            let refused = provincia.update_mailbox(ANNA, &change).await;
            assert!(
                matches!(
                    &refused,
                    Err(OpsError::Invalid {
                        field: "display_name",
                        ..
                    })
                ),
                "{bad:?}: {refused:?}"
            );
        }
        assert!(
            store
                .account(&format!("altro@{COMUNE}"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.account(ANNA).await.unwrap().unwrap().display_name,
            longest
        );
    }

    async fn comune_admins_update_their_own_mailboxes_only(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 0, 0).await.unwrap();
        provincia.add_domain(ALTRO, 0, 0).await.unwrap();
        provincia.add_mailbox(ANNA, None, 0, "").await.unwrap();
        let bruno = format!("bruno@{ALTRO}");
        provincia.add_mailbox(&bruno, None, 0, "").await.unwrap();
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        let change = MailboxChange {
            quota_bytes: Some(1_000),
            ..MailboxChange::default()
        };
        let account = comune.update_mailbox(ANNA, &change).await.unwrap();
        assert_eq!(account.quota_bytes, 1_000);
        let refused = comune.update_mailbox(&bruno, &change).await;
        assert!(
            matches!(&refused, Err(OpsError::NotFound { what: "domain", name }) if name == ALTRO),
            "{refused:?}"
        );
        assert_eq!(store.account(&bruno).await.unwrap().unwrap().quota_bytes, 0);
    }
}

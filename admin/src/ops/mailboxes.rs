//! Mailboxes: add, list, show, password, quota, remove.

use postino_common::address::Address;
use postino_common::auth::Secret;
use postino_common::store::{Account, Folder, NewAccount};
use postino_config::ByteSize;
use serde::Serialize;

use super::{Ops, OpsError, Result};

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

fn mailbox_not_found(address: &Address) -> OpsError {
    OpsError::NotFound {
        what: "mailbox",
        name: address.to_string(),
    }
}

impl Ops {
    /// Parses an address and checks that its domain is in the actor's scope.
    fn mailbox_address(&self, address: &str) -> Result<Address> {
        let address = parse_address("address", address)?;
        self.check_scope(address.domain().as_str())?;
        Ok(address)
    }

    /// Checks a mailbox quota against its domain's: a mailbox cannot be
    /// promised more than the whole domain has.
    async fn check_quota(&self, address: &Address, quota_bytes: u64) -> Result<()> {
        let domain = address.domain();
        let domain =
            self.store
                .domain(domain.as_str())
                .await?
                .ok_or_else(|| OpsError::NotFound {
                    what: "domain",
                    name: domain.to_string(),
                })?;
        let domain_quota = u64::try_from(domain.quota_bytes).unwrap_or(0);
        if domain_quota > 0 && quota_bytes > domain_quota {
            return Err(OpsError::Invalid {
                field: "quota",
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
        self.check_quota(&address, quota_bytes).await?;
        let password_hash = match password {
            Some(password) => Some(self.hash(password).await?),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let account = tx
            .create_account(&NewAccount {
                address,
                display_name: display_name.trim().to_string(),
                password_hash,
                quota_bytes,
            })
            .await?;
        let domain = account.address.rsplit_once('@').map(|(_, d)| d);
        self.audit(
            &mut tx,
            "mailbox.add",
            domain,
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

    pub async fn mailbox(&self, address: &str) -> Result<MailboxDetails> {
        let address = self.mailbox_address(address)?;
        let account = self
            .store
            .account(address.as_str())
            .await?
            .ok_or_else(|| mailbox_not_found(&address))?;
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

    pub async fn set_mailbox_quota(&self, address: &str, quota_bytes: u64) -> Result<Account> {
        let address = self.mailbox_address(address)?;
        self.check_quota(&address, quota_bytes).await?;
        let mut tx = self.store.begin().await?;
        let before = tx
            .account(address.as_str())
            .await?
            .ok_or_else(|| mailbox_not_found(&address))?;
        tx.set_account_quota(address.as_str(), quota_bytes).await?;
        let after = tx
            .account(address.as_str())
            .await?
            .ok_or_else(|| mailbox_not_found(&address))?;
        let domain = address.domain();
        self.audit(
            &mut tx,
            "mailbox.quota",
            Some(domain.as_str()),
            address.as_str(),
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
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

//! Shared mailboxes: a mailbox, such as an office's `protocollo@` that has
//! no login of its own, shared whole with mailboxes of its domain, each
//! with its IMAP rights (RFC 4314 letters `lrswipkxtea`) and perhaps the
//! right to send as its address. Rights never cross domains. Audited; a
//! comune admin manages its own domain's.

use postino_common::acl::Rights;
use postino_common::store::Share;

use super::mailboxes::parse_address;
use super::{Ops, OpsError, Result};

impl Ops {
    /// Shares `owner`'s mailbox with `grantee`, or changes how.
    pub async fn share_mailbox(
        &self,
        owner: &str,
        grantee: &str,
        rights: &str,
        send_as: bool,
    ) -> Result<Share> {
        let (owner, grantee) = self.share_parties(owner, grantee)?;
        let rights = Rights::parse(rights).map_err(|err| OpsError::Invalid {
            field: "rights",
            message: err.to_string(),
        })?;
        if rights.is_empty() {
            return Err(OpsError::Invalid {
                field: "rights",
                message: "give at least one right, or take them all with unshare".into(),
            });
        }
        let before = self.share(&owner, &grantee).await?;
        let mut tx = self.store.begin().await?;
        let share = tx.share_mailbox(&owner, &grantee, rights, send_as).await?;
        let domain = domain_of(&owner);
        self.audit(
            &mut tx,
            "mailbox.share",
            Some(domain),
            &owner,
            before.as_ref(),
            Some(&share),
        )
        .await?;
        tx.commit().await?;
        Ok(share)
    }

    /// Takes from `grantee` every right in `owner`'s mailbox.
    pub async fn unshare_mailbox(&self, owner: &str, grantee: &str) -> Result<()> {
        let (owner, grantee) = self.share_parties(owner, grantee)?;
        let before = self.share(&owner, &grantee).await?;
        let mut tx = self.store.begin().await?;
        if !tx.unshare_mailbox(&owner, &grantee).await? {
            return Err(OpsError::NotFound {
                what: "share with",
                name: grantee,
            });
        }
        self.audit(
            &mut tx,
            "mailbox.unshare",
            Some(domain_of(&owner)),
            &owner,
            before.as_ref(),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The shares of one mailbox, or of every mailbox the actor manages in
    /// one domain or all.
    pub async fn mailbox_shares(
        &self,
        owner: Option<&str>,
        domain: Option<&str>,
    ) -> Result<Vec<Share>> {
        let owner = match owner {
            Some(owner) => Some(self.managed_account(owner).await?.address),
            None => None,
        };
        let domain = self.listed_domain(domain).await?;
        let mut shares = self
            .store
            .shares(owner.as_deref(), domain.as_ref().map(|d| d.as_str()))
            .await?;
        shares.retain(|share| self.covers_address(&share.owner));
        Ok(shares)
    }

    /// The owner and grantee of a share, as stored: both in the actor's
    /// scope and in one domain.
    fn share_parties(&self, owner: &str, grantee: &str) -> Result<(String, String)> {
        let owner = self.mailbox_address(owner)?;
        let grantee = parse_address("user", grantee)?;
        if grantee.domain() != owner.domain() {
            return Err(OpsError::Invalid {
                field: "user",
                message: format!(
                    "must be a mailbox of {}: a mailbox is shared only within its domain",
                    owner.domain()
                ),
            });
        }
        if grantee == owner {
            return Err(OpsError::Invalid {
                field: "user",
                message: "a mailbox always has every right in itself".into(),
            });
        }
        Ok((owner.to_string(), grantee.to_string()))
    }

    async fn share(&self, owner: &str, grantee: &str) -> Result<Option<Share>> {
        let shares = self.store.shares(Some(owner), None).await?;
        Ok(shares.into_iter().find(|share| share.grantee == grantee))
    }
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, domain)| domain)
}

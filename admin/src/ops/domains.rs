//! Domains: add, list, show, remove.

use postino_common::address::DomainName;
use postino_common::store::{Account, Alias, Domain, NewDomain};
use serde::Serialize;

use super::{Ops, OpsError, Result};

/// A domain with its mailboxes and aliases.
#[derive(Debug, Serialize)]
pub struct DomainDetails {
    #[serde(flatten)]
    pub domain: Domain,
    pub accounts: Vec<Account>,
    pub aliases: Vec<Alias>,
}

pub(super) fn parse_domain(name: &str) -> Result<DomainName> {
    name.parse().map_err(
        |e: postino_common::address::AddressError| OpsError::Invalid {
            field: "domain",
            message: e.to_string(),
        },
    )
}

impl Ops {
    /// Adds a domain; quota and mailbox limit 0 mean none.
    pub async fn add_domain(
        &self,
        name: &str,
        quota_bytes: u64,
        max_mailboxes: u64,
    ) -> Result<Domain> {
        self.require_all_domains("add domains")?;
        let name = parse_domain(name)?;
        let mut tx = self.store.begin().await?;
        let domain = tx
            .create_domain(&NewDomain {
                name,
                quota_bytes,
                max_mailboxes,
            })
            .await?;
        self.audit(
            &mut tx,
            "domain.add",
            Some(&domain.name),
            &domain.name,
            None::<&()>,
            Some(&domain),
        )
        .await?;
        tx.commit().await?;
        Ok(domain)
    }

    /// The domains the actor may manage, by name.
    pub async fn domains(&self) -> Result<Vec<Domain>> {
        let mut domains = self.store.domains().await?;
        domains.retain(|d| self.actor.scope.covers(&d.name));
        Ok(domains)
    }

    pub async fn domain(&self, name: &str) -> Result<DomainDetails> {
        let name = parse_domain(name)?;
        self.check_scope(name.as_str())?;
        let domain = self
            .store
            .domain(name.as_str())
            .await?
            .ok_or_else(|| OpsError::NotFound {
                what: "domain",
                name: name.to_string(),
            })?;
        Ok(DomainDetails {
            accounts: self.store.accounts(Some(name.as_str())).await?,
            aliases: self.store.aliases(Some(name.as_str())).await?,
            domain,
        })
    }

    /// Removes a domain; one with mailboxes only with `force`, which removes
    /// them and their mail too.
    pub async fn remove_domain(&self, name: &str, force: bool) -> Result<Domain> {
        self.require_all_domains("remove domains")?;
        let name = parse_domain(name)?;
        let mut tx = self.store.begin().await?;
        let domain = tx.remove_domain(name.as_str(), force).await?;
        self.audit(
            &mut tx,
            "domain.remove",
            Some(&domain.name),
            &domain.name,
            Some(&domain),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(domain)
    }
}

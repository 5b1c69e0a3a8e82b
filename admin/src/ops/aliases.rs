//! Aliases and catch-alls: add, list, remove.

use postino_common::address::DomainName;
use postino_common::store::Alias;

use super::domains::parse_domain;
use super::mailboxes::parse_address;
use super::{Ops, OpsError, Result};

impl Ops {
    /// Parses an alias source, `name@domain` or `@domain` for the domain's
    /// catch-all, and checks the actor's scope over it.
    fn alias_source(&self, source: &str) -> Result<(String, DomainName)> {
        let (source, domain) = match source.strip_prefix('@') {
            Some(domain) => {
                let domain = parse_domain(domain)?;
                (format!("@{domain}"), domain)
            }
            None => {
                let address = parse_address("alias", source)?;
                (address.to_string(), address.domain())
            }
        };
        self.check_scope(domain.as_str())?;
        Ok((source, domain))
    }

    /// Adds targets to an alias. Targets in hosted domains the actor manages
    /// must exist; those in domains it does not are taken like addresses
    /// elsewhere, unchecked, so that a comune admin cannot learn from the
    /// answer which addresses another comune has.
    pub async fn add_alias(&self, source: &str, targets: &[String]) -> Result<Vec<Alias>> {
        let (source, domain) = self.alias_source(source)?;
        if targets.is_empty() {
            return Err(OpsError::Invalid {
                field: "target",
                message: "at least one target address is needed".to_string(),
            });
        }
        let mut parsed = Vec::with_capacity(targets.len());
        for target in targets {
            let target = parse_address("target", target)?;
            let checked = self.covers_address(target.as_str())
                && self.store.domain(target.domain().as_str()).await?.is_some();
            if checked && !self.store.address_exists(target.as_str()).await? {
                return Err(OpsError::NotFound {
                    what: "mailbox or alias",
                    name: target.to_string(),
                });
            }
            parsed.push(target.to_string());
        }
        let mut tx = self.store.begin().await?;
        let domain_row = tx
            .domain(domain.as_str())
            .await?
            .ok_or_else(|| OpsError::NotFound {
                what: "domain",
                name: domain.to_string(),
            })?;
        tx.add_alias(domain_row.id, &source, &parsed).await?;
        let added: Vec<Alias> = parsed
            .iter()
            .map(|target| Alias {
                source: source.clone(),
                target: target.clone(),
            })
            .collect();
        self.audit(
            &mut tx,
            "alias.add",
            Some(domain.as_str()),
            &source,
            None::<&()>,
            Some(&added),
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// The aliases the actor may see, all or one domain's.
    pub async fn aliases(&self, domain: Option<&str>) -> Result<Vec<Alias>> {
        let domain = self.listed_domain(domain).await?;
        let mut aliases = self
            .store
            .aliases(domain.as_ref().map(|d| d.as_str()))
            .await?;
        aliases.retain(|a| self.covers_address(&a.source));
        Ok(aliases)
    }

    /// Removes an alias, or only some of its targets.
    pub async fn remove_alias(&self, source: &str, targets: &[String]) -> Result<Vec<Alias>> {
        let (source, domain) = self.alias_source(source)?;
        let targets: Vec<String> = targets
            .iter()
            .map(|t| parse_address("target", t).map(|a| a.to_string()))
            .collect::<Result<_>>()?;
        let mut tx = self.store.begin().await?;
        let removed = tx.remove_alias(&source, &targets).await?;
        self.audit(
            &mut tx,
            "alias.remove",
            Some(domain.as_str()),
            &source,
            Some(&removed),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use crate::ops::OpsError;
    use crate::ops::testing::ops;

    postino_common::store_tests!(targets_are_checked_only_in_the_actors_domains);

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";

    async fn targets_are_checked_only_in_the_actors_domains(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        for domain in [COMUNE, ALTRO] {
            provincia.add_domain(domain, 0, 0).await.unwrap();
        }
        provincia
            .add_mailbox(&format!("esiste@{ALTRO}"), None, 0, "")
            .await
            .unwrap();
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));

        let missing = comune
            .add_alias(&format!("ufficio@{COMUNE}"), &[format!("manca@{COMUNE}")])
            .await;
        assert!(
            matches!(missing, Err(OpsError::NotFound { .. })),
            "{missing:?}"
        );
        // Elsewhere both answers are the same: nothing tells them apart.
        for target in [format!("esiste@{ALTRO}"), format!("manca@{ALTRO}")] {
            let added = comune
                .add_alias(&format!("ufficio@{COMUNE}"), std::slice::from_ref(&target))
                .await
                .unwrap();
            assert_eq!(added[0].target, target);
        }
        // The provincial admin, who sees every domain, is told.
        let told = provincia
            .add_alias(&format!("ufficio@{COMUNE}"), &[format!("altro@{ALTRO}")])
            .await;
        assert!(matches!(told, Err(OpsError::NotFound { .. })), "{told:?}");
    }
}

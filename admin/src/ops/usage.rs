//! Storage use per domain and per mailbox, against their quotas: what the
//! operators report to each comune, and what a comune admin checks before
//! asking for more.

use std::collections::HashMap;

use postino_common::store::{Account, Domain};
use serde::Serialize;

use super::{Ops, OpsError, Result};

/// A domain's use, with each of its mailboxes'.
#[derive(Debug, Serialize)]
pub struct DomainUsage {
    #[serde(flatten)]
    pub domain: Domain,
    /// By address.
    pub accounts: Vec<MailboxUsage>,
}

/// A mailbox's use. A `quota_bytes` of 0 means bounded by the domain's
/// quota only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MailboxUsage {
    pub address: String,
    pub display_name: String,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub active: bool,
}

impl From<Account> for MailboxUsage {
    fn from(account: Account) -> MailboxUsage {
        MailboxUsage {
            address: account.address,
            display_name: account.display_name,
            quota_bytes: account.quota_bytes,
            used_bytes: account.used_bytes,
            active: account.active,
        }
    }
}

impl Ops {
    /// The use of every domain the actor may manage, by name, or of one.
    pub async fn usage(&self, domain: Option<&str>) -> Result<Vec<DomainUsage>> {
        let domains = match self.listed_domain(domain).await? {
            Some(name) => {
                let found = self.store.domain(name.as_str()).await?;
                vec![found.ok_or_else(|| OpsError::NotFound {
                    what: "domain",
                    name: name.to_string(),
                })?]
            }
            None => self.domains().await?,
        };
        let one = match domains.as_slice() {
            [domain] => Some(domain.name.as_str()),
            _ => None,
        };
        // One query for every mailbox rather than one per domain; those of
        // domains out of scope are dropped with their domain.
        let mut accounts: HashMap<i64, Vec<MailboxUsage>> = HashMap::new();
        for account in self.store.accounts(one).await? {
            accounts
                .entry(account.domain_id)
                .or_default()
                .push(account.into());
        }
        Ok(domains
            .into_iter()
            .map(|domain| DomainUsage {
                accounts: accounts.remove(&domain.id).unwrap_or_default(),
                domain,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::testing::{deliver, ops};

    postino_common::store_tests!(usage_counts_what_each_mailbox_holds);

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";

    async fn usage_counts_what_each_mailbox_holds(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 10_000_000, 0).await.unwrap();
        provincia.add_domain(ALTRO, 0, 0).await.unwrap();
        let anna = format!("anna@{COMUNE}");
        let bruno = format!("bruno@{COMUNE}");
        let carla = format!("carla@{ALTRO}");
        provincia
            .add_mailbox(&bruno, None, 1_000_000, "Bruno Bianchi")
            .await
            .unwrap();
        provincia.add_mailbox(&anna, None, 0, "").await.unwrap();
        provincia.add_mailbox(&carla, None, 0, "").await.unwrap();
        deliver(&store, &bruno, 3000).await;
        deliver(&store, &bruno, 2000).await;
        deliver(&store, &carla, 700).await;

        let all = provincia.usage(None).await.unwrap();
        let names: Vec<&str> = all.iter().map(|d| d.domain.name.as_str()).collect();
        assert_eq!(names, [ALTRO, COMUNE]);
        let comune = &all[1];
        assert_eq!(comune.domain.used_bytes, 5000);
        assert_eq!(comune.domain.quota_bytes, 10_000_000);
        let rows: Vec<(&str, i64, i64, bool)> = comune
            .accounts
            .iter()
            .map(|a| (a.address.as_str(), a.used_bytes, a.quota_bytes, a.active))
            .collect();
        assert_eq!(
            rows,
            [
                (anna.as_str(), 0, 0, true),
                (bruno.as_str(), 5000, 1_000_000, true)
            ]
        );
        assert_eq!(comune.accounts[1].display_name, "Bruno Bianchi");
        assert_eq!(all[0].accounts[0].used_bytes, 700);

        let json = serde_json::to_value(&all[1]).unwrap();
        assert_eq!(json["name"], COMUNE, "the domain is flattened: {json}");
        assert_eq!(json["accounts"][1]["used_bytes"], 5000);

        let comune_admin = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        let seen = comune_admin.usage(None).await.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].accounts.len(), 2);
        let one = comune_admin.usage(Some(COMUNE)).await.unwrap();
        assert_eq!(one[0].accounts.len(), 2);
        for hidden in [ALTRO, "ignoto.esempio.it"] {
            let refused = comune_admin.usage(Some(hidden)).await;
            assert!(
                matches!(&refused, Err(OpsError::NotFound { what: "domain", name }) if name == hidden),
                "{refused:?}"
            );
        }
        let unknown = provincia.usage(Some("ignoto.esempio.it")).await;
        assert!(
            matches!(unknown, Err(OpsError::NotFound { .. })),
            "{unknown:?}"
        );
    }
}

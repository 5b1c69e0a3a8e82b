//! Domains: add, list, show, update, remove.

use postino_common::address::DomainName;
use postino_common::mta_sts::Mode;
use postino_common::store::{Account, Alias, Domain, LimitsOf, NewDomain};
use postino_config::ByteSize;
use serde::{Deserialize, Serialize};

use super::sending::{self, LimitsChange};
use super::{Ops, OpsError, Result};

/// A domain with its mailboxes and aliases.
#[derive(Debug, Serialize)]
pub struct DomainDetails {
    #[serde(flatten)]
    pub domain: Domain,
    pub accounts: Vec<Account>,
    pub aliases: Vec<Alias>,
}

/// What to change in a domain: each field given replaces the current
/// value, the others stay. A quota or mailbox limit of 0 means none.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainChange {
    pub quota_bytes: Option<u64>,
    pub max_mailboxes: Option<u64>,
    /// A disabled domain takes no mail and its users cannot log in.
    pub active: Option<bool>,
    /// Whether rspamd's verdict applies to the domain's mail: spam refused
    /// or filed in Junk. Off, its mail goes to the INBOX whatever rspamd
    /// says (malware is refused all the same).
    pub spam_filter: Option<bool>,
    /// The rspamd settings id of a stricter or laxer profile for the
    /// domain, letters, digits, `-` and `_`; `""` goes back to rspamd's
    /// defaults.
    pub spam_profile: Option<String>,
    /// Messages each of the domain's mailboxes may send in an hour, unless
    /// it has its own limit; 0: no limit; `null`: the configured limit.
    #[serde(default, deserialize_with = "sending::present")]
    #[schema(value_type = Option<u64>)]
    pub max_messages_per_hour: Option<Option<u64>>,
    /// Distinct recipients each may write to in a day, likewise.
    #[serde(default, deserialize_with = "sending::present")]
    #[schema(value_type = Option<u64>)]
    pub max_recipients_per_day: Option<Option<u64>>,
    /// Days the domain's Junk and Trash folders keep a message; 0:
    /// forever; `null`: the configured retention.
    #[serde(default, deserialize_with = "sending::present")]
    #[schema(value_type = Option<u64>)]
    pub junk_retention_days: Option<Option<u64>>,
    /// The mode of the MTA-STS policy published for the domain: enforce,
    /// testing or none.
    #[schema(value_type = Option<String>)]
    pub mta_sts: Option<Mode>,
}

impl DomainChange {
    /// Whether it changes what only provincial admins may change: limits
    /// and state. Spam settings a comune admin may change for its own.
    fn changes_limits(&self) -> bool {
        self.quota_bytes.is_some()
            || self.max_mailboxes.is_some()
            || self.active.is_some()
            || self.sending().is_some()
    }

    fn sending(&self) -> LimitsChange {
        LimitsChange {
            messages_per_hour: self.max_messages_per_hour,
            recipients_per_day: self.max_recipients_per_day,
        }
    }
}

/// The most characters of a spam profile's name.
const MAX_PROFILE: usize = 64;

/// A spam profile as given: `None` for `""` (rspamd's defaults).
fn parse_profile(profile: &str) -> Result<Option<String>> {
    if profile.is_empty() {
        return Ok(None);
    }
    let valid = profile.len() <= MAX_PROFILE
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(OpsError::Invalid {
            field: "spam_profile",
            message: format!(
                "`{profile}` is not an rspamd settings id (letters, digits, - and _, at most \
                 {MAX_PROFILE})"
            ),
        });
    }
    Ok(Some(profile.to_string()))
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
            Some(domain.name.as_str()),
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

    /// Changes a domain's quota, mailbox limit, sending limits or state,
    /// provincial admins only, so that a comune cannot raise its own
    /// limits; and its spam settings, Junk retention and MTA-STS mode,
    /// which its comune admins may change too. The quota cannot
    /// go below a quota promised to one of its mailboxes; it may go below
    /// what is used, and then the domain takes no more mail until it is
    /// under it again. A change that changes nothing is not audited.
    pub async fn update_domain(&self, name: &str, change: &DomainChange) -> Result<Domain> {
        let name = parse_domain(name)?;
        self.check_scope(name.as_str())?;
        if change.changes_limits() {
            self.require_all_domains("change a domain's limits or state")?;
        }
        let profile = change
            .spam_profile
            .as_deref()
            .map(parse_profile)
            .transpose()?;
        let mut tx = self.store.begin().await?;
        // Held until commit: a mailbox quota raised meanwhile would escape
        // the check below.
        let before = tx.domain_for_update(name.as_str()).await?;
        let mut after = before.clone();
        if change.quota_bytes.is_some() || change.max_mailboxes.is_some() {
            let quota_bytes = change
                .quota_bytes
                .unwrap_or_else(|| u64::try_from(before.quota_bytes).unwrap_or(0));
            if quota_bytes > 0 {
                self.check_mailbox_quotas(&before, quota_bytes).await?;
            }
            let max_mailboxes = change
                .max_mailboxes
                .unwrap_or_else(|| u64::try_from(before.max_mailboxes).unwrap_or(0));
            after = tx
                .set_domain_limits(name.as_str(), quota_bytes, max_mailboxes)
                .await?;
        }
        if let Some(active) = change.active {
            after = tx.set_domain_active(name.as_str(), active).await?;
        }
        if change.spam_filter.is_some() || profile.is_some() {
            let filter = change.spam_filter.unwrap_or(after.spam_filter);
            let profile = profile.unwrap_or_else(|| after.spam_profile.clone());
            after = tx
                .set_domain_spam(name.as_str(), filter, profile.as_deref())
                .await?;
        }
        if change.sending().is_some() {
            let now = [after.max_messages_per_hour, after.max_recipients_per_day];
            self.set_sending(&mut tx, LimitsOf::Domain(after.id), now, change.sending())
                .await?;
            after = tx.domain_for_update(name.as_str()).await?;
        }
        if let Some(mode) = change.mta_sts {
            after = tx.set_domain_mta_sts(name.as_str(), mode).await?;
        }
        if let Some(days) = change.junk_retention_days {
            let days = days.map(|d| i64::try_from(d).unwrap_or(i64::MAX));
            tx.set_junk_retention(after.id, days).await?;
            after = tx.domain_for_update(name.as_str()).await?;
        }
        if after != before {
            self.audit(
                &mut tx,
                "domain.update",
                Some(after.name.as_str()),
                &after.name,
                Some(&before),
                Some(&after),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(after)
    }

    /// Fails if a mailbox of `domain` was promised more than `quota_bytes`.
    /// Read outside the caller's transaction, which holds the domain's
    /// lock: any change of a mailbox quota that committed before it is
    /// seen, and none can commit until it ends.
    async fn check_mailbox_quotas(&self, domain: &Domain, quota_bytes: u64) -> Result<()> {
        let accounts = self.store.accounts(Some(&domain.name)).await?;
        let largest = accounts.iter().max_by_key(|a| a.quota_bytes);
        match largest {
            Some(account) if u64::try_from(account.quota_bytes).unwrap_or(0) > quota_bytes => {
                Err(OpsError::Invalid {
                    field: "quota_bytes",
                    message: format!(
                        "{} is less than the quota of mailbox `{}` ({}); lower that first",
                        ByteSize(quota_bytes),
                        account.address,
                        ByteSize(u64::try_from(account.quota_bytes).unwrap_or(0))
                    ),
                })
            }
            _ => Ok(()),
        }
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
            Some(domain.name.as_str()),
            &domain.name,
            Some(&domain),
            None::<&()>,
        )
        .await?;
        tx.commit().await?;
        Ok(domain)
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(
        provincial_admins_change_domains,
        comune_admins_cannot_change_domains,
        comune_admins_tune_their_spam_filter,
        only_provincial_admins_set_sending_limits
    );

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";

    async fn provincial_admins_change_domains(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 10_000_000, 5).await.unwrap();
        provincia
            .add_mailbox(&format!("anna@{COMUNE}"), None, 4_000_000, "")
            .await
            .unwrap();

        let change = DomainChange {
            quota_bytes: Some(20_000_000),
            active: Some(false),
            ..DomainChange::default()
        };
        let domain = provincia.update_domain(COMUNE, &change).await.unwrap();
        assert_eq!(
            (domain.quota_bytes, domain.max_mailboxes, domain.active),
            (20_000_000, 5, false)
        );
        assert_eq!(store.domain(COMUNE).await.unwrap(), Some(domain));
        let audit = store.audit_log(Some(COMUNE), 10).await.unwrap();
        assert_eq!(audit[0].action, "domain.update");
        assert_eq!(audit[0].target, COMUNE);
        let json = |text: &Option<String>| -> serde_json::Value {
            serde_json::from_str(text.as_deref().unwrap()).unwrap()
        };
        let (before, after) = (json(&audit[0].before), json(&audit[0].after));
        assert_eq!(
            (&before["quota_bytes"], &before["active"]),
            (&10_000_000.into(), &true.into())
        );
        assert_eq!(
            (&after["quota_bytes"], &after["active"]),
            (&20_000_000.into(), &false.into())
        );

        // Not below a quota promised to a mailbox; 0 (none) always.
        let below = DomainChange {
            quota_bytes: Some(3_000_000),
            max_mailboxes: Some(1),
            ..DomainChange::default()
        };
        let refused = provincia.update_domain(COMUNE, &below).await;
        assert!(
            matches!(&refused, Err(OpsError::Invalid { field: "quota_bytes", message }) if message.contains("anna@")),
            "{refused:?}"
        );
        let unchanged = store.domain(COMUNE).await.unwrap().unwrap();
        assert_eq!(
            (unchanged.quota_bytes, unchanged.max_mailboxes),
            (20_000_000, 5)
        );
        let exact = DomainChange {
            quota_bytes: Some(4_000_000),
            ..DomainChange::default()
        };
        provincia.update_domain(COMUNE, &exact).await.unwrap();
        let unlimited = DomainChange {
            quota_bytes: Some(0),
            max_mailboxes: Some(0),
            active: Some(true),
            ..DomainChange::default()
        };
        let domain = provincia.update_domain(COMUNE, &unlimited).await.unwrap();
        assert_eq!(
            (domain.quota_bytes, domain.max_mailboxes, domain.active),
            (0, 0, true)
        );

        // A change that changes nothing leaves no audit entry.
        let entries = store.audit_log(None, 100).await.unwrap().len();
        provincia.update_domain(COMUNE, &unlimited).await.unwrap();
        provincia
            .update_domain(COMUNE, &DomainChange::default())
            .await
            .unwrap();
        assert_eq!(store.audit_log(None, 100).await.unwrap().len(), entries);

        let unknown = provincia.update_domain(ALTRO, &unlimited).await;
        assert!(
            matches!(&unknown, Err(OpsError::NotFound { what: "domain", .. })),
            "{unknown:?}"
        );
        let bad = provincia.update_domain("non valido", &unlimited).await;
        assert!(
            matches!(
                &bad,
                Err(OpsError::Invalid {
                    field: "domain",
                    ..
                })
            ),
            "{bad:?}"
        );
    }

    async fn comune_admins_cannot_change_domains(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 1_000_000, 0).await.unwrap();
        provincia.add_domain(ALTRO, 0, 0).await.unwrap();
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        let raise = DomainChange {
            quota_bytes: Some(u64::MAX),
            ..DomainChange::default()
        };
        let refused = comune.update_domain(COMUNE, &raise).await;
        assert!(
            matches!(refused, Err(OpsError::Forbidden(_))),
            "{refused:?}"
        );
        // Outside its scope a domain does not exist, whether it does or not.
        for hidden in [ALTRO, "ignoto.esempio.it"] {
            let refused = comune.update_domain(hidden, &raise).await;
            assert!(
                matches!(&refused, Err(OpsError::NotFound { what: "domain", name }) if name == hidden),
                "{refused:?}"
            );
        }
        assert_eq!(
            store.domain(COMUNE).await.unwrap().unwrap().quota_bytes,
            1_000_000
        );
        let audit = store.audit_log(None, 10).await.unwrap();
        assert!(audit.iter().all(|e| e.action == "domain.add"), "{audit:#?}");
    }

    async fn comune_admins_tune_their_spam_filter(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        let added = provincia.add_domain(COMUNE, 0, 0).await.unwrap();
        assert_eq!((added.spam_filter, added.spam_profile), (true, None));
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        let strict = DomainChange {
            spam_profile: Some("severo".to_string()),
            ..DomainChange::default()
        };
        let domain = comune.update_domain(COMUNE, &strict).await.unwrap();
        assert_eq!(domain.spam_profile.as_deref(), Some("severo"));
        let off = DomainChange {
            spam_filter: Some(false),
            ..DomainChange::default()
        };
        let domain = comune.update_domain(COMUNE, &off).await.unwrap();
        assert_eq!(
            (domain.spam_filter, domain.spam_profile.as_deref()),
            (false, Some("severo"))
        );
        let defaults = DomainChange {
            spam_filter: Some(true),
            spam_profile: Some(String::new()),
            ..DomainChange::default()
        };
        let domain = comune.update_domain(COMUNE, &defaults).await.unwrap();
        assert_eq!((domain.spam_filter, domain.spam_profile), (true, None));
        let bad = DomainChange {
            spam_profile: Some("a b".to_string()),
            ..DomainChange::default()
        };
        let refused = comune.update_domain(COMUNE, &bad).await;
        assert!(
            matches!(
                &refused,
                Err(OpsError::Invalid {
                    field: "spam_profile",
                    ..
                })
            ),
            "{refused:?}"
        );
        let audit = store.audit_log(None, 10).await.unwrap();
        let updates = audit.iter().filter(|e| e.action == "domain.update").count();
        assert_eq!(updates, 3, "{audit:#?}");
    }

    async fn only_provincial_admins_set_sending_limits(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain(COMUNE, 0, 0).await.unwrap();
        let comune = ops(&store, AdminScope::Domains(vec![COMUNE.to_string()]));
        let raise = DomainChange {
            max_messages_per_hour: Some(Some(10_000)),
            ..DomainChange::default()
        };
        let refused = comune.update_domain(COMUNE, &raise).await;
        assert!(
            matches!(refused, Err(OpsError::Forbidden(_))),
            "{refused:?}"
        );
        let domain = provincia.update_domain(COMUNE, &raise).await.unwrap();
        assert_eq!(
            (domain.max_messages_per_hour, domain.max_recipients_per_day),
            (Some(10_000), None)
        );
        let back: DomainChange =
            serde_json::from_str(r#"{"max_messages_per_hour": null}"#).unwrap();
        assert_eq!(back.max_messages_per_hour, Some(None));
        let domain = provincia.update_domain(COMUNE, &back).await.unwrap();
        assert_eq!(domain.max_messages_per_hour, None);
        let audit = store.audit_log(None, 10).await.unwrap();
        let updates = audit.iter().filter(|e| e.action == "domain.update").count();
        assert_eq!(updates, 2, "{audit:#?}");
    }

    #[test]
    fn changes_refuse_unknown_fields() {
        let change: DomainChange =
            serde_json::from_str(r#"{"quota_bytes": 5, "active": false}"#).unwrap();
        assert_eq!(
            (change.quota_bytes, change.max_mailboxes, change.active),
            (Some(5), None, Some(false))
        );
        assert!(serde_json::from_str::<DomainChange>(r#"{"quota": 5}"#).is_err());
        assert!(serde_json::from_str::<DomainChange>(r#"{"quota_bytes": -1}"#).is_err());
        let untouched: DomainChange = serde_json::from_str("{}").unwrap();
        assert_eq!(untouched.max_recipients_per_day, None);
    }
}

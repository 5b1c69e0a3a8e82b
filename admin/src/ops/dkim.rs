//! DKIM keys (generate, list, rotate) and the DNS records a hosted domain
//! needs (MX, SPF, DKIM, DMARC, client autoconfiguration).
//!
//! A domain has at most one active key per algorithm; new keys sign at
//! once. Rotation replaces every active key with a new one of the same
//! algorithm and keeps the old ones published for a grace period; a
//! generate or rotate of a domain also retires its keys whose grace period
//! is over. Keys are generated before the write transaction opens, on the
//! blocking pool, so a slow RSA key holds no store lock.

use std::time::Duration;

use postino_common::address::DomainName;
use postino_common::dkim::{self, Algorithm, GeneratedKey};
use postino_common::mta_sts::Mode;
use postino_common::store::{
    AdminScope, DkimKey, DkimKeyState, DkimRotation, NewDkimKey, WriteTx, now,
};
use serde::Serialize;

use super::domains::parse_domain;
use super::mta_sts::Publishing;
use super::time::utc;
use super::{Ops, OpsError, Result};

/// The longest an old key may stay published after a rotation: verifiers
/// need it for days, not years.
pub const MAX_GRACE: Duration = Duration::from_secs(365 * 24 * 3600);

/// SRV records of RFC 6186 (and RFC 8314 §5.1 for implicit TLS), with the
/// standard ports and their priority: IMAP over TLS, POP3 over TLS and
/// with STLS, and submission with implicit TLS and with STARTTLS; and
/// ManageSieve's of RFC 5804 §1.8, which `sieve-connect` looks up (no
/// autoconfiguration file has a place for ManageSieve). POP3's priority
/// is lower than IMAP's (a larger number): RFC 6186 §3.4 has clients that
/// could use either take the service whose records come first.
const SRV_SERVICES: [(&str, u16, u16, &str); 6] = [
    ("_imaps._tcp", 0, 993, "RFC 6186"),
    ("_pop3s._tcp", 10, 995, "RFC 6186"),
    ("_pop3._tcp", 10, 110, "RFC 6186"),
    ("_submissions._tcp", 0, 465, "RFC 6186"),
    ("_submission._tcp", 0, 587, "RFC 6186"),
    ("_sieve._tcp", 0, 4190, "RFC 5804"),
];

/// A record to publish in a domain's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DnsRecord {
    /// The owner name, fully qualified, without the trailing dot.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The record data in zone-file syntax: names end with a dot, TXT
    /// character-strings are quoted.
    pub data: String,
    /// What the record is for.
    pub comment: String,
}

/// The algorithms an operator asks for: `rsa`, `ed25519` or `both` (or an
/// `a=` name).
fn parse_algorithms(choice: &str) -> Result<Vec<Algorithm>> {
    match choice.to_ascii_lowercase().as_str() {
        "both" => Ok(Algorithm::ALL.to_vec()),
        "rsa" | "rsa-sha256" => Ok(vec![Algorithm::RsaSha256]),
        "ed25519" | "ed25519-sha256" => Ok(vec![Algorithm::Ed25519Sha256]),
        _ => Err(OpsError::Invalid {
            field: "algorithm",
            message: format!("`{choice}` is not one of rsa, ed25519, both"),
        }),
    }
}

/// `YYYYMMDD-rsa` or `YYYYMMDD-ed`, with `-2`, `-3`... if the domain has
/// used that one already (two rotations in a day).
fn default_selector(algorithm: Algorithm, taken: &[DkimKey], at: i64) -> String {
    let date = chrono::DateTime::from_timestamp(at, 0)
        .map_or_else(|| "0".to_string(), |t| t.format("%Y%m%d").to_string());
    let kind = match algorithm {
        Algorithm::RsaSha256 => "rsa",
        Algorithm::Ed25519Sha256 => "ed",
    };
    let base = format!("{date}-{kind}");
    let free = |s: &String| !taken.iter().any(|k| &k.selector == s);
    std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base}-{n}")))
        .find(free)
        .unwrap_or(base)
}

/// A TXT record's data: its character-strings, quoted (RFC 1035 §5.1).
fn quoted(value: &str) -> String {
    dkim::txt_strings(value)
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Generates keys off the async runtime.
async fn generate(algorithms: Vec<Algorithm>) -> Result<Vec<GeneratedKey>> {
    let generated = tokio::task::spawn_blocking(move || {
        algorithms
            .into_iter()
            .map(dkim::generate)
            .collect::<Result<Vec<_>, _>>()
    })
    .await;
    match generated {
        Ok(keys) => keys.map_err(|e| OpsError::KeyGeneration(e.into())),
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(OpsError::KeyGeneration(join.into())),
    }
}

impl Ops {
    /// Parses a domain, checks the actor's scope, and checks that it is hosted.
    async fn dkim_domain(&self, domain: &str) -> Result<DomainName> {
        let name = parse_domain(domain)?;
        self.check_scope(name.as_str())?;
        if self.store.domain(name.as_str()).await?.is_none() {
            return Err(OpsError::NotFound {
                what: "domain",
                name: name.to_string(),
            });
        }
        Ok(name)
    }

    /// Retires, in every domain, the keys whose grace period is over,
    /// auditing each domain's; returns how many. For an actor that reaches
    /// every domain: `postino serve` runs it on a timer.
    pub async fn retire_expired_dkim_keys(&self) -> Result<usize> {
        if self.actor.scope != AdminScope::AllDomains {
            return Err(OpsError::Forbidden(
                "only an admin of every domain may retire keys everywhere".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        // Ordered by domain, so each domain's keys are together.
        let retired = tx.retire_dkim_keys(None, now()).await?;
        let mut domains: Vec<&str> = retired.iter().map(|k| k.domain.as_str()).collect();
        domains.dedup();
        for domain in domains {
            let keys: Vec<&DkimKey> = retired.iter().filter(|k| k.domain == domain).collect();
            self.audit(
                &mut tx,
                "dkim.retire",
                Some(domain),
                domain,
                None::<&()>,
                Some(&keys),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(retired.len())
    }

    /// Opens the transaction of a key change: finds the domain's row and
    /// retires its keys whose grace period is over, auditing that.
    async fn begin_key_change(&self, domain: &DomainName) -> Result<(WriteTx, i64)> {
        let mut tx = self.store.begin().await?;
        let id = tx
            .domain(domain.as_str())
            .await?
            .ok_or_else(|| OpsError::NotFound {
                what: "domain",
                name: domain.to_string(),
            })?
            .id;
        let retired = tx.retire_dkim_keys(Some(id), now()).await?;
        if !retired.is_empty() {
            self.audit(
                &mut tx,
                "dkim.retire",
                Some(domain.as_str()),
                domain.as_str(),
                None::<&()>,
                Some(&retired),
            )
            .await?;
        }
        Ok((tx, id))
    }

    /// Generates active keys for a domain: both algorithms or one
    /// (`rsa`, `ed25519`, `both`). A selector may be given only for one
    /// key; by default it is `YYYYMMDD-rsa` / `YYYYMMDD-ed`. Refused if the
    /// domain already has an active key of an algorithm: that is a rotation.
    pub async fn generate_dkim_keys(
        &self,
        domain: &str,
        selector: Option<&str>,
        algorithm: &str,
    ) -> Result<Vec<DkimKey>> {
        let domain = self.dkim_domain(domain).await?;
        let algorithms = parse_algorithms(algorithm)?;
        let selector = match selector {
            Some(_) if algorithms.len() > 1 => {
                return Err(OpsError::Invalid {
                    field: "selector",
                    message:
                        "a selector names one key: choose the rsa or the ed25519 algorithm with it"
                            .to_string(),
                });
            }
            Some(s) => Some(dkim::parse_selector(s).map_err(|e| OpsError::Invalid {
                field: "selector",
                message: e.to_string(),
            })?),
            None => None,
        };
        let existing = self.store.dkim_keys(Some(domain.as_str())).await?;
        for &algorithm in &algorithms {
            let active = existing
                .iter()
                .find(|k| k.state == DkimKeyState::Active && k.algorithm == algorithm);
            if let Some(active) = active {
                return Err(OpsError::Conflict(format!(
                    "domain `{domain}` already has an active {algorithm} key `{}`: rotate it instead",
                    active.selector
                )));
            }
        }
        if let Some(selector) = &selector
            && existing.iter().any(|k| &k.selector == selector)
        {
            return Err(OpsError::AlreadyExists {
                what: "DKIM selector",
                name: selector.clone(),
            });
        }
        let at = now();
        let selectors: Vec<String> = algorithms
            .iter()
            .map(|&a| {
                selector
                    .clone()
                    .unwrap_or_else(|| default_selector(a, &existing, at))
            })
            .collect();
        let generated = generate(algorithms).await?;

        let (mut tx, domain_id) = self.begin_key_change(&domain).await?;
        let mut added = Vec::with_capacity(generated.len());
        for new in selectors.into_iter().zip(generated) {
            added.push(tx.add_dkim_key(domain_id, &NewDkimKey::from(new)).await?);
        }
        self.audit(
            &mut tx,
            "dkim.generate",
            Some(domain.as_str()),
            domain.as_str(),
            None::<&()>,
            Some(&added),
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// The keys the actor may see, in every state, all or one domain's.
    pub async fn dkim_keys(&self, domain: Option<&str>) -> Result<Vec<DkimKey>> {
        let domain = self.listed_domain(domain).await?;
        let mut keys = self
            .store
            .dkim_keys(domain.as_ref().map(|d| d.as_str()))
            .await?;
        keys.retain(|k| self.actor.scope.covers(&k.domain));
        Ok(keys)
    }

    /// Replaces each active key of a domain with a new one of its
    /// algorithm, signing at once; the old keys stay published for `grace`,
    /// at most [`MAX_GRACE`].
    pub async fn rotate_dkim_keys(&self, domain: &str, grace: Duration) -> Result<DkimRotation> {
        if grace > MAX_GRACE {
            return Err(OpsError::Invalid {
                field: "grace",
                message: "the grace period is at most 365 days".to_string(),
            });
        }
        let domain = self.dkim_domain(domain).await?;
        let existing = self.store.dkim_keys(Some(domain.as_str())).await?;
        let active: Vec<DkimKey> = existing
            .iter()
            .filter(|k| k.state == DkimKeyState::Active)
            .cloned()
            .collect();
        if active.is_empty() {
            return Err(OpsError::Conflict(format!(
                "domain `{domain}` has no active DKIM key to rotate: generate one first"
            )));
        }
        let at = now();
        let algorithms: Vec<Algorithm> = active.iter().map(|k| k.algorithm).collect();
        let selectors: Vec<String> = algorithms
            .iter()
            .map(|&a| default_selector(a, &existing, at))
            .collect();
        let new: Vec<NewDkimKey> = selectors
            .into_iter()
            .zip(generate(algorithms).await?)
            .map(NewDkimKey::from)
            .collect();

        let (mut tx, domain_id) = self.begin_key_change(&domain).await?;
        let rotation = tx.rotate_dkim_keys(domain_id, &new, grace).await?;
        self.audit(
            &mut tx,
            "dkim.rotate",
            Some(domain.as_str()),
            domain.as_str(),
            Some(&active),
            Some(&rotation),
        )
        .await?;
        tx.commit().await?;
        Ok(rotation)
    }

    /// The records to publish for a domain, as `publishing` describes the
    /// mail server: MX, SPF, every DKIM key that signs or may still be
    /// verified, DMARC, MTA-STS and TLS reporting, and what mail clients
    /// use to configure themselves.
    pub async fn dns_records(
        &self,
        domain: &str,
        publishing: &Publishing,
    ) -> Result<Vec<DnsRecord>> {
        let domain = self.dkim_domain(domain).await?;
        let mode = self
            .store
            .domain(domain.as_str())
            .await?
            .map_or(Mode::Testing, |d| d.mta_sts_mode);
        let domain = domain.as_str();
        let host = format!("{}.", publishing.hostname);
        let record = |name: String, kind, data: String, comment: String| DnsRecord {
            name,
            kind,
            data,
            comment,
        };
        let mut records = vec![
            record(
                domain.to_string(),
                "MX",
                format!("10 {host}"),
                "mail for the domain goes to this server".to_string(),
            ),
            record(
                domain.to_string(),
                "TXT",
                quoted("v=spf1 mx -all"),
                "SPF: only the MX hosts send the domain's mail".to_string(),
            ),
        ];
        let at = now();
        for key in self.store.dkim_keys(Some(domain)).await? {
            if !key.is_published(at) {
                continue;
            }
            let (name, value) = key.dns_record();
            let comment = match (key.state, key.retire_at) {
                (DkimKeyState::Retiring, Some(until)) => format!(
                    "DKIM {} key {}, retiring: keep it published until {}",
                    key.algorithm,
                    key.selector,
                    utc(until)
                ),
                _ => format!("DKIM {} key {}, signing", key.algorithm, key.selector),
            };
            records.push(record(name, "TXT", quoted(&value), comment));
        }
        records.push(record(
            format!("_dmarc.{domain}"),
            "TXT",
            quoted(&format!(
                "v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"
            )),
            format!("DMARC: reports go to postmaster@{domain}, which should be a mailbox or alias"),
        ));
        records.push(record(
            format!("_mta-sts.{domain}"),
            "TXT",
            quoted(&publishing.mta_sts_record(mode)),
            format!("MTA-STS: the policy ({mode}) served at https://mta-sts.{domain}/.well-known/mta-sts.txt"),
        ));
        records.push(record(
            format!("mta-sts.{domain}"),
            "CNAME",
            host.clone(),
            "MTA-STS: the policy's host, this server (its certificate must name it)".to_string(),
        ));
        records.push(record(
            format!("_smtp._tls.{domain}"),
            "TXT",
            quoted(&publishing.tls_rpt_record(domain)),
            "TLS-RPT: where other servers report TLS failures".to_string(),
        ));
        for prefix in ["autoconfig", "autodiscover"] {
            records.push(record(
                format!("{prefix}.{domain}"),
                "CNAME",
                host.clone(),
                "mail client autoconfiguration".to_string(),
            ));
        }
        for (service, priority, port, rfc) in SRV_SERVICES {
            records.push(record(
                format!("{service}.{domain}"),
                "SRV",
                format!("{priority} 1 {port} {host}"),
                format!("mail client autoconfiguration ({rfc})"),
            ));
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::Store;

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(keys_past_their_grace_period_are_retired_everywhere);

    async fn keys_past_their_grace_period_are_retired_everywhere(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        for domain in ["a.esempio.it", "b.esempio.it"] {
            provincia.add_domain(domain, 0, 0).await.unwrap();
            provincia
                .generate_dkim_keys(domain, None, "ed25519")
                .await
                .unwrap();
        }
        provincia
            .rotate_dkim_keys("a.esempio.it", Duration::ZERO)
            .await
            .unwrap();
        provincia
            .rotate_dkim_keys("b.esempio.it", Duration::from_secs(3600))
            .await
            .unwrap();
        let comune = ops(&store, AdminScope::Domains(vec!["a.esempio.it".into()]));
        assert!(matches!(
            comune.retire_expired_dkim_keys().await,
            Err(OpsError::Forbidden(_))
        ));
        assert_eq!(provincia.retire_expired_dkim_keys().await.unwrap(), 1);
        assert_eq!(provincia.retire_expired_dkim_keys().await.unwrap(), 0);
        let states: Vec<(String, DkimKeyState)> = store
            .dkim_keys(None)
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.domain, k.state))
            .collect();
        assert_eq!(
            states
                .iter()
                .filter(|(_, s)| *s == DkimKeyState::Retired)
                .count(),
            1
        );
        assert!(states.contains(&("b.esempio.it".into(), DkimKeyState::Retiring)));
        let audit = store.audit_log(Some("a.esempio.it"), 10).await.unwrap();
        let retire = audit.iter().find(|e| e.action == "dkim.retire").unwrap();
        assert!(!retire.after.as_deref().unwrap_or("").contains("PRIVATE"));
    }

    fn key(selector: &str) -> DkimKey {
        DkimKey {
            id: 1,
            domain: "comune.esempio.pu.it".to_string(),
            selector: selector.to_string(),
            algorithm: Algorithm::RsaSha256,
            public_key: String::new(),
            state: DkimKeyState::Retired,
            created_at: 0,
            retire_at: None,
            private_key: postino_common::auth::Secret::new(""),
        }
    }

    #[test]
    fn default_selectors_carry_the_date_and_avoid_used_ones() {
        // 2025-03-03 10:00 UTC.
        let at = 1_740_996_000;
        assert_eq!(
            default_selector(Algorithm::RsaSha256, &[], at),
            "20250303-rsa"
        );
        assert_eq!(
            default_selector(Algorithm::Ed25519Sha256, &[], at),
            "20250303-ed"
        );
        let taken = [key("20250303-rsa"), key("20250303-rsa-2")];
        assert_eq!(
            default_selector(Algorithm::RsaSha256, &taken, at),
            "20250303-rsa-3"
        );
    }

    #[test]
    fn algorithms_are_chosen_by_short_or_full_name() {
        assert_eq!(parse_algorithms("both").unwrap(), Algorithm::ALL);
        assert_eq!(parse_algorithms("RSA").unwrap(), [Algorithm::RsaSha256]);
        assert_eq!(
            parse_algorithms("ed25519-sha256").unwrap(),
            [Algorithm::Ed25519Sha256]
        );
        assert!(parse_algorithms("dsa").is_err());
        assert!(parse_algorithms("").is_err());
    }

    #[test]
    fn txt_data_is_quoted_per_character_string() {
        assert_eq!(quoted("v=spf1 mx -all"), "\"v=spf1 mx -all\"");
        let long = "a".repeat(300);
        assert_eq!(
            quoted(&long),
            format!("\"{}\" \"{}\"", "a".repeat(255), "a".repeat(45))
        );
        assert_eq!(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
    }
}

//! Outbound MTA-STS (RFC 8461 §4, §5): which policy a recipient domain
//! has, and what it asks of a delivery.
//!
//! Before delivering to a domain its `_mta-sts` TXT record is looked up
//! through the configured resolver. A record naming an id the cached policy
//! does not have, or a cached policy past its `max_age`, has the policy
//! fetched ([`fetch`]) and cached in the store, which every node shares. A
//! fetch that fails, or a record that is gone, leaves a cached policy in
//! force until its `max_age` runs out (§5.1): an attacker who blocks the
//! fetch or the TXT look-up cannot turn the policy off.
//!
//! A policy in `enforce` mode lets mail go only to the MX hosts it names,
//! only over STARTTLS with a certificate valid for the MX host
//! ([`roots`]); anything else defers, with the reason in the log and the
//! reply. In `testing` mode the same failures are logged and counted
//! (`postino_mta_sts_failures_total`), and mail goes as before.

mod fetch;
mod roots;

use std::sync::Arc;

use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::proto::rr::{Name, RData};
use postino_common::mta_sts::{Mode, Policy, record_id};
use postino_common::store::{CachedPolicy, Store, now};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::pki_types::CertificateDer;

pub use roots::RootsError;

use crate::error::Chain;
use crate::metrics;
use crate::outbound::Router;
use crate::proto::client::ServerReply;
use fetch::Fetcher;

/// Why MTA-STS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Roots(#[from] RootsError),
    #[error("cannot set up TLS for MTA-STS policy fetches")]
    Tls(#[source] tokio_rustls::rustls::Error),
}

/// Policies of recipient domains, fetched and cached.
pub struct MtaSts {
    store: Store,
    resolver: MessageAuthenticator,
    fetcher: Fetcher,
    verifier: Arc<WebPkiServerVerifier>,
}

impl MtaSts {
    /// Trusts the system's roots and those of `ca_file`; fetches policies
    /// from `port`.
    pub fn new(
        store: Store,
        resolver: MessageAuthenticator,
        ca_file: Option<&std::path::Path>,
        port: u16,
    ) -> Result<MtaSts, SetupError> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let verifier = roots::verifier(ca_file, provider.clone())?;
        let fetcher = Fetcher::new(verifier.clone(), provider, port).map_err(SetupError::Tls)?;
        Ok(MtaSts {
            store,
            resolver,
            fetcher,
            verifier,
        })
    }

    /// What `domain`'s policy asks of its deliveries now; `None` when it
    /// has none (or one in mode `none`).
    pub async fn check(&self, domain: &str, router: &Router) -> Option<Check> {
        let policy = self.policy(domain, router).await?;
        (policy.mode != Mode::None).then(|| Check {
            domain: domain.to_string(),
            policy,
            verifier: self.verifier.clone(),
        })
    }

    /// `domain`'s policy: the cached one while it is fresh and its id is
    /// the published one, else a new one fetched, else the cached one
    /// still fresh.
    async fn policy(&self, domain: &str, router: &Router) -> Option<Policy> {
        let at = now();
        let cached = match self.store.mta_sts_policy(domain).await {
            Ok(cached) => cached.filter(|c| c.expires_at > at),
            Err(err) => {
                tracing::warn!(domain, error = %Chain(&err), "cannot read the cached MTA-STS policy");
                None
            }
        };
        let cached_policy = cached
            .as_ref()
            .and_then(|c| Policy::parse(c.policy.as_bytes()).ok());
        let Some(id) = self.published_id(domain).await else {
            return cached_policy;
        };
        if cached.as_ref().is_some_and(|c| c.policy_id == id) && cached_policy.is_some() {
            return cached_policy;
        }
        match self.fetch(domain, router).await {
            Ok((text, policy)) => {
                let fresh = CachedPolicy {
                    domain: domain.to_string(),
                    policy_id: id,
                    policy: text,
                    fetched_at: at,
                    expires_at: at.saturating_add(i64::try_from(policy.max_age).unwrap_or(0)),
                };
                if let Err(err) = self.store.save_mta_sts_policy(&fresh).await {
                    tracing::warn!(domain, error = %Chain(&err), "cannot cache an MTA-STS policy");
                }
                tracing::info!(domain, id = %fresh.policy_id, mode = %policy.mode, "MTA-STS policy fetched");
                Some(policy)
            }
            Err(reason) => {
                let kept = cached_policy.as_ref().map_or("none", |p| p.mode.as_str());
                tracing::warn!(domain, %reason, cached = kept, "cannot fetch the MTA-STS policy; the cached one stays in force");
                cached_policy
            }
        }
    }

    /// The policy id of `domain`'s `_mta-sts` record; `None` when it has
    /// no valid one or the look-up fails.
    async fn published_id(&self, domain: &str) -> Option<String> {
        let name = Name::from_ascii(format!("_mta-sts.{domain}.")).ok()?;
        let lookup = self.resolver.resolver().txt_lookup(name).await.ok()?;
        let records: Vec<String> = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        record_id(records.iter().map(String::as_str))
    }

    async fn fetch(&self, domain: &str, router: &Router) -> Result<(String, Policy), String> {
        let host = format!("mta-sts.{domain}");
        let addresses = router.addresses_of(&host, self.fetcher.port()).await?;
        let body = self.fetcher.fetch(&host, &addresses).await?;
        let policy = Policy::parse(&body).map_err(|err| format!("policy of {domain}: {err}"))?;
        let text = String::from_utf8_lossy(&body).into_owned();
        Ok((text, policy))
    }
}

/// What a domain's policy (in mode `enforce` or `testing`) asks of the
/// delivery to it.
pub struct Check {
    domain: String,
    policy: Policy,
    verifier: Arc<WebPkiServerVerifier>,
}

impl Check {
    /// Whether mail may go to the MX host `host`: `Err` with the reply to
    /// defer with when the policy does not name it and is enforced.
    pub fn mx(&self, host: &str) -> Result<(), ServerReply> {
        if self.policy.names(host) {
            return Ok(());
        }
        self.failed(
            host,
            "mx",
            format!(
                "{host} is not an MX host the MTA-STS policy of {} names",
                self.domain
            ),
        )
    }

    /// What a server without STARTTLS gets.
    pub fn no_starttls(&self, host: &str) -> Result<(), ServerReply> {
        self.failed(host, "starttls", format!("{host} does not offer STARTTLS"))
    }

    /// Whether the certificate chain `host` presented is valid for it.
    pub fn certificate(&self, host: &str, chain: &[CertificateDer<'_>]) -> Result<(), ServerReply> {
        match roots::check_chain(&self.verifier, chain, host) {
            Ok(()) => Ok(()),
            Err(reason) => self.failed(host, "certificate", reason),
        }
    }

    /// Logs and counts a failure; under `enforce`, the reply to defer with.
    fn failed(&self, host: &str, failure: &'static str, reason: String) -> Result<(), ServerReply> {
        metrics::mta_sts_failed(self.policy.mode, failure);
        let domain = self.domain.as_str();
        if self.policy.mode == Mode::Enforce {
            tracing::warn!(domain, host, %reason, "MTA-STS policy enforced: not delivering to this host");
            Err(ServerReply::local(451, format!("4.7.5 MTA-STS: {reason}")))
        } else {
            tracing::warn!(domain, host, %reason, "MTA-STS policy in testing mode: this would fail under enforce");
            Ok(())
        }
    }
}

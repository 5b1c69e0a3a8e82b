//! What hosted domains publish about their transport security: the
//! MTA-STS policy (RFC 8461) the admin service serves for each, and the
//! `_mta-sts` and `_smtp._tls` (TLS-RPT, RFC 8460) records `postino dns`
//! prints. The mode is each domain's (`DomainChange::mta_sts`); the MX
//! names, `max_age` and the report address come from `[mta_sts]`.

use postino_common::address::DomainName;
use postino_common::mta_sts::{Mode, Policy};
use postino_common::store::Store;
use postino_config::Config;

use super::Result;

/// The settings every hosted domain's records and policy are made from.
#[derive(Debug, Clone)]
pub struct Publishing {
    /// The mail server's name, the domains' MX.
    pub hostname: String,
    /// The MX names policies name: `[mta_sts] mx`, else the hostname.
    pub mx: Vec<String>,
    pub max_age: u64,
    /// The TLS report address, else the domain's postmaster.
    pub tls_rpt: Option<String>,
}

impl Publishing {
    pub fn from_config(config: &Config) -> Publishing {
        let hostname = config.hostname.trim_end_matches('.').to_ascii_lowercase();
        let mx = if config.mta_sts.mx.is_empty() {
            vec![hostname.clone()]
        } else {
            config
                .mta_sts
                .mx
                .iter()
                .map(|mx| mx.to_ascii_lowercase())
                .collect()
        };
        Publishing {
            hostname,
            mx,
            max_age: config.mta_sts.max_age.0.as_secs(),
            tls_rpt: config.mta_sts.tls_rpt.clone(),
        }
    }

    /// The policy of a domain whose mode is `mode`.
    pub fn policy(&self, mode: Mode) -> Policy {
        Policy {
            mode,
            mx: self.mx.clone(),
            max_age: self.max_age,
        }
    }

    /// The `_mta-sts` record's text for a domain whose mode is `mode`.
    pub fn mta_sts_record(&self, mode: Mode) -> String {
        format!("v=STSv1; id={}", self.policy(mode).id())
    }

    /// The `_smtp._tls` record's text for `domain`.
    pub fn tls_rpt_record(&self, domain: &str) -> String {
        let to = self
            .tls_rpt
            .clone()
            .unwrap_or_else(|| format!("postmaster@{domain}"));
        format!("v=TLSRPTv1; rua=mailto:{to}")
    }
}

/// The policy file served at `https://HOST/.well-known/mta-sts.txt`:
/// `HOST` is `mta-sts.` and a hosted, active domain (with a port or not).
/// `None` for any other host, which gets nothing.
pub async fn served_policy(
    store: &Store,
    publishing: &Publishing,
    host: &str,
) -> Result<Option<String>> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let Some(domain) = name
        .to_ascii_lowercase()
        .strip_prefix("mta-sts.")
        .and_then(|domain| domain.parse::<DomainName>().ok())
    else {
        return Ok(None);
    };
    Ok(match store.domain(domain.as_str()).await? {
        Some(hosted) if hosted.active => Some(publishing.policy(hosted.mta_sts_mode).render()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use postino_common::store::AdminScope;

    use super::*;
    use crate::ops::DomainChange;
    use crate::ops::testing::ops;

    postino_common::store_tests!(policies_are_served_for_hosted_domains_in_their_mode);

    fn publishing() -> Publishing {
        Publishing {
            hostname: "mx.provincia.it".into(),
            mx: vec!["mx.provincia.it".into()],
            max_age: 604_800,
            tls_rpt: None,
        }
    }

    async fn policies_are_served_for_hosted_domains_in_their_mode(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        provincia.add_domain("comune.it", 0, 0).await.unwrap();
        let publishing = publishing();
        let served = |host: &'static str| {
            let (store, publishing) = (store.clone(), publishing.clone());
            async move { served_policy(&store, &publishing, host).await.unwrap() }
        };
        let testing = served("mta-sts.comune.it:8443").await.expect("a policy");
        assert_eq!(
            testing,
            "version: STSv1\r\nmode: testing\r\nmx: mx.provincia.it\r\nmax_age: 604800\r\n"
        );
        assert_eq!(served("mta-sts.altro.it").await, None);
        assert_eq!(served("comune.it").await, None);
        let change = DomainChange {
            mta_sts: Some(Mode::Enforce),
            ..DomainChange::default()
        };
        let comune = ops(&store, AdminScope::Domains(vec!["comune.it".into()]));
        comune.update_domain("comune.it", &change).await.unwrap();
        let enforce = served("MTA-STS.comune.it").await.expect("a policy");
        assert!(enforce.contains("mode: enforce\r\n"), "{enforce}");
        assert_ne!(
            publishing.mta_sts_record(Mode::Testing),
            publishing.mta_sts_record(Mode::Enforce),
            "the record's id follows the policy"
        );
        let audit = store.audit_log(Some("comune.it"), 10).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "domain.update"), "audited");
    }
}

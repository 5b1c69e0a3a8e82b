//! `[mta_sts]`: what hosted domains publish about their transport
//! security: the MTA-STS policy (RFC 8461) the admin service serves at
//! `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`, and where TLS reports
//! (RFC 8460) go. Each domain's mode is set per domain
//! (`postino domain update DOMAIN --mta-sts MODE`).

use serde::Deserialize;

use crate::duration::HumanDuration;

/// `[mta_sts]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MtaStsConfig {
    /// The MX host names the policies name, each a DNS name or `*.` and
    /// one. Default `[]`: the `hostname` alone.
    pub mx: Vec<String>,
    /// How long other servers may keep a policy (a duration such as
    /// `"7d"`), 1s to 365.25 days. Default `"7d"`.
    pub max_age: HumanDuration,
    /// Where other servers send TLS reports (the `rua` of the `_smtp._tls`
    /// record), an address. Default: the domain's `postmaster@`.
    pub tls_rpt: Option<String>,
}

impl Default for MtaStsConfig {
    fn default() -> Self {
        MtaStsConfig {
            mx: Vec::new(),
            max_age: crate::defaults::mta_sts_max_age(),
            tls_rpt: None,
        }
    }
}

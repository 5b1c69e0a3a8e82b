//! `[delivery]`: how the outbound queue reaches other servers — the port
//! of their MX hosts, retries, the message lifetime and the delay notice,
//! the connection limit per destination, a smarthost and per-domain routes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::duration::HumanDuration;

/// `[delivery]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// The TCP port of the MX hosts found in DNS, 1-65535. Default 25;
    /// tests point it at servers on other ports.
    pub port: u16,
    /// How long a message is retried before it is bounced (a duration such
    /// as `"5d"`), at least 1s. Default `"5d"`.
    pub lifetime: HumanDuration,
    /// The waits between attempts: the first after the first failure, and
    /// so on; the last one repeats. At least one, each at least 1s. Default
    /// `["1m", "5m", "15m", "30m", "1h", "2h", "4h"]`.
    pub retry: Vec<HumanDuration>,
    /// How long after it was queued a message whose recipients are still
    /// deferred gets the sender one delay notice (an RFC 3464 report with
    /// `Action: delayed`), at the first attempt past that age; a duration
    /// such as `"4h"`, or `0` (`"0"`) for no notices. A notice due after
    /// `lifetime` is never sent. Default `"4h"`.
    pub delay_notice: HumanDuration,
    /// Simultaneous connections to one destination domain, per node, at
    /// least 1. Default 5.
    pub max_connections_per_domain: u32,
    /// Simultaneous deliveries, per node, at least 1. Default 50.
    pub max_concurrent: u32,
    /// Relay every message through this host, `host:port`, instead of
    /// looking up MX records. Default: none.
    pub smarthost: Option<HostPort>,
    /// The user for AUTH PLAIN at the smarthost; requires
    /// `smarthost_password`. Default: none (no AUTH).
    pub smarthost_user: Option<String>,
    /// The password for AUTH PLAIN at the smarthost; requires
    /// `smarthost_user`. Default: none.
    pub smarthost_password: Option<String>,
    /// Fixed routes: recipient domain = `"host:port"`, tried before the
    /// smarthost and MX records. Default: none.
    pub routes: BTreeMap<String, HostPort>,
    /// Whether the MTA-STS policies of recipient domains (RFC 8461) are
    /// fetched and honoured: under `enforce`, mail goes only to the MX
    /// hosts a policy names, over TLS with a valid certificate. Routes and
    /// the smarthost are not subject to it. Default `true`.
    pub mta_sts: bool,
    /// The TCP port of the `mta-sts.` hosts serving policies over HTTPS,
    /// 1-65535. Default 443; tests point it at servers on other ports.
    pub mta_sts_port: u16,
    /// A PEM file of CA certificates trusted, besides the system's
    /// (`/etc/ssl/certs`), for MTA-STS: the policy hosts' and the MX hosts'
    /// certificates. Default: none.
    pub ca_file: Option<PathBuf>,
}

/// A host name or IP address with a port: `mail.example.org:25`,
/// `192.0.2.1:587`, `[2001:db8::1]:25`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// A DNS name or an IP address, without brackets.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl std::str::FromStr for HostPort {
    type Err = String;

    fn from_str(value: &str) -> Result<HostPort, String> {
        let bad = || {
            format!(
                "invalid destination `{value}` (expected host:port such as mail.example.org:25)"
            )
        };
        let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port: u16 = port.parse().map_err(|_| bad())?;
        let is_ip = host.parse::<std::net::IpAddr>().is_ok();
        if port == 0 || !(is_ip || crate::validate::is_dns_name(host)) {
            return Err(bad());
        }
        Ok(HostPort {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HostPortVisitor;

        impl Visitor<'_> for HostPortVisitor {
            type Value = HostPort;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a destination such as \"mail.example.org:25\"")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<HostPort, E> {
                value.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(HostPortVisitor)
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            port: crate::defaults::delivery_port(),
            lifetime: crate::defaults::delivery_lifetime(),
            retry: crate::defaults::delivery_retry(),
            delay_notice: crate::defaults::delivery_delay_notice(),
            max_connections_per_domain: crate::defaults::delivery_max_connections_per_domain(),
            max_concurrent: crate::defaults::delivery_max_concurrent(),
            smarthost: None,
            smarthost_user: None,
            smarthost_password: None,
            routes: BTreeMap::new(),
            mta_sts: true,
            mta_sts_port: crate::defaults::delivery_mta_sts_port(),
            ca_file: None,
        }
    }
}

/// The smarthost password must not reach the logs.
impl fmt::Debug for DeliveryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryConfig")
            .field("port", &self.port)
            .field("lifetime", &self.lifetime)
            .field("retry", &self.retry)
            .field("delay_notice", &self.delay_notice)
            .field(
                "max_connections_per_domain",
                &self.max_connections_per_domain,
            )
            .field("max_concurrent", &self.max_concurrent)
            .field("smarthost", &self.smarthost)
            .field("smarthost_user", &self.smarthost_user)
            .field(
                "smarthost_password",
                &self.smarthost_password.as_ref().map(|_| "<redacted>"),
            )
            .field("routes", &self.routes)
            .field("mta_sts", &self.mta_sts)
            .field("mta_sts_port", &self.mta_sts_port)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_as_host_and_port() {
        let parsed: HostPort = "Mail.Example.org:587".parse().expect("valid");
        assert_eq!(
            (parsed.host.as_str(), parsed.port),
            ("mail.example.org", 587)
        );
        let v6: HostPort = "[2001:db8::1]:25".parse().expect("valid");
        assert_eq!(v6.host, "2001:db8::1");
        assert_eq!(v6.to_string(), "[2001:db8::1]:25");
        assert_eq!(
            "127.0.0.1:2525"
                .parse::<HostPort>()
                .expect("valid")
                .to_string(),
            "127.0.0.1:2525"
        );
        for bad in [
            "mail.example.org",
            "mail.example.org:0",
            "a b:25",
            ":25",
            "x:port",
        ] {
            assert!(bad.parse::<HostPort>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn delay_notices_default_to_four_hours_and_zero_turns_them_off() {
        let parse = |text: &str| {
            crate::parse(text, std::path::Path::new("postino.toml"))
                .map(|config| config.delivery.delay_notice)
        };
        let default = parse("").expect("the defaults are valid");
        assert_eq!(default, HumanDuration::from_secs(4 * 3600));
        let cases = [
            ("delay_notice = \"30m\"", 1800),
            ("delay_notice = 90", 90),
            ("delay_notice = \"0\"", 0),
            ("delay_notice = 0", 0),
        ];
        for (line, secs) in cases {
            let parsed = parse(&format!("[delivery]\n{line}\n")).expect(line);
            assert_eq!(parsed, HumanDuration::from_secs(secs), "{line}");
        }
        let err = parse("[delivery]\ndelay_notice = \"off\"\n").expect_err("not a duration");
        assert_eq!(err.key(), Some("delivery.delay_notice"), "{err}");
        assert_eq!(err.line(), Some(2), "{err}");
    }

    #[test]
    fn debug_hides_the_smarthost_password() {
        let config = DeliveryConfig {
            smarthost_password: Some("hunter2".to_owned()),
            ..DeliveryConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

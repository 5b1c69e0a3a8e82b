//! Where mail for a domain goes: a configured route, else the smarthost,
//! else the domain's MX hosts in preference order (RFC 5321 §5.1), else
//! the domain itself when it has no MX (its A/AAAA, the implicit MX). A
//! null MX (RFC 7505: one record, exchange `.`) means the domain takes no
//! mail, and an NXDOMAIN answer to the MX query (RFC 8020: the name does
//! not exist, so it has no A/AAAA either) that there is no such domain:
//! both are permanent failures. Any other DNS failure (SERVFAIL, a
//! timeout, a host without addresses) is temporary: it is retried until
//! the message's lifetime.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use mail_auth::common::cache::NoCache;
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{DnsError, Error as AuthError, MessageAuthenticator};

/// Addresses tried per host name, A and AAAA together.
const MAX_ADDRESSES: usize = 4;
/// MX hosts tried per attempt.
const MAX_HOSTS: usize = 8;

/// A host and the port to reach it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// A DNS name or an IP address.
    pub host: String,
    pub port: u16,
}

/// Where a domain's mail may go, best first, and whether the smarthost's
/// credentials apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub hops: Vec<Hop>,
    pub via_smarthost: bool,
    /// Whether the hops are the domain's MX hosts (or the domain itself,
    /// the implicit MX), which its MTA-STS policy governs, rather than a
    /// configured route, the smarthost or an address literal.
    pub from_dns: bool,
}

/// Why a domain cannot be routed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// It never will be (null MX).
    Permanent(String),
    /// The domain does not exist (NXDOMAIN).
    NoSuchDomain(String),
    /// DNS did not answer usefully; try again later.
    Temporary(String),
}

/// Decides routes and looks up addresses.
pub struct Router {
    resolver: MessageAuthenticator,
    /// The port of MX hosts.
    port: u16,
    smarthost: Option<Hop>,
    routes: HashMap<String, Hop>,
}

impl Router {
    pub fn new(
        resolver: MessageAuthenticator,
        port: u16,
        smarthost: Option<Hop>,
        routes: HashMap<String, Hop>,
    ) -> Router {
        Router {
            resolver,
            port,
            smarthost,
            routes,
        }
    }

    /// Where mail for `domain` goes.
    pub async fn route(&self, domain: &str) -> Result<Route, RouteError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        if let Some(hop) = self.routes.get(&domain) {
            return Ok(Route {
                hops: vec![hop.clone()],
                via_smarthost: false,
                from_dns: false,
            });
        }
        if let Some(hop) = &self.smarthost {
            return Ok(Route {
                hops: vec![hop.clone()],
                via_smarthost: true,
                from_dns: false,
            });
        }
        if let Some(literal) = address_literal(&domain) {
            return Ok(Route {
                hops: vec![Hop {
                    host: literal.to_string(),
                    port: self.port,
                }],
                via_smarthost: false,
                from_dns: false,
            });
        }
        let records = match self
            .resolver
            .mx_lookup(domain.as_str(), None::<&NoCache<_, _>>)
            .await
        {
            Ok(records) => records.rrset,
            Err(AuthError::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain))) => {
                return Err(RouteError::NoSuchDomain(format!(
                    "{domain} does not exist (NXDOMAIN)"
                )));
            }
            // NOERROR without MX records: the name exists.
            Err(AuthError::Dns(DnsError::RecordNotFound(_))) => {
                // No MX: the domain is its own mail host (§5.1).
                return Ok(Route {
                    hops: vec![Hop {
                        host: domain,
                        port: self.port,
                    }],
                    via_smarthost: false,
                    from_dns: true,
                });
            }
            Err(err) => {
                return Err(RouteError::Temporary(format!(
                    "MX look-up for {domain} failed: {err}"
                )));
            }
        };
        let exchanges: Vec<&str> = records
            .iter()
            .flat_map(|mx| mx.exchanges.iter().map(|e| e.trim_end_matches('.')))
            .collect();
        if exchanges.is_empty() {
            return Ok(Route {
                hops: vec![Hop {
                    host: domain,
                    port: self.port,
                }],
                via_smarthost: false,
                from_dns: true,
            });
        }
        if exchanges.iter().all(|e| e.is_empty()) {
            return Err(RouteError::Permanent(format!(
                "{domain} accepts no mail (null MX, RFC 7505)"
            )));
        }
        Ok(Route {
            hops: exchanges
                .into_iter()
                .filter(|e| !e.is_empty())
                .take(MAX_HOSTS)
                .map(|host| Hop {
                    host: host.to_owned(),
                    port: self.port,
                })
                .collect(),
            via_smarthost: false,
            from_dns: true,
        })
    }

    /// The addresses of a hop, IPv4 then IPv6; empty if it has none.
    pub async fn addresses(&self, hop: &Hop) -> Result<Vec<SocketAddr>, String> {
        self.addresses_of(&hop.host, hop.port).await
    }

    /// The addresses of `host` (a name or an IP address) with `port`,
    /// IPv4 then IPv6; empty if it has none.
    pub async fn addresses_of(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let none4 = None::<&NoCache<_, _>>;
        let none6 = None::<&NoCache<_, _>>;
        let mut found = Vec::new();
        let mut failure = None;
        match self.resolver.ipv4_lookup(host, none4).await {
            Ok(set) => found.extend(set.rrset.iter().map(|ip| IpAddr::V4(*ip))),
            Err(AuthError::Dns(DnsError::RecordNotFound(_))) => {}
            Err(err) => failure = Some(err.to_string()),
        }
        match self.resolver.ipv6_lookup(host, none6).await {
            Ok(set) => found.extend(set.rrset.iter().map(|ip| IpAddr::V6(*ip))),
            Err(AuthError::Dns(DnsError::RecordNotFound(_))) => {}
            Err(err) => failure = Some(err.to_string()),
        }
        if found.is_empty()
            && let Some(failure) = failure
        {
            return Err(format!("address look-up for {host} failed: {failure}"));
        }
        found.truncate(MAX_ADDRESSES);
        Ok(found
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }
}

/// The address of a domain literal such as `[192.0.2.1]` (RFC 5321 §4.1.3).
fn address_literal(domain: &str) -> Option<IpAddr> {
    let inner = domain.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner.strip_prefix("ipv6:").unwrap_or(inner);
    inner.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use postino_tests::dns::DnsStub;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(30);

    fn router(stub: &DnsStub) -> Router {
        let resolver =
            crate::authres::resolver(&[stub.addr()], Duration::from_secs(2)).expect("resolver");
        Router::new(resolver, 25, None, HashMap::new())
    }

    fn hop(host: &str) -> Hop {
        Hop {
            host: host.to_owned(),
            port: 25,
        }
    }

    #[tokio::test]
    async fn unknown_domains_fail_and_broken_dns_is_temporary() {
        tokio::time::timeout(LIMIT, async {
            let stub = DnsStub::start().await.expect("start the DNS stub");
            stub.add_mx("mx.example", 10, "mail.mx.example");
            stub.add_a("a.example", Ipv4Addr::LOCALHOST);
            stub.add_mx("null.example", 0, ".");
            stub.fail("broken.example");
            let router = router(&stub);

            let route = router.route("MX.example").await.expect("MX route");
            assert_eq!(route.hops, [hop("mail.mx.example")]);
            let implicit = router.route("a.example").await.expect("implicit MX");
            assert_eq!(
                implicit.hops,
                [hop("a.example")],
                "no MX, but the name exists"
            );
            assert!(
                matches!(
                    router.route("null.example").await,
                    Err(RouteError::Permanent(_))
                ),
                "null MX"
            );
            match router.route("nowhere.example").await {
                Err(RouteError::NoSuchDomain(reason)) => {
                    assert!(reason.contains("nowhere.example"), "{reason}");
                }
                other => panic!("NXDOMAIN gave {other:?}"),
            }
            assert!(
                matches!(
                    router.route("broken.example").await,
                    Err(RouteError::Temporary(_))
                ),
                "SERVFAIL must stay temporary"
            );
        })
        .await
        .expect("test timed out");
    }

    #[test]
    fn address_literals_are_recognised() {
        assert_eq!(address_literal("[192.0.2.1]"), "192.0.2.1".parse().ok());
        assert_eq!(
            address_literal("[ipv6:2001:db8::1]"),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(address_literal("example.org"), None);
    }
}

//! DNS blocklists and allowlists of client addresses (RFC 5782): the MX
//! asks each configured zone about an anonymous client once per session,
//! at its first MAIL. A client listed in an allowlist is never blocked;
//! one listed in a blocklist is refused with the zone's TXT reason.
//!
//! A list answers with an A record in 127.0.0.0/8 under the client's
//! address reversed (`4.3.2.1.zone` for 1.2.3.4, nibbles for IPv6). Some
//! lists answer 127.255.255.x to a resolver they refuse (Spamhaus): that is
//! not a listing. A failed look-up is no listing either: an outage of a
//! list must not stop the mail.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use mail_auth::MessageAuthenticator;

use crate::authres::{self, VerifierError};

/// The longest reason quoted in a reply.
const MAX_REASON: usize = 200;

/// The zones to ask, and how.
pub struct Blocklists {
    block: Vec<String>,
    allow: Vec<String>,
    resolver: Option<MessageAuthenticator>,
    timeout: Duration,
}

/// A client found in a blocklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub zone: String,
    /// The zone's TXT record for the address, if it has one.
    pub reason: Option<String>,
}

impl Blocklists {
    /// Blocklists `block` and allowlists `allow`, asked through
    /// `nameservers` (the system's when empty), each look-up waiting at
    /// most `timeout`. No resolver is made when both are empty.
    pub fn new(
        block: Vec<String>,
        allow: Vec<String>,
        nameservers: &[SocketAddr],
        timeout: Duration,
    ) -> Result<Blocklists, VerifierError> {
        let resolver = if block.is_empty() {
            None
        } else {
            Some(authres::resolver(nameservers, timeout)?)
        };
        Ok(Blocklists {
            block,
            allow,
            resolver,
            timeout,
        })
    }

    /// No lists at all.
    pub fn none() -> Blocklists {
        Blocklists {
            block: Vec::new(),
            allow: Vec::new(),
            resolver: None,
            timeout: Duration::ZERO,
        }
    }

    /// The first blocklist `ip` is in, unless an allowlist has it. All the
    /// zones are asked at once.
    pub async fn listing(&self, ip: IpAddr) -> Option<Listing> {
        let resolver = self.resolver.as_ref()?;
        let ip = ip.to_canonical();
        let (allowed, blocked) = tokio::join!(
            first_listing(resolver, ip, &self.allow, self.timeout),
            first_listing(resolver, ip, &self.block, self.timeout)
        );
        if let Some((zone, _)) = allowed {
            tracing::debug!(zone, "client allowlisted");
            return None;
        }
        let (zone, name) = blocked?;
        let reason = reason(resolver, &name, self.timeout).await;
        Some(Listing { zone, reason })
    }
}

/// The first of `zones` that lists `ip`, with the name asked of it; the
/// zones are asked all at once.
async fn first_listing(
    resolver: &MessageAuthenticator,
    ip: IpAddr,
    zones: &[String],
    timeout: Duration,
) -> Option<(String, String)> {
    let names: Vec<(String, String)> = zones
        .iter()
        .map(|zone| (zone.clone(), format!("{}.{zone}", reversed(ip))))
        .collect();
    let found = join_all(
        names
            .iter()
            .map(|(_, name)| listed(resolver, name, timeout)),
    )
    .await;
    names
        .into_iter()
        .zip(found)
        .find_map(|(entry, listed)| listed.then_some(entry))
}

/// Whether `name` has an A record that is a listing.
async fn listed(resolver: &MessageAuthenticator, name: &str, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, resolver.ipv4_lookup_raw(name)).await {
        Ok(Ok(found)) => found.entry.iter().any(|a| {
            let [first, second, ..] = a.octets();
            first == 127 && second != 255
        }),
        Ok(Err(_)) | Err(_) => false,
    }
}

/// The TXT reason of a listing, made safe for one reply line.
async fn reason(resolver: &MessageAuthenticator, name: &str, timeout: Duration) -> Option<String> {
    let text = tokio::time::timeout(timeout, resolver.txt_raw_lookup(name))
        .await
        .ok()?
        .ok()?;
    let printable: String = String::from_utf8_lossy(&text)
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                ' '
            }
        })
        .take(MAX_REASON)
        .collect();
    let printable = printable.trim();
    (!printable.is_empty()).then(|| printable.to_string())
}

/// The address as a list's zone has it: the octets of an IPv4 address, or
/// the nibbles of an IPv6 one, last first.
fn reversed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .rev()
                .flat_map(|byte| [byte & 0xf, byte >> 4])
                .map(|nibble| format!("{nibble:x}"))
                .collect();
            nibbles.join(".")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_reversed_as_rfc_5782_says() {
        assert_eq!(reversed("192.0.2.99".parse().unwrap()), "99.2.0.192");
        // RFC 5782 §2.4's example.
        assert_eq!(
            reversed("2001:db8:1:2:3:4:567:89ab".parse().unwrap()),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2"
        );
    }
}

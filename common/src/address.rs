//! Domain names and mailbox addresses as Postino stores them.
//!
//! Both are normalised on parsing, so the store can compare them as plain
//! strings: domains to lowercase ASCII, internationalised ones (RFC 6531)
//! to their A-label form (`città.it` becomes `xn--citt-3na.it`, RFC 5891);
//! local parts to lowercase. Domains follow the host-name rules of
//! RFC 1035 §2.3.1 (as relaxed by RFC 1123 §2.1); local parts follow the
//! dot-atom form of RFC 5322 §3.4.1, plus UTF-8 letters as RFC 6531 allows.

use std::fmt;
use std::str::FromStr;

use postino_config::{MAX_DNS_NAME, is_dns_label};
use thiserror::Error;

/// Why a domain name or an address was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("`{0}` is not a valid domain name")]
    Domain(String),
    #[error("`{0}` is not a valid e-mail address (expected local-part@domain)")]
    Address(String),
}

/// A fully qualified domain name, lowercase, without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

impl DomainName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DomainName {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.strip_suffix('.').unwrap_or(s);
        let name = if name.is_ascii() {
            name.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(name).map_err(|_| AddressError::Domain(s.to_string()))?
        };
        let labels: Vec<&str> = name.split('.').collect();
        let valid = name.len() <= MAX_DNS_NAME
            && labels.len() >= 2
            && labels.iter().all(|l| is_dns_label(l))
            // A top-level label that is all digits would make an IP address look like a domain.
            && labels.last().is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
        if valid {
            Ok(DomainName(name))
        } else {
            Err(AddressError::Domain(s.to_string()))
        }
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mailbox address `local@domain`, lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    full: String,
    at: usize,
}

impl Address {
    pub fn local_part(&self) -> &str {
        &self.full[..self.at]
    }

    pub fn domain(&self) -> DomainName {
        DomainName(self.full[self.at + 1..].to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }
}

/// Characters RFC 5322 `atext` allows besides letters and digits.
const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

fn local_part_ok(local: &str) -> bool {
    let atom_ok = |atom: &str| {
        !atom.is_empty()
            && atom
                .chars()
                .all(|c| c.is_alphanumeric() || ATEXT_SPECIALS.contains(c) || !c.is_ascii())
    };
    !local.is_empty() && local.len() <= 64 && local.split('.').all(atom_ok)
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || AddressError::Address(s.to_string());
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        if !local_part_ok(local) {
            return Err(invalid());
        }
        let domain: DomainName = domain.parse().map_err(|_| invalid())?;
        let local = local.to_lowercase();
        Ok(Address {
            at: local.len(),
            full: format!("{local}@{domain}"),
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        let d: DomainName = "Comune.Esempio.PU.it.".parse().unwrap();
        assert_eq!(d.as_str(), "comune.esempio.pu.it");
    }

    #[test]
    fn internationalised_domains_become_a_labels() {
        let d: DomainName = "Città.Esempio.it".parse().unwrap();
        assert_eq!(d.as_str(), "xn--citt-3na.esempio.it");
        let a: Address = "niccolò@città.esempio.it".parse().unwrap();
        assert_eq!(a.as_str(), "niccolò@xn--citt-3na.esempio.it");
    }

    #[test]
    fn bad_domains_are_refused() {
        for bad in [
            "", "it", "-a.it", "a-.it", "a..it", "a_b.it", "1.2.3.4", "a b.it", "é",
        ] {
            assert!(bad.parse::<DomainName>().is_err(), "{bad:?} accepted");
        }
        let long_label = format!("{}.it", "a".repeat(64));
        assert!(long_label.parse::<DomainName>().is_err());
    }

    #[test]
    fn addresses_split_and_lowercase() {
        let a: Address = "Mario.Rossi@Comune.Esempio.it".parse().unwrap();
        assert_eq!(a.as_str(), "mario.rossi@comune.esempio.it");
        assert_eq!(a.local_part(), "mario.rossi");
        assert_eq!(a.domain().as_str(), "comune.esempio.it");
        let utf8: Address = "Niccolò@comune.esempio.it".parse().unwrap();
        assert_eq!(utf8.local_part(), "niccolò");
    }

    #[test]
    fn bad_addresses_are_refused() {
        for bad in [
            "nobody",
            "@x.it",
            "a@",
            "a@b",
            "a..b@x.it",
            ".a@x.it",
            "a b@x.it",
            "a@x..it",
            "a\"@x.it",
        ] {
            assert!(bad.parse::<Address>().is_err(), "{bad:?} accepted");
        }
    }
}

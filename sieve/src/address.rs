//! Address parts (RFC 5228 section 2.7.4) and the subaddress parts `:user`
//! and `:detail` (RFC 5233, separator "+").

use crate::script::AddressPart;

/// The separator between user and detail in a local part.
const SEPARATOR: char = '+';

/// The part of `address` a test compares, or `None` when the address has
/// no such part: `:detail` of an address without separator does not match
/// anything (RFC 5233 section 4).
pub(crate) fn address_part(address: &str, part: AddressPart) -> Option<&str> {
    let (local, domain) = match address.rfind('@') {
        Some(at) => (&address[..at], &address[at + 1..]),
        None => (address, ""),
    };
    match part {
        AddressPart::All => Some(address),
        AddressPart::LocalPart => Some(local),
        AddressPart::Domain => Some(domain),
        AddressPart::User => Some(local.split_once(SEPARATOR).map_or(local, |(user, _)| user)),
        AddressPart::Detail => local.split_once(SEPARATOR).map(|(_, detail)| detail),
    }
}

/// Whether `address` can be a redirect target: a bare local@domain
/// (RFC 5228 section 4.2 asks for an RFC 5322 mailbox; display names,
/// groups and lists are refused so the caller gets exactly one address).
/// The header fields whose bodies are addresses (RFC 5322 section 3.6),
/// lower-case: the only ones the `address` test looks at (RFC 5228 section
/// 5.1).
const ADDRESS_FIELDS: [&str; 15] = [
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "return-path",
    "delivered-to",
    "disposition-notification-to",
    "errors-to",
];

/// Whether `name` is a header field holding addresses.
pub(crate) fn is_address_field(name: &str) -> bool {
    ADDRESS_FIELDS.contains(&name.to_ascii_lowercase().as_str())
}

pub(crate) fn valid_redirect(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let plain = |s: &str| {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>,;()[]\\".contains(c))
    };
    plain(local)
        && plain(domain)
        && !domain.contains('@')
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let a = "ken+sieve@example.org";
        assert_eq!(address_part(a, AddressPart::All), Some(a));
        assert_eq!(address_part(a, AddressPart::LocalPart), Some("ken+sieve"));
        assert_eq!(address_part(a, AddressPart::Domain), Some("example.org"));
        assert_eq!(address_part(a, AddressPart::User), Some("ken"));
        assert_eq!(address_part(a, AddressPart::Detail), Some("sieve"));
        assert_eq!(address_part("ken@example.org", AddressPart::Detail), None);
        assert_eq!(
            address_part("ken+@example.org", AddressPart::Detail),
            Some("")
        );
        assert_eq!(address_part("", AddressPart::Domain), Some(""));
    }

    #[test]
    fn redirect_targets() {
        assert!(valid_redirect("bob@example.com"));
        assert!(valid_redirect("bob+x@mail.example.com"));
        for bad in [
            "",
            "bob",
            "@example.com",
            "bob@",
            "Bob <bob@example.com>",
            "a@b, c@d",
            "a@b..c",
            "a b@c",
        ] {
            assert!(!valid_redirect(bad), "{bad}");
        }
    }
}

//! The syntax of DNS names, shared by the configuration (host names), the
//! store (domains) and DKIM (selectors).

/// Longest DNS name, RFC 1035 2.3.4 (without the trailing dot).
pub const MAX_DNS_NAME: usize = 253;
/// Longest DNS label, RFC 1035 2.3.4.
const MAX_DNS_LABEL: usize = 63;

/// Whether `label` is one label of a host name: 1 to 63 letters, digits and
/// inner hyphens (RFC 1123 §2.1).
pub fn is_dns_label(label: &str) -> bool {
    (1..=MAX_DNS_LABEL).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_letters_digits_and_inner_hyphens() {
        for good in ["a", "comune", "x-1", "0abc", &"a".repeat(63)] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a_b", "a.b", "è", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}

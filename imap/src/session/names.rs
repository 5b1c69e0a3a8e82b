//! Mailbox names between the client and the store. The store keeps UTF-8
//! names with `/` between levels and `INBOX` in capitals; clients send and
//! receive modified UTF-7 (RFC 3501 §5.1.3), or UTF-8 once they enabled
//! UTF8=ACCEPT or IMAP4rev2 (RFC 6855 §3).

use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use unicode_normalization::UnicodeNormalization;

use super::Enabled;
use crate::proto::mailbox_name;

/// A mailbox name the client sent that cannot be one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid mailbox name")]
pub(crate) struct BadName;

/// The store's name for the mailbox a client named.
pub(crate) fn from_client(mailbox: &Mailbox<'_>, enabled: Enabled) -> Result<String, BadName> {
    normalize(&decoded(mailbox, enabled)?)
}

/// The name CREATE makes: as [`from_client`], but a trailing delimiter,
/// which declares that the mailbox will have children, is dropped
/// (RFC 9051 §6.3.4).
pub(crate) fn to_create(mailbox: &Mailbox<'_>, enabled: Enabled) -> Result<String, BadName> {
    let name = decoded(mailbox, enabled)?;
    normalize(name.strip_suffix('/').unwrap_or(&name))
}

/// As [`from_client`], for a name read as bytes outside imap-codec.
pub(crate) fn from_client_bytes(bytes: &[u8], enabled: Enabled) -> Result<String, BadName> {
    normalize(&decoded_bytes(bytes, enabled)?)
}

fn decoded(mailbox: &Mailbox<'_>, enabled: Enabled) -> Result<String, BadName> {
    match mailbox {
        Mailbox::Inbox => Ok("INBOX".into()),
        Mailbox::Other(other) => decoded_bytes(other.as_ref(), enabled),
    }
}

fn decoded_bytes(bytes: &[u8], enabled: Enabled) -> Result<String, BadName> {
    let text = std::str::from_utf8(bytes).map_err(|_| BadName)?;
    if enabled.utf8 {
        Ok(text.to_string())
    } else {
        mailbox_name::decode(text).map_err(|_| BadName)
    }
}

/// The store's spelling of a name (see [`mailbox_name::store_name`]).
fn normalize(name: &str) -> Result<String, BadName> {
    mailbox_name::store_name(name).ok_or(BadName)
}

/// A LIST reference or pattern as UTF-8 in NFC, like the names it
/// matches; `None` when it cannot be decoded.
pub(crate) fn pattern_from_client(pattern: &[u8], enabled: Enabled) -> Option<String> {
    let text = std::str::from_utf8(pattern).ok()?;
    let text = if enabled.utf8 {
        text.to_string()
    } else {
        mailbox_name::decode(text).ok()?
    };
    Some(text.nfc().collect())
}

pub(crate) fn list_mailbox_bytes<'a>(pattern: &'a ListMailbox<'_>) -> &'a [u8] {
    match pattern {
        ListMailbox::Token(token) => token.as_ref(),
        ListMailbox::String(string) => string.as_ref(),
    }
}

/// True when `name` matches a LIST pattern: `*` matches anything, `%`
/// anything but the hierarchy delimiter (RFC 9051 §6.3.9).
pub(crate) fn matches_pattern(name: &str, pattern: &str) -> bool {
    /// `rest[j]`: whether the name from byte `i` on matches the pattern from
    /// byte `j` on, computed for `i` from the end; time `name × pattern`,
    /// whatever wildcards a client sends.
    fn go(name: &[u8], pattern: &[u8]) -> bool {
        let mut next = vec![false; pattern.len() + 1];
        next[pattern.len()] = true;
        for j in (0..pattern.len()).rev() {
            next[j] = matches!(pattern[j], b'*' | b'%') && next[j + 1];
        }
        for i in (0..name.len()).rev() {
            let mut here = vec![false; pattern.len() + 1];
            for j in (0..pattern.len()).rev() {
                here[j] = match pattern[j] {
                    b'*' => here[j + 1] || next[j],
                    b'%' => here[j + 1] || (name[i] != b'/' && next[j]),
                    c => name[i] == c && next[j + 1],
                };
            }
            next = here;
        }
        next[0]
    }
    if pattern.len() > mailbox_name::MAX_NAME * 4 {
        return false;
    }
    // INBOX matches in any case.
    let name = name
        .strip_prefix("INBOX")
        .map_or(name.to_string(), |rest| format!("INBOX{rest}"));
    let pattern = match pattern.get(..5) {
        Some(head) if head.eq_ignore_ascii_case("INBOX") => format!("INBOX{}", &pattern[5..]),
        _ => pattern.to_string(),
    };
    go(name.as_bytes(), pattern.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_inbox_is_capitalized() {
        assert_eq!(normalize("inbox").unwrap(), "INBOX");
        assert_eq!(normalize("Inbox/Lavoro").unwrap(), "INBOX/Lavoro");
        assert_eq!(normalize("Inboxes").unwrap(), "Inboxes");
        for bad in ["", "/a", "a/", "a//b", "a\nb", "..", "a/../b", "./a", "a/."] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
        // Every ATOM-CHAR and the wildcards too, as Dovecot allows.
        for good in ["a*", "a%b", "!#$&-'+,-.:;<=>?@^_|}~[0123", "a..b", ".a/b."] {
            assert_eq!(normalize(good).unwrap(), good);
        }
    }

    #[test]
    fn names_are_composed() {
        let decomposed = "Attivita\u{300}/Societa\u{300}";
        assert_eq!(normalize(decomposed).unwrap(), "Attività/Società");
        let pattern = pattern_from_client(
            decomposed.as_bytes(),
            Enabled {
                utf8: true,
                ..Enabled::default()
            },
        );
        assert_eq!(pattern.as_deref(), Some("Attività/Società"));
    }

    #[test]
    fn patterns_match_like_rfc_9051() {
        assert!(matches_pattern("INBOX", "*"));
        assert!(matches_pattern("Lavoro/2026", "*"));
        assert!(!matches_pattern("Lavoro/2026", "%"));
        assert!(matches_pattern("Lavoro/2026", "Lavoro/%"));
        assert!(matches_pattern("Lavoro/2026/Q1", "Lavoro/*"));
        assert!(!matches_pattern("Lavoro/2026/Q1", "Lavoro/%"));
        assert!(matches_pattern("INBOX", "inbox"));
        assert!(matches_pattern("Sent", "S%t"));
        assert!(!matches_pattern("Sent", "s%"));
    }
}

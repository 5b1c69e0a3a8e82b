//! The decision whether an automatic reply may be sent at all (RFC 3834
//! section 2 and RFC 5230 section 4.5), apart from the per-sender period the
//! caller keeps; and the handle given to vacation commands without one.

use crate::Envelope;
use crate::message::{MessageView, addresses};

/// Why no vacation reply may be sent for a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoReply {
    #[error("the envelope sender is null")]
    NullSender,
    #[error("the sender {0} is an automated mailbox")]
    AutomatedSender(String),
    #[error("the sender {0} is one of the user's own addresses")]
    OwnAddress(String),
    #[error("the message is Auto-Submitted: {0}")]
    AutoSubmitted(String),
    #[error("the message comes from a mailing list ({0} header)")]
    MailingList(String),
    #[error("the message has Precedence: {0}")]
    Bulk(String),
    #[error("none of the user's addresses is in To, Cc, Bcc or Resent-*")]
    NotAddressedToUser,
}

/// Header fields that name the message's recipients (RFC 5230 section 4.5).
const RECIPIENT_FIELDS: [&str; 6] = ["to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"];

/// Whether a vacation reply to `message` is allowed: refused for null and
/// automated senders, the user's own addresses, auto-submitted and list
/// mail, and mail where none of `user_addresses` (the recipient's addresses
/// plus the script's `:addresses`) appears as a recipient.
pub fn vacation_allowed(
    message: &[u8],
    envelope: &Envelope,
    user_addresses: &[String],
) -> Result<(), NoReply> {
    let sender = envelope
        .from
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    if sender.is_empty() {
        return Err(NoReply::NullSender);
    }
    let local = sender
        .rsplit_once('@')
        .map_or(sender, |(local, _)| local)
        .to_ascii_lowercase();
    if local == "mailer-daemon"
        || local == "listserv"
        || local == "majordomo"
        || local.starts_with("owner-")
        || local.ends_with("-request")
    {
        return Err(NoReply::AutomatedSender(sender.to_string()));
    }
    let is_user = |a: &str| user_addresses.iter().any(|u| u.eq_ignore_ascii_case(a));
    if is_user(sender) {
        return Err(NoReply::OwnAddress(sender.to_string()));
    }
    let view = MessageView::new(message);
    if let Some(value) = view
        .texts("auto-submitted")
        .into_iter()
        .find(|v| !v.eq_ignore_ascii_case("no"))
    {
        return Err(NoReply::AutoSubmitted(value));
    }
    if let Some(field) = view.fields_starting("list-").next() {
        return Err(NoReply::MailingList(field.name.to_string()));
    }
    if let Some(value) = view.texts("precedence").into_iter().find(|v| {
        ["bulk", "list", "junk"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p))
    }) {
        return Err(NoReply::Bulk(value));
    }
    let addressed = RECIPIENT_FIELDS
        .iter()
        .flat_map(|name| view.fields(name))
        .flat_map(|field| addresses(field.raw))
        .any(|a| is_user(&a));
    if !addressed {
        return Err(NoReply::NotAddressedToUser);
    }
    Ok(())
}

/// A stable handle for a vacation command without `:handle` (RFC 5230
/// section 4.2 asks that it depend on the arguments): FNV-1a over them, so
/// it is the same on every node and every release.
pub(crate) fn default_handle(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(from: &str) -> Envelope {
        Envelope {
            from: from.to_string(),
            to: "me@comune.example".to_string(),
        }
    }

    fn check(headers: &str, from: &str) -> Result<(), NoReply> {
        let message = format!("{headers}\r\n\r\nbody\r\n");
        vacation_allowed(
            message.as_bytes(),
            &envelope(from),
            &["me@comune.example".to_string()],
        )
    }

    #[test]
    fn ordinary_mail_gets_a_reply() {
        assert_eq!(
            check(
                "To: Me <me@comune.example>\r\nAuto-Submitted: no",
                "you@example.org"
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "To: x@example.org\r\nCc: ME@Comune.Example",
                "you@example.org"
            ),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let to = "To: me@comune.example";
        assert_eq!(check(to, ""), Err(NoReply::NullSender));
        assert_eq!(check(to, "<>"), Err(NoReply::NullSender));
        assert!(matches!(
            check(to, "MAILER-DAEMON@example.org"),
            Err(NoReply::AutomatedSender(_))
        ));
        assert!(matches!(
            check(to, "owner-list@example.org"),
            Err(NoReply::AutomatedSender(_))
        ));
        assert!(matches!(
            check(to, "list-request@example.org"),
            Err(NoReply::AutomatedSender(_))
        ));
        assert!(matches!(
            check(to, "me@comune.example"),
            Err(NoReply::OwnAddress(_))
        ));
        assert!(matches!(
            check(
                &format!("{to}\r\nAuto-Submitted: auto-replied"),
                "a@example.org"
            ),
            Err(NoReply::AutoSubmitted(_))
        ));
        assert!(matches!(
            check(
                &format!("{to}\r\nList-Id: <x.example.org>"),
                "a@example.org"
            ),
            Err(NoReply::MailingList(_))
        ));
        assert!(matches!(
            check(
                &format!("{to}\r\nList-Unsubscribe: <mailto:u@example.org>"),
                "a@example.org"
            ),
            Err(NoReply::MailingList(_))
        ));
        assert!(matches!(
            check(&format!("{to}\r\nPrecedence: Bulk"), "a@example.org"),
            Err(NoReply::Bulk(_))
        ));
        assert_eq!(
            check("To: other@example.org", "a@example.org"),
            Err(NoReply::NotAddressedToUser)
        );
        assert_eq!(
            check(
                "To: other@example.org\r\nResent-To: me@comune.example",
                "a@example.org"
            ),
            Ok(())
        );
    }

    #[test]
    fn handles_are_stable() {
        assert_eq!(default_handle(&["a", "b"]), default_handle(&["a", "b"]));
        assert_ne!(default_handle(&["ab", ""]), default_handle(&["a", "b"]));
    }
}

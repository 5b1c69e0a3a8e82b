//! The MIME description of a stored message: its IMAP envelope and its body
//! structure, computed once at delivery and kept as JSON next to the message,
//! so that FETCH never parses a message twice.
//!
//! [`parse`] runs mail-parser over the raw message and keeps what IMAP needs:
//! the ENVELOPE fields (RFC 9051 §7.5.2, RFC 3501 §7.4.2), the body structure
//! with the fields of BODY and BODYSTRUCTURE, and for every part the byte
//! offsets of its header, its body and its end. [`section`] and [`binary`]
//! then cut `BODY[section]` (RFC 3501 §6.4.5) and `BINARY[section]`
//! (RFC 3516) out of the raw bytes with those offsets alone. Turning the
//! model into IMAP syntax is the IMAP crate's job; this module holds no wire
//! format.
//!
//! What is kept, and how:
//!
//! - Date, Subject, In-Reply-To, Message-ID, Content-ID, Content-Description,
//!   Content-Location, Content-MD5 and Content-Transfer-Encoding are the
//!   header values as sent, unfolded and trimmed (encoded-words left alone,
//!   as IMAP wants them). Bytes that are not UTF-8 are read as ISO-8859-1,
//!   the most common origin of raw 8-bit headers, so nothing is lost.
//! - Display names, group names and parameter values are stored decoded to
//!   UTF-8 (RFC 2047 encoded-words and RFC 2231 parameters undone): the
//!   renderer sends them as UTF-8 to UTF8=ACCEPT clients and re-encodes them
//!   ([`encoded_word`], [`rfc2231_value`]) for the others.
//! - Address fields are read from their raw value by [`address`], which
//!   follows RFC 5322 and, where it is silent, Dovecot.
//! - Sender and Reply-To are filled from From when absent or empty at parse
//!   time (RFC 3501 §7.4.2), so the envelope here is exactly what IMAP sends.
//! - Media types, subtypes, parameter names and disposition types are
//!   lowercase. A part without Content-Type is `text/plain; charset=us-ascii`
//!   (RFC 2045 §5.2), `message/rfc822` inside `multipart/digest`
//!   (RFC 2046 §5.1.5). A multipart whose boundary is missing or never
//!   appears, or one nested too deep, is described as `text/plain;
//!   charset=us-ascii`, the RFC 2045 §5.2 default for a Content-Type that
//!   cannot be used. A `message/rfc822` with a base64 or quoted-printable
//!   encoding (forbidden by RFC 2046 §5.2.1) or nested too deep is described
//!   as `application/octet-stream`, which keeps its encoding meaningful.
//!   `message/global` is a leaf part, as IMAP4rev1 knows no envelope for it.
//! - Nesting is capped at [`MAX_DEPTH`] levels; deeper parts are leaves.
//! - What SORT and THREAD compare is kept too, as [`SortKeys`]: the base
//!   subject, first addresses, display names and message IDs.

pub mod address;
mod parse;
mod section;
mod sort_keys;
mod words;

use serde::{Deserialize, Serialize};

pub use parse::parse;
pub use section::{SectionText, UnknownEncoding, binary, section};
pub use sort_keys::{SortKeys, base_subject, casemap, message_ids};
pub use words::{encoded_word, rfc2231_value};

/// How many multipart or message/rfc822 levels are described; deeper ones
/// become leaf parts. IMAP clients parse BODYSTRUCTURE recursively, and
/// imap-codec, for one, stops at eight levels.
pub const MAX_DEPTH: usize = 32;

/// What delivery learns about a message, for the IMAP server to answer
/// ENVELOPE, BODY, BODYSTRUCTURE, BODY[section] and SEARCH without parsing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    pub envelope: Envelope,
    pub structure: Part,
    /// The Subject, RFC 2047-decoded to UTF-8, for SEARCH SUBJECT ("" if none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// The Date header as Unix seconds (for SENTBEFORE/SENTON/SENTSINCE),
    /// None if absent/unparsable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    /// The Date header's time zone, in seconds east of UTC.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sent_zone: i64,
    /// What SORT and THREAD compare.
    #[serde(default)]
    pub keys: SortKeys,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Parsed {
    /// The stored form.
    pub fn to_json(&self) -> String {
        // Every key is a string and every value plain data: serde_json
        // cannot fail on this type.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form back; None when it is not one.
    pub fn from_json(s: &str) -> Option<Parsed> {
        serde_json::from_str(s).ok()
    }
}

/// The IMAP ENVELOPE of a message (RFC 9051 §7.5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sender: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// One entry of an address list: a mailbox, or a named group of them
/// (`undisclosed-recipients:;` is a group with no members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Address {
    Mailbox(Mailbox),
    Group(Group),
}

/// An address, as [`address::parse_list`] reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// The display name, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The obsolete source route (IMAP's adl), as `@a,@b`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The local part, unquoted; [`address::MISSING_MAILBOX`] when the
    /// address had none (as Dovecot sends it). Envelopes stored before
    /// that have an empty string instead.
    #[serde(default)]
    pub mailbox: String,
    /// The domain; [`address::MISSING_DOMAIN`] when the address had none,
    /// [`address::SYNTAX_ERROR`] when its `<…>` was not closed (never NIL,
    /// which would mark a group in IMAP). Envelopes stored before that have
    /// an empty string instead.
    #[serde(default)]
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The group's display name, decoded.
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Mailbox>,
}

/// A `name=value` parameter of Content-Type or Content-Disposition; the name
/// lowercase, the value decoded.
pub type Param = (String, String);

/// One node of the body structure: a leaf part, a message/rfc822 part with
/// its embedded message, or a multipart with its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Media type, lowercase (`text`, `image`, `multipart`…).
    #[serde(rename = "type")]
    pub media_type: String,
    /// Media subtype, lowercase.
    pub subtype: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    /// Content-ID, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Content-Description, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Content-Transfer-Encoding as sent; None means 7BIT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Content-MD5, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    /// Content-Language tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<String>,
    /// Content-Location, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Where the part's MIME header (or, for a message, its header) starts
    /// in the raw message.
    pub header_start: u32,
    /// Where its body starts, after the blank line ending the header.
    pub body_start: u32,
    /// Where its body ends: for a part of a multipart, before the line break
    /// that belongs to the next boundary (RFC 2046 §5.1.1).
    pub body_end: u32,
    pub kind: Kind,
}

/// What a part contains, with what each kind adds to BODYSTRUCTURE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A non-text leaf part.
    Basic,
    /// A `text/*` part and its line count.
    Text { lines: u32 },
    /// A `message/rfc822` part: the embedded message's envelope and
    /// structure, and the line count of the whole embedded message.
    Message {
        envelope: Box<Envelope>,
        root: Box<Part>,
        lines: u32,
    },
    /// A multipart's children, in order: never empty.
    Multipart(Vec<Part>),
}

/// Content-Disposition: its type, lowercase, and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
}

impl Part {
    /// The size of the body in octets, as stored (still transfer-encoded).
    pub fn size(&self) -> u32 {
        self.body_end.saturating_sub(self.body_start)
    }

    /// The children that part numbers after this part's own number index
    /// (RFC 3501 §6.4.5): a multipart's parts; for a message/rfc822 part,
    /// those of its embedded message (whose only part is its body when it
    /// is not a multipart); nothing for other parts.
    pub fn numbered_children(&self) -> &[Part] {
        match &self.kind {
            Kind::Multipart(parts) => parts,
            Kind::Message { root, .. } => root.as_message_parts(),
            Kind::Basic | Kind::Text { .. } => &[],
        }
    }

    /// The numbered parts of a message whose top-level part is `self`:
    /// part 1 of a non-multipart message is its body.
    pub fn as_message_parts(&self) -> &[Part] {
        match &self.kind {
            Kind::Multipart(parts) => parts,
            _ => std::slice::from_ref(self),
        }
    }

    /// The part a section's part numbers name, starting from the top-level
    /// part of the message; None when there is no such part. An empty path
    /// names the message itself.
    pub fn find(&self, path: &[u32]) -> Option<&Part> {
        let mut part = self;
        let mut children = self.as_message_parts();
        for &number in path {
            let index = usize::try_from(number).ok()?.checked_sub(1)?;
            part = children.get(index)?;
            children = part.numbered_children();
        }
        Some(part)
    }
}
#[cfg(test)]
mod tests;

//! What IMAP SORT and THREAD compare, computed once per message at
//! delivery beside its envelope: the base subject (RFC 5256 §2.1), the
//! first From, To and Cc addr-mailbox (RFC 5256 §3), the display names of
//! RFC 5957, and the Message-ID and parent references that THREAD
//! REFERENCES links (RFC 5256 §4 step 1).
//!
//! Strings that are compared are kept in their comparison form, the
//! i;unicode-casemap of RFC 5051 (titlecase, then decomposed), so that
//! sorting compares them as they are, byte for byte, as Dovecot does.
//! Titlecase is approximated by Rust's uppercase where it maps one
//! character to one, and characters it would expand (`ß`) are kept: the
//! simple titlecase mapping RFC 5051 uses never expands either.
//!
//! Message IDs are read as Dovecot reads them: from each `<` to the next
//! `>`, white space removed, valid when it holds an `@`; they are compared
//! case-sensitively (RFC 5256 §4 step 1.A).

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::{Address, Envelope};

/// A message's sort and thread keys; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKeys {
    /// The base subject, casemapped ("" without a subject).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_subject: String,
    /// Whether extracting the base subject removed a reply or forward
    /// marker (`Re:`, `Fwd:`, `(fwd)`, `[fwd: …]`), which THREAD
    /// REFERENCES asks in step 5.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reply_or_forward: bool,
    /// The first address's local part in From, To and Cc, casemapped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cc: String,
    /// The first From and To address's display name, or its address when
    /// it has none (RFC 5957 §3), casemapped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_to: String,
    /// The first valid Message ID of Message-ID, without `<>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The message's references, oldest first: every valid ID of
    /// References, or when it has none the first of In-Reply-To.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl SortKeys {
    /// The keys of a message with this envelope, decoded subject and
    /// References header value.
    pub fn new(envelope: &Envelope, subject: &str, references: Option<&str>) -> SortKeys {
        let (base_subject, reply_or_forward) = base_subject(subject);
        let mut references = references.map(message_ids).unwrap_or_default();
        if references.is_empty() {
            let in_reply_to = envelope.in_reply_to.as_deref().map(message_ids);
            references.extend(in_reply_to.unwrap_or_default().into_iter().take(1));
        }
        SortKeys {
            base_subject,
            reply_or_forward,
            from: casemap(first_mailbox(&envelope.from)),
            to: casemap(first_mailbox(&envelope.to)),
            cc: casemap(first_mailbox(&envelope.cc)),
            display_from: casemap(&display_name(&envelope.from)),
            display_to: casemap(&display_name(&envelope.to)),
            message_id: envelope
                .message_id
                .as_deref()
                .and_then(|id| message_ids(id).into_iter().next()),
            references,
        }
    }
}

/// The local part of a list's first address; a group's name when the list
/// starts with one, as Dovecot reads the group's start.
fn first_mailbox(list: &[Address]) -> &str {
    match list.first() {
        Some(Address::Mailbox(mailbox)) => &mailbox.mailbox,
        Some(Address::Group(group)) => &group.name,
        None => "",
    }
}

/// The first address's display name, else `mailbox@host` (RFC 5957 §3).
fn display_name(list: &[Address]) -> String {
    match list.first() {
        Some(Address::Mailbox(mailbox)) => match mailbox.name.as_deref() {
            Some(name) if !name.is_empty() => name.to_string(),
            _ if mailbox.host.is_empty() => mailbox.mailbox.clone(),
            _ => format!("{}@{}", mailbox.mailbox, mailbox.host),
        },
        Some(Address::Group(group)) => group.name.clone(),
        None => String::new(),
    }
}

/// The i;unicode-casemap form of `text` (RFC 5051 §2).
pub fn casemap(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .nfkd()
        .collect()
}

/// The base subject of a decoded subject (RFC 5256 §2.1), casemapped, and
/// whether a reply or forward marker was removed to reach it.
pub fn base_subject(subject: &str) -> (String, bool) {
    // Step 1: white space runs (tabs, folds) become one space.
    let mut packed = String::with_capacity(subject.len());
    for word in subject
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
    {
        if !packed.is_empty() {
            packed.push(' ');
        }
        packed.push_str(word);
    }
    let text = casemap(&packed);
    let mut s = text.as_str();
    let mut marked = false;
    loop {
        // Step 2: trailers.
        loop {
            if let Some(rest) = s.strip_suffix("(FWD)") {
                s = rest;
                marked = true;
            } else if let Some(rest) = s.strip_suffix(' ') {
                s = rest;
            } else {
                break;
            }
        }
        // Steps 3 to 5: leaders, then a leading blob if something is left.
        loop {
            let before = s.len();
            s = strip_leaders(s, &mut marked);
            if let Some(rest) = strip_blob(s)
                && !rest.is_empty()
            {
                s = rest;
            }
            if s.len() == before {
                break;
            }
        }
        // Step 6: `[fwd: subject]`.
        match s.strip_prefix("[FWD:").and_then(|r| r.strip_suffix(']')) {
            Some(inner) => {
                s = inner;
                marked = true;
            }
            None => break,
        }
    }
    (s.to_string(), marked)
}

/// Removes every `subj-leader`: a space, or blobs followed by `re`, `fw`
/// or `fwd`, spaces, an optional blob and `:`.
fn strip_leaders<'a>(mut s: &'a str, marked: &mut bool) -> &'a str {
    loop {
        if let Some(rest) = s.strip_prefix(' ') {
            s = rest;
            continue;
        }
        let mut p = s;
        while let Some(rest) = strip_blob(p) {
            p = rest;
        }
        let Some(rest) = ["RE", "FWD", "FW"]
            .iter()
            .find_map(|word| refwd_rest(p.strip_prefix(word)?))
        else {
            return s;
        };
        s = rest;
        *marked = true;
    }
}

/// After `re`/`fw`/`fwd`: `*WSP [subj-blob] ":"`, and what follows.
fn refwd_rest(s: &str) -> Option<&str> {
    let s = s.trim_start_matches(' ');
    let s = strip_blob(s).unwrap_or(s);
    s.strip_prefix(':')
}

/// A leading `subj-blob`: `[` text without brackets `]`, then spaces.
fn strip_blob(s: &str) -> Option<&str> {
    let inside = s.strip_prefix('[')?;
    let close = inside.find([']', '['])?;
    inside[close..]
        .strip_prefix(']')
        .map(|rest| rest.trim_start_matches(' '))
}

/// The valid message IDs of a header value, in order, without `<>`.
pub fn message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('>') else { break };
        let id: String = rest[..close]
            .chars()
            .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
            .collect();
        // `<a <b@c>`: the ID starts at the last `<`.
        if id.contains('<') {
            continue;
        }
        rest = &rest[close + 1..];
        if id.contains('@') {
            ids.push(id);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(subject: &str) -> (String, bool) {
        base_subject(subject)
    }

    #[test]
    fn base_subject_removes_markers_and_blobs() {
        // RFC 5256 §2.1, step by step.
        assert_eq!(base("Hello"), ("HELLO".into(), false));
        assert_eq!(base("Re: Hello"), ("HELLO".into(), true));
        assert_eq!(base("RE:   re: Hello  "), ("HELLO".into(), true));
        assert_eq!(base("Fwd: Re: Hello (fwd)"), ("HELLO".into(), true));
        assert_eq!(base("Hello (fwd) (FWD)"), ("HELLO".into(), true));
        assert_eq!(base("fw: Hello"), ("HELLO".into(), true));
        assert_eq!(base("Re[2]: Hello"), ("HELLO".into(), true));
        assert_eq!(base("[list] Re: Hello"), ("HELLO".into(), true));
        assert_eq!(base("[list] [tag] Hello"), ("HELLO".into(), false));
        // A blob that is all there is stays.
        assert_eq!(base("[list]"), ("[LIST]".into(), false));
        assert_eq!(base("Re: [list]"), ("[LIST]".into(), true));
        assert_eq!(base("[Fwd: Re: Hello]"), ("HELLO".into(), true));
        assert_eq!(base("[fwd: [fwd: Hello]]"), ("HELLO".into(), true));
        assert_eq!(base("Re: [Fwd: Hello] (fwd)"), ("HELLO".into(), true));
        // Not markers.
        assert_eq!(base("Rea: Hello"), ("REA: HELLO".into(), false));
        assert_eq!(base("Report"), ("REPORT".into(), false));
        assert_eq!(base("Re Hello"), ("RE HELLO".into(), false));
        assert_eq!(base(""), (String::new(), false));
        assert_eq!(base("Re:"), (String::new(), true));
        assert_eq!(base("a\t\r\n  b"), ("A B".into(), false));
        assert_eq!(base("Ré: città"), ("RÉ: CITTÀ".nfkd().collect(), false));
    }

    #[test]
    fn casemap_folds_case_and_decomposes() {
        assert_eq!(casemap("Città"), "CITTA\u{300}");
        assert_eq!(casemap("straße"), "STRAßE");
        // A ligature has no one-character uppercase: it is only decomposed.
        assert_eq!(casemap("ﬁ"), "fi");
    }

    #[test]
    fn message_ids_as_dovecot_reads_them() {
        assert_eq!(message_ids("<a@b>"), ["a@b"]);
        assert_eq!(
            message_ids(" <a@b> <c@d>\r\n\t<e@f>"),
            ["a@b", "c@d", "e@f"]
        );
        assert_eq!(message_ids("<a @ b>"), ["a@b"]);
        assert_eq!(message_ids("<noat> <x@y>"), ["x@y"]);
        assert_eq!(message_ids("<a <b@c>"), ["b@c"]);
        assert_eq!(message_ids("(comment) <A@B> text"), ["A@B"]);
        assert!(message_ids("a@b").is_empty());
        assert!(message_ids("<a@b").is_empty());
    }

    #[test]
    fn keys_of_an_envelope() {
        let raw = b"From: =?utf-8?q?Anna_R=C3=B2ssi?= <Anna@Example.org>\r\n\
            To: bob@example.org, carl@example.org\r\n\
            Cc: undisclosed-recipients:;\r\n\
            Subject: Re: [Fwd: Budget]\r\n\
            Message-ID: <1@x> <2@x>\r\n\
            In-Reply-To: <0@x>\r\n\r\nbody\r\n";
        let keys = crate::mime::parse(raw).keys;
        assert_eq!(keys.base_subject, "BUDGET");
        assert!(keys.reply_or_forward);
        assert_eq!(keys.from, "ANNA");
        assert_eq!(keys.to, "BOB");
        assert_eq!(keys.cc, "UNDISCLOSED-RECIPIENTS");
        assert_eq!(keys.display_from, casemap("Anna Ròssi"));
        assert_eq!(keys.display_to, "BOB@EXAMPLE.ORG");
        assert_eq!(keys.message_id.as_deref(), Some("1@x"));
        assert_eq!(keys.references, ["0@x"]);
        let raw = b"References: <r1@x>\r\n  <r2@x>\r\nIn-Reply-To: <r3@x>\r\n\r\n";
        let keys = crate::mime::parse(raw).keys;
        assert_eq!(keys.references, ["r1@x", "r2@x"]);
        assert_eq!(keys.message_id, None);
        assert_eq!(keys.from, "");
    }
}

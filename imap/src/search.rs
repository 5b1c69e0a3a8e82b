//! SEARCH criteria evaluated against one message at a time (RFC 9051
//! §6.4.4, RFC 3501 §6.4.4, and `MODSEQ` from CONDSTORE, RFC 7162 §3.1.5).
//! Pure: no store, no I/O; the session loads the candidates and, when
//! [`Query::needs_content`] says so, their raw bytes.
//!
//! [`Query::new`] compiles the decoded keys once: needles are lowercased,
//! dates become day numbers, and the keys of each AND are reordered so that
//! those answered from the message's metadata run before those that need
//! its content. [`Query::matches`] then allocates nothing for a candidate
//! unless it reaches a content key, and parses the raw message at most once
//! per candidate. [`Query::prefilter`] lets the session skip loading the
//! bodies of messages that the metadata alone rules in or out.
//!
//! Choices within what the RFCs allow:
//! - Dates compare whole days. `SENT*` take the day of the `Date:` header
//!   as the sender wrote it, in its own time zone (RFC 3501 §6.4.4); a
//!   message without a valid `Date:` counts as sent on 1 January 1970, as
//!   Dovecot has it. `ON`/`BEFORE`/`SINCE` take INTERNALDATE's day in UTC,
//!   the zone the server shows it in.
//! - Strings match as case-insensitive substrings, after Unicode lowercasing
//!   of both sides; search strings are read as UTF-8 (US-ASCII being a
//!   subset), see [`charset_supported`].
//! - Header keys (`FROM`, `TO`, `CC`, `BCC`, `HEADER`) look at the top-level
//!   header fields with RFC 2047 encoded words decoded. `BODY` looks at the
//!   decoded text of the `text/*` parts (transfer encoding undone, charset
//!   converted) and at the headers and text of attached messages; `TEXT` at
//!   the top-level header fields (names and values) and the body.
//! - `MODSEQ` compares against the message's mod-sequence whatever the
//!   entry name: flags do not have their own mod-sequences here, which
//!   RFC 7162 §3.1.5 allows.

use std::cell::OnceCell;

use imap_codec::imap_types::datetime::NaiveDate;
use imap_codec::imap_types::search::SearchKey;
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};
use mail_parser::{Header, HeaderValue, Message, MessageParser, PartType};
use postino_common::store::{Flags, Keywords};

const SECONDS_PER_DAY: i64 = 86_400;

/// One message as SEARCH sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub seq: u32,
    pub uid: u32,
    pub flags: Flags,
    pub keywords: &'a Keywords,
    /// INTERNALDATE, in unix seconds.
    pub internal_date: i64,
    pub size: i64,
    pub modseq: i64,
    /// The `Date:` header's date and time as written, counted in seconds
    /// as if its zone were UTC; 0 when absent or invalid.
    pub sent_local: i64,
    /// Whether the message is `\Recent` in this session.
    pub recent: bool,
    /// The decoded `Subject:` header.
    pub subject: &'a str,
    /// The whole raw message; needed only when the query needs content.
    pub raw: Option<&'a [u8]>,
}

/// What `*` stands for in the sequence sets of a search.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The number of messages in the mailbox (`*` in a sequence set).
    pub max_seq: u32,
    /// The largest UID in the mailbox (`*` in a `UID` set).
    pub max_uid: u32,
}

/// Search keys compiled once, to be matched against many candidates.
#[derive(Debug, Clone)]
pub struct Query {
    root: Node,
    needs_content: bool,
    parser: MessageParser,
}

impl Query {
    /// Compiles `keys`, which are ANDed as in a SEARCH command.
    pub fn new(keys: &[SearchKey<'_>]) -> Query {
        let root = and(keys.iter().map(compile).collect());
        let needs_content = root.needs_content();
        // MIME headers must be parsed for mail-parser to find and decode the
        // parts; every other field is read as unstructured text so its
        // encoded words are decoded, addresses included.
        let parser = MessageParser::new()
            .with_mime_headers()
            .default_header_text();
        Query {
            root,
            needs_content,
            parser,
        }
    }

    /// True when some key looks at the message's content, so candidates
    /// must come with `raw`.
    pub fn needs_content(&self) -> bool {
        self.needs_content
    }

    /// Whether `m` matches. A content key never matches a candidate without
    /// `raw`, nor one whose bytes do not parse as a message.
    pub fn matches(&self, m: &Candidate<'_>, ctx: &Context) -> bool {
        let content = Content {
            raw: m.raw,
            parser: &self.parser,
            message: OnceCell::new(),
        };
        self.root.eval(m, ctx, Some(&content)).unwrap_or(false)
    }

    /// Whether `m` matches, decided without its content (`m.raw` is not
    /// read); `None` when the answer depends on the content. Lets the
    /// session load bodies only for the messages that need them.
    pub fn prefilter(&self, m: &Candidate<'_>, ctx: &Context) -> Option<bool> {
        self.root.eval(m, ctx, None)
    }
}

/// True when some key needs the raw message (BODY, TEXT, HEADER, FROM, TO,
/// CC, BCC; SUBJECT uses the cached subject).
pub fn needs_content(keys: &[SearchKey<'_>]) -> bool {
    keys.iter().any(key_needs_content)
}

/// Whether `m` matches `keys`. Compiles the keys on every call: for more
/// than a handful of candidates, compile a [`Query`] once instead.
pub fn matches(keys: &[SearchKey<'_>], m: &Candidate<'_>, ctx: &Context) -> bool {
    Query::new(keys).matches(m, ctx)
}

/// True when `n` is in the sequence set, `*` meaning `largest`. A range
/// covers the numbers between its ends whichever comes first (`5:2`).
pub fn in_sequence_set(set: &SequenceSet, n: u32, largest: u32) -> bool {
    let value = |end: &SeqOrUid| match end {
        SeqOrUid::Value(v) => v.get(),
        SeqOrUid::Asterisk => largest,
    };
    set.0.as_ref().iter().any(|sequence| match sequence {
        Sequence::Single(end) => value(end) == n,
        Sequence::Range(a, b) => {
            let (a, b) = (value(a), value(b));
            a.min(b) <= n && n <= a.max(b)
        }
    })
}

/// The SEARCH `CHARSET`s whose strings this module reads correctly.
pub const CHARSETS: &[&str] = &["UTF-8", "US-ASCII"];

/// Whether a SEARCH `CHARSET` is one of [`CHARSETS`]; others deserve
/// `NO [BADCHARSET]`.
pub fn charset_supported(charset: &str) -> bool {
    CHARSETS.iter().any(|c| c.eq_ignore_ascii_case(charset))
}

#[derive(Debug, Clone)]
enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Seq(SequenceSet),
    Uid(SequenceSet),
    Recent,
    Flag {
        flag: Flags,
        set: bool,
    },
    Keyword {
        name: String,
        set: bool,
    },
    Date {
        field: DateField,
        cmp: DateCmp,
        day: i64,
    },
    Larger(u32),
    Smaller(u32),
    ModSeq(u64),
    Subject(Needle),
    Header {
        name: String,
        needle: Needle,
    },
    Body(Needle),
    Text(Needle),
}

#[derive(Debug, Clone, Copy)]
enum DateField {
    Internal,
    Sent,
}

#[derive(Debug, Clone, Copy)]
enum DateCmp {
    Before,
    On,
    Since,
}

fn compile(key: &SearchKey<'_>) -> Node {
    let flag = |flag, set| Node::Flag { flag, set };
    let date = |field, cmp, d: &NaiveDate| Node::Date {
        field,
        cmp,
        day: i64::from(d.as_ref().to_epoch_days()),
    };
    let header = |name: &str, value: &[u8]| Node::Header {
        name: name.to_owned(),
        needle: Needle::new(value),
    };
    match key {
        SearchKey::And(keys) => and(keys.as_ref().iter().map(compile).collect()),
        SearchKey::SequenceSet(set) => Node::Seq(set.clone()),
        SearchKey::All => Node::Const(true),
        SearchKey::Recent => Node::Recent,
        SearchKey::Old => Node::Not(Box::new(Node::Recent)),
        SearchKey::New => Node::And(vec![Node::Recent, flag(Flags::SEEN, false)]),
        SearchKey::Answered => flag(Flags::ANSWERED, true),
        SearchKey::Deleted => flag(Flags::DELETED, true),
        SearchKey::Draft => flag(Flags::DRAFT, true),
        SearchKey::Flagged => flag(Flags::FLAGGED, true),
        SearchKey::Seen => flag(Flags::SEEN, true),
        SearchKey::Unanswered => flag(Flags::ANSWERED, false),
        SearchKey::Undeleted => flag(Flags::DELETED, false),
        SearchKey::Undraft => flag(Flags::DRAFT, false),
        SearchKey::Unflagged => flag(Flags::FLAGGED, false),
        SearchKey::Unseen => flag(Flags::SEEN, false),
        SearchKey::Keyword(name) => Node::Keyword {
            name: name.inner().to_owned(),
            set: true,
        },
        SearchKey::Unkeyword(name) => Node::Keyword {
            name: name.inner().to_owned(),
            set: false,
        },
        SearchKey::Before(d) => date(DateField::Internal, DateCmp::Before, d),
        SearchKey::On(d) => date(DateField::Internal, DateCmp::On, d),
        SearchKey::Since(d) => date(DateField::Internal, DateCmp::Since, d),
        SearchKey::SentBefore(d) => date(DateField::Sent, DateCmp::Before, d),
        SearchKey::SentOn(d) => date(DateField::Sent, DateCmp::On, d),
        SearchKey::SentSince(d) => date(DateField::Sent, DateCmp::Since, d),
        SearchKey::Larger(n) => Node::Larger(*n),
        SearchKey::Smaller(n) => Node::Smaller(*n),
        SearchKey::Uid(set) => Node::Uid(set.clone()),
        SearchKey::ModSequence { modseq, .. } => Node::ModSeq(*modseq),
        SearchKey::Subject(s) => Node::Subject(Needle::new(s.as_ref())),
        SearchKey::From(s) => header("From", s.as_ref()),
        SearchKey::To(s) => header("To", s.as_ref()),
        SearchKey::Cc(s) => header("Cc", s.as_ref()),
        SearchKey::Bcc(s) => header("Bcc", s.as_ref()),
        SearchKey::Header(name, s) => header(&String::from_utf8_lossy(name.as_ref()), s.as_ref()),
        SearchKey::Body(s) => Node::Body(Needle::new(s.as_ref())),
        SearchKey::Text(s) => Node::Text(Needle::new(s.as_ref())),
        SearchKey::Not(key) => match compile(key) {
            Node::Const(value) => Node::Const(!value),
            Node::Not(inner) => *inner,
            node => Node::Not(Box::new(node)),
        },
        SearchKey::Or(a, b) => {
            let (a, b) = (compile(a), compile(b));
            // OR is commutative: try the side that needs no content first.
            if a.needs_content() && !b.needs_content() {
                Node::Or(Box::new(b), Box::new(a))
            } else {
                Node::Or(Box::new(a), Box::new(b))
            }
        }
    }
}

/// ANDs `nodes`, flattening nested ANDs and moving the keys that need the
/// content last, so a candidate already ruled out is never parsed.
fn and(nodes: Vec<Node>) -> Node {
    let mut flat = Vec::with_capacity(nodes.len());
    for node in nodes {
        match node {
            Node::And(inner) => flat.extend(inner),
            Node::Const(true) => {}
            node => flat.push(node),
        }
    }
    flat.sort_by_key(Node::needs_content);
    match flat.len() {
        0 => Node::Const(true),
        1 => flat.pop().unwrap_or(Node::Const(true)),
        _ => Node::And(flat),
    }
}

fn key_needs_content(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::Body(_)
        | SearchKey::Text(_)
        | SearchKey::Header(..)
        | SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Cc(_)
        | SearchKey::Bcc(_) => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(key_needs_content),
        SearchKey::Not(key) => key_needs_content(key),
        SearchKey::Or(a, b) => key_needs_content(a) || key_needs_content(b),
        _ => false,
    }
}

impl Node {
    fn needs_content(&self) -> bool {
        match self {
            Node::Header { .. } | Node::Body(_) | Node::Text(_) => true,
            Node::And(nodes) => nodes.iter().any(Node::needs_content),
            Node::Or(a, b) => a.needs_content() || b.needs_content(),
            Node::Not(node) => node.needs_content(),
            _ => false,
        }
    }

    /// Three-valued evaluation: `None` when the answer needs the content
    /// and `content` is `None`.
    fn eval(
        &self,
        m: &Candidate<'_>,
        ctx: &Context,
        content: Option<&Content<'_>>,
    ) -> Option<bool> {
        let found = |check: &dyn Fn(&Content<'_>) -> bool| content.map(check);
        match self {
            Node::Const(value) => Some(*value),
            Node::And(nodes) => {
                let mut known = true;
                for node in nodes {
                    match node.eval(m, ctx, content) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => known = false,
                    }
                }
                known.then_some(true)
            }
            Node::Or(a, b) => match a.eval(m, ctx, content) {
                Some(true) => Some(true),
                Some(false) => b.eval(m, ctx, content),
                None => match b.eval(m, ctx, content) {
                    Some(true) => Some(true),
                    _ => None,
                },
            },
            Node::Not(node) => node.eval(m, ctx, content).map(|value| !value),
            Node::Seq(set) => Some(in_sequence_set(set, m.seq, ctx.max_seq)),
            Node::Uid(set) => Some(in_sequence_set(set, m.uid, ctx.max_uid)),
            Node::Recent => Some(m.recent),
            Node::Flag { flag, set } => Some(m.flags.contains(*flag) == *set),
            Node::Keyword { name, set } => Some(m.keywords.contains(name) == *set),
            Node::Date { field, cmp, day } => {
                let at = match field {
                    DateField::Internal => m.internal_date,
                    DateField::Sent => m.sent_local,
                };
                let at = at.div_euclid(SECONDS_PER_DAY);
                Some(match cmp {
                    DateCmp::Before => at < *day,
                    DateCmp::On => at == *day,
                    DateCmp::Since => at >= *day,
                })
            }
            Node::Larger(n) => Some(m.size > i64::from(*n)),
            Node::Smaller(n) => Some(m.size < i64::from(*n)),
            Node::ModSeq(modseq) => Some(u64::try_from(m.modseq).is_ok_and(|v| v >= *modseq)),
            Node::Subject(needle) => Some(needle.found_in(m.subject)),
            Node::Header { name, needle } => found(&|c| c.header(name, needle)),
            Node::Body(needle) => found(&|c| c.body(needle)),
            Node::Text(needle) => found(&|c| c.text(needle)),
        }
    }
}

/// A search string, lowercased once.
#[derive(Debug, Clone)]
struct Needle {
    folded: String,
    ascii: bool,
}

impl Needle {
    fn new(bytes: &[u8]) -> Needle {
        let folded: String = String::from_utf8_lossy(bytes)
            .chars()
            .flat_map(char::to_lowercase)
            .collect();
        let ascii = folded.is_ascii();
        Needle { folded, ascii }
    }

    fn is_empty(&self) -> bool {
        self.folded.is_empty()
    }

    /// Whether the needle occurs in `hay`, ignoring case; allocates nothing.
    fn found_in(&self, hay: &str) -> bool {
        let needle = self.folded.as_str();
        if needle.is_empty() {
            return true;
        }
        if self.ascii && hay.is_ascii() {
            return hay
                .as_bytes()
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()));
        }
        let first = needle.chars().next();
        hay.char_indices().any(|(at, c)| {
            c.to_lowercase().next() == first && starts_with_folded(&hay[at..], needle)
        })
    }
}

/// Whether `hay`, lowercased, starts with `folded`.
fn starts_with_folded(hay: &str, folded: &str) -> bool {
    let mut hay = hay.chars().flat_map(char::to_lowercase);
    folded.chars().all(|n| hay.next() == Some(n))
}

/// One candidate's content, parsed on first use.
struct Content<'a> {
    raw: Option<&'a [u8]>,
    parser: &'a MessageParser,
    message: OnceCell<Option<Message<'a>>>,
}

impl<'a> Content<'a> {
    fn message(&self) -> Option<&Message<'a>> {
        self.message
            .get_or_init(|| self.raw.and_then(|raw| self.parser.parse(raw)))
            .as_ref()
    }

    /// A top-level field named `name` containing `needle`; with an empty
    /// needle, any field named `name` (RFC 3501 §6.4.4, HEADER).
    fn header(&self, name: &str, needle: &Needle) -> bool {
        self.message().is_some_and(|message| {
            message
                .headers()
                .iter()
                .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
                .any(|h| needle.is_empty() || value_contains(message, h, needle))
        })
    }

    fn body(&self, needle: &Needle) -> bool {
        self.message()
            .is_some_and(|message| body_contains(message, needle))
    }

    fn text(&self, needle: &Needle) -> bool {
        self.message().is_some_and(|message| {
            headers_contain(message, needle) || body_contains(message, needle)
        })
    }
}

/// A header key: address fields are matched as Dovecot does, parsed and
/// written back in one form, so that comments and spaces around `@` do not
/// hide an address; other fields as [`written_value_contains`].
fn value_contains(message: &Message<'_>, header: &Header<'_>, needle: &Needle) -> bool {
    use postino_common::mime::address;

    if address::is_address_field(header.name.as_str()) {
        let range = header.offset_start as usize..header.offset_end as usize;
        let raw = message.raw_message.get(range).unwrap_or_default();
        return needle.found_in(&address::search_text(&address::parse_list(raw)));
    }
    written_value_contains(message, header, needle)
}

/// A field's value as written (decoded where it is text), as TEXT sees it.
fn written_value_contains(message: &Message<'_>, header: &Header<'_>, needle: &Needle) -> bool {
    match &header.value {
        HeaderValue::Text(text) => needle.found_in(text),
        HeaderValue::TextList(list) => list.iter().any(|text| needle.found_in(text)),
        HeaderValue::Empty => false,
        // Structured fields: search what was written.
        _ => {
            let range = header.offset_start as usize..header.offset_end as usize;
            message
                .raw_message
                .get(range)
                .is_some_and(|bytes| needle.found_in(&String::from_utf8_lossy(bytes)))
        }
    }
}

fn headers_contain(message: &Message<'_>, needle: &Needle) -> bool {
    message
        .headers()
        .iter()
        .any(|h| needle.found_in(h.name.as_str()) || written_value_contains(message, h, needle))
}

fn body_contains(message: &Message<'_>, needle: &Needle) -> bool {
    message.parts.iter().any(|part| match &part.body {
        PartType::Text(text) | PartType::Html(text) => needle.found_in(text),
        PartType::Message(attached) => {
            headers_contain(attached, needle) || body_contains(attached, needle)
        }
        PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Multipart(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use imap_codec::CommandCodec;
    use imap_codec::decode::Decoder;
    use imap_codec::imap_types::IntoStatic;
    use imap_codec::imap_types::command::CommandBody;

    use super::*;

    /// 1994-02-01 00:00:00 UTC.
    const FEB_1: i64 = 760_060_800;
    const CTX: Context = Context {
        max_seq: 10,
        max_uid: 100,
    };

    const PLAIN: &[u8] = b"From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>\r\n\
To: Alice <alice@example.com>, bob@example.net\r\n\
Cc: carol@example.com\r\n\
Bcc: dave@example.com\r\n\
Subject: Quarterly report\r\n\
Date: Tue, 1 Feb 1994 10:00:00 +0000\r\n\
X-Empty:\r\n\
X-Tracking: =?ISO-8859-1?Q?caf=E9?= id 42\r\n\
Message-ID: <1@example.org>\r\n\
\r\n\
Hello Alice,\r\n\
the numbers are in.\r\n";

    const BASE64: &[u8] = b"From: sender@example.org\r\n\
Subject: greetings\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
R3LDvMOfZSBhdXMgS8O2bG4sIHRoZSBzZWNyZXQgd29yZCBpcyB4eWxvcGhv\r\n\
bmUuDQo=\r\n";

    const QUOTED_LATIN1: &[u8] = b"From: sender@example.org\r\n\
Subject: menu\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Le caf=E9 est pr=EAt.\r\n\
soft=\r\n\
break\r\n";

    const ATTACHED: &[u8] = b"From: sender@example.org\r\n\
Subject: Fwd: outer\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain\r\n\
\r\n\
See the attached message.\r\n\
--b1\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: inner@example.org\r\n\
Subject: Inner subject\r\n\
\r\n\
The nested secret.\r\n\
--b1\r\n\
Content-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
aGlkZGVuIGJpbmFyeQ==\r\n\
--b1--\r\n";

    fn keys(criteria: &str) -> Vec<SearchKey<'static>> {
        let line = format!("a SEARCH {criteria}\r\n");
        let (rest, command) = CommandCodec::new().decode(line.as_bytes()).unwrap();
        assert!(rest.is_empty(), "{criteria}");
        match command.body {
            CommandBody::Search { criteria, .. } => criteria.into_static().into_inner(),
            other => panic!("not a SEARCH: {other:?}"),
        }
    }

    static NO_KEYWORDS: LazyLock<Keywords> = LazyLock::new(Keywords::default);

    fn message(raw: &'static [u8]) -> Candidate<'static> {
        Candidate {
            seq: 3,
            uid: 30,
            flags: Flags::default(),
            keywords: &NO_KEYWORDS,
            internal_date: FEB_1 + 3600,
            size: 1000,
            modseq: 5,
            sent_local: FEB_1 + 36_000,
            recent: false,
            subject: "Quarterly report",
            raw: Some(raw),
        }
    }

    fn plain() -> Candidate<'static> {
        message(PLAIN)
    }

    /// Evaluates `criteria` on `m`, checking that the prefilter, when it
    /// decides, agrees, and that the one-shot `matches` does too.
    fn hit(criteria: &str, m: &Candidate<'_>) -> bool {
        let keys = keys(criteria);
        let query = Query::new(&keys);
        let result = query.matches(m, &CTX);
        if let Some(early) = query.prefilter(m, &CTX) {
            assert_eq!(early, result, "prefilter disagrees on {criteria}");
        }
        assert_eq!(matches(&keys, m, &CTX), result);
        assert_eq!(needs_content(&keys), query.needs_content());
        result
    }

    fn with_flags(flags: Flags) -> Candidate<'static> {
        Candidate { flags, ..plain() }
    }

    #[test]
    fn all_matches_everything() {
        assert!(hit("ALL", &plain()));
        assert!(hit(
            "ALL",
            &Candidate {
                raw: None,
                ..plain()
            }
        ));
    }

    #[test]
    fn system_flags() {
        let cases = [
            ("ANSWERED", "UNANSWERED", Flags::ANSWERED),
            ("DELETED", "UNDELETED", Flags::DELETED),
            ("DRAFT", "UNDRAFT", Flags::DRAFT),
            ("FLAGGED", "UNFLAGGED", Flags::FLAGGED),
            ("SEEN", "UNSEEN", Flags::SEEN),
        ];
        for (set, unset, flag) in cases {
            let other = (Flags::SEEN | Flags::DRAFT | Flags::DELETED) - flag;
            assert!(hit(set, &with_flags(flag | other)), "{set}");
            assert!(!hit(set, &with_flags(other)), "{set}");
            assert!(hit(unset, &with_flags(other)), "{unset}");
            assert!(!hit(unset, &with_flags(flag)), "{unset}");
        }
    }

    #[test]
    fn recent_new_and_old() {
        let old = plain();
        assert!(!hit("RECENT", &old));
        assert!(!hit("NEW", &old));
        assert!(hit("OLD", &old));
        assert!(hit("NOT RECENT", &old));
        let recent = Candidate {
            recent: true,
            ..plain()
        };
        assert!(hit("RECENT", &recent));
        assert!(hit("NEW", &recent));
        assert!(!hit("OLD", &recent));
        let seen = Candidate {
            flags: Flags::SEEN,
            ..recent
        };
        assert!(hit("RECENT", &seen));
        assert!(!hit("NEW", &seen));
    }

    #[test]
    fn keywords() {
        let keywords = ["$Forwarded", "$Label1", "Work"].into_iter().collect();
        let m = Candidate {
            keywords: &keywords,
            ..plain()
        };
        assert!(hit("KEYWORD $Label1", &m));
        assert!(hit("KEYWORD work", &m));
        assert!(!hit("KEYWORD $Label", &m));
        assert!(!hit("KEYWORD $Junk", &m));
        assert!(hit("UNKEYWORD $Junk", &m));
        assert!(!hit("UNKEYWORD $FORWARDED", &m));
        assert!(!hit("KEYWORD Work", &plain()));
        assert!(hit("UNKEYWORD Work", &plain()));
    }

    #[test]
    fn sizes_are_strict_bounds() {
        let m = plain();
        assert!(hit("LARGER 999", &m));
        assert!(!hit("LARGER 1000", &m));
        assert!(hit("SMALLER 1001", &m));
        assert!(!hit("SMALLER 1000", &m));
        assert!(!hit("LARGER 4294967295", &m));
    }

    #[test]
    fn modseq() {
        let m = plain();
        assert!(hit("MODSEQ 5", &m));
        assert!(hit("MODSEQ 1", &m));
        assert!(!hit("MODSEQ 6", &m));
        assert!(hit("MODSEQ \"/flags/\\\\draft\" all 4", &m));
        assert!(!hit("MODSEQ \"/flags/keyword\" priv 620162338", &m));
    }

    #[test]
    fn sequence_sets() {
        let at = |seq| Candidate { seq, ..plain() };
        assert!(hit("3", &at(3)));
        assert!(!hit("3", &at(4)));
        assert!(hit("2:4", &at(4)));
        assert!(!hit("2:4", &at(5)));
        // `*` is the last message; reversed ranges count.
        assert!(hit("*", &at(10)));
        assert!(!hit("*", &at(9)));
        assert!(hit("5:2", &at(3)));
        assert!(!hit("5:2", &at(1)));
        assert!(hit("*:8", &at(9)));
        assert!(hit("1,3:4,7:*", &at(8)));
        assert!(!hit("1,3:4,7:*", &at(6)));
        // A set beyond the mailbox: `12:*` is `10:12`.
        assert!(hit("12:*", &at(10)));
        assert!(!hit("12:*", &at(9)));
    }

    #[test]
    fn uid_sets() {
        let at = |uid| Candidate { uid, ..plain() };
        assert!(hit("UID 30", &at(30)));
        assert!(!hit("UID 30", &at(3)));
        assert!(hit("UID 25:35", &at(30)));
        assert!(hit("UID 35:25", &at(30)));
        assert!(!hit("UID 35:31", &at(30)));
        // `*` is the largest UID (100), not the message count (10).
        assert!(hit("UID *", &at(100)));
        assert!(!hit("UID *", &at(10)));
        assert!(hit("UID 90:*", &at(95)));
        // Sequence numbers are not UIDs.
        assert!(!hit("UID 3", &at(30)));
        assert!(hit("UID 1:*", &at(1)));
    }

    #[test]
    fn in_sequence_set_resolves_asterisk() {
        let set = |text: &str| match keys(text).pop() {
            Some(SearchKey::SequenceSet(set)) => set,
            other => panic!("{other:?}"),
        };
        assert!(in_sequence_set(&set("4:*"), 7, 7));
        assert!(!in_sequence_set(&set("4:*"), 8, 7));
        assert!(in_sequence_set(&set("9:*"), 7, 7));
        assert!(!in_sequence_set(&set("9:*"), 6, 7));
        assert!(in_sequence_set(&set("2,4:5,*"), 5, 9));
        assert!(!in_sequence_set(&set("2,4:5,*"), 3, 9));
        assert!(!in_sequence_set(&set("*"), 1, 0));
    }

    #[test]
    fn internal_date_day_edges() {
        let at = |internal_date| Candidate {
            internal_date,
            ..plain()
        };
        let (first, last) = (at(FEB_1), at(FEB_1 + 86_399));
        let (eve, next) = (at(FEB_1 - 1), at(FEB_1 + 86_400));
        for m in [&first, &last] {
            assert!(hit("ON 1-Feb-1994", m));
            assert!(hit("SINCE 1-Feb-1994", m));
            assert!(!hit("BEFORE 1-Feb-1994", m));
            assert!(hit("BEFORE 2-Feb-1994", m));
            assert!(!hit("SINCE 2-Feb-1994", m));
        }
        assert!(!hit("ON 1-Feb-1994", &eve));
        assert!(hit("BEFORE 1-Feb-1994", &eve));
        assert!(!hit("SINCE 1-Feb-1994", &eve));
        assert!(hit("ON 31-Jan-1994", &eve));
        assert!(!hit("ON 1-Feb-1994", &next));
        assert!(hit("SINCE 1-Feb-1994", &next));
        assert!(hit("ON \"2-Feb-1994\"", &next));
        // Before the epoch too.
        assert!(hit("ON 31-Dec-1969", &at(-1)));
        assert!(hit("BEFORE 1-Jan-1970", &at(-1)));
    }

    #[test]
    fn sent_dates() {
        let m = plain();
        assert!(hit("SENTON 1-Feb-1994", &m));
        assert!(!hit("SENTON 2-Feb-1994", &m));
        assert!(hit("SENTBEFORE 2-Feb-1994", &m));
        assert!(!hit("SENTBEFORE 1-Feb-1994", &m));
        assert!(hit("SENTSINCE 1-Feb-1994", &m));
        assert!(!hit("SENTSINCE 2-Feb-1994", &m));
        // They use the Date: header, not INTERNALDATE.
        let late = Candidate {
            internal_date: FEB_1 + 10 * 86_400,
            ..plain()
        };
        assert!(hit("SENTON 1-Feb-1994", &late));
        assert!(!hit("ON 1-Feb-1994", &late));
        // Undated mail was sent on the first day of 1970.
        let undated = Candidate {
            sent_local: 0,
            ..plain()
        };
        assert!(hit("SENTON 1-Jan-1970", &undated));
        assert!(hit("SENTBEFORE 1-Feb-1994", &undated));
        assert!(!hit("SENTSINCE 2-Jan-1970", &undated));
    }

    #[test]
    fn subject_uses_cached_subject() {
        let m = plain();
        assert!(hit("SUBJECT quarterly", &m));
        assert!(hit("SUBJECT \"LY REP\"", &m));
        assert!(!hit("SUBJECT annual", &m));
        assert!(hit("SUBJECT \"\"", &m));
        // No content needed: it works without the raw message.
        assert!(hit("SUBJECT report", &Candidate { raw: None, ..m }));
        assert!(!needs_content(&keys("SUBJECT report")));
    }

    #[test]
    fn subject_folds_non_ascii_case() {
        let m = Candidate {
            subject: "Inscription à l'école — Straße",
            ..plain()
        };
        assert!(hit("SUBJECT \"ÉCOLE\"", &m));
        assert!(hit("SUBJECT \"L'ÉCOLE\"", &m));
        assert!(hit("SUBJECT \"À L'éCOLE\"", &m));
        assert!(hit("SUBJECT \"STRAßE\"", &m));
        // Case folding, not accent stripping: È is not É.
        assert!(!hit("SUBJECT \"ÈCOLE\"", &m));
        assert!(!hit("SUBJECT ECOLE", &m));
        let grave = Candidate {
            subject: "ÈCOLE DES BEAUX-ARTS",
            ..plain()
        };
        assert!(hit("SUBJECT \"ècole des\"", &grave));
        // A literal works as well as a quoted string.
        assert!(hit("CHARSET UTF-8 SUBJECT {6}\r\nÉcole", &m));
    }

    #[test]
    fn address_headers_are_decoded() {
        let m = plain();
        assert!(hit("FROM joerg@example.org", &m));
        assert!(hit("FROM \"JÖRG MÜLLER\"", &m));
        assert!(!hit("FROM alice", &m));
        assert!(hit("TO alice", &m));
        assert!(hit("TO bob@example.net", &m));
        assert!(!hit("TO carol", &m));
        assert!(hit("CC carol", &m));
        assert!(!hit("CC dave", &m));
        assert!(hit("BCC dave", &m));
        assert!(!hit("BCC carol", &m));
        assert!(!hit("BCC dave", &message(BASE64)));
    }

    /// The messages of the Dovecot comparison, item 7.
    const ODD_ADDRESSES: [&[u8]; 5] = [
        b"From: user (comment)@ (comment) domain.org\r\nTo: rcpt@x.org\r\n\r\nx\r\n",
        b"From: Name <user (c)@ (c) domain.org>\r\nTo: rcpt@x.org\r\n\r\nx\r\n",
        b"From: user@domain.org\r\nTo: \"R\" <rcpt @ x.org>\r\nCc: c1 (x) @ (y) cc.org\r\n\r\nx\r\n",
        b"From: \"user@domain.org\" <other@else.org>\r\nTo: rcpt@x.org\r\n\
Cc: Grp: c1@cc.org;\r\n\r\nx\r\n",
        b"From: =?utf-8?q?J=C3=BCrgen?= <jx@domain.org>\r\nTo: rcpt@x.org\r\n\r\nx\r\n",
    ];

    /// The numbers (from 1) of the messages of `ODD_ADDRESSES` matching.
    fn odd_addresses_matching(criteria: &str) -> Vec<usize> {
        (1..=ODD_ADDRESSES.len())
            .filter(|&n| hit(criteria, &message(ODD_ADDRESSES[n - 1])))
            .collect()
    }

    #[test]
    fn address_keys_match_parsed_addresses_as_dovecot() {
        let cases: [(&str, &[usize]); 15] = [
            ("FROM \"user@domain.org\"", &[1, 2, 3, 4]),
            ("FROM user", &[1, 2, 3, 4]),
            ("FROM comment", &[1]),
            ("FROM domain.org", &[1, 2, 3, 4, 5]),
            ("FROM \"user @domain.org\"", &[]),
            ("FROM \"@domain.org\"", &[1, 2, 3, 4, 5]),
            ("FROM Name", &[2]),
            ("TO \"rcpt@x.org\"", &[1, 2, 3, 4, 5]),
            ("TO R", &[1, 2, 3, 4, 5]),
            ("CC \"c1@cc.org\"", &[3, 4]),
            ("CC Grp", &[4]),
            ("CC \"(x)\"", &[]),
            ("FROM \"J\u{fc}rgen\"", &[5]),
            ("CHARSET UTF-8 FROM {7}\r\nJ\u{fc}rgen", &[5]),
            // The normalised form is what matches, not what was written.
            ("FROM \"comment <user@domain.org>\"", &[1]),
        ];
        for (criteria, expected) in cases {
            assert_eq!(odd_addresses_matching(criteria), expected, "{criteria}");
        }
    }

    #[test]
    fn address_fields_of_header_key_are_normalised_too() {
        let m = message(
            b"From: a@b.org\r\nReply-To: joe (Joe) @ example.org\r\n\
Resent-To: x (y) @ z.org\r\n\r\nx\r\n",
        );
        assert!(hit("HEADER Reply-To \"joe@example.org\"", &m));
        assert!(hit("HEADER Reply-To \"Joe <joe@\"", &m));
        assert!(!hit("HEADER Reply-To \"(Joe)\"", &m));
        assert!(hit("HEADER Resent-To \"x@z.org\"", &m));
        // An empty string still only asks whether the field is there.
        assert!(hit("HEADER Reply-To \"\"", &m));
        assert!(!hit("HEADER Sender \"\"", &m));
    }

    #[test]
    fn address_keys_see_missing_parts_and_groups_as_dovecot() {
        let m = message(
            b"From: foo\r\nTo: undisclosed-recipients:;\r\n\
Cc: \"Foo Bar\" <foo@bar.org>, team: a@b.org, c@d.org;\r\n\r\nx\r\n",
        );
        assert!(hit("FROM \"foo@MISSING_DOMAIN\"", &m));
        assert!(hit("TO \"undisclosed-recipients:;\"", &m));
        assert!(hit("CC \"\\\"Foo Bar\\\" <foo@bar.org>\"", &m));
        assert!(!hit("CC \"Foo Bar <\"", &m));
        assert!(hit("CC \"team: <a@b.org>, <c@d.org>;\"", &m));
    }

    #[test]
    fn header_key() {
        let m = plain();
        assert!(hit("HEADER Message-ID 1@example", &m));
        assert!(hit("HEADER message-id \"<1@EXAMPLE.ORG>\"", &m));
        assert!(!hit("HEADER Message-ID 2@example", &m));
        // Encoded words are decoded before matching.
        assert!(hit("HEADER X-Tracking \"café id\"", &m));
        assert!(!hit("HEADER X-Tracking ISO-8859-1", &m));
        // An empty string matches any message with the field, even empty.
        assert!(hit("HEADER X-Empty \"\"", &m));
        assert!(hit("HEADER X-Tracking \"\"", &m));
        assert!(!hit("HEADER X-Missing \"\"", &m));
        assert!(!hit("HEADER X-Empty something", &m));
        // Structured MIME fields match as written.
        assert!(hit(
            "HEADER Content-Type iso-8859-1",
            &message(QUOTED_LATIN1)
        ));
        // Only the top-level header: not the attached message's.
        assert!(!hit("HEADER Subject Inner", &message(ATTACHED)));
    }

    #[test]
    fn body_base64() {
        let m = message(BASE64);
        assert!(hit("BODY xylophone", &m));
        assert!(hit("BODY \"GRÜßE AUS KÖLN\"", &m));
        assert!(hit("BODY \"KÖLN\"", &m));
        assert!(!hit("BODY R3LDvMOfZSBh", &m));
        assert!(!hit("BODY trombone", &m));
    }

    #[test]
    fn body_quoted_printable_latin1() {
        let m = message(QUOTED_LATIN1);
        assert!(hit("BODY \"café est prêt\"", &m));
        assert!(hit("BODY \"CAFÉ\"", &m));
        assert!(hit("BODY softbreak", &m));
        assert!(!hit("BODY caf=E9", &m));
        assert!(!hit("BODY \"thé\"", &m));
    }

    #[test]
    fn body_is_not_header() {
        let m = plain();
        assert!(hit("BODY numbers", &m));
        assert!(hit("BODY \"hello alice\"", &m));
        assert!(!hit("BODY Quarterly", &m));
        assert!(!hit("BODY joerg", &m));
    }

    #[test]
    fn body_of_attached_message() {
        let m = message(ATTACHED);
        assert!(hit("BODY \"nested secret\"", &m));
        assert!(hit("BODY \"inner subject\"", &m));
        assert!(hit("BODY attached", &m));
        // Binary parts are not text.
        assert!(!hit("BODY hidden", &m));
    }

    #[test]
    fn text_covers_header_and_body() {
        let m = plain();
        assert!(hit("TEXT quarterly", &m));
        assert!(hit("TEXT \"müller\"", &m));
        assert!(hit("TEXT message-id", &m));
        assert!(hit("TEXT numbers", &m));
        assert!(!hit("TEXT spreadsheet", &m));
        assert!(hit("TEXT xylophone", &message(BASE64)));
    }

    #[test]
    fn content_keys_need_raw() {
        for criteria in [
            "BODY x",
            "TEXT x",
            "HEADER X-Foo x",
            "FROM x",
            "TO x",
            "CC x",
            "BCC x",
            "NOT BODY x",
            "OR SEEN TEXT x",
            "(SEEN (FROM x))",
        ] {
            let keys = keys(criteria);
            assert!(needs_content(&keys), "{criteria}");
            assert!(Query::new(&keys).needs_content(), "{criteria}");
        }
        for criteria in [
            "ALL",
            "SUBJECT x",
            "SEEN 1:* UID 2 SINCE 1-Jan-2000",
            "NOT OR SEEN KEYWORD a",
        ] {
            let keys = keys(criteria);
            assert!(!needs_content(&keys), "{criteria}");
            assert!(!Query::new(&keys).needs_content(), "{criteria}");
        }
        // Without the message, content keys match nothing.
        let bare = Candidate {
            raw: None,
            ..plain()
        };
        assert!(!hit("BODY numbers", &bare));
        assert!(!hit("HEADER X-Empty \"\"", &bare));
        let garbage = Candidate {
            raw: Some(b""),
            ..plain()
        };
        assert!(!hit("TEXT numbers", &garbage));
    }

    #[test]
    fn prefilter_decides_on_metadata() {
        let query = Query::new(&keys("FLAGGED BODY numbers"));
        assert_eq!(query.prefilter(&plain(), &CTX), Some(false));
        assert_eq!(query.prefilter(&with_flags(Flags::FLAGGED), &CTX), None);
        assert!(query.matches(&with_flags(Flags::FLAGGED), &CTX));
        let query = Query::new(&keys("OR BODY numbers SEEN"));
        assert_eq!(query.prefilter(&with_flags(Flags::SEEN), &CTX), Some(true));
        assert_eq!(query.prefilter(&plain(), &CTX), None);
        let query = Query::new(&keys("NOT TEXT numbers"));
        assert_eq!(query.prefilter(&plain(), &CTX), None);
        assert!(!query.matches(&plain(), &CTX));
    }

    #[test]
    fn not_or_and_nesting() {
        let seen = with_flags(Flags::SEEN);
        let flagged = with_flags(Flags::FLAGGED);
        let both = with_flags(Flags::SEEN | Flags::FLAGGED);
        let neither = plain();
        assert!(hit("OR SEEN FLAGGED", &seen));
        assert!(hit("OR SEEN FLAGGED", &flagged));
        assert!(!hit("OR SEEN FLAGGED", &neither));
        assert!(hit("NOT OR SEEN FLAGGED", &neither));
        assert!(!hit("NOT OR SEEN FLAGGED", &seen));
        assert!(hit("NOT (SEEN FLAGGED)", &seen));
        assert!(!hit("NOT (SEEN FLAGGED)", &both));
        assert!(hit("NOT NOT SEEN", &seen));
        assert!(!hit("NOT NOT SEEN", &neither));
        // Top-level keys are ANDed, lists too.
        assert!(hit("SEEN FLAGGED", &both));
        assert!(!hit("SEEN FLAGGED", &seen));
        assert!(hit("(SEEN (FLAGGED))", &both));
        assert!(hit("OR (SEEN UNFLAGGED) (FLAGGED UNSEEN)", &seen));
        assert!(!hit("OR (SEEN UNFLAGGED) (FLAGGED UNSEEN)", &both));
        assert!(hit("OR OR DELETED DRAFT OR ANSWERED FLAGGED", &flagged));
        // Mixed with content keys and sequence sets.
        assert!(hit("OR BODY nothing-like-this SEEN", &seen));
        assert!(hit("OR SUBJECT nope BODY numbers", &neither));
        assert!(!hit("NOT OR SUBJECT nope BODY numbers", &neither));
        assert!(hit(
            "3 NOT 4 (OR UID 1 UID 30) NOT TEXT spreadsheet",
            &neither
        ));
        assert!(!hit(
            "3 NOT 4 (OR UID 1 UID 31) NOT TEXT spreadsheet",
            &neither
        ));
    }

    #[test]
    fn charsets() {
        assert!(charset_supported("utf-8"));
        assert!(charset_supported("US-ASCII"));
        assert!(!charset_supported("ISO-8859-1"));
    }
}

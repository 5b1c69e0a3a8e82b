//! Encoding: greetings and responses (status, data, continuation requests;
//! RFC 9051 §7) to bytes with imap-codec's encoders. Literals in responses
//! (a FETCH of `BODY[]`) are written inline: a server never waits before
//! sending one. imap-types has no ESEARCH response (RFC 4731 §3.1, RFC 9051
//! §7.3.4) nor LIST's CHILDINFO (RFC 5258 §3.5); those two are written here.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::num::{NonZeroU32, NonZeroU64};

use imap_codec::encode::{Encoder, Fragment};
use imap_codec::imap_types::core::{IString, Literal, NString, Tag};
use imap_codec::imap_types::response::{Data, Greeting, Response};
use imap_codec::{GreetingCodec, ResponseCodec};

/// The greeting, CRLF included.
pub fn encode_greeting(greeting: &Greeting<'_>) -> Vec<u8> {
    GreetingCodec::new().encode(greeting).dump()
}

/// One response, CRLF included.
pub fn encode_response(response: &Response<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_response_into(response, &mut out);
    out
}

/// Appends one response to `out`, to write several in one go.
pub fn encode_response_into(response: &Response<'_>, out: &mut Vec<u8>) {
    for fragment in ResponseCodec::new().encode(response) {
        match fragment {
            Fragment::Line { data } | Fragment::Literal { data, .. } => {
                out.extend_from_slice(&data)
            }
        }
    }
}

/// An ESEARCH response; each `None` item is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Esearch<'a> {
    /// The tag of the SEARCH it answers.
    pub tag: Option<&'a Tag<'a>>,
    /// The numbers are UIDs (a UID SEARCH).
    pub uid: bool,
    pub min: Option<NonZeroU32>,
    pub max: Option<NonZeroU32>,
    /// The matches, ascending; left out when empty, as RFC 4731 §3.1 says.
    pub all: Option<&'a [NonZeroU32]>,
    pub count: Option<u32>,
    /// The highest mod-sequence of the matches (CONDSTORE, RFC 7162 §3.1.5).
    pub modseq: Option<NonZeroU64>,
}

/// `* ESEARCH [(TAG "t")] [UID] [MIN n] [MAX n] [ALL set] [COUNT n] [MODSEQ n]`.
pub fn encode_esearch(esearch: &Esearch<'_>) -> Vec<u8> {
    let mut line = String::from("* ESEARCH");
    // A tag has no `"` or `\`, so it needs no escaping when quoted.
    if let Some(tag) = esearch.tag {
        let _ = write!(line, " (TAG \"{}\")", tag.inner());
    }
    if esearch.uid {
        line.push_str(" UID");
    }
    if let Some(min) = esearch.min {
        let _ = write!(line, " MIN {min}");
    }
    if let Some(max) = esearch.max {
        let _ = write!(line, " MAX {max}");
    }
    if let Some(all) = esearch.all.filter(|all| !all.is_empty()) {
        line.push_str(" ALL ");
        push_sequence_set(&mut line, all);
    }
    if let Some(count) = esearch.count {
        let _ = write!(line, " COUNT {count}");
    }
    if let Some(modseq) = esearch.modseq {
        let _ = write!(line, " MODSEQ {modseq}");
    }
    line.push_str("\r\n");
    line.into_bytes()
}

/// Writes numbers as a sequence set, runs of consecutive ones as ranges.
fn push_sequence_set(out: &mut String, numbers: &[NonZeroU32]) {
    let mut i = 0;
    while i < numbers.len() {
        let first = numbers[i].get();
        let mut last = first;
        while i + 1 < numbers.len() && Some(numbers[i + 1].get()) == last.checked_add(1) {
            i += 1;
            last = numbers[i].get();
        }
        if !out.ends_with(' ') {
            out.push(',');
        }
        let _ = if first == last {
            write!(out, "{first}")
        } else {
            write!(out, "{first}:{last}")
        };
        i += 1;
    }
}

/// A LIST response with the CHILDINFO extended data item saying that some
/// mailbox below it is subscribed (RFC 5258 §3.5, for RECURSIVEMATCH).
pub fn encode_list_with_childinfo(list: &Data<'_>) -> Vec<u8> {
    let mut out = encode_response(&Response::Data(list.clone()));
    if matches!(list, Data::List { .. }) && out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
        out.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n");
    }
    out
}

/// Message bytes (a `BODY[...]` section, `RFC822`) as a literal for a FETCH
/// response. A literal may not hold NUL (RFC 9051 §4.3, `CHAR8`); like
/// Dovecot, a NUL is sent as 0x80, and only BINARY fetches send bytes as
/// they are.
pub fn message_literal(bytes: &[u8]) -> NString<'_> {
    let data: Cow<'_, [u8]> = if bytes.contains(&0) {
        Cow::Owned(
            bytes
                .iter()
                .map(|&b| if b == 0 { 0x80 } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(bytes)
    };
    let literal = match data {
        Cow::Borrowed(bytes) => Literal::try_from(bytes),
        Cow::Owned(bytes) => Literal::try_from(bytes),
    };
    // Without NUL every byte is valid in a literal, so this is never `NIL`.
    NString(literal.ok().map(IString::Literal))
}

#[cfg(test)]
mod tests {
    use std::num::{NonZeroU32, NonZeroU64};

    use imap_codec::imap_types::core::{Tag, Vec1};
    use imap_codec::imap_types::extensions::enable::CapabilityEnable;
    use imap_codec::imap_types::fetch::{MessageDataItem, Part, Section};
    use imap_codec::imap_types::flag::{Flag, FlagFetch, FlagPerm};
    use imap_codec::imap_types::response::{
        Capability, Code, CommandContinuationRequest, Data, Status,
    };
    use imap_codec::imap_types::sequence::SequenceSet;

    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    fn tag(tag: &str) -> Option<Tag<'_>> {
        Some(Tag::try_from(tag).expect("valid"))
    }

    fn text(response: Response<'_>) -> String {
        String::from_utf8(encode_response(&response)).expect("ASCII")
    }

    fn status(status: Result<Status<'static>, impl std::fmt::Debug>) -> Response<'static> {
        Response::Status(status.expect("valid"))
    }

    #[test]
    fn greeting() {
        let capabilities = Vec1::try_from(vec![
            Capability::Imap4Rev1,
            Capability::StartTls,
            Capability::LoginDisabled,
            Capability::LiteralPlus,
        ])
        .expect("non-empty");
        let greeting =
            Greeting::ok(Some(Code::Capability(capabilities)), "Postino ready").expect("valid");
        assert_eq!(
            encode_greeting(&greeting),
            b"* OK [CAPABILITY IMAP4REV1 STARTTLS LOGINDISABLED LITERAL+] Postino ready\r\n"
        );
        let bye = Greeting::bye(None, "Too many connections").expect("valid");
        assert_eq!(encode_greeting(&bye), b"* BYE Too many connections\r\n");
    }

    #[test]
    fn select_responses() {
        // RFC 3501 §6.3.1.
        let mut out = Vec::new();
        for response in [
            Response::Data(Data::Exists(172)),
            Response::Data(Data::Recent(1)),
            status(Status::ok(
                None,
                Some(Code::Unseen(nz(12))),
                "Message 12 is first unseen",
            )),
            status(Status::ok(
                None,
                Some(Code::UidValidity(nz(3857529045))),
                "UIDs valid",
            )),
            status(Status::ok(
                None,
                Some(Code::UidNext(nz(4392))),
                "Predicted next UID",
            )),
            Response::Data(Data::Flags(vec![
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft,
            ])),
            status(Status::ok(
                None,
                Some(Code::PermanentFlags(vec![
                    FlagPerm::Flag(Flag::Deleted),
                    FlagPerm::Flag(Flag::Seen),
                    FlagPerm::Asterisk,
                ])),
                "Limited",
            )),
            status(Status::ok(
                tag("A142"),
                Some(Code::ReadWrite),
                "SELECT completed",
            )),
        ] {
            encode_response_into(&response, &mut out);
        }
        assert_eq!(
            String::from_utf8(out).expect("ASCII"),
            "* 172 EXISTS\r\n\
             * 1 RECENT\r\n\
             * OK [UNSEEN 12] Message 12 is first unseen\r\n\
             * OK [UIDVALIDITY 3857529045] UIDs valid\r\n\
             * OK [UIDNEXT 4392] Predicted next UID\r\n\
             * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
             * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n\
             A142 OK [READ-WRITE] SELECT completed\r\n"
        );
    }

    #[test]
    fn status_responses() {
        assert_eq!(
            text(status(Status::no(
                tag("A003"),
                Some(Code::TooBig),
                "Message too large"
            ))),
            "A003 NO [TOOBIG] Message too large\r\n"
        );
        assert_eq!(
            text(status(Status::bad(None, None, "Command line too long"))),
            "* BAD Command line too long\r\n"
        );
        assert_eq!(
            text(status(Status::ok(
                tag("A003"),
                Some(Code::AppendUid {
                    uid_validity: nz(38505),
                    uid: nz(3955)
                }),
                "APPEND completed"
            ))),
            "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"
        );
        assert_eq!(
            text(status(Status::no(
                tag("a"),
                Some(Code::Other(
                    imap_codec::imap_types::response::CodeOther::unvalidated(
                        b"UNAVAILABLE".as_ref()
                    )
                )),
                "Try again later"
            ))),
            "a NO [UNAVAILABLE] Try again later\r\n"
        );
        assert_eq!(
            text(status(Status::bye(None, "Server shutting down"))),
            "* BYE Server shutting down\r\n"
        );
    }

    #[test]
    fn continuation_requests() {
        let ready =
            CommandContinuationRequest::basic(None, "Ready for literal data").expect("valid");
        assert_eq!(
            text(Response::CommandContinuationRequest(ready)),
            "+ Ready for literal data\r\n"
        );
        // An empty SASL challenge.
        let empty = CommandContinuationRequest::base64(b"".as_ref());
        assert_eq!(text(Response::CommandContinuationRequest(empty)), "+ \r\n");
    }

    #[test]
    fn fetch_with_literal() {
        // RFC 3501 §6.4.5, with a short message.
        let message = b"Subject: hi\r\n\r\nhello\r\n";
        let response = Response::Data(
            Data::fetch(
                12,
                vec![
                    MessageDataItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
                    MessageDataItem::Uid(nz(4827313)),
                    MessageDataItem::BodyExt {
                        section: None,
                        origin: None,
                        data: message_literal(message),
                    },
                    MessageDataItem::BodyExt {
                        section: Some(Section::Part(Part(Vec1::from(nz(1))))),
                        origin: Some(0),
                        data: message_literal(b"hel"),
                    },
                ],
            )
            .expect("valid"),
        );
        assert_eq!(
            text(response),
            "* 12 FETCH (FLAGS (\\Seen) UID 4827313 BODY[] {22}\r\nSubject: hi\r\n\r\nhello\r\n BODY[1]<0> {3}\r\nhel)\r\n"
        );
        // NUL cannot be in a literal.
        let response = Response::Data(
            Data::fetch(
                1,
                vec![MessageDataItem::Rfc822Text(message_literal(b"a\0b"))],
            )
            .expect("valid"),
        );
        assert_eq!(
            encode_response(&response),
            b"* 1 FETCH (RFC822.TEXT {3}\r\na\x80b)\r\n"
        );
        let response = Response::Data(
            Data::fetch(
                1,
                vec![MessageDataItem::ModSeq(
                    NonZeroU64::new(12121231000).expect("non-zero"),
                )],
            )
            .expect("valid"),
        );
        assert_eq!(text(response), "* 1 FETCH (MODSEQ (12121231000))\r\n");
    }

    #[test]
    fn esearch() {
        // RFC 4731 §3.1 and RFC 7162 §3.1.5.
        let a282 = Tag::try_from("A282").expect("valid");
        assert_eq!(
            encode_esearch(&Esearch {
                tag: Some(&a282),
                min: Some(nz(2)),
                count: Some(3),
                ..Esearch::default()
            }),
            b"* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"
        );
        let all = [nz(2), nz(10), nz(11)];
        assert_eq!(
            encode_esearch(&Esearch {
                tag: Some(&a282),
                all: Some(&all),
                ..Esearch::default()
            }),
            b"* ESEARCH (TAG \"A282\") ALL 2,10:11\r\n"
        );
        let all = [nz(1), nz(2), nz(3), nz(5)];
        assert_eq!(
            encode_esearch(&Esearch {
                tag: Some(&a282),
                uid: true,
                min: Some(nz(1)),
                max: Some(nz(5)),
                all: Some(&all),
                count: Some(4),
                modseq: NonZeroU64::new(1236),
            }),
            b"* ESEARCH (TAG \"A282\") UID MIN 1 MAX 5 ALL 1:3,5 COUNT 4 MODSEQ 1236\r\n"
        );
        // No match: ALL is left out.
        assert_eq!(
            encode_esearch(&Esearch {
                tag: Some(&a282),
                uid: true,
                all: Some(&[]),
                count: Some(0),
                ..Esearch::default()
            }),
            b"* ESEARCH (TAG \"A282\") UID COUNT 0\r\n"
        );
    }

    #[test]
    fn list_with_childinfo() {
        use imap_codec::imap_types::core::QuotedChar;
        use imap_codec::imap_types::flag::FlagNameAttribute;
        use imap_codec::imap_types::mailbox::Mailbox;
        let list = Data::List {
            items: vec![FlagNameAttribute::from(
                imap_codec::imap_types::core::Atom::try_from("HasChildren").expect("valid"),
            )],
            delimiter: Some(QuotedChar::try_from('/').expect("valid")),
            mailbox: Mailbox::try_from("Foo").expect("valid"),
        };
        assert_eq!(
            String::from_utf8(encode_list_with_childinfo(&list)).expect("ASCII"),
            "* LIST (\\HasChildren) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
        );
    }

    #[test]
    fn data_responses() {
        assert_eq!(
            text(Response::Data(Data::Search(
                vec![nz(2), nz(84), nz(882)],
                None
            ))),
            "* SEARCH 2 84 882\r\n"
        );
        assert_eq!(
            text(Response::Data(Data::Expunge(nz(3)))),
            "* 3 EXPUNGE\r\n"
        );
        assert_eq!(
            text(Response::Data(Data::Vanished {
                earlier: true,
                known_uids: SequenceSet::try_from("41,43:116").expect("valid"),
            })),
            "* VANISHED (EARLIER) 41,43:116\r\n"
        );
        assert_eq!(
            text(Response::Data(Data::Enabled {
                capabilities: vec![CapabilityEnable::CondStore],
            })),
            "* ENABLED CONDSTORE\r\n"
        );
    }
}

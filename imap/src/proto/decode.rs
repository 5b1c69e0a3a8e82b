//! Decoding: one whole command, as framed by [`super::Assembler`], into
//! imap-types' [`Command`] with imap-codec's parser; also the two bare lines
//! a client sends outside commands, AUTHENTICATE responses (RFC 9051
//! §6.2.2) and IDLE's `DONE` (RFC 2177 §3).
//!
//! Extensions parsed (imap-codec features): CONDSTORE/QRESYNC (RFC 7162),
//! ID (RFC 2971), NAMESPACE (RFC 2342), STATUS=SIZE (RFC 8438), UTF8=ACCEPT
//! (RFC 6855: UTF-8 in quoted strings, accepted whether or not the client
//! enabled it), STARTTLS; and, always on in imap-codec, IDLE, ENABLE,
//! UIDPLUS, MOVE, UNSELECT, QUOTA, BINARY, LITERAL+ and SASL-IR. The options
//! of ESEARCH, LIST-EXTENDED / LIST-STATUS and CREATE-SPECIAL-USE, and SORT,
//! THREAD and MULTIAPPEND, are read by `extended` into [`Options`]. Bare LF line endings are accepted like
//! CRLF, as Dovecot does.

use imap_codec::decode::{AuthenticateDataDecodeError, Decoder};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::auth::AuthenticateData;
use imap_codec::imap_types::command::Command;
use imap_codec::imap_types::core::Tag;
use imap_codec::{AuthenticateDataCodec, CommandCodec, IdleDoneCodec};

use super::extended::{self, Options};
use super::framing::recover_tag;

/// A command that did not parse; answered with a tagged `BAD`, or `* BAD`
/// without a tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError {
    /// The command's tag, when it had a valid one.
    pub tag: Option<Tag<'static>>,
    /// The command's name, uppercased, when it is one we know (with `UID `
    /// before it for the UID forms); `None` for an unknown command.
    pub command: Option<&'static str>,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.command {
            Some(command) => write!(f, "invalid arguments to {command}"),
            None => f.write_str("unknown command"),
        }
    }
}

/// A line during IDLE other than `DONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected DONE")]
pub struct NotDone;

/// An AUTHENTICATE response that is neither base64 nor `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64 in the authentication response")]
pub struct BadAuthenticateData;

/// A decoded command, with the options imap-types' `Command` has no room
/// for (see [`Options`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub command: Command<'a>,
    pub options: Options,
}

/// Decodes one whole command, line ending included.
pub fn decode_command(bytes: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let error = || DecodeError {
        tag: recover_tag(bytes),
        command: command_name(bytes),
    };
    match extended::split(bytes) {
        Ok(None) => decode_command_only(bytes)
            .map(|command| Decoded {
                command,
                options: Options::None,
            })
            .ok_or_else(error),
        Ok(Some((rest, options))) => decode_command_only(&rest)
            .map(|command| Decoded {
                command: command.into_static(),
                options,
            })
            .ok_or_else(error),
        Err(_) => Err(error()),
    }
}

/// Decodes a command with imap-codec alone.
pub(super) fn decode_command_only(bytes: &[u8]) -> Option<Command<'_>> {
    match CommandCodec::new().decode(bytes) {
        Ok(([], command)) => Some(command),
        // A remainder, or an incomplete command or literal, cannot happen on
        // a command the framing completed unless it is malformed.
        _ => None,
    }
}

/// Decodes a client's response to an AUTHENTICATE continuation request:
/// base64 data, or `*` to cancel.
pub fn decode_authenticate_data(line: &[u8]) -> Result<AuthenticateData<'_>, BadAuthenticateData> {
    match AuthenticateDataCodec::new().decode(line) {
        Ok(([], data)) => Ok(data),
        Ok(_)
        | Err(AuthenticateDataDecodeError::Incomplete | AuthenticateDataDecodeError::Failed) => {
            Err(BadAuthenticateData)
        }
    }
}

/// Checks that a line received during IDLE is `DONE`.
pub fn decode_idle_done(line: &[u8]) -> Result<(), NotDone> {
    match IdleDoneCodec::new().decode(line) {
        Ok(([], _)) => Ok(()),
        _ => Err(NotDone),
    }
}

/// Commands of RFC 3501, RFC 9051 and the extensions we parse.
const COMMANDS: &[&str] = &[
    "APPEND",
    "AUTHENTICATE",
    "CAPABILITY",
    "CHECK",
    "CLOSE",
    "COPY",
    "CREATE",
    "DELETE",
    "DELETEACL",
    "ENABLE",
    "EXAMINE",
    "EXPUNGE",
    "FETCH",
    "GETACL",
    "GETQUOTA",
    "GETQUOTAROOT",
    "ID",
    "IDLE",
    "LIST",
    "LISTRIGHTS",
    "LOGIN",
    "LOGOUT",
    "LSUB",
    "MOVE",
    "MYRIGHTS",
    "NAMESPACE",
    "NOOP",
    "RENAME",
    "SEARCH",
    "SELECT",
    "SETACL",
    "SETQUOTA",
    "SORT",
    "STARTTLS",
    "STATUS",
    "STORE",
    "SUBSCRIBE",
    "THREAD",
    "UNSELECT",
    "UNSUBSCRIBE",
];

/// Commands that have a UID form.
const UID_COMMANDS: &[&str] = &[
    "UID COPY",
    "UID EXPUNGE",
    "UID FETCH",
    "UID MOVE",
    "UID SEARCH",
    "UID SORT",
    "UID STORE",
    "UID THREAD",
];

/// The known command name after the tag, for a precise error message.
fn command_name(bytes: &[u8]) -> Option<&'static str> {
    let mut words = bytes.split(|&b| matches!(b, b' ' | b'\r' | b'\n')).skip(1);
    let name = words.next()?;
    if name.eq_ignore_ascii_case(b"UID") {
        let sub = words.next()?;
        return UID_COMMANDS
            .iter()
            .find(|known| known.as_bytes()[4..].eq_ignore_ascii_case(sub))
            .copied();
    }
    COMMANDS
        .iter()
        .find(|known| known.as_bytes().eq_ignore_ascii_case(name))
        .copied()
}

#[cfg(test)]
mod tests {
    use std::num::{NonZeroU32, NonZeroU64};

    use imap_codec::encode::Encoder;
    use imap_codec::imap_types::auth::AuthMechanism;
    use imap_codec::imap_types::command::{
        CommandBody, FetchModifier, SelectParameter, StoreModifier,
    };
    use imap_codec::imap_types::core::{AString, IString, LiteralMode, NString};
    use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
    use imap_codec::imap_types::extensions::enable::CapabilityEnable;
    use imap_codec::imap_types::extensions::utf8::Utf8Kind;
    use imap_codec::imap_types::fetch::{
        MacroOrMessageDataItemNames, MessageDataItemName, Part, Section,
    };
    use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
    use imap_codec::imap_types::mailbox::Mailbox;
    use imap_codec::imap_types::search::SearchKey;
    use imap_codec::imap_types::sequence::{SeqOrUid, Sequence};
    use imap_codec::imap_types::status::StatusDataItemName;

    use super::*;
    use crate::proto::{Assembler, Event, Limits};

    fn decode(bytes: &'static [u8]) -> Command<'static> {
        match decode_command(bytes) {
            Ok(Decoded {
                command,
                options: Options::None,
            }) => command,
            Ok(other) => panic!("{other:?}"),
            Err(err) => panic!("{}: {err}", String::from_utf8_lossy(bytes)),
        }
    }

    /// Frames `input` as a client sends it, accepting every literal, and
    /// returns the one command in it.
    fn framed(input: &[u8]) -> Vec<u8> {
        let mut assembler = Assembler::new(Limits::default());
        let mut rest = input;
        loop {
            let (used, event) = assembler.feed(rest);
            rest = &rest[used..];
            match event {
                Some(Event::Command(bytes)) => {
                    assert!(rest.is_empty(), "one command");
                    return bytes;
                }
                Some(Event::Continue { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    fn item_names(body: &CommandBody<'_>) -> Vec<MessageDataItemName<'static>> {
        use imap_codec::imap_types::IntoStatic;
        match body {
            CommandBody::Fetch {
                macro_or_item_names: MacroOrMessageDataItemNames::MessageDataItemNames(names),
                ..
            } => names.clone().into_static(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn login() {
        // RFC 3501 §6.2.3.
        assert_eq!(
            decode(b"a001 LOGIN SMITH SESAME\r\n"),
            Command::new(
                "a001",
                CommandBody::login("SMITH", "SESAME").expect("valid")
            )
            .expect("valid")
        );
        // A password with spaces as a literal, and a quoted user name.
        let bytes = framed(b"a002 LOGIN \"anna.rossi\" {9}\r\nsecret pw\r\n");
        let command = decode_command(&bytes).expect("decodes").command;
        let CommandBody::Login { username, password } = command.body else {
            panic!("{command:?}")
        };
        assert_eq!(username.as_ref(), b"anna.rossi");
        assert_eq!(password.declassify().as_ref(), b"secret pw");
    }

    #[test]
    fn select_and_examine() {
        // RFC 3501 §6.3.1, §6.3.2.
        assert_eq!(
            decode(b"A142 SELECT INBOX\r\n"),
            Command::new("A142", CommandBody::select("INBOX").expect("valid")).expect("valid")
        );
        assert_eq!(
            decode(b"A932 EXAMINE blurdybloop\r\n").body.name(),
            "EXAMINE"
        );
        // RFC 7162 §3.1.2 and §3.2.5.1.
        let CommandBody::Select { parameters, .. } = decode(b"a SELECT INBOX (CONDSTORE)\r\n").body
        else {
            panic!()
        };
        assert_eq!(parameters, [SelectParameter::CondStore]);
        let CommandBody::Select {
            mailbox,
            parameters,
        } = decode(
            b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        )
        .body
        else {
            panic!()
        };
        assert_eq!(mailbox, Mailbox::Inbox);
        let [
            SelectParameter::QResync {
                uid_validity,
                mod_sequence_value,
                known_uids: Some(known),
                seq_match_data: None,
            },
        ] = parameters.as_slice()
        else {
            panic!("{parameters:?}")
        };
        assert_eq!(uid_validity.get(), 67890007);
        assert_eq!(mod_sequence_value.get(), 20050715194045000);
        assert_eq!(known.0.as_ref().len(), 3);
    }

    #[test]
    fn fetch_with_sections_and_partials() {
        // RFC 3501 §6.4.5.
        let command = decode(b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n");
        let CommandBody::Fetch {
            sequence_set,
            uid: false,
            ..
        } = &command.body
        else {
            panic!("{command:?}")
        };
        assert_eq!(
            sequence_set.0.as_ref(),
            [Sequence::Range(
                SeqOrUid::Value(nz(2)),
                SeqOrUid::Value(nz(4))
            )]
        );
        assert_eq!(
            item_names(&command.body),
            [
                MessageDataItemName::Flags,
                MessageDataItemName::BodyExt {
                    section: Some(Section::HeaderFields(
                        None,
                        vec![
                            AString::try_from("DATE").expect("valid"),
                            AString::try_from("FROM").expect("valid")
                        ]
                        .try_into()
                        .expect("non-empty")
                    )),
                    partial: None,
                    peek: false,
                }
            ]
        );
        let command =
            decode(b"A1 FETCH 1 (BODY.PEEK[1.2.MIME]<0.1024> BODY[TEXT]<512.256> BODY[])\r\n");
        assert_eq!(
            item_names(&command.body),
            [
                MessageDataItemName::BodyExt {
                    section: Some(Section::Mime(Part(
                        vec![nz(1), nz(2)].try_into().expect("non-empty")
                    ))),
                    partial: Some((0, nz(1024))),
                    peek: true,
                },
                MessageDataItemName::BodyExt {
                    section: Some(Section::Text(None)),
                    partial: Some((512, nz(256))),
                    peek: false,
                },
                MessageDataItemName::BodyExt {
                    section: None,
                    partial: None,
                    peek: false,
                },
            ]
        );
        let CommandBody::Fetch {
            macro_or_item_names,
            ..
        } = decode(b"A2 FETCH 1:* ALL\r\n").body
        else {
            panic!()
        };
        assert!(matches!(
            macro_or_item_names,
            MacroOrMessageDataItemNames::Macro(_)
        ));
        // RFC 7162 §3.1.4.1.
        let CommandBody::Fetch { modifiers, .. } =
            decode(b"s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n").body
        else {
            panic!()
        };
        assert_eq!(
            modifiers,
            [FetchModifier::ChangedSince(
                NonZeroU64::new(12345).expect("non-zero")
            )]
        );
    }

    #[test]
    fn uid_fetch() {
        // RFC 3501 §6.4.8.
        let command = decode(b"A999 UID FETCH 4827313:4828442 FLAGS\r\n");
        let CommandBody::Fetch {
            sequence_set,
            uid: true,
            ..
        } = &command.body
        else {
            panic!("{command:?}")
        };
        assert_eq!(
            sequence_set.0.as_ref(),
            [Sequence::Range(
                SeqOrUid::Value(nz(4827313)),
                SeqOrUid::Value(nz(4828442))
            )]
        );
        assert_eq!(item_names(&command.body), [MessageDataItemName::Flags]);
    }

    #[test]
    fn store_silent() {
        // RFC 3501 §6.4.6.
        let CommandBody::Store {
            kind,
            response,
            flags,
            uid,
            modifiers,
            ..
        } = decode(b"A003 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n").body
        else {
            panic!()
        };
        assert_eq!(
            (kind, response, flags, uid),
            (
                StoreType::Add,
                StoreResponse::Silent,
                vec![Flag::Deleted],
                false
            )
        );
        assert!(modifiers.is_empty());
        // RFC 7162 §3.1.3.
        let CommandBody::Store {
            kind, modifiers, ..
        } = decode(b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) -FLAGS (\\Deleted $Junk)\r\n")
            .body
        else {
            panic!()
        };
        assert_eq!(kind, StoreType::Remove);
        assert_eq!(modifiers, [StoreModifier::UnchangedSince(320162338)]);
    }

    #[test]
    fn search() {
        // RFC 3501 §6.4.4.
        let CommandBody::Search {
            charset: None,
            criteria,
            uid: false,
        } = decode(b"A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n").body
        else {
            panic!()
        };
        let keys = criteria.as_ref();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0], SearchKey::Flagged);
        assert!(matches!(keys[1], SearchKey::Since(_)));
        let SearchKey::Not(not) = &keys[2] else {
            panic!("{keys:?}")
        };
        let SearchKey::From(from) = not.as_ref() else {
            panic!("{keys:?}")
        };
        assert_eq!(from.as_ref(), b"Smith");
        // UTF-8 text in a literal.
        let bytes = framed("A284 UID SEARCH CHARSET UTF-8 TEXT {6}\r\ncittà\r\n".as_bytes());
        let command = decode_command(&bytes).expect("decodes").command;
        let CommandBody::Search {
            charset: Some(charset),
            criteria,
            uid: true,
        } = command.body
        else {
            panic!("{command:?}")
        };
        assert_eq!(charset.as_ref(), "UTF-8");
        let [SearchKey::Text(text)] = criteria.as_ref() else {
            panic!("{criteria:?}")
        };
        assert_eq!(text.as_ref(), "città".as_bytes());
    }

    #[test]
    fn append_with_literal_and_literal_plus() {
        let message = b"From: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n";
        for plus in ["", "+"] {
            let mut input = format!(
                "A003 APPEND saved-messages (\\Seen) \"07-Feb-1994 21:52:25 -0800\" {{{}{plus}}}\r\n",
                message.len()
            )
            .into_bytes();
            input.extend_from_slice(message);
            input.extend_from_slice(b"\r\n");
            let bytes = framed(&input);
            let command = decode_command(&bytes).expect("decodes").command;
            let CommandBody::Append {
                mailbox,
                flags,
                date,
                message: LiteralOrLiteral8::Literal(literal),
            } = command.body
            else {
                panic!("{command:?}")
            };
            assert_eq!(mailbox, Mailbox::try_from("saved-messages").expect("valid"));
            assert_eq!(flags, [Flag::Seen]);
            assert!(date.is_some());
            assert_eq!(literal.data(), message);
            let mode = if plus.is_empty() {
                LiteralMode::Sync
            } else {
                LiteralMode::NonSync
            };
            assert_eq!(literal.mode(), mode);
        }
        // BINARY's literal8 may hold NUL.
        let bytes = framed(b"A4 APPEND INBOX ~{3+}\r\na\0b\r\n");
        let command = decode_command(&bytes).expect("decodes").command;
        let CommandBody::Append {
            message: LiteralOrLiteral8::Literal8(literal),
            ..
        } = command.body
        else {
            panic!("{command:?}")
        };
        assert_eq!(literal.data.as_ref(), b"a\0b");
    }

    #[test]
    fn idle_and_done() {
        // RFC 2177 §3.
        assert_eq!(decode(b"A001 IDLE\r\n").body, CommandBody::Idle);
        assert_eq!(decode_idle_done(b"DONE\r\n"), Ok(()));
        assert_eq!(decode_idle_done(b"done\r\n"), Ok(()));
        assert_eq!(decode_idle_done(b"A002 NOOP\r\n"), Err(NotDone));
        assert_eq!(decode_idle_done(b"DONE\r\nX"), Err(NotDone));
    }

    #[test]
    fn authenticate_plain() {
        // RFC 4959 §3, SASL-IR.
        let command = decode(b"a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n");
        let CommandBody::Authenticate {
            mechanism: AuthMechanism::Plain,
            initial_response: Some(response),
        } = command.body
        else {
            panic!("{command:?}")
        };
        assert_eq!(response.declassify().as_ref(), b"test\0test\0test");
        // Without an initial response, it comes after the continuation.
        let CommandBody::Authenticate {
            mechanism: AuthMechanism::Plain,
            initial_response: None,
        } = decode(b"a02 authenticate plain\r\n").body
        else {
            panic!()
        };
        let AuthenticateData::Continue(response) =
            decode_authenticate_data(b"dGVzdAB0ZXN0AHRlc3Q=\r\n").expect("base64")
        else {
            panic!()
        };
        assert_eq!(response.declassify().as_ref(), b"test\0test\0test");
        assert_eq!(
            decode_authenticate_data(b"*\r\n"),
            Ok(AuthenticateData::Cancel)
        );
        assert_eq!(
            decode_authenticate_data(b"not base64!\r\n"),
            Err(BadAuthenticateData)
        );
    }

    #[test]
    fn enable() {
        // RFC 5161 §4, RFC 9051 §6.3.1.
        let CommandBody::Enable { capabilities } =
            decode(b"t2 ENABLE CONDSTORE X-GOOD-IDEA\r\n").body
        else {
            panic!()
        };
        assert_eq!(capabilities.as_ref()[0], CapabilityEnable::CondStore);
        let CommandBody::Enable { capabilities } =
            decode(b"A1 ENABLE IMAP4rev2 UTF8=ACCEPT\r\n").body
        else {
            panic!()
        };
        assert_eq!(
            capabilities.as_ref()[1],
            CapabilityEnable::Utf8(Utf8Kind::Accept)
        );
        assert!(
            capabilities.as_ref()[0]
                .to_string()
                .eq_ignore_ascii_case("IMAP4rev2")
        );
    }

    #[test]
    fn id() {
        // RFC 2971 §3.1.
        let CommandBody::Id {
            parameters: Some(parameters),
        } = decode(
            b"a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n",
        )
        .body
        else {
            panic!()
        };
        assert_eq!(parameters.len(), 3);
        let (key, value) = &parameters[1];
        assert_eq!(key, &IString::try_from("version").expect("valid"));
        assert_eq!(
            value,
            &NString(Some(IString::try_from("19.34").expect("valid")))
        );
        assert_eq!(
            decode(b"a024 ID NIL\r\n").body,
            CommandBody::Id { parameters: None }
        );
    }

    #[test]
    fn every_other_command() {
        for (line, name) in [
            (&b"a CAPABILITY\r\n"[..], "CAPABILITY"),
            (b"a NOOP\r\n", "NOOP"),
            (b"a LOGOUT\r\n", "LOGOUT"),
            (b"a STARTTLS\r\n", "STARTTLS"),
            (b"a CREATE owatagusiam/\r\n", "CREATE"),
            (b"a DELETE blurdybloop\r\n", "DELETE"),
            (b"a RENAME INBOX old-mail\r\n", "RENAME"),
            (b"a SUBSCRIBE #news.comp.mail.mime\r\n", "SUBSCRIBE"),
            (b"a UNSUBSCRIBE #news.comp.mail.mime\r\n", "UNSUBSCRIBE"),
            (b"a LIST \"\" *\r\n", "LIST"),
            (b"a LIST \"\" \"%\"\r\n", "LIST"),
            (b"a LSUB \"#news.\" \"comp.mail.*\"\r\n", "LSUB"),
            (b"a NAMESPACE\r\n", "NAMESPACE"),
            (b"a CHECK\r\n", "CHECK"),
            (b"a CLOSE\r\n", "CLOSE"),
            (b"a UNSELECT\r\n", "UNSELECT"),
            (b"a EXPUNGE\r\n", "EXPUNGE"),
            (b"a UID EXPUNGE 3000:3002\r\n", "EXPUNGE"),
            (b"a COPY 2:4 MEETING\r\n", "COPY"),
            (b"a UID COPY 2:4 MEETING\r\n", "COPY"),
            (b"a MOVE 1:3 Trash\r\n", "MOVE"),
            (b"a UID MOVE 42:69 foo\r\n", "MOVE"),
            (b"a GETQUOTAROOT INBOX\r\n", "GETQUOTAROOT"),
            (b"a GETQUOTA \"\"\r\n", "GETQUOTA"),
            (b"a SEARCH 1:* MODSEQ 620162338\r\n", "SEARCH"),
        ] {
            let command = decode(line);
            assert_eq!(command.tag.inner(), "a");
            assert_eq!(
                command.body.name(),
                name,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        let CommandBody::Status { item_names, .. } =
            decode(b"a STATUS blurdybloop (UIDNEXT MESSAGES SIZE HIGHESTMODSEQ)\r\n").body
        else {
            panic!()
        };
        assert_eq!(
            item_names.as_ref(),
            [
                StatusDataItemName::UidNext,
                StatusDataItemName::Messages,
                StatusDataItemName::Size,
                StatusDataItemName::HighestModSeq,
            ]
        );
        assert!(matches!(
            decode(b"a UID EXPUNGE 3000:3002\r\n").body,
            CommandBody::ExpungeUid { .. }
        ));
        // UTF-8 mailbox names (IMAP4rev2, UTF8=ACCEPT).
        let CommandBody::Create {
            mailbox: Mailbox::Other(name),
        } = decode("a CREATE \"Città/Protocollo\"\r\n".as_bytes()).body
        else {
            panic!()
        };
        assert_eq!(name.as_ref(), "Città/Protocollo".as_bytes());
        // A bare LF ends a line too (`nc` without `-C`).
        assert_eq!(decode(b"a NOOP\n").body, CommandBody::Noop);
    }

    #[test]
    fn malformed_commands_keep_their_tag() {
        let error = |bytes: &[u8]| decode_command(bytes).expect_err("malformed");
        let tag = |t: &str| Some(Tag::try_from(t.to_string()).expect("valid"));
        assert_eq!(
            error(b"a1 FROB\r\n"),
            DecodeError {
                tag: tag("a1"),
                command: None
            }
        );
        assert_eq!(error(b"a1 FROB\r\n").to_string(), "unknown command");
        let bad = error(b"a2 select\r\n");
        assert_eq!((bad.tag, bad.command), (tag("a2"), Some("SELECT")));
        assert_eq!(
            error(b"a2 select\r\n").to_string(),
            "invalid arguments to SELECT"
        );
        assert_eq!(error(b"a3 uid fetch x\r\n").command, Some("UID FETCH"));
        assert_eq!(error(b"a3 UID FROB 1\r\n").command, None);
        assert_eq!(error(b"a4 LOGIN {5-}\r\n").command, Some("LOGIN"));
        assert_eq!(error(b"a5 NOOP\r\na6 NOOP\r\n").tag, tag("a5"));
        assert_eq!(error(b"a7 NOOP").tag, tag("a7"));
        assert_eq!(error(b"a8 FETCH 0 FLAGS\r\n").command, Some("FETCH"));
        assert_eq!(error(b"a9 SELECT \xff\xfe\r\n").tag, tag("a9"));
        assert_eq!(error(b"NOOP\r\n").tag, tag("NOOP"));
        assert_eq!(error(b"a10\r\n").tag, tag("a10"));
        for untagged in [&b"\r\n"[..], b"* NOOP\r\n", b"+ NOOP\r\n", b"\xff NOOP\r\n"] {
            assert_eq!(error(untagged).tag, None);
        }
    }

    #[test]
    fn decode_encode_decode() {
        for line in [
            &b"a001 LOGIN SMITH SESAME\r\n"[..],
            b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
            b"A1 FETCH 1 (BODY.PEEK[1.2.MIME]<0.1024> BINARY[1] BINARY.SIZE[1] MODSEQ)\r\n",
            b"A003 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n",
            b"A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
            b"A283 SEARCH OR (HEADER Subject x LARGER 5) BODY y UNKEYWORD $Junk\r\n",
            b"A APPEND INBOX (\\Seen) {5+}\r\nhello\r\n",
            b"a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
            b"a023 ID (\"name\" \"sodr\")\r\n",
            b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        ] {
            let command = decode(line);
            let encoded = CommandCodec::new().encode(&command).dump();
            assert_eq!(
                decode_command(&encoded).map(|decoded| decoded.command),
                Ok(command),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

//! IMAP wire syntax for the message descriptions delivery stored
//! (`postino_common::mime`): ENVELOPE, BODY and BODYSTRUCTURE
//! (RFC 9051 §7.5.2, RFC 3501 §7.4.2) and the strings they are made of.
//! Pure: it appends bytes to a buffer and knows nothing of sessions.
//!
//! Media types, subtypes, parameter names and disposition types go out
//! lowercase, as messages mostly write them and Dovecot sends them; values
//! go out as sent. `utf8` says
//! the client enabled UTF8=ACCEPT or IMAP4rev2 (RFC 9051 §6.3.1, RFC 6855):
//! then decoded names and parameter values are sent as UTF-8; otherwise names
//! become RFC 2047 encoded-words and parameter values RFC 2231 extended
//! values, and raw 8-bit text (header values as sent) goes in literals.

use postino_common::mime::{
    Address, Disposition, Envelope, Kind, Mailbox, Param, Part, encoded_word, rfc2231_value,
};

/// Longer strings go as literals: clients read quoted strings into line
/// buffers.
const MAX_QUOTED: usize = 1000;

/// The most levels of nesting a BODY or BODYSTRUCTURE shows. Clients read
/// it recursively and bound the recursion: imap-codec (its `body(8)`)
/// reads seven levels and refuses the whole response beyond. Delivery keeps deeper structures
/// (`postino_common::mime::MAX_DEPTH`, and descriptions stored before this
/// limit); a multipart or message part on the last level goes out as an
/// `application/octet-stream` leaf, as delivery describes parts nested
/// deeper than it reads. Part numbers in sections are unaffected.
const MAX_LEVELS: usize = 7;

/// Appends an IMAP string: NIL for None, a quoted string when it is safe (no
/// CR/LF/NUL, length <= 1000, ASCII — or UTF-8 when `utf8` is true), else a
/// literal `{n}\r\n...`. A literal cannot carry NUL (RFC 9051 `CHAR8`):
/// NUL bytes are dropped.
pub fn write_nstring(out: &mut Vec<u8>, s: Option<&[u8]>, utf8: bool) {
    match s {
        Some(s) => write_string(out, s, utf8),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Appends an IMAP string, quoted or literal as [`write_nstring`] decides.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], utf8: bool) {
    let quotable = s.len() <= MAX_QUOTED
        && !s.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
        && (s.is_ascii() || utf8 && std::str::from_utf8(s).is_ok());
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        let length = s.iter().filter(|&&b| b != 0).count();
        out.extend_from_slice(format!("{{{length}}}\r\n").as_bytes());
        out.extend(s.iter().filter(|&&b| b != 0));
    }
}

/// Appends `(date subject from sender reply-to to cc bcc in-reply-to
/// message-id)`.
pub fn write_envelope(out: &mut Vec<u8>, env: &Envelope, utf8: bool) {
    fn raw(s: &Option<String>) -> Option<&[u8]> {
        s.as_deref().map(str::as_bytes)
    }
    out.push(b'(');
    write_nstring(out, raw(&env.date), utf8);
    out.push(b' ');
    write_nstring(out, raw(&env.subject), utf8);
    for list in [
        &env.from,
        &env.sender,
        &env.reply_to,
        &env.to,
        &env.cc,
        &env.bcc,
    ] {
        out.push(b' ');
        write_addresses(out, list, utf8);
    }
    out.push(b' ');
    write_nstring(out, raw(&env.in_reply_to), utf8);
    out.push(b' ');
    write_nstring(out, raw(&env.message_id), utf8);
    out.push(b')');
}

/// Appends the BODYSTRUCTURE of `part` (`extended`), or its BODY: the same
/// without extension data.
pub fn write_body_structure(out: &mut Vec<u8>, part: &Part, extended: bool, utf8: bool) {
    write_structure(out, part, extended, utf8, 0);
}

/// [`write_body_structure`] for a part `depth` levels below the top.
fn write_structure(out: &mut Vec<u8>, part: &Part, extended: bool, utf8: bool, depth: usize) {
    let nests = matches!(part.kind, Kind::Multipart(_) | Kind::Message { .. });
    if nests && depth + 1 >= MAX_LEVELS {
        let leaf = Part {
            media_type: "application".to_string(),
            subtype: "octet-stream".to_string(),
            params: Vec::new(),
            kind: Kind::Basic,
            ..part.clone()
        };
        return write_structure(out, &leaf, extended, utf8, depth);
    }
    out.push(b'(');
    match &part.kind {
        Kind::Multipart(children) => {
            // body-type-mpart = 1*body SP media-subtype: no space between
            // the bodies.
            for child in children {
                write_structure(out, child, extended, utf8, depth + 1);
            }
            out.push(b' ');
            write_lower(out, &part.subtype, utf8);
            if extended {
                out.push(b' ');
                write_params(out, &part.params, utf8);
                write_part_tail(out, part, utf8);
            }
        }
        single => {
            match single {
                Kind::Text { .. } => out.extend_from_slice(b"\"text\" "),
                Kind::Message { .. } => out.extend_from_slice(b"\"message\" "),
                _ => {
                    write_lower(out, &part.media_type, utf8);
                    out.push(b' ');
                }
            }
            match single {
                Kind::Message { .. } => out.extend_from_slice(b"\"rfc822\""),
                _ => write_lower(out, &part.subtype, utf8),
            }
            out.push(b' ');
            write_body_fields(out, part, utf8);
            match single {
                Kind::Text { lines } => {
                    out.push(b' ');
                    write_number(out, *lines);
                }
                Kind::Message {
                    envelope,
                    root,
                    lines,
                } => {
                    out.push(b' ');
                    write_envelope(out, envelope, utf8);
                    out.push(b' ');
                    write_structure(out, root, extended, utf8, depth + 1);
                    out.push(b' ');
                    write_number(out, *lines);
                }
                _ => {}
            }
            if extended {
                out.push(b' ');
                write_nstring(out, part.md5.as_deref().map(str::as_bytes), utf8);
                write_part_tail(out, part, utf8);
            }
        }
    }
    out.push(b')');
}

/// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP
/// body-fld-enc SP body-fld-octets`
fn write_body_fields(out: &mut Vec<u8>, part: &Part, utf8: bool) {
    write_params(out, &part.params, utf8);
    out.push(b' ');
    write_nstring(out, part.id.as_deref().map(str::as_bytes), utf8);
    out.push(b' ');
    write_nstring(out, part.description.as_deref().map(str::as_bytes), utf8);
    out.push(b' ');
    let encoding = part.encoding.as_deref().unwrap_or("7bit");
    write_lower(out, encoding, utf8);
    out.push(b' ');
    write_number(out, part.size());
}

/// The extension data both part kinds end with: `SP body-fld-dsp SP
/// body-fld-lang SP body-fld-loc`.
fn write_part_tail(out: &mut Vec<u8>, part: &Part, utf8: bool) {
    out.push(b' ');
    match &part.disposition {
        Some(Disposition { kind, params }) => {
            out.push(b'(');
            write_lower(out, kind, utf8);
            out.push(b' ');
            write_params(out, params, utf8);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    if part.language.is_empty() {
        out.extend_from_slice(b"NIL");
    } else {
        out.push(b'(');
        for (i, tag) in part.language.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            write_string(out, tag.as_bytes(), utf8);
        }
        out.push(b')');
    }
    out.push(b' ');
    write_nstring(out, part.location.as_deref().map(str::as_bytes), utf8);
}

/// `body-fld-param`: NIL when empty. A value that is not ASCII goes to a
/// client without UTF-8 as an RFC 2231 extended value, `NAME*`.
fn write_params(out: &mut Vec<u8>, params: &[Param], utf8: bool) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if utf8 || value.is_ascii() {
            write_lower(out, name, utf8);
            out.push(b' ');
            write_string(out, value.as_bytes(), utf8);
        } else {
            write_lower(out, &format!("{name}*"), utf8);
            out.push(b' ');
            write_string(out, rfc2231_value(value).as_bytes(), utf8);
        }
    }
    out.push(b')');
}

/// An address list: NIL when empty, else the addresses with no space
/// between them (`env-from = "(" 1*address ")" / nil`). A group is a start
/// marker with the group name as mailbox and a NIL host, its members, and an
/// all-NIL end marker (RFC 3501 §7.4.2).
fn write_addresses(out: &mut Vec<u8>, list: &[Address], utf8: bool) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for address in list {
        match address {
            Address::Mailbox(mailbox) => write_mailbox(out, mailbox, utf8),
            Address::Group(group) => {
                out.extend_from_slice(b"(NIL NIL ");
                write_text(out, &group.name, utf8);
                out.extend_from_slice(b" NIL)");
                for member in &group.members {
                    write_mailbox(out, member, utf8);
                }
                out.extend_from_slice(b"(NIL NIL NIL NIL)");
            }
        }
    }
    out.push(b')');
}

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`
fn write_mailbox(out: &mut Vec<u8>, mailbox: &Mailbox, utf8: bool) {
    out.push(b'(');
    match &mailbox.name {
        Some(name) => write_text(out, name, utf8),
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    match &mailbox.route {
        Some(route) => write_string(out, route.as_bytes(), utf8),
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    write_string(out, mailbox.mailbox.as_bytes(), utf8);
    out.push(b' ');
    write_string(out, mailbox.host.as_bytes(), utf8);
    out.push(b')');
}

/// Decoded text (a display or group name): as it is when the client takes
/// UTF-8 or it is ASCII, else as encoded-words.
fn write_text(out: &mut Vec<u8>, text: &str, utf8: bool) {
    if utf8 || text.is_ascii() {
        write_string(out, text.as_bytes(), utf8);
    } else {
        write_string(out, encoded_word(text).as_bytes(), utf8);
    }
}

fn write_lower(out: &mut Vec<u8>, s: &str, utf8: bool) {
    write_string(out, s.to_ascii_lowercase().as_bytes(), utf8);
}

fn write_number(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(n.to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use imap_codec::ResponseCodec;
    use imap_codec::decode::Decoder;
    use imap_codec::imap_types::body::{BodyStructure, SpecificFields};
    use imap_codec::imap_types::core::{IString, NString};
    use imap_codec::imap_types::envelope::{Address as ImapAddress, Envelope as ImapEnvelope};
    use imap_codec::imap_types::fetch::MessageDataItem;
    use imap_codec::imap_types::response::{Data, Response};
    use postino_common::mime::parse;

    use super::*;

    /// Plain text, an alternative with an inline image, an attachment with a
    /// non-ASCII name, and a forwarded message; encoded names and a group.
    const MIXED: &str = "From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\n\
To: undisclosed-recipients:;\n\
Cc: Team: Ann <ann@example.org>, bob@example.org;\n\
Subject: =?UTF-8?Q?Caf=C3=A9?=\n\
Date: Sat, 8 Mar 2025 10:00:00 +0100\n\
Message-ID: <m1@example.de>\n\
Content-Type: multipart/mixed; boundary=\"top\"\n\
\n\
--top\n\
Content-Type: multipart/alternative; boundary=\"alt\"\n\
\n\
--alt\n\
Content-Type: text/plain; charset=utf-8\n\
\n\
Hello.\n\
--alt\n\
Content-Type: text/html; charset=utf-8\n\
Content-Language: en\n\
\n\
<p>Hello.</p>\n\
--alt--\n\
--top\n\
Content-Type: application/pdf\n\
Content-Transfer-Encoding: base64\n\
Content-Disposition: attachment; filename*=utf-8''caf%C3%A9.pdf\n\
\n\
JVBERi0=\n\
--top\n\
Content-Type: message/rfc822\n\
\n\
From: Mallory <mallory@example.net>\n\
Subject: Plans\n\
\n\
Meet at six.\n\
--top--\n";

    fn crlf(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    fn string(part: &Part, extended: bool, utf8: bool) -> String {
        let mut out = Vec::new();
        write_body_structure(&mut out, part, extended, utf8);
        String::from_utf8(out).unwrap()
    }

    /// Wraps `item` in a FETCH response and has imap-codec parse it.
    fn decode(item: &[u8]) -> MessageDataItem<'static> {
        let mut line = b"* 1 FETCH (".to_vec();
        line.extend_from_slice(item);
        line.extend_from_slice(b")\r\n");
        let (rest, response) = ResponseCodec::new()
            .decode_static(&line)
            .unwrap_or_else(|err| panic!("{err:?}: {}", String::from_utf8_lossy(&line)));
        assert!(rest.is_empty());
        let Response::Data(Data::Fetch { items, .. }) = response else {
            panic!("not a FETCH: {response:?}")
        };
        items.into_inner().remove(0)
    }

    fn structure(part: &Part, extended: bool, utf8: bool) -> BodyStructure<'static> {
        let mut item = if extended {
            b"BODYSTRUCTURE ".to_vec()
        } else {
            b"BODY ".to_vec()
        };
        write_body_structure(&mut item, part, extended, utf8);
        match decode(&item) {
            MessageDataItem::BodyStructure(s) if extended => s,
            MessageDataItem::Body(s) if !extended => s,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn envelope(env: &Envelope, utf8: bool) -> ImapEnvelope<'static> {
        let mut item = b"ENVELOPE ".to_vec();
        write_envelope(&mut item, env, utf8);
        match decode(&item) {
            MessageDataItem::Envelope(e) => e,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn text<'a>(s: &'a IString<'_>) -> &'a str {
        std::str::from_utf8(s.as_ref()).unwrap()
    }

    fn ntext<'a>(s: &'a NString<'_>) -> Option<&'a str> {
        s.0.as_ref().map(text)
    }

    fn addr(a: &ImapAddress<'_>) -> [Option<String>; 4] {
        [&a.name, &a.adl, &a.mailbox, &a.host].map(|s| ntext(s).map(str::to_string))
    }

    fn quad(name: Option<&str>, mailbox: Option<&str>, host: Option<&str>) -> [Option<String>; 4] {
        [name, None, mailbox, host].map(|s| s.map(str::to_string))
    }

    /// Walks the parsed BODYSTRUCTURE next to the model it was rendered from.
    fn check(decoded: &BodyStructure<'_>, part: &Part, extended: bool, utf8: bool) {
        match (decoded, &part.kind) {
            (
                BodyStructure::Multi {
                    bodies,
                    subtype,
                    extension_data,
                },
                Kind::Multipart(children),
            ) => {
                assert!(text(subtype).eq_ignore_ascii_case(&part.subtype));
                assert_eq!(bodies.as_ref().len(), children.len());
                for (decoded, child) in bodies.as_ref().iter().zip(children) {
                    check(decoded, child, extended, utf8);
                }
                assert_eq!(extension_data.is_some(), extended);
                if let Some(ext) = extension_data {
                    assert_eq!(ext.parameter_list.len(), part.params.len());
                }
            }
            (
                BodyStructure::Single {
                    body,
                    extension_data,
                },
                kind,
            ) => {
                assert_eq!(body.basic.size, part.size());
                assert_eq!(body.basic.parameter_list.len(), part.params.len());
                for ((name, value), (model_name, model_value)) in
                    body.basic.parameter_list.iter().zip(&part.params)
                {
                    if utf8 || model_value.is_ascii() {
                        assert!(text(name).eq_ignore_ascii_case(model_name));
                        assert_eq!(text(value), model_value);
                    } else {
                        assert!(text(name).eq_ignore_ascii_case(&format!("{model_name}*")));
                    }
                }
                assert_eq!(
                    ntext(&body.basic.id),
                    part.id.as_deref(),
                    "Content-ID of {}/{}",
                    part.media_type,
                    part.subtype
                );
                let encoding = part.encoding.as_deref().unwrap_or("7bit");
                assert!(text(&body.basic.content_transfer_encoding).eq_ignore_ascii_case(encoding));
                match (&body.specific, kind) {
                    (
                        SpecificFields::Text {
                            subtype,
                            number_of_lines,
                        },
                        Kind::Text { lines },
                    ) => {
                        assert!(text(subtype).eq_ignore_ascii_case(&part.subtype));
                        assert_eq!(number_of_lines, lines);
                    }
                    (
                        SpecificFields::Message {
                            envelope,
                            body_structure,
                            number_of_lines,
                        },
                        Kind::Message {
                            envelope: model_envelope,
                            root,
                            lines,
                        },
                    ) => {
                        assert_eq!(number_of_lines, lines);
                        assert_eq!(ntext(&envelope.subject), model_envelope.subject.as_deref());
                        check(body_structure, root, extended, utf8);
                    }
                    (SpecificFields::Basic { r#type, subtype }, Kind::Basic) => {
                        assert!(text(r#type).eq_ignore_ascii_case(&part.media_type));
                        assert!(text(subtype).eq_ignore_ascii_case(&part.subtype));
                    }
                    (decoded, kind) => panic!("{decoded:?} rendered from {kind:?}"),
                }
                assert_eq!(extension_data.is_some(), extended);
                if let Some(ext) = extension_data {
                    assert_eq!(ntext(&ext.md5), part.md5.as_deref());
                    let tail = ext.tail.as_ref().unwrap();
                    assert_eq!(
                        tail.disposition
                            .as_ref()
                            .map(|(kind, _)| text(kind).to_ascii_lowercase()),
                        part.disposition.as_ref().map(|d| d.kind.clone())
                    );
                    let language = tail.tail.as_ref().unwrap();
                    let tags: Vec<&str> = language.language.iter().map(text).collect();
                    assert_eq!(tags, part.language);
                    let location = language.tail.as_ref().unwrap();
                    assert_eq!(ntext(&location.location), part.location.as_deref());
                }
            }
            (decoded, kind) => panic!("{decoded:?} rendered from {kind:?}"),
        }
    }

    #[test]
    fn strings_quoted_or_literal() {
        let render = |s: Option<&[u8]>, utf8| {
            let mut out = Vec::new();
            write_nstring(&mut out, s, utf8);
            out
        };
        assert_eq!(render(None, false), b"NIL");
        assert_eq!(render(Some(b""), false), b"\"\"");
        assert_eq!(render(Some(b"abc"), false), b"\"abc\"");
        assert_eq!(render(Some(br#"a"b\c"#), false), br#""a\"b\\c""#);
        assert_eq!(render(Some(b"a\r\nb"), true), b"{4}\r\na\r\nb");
        assert_eq!(
            render(Some("café".as_bytes()), false),
            "{5}\r\ncafé".as_bytes()
        );
        assert_eq!(render(Some("café".as_bytes()), true), "\"café\"".as_bytes());
        // Not UTF-8: a literal even for a UTF-8 client.
        assert_eq!(render(Some(b"caf\xe9"), true), b"{4}\r\ncaf\xe9");
        assert_eq!(render(Some(b"a\0b"), false), b"{2}\r\nab");
        let long = vec![b'x'; MAX_QUOTED + 1];
        assert!(render(Some(&long), false).starts_with(b"{1001}\r\nxxx"));
        assert_eq!(render(Some(&long[1..]), false).len(), MAX_QUOTED + 2);
    }

    #[test]
    fn envelope_known_answer() {
        let raw = crlf(
            "From: Alice Martin <alice@example.org>\n\
To: bob@example.com, \"Carol \\\"C\\\"\" <carol@example.com>, <@relay.example:dan@example.net>\n\
Subject: Lunch\n\
Date: Tue, 4 Mar 2025 12:30:00 +0100\n\
In-Reply-To: <x@example.org>\n\
Message-ID: <lunch-1@example.org>\n\
\n\
Hi\n",
        );
        let p = parse(&raw);
        let mut out = Vec::new();
        write_envelope(&mut out, &p.envelope, false);
        let alice = r#"(("Alice Martin" NIL "alice" "example.org"))"#;
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                r#"("Tue, 4 Mar 2025 12:30:00 +0100" "Lunch" {alice} {alice} {alice} ((NIL NIL "bob" "example.com")("Carol \"C\"" NIL "carol" "example.com")(NIL "@relay.example" "dan" "example.net")) NIL NIL "<x@example.org>" "<lunch-1@example.org>")"#
            )
        );
    }

    #[test]
    fn body_structure_known_answer() {
        let raw = crlf(
            "Content-Type: multipart/alternative; boundary=\"alt-1\"\n\
\n\
--alt-1\n\
\n\
Notes attached below.\n\
Thanks!\n\
--alt-1\n\
Content-Type: image/png; name=logo.png\n\
Content-Transfer-Encoding: base64\n\
Content-ID: <logo@x>\n\
Content-Disposition: inline\n\
\n\
iVBORw0K\n\
--alt-1--\n",
        );
        let p = parse(&raw);
        assert_eq!(
            string(&p.structure, true, false),
            concat!(
                r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 30 1 NIL NIL NIL NIL)"#,
                r#"("image" "png" ("name" "logo.png") "<logo@x>" NIL "base64" 8 NIL ("inline" NIL) NIL NIL)"#,
                r#" "alternative" ("boundary" "alt-1") NIL NIL NIL)"#
            )
        );
        assert_eq!(
            string(&p.structure, false, false),
            concat!(
                r#"(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 30 1)"#,
                r#"("image" "png" ("name" "logo.png") "<logo@x>" NIL "base64" 8) "alternative")"#
            )
        );
    }

    #[test]
    fn message_rfc822_known_answer() {
        let raw = crlf(
            "Content-Type: message/rfc822\n\
\n\
Subject: inner\n\
\n\
hello\n",
        );
        let p = parse(&raw);
        assert_eq!(
            string(&p.structure, false, false),
            concat!(
                r#"("message" "rfc822" NIL NIL NIL "7bit" 25 "#,
                r#"(NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) "#,
                r#"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1) 3)"#
            )
        );
    }

    #[test]
    fn imap_codec_accepts_what_we_render() {
        let raw = crlf(MIXED);
        let p = parse(&raw);
        for utf8 in [false, true] {
            for extended in [false, true] {
                let decoded = structure(&p.structure, extended, utf8);
                check(&decoded, &p.structure, extended, utf8);
            }
        }
        let corpus = [
            "Subject: plain\n\nNo Content-Type at all.\n",
            "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\nContent-Description: caf\u{e9}\n\ncaf=E9\n",
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nunclosed\n",
            "Content-Type: multipart/mixed\n\nno boundary\n",
            "",
        ];
        for message in corpus {
            let raw = crlf(message);
            let p = parse(&raw);
            for utf8 in [false, true] {
                for extended in [false, true] {
                    check(
                        &structure(&p.structure, extended, utf8),
                        &p.structure,
                        extended,
                        utf8,
                    );
                }
                let env = envelope(&p.envelope, utf8);
                assert_eq!(ntext(&env.subject), p.envelope.subject.as_deref());
            }
        }
    }

    #[test]
    fn names_and_parameters_for_ascii_and_utf8_clients() {
        let raw = crlf(MIXED);
        let p = parse(&raw);

        let ascii = envelope(&p.envelope, false);
        assert_eq!(ntext(&ascii.subject), Some("=?UTF-8?Q?Caf=C3=A9?="));
        assert_eq!(
            ascii.from.iter().map(addr).collect::<Vec<_>>(),
            [quad(
                Some("=?utf-8?b?SsO8cmdlbiBNw7xsbGVy?="),
                Some("juergen"),
                Some("example.de")
            )]
        );
        // Sender and Reply-To default to From.
        assert_eq!(ascii.sender, ascii.from);
        assert_eq!(ascii.reply_to, ascii.from);
        assert_eq!(
            ascii.to.iter().map(addr).collect::<Vec<_>>(),
            [
                quad(None, Some("undisclosed-recipients"), None),
                quad(None, None, None),
            ]
        );
        assert_eq!(
            ascii.cc.iter().map(addr).collect::<Vec<_>>(),
            [
                quad(None, Some("Team"), None),
                quad(Some("Ann"), Some("ann"), Some("example.org")),
                quad(None, Some("bob"), Some("example.org")),
                quad(None, None, None),
            ]
        );
        assert!(ascii.bcc.is_empty() && ascii.in_reply_to.0.is_none());
        assert_eq!(ntext(&ascii.message_id), Some("<m1@example.de>"));

        let unicode = envelope(&p.envelope, true);
        assert_eq!(
            addr(&unicode.from[0]),
            quad(Some("Jürgen Müller"), Some("juergen"), Some("example.de"))
        );

        let attachment = p.structure.find(&[2]).unwrap();
        let ascii = string(attachment, true, false);
        assert!(
            ascii.contains(r#"("attachment" ("filename*" "utf-8''caf%C3%A9.pdf"))"#),
            "{ascii}"
        );
        let unicode = string(attachment, true, true);
        assert!(
            unicode.contains(r#"("attachment" ("filename" "café.pdf"))"#),
            "{unicode}"
        );
        let BodyStructure::Single { extension_data, .. } = structure(attachment, true, true) else {
            panic!("not a single part")
        };
        let (_, params) = extension_data.unwrap().tail.unwrap().disposition.unwrap();
        assert_eq!(text(&params[0].1), "café.pdf");
    }

    #[test]
    fn raw_8bit_header_text_goes_in_a_literal() {
        let raw = b"Subject: Caf\xc3\xa9\r\nContent-Description: r\xc3\xa9sum\xc3\xa9\r\n\r\nx";
        let p = parse(raw);
        let mut out = Vec::new();
        write_envelope(&mut out, &p.envelope, false);
        assert!(out.starts_with("(NIL {5}\r\nCafé NIL".as_bytes()));
        assert_eq!(ntext(&envelope(&p.envelope, false).subject), Some("Café"));
        let mut out = Vec::new();
        write_envelope(&mut out, &p.envelope, true);
        assert!(out.starts_with("(NIL \"Café\" NIL".as_bytes()));
        assert!(string(&p.structure, false, false).contains("{8}\r\nrésumé"));
        check(
            &structure(&p.structure, true, false),
            &p.structure,
            true,
            false,
        );
    }

    /// Found by the `imap_render` fuzz target: a message nested deeper than
    /// seven levels gave a BODYSTRUCTURE imap-codec refused whole.
    #[test]
    fn deep_nesting_stays_readable() {
        let mut raw = Vec::new();
        for level in 0..12 {
            if level % 2 == 0 {
                raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
            } else {
                raw.extend_from_slice(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n");
            }
        }
        raw.extend_from_slice(b"Subject: deep\r\n\r\nbody\r\n");
        let p = parse(&raw);
        for (extended, utf8) in [(false, false), (true, true)] {
            let mut levels = 0;
            let mut node = structure(&p.structure, extended, utf8);
            loop {
                levels += 1;
                node = match node {
                    BodyStructure::Multi { bodies, .. } => bodies.into_inner().remove(0),
                    BodyStructure::Single {
                        body:
                            imap_codec::imap_types::body::Body {
                                specific: SpecificFields::Message { body_structure, .. },
                                ..
                            },
                        ..
                    } => *body_structure,
                    BodyStructure::Single { .. } => break,
                };
            }
            assert_eq!(levels, MAX_LEVELS);
        }
    }
}

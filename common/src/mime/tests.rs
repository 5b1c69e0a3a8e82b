//! The module over a corpus of real-world MIME shapes (`corpus/`, written
//! with LF line ends and sent through [`crlf`] as mail arrives), broken
//! messages, and random bytes. Offsets are checked by slicing sections and
//! comparing them with the bytes expected; sizes and line counts are
//! counted by hand from the corpus files.

use std::borrow::Cow;

use super::*;

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn corpus(name: &str) -> Vec<u8> {
    let text = match name {
        "plain" => include_str!("corpus/plain.eml"),
        "latin1-qp" => include_str!("corpus/latin1-qp.eml"),
        "alternative" => include_str!("corpus/alternative.eml"),
        "attachment" => include_str!("corpus/attachment.eml"),
        "nested" => include_str!("corpus/nested.eml"),
        "forward" => include_str!("corpus/forward.eml"),
        "encoded-headers" => include_str!("corpus/encoded-headers.eml"),
        _ => panic!("no corpus message {name}"),
    };
    crlf(text)
}

const CORPUS: [&str; 7] = [
    "plain",
    "latin1-qp",
    "alternative",
    "attachment",
    "nested",
    "forward",
    "encoded-headers",
];

fn get<'a>(raw: &'a [u8], p: &Parsed, path: &[u32], text: SectionText) -> Cow<'a, [u8]> {
    section(raw, &p.structure, path, &text)
        .unwrap_or_else(|| panic!("no section {path:?} {text:?}"))
}

fn part<'a>(p: &'a Parsed, path: &[u32]) -> &'a Part {
    p.structure.find(path).unwrap()
}

fn lines(part: &Part) -> u32 {
    match part.kind {
        Kind::Text { lines } | Kind::Message { lines, .. } => lines,
        _ => panic!("{}/{} has no line count", part.media_type, part.subtype),
    }
}

fn mailbox(name: Option<&str>, mailbox: &str, host: &str) -> Address {
    Address::Mailbox(Mailbox {
        name: name.map(str::to_string),
        route: None,
        mailbox: mailbox.into(),
        host: host.into(),
    })
}

fn params(list: &[(&str, &str)]) -> Vec<Param> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Checks what must hold for any message: offsets ordered and inside the
/// message, children inside their parent.
fn assert_sane(raw: &[u8], part: &Part, lo: u32, hi: u32) {
    assert!(
        lo <= part.header_start
            && part.header_start <= part.body_start
            && part.body_start <= part.body_end
            && part.body_end <= hi
            && hi as usize <= raw.len(),
        "bad offsets {}..{}..{} in {lo}..{hi}",
        part.header_start,
        part.body_start,
        part.body_end
    );
    match &part.kind {
        Kind::Multipart(children) => {
            assert!(!children.is_empty());
            for child in children {
                assert_sane(raw, child, part.body_start, part.body_end);
            }
        }
        Kind::Message { root, .. } => {
            assert_eq!(
                (root.header_start, root.body_end),
                (part.body_start, part.body_end)
            );
            assert_sane(raw, root, part.body_start, part.body_end);
        }
        Kind::Basic | Kind::Text { .. } => {}
    }
}

#[test]
fn plain_text_without_content_type() {
    let raw = corpus("plain");
    let p = parse(&raw);
    let alice = mailbox(Some("Alice Martin"), "alice", "example.org");
    assert_eq!(
        p.envelope,
        Envelope {
            date: Some("Tue, 4 Mar 2025 12:30:00 +0100".into()),
            subject: Some("Lunch".into()),
            from: vec![alice.clone()],
            sender: vec![alice.clone()],
            reply_to: vec![alice],
            to: vec![mailbox(None, "bob", "example.com")],
            cc: vec![],
            bcc: vec![],
            in_reply_to: None,
            message_id: Some("<lunch-1@example.org>".into()),
        }
    );
    assert_eq!(p.subject, "Lunch");
    // 2025-03-04T11:30:00Z
    assert_eq!(p.sent_at, Some(1_741_087_800));

    let root = &p.structure;
    assert_eq!(
        (root.media_type.as_str(), root.subtype.as_str()),
        ("text", "plain")
    );
    assert_eq!(root.params, params(&[("charset", "us-ascii")]));
    assert_eq!(root.encoding, None);
    // "Are we still on for lunch?" (26) and "See you at noon." (16), each
    // with CRLF.
    assert_eq!(root.size(), 46);
    assert_eq!(lines(root), 2);

    let body = b"Are we still on for lunch?\r\nSee you at noon.\r\n";
    let header = &raw[..raw.len() - body.len()];
    assert!(header.ends_with(b"<lunch-1@example.org>\r\n\r\n"));
    assert_eq!(get(&raw, &p, &[], SectionText::Full), &raw[..]);
    assert_eq!(get(&raw, &p, &[], SectionText::Header), header);
    assert_eq!(get(&raw, &p, &[], SectionText::Text), &body[..]);
    // Part 1 of a non-multipart message is its body.
    assert_eq!(get(&raw, &p, &[1], SectionText::Full), &body[..]);
    assert_eq!(get(&raw, &p, &[1], SectionText::Mime), header);
    assert_eq!(section(&raw, &p.structure, &[2], &SectionText::Full), None);
    assert_eq!(
        section(&raw, &p.structure, &[1, 1], &SectionText::Full),
        None
    );
    assert_eq!(section(&raw, &p.structure, &[0], &SectionText::Full), None);
    assert_eq!(
        section(&raw, &p.structure, &[1], &SectionText::Header),
        None
    );
    assert_eq!(section(&raw, &p.structure, &[], &SectionText::Mime), None);
    assert_eq!(
        get(
            &raw,
            &p,
            &[],
            SectionText::HeaderFields(vec!["SUBJECT".into(), "message-id".into()])
        ),
        &b"Subject: Lunch\r\nMessage-ID: <lunch-1@example.org>\r\n\r\n"[..]
    );
    assert_eq!(binary(&raw, &p.structure, &[1]), Some(Ok(body.to_vec())));
    assert_eq!(binary(&raw, &p.structure, &[]), Some(Ok(raw.clone())));
    assert_eq!(binary(&raw, &p.structure, &[3]), None);
}

#[test]
fn iso_8859_1_quoted_printable() {
    let raw = corpus("latin1-qp");
    let p = parse(&raw);
    assert_eq!(p.subject, "Café crème");
    assert_eq!(
        p.envelope.subject.as_deref(),
        Some("=?iso-8859-1?q?Caf=E9_cr=E8me?=")
    );
    assert_eq!(
        p.envelope.from,
        vec![mailbox(Some("André Dupré"), "andre", "example.fr")]
    );
    let root = &p.structure;
    assert_eq!(root.params, params(&[("charset", "ISO-8859-1")]));
    assert_eq!(root.encoding.as_deref(), Some("quoted-printable"));
    // 37 + 7 + 9 characters, three CRLFs.
    assert_eq!(root.size(), 59);
    assert_eq!(lines(root), 3);
    assert_eq!(
        binary(&raw, root, &[1]),
        Some(Ok(
            b"Un caf\xe9 cr\xe8me, s'il vous pla\xeet.\r\nMerci beaucoup.\r\n".to_vec()
        ))
    );
}

#[test]
fn multipart_alternative() {
    let raw = corpus("alternative");
    let p = parse(&raw);
    let root = &p.structure;
    assert_eq!(
        (root.media_type.as_str(), root.subtype.as_str()),
        ("multipart", "alternative")
    );
    assert_eq!(root.params, params(&[("boundary", "alt-1")]));
    let Kind::Multipart(children) = &root.kind else {
        panic!("not a multipart")
    };
    assert_eq!(children.len(), 2);

    let text = part(&p, &[1]);
    assert_eq!(
        (text.subtype.as_str(), text.size(), lines(text)),
        ("plain", 30, 1)
    );
    assert_eq!(text.encoding.as_deref(), Some("7bit"));
    let html = part(&p, &[2]);
    assert_eq!(
        (html.subtype.as_str(), html.size(), lines(html)),
        ("html", 44, 1)
    );

    assert_eq!(
        get(&raw, &p, &[1], SectionText::Full),
        &b"Notes attached below.\r\nThanks!"[..]
    );
    assert_eq!(
        get(&raw, &p, &[2], SectionText::Full),
        &b"<p>Notes attached below.</p>\r\n<p>Thanks!</p>"[..]
    );
    assert_eq!(
        get(&raw, &p, &[2], SectionText::Mime),
        &b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"[..]
    );
    let text = get(&raw, &p, &[], SectionText::Text);
    assert!(text.starts_with(b"This is a multi-part message in MIME format.\r\n--alt-1\r\n"));
    assert!(text.ends_with(b"--alt-1--\r\n"));
    assert_eq!(section(&raw, root, &[3], &SectionText::Full), None);
    assert_eq!(section(&raw, root, &[1, 1], &SectionText::Full), None);
}

#[test]
fn multipart_mixed_with_base64_attachment() {
    let raw = corpus("attachment");
    let p = parse(&raw);
    let text = part(&p, &[1]);
    assert_eq!((text.size(), lines(text)), (23, 0));
    assert_eq!(
        get(&raw, &p, &[1], SectionText::Full),
        &b"The report is attached."[..]
    );

    let pdf = part(&p, &[2]);
    assert_eq!(
        (pdf.media_type.as_str(), pdf.subtype.as_str()),
        ("application", "pdf")
    );
    assert_eq!(pdf.kind, Kind::Basic);
    assert_eq!(pdf.params, params(&[("name", "report.pdf")]));
    assert_eq!(pdf.encoding.as_deref(), Some("base64"));
    assert_eq!(pdf.description.as_deref(), Some("Quarterly report"));
    assert_eq!(
        pdf.disposition,
        Some(Disposition {
            kind: "attachment".into(),
            params: params(&[("filename", "report.pdf")]),
        })
    );
    // Two base64 lines of 36 and 28 characters and the CRLF between them.
    assert_eq!(pdf.size(), 66);
    assert_eq!(
        get(&raw, &p, &[2], SectionText::Full),
        &b"JVBERi0xLjQKJeLjz9MKMSAwIG9iago8PC9U\r\neXBlL0NhdGFsb2c+PgplbmRvYmoK"[..]
    );
    assert_eq!(
        binary(&raw, &p.structure, &[2]),
        Some(Ok(
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/Catalog>>\nendobj\n".to_vec()
        ))
    );
}

#[test]
fn related_inside_alternative_inside_mixed() {
    let raw = corpus("nested");
    let p = parse(&raw);
    let kinds: Vec<(&str, &str)> = [&[1][..], &[1, 1], &[1, 2], &[1, 2, 1], &[1, 2, 2], &[2]]
        .iter()
        .map(|path| {
            let part = part(&p, path);
            (part.media_type.as_str(), part.subtype.as_str())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("multipart", "alternative"),
            ("text", "plain"),
            ("multipart", "related"),
            ("text", "html"),
            ("image", "png"),
            ("text", "csv"),
        ]
    );
    assert_eq!(section(&raw, &p.structure, &[3], &SectionText::Full), None);
    assert_eq!(
        section(&raw, &p.structure, &[1, 3], &SectionText::Full),
        None
    );
    assert_eq!(
        section(&raw, &p.structure, &[1, 2, 3], &SectionText::Full),
        None
    );

    assert_eq!(
        get(&raw, &p, &[1, 1], SectionText::Full),
        &b"Plain newsletter."[..]
    );
    assert_eq!(
        get(&raw, &p, &[1, 2, 1], SectionText::Full),
        &b"<img src=\"cid:logo@example.org\">"[..]
    );
    let related = part(&p, &[1, 2]);
    assert_eq!(
        related.params,
        params(&[("boundary", "inner"), ("type", "text/html")])
    );
    let body = get(&raw, &p, &[1, 2], SectionText::Full);
    assert!(body.starts_with(b"--inner\r\n") && body.ends_with(b"--inner--"));

    let png = part(&p, &[1, 2, 2]);
    assert_eq!(png.id.as_deref(), Some("<logo@example.org>"));
    assert_eq!(
        png.disposition.as_ref().map(|d| d.kind.as_str()),
        Some("inline")
    );
    assert_eq!(png.size(), 24);
    assert_eq!(
        binary(&raw, &p.structure, &[1, 2, 2]),
        Some(Ok(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec()))
    );

    let csv = part(&p, &[2]);
    assert_eq!((csv.size(), lines(csv)), (8, 1));
    assert_eq!(get(&raw, &p, &[2], SectionText::Full), &b"a,b\r\n1,2"[..]);
    assert_eq!(csv.language, ["en", "fr"]);
    assert_eq!(csv.location.as_deref(), Some("http://example.org/data.csv"));
    assert_eq!(csv.md5.as_deref(), Some("Q2hlY2sgSW50ZWdyaXR5IQ=="));
    assert_eq!(
        csv.disposition,
        Some(Disposition {
            kind: "attachment".into(),
            params: params(&[("filename", "data.csv"), ("size", "12")]),
        })
    );
    let mime = get(&raw, &p, &[2], SectionText::Mime);
    assert!(mime.starts_with(b"Content-Type: text/csv;"));
    assert!(mime.ends_with(b"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\n"));
}

#[test]
fn forwarded_message_numbering() {
    let raw = corpus("forward");
    let p = parse(&raw);
    let forwarded = part(&p, &[2]);
    assert_eq!(
        (forwarded.media_type.as_str(), forwarded.subtype.as_str()),
        ("message", "rfc822")
    );
    assert_eq!(forwarded.description.as_deref(), Some("Forwarded message"));
    let Kind::Message {
        envelope,
        root,
        lines,
    } = &forwarded.kind
    else {
        panic!("not a message/rfc822 part")
    };
    // Seven header lines, the blank line, nine body lines up to the closing
    // delimiter of the inner multipart.
    assert_eq!(*lines, 17);
    assert_eq!(forwarded.size(), 415);
    assert_eq!(envelope.subject.as_deref(), Some("Plans"));
    assert_eq!(envelope.message_id.as_deref(), Some("<plans@example.net>"));
    assert_eq!(envelope.in_reply_to.as_deref(), Some("<older@example.org>"));
    assert_eq!(
        envelope.to,
        vec![mailbox(Some("Ivan"), "ivan", "example.org")]
    );
    assert_eq!(root.subtype, "alternative");

    let header = get(&raw, &p, &[2], SectionText::Header);
    assert!(header.starts_with(b"From: Mallory <mallory@example.net>\r\n"));
    assert!(header.ends_with(b"boundary=\"inner-fwd\"\r\n\r\n"));
    let text = get(&raw, &p, &[2], SectionText::Text);
    assert!(text.starts_with(b"--inner-fwd\r\n"));
    assert!(text.ends_with(b"--inner-fwd--\r\n"));
    let whole = get(&raw, &p, &[2], SectionText::Full);
    assert_eq!(whole.len(), header.len() + text.len());
    assert_eq!(&whole[..header.len()], &header[..]);

    assert_eq!(
        get(&raw, &p, &[2, 1], SectionText::Full),
        &b"Meet at six."[..]
    );
    assert_eq!(
        get(&raw, &p, &[2, 2], SectionText::Full),
        &b"<b>Meet at six.</b>"[..]
    );
    assert_eq!(
        get(&raw, &p, &[2, 1], SectionText::Mime),
        &b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"[..]
    );
    assert_eq!(
        get(&raw, &p, &[2], SectionText::Mime),
        &b"Content-Type: message/rfc822\r\nContent-Description: Forwarded message\r\n\r\n"[..]
    );
    assert_eq!(
        get(
            &raw,
            &p,
            &[2],
            SectionText::HeaderFields(vec!["subject".into(), "FROM".into()])
        ),
        &b"From: Mallory <mallory@example.net>\r\nSubject: Plans\r\n\r\n"[..]
    );
    let not = get(
        &raw,
        &p,
        &[2],
        SectionText::HeaderFieldsNot(vec!["content-type".into(), "date".into()]),
    );
    assert!(not.starts_with(b"From: Mallory"));
    assert!(!not.windows(5).any(|w| w == b"Date:"));
    assert!(not.ends_with(b"In-Reply-To: <older@example.org>\r\n\r\n"));

    assert_eq!(
        section(&raw, &p.structure, &[2, 3], &SectionText::Full),
        None
    );
    assert_eq!(
        section(&raw, &p.structure, &[2, 1, 1], &SectionText::Full),
        None
    );
    // HEADER and TEXT need a message/rfc822 part.
    assert_eq!(section(&raw, &p.structure, &[1], &SectionText::Text), None);
    assert_eq!(
        section(&raw, &p.structure, &[2, 1], &SectionText::Header),
        None
    );
}

#[test]
fn encoded_words_and_groups() {
    let raw = corpus("encoded-headers");
    let p = parse(&raw);
    assert_eq!(p.subject, "Échange — résumé final");
    assert_eq!(
        p.envelope.subject.as_deref(),
        Some("=?UTF-8?B?w4ljaGFuZ2Ug4oCUIHLDqXN1bcOp?= =?UTF-8?Q?_final?=")
    );
    let juergen = mailbox(Some("Jürgen Müller"), "juergen", "example.de");
    assert_eq!(p.envelope.from, std::slice::from_ref(&juergen));
    assert_eq!(
        p.envelope.sender,
        [mailbox(Some("Françoise"), "francoise", "example.fr")]
    );
    // An empty Reply-To counts as absent.
    assert_eq!(p.envelope.reply_to, [juergen]);
    assert_eq!(
        p.envelope.to,
        [Address::Group(Group {
            name: "undisclosed-recipients".into(),
            members: vec![],
        })]
    );
    let Address::Mailbox(jerome) = mailbox(Some("Jérôme"), "jerome", "example.fr") else {
        unreachable!()
    };
    let Address::Mailbox(zoe) = mailbox(None, "zoe", "example.com") else {
        unreachable!()
    };
    assert_eq!(
        p.envelope.cc,
        [
            Address::Group(Group {
                name: "Team".into(),
                members: vec![jerome, zoe],
            }),
            mailbox(Some("Doe, John"), "john", "example.com"),
        ]
    );
    assert_eq!(p.envelope.bcc, []);
}

#[test]
fn line_without_colon_in_header() {
    let raw =
        b"From: a@example.org\r\nthis line has no colon\r\nSubject: still parsed\r\n\r\nBody\r\n";
    let p = parse(raw);
    assert_eq!(p.subject, "still parsed");
    assert_eq!(p.envelope.from, [mailbox(None, "a", "example.org")]);
    assert_eq!(get(raw, &p, &[], SectionText::Text), &b"Body\r\n"[..]);
    assert_eq!(
        get(
            raw,
            &p,
            &[],
            SectionText::HeaderFieldsNot(vec!["from".into()])
        ),
        &b"Subject: still parsed\r\n\r\n"[..]
    );
}

#[test]
fn header_with_raw_8bit_bytes() {
    let raw = b"Subject: Caf\xe9 au lait\r\nFrom: Ren\xc3\xa9 <rene@example.fr>\r\n\r\nx";
    let p = parse(raw);
    // Not UTF-8: read as ISO-8859-1.
    assert_eq!(p.envelope.subject.as_deref(), Some("Café au lait"));
    assert_eq!(p.subject, "Café au lait");
    // UTF-8 sent raw (RFC 6532) stays as it is.
    assert_eq!(
        p.envelope.from,
        [mailbox(Some("René"), "rene", "example.fr")]
    );
    assert_eq!(get(raw, &p, &[], SectionText::Text), &b"x"[..]);
}

#[test]
fn no_blank_line_between_header_and_body() {
    let raw = b"Subject: hi\r\nFrom: a@example.org\r\nHello there\r\n";
    let p = parse(raw);
    assert_eq!(p.envelope.subject.as_deref(), Some("hi"));
    // Without the blank line everything is header, as in Dovecot.
    assert_eq!(get(raw, &p, &[], SectionText::Header), &raw[..]);
    assert_eq!(get(raw, &p, &[], SectionText::Text), &b""[..]);
    assert_eq!(lines(&p.structure), 0);
}

#[test]
fn bare_lf_line_ends() {
    let raw = b"Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\nContent-Type: text/html\n\n<p>two</p>\n--b--\n";
    let p = parse(raw);
    assert_eq!(
        get(raw, &p, &[], SectionText::Header),
        &b"Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n"[..]
    );
    assert_eq!(get(raw, &p, &[1], SectionText::Full), &b"one"[..]);
    assert_eq!(get(raw, &p, &[1], SectionText::Mime), &b"\n"[..]);
    assert_eq!(part(&p, &[1]).params, params(&[("charset", "us-ascii")]));
    assert_eq!(get(raw, &p, &[2], SectionText::Full), &b"<p>two</p>"[..]);
    assert_eq!((part(&p, &[2]).size(), lines(part(&p, &[2]))), (10, 0));
    // A fetched header subset still ends with CRLF.
    assert_eq!(
        get(
            raw,
            &p,
            &[],
            SectionText::HeaderFields(vec!["subject".into()])
        ),
        &b"Subject: lf\n\r\n"[..]
    );
}

#[test]
fn multipart_whose_boundary_never_closes() {
    let raw = b"Subject: u\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo\r\n";
    let p = parse(raw);
    assert_eq!(p.structure.numbered_children().len(), 2);
    assert_eq!(get(raw, &p, &[1], SectionText::Full), &b"one"[..]);
    assert_eq!(get(raw, &p, &[2], SectionText::Full), &b"two\r\n"[..]);
    assert_eq!(lines(part(&p, &[2])), 1);
}

#[test]
fn multipart_without_usable_boundary_is_plain_text() {
    let missing =
        &b"Subject: u\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\none\r\n--x--\r\n"[..];
    let absent =
        &b"Subject: u\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\njust text\r\n"[..];
    for (raw, size, count) in [(missing, 19, 4), (absent, 11, 1)] {
        let p = parse(raw);
        let root = &p.structure;
        assert_eq!(
            (root.media_type.as_str(), root.subtype.as_str()),
            ("text", "plain")
        );
        assert_eq!(root.params, params(&[("charset", "us-ascii")]));
        assert_eq!((root.size(), lines(root)), (size, count));
        assert_eq!(
            get(raw, &p, &[1], SectionText::Full),
            get(raw, &p, &[], SectionText::Text)
        );
    }
}

#[test]
fn message_rfc822_without_a_header() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nno headers here\r\n--b--\r\n";
    let p = parse(raw);
    let forwarded = part(&p, &[1]);
    let Kind::Message { envelope, root, .. } = &forwarded.kind else {
        panic!("not a message/rfc822 part")
    };
    assert_eq!(**envelope, Envelope::default());
    assert_eq!(root.kind, Kind::Text { lines: 0 });
    // The part stops at the delimiter even though mail-parser ran past it.
    assert_eq!(
        get(raw, &p, &[1], SectionText::Full),
        &b"no headers here"[..]
    );
    assert_eq!(
        get(raw, &p, &[1], SectionText::Header),
        &b"no headers here"[..]
    );
    assert_eq!(get(raw, &p, &[1], SectionText::Text), &b""[..]);
}

#[test]
fn encoded_message_rfc822_is_an_opaque_attachment() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQpoaQ0K\r\n--b--\r\n";
    let p = parse(raw);
    let attached = part(&p, &[1]);
    assert_eq!(
        (
            attached.media_type.as_str(),
            attached.subtype.as_str(),
            &attached.kind
        ),
        ("application", "octet-stream", &Kind::Basic)
    );
    assert_eq!(
        binary(raw, &p.structure, &[1]),
        Some(Ok(b"Subject: x\r\n\r\nhi\r\n".to_vec()))
    );
}

#[test]
fn empty_multipart_gets_an_empty_text_part() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--\r\n";
    let p = parse(raw);
    let children = p.structure.numbered_children();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].kind, Kind::Text { lines: 0 });
    assert_eq!(get(raw, &p, &[1], SectionText::Full), &b""[..]);
}

#[test]
fn digest_parts_default_to_message_rfc822() {
    let raw = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n--d\r\n\r\nSubject: two\r\n\r\nsecond\r\n--d--\r\n";
    let p = parse(raw);
    for (n, subject, text) in [(1, "one", &b"first"[..]), (2, "two", b"second")] {
        let Kind::Message { envelope, .. } = &part(&p, &[n]).kind else {
            panic!("part {n} is not a message")
        };
        assert_eq!(envelope.subject.as_deref(), Some(subject));
        assert_eq!(get(raw, &p, &[n], SectionText::Text), text);
        assert_eq!(get(raw, &p, &[n, 1], SectionText::Full), text);
    }
}

#[test]
fn unknown_transfer_encoding_is_refused_by_binary() {
    let raw = b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a\r\n";
    let p = parse(raw);
    assert_eq!(
        binary(raw, &p.structure, &[1]),
        Some(Err(UnknownEncoding("x-uuencode".into())))
    );
}

#[test]
fn empty_and_headerless_input() {
    let p = parse(b"");
    assert_eq!(p.envelope, Envelope::default());
    assert_eq!(
        (p.structure.size(), p.subject.as_str(), p.sent_at),
        (0, "", None)
    );
    assert_eq!(get(b"", &p, &[1], SectionText::Full), &b""[..]);

    let raw = b"\r\n\r\nbody";
    let p = parse(raw);
    assert_eq!(get(raw, &p, &[], SectionText::Header), &b"\r\n"[..]);
    assert_eq!(get(raw, &p, &[], SectionText::Text), &b"\r\nbody"[..]);
}

fn depth(part: &Part) -> usize {
    1 + match &part.kind {
        Kind::Multipart(children) => children.iter().map(depth).max().unwrap_or(0),
        Kind::Message { root, .. } => depth(root),
        Kind::Basic | Kind::Text { .. } => 0,
    }
}

#[test]
fn huge_nesting_is_capped() {
    let levels = 20_000;
    let mut messages = Vec::new();
    for _ in 0..levels {
        messages.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    messages.extend_from_slice(b"Subject: bottom\r\n\r\nhi\r\n");
    let mut multiparts = Vec::new();
    for i in 0..levels {
        multiparts.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}x\r\n\r\n--b{i}x\r\n").as_bytes(),
        );
    }
    multiparts.extend_from_slice(b"\r\nhi\r\n");
    for raw in [messages, multiparts] {
        let p = parse(&raw);
        assert_eq!(depth(&p.structure), MAX_DEPTH + 1);
        assert_sane(&raw, &p.structure, 0, raw.len() as u32);
        assert_eq!(Parsed::from_json(&p.to_json()), Some(p));
    }
}

#[test]
fn json_round_trip() {
    for name in CORPUS {
        let p = parse(&corpus(name));
        let json = p.to_json();
        assert_eq!(Parsed::from_json(&json).as_ref(), Some(&p), "{name}");
    }
    assert_eq!(Parsed::from_json(""), None);
    assert_eq!(Parsed::from_json("{\"envelope\":{}}"), None);
    assert_eq!(Parsed::from_json("[1,2,3]"), None);
}

#[test]
fn corpus_offsets_are_sane() {
    for name in CORPUS {
        let raw = corpus(name);
        let p = parse(&raw);
        assert_sane(&raw, &p.structure, 0, raw.len() as u32);
    }
}

/// A small xorshift generator: fixed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let pieces: [&[u8]; 12] = [
        b"\r\n",
        b"\n",
        b"\r\n\r\n",
        b"--b\r\n",
        b"--b--",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Subject: =?utf-8?b?w6k=?=\r\n",
        b"From: \"a\" <b@c>, g:;\r\n",
        b":",
        b" \t",
    ];
    for round in 0..3000 {
        let mut raw = match round % 3 {
            // Random bytes.
            0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
            // MIME-ish pieces in random order.
            1 => {
                let mut raw = Vec::new();
                for _ in 0..rng.below(30) {
                    raw.extend_from_slice(pieces[rng.below(pieces.len())]);
                }
                raw
            }
            // A corpus message, cut and damaged.
            _ => {
                let mut raw = corpus(CORPUS[rng.below(CORPUS.len())]);
                let cut = rng.below(raw.len() + 1);
                raw.truncate(cut);
                raw
            }
        };
        for _ in 0..rng.below(8) {
            if !raw.is_empty() {
                let at = rng.below(raw.len());
                raw[at] = rng.next() as u8;
            }
        }
        let p = parse(&raw);
        assert_sane(&raw, &p.structure, 0, raw.len() as u32);
        for path in [&[][..], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 1]] {
            for text in [
                SectionText::Full,
                SectionText::Header,
                SectionText::HeaderFields(vec!["subject".into()]),
                SectionText::HeaderFieldsNot(vec!["subject".into()]),
                SectionText::Text,
                SectionText::Mime,
            ] {
                let _ = section(&raw, &p.structure, path, &text);
            }
            let _ = binary(&raw, &p.structure, path);
        }
        assert_eq!(Parsed::from_json(&p.to_json()).as_ref(), Some(&p));
    }
}

#[test]
fn outer_boundary_that_prefixes_the_inner_one() {
    let raw = crlf(
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\n\none\n--b2\n\ntwo\n--b2--\n--b\n\nthree\n--b--\n",
    );
    let p = parse(&raw);
    // `--b2` is no delimiter line for boundary `b`.
    assert_eq!(
        get(&raw, &p, &[1], SectionText::Full),
        &b"--b2\r\n\r\none\r\n--b2\r\n\r\ntwo\r\n--b2--"[..]
    );
    assert_eq!(get(&raw, &p, &[1, 1], SectionText::Full), &b"one"[..]);
    assert_eq!(get(&raw, &p, &[1, 2], SectionText::Full), &b"two"[..]);
    assert_eq!(get(&raw, &p, &[2], SectionText::Full), &b"three"[..]);
}

//! From raw bytes to [`Parsed`]: mail-parser reads the message, this module
//! keeps what IMAP needs and makes its offsets safe to slice with (every
//! part inside its parent, starts before ends).
//!
//! When a header appears more than once the last one counts, as it does for
//! mail-parser's own decisions on Content-Type and boundaries.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::{
    ContentType, GetHeader, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart,
    PartType,
};

use super::{Disposition, Envelope, Kind, MAX_DEPTH, Param, Parsed, Part, SortKeys, address};

/// Describes the message `raw`. Total: any bytes give a description, at
/// worst a text/plain message whose header runs to the first blank line.
pub fn parse(raw: &[u8]) -> Parsed {
    let end = offset(raw.len());
    // mail-parser is not ours to audit: should it ever panic on some input,
    // delivery still gets a description instead of losing the message.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let message = MessageParser::new().parse(raw)?;
        let parsed = describe_message(raw, &message, 0, 0, end);
        dismantle(message);
        Some(parsed)
    }));
    match parsed {
        Ok(Some(parsed)) => parsed,
        Ok(None) | Err(_) => unparsed(raw, 0, end),
    }
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A message, top-level or embedded, occupying `start..end` of `raw`.
fn describe_message(
    raw: &[u8],
    message: &Message<'_>,
    depth: usize,
    start: u32,
    end: u32,
) -> Parsed {
    let Some(root) = message.parts.first() else {
        return unparsed(raw, start, end);
    };
    let headers = &root.headers;
    let envelope = envelope(raw, root);
    let subject = match headers.header_value(&HeaderName::Subject) {
        // Raw 8-bit text that is not UTF-8 comes out of mail-parser with
        // replacement characters; the envelope read it as ISO-8859-1.
        Some(HeaderValue::Text(text))
            if text.contains('\u{FFFD}')
                && envelope
                    .subject
                    .as_deref()
                    .is_some_and(|s| !s.contains('\u{FFFD}') && !s.contains("=?")) =>
        {
            envelope.subject.clone().unwrap_or_default()
        }
        Some(HeaderValue::Text(text)) => text.trim().to_string(),
        _ => String::new(),
    };
    let (sent_at, sent_zone) = match headers.header_value(&HeaderName::Date) {
        Some(HeaderValue::DateTime(date)) if date.is_valid() => {
            let zone = i64::from(date.tz_hour) * 3600 + i64::from(date.tz_minute) * 60;
            let zone = if date.tz_before_gmt { -zone } else { zone };
            (Some(date.to_timestamp()), zone)
        }
        _ => (None, 0),
    };
    let references = headers
        .header(HeaderName::References)
        .map(|h| raw_value(raw, h));
    Parsed {
        keys: SortKeys::new(&envelope, &subject, references.as_deref()),
        envelope,
        structure: describe_part(raw, message, 0, depth, false, (start, end), true),
        subject,
        sent_at,
        sent_zone,
    }
}

/// The part `index` of `message`, which must lie inside `bounds`; `whole`
/// when it is the message's top-level part and spans all of `bounds`.
fn describe_part(
    raw: &[u8],
    message: &Message<'_>,
    index: usize,
    depth: usize,
    in_digest: bool,
    bounds: (u32, u32),
    whole: bool,
) -> Part {
    let (lo, hi) = bounds;
    let Some(part) = message.parts.get(index) else {
        return empty_text(hi);
    };
    let (header_start, body_start, body_end) = if whole {
        (lo, part.offset_body.clamp(lo, hi), hi)
    } else {
        let header_start = part.offset_header.clamp(lo, hi);
        let body_start = part.offset_body.clamp(header_start, hi);
        (
            header_start,
            body_start,
            part.offset_end.clamp(body_start, hi),
        )
    };
    let headers = &part.headers;
    let text = |name: HeaderName<'_>| headers.header(name).map(|h| raw_value(raw, h));

    let content_type = headers
        .header_value(&HeaderName::ContentType)
        .and_then(HeaderValue::as_content_type);
    let (mut media_type, mut subtype, mut params) = match content_type {
        Some(ct) => (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().map(str::to_ascii_lowercase),
            parameters(ct),
        ),
        None if in_digest => ("message".into(), Some("rfc822".into()), Vec::new()),
        None => ("text".into(), Some("plain".into()), us_ascii()),
    };
    let encoding = text(HeaderName::ContentTransferEncoding);
    let identity = encoding.as_deref().is_none_or(|e| {
        ["7bit", "8bit", "binary", ""]
            .iter()
            .any(|i| i.eq_ignore_ascii_case(e))
    });
    let body = |start: u32, end: u32| raw.get(start as usize..end as usize).unwrap_or_default();

    let kind = match (media_type.as_str(), subtype.as_deref(), &part.body) {
        ("multipart", _, PartType::Multipart(children)) if depth < MAX_DEPTH => {
            let digest = subtype.as_deref() == Some("digest");
            let boundary = params.iter().find(|(name, _)| name == "boundary");
            let delimiters = boundary
                .map(|(_, b)| delimiters(raw, body_start, body_end, b.as_bytes()))
                .unwrap_or_default();
            let mut parts: Vec<Part> = children
                .iter()
                .map(|&child| {
                    let child = child as usize;
                    // A part ends at the next delimiter line at the latest,
                    // whatever mail-parser made of a broken part.
                    let starts = message.parts.get(child).map_or(0, |p| p.offset_header);
                    let end = delimiters
                        .iter()
                        .find(|&&(line, _)| line > starts)
                        .map_or(body_end, |&(_, end)| end.max(body_start));
                    describe_part(
                        raw,
                        message,
                        child,
                        depth + 1,
                        digest,
                        (body_start, end),
                        false,
                    )
                })
                .collect();
            if parts.is_empty() {
                // IMAP has no empty multipart (body-type-mpart = 1*body).
                parts.push(empty_text(body_end));
            }
            subtype.get_or_insert_with(|| "mixed".into());
            Kind::Multipart(parts)
        }
        ("message", Some("rfc822"), nested) if depth < MAX_DEPTH && identity => {
            let embedded = match nested {
                PartType::Message(nested) => {
                    describe_message(raw, nested, depth + 1, body_start, body_end)
                }
                _ => unparsed(raw, body_start, body_end),
            };
            Kind::Message {
                envelope: Box::new(embedded.envelope),
                root: Box::new(embedded.structure),
                lines: count_lines(body(body_start, body_end)),
            }
        }
        ("message", Some("rfc822"), _) => {
            media_type = "application".into();
            subtype = Some("octet-stream".into());
            Kind::Basic
        }
        ("multipart", _, _) | (_, None, _) => {
            media_type = "text".into();
            subtype = Some("plain".into());
            params = us_ascii();
            Kind::Text {
                lines: count_lines(body(body_start, body_end)),
            }
        }
        ("text", _, _) => Kind::Text {
            lines: count_lines(body(body_start, body_end)),
        },
        _ => Kind::Basic,
    };

    let disposition = headers
        .header_value(&HeaderName::ContentDisposition)
        .and_then(HeaderValue::as_content_type)
        .map(|d| Disposition {
            kind: d.ctype().to_ascii_lowercase(),
            params: parameters(d),
        });
    let language = match headers.header_value(&HeaderName::ContentLanguage) {
        Some(HeaderValue::TextList(tags)) => tags.iter().map(|t| t.trim().to_string()).collect(),
        Some(HeaderValue::Text(tag)) => vec![tag.trim().to_string()],
        _ => Vec::new(),
    };
    Part {
        media_type,
        subtype: subtype.unwrap_or_default(),
        params,
        id: text(HeaderName::ContentId),
        description: text(HeaderName::ContentDescription),
        encoding,
        md5: text(HeaderName::ContentMd5),
        disposition,
        language: language.into_iter().filter(|t| !t.is_empty()).collect(),
        location: text(HeaderName::ContentLocation),
        header_start,
        body_start,
        body_end,
        kind,
    }
}

fn envelope(raw: &[u8], root: &MessagePart<'_>) -> Envelope {
    let headers = &root.headers;
    let text = |name: HeaderName<'_>| headers.header(name).map(|h| raw_value(raw, h));
    let list = |name: HeaderName<'_>| {
        headers.header(name).map_or_else(Vec::new, |h| {
            let value = raw.get(h.offset_start as usize..h.offset_end as usize);
            address::parse_list(value.unwrap_or_default())
        })
    };
    let from = list(HeaderName::From);
    let mut sender = list(HeaderName::Sender);
    if sender.is_empty() {
        sender = from.clone();
    }
    let mut reply_to = list(HeaderName::ReplyTo);
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    Envelope {
        date: text(HeaderName::Date),
        subject: text(HeaderName::Subject),
        from,
        sender,
        reply_to,
        to: list(HeaderName::To),
        cc: list(HeaderName::Cc),
        bcc: list(HeaderName::Bcc),
        in_reply_to: text(HeaderName::InReplyTo),
        message_id: text(HeaderName::MessageId),
    }
}

fn parameters(ct: &ContentType<'_>) -> Vec<Param> {
    ct.attributes()
        .unwrap_or_default()
        .iter()
        .map(|a| (a.name.to_ascii_lowercase(), a.value.to_string()))
        .collect()
}

fn us_ascii() -> Vec<Param> {
    vec![("charset".into(), "us-ascii".into())]
}

/// A header's value as sent: unfolded, trimmed; ISO-8859-1 when not UTF-8.
fn raw_value(raw: &[u8], header: &Header<'_>) -> String {
    let value = raw
        .get(header.offset_start as usize..header.offset_end as usize)
        .unwrap_or_default();
    let unfolded: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let text = match String::from_utf8_lossy(&unfolded) {
        Cow::Borrowed(text) => text.to_string(),
        Cow::Owned(_) => unfolded.iter().map(|&b| char::from(b)).collect(),
    };
    text.trim_matches([' ', '\t']).to_string()
}

/// An empty text/plain part at `at`, for a multipart with no parts or a
/// part mail-parser lost track of.
fn empty_text(at: u32) -> Part {
    Part {
        media_type: "text".into(),
        subtype: "plain".into(),
        params: us_ascii(),
        id: None,
        description: None,
        encoding: None,
        md5: None,
        disposition: None,
        language: Vec::new(),
        location: None,
        header_start: at,
        body_start: at,
        body_end: at,
        kind: Kind::Text { lines: 0 },
    }
}

/// What mail-parser could not read as a message: a text/plain message with
/// no envelope, whose header runs to the first blank line (or to the end).
fn unparsed(raw: &[u8], start: u32, end: u32) -> Parsed {
    let bytes = raw.get(start as usize..end as usize).unwrap_or_default();
    let mut body_start = bytes.len();
    let mut line_start = 0;
    while line_start < bytes.len() {
        let rest = &bytes[line_start..];
        if rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
            body_start = line_start + if rest[0] == b'\n' { 1 } else { 2 };
            break;
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let body_start = start + offset(body_start);
    let mut structure = empty_text(start);
    structure.body_start = body_start;
    structure.body_end = end;
    structure.kind = Kind::Text {
        lines: count_lines(&bytes[(body_start - start) as usize..]),
    };
    Parsed {
        envelope: Envelope::default(),
        structure,
        subject: String::new(),
        sent_at: None,
        sent_zone: 0,
        keys: SortKeys::default(),
    }
}

/// The delimiter lines of a multipart body (RFC 2046 §5.1.1): where each
/// starts, and where the part before it ends (before the line break that
/// belongs to the delimiter).
fn delimiters(raw: &[u8], start: u32, end: u32, boundary: &[u8]) -> Vec<(u32, u32)> {
    let body = raw.get(start as usize..end as usize).unwrap_or_default();
    let mut found = Vec::new();
    let mut line = 0;
    while line < body.len() {
        let rest = &body[line..];
        let text = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        // `--boundary`, maybe `--`, then only white space (RFC 2046 §5.1.1):
        // `--b2` is no delimiter of boundary `b`.
        let delimiter = text
            .strip_prefix(b"--")
            .and_then(|t| t.strip_prefix(boundary));
        let delimiter = delimiter.is_some_and(|tail| {
            let tail = tail.strip_prefix(b"--").unwrap_or(tail);
            tail.iter().all(|b| b" \t\r".contains(b))
        });
        if delimiter {
            let before = &body[..line];
            let part_end = if before.ends_with(b"\r\n") {
                line - 2
            } else if before.ends_with(b"\n") {
                line - 1
            } else {
                line
            };
            found.push((start + offset(line), start + offset(part_end)));
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => line += i + 1,
            None => break,
        }
    }
    found
}

/// Lines as Dovecot counts them for IMAP: the line breaks, so a last line
/// without one (before a boundary, whose CRLF is the boundary's) is not
/// counted.
fn count_lines(body: &[u8]) -> u32 {
    offset(body.iter().filter(|&&b| b == b'\n').count())
}

/// Drops a parsed message without recursion: each message/rfc822 level nests
/// a whole `Message`, and dropping thousands of levels recursively would
/// overflow the stack.
fn dismantle(message: Message<'_>) {
    let mut pending = vec![message];
    while let Some(mut message) = pending.pop() {
        for part in &mut message.parts {
            if let PartType::Message(nested) =
                std::mem::replace(&mut part.body, PartType::Multipart(Vec::new()))
            {
                pending.push(nested);
            }
        }
    }
}

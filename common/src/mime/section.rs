//! Cutting `BODY[section]` (RFC 3501 §6.4.5, RFC 9051 §6.4.5) and
//! `BINARY[section]` (RFC 3516 §4.2) out of a raw message with the offsets
//! [`parse`](super::parse) recorded: no parsing beyond splitting a header
//! block into fields for HEADER.FIELDS.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use thiserror::Error;

use super::{Kind, Part};

/// The text part of a section specifier, after its part numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// No text specifier: the whole message, or the named part's body.
    Full,
    Header,
    /// HEADER.FIELDS (names, matched case-insensitively).
    HeaderFields(Vec<String>),
    /// HEADER.FIELDS.NOT (names, matched case-insensitively).
    HeaderFieldsNot(Vec<String>),
    Text,
    /// The part's own MIME header; only after part numbers.
    Mime,
}

/// BINARY met a Content-Transfer-Encoding it cannot undo; IMAP answers
/// `NO [UNKNOWN-CTE]` (RFC 3516 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown content-transfer-encoding `{0}`")]
pub struct UnknownEncoding(pub String);

/// The bytes of `BODY[path.text]` of the message `raw` whose structure is
/// `root`. None when the part path does not exist (the caller answers with
/// an empty string / NIL as IMAP servers do), or when HEADER, TEXT or MIME
/// do not apply to the part named.
///
/// HEADER and TEXT after part numbers need a message/rfc822 part and apply
/// to its embedded message; HEADER includes the blank line that ends it.
/// HEADER.FIELDS and HEADER.FIELDS.NOT keep the chosen fields' bytes as
/// sent, continuation lines included, and end with a blank line.
pub fn section<'a>(
    raw: &'a [u8],
    root: &Part,
    path: &[u32],
    text: &SectionText,
) -> Option<Cow<'a, [u8]>> {
    let part = root.find(path)?;
    // The message HEADER and TEXT look into: the whole message, or the one
    // a message/rfc822 part embeds.
    let message = if path.is_empty() {
        Some(root)
    } else if let Kind::Message { root: embedded, .. } = &part.kind {
        Some(&**embedded)
    } else {
        None
    };
    let bytes = |start: u32, end: u32| -> Option<Cow<'a, [u8]>> {
        raw.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
            .map(Cow::Borrowed)
    };
    match text {
        SectionText::Full if path.is_empty() => Some(Cow::Borrowed(raw)),
        SectionText::Full => bytes(part.body_start, part.body_end),
        SectionText::Mime if path.is_empty() => None,
        SectionText::Mime => bytes(part.header_start, part.body_start),
        SectionText::Header => message.and_then(|m| bytes(m.header_start, m.body_start)),
        SectionText::Text => message.and_then(|m| bytes(m.body_start, m.body_end)),
        SectionText::HeaderFields(names) => {
            let m = message?;
            let header = bytes(m.header_start, m.body_start)?;
            Some(Cow::Owned(header_fields(&header, names, true)))
        }
        SectionText::HeaderFieldsNot(names) => {
            let m = message?;
            let header = bytes(m.header_start, m.body_start)?;
            Some(Cow::Owned(header_fields(&header, names, false)))
        }
    }
}

/// `BINARY[path]`: the named part's body with its Content-Transfer-Encoding
/// undone; `BINARY[]` is the whole message. None when the part does not
/// exist.
pub fn binary(raw: &[u8], root: &Part, path: &[u32]) -> Option<Result<Vec<u8>, UnknownEncoding>> {
    if path.is_empty() {
        return Some(Ok(raw.to_vec()));
    }
    let part = root.find(path)?;
    let body =
        raw.get(usize::try_from(part.body_start).ok()?..usize::try_from(part.body_end).ok()?)?;
    let encoding = part
        .encoding
        .as_deref()
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    Some(match encoding.as_str() {
        "7bit" | "8bit" | "binary" | "" => Ok(body.to_vec()),
        "base64" => base64_decode(body).ok_or(UnknownEncoding(encoding)),
        "quoted-printable" => Ok(quoted_printable_decode(body)),
        _ => Err(UnknownEncoding(encoding)),
    })
}

/// The fields of a header block whose name is (`keep`) or is not (`!keep`)
/// in `names`, then the blank line. Lines that are not fields (no colon)
/// and their continuations are never returned.
fn header_fields(header: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    fn flush(field: Option<(bool, &[u8])>, out: &mut Vec<u8>) {
        if let Some((true, bytes)) = field {
            out.extend_from_slice(bytes);
            if !bytes.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    let mut out = Vec::new();
    let mut field: Option<(bool, &[u8])> = None;
    let mut start = 0;
    while start < header.len() {
        let end = header[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(header.len(), |i| start + i + 1);
        let line = &header[start..end];
        if line == b"\n" || line == b"\r\n" {
            break;
        }
        let continues = matches!(line.first(), Some(b' ' | b'\t'));
        match &mut field {
            Some((_, bytes)) if continues => {
                // Extend the current field over its continuation line; the
                // field and the line are adjacent in `header`.
                let field_start = end - line.len() - bytes.len();
                *bytes = &header[field_start..end];
            }
            _ => {
                flush(field.take(), &mut out);
                let wanted = line.iter().position(|&b| b == b':').is_some_and(|colon| {
                    let name = line[..colon].trim_ascii_end();
                    let listed = names
                        .iter()
                        .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
                    !name.is_empty() && listed == keep
                });
                field = Some((wanted, line));
            }
        }
        start = end;
    }
    flush(field, &mut out);
    out.extend_from_slice(b"\r\n");
    out
}

/// The body of a base64 part (RFC 2045 §6.8), line breaks and spaces
/// skipped, by mail-parser's MIME decoder; None when it holds anything else
/// outside the alphabet.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let (end, decoded) = MessageStream::new(text).decode_base64_mime(b"");
    (end != usize::MAX).then(|| decoded.into_owned())
}

/// The body of a quoted-printable part (RFC 2045 §6.7), by mail-parser's
/// MIME decoder: soft line breaks and trailing spaces go, and an `=` that
/// starts no escape is kept as it is.
fn quoted_printable_decode(text: &[u8]) -> Vec<u8> {
    MessageStream::new(text)
        .decode_quoted_printable_mime(b"")
        .1
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_skips_line_breaks_only() {
        assert_eq!(
            base64_decode(b"SGVs\r\nbG8g\r\nd29y bGQ=\r\n").as_deref(),
            Some(&b"Hello world"[..])
        );
        assert_eq!(base64_decode(b"SGk*"), None);
        assert_eq!(base64_decode(b"").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn quoted_printable_known_answers() {
        assert_eq!(
            quoted_printable_decode(b"caf=E9 =3D ok  \r\nsoft=\r\nbreak\r\n"),
            b"caf\xe9 = ok\r\nsoftbreak\r\n"
        );
        assert_eq!(quoted_printable_decode(b"a=ZZb=\nc="), b"a=ZZbc");
    }

    #[test]
    fn header_fields_keep_folding_and_end_with_a_blank_line() {
        let header =
            b"From: a@b\r\nSubject: one\r\n two\r\nbroken line\r\n cont\r\nTo: c@d\r\n\r\n";
        let names = vec!["subject".to_string(), "TO".to_string()];
        assert_eq!(
            header_fields(header, &names, true),
            b"Subject: one\r\n two\r\nTo: c@d\r\n\r\n"
        );
        assert_eq!(header_fields(header, &names, false), b"From: a@b\r\n\r\n");
        assert_eq!(
            header_fields(b"X-Y: z", &["x-y".into()], true),
            b"X-Y: z\r\n\r\n"
        );
        assert_eq!(header_fields(b"", &["x-y".into()], true), b"\r\n");
    }
}

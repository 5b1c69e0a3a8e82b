//! A read-only view of the message under test: its header fields as the
//! tests of RFC 5228 section 5 see them (unfolded, RFC 2047 words decoded),
//! the addresses and dates in them, and its body for RFC 5173. Parsing of
//! header values and MIME parts is mail-parser's; the body is parsed only
//! when a `body` test asks for it.

use std::cell::OnceCell;

use mail_parser::decoders::html::html_to_text;
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

/// One header field: its name as written and its raw value (folding kept).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field<'a> {
    pub name: &'a str,
    pub raw: &'a [u8],
}

pub(crate) struct MessageView<'a> {
    raw: &'a [u8],
    fields: Vec<Field<'a>>,
    body_start: usize,
    parsed: OnceCell<Option<mail_parser::Message<'a>>>,
}

impl<'a> MessageView<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        let (fields, body_start) = split_header(raw);
        MessageView {
            raw,
            fields,
            body_start,
            parsed: OnceCell::new(),
        }
    }

    pub(crate) fn field_count(&self) -> usize {
        self.fields.len()
    }

    pub(crate) fn size(&self) -> usize {
        self.raw.len()
    }

    /// The fields named `name` (case-insensitive), in message order.
    pub(crate) fn fields(&self, name: &str) -> impl DoubleEndedIterator<Item = Field<'a>> + '_ {
        let name = name.trim().to_string();
        self.fields
            .iter()
            .copied()
            .filter(move |f| f.name.eq_ignore_ascii_case(&name))
    }

    /// The fields whose name starts with `prefix` (lowercase), in message order.
    pub(crate) fn fields_starting<'p>(
        &'p self,
        prefix: &'p str,
    ) -> impl Iterator<Item = Field<'a>> + 'p {
        self.fields.iter().copied().filter(move |f| {
            f.name
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        })
    }

    /// The decoded text of every field named `name`.
    pub(crate) fn texts(&self, name: &str) -> Vec<String> {
        self.fields(name).map(|f| decoded_text(f.raw)).collect()
    }

    /// The undecoded body, after the blank line that ends the header.
    pub(crate) fn raw_body(&self) -> String {
        String::from_utf8_lossy(&self.raw[self.body_start..]).into_owned()
    }

    /// The decoded content of the MIME parts whose type matches one of
    /// `types` ("" any, "text" a main type, "text/html" a full type), or of
    /// every text part when `types` is `None` (`:text`). Multipart containers
    /// have no content of their own; HTML becomes plain text for `:text`.
    pub(crate) fn body_parts(&self, types: Option<&[String]>) -> Vec<String> {
        let parsed = self
            .parsed
            .get_or_init(|| MessageParser::default().parse(self.raw));
        let Some(message) = parsed else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for part in &message.parts {
            let (main, sub) =
                part.content_type()
                    .map_or(("text".to_string(), "plain".to_string()), |ct| {
                        (
                            ct.ctype().to_ascii_lowercase(),
                            ct.subtype().unwrap_or_default().to_ascii_lowercase(),
                        )
                    });
            let wanted = match types {
                None => main == "text",
                Some(types) => types.iter().any(|t| {
                    let t = t.to_ascii_lowercase();
                    t.is_empty() || t == main || t == format!("{main}/{sub}")
                }),
            };
            if !wanted {
                continue;
            }
            match &part.body {
                PartType::Text(text) => out.push(text.to_string()),
                PartType::Html(html) if types.is_none() => out.push(html_to_text(html)),
                PartType::Html(html) => out.push(html.to_string()),
                PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                    out.push(String::from_utf8_lossy(bytes).into_owned());
                }
                PartType::Message(_) | PartType::Multipart(_) => {}
            }
        }
        out
    }
}

/// Splits the header block into fields and finds where the body starts.
/// Lines without a colon are not fields and are skipped.
fn split_header(raw: &[u8]) -> (Vec<Field<'_>>, usize) {
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let end = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| at + p + 1);
        let line = &raw[at..end];
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            return (fields, end);
        }
        if matches!(content[0], b' ' | b'\t') {
            if let Some(last) = fields.last_mut() {
                // The raw value runs on to the end of this continuation line.
                let start = last.raw.as_ptr() as usize - raw.as_ptr() as usize;
                last.raw = &raw[start..at + content.len()];
            }
        } else if let Some(colon) = content.iter().position(|&b| b == b':')
            && let Ok(name) = std::str::from_utf8(&content[..colon])
        {
            fields.push(Field {
                name: name.trim_end(),
                raw: &raw[at + colon + 1..at + content.len()],
            });
        }
        at = end;
    }
    (fields, raw.len())
}

/// Joins folded lines: a line break followed by white space is removed.
fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 2);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => i += 2,
            b'\n' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The field value as text: unfolded, RFC 2047 words decoded, trimmed.
pub(crate) fn decoded_text(raw: &[u8]) -> String {
    let mut value = unfold(raw);
    value.extend_from_slice(b"\r\n");
    match MessageStream::new(&value).parse_unstructured() {
        HeaderValue::Text(text) => text.trim().to_string(),
        _ => String::new(),
    }
}

/// The addresses (local@domain) of an address field; group members count
/// one by one, and entries without an address are left out.
pub(crate) fn addresses(raw: &[u8]) -> Vec<String> {
    let mut value = unfold(raw);
    value.extend_from_slice(b"\r\n");
    match MessageStream::new(&value).parse_address() {
        HeaderValue::Address(address) => address
            .into_list()
            .into_iter()
            .filter_map(|a| a.address.map(|a| a.trim().to_string()))
            .filter(|a| !a.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// A date field as a Unix time and the offset of the zone it was written
/// in, in minutes east of UTC; `None` when it does not parse.
pub(crate) fn date(raw: &[u8]) -> Option<(i64, i32)> {
    let mut value = unfold(raw);
    value.extend_from_slice(b"\r\n");
    match MessageStream::new(&value).parse_date() {
        HeaderValue::DateTime(dt) if dt.month >= 1 && dt.day >= 1 => {
            let minutes = i32::from(dt.tz_hour) * 60 + i32::from(dt.tz_minute);
            Some((
                dt.to_timestamp(),
                if dt.tz_before_gmt { -minutes } else { minutes },
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: \"Joe\" <joe@example.com>\r\n\
        To: a@example.org,\r\n  group: b@example.org, c@example.org;\r\n\
        Subject: =?utf-8?q?Caf=C3=A9?= ok\r\n\
        Date: Mon, 11 Jul 2005 03:02:03 +0200\r\n\
        not a field\r\n\
        \r\n\
        Body text\r\n";

    #[test]
    fn fields_are_unfolded_and_decoded() {
        let view = MessageView::new(MESSAGE);
        assert_eq!(view.texts("subject"), vec!["Café ok"]);
        let to = view.fields("TO").next().expect("to");
        assert_eq!(
            addresses(to.raw),
            vec!["a@example.org", "b@example.org", "c@example.org"]
        );
        let from = view.fields("from").next().expect("from");
        assert_eq!(addresses(from.raw), vec!["joe@example.com"]);
        let d = view.fields("date").next().expect("date");
        assert_eq!(date(d.raw), Some((1_121_043_723, 120)));
        assert_eq!(view.raw_body(), "Body text\r\n");
        assert_eq!(view.body_parts(None), vec!["Body text\r\n"]);
    }

    #[test]
    fn raw_utf8_and_folded_encoded_words() {
        let view = MessageView::new(
            "Subject: Città di =?utf-8?q?Bar=C3=AC?=\r\n =?utf-8?q?_e_dintorni?=\r\n\r\n"
                .as_bytes(),
        );
        assert_eq!(view.texts("subject"), vec!["Città di Barì e dintorni"]);
    }

    #[test]
    fn headers_without_body() {
        let view = MessageView::new(b"Subject: x");
        assert_eq!(view.texts("subject"), vec!["x"]);
        assert_eq!(view.raw_body(), "");
    }
}

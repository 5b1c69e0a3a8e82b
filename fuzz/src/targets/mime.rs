//! MIME: the description delivery stores of any message, the sections cut
//! with it, and address lists.

use std::borrow::Cow;

use postino_common::mime::address::{parse_list, search_text};
use postino_common::mime::{Address, Kind, Parsed, Part, SectionText, binary, parse, section};

use super::{Target, Violation, ensure};
use crate::corpus;

pub(super) const DICTIONARY: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"--boundary",
    b"--boundary--",
    b"\r\n--boundary\r\n",
    b"Content-Type: multipart/mixed; boundary=boundary\r\n",
    b"Content-Type: multipart/digest; boundary=\"boundary\"\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: text/plain; charset*=utf-8''%C3%A9\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*0=a; filename*1=b\r\n",
    b"From: ",
    b"To: group: a@b, \"c d\" <e@f>;\r\n",
    b"=?utf-8?b?",
    b"=?iso-8859-1?q?caf=E9?=",
    b"=?utf-16?b?AGEAYg==?=",
    b"?=",
    b"<@route:a@b>",
    b"(comment (nested))",
    b"\"quoted \\\" string\"",
    b"; ",
    b"\t",
    b"\xe9",
];

pub const PARSE: Target = Target {
    name: "mime_parse",
    checks: "every part's offsets lie within the message and nest inside its \
             parent's body, siblings in order; the stored JSON reads back equal",
    dictionary: DICTIONARY,
    max_len: 16384,
    seeds: message_seeds,
    check: check_parse,
};

pub const SECTION: Target = Target {
    name: "mime_section",
    checks: "BODY[section] and BINARY[section] for every part path (and paths \
             that do not exist) never panic, return slices of the message, \
             HEADER.FIELDS no longer than the header, BINARY no longer than the body",
    dictionary: DICTIONARY,
    max_len: 16384,
    seeds: message_seeds,
    check: check_sections,
};

pub const ADDRESS: Target = Target {
    name: "mime_address",
    checks: "parse_list and search_text never panic, and their output stays \
             within a fixed multiple of the input's size",
    dictionary: DICTIONARY,
    max_len: 4096,
    seeds: address_seeds,
    check: check_addresses,
};

fn message_seeds() -> Vec<Vec<u8>> {
    let mut seeds = corpus::own_seeds("mime_parse");
    seeds.extend(corpus::mime_messages());
    seeds
}

fn address_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("mime_address")
}

fn check_parse(input: &[u8]) -> Result<(), Violation> {
    let parsed = parse(input);
    let whole = Span {
        start: 0,
        end: input.len(),
    };
    check_part(&parsed.structure, whole, 0)?;
    let json = parsed.to_json();
    ensure(
        Parsed::from_json(&json).as_ref() == Some(&parsed),
        "the stored description does not read back",
        || json.clone(),
    )
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// Checks `part`'s offsets against the span of bytes it must lie in, then
/// its children's against its body.
fn check_part(part: &Part, within: Span, depth: usize) -> Result<(), Violation> {
    let (header, body, end) = (
        part.header_start as usize,
        part.body_start as usize,
        part.body_end as usize,
    );
    ensure(
        within.start <= header && header <= body && body <= end && end <= within.end,
        "part offsets outside their parent",
        || format!("{header}..{body}..{end} within {within:?} at depth {depth}"),
    )?;
    ensure(
        depth <= 2 * postino_common::mime::MAX_DEPTH + 2,
        "nesting beyond MAX_DEPTH",
        || format!("depth {depth}"),
    )?;
    let inner = Span { start: body, end };
    match &part.kind {
        Kind::Multipart(children) => {
            ensure(
                !children.is_empty(),
                "a multipart without parts",
                String::new,
            )?;
            let mut previous_end = body;
            for child in children {
                ensure(
                    child.header_start as usize >= previous_end,
                    "sibling parts overlap",
                    || format!("{} starts before {previous_end}", child.header_start),
                )?;
                check_part(child, inner, depth + 1)?;
                previous_end = child.body_end as usize;
            }
        }
        Kind::Message { root, .. } => check_part(root, inner, depth + 1)?,
        Kind::Basic | Kind::Text { .. } => {}
    }
    Ok(())
}

fn check_sections(input: &[u8]) -> Result<(), Violation> {
    let parsed = parse(input);
    let root = &parsed.structure;
    let mut paths = Vec::new();
    collect_paths(root.as_message_parts(), &mut Vec::new(), &mut paths);
    // Paths that name nothing.
    paths.extend([
        vec![0],
        vec![u32::MAX],
        vec![1, 0],
        vec![1, 1, 1, 1, 1, 1, 1, 1, 1],
    ]);
    let texts = [
        SectionText::Full,
        SectionText::Header,
        SectionText::HeaderFields(vec!["from".into(), "SUBJECT".into(), String::new()]),
        SectionText::HeaderFieldsNot(vec!["content-type".into(), "x-\u{e9}".into()]),
        SectionText::Text,
        SectionText::Mime,
    ];
    for path in &paths {
        for text in &texts {
            let Some(bytes) = section(input, root, path, text) else {
                continue;
            };
            match &bytes {
                Cow::Borrowed(slice) => ensure(
                    within(input, slice),
                    "a section outside the message",
                    || format!("{path:?} {text:?}"),
                )?,
                Cow::Owned(fields) => {
                    let header = header_length(root, path).unwrap_or(0);
                    // A header without a line end at its end gets one,
                    // and the blank line after it.
                    ensure(
                        fields.len() <= header + 4,
                        "HEADER.FIELDS longer than the header",
                        || format!("{path:?} {text:?}: {} > {header}", fields.len()),
                    )?;
                }
            }
        }
        if let Some(Ok(decoded)) = binary(input, root, path) {
            // Decoding shrinks a body, but for quoted-printable's line
            // breaks, which decode to CRLF even when sent as bare LF.
            let size = if path.is_empty() {
                input.len()
            } else {
                root.find(path).map_or(0, |part| {
                    let body = &input[part.body_start as usize..part.body_end as usize];
                    body.len() + body.iter().filter(|&&b| b == b'\n').count()
                })
            };
            ensure(decoded.len() <= size, "BINARY longer than the body", || {
                format!("{path:?}: {} > {size}", decoded.len())
            })?;
        }
    }
    Ok(())
}

/// Every part path of the tree, at most a few hundred.
fn collect_paths(parts: &[Part], prefix: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
    out.push(prefix.clone());
    for (i, part) in parts.iter().enumerate() {
        if out.len() > 300 {
            return;
        }
        prefix.push(i as u32 + 1);
        collect_paths(part.numbered_children(), prefix, out);
        prefix.pop();
    }
}

/// The length of the header HEADER.FIELDS looks into for `path`.
fn header_length(root: &Part, path: &[u32]) -> Option<usize> {
    let message = if path.is_empty() {
        root
    } else {
        match &root.find(path)?.kind {
            Kind::Message { root, .. } => root,
            _ => return None,
        }
    };
    Some(message.body_start.saturating_sub(message.header_start) as usize)
}

/// Whether `slice` lies within `whole`'s memory.
fn within(whole: &[u8], slice: &[u8]) -> bool {
    let start = whole.as_ptr() as usize;
    let at = slice.as_ptr() as usize;
    slice.is_empty() || (at >= start && at + slice.len() <= start + whole.len())
}

fn check_addresses(input: &[u8]) -> Result<(), Violation> {
    let list = parse_list(input);
    let count: usize = list
        .iter()
        .map(|address| match address {
            Address::Mailbox(_) => 1,
            Address::Group(group) => 1 + group.members.len(),
        })
        .sum();
    ensure(
        count <= input.len(),
        "more addresses than input bytes",
        || format!("{count} from {} bytes", input.len()),
    )?;
    // Decoding may grow text (ISO-8859-1 to UTF-8, invalid bytes to U+FFFD)
    // and missing parts get placeholders, but never more than this.
    let bound = 6 * input.len() + 40 * count + 16;
    let text = search_text(&list);
    ensure(
        text.len() <= bound,
        "address output out of proportion",
        || format!("{} bytes from {}: {text:?}", text.len(), input.len()),
    )
}

//! mbox files, as mboxrd (one message after each `From ` line; a line
//! of the message that starts with `From ` after any number of `>` gets one
//! `>` more, so the escaping can be undone exactly). Reading also takes
//! mboxo files, whose escaped lines it reads the same way; a `From ` line
//! starts a message only at the start of the file or after an empty line.
//!
//! Flags travel in `Status:`, `X-Status:` and `X-Keywords:` header fields
//! (see [`super::file_flags`]), which reading takes out of the message and
//! writing puts back before the end of its header; the INTERNALDATE in the
//! `From ` line, in UTC. Messages are written with LF line ends, as mbox
//! files have them, and read back with CRLF, as the store keeps them.

use std::io::{self, Write};

use chrono::{DateTime, NaiveDateTime};
use postino_common::store::{Flags, Keywords};

use super::file_flags::{self, is_atom};
use super::line_ends::{to_crlf, to_lf};
use crate::ops::Incoming;

/// The header fields that hold flags, taken out of a message read.
const FLAG_FIELDS: [&str; 3] = ["status", "x-status", "x-keywords"];
/// The `From ` line's date (asctime, as `date` prints in C locale).
const ASCTIME: &str = "%a %b %e %H:%M:%S %Y";

/// Why a file is not an mbox.
#[derive(Debug, thiserror::Error)]
#[error("not an mbox file: {0}")]
pub struct NotMbox(String);

/// The messages of an mbox file, in order. `now` dates a message whose
/// `From ` line has no readable date.
pub fn read(file: &[u8], now: i64) -> Result<Vec<Incoming>, NotMbox> {
    if !file.starts_with(b"From ") {
        return Err(NotMbox("it does not start with a `From ` line".to_string()));
    }
    let mut messages = Vec::new();
    let mut current: Option<(i64, Vec<u8>)> = None;
    let mut after_empty = true;
    for line in file.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") && after_empty {
            if let Some((date, body)) = current.take() {
                messages.push(message(date, body));
            }
            current = Some((from_line_date(line).unwrap_or(now), Vec::new()));
            after_empty = false;
            continue;
        }
        after_empty = line == b"\n" || line == b"\r\n";
        if let Some((_, body)) = current.as_mut() {
            body.extend_from_slice(unescaped(line));
        }
    }
    if let Some((date, body)) = current {
        messages.push(message(date, body));
    }
    Ok(messages)
}

/// Writes one message (as the store keeps it) to an mbox file.
pub fn write(
    out: &mut impl Write,
    raw: &[u8],
    flags: Flags,
    keywords: &Keywords,
    internal_date: i64,
) -> io::Result<()> {
    let date = DateTime::from_timestamp(internal_date, 0)
        .unwrap_or_default()
        .format(ASCTIME);
    writeln!(out, "From MAILER-DAEMON {date}")?;
    let lf = to_lf(raw);
    let (status, x_status) = file_flags::to_mbox(flags);
    let mut fields = format!("Status: {status}\n");
    if !x_status.is_empty() {
        fields.push_str(&format!("X-Status: {x_status}\n"));
    }
    if !keywords.is_empty() {
        let words: Vec<&str> = keywords.iter().collect();
        fields.push_str(&format!("X-Keywords: {}\n", words.join(" ")));
    }
    // The flag fields go at the end of the header, before the empty line
    // that ends it.
    let (header, body) = lf.split_at(header_length(&lf));
    for line in header.split_inclusive(|&b| b == b'\n') {
        write_escaped(out, line)?;
    }
    if !header.is_empty() && !header.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.write_all(fields.as_bytes())?;
    for line in body.split_inclusive(|&b| b == b'\n') {
        write_escaped(out, line)?;
    }
    if !body.is_empty() && !body.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
}

/// The length of the header without the empty line that ends it (all of
/// the message when it has no empty line).
fn header_length(lf: &[u8]) -> usize {
    if lf.starts_with(b"\n") {
        return 0;
    }
    lf.windows(2)
        .position(|w| w == b"\n\n")
        .map_or(lf.len(), |at| at + 1)
}

fn write_escaped(out: &mut impl Write, line: &[u8]) -> io::Result<()> {
    let quoted = line.iter().position(|&b| b != b'>').unwrap_or(line.len());
    if line[quoted..].starts_with(b"From ") {
        out.write_all(b">")?;
    }
    out.write_all(line)
}

/// A line with one `>` taken off if it is an escaped `From ` line.
fn unescaped(line: &[u8]) -> &[u8] {
    let quoted = line.iter().position(|&b| b != b'>').unwrap_or(line.len());
    match quoted > 0 && line[quoted..].starts_with(b"From ") {
        true => &line[1..],
        false => line,
    }
}

/// The date of a `From sender DATE` line, Unix seconds (UTC).
fn from_line_date(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let rest = text.strip_prefix("From ")?.trim_start();
    let (_, date) = rest.split_once(' ')?;
    let date = date.trim();
    // Some writers add a time zone or remote-from after the year.
    let date = date.get(..24).unwrap_or(date);
    NaiveDateTime::parse_from_str(date, ASCTIME)
        .ok()
        .map(|d| d.and_utc().timestamp())
}

/// A message from its lines as the file held them: the empty line before
/// the next `From ` line dropped, flag fields taken out of its header.
fn message(internal_date: i64, mut body: Vec<u8>) -> Incoming {
    if body.ends_with(b"\n\n") || body.ends_with(b"\r\n\r\n") || body == b"\n" {
        body.pop();
        if body.ends_with(b"\r") {
            body.pop();
        }
    }
    let header_end = header_length(&body);
    let mut kept = Vec::with_capacity(body.len());
    let mut status = String::new();
    let mut x_status = String::new();
    let mut keywords = Keywords::default();
    for line in body[..header_end].split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            kept.extend_from_slice(line);
            continue;
        };
        let name = name.to_ascii_lowercase();
        if !FLAG_FIELDS.contains(&name.as_str()) {
            kept.extend_from_slice(line);
            continue;
        }
        match name.as_str() {
            "status" => status = value.trim().to_string(),
            "x-status" => x_status = value.trim().to_string(),
            _ => {
                for word in value.split([' ', ',', '\t', '\r', '\n']) {
                    if is_atom(word) {
                        keywords.insert(word);
                    }
                }
            }
        }
    }
    kept.extend_from_slice(&body[header_end..]);
    Incoming {
        raw: to_crlf(kept),
        flags: file_flags::from_mbox(&status, &x_status),
        keywords,
        internal_date,
        origin: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &[u8] = b"From anna@c.it Mon Dec  7 10:00:00 2026\n\
        Subject: uno\n\
        Status: RO\n\
        X-Status: F\n\
        X-Keywords: $Label1 Lavoro\n\
        \n\
        >From the start\n\
        >>From deeper\n\
        From inside, unescaped (mboxo)\n\
        \n\
        From bruno@c.it Tue Dec  8 11:30:00 2026\n\
        Subject: due\n\
        \n\
        corpo\n\
        \n";

    #[test]
    fn messages_flags_dates_and_escapes() {
        let messages = read(FILE, 0).unwrap();
        assert_eq!(messages.len(), 2);
        let first = &messages[0];
        assert_eq!(
            first.raw,
            b"Subject: uno\r\n\r\nFrom the start\r\n>From deeper\r\n\
              From inside, unescaped (mboxo)\r\n"
        );
        assert_eq!(first.flags, Flags::SEEN | Flags::FLAGGED);
        assert_eq!(
            first.keywords.iter().collect::<Vec<_>>(),
            ["$Label1", "Lavoro"]
        );
        assert_eq!(first.internal_date, 1_796_637_600);
        assert_eq!(messages[1].raw, b"Subject: due\r\n\r\ncorpo\r\n");
        assert_eq!(messages[1].flags, Flags::default());
    }

    #[test]
    fn written_messages_read_back_the_same() {
        let messages = read(FILE, 0).unwrap();
        let mut file = Vec::new();
        for m in &messages {
            write(&mut file, &m.raw, m.flags, &m.keywords, m.internal_date).unwrap();
        }
        let again = read(&file, 0).unwrap();
        let mut file_again = Vec::new();
        for (m, a) in messages.iter().zip(&again) {
            assert_eq!(
                (&m.raw, m.flags, &m.keywords, m.internal_date),
                (&a.raw, a.flags, &a.keywords, a.internal_date)
            );
            write(
                &mut file_again,
                &a.raw,
                a.flags,
                &a.keywords,
                a.internal_date,
            )
            .unwrap();
        }
        assert_eq!(file, file_again);
        assert!(String::from_utf8_lossy(&file).contains("\n>From inside"));
    }

    #[test]
    fn other_files_are_refused() {
        assert!(read(b"Subject: x\n\nbody\n", 0).is_err());
    }
}

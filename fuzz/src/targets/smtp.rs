//! SMTP: command lines and commands, DATA content, and AUTH responses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_common::auth::parse_plain;
use postino_smtp::proto::{
    BareLf, Command, DataError, DataReader, LfToCrlf, Line, LineReader, MAX_TEXT_LINE,
    SaslResponse, decode_response, parse,
};

use super::{Target, Violation, ensure, input_rng, pieces};
use crate::corpus;

const DICTIONARY: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n.\r\n",
    b"\n.\n",
    b"\r\n.\r",
    b"\n.\r\n",
    b"\r.\r\n",
    b"\r\n..",
    b"EHLO client.example\r\n",
    b"MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME SMTPUTF8\r\n",
    b"RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.example\r\n",
    b"BDAT 5 LAST\r\n",
    b"BDAT 18446744073709551616\r\n",
    b"AUTH PLAIN AGEAYg==\r\n",
    b"AUTH LOGIN\r\n",
    b" ENVID=",
    b" RET=HDRS",
    b"<@route,@r2:x@y>",
    b"\"quoted local\"@example.org",
    b"postmaster",
    b"=",
    b"*",
    b"\0",
    b"\xc3\xa9",
];

pub const COMMAND: Target = Target {
    name: "smtp_command",
    checks: "command lines split the same whole and in pieces, as the input's \
             lines; a line over the limit is refused whole, with nothing of it \
             parsed; parsing any line never panics and keeps EHLO names within \
             255 bytes",
    dictionary: DICTIONARY,
    max_len: 8192,
    seeds: command_seeds,
    check: command,
};

pub const DATA: Target = Target {
    name: "smtp_data",
    checks: "a message dot-stuffed and ended with CRLF.CRLF, fed in pieces, \
             decodes to itself and leaves what follows unconsumed; on any bytes, \
             the end is only ever found right after CRLF.CRLF (also when bare LF \
             is normalised), whole and split agree, the size limit holds, and \
             accepted content has no bare line ends; LfToCrlf is split-invariant",
    dictionary: DICTIONARY,
    max_len: 8192,
    seeds: data_seeds,
    check: data,
};

pub const AUTH: Target = Target {
    name: "smtp_auth",
    checks: "an AUTH response yields bytes only from valid base64 (or `=`); \
             PLAIN credentials only from exactly three UTF-8 fields",
    dictionary: DICTIONARY,
    max_len: 1024,
    seeds: auth_seeds,
    check: auth,
};

fn command_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("smtp_command")
}

fn data_seeds() -> Vec<Vec<u8>> {
    let mut seeds = corpus::own_seeds("smtp_data");
    seeds.extend(corpus::mime_messages());
    seeds
}

fn auth_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("smtp_auth")
}

/// Splits a stream into lines as a session reads it.
fn read_lines(limit: usize, pieces: &[&[u8]]) -> Result<Vec<Line>, Violation> {
    let mut reader = LineReader::new(limit);
    let mut lines = Vec::new();
    let mut pending = Vec::new();
    for piece in pieces {
        pending.extend_from_slice(piece);
        loop {
            let (used, line) = reader.feed(&pending);
            ensure(used <= pending.len(), "consumed more than given", || {
                format!("{used} of {}", pending.len())
            })?;
            pending.drain(..used);
            let Some(line) = line else {
                ensure(pending.len() <= limit + 2, "holds more than a line", || {
                    format!("{} bytes under a limit of {limit}", pending.len())
                })?;
                break;
            };
            lines.push(line);
            reader = LineReader::new(limit);
        }
    }
    Ok(lines)
}

fn command(input: &[u8]) -> Result<(), Violation> {
    let mut rng = input_rng(input);
    let limit = if rng.bool() { 2048 } else { rng.usize(1..300) };
    let whole = read_lines(limit, &[input])?;
    let split = read_lines(limit, &pieces(&mut rng, input))?;
    ensure(
        whole == split,
        "lines depend on how the input is split",
        || format!("whole {whole:?}, split {split:?}"),
    )?;
    // What the lines must be: the input cut at each LF, less one CR before
    // it, refused when longer than the limit; the unended tail is not a line.
    let ended = input.iter().filter(|&&b| b == b'\n').count();
    let expected: Vec<Line> = input
        .split(|&b| b == b'\n')
        .take(ended)
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > limit {
                Line::TooLong
            } else {
                Line::Complete(line.to_vec())
            }
        })
        .collect();
    ensure(whole == expected, "lines other than the input's", || {
        format!("read {whole:?}, expected {expected:?}")
    })?;
    for line in whole {
        let Line::Complete(line) = line else { continue };
        if let Ok(Command::Ehlo(name) | Command::Helo(name)) = parse(&line) {
            ensure(
                !name.is_empty() && name.len() <= 255,
                "an EHLO name out of bounds",
                || format!("{name:?}"),
            )?;
        }
    }
    Ok(())
}

/// Feeds pieces to a reader until it finds the end; how many bytes it
/// consumed, and its verdict if it found the end.
fn read_data(
    limit: usize,
    bare_lf: BareLf,
    pieces: &[&[u8]],
) -> (usize, Option<Result<Vec<u8>, DataError>>) {
    let mut reader = DataReader::new(limit, bare_lf);
    let mut consumed = 0;
    for piece in pieces {
        let (used, done) = reader.feed(piece);
        consumed += used;
        if done {
            return (consumed, Some(reader.finish()));
        }
    }
    (consumed, None)
}

fn data(input: &[u8]) -> Result<(), Violation> {
    let mut rng = input_rng(input);
    let limit = if rng.bool() {
        usize::MAX
    } else {
        rng.usize(..4096)
    };
    round_trip(input, limit, &mut rng)?;
    for bare_lf in [BareLf::Refuse, BareLf::Normalize] {
        let whole = read_data(limit, bare_lf, &[input]);
        let split = read_data(limit, bare_lf, &pieces(&mut rng, input));
        ensure(
            whole == split,
            "DATA depends on how the input is split",
            || format!("{bare_lf:?}: whole {whole:?}, split {split:?}"),
        )?;
        let (consumed, verdict) = whole;
        // The DATA command's own CRLF comes before the content.
        let mut seen = b"\r\n".to_vec();
        seen.extend_from_slice(&input[..consumed]);
        match verdict {
            Some(verdict) => {
                ensure(
                    seen.ends_with(b"\r\n.\r\n"),
                    "DATA ended without CRLF.CRLF",
                    || format!("{bare_lf:?} at {consumed}"),
                )?;
                if let Ok(content) = verdict {
                    ensure(
                        content.len() <= limit,
                        "content over the size limit",
                        || format!("{} > {limit}", content.len()),
                    )?;
                    ensure(
                        well_formed(&content),
                        "content with a bare line end or a long line accepted",
                        || format!("{bare_lf:?}: {:?}", String::from_utf8_lossy(&content)),
                    )?;
                }
            }
            None => ensure(
                consumed == input.len(),
                "DATA left bytes before its end",
                || format!("{consumed} of {}", input.len()),
            )?,
        }
    }
    let mut whole = Vec::new();
    LfToCrlf::default().push(input, &mut whole);
    let mut split = Vec::new();
    let mut rewriter = LfToCrlf::default();
    for piece in pieces(&mut rng, input) {
        rewriter.push(piece, &mut split);
    }
    ensure(
        whole == split,
        "LfToCrlf depends on how the input is split",
        || format!("whole {whole:?}, split {split:?}"),
    )?;
    ensure(
        whole
            .iter()
            .enumerate()
            .all(|(i, &b)| b != b'\n' || (i > 0 && whole[i - 1] == b'\r')),
        "LfToCrlf left a bare LF",
        || format!("{whole:?}"),
    )
}

/// The input as a well-formed message (its lines, CRLF-ended, without other
/// CRs), sent dot-stuffed and ended with a random tail after it: what was
/// sent comes back, and the tail is left.
fn round_trip(input: &[u8], limit: usize, rng: &mut fastrand::Rng) -> Result<(), Violation> {
    let mut message = Vec::new();
    let mut sent = Vec::new();
    for line in input.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        let line: Vec<u8> = line.iter().copied().filter(|&b| b != b'\r').collect();
        if line.first() == Some(&b'.') {
            sent.push(b'.');
        }
        for text in [&mut message, &mut sent] {
            text.extend_from_slice(&line);
            text.extend_from_slice(b"\r\n");
        }
    }
    sent.extend_from_slice(b".\r\n");
    let end = sent.len();
    sent.extend_from_slice(&input[..rng.usize(..=input.len())]);
    let (consumed, verdict) = read_data(limit, BareLf::Refuse, &pieces(rng, &sent));
    ensure(consumed == end, "DATA did not end at CRLF.CRLF", || {
        format!("ended at {consumed}, not {end}")
    })?;
    let longest = message
        .split(|&b| b == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    let expected = if message.len() > limit {
        Err(DataError::TooBig)
    } else if longest > MAX_TEXT_LINE + 1 {
        Err(DataError::LineTooLong)
    } else {
        Ok(message)
    };
    ensure(
        verdict.as_ref() == Some(&expected),
        "a message does not come back",
        || format!("{verdict:?}, expected {expected:?}"),
    )
}

/// Every CR is followed by LF, every LF follows a CR, and no line is longer
/// than RFC 5321 allows.
fn well_formed(content: &[u8]) -> bool {
    let pairs_ok = content.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => content.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && content[i - 1] == b'\r',
        _ => true,
    });
    pairs_ok
        && content
            .split(|&b| b == b'\n')
            .all(|line| line.len() <= MAX_TEXT_LINE + 1)
}

fn auth(input: &[u8]) -> Result<(), Violation> {
    // The session reads a response line as lossy UTF-8.
    let text = String::from_utf8_lossy(input);
    let SaslResponse::Data(bytes) = decode_response(&text) else {
        return Ok(());
    };
    ensure(
        text == "=" && bytes.is_empty() || strict_base64(text.trim()),
        "bytes from invalid base64",
        || format!("{text:?}"),
    )?;
    ensure(
        text == "=" || BASE64.encode(&bytes) == text.trim(),
        "base64 decoded to other bytes",
        || format!("{text:?} gave {bytes:?}"),
    )?;
    if let Ok((user, password)) = parse_plain(&bytes) {
        let fields: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
        ensure(
            fields.len() == 3
                && fields[1] == user.as_bytes()
                && fields[2] == password.expose().as_bytes(),
            "PLAIN credentials other than the message's fields",
            || format!("{bytes:?}"),
        )?;
    }
    Ok(())
}

/// Base64 as RFC 4648 §4 writes it: groups of four alphabet characters, the
/// last with at most two `=` at its end.
fn strict_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    padding <= 2
        && bytes[..bytes.len() - padding]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

//! POP3: the line reader and command parser a client's bytes go through,
//! and the dot-stuffing of what RETR and TOP send, which must not let a
//! message end its response early.

use postino_pop3::proto::parse::{TooLong, next_line, parse_command};
use postino_pop3::proto::response::write_message;

use super::{Target, Violation, ensure, input_rng, pieces};
use crate::corpus;

const COMMAND_DICTIONARY: &[&[u8]] = &[
    b"USER ",
    b"PASS ",
    b"AUTH PLAIN ",
    b"RETR ",
    b"TOP ",
    b"LIST",
    b"UIDL",
    b"DELE ",
    b"STLS",
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b"4294967296",
    b"18446744073709551616",
    b"0",
];

pub const COMMAND: Target = Target {
    name: "pop3_command",
    checks: "lines read the same from the whole input and from it in random pieces, each ending \
             at an LF within the limit, never consuming more than given; parsing a line never \
             panics",
    dictionary: COMMAND_DICTIONARY,
    max_len: 4096,
    seeds: command_seeds,
    check: command,
};

const MESSAGE_DICTIONARY: &[&[u8]] = &[b".", b"\r\n", b"\n", b"\r", b"\r\n.\r\n", b"\n.\n", b".."];

pub const MESSAGE: Target = Target {
    name: "pop3_message",
    checks: "what RETR and TOP send of any message is CRLF lines ending with the one `.` line; \
             unstuffed, RETR's is the message with every line ended by CRLF, TOP's a prefix of it",
    dictionary: MESSAGE_DICTIONARY,
    max_len: 8192,
    seeds: message_seeds,
    check: message,
};

fn command_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("pop3_command")
}

fn message_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("pop3_message")
}

/// Reads lines as a connection does, parsing each; a line too long ends
/// the list with `end`.
fn read_all(pieces: &[&[u8]], max_line: usize) -> Result<Vec<String>, Violation> {
    let mut held = Vec::new();
    let mut read = Vec::new();
    for piece in pieces {
        held.extend_from_slice(piece);
        loop {
            match next_line(&held, max_line) {
                Ok(Some((line, used))) => {
                    ensure(
                        used <= held.len() && used <= max_line && held[used - 1] == b'\n',
                        "a line does not end at an LF within the limit",
                        || format!("{used} of {} (limit {max_line})", held.len()),
                    )?;
                    ensure(!line.contains(&b'\n'), "a line holds an LF", || {
                        format!("{line:?}")
                    })?;
                    read.push(format!("{:?}", parse_command(line)));
                    held.drain(..used);
                }
                Ok(None) => break,
                Err(TooLong) => {
                    read.push("end".to_string());
                    return Ok(read);
                }
            }
        }
    }
    Ok(read)
}

fn command(input: &[u8]) -> Result<(), Violation> {
    let mut rng = input_rng(input);
    let max_line = rng.usize(4..1024);
    let split = pieces(&mut rng, input);
    let whole = read_all(&[input], max_line)?;
    let split = read_all(&split, max_line)?;
    ensure(
        whole == split,
        "what is read depends on how the input is split",
        || format!("whole {whole:?}, split {split:?}"),
    )
}

/// The lines a client reads from a multi-line response, unstuffed, up to
/// the `.` line; `None` if the response is not CRLF lines ending there.
fn unstuffed(sent: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = sent;
    loop {
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = &rest[..end];
        rest = &rest[end + 2..];
        if line == b"." {
            return rest.is_empty().then_some(out);
        }
        if line.contains(&b'\n') {
            return None;
        }
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
    }
}

/// `raw` with every line ended by CRLF, as RETR should send it.
fn crlf_lines(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lines = raw.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() && line.is_empty() {
            break;
        }
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn message(input: &[u8]) -> Result<(), Violation> {
    let mut sent = Vec::new();
    write_message(&mut sent, input, None);
    let expected = crlf_lines(input);
    ensure(
        unstuffed(&sent).as_deref() == Some(&expected[..]),
        "RETR does not send the message, every line ended by CRLF",
        || format!("sent {:?}", String::from_utf8_lossy(&sent)),
    )?;
    let lines = input_rng(input).u64(0..8);
    let mut top = Vec::new();
    write_message(&mut top, input, Some(lines));
    let prefix = unstuffed(&top);
    ensure(
        prefix.as_ref().is_some_and(|p| expected.starts_with(p)),
        "TOP does not send a prefix of the message",
        || format!("TOP {lines}: {:?}", String::from_utf8_lossy(&top)),
    )
}

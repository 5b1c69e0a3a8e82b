//! Sieve: users' scripts, compiled at upload and run at every delivery,
//! and ManageSieve's command reader, which takes them from the network.

use postino_managesieve::proto::parse::{
    Limits as ReaderLimits, ParseError, Parsed, parse, parse_sasl_response,
};
use postino_sieve::{Action, Context, Envelope, Limits, NoIncludes, compile, run};

use super::{Target, Violation, ensure, input_rng, pieces};
use crate::corpus;

/// An input holds a script, then this, then a message to run it on.
const SPLIT: &[u8] = b"\n#---\n";

const SCRIPT_DICTIONARY: &[&[u8]] = &[
    b"require",
    b"\"fileinto\"",
    b"\"variables\"",
    b"\"vacation\"",
    b"\"imap4flags\"",
    b"\"include\"",
    b"if",
    b"elsif",
    b"else",
    b"header",
    b"address",
    b":matches",
    b":contains",
    b":regex",
    b":count",
    b"\"ge\"",
    b"${1}",
    b"${",
    b"text:\r\n",
    b"\r\n.\r\n",
    b"{",
    b"}",
    b";",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"*",
    b"?",
    b"/*",
    b"*/",
    b"#",
    b"999999999999K",
    SPLIT,
];

pub const SCRIPT: Target = Target {
    name: "sieve_script",
    checks: "compiling a script never panics and a refusal names a line and column within it; \
             running one on any message never panics, stays within the action limit, and a \
             failed run is only a keep",
    dictionary: SCRIPT_DICTIONARY,
    max_len: 8192,
    seeds: script_seeds,
    check: script,
};

const COMMAND_DICTIONARY: &[&[u8]] = &[
    b"PUTSCRIPT",
    b"CHECKSCRIPT",
    b"AUTHENTICATE",
    b"HAVESPACE",
    b"RENAMESCRIPT",
    b"NOOP",
    b"{",
    b"+}",
    b"}\r\n",
    b"\r\n",
    b"\"",
    b"\\\"",
    b" ",
    b"4294967296",
];

pub const COMMAND: Target = Target {
    name: "managesieve_command",
    checks: "commands, and SASL responses, read the same from the whole input and from it in \
             random pieces, never consume more than given, and a skipped bad command ends at a \
             line end",
    dictionary: COMMAND_DICTIONARY,
    max_len: 4096,
    seeds: command_seeds,
    check: command,
};

fn script_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("sieve_script")
}

fn command_seeds() -> Vec<Vec<u8>> {
    corpus::own_seeds("managesieve_command")
}

fn script(input: &[u8]) -> Result<(), Violation> {
    let (source, message) = match input.windows(SPLIT.len()).position(|w| w == SPLIT) {
        Some(at) => (&input[..at], &input[at + SPLIT.len()..]),
        None => (
            input,
            &b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n"[..],
        ),
    };
    let source = String::from_utf8_lossy(source);
    let limits = Limits {
        max_steps: 20_000,
        ..Limits::default()
    };
    let compiled = match compile(&source, &NoIncludes, &limits) {
        Ok(compiled) => compiled,
        Err(error) => {
            let lines = source.lines().count() as u32 + 1;
            return ensure(
                error.line >= 1 && error.line <= lines && error.column >= 1,
                "a compile error points outside the script",
                || format!("{error:?} in {lines} lines"),
            );
        }
    };
    let envelope = Envelope {
        from: "mittente@esterno.example".to_string(),
        to: "anna@comune.test".to_string(),
    };
    let outcome = run(
        &compiled,
        &Context {
            message,
            envelope: &envelope,
            now: 1_796_600_000,
            zone_offset_minutes: 60,
            mailbox_exists: &|name| name == "INBOX" || name == "Archivio",
        },
    );
    ensure(
        outcome.actions.len() <= limits.max_actions + 1,
        "more actions than the limit",
        || format!("{} actions", outcome.actions.len()),
    )?;
    if outcome.error.is_some() {
        ensure(
            matches!(outcome.actions.as_slice(), [Action::Keep { .. }]),
            "a failed run does more than keep",
            || format!("{:?}", outcome.actions),
        )?;
    }
    Ok(())
}

/// Reads commands (or SASL responses) with `parse` as a session does:
/// parsing what it holds, dropping what each command (or bad line) took,
/// until what is held is too large, which ends the list with an `end:`
/// entry.
fn read_all<T: std::fmt::Debug>(
    parse: fn(&[u8], &ReaderLimits) -> Parsed<T>,
    limits: &ReaderLimits,
    pieces: &[&[u8]],
) -> Result<Vec<String>, Violation> {
    let mut held = Vec::new();
    let mut read = Vec::new();
    for piece in pieces {
        held.extend_from_slice(piece);
        loop {
            match parse(&held, limits) {
                Ok(Some((command, used))) => {
                    ensure(
                        used <= held.len() && used > 0,
                        "consumed what it was not given",
                        || format!("{used} of {}", held.len()),
                    )?;
                    read.push(format!("{command:?}"));
                    held.drain(..used);
                }
                Ok(None) => break,
                Err(ParseError::Bad { skip, .. }) => {
                    ensure(
                        skip >= 2 && skip <= held.len() && &held[skip - 2..skip] == b"\r\n",
                        "a bad command is skipped to somewhere else than a line end",
                        || format!("skip {skip} of {}", held.len()),
                    )?;
                    read.push("bad".to_string());
                    held.drain(..skip);
                }
                Err(ParseError::TooLarge(what)) => {
                    read.push(format!("end: {what}"));
                    return Ok(read);
                }
            }
        }
    }
    Ok(read)
}

fn command(input: &[u8]) -> Result<(), Violation> {
    let mut rng = input_rng(input);
    let limits = ReaderLimits {
        max_literal: rng.usize(1..2048),
        max_line: rng.usize(16..1024),
    };
    let split = pieces(&mut rng, input);
    split_invariant(parse, &limits, input, &split)?;
    split_invariant(parse_sasl_response, &limits, input, &split)
}

/// Whether `parse` reads the same from `input` whole and in `split`.
fn split_invariant<T: std::fmt::Debug>(
    parse: fn(&[u8], &ReaderLimits) -> Parsed<T>,
    limits: &ReaderLimits,
    input: &[u8],
    split: &[&[u8]],
) -> Result<(), Violation> {
    let whole = read_all(parse, limits, &[input])?;
    let split = read_all(parse, limits, split)?;
    // Pieces may end a session sooner, once what is held is too long a
    // line: what was read before must agree.
    let agree = whole == split
        || split.last().is_some_and(|last| last.starts_with("end:"))
            && whole.starts_with(&split[..split.len() - 1]);
    ensure(
        agree,
        "what is read depends on how the input is split",
        || format!("whole {whole:?}, split {split:?}"),
    )
}

//! IMAP: command framing, command decoding, and the BODYSTRUCTURE and
//! ENVELOPE the server writes, each read back by imap-codec.

use imap_codec::decode::Decoder;
use imap_codec::encode::Encoder;
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::Command;
use imap_codec::imap_types::fetch::MessageDataItem;
use imap_codec::imap_types::response::{Data, Response};
use imap_codec::{CommandCodec, ResponseCodec};
use postino_imap::proto::{
    Assembler, Event, Limits, decode_authenticate_data, decode_command, decode_idle_done,
    write_body_structure, write_envelope,
};

use super::{Target, Violation, ensure, input_rng, pieces};
use crate::corpus;

const DICTIONARY: &[&[u8]] = &[
    b"{5+}\r\n",
    b"{5}\r\n",
    b"{0}\r\n",
    b"~{3+}\r\n",
    b"{4097+}\r\n",
    b"{99999999999999999999}\r\n",
    b"\r\n",
    b"\n",
    b"a1 ",
    b"UID ",
    b"BODY[",
    b"BODY.PEEK[1.2.MIME]<0.10>",
    b"BINARY[1]",
    b"HEADER.FIELDS (FROM TO)",
    b"FETCH 1:* (FLAGS)",
    b"APPEND INBOX ",
    b"SEARCH RETURN (MIN COUNT) ",
    b"LIST (SUBSCRIBED) \"\" * RETURN (CHILDREN)",
    b"STORE 1 +FLAGS (\\Seen)",
    b"SELECT INBOX (QRESYNC (1 2))",
    b"AUTHENTICATE PLAIN ",
    b"IDLE\r\n",
    b"DONE\r\n",
    b"(CHANGEDSINCE 5)",
    b"$",
    b"NIL",
    b"\"\\\\\"",
];

pub const FRAMING: Target = Target {
    name: "imap_framing",
    checks: "the same bytes fed whole and in random pieces give the same events; \
             never more consumed than given; every command ends its line and \
             stays within the limits",
    dictionary: DICTIONARY,
    max_len: 8192,
    seeds: framing_seeds,
    check: framing,
};

pub const COMMAND: Target = Target {
    name: "imap_command",
    checks: "a framed command that decodes is encoded by imap-codec into bytes \
             that decode to an equal command",
    dictionary: DICTIONARY,
    max_len: 4096,
    seeds: command_seeds,
    check: command,
};

pub const RENDER: Target = Target {
    name: "imap_render",
    checks: "the ENVELOPE, BODY and BODYSTRUCTURE written for any message, with \
             and without UTF8=ACCEPT, parse back with imap-codec's response decoder",
    dictionary: super::mime::DICTIONARY,
    max_len: 16384,
    seeds: render_seeds,
    check: render,
};

fn framing_seeds() -> Vec<Vec<u8>> {
    let mut seeds = corpus::own_seeds("imap_framing");
    seeds.extend(corpus::imap_client_streams());
    seeds
}

fn command_seeds() -> Vec<Vec<u8>> {
    let mut seeds = corpus::own_seeds("imap_command");
    seeds.extend(corpus::imap_client_lines());
    seeds
}

fn render_seeds() -> Vec<Vec<u8>> {
    let mut seeds = corpus::own_seeds("mime_parse");
    seeds.extend(corpus::mime_messages());
    seeds
}

/// Feeds every piece to a fresh assembler as a session does, keeping what
/// it does not consume, and returns the events.
fn assemble(limits: Limits, pieces: &[&[u8]]) -> Result<Vec<Event>, Violation> {
    let mut assembler = Assembler::new(limits);
    let mut events = Vec::new();
    let mut pending = Vec::new();
    for piece in pieces {
        pending.extend_from_slice(piece);
        loop {
            let (used, event) = assembler.feed(&pending);
            ensure(used <= pending.len(), "consumed more than given", || {
                format!("{used} of {}", pending.len())
            })?;
            pending.drain(..used);
            ensure(
                assembler.buffered() as u64 <= limits.max_buffered(),
                "holds more than max_buffered",
                || format!("{} bytes", assembler.buffered()),
            )?;
            let Some(event) = event else {
                ensure(pending.is_empty(), "stopped without an event", || {
                    format!("{} bytes left", pending.len())
                })?;
                break;
            };
            // What a session does next depends only on the event, so the
            // whole and the split runs take the same path.
            match &event {
                Event::Command(bytes) => {
                    let upper = bytes.to_ascii_uppercase();
                    if upper.windows(4).any(|w| w == b"IDLE")
                        || upper.windows(4).any(|w| w == b"AUTH")
                    {
                        assembler.expect_line();
                    }
                }
                Event::Continue { length } if length % 5 == 0 => assembler.abandon(),
                _ => {}
            }
            events.push(event);
        }
    }
    Ok(events)
}

fn framing(input: &[u8]) -> Result<(), Violation> {
    let mut rng = input_rng(input);
    let limits = match rng.u8(..3) {
        0 => Limits::default(),
        1 => Limits {
            literal_minus: true,
            ..Limits::default()
        },
        _ => Limits {
            max_line: rng.usize(16..512),
            max_literal: rng.u64(0..2048),
            max_append_literal: rng.u64(0..4096),
            literal_minus: rng.bool(),
        },
    };
    let whole = assemble(limits, &[input])?;
    let split = assemble(limits, &pieces(&mut rng, input))?;
    ensure(
        whole == split,
        "events depend on how the input is split",
        || format!("whole {whole:?}, split {split:?}"),
    )?;
    let largest_literal = limits.max_literal.max(limits.max_append_literal);
    for event in &whole {
        match event {
            Event::Command(bytes) | Event::Line(bytes) => {
                ensure(
                    bytes.last() == Some(&b'\n'),
                    "a command not ending its line",
                    || format!("{:?}", String::from_utf8_lossy(bytes)),
                )?;
                ensure(
                    bytes.len() as u64 <= limits.max_buffered(),
                    "a command longer than the limits",
                    || format!("{} bytes under {limits:?}", bytes.len()),
                )?;
                if let Event::Line(line) = event {
                    let _ = decode_idle_done(line);
                    let _ = decode_authenticate_data(line);
                }
            }
            Event::Continue { length } => ensure(
                *length <= largest_literal,
                "a continuation for a literal over the limit",
                || format!("{length} under {limits:?}"),
            )?,
            Event::Refused(refusal) => {
                let _ = refusal.to_string();
            }
        }
    }
    Ok(())
}

fn command(input: &[u8]) -> Result<(), Violation> {
    // Unframed bytes too: the decoder must not trust the framing.
    let _ = decode_command(input);
    for event in assemble(Limits::default(), &[input])? {
        let Event::Command(bytes) = event else {
            continue;
        };
        let Ok(decoded) = decode_command(&bytes) else {
            continue;
        };
        round_trip(&bytes, decoded.command)?;
    }
    Ok(())
}

/// How many times a command may be encoded and decoded before it stops
/// changing.
const ROUNDS: usize = 4;

/// Encodes `command` and decodes it again until nothing changes: the first
/// pass must give an equal command, but for imap-codec's encoder, which
/// merges the overlapping ranges of a sequence set (`2:4,1:*` goes out as
/// `1:*`, the same set) one pass at a time.
fn round_trip(bytes: &[u8], command: Command<'_>) -> Result<(), Violation> {
    let mut command = command.into_static();
    for _ in 0..ROUNDS {
        let encoded = CommandCodec::new().encode(&command).dump();
        let again = decode_command(&encoded).map_err(|err| Violation {
            invariant: "an encoded command does not decode",
            detail: format!(
                "{err}: {:?} from {:?}",
                String::from_utf8_lossy(&encoded),
                String::from_utf8_lossy(bytes)
            ),
        })?;
        if again.command == command {
            return Ok(());
        }
        let same_but_sets = without_sets(&again.command) == without_sets(&command);
        ensure(same_but_sets, "a command changes through encoding", || {
            format!(
                "{:?} became {:?}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&encoded)
            )
        })?;
        command = again.command.into_static();
    }
    Err(Violation {
        invariant: "a command keeps changing through encoding",
        detail: format!("{:?}", String::from_utf8_lossy(bytes)),
    })
}

/// A command's encoding with every token that could be a sequence set (made
/// of digits, `:`, `,`, `*` and `$` only) replaced by `#`: what must not
/// change when imap-codec rewrites a set. Plain numbers are masked too,
/// which this check accepts.
fn without_sets(command: &Command<'_>) -> Vec<u8> {
    let encoded = CommandCodec::new().encode(command).dump();
    let is_set = |b: &u8| b.is_ascii_digit() || matches!(b, b':' | b',' | b'*' | b'$');
    let mut out = Vec::with_capacity(encoded.len());
    for (i, &b) in encoded.iter().enumerate() {
        if !is_set(&b) {
            out.push(b);
        } else if i == 0 || !is_set(&encoded[i - 1]) {
            out.push(b'#');
        }
    }
    out
}

fn render(input: &[u8]) -> Result<(), Violation> {
    let parsed = postino_common::mime::parse(input);
    for utf8 in [false, true] {
        let mut item = b"ENVELOPE ".to_vec();
        write_envelope(&mut item, &parsed.envelope, utf8);
        read_back(&item, |item| matches!(item, MessageDataItem::Envelope(_)))?;
        for extended in [false, true] {
            let mut item = if extended {
                b"BODYSTRUCTURE ".to_vec()
            } else {
                b"BODY ".to_vec()
            };
            write_body_structure(&mut item, &parsed.structure, extended, utf8);
            read_back(&item, |item| match item {
                MessageDataItem::BodyStructure(_) => extended,
                MessageDataItem::Body(_) => !extended,
                _ => false,
            })?;
        }
    }
    Ok(())
}

/// Has imap-codec read `item` inside a FETCH response, as a client would.
fn read_back(item: &[u8], expected: impl Fn(&MessageDataItem) -> bool) -> Result<(), Violation> {
    let mut line = b"* 1 FETCH (".to_vec();
    line.extend_from_slice(item);
    line.extend_from_slice(b")\r\n");
    let shown = || String::from_utf8_lossy(&line).into_owned();
    let (rest, response) = ResponseCodec::new()
        .decode(&line)
        .map_err(|err| Violation {
            invariant: "a FETCH item imap-codec cannot read",
            detail: format!("{err:?}: {}", shown()),
        })?;
    ensure(rest.is_empty(), "a FETCH item with bytes left over", shown)?;
    let Response::Data(Data::Fetch { items, .. }) = response else {
        return Err(Violation {
            invariant: "a FETCH item read as another response",
            detail: shown(),
        });
    };
    let items = items.into_inner();
    ensure(
        items.len() == 1 && expected(&items[0]),
        "a FETCH item read as another item",
        shown,
    )
}

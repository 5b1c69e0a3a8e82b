//! Command framing: splits what a client sends into whole commands before
//! anything parses them, so that literal bytes are never read as commands.
//!
//! A command is one or more lines, each but the last ending in a literal
//! announcement: `{n}` (synchronizing: the client waits for a `+`
//! continuation request before sending the `n` bytes, RFC 9051 §4.3 and
//! §7.5), `{n+}` (non-synchronizing, LITERAL+, RFC 7888 §3), or the same
//! with a leading `~` for BINARY's literal8 (RFC 3516 §4.3); the framing only
//! reads the announcement at the end of a line. Under LITERAL- (RFC 7888 §4)
//! a client may send `{n+}` only for `n` up to 4096. There is no `{n-}`
//! form: a line ending that way announces nothing, and the parser refuses it.
//!
//! Limits keep memory bounded whatever a client sends: the text of a command
//! outside its literals (Dovecot's 64 KiB), each literal (25 MiB, with a
//! separate limit for APPEND, the APPENDLIMIT of RFC 7889), and all literals
//! of one command together. A synchronizing literal over its limit is refused
//! before the client sends it; anything else over a limit is read to the end
//! of its command and dropped, and only then refused, so the next command
//! starts where the client thinks it does (`STYLE.md`, anti-pattern 2).

use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::core::Tag;

/// The longest command text outside literals: Dovecot's `imap_max_line_length`.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// The largest literal: Dovecot's default message size limit.
pub const DEFAULT_MAX_LITERAL: u64 = 25 * 1024 * 1024;

/// The largest non-synchronizing literal a LITERAL- server accepts (RFC 7888 §4).
pub const LITERAL_MINUS_MAX: u64 = 4096;

/// The sizes a command may reach; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The text of one command outside its literals, line endings included,
    /// in bytes. Default 64 KiB.
    pub max_line: usize,
    /// The largest literal of any command but APPEND, in bytes. Default 25 MiB.
    pub max_literal: u64,
    /// The largest literal of an APPEND command, in bytes: the APPENDLIMIT
    /// the server advertises. Default 25 MiB.
    pub max_append_literal: u64,
    /// The server offers LITERAL- rather than LITERAL+: a non-synchronizing
    /// literal over 4096 bytes is refused. Default false.
    pub literal_minus: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line: DEFAULT_MAX_LINE,
            max_literal: DEFAULT_MAX_LITERAL,
            max_append_literal: DEFAULT_MAX_LITERAL,
            literal_minus: false,
        }
    }
}

impl Limits {
    /// The most bytes an [`Assembler`] holds at once under these limits: a
    /// command's text plus all its literals.
    pub fn max_buffered(&self) -> u64 {
        let text = self.max_line as u64;
        let literal = self.max_literal.max(self.max_append_literal);
        // Literals together may exceed one literal's limit by a line's worth,
        // for a small literal (a mailbox name) beside the message.
        text.saturating_add(literal.saturating_add(text))
    }
}

/// What the assembler found; see [`Assembler::feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole command, literals and final line ending included: decode it
    /// with [`super::decode_command`].
    Command(Vec<u8>),
    /// The one line asked for with [`Assembler::expect_line`] (an
    /// AUTHENTICATE response or IDLE's `DONE`), with its line ending.
    Line(Vec<u8>),
    /// The client announced a synchronizing literal of `length` bytes within
    /// the limits and waits: send a continuation request (`+ ...`) and go on
    /// feeding, or refuse the command with a tagged response and call
    /// [`Assembler::abandon`].
    Continue { length: u64 },
    /// The command broke a limit. Everything it sent is consumed; answer
    /// with a tagged `BAD` (or `NO [TOOBIG]`, see [`Reason`]), or `* BAD`
    /// when no tag could be recovered.
    Refused(Refusal),
}

/// A command refused by the framing, and the tag to answer it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    /// The command's tag, when its first line had one.
    pub tag: Option<Tag<'static>>,
    pub reason: Reason,
}

/// Why the framing refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The command's text outside literals is longer than
    /// [`Limits::max_line`]: answer `BAD`.
    #[error("command longer than {limit} octets")]
    LineTooLong { limit: usize },
    /// A literal, or the literals of the command together, are larger than
    /// the limit. A synchronizing one was refused before it was sent; a
    /// non-synchronizing one was read and dropped. RFC 7889 answers an APPEND
    /// with `NO [TOOBIG]`; anything else gets `BAD [TOOBIG]` (RFC 7888 §4).
    #[error("literal of {length} octets larger than the limit of {limit}")]
    LiteralTooBig {
        length: u64,
        limit: u64,
        synchronizing: bool,
        append: bool,
    },
}

/// Splits a client's bytes into commands; sans-IO, fed any pieces.
#[derive(Debug)]
pub struct Assembler {
    limits: Limits,
    /// The current command as received; left empty while refusing it.
    buffer: Vec<u8>,
    unit: Unit,
    tail: Tail,
    /// Bytes of the current command outside literals.
    text: usize,
    /// Bytes of the current command inside literals.
    literals: u64,
    /// Set once the current command is refused: the rest of it is read and
    /// dropped until it ends.
    refusal: Option<Refusal>,
    /// The next unit is a bare line in which `{n}` announces nothing.
    line_only: bool,
}

/// What the next bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Line,
    Literal { remaining: u64 },
}

impl Assembler {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buffer: Vec::new(),
            unit: Unit::Line,
            tail: Tail::Other,
            text: 0,
            literals: 0,
            refusal: None,
            line_only: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Reads from `input` up to the next event, and returns how many bytes
    /// it consumed (the caller keeps the rest for the next call) and the
    /// event, or `None` when all of `input` was consumed without one. Never
    /// holds more than [`Limits::max_buffered`] bytes.
    #[must_use = "the bytes not consumed must be fed again"]
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Event>) {
        let mut used = 0;
        while used < input.len() {
            let rest = &input[used..];
            match self.unit {
                Unit::Literal { remaining } => {
                    let take = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
                    if self.refusal.is_none() {
                        self.buffer.extend_from_slice(&rest[..take]);
                    }
                    used += take;
                    let remaining = remaining - take as u64;
                    self.unit = if remaining == 0 {
                        Unit::Line
                    } else {
                        Unit::Literal { remaining }
                    };
                }
                Unit::Line => {
                    let (take, ended) = match rest.iter().position(|&b| b == b'\n') {
                        Some(lf) => (lf + 1, true),
                        None => (rest.len(), false),
                    };
                    let chunk = &rest[..take];
                    used += take;
                    let content = if ended { &chunk[..take - 1] } else { chunk };
                    self.tail = content.iter().fold(self.tail, |tail, &b| tail.next(b));
                    self.add_text(chunk);
                    if ended && let Some(event) = self.line_end() {
                        return (used, Some(event));
                    }
                }
            }
        }
        (used, None)
    }

    /// Makes the next unit one bare line, delivered as [`Event::Line`]: for
    /// a SASL response after AUTHENTICATE's continuation request, or `DONE`
    /// during IDLE. A `{n}` at its end announces nothing there.
    pub fn expect_line(&mut self) {
        self.line_only = true;
    }

    /// Drops the current command, after an [`Event::Continue`] that the
    /// session answered with a tagged response instead of `+`: the client
    /// then sends no literal, and its next bytes start a new command.
    pub fn abandon(&mut self) {
        self.buffer = Vec::new();
        self.reset();
    }

    /// Whether part of a command has been received (for a shorter timeout
    /// on a client that stops mid-command or mid-literal).
    pub fn in_command(&self) -> bool {
        self.text > 0 || self.unit != Unit::Line
    }

    /// The bytes held for the current command.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Counts and keeps a piece of command text, or starts refusing the
    /// command when it grows past the line limit.
    fn add_text(&mut self, chunk: &[u8]) {
        let room = self.limits.max_line.saturating_sub(self.text);
        self.text = self.text.saturating_add(chunk.len());
        if self.refusal.is_some() {
            return;
        }
        if chunk.len() <= room {
            self.buffer.extend_from_slice(chunk);
        } else {
            // Keep what fits, so that a tag at the start is still there.
            self.buffer.extend_from_slice(&chunk[..room]);
            self.refuse(Reason::LineTooLong {
                limit: self.limits.max_line,
            });
        }
    }

    /// At the end of a line: the command ends, or a literal follows.
    fn line_end(&mut self) -> Option<Event> {
        let announced = if self.line_only {
            None
        } else {
            self.tail.literal()
        };
        self.tail = Tail::Other;
        let Some((length, sync)) = announced else {
            return Some(self.finish());
        };
        if self.refusal.is_some() {
            // A client waiting for `+` gets the refusal instead, and sends
            // no literal: the command ends here.
            if sync {
                return Some(self.finish());
            }
            self.start_literal(length);
            return None;
        }
        let append = self.is_append();
        let limit = if append {
            self.limits.max_append_literal
        } else {
            self.limits.max_literal
        };
        let total = self.literals.saturating_add(length);
        let too_big = length > limit
            || total > limit.saturating_add(self.limits.max_line as u64)
            || (!sync && self.limits.literal_minus && length > LITERAL_MINUS_MAX);
        if too_big {
            let limit = if !sync && self.limits.literal_minus {
                limit.min(LITERAL_MINUS_MAX)
            } else {
                limit
            };
            self.refuse(Reason::LiteralTooBig {
                length,
                limit,
                synchronizing: sync,
                append,
            });
            if sync {
                return Some(self.finish());
            }
            self.start_literal(length);
            return None;
        }
        self.literals = total;
        self.start_literal(length);
        sync.then_some(Event::Continue { length })
    }

    fn start_literal(&mut self, length: u64) {
        self.unit = if length == 0 {
            Unit::Line
        } else {
            Unit::Literal { remaining: length }
        };
    }

    /// Whether the current command is APPEND: its name, after the tag, is
    /// always on the first line, before any literal.
    fn is_append(&self) -> bool {
        let Some(space) = self.buffer.iter().position(|&b| b == b' ') else {
            return false;
        };
        self.buffer
            .get(space + 1..space + 8)
            .is_some_and(|name| name.eq_ignore_ascii_case(b"APPEND "))
    }

    fn refuse(&mut self, reason: Reason) {
        let tag = recover_tag(&self.buffer);
        self.refusal = Some(Refusal { tag, reason });
        self.buffer = Vec::new();
    }

    /// Ends the current command and returns what it was.
    fn finish(&mut self) -> Event {
        let line_only = self.line_only;
        let refusal = self.refusal.take();
        let bytes = std::mem::take(&mut self.buffer);
        self.reset();
        match (refusal, line_only) {
            (Some(refusal), _) => Event::Refused(refusal),
            (None, true) => Event::Line(bytes),
            (None, false) => Event::Command(bytes),
        }
    }

    fn reset(&mut self) {
        self.unit = Unit::Line;
        self.tail = Tail::Other;
        self.text = 0;
        self.literals = 0;
        self.refusal = None;
        self.line_only = false;
    }
}

/// The tag at the start of a command, if its first word is a valid one:
/// what a tagged `BAD` for a command that did not parse answers. A line
/// that is only a tag has one too, as Dovecot reads it.
pub fn recover_tag(command: &[u8]) -> Option<Tag<'static>> {
    let end = command
        .iter()
        .position(|&b| matches!(b, b' ' | b'\r' | b'\n'))?;
    Tag::try_from(&command[..end])
        .ok()
        .map(IntoStatic::into_static)
}

/// Where the text after the last literal of a whole command starts: the
/// rest of the line that announced it, so the only place past the first
/// line where options can be cut without touching a literal.
pub(super) fn last_text_start(command: &[u8]) -> usize {
    literal_ends(command).last().copied().unwrap_or(0)
}

/// Where each literal of a whole command ends, in order.
pub(super) fn literal_ends(command: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut line = 0;
    while let Some(lf) = command[line..].iter().position(|&b| b == b'\n') {
        let end = line + lf;
        let tail = command[line..end]
            .iter()
            .fold(Tail::Other, |tail, &b| tail.next(b));
        match tail.literal() {
            Some((length, _)) => {
                let after = usize::try_from(length)
                    .ok()
                    .and_then(|length| (end + 1).checked_add(length))
                    .filter(|&after| after <= command.len());
                let Some(after) = after else { break };
                ends.push(after);
                line = after;
            }
            None => break,
        }
    }
    ends
}

/// Where the end of the line read so far stands in a literal announcement
/// `{digits[+]}[CR]`; only the bytes since the last `{` matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    Other,
    Open,
    Digits(u64),
    Plus(u64),
    Close { length: u64, sync: bool },
    CloseCr { length: u64, sync: bool },
}

impl Tail {
    fn next(self, byte: u8) -> Tail {
        match (self, byte) {
            (_, b'{') => Tail::Open,
            (Tail::Open, b'0'..=b'9') => Tail::Digits(u64::from(byte - b'0')),
            // A length too large for u64 is still a literal, refused as too
            // big: reading it as text would run its bytes as commands.
            (Tail::Digits(n), b'0'..=b'9') => {
                Tail::Digits(n.saturating_mul(10).saturating_add(u64::from(byte - b'0')))
            }
            (Tail::Digits(n), b'+') => Tail::Plus(n),
            (Tail::Digits(length), b'}') => Tail::Close { length, sync: true },
            (Tail::Plus(length), b'}') => Tail::Close {
                length,
                sync: false,
            },
            (Tail::Close { length, sync }, b'\r') => Tail::CloseCr { length, sync },
            _ => Tail::Other,
        }
    }

    /// The literal announced if the line ends here: its length and whether
    /// it is synchronizing.
    fn literal(self) -> Option<(u64, bool)> {
        match self {
            Tail::Close { length, sync } | Tail::CloseCr { length, sync } => Some((length, sync)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `piece` bytes as a session would, keeping
    /// what the assembler did not consume, and returns every event.
    fn run(assembler: &mut Assembler, input: &[u8], piece: usize) -> Vec<Event> {
        let mut events = Vec::new();
        let mut pending = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            pending.extend_from_slice(chunk);
            loop {
                let (used, event) = assembler.feed(&pending);
                pending.drain(..used);
                match event {
                    Some(event) => events.push(event),
                    None => break,
                }
            }
            assert!(pending.is_empty());
        }
        events
    }

    fn events(input: &[u8]) -> Vec<Event> {
        run(&mut Assembler::new(Limits::default()), input, usize::MAX)
    }

    fn command(bytes: &[u8]) -> Event {
        Event::Command(bytes.to_vec())
    }

    fn tag(tag: &str) -> Option<Tag<'static>> {
        Some(Tag::try_from(tag.to_string()).expect("valid tag"))
    }

    #[test]
    fn one_command_per_line() {
        assert_eq!(
            events(b"a001 LOGIN SMITH SESAME\r\na002 NOOP\r\n"),
            [
                command(b"a001 LOGIN SMITH SESAME\r\n"),
                command(b"a002 NOOP\r\n")
            ]
        );
    }

    #[test]
    fn feed_stops_after_each_event() {
        let mut assembler = Assembler::new(Limits::default());
        let input = b"a1 NOOP\r\na2 NOOP\r\na3 NOO";
        let (used, event) = assembler.feed(input);
        assert_eq!((used, event), (9, Some(command(b"a1 NOOP\r\n"))));
        let (used, event) = assembler.feed(&input[9..]);
        assert_eq!((used, event), (9, Some(command(b"a2 NOOP\r\n"))));
        assert_eq!(assembler.feed(&input[18..]), (6, None));
        assert!(assembler.in_command());
        assert_eq!(assembler.feed(b"P\r\n"), (3, Some(command(b"a3 NOOP\r\n"))));
        assert!(!assembler.in_command());
    }

    #[test]
    fn command_split_over_many_pieces() {
        let input = b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\nA655 NOOP\r\n";
        for piece in [1, 2, 3, 7, 13] {
            assert_eq!(
                run(&mut Assembler::new(Limits::default()), input, piece),
                [
                    command(b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n"),
                    command(b"A655 NOOP\r\n"),
                ],
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn synchronizing_literal_asks_for_continuation() {
        // RFC 3501 §6.3.11, with a shorter message.
        let message = b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n";
        let first = format!(
            "A003 APPEND saved-messages (\\Seen) {{{}}}\r\n",
            message.len()
        );
        let mut input = first.clone().into_bytes();
        input.extend_from_slice(message);
        input.extend_from_slice(b"\r\n");
        for piece in [1, 5, 64, usize::MAX] {
            let got = run(&mut Assembler::new(Limits::default()), &input, piece);
            assert_eq!(
                got,
                [
                    Event::Continue {
                        length: message.len() as u64
                    },
                    command(&input),
                ],
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn literal_bytes_are_never_commands() {
        // The literal holds what looks like commands and announcements.
        let input = b"A1 LOGIN {22+}\r\nX LOGOUT\r\nY NOOP {3}\r\n {5}\r\nhello\r\nA2 NOOP\r\n";
        for piece in [1, 4, usize::MAX] {
            assert_eq!(
                run(&mut Assembler::new(Limits::default()), input, piece),
                [
                    Event::Continue { length: 5 },
                    command(b"A1 LOGIN {22+}\r\nX LOGOUT\r\nY NOOP {3}\r\n {5}\r\nhello\r\n"),
                    command(b"A2 NOOP\r\n"),
                ],
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn non_synchronizing_literal_needs_no_continuation() {
        assert_eq!(
            events(b"A APPEND INBOX {5+}\r\nhello\r\n"),
            [command(b"A APPEND INBOX {5+}\r\nhello\r\n")]
        );
        // BINARY's literal8, and an empty literal.
        assert_eq!(
            events(b"A APPEND INBOX ~{2+}\r\n\0\0\r\nB LOGIN {0}\r\n {0+}\r\n\r\n"),
            [
                command(b"A APPEND INBOX ~{2+}\r\n\0\0\r\n"),
                Event::Continue { length: 0 },
                command(b"B LOGIN {0}\r\n {0+}\r\n\r\n"),
            ]
        );
    }

    #[test]
    fn no_literal_minus_form() {
        // RFC 7888 has no `{n-}`: the line ends the command.
        assert_eq!(
            events(b"A LOGIN {5-}\r\nhello\r\n"),
            [command(b"A LOGIN {5-}\r\n"), command(b"hello\r\n")]
        );
    }

    #[test]
    fn synchronizing_literal_over_limit_is_refused_before_it_is_sent() {
        let limits = Limits {
            max_literal: 100,
            max_append_literal: 1000,
            ..Limits::default()
        };
        let mut assembler = Assembler::new(limits);
        let got = run(
            &mut assembler,
            b"A1 LOGIN {101}\r\nA2 APPEND INBOX {1001}\r\nA3 APPEND INBOX {1000}\r\n",
            usize::MAX,
        );
        assert_eq!(
            got,
            [
                Event::Refused(Refusal {
                    tag: tag("A1"),
                    reason: Reason::LiteralTooBig {
                        length: 101,
                        limit: 100,
                        synchronizing: true,
                        append: false,
                    },
                }),
                Event::Refused(Refusal {
                    tag: tag("A2"),
                    reason: Reason::LiteralTooBig {
                        length: 1001,
                        limit: 1000,
                        synchronizing: true,
                        append: true,
                    },
                }),
                Event::Continue { length: 1000 },
            ]
        );
    }

    #[test]
    fn length_past_u64_is_too_big_not_text() {
        let got = events(b"A1 LOGIN {99999999999999999999999999}\r\nA2 NOOP\r\n");
        assert!(matches!(
            &got[0],
            Event::Refused(Refusal {
                reason: Reason::LiteralTooBig {
                    length: u64::MAX,
                    ..
                },
                ..
            })
        ));
        assert_eq!(got[1], command(b"A2 NOOP\r\n"));
    }

    #[test]
    fn non_synchronizing_literal_over_limit_is_read_and_dropped() {
        let limits = Limits {
            max_literal: 10,
            max_append_literal: 10,
            ..Limits::default()
        };
        let input =
            b"A1 APPEND INBOX {20+}\r\nX LOGOUT\r\nY LOGOUT\r\n more {3+}\r\nabc\r\nA2 NOOP\r\n";
        for piece in [1, 3, usize::MAX] {
            let mut assembler = Assembler::new(limits);
            let got = run(&mut assembler, input, piece);
            assert_eq!(
                got,
                [
                    Event::Refused(Refusal {
                        tag: tag("A1"),
                        reason: Reason::LiteralTooBig {
                            length: 20,
                            limit: 10,
                            synchronizing: false,
                            append: true,
                        },
                    }),
                    command(b"A2 NOOP\r\n"),
                ],
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn literal_minus_limits_non_synchronizing_literals() {
        let limits = Limits {
            literal_minus: true,
            ..Limits::default()
        };
        let mut input = b"A1 APPEND INBOX {4097+}\r\n".to_vec();
        input.extend_from_slice(&[b'x'; 4097]);
        input.extend_from_slice(b"\r\nA2 APPEND INBOX {4096+}\r\n");
        input.extend_from_slice(&[b'x'; 4096]);
        input.extend_from_slice(b"\r\n");
        let got = run(&mut Assembler::new(limits), &input, 1000);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Event::Refused(Refusal {
                tag: tag("A1"),
                reason: Reason::LiteralTooBig {
                    length: 4097,
                    limit: LITERAL_MINUS_MAX,
                    synchronizing: false,
                    append: true,
                },
            })
        );
        assert!(matches!(&got[1], Event::Command(bytes) if bytes.len() == 25 + 4096 + 2));
    }

    #[test]
    fn literals_of_one_command_are_bounded_together() {
        let limits = Limits {
            max_line: 100,
            max_literal: 50,
            max_append_literal: 50,
            literal_minus: false,
        };
        let mut input = b"A1 SEARCH".to_vec();
        for _ in 0..4 {
            input.extend_from_slice(b" TEXT {45+}\r\n");
            input.extend_from_slice(&[b'x'; 45]);
        }
        input.extend_from_slice(b"\r\nA2 NOOP\r\n");
        let mut assembler = Assembler::new(limits);
        let got = run(&mut assembler, &input, 7);
        assert!(matches!(
            &got[0],
            Event::Refused(Refusal {
                reason: Reason::LiteralTooBig { length: 45, .. },
                ..
            })
        ));
        assert_eq!(got[1], command(b"A2 NOOP\r\n"));
    }

    #[test]
    fn long_line_is_refused_after_it_ends() {
        let limits = Limits {
            max_line: 64,
            ..Limits::default()
        };
        let mut input = b"A1 LOGIN ".to_vec();
        input.extend_from_slice(&[b'a'; 1000]);
        input.extend_from_slice(b" {5+}\r\nhello\r\nA2 NOOP\r\n");
        for piece in [1, 10, usize::MAX] {
            let mut assembler = Assembler::new(limits);
            let mut pending = Vec::new();
            let mut got = Vec::new();
            for chunk in input.chunks(piece) {
                pending.extend_from_slice(chunk);
                loop {
                    let (used, event) = assembler.feed(&pending);
                    pending.drain(..used);
                    assert!(assembler.buffered() <= 64);
                    match event {
                        Some(event) => got.push(event),
                        None => break,
                    }
                }
            }
            assert_eq!(
                got,
                [
                    Event::Refused(Refusal {
                        tag: tag("A1"),
                        reason: Reason::LineTooLong { limit: 64 },
                    }),
                    command(b"A2 NOOP\r\n"),
                ],
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn long_line_before_synchronizing_literal_ends_the_command() {
        let limits = Limits {
            max_line: 16,
            ..Limits::default()
        };
        let got = run(
            &mut Assembler::new(limits),
            b"A1 LOGIN aaaaaaaaaaaaaaaaaaaa {5}\r\nA2 NOOP\r\n",
            usize::MAX,
        );
        assert_eq!(
            got,
            [
                Event::Refused(Refusal {
                    tag: tag("A1"),
                    reason: Reason::LineTooLong { limit: 16 },
                }),
                command(b"A2 NOOP\r\n"),
            ]
        );
    }

    #[test]
    fn long_line_without_tag_is_untagged() {
        let limits = Limits {
            max_line: 8,
            ..Limits::default()
        };
        let got = run(&mut Assembler::new(limits), b"AAAAAAAAAAAAAAAA\r\n", 3);
        assert_eq!(
            got,
            [Event::Refused(Refusal {
                tag: None,
                reason: Reason::LineTooLong { limit: 8 },
            })]
        );
    }

    #[test]
    fn expected_line_announces_no_literal() {
        let mut assembler = Assembler::new(Limits::default());
        assert_eq!(
            assembler.feed(b"A1 IDLE\r\n"),
            (9, Some(command(b"A1 IDLE\r\n")))
        );
        assembler.expect_line();
        assert_eq!(
            assembler.feed(b"{5}\r\nDONE\r\n"),
            (5, Some(Event::Line(b"{5}\r\n".to_vec())))
        );
        assembler.expect_line();
        assert_eq!(
            assembler.feed(b"DONE\r\n"),
            (6, Some(Event::Line(b"DONE\r\n".to_vec())))
        );
        // Back to commands.
        assert_eq!(
            assembler.feed(b"A2 LOGIN {5}\r\n"),
            (14, Some(Event::Continue { length: 5 }))
        );
    }

    #[test]
    fn abandoned_command_frees_the_connection() {
        let mut assembler = Assembler::new(Limits::default());
        assert_eq!(
            assembler.feed(b"A1 LOGIN {5}\r\n"),
            (14, Some(Event::Continue { length: 5 }))
        );
        assembler.abandon();
        assert!(!assembler.in_command());
        assert_eq!(
            assembler.feed(b"A2 NOOP\r\n"),
            (9, Some(command(b"A2 NOOP\r\n")))
        );
    }

    #[test]
    fn tags_are_recovered_when_valid() {
        assert_eq!(recover_tag(b"a001 FROB\r\n"), tag("a001"));
        assert_eq!(recover_tag(b"a001\r\n"), tag("a001"));
        assert_eq!(recover_tag(b"a001"), None);
        assert_eq!(recover_tag(b"a+1 NOOP\r\n"), None);
        assert_eq!(recover_tag(b"a{1 NOOP\r\n"), None);
        assert_eq!(recover_tag(b" NOOP\r\n"), None);
        assert_eq!(recover_tag(b"\xff NOOP\r\n"), None);
    }
}

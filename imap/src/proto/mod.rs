//! The IMAP protocol as bytes: the client's byte stream framed into
//! commands, commands decoded into imap-types values, and responses encoded
//! into bytes. No I/O, no tokio and no store access here, so all of it can
//! be tested and fuzzed alone.
//!
//! A session feeds what it reads to an [`Assembler`]; for each
//! [`Event::Command`] it calls [`decode_command`], which gives imap-types'
//! `Command` and the [`Options`] imap-types has no room for. What it
//! answers it builds as a [`Response`], which [`encode`] appends to the
//! connection's output; `render` writes the ENVELOPE and BODYSTRUCTURE
//! inside FETCH responses, `mailbox_name` the modified UTF-7 of names.
//! imap-types is re-exported as [`imap_types`] for the values on both
//! sides.

mod acl;
mod decode;
mod encode;
mod extended;
mod framing;
mod render;
mod response;
mod searchres;

/// Kept in `common`: the migration's IMAP client reads names in it too.
pub use postino_common::mailbox_name;

pub use acl::AclCommand;
pub use decode::{
    BadAuthenticateData, DecodeError, Decoded, NotDone, decode_authenticate_data, decode_command,
    decode_idle_done,
};
pub use encode::encode;
pub use extended::{
    AppendMessage, ListOptions, ListReturn, ListSelect, Options, SearchReturn, SortCriterion,
    SortKey, ThreadAlgorithm,
};
pub use framing::{
    Assembler, DEFAULT_MAX_LINE, DEFAULT_MAX_LITERAL, Event, LITERAL_MINUS_MAX, Limits, Reason,
    Refusal, recover_tag,
};
pub use imap_codec::imap_types;
pub use render::{write_body_structure, write_envelope};
pub use response::{
    Attribute, Capabilities, Code, Data, Esearch, Extension, FetchItem, List, LoginCapabilities,
    MessageFlags, Resource, Response, Status, StatusItem, StatusKind, Thread,
};
pub use searchres::substitute_saved;

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: a fixed-seed generator, so that a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const SEEDS: &[&[u8]] = &[
        b"a001 LOGIN SMITH SESAME\r\n",
        b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
        b"A1 FETCH 1 (BODY.PEEK[1.2.MIME]<0.1024> BODY[TEXT]<512.256>) (CHANGEDSINCE 5)\r\n",
        b"A003 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n",
        b"A282 SEARCH OR (FLAGGED SINCE 1-Feb-1994) NOT FROM \"Smith\"\r\n",
        b"A003 APPEND saved-messages (\\Seen) {5}\r\nhello\r\n",
        b"A004 APPEND INBOX ~{3+}\r\na\0b\r\n",
        b"a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
        b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        b"a023 ID (\"name\" \"sodr\" \"version\" \"19.34\")\r\n",
        b"t2 ENABLE CONDSTORE IMAP4rev2\r\n",
        b"a STATUS INBOX (MESSAGES SIZE HIGHESTMODSEQ)\r\n",
        b"A1 IDLE\r\nDONE\r\n",
        b"A282 UID SEARCH RETURN (MIN COUNT) FLAGGED TEXT {3}\r\nabc\r\n",
        b"A04 LIST (SUBSCRIBED) \"\" {1+}\r\n% RETURN (STATUS (MESSAGES SIZE) CHILDREN)\r\n",
        b"t1 CREATE foo (USE (\\Sent \\Archive))\r\n",
    ];

    /// Random pieces of IMAP-like bytes: mutated commands, literal
    /// announcements of any size, and noise.
    fn random_input(rng: &mut Rng) -> Vec<u8> {
        const TOKENS: &[&[u8]] = &[
            b"{",
            b"}",
            b"+",
            b"~",
            b"\r",
            b"\n",
            b"\r\n",
            b" ",
            b"(",
            b")",
            b"\"",
            b"\\",
            b"[",
            b"]",
            b"<",
            b">",
            b"*",
            b"%",
            b"$",
            b"0",
            b"7",
            b"4096",
            b"99999999999",
            b"{3}\r\n",
            b"{0}\r\n",
            b"{2+}\r\n",
            b"{700+}\r\n",
            b"{600}\r\n",
            b"{5000+}\r\n",
            b"APPEND ",
            b"UID ",
            b"FETCH ",
            b"SEARCH ",
            b"RETURN (",
            b"LIST ",
            b"(USE (",
            b"a1 ",
            b"\0",
            b"\xff",
            b"NIL",
            b"INBOX",
        ];
        let mut input = Vec::new();
        for _ in 0..rng.below(12) + 1 {
            match rng.below(3) {
                0 => {
                    let mut seed = SEEDS[rng.below(SEEDS.len())].to_vec();
                    for _ in 0..rng.below(4) {
                        let at = rng.below(seed.len());
                        seed[at] = rng.next() as u8;
                    }
                    input.extend_from_slice(&seed);
                }
                1 => {
                    for _ in 0..rng.below(40) {
                        input.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
                    }
                }
                _ => {
                    for _ in 0..rng.below(300) {
                        input.push(rng.next() as u8);
                    }
                }
            }
        }
        input
    }

    #[test]
    fn random_bytes_never_panic_and_stay_bounded() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let small = Limits {
            max_line: 256,
            max_literal: 512,
            max_append_literal: 1024,
            literal_minus: false,
        };
        let minus = Limits {
            literal_minus: true,
            ..Limits::default()
        };
        let mut events = 0usize;
        for round in 0..4000 {
            let limits = [small, Limits::default(), minus][round % 3];
            let mut assembler = Assembler::new(limits);
            let input = random_input(&mut rng);
            let mut rest = &input[..];
            while !rest.is_empty() {
                let piece = (rng.below(64) + 1).min(rest.len());
                let mut chunk = &rest[..piece];
                rest = &rest[piece..];
                while !chunk.is_empty() {
                    let (used, event) = assembler.feed(chunk);
                    assert!(used <= chunk.len());
                    chunk = &chunk[used..];
                    assert!(assembler.buffered() as u64 <= limits.max_buffered());
                    let Some(event) = event else {
                        assert!(chunk.is_empty());
                        break;
                    };
                    events += 1;
                    match event {
                        Event::Command(bytes) => {
                            assert!(bytes.len() as u64 <= limits.max_buffered());
                            if let Ok(Decoded { command, .. }) = decode_command(&bytes) {
                                // What decodes re-encodes into what decodes (not
                                // always equal: imap-codec merges overlapping
                                // ranges of a sequence set one pass at a time).
                                use imap_codec::encode::Encoder;
                                let again = imap_codec::CommandCodec::new().encode(&command).dump();
                                assert!(decode_command(&again).is_ok());
                            }
                            if rng.below(8) == 0 {
                                assembler.expect_line();
                            }
                        }
                        Event::Line(line) => {
                            let _ = decode_idle_done(&line);
                            let _ = decode_authenticate_data(&line);
                        }
                        Event::Continue { length } => {
                            assert!(length <= limits.max_literal.max(limits.max_append_literal));
                            if rng.below(4) == 0 {
                                assembler.abandon();
                            }
                        }
                        Event::Refused(refusal) => {
                            let _ = refusal.to_string();
                        }
                    }
                }
            }
        }
        assert!(events > 10_000, "only {events} events");
    }
}

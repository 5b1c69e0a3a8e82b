//! The fuzz targets, one per parser of network bytes, and what they share:
//! how a target reports a broken invariant, and a generator seeded from the
//! input itself, so that a target splitting its input at random still
//! repeats exactly on replay.

mod admin;
mod imap;
mod imap_encode;
mod mime;
mod mta_sts;
mod pop3;
mod sieve;
mod smtp;

use fastrand::Rng;

/// A parser under test.
pub struct Target {
    pub name: &'static str,
    /// What the target checks, for `--list` and the README.
    pub checks: &'static str,
    /// Tokens the mutator inserts: the syntax the parser looks for.
    pub dictionary: &'static [&'static [u8]],
    /// The longest input worth trying.
    pub max_len: usize,
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Runs the parser on one input and checks its invariants.
    pub check: fn(&[u8]) -> Result<(), Violation>,
}

/// A broken invariant: which one (the same for every input that breaks
/// it), and what this input did.
#[derive(Debug)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// `Err` naming `invariant` unless `holds`; `detail` is only built on
/// failure.
pub fn ensure(
    holds: bool,
    invariant: &'static str,
    detail: impl FnOnce() -> String,
) -> Result<(), Violation> {
    if holds {
        Ok(())
    } else {
        Err(Violation {
            invariant,
            detail: detail(),
        })
    }
}

/// A generator seeded from the input, for the random choices a target
/// makes about it (where to split it, which limit to set).
pub fn input_rng(input: &[u8]) -> Rng {
    Rng::with_seed(crate::runner::hash(input))
}

/// `input` cut into random pieces, some empty, mostly short.
pub fn pieces<'a>(rng: &mut Rng, input: &'a [u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let longest = if rng.u8(..4) == 0 { rest.len() } else { 16 };
        let take = rng.usize(..=longest).min(rest.len());
        pieces.push(&rest[..take]);
        rest = &rest[take..];
    }
    pieces
}

/// Every target, in the order `all` runs them.
pub const TARGETS: &[Target] = &[
    imap::FRAMING,
    imap::COMMAND,
    imap::RENDER,
    imap_encode::ENCODE,
    smtp::COMMAND,
    smtp::DATA,
    smtp::AUTH,
    mime::PARSE,
    mime::SECTION,
    mime::ADDRESS,
    admin::AUTODISCOVER,
    admin::JSON,
    sieve::SCRIPT,
    sieve::COMMAND,
    pop3::COMMAND,
    pop3::MESSAGE,
    mta_sts::POLICY,
];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}

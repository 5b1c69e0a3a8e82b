//! Seeded mutation of scripts and messages: whatever the input, compiling
//! and running return a value and never panic. A quick stand-in for a fuzz
//! target, repeatable from its seed.

mod common;

use common::{COYOTE, Case};

/// xorshift64*: enough randomness for mutations, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "require [\"fileinto\", \"variables\", \"imap4flags\", \"relational\", \"comparator-i;ascii-numeric\"];\nif header :matches \"subject\" \"*[*]*\" { set :lower \"t\" \"${2}\"; addflag \"f\" \"\\\\Seen\"; fileinto :flags \"${f}\" \"x/${t}\"; }\nelsif header :count \"ge\" :comparator \"i;ascii-numeric\" \"to\" \"2\" { discard; } else { keep; }",
    "require [\"vacation\", \"date\", \"relational\", \"body\", \"envelope\", \"subaddress\", \"index\"];\nif allof (currentdate :value \"ge\" \"date\" \"2008-01-01\", not body :content \"text\" :contains \"x\", envelope :detail \"to\" \"a\", date :index 1 :last :zone \"+0100\" \"date\" \"hour\" \"10\") { vacation :days 3 :subject \"s\" text:\nhello\n..\n.\n; }",
    "require [\"include\", \"variables\", \"encoded-character\", \"reject\", \"copy\", \"mailbox\"];\nglobal \"g\"; set \"g\" \"${hex:41 42}${unicode:263a}\"; include :optional :once \"x\"; if mailboxexists \"a\" { redirect :copy \"a@b.example\"; } reject \"${g}\"; return;",
];

const FRAGMENTS: &[&str] = &[
    "if",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "\"",
    ":",
    "\\",
    "${",
    "text:\n",
    "\n.\n",
    "/*",
    "*/",
    "#",
    "*",
    "?",
    ":matches",
    ":count",
    "\"ge\"",
    "1K",
    "99999999999",
    "not",
    "anyof",
    "stop;",
    "${1}",
    "${hex:ff}",
    "é",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if at < chars.len() => {
                let end = (at + 1 + rng.below(8)).min(chars.len());
                chars.drain(at..end);
            }
            1 => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                chars.splice(at..at, fragment.chars());
            }
            _ if at < chars.len() => chars[at] = char::from(rng.below(128) as u8),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_scripts_and_messages_never_panic() {
    let mut rng = Rng(0x5eed_0017);
    let mut compiled = 0;
    for round in 0..3000 {
        let script = mutate(&mut rng, SEEDS[round % SEEDS.len()]);
        let message = if round % 3 == 0 {
            mutate(&mut rng, COYOTE)
        } else {
            COYOTE.to_string()
        };
        let case = Case::new(&script, &message);
        if case.compile().is_ok() {
            compiled += 1;
            let outcome = case.run();
            if outcome.error.is_some() {
                assert_eq!(outcome.actions, vec![common::keep()], "{script:?}");
            }
        }
    }
    // The mutations must leave enough scripts valid to exercise the runtime.
    assert!(compiled > 100, "only {compiled} mutated scripts compiled");
}

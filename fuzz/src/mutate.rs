//! The mutation engine: takes inputs from a pool and changes them the ways
//! parsers tend to break (bit flips, bytes with a meaning in mail
//! protocols, ranges cut, repeated or spliced in from another input, the
//! target's own tokens, numbers at their limits). Every choice comes from
//! one seeded generator, so a run repeats exactly from its seed.

use fastrand::Rng;

/// Bytes that delimit or quote something in IMAP, SMTP, MIME or JSON.
const INTERESTING_BYTES: &[u8] = b"\r\n.{}\"\\()*%\0\xff0123456789 <>@[]:;,=?-+~\t/";

/// Numbers at the edges of the sizes parsers keep (literal lengths, BDAT
/// sizes, part numbers, offsets).
const INTERESTING_NUMBERS: &[&[u8]] = &[
    b"0",
    b"1",
    b"255",
    b"998",
    b"999",
    b"4096",
    b"4097",
    b"65536",
    b"2147483648",
    b"4294967295",
    b"4294967296",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999",
];

pub struct Mutator<'a> {
    rng: Rng,
    dictionary: &'a [&'a [u8]],
    max_len: usize,
}

impl<'a> Mutator<'a> {
    pub fn new(seed: u64, dictionary: &'a [&'a [u8]], max_len: usize) -> Mutator<'a> {
        Mutator {
            rng: Rng::with_seed(seed),
            dictionary,
            max_len,
        }
    }

    /// A new input: one from `pool`, changed one to sixteen times.
    pub fn next_input(&mut self, pool: &[Vec<u8>]) -> Vec<u8> {
        let mut input = pool
            .get(self.rng.usize(..pool.len().max(1)))
            .cloned()
            .unwrap_or_default();
        // Mostly few changes, sometimes many: small steps keep inputs close
        // to valid, where the deep code is.
        let rounds = 1usize << self.rng.u32(0..5);
        for _ in 0..rounds {
            self.mutate(&mut input, pool);
        }
        input.truncate(self.max_len);
        input
    }

    /// A chance of one in `n`.
    pub fn one_in(&mut self, n: u32) -> bool {
        self.rng.u32(0..n) == 0
    }

    /// An index into a pool of `len` inputs.
    pub fn index(&mut self, len: usize) -> usize {
        self.rng.usize(..len)
    }

    fn mutate(&mut self, input: &mut Vec<u8>, pool: &[Vec<u8>]) {
        let len = input.len();
        match self.rng.u32(0..12) {
            0 if len > 0 => {
                let at = self.rng.usize(..len);
                input[at] ^= 1 << self.rng.u32(0..8);
            }
            1 if len > 0 => {
                let at = self.rng.usize(..len);
                input[at] = self.interesting_byte();
            }
            2 if len > 0 => {
                let at = self.rng.usize(..len);
                input[at] = self.rng.u8(..);
            }
            3 => {
                let at = self.rng.usize(..=len);
                let count = 1 + self.rng.usize(..8);
                let bytes: Vec<u8> = (0..count).map(|_| self.interesting_byte()).collect();
                input.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let (start, end) = self.range(len);
                input.drain(start..end);
            }
            5 if len > 0 => {
                // Repeats a range, sometimes many times: long lines, deep
                // nesting, many parts.
                let (start, end) = self.range(len);
                let piece = input[start..end].to_vec();
                let times = if self.one_in(8) {
                    1 + self.rng.usize(..200)
                } else {
                    1
                };
                let at = self.rng.usize(..=len);
                let repeated: Vec<u8> = piece
                    .iter()
                    .copied()
                    .cycle()
                    .take(piece.len() * times)
                    .collect();
                input.splice(at..at, repeated);
            }
            6 if !pool.is_empty() => {
                // Splices: this input's head and another's tail.
                let other = &pool[self.rng.usize(..pool.len())];
                let cut = self.rng.usize(..=len);
                let from = self.rng.usize(..=other.len());
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            7 | 8 if !self.dictionary.is_empty() => {
                let token = self.dictionary[self.rng.usize(..self.dictionary.len())];
                let at = self.rng.usize(..=len);
                input.splice(at..at, token.iter().copied());
            }
            9 => self.replace_number(input),
            10 if len > 0 => {
                let at = self.rng.usize(..len);
                input.truncate(at);
            }
            _ => {
                let at = self.rng.usize(..=len);
                let count = 1 + self.rng.usize(..16);
                let bytes: Vec<u8> = (0..count).map(|_| self.rng.u8(..)).collect();
                input.splice(at..at, bytes);
            }
        }
    }

    /// Replaces a run of digits with a number at some limit, or inserts one.
    fn replace_number(&mut self, input: &mut Vec<u8>) {
        let number = INTERESTING_NUMBERS[self.rng.usize(..INTERESTING_NUMBERS.len())];
        let digits: Vec<usize> = (0..input.len())
            .filter(|&i| input[i].is_ascii_digit() && (i == 0 || !input[i - 1].is_ascii_digit()))
            .collect();
        if digits.is_empty() {
            let at = self.rng.usize(..=input.len());
            input.splice(at..at, number.iter().copied());
            return;
        }
        let start = digits[self.rng.usize(..digits.len())];
        let end = (start..input.len())
            .find(|&i| !input[i].is_ascii_digit())
            .unwrap_or(input.len());
        input.splice(start..end, number.iter().copied());
    }

    fn interesting_byte(&mut self) -> u8 {
        INTERESTING_BYTES[self.rng.usize(..INTERESTING_BYTES.len())]
    }

    /// A range within `len` bytes, mostly short.
    fn range(&mut self, len: usize) -> (usize, usize) {
        let start = self.rng.usize(..len);
        let longest = if self.one_in(4) {
            len - start
        } else {
            (len - start).min(16)
        };
        let end = start + 1 + self.rng.usize(..longest);
        (start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let pool = vec![b"A1 FETCH 1:4 (BODY[1])\r\n".to_vec()];
        let tokens: &[&[u8]] = &[b"{5+}\r\n"];
        let mut a = Mutator::new(7, tokens, 4096);
        let mut b = Mutator::new(7, tokens, 4096);
        for _ in 0..1000 {
            assert_eq!(a.next_input(&pool), b.next_input(&pool));
        }
    }

    #[test]
    fn inputs_stay_within_the_length() {
        let pool = vec![vec![b'x'; 100]];
        let mut mutator = Mutator::new(1, &[], 150);
        for _ in 0..1000 {
            assert!(mutator.next_input(&pool).len() <= 150);
        }
    }
}

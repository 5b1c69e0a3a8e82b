//! Mailbox names in modified UTF-7 (RFC 3501 §5.1.3, kept by RFC 9051
//! §5.1.3 for clients that have not enabled UTF8=ACCEPT): printable US-ASCII
//! stands for itself except `&`, written `&-`; any other run of characters
//! is its UTF-16 in base64 with `,` for `/` and no padding, between `&` and
//! `-`.
//!
//! [`decode`] accepts only what [`encode`] produces, so every name has one
//! spelling: it rejects base64 standing for printable US-ASCII, two encoded
//! runs in a row, nonzero padding bits, unpaired surrogates, and raw bytes
//! outside printable US-ASCII (a UTF-8 name is for UTF8=ACCEPT sessions,
//! which do not call this module).

use unicode_normalization::UnicodeNormalization;

/// The longest mailbox name, in bytes of UTF-8.
pub const MAX_NAME: usize = 255;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// A mailbox name that is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid modified UTF-7 mailbox name")]
pub struct InvalidName;

/// UTF-8 → modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_printable(c) {
            flush_run(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush_run(&mut run, &mut out);
    out
}

/// Modified UTF-7 → UTF-8, rejecting anything [`encode`] would not produce.
pub fn decode(name: &str) -> Result<String, InvalidName> {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut after_run = false;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        if b != b'&' {
            if !is_printable(char::from(b)) {
                return Err(InvalidName);
            }
            out.push(char::from(b));
            after_run = false;
            at += 1;
            continue;
        }
        let start = at + 1;
        let len = bytes[start..]
            .iter()
            .position(|&b| b == b'-')
            .ok_or(InvalidName)?;
        let encoded = &bytes[start..start + len];
        at = start + len + 1;
        if encoded.is_empty() {
            out.push('&');
            after_run = false;
            continue;
        }
        // `&AOk-&AOk-` would be `&AOkA6Q-` from the encoder.
        if after_run {
            return Err(InvalidName);
        }
        decode_run(encoded, &mut out)?;
        after_run = true;
    }
    Ok(out)
}

/// Characters that stand for themselves (RFC 3501 §5.1.3: 0x20–0x7e).
fn is_printable(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// Writes `run` as `&base64-` and empties it.
fn flush_run(run: &mut Vec<u16>, out: &mut String) {
    if run.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = run.iter().flat_map(|unit| unit.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |word, (i, &b)| word | (u32::from(b) << (16 - 8 * i)));
        // 1, 2 or 3 bytes carry 8, 16 or 24 bits: 2, 3 or 4 sextets.
        for i in 0..=chunk.len() {
            let sextet = (word >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[sextet as usize]));
        }
    }
    out.push('-');
    run.clear();
}

/// Decodes the base64 between `&` and `-` and appends its characters.
fn decode_run(encoded: &[u8], out: &mut String) -> Result<(), InvalidName> {
    let mut bytes = Vec::with_capacity(encoded.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in encoded {
        let sextet = ALPHABET.iter().position(|&a| a == c).ok_or(InvalidName)?;
        acc = (acc << 6) | sextet as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits are padding: fewer than six, all zero.
    if bits >= 6 || acc != 0 || bytes.len() % 2 != 0 {
        return Err(InvalidName);
    }
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| InvalidName)?;
        if is_printable(c) {
            return Err(InvalidName);
        }
        out.push(c);
    }
    Ok(())
}

/// The store's spelling of a UTF-8 mailbox name, `None` if it cannot be
/// one: in Unicode's composed form (NFC, as RFC 5198 asks of text on the
/// wire, so that `è` typed two ways names one mailbox), with its INBOX part
/// in capitals (`inbox/x` is `INBOX/x`). Empty levels, levels named `.` or
/// `..` (as Dovecot refuses them), control characters and names longer
/// than 255 bytes are refused.
pub fn store_name(name: &str) -> Option<String> {
    let name: String = name.nfc().collect();
    let bad = name.len() > MAX_NAME
        || name
            .split('/')
            .any(|level| matches!(level, "" | "." | ".."))
        || name.chars().any(char::is_control);
    if bad {
        return None;
    }
    Some(match name.split_once('/') {
        Some((first, rest)) if first.eq_ignore_ascii_case("INBOX") => format!("INBOX/{rest}"),
        None if name.eq_ignore_ascii_case("INBOX") => "INBOX".into(),
        _ => name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3501_example() {
        let utf8 = "~peter/mail/台北/日本語";
        let utf7 = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(encode(utf8), utf7);
        assert_eq!(decode(utf7).unwrap(), utf8);
    }

    #[test]
    fn ampersand() {
        assert_eq!(encode("&"), "&-");
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode("&-").unwrap(), "&");
        assert_eq!(decode("a&-&-b").unwrap(), "a&&b");
    }

    #[test]
    fn ascii_is_unchanged() {
        let name = "INBOX/Sent Items.2024 ~!@#$%^*()_+-=[]{};':\",./<>?";
        assert_eq!(encode(name), name);
        assert_eq!(decode(name).unwrap(), name);
    }

    #[test]
    fn non_bmp_and_controls_are_encoded() {
        // U+1F600 is a surrogate pair in UTF-16; a tab is not printable.
        for name in ["😀", "a\tb", "é&é", "Entwürfe", "\u{7f}"] {
            let encoded = encode(name);
            assert!(
                encoded.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{encoded}"
            );
            assert_eq!(decode(&encoded).unwrap(), name);
        }
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("é&é"), "&AOk-&-&AOk-");
    }

    #[test]
    fn random_unicode_round_trips() {
        // xorshift64: deterministic and dependency-free.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = next() % 12;
            let name: String = (0..len)
                .filter_map(|_| {
                    let r = next();
                    let limit = match r % 4 {
                        0 => 0x80,
                        1 => 0x800,
                        2 => 0x1_0000,
                        _ => 0x11_0000,
                    };
                    char::from_u32(((r >> 8) % limit) as u32)
                })
                .collect();
            let encoded = encode(&name);
            assert_eq!(decode(&encoded).as_deref(), Ok(name.as_str()), "{encoded}");
            // Canonical: decoding then encoding gives the input back.
            assert_eq!(encode(&decode(&encoded).unwrap()), encoded);
        }
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        for bad in [
            "&",                  // unterminated
            "abc&U,BTFw",         // unterminated
            "&AGE-",              // "a" encoded
            "&ACY-",              // "&" encoded instead of "&-"
            "&U,BTFw-&ZeVnLIqe-", // two runs in a row
            "&U,BTFx-",           // nonzero padding bits
            "&U-",                // a lone sextet
            "&AOkA-",             // odd number of bytes
            "&2D0-",              // lone high surrogate
            "&3gA-",              // lone low surrogate
            "&U/BTFw-",           // '/' is not in the alphabet
            "&U=BTFw-",           // nor is padding
            "&U BTFw-",
            "台北", // raw UTF-8
            "a\tb", // raw control character
        ] {
            assert_eq!(decode(bad), Err(InvalidName), "{bad:?}");
        }
    }
}

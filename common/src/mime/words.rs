//! Re-encoding decoded UTF-8 text for peers that only take ASCII headers:
//! RFC 2047 encoded-words for display names, RFC 2231 extended values for
//! MIME parameters.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// How many bytes of text one encoded-word carries: 45 bytes are 60 base64
/// characters, which with `=?utf-8?b?` and `?=` stay within the 75 characters
/// RFC 2047 §2 allows.
const WORD_BYTES: usize = 45;

/// `text` as RFC 2047 encoded-words (`=?utf-8?b?…?=`), split into as many
/// words as needed, separated by spaces (which decoders drop between
/// encoded-words, RFC 2047 §6.2), never inside a character.
pub fn encoded_word(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 4 / 3 + 16);
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(WORD_BYTES);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (word, tail) = rest.split_at(cut);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("=?utf-8?b?");
        BASE64.encode_string(word.as_bytes(), &mut out);
        out.push_str("?=");
        rest = tail;
    }
    out
}

/// `value` as an RFC 2231 §4 extended parameter value (`utf-8''caf%C3%A9`),
/// for a parameter whose name then takes a trailing `*`.
pub fn rfc2231_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 + 7);
    out.push_str("utf-8''");
    for &byte in value.as_bytes() {
        let plain = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`{|}~".contains(&byte);
        if plain {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_word_known_answers() {
        assert_eq!(encoded_word(""), "");
        assert_eq!(encoded_word("é"), "=?utf-8?b?w6k=?=");
        assert_eq!(encoded_word("Zoë"), "=?utf-8?b?Wm/Dqw==?=");
        assert_eq!(encoded_word("José"), "=?utf-8?b?Sm9zw6k=?=");
    }

    #[test]
    fn encoded_words_stay_short_and_keep_characters_whole() {
        let text = "€".repeat(40);
        let encoded = encoded_word(&text);
        let words: Vec<&str> = encoded.split(' ').collect();
        assert!(words.len() > 1);
        for word in &words {
            assert!(word.len() <= 75, "{word} is too long");
            assert!(word.starts_with("=?utf-8?b?") && word.ends_with("?="));
        }
        // 45 bytes hold fifteen three-byte euro signs exactly.
        assert_eq!(words[0], encoded_word(&"€".repeat(15)));
    }

    #[test]
    fn rfc2231_escapes_what_is_not_an_attribute_char() {
        assert_eq!(rfc2231_value("café.pdf"), "utf-8''caf%C3%A9.pdf");
        assert_eq!(rfc2231_value("a b'c%"), "utf-8''a%20b%27c%25");
    }
}

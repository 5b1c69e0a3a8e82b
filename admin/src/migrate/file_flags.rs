//! Flags as mail files keep them. Maildir puts them in the file name after
//! `:2,`, one letter each (`D` draft, `F` flagged, `R` replied, `S` seen,
//! `T` trashed, in ASCII order; Dovecot's keywords are `a` to `z`, named in
//! the folder's `dovecot-keywords`). mbox keeps them in headers:
//! `Status: RO` (`R` read), `X-Status:` (`A` answered, `F` flagged, `T`
//! draft, `D` deleted) and `X-Keywords:`.

use postino_common::store::{Flags, Keywords};

/// Maildir's letters, in the order a file name lists them.
const MAILDIR: [(char, Flags); 5] = [
    ('D', Flags::DRAFT),
    ('F', Flags::FLAGGED),
    ('R', Flags::ANSWERED),
    ('S', Flags::SEEN),
    ('T', Flags::DELETED),
];

/// mbox's `X-Status:` letters.
const X_STATUS: [(char, Flags); 4] = [
    ('A', Flags::ANSWERED),
    ('F', Flags::FLAGGED),
    ('T', Flags::DRAFT),
    ('D', Flags::DELETED),
];

/// The flags and keywords of a maildir file name's info (what follows
/// `:2,`), with `keywords` naming Dovecot's letters `a`..`z` by position.
pub fn from_maildir(info: &str, keywords: &[String]) -> (Flags, Keywords) {
    let mut flags = Flags::default();
    let mut named = Keywords::default();
    for letter in info.chars() {
        if let Some(&(_, flag)) = MAILDIR.iter().find(|(l, _)| *l == letter) {
            flags |= flag;
        } else if letter.is_ascii_lowercase() {
            let at = usize::from(letter as u8 - b'a');
            if let Some(keyword) = keywords.get(at).filter(|k| is_atom(k)) {
                named.insert(keyword);
            }
        }
    }
    (flags, named)
}

/// The info of a maildir file name for `flags`, and the letters of the
/// keywords among `known` (at most 26, Dovecot's limit).
pub fn to_maildir(flags: Flags, keywords: &Keywords, known: &[String]) -> String {
    let mut info: String = MAILDIR
        .iter()
        .filter(|(_, flag)| flags.contains(*flag))
        .map(|(letter, _)| *letter)
        .collect();
    for (at, keyword) in known.iter().enumerate().take(26) {
        if keywords.contains(keyword) {
            info.push(char::from(b'a' + at as u8));
        }
    }
    info
}

/// The flags an mbox message's `Status:` and `X-Status:` values give.
pub fn from_mbox(status: &str, x_status: &str) -> Flags {
    let mut flags = Flags::default();
    if status.contains('R') {
        flags |= Flags::SEEN;
    }
    for letter in x_status.chars() {
        if let Some(&(_, flag)) = X_STATUS.iter().find(|(l, _)| *l == letter) {
            flags |= flag;
        }
    }
    flags
}

/// The `Status:` and `X-Status:` values for `flags`.
pub fn to_mbox(flags: Flags) -> (String, String) {
    let status = match flags.contains(Flags::SEEN) {
        true => "RO",
        false => "O",
    };
    let x_status = X_STATUS
        .iter()
        .filter(|(_, flag)| flags.contains(*flag))
        .map(|(letter, _)| *letter)
        .collect();
    (status.to_string(), x_status)
}

/// Whether `word` can be a keyword: an IMAP atom (RFC 9051 §9,
/// `flag-keyword`), not a system flag.
pub fn is_atom(word: &str) -> bool {
    !word.is_empty()
        && word.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_letters_both_ways() {
        let known = vec!["$Label1".to_string(), "Lavoro".to_string()];
        let (flags, keywords) = from_maildir("FSb", &known);
        assert_eq!(flags, Flags::FLAGGED | Flags::SEEN);
        assert_eq!(keywords.iter().collect::<Vec<_>>(), ["Lavoro"]);
        assert_eq!(to_maildir(flags, &keywords, &known), "FSb");
        let (all, _) = from_maildir("DFRST", &known);
        assert_eq!(all, Flags::ALL);
    }

    #[test]
    fn mbox_status_both_ways() {
        let flags = from_mbox("RO", "AF");
        assert_eq!(flags, Flags::SEEN | Flags::ANSWERED | Flags::FLAGGED);
        assert_eq!(to_mbox(flags), ("RO".to_string(), "AF".to_string()));
        assert_eq!(from_mbox("O", ""), Flags::default());
    }

    #[test]
    fn keywords_must_be_atoms() {
        assert!(is_atom("$Label1"));
        assert!(!is_atom("a b"));
        assert!(!is_atom("\\Seen"));
        assert!(!is_atom(""));
    }
}

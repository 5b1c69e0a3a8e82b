//! Access rights to a folder (RFC 4314 §2.1): what an account may do in a
//! folder of another account of its domain that shares it. An owner has
//! every right in its own folders.

use std::fmt;

/// A set of the rights `lrswipkxtea`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Rights(u16);

/// The rights in the order RFC 4314 lists them, which answers follow.
const LETTERS: &[u8; 11] = b"lrswipkxtea";

/// A rights string with a letter that is no right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an access right (rights are letters of \"lrswipkxtea\")")]
pub struct UnknownRight(pub char);

impl Rights {
    pub const NONE: Rights = Rights(0);
    pub const ALL: Rights = Rights((1 << LETTERS.len()) - 1);
    /// `l`: see the folder in LIST.
    pub const LOOKUP: Rights = Rights::letter(b'l');
    /// `r`: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY out of it.
    pub const READ: Rights = Rights::letter(b'r');
    /// `s`: set or clear `\Seen`.
    pub const SEEN: Rights = Rights::letter(b's');
    /// `w`: set or clear the flags other than `\Seen` and `\Deleted`.
    pub const WRITE: Rights = Rights::letter(b'w');
    /// `i`: APPEND, COPY and MOVE into it.
    pub const INSERT: Rights = Rights::letter(b'i');
    /// `k`: create folders below it.
    pub const CREATE: Rights = Rights::letter(b'k');
    /// `x`: delete or rename the folder.
    pub const DELETE_FOLDER: Rights = Rights::letter(b'x');
    /// `t`: set or clear `\Deleted`.
    pub const DELETE_MESSAGES: Rights = Rights::letter(b't');
    /// `e`: EXPUNGE.
    pub const EXPUNGE: Rights = Rights::letter(b'e');
    /// `a`: read and change the folder's rights.
    pub const ADMIN: Rights = Rights::letter(b'a');

    const fn letter(letter: u8) -> Rights {
        let mut at = 0;
        while LETTERS[at] != letter {
            at += 1;
        }
        Rights(1 << at)
    }

    /// Reads rights as letters in any order. The obsolete `c` and `d` of
    /// RFC 2086 stand for what replaced them (RFC 4314 §2.1.1): `c` for
    /// `k`, `d` for `x`, `t` and `e`.
    pub fn parse(text: &str) -> Result<Rights, UnknownRight> {
        let mut rights = Rights::NONE;
        for c in text.chars() {
            rights = rights.with(match c {
                'c' => Rights::CREATE,
                'd' => Rights::DELETE_FOLDER
                    .with(Rights::DELETE_MESSAGES)
                    .with(Rights::EXPUNGE),
                c => match LETTERS.iter().position(|&l| char::from(l) == c) {
                    Some(at) => Rights(1 << at),
                    None => return Err(UnknownRight(c)),
                },
            });
        }
        Ok(rights)
    }

    /// Whether every right of `other` is here.
    pub fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any right of `other` is here.
    pub fn intersects(self, other: Rights) -> bool {
        self.0 & other.0 != 0
    }

    pub fn with(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    pub fn without(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, &letter) in LETTERS.iter().enumerate() {
            if self.0 & (1 << at) != 0 {
                write!(f, "{}", char::from(letter))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_read_in_any_order_and_print_in_rfc_order() {
        let rights = Rights::parse("srl").unwrap();
        assert_eq!(rights.to_string(), "lrs");
        assert!(rights.contains(Rights::READ.with(Rights::LOOKUP)));
        assert!(!rights.contains(Rights::WRITE));
        assert_eq!(Rights::ALL.to_string(), "lrswipkxtea");
        assert_eq!(Rights::parse("").unwrap(), Rights::NONE);
    }

    #[test]
    fn obsolete_rights_stand_for_their_successors() {
        assert_eq!(Rights::parse("c").unwrap().to_string(), "k");
        assert_eq!(Rights::parse("d").unwrap().to_string(), "xte");
    }

    #[test]
    fn unknown_letters_are_refused() {
        assert_eq!(Rights::parse("lrz"), Err(UnknownRight('z')));
        assert_eq!(Rights::parse("L"), Err(UnknownRight('L')));
    }
}

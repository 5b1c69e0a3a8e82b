//! SEARCHRES (RFC 5182): `$` names the messages the last `SEARCH RETURN
//! (SAVE)` found. imap-codec does not parse `$`, so the session rewrites it
//! into a UID set before decoding:
//!
//! - `$` as the set of FETCH, STORE, COPY or MOVE makes the command its UID
//!   form (`a FETCH $ FLAGS` → `a UID FETCH 4,7 FLAGS`): the saved result is
//!   a set of messages, and their UIDs name them whatever the command;
//! - `$` as a SEARCH key becomes the key `UID 4,7`;
//! - `$` as the set of UID FETCH, UID STORE, UID COPY, UID MOVE and UID
//!   EXPUNGE becomes the UIDs.
//!
//! An empty saved result becomes UID 4294967295, which no message has (UIDs
//! count up from 1 and a folder never reaches the last one).

use super::encode::write_set;

/// The UID set standing for an empty saved result.
const NO_MESSAGE: &str = "4294967295";

/// Where `$` can be and what replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The set of a command with a UID form, not in the UID form.
    SequenceSet,
    /// The set of a UID command.
    UidSet,
    /// A SEARCH key.
    SearchKey,
}

/// `command` with each `$` replaced by `uids` (ascending) as a UID set such
/// as `4,7:9`; `None` when the command has no `$` outside quoted strings
/// and literals.
pub fn substitute_saved(command: &[u8], uids: &[u32]) -> Option<Vec<u8>> {
    let tokens = top_level_tokens(command);
    let name_at = |i: usize| {
        tokens
            .get(i)
            .map(|&(start, end)| command[start..end].to_ascii_uppercase())
    };
    let (uid_form, verb_index) = match name_at(1).as_deref() {
        Some(b"UID") => (true, 2),
        _ => (false, 1),
    };
    let verb = name_at(verb_index)?;
    let dollars: Vec<(usize, usize, Place)> = tokens
        .iter()
        .enumerate()
        .filter(|&(_, &(start, end))| &command[start..end] == b"$")
        .filter_map(|(i, &(start, end))| {
            let place = match verb.as_slice() {
                // After the key UID, `$` is its set: `UID $` is `UID 4,7`.
                b"SEARCH" if i > verb_index && name_at(i - 1).as_deref() == Some(b"UID") => {
                    Place::UidSet
                }
                b"SEARCH" if i > verb_index => Place::SearchKey,
                b"FETCH" | b"STORE" | b"COPY" | b"MOVE" | b"EXPUNGE" if i == verb_index + 1 => {
                    if uid_form {
                        Place::UidSet
                    } else {
                        Place::SequenceSet
                    }
                }
                _ => return None,
            };
            Some((start, end, place))
        })
        .collect();
    if dollars.is_empty() {
        return None;
    }
    let mut set = Vec::new();
    write_set(&mut set, uids);
    if set.is_empty() {
        set.extend_from_slice(NO_MESSAGE.as_bytes());
    }
    let mut rewritten = Vec::with_capacity(command.len() + set.len() * dollars.len());
    let mut copied = 0;
    if dollars
        .iter()
        .any(|&(_, _, place)| place == Place::SequenceSet)
    {
        // Turn `tag VERB` into `tag UID VERB`.
        let (verb_start, _) = tokens[verb_index];
        rewritten.extend_from_slice(&command[..verb_start]);
        rewritten.extend_from_slice(b"UID ");
        copied = verb_start;
    }
    for (start, end, place) in dollars {
        rewritten.extend_from_slice(&command[copied..start]);
        if place == Place::SearchKey {
            rewritten.extend_from_slice(b"UID ");
        }
        rewritten.extend_from_slice(&set);
        copied = end;
    }
    rewritten.extend_from_slice(&command[copied..]);
    Some(rewritten)
}

/// The spans of the command's tokens: runs of bytes between spaces and
/// parentheses, with quoted strings and literals skipped (never tokens).
fn top_level_tokens(command: &[u8]) -> Vec<(usize, usize)> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < command.len() {
        match command[i] {
            b' ' | b'(' | b')' | b'\r' | b'\n' => i += 1,
            b'"' => {
                i += 1;
                while i < command.len() && command[i] != b'"' {
                    i += if command[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'{' | b'~' => match literal_end(command, i) {
                Some(end) => i = end,
                None => {
                    let start = i;
                    i = token_end(command, i);
                    tokens.push((start, i));
                }
            },
            _ => {
                let start = i;
                i = token_end(command, i);
                tokens.push((start, i));
            }
        }
    }
    tokens
}

fn token_end(command: &[u8], mut i: usize) -> usize {
    while i < command.len() && !matches!(command[i], b' ' | b'(' | b')' | b'\r' | b'\n' | b'"') {
        i += 1;
    }
    i
}

/// For `{n}\r\n` (or `~{n+}\r\n`) at `i`, where the literal's bytes end.
fn literal_end(command: &[u8], i: usize) -> Option<usize> {
    let open = if command[i] == b'~' { i + 1 } else { i };
    if command.get(open) != Some(&b'{') {
        return None;
    }
    let close = open + command[open..].iter().position(|&b| b == b'}')?;
    let digits = std::str::from_utf8(&command[open + 1..close]).ok()?;
    let length: usize = digits.trim_end_matches('+').parse().ok()?;
    let data = close
        + 1
        + if command.get(close + 1) == Some(&b'\r') {
            2
        } else {
            1
        };
    Some(data.saturating_add(length).min(command.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(command: &str, uids: &[u32]) -> Option<String> {
        substitute_saved(command.as_bytes(), uids).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn sets_become_uid_sets() {
        assert_eq!(
            rewrite("a FETCH $ (FLAGS)\r\n", &[4, 7, 8, 9]).as_deref(),
            Some("a UID FETCH 4,7:9 (FLAGS)\r\n")
        );
        assert_eq!(
            rewrite("a uid copy $ Trash\r\n", &[3]).as_deref(),
            Some("a uid copy 3 Trash\r\n")
        );
        assert_eq!(
            rewrite("a STORE $ +FLAGS (\\Seen)\r\n", &[]).as_deref(),
            Some("a UID STORE 4294967295 +FLAGS (\\Seen)\r\n")
        );
        assert_eq!(
            rewrite("a UID EXPUNGE $\r\n", &[2]).as_deref(),
            Some("a UID EXPUNGE 2\r\n")
        );
    }

    #[test]
    fn search_keys_become_uid_keys() {
        assert_eq!(
            rewrite("a SEARCH RETURN (SAVE) $ SMALLER 4\r\n", &[5, 6]).as_deref(),
            Some("a SEARCH RETURN (SAVE) UID 5:6 SMALLER 4\r\n")
        );
        assert_eq!(
            rewrite("a SEARCH OR $ (SEEN $)\r\n", &[1]).as_deref(),
            Some("a SEARCH OR UID 1 (SEEN UID 1)\r\n")
        );
        assert_eq!(
            rewrite("a UID SEARCH UID $\r\n", &[1, 4]).as_deref(),
            Some("a UID SEARCH UID 1,4\r\n")
        );
    }

    #[test]
    fn dollars_in_strings_and_literals_stay() {
        assert_eq!(rewrite("a SEARCH SUBJECT \"$\"\r\n", &[1]), None);
        assert_eq!(rewrite("a SEARCH SUBJECT {1}\r\n$\r\n", &[1]), None);
        assert_eq!(rewrite("a SELECT $\r\n", &[1]), None);
        assert_eq!(rewrite("a FETCH 1 $\r\n", &[1]), None);
        assert_eq!(rewrite("a FETCH 1:* FLAGS\r\n", &[1]), None);
    }
}

//! Transcript tests: a plain-text file of what clients send and what the
//! server must answer, run against sessions over in-memory pipes.
//!
//! ```text
//! # A comment; blank lines are skipped.
//! S: * OK {*}
//! C: a LOGIN anna@comune.test segreto
//! S: a OK [CAPABILITY {*}] Logged in
//! C2: b SELECT INBOX
//! S2: * {#} EXISTS
//! ```
//!
//! `C:` lines are sent with CRLF added, `S:` lines are read one by one and
//! must match, in order. `S?:` is a line the server may send or not (where
//! RFCs and Dovecot differ and both are right): matched if it comes next,
//! skipped if another line does. A run of `S~:` lines matches as many
//! lines in any order (LIST answers, whose order no RFC sets). A digit
//! after the letter names another
//! connection of the same transcript (`C2:`, `S2:`, `S2?:`), opened when
//! first named; plain `C:`/`S:` is connection 1. In an expected line `{*}`
//! matches any text and `{#}` one or more digits; the rest is literal. A
//! literal the server sends comes as the lines it holds, so a FETCH of a
//! body is matched line by line.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// How long the server has for each expected line.
const LINE_LIMIT: Duration = Duration::from_secs(10);

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Send {
        conn: u8,
        line: String,
    },
    Expect {
        conn: u8,
        pattern: String,
        optional: bool,
    },
    /// One of a run of lines that may come in any order.
    ExpectAnyOrder {
        conn: u8,
        pattern: String,
    },
}

#[derive(Debug)]
pub struct Transcript {
    pub path: PathBuf,
    /// Each step with the number of its line in the file.
    pub steps: Vec<(usize, Step)>,
}

impl Transcript {
    pub fn read(path: &Path) -> Result<Transcript, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut steps = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let step = parse_step(line)
                .ok_or_else(|| format!("{}:{}: not a step: {line:?}", path.display(), i + 1))?;
            steps.push((i + 1, step));
        }
        Ok(Transcript {
            path: path.to_path_buf(),
            steps,
        })
    }

    /// Every `*.txt` transcript in `dir`, by name.
    pub fn all_in(dir: &Path) -> Vec<Transcript> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| Transcript::read(path).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    /// Plays the transcript, opening each connection with `connect`; the
    /// first line that does not match, or does not come, is the error.
    pub async fn play<F, Fut>(&self, mut connect: F) -> Result<(), String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = DuplexStream>,
    {
        let mut conns: BTreeMap<u8, Conn> = BTreeMap::new();
        let mut unordered: Vec<&str> = Vec::new();
        for (i, (number, step)) in self.steps.iter().enumerate() {
            let at = |what: String| format!("{}:{number}: {what}", self.path.display());
            let conn = match conns.entry(conn_id(step)) {
                Entry::Occupied(open) => open.into_mut(),
                Entry::Vacant(slot) => slot.insert(Conn {
                    stream: BufReader::new(connect().await),
                    unmatched: None,
                }),
            };
            match step {
                Step::Send { line, .. } => {
                    let sent = conn
                        .stream
                        .get_mut()
                        .write_all(format!("{line}\r\n").as_bytes())
                        .await;
                    sent.map_err(|e| at(format!("cannot send {line:?}: {e}")))?;
                }
                Step::Expect {
                    pattern, optional, ..
                } => {
                    let got = match conn.unmatched.take() {
                        Some(line) => line,
                        None => read_line(&mut conn.stream).await.map_err(at)?,
                    };
                    if matches(pattern, &got) {
                        continue;
                    }
                    if !optional {
                        return Err(at(format!("expected {pattern:?}\n     got {got:?}")));
                    }
                    conn.unmatched = Some(got);
                }
                Step::ExpectAnyOrder { pattern, .. } => {
                    unordered.push(pattern);
                    let run_goes_on = matches!(
                        self.steps.get(i + 1),
                        Some((_, Step::ExpectAnyOrder { conn: next, .. })) if *next == conn_id(step)
                    );
                    if run_goes_on {
                        continue;
                    }
                    for _ in 0..unordered.len() {
                        let got = match conn.unmatched.take() {
                            Some(line) => line,
                            None => read_line(&mut conn.stream).await.map_err(at)?,
                        };
                        let Some(found) = unordered.iter().position(|p| matches(p, &got)) else {
                            return Err(at(format!(
                                "expected one of {unordered:?}\n     got {got:?}"
                            )));
                        };
                        unordered.swap_remove(found);
                    }
                }
            }
        }
        Ok(())
    }
}

fn conn_id(step: &Step) -> u8 {
    match step {
        Step::Send { conn, .. } | Step::Expect { conn, .. } | Step::ExpectAnyOrder { conn, .. } => {
            *conn
        }
    }
}

/// One connection of a transcript.
struct Conn {
    stream: BufReader<DuplexStream>,
    /// A line read for an optional step that it did not match, for the next.
    unmatched: Option<String>,
}

fn parse_step(line: &str) -> Option<Step> {
    let (head, rest) = line.split_once(':')?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest).to_string();
    let mut chars = head.chars();
    let kind = chars.next()?;
    let digits = chars.as_str();
    // `S?:` and `S~:` (and `S2?:`): the mark after the connection number.
    let (digits, mark) = match digits.strip_suffix(['?', '~']) {
        Some(stripped) => (stripped, digits.chars().last()),
        None => (digits, None),
    };
    let conn = if digits.is_empty() {
        1
    } else {
        digits.parse().ok()?
    };
    match kind {
        'C' if mark.is_none() => Some(Step::Send { conn, line: rest }),
        'S' if mark == Some('~') => Some(Step::ExpectAnyOrder {
            conn,
            pattern: rest,
        }),
        'S' => Some(Step::Expect {
            conn,
            pattern: rest,
            optional: mark == Some('?'),
        }),
        _ => None,
    }
}

/// The next line from the server, without its CRLF.
async fn read_line(stream: &mut BufReader<DuplexStream>) -> Result<String, String> {
    let mut line = Vec::new();
    let read = tokio::time::timeout(LINE_LIMIT, stream.read_until(b'\n', &mut line)).await;
    match read {
        Err(_) => Err(format!("no line from the server within {LINE_LIMIT:?}")),
        Ok(Err(e)) => Err(format!("read failed: {e}")),
        Ok(Ok(0)) => Err("the server closed the connection".into()),
        Ok(Ok(_)) => {
            let line = line
                .strip_suffix(b"\r\n")
                .or_else(|| line.strip_suffix(b"\n"))
                .unwrap_or(&line);
            Ok(String::from_utf8_lossy(line).into_owned())
        }
    }
}

/// Whether `text` matches `pattern`, where `{*}` is any text and `{#}` one
/// or more ASCII digits.
pub fn matches(pattern: &str, text: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix("{*}") {
        return (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .any(|i| matches(rest, &text[i..]));
    }
    if let Some(rest) = pattern.strip_prefix("{#}") {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        return (1..=digits).any(|i| matches(rest, &text[i..]));
    }
    match pattern.chars().next() {
        None => text.is_empty(),
        Some(c) => text
            .strip_prefix(c)
            .is_some_and(|rest| matches(&pattern[c.len_utf8()..], rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_text_and_numbers() {
        assert!(matches("* {#} EXISTS", "* 12 EXISTS"));
        assert!(!matches("* {#} EXISTS", "* EXISTS"));
        assert!(!matches("* {#} EXISTS", "* x EXISTS"));
        assert!(matches("a OK {*}", "a OK "));
        assert!(matches("a OK {*}", "a OK [READ-WRITE] Select completed"));
        assert!(matches("{*}[UIDNEXT {#}]{*}", "* OK [UIDNEXT 4] Predicted"));
        assert!(!matches("a OK", "a OK done"));
        assert!(matches(
            "* LIST () \"/\" \"Attività\"",
            "* LIST () \"/\" \"Attività\""
        ));
    }

    #[test]
    fn steps_name_their_connection() {
        assert_eq!(
            parse_step("C: a NOOP"),
            Some(Step::Send {
                conn: 1,
                line: "a NOOP".into()
            })
        );
        assert_eq!(
            parse_step("S2: * 3 EXISTS"),
            Some(Step::Expect {
                conn: 2,
                pattern: "* 3 EXISTS".into(),
                optional: false,
            })
        );
        assert_eq!(
            parse_step("S?: * OK [HIGHESTMODSEQ {#}] {*}"),
            Some(Step::Expect {
                conn: 1,
                pattern: "* OK [HIGHESTMODSEQ {#}] {*}".into(),
                optional: true,
            })
        );
        assert_eq!(
            parse_step("S~: * LIST () \"/\" INBOX"),
            Some(Step::ExpectAnyOrder {
                conn: 1,
                pattern: "* LIST () \"/\" INBOX".into(),
            })
        );
        assert_eq!(parse_step("C?: a NOOP"), None);
        assert_eq!(parse_step("C~: a NOOP"), None);
        assert_eq!(
            parse_step("C: "),
            Some(Step::Send {
                conn: 1,
                line: String::new()
            })
        );
        assert_eq!(parse_step("X: a"), None);
        assert_eq!(parse_step("no step"), None);
    }
}

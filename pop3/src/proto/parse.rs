//! Reading what a client sends (RFC 1939 section 3): lines ended by CRLF
//! (a bare LF is taken too, as Dovecot takes it), each a keyword of three
//! or four letters and its arguments separated by spaces, or the answer
//! to a SASL challenge (RFC 5034 section 4).
//!
//! POP3 has no literals: a line is all a command can be, so a refused
//! command is skipped by skipping its line, and nothing a client sends
//! after it is ever read as part of it.

use thiserror::Error;

use super::Command;

/// A line longer than the limit: the session answers and ends, as nothing
/// after it can be told apart from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("line too long")]
pub struct TooLong;

/// The next line at the start of `input`, without its line end, and how
/// many bytes it took with its line end; `None` until all of it has come.
/// A line longer than `max_line` bytes, line end included, is refused as
/// soon as that many bytes have come without one.
pub fn next_line(input: &[u8], max_line: usize) -> Result<Option<(&[u8], usize)>, TooLong> {
    let Some(lf) = input.iter().position(|&b| b == b'\n') else {
        return if input.len() >= max_line {
            Err(TooLong)
        } else {
            Ok(None)
        };
    };
    if lf + 1 > max_line {
        return Err(TooLong);
    }
    let line = &input[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(Some((line, lf + 1)))
}

/// Reads the command on `line` (without its line end); `Err` says what is
/// wrong with it, for the `-ERR` that answers it.
pub fn parse_command(line: &[u8]) -> Result<Command, String> {
    let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
        Some(space) => (&line[..space], &line[space + 1..]),
        None => (line, &[][..]),
    };
    let keyword = std::str::from_utf8(keyword)
        .ok()
        .filter(|k| k.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase);
    let Some(keyword) = keyword.filter(|k| !k.is_empty()) else {
        return Err("Unknown command".to_string());
    };
    let text = || std::str::from_utf8(rest).map_err(|_| "Arguments must be UTF-8".to_string());
    let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let command = match keyword.as_str() {
        "CAPA" => Command::Capa,
        "STLS" => Command::Stls,
        "STAT" => Command::Stat,
        "RSET" => Command::Rset,
        "NOOP" => Command::Noop,
        "QUIT" => Command::Quit,
        "USER" => match text()?.trim() {
            "" => return Err("USER needs a name".to_string()),
            name => Command::User(name.to_string()),
        },
        "PASS" => match text()? {
            "" => return Err("PASS needs a password".to_string()),
            password => Command::Pass(password.to_string()),
        },
        "AUTH" => {
            let mut word = || {
                words
                    .next()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
            };
            let (mechanism, initial) = (word(), word());
            if word().is_some() {
                return Err("AUTH takes a mechanism and an initial response".to_string());
            }
            Command::Auth { mechanism, initial }
        }
        "LIST" => Command::List(words.next().map(number).transpose()?),
        "UIDL" => Command::Uidl(words.next().map(number).transpose()?),
        "RETR" => Command::Retrieve {
            number: required(words.next()).and_then(number)?,
            lines: None,
        },
        "DELE" => Command::Dele(required(words.next()).and_then(number)?),
        "TOP" => {
            let message = required(words.next()).and_then(number)?;
            let lines = required(words.next()).and_then(count)?;
            Command::Retrieve {
                number: message,
                lines: Some(lines),
            }
        }
        _ => return Err(format!("Unknown command {}", shown(keyword.as_bytes()))),
    };
    // Arguments after those a command takes are ignored, as Dovecot does
    // for STAT, NOOP, RSET and QUIT; a message number is taken whole.
    if matches!(
        command,
        Command::List(_) | Command::Uidl(_) | Command::Retrieve { .. } | Command::Dele(_)
    ) && words.next().is_some()
    {
        return Err("Too many arguments".to_string());
    }
    Ok(command)
}

/// The answer to a SASL challenge (RFC 5034 section 4): base64 text, or
/// `*` to cancel.
pub fn parse_sasl_response(line: &[u8]) -> Result<String, String> {
    std::str::from_utf8(line)
        .map(|text| text.trim().to_string())
        .map_err(|_| "Invalid SASL response".to_string())
}

fn required(word: Option<&[u8]>) -> Result<&[u8], String> {
    word.ok_or_else(|| "A message number was expected".to_string())
}

fn number(word: &[u8]) -> Result<u32, String> {
    digits(word)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("Invalid message number: {}", shown(word)))
}

fn count(word: &[u8]) -> Result<u64, String> {
    digits(word)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("Invalid line count: {}", shown(word)))
}

/// What a client sent, as an error names it: short enough that the reply
/// stays within RFC 2449's 512 octets whatever the line held.
fn shown(word: &[u8]) -> String {
    const LONGEST: usize = 40;
    let text = String::from_utf8_lossy(&word[..word.len().min(LONGEST)]).into_owned();
    if word.len() > LONGEST {
        format!("{text}...")
    } else {
        text
    }
}

fn digits(word: &[u8]) -> Option<&str> {
    let all = !word.is_empty() && word.iter().all(u8::is_ascii_digit);
    all.then(|| std::str::from_utf8(word).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, String> {
        parse_command(line.as_bytes())
    }

    #[test]
    fn lines_end_at_lf_with_or_without_cr() {
        assert_eq!(
            next_line(b"STAT\r\nQUIT\r\n", 64),
            Ok(Some((&b"STAT"[..], 6)))
        );
        assert_eq!(next_line(b"STAT\nQUIT", 64), Ok(Some((&b"STAT"[..], 5))));
        assert_eq!(next_line(b"STA", 64), Ok(None));
        assert_eq!(next_line(b"", 64), Ok(None));
        // A CR alone ends nothing.
        assert_eq!(next_line(b"STAT\rQUIT", 64), Ok(None));
    }

    #[test]
    fn a_line_over_the_limit_is_refused_as_soon_as_it_is_over() {
        assert_eq!(next_line(&[b'a'; 9], 10), Ok(None));
        assert_eq!(next_line(&[b'a'; 10], 10), Err(TooLong));
        let mut line = vec![b'a'; 8];
        line.extend_from_slice(b"\r\n");
        assert_eq!(next_line(&line, 10), Ok(Some((&line[..8], 10))));
        line.insert(0, b'a');
        assert_eq!(next_line(&line, 10), Err(TooLong));
    }

    #[test]
    fn commands_are_read_with_their_arguments() {
        assert_eq!(parse("capa"), Ok(Command::Capa));
        assert_eq!(parse("Stls"), Ok(Command::Stls));
        assert_eq!(
            parse("USER anna@comune.example"),
            Ok(Command::User("anna@comune.example".into()))
        );
        assert_eq!(
            parse("PASS due parole "),
            Ok(Command::Pass("due parole ".into()))
        );
        assert_eq!(
            parse("AUTH PLAIN AGFubmEAcw=="),
            Ok(Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some("AGFubmEAcw==".into())
            })
        );
        assert_eq!(
            parse("AUTH"),
            Ok(Command::Auth {
                mechanism: None,
                initial: None
            })
        );
        assert_eq!(parse("STAT"), Ok(Command::Stat));
        assert_eq!(parse("LIST"), Ok(Command::List(None)));
        assert_eq!(parse("LIST 2"), Ok(Command::List(Some(2))));
        assert_eq!(parse("UIDL 7"), Ok(Command::Uidl(Some(7))));
        assert_eq!(
            parse("RETR 1"),
            Ok(Command::Retrieve {
                number: 1,
                lines: None
            })
        );
        assert_eq!(
            parse("TOP 1 0"),
            Ok(Command::Retrieve {
                number: 1,
                lines: Some(0)
            })
        );
        assert_eq!(parse("DELE 3"), Ok(Command::Dele(3)));
        assert_eq!(parse("RSET"), Ok(Command::Rset));
        assert_eq!(parse("NOOP"), Ok(Command::Noop));
        assert_eq!(parse("QUIT now"), Ok(Command::Quit));
    }

    #[test]
    fn malformed_commands_say_what_is_wrong() {
        for (line, expected) in [
            ("", "Unknown command"),
            ("APOP anna 1234", "Unknown command APOP"),
            ("XTND XMIT", "Unknown command XTND"),
            ("R3TR 1", "Unknown command"),
            ("USER", "USER needs a name"),
            ("PASS", "PASS needs a password"),
            ("RETR", "A message number was expected"),
            ("RETR x", "Invalid message number: x"),
            ("RETR -1", "Invalid message number: -1"),
            ("RETR 99999999999", "Invalid message number: 99999999999"),
            ("DELE 1 2", "Too many arguments"),
            ("TOP 1", "A message number was expected"),
            ("TOP 1 many", "Invalid line count: many"),
            (
                "AUTH PLAIN a b",
                "AUTH takes a mechanism and an initial response",
            ),
        ] {
            assert_eq!(parse(line), Err(expected.to_string()), "{line:?}");
        }
        assert!(parse_command(b"PASS \xff").is_err());
        let long = format!("RETR {}", "9x".repeat(2000));
        let refused = parse(&long).expect_err("refused");
        assert!(refused.len() < 100 && refused.ends_with("..."), "{refused}");
        let long = "X".repeat(3000);
        assert!(parse(&long).expect_err("refused").len() < 100);
        assert!(parse_command(b"\xffSTAT").is_err());
    }

    #[test]
    fn sasl_responses_are_lines_of_text() {
        assert_eq!(parse_sasl_response(b"AGEAYg=="), Ok("AGEAYg==".into()));
        assert_eq!(parse_sasl_response(b"*"), Ok("*".into()));
        assert!(parse_sasl_response(b"\xff").is_err());
    }
}

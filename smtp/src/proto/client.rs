//! The client side of SMTP as bytes, for outbound delivery: reading a
//! server's replies (RFC 5321 §4.2), its EHLO keywords (§4.1.1.1, with
//! SIZE of RFC 1870, PIPELINING of RFC 2920, STARTTLS of RFC 3207 and AUTH
//! of RFC 4954), and the DATA transparency of §4.5.2.

use std::fmt;

/// Longest reply line we take, CRLF included (§4.5.3.1.5 allows 512; some
/// servers send longer EHLO lines).
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines one reply may have.
pub const MAX_REPLY_LINES: usize = 128;

/// One reply line: its code, whether it ends the reply, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    pub code: u16,
    pub last: bool,
    pub text: &'a str,
}

/// Parses one reply line, without its CRLF; `None` if it is not one.
pub fn parse_reply_line(line: &str) -> Option<ReplyLine<'_>> {
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'5').contains(&code.as_bytes()[0]) {
        return None;
    }
    let code: u16 = code.parse().ok()?;
    let (last, text) = match line.as_bytes().get(3) {
        None => (true, ""),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return None,
    };
    Some(ReplyLine { code, last, text })
}

/// A whole reply from a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    pub code: u16,
    /// The text of each line, without code and separator.
    pub lines: Vec<String>,
}

impl ServerReply {
    /// A reply made up here, for a failure that had no reply from the
    /// server (a refused connection, a timeout), worded as one would be.
    pub fn local(code: u16, text: impl Into<String>) -> ServerReply {
        ServerReply {
            code,
            lines: vec![text.into()],
        }
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The enhanced status code of the first line (RFC 3463), if any and if
    /// its class matches the reply's.
    pub fn enhanced_status(&self) -> Option<&str> {
        let first = self.lines.first()?.split(' ').next()?;
        let parts: Vec<&str> = first.split('.').collect();
        let numeric = parts.len() == 3
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
        let same_class = first.as_bytes().first() == self.code.to_string().as_bytes().first();
        (numeric && same_class).then_some(first)
    }
}

/// As the reply would be written on one line: `550 5.1.1 no such user`.
impl fmt::Display for ServerReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        for line in &self.lines {
            write!(f, " {line}")?;
        }
        Ok(())
    }
}

/// What a server offers in its EHLO reply, of what we use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    pub starttls: bool,
    pub pipelining: bool,
    /// SIZE, with its limit; `Some(0)` means no fixed limit.
    pub size: Option<u64>,
    pub auth_plain: bool,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
}

impl Extensions {
    /// The keywords of an EHLO reply; the first line is the greeting.
    pub fn parse(reply: &ServerReply) -> Extensions {
        let mut found = Extensions::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "STARTTLS" => found.starttls = true,
                "PIPELINING" => found.pipelining = true,
                "SIZE" => found.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "AUTH" => found.auth_plain |= words.any(|m| m.eq_ignore_ascii_case("PLAIN")),
                "8BITMIME" => found.eight_bit_mime = true,
                "SMTPUTF8" => found.smtputf8 = true,
                _ => {}
            }
        }
        found
    }
}

/// A message as sent after DATA: lines that start with a dot get another
/// one (§4.5.2), bare LF becomes CRLF, the last line is ended, and the
/// end-of-data line follows.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut at_line_start = true;
    let mut previous = 0u8;
    for &byte in message {
        if at_line_start && byte == b'.' {
            out.push(b'.');
        }
        if byte == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(byte);
        at_line_start = byte == b'\n';
        previous = byte;
    }
    if !message.is_empty() && !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> ServerReply {
        ServerReply {
            code,
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn reply_lines_parse() {
        assert_eq!(
            parse_reply_line("250-mx.example.org hello"),
            Some(ReplyLine {
                code: 250,
                last: false,
                text: "mx.example.org hello"
            })
        );
        assert_eq!(
            parse_reply_line("550 5.1.1 no such user"),
            Some(ReplyLine {
                code: 550,
                last: true,
                text: "5.1.1 no such user"
            })
        );
        assert_eq!(parse_reply_line("354").map(|l| l.last), Some(true));
        for bad in ["", "25", "abc hello", "250_x", "650 no", "099 no"] {
            assert_eq!(parse_reply_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn enhanced_status_codes_are_read_when_they_match_the_class() {
        assert_eq!(reply(550, &["5.1.1 no"]).enhanced_status(), Some("5.1.1"));
        assert_eq!(reply(550, &["4.1.1 no"]).enhanced_status(), None);
        assert_eq!(reply(550, &["no such user"]).enhanced_status(), None);
        assert_eq!(
            reply(451, &["4.3.0 later", "x"]).to_string(),
            "451 4.3.0 later x"
        );
    }

    #[test]
    fn ehlo_keywords_are_found() {
        let ehlo = reply(
            250,
            &[
                "mx.example.org",
                "PIPELINING",
                "SIZE 1000",
                "starttls",
                "AUTH LOGIN PLAIN",
                "8BITMIME",
            ],
        );
        assert_eq!(
            Extensions::parse(&ehlo),
            Extensions {
                starttls: true,
                pipelining: true,
                size: Some(1000),
                auth_plain: true,
                eight_bit_mime: true,
                smtputf8: false,
            }
        );
        let bare = reply(250, &["mx.example.org", "SIZE", "STARTTLS-NOT"]);
        assert_eq!(
            Extensions::parse(&bare),
            Extensions {
                size: Some(0),
                ..Extensions::default()
            }
        );
    }

    #[test]
    fn data_is_dot_stuffed_and_terminated() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n..\r\n"), b"a\r\n..b\r\n...\r\n.\r\n");
        assert_eq!(dot_stuff(b".x\nlast"), b"..x\r\nlast\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
        assert_eq!(dot_stuff(b"a\r\n"), b"a\r\n.\r\n");
    }
}

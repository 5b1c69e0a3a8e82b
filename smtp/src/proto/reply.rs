//! Replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034, RFC 3463)
//! on every line.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The enhanced status code, such as `2.1.0`.
    pub status: &'static str,
    pub lines: Vec<Cow<'static, str>>,
}

impl Reply {
    pub fn new(code: u16, status: &'static str, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            code,
            status,
            lines: vec![text.into()],
        }
    }

    /// A reply without an enhanced status code: the greeting and the EHLO
    /// reply, whose text is the host name and the extension keywords.
    pub fn plain(code: u16, lines: Vec<Cow<'static, str>>) -> Reply {
        Reply {
            code,
            status: "",
            lines,
        }
    }

    /// Appends the reply as sent to `out`: `250-first` … `250 last`, each
    /// line ending in CRLF. Written in place: a reply costs no buffer of
    /// its own.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_lines(out, true);
    }

    /// Appends the reply with every line marked as continued (`220-…`),
    /// for a reply whose last line is sent later.
    pub fn encode_continued(&self, out: &mut Vec<u8>) {
        self.encode_lines(out, false);
    }

    fn encode_lines(&self, out: &mut Vec<u8>, ends: bool) {
        // Reply codes are three digits (RFC 5321 §4.2).
        let code =
            [self.code / 100 % 10, self.code / 10 % 10, self.code % 10].map(|d| b'0' + d as u8);
        let last = if ends {
            self.lines.len().saturating_sub(1)
        } else {
            usize::MAX
        };
        for (i, line) in self.lines.iter().enumerate() {
            out.extend_from_slice(&code);
            out.push(if i == last { b' ' } else { b'-' });
            if !self.status.is_empty() {
                out.extend_from_slice(self.status.as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: &Reply) -> Vec<u8> {
        let mut out = Vec::new();
        reply.encode(&mut out);
        out
    }

    #[test]
    fn single_and_multi_line_replies() {
        assert_eq!(
            encoded(&Reply::new(250, "2.1.0", "OK")),
            b"250 2.1.0 OK\r\n"
        );
        let ehlo = Reply::plain(
            250,
            vec![
                "mx.example.it".into(),
                "PIPELINING".into(),
                "SIZE 1000".into(),
            ],
        );
        assert_eq!(
            encoded(&ehlo),
            b"250-mx.example.it\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"
        );
        let multi = Reply {
            code: 550,
            status: "5.7.1",
            lines: vec!["first".into(), "second".into()],
        };
        assert_eq!(encoded(&multi), b"550-5.7.1 first\r\n550 5.7.1 second\r\n");
        let mut continued = Vec::new();
        Reply::plain(220, vec!["mx.example.it ESMTP".into()]).encode_continued(&mut continued);
        assert_eq!(continued, b"220-mx.example.it ESMTP\r\n");
    }
}

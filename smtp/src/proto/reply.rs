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

    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// The reply as sent: `250-first` … `250 last`, each line ending in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let separator = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{separator}", self.code).as_bytes());
            if !self.status.is_empty() {
                out.extend_from_slice(self.status.as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_line_replies() {
        assert_eq!(
            Reply::new(250, "2.1.0", "OK").to_bytes(),
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
            ehlo.to_bytes(),
            b"250-mx.example.it\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"
        );
        let multi = Reply {
            code: 550,
            status: "5.7.1",
            lines: vec!["first".into(), "second".into()],
        };
        assert_eq!(multi.to_bytes(), b"550-5.7.1 first\r\n550 5.7.1 second\r\n");
    }
}

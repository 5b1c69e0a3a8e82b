//! What the server writes (RFC 1939 section 3): one status line, `+OK` or
//! `-ERR` with an optional response code in brackets (RFC 2449 section 8,
//! RFC 3206) and a text; for multi-line responses, lines after it,
//! dot-stuffed, and a line holding only `.`.

/// The response codes a server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The credentials were refused, or may not be sent now (RFC 3206).
    Auth,
    /// A temporary failure of the server: try again later (RFC 3206).
    SysTemp,
}

impl Code {
    fn name(self) -> &'static str {
        match self {
            Code::Auth => "AUTH",
            Code::SysTemp => "SYS/TEMP",
        }
    }
}

/// How a command ended: a status line, and for a multi-line response the
/// lines after it, already dot-stuffed and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub ok: bool,
    pub code: Option<Code>,
    pub text: String,
    pub lines: Option<Vec<u8>>,
}

impl Reply {
    pub fn ok(text: impl Into<String>) -> Reply {
        Reply {
            ok: true,
            code: None,
            text: text.into(),
            lines: None,
        }
    }

    pub fn err(text: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            code: None,
            text: text.into(),
            lines: None,
        }
    }

    /// The same reply with a response code.
    pub fn code(self, code: Code) -> Reply {
        Reply {
            code: Some(code),
            ..self
        }
    }

    /// The same reply as a multi-line response: `lines` written by
    /// [`write_line`] or [`write_message`], ended by [`write_end`].
    pub fn lines(self, lines: Vec<u8>) -> Reply {
        Reply {
            lines: Some(lines),
            ..self
        }
    }

    /// Writes the status line and the lines after it. A line end in the text would end the line early
    /// and start another the client reads as a response: it is written as
    /// a space.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.ok { b"+OK" } else { b"-ERR" });
        if let Some(code) = self.code {
            out.extend_from_slice(b" [");
            out.extend_from_slice(code.name().as_bytes());
            out.push(b']');
        }
        if !self.text.is_empty() {
            out.push(b' ');
            out.extend(
                self.text
                    .bytes()
                    .map(|b| if matches!(b, b'\r' | b'\n') { b' ' } else { b }),
            );
        }
        out.extend_from_slice(b"\r\n");
        if let Some(lines) = &self.lines {
            out.extend_from_slice(lines);
        }
    }
}

/// Writes one line of a multi-line response (a capability, a scan or
/// UIDL listing), dot-stuffed.
pub fn write_line(out: &mut Vec<u8>, line: &str) {
    if line.starts_with('.') {
        out.push(b'.');
    }
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Ends a multi-line response.
pub fn write_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b".\r\n");
}

/// Writes a message for RETR (`body_lines` `None`) or its header and the
/// first `body_lines` lines of its body for TOP (RFC 1939 section 7), then
/// the end of the response. Every line goes out ended by CRLF, a bare LF
/// getting its CR as Dovecot adds it, and a line starting with `.` gets
/// another; for a message stored with CRLF, as delivery stores them, what
/// is sent is then exactly its bytes besides the stuffing.
pub fn write_message(out: &mut Vec<u8>, raw: &[u8], body_lines: Option<u64>) {
    let mut in_body = false;
    let mut left = body_lines;
    let mut lines = raw.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        // The piece after the final LF is no line when it is empty.
        if last && line.is_empty() {
            break;
        }
        if in_body {
            match left.as_mut() {
                Some(0) => break,
                Some(left) => *left -= 1,
                None => {}
            }
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        if line.is_empty() {
            in_body = true;
        }
    }
    write_end(out);
}

/// A SASL challenge (RFC 5034 section 4): PLAIN's is empty.
pub fn write_challenge(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+ \r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn status_lines_carry_their_code_and_text() {
        assert_eq!(text(|o| Reply::ok("").write(o)), "+OK\r\n");
        assert_eq!(text(|o| Reply::ok("2 320").write(o)), "+OK 2 320\r\n");
        assert_eq!(
            text(|o| Reply::err("Authentication failed.")
                .code(Code::Auth)
                .write(o)),
            "-ERR [AUTH] Authentication failed.\r\n"
        );
        assert_eq!(
            text(|o| Reply::err("a\r\n+OK b").code(Code::SysTemp).write(o)),
            "-ERR [SYS/TEMP] a  +OK b\r\n"
        );
        let mut lines = Vec::new();
        write_line(&mut lines, "1 120");
        write_end(&mut lines);
        assert_eq!(
            text(|o| Reply::ok("1 messages").lines(lines).write(o)),
            "+OK 1 messages\r\n1 120\r\n.\r\n"
        );
    }

    #[test]
    fn messages_are_dot_stuffed_and_end_with_a_dot() {
        let raw = b"Subject: x\r\n\r\n.hidden\r\nline\r\n..two\r\n";
        assert_eq!(
            text(|o| write_message(o, raw, None)),
            "Subject: x\r\n\r\n..hidden\r\nline\r\n...two\r\n.\r\n"
        );
        // What is sent for a message stored with CRLF is its bytes and the
        // stuffing: the size LIST gives is what RETR sends.
        let plain = b"Subject: y\r\n\r\nbody\r\n";
        let sent = text(|o| write_message(o, plain, None));
        assert_eq!(sent.len(), plain.len() + ".\r\n".len());
    }

    #[test]
    fn a_message_without_crlf_is_sent_with_it() {
        assert_eq!(
            text(|o| write_message(o, b"A: b\n\nc\n.\nd", None)),
            "A: b\r\n\r\nc\r\n..\r\nd\r\n.\r\n"
        );
        assert_eq!(text(|o| write_message(o, b"", None)), ".\r\n");
    }

    #[test]
    fn top_sends_the_header_and_some_body_lines() {
        let raw = b"A: 1\r\nB: 2\r\n\r\none\r\n.two\r\nthree\r\n";
        assert_eq!(
            text(|o| write_message(o, raw, Some(0))),
            "A: 1\r\nB: 2\r\n\r\n.\r\n"
        );
        assert_eq!(
            text(|o| write_message(o, raw, Some(2))),
            "A: 1\r\nB: 2\r\n\r\none\r\n..two\r\n.\r\n"
        );
        assert_eq!(
            text(|o| write_message(o, raw, Some(10))),
            "A: 1\r\nB: 2\r\n\r\none\r\n..two\r\nthree\r\n.\r\n"
        );
        // A message that is all header is sent whole.
        assert_eq!(
            text(|o| write_message(o, b"A: 1\r\n", Some(0))),
            "A: 1\r\n.\r\n"
        );
    }

    #[test]
    fn listing_lines_are_stuffed_too() {
        assert_eq!(
            text(|o| {
                write_line(o, "1 120");
                write_line(o, ".x");
                write_end(o);
            }),
            "1 120\r\n..x\r\n.\r\n"
        );
    }
}

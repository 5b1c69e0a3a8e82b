//! Command lines (RFC 5321 §2.3.8, §4.5.3.1.4): the client's bytes split at
//! LF, with a limit on a line's length that holds however the bytes arrive.
//! A line over the limit is read to its end and dropped, so that its tail
//! is never taken for a command.

/// A command line as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line without its CRLF (or bare LF).
    Complete(Vec<u8>),
    /// Longer than allowed; it was read to its end and dropped.
    TooLong,
}

/// Splits off one line of at most `limit` bytes from buffered input, fed
/// again with more input until it finds the line's end.
#[derive(Debug)]
pub struct LineReader {
    limit: usize,
    too_long: bool,
}

impl LineReader {
    pub fn new(limit: usize) -> LineReader {
        LineReader {
            limit,
            too_long: false,
        }
    }

    /// Looks at all the input buffered so far, of which the caller must
    /// drop the returned count; the line once its end is there. Input left
    /// unconsumed is fed again, with more after it, on the next call.
    pub fn feed(&mut self, unread: &[u8]) -> (usize, Option<Line>) {
        if let Some(end) = unread.iter().position(|&b| b == b'\n') {
            let mut line = unread[..end].to_vec();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = if self.too_long || line.len() > self.limit {
                Line::TooLong
            } else {
                Line::Complete(line)
            };
            return (end + 1, Some(line));
        }
        if unread.len() > self.limit + 2 {
            // Drop what we have and keep reading to the line's end.
            self.too_long = true;
            return (unread.len(), None);
        }
        (0, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_split_off_without_its_line_end() {
        let mut reader = LineReader::new(10);
        assert_eq!(reader.feed(b"NOOP"), (0, None));
        assert_eq!(
            reader.feed(b"NOOP\r\nQUIT\r\n"),
            (6, Some(Line::Complete(b"NOOP".to_vec())))
        );
    }

    #[test]
    fn a_long_line_is_dropped_to_its_end() {
        let mut reader = LineReader::new(4);
        assert_eq!(reader.feed(b"HELO ex"), (7, None));
        assert_eq!(reader.feed(b"ample\r\nQUIT"), (7, Some(Line::TooLong)));
    }
}

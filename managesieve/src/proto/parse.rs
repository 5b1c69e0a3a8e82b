//! Reading one command from the bytes a client sent (RFC 5804 section 4):
//! a command name, its arguments separated by one space, and CRLF.
//! Strings are quoted (`"a \"b\""`) or literals, `{N+}` CRLF and N bytes;
//! the synchronising form `{N}` is taken the same way, without waiting,
//! as the client will not wait for a continuation either (the protocol has
//! none).

use thiserror::Error;

use super::Command;

/// How large what a client sends may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest literal: a script and a little more.
    pub max_literal: usize,
    /// The longest command outside its literals.
    pub max_line: usize,
}

/// What [`ParseError::TooLarge`] says of a literal over
/// [`Limits::max_literal`]: most likely a script over its size.
pub const LITERAL_TOO_LARGE: &str = "literal too large";

/// A command that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The command is malformed; the session answers NO and goes on after
    /// the first `skip` bytes (the rest of its line).
    #[error("{message}")]
    Bad { message: String, skip: usize },
    /// More than [`Limits`] allow: the session ends.
    #[error("{0}")]
    TooLarge(&'static str),
}

/// What reading gave: `Ok(None)` until all of it has come, then the value
/// and how many bytes it took.
pub type Parsed<T> = Result<Option<(T, usize)>, ParseError>;

/// Reads the command at the start of `input`.
pub fn parse(input: &[u8], limits: &Limits) -> Parsed<Command> {
    let mut reader = Reader {
        input,
        at: 0,
        limits,
    };
    match reader.command() {
        Ok(command) => Ok(Some((command, reader.at))),
        Err(Stop::Incomplete) => {
            let line = input.len() - reader.literal_bytes();
            if line > limits.max_line {
                return Err(ParseError::TooLarge("command line too long"));
            }
            Ok(None)
        }
        Err(Stop::TooLarge(what)) => Err(ParseError::TooLarge(what)),
        Err(Stop::Bad(message)) => match skip_line(input, reader.at, limits)? {
            Some(skip) => Err(ParseError::Bad { message, skip }),
            None if input.len() - reader.literal_bytes() > limits.max_line => {
                Err(ParseError::TooLarge("command line too long"))
            }
            // Answer once the whole line is in, so that it is skipped whole.
            None => Ok(None),
        },
    }
}

/// Reads a client's answer to a SASL challenge (RFC 5804 section 2.1): a
/// string on a line of its own, `"*"` to cancel.
pub fn parse_sasl_response(input: &[u8], limits: &Limits) -> Parsed<Vec<u8>> {
    let mut reader = Reader {
        input,
        at: 0,
        limits,
    };
    let read = reader.string().and_then(|string| {
        reader.crlf()?;
        Ok(string)
    });
    match read {
        Ok(string) => Ok(Some((string, reader.at))),
        Err(Stop::Incomplete) if input.len() - reader.literal_bytes() > limits.max_line => {
            Err(ParseError::TooLarge("command line too long"))
        }
        Err(Stop::Incomplete) => Ok(None),
        Err(Stop::TooLarge(what)) => Err(ParseError::TooLarge(what)),
        Err(Stop::Bad(message)) => Ok(skip_line(input, reader.at, limits)?
            .map(|skip| Err(ParseError::Bad { message, skip }))
            .transpose()?),
    }
}

/// Where the rest of a refused command ends: at the first line end after
/// `from` that does not announce a literal. A literal's bytes are skipped
/// with its line, never read as commands: a script sent with a command
/// that was refused before it is not run line by line. `None` until all
/// of it has come.
fn skip_line(input: &[u8], from: usize, limits: &Limits) -> Result<Option<usize>, ParseError> {
    let mut at = from;
    loop {
        let Some(end) = find_crlf(input, at) else {
            return Ok(None);
        };
        let Some(size) = announced_literal(&input[at..end]) else {
            return Ok(Some(end + 2));
        };
        if size > limits.max_literal {
            return Err(ParseError::TooLarge(LITERAL_TOO_LARGE));
        }
        at = end + 2 + size;
        if at > input.len() {
            return Ok(None);
        }
    }
}

/// The size of the literal a line ends by announcing (`{N}` or `{N+}`).
fn announced_literal(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"}")?;
    let line = line.strip_suffix(b"+").unwrap_or(line);
    let digits = line.len() - line.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let (open, number) = line.split_at(digits);
    if !open.ends_with(b"{") || number.is_empty() {
        return None;
    }
    Some(
        std::str::from_utf8(number)
            .ok()?
            .parse()
            .unwrap_or(usize::MAX),
    )
}

/// Why reading stopped.
enum Stop {
    Incomplete,
    Bad(String),
    TooLarge(&'static str),
}

fn bad(message: impl Into<String>) -> Stop {
    Stop::Bad(message.into())
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
    limits: &'a Limits,
}

impl Reader<'_> {
    fn command(&mut self) -> Result<Command, Stop> {
        let name = self.atom()?.to_ascii_uppercase();
        let command = match name.as_str() {
            "AUTHENTICATE" => {
                let mechanism = self.text_argument()?;
                let initial = self.optional_text()?;
                Command::Authenticate { mechanism, initial }
            }
            "STARTTLS" => Command::StartTls,
            "LOGOUT" => Command::Logout,
            "CAPABILITY" => Command::Capability,
            "LISTSCRIPTS" => Command::ListScripts,
            "UNAUTHENTICATE" => Command::Unauthenticate,
            "HAVESPACE" => {
                let name = self.text_argument()?;
                self.space()?;
                let size = self.number()?;
                Command::HaveSpace { name, size }
            }
            "PUTSCRIPT" => {
                let name = self.text_argument()?;
                self.space()?;
                let script = self.string()?;
                Command::PutScript { name, script }
            }
            "SETACTIVE" => Command::SetActive {
                name: self.text_argument()?,
            },
            "GETSCRIPT" => Command::GetScript {
                name: self.text_argument()?,
            },
            "DELETESCRIPT" => Command::DeleteScript {
                name: self.text_argument()?,
            },
            "RENAMESCRIPT" => {
                let old = self.text_argument()?;
                let new = self.text_argument()?;
                Command::RenameScript { old, new }
            }
            "CHECKSCRIPT" => {
                self.space()?;
                Command::CheckScript {
                    script: self.string()?,
                }
            }
            "NOOP" => Command::Noop {
                tag: self.optional_text()?,
            },
            "" => return Err(bad("a command name was expected")),
            _ => return Err(bad(format!("unknown command {name}"))),
        };
        self.crlf()?;
        Ok(command)
    }

    fn peek(&self) -> Result<u8, Stop> {
        self.input.get(self.at).copied().ok_or(Stop::Incomplete)
    }

    /// Letters up to the next space or line end.
    fn atom(&mut self) -> Result<String, Stop> {
        let start = self.at;
        while self.peek()?.is_ascii_alphabetic() {
            self.at += 1;
        }
        Ok(String::from_utf8_lossy(&self.input[start..self.at]).into_owned())
    }

    fn space(&mut self) -> Result<(), Stop> {
        match self.peek()? {
            b' ' => {
                self.at += 1;
                Ok(())
            }
            _ => Err(bad("a space and an argument were expected")),
        }
    }

    fn crlf(&mut self) -> Result<(), Stop> {
        match self.peek()? {
            b'\r' => {
                self.at += 1;
                match self.peek()? {
                    b'\n' => {
                        self.at += 1;
                        Ok(())
                    }
                    _ => Err(bad("CR without LF")),
                }
            }
            _ => Err(bad("the command has too many arguments")),
        }
    }

    /// A space and a string that must be UTF-8 text (a name, a mechanism).
    fn text_argument(&mut self) -> Result<String, Stop> {
        self.space()?;
        let bytes = self.string()?;
        String::from_utf8(bytes).map_err(|_| bad("a name must be UTF-8"))
    }

    /// A space and a text string if the line goes on; none if it ends.
    fn optional_text(&mut self) -> Result<Option<String>, Stop> {
        match self.peek()? {
            b' ' => self.text_argument().map(Some),
            _ => Ok(None),
        }
    }

    fn number(&mut self) -> Result<u64, Stop> {
        let start = self.at;
        while self.peek()?.is_ascii_digit() {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.input[start..self.at]).unwrap_or_default();
        digits.parse().map_err(|_| bad("a number was expected"))
    }

    fn string(&mut self) -> Result<Vec<u8>, Stop> {
        match self.peek()? {
            b'"' => self.quoted(),
            b'{' => self.literal(),
            _ => Err(bad("a quoted string or a literal was expected")),
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, Stop> {
        self.at += 1;
        let mut text = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Ok(text);
                }
                b'\\' => {
                    self.at += 1;
                    match self.peek()? {
                        c @ (b'"' | b'\\') => text.push(c),
                        _ => return Err(bad("only \\\" and \\\\ may be escaped")),
                    }
                }
                b'\r' | b'\n' | 0 => return Err(bad("a quoted string cannot hold a line end")),
                c => text.push(c),
            }
            self.at += 1;
            if text.len() > self.limits.max_line {
                return Err(Stop::TooLarge("quoted string too long"));
            }
        }
    }

    fn literal(&mut self) -> Result<Vec<u8>, Stop> {
        self.at += 1;
        let size = self.number()?;
        if self.peek()? == b'+' {
            self.at += 1;
        }
        if self.peek()? != b'}' {
            return Err(bad("a literal is {N+} and a line end"));
        }
        self.at += 1;
        self.crlf().map_err(|stop| match stop {
            Stop::Bad(_) => bad("a literal's size must end its line"),
            other => other,
        })?;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > self.limits.max_literal {
            return Err(Stop::TooLarge(LITERAL_TOO_LARGE));
        }
        let end = self.at + size;
        let bytes = self.input.get(self.at..end).ok_or(Stop::Incomplete)?;
        self.at = end;
        Ok(bytes.to_vec())
    }

    /// Bytes of the input that are inside literals, up to where reading
    /// stopped: they do not count towards the line's length.
    fn literal_bytes(&self) -> usize {
        let mut inside = 0;
        let mut at = 0;
        while let Some(open) = self.input[at..].iter().position(|&b| b == b'{') {
            let start = at + open + 1;
            let digits = self.input[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let size: usize = std::str::from_utf8(&self.input[start..start + digits])
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            let body = find_crlf(self.input, start).map_or(self.input.len(), |end| end + 2);
            let taken = size.min(self.input.len() - body);
            inside += taken;
            at = body + taken;
            if at >= self.input.len() {
                break;
            }
        }
        inside
    }
}

fn find_crlf(input: &[u8], from: usize) -> Option<usize> {
    input
        .get(from..)?
        .windows(2)
        .position(|pair| pair == b"\r\n")
        .map(|at| from + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_literal: 1024,
        max_line: 200,
    };

    fn one(input: &[u8]) -> Command {
        let (command, used) = parse(input, &LIMITS).unwrap().expect("a whole command");
        assert_eq!(used, input.len());
        command
    }

    #[test]
    fn commands_are_read_with_their_arguments() {
        assert_eq!(one(b"capability\r\n"), Command::Capability);
        assert_eq!(
            one(b"AUTHENTICATE \"PLAIN\" \"AGFubmEAcHdk\"\r\n"),
            Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial: Some("AGFubmEAcHdk".into())
            }
        );
        assert_eq!(
            one(b"Authenticate \"PLAIN\"\r\n"),
            Command::Authenticate {
                mechanism: "PLAIN".into(),
                initial: None
            }
        );
        assert_eq!(
            one(b"HAVESPACE \"vacanze\" 2048\r\n"),
            Command::HaveSpace {
                name: "vacanze".into(),
                size: 2048
            }
        );
        assert_eq!(
            one(b"PUTSCRIPT \"filtri \\\"nuovi\\\"\" {10+}\r\nkeep;\r\nend\r\n"),
            Command::PutScript {
                name: "filtri \"nuovi\"".into(),
                script: b"keep;\r\nend".to_vec()
            }
        );
        assert_eq!(
            one(b"RENAMESCRIPT \"a\" {4}\r\nb \xc3\xa8\r\n"),
            Command::RenameScript {
                old: "a".into(),
                new: "b \u{e8}".into()
            }
        );
        assert_eq!(
            one(b"SETACTIVE \"\"\r\n"),
            Command::SetActive { name: "".into() }
        );
        assert_eq!(one(b"NOOP\r\n"), Command::Noop { tag: None });
        assert_eq!(
            one(b"NOOP \"STARTTLS-SYNC-42\"\r\n"),
            Command::Noop {
                tag: Some("STARTTLS-SYNC-42".into())
            }
        );
        assert_eq!(
            one(b"CHECKSCRIPT {4+}\r\nstop\r\n"),
            Command::CheckScript {
                script: b"stop".to_vec()
            }
        );
    }

    #[test]
    fn a_command_is_read_only_once_all_of_it_has_come() {
        let whole = b"PUTSCRIPT \"s\" {6+}\r\nkeep;\n\r\nLOGOUT\r\n";
        let first = whole.len() - b"LOGOUT\r\n".len();
        for cut in 0..first {
            assert_eq!(parse(&whole[..cut], &LIMITS), Ok(None), "cut at {cut}");
        }
        let (_, used) = parse(whole, &LIMITS).unwrap().unwrap();
        assert_eq!(used, first);
        assert_eq!(one(&whole[used..]), Command::Logout);
    }

    #[test]
    fn a_malformed_command_is_skipped_to_its_line_end() {
        let input = b"FROBNICATE \"x\"\r\nLOGOUT\r\n";
        let Err(ParseError::Bad { message, skip }) = parse(input, &LIMITS) else {
            panic!("not refused");
        };
        assert!(message.contains("FROBNICATE"), "{message}");
        assert_eq!(&input[skip..], b"LOGOUT\r\n");
        for bad in [
            &b"GETSCRIPT\r\n"[..],
            b"GETSCRIPT \"a\" \"b\"\r\n",
            b"GETSCRIPT a\r\n",
            b"HAVESPACE \"a\" many\r\n",
            b"GETSCRIPT \"a\\b\"\r\n",
            b"GETSCRIPT \"\xff\"\r\n",
            b"LOGOUT\rX\r\n",
        ] {
            assert!(
                matches!(parse(bad, &LIMITS), Err(ParseError::Bad { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // A bad command is answered once its whole line is in.
        assert_eq!(parse(b"FROBNICATE \"x", &LIMITS), Ok(None));
    }

    #[test]
    fn a_refused_commands_literals_are_skipped_with_it() {
        // The name is not UTF-8: refused before the script is read.
        let script = b"DELETESCRIPT \"a\"\r\nLOGOUT\r\n";
        let mut input = format!("PUTSCRIPT \"\\x\" {{{}+}}\r\n", script.len()).into_bytes();
        input.extend_from_slice(script);
        input.extend_from_slice(b"\r\nCAPABILITY\r\n");
        for cut in 0..input.len() - b"CAPABILITY\r\n".len() {
            assert_eq!(parse(&input[..cut], &LIMITS), Ok(None), "cut at {cut}");
        }
        let Err(ParseError::Bad { skip, .. }) = parse(&input, &LIMITS) else {
            panic!("not refused");
        };
        assert_eq!(&input[skip..], b"CAPABILITY\r\n");
        assert_eq!(
            parse(b"FROBNICATE {5000}\r\n", &LIMITS),
            Err(ParseError::TooLarge("literal too large"))
        );
    }

    #[test]
    fn sasl_responses_are_strings_on_a_line() {
        assert_eq!(
            parse_sasl_response(b"\"AGEAYg==\"\r\nX", &LIMITS),
            Ok(Some((b"AGEAYg==".to_vec(), 12)))
        );
        assert_eq!(
            parse_sasl_response(b"{4+}\r\nAGEA\r\n", &LIMITS),
            Ok(Some((b"AGEA".to_vec(), 12)))
        );
        assert_eq!(parse_sasl_response(b"\"*", &LIMITS), Ok(None));
        assert!(matches!(
            parse_sasl_response(b"AGEA\r\nNOOP\r\n", &LIMITS),
            Err(ParseError::Bad { skip: 6, .. })
        ));
    }

    #[test]
    fn what_is_too_large_ends_the_session() {
        assert_eq!(
            parse(b"PUTSCRIPT \"a\" {5000+}\r\n", &LIMITS),
            Err(ParseError::TooLarge("literal too large"))
        );
        let long = [b"GETSCRIPT \"".as_slice(), &[b'a'; 300]].concat();
        assert!(matches!(
            parse(&long, &LIMITS),
            Err(ParseError::TooLarge(_))
        ));
        // A script is not a long line while it comes.
        let mut script = b"PUTSCRIPT \"a\" {1000+}\r\n".to_vec();
        script.extend_from_slice(&[b'#'; 600]);
        assert_eq!(parse(&script, &LIMITS), Ok(None));
    }
}

//! What the server writes (RFC 5804 section 4): responses `OK`, `NO` and
//! `BYE` with an optional code in parentheses and an optional text, and
//! the strings, capability lines and script lists before them. A string
//! goes quoted when it can, else as a literal `{N}`.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bye,
}

/// The response codes of RFC 5804 section 1.3 a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    AuthTooWeak,
    EncryptNeeded,
    /// Over the space all of a mailbox's scripts may take.
    Quota,
    /// Over the size one script may have.
    QuotaMaxSize,
    /// Over the number of scripts a mailbox may have.
    QuotaMaxScripts,
    /// A SASL exchange's last data, with OK.
    Sasl(String),
    TryLater,
    /// The script is the active one (deleting it is refused).
    Active,
    Nonexistent,
    AlreadyExists,
    /// NOOP's tag, echoed.
    Tag(String),
    /// The script was stored, with warnings in the text.
    Warnings,
}

impl Code {
    fn write(&self, out: &mut Vec<u8>) {
        let (name, argument) = match self {
            Code::AuthTooWeak => ("AUTH-TOO-WEAK", None),
            Code::EncryptNeeded => ("ENCRYPT-NEEDED", None),
            Code::Quota => ("QUOTA", None),
            Code::QuotaMaxSize => ("QUOTA/MAXSIZE", None),
            Code::QuotaMaxScripts => ("QUOTA/MAXSCRIPTS", None),
            Code::Sasl(data) => ("SASL", Some(data)),
            Code::TryLater => ("TRYLATER", None),
            Code::Active => ("ACTIVE", None),
            Code::Nonexistent => ("NONEXISTENT", None),
            Code::AlreadyExists => ("ALREADYEXISTS", None),
            Code::Tag(tag) => ("TAG", Some(tag)),
            Code::Warnings => ("WARNINGS", None),
        };
        out.extend_from_slice(name.as_bytes());
        if let Some(argument) = argument {
            out.push(b' ');
            write_string(out, argument.as_bytes());
        }
    }
}

/// A response that ends a command (or the session, `BYE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub code: Option<Code>,
    pub text: String,
}

impl Response {
    pub fn ok(text: impl Into<String>) -> Response {
        Response::new(Status::Ok, text)
    }

    pub fn no(text: impl Into<String>) -> Response {
        Response::new(Status::No, text)
    }

    pub fn bye(text: impl Into<String>) -> Response {
        Response::new(Status::Bye, text)
    }

    fn new(status: Status, text: impl Into<String>) -> Response {
        Response {
            status,
            code: None,
            text: text.into(),
        }
    }

    /// The same response with a response code.
    pub fn code(self, code: Code) -> Response {
        Response {
            code: Some(code),
            ..self
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        write_response(out, self.status, self.code.as_ref(), &self.text);
    }
}

/// Writes `status`, then the code and the text if any, and CRLF.
pub fn write_response(out: &mut Vec<u8>, status: Status, code: Option<&Code>, text: &str) {
    out.extend_from_slice(match status {
        Status::Ok => b"OK",
        Status::No => b"NO",
        Status::Bye => b"BYE",
    });
    if let Some(code) = code {
        out.extend_from_slice(b" (");
        code.write(out);
        out.push(b')');
    }
    if !text.is_empty() {
        out.push(b' ');
        write_string(out, text.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a string: quoted if it is short text with no line end or NUL,
/// else a literal.
pub fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let quotable = bytes.len() <= 1024
        && std::str::from_utf8(bytes).is_ok()
        && !bytes.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0));
    if quotable {
        out.push(b'"');
        for &byte in bytes {
            if matches!(byte, b'"' | b'\\') {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
        out.extend_from_slice(bytes);
    }
}

/// What CAPABILITY (and the greeting) announce.
pub struct Capabilities<'a> {
    pub implementation: &'a str,
    /// SASL mechanisms offered now (none before TLS where it is required).
    pub sasl: &'a [&'a str],
    /// The Sieve extensions scripts may require.
    pub sieve: &'a [&'a str],
    /// Whether STARTTLS is offered (not once TLS is on).
    pub starttls: bool,
    pub max_redirects: u32,
    /// The logged-in user, after authentication.
    pub owner: Option<&'a str>,
}

/// Writes the capability lines (RFC 5804 section 1.7), without the OK
/// that follows.
pub fn write_capabilities(out: &mut Vec<u8>, capabilities: &Capabilities) {
    let mut line = |name: &str, value: Option<&str>| {
        write_string(out, name.as_bytes());
        if let Some(value) = value {
            out.push(b' ');
            write_string(out, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    };
    line("IMPLEMENTATION", Some(capabilities.implementation));
    line("SASL", Some(&capabilities.sasl.join(" ")));
    line("SIEVE", Some(&capabilities.sieve.join(" ")));
    if capabilities.starttls {
        line("STARTTLS", None);
    }
    line(
        "MAXREDIRECTS",
        Some(&capabilities.max_redirects.to_string()),
    );
    if let Some(owner) = capabilities.owner {
        line("OWNER", Some(owner));
    }
    line("VERSION", Some("1.0"));
}

/// Writes a string on a line of its own: GETSCRIPT's script, a SASL
/// challenge.
pub fn write_string_line(out: &mut Vec<u8>, bytes: &[u8]) {
    write_string(out, bytes);
    out.extend_from_slice(b"\r\n");
}

/// Writes LISTSCRIPTS' lines: each name, the active one marked.
pub fn write_script_list<'a>(
    out: &mut Vec<u8>,
    scripts: impl IntoIterator<Item = (&'a str, bool)>,
) {
    for (name, active) in scripts {
        write_string(out, name.as_bytes());
        if active {
            out.extend_from_slice(b" ACTIVE");
        }
        out.extend_from_slice(b"\r\n");
    }
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
    fn responses_carry_their_code_and_text() {
        assert_eq!(text(|o| write_response(o, Status::Ok, None, "")), "OK\r\n");
        assert_eq!(
            text(|o| write_response(
                o,
                Status::No,
                Some(&Code::Nonexistent),
                "no \"such\" script"
            )),
            "NO (NONEXISTENT) \"no \\\"such\\\" script\"\r\n"
        );
        assert_eq!(
            text(|o| write_response(o, Status::Ok, Some(&Code::Tag("sync 1".into())), "Done")),
            "OK (TAG \"sync 1\") \"Done\"\r\n"
        );
        assert_eq!(
            text(|o| write_response(o, Status::No, None, "line 3: error\r\nline 5: error")),
            "NO {28}\r\nline 3: error\r\nline 5: error\r\n"
        );
        assert_eq!(
            text(|o| write_response(o, Status::Bye, Some(&Code::TryLater), "")),
            "BYE (TRYLATER)\r\n"
        );
        assert_eq!(
            text(|o| Response::no("Over quota").code(Code::Quota).write(o)),
            "NO (QUOTA) \"Over quota\"\r\n"
        );
        assert_eq!(
            text(|o| write_string_line(o, b"keep;\r\n")),
            "{7}\r\nkeep;\r\n\r\n"
        );
    }

    #[test]
    fn capabilities_and_lists_are_lines_of_strings() {
        let capabilities = Capabilities {
            implementation: "Postino",
            sasl: &["PLAIN"],
            sieve: &["fileinto", "vacation"],
            starttls: true,
            max_redirects: 4,
            owner: None,
        };
        assert_eq!(
            text(|o| write_capabilities(o, &capabilities)),
            "\"IMPLEMENTATION\" \"Postino\"\r\n\"SASL\" \"PLAIN\"\r\n\
             \"SIEVE\" \"fileinto vacation\"\r\n\"STARTTLS\"\r\n\
             \"MAXREDIRECTS\" \"4\"\r\n\"VERSION\" \"1.0\"\r\n"
        );
        assert_eq!(
            text(|o| write_script_list(o, [("ferie", true), ("filtri", false)])),
            "\"ferie\" ACTIVE\r\n\"filtri\"\r\n"
        );
    }
}

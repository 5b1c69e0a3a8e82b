//! SMTP commands (RFC 5321 §4.1) and the parameters of the extensions we
//! offer: SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN
//! (RFC 3461), CHUNKING (RFC 3030) and AUTH (RFC 4954).
//!
//! MAIL and RCPT syntax, and the argument-less commands, are checked with
//! `smtp-codec`. It knows neither BDAT nor UTF-8 addresses, and does not
//! expose parameter values, so: BDAT and AUTH are parsed here; a UTF-8 path
//! is checked by smtp-codec with each non-ASCII byte stood in for by an
//! ASCII letter (which keeps every offset) and then read from the original
//! line; parameters are read here once smtp-codec accepted their syntax.

use smtp_codec::parse::command as codec;

/// The longest ENVID, in characters (RFC 3461 §4.4).
const MAX_ENVID: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Mail(MailFrom),
    Rcpt(RcptTo),
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    StartTls,
    Vrfy,
    Expn,
    Help,
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
}

/// The BODY parameter of MAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailFrom {
    /// The reverse path without brackets; empty for the null sender `<>`.
    pub path: String,
    pub size: Option<u64>,
    pub body: Option<Body>,
    pub smtputf8: bool,
    /// DSN RET: `FULL` or `HDRS`.
    pub ret: Option<String>,
    /// DSN ENVID, as given (xtext).
    pub envid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptTo {
    /// The forward path without brackets or source route.
    pub path: String,
    /// DSN NOTIFY: `NEVER` or a list of `SUCCESS`, `FAILURE`, `DELAY`.
    pub notify: Option<String>,
    /// DSN ORCPT: `addr-type;xtext`, as given.
    pub orcpt: Option<String>,
}

/// Why a command line was refused; each maps to one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// Not a command we know: 500 5.5.1.
    UnknownCommand,
    /// A known command with bad arguments: 501 5.5.2, naming the command.
    Arguments(&'static str),
    /// A parameter we do not offer: 555 5.5.4.
    UnknownParameter(String),
    /// A parameter with a bad value: 501 5.5.4.
    BadParameter(String),
    /// A path that is not valid UTF-8: 501 5.6.7 (RFC 6531 §3.6).
    NotUtf8,
}

/// Parses one command line, without its CRLF.
pub fn parse(line: &[u8]) -> Result<Command, SyntaxError> {
    let verb_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let verb = line[..verb_end].to_ascii_uppercase();
    let rest = &line[verb_end..];
    let argument = || String::from_utf8_lossy(rest).trim().to_string();
    let exact = |name: &'static str, command: Command| {
        if rest.is_empty() {
            Ok(command)
        } else {
            Err(SyntaxError::Arguments(name))
        }
    };
    match verb.as_slice() {
        b"EHLO" | b"HELO" => {
            let domain = argument();
            if domain.is_empty() || domain.len() > 255 || domain.contains(char::is_control) {
                return Err(SyntaxError::Arguments(if verb == b"EHLO" {
                    "EHLO"
                } else {
                    "HELO"
                }));
            }
            Ok(if verb == b"EHLO" {
                Command::Ehlo(domain)
            } else {
                Command::Helo(domain)
            })
        }
        b"MAIL" => mail(line),
        b"RCPT" => rcpt(line),
        b"DATA" => exact("DATA", Command::Data),
        b"RSET" => exact("RSET", Command::Rset),
        b"QUIT" => exact("QUIT", Command::Quit),
        b"STARTTLS" => exact("STARTTLS", Command::StartTls),
        // Arguments are allowed and ignored (RFC 5321 §4.1.1.9 and others).
        b"NOOP" => Ok(Command::Noop),
        b"HELP" => Ok(Command::Help),
        // VRFY needs its string (RFC 5321 §4.1.1.6); what it says is not used.
        b"VRFY" if argument().is_empty() => Err(SyntaxError::Arguments("VRFY")),
        b"VRFY" => Ok(Command::Vrfy),
        b"EXPN" => Ok(Command::Expn),
        b"BDAT" => bdat(rest),
        b"AUTH" => auth(rest),
        _ => Err(SyntaxError::UnknownCommand),
    }
}

/// The line with its CRLF back and non-ASCII bytes replaced by `a`, for
/// smtp-codec. Offsets into it are offsets into the original line.
fn for_codec(line: &[u8]) -> Vec<u8> {
    let mut ascii: Vec<u8> = line
        .iter()
        .map(|&b| if b.is_ascii() { b } else { b'a' })
        .collect();
    ascii.extend_from_slice(b"\r\n");
    ascii
}

/// Checks a MAIL or RCPT line with smtp-codec's parser, and returns the path
/// (read from the original line) and the parameter text after it.
fn checked_path<'l>(
    line: &'l [u8],
    parser: fn(&[u8]) -> nom::IResult<&[u8], smtp_codec::types::Command>,
    name: &'static str,
) -> Result<(String, &'l [u8]), SyntaxError> {
    let ascii = for_codec(line);
    match parser(&ascii) {
        Ok((&[], _)) => {}
        _ => return Err(SyntaxError::Arguments(name)),
    }
    // smtp-codec accepted the line, so the path is the first `<…>`, where a
    // `>` may only appear inside a quoted local part.
    let open = line
        .iter()
        .position(|&b| b == b'<')
        .ok_or(SyntaxError::Arguments(name))?;
    let close = path_end(line, open).ok_or(SyntaxError::Arguments(name))?;
    let path = std::str::from_utf8(&line[open + 1..close]).map_err(|_| SyntaxError::NotUtf8)?;
    // Drop a source route, `@a,@b:user@example.org` (RFC 5321 §4.1.2).
    let path = match path.strip_prefix('@') {
        Some(route) => route.split_once(':').map_or(path, |(_, mailbox)| mailbox),
        None => path,
    };
    Ok((path.to_string(), &line[close + 1..]))
}

/// The index of the `>` closing the path opened at `open`, skipping quoted
/// strings and their backslash escapes.
fn path_end(line: &[u8], open: usize) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in line.iter().enumerate().skip(open + 1) {
        match (quoted, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, false, b'"') => quoted = !quoted,
            (false, _, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The `KEYWORD[=value]` parameters after a path, keywords uppercased.
fn parameters(text: &[u8]) -> Result<Vec<(String, Option<String>)>, SyntaxError> {
    let text = std::str::from_utf8(text).map_err(|_| SyntaxError::NotUtf8)?;
    Ok(text
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_ascii_uppercase(), Some(v.to_string())),
            None => (p.to_ascii_uppercase(), None),
        })
        .collect())
}

fn mail(line: &[u8]) -> Result<Command, SyntaxError> {
    let (path, params) = checked_path(line, codec::mail, "MAIL")?;
    let mut mail = MailFrom {
        path,
        ..MailFrom::default()
    };
    for (keyword, value) in parameters(params)? {
        let bad = || SyntaxError::BadParameter(keyword.clone());
        match (keyword.as_str(), value.as_deref()) {
            ("SIZE", Some(v)) => mail.size = Some(v.parse().map_err(|_| bad())?),
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => mail.body = Some(Body::SevenBit),
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {
                mail.body = Some(Body::EightBitMime)
            }
            ("SMTPUTF8", None) => mail.smtputf8 = true,
            ("RET", Some(v))
                if v.eq_ignore_ascii_case("FULL") || v.eq_ignore_ascii_case("HDRS") =>
            {
                mail.ret = Some(v.to_ascii_uppercase())
            }
            ("ENVID", Some(v)) if is_xtext(v) && v.len() <= MAX_ENVID => {
                mail.envid = Some(v.to_string())
            }
            // RFC 4954 §5: the authenticated sender of a relayed message.
            // We record our own, so it is accepted and not used.
            ("AUTH", Some(_)) => {}
            ("SIZE" | "BODY" | "SMTPUTF8" | "RET" | "ENVID" | "AUTH", _) => return Err(bad()),
            _ => return Err(SyntaxError::UnknownParameter(keyword)),
        }
    }
    Ok(Command::Mail(mail))
}

fn rcpt(line: &[u8]) -> Result<Command, SyntaxError> {
    let (path, params) = checked_path(line, codec::rcpt, "RCPT")?;
    let mut rcpt = RcptTo {
        path,
        ..RcptTo::default()
    };
    for (keyword, value) in parameters(params)? {
        let bad = || SyntaxError::BadParameter(keyword.clone());
        match (keyword.as_str(), value.as_deref()) {
            ("NOTIFY", Some(v)) if is_notify(v) => rcpt.notify = Some(v.to_ascii_uppercase()),
            ("ORCPT", Some(v))
                if v.split_once(';')
                    .is_some_and(|(t, a)| !t.is_empty() && is_xtext(a)) =>
            {
                rcpt.orcpt = Some(v.to_string())
            }
            ("NOTIFY" | "ORCPT", _) => return Err(bad()),
            _ => return Err(SyntaxError::UnknownParameter(keyword)),
        }
    }
    Ok(Command::Rcpt(rcpt))
}

/// `NEVER`, or a comma list of `SUCCESS`, `FAILURE`, `DELAY` (RFC 3461 §4.1).
fn is_notify(value: &str) -> bool {
    let value = value.to_ascii_uppercase();
    value == "NEVER"
        || value
            .split(',')
            .all(|v| matches!(v, "SUCCESS" | "FAILURE" | "DELAY"))
}

/// xtext (RFC 3461 §4): printable ASCII but `+` and `=`, and `+XX` escapes.
fn is_xtext(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = bytes.get(i + 1..i + 3);
                if !hex.is_some_and(|h| {
                    h.iter()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
                }) {
                    return false;
                }
                i += 3;
            }
            b'!'..=b'~' if bytes[i] != b'=' => i += 1,
            _ => return false,
        }
    }
    true
}

/// `BDAT <size> [LAST]` (RFC 3030 §2).
fn bdat(rest: &[u8]) -> Result<Command, SyntaxError> {
    let text = std::str::from_utf8(rest).map_err(|_| SyntaxError::Arguments("BDAT"))?;
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|w| w.parse().ok())
        .ok_or(SyntaxError::Arguments("BDAT"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(SyntaxError::Arguments("BDAT")),
    };
    if words.next().is_some() {
        return Err(SyntaxError::Arguments("BDAT"));
    }
    Ok(Command::Bdat { size, last })
}

/// `AUTH <mechanism> [initial-response]` (RFC 4954 §4).
fn auth(rest: &[u8]) -> Result<Command, SyntaxError> {
    let text = std::str::from_utf8(rest).map_err(|_| SyntaxError::Arguments("AUTH"))?;
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let mechanism = words
        .next()
        .ok_or(SyntaxError::Arguments("AUTH"))?
        .to_ascii_uppercase();
    let initial = words.next().map(str::to_string);
    if words.next().is_some() {
        return Err(SyntaxError::Arguments("AUTH"));
    }
    Ok(Command::Auth { mechanism, initial })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail_from(line: &str) -> MailFrom {
        match parse(line.as_bytes()) {
            Ok(Command::Mail(mail)) => mail,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn simple_commands() {
        assert_eq!(
            parse(b"ehlo client.example.org"),
            Ok(Command::Ehlo("client.example.org".into()))
        );
        assert_eq!(
            parse(b"HELO [192.0.2.1]"),
            Ok(Command::Helo("[192.0.2.1]".into()))
        );
        assert_eq!(parse(b"DATA"), Ok(Command::Data));
        assert_eq!(parse(b"quit"), Ok(Command::Quit));
        assert_eq!(parse(b"NOOP anything at all"), Ok(Command::Noop));
        assert_eq!(parse(b"DATA now"), Err(SyntaxError::Arguments("DATA")));
        assert_eq!(parse(b"EHLO"), Err(SyntaxError::Arguments("EHLO")));
        assert_eq!(parse(b"FROB x"), Err(SyntaxError::UnknownCommand));
        assert_eq!(parse(b""), Err(SyntaxError::UnknownCommand));
    }

    #[test]
    fn mail_with_parameters() {
        let mail = mail_from(
            "MAIL FROM:<Anna@Example.org> SIZE=1000 BODY=8BITMIME RET=hdrs ENVID=QQ+2B314",
        );
        assert_eq!(mail.path, "Anna@Example.org");
        assert_eq!(mail.size, Some(1000));
        assert_eq!(mail.body, Some(Body::EightBitMime));
        assert_eq!(mail.ret.as_deref(), Some("HDRS"));
        assert_eq!(mail.envid.as_deref(), Some("QQ+2B314"));
        assert_eq!(mail_from("MAIL FROM:<>").path, "");
        // Outlook's space after the colon.
        assert_eq!(
            mail_from("MAIL FROM: <a@example.org>").path,
            "a@example.org"
        );
        assert_eq!(
            mail_from("MAIL FROM:<@relay.example,@b.example:a@example.org>").path,
            "a@example.org"
        );
    }

    #[test]
    fn utf8_paths() {
        let mail = mail_from("MAIL FROM:<niccolò@città.example.it> SMTPUTF8");
        assert_eq!(mail.path, "niccolò@città.example.it");
        assert!(mail.smtputf8);
        assert_eq!(
            parse(b"MAIL FROM:<\xff@example.org>"),
            Err(SyntaxError::NotUtf8)
        );
    }

    #[test]
    fn rcpt_with_dsn() {
        let line = b"RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40example.org";
        match parse(line) {
            Ok(Command::Rcpt(rcpt)) => {
                assert_eq!(rcpt.path, "b@example.org");
                assert_eq!(rcpt.notify.as_deref(), Some("SUCCESS,FAILURE"));
                assert_eq!(rcpt.orcpt.as_deref(), Some("rfc822;b+40example.org"));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(parse(b"RCPT TO:<Postmaster>"), Ok(Command::Rcpt(r)) if r.path == "Postmaster")
        );
        let quoted = br#"RCPT TO:<"a>b"@example.org> ORCPT=rfc822;x>y"#;
        assert!(matches!(parse(quoted), Ok(Command::Rcpt(r)) if r.path == "\"a>b\"@example.org"));
    }

    #[test]
    fn bad_mail_and_rcpt() {
        for line in [
            "MAIL FROM:a@example.org",
            "MAIL TO:<a@example.org>",
            "MAIL FROM:<a@>",
            "RCPT TO:<>",
            "RCPT TO:<a b@x.org>",
        ] {
            assert!(
                matches!(parse(line.as_bytes()), Err(SyntaxError::Arguments(_))),
                "{line}"
            );
        }
        assert_eq!(
            parse(b"MAIL FROM:<a@example.org> SIZE=big"),
            Err(SyntaxError::BadParameter("SIZE".into()))
        );
        assert_eq!(
            parse(b"MAIL FROM:<a@example.org> FROB=1"),
            Err(SyntaxError::UnknownParameter("FROB".into()))
        );
        assert_eq!(
            parse(b"RCPT TO:<a@example.org> NOTIFY=SOMETIMES"),
            Err(SyntaxError::BadParameter("NOTIFY".into()))
        );
        assert_eq!(
            parse(b"MAIL FROM:<a@example.org> BODY=BINARYMIME"),
            Err(SyntaxError::BadParameter("BODY".into()))
        );
    }

    #[test]
    fn bdat_and_auth() {
        assert_eq!(
            parse(b"BDAT 1000"),
            Ok(Command::Bdat {
                size: 1000,
                last: false
            })
        );
        assert_eq!(
            parse(b"bdat 0 last"),
            Ok(Command::Bdat {
                size: 0,
                last: true
            })
        );
        for bad in [
            "BDAT",
            "BDAT -1",
            "BDAT 10 FIRST",
            "BDAT 10 LAST x",
            "BDAT 99999999999999999999999",
        ] {
            assert_eq!(
                parse(bad.as_bytes()),
                Err(SyntaxError::Arguments("BDAT")),
                "{bad}"
            );
        }
        assert_eq!(
            parse(b"AUTH plain AGFAYg=="),
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGFAYg==".into())
            })
        );
        assert_eq!(parse(b"AUTH"), Err(SyntaxError::Arguments("AUTH")));
    }

    #[test]
    fn xtext() {
        assert!(is_xtext("abc+2Bdef"));
        assert!(!is_xtext("a=b"));
        assert!(!is_xtext("a+2"));
        assert!(!is_xtext("a+zz"));
        assert!(!is_xtext("a b"));
    }
}

//! One connection to a source IMAP server: in cleartext, implicit TLS or
//! STARTTLS (RFC 9051 §6.2.1). It knows lines and literals, not what the
//! responses mean: a command's untagged responses come back whole, each
//! with the literals it announced inside it, and its tagged status decides
//! between `Ok` and [`SourceError::Refused`].
//!
//! Every read is bounded in time and size; a server that sends more than
//! [`MAX_LITERAL`] in one literal (larger than any message we accept) or a
//! line longer than [`MAX_LINE`] is dropped.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use postino_common::auth::Secret;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// Longest line of a response, literals apart.
const MAX_LINE: u64 = 1 << 20;
/// Largest literal: a message this large is not worth moving by IMAP.
const MAX_LITERAL: usize = 256 << 20;
/// How long connecting, and each response, may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// How to reach the source server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 993).
    Tls,
    /// Cleartext, then STARTTLS before logging in (port 143).
    StartTls,
    /// Cleartext throughout: for a server on loopback or a trusted network.
    Plain,
}

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("TLS with {addr} failed: {source}")]
    Tls {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("the source server does not offer STARTTLS")]
    NoStartTls,
    #[error("connection to the source server lost: {0}")]
    Io(#[from] io::Error),
    #[error("the source server did not answer within {TIMEOUT:?}")]
    Timeout,
    #[error("the source server closed the connection")]
    Closed,
    #[error("the source server sent a line or literal over the limit")]
    TooLarge,
    #[error("the source server refused {command}: {text}")]
    Refused { command: String, text: String },
    #[error("the source server sent a response we cannot read: {0}")]
    Unreadable(String),
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub struct Connection {
    reader: BufReader<Box<dyn Io>>,
    next_tag: u32,
}

/// TLS that checks the server's certificate against the system's roots
/// (`/etc/ssl/certs` on Debian).
fn connector() -> Result<TlsConnector, io::Error> {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn within<T>(work: impl Future<Output = Result<T, SourceError>>) -> Result<T, SourceError> {
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| SourceError::Timeout)?
}

impl Connection {
    /// Connects to `host:port` and reads the greeting; with STARTTLS, the
    /// switch to TLS is made before returning.
    pub async fn open(
        host: &str,
        port: u16,
        security: Security,
    ) -> Result<Connection, SourceError> {
        let addr = format!("{host}:{port}");
        let tcp = within(async {
            TcpStream::connect((host, port))
                .await
                .map_err(|source| SourceError::Connect {
                    addr: addr.clone(),
                    source,
                })
        })
        .await?;
        let tls = |addr: &str| {
            let addr = addr.to_string();
            move |source: io::Error| SourceError::Tls { addr, source }
        };
        let name = ServerName::try_from(host.to_string())
            .map_err(|err| tls(&addr)(io::Error::other(err)))?;
        let stream: Box<dyn Io> = match security {
            Security::Tls => {
                let connector = connector().map_err(tls(&addr))?;
                Box::new(
                    within(async {
                        connector
                            .connect(name.clone(), tcp)
                            .await
                            .map_err(tls(&addr))
                    })
                    .await?,
                )
            }
            Security::StartTls | Security::Plain => Box::new(tcp),
        };
        let mut connection = Connection {
            reader: BufReader::new(stream),
            next_tag: 1,
        };
        connection.read_response().await?;
        if security == Security::StartTls {
            let capabilities = connection.run("CAPABILITY").await?;
            let offered = capabilities
                .iter()
                .any(|line| contains_word(line, b"STARTTLS"));
            if !offered {
                return Err(SourceError::NoStartTls);
            }
            connection.run("STARTTLS").await?;
            let plain = connection.reader.into_inner();
            let connector = connector().map_err(tls(&addr))?;
            let secured =
                within(async { connector.connect(name, plain).await.map_err(tls(&addr)) }).await?;
            connection = Connection {
                reader: BufReader::new(Box::new(secured)),
                next_tag: connection.next_tag,
            };
        }
        Ok(connection)
    }

    /// Logs in as `user`; the password goes as a literal when a quoted
    /// string cannot carry it.
    pub async fn login(&mut self, user: &str, password: &Secret) -> Result<(), SourceError> {
        let tag = self.tag();
        let mut line = format!("{tag} LOGIN {} ", quoted(user));
        let password = password.expose();
        match quotable(password) {
            true => {
                line.push_str(&quoted(password));
                line.push_str("\r\n");
                self.send(line.as_bytes()).await?;
            }
            false => {
                line.push_str(&format!("{{{}}}\r\n", password.len()));
                self.send(line.as_bytes()).await?;
                let go_on = self.read_response().await?;
                if !go_on.starts_with(b"+") {
                    return Err(refusal("LOGIN", &go_on));
                }
                self.send(format!("{password}\r\n").as_bytes()).await?;
            }
        }
        self.finish(&tag, "LOGIN").await.map(drop)
    }

    /// Runs `command` (without its tag) and returns its untagged
    /// responses, or why the server refused it.
    pub async fn run(&mut self, command: &str) -> Result<Vec<Vec<u8>>, SourceError> {
        let tag = self.tag();
        self.send(format!("{tag} {command}\r\n").as_bytes()).await?;
        let verb = command.split(' ').take(2).collect::<Vec<_>>().join(" ");
        self.finish(&tag, &verb).await
    }

    /// Says LOGOUT and waits for the answer, briefly: nothing depends on it.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.run("LOGOUT")).await;
    }

    fn tag(&mut self) -> String {
        let tag = format!("m{}", self.next_tag);
        self.next_tag += 1;
        tag
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), SourceError> {
        let stream = self.reader.get_mut();
        within(async {
            stream.write_all(bytes).await?;
            stream.flush().await?;
            Ok::<_, SourceError>(())
        })
        .await
    }

    /// Reads responses up to the one tagged `tag`.
    async fn finish(&mut self, tag: &str, verb: &str) -> Result<Vec<Vec<u8>>, SourceError> {
        let mut untagged = Vec::new();
        loop {
            let response = self.read_response().await?;
            let Some(status) = response
                .strip_prefix(tag.as_bytes())
                .and_then(|rest| rest.strip_prefix(b" "))
            else {
                untagged.push(response);
                continue;
            };
            return match status.get(..3) {
                Some(b"OK ") | Some(b"OK\r") => Ok(untagged),
                _ => Err(refusal(verb, status)),
            };
        }
    }

    /// One whole response: a line, and after each literal it announces,
    /// the literal and the rest of the line.
    async fn read_response(&mut self) -> Result<Vec<u8>, SourceError> {
        let reader = &mut self.reader;
        within(async {
            let mut response = Vec::new();
            loop {
                let start = response.len();
                let read = (&mut *reader)
                    .take(MAX_LINE)
                    .read_until(b'\n', &mut response)
                    .await?;
                if read == 0 {
                    return Err(SourceError::Closed);
                }
                if !response.ends_with(b"\n") {
                    return Err(SourceError::TooLarge);
                }
                let Some(length) = literal_length(&response[start..]) else {
                    return Ok(response);
                };
                if length > MAX_LITERAL {
                    return Err(SourceError::TooLarge);
                }
                let at = response.len();
                response.resize(at + length, 0);
                reader.read_exact(&mut response[at..]).await?;
            }
        })
        .await
    }
}

/// The refusal of `verb`, quoting the server's text (one line, bounded).
fn refusal(verb: &str, status: &[u8]) -> SourceError {
    let text = String::from_utf8_lossy(status);
    let text: String = text.trim_end().chars().take(200).collect();
    SourceError::Refused {
        command: verb.to_string(),
        text,
    }
}

/// The length of the literal a line ends by announcing (`{123}` before its
/// CRLF), if it does.
fn literal_length(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Whether a response line names `word` as a whole word (a capability).
fn contains_word(line: &[u8], word: &[u8]) -> bool {
    line.split(|&b| b == b' ' || b == b'\r' || b == b'\n' || b == b']')
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// Whether a quoted string can carry `text`: 7-bit, no line ends, no NUL.
fn quotable(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii() && b != b'\r' && b != b'\n' && b != 0)
}

/// `text` as an IMAP quoted string; only for [`quotable`] text.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_found_at_the_end_of_a_line_only() {
        assert_eq!(literal_length(b"* 1 FETCH (BODY[] {1234}\r\n"), Some(1234));
        assert_eq!(literal_length(b"* 1 FETCH (BODY[] {0}\r\n"), Some(0));
        assert_eq!(literal_length(b"* OK {12} here\r\n"), None);
        assert_eq!(literal_length(b"* LIST () \"/\" {}\r\n"), None);
        assert_eq!(literal_length(b"* OK {1x}\r\n"), None);
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert!(quotable("pass word!"));
        assert!(!quotable("parolaè"));
    }

    #[test]
    fn capabilities_are_whole_words() {
        assert!(contains_word(
            b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n",
            b"STARTTLS"
        ));
        assert!(!contains_word(
            b"* CAPABILITY IMAP4rev1 XSTARTTLS\r\n",
            b"STARTTLS"
        ));
    }
}

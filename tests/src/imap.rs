//! What the IMAP end-to-end tests (`tests/imap_*.rs`) share: a client that
//! speaks raw IMAP, a site whose mailboxes may log in without TLS, and ways
//! to put messages into a mailbox.
//!
//! - [`ImapClient`] sends tagged commands and reads whole responses
//!   ([`Response`]); literals the server sends (`{n}` and BINARY's `~{n}`)
//!   stay inside the line that announced them, so a `FETCH BODY[]` answer is
//!   one string. Synchronizing literals in a command wait for the server's
//!   `+`, as RFC 9051 §4.3 asks of a client.
//! - TLS goes through `openssl s_client` ([`ImapClient::connect_tls`],
//!   [`ImapClient::starttls`]): the tests crate has no TLS library of its
//!   own, and the server's certificate is self-signed, which `s_client`
//!   reports and accepts.
//! - [`imap_site`] sets up a configuration with [`crate::smtp::site`] and
//!   `allow_plaintext_auth`; [`login`] connects and logs in; [`deliver`]
//!   sends a message through the MX listener and [`append`] stores one with
//!   APPEND.
//!
//! Every read is bounded by [`READ_LIMIT`] unless the caller gives a limit.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::dns::DnsStub;
use crate::smtp::{PASSWORD, data, envelope, greeted, site};
use crate::{READ_LIMIT, TestConfig};

/// The sender of the messages [`deliver`] sends from outside.
pub const OUTSIDE_SENDER: &str = "mittente@esterno.example";

/// One command's answer: what came before the tagged line, and that line.
#[derive(Debug, Clone)]
pub struct Response {
    pub tag: String,
    /// Untagged responses and continuation requests, in order, each with
    /// its literals inside.
    pub untagged: Vec<String>,
    pub tagged: String,
}

impl Response {
    /// `OK`, `NO` or `BAD`: the word after the tag.
    pub fn status(&self) -> &str {
        self.tagged
            .get(self.tag.len() + 1..)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("")
    }

    /// The response code of the tagged line, without its brackets.
    pub fn code(&self) -> Option<&str> {
        let rest = self
            .tagged
            .get(self.tag.len() + 1 + self.status().len()..)?;
        let rest = rest.strip_prefix(" [")?;
        rest.find(']').map(|end| &rest[..end])
    }

    #[track_caller]
    fn expect(&self, status: &str, code: Option<&str>) -> &Response {
        let code_matches = code.is_none_or(|wanted| {
            self.code()
                .is_some_and(|got| got == wanted || got.starts_with(&format!("{wanted} ")))
        });
        assert!(
            self.status() == status && code_matches,
            "expected {status}{} to `{}`, got {self:#?}",
            code.map(|c| format!(" [{c}]")).unwrap_or_default(),
            self.tag
        );
        self
    }

    /// Asserts a tagged OK.
    #[track_caller]
    pub fn ok(&self) -> &Response {
        self.expect("OK", None)
    }

    /// Asserts a tagged OK with a response code starting with `code`.
    #[track_caller]
    pub fn ok_with(&self, code: &str) -> &Response {
        self.expect("OK", Some(code))
    }

    /// Asserts a tagged NO with a response code starting with `code`.
    #[track_caller]
    pub fn no(&self, code: &str) -> &Response {
        self.expect("NO", Some(code))
    }

    /// Asserts a tagged NO, whatever its code.
    #[track_caller]
    pub fn no_any(&self) -> &Response {
        self.expect("NO", None)
    }

    /// Asserts a tagged BAD.
    #[track_caller]
    pub fn bad(&self) -> &Response {
        self.expect("BAD", None)
    }

    /// Untagged lines starting with `prefix`.
    pub fn lines(&self, prefix: &str) -> Vec<&str> {
        self.untagged
            .iter()
            .filter(|line| line.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }

    /// The one untagged line starting with `prefix`.
    #[track_caller]
    pub fn line(&self, prefix: &str) -> &str {
        match self.lines(prefix).as_slice() {
            [one] => one,
            many => panic!(
                "{} lines start with {prefix:?}, not one: {self:#?}",
                many.len()
            ),
        }
    }

    /// Whether an untagged line is exactly `line`.
    pub fn has(&self, line: &str) -> bool {
        self.untagged.iter().any(|l| l == line)
    }

    /// Asserts an untagged line is exactly `line`.
    #[track_caller]
    pub fn assert_has(&self, line: &str) -> &Response {
        assert!(self.has(line), "no untagged {line:?} in {self:#?}");
        self
    }

    /// Asserts no untagged line starts with `prefix`.
    #[track_caller]
    pub fn assert_none(&self, prefix: &str) -> &Response {
        assert!(
            self.lines(prefix).is_empty(),
            "unexpected untagged {prefix:?} in {self:#?}"
        );
        self
    }

    /// The numbers of the `* SEARCH` response (one is required).
    #[track_caller]
    pub fn search(&self) -> Vec<u32> {
        let line = self.line("* SEARCH");
        let rest = line["* SEARCH".len()..].trim();
        // A trailing (MODSEQ n) is not a message number (RFC 7162 §3.1.5).
        let rest = rest.split(" (").next().unwrap_or("");
        rest.split_whitespace()
            .map(|n| {
                n.parse()
                    .unwrap_or_else(|_| panic!("bad number in {line:?}"))
            })
            .collect()
    }
}

/// A client of the IMAP server: the reading and writing halves of a TCP
/// connection, or the pipes of an `openssl s_client` holding a TLS one.
pub struct ImapClient {
    reader: Box<dyn AsyncRead + Unpin + Send>,
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    /// Bytes read and not yet returned as a line: reading stays cancel-safe.
    pending: Vec<u8>,
    next_tag: u32,
    /// The greeting, when the client read it (`s_client -starttls` eats it).
    pub greeting: String,
    /// The `openssl s_client` process for TLS; killed on drop.
    _tls: Option<Child>,
}

impl ImapClient {
    /// Connects in cleartext and reads the greeting.
    pub async fn connect(addr: SocketAddr) -> ImapClient {
        let mut client = ImapClient::connect_quiet(addr).await;
        client.greeting = client.read_line().await;
        client
    }

    /// Connects in cleartext without reading anything.
    pub async fn connect_quiet(addr: SocketAddr) -> ImapClient {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to {addr}: {err}"));
        let (reader, writer) = stream.into_split();
        ImapClient::new(Box::new(reader), Box::new(writer), None)
    }

    /// Connects in cleartext and reads the greeting, reporting failures
    /// instead of panicking and waiting at most `limit` for each step: for
    /// benches, which count failures instead of stopping at the first.
    pub async fn try_connect(addr: SocketAddr, limit: Duration) -> Result<ImapClient, String> {
        let stream = tokio::time::timeout(limit, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("no connection to {addr} within {limit:?}"))?
            .map_err(|err| format!("cannot connect to {addr}: {err}"))?;
        // Each command goes out in one write and is answered before the
        // next: nothing to gain from Nagle's delay.
        stream
            .set_nodelay(true)
            .map_err(|err| format!("cannot set TCP_NODELAY: {err}"))?;
        let (reader, writer) = stream.into_split();
        let mut client = ImapClient::new(Box::new(reader), Box::new(writer), None);
        client.greeting = client.try_read_line(limit).await?;
        Ok(client)
    }

    /// Connects to an implicit-TLS listener and reads the greeting.
    pub async fn connect_tls(addr: SocketAddr) -> ImapClient {
        let mut client = ImapClient::s_client(addr, &[]);
        client.greeting = client.read_line().await;
        client
    }

    /// Connects to a STARTTLS listener and starts TLS: `s_client` reads the
    /// greeting, checks CAPABILITY and sends STARTTLS itself, so the client
    /// is past the handshake and has no greeting.
    pub async fn starttls(addr: SocketAddr) -> ImapClient {
        ImapClient::s_client(addr, &["-starttls", "imap"])
    }

    fn s_client(addr: SocketAddr, options: &[&str]) -> ImapClient {
        let mut child = Command::new("openssl")
            .args(["s_client", "-quiet", "-nocommands", "-connect"])
            .arg(addr.to_string())
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run openssl (is it installed?): {err}"));
        let reader = child.stdout.take().expect("piped stdout");
        let writer = child.stdin.take().expect("piped stdin");
        ImapClient::new(Box::new(reader), Box::new(writer), Some(child))
    }

    fn new(
        reader: Box<dyn AsyncRead + Unpin + Send>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
        tls: Option<Child>,
    ) -> ImapClient {
        ImapClient {
            reader,
            writer,
            pending: Vec::new(),
            next_tag: 1,
            greeting: String::new(),
            _tls: tls,
        }
    }

    /// The tag the next [`ImapClient::command`] uses, taken now: for
    /// commands sent by hand.
    pub fn tag(&mut self) -> String {
        let tag = format!("a{}", self.next_tag);
        self.next_tag += 1;
        tag
    }

    /// Sends `TAG COMMAND` and reads up to the tagged response. Synchronizing
    /// literals (`{n}` at the end of a line) wait for a `+`; a tagged answer
    /// instead ends the command there.
    pub async fn command(&mut self, command: &str) -> Response {
        self.command_bytes(command.as_bytes()).await
    }

    /// [`ImapClient::command`] for commands that are not UTF-8.
    pub async fn command_bytes(&mut self, command: &[u8]) -> Response {
        let tag = self.tag();
        let mut bytes = format!("{tag} ").into_bytes();
        bytes.extend_from_slice(command);
        bytes.extend_from_slice(b"\r\n");
        let mut untagged = Vec::new();
        let mut sent = 0;
        let mut scan = 0;
        while let Some((line_end, length)) = next_sync_literal(&bytes, scan) {
            self.send_raw(&bytes[sent..line_end]).await;
            sent = line_end;
            scan = line_end + length;
            loop {
                let line = self.read_line().await;
                if line.starts_with('+') {
                    break;
                }
                if is_tagged(&line, &tag) {
                    return Response {
                        tag,
                        untagged,
                        tagged: line,
                    };
                }
                untagged.push(line);
            }
        }
        self.send_raw(&bytes[sent..]).await;
        self.read_response(&tag, untagged).await
    }

    /// [`ImapClient::command_bytes`] for benches: a failure to write, a
    /// line taking longer than `limit` or the connection closing is
    /// returned, described, instead of panicking. The command goes out in
    /// one write, so its literals must be non-synchronizing (`{n+}`,
    /// LITERAL+). Whatever the tagged status, the response is returned.
    pub async fn try_command(
        &mut self,
        command: &[u8],
        limit: Duration,
    ) -> Result<Response, String> {
        let tag = self.tag();
        let mut bytes = Vec::with_capacity(tag.len() + command.len() + 3);
        bytes.extend_from_slice(tag.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(command);
        bytes.extend_from_slice(b"\r\n");
        self.try_send_raw(&bytes)
            .await
            .map_err(|err| format!("cannot write to the server: {err}"))?;
        let mut untagged = Vec::new();
        loop {
            let line = self.try_read_line(limit).await?;
            if is_tagged(&line, &tag) {
                return Ok(Response {
                    tag,
                    untagged,
                    tagged: line,
                });
            }
            untagged.push(line);
        }
    }

    /// The next response line, or what kept it from coming within `limit`.
    async fn try_read_line(&mut self, limit: Duration) -> Result<String, String> {
        match tokio::time::timeout(limit, self.next_line()).await {
            Err(_) => Err(format!("no response line within {limit:?}")),
            Ok(Err(err)) => Err(format!("cannot read from the server: {err}")),
            Ok(Ok(None)) => Err("the server closed the connection".to_string()),
            Ok(Ok(Some(line))) => Ok(line),
        }
    }

    /// Reads lines up to the one tagged `tag`.
    pub async fn read_response(&mut self, tag: &str, mut untagged: Vec<String>) -> Response {
        loop {
            let line = self.read_line().await;
            if is_tagged(&line, tag) {
                return Response {
                    tag: tag.to_string(),
                    untagged,
                    tagged: line,
                };
            }
            untagged.push(line);
        }
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer
            .write_all(bytes)
            .await
            .expect("write to the server");
        self.writer.flush().await.expect("write to the server");
    }

    /// Sends one line, adding CRLF.
    pub async fn send_line(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Like [`ImapClient::send_raw`], but reports a connection the server
    /// already closed instead of panicking.
    pub async fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes).await?;
        self.writer.flush().await
    }

    /// The next response line without its CRLF, literals inside; panics at
    /// the end of the stream or after [`READ_LIMIT`].
    pub async fn read_line(&mut self) -> String {
        match tokio::time::timeout(READ_LIMIT, self.next_line()).await {
            Err(_) => panic!(
                "no line from the server within {READ_LIMIT:?}; partial: {:?}",
                String::from_utf8_lossy(&self.pending)
            ),
            Ok(Err(err)) => panic!("read from the server: {err}"),
            Ok(Ok(None)) => panic!("the server closed the connection"),
            Ok(Ok(Some(line))) => line,
        }
    }

    /// The next line if one comes within `limit`, else `None`: for checking
    /// that the server stays silent. Panics at the end of the stream.
    pub async fn line_within(&mut self, limit: Duration) -> Option<String> {
        match tokio::time::timeout(limit, self.next_line()).await {
            Err(_) => None,
            Ok(Err(err)) => panic!("read from the server: {err}"),
            Ok(Ok(None)) => panic!("the server closed the connection"),
            Ok(Ok(Some(line))) => Some(line),
        }
    }

    /// Waits at most `limit` for the server to close the connection, and
    /// returns the lines it sent before; panics if it is still open then.
    pub async fn closed_within(&mut self, limit: Duration) -> Vec<String> {
        let mut lines = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.next_line()).await {
                Err(_) => panic!("connection still open after {limit:?}; it sent {lines:?}"),
                Ok(Ok(None) | Err(_)) => return lines,
                Ok(Ok(Some(line))) => lines.push(line),
            }
        }
    }

    /// LOGOUT, asserting `* BYE`, the tagged OK and the connection closed
    /// after them (RFC 9051 §6.1.3).
    pub async fn logout(mut self) {
        let response = self.command("LOGOUT").await;
        response.ok();
        assert!(
            response.untagged.iter().any(|l| l.starts_with("* BYE")),
            "no BYE before LOGOUT's OK: {response:#?}"
        );
        let after = self.closed_within(READ_LIMIT).await;
        assert!(after.is_empty(), "lines after LOGOUT's OK: {after:?}");
    }

    /// One line, with its literals, once the whole of it has arrived; `None`
    /// at the end of the stream. Cancel-safe: a partial line stays in
    /// `pending`.
    async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            if let Some((content, whole)) = complete_line(&self.pending) {
                let line = String::from_utf8_lossy(&self.pending[..content]).into_owned();
                self.pending.drain(..whole);
                return Ok(Some(line));
            }
            self.pending.reserve(4096);
            if self.reader.read_buf(&mut self.pending).await? == 0 {
                return Ok(None);
            }
        }
    }
}

fn is_tagged(line: &str, tag: &str) -> bool {
    line.strip_prefix(tag)
        .is_some_and(|rest| rest.starts_with(' '))
}

/// The literal a line ends with, `{n}` or `{n+}`: its length and whether it
/// is synchronizing.
fn literal_at_end(line: &[u8]) -> Option<(usize, bool)> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let inner = &inner[open + 1..];
    let (digits, sync) = match inner.strip_suffix(b"+") {
        Some(digits) => (digits, false),
        None => (inner, true),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let length = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((length, sync))
}

/// In a command, the first synchronizing literal at or after `from`: the
/// index just past the CRLF announcing it, and its length. Literals are
/// skipped whole, so their bytes are never read as lines.
fn next_sync_literal(bytes: &[u8], mut from: usize) -> Option<(usize, usize)> {
    while let Some(at) = find_crlf(bytes, from) {
        let line_end = at + 2;
        match literal_at_end(&bytes[from..at]) {
            Some((length, true)) => return Some((line_end, length)),
            Some((length, false)) => from = line_end + length,
            None => from = line_end,
        }
    }
    None
}

/// In what was read, the end of the first whole response line: where its
/// text ends (before the CRLF) and where the next line starts. A line ending
/// in a literal goes on past the literal's bytes.
fn complete_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    loop {
        let at = find_crlf(bytes, from)?;
        match literal_at_end(&bytes[from..at]) {
            Some((length, _)) => {
                from = at + 2 + length;
                if from > bytes.len() {
                    return None;
                }
            }
            None => return Some((at, at + 2)),
        }
    }
}

fn find_crlf(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(2)
        .position(|pair| pair == b"\r\n")
        .map(|at| from + at)
}

/// A [`site`] whose mailboxes may log in to IMAP without TLS, with more
/// `imap` settings (`max_errors = 3`). The DNS stub answers for as long as
/// it lives.
pub async fn imap_site(config: &TestConfig, imap: &[&str], mailboxes: &[&str]) -> DnsStub {
    config.set("imap", "allow_plaintext_auth = true");
    for line in imap {
        config.set("imap", line);
    }
    site(config, &[], mailboxes).await
}

/// Connects in cleartext and logs in as `user` with [`PASSWORD`].
pub async fn login(addr: SocketAddr, user: &str) -> ImapClient {
    let mut client = ImapClient::connect(addr).await;
    assert!(
        client.greeting.starts_with("* OK"),
        "greeting: {:?}",
        client.greeting
    );
    client
        .command(&format!("LOGIN \"{user}\" \"{PASSWORD}\""))
        .await
        .ok();
    client
}

/// A small message from [`OUTSIDE_SENDER`] to `to`.
pub fn message(to: &str, subject: &str, body: &str) -> String {
    format!(
        "From: Mittente <{OUTSIDE_SENDER}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
         Message-ID: <{}@esterno.example>\r\n\r\n{body}\r\n",
        subject.replace(' ', ".")
    )
}

/// Delivers `content` to `to` through the MX listener, asserting it was
/// accepted.
pub async fn deliver(config: &TestConfig, to: &str, content: &str) {
    let mut smtp = greeted(config.listeners.smtp_mx).await;
    envelope(&mut smtp, OUTSIDE_SENDER, &[to]).await;
    let reply = data(&mut smtp, content.as_bytes()).await;
    assert_eq!(reply.code, 250, "delivery to {to} refused: {reply:?}");
    smtp.command("QUIT").await;
}

/// APPENDs `content` to `folder` with `flags` (such as `(\Seen)`, or empty)
/// using a non-synchronizing literal, and returns the new UID from
/// `APPENDUID` (RFC 4315 §3).
pub async fn append(client: &mut ImapClient, folder: &str, flags: &str, content: &str) -> u32 {
    let space = if flags.is_empty() { "" } else { " " };
    let command = format!(
        "APPEND \"{folder}\"{space}{flags} {{{}+}}\r\n{content}",
        content.len()
    );
    let response = client.command(&command).await;
    response.ok_with("APPENDUID");
    let code = response.code().expect("APPENDUID code");
    code.rsplit(' ')
        .next()
        .and_then(|uid| uid.parse().ok())
        .unwrap_or_else(|| panic!("no single UID in {code:?}"))
}

/// The number after `key` in `text`, as in `number_after(line, "UIDNEXT ")`.
#[track_caller]
pub fn number_after(text: &str, key: &str) -> u64 {
    let at = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {text:?}"))
        + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {key:?} in {text:?}"))
}

/// The value of a response code in any untagged or tagged line, such as
/// `code_value(&select, "UIDVALIDITY")`.
#[track_caller]
pub fn code_value(response: &Response, code: &str) -> u64 {
    let key = format!("[{code} ");
    let line = response
        .untagged
        .iter()
        .chain(std::iter::once(&response.tagged))
        .find(|line| line.contains(&key))
        .unwrap_or_else(|| panic!("no [{code} ...] in {response:#?}"));
    number_after(line, &key)
}

/// One `* LIST` or `* LSUB` line: its attributes and its mailbox name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub attributes: Vec<String>,
    pub delimiter: String,
    pub name: String,
}

impl Listed {
    /// Whether it has `attribute`, ignoring case (`\HasChildren`).
    pub fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

/// The `* LIST` (or `* LSUB`) lines of a response, parsed.
#[track_caller]
pub fn listed(response: &Response, kind: &str) -> Vec<Listed> {
    let prefix = format!("* {kind} (");
    response
        .lines(&prefix)
        .into_iter()
        .map(|line| {
            let rest = &line[prefix.len()..];
            let close = rest
                .find(')')
                .unwrap_or_else(|| panic!("bad {kind} line {line:?}"));
            let attributes = rest[..close]
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let rest = &rest[close + 1..];
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let (delimiter, rest) = take_string(rest);
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let (name, _) = take_string(rest);
            Listed {
                attributes,
                delimiter,
                name,
            }
        })
        .collect()
}

/// A quoted string, literal or atom at the start of `text`, unquoted, and
/// what follows it.
fn take_string(text: &str) -> (String, &str) {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => return (value, &quoted[at + 1..]),
                c => value.push(c),
            }
        }
        return (value, "");
    }
    if text.starts_with('{')
        && let Some(crlf) = text.find("}\r\n")
        && let Ok(length) = text[1..crlf].parse::<usize>()
    {
        let start = crlf + 3;
        let end = (start + length).min(text.len());
        return (text[start..end].to_string(), &text[end..]);
    }
    let end = text.find([' ', ')']).unwrap_or(text.len());
    (text[..end].to_string(), &text[end..])
}

/// The value of FETCH data item `item` (such as `BODY[1]` or `BINARY[2]`)
/// in a FETCH response line: a literal's bytes, a quoted string unquoted,
/// or `None` for NIL or when the item is not there. The item name is
/// compared without regard to case.
pub fn fetch_value(line: &str, item: &str) -> Option<String> {
    let upper = line.to_ascii_uppercase();
    let key = format!("{} ", item.to_ascii_uppercase());
    let at = upper.find(&key)? + key.len();
    let rest = &line[at..];
    let rest = rest.strip_prefix('~').unwrap_or(rest);
    if rest.starts_with('"') {
        return Some(take_string(rest).0);
    }
    let rest = rest.strip_prefix('{')?;
    let close = rest.find("}\r\n")?;
    let length: usize = rest[..close].parse().ok()?;
    rest.get(close + 3..close + 3 + length).map(str::to_string)
}

/// The flags of the first `FLAGS (...)` in a line.
#[track_caller]
pub fn flags_in(line: &str) -> Vec<String> {
    let at = line
        .find("FLAGS (")
        .unwrap_or_else(|| panic!("no FLAGS in {line:?}"))
        + "FLAGS (".len();
    let end = line[at..]
        .find(')')
        .unwrap_or_else(|| panic!("FLAGS not closed in {line:?}"));
    line[at..at + end]
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The numbers of an IMAP set such as `4:6,9`, ascending.
#[track_caller]
pub fn expand_set(set: &str) -> Vec<u32> {
    let number = |n: &str| -> u32 {
        n.parse()
            .unwrap_or_else(|_| panic!("bad number {n:?} in set {set:?}"))
    };
    let mut numbers = Vec::new();
    for part in set.split(',') {
        match part.split_once(':') {
            Some((a, b)) => {
                let (a, b) = (number(a), number(b));
                numbers.extend(a.min(b)..=a.max(b));
            }
            None => numbers.push(number(part)),
        }
    }
    numbers.sort_unstable();
    numbers
}

/// The names of the `* LIST` lines of a response.
#[track_caller]
pub fn list_names(response: &Response) -> Vec<String> {
    listed(response, "LIST")
        .into_iter()
        .map(|l| l.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_lines_end_after_their_literals() {
        let bytes = b"* 1 FETCH (BODY[] {5}\r\na\r\nb\r UID 4)\r\n* 2 EXISTS\r\n";
        let (content, whole) = complete_line(bytes).expect("a whole line");
        assert_eq!(
            &bytes[..content],
            b"* 1 FETCH (BODY[] {5}\r\na\r\nb\r UID 4)"
        );
        assert_eq!(complete_line(&bytes[whole..]), Some((10, 12)));
        assert_eq!(complete_line(b"* 1 FETCH (BINARY[1] ~{9}\r\nabc"), None);
    }

    #[test]
    fn commands_stop_at_synchronizing_literals_only() {
        let command = b"a1 LOGIN {4+}\r\nanna {3}\r\npwd\r\n";
        assert_eq!(next_sync_literal(command, 0), Some((25, 3)));
        assert_eq!(next_sync_literal(command, 28), None);
    }

    #[test]
    fn list_lines_are_parsed() {
        let response = Response {
            tag: "a1".into(),
            untagged: vec![
                r#"* LIST (\HasNoChildren \Sent) "/" Sent"#.into(),
                r#"* LIST (\HasChildren) "/" "Lavoro \"A\"""#.into(),
                "* LIST () \"/\" {6}\r\nCaffè".into(),
            ],
            tagged: "a1 OK done".into(),
        };
        let all = listed(&response, "LIST");
        assert_eq!(all[0].name, "Sent");
        assert!(all[0].has("\\sent"));
        assert_eq!(all[1].name, "Lavoro \"A\"");
        assert_eq!(all[1].delimiter, "/");
        assert_eq!(all[2].name, "Caffè");
    }
}

//! What the SMTP end-to-end tests (`tests/smtp_*.rs`) share: one hosted
//! domain with its mailboxes and a DNS stub, clients past EHLO, the steps of
//! a transaction, and what a stopped server left in its store.
//!
//! - [`site`] sets up a configuration: the DNS stub, `smtp` settings, the
//!   domain [`DOMAIN`] and mailboxes with [`PASSWORD`].
//! - [`greeted`] connects and gets past the greeting and EHLO ([`greet`]
//!   on a connection made by the caller; [`started`] starts the server
//!   too; [`logged_in`] logs in on submission too); [`envelope`]
//!   ([`envelope_with`] for parameters) and [`data`] run the steps of a
//!   transaction, each asserting the server accepted it; [`bdat`] sends
//!   one chunk; [`expect_reply`] checks the reply to any command and
//!   [`read_replies`] those to a pipelined batch; [`plain`] is an AUTH
//!   PLAIN response; [`send`] runs a whole transaction on the MX, with a
//!   [`message`] from outside.
//! - [`stopped`] stops the server and opens its store; [`inbox`],
//!   [`folder_messages`], [`only_message`], [`inbox_len`] and
//!   [`queued_addresses`] read it; [`subjects`] lists what was read.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_common::store::Store;

use crate::dns::DnsStub;
use crate::{LineClient, Server, SmtpReply, TestConfig};

/// The hosted domain.
pub const DOMAIN: &str = "comune.esempio.pu.it";
pub const ANNA: &str = "anna@comune.esempio.pu.it";
pub const BRUNO: &str = "bruno@comune.esempio.pu.it";
pub const CARLA: &str = "carla@comune.esempio.pu.it";
/// The password of every mailbox.
pub const PASSWORD: &str = "password-robusta";

/// Points `config` at a fresh DNS stub, adds `smtp` settings, the domain
/// [`DOMAIN`] and `mailboxes`. The stub answers for as long as it lives.
pub async fn site(config: &TestConfig, smtp: &[&str], mailboxes: &[&str]) -> DnsStub {
    let dns = DnsStub::start().await.expect("start the DNS stub");
    config.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
    config.set("dns", "timeout = \"2s\"");
    for line in smtp {
        config.set("smtp", line);
    }
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    for address in mailboxes {
        add_mailbox(config, address, &[]).await;
    }
    dns
}

/// Routes mail for esterno.example, the outside world of these tests, to a
/// loopback port where nothing listens. The server tries to deliver queued
/// mail as soon as it is accepted: this way every attempt fails at once
/// with a temporary error and the mail stays in the queue for a test to
/// look at, where a lookup in the DNS stub would find no such domain and
/// bounce it.
pub fn outside_world_unreachable(config: &TestConfig) {
    let closed = crate::bind_unused_port()
        .local_addr()
        .expect("address of a bound socket");
    config.set(
        "delivery.routes",
        &format!("\"esterno.example\" = \"{closed}\""),
    );
}

/// Adds a mailbox with [`PASSWORD`] and `options` (`--quota N`).
pub async fn add_mailbox(config: &TestConfig, address: &str, options: &[&str]) {
    let mut args = vec!["mailbox", "add", address, "--password-stdin"];
    args.extend_from_slice(options);
    config.cli(&args, Some(&format!("{PASSWORD}\n"))).await.ok();
}

/// A connected client past the greeting and EHLO.
pub async fn greeted(addr: SocketAddr) -> LineClient {
    greet(LineClient::connect(addr).await).await
}

/// Sets `config` up as [`site`] does, starts the server, and connects a
/// client past the greeting and EHLO on its MX listener.
pub async fn started(
    config: &TestConfig,
    smtp: &[&str],
    mailboxes: &[&str],
) -> (DnsStub, Server, LineClient) {
    let dns = site(config, smtp, mailboxes).await;
    let server = Server::start(config).await;
    let client = greeted(config.listeners.smtp_mx).await;
    (dns, server, client)
}

/// `client`, just connected, past the greeting and EHLO.
pub async fn greet(mut client: LineClient) -> LineClient {
    assert_eq!(client.read_reply().await.code, 220);
    let ehlo = client.command("EHLO client.example").await;
    assert_eq!(ehlo.code, 250, "{ehlo:?}");
    client
}

/// Starts a transaction: MAIL FROM `from`, then RCPT TO each of `to`,
/// asserting that each is accepted (250 2.1.0, 250 2.1.5).
pub async fn envelope(client: &mut LineClient, from: &str, to: &[&str]) {
    let to: Vec<String> = to.iter().map(|rcpt| format!("<{rcpt}>")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    envelope_with(client, &format!("<{from}>"), &to).await;
}

/// [`envelope`] with the arguments of MAIL FROM and of each RCPT TO as
/// sent: the path in its brackets and any parameters
/// (`<a@b.example> SMTPUTF8`).
pub async fn envelope_with(client: &mut LineClient, mail: &str, rcpts: &[&str]) {
    client
        .command(&format!("MAIL FROM:{mail}"))
        .await
        .expect(250, "2.1.0");
    for rcpt in rcpts {
        client
            .command(&format!("RCPT TO:{rcpt}"))
            .await
            .expect(250, "2.1.5");
    }
}

/// A client past EHLO and AUTH PLAIN as `user`, with [`PASSWORD`], on the
/// submission listener at `addr`.
pub async fn logged_in(addr: SocketAddr, user: &str) -> LineClient {
    let mut client = greeted(addr).await;
    client
        .command(&format!("AUTH PLAIN {}", plain(user, PASSWORD)))
        .await
        .expect(235, "2.7.0");
    client
}

/// Sends `content` with DATA, asserting the 354, and returns the reply to
/// the end of data.
pub async fn data(client: &mut LineClient, content: &[u8]) -> SmtpReply {
    assert_eq!(client.command("DATA").await.code, 354);
    client.send_raw(content).await;
    client.command(".").await
}

/// Sends `message` from `from` to `to` on the MX, in a transaction of its
/// own, expecting `code` at the end of data.
pub async fn send(config: &TestConfig, from: &str, to: &[&str], message: &str, code: u16) {
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, from, to).await;
    let reply = data(&mut client, message.as_bytes()).await;
    assert_eq!(reply.code, code, "{message}: {reply:?}");
}

/// A message from `from` to `to` with `subject`, `extra` header lines
/// (each ending in CRLF) and a one-line body; its Message-ID is the
/// subject's words joined by dots, `@esterno.example`.
pub fn message(from: &str, to: &str, subject: &str, extra: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{}@esterno.example>\r\n{extra}\r\nTesto.\r\n",
        subject.replace(' ', "."),
    )
}

/// Sends `command` and asserts that its reply has `code` and the
/// enhanced status code `status`; a failure names the command.
pub async fn expect_reply(client: &mut LineClient, command: &str, code: u16, status: &str) {
    let reply = client.command(command).await;
    assert!(
        reply.code == code && reply.status() == Some(status),
        "`{command}`: expected {code} {status}, got {reply:?}"
    );
}

/// Reads a reply for each of `expected`, a code and an enhanced status
/// code such as `"250 2.1.0"`, asserting each in turn: the answers to
/// pipelined commands.
pub async fn read_replies(client: &mut LineClient, expected: &[&str]) {
    for expected in expected {
        let (code, status) = expected.split_once(' ').expect("a code and a status");
        let code = code.parse().expect("a reply code");
        client.read_reply().await.expect(code, status);
    }
}

/// Sends `chunk` with BDAT (RFC 3030), the last one if `last`, and
/// returns the reply.
pub async fn bdat(client: &mut LineClient, chunk: &[u8], last: bool) -> SmtpReply {
    let last = if last { " LAST" } else { "" };
    client.send(&format!("BDAT {}{last}", chunk.len())).await;
    client.send_raw(chunk).await;
    client.read_reply().await
}

/// The PLAIN initial response (RFC 4616) for `user` and `password`.
pub fn plain(user: &str, password: &str) -> String {
    BASE64.encode(format!("\0{user}\0{password}"))
}

/// Stops the server, asserting a clean exit, and opens its store.
pub async fn stopped(mut server: Server, config: &TestConfig) -> Store {
    let status = server.stop().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
    config.open_store().await
}

/// The messages in a mailbox's INBOX, in UID order.
pub async fn inbox(store: &Store, address: &str) -> Vec<Vec<u8>> {
    folder_messages(store, address, "INBOX").await
}

/// The messages in one folder of a mailbox, in UID order.
pub async fn folder_messages(store: &Store, address: &str, name: &str) -> Vec<Vec<u8>> {
    let folder = folder_id(store, address, name).await;
    let mut bodies = Vec::new();
    for summary in store.messages(folder).await.expect("list a folder") {
        let body = store
            .message_body(folder, summary.uid)
            .await
            .expect("read a message")
            .expect("the message has a body");
        bodies.push(body);
    }
    bodies
}

/// The Subject of each message: its header's first line, not decoded.
pub fn subjects(messages: &[Vec<u8>]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let text = String::from_utf8_lossy(m);
            text.split("\r\n")
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The one message in a mailbox's INBOX, asserting it holds just one.
pub async fn only_message(store: &Store, address: &str) -> Vec<u8> {
    let mut messages = inbox(store, address).await;
    assert_eq!(messages.len(), 1, "messages in the INBOX of {address}");
    messages.remove(0)
}

/// How many messages a mailbox's INBOX holds.
pub async fn inbox_len(store: &Store, address: &str) -> usize {
    let folder = folder_id(store, address, "INBOX").await;
    store.messages(folder).await.expect("list INBOX").len()
}

/// The id of a mailbox's folder `name`.
pub async fn folder_id(store: &Store, address: &str, name: &str) -> i64 {
    let account = store
        .account(address)
        .await
        .expect("read the account")
        .expect("the account exists");
    store
        .folder(account.id, name)
        .await
        .expect("read the folder")
        .expect("the folder exists")
        .id
}

/// The `Authentication-Results` field of a stored message (RFC 8601), its
/// continuation lines joined: what the receiving server concluded.
pub fn authentication_results(message: &str) -> String {
    message
        .split("\r\n")
        .skip_while(|l| !l.starts_with("Authentication-Results:"))
        .take_while(|l| l.starts_with("Authentication-Results:") || l.starts_with([' ', '\t']))
        .collect()
}

/// The addresses of the outbound queue, in the store's order.
pub async fn queued_addresses(store: &Store) -> Vec<String> {
    let queued = store.queued_recipients().await.expect("read the queue");
    queued.into_iter().map(|r| r.address).collect()
}

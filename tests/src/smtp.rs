//! What the SMTP end-to-end tests (`tests/smtp_*.rs`) share: one hosted
//! domain with its mailboxes and a DNS stub, clients past EHLO, the steps of
//! a transaction, and what a stopped server left in its store.
//!
//! - [`site`] sets up a configuration: the DNS stub, `smtp` settings, the
//!   domain [`DOMAIN`] and mailboxes with [`PASSWORD`].
//! - [`greeted`] connects and gets past the greeting and EHLO ([`greet`]
//!   on a connection made by the caller); [`envelope`] and [`data`] run
//!   the steps of a transaction, each
//!   asserting the server accepted it; [`plain`] is an AUTH PLAIN response.
//! - [`stopped`] stops the server and opens its store; [`inbox`],
//!   [`inbox_len`] and [`queued_addresses`] read it.

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
    client
        .command(&format!("MAIL FROM:<{from}>"))
        .await
        .expect(250, "2.1.0");
    for rcpt in to {
        client
            .command(&format!("RCPT TO:<{rcpt}>"))
            .await
            .expect(250, "2.1.5");
    }
}

/// Sends `content` with DATA, asserting the 354, and returns the reply to
/// the end of data.
pub async fn data(client: &mut LineClient, content: &[u8]) -> SmtpReply {
    assert_eq!(client.command("DATA").await.code, 354);
    client.send_raw(content).await;
    client.command(".").await
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
    let folder = inbox_id(store, address).await;
    let mut bodies = Vec::new();
    for summary in store.messages(folder).await.expect("list INBOX") {
        let body = store
            .message_body(folder, summary.uid)
            .await
            .expect("read a message")
            .expect("the message has a body");
        bodies.push(body);
    }
    bodies
}

/// How many messages a mailbox's INBOX holds.
pub async fn inbox_len(store: &Store, address: &str) -> usize {
    let folder = inbox_id(store, address).await;
    store.messages(folder).await.expect("list INBOX").len()
}

async fn inbox_id(store: &Store, address: &str) -> i64 {
    let account = store
        .account(address)
        .await
        .expect("read the account")
        .expect("the account exists");
    store
        .folder(account.id, "INBOX")
        .await
        .expect("read the folder")
        .expect("INBOX exists")
        .id
}

/// The addresses of the outbound queue, in the store's order.
pub async fn queued_addresses(store: &Store) -> Vec<String> {
    let queued = store.queued_recipients().await.expect("read the queue");
    queued.into_iter().map(|r| r.address).collect()
}

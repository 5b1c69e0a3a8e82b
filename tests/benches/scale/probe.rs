//! The operations timed at each scale, one at a time on an otherwise idle
//! server, each on mailboxes drawn at random:
//!
//! - SMTP on the MX listener, one connection past EHLO: MAIL FROM, then
//!   `RCPT TO` of the mailbox (timed alone), then DATA with a 4 KB message
//!   (timed from the RCPT to the 250 after the data: RCPT + delivery);
//! - IMAP, a new connection per mailbox: `LOGIN`, `SELECT INBOX`,
//!   `SEARCH UNSEEN` and `APPEND` of a 4 KB message to the INBOX, each
//!   timed;
//! - `UID FETCH 1:* (FLAGS)` on one of the 10,000-message folders, each
//!   owner's session logged in and the folder selected once;
//! - the admin API's listing of a domain's mailboxes
//!   (`GET /api/v1/domains/{domain}/mailboxes`), a domain drawn at random
//!   among those whole at the first scale: a listing costs what its domain
//!   holds, and a small installation has few of the largest comuni.
//!
//! The mailboxes come from the ordinary ones (the heavy mailboxes and the
//! owners of the 10k folders left out). Those that log in are chosen so
//! that no two share a password hash: the server's cache of verified
//! passwords would otherwise skip argon2 for all but the first, and LOGIN
//! costs what it costs a user logging in for the first time in ten
//! minutes. Every answer is checked (250, tagged OK, HTTP 200 with the
//! domain's mailboxes, ten thousand FETCH lines); a wrong one fails the
//! bench.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fastrand::Rng;
use postino_tests::LineClient;
use postino_tests::http::Request;
use postino_tests::imap::ImapClient;
use postino_tests::smtp::{data, greet};
use tokio::net::TcpStream;

use crate::population::{self, Layout};

/// The password of every generated mailbox.
pub const PASSWORD: &str = "scale-bench-password";
/// Samples of each operation made before the measured ones, not counted.
pub const WARM_UP: usize = 20;
/// The sender of the mail delivered over SMTP, with SPF in the DNS stub.
pub const SENDER: &str = "protocollo@fornitore.example.org";

/// What the probes talk to.
pub struct Target<'a> {
    pub mx: SocketAddr,
    pub imap: SocketAddr,
    pub admin: SocketAddr,
    /// An API token of a provincial admin.
    pub token: &'a str,
    pub layout: &'a Layout,
    /// Mailboxes loaded.
    pub mailboxes: usize,
    /// Distinct password hashes, given to mailboxes in turn.
    pub hashes: usize,
    /// The domains listed are drawn from the first this many, those whole
    /// at the first scale: the same domains at every scale, as a listing
    /// costs what its domain holds.
    pub domains: usize,
}

/// One operation's measured latencies.
pub struct Timings {
    pub operation: &'static str,
    pub latencies: Vec<Duration>,
}

impl Timings {
    fn new(operation: &'static str) -> Timings {
        Timings {
            operation,
            latencies: Vec::new(),
        }
    }

    /// Counts `took` unless sample `n` is part of the warm-up.
    fn record(&mut self, n: usize, took: Duration) {
        if n >= WARM_UP {
            self.latencies.push(took);
        }
    }
}

/// Runs every probe, `samples` measured times each after [`WARM_UP`];
/// returns the latencies of each operation, sorted.
pub async fn run(target: &Target<'_>, samples: usize, seed: u64) -> Vec<Timings> {
    let mut rng = Rng::with_seed(seed);
    let total = WARM_UP + samples;
    let mut timings = smtp(target, &mut rng, total, seed).await;
    timings.extend(imap(target, &mut rng, total, seed).await);
    timings.push(fetch_flags(target, &mut rng, total).await);
    timings.push(admin_listing(target, &mut rng, total).await);
    for t in &mut timings {
        t.latencies.sort_unstable();
    }
    timings
}

/// An ordinary mailbox at random.
fn ordinary(rng: &mut Rng, target: &Target<'_>) -> usize {
    loop {
        let i = rng.usize(0..target.mailboxes);
        if !population::is_special(i) {
            return i;
        }
    }
}

/// An ordinary mailbox at random with password hash number `slot`.
fn with_hash(rng: &mut Rng, target: &Target<'_>, slot: usize) -> usize {
    loop {
        let i = ordinary(rng, target);
        let i = i - i % target.hashes + slot;
        if i < target.mailboxes && !population::is_special(i) {
            return i;
        }
    }
}

async fn smtp(target: &Target<'_>, rng: &mut Rng, total: usize, seed: u64) -> Vec<Timings> {
    let mut rcpt = Timings::new("SMTP RCPT");
    let mut delivery = Timings::new("SMTP RCPT+DATA");
    let mut client = smtp_client(target.mx).await;
    for n in 0..total {
        let to = population::address(target.layout, ordinary(rng, target));
        client
            .command(&format!("MAIL FROM:<{SENDER}>"))
            .await
            .expect(250, "2.1.0");
        let started = Instant::now();
        client
            .command(&format!("RCPT TO:<{to}>"))
            .await
            .expect(250, "2.1.5");
        rcpt.record(n, started.elapsed());
        data(
            &mut client,
            note(&format!("smtp.{seed}.{n}"), &to).as_bytes(),
        )
        .await
        .expect(250, "2.0.0");
        delivery.record(n, started.elapsed());
    }
    assert_eq!(client.command("QUIT").await.code, 221);
    vec![rcpt, delivery]
}

async fn imap(target: &Target<'_>, rng: &mut Rng, total: usize, seed: u64) -> Vec<Timings> {
    let mut timings = [
        "IMAP LOGIN",
        "IMAP SELECT INBOX",
        "IMAP SEARCH UNSEEN",
        "IMAP APPEND",
    ]
    .map(Timings::new);
    assert!(
        total <= target.hashes,
        "{total} logins need as many password hashes, there are {}",
        target.hashes
    );
    for n in 0..total {
        let address = population::address(target.layout, with_hash(rng, target, n));
        let message = note(&format!("imap.{seed}.{n}"), &address);
        let commands = [
            format!("LOGIN {address} {PASSWORD}"),
            "SELECT INBOX".to_string(),
            "SEARCH UNSEEN".to_string(),
            format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()),
        ];
        let mut client = ImapClient::connect(target.imap).await;
        for (command, timing) in commands.iter().zip(&mut timings) {
            let started = Instant::now();
            client.command(command).await.ok();
            timing.record(n, started.elapsed());
        }
        client.logout().await;
    }
    timings.into()
}

async fn fetch_flags(target: &Target<'_>, rng: &mut Rng, total: usize) -> Timings {
    let mut timing = Timings::new("IMAP UID FETCH 1:* FLAGS (10k)");
    let mut sessions: HashMap<usize, ImapClient> = HashMap::new();
    for n in 0..total {
        let owner = population::ten_k_owner(rng.usize(population::TEN_K_OWNERS));
        let client = match sessions.entry(owner) {
            Entry::Occupied(session) => session.into_mut(),
            Entry::Vacant(session) => session.insert(ten_k_session(target, owner).await),
        };
        let started = Instant::now();
        let response = client.command("UID FETCH 1:* (FLAGS)").await;
        timing.record(n, started.elapsed());
        response.ok();
        assert_eq!(
            response.untagged.len() as i64,
            population::TEN_K,
            "UID FETCH 1:* of a 10k folder"
        );
    }
    for client in sessions.into_values() {
        client.logout().await;
    }
    timing
}

/// A session of `owner`, logged in, its 10k folder selected.
async fn ten_k_session(target: &Target<'_>, owner: usize) -> ImapClient {
    let address = population::address(target.layout, owner);
    let mut client = ImapClient::connect(target.imap).await;
    client
        .command(&format!("LOGIN {address} {PASSWORD}"))
        .await
        .ok();
    client
        .command(&format!("SELECT \"{}\"", population::TEN_K_FOLDER))
        .await
        .ok();
    client
}

async fn admin_listing(target: &Target<'_>, rng: &mut Rng, total: usize) -> Timings {
    let mut timing = Timings::new("admin list a domain's mailboxes");
    for n in 0..total {
        let domain = rng.usize(0..target.domains);
        let path = format!(
            "/api/v1/domains/{}/mailboxes",
            population::domain_name(domain)
        );
        let started = Instant::now();
        let response = Request::get(&path)
            .bearer(target.token)
            .send(target.admin)
            .await;
        timing.record(n, started.elapsed());
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        let listed = response.json().as_array().map_or(0, Vec::len);
        assert_eq!(
            listed,
            target.layout.loaded_in(domain, target.mailboxes),
            "GET {path} lists every mailbox of the domain"
        );
    }
    timing
}

/// A client of the MX at `addr` past EHLO, its writes sent at once:
/// DATA's content and the final dot go in two writes, and Nagle's
/// algorithm would hold the second back until the server's delayed ACK,
/// 40 ms later.
pub async fn smtp_client(addr: SocketAddr) -> LineClient {
    let stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to {addr}: {err}"));
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    greet(LineClient::from_stream(stream)).await
}

/// A plain-text message of about 4 KB to `to`, told apart by `tag`.
pub fn note(tag: &str, to: &str) -> String {
    let mut text = format!(
        "From: Ufficio Protocollo <{SENDER}>\r\n\
         To: <{to}>\r\n\
         Subject: Trasmissione nota {tag}\r\n\
         Date: Mon, 07 Dec 2026 08:00:00 +0100\r\n\
         Message-ID: <{tag}@fornitore.example.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n"
    );
    while text.len() < 4_000 {
        text.push_str(
            "Si trasmette in allegato la nota richiesta, restando a disposizione per ogni \
             chiarimento.\r\n",
        );
    }
    text
}

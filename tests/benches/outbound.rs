//! Outbound delivery throughput of the real `postino serve`, on SQLite and
//! on PostgreSQL: queued messages, DKIM-signed with both of the sender
//! domain's keys, handed to a loopback SMTP sink.
//!
//! Each backend gets a fresh configuration from the harness (SQLite in a
//! temporary data directory; PostgreSQL in a new database on the test
//! server, dropped at the end) whose only nameserver is a DNS stub on
//! loopback, so nothing reaches a real resolver. The CLI adds the sending
//! domain and generates its keys (`postino dkim generate`: RSA-2048 and
//! Ed25519). `[delivery]` routes the recipients' domain to the sink of
//! `tests/src/sink.rs`, which accepts everything (no STARTTLS offered, so
//! the bench measures queue, signing and SMTP, not TLS).
//!
//! The bench then opens the store itself, before any server runs, and
//! queues `OUTBOUND_BENCH_MESSAGES` distinct plain-text messages of exactly
//! [`MESSAGE_SIZE`] bytes, one remote recipient each, through
//! `Store::append` from [`ENQUEUE_TASKS`] concurrent tasks, as submission
//! would queue them (with their `Return-Path` line). The clock starts when
//! `postino serve` is spawned, so it includes the server's start-up; the
//! bench reports the time until the sink has accepted every message, and
//! the rate between the first and the last message accepted, which is the
//! steady throughput. Delivery runs with the product's defaults unless
//! `OUTBOUND_BENCH_CONNECTIONS` sets `delivery.max_connections_per_domain`
//! (the default, 5, is the limit per destination: all of these messages go
//! to one domain).
//!
//! It then checks, and fails otherwise, that the sink got every message
//! exactly once (by `Message-ID`, after waiting a little for duplicates),
//! from the right sender to the right recipient, with the content as sent
//! after two `DKIM-Signature` fields (`a=rsa-sha256` and
//! `a=ed25519-sha256`), and that the queue is empty afterwards.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p postino-tests --bench outbound
//! OUTBOUND_BENCH_BACKENDS=sqlite OUTBOUND_BENCH_MESSAGES=200 \
//!     cargo bench -p postino-tests --bench outbound
//! ```
//!
//! The settings, all from the environment: `OUTBOUND_BENCH_BACKENDS`
//! (`sqlite`, `postgres` or `both`, the default), `OUTBOUND_BENCH_MESSAGES`
//! (2,000) and `OUTBOUND_BENCH_CONNECTIONS` (the product default).
//! PostgreSQL is reached as the tests reach it, at
//! `POSTINO_TEST_DATABASE_URL`. `cargo bench` builds in the release
//! profile, and the harness builds the `postino` binary in the profile of
//! the executable that asks for it: the server measured is the release
//! build.
//!
//! Nothing waits without a bound: each run at most [`run_limit`]. All
//! traffic stays on 127.0.0.1, and the sink shares the machine's cores
//! with the server: compare numbers taken on one machine. Timings are
//! reported, never asserted.

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postino_common::store::{NewMessage, Outbound, OutboundRecipient, Store};
use postino_tests::bench;
use postino_tests::dns::DnsStub;
use postino_tests::sink::Sink;
use postino_tests::{Backend, Server, TestConfig, postino_binary, within};
use tokio::task::JoinSet;

/// The sending domain, hosted by Postino, with both DKIM keys.
const DOMAIN: &str = "comune.esempio.pu.it";
const SENDER: &str = "protocollo@comune.esempio.pu.it";
/// The recipients' domain, routed to the sink.
const REMOTE_DOMAIN: &str = "esterno.example";
/// Every message's size as queued, without its `Return-Path` line.
const MESSAGE_SIZE: usize = 10 * 1024;
/// Concurrent tasks queueing the messages.
const ENQUEUE_TASKS: usize = 16;
/// How long to wait after the last message for one sent twice.
const DUPLICATE_WAIT: Duration = Duration::from_secs(2);
/// Server log lines at WARN or ERROR quoted after the table, at most.
const QUOTED: usize = 5;

/// The longest one backend's run may take, set-up and checks included:
/// generous, so that only a stuck or broken server reaches it.
fn run_limit(messages: usize) -> Duration {
    Duration::from_secs(180) + Duration::from_millis(50).saturating_mul(messages as u32)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let Some(settings) = bench::settings(
        "outbound",
        "OUTBOUND_BENCH_BACKENDS, OUTBOUND_BENCH_MESSAGES or OUTBOUND_BENCH_CONNECTIONS",
        Settings::from_env,
    ) else {
        return ExitCode::FAILURE;
    };
    // Built before anything is timed: the first build takes minutes.
    let binary = postino_binary();
    println!("server: {}", binary.display());
    println!(
        "{} messages of {MESSAGE_SIZE} bytes, one recipient each, DKIM-signed (RSA-2048 + \
         Ed25519), to a loopback sink; connections per domain: {}",
        settings.messages,
        settings
            .connections
            .map_or_else(|| "default".to_string(), |n| n.to_string())
    );
    println!();
    println!(
        "{:<9} {:>8} {:>10} {:>9} {:>9} {:>8} {:>7} {:>9}",
        "backend", "messages", "enqueue s", "first s", "total s", "msg/s", "MB/s", "msg/s all"
    );
    let mut notes = Vec::new();
    for &backend in &settings.backends {
        let run = within(run_limit(settings.messages), run(backend, &settings)).await;
        run.print_row();
        notes.extend(run.notes());
    }
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
    println!();
    println!(
        "first s: from spawning the server to the first message at the sink; total s: to the \
         last; msg/s and MB/s (10^6 bytes of message as queued): between the first and the \
         last; msg/s all: over the total"
    );
    ExitCode::SUCCESS
}

/// What to run, from `OUTBOUND_BENCH_*`.
struct Settings {
    backends: Vec<Backend>,
    messages: usize,
    /// `delivery.max_connections_per_domain`, if not the default.
    connections: Option<usize>,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let backends = bench::env_backends("OUTBOUND_BENCH_BACKENDS")?;
        let messages = env_number("OUTBOUND_BENCH_MESSAGES")?.unwrap_or(2_000);
        if messages == 0 || messages > u32::MAX as usize {
            return Err(format!(
                "OUTBOUND_BENCH_MESSAGES is {messages}, not a number of messages"
            ));
        }
        let connections = env_number("OUTBOUND_BENCH_CONNECTIONS")?;
        if connections == Some(0) {
            return Err("OUTBOUND_BENCH_CONNECTIONS must be at least 1".to_string());
        }
        Ok(Settings {
            backends,
            messages,
            connections,
        })
    }
}

/// A whole number from the environment, if set.
fn env_number(name: &str) -> Result<Option<usize>, String> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(value) => value
            .trim()
            .replace('_', "")
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} is `{value}`, not a whole number")),
    }
}

/// What one backend's run measured.
struct Run {
    backend: Backend,
    messages: usize,
    enqueue: Duration,
    /// From spawning the server to the first and the last message accepted
    /// by the sink.
    first: Duration,
    last: Duration,
    /// Lines of the server's log at WARN or ERROR.
    warnings: Vec<String>,
}

impl Run {
    fn print_row(&self) {
        let steady = (self.last - self.first).as_secs_f64();
        // The first message's arrival opens the interval, so it does not count.
        let steady_messages = self.messages.saturating_sub(1) as f64;
        let (rate, mb) = if steady > 0.0 {
            (
                format!("{:.1}", steady_messages / steady),
                format!(
                    "{:.2}",
                    steady_messages * MESSAGE_SIZE as f64 / steady / 1e6
                ),
            )
        } else {
            ("-".to_string(), "-".to_string())
        };
        println!(
            "{:<9} {:>8} {:>10.2} {:>9.2} {:>9.2} {:>8} {:>7} {:>9.1}",
            self.backend.name(),
            self.messages,
            self.enqueue.as_secs_f64(),
            self.first.as_secs_f64(),
            self.last.as_secs_f64(),
            rate,
            mb,
            self.messages as f64 / self.last.as_secs_f64(),
        );
    }

    fn notes(&self) -> Vec<String> {
        bench::warning_notes(self.backend.name(), &self.warnings, QUOTED)
    }
}

/// One backend: set up, queue, deliver, check.
async fn run(backend: Backend, settings: &Settings) -> Run {
    let config = TestConfig::new(backend).await;
    let dns = DnsStub::start().await.expect("start the DNS stub");
    let sink = Sink::start(&["250 2.0.0 ok"])
        .await
        .expect("start the sink");
    config.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
    config.set(
        "delivery.routes",
        &format!("{REMOTE_DOMAIN:?} = \"{}\"", sink.addr()),
    );
    if let Some(connections) = settings.connections {
        config.set(
            "delivery",
            &format!("max_connections_per_domain = {connections}"),
        );
    }
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    config.cli(&["dkim", "generate", DOMAIN], None).await.ok();

    let store = config.open_store().await;
    let started = Instant::now();
    enqueue(&store, settings.messages).await;
    let enqueue_time = started.elapsed();
    store.close().await;

    let started = Instant::now();
    let mut server = Server::start(&config).await;
    let mut first = None;
    let deadline = Instant::now() + run_limit(settings.messages);
    let last = loop {
        let answered = sink.answered();
        if answered > 0 && first.is_none() {
            first = Some(started.elapsed());
        }
        if answered >= settings.messages {
            break started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "the sink got {answered} of {} messages",
            settings.messages
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tokio::time::sleep(DUPLICATE_WAIT).await;
    check_received(&sink, settings.messages);
    wait_queue_empty(&config).await;

    let warnings = bench::stop_server(&mut server).await;
    drop(dns);
    Run {
        backend,
        messages: settings.messages,
        enqueue: enqueue_time,
        first: first.unwrap_or(last),
        last,
        warnings,
    }
}

/// Queues `count` messages from [`ENQUEUE_TASKS`] concurrent tasks.
async fn enqueue(store: &Store, count: usize) {
    let mut tasks = JoinSet::new();
    for task in 0..ENQUEUE_TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            for n in (task..count).step_by(ENQUEUE_TASKS) {
                let mut raw = format!("Return-Path: <{SENDER}>\r\n").into_bytes();
                raw.extend_from_slice(&message(n));
                let queued = NewMessage {
                    raw: Arc::from(raw),
                    targets: Vec::new(),
                    outbound: vec![Outbound {
                        sender: SENDER.to_string(),
                        recipients: vec![OutboundRecipient {
                            address: recipient(n),
                            ..OutboundRecipient::default()
                        }],
                        ..Outbound::default()
                    }],
                    sent_by: None,
                };
                let stored = store.append(queued).await.expect("queue a message");
                assert!(stored.is_ok(), "message {n} refused: {stored:?}");
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a queueing task panicked");
    }
}

/// Fails unless the sink accepted each of the `count` messages exactly
/// once, from [`SENDER`] to its recipient, signed twice, content intact.
fn check_received(sink: &Sink, count: usize) {
    let received = sink.received();
    let mut seen = HashSet::with_capacity(count);
    for got in &received {
        let n = message_number(&got.content)
            .unwrap_or_else(|| panic!("the sink got a message the bench did not send"));
        assert!(seen.insert(n), "message {n} arrived more than once");
        assert!(n < count, "message {n} was never queued");
        assert_eq!(got.sender, SENDER, "message {n}");
        assert_eq!(got.recipients, [recipient(n)], "message {n}");
        let sent = message(n);
        assert!(
            got.content.ends_with(&sent),
            "message {n} does not end with the message as queued"
        );
        let added = String::from_utf8_lossy(&got.content[..got.content.len() - sent.len()]);
        assert!(
            !added.contains("Return-Path"),
            "message {n} left with its Return-Path"
        );
        let fields: Vec<&str> = added
            .split("\r\n")
            .filter(|l| l.starts_with("DKIM-Signature:"))
            .collect();
        assert_eq!(
            fields.len(),
            2,
            "message {n} has {} DKIM-Signature fields: {added}",
            fields.len()
        );
        assert!(
            added.contains("a=rsa-sha256") && added.contains("a=ed25519-sha256"),
            "message {n} is not signed with both keys: {added}"
        );
    }
    assert_eq!(
        received.len(),
        count,
        "the sink accepted {} messages, not {count}",
        received.len()
    );
}

/// Waits until the server has recorded every delivery and emptied the
/// queue, which it does a moment after the sink's last reply.
async fn wait_queue_empty(config: &TestConfig) {
    let store = config.open_store().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = store
            .queued_recipients()
            .await
            .expect("read the queue")
            .len();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} recipients still queued after every message arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
}

/// Message `n`'s recipient: a few mailboxes of the remote domain in turn.
fn recipient(n: usize) -> String {
    format!("ufficio{:02}@{REMOTE_DOMAIN}", n % 20)
}

/// The bench's number in a message's `Message-ID` field.
fn message_number(content: &[u8]) -> Option<usize> {
    let field = b"\r\nMessage-ID: <bench.";
    let start = content.windows(field.len()).position(|w| w == field)? + field.len();
    let rest = &content[start..];
    let end = rest.iter().position(|&b| b == b'@')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Message `n` as queued (without `Return-Path`): plain text of exactly
/// [`MESSAGE_SIZE`] bytes in CRLF lines, none starting with a dot, with a
/// body of its own.
fn message(n: usize) -> Vec<u8> {
    let date = format!(
        "Tue, 7 Oct 2025 {:02}:{:02}:{:02} +0200",
        9 + n / 3600 % 8,
        n / 60 % 60,
        n % 60
    );
    let mut text = format!(
        "Date: {date}\r\n\
         From: Ufficio Protocollo <{SENDER}>\r\n\
         To: <{to}>\r\n\
         Subject: Protocollo n. {n}: trasmissione della documentazione\r\n\
         Message-ID: <bench.{n}@{DOMAIN}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n",
        to = recipient(n),
    )
    .into_bytes();
    let mut line = 0usize;
    while text.len() < MESSAGE_SIZE {
        let room = MESSAGE_SIZE - text.len();
        let body = format!(
            "Riga {line} della pratica {n}: si trasmette la documentazione richiesta, \
             cordiali saluti."
        );
        if room < body.len() + 2 + 8 {
            // The last line, filled to the exact size.
            text.extend(std::iter::repeat_n(b'-', room - 2));
            text.extend_from_slice(b"\r\n");
        } else {
            text.extend_from_slice(body.as_bytes());
            text.extend_from_slice(b"\r\n");
        }
        line += 1;
    }
    assert_eq!(text.len(), MESSAGE_SIZE, "message {n}");
    text
}

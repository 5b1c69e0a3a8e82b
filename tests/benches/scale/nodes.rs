//! Several `postino serve` nodes on the one database, as an installation
//! scales out: for each number of nodes, outbound then inbound
//! throughput, and how the nodes use PostgreSQL's connections.
//!
//! - Outbound: with no node running, the bench queues messages (4 KB, one
//!   remote recipient each, from a hosted domain with DKIM keys, so each
//!   is signed twice) through `Store::append`, starts the nodes, and times
//!   their delivery to a loopback sink (`tests/src/sink.rs`); the rate is
//!   taken between the first and the last message the sink accepts. The
//!   queue is leased per message, so the nodes share it; each sends
//!   through at most `delivery.max_connections_per_domain` (5) connections.
//! - Inbound: [`CONNECTIONS`] SMTP clients, spread evenly over the nodes'
//!   MX listeners, each delivering 4 KB messages to random mailboxes one
//!   after another for the set time; every 250 counts.
//! - Connections: while the inbound load runs, each node also holds
//!   [`IDLE_SESSIONS`] IMAP sessions in IDLE, and `pg_stat_activity` is
//!   read every quarter second; the table shows, per node (its
//!   `application_name`), the most connections seen, the most running a
//!   statement at once, and those listening for change notifications.
//!   Each node has one pool (`store.max_connections`, 16 by default) and
//!   one listener, whatever its sessions.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastrand::Rng;
use postino_common::store::{Location, NewMessage, Outbound, OutboundRecipient, Store};
use postino_tests::bench::{self, percentile};
use postino_tests::dns::DnsStub;
use postino_tests::imap::ImapClient;
use postino_tests::sink::Sink;
use postino_tests::smtp::data;
use postino_tests::{Server, TestConfig};
use sqlx::PgConnection;
use tokio::task::JoinSet;

use crate::database::{self, Connections};
use crate::population::{self, Layout};
use crate::probe::{self, PASSWORD, SENDER};

/// SMTP clients of the inbound load, shared by the nodes.
pub const CONNECTIONS: usize = 24;
/// IMAP sessions each node holds in IDLE during the inbound load.
pub const IDLE_SESSIONS: usize = 50;
/// The hosted domain outbound mail comes from, and its sender.
const OUT_DOMAIN: usize = 0;
/// The outside domain, routed to the sink.
const REMOTE_DOMAIN: &str = "esterno.example";
/// How long queued mail may take to leave, at most.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// The configuration of node `k` on the database at `url`: its own
/// loopback ports and host name, `application_name` `postino-node{k}`,
/// the DNS stub as its only nameserver, plain-text IMAP logins, room for
/// the bench's clients from 127.0.0.1, and [`REMOTE_DOMAIN`] routed to
/// `sink`.
pub fn node(url: &str, k: usize, dns: &DnsStub, sink: SocketAddr) -> TestConfig {
    let separator = if url.contains('?') { '&' } else { '?' };
    let config =
        TestConfig::on_postgres(&format!("{url}{separator}application_name=postino-node{k}"));
    config.replace(
        "hostname = \"mx.postino.test\"",
        &format!("hostname = \"node{k}.postino.test\""),
    );
    config.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
    crate::bodies::configure(&config);
    config.set("imap", "allow_plaintext_auth = true");
    config.set("imap", "max_connections_per_ip = 500");
    config.set("smtp", "max_connections_per_ip = 100");
    config.set(
        "delivery.routes",
        &format!("{REMOTE_DOMAIN:?} = \"{sink}\""),
    );
    config
}

/// What one number of nodes did.
pub struct Run {
    pub nodes: usize,
    pub outbound: usize,
    /// Between the first and the last message at the sink.
    pub outbound_steady: Duration,
    pub inbound: usize,
    pub inbound_elapsed: Duration,
    /// One inbound message's latency, MAIL to 250, sorted.
    pub latencies: Vec<Duration>,
    /// The most seen of each node's connections.
    pub connections: Vec<Connections>,
    pub warnings: Vec<String>,
}

/// Runs `counts` nodes in turn on the database, `outbound` queued
/// messages and `seconds` of inbound load each.
pub async fn run(
    url: &str,
    conn: &mut PgConnection,
    target: (&Layout, usize),
    dns: &DnsStub,
    counts: &[usize],
    outbound: usize,
    seconds: u64,
) -> Vec<Run> {
    let mut runs = Vec::new();
    for &nodes in counts {
        eprintln!("scale: {nodes} node(s)");
        let sink = Sink::start(&["250 2.0.0 ok"])
            .await
            .expect("start the sink");
        let configs: Vec<TestConfig> = (1..=nodes)
            .map(|k| node(url, k, dns, sink.addr()))
            .collect();
        sign_outbound(&configs[0], conn).await;
        enqueue(url, outbound, nodes).await;
        let started = Instant::now();
        let mut servers = Vec::new();
        for config in &configs {
            servers.push(Server::start(config).await);
        }
        let (first, last) = drained(&sink, outbound, started).await;
        check_sink(&sink, outbound);
        wait_queue_empty(conn).await;
        let idle = idle_sessions(&configs, target).await;
        let mx: Vec<SocketAddr> = configs.iter().map(|c| c.listeners.smtp_mx).collect();
        let inbound_started = Instant::now();
        let (load, connections) = tokio::join!(
            inbound(&mx, target, seconds, nodes),
            busiest(conn, Duration::from_secs(seconds))
        );
        let inbound_elapsed = inbound_started.elapsed();
        drop(idle);
        let mut warnings = Vec::new();
        for (k, server) in servers.iter_mut().enumerate() {
            let node = format!("node {}", k + 1);
            warnings.extend(bench::warning_notes(
                &node,
                &bench::stop_server(server).await,
                3,
            ));
        }
        let (inbound, mut latencies) = load;
        latencies.sort_unstable();
        runs.push(Run {
            nodes,
            outbound,
            outbound_steady: last - first,
            inbound,
            inbound_elapsed,
            latencies,
            connections,
            warnings,
        });
    }
    runs
}

/// Gives the outbound domain its DKIM keys, once per database.
async fn sign_outbound(config: &TestConfig, conn: &mut PgConnection) {
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dkim_keys WHERE domain_id = $1")
        .bind(OUT_DOMAIN as i64 + 1)
        .fetch_one(conn)
        .await
        .expect("count DKIM keys");
    if keys == 0 {
        let domain = population::domain_name(OUT_DOMAIN);
        config.cli(&["dkim", "generate", &domain], None).await.ok();
    }
}

fn out_sender() -> String {
    format!("protocollo@{}", population::domain_name(OUT_DOMAIN))
}

/// Queues `count` messages for the sink from 16 tasks, as submission
/// queues them (with their `Return-Path` line); `round` tells the runs'
/// messages apart.
async fn enqueue(url: &str, count: usize, round: usize) {
    const TASKS: usize = 16;
    let store = Store::open(
        Location::Postgres(url),
        TASKS as u32,
        crate::bodies::blob_store(),
    )
    .await
    .expect("open the store");
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            for n in (task..count).step_by(TASKS) {
                let to = format!("ufficio{:02}@{REMOTE_DOMAIN}", n % 20);
                let mut raw = format!("Return-Path: <{}>\r\n", out_sender()).into_bytes();
                raw.extend_from_slice(probe::note(&format!("out.{round}.{n}"), &to).as_bytes());
                let message = NewMessage {
                    raw: Arc::from(raw),
                    targets: Vec::new(),
                    outbound: vec![Outbound {
                        sender: out_sender(),
                        recipients: vec![OutboundRecipient {
                            address: to,
                            ..OutboundRecipient::default()
                        }],
                        ..Outbound::default()
                    }],
                    sent_by: None,
                };
                let stored = store.append(message).await.expect("queue a message");
                assert!(stored.is_ok(), "message {n} refused: {stored:?}");
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a queueing task panicked");
    }
    store.close().await;
}

/// Waits until the sink has `count` messages; when the first and the last
/// came, from `started`.
async fn drained(sink: &Sink, count: usize, started: Instant) -> (Duration, Duration) {
    let mut first = None;
    loop {
        let answered = sink.answered();
        if answered > 0 && first.is_none() {
            first = Some(started.elapsed());
        }
        if answered >= count {
            let last = started.elapsed();
            return (first.unwrap_or(last), last);
        }
        assert!(
            started.elapsed() < DRAIN_LIMIT,
            "the sink got {answered} of {count} messages in {DRAIN_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Fails unless the sink got each queued message once.
fn check_sink(sink: &Sink, count: usize) {
    let received = sink.received();
    let ids: HashSet<Vec<u8>> = received
        .iter()
        .filter_map(|m| {
            let at = m.content.windows(13).position(|w| w == b"Message-ID: <")?;
            let rest = &m.content[at..];
            let end = rest.iter().position(|&b| b == b'>')?;
            Some(rest[..end].to_vec())
        })
        .collect();
    assert_eq!(
        received.len(),
        count,
        "the sink got {} messages",
        received.len()
    );
    assert_eq!(ids.len(), count, "some messages reached the sink twice");
}

async fn wait_queue_empty(conn: &mut PgConnection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queue")
            .fetch_one(&mut *conn)
            .await
            .expect("count the queue");
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{left} messages still queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`IDLE_SESSIONS`] sessions per node, logged in, INBOX selected, in IDLE.
async fn idle_sessions(configs: &[TestConfig], target: (&Layout, usize)) -> Vec<ImapClient> {
    let mut sessions = Vec::new();
    let address = population::address(target.0, 1);
    for config in configs {
        for _ in 0..IDLE_SESSIONS {
            let mut client = ImapClient::connect(config.listeners.imap).await;
            client
                .command(&format!("LOGIN {address} {PASSWORD}"))
                .await
                .ok();
            client.command("SELECT INBOX").await.ok();
            client.send_line("idle IDLE").await;
            let line = client.read_line().await;
            assert!(line.starts_with('+'), "IDLE answered {line:?}");
            sessions.push(client);
        }
    }
    sessions
}

/// The inbound load: [`CONNECTIONS`] clients over the nodes for
/// `seconds`; the messages accepted and their latencies.
async fn inbound(
    mx: &[SocketAddr],
    target: (&Layout, usize),
    seconds: u64,
    round: usize,
) -> (usize, Vec<Duration>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = JoinSet::new();
    for c in 0..CONNECTIONS {
        let addr = mx[c % mx.len()];
        let recipients: Vec<String> = {
            let mut rng = Rng::with_seed((round * 1_000 + c) as u64);
            (0..64)
                .map(|_| {
                    let i = loop {
                        let i = rng.usize(0..target.1);
                        if !population::is_special(i) {
                            break i;
                        }
                    };
                    population::address(target.0, i)
                })
                .collect()
        };
        tasks.spawn(async move {
            let mut client = probe::smtp_client(addr).await;
            let mut latencies = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                let to = &recipients[n % recipients.len()];
                let started = Instant::now();
                client
                    .command(&format!("MAIL FROM:<{SENDER}>"))
                    .await
                    .expect(250, "2.1.0");
                client
                    .command(&format!("RCPT TO:<{to}>"))
                    .await
                    .expect(250, "2.1.5");
                let tag = format!("in.{round}.{c}.{n}");
                data(&mut client, probe::note(&tag, to).as_bytes())
                    .await
                    .expect(250, "2.0.0");
                latencies.push(started.elapsed());
                n += 1;
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined.expect("an SMTP client panicked"));
    }
    (latencies.len(), latencies)
}

/// Reads the nodes' connections every quarter second for `span`; the
/// most seen of each count, per node.
async fn busiest(conn: &mut PgConnection, span: Duration) -> Vec<Connections> {
    let deadline = Instant::now() + span;
    let mut most: Vec<Connections> = Vec::new();
    while Instant::now() < deadline {
        for seen in database::connections(conn)
            .await
            .expect("read pg_stat_activity")
        {
            match most.iter_mut().find(|m| m.node == seen.node) {
                Some(m) => {
                    m.total = m.total.max(seen.total);
                    m.listening = m.listening.max(seen.listening);
                    m.active = m.active.max(seen.active);
                }
                None => most.push(seen),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    most
}

/// Prints the runs as a table, with the connections per node below.
pub fn report(runs: &[Run]) {
    println!();
    println!("== nodes on one PostgreSQL ==");
    println!(
        "{:>5} {:>9} {:>10} {:>9} {:>10} {:>8} {:>8}",
        "nodes", "out msgs", "out msg/s", "in msgs", "in msg/s", "p50 ms", "p99 ms"
    );
    for run in runs {
        let millis = |p| percentile(&run.latencies, p).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
        println!(
            "{:>5} {:>9} {:>10.1} {:>9} {:>10.1} {:>8.1} {:>8.1}",
            run.nodes,
            run.outbound,
            run.outbound.saturating_sub(1) as f64 / run.outbound_steady.as_secs_f64(),
            run.inbound,
            run.inbound as f64 / run.inbound_elapsed.as_secs_f64(),
            millis(50),
            millis(99),
        );
    }
    println!();
    println!(
        "PostgreSQL connections per node (most seen during the inbound load, with {IDLE_SESSIONS} \
         IMAP sessions in IDLE on each node):"
    );
    println!(
        "{:>5} {:<16} {:>6} {:>7} {:>10}",
        "nodes", "node", "total", "active", "listening"
    );
    for run in runs {
        for c in &run.connections {
            println!(
                "{:>5} {:<16} {:>6} {:>7} {:>10}",
                run.nodes, c.node, c.total, c.active, c.listening
            );
        }
    }
    for run in runs {
        for warning in &run.warnings {
            println!("{warning}");
        }
    }
}

//! Append throughput of the mailbox store, on SQLite and on PostgreSQL.
//!
//! It measures the store benchmark of the project's issue: appends per second
//! of 20 KB messages into one folder from 16 concurrent tasks, each append
//! durably committed. For each backend it opens a fresh store (SQLite in a
//! temporary directory; PostgreSQL in a new database on the test server,
//! dropped at the end) with one domain and one account, warms up, then has 16
//! tokio tasks append distinct RFC 5322 messages into the account's INBOX. It
//! prints messages/s, MB/s (10^6 bytes) and the p50/p99 latency of one append,
//! then checks that the INBOX holds every message appended and that the usage
//! counters are exact; a failed check fails the run. Timings are reported,
//! never asserted.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p postino-common --bench append --features testing
//! cargo bench -p postino-common --bench append --features testing -- --backend sqlite --messages 10000
//! ```
//!
//! `--backend sqlite|postgres|both` picks the stores (default both);
//! `--messages N`, or `POSTINO_BENCH_MESSAGES`, the measured appends (default
//! 2,000), shared evenly by the tasks. The `testing` feature provides the
//! PostgreSQL database helpers, so the server is reached as the store tests
//! reach it: at `POSTINO_TEST_DATABASE_URL`, by default the local one.

use std::error::Error as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use thiserror::Error;
use tokio::task::{JoinError, JoinSet};

use postino_common::address::{Address, DomainName};
use postino_common::blobs::BlobStore;
use postino_common::store::testing::{create_postgres_database, drop_postgres_database};
use postino_common::store::{
    AppendTarget, Backend, Location, NewAccount, NewDomain, NewMessage, Refusal, Store, StoreError,
};

/// Tasks appending at the same time.
const TASKS: usize = 16;
/// Bytes in every message.
const MESSAGE_SIZE: usize = 20 * 1024;
/// Measured appends when neither `--messages` nor the variable says.
const DEFAULT_MESSAGES: usize = 2_000;
/// Appends of each task before the clock starts.
const WARM_UP_PER_TASK: usize = 4;
/// The default of the `store.max_connections` setting.
const MAX_CONNECTIONS: u32 = 16;
/// Characters in a line of body text, before its CRLF.
const LINE_WIDTH: usize = 72;

const DOMAIN: &str = "bench.example.it";
const ACCOUNT: &str = "protocollo@bench.example.it";

#[derive(Debug, Error)]
enum BenchError {
    #[error("{0}; usage: append [--backend sqlite|postgres|both] [--messages N]")]
    Usage(String),
    #[error("failed to create a temporary directory")]
    TempDir(#[source] std::io::Error),
    #[error("failed to {what}")]
    Store {
        what: &'static str,
        #[source]
        source: StoreError,
    },
    #[error("an append was refused")]
    Refused(#[source] Refusal),
    #[error("an append task failed")]
    Task(#[from] JoinError),
    #[error("check failed: {0}")]
    Check(String),
}

/// Wraps a store error with what the bench was doing.
fn failed(what: &'static str) -> impl FnOnce(StoreError) -> BenchError {
    move |source| BenchError::Store { what, source }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("append bench: {err}");
            let mut cause = err.source();
            while let Some(inner) = cause {
                eprintln!("  caused by: {inner}");
                cause = inner.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BenchError> {
    let args = Args::parse()?;
    println!(
        "{} appends of {MESSAGE_SIZE}-byte messages into one folder from {TASKS} tasks, \
         after {} warm-up appends",
        args.messages,
        WARM_UP_PER_TASK * TASKS
    );
    println!();
    println!(
        "{:<10} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8}",
        "backend", "messages", "seconds", "msg/s", "MB/s", "p50 ms", "p99 ms"
    );
    for backend in args.backends {
        let m = on_fresh_store(backend, args.messages).await?;
        let seconds = m.elapsed.as_secs_f64();
        let millis = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:<10} {:>8} {:>8.2} {:>8.1} {:>7.2} {:>8.2} {:>8.2}",
            name(backend),
            m.latencies.len(),
            seconds,
            m.latencies.len() as f64 / seconds,
            (m.latencies.len() * MESSAGE_SIZE) as f64 / seconds / 1e6,
            millis(percentile(&m.latencies, 50)),
            millis(percentile(&m.latencies, 99)),
        );
    }
    Ok(())
}

struct Args {
    backends: Vec<Backend>,
    messages: usize,
}

impl Args {
    fn parse() -> Result<Args, BenchError> {
        let mut backends = vec![Backend::Sqlite, Backend::Postgres];
        let mut messages = match std::env::var("POSTINO_BENCH_MESSAGES") {
            Ok(value) => count(&value)?,
            Err(_) => DEFAULT_MESSAGES,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // `cargo bench` passes this to every bench.
                "--bench" => {}
                "--backend" => {
                    backends = match args.next().as_deref() {
                        Some("sqlite") => vec![Backend::Sqlite],
                        Some("postgres") => vec![Backend::Postgres],
                        Some("both") => vec![Backend::Sqlite, Backend::Postgres],
                        other => {
                            return Err(BenchError::Usage(format!(
                                "unknown backend `{}`",
                                other.unwrap_or_default()
                            )));
                        }
                    }
                }
                "--messages" => messages = count(&args.next().unwrap_or_default())?,
                other => return Err(BenchError::Usage(format!("unknown argument `{other}`"))),
            }
        }
        Ok(Args { backends, messages })
    }
}

/// A message count: a positive integer.
fn count(value: &str) -> Result<usize, BenchError> {
    match value.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(BenchError::Usage(format!(
            "`{value}` is not a positive number of messages"
        ))),
    }
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// One backend's run: how long the measured appends took, and each one's
/// latency, sorted.
struct Measurement {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Runs the bench on a new, empty store of `backend`, and removes it after.
async fn on_fresh_store(backend: Backend, messages: usize) -> Result<Measurement, BenchError> {
    match backend {
        Backend::Sqlite => {
            let dir = TempDir::new().map_err(BenchError::TempDir)?;
            let path = dir.path().join("postino.db");
            measure(Location::Sqlite(&path), messages).await
        }
        Backend::Postgres => {
            let (url, database) = create_postgres_database().await;
            let result = measure(Location::Postgres(&url), messages).await;
            drop_postgres_database(&database).await;
            result
        }
    }
}

async fn measure(location: Location<'_>, messages: usize) -> Result<Measurement, BenchError> {
    // Bodies in the database: this measures the database's part.
    let store = Store::open(location, MAX_CONNECTIONS, BlobStore::database())
        .await
        .map_err(failed("open the store"))?;
    let result = async {
        let inbox = create_inbox(&store).await?;
        append_concurrently(&store, inbox, 0, WARM_UP_PER_TASK * TASKS).await?;
        let started = Instant::now();
        let mut latencies = append_concurrently(&store, inbox, 1, messages).await?;
        let elapsed = started.elapsed();
        check(&store, inbox, WARM_UP_PER_TASK * TASKS + messages).await?;
        latencies.sort_unstable();
        Ok(Measurement { elapsed, latencies })
    }
    .await;
    store.close().await;
    result
}

/// Creates the domain and the account, and returns the account's INBOX.
async fn create_inbox(store: &Store) -> Result<i64, BenchError> {
    let mut tx = store.begin().await.map_err(failed("begin a transaction"))?;
    tx.create_domain(&NewDomain {
        name: DOMAIN.parse::<DomainName>().expect("valid domain name"),
        quota_bytes: 0,
        max_mailboxes: 0,
    })
    .await
    .map_err(failed("create the domain"))?;
    let account = tx
        .create_account(&NewAccount {
            address: ACCOUNT.parse::<Address>().expect("valid address"),
            display_name: "Ufficio Protocollo".to_string(),
            password_hash: None,
            quota_bytes: 0,
        })
        .await
        .map_err(failed("create the account"))?;
    tx.commit().await.map_err(failed("commit the account"))?;
    let inbox = store
        .folder(account.id, "INBOX")
        .await
        .map_err(failed("find the INBOX"))?
        .ok_or_else(|| BenchError::Check("a new account has no INBOX".to_string()))?;
    Ok(inbox.id)
}

/// Appends `total` messages from [`TASKS`] tasks and returns each append's
/// latency. `round` tells the messages of one call from those of another.
async fn append_concurrently(
    store: &Store,
    folder_id: i64,
    round: u64,
    total: usize,
) -> Result<Vec<Duration>, BenchError> {
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let appends = total / TASKS + usize::from(task < total % TASKS);
        let store = store.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(appends);
            for n in 0..appends {
                let message = NewMessage::to_folders(
                    message(round, task, n).into(),
                    vec![AppendTarget::new(folder_id)],
                );
                let started = Instant::now();
                let outcome = store
                    .append(message)
                    .await
                    .map_err(failed("append a message"))?;
                latencies.push(started.elapsed());
                outcome.map_err(BenchError::Refused)?;
            }
            Ok::<_, BenchError>(latencies)
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined??);
    }
    Ok(latencies)
}

/// Fails unless the folder holds `expected` messages of [`MESSAGE_SIZE`]
/// bytes and every usage counter matches the messages stored.
async fn check(store: &Store, folder_id: i64, expected: usize) -> Result<(), BenchError> {
    let stored = store
        .messages(folder_id)
        .await
        .map_err(failed("list the INBOX"))?;
    if stored.len() != expected {
        return Err(BenchError::Check(format!(
            "the INBOX holds {} messages, {expected} were appended",
            stored.len()
        )));
    }
    if let Some(odd) = stored.iter().find(|m| m.size != MESSAGE_SIZE as i64) {
        return Err(BenchError::Check(format!(
            "message {} has {} bytes, not {MESSAGE_SIZE}",
            odd.uid, odd.size
        )));
    }
    let drift = store
        .usage_drift()
        .await
        .map_err(failed("compare usage counters"))?;
    if !drift.is_empty() {
        return Err(BenchError::Check(format!(
            "usage counters disagree with the messages: {drift:?}"
        )));
    }
    Ok(())
}

/// The latency that `percent` % of the appends did not exceed (nearest rank).
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Message `n` of task `task` in round `round`: an RFC 5322 plain-text mail
/// of exactly [`MESSAGE_SIZE`] bytes, unlike every other message, so that no
/// two share a stored body.
fn message(round: u64, task: usize, n: usize) -> Vec<u8> {
    let id = format!("{round}.{task}.{n}");
    let date = format!(
        "Mon, 6 Oct 2025 {:02}:{:02}:{:02} +0200",
        8 + task % 10,
        n / 60 % 60,
        n % 60
    );
    let mut raw = format!(
        "Return-Path: <ufficio{task}@sender.example.org>\r\n\
         Received: from mx.sender.example.org (mx.sender.example.org [192.0.2.10])\r\n\
         \tby mx.bench.example.it (Postino) with ESMTPS id {id}\r\n\
         \tfor <{ACCOUNT}>; {date}\r\n\
         Date: {date}\r\n\
         From: Ufficio Tecnico {task} <ufficio{task}@sender.example.org>\r\n\
         To: Ufficio Protocollo <{ACCOUNT}>\r\n\
         Subject: Pratica {id}: richiesta di documentazione\r\n\
         Message-ID: <{id}.bench@sender.example.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n"
    )
    .into_bytes();
    let mut rng = SplitMix64((round << 48) ^ ((task as u64) << 32) ^ n as u64);
    loop {
        let room = MESSAGE_SIZE - raw.len();
        if room < LINE_WIDTH + 6 {
            // The last line, padded so that the message has its exact size.
            let mut last = words(&mut rng, room - 2);
            last.extend(std::iter::repeat_n('.', room - 2 - last.len()));
            raw.extend_from_slice(last.as_bytes());
            raw.extend_from_slice(b"\r\n");
            return raw;
        }
        if rng.below(8) == 0 {
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(words(&mut rng, LINE_WIDTH).as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
}

const WORDS: [&str; 32] = [
    "il",
    "la",
    "di",
    "che",
    "per",
    "con",
    "una",
    "del",
    "comune",
    "ufficio",
    "pratica",
    "domanda",
    "allegato",
    "protocollo",
    "cittadino",
    "documento",
    "richiesta",
    "termine",
    "giorni",
    "settore",
    "servizio",
    "modulo",
    "firma",
    "copia",
    "entro",
    "data",
    "numero",
    "anno",
    "sportello",
    "tributi",
    "anagrafe",
    "edilizia",
];

/// Random words separated by spaces, as many as fit in `width` characters.
fn words(rng: &mut SplitMix64, width: usize) -> String {
    let mut line = String::with_capacity(width);
    loop {
        let word = WORDS[rng.below(WORDS.len())];
        let separator = usize::from(!line.is_empty());
        if line.len() + separator + word.len() > width {
            return line;
        }
        if separator == 1 {
            line.push(' ');
        }
        line.push_str(word);
    }
}

/// A small, seedable generator: the bench needs varied text, not secrecy.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

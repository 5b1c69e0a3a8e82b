//! IMAP performance of the real `postino serve`, on SQLite and on
//! PostgreSQL: one very large folder, a login-to-logout load, and
//! thousands of connections in IDLE.
//!
//! Each backend gets a fresh configuration from the harness (SQLite in a
//! temporary data directory; PostgreSQL in a new database on the test
//! server, dropped at the end) with plaintext LOGIN allowed on loopback
//! and the IMAP connection limits raised to 10,000. The CLI creates one
//! domain and its mailboxes; the bench then opens the store itself, before
//! any server runs, and fills the folders from many concurrent tasks
//! through `Store::append`, which group-commits them and parses each
//! message once (envelope, body structure and subject are cached then, as
//! for delivered mail). The messages are plain text of about 2 KiB, with
//! subjects drawn from a vocabulary: one in [`SEARCH_EVERY`] carries
//! [`SEARCH_WORD`], one in [`UNSEEN_EVERY`] is stored without `\Seen`.
//!
//! Every scenario starts a server of its own on that store, so that each
//! resident-set figure (`VmHWM`, the peak, reset when the scenario starts;
//! `VmRSS` at its end; both from `/proc/<pid>/status`) belongs to one
//! scenario:
//!
//! 1. Large folder: one connection logs in to the mailbox holding
//!    `IMAP_BENCH_MESSAGES` messages and runs `SELECT INBOX`,
//!    `UID FETCH 1:* (UID FLAGS)`, `SEARCH SUBJECT <word>`,
//!    `UID SEARCH UNSEEN`, `SORT (REVERSE DATE)`, `SORT (SUBJECT)` and
//!    `THREAD REFERENCES` (each over ALL), `IMAP_BENCH_REPEAT` times,
//!    checking every answer's count; the first round runs on a freshly
//!    started server.
//! 2. Login to logout: `IMAP_BENCH_CLIENTS` clients, each with a mailbox
//!    of [`LOAD_FOLDER_SIZE`] messages, loop for `IMAP_BENCH_SECONDS`
//!    (after one warm-up session each) over: connect, `LOGIN`,
//!    `SELECT INBOX`, `FETCH 1:10 (FLAGS ENVELOPE)`, `UID FETCH <uid>
//!    BODY.PEEK[]`, `STORE <n> +FLAGS (\Seen)`, `NOOP`, `LOGOUT`. Every
//!    tagged command counts, LOGIN and LOGOUT included, as in the team's
//!    Dovecot baseline ([`BASELINE_COMMANDS_PER_SECOND`] on this 2-core
//!    machine; the target is [`TARGET_FACTOR`] times that).
//! 3. IDLE: `IMAP_BENCH_IDLE` connections, all of one mailbox, each
//!    logged in with `SELECT INBOX` and `IDLE`. The server's `VmRSS` is read
//!    before (after a few warm-up sessions, so that the password hashing's
//!    memory is already counted) and after they are all open; the
//!    difference per connection is the figure to hold under
//!    [`TARGET_KIB_PER_IDLE`] KiB. Then another connection APPENDs one
//!    message to that INBOX, and the bench measures, from the moment the
//!    APPEND is sent, until each idling connection has read its
//!    `* n EXISTS`.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p postino-tests --bench imap
//! IMAP_BENCH_BACKENDS=sqlite IMAP_BENCH_MESSAGES=10000 IMAP_BENCH_SECONDS=5 \
//!     IMAP_BENCH_IDLE=500 cargo bench -p postino-tests --bench imap
//! ```
//!
//! The settings, all from the environment: `IMAP_BENCH_BACKENDS`
//! (`sqlite`, `postgres` or `both`, the default), `IMAP_BENCH_MESSAGES`
//! (100,000), `IMAP_BENCH_REPEAT` (3), `IMAP_BENCH_CLIENTS` (20),
//! `IMAP_BENCH_SECONDS` (20) and `IMAP_BENCH_IDLE` (5,000); 0 messages,
//! seconds or IDLE connections skips that scenario. PostgreSQL is reached
//! as the tests reach it, at `POSTINO_TEST_DATABASE_URL`. `cargo bench`
//! builds in the release profile, and the harness builds the `postino`
//! binary in the profile of the executable that asks for it: the server
//! measured is the release build.
//!
//! The IDLE scenario holds one socket per connection in this process and
//! one in the server, which inherits this process's limits: the bench
//! raises its soft `RLIMIT_NOFILE` up to the hard limit when it needs to,
//! and stops with a message if the hard limit is too low (then run it after
//! `ulimit -n 20000`, or with fewer IDLE connections). The server's own
//! limit is read from `/proc/<pid>/limits` and reported.
//!
//! Nothing waits without a bound: each response at most [`REPLY_LIMIT`],
//! each backend's run at most [`run_limit`]. All traffic stays on
//! 127.0.0.1, and the clients share the machine's cores with the server:
//! compare numbers taken on one machine. Timings are reported, never
//! asserted. A wrong answer or a failed session is reported below the
//! tables and makes the bench exit with failure; the server's warnings
//! (such as sqlx's slow statements) are quoted there too.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::ops::Range;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use postino_common::store::{AppendTarget, Flags, NewMessage, Store};
use postino_tests::bench::{
    self, env_backends, env_number, percentile, status_kib, stop_server, warning_notes,
};
use postino_tests::{Backend, Server, TestConfig, postino_binary, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// The hosted domain.
const DOMAIN: &str = "archivio.esempio.pu.it";
/// The password of every mailbox.
const PASSWORD: &str = "parola-chiave-del-banco";
/// The mailbox with the large folder (scenario 1).
const LARGE: &str = "protocollo@archivio.esempio.pu.it";
/// The mailbox every IDLE connection logs in to (scenario 3).
const IDLER: &str = "centralino@archivio.esempio.pu.it";
/// Messages in each load client's INBOX (scenario 2).
const LOAD_FOLDER_SIZE: u32 = 100;
/// Messages in the IDLE mailbox's INBOX before the delivery.
const IDLE_FOLDER_SIZE: u32 = 10;
/// The word `SEARCH SUBJECT` looks for; no other subject word contains it.
const SEARCH_WORD: &str = "sollecito";
/// One message in this many has [`SEARCH_WORD`] in its subject.
const SEARCH_EVERY: u32 = 10;
/// One message in this many is stored without `\Seen`.
const UNSEEN_EVERY: u32 = 4;
/// Tasks appending at once while the folders are filled: enough to fill
/// the store's group commits (up to 256 messages each).
const APPEND_TASKS: usize = 512;
/// How long a client waits for one response.
const REPLY_LIMIT: Duration = Duration::from_secs(30);
/// IDLE connections being set up at once; the rest wait their turn, so
/// that none waits long for its LOGIN behind the password hashing.
const IDLE_SETUP_CONCURRENCY: usize = 64;
/// Full IDLE sessions run before the resident set is read the first time.
const IDLE_WARM_UP: usize = 4;
/// How long the server is left to settle before its resident set is read.
const SETTLE: Duration = Duration::from_secs(1);
/// File descriptors kept free besides the IDLE connections' sockets.
const SPARE_FILES: u64 = 1024;
/// The team's figure for Dovecot, login to logout, on this 2-core machine.
const BASELINE_COMMANDS_PER_SECOND: f64 = 1400.0;
/// How much faster than the baseline Postino is meant to be.
const TARGET_FACTOR: f64 = 1.5;
/// The most server memory one IDLE connection is meant to hold.
const TARGET_KIB_PER_IDLE: f64 = 16.0;
/// Failures and server log lines quoted after the tables, at most.
const QUOTED: usize = 5;

/// The steps of one login-to-logout session, each a tagged command.
const STEPS: [&str; 7] = [
    "LOGIN",
    "SELECT",
    "FETCH 1:10",
    "UID FETCH",
    "STORE",
    "NOOP",
    "LOGOUT",
];

/// The longest one backend's run may take, filling the store included:
/// generous, so that only a stuck or broken server reaches it.
fn run_limit(settings: &Settings) -> Duration {
    let per_message = Duration::from_millis(10).saturating_mul(settings.messages as u32);
    let per_idle = Duration::from_millis(100).saturating_mul(settings.idle as u32);
    Duration::from_secs(300 + settings.seconds) + per_message + per_idle
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let Some(settings) = bench::settings(
        "imap",
        "IMAP_BENCH_BACKENDS, IMAP_BENCH_MESSAGES, IMAP_BENCH_REPEAT, IMAP_BENCH_CLIENTS, \
         IMAP_BENCH_SECONDS or IMAP_BENCH_IDLE",
        Settings::from_env,
    ) else {
        return ExitCode::FAILURE;
    };
    if settings.idle > 0
        && let Err(message) = raise_open_files(settings.idle as u64 + SPARE_FILES)
    {
        eprintln!("imap bench: {message}");
        return ExitCode::FAILURE;
    }
    // Built before anything is timed: the first build takes minutes.
    let binary = postino_binary();
    println!("server: {}", binary.display());
    println!("{settings}");
    let mut reports = Vec::new();
    for &backend in &settings.backends {
        let report = within(run_limit(&settings), run(backend, &settings)).await;
        reports.push(report);
    }
    println!();
    print_large_folder(&settings, &reports);
    print_load(&settings, &reports);
    print_idle(&settings, &reports);
    let notes: Vec<String> = reports.iter().flat_map(Report::notes).collect();
    if !notes.is_empty() {
        println!();
        for note in &notes {
            println!("{note}");
        }
    }
    if reports.iter().any(Report::failed) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// What to run, from `IMAP_BENCH_*`.
struct Settings {
    backends: Vec<Backend>,
    messages: usize,
    repeat: usize,
    clients: usize,
    seconds: u64,
    idle: usize,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let backends = env_backends("IMAP_BENCH_BACKENDS")?;
        let settings = Settings {
            backends,
            messages: env_number("IMAP_BENCH_MESSAGES", 100_000)?,
            repeat: env_number("IMAP_BENCH_REPEAT", 3)?.max(1),
            clients: env_number("IMAP_BENCH_CLIENTS", 20)?,
            seconds: env_number("IMAP_BENCH_SECONDS", 20)? as u64,
            idle: env_number("IMAP_BENCH_IDLE", 5_000)?,
        };
        if settings.seconds > 0 && settings.clients == 0 {
            return Err("IMAP_BENCH_CLIENTS must be at least 1".to_string());
        }
        Ok(settings)
    }
}

impl std::fmt::Display for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "large folder: {} messages of ~2 KiB, {} rounds; login-to-logout: {} clients for {} s; \
             IDLE: {} connections",
            self.messages, self.repeat, self.clients, self.seconds, self.idle
        )
    }
}

/// Raises this process's soft limit on open files to `needed` if it is
/// lower; the server started later inherits it.
fn raise_open_files(needed: u64) -> Result<(), String> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited.
    if limit.current.is_none_or(|current| current >= needed) {
        return Ok(());
    }
    if limit.maximum.is_some_and(|maximum| maximum < needed) {
        return Err(format!(
            "the IDLE scenario needs {needed} open files, and the hard limit is {}: run \
             `ulimit -n {needed}` where allowed, or lower IMAP_BENCH_IDLE",
            limit.maximum.unwrap_or_default()
        ));
    }
    let raised = Rlimit {
        current: Some(needed),
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, raised)
        .map_err(|err| format!("cannot raise the open files limit to {needed}: {err}"))
}

/// The server's resident set at the end of a scenario, in KiB.
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    /// `VmHWM`: the peak since the scenario started.
    peak: Option<u64>,
    /// `VmRSS`.
    current: Option<u64>,
}

impl Memory {
    fn of(pid: u32) -> Memory {
        Memory {
            peak: status_kib(pid, "VmHWM"),
            current: status_kib(pid, "VmRSS"),
        }
    }
}

/// Resets the peak resident set of process `pid` to its current one
/// (`clear_refs`, proc(5)); false if the kernel did not allow it.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The soft limit on open files of process `pid`, as `/proc/<pid>/limits`
/// words it (a number or `unlimited`).
fn open_files_limit(pid: u32) -> Option<String> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3).map(str::to_string)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |kib| {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    })
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e3)
}

fn percentile_millis(sorted: &[Duration], percent: usize) -> String {
    percentile(sorted, percent).map_or("-".to_string(), millis)
}

/// Everything measured on one backend.
struct Report {
    backend: Backend,
    /// Messages stored through the store API before the scenarios, and
    /// how long it took.
    filled: (usize, Duration),
    large: Option<LargeFolder>,
    load: Option<LoadRun>,
    idle: Option<IdleRun>,
    /// Whether the peak resident set could be reset at each start.
    peak_reset: bool,
    /// Lines of the servers' logs at WARN or ERROR.
    warnings: Vec<String>,
}

impl Report {
    fn failed(&self) -> bool {
        let large = self.large.as_ref().is_some_and(|large| {
            large.failure.is_some() || large.commands.iter().any(|c| c.answers != c.expected)
        });
        let load = self
            .load
            .as_ref()
            .is_some_and(|load| !load.failures.is_empty());
        let idle = self
            .idle
            .as_ref()
            .is_some_and(|idle| !idle.failures.is_empty());
        large || load || idle
    }

    /// What to say below the tables about this backend.
    fn notes(&self) -> Vec<String> {
        let backend = self.backend.name();
        let (stored, took) = self.filled;
        let mut notes = vec![format!(
            "{backend}: filled the store with {stored} messages in {:.1} s ({:.0} msg/s through \
             Store::append, before the server started)",
            took.as_secs_f64(),
            stored as f64 / took.as_secs_f64().max(1e-9)
        )];
        if let Some(large) = &self.large {
            if let Some(failure) = &large.failure {
                notes.push(format!("{backend} large folder: failed: {failure}"));
            }
            for command in large.commands.iter().filter(|c| c.answers != c.expected) {
                notes.push(format!(
                    "{backend} large folder: {} answered {} messages, expected {}",
                    command.name, command.answers, command.expected
                ));
            }
        }
        if let Some(load) = &self.load {
            let per_second = load.per_second();
            let baseline = BASELINE_COMMANDS_PER_SECOND;
            notes.push(format!(
                "{backend} login-to-logout: {per_second:.0} commands/s is {:.2}x the Dovecot \
                 baseline of {baseline:.0}/s (target {:.0}/s)",
                per_second / baseline,
                baseline * TARGET_FACTOR
            ));
            if !load.failures.is_empty() {
                notes.push(format!(
                    "{backend} login-to-logout: {} clients failed, for example: {}",
                    load.failures.len(),
                    quoted(&load.failures)
                ));
            }
        }
        if let Some(idle) = &self.idle {
            if let Some(per_connection) = idle.kib_per_connection() {
                let verdict = if per_connection <= TARGET_KIB_PER_IDLE {
                    "within"
                } else {
                    "over"
                };
                notes.push(format!(
                    "{backend} IDLE: {per_connection:.1} KiB per connection, {verdict} the \
                     target of {TARGET_KIB_PER_IDLE} KiB"
                ));
            }
            let needed = idle.connections as u64 + 16;
            match idle.open_files.as_deref() {
                Some("unlimited") => {}
                Some(limit) if limit.parse::<u64>().is_ok_and(|l| l >= needed) => {}
                other => notes.push(format!(
                    "{backend} IDLE: the server's open files limit is {}, too low for {} \
                     connections; postino does not raise it, its service manager must",
                    other.unwrap_or("unknown"),
                    idle.connections
                )),
            }
            if !idle.failures.is_empty() {
                notes.push(format!(
                    "{backend} IDLE: {} connections failed, for example: {}",
                    idle.failures.len(),
                    quoted(&idle.failures)
                ));
            }
        }
        if !self.peak_reset {
            notes.push(format!(
                "{backend}: the peak RSS could not be reset; it counts from each server's start"
            ));
        }
        notes.extend(warning_notes(backend, &self.warnings, QUOTED));
        notes
    }
}

fn quoted(failures: &[String]) -> String {
    failures
        .iter()
        .take(QUOTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Runs the scenarios on a fresh store of `backend`, and removes it.
async fn run(backend: Backend, settings: &Settings) -> Report {
    let config = TestConfig::new(backend).await;
    config.set("imap", "allow_plaintext_auth = true");
    config.set("imap", "max_connections = 10000");
    config.set("imap", "max_connections_per_ip = 10000");
    // Nothing here resolves names; should anything try, it stays on
    // loopback (the discard port) instead of asking the system's resolver.
    config.set("dns", "nameservers = [\"127.0.0.1:9\"]");
    let loaders: Vec<String> = (0..settings.clients).map(load_mailbox).collect();
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    let password = format!("{PASSWORD}\n");
    for address in [LARGE, IDLER]
        .into_iter()
        .chain(loaders.iter().map(String::as_str))
    {
        config
            .cli(
                &["mailbox", "add", address, "--password-stdin"],
                Some(&password),
            )
            .await
            .ok();
    }
    let store = config.open_store().await;
    let mut plan = Vec::new();
    let mut folders = Vec::new();
    let mut fill = |folder_id: i64, count: u32| {
        plan.extend((0..count).map(|n| (folder_id, n)));
        folders.push((folder_id, count));
    };
    fill(inbox(&store, LARGE).await, settings.messages as u32);
    fill(inbox(&store, IDLER).await, IDLE_FOLDER_SIZE);
    if settings.seconds > 0 {
        for address in &loaders {
            fill(inbox(&store, address).await, LOAD_FOLDER_SIZE);
        }
    }
    eprintln!("{}: storing {} messages", backend.name(), plan.len());
    let stored = plan.len();
    let took = fill_folders(&store, plan, &folders).await;
    store.close().await;

    let mut report = Report {
        backend,
        filled: (stored, took),
        large: None,
        load: None,
        idle: None,
        peak_reset: true,
        warnings: Vec::new(),
    };
    let addr = config.listeners.imap;
    if settings.messages > 0 {
        eprintln!("{}: large folder", backend.name());
        let mut server = start(&config, &mut report).await;
        let mut large = large_folder(addr, settings).await;
        large.memory = Memory::of(server.id());
        report.warnings.extend(stop_server(&mut server).await);
        report.large = Some(large);
    }
    if settings.seconds > 0 {
        eprintln!("{}: login to logout", backend.name());
        let mut server = start(&config, &mut report).await;
        let mut load = load(addr, settings).await;
        load.memory = Memory::of(server.id());
        report.warnings.extend(stop_server(&mut server).await);
        report.load = Some(load);
    }
    if settings.idle > 0 {
        eprintln!("{}: IDLE", backend.name());
        let mut server = start(&config, &mut report).await;
        let idle = idle(addr, server.id(), settings.idle, run_limit(settings)).await;
        report.warnings.extend(stop_server(&mut server).await);
        report.idle = Some(idle);
    }
    report
}

/// Starts a server and resets its peak resident set.
async fn start(config: &TestConfig, report: &mut Report) -> Server {
    let server = Server::start(config).await;
    report.peak_reset &= reset_peak(server.id());
    server
}

/// Load client `i`'s mailbox.
fn load_mailbox(i: usize) -> String {
    format!("sportello{i:02}@{DOMAIN}")
}

/// The id of a mailbox's INBOX.
async fn inbox(store: &Store, address: &str) -> i64 {
    let account = store
        .account(address)
        .await
        .expect("read an account")
        .unwrap_or_else(|| panic!("mailbox {address} was not created"));
    store
        .folder(account.id, "INBOX")
        .await
        .expect("read a folder")
        .unwrap_or_else(|| panic!("{address} has no INBOX"))
        .id
}

/// Stores message `n` into folder `folder_id` for each `(folder_id, n)` of
/// `plan`, from [`APPEND_TASKS`] tasks, with no server running; then checks
/// that each of `folders` holds its count. Returns how long storing took.
async fn fill_folders(store: &Store, plan: Vec<(i64, u32)>, folders: &[(i64, u32)]) -> Duration {
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..APPEND_TASKS {
        let (store, plan, next) = (store.clone(), plan.clone(), next.clone());
        tasks.spawn(async move {
            while let Some(&(folder_id, n)) = plan.get(next.fetch_add(1, Ordering::Relaxed)) {
                let mut target = AppendTarget::new(folder_id);
                if !n.is_multiple_of(UNSEEN_EVERY) {
                    target.flags = Flags::SEEN;
                }
                let raw = message(n, folder_id as u64);
                match store
                    .append(NewMessage::to_folders(raw.into(), vec![target]))
                    .await
                {
                    Ok(Ok(_)) => {}
                    Ok(Err(refusal)) => panic!("message {n} was refused: {refusal}"),
                    Err(err) => panic!("message {n} was not stored: {err:?}"),
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("an append task panicked");
    }
    let took = started.elapsed();
    for &(folder_id, count) in folders {
        let uids = store.message_uids(folder_id).await.expect("list a folder");
        assert_eq!(
            uids.len(),
            count as usize,
            "folder {folder_id} holds {} messages, not the {count} stored",
            uids.len()
        );
    }
    took
}

/// One command of the large-folder scenario, over its rounds.
struct Timed {
    name: String,
    /// Its duration in each round, the first on a fresh server.
    durations: Vec<Duration>,
    /// Messages in the answer of the last round (EXISTS, FETCH responses,
    /// numbers found), and how many there should be.
    answers: usize,
    expected: usize,
}

struct LargeFolder {
    commands: Vec<Timed>,
    /// Why the rounds stopped early, if they did.
    failure: Option<String>,
    memory: Memory,
}

/// Scenario 1: the large folder's commands, `settings.repeat` times.
async fn large_folder(addr: SocketAddr, settings: &Settings) -> LargeFolder {
    let total = settings.messages as u32;
    let search = format!("SEARCH SUBJECT {SEARCH_WORD}");
    let mut large = LargeFolder {
        commands: [
            ("SELECT INBOX", total),
            ("UID FETCH 1:* (UID FLAGS)", total),
            (search.as_str(), total.div_ceil(SEARCH_EVERY)),
            ("UID SEARCH UNSEEN", total.div_ceil(UNSEEN_EVERY)),
            ("SORT (REVERSE DATE) UTF-8 ALL", total),
            ("SORT (SUBJECT) UTF-8 ALL", total),
            ("THREAD REFERENCES UTF-8 ALL", total),
        ]
        .into_iter()
        .map(|(name, expected)| Timed {
            name: name.to_string(),
            durations: Vec::new(),
            answers: 0,
            expected: expected as usize,
        })
        .collect(),
        failure: None,
        memory: Memory::default(),
    };
    if let Err(failure) = large_folder_rounds(addr, settings.repeat, &mut large.commands).await {
        large.failure = Some(failure);
    }
    large
}

async fn large_folder_rounds(
    addr: SocketAddr,
    rounds: usize,
    commands: &mut [Timed],
) -> Result<(), String> {
    let mut client = Client::connect(addr).await?;
    client.login(LARGE).await?;
    for _ in 0..rounds {
        for command in commands.iter_mut() {
            let mut answers = 0;
            let started = Instant::now();
            client
                .command(command.name.as_bytes(), |response| {
                    if let Some(exists) = exists_of(response) {
                        answers = exists as usize;
                    } else if is_fetch(response) {
                        answers += 1;
                    } else if let Some(found) = search_count(response) {
                        answers += found;
                    }
                })
                .await?;
            command.durations.push(started.elapsed());
            command.answers = answers;
        }
    }
    client.command(b"LOGOUT", |_| {}).await
}

fn print_large_folder(settings: &Settings, reports: &[Report]) {
    if settings.messages == 0 {
        return;
    }
    println!(
        "1. Large folder: {} messages, one connection, {} rounds (the first on a fresh server)",
        settings.messages, settings.repeat
    );
    println!(
        "{:<9} {:<30} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11}",
        "backend",
        "command",
        "first ms",
        "median ms",
        "best ms",
        "messages",
        "peak RSS",
        "RSS at end"
    );
    for report in reports {
        let Some(large) = &report.large else { continue };
        for command in &large.commands {
            let mut sorted = command.durations.clone();
            sorted.sort_unstable();
            let first = command
                .durations
                .first()
                .map_or("-".to_string(), |d| millis(*d));
            let best = sorted.first().map_or("-".to_string(), |d| millis(*d));
            let marked = if command.answers == command.expected {
                command.answers.to_string()
            } else {
                format!("{}!", command.answers)
            };
            println!(
                "{:<9} {:<30} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11}",
                report.backend.name(),
                command.name,
                first,
                percentile_millis(&sorted, 50),
                best,
                marked,
                mib(large.memory.peak),
                mib(large.memory.current),
            );
        }
    }
    println!();
}

/// What one load client did.
#[derive(Default)]
struct ClientLoad {
    sessions: usize,
    /// Each step's latencies, in [`STEPS`] order.
    latencies: [Vec<Duration>; STEPS.len()],
    failure: Option<String>,
}

struct LoadRun {
    clients: usize,
    elapsed: Duration,
    sessions: usize,
    /// Tagged commands answered OK.
    commands: usize,
    /// Each step's latencies, sorted.
    steps: [Vec<Duration>; STEPS.len()],
    /// Every command's latency, sorted.
    all: Vec<Duration>,
    failures: Vec<String>,
    memory: Memory,
}

impl LoadRun {
    fn per_second(&self) -> f64 {
        self.commands as f64 / self.elapsed.as_secs_f64()
    }
}

/// Scenario 2: one warm-up session per client, then the clients loop
/// until `settings.seconds` have passed.
async fn load(addr: SocketAddr, settings: &Settings) -> LoadRun {
    let warm_up = load_round(addr, settings.clients, None).await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(settings.seconds);
    let measured = load_round(addr, settings.clients, Some(deadline)).await;
    let elapsed = started.elapsed();
    let mut run = LoadRun {
        clients: settings.clients,
        elapsed,
        sessions: 0,
        commands: 0,
        steps: Default::default(),
        all: Vec::new(),
        failures: warm_up.into_iter().filter_map(|c| c.failure).collect(),
        memory: Memory::default(),
    };
    for client in measured {
        run.sessions += client.sessions;
        for (step, latencies) in run.steps.iter_mut().zip(client.latencies) {
            run.all.extend_from_slice(&latencies);
            step.extend(latencies);
        }
        run.failures.extend(client.failure);
    }
    run.commands = run.all.len();
    run.all.sort_unstable();
    for step in &mut run.steps {
        step.sort_unstable();
    }
    run
}

/// Runs `clients` clients, each looping over sessions until `deadline`,
/// or for exactly one session without one.
async fn load_round(
    addr: SocketAddr,
    clients: usize,
    deadline: Option<Instant>,
) -> Vec<ClientLoad> {
    let mut tasks = JoinSet::new();
    for i in 0..clients {
        tasks.spawn(async move {
            let mailbox = load_mailbox(i);
            let mut rng = SplitMix::new(0x10ad_0000 + i as u64);
            let mut done = ClientLoad::default();
            loop {
                if let Err(failure) = session(addr, &mailbox, &mut rng, &mut done.latencies).await {
                    done.failure = Some(format!("client {i}: {failure}"));
                    return done;
                }
                done.sessions += 1;
                if deadline.is_none_or(|deadline| Instant::now() >= deadline) {
                    return done;
                }
            }
        });
    }
    let mut done = Vec::with_capacity(clients);
    while let Some(joined) = tasks.join_next().await {
        done.push(joined.expect("a load client panicked"));
    }
    done
}

/// One login-to-logout session, each step's latency added to `latencies`.
async fn session(
    addr: SocketAddr,
    mailbox: &str,
    rng: &mut SplitMix,
    latencies: &mut [Vec<Duration>; STEPS.len()],
) -> Result<(), String> {
    let mut client = Client::connect(addr).await?;
    let [login, select, fetch, body, store, noop, logout] = latencies;
    let command = format!("LOGIN \"{mailbox}\" \"{PASSWORD}\"");
    client.timed(command.as_bytes(), login, |_| {}).await?;
    let mut exists = 0;
    client
        .timed(b"SELECT INBOX", select, |response| {
            if let Some(n) = exists_of(response) {
                exists = n;
            }
        })
        .await?;
    if exists == 0 {
        return Err(format!("{mailbox}'s INBOX is empty"));
    }
    let mut fetched = 0;
    client
        .timed(b"FETCH 1:10 (FLAGS ENVELOPE)", fetch, |response| {
            fetched += u32::from(is_fetch(response));
        })
        .await?;
    if fetched != exists.min(10) {
        return Err(format!("FETCH 1:10 answered {fetched} messages"));
    }
    // The folder was filled once, with nothing expunged: UIDs 1 to EXISTS.
    let command = format!("UID FETCH {} BODY.PEEK[]", 1 + rng.below(exists));
    let mut bodies = 0;
    client
        .timed(command.as_bytes(), body, |response| {
            bodies += u32::from(is_fetch(response));
        })
        .await?;
    if bodies != 1 {
        return Err(format!("`{command}` answered {bodies} messages"));
    }
    let command = format!("STORE {} +FLAGS (\\Seen)", 1 + rng.below(exists));
    client.timed(command.as_bytes(), store, |_| {}).await?;
    client.timed(b"NOOP", noop, |_| {}).await?;
    client.timed(b"LOGOUT", logout, |_| {}).await
}

fn print_load(settings: &Settings, reports: &[Report]) {
    if settings.seconds == 0 {
        return;
    }
    println!(
        "2. Login to logout: {} clients for {} s, 7 commands per session (LOGIN to LOGOUT); \
         Dovecot baseline {BASELINE_COMMANDS_PER_SECOND:.0} commands/s, target {:.0}",
        settings.clients,
        settings.seconds,
        BASELINE_COMMANDS_PER_SECOND * TARGET_FACTOR
    );
    println!(
        "{:<9} {:>7} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7} {:>7} {:>8} {:>11} {:>11}",
        "backend",
        "clients",
        "sessions",
        "commands",
        "seconds",
        "cmd/s",
        "sess/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "peak RSS",
        "RSS at end"
    );
    for report in reports {
        let Some(load) = &report.load else { continue };
        println!(
            "{:<9} {:>7} {:>8} {:>8} {:>7.1} {:>8.1} {:>8.1} {:>7} {:>7} {:>8} {:>11} {:>11}",
            report.backend.name(),
            load.clients,
            load.sessions,
            load.commands,
            load.elapsed.as_secs_f64(),
            load.per_second(),
            load.sessions as f64 / load.elapsed.as_secs_f64(),
            percentile_millis(&load.all, 50),
            percentile_millis(&load.all, 99),
            percentile_millis(&load.all, 100),
            mib(load.memory.peak),
            mib(load.memory.current),
        );
    }
    println!();
    println!("   per command:");
    println!(
        "{:<9} {:<11} {:>8} {:>7} {:>7} {:>8}",
        "backend", "command", "count", "p50 ms", "p99 ms", "max ms"
    );
    for report in reports {
        let Some(load) = &report.load else { continue };
        for (name, latencies) in STEPS.iter().zip(&load.steps) {
            println!(
                "{:<9} {:<11} {:>8} {:>7} {:>7} {:>8}",
                report.backend.name(),
                name,
                latencies.len(),
                percentile_millis(latencies, 50),
                percentile_millis(latencies, 99),
                percentile_millis(latencies, 100),
            );
        }
    }
    println!();
}

struct IdleRun {
    /// Connections asked for, and those that reached IDLE.
    connections: usize,
    idling: usize,
    /// How long opening them all took.
    opened_in: Duration,
    /// `VmRSS` before and after, in KiB.
    before: Option<u64>,
    after: Option<u64>,
    /// The delivering APPEND, until its tagged OK.
    append: Option<Duration>,
    /// From the APPEND to each connection's EXISTS, sorted.
    wake_ups: Vec<Duration>,
    /// The server's soft limit on open files.
    open_files: Option<String>,
    failures: Vec<String>,
    memory: Memory,
}

impl IdleRun {
    fn kib_per_connection(&self) -> Option<f64> {
        let (before, after) = (self.before?, self.after?);
        (self.idling > 0).then(|| (after as f64 - before as f64) / self.idling as f64)
    }
}

/// Scenario 3: `connections` connections in IDLE on [`IDLER`]'s INBOX,
/// the server's memory before and after, then one APPEND and the time
/// until every connection heard of it.
async fn idle(addr: SocketAddr, pid: u32, connections: usize, limit: Duration) -> IdleRun {
    let mut run = IdleRun {
        connections,
        idling: 0,
        opened_in: Duration::ZERO,
        before: None,
        after: None,
        append: None,
        wake_ups: Vec::new(),
        open_files: open_files_limit(pid),
        failures: Vec::new(),
        memory: Memory::default(),
    };
    for _ in 0..IDLE_WARM_UP {
        let warmed = async {
            let mut client = open_idle(addr).await?;
            client.done().await?;
            client.command(b"LOGOUT", |_| {}).await
        };
        if let Err(failure) = warmed.await {
            run.failures.push(format!("warm-up: {failure}"));
        }
    }
    tokio::time::sleep(SETTLE).await;
    run.before = status_kib(pid, "VmRSS");

    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(IDLE_SETUP_CONCURRENCY));
    let (ready, mut readiness) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    for i in 0..connections {
        let (gate, ready) = (gate.clone(), ready.clone());
        tasks.spawn(async move {
            let opened = {
                let _turn = gate.acquire_owned().await.expect("the gate stays open");
                open_idle(addr).await
            };
            // An error of `None` was reported through `ready` already.
            let mut client = match opened {
                Ok(client) => client,
                Err(failure) => {
                    let _ = ready.send(Err(format!("connection {i}: {failure}")));
                    return Err(None);
                }
            };
            let _ = ready.send(Ok(()));
            drop(ready);
            // The others may take minutes to open; then the delivery comes.
            client.limit = limit;
            let woke = async {
                client.wait_exists(IDLE_FOLDER_SIZE + 1).await?;
                let woke = Instant::now();
                client.limit = REPLY_LIMIT;
                client.done().await?;
                Ok(woke)
            };
            woke.await
                .map_err(|failure: String| Some(format!("connection {i}: {failure}")))
        });
    }
    drop(ready);
    while let Some(opened) = readiness.recv().await {
        match opened {
            Ok(()) => run.idling += 1,
            Err(failure) => run.failures.push(failure),
        }
    }
    run.opened_in = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    run.after = status_kib(pid, "VmRSS");

    let sent = match deliver(addr).await {
        Ok((sent, took)) => {
            run.append = Some(took);
            Some(sent)
        }
        Err(failure) => {
            run.failures.push(format!("delivery: {failure}"));
            tasks.abort_all();
            None
        }
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(woke)) => {
                if let Some(sent) = sent {
                    run.wake_ups.push(woke.saturating_duration_since(sent));
                }
            }
            Ok(Err(Some(failure))) => run.failures.push(failure),
            Ok(Err(None)) => {}
            Err(err) if err.is_cancelled() => {}
            Err(err) => run
                .failures
                .push(format!("a connection task panicked: {err}")),
        }
    }
    run.wake_ups.sort_unstable();
    run.memory = Memory::of(pid);
    run
}

/// A connection logged in to [`IDLER`], with its INBOX selected, in IDLE.
async fn open_idle(addr: SocketAddr) -> Result<Client, String> {
    let mut client = Client::connect(addr).await?;
    client.login(IDLER).await?;
    let mut exists = None;
    client
        .command(b"SELECT INBOX", |response| {
            exists = exists.or(exists_of(response));
        })
        .await?;
    if exists != Some(IDLE_FOLDER_SIZE) {
        return Err(format!(
            "SELECT INBOX answered EXISTS {exists:?}, not {IDLE_FOLDER_SIZE}"
        ));
    }
    client.idle().await?;
    Ok(client)
}

/// APPENDs one message to [`IDLER`]'s INBOX from a connection of its own;
/// returns when the APPEND was sent and how long until its tagged OK.
async fn deliver(addr: SocketAddr) -> Result<(Instant, Duration), String> {
    let mut client = Client::connect(addr).await?;
    client.login(IDLER).await?;
    let raw = message(u32::MAX / 2, 7);
    // A non-synchronizing literal (LITERAL+, RFC 7888): one write.
    let mut command = format!("APPEND INBOX {{{}+}}\r\n", raw.len()).into_bytes();
    command.extend_from_slice(&raw);
    let sent = Instant::now();
    client.command(&command, |_| {}).await?;
    let took = sent.elapsed();
    client.command(b"LOGOUT", |_| {}).await?;
    Ok((sent, took))
}

fn print_idle(settings: &Settings, reports: &[Report]) {
    if settings.idle == 0 {
        return;
    }
    println!(
        "3. IDLE: {} connections on one mailbox, then one APPEND to its INBOX; target \
         {TARGET_KIB_PER_IDLE} KiB per connection; APPEND and wake-ups in ms from sending the \
         APPEND",
        settings.idle
    );
    println!(
        "{:<9} {:>6} {:>6} {:>7} {:>11} {:>11} {:>8} {:>11} {:>7} {:>6} {:>8} {:>8} {:>8}",
        "backend",
        "idling",
        "nofile",
        "open s",
        "RSS before",
        "RSS after",
        "KiB/conn",
        "peak RSS",
        "APPEND",
        "woke",
        "wake p50",
        "wake p99",
        "wake max"
    );
    for report in reports {
        let Some(idle) = &report.idle else { continue };
        println!(
            "{:<9} {:>6} {:>6} {:>7.1} {:>11} {:>11} {:>8} {:>11} {:>7} {:>6} {:>8} {:>8} {:>8}",
            report.backend.name(),
            idle.idling,
            idle.open_files.as_deref().unwrap_or("n/a"),
            idle.opened_in.as_secs_f64(),
            mib(idle.before),
            mib(idle.after),
            idle.kib_per_connection()
                .map_or("n/a".to_string(), |kib| format!("{kib:.1}")),
            mib(idle.memory.peak),
            idle.append.map_or("-".to_string(), millis),
            idle.wake_ups.len(),
            percentile_millis(&idle.wake_ups, 50),
            percentile_millis(&idle.wake_ups, 99),
            percentile_millis(&idle.wake_ups, 100),
        );
    }
}

/// `* <n> EXISTS`: n.
fn exists_of(response: &[u8]) -> Option<u32> {
    let number = response.strip_prefix(b"* ")?.strip_suffix(b" EXISTS")?;
    std::str::from_utf8(number).ok()?.parse().ok()
}

/// Whether a response is `* <n> FETCH ...`.
fn is_fetch(response: &[u8]) -> bool {
    let Some(rest) = response.strip_prefix(b"* ") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(b" FETCH ")
}

/// How many messages `* SEARCH n n n`, `* SORT n n n` or
/// `* THREAD (n n)(n (n)(n))` names.
fn search_count(response: &[u8]) -> Option<usize> {
    let numbers = [b"* SEARCH".as_slice(), b"* SORT", b"* THREAD"]
        .into_iter()
        .find_map(|name| response.strip_prefix(name))?;
    Some(
        numbers
            .split(|b| !b.is_ascii_digit())
            .filter(|word| !word.is_empty())
            .count(),
    )
}

/// The size of the literal a response line announces at its end
/// (`{123}`, or `{123+}`), without the line end.
fn literal_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inside = line.strip_suffix(b"}")?;
    let open = inside.iter().rposition(|&b| b == b'{')?;
    let digits = &inside[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The smallest IMAP client the scenarios need, on a plain TCP connection.
/// It sends tagged commands and reads whole responses, literals included,
/// into one buffer that it reuses; each read waits at most `limit`. Every
/// error ends the connection, described.
struct Client {
    stream: TcpStream,
    /// Bytes read; those before `start` are consumed.
    input: Vec<u8>,
    start: usize,
    output: Vec<u8>,
    /// The tag of the last command sent.
    tag: Vec<u8>,
    sent: u32,
    limit: Duration,
}

/// Room made in the input buffer before each read.
const READ_CHUNK: usize = 4096;

impl Client {
    /// Connects and reads the greeting.
    async fn connect(addr: SocketAddr) -> Result<Client, String> {
        let stream = tokio::time::timeout(REPLY_LIMIT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("no connection to {addr} within {REPLY_LIMIT:?}"))?
            .map_err(|err| format!("cannot connect to {addr}: {err}"))?;
        // Commands are written whole and answered before the next.
        stream
            .set_nodelay(true)
            .map_err(|err| format!("cannot set TCP_NODELAY: {err}"))?;
        let mut client = Client {
            stream,
            input: Vec::new(),
            start: 0,
            output: Vec::new(),
            tag: Vec::new(),
            sent: 0,
            limit: REPLY_LIMIT,
        };
        let greeting = client.response().await?;
        if !client.input[greeting.clone()].starts_with(b"* OK") {
            return Err(format!(
                "greeted with {:?}",
                String::from_utf8_lossy(&client.input[greeting])
            ));
        }
        Ok(client)
    }

    async fn login(&mut self, address: &str) -> Result<(), String> {
        let command = format!("LOGIN \"{address}\" \"{PASSWORD}\"");
        self.command(command.as_bytes(), |_| {}).await
    }

    /// Sends `command` with a new tag and reads until its tagged response,
    /// giving each untagged response to `each`; fails unless it is OK.
    async fn command<F: FnMut(&[u8])>(&mut self, command: &[u8], each: F) -> Result<(), String> {
        self.send(command).await?;
        self.finish(each).await
    }

    /// [`Client::command`], its latency added to `latencies` if it
    /// succeeded.
    async fn timed<F: FnMut(&[u8])>(
        &mut self,
        command: &[u8],
        latencies: &mut Vec<Duration>,
        each: F,
    ) -> Result<(), String> {
        let started = Instant::now();
        self.command(command, each).await?;
        latencies.push(started.elapsed());
        Ok(())
    }

    async fn send(&mut self, command: &[u8]) -> Result<(), String> {
        self.sent += 1;
        self.tag.clear();
        let _ = write!(self.tag, "t{}", self.sent);
        self.output.clear();
        self.output.extend_from_slice(&self.tag);
        self.output.push(b' ');
        self.output.extend_from_slice(command);
        self.output.extend_from_slice(b"\r\n");
        self.stream
            .write_all(&self.output)
            .await
            .map_err(|err| format!("cannot write to the server: {err}"))
    }

    /// Reads until the tagged response of the last command sent.
    async fn finish<F: FnMut(&[u8])>(&mut self, mut each: F) -> Result<(), String> {
        loop {
            let range = self.response().await?;
            let response = &self.input[range];
            match tagged_status(response, &self.tag) {
                Some(status) if status.starts_with(b"OK") => return Ok(()),
                Some(_) => {
                    return Err(format!(
                        "the server answered {:?}",
                        String::from_utf8_lossy(response)
                    ));
                }
                None => each(response),
            }
        }
    }

    /// Sends IDLE and waits for the continuation.
    async fn idle(&mut self) -> Result<(), String> {
        self.send(b"IDLE").await?;
        loop {
            let range = self.response().await?;
            let response = &self.input[range];
            if response.starts_with(b"+") {
                return Ok(());
            }
            if tagged_status(response, &self.tag).is_some() {
                return Err(format!(
                    "IDLE answered {:?}",
                    String::from_utf8_lossy(response)
                ));
            }
        }
    }

    /// In IDLE, waits for `* <exists> EXISTS`.
    async fn wait_exists(&mut self, exists: u32) -> Result<(), String> {
        loop {
            let range = self.response().await?;
            let response = &self.input[range];
            match exists_of(response) {
                Some(n) if n == exists => return Ok(()),
                Some(n) => return Err(format!("IDLE reported EXISTS {n}, not {exists}")),
                None if response.starts_with(b"* BYE") || !response.starts_with(b"* ") => {
                    return Err(format!(
                        "IDLE, waiting for EXISTS, answered {:?}",
                        String::from_utf8_lossy(response)
                    ));
                }
                None => {}
            }
        }
    }

    /// Ends IDLE with DONE and reads its tagged OK.
    async fn done(&mut self) -> Result<(), String> {
        self.stream
            .write_all(b"DONE\r\n")
            .await
            .map_err(|err| format!("cannot write DONE: {err}"))?;
        self.finish(|_| {})
            .await
            .map_err(|failure| format!("after DONE: {failure}"))
    }

    /// The next whole response, without its final CRLF, as a range of
    /// `input`: a line, and if it ends with a literal's size, the literal
    /// and the rest of the response after it, and so on.
    async fn response(&mut self) -> Result<Range<usize>, String> {
        // Bytes of this response already known to be complete, from `start`.
        let mut scanned = 0;
        loop {
            let from = self.start + scanned;
            if let Some(at) = self.input[from..].iter().position(|&b| b == b'\n') {
                let line_end = from + at;
                match literal_size(&self.input[from..line_end]) {
                    Some(size) if self.input.len() > line_end + size => {
                        scanned = line_end + 1 + size - self.start;
                        continue;
                    }
                    // The literal is still on its way.
                    Some(_) => {}
                    None => {
                        let first = self.start;
                        self.start = line_end + 1;
                        let last = match self.input[..line_end].last() {
                            Some(b'\r') if line_end > first => line_end - 1,
                            _ => line_end,
                        };
                        return Ok(first..last);
                    }
                }
            }
            self.fill().await?;
        }
    }

    /// Reads more input, first dropping what was consumed.
    async fn fill(&mut self) -> Result<(), String> {
        if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        if self.input.capacity() - self.input.len() < READ_CHUNK / 4 {
            self.input.reserve(READ_CHUNK);
        }
        let read = tokio::time::timeout(self.limit, self.stream.read_buf(&mut self.input))
            .await
            .map_err(|_| format!("no response within {:?}", self.limit))?
            .map_err(|err| format!("cannot read from the server: {err}"))?;
        if read == 0 {
            return Err("the server closed the connection".to_string());
        }
        Ok(())
    }
}

/// The status part (`OK ...`) of a response tagged `tag`, or `None` for
/// any other response.
fn tagged_status<'a>(response: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    response.strip_prefix(tag)?.strip_prefix(b" ")
}

/// Subject words; none contains [`SEARCH_WORD`].
const SUBJECT_WORDS: [&str; 32] = [
    "richiesta",
    "documentazione",
    "pratica",
    "edilizia",
    "verbale",
    "riunione",
    "bilancio",
    "fornitura",
    "contratto",
    "determina",
    "ordinanza",
    "convocazione",
    "parere",
    "tecnico",
    "scadenza",
    "pagamento",
    "fattura",
    "rettifica",
    "integrazione",
    "istanza",
    "accesso",
    "atti",
    "trasmissione",
    "avviso",
    "pubblico",
    "concorso",
    "graduatoria",
    "delibera",
    "giunta",
    "variante",
    "cantiere",
    "anagrafe",
];

/// Body words besides the subject words.
const BODY_WORDS: [&str; 16] = [
    "si",
    "comunica",
    "che",
    "la",
    "presente",
    "in",
    "allegato",
    "del",
    "ufficio",
    "entro",
    "termini",
    "previsti",
    "cordiali",
    "saluti",
    "con",
    "riferimento",
];

const SENDERS: [(&str, &str); 6] = [
    ("Ufficio Tecnico", "tecnico@comune.esempio.it"),
    ("Ragioneria", "ragioneria@comune.esempio.it"),
    ("Mario Bianchi", "m.bianchi@studio.esempio.org"),
    ("Segreteria Generale", "segreteria@provincia.esempio.it"),
    ("Giulia Verdi", "giulia.verdi@posta.esempio.net"),
    ("Servizi Demografici", "anagrafe@comune.esempio.it"),
];

/// Message `n` of a folder: plain text of 1,792 to 2,303 bytes, its words
/// and sender drawn from `n` and `salt`; [`SEARCH_WORD`] in the subject
/// when `n` is a multiple of [`SEARCH_EVERY`].
fn message(n: u32, salt: u64) -> Vec<u8> {
    let mut rng = SplitMix::new(u64::from(n) ^ salt.rotate_left(32));
    let size = 1792 + rng.below(512) as usize;
    let (name, address) = SENDERS[rng.below(SENDERS.len() as u32) as usize];
    let words = 3 + rng.below(4);
    let marker = n.is_multiple_of(SEARCH_EVERY).then(|| rng.below(words + 1));
    let mut subject = String::new();
    for i in 0..=words {
        let word = match marker {
            Some(at) if at == i => SEARCH_WORD,
            _ if i == words => continue,
            _ => SUBJECT_WORDS[rng.below(SUBJECT_WORDS.len() as u32) as usize],
        };
        if !subject.is_empty() {
            subject.push(' ');
        }
        subject.push_str(word);
    }
    let mut text = String::with_capacity(size + 80);
    let _ = write!(
        text,
        "Date: {day} Oct 2025 {hour:02}:{minute:02}:{second:02} +0200\r\n\
         From: {name} <{address}>\r\n\
         To: Protocollo <{LARGE}>\r\n\
         Subject: {subject} n. {n}/2025\r\n\
         Message-ID: <{n}.{salt}@mittenti.esempio.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n",
        day = 1 + n % 28,
        hour = 8 + n / 28 % 10,
        minute = n / 7 % 60,
        second = n % 60,
    );
    while text.len() + 2 < size {
        let width = (48 + rng.below(28) as usize).min(size - text.len() - 2);
        let start = text.len();
        loop {
            let pick = rng.below((SUBJECT_WORDS.len() + BODY_WORDS.len()) as u32) as usize;
            let word = SUBJECT_WORDS
                .get(pick)
                .unwrap_or_else(|| &BODY_WORDS[pick - SUBJECT_WORDS.len()]);
            let line = text.len() - start;
            if line + word.len() + 1 > width {
                break;
            }
            if line > 0 {
                text.push(' ');
            }
            text.push_str(word);
        }
        if text.len() == start {
            // Too little room left for a word: fill it with dots.
            text.extend(std::iter::repeat_n('.', width));
        }
        text.push_str("\r\n");
    }
    text.into_bytes()
}

/// SplitMix64: varied, repeatable choices from a seed; no secrecy needed.
struct SplitMix(u64);

impl SplitMix {
    fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`, for `n` above 0.
    fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
}

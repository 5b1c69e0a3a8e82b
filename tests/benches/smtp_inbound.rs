//! Inbound SMTP throughput of the real `postino serve`, on SQLite and on
//! PostgreSQL: a client load on the MX listener, end to end, through the
//! SPF, DKIM and DMARC checks and the store's group commit.
//!
//! Each scenario on each backend gets a fresh configuration from the
//! harness (SQLite in a temporary data directory; PostgreSQL in a new
//! database on the test server, dropped at the end) whose only nameserver
//! is a DNS stub on loopback. The stub publishes SPF (`v=spf1 ip4:127.0.0.1
//! -all`) for the sender's domain and HELO name, and a DMARC policy, so the
//! checks run in full and never reach a real resolver. The bench creates
//! one domain and 50 mailboxes with the CLI, starts `postino serve` and
//! opens N connections to the MX listener. Each connection says EHLO once,
//! then sends its share of the messages one after another: MAIL, RCPT and
//! DATA pipelined in one write (RFC 2920), the content after the 354. Each
//! message has one recipient, the mailboxes taking turns, and is a distinct
//! plain-text RFC 5322 message of exactly the scenario's size.
//!
//! The scenarios:
//!
//! - `10KiB x 16`: the issue's, 10 KiB messages over 16 connections;
//! - `2KiB x 20`: the team's Postfix + Dovecot LMTP baseline (about
//!   450 msg/s), 2 KiB messages over 20 connections.
//!
//! After a warm-up of a few messages per connection it reports, per
//! scenario: the messages acknowledged with 250 (only these count), per
//! second and in MB/s (10^6 bytes of content), the p50, p99 and largest
//! latency of one message, from its MAIL to the 250 after its data, the
//! server's CPU time (user and system) per message (`CPU ms`: what a
//! busy machine does not distort the way it distorts rates), and the
//! server's peak resident set (`VmHWM` in `/proc/<pid>/status`, reset after
//! the warm-up). It then stops the server, opens the store, and fails unless
//! every mailbox holds exactly the messages acknowledged to it, each once
//! and ending with the content sent, and the usage counters are exact.
//! Before stopping the server it reads every message back over IMAP: one
//! session per mailbox, all logged in and INBOX selected before the clock
//! starts, each `UID FETCH 1:* BODY.PEEK[]` at once; it reports the bytes
//! received a second (`fetch MB/s`). Timings are reported, never asserted.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p postino-tests --bench smtp_inbound
//! cargo bench -p postino-tests --bench smtp_inbound -- --backend sqlite --messages 10000
//! cargo bench -p postino-tests --bench smtp_inbound -- --rspamd both
//! cargo bench -p postino-tests --bench smtp_inbound -- --blobs all
//!
//! cargo bench -p postino-tests --bench smtp_inbound -- --sieve both
//! ```
//!
//! `--backend sqlite|postgres|both` picks the stores (default both),
//! `--messages N` the measured messages of each scenario (default 3,000),
//! shared evenly by the connections. `--rspamd off|on|both` runs each
//! scenario without content scanning (the default), with every message
//! scanned by a real rspamd on loopback (Debian's package, started as the
//! tests start it: `postino_tests::rspamd`), or both ways one after the
//! other; a scanned scenario's name ends in `+rspamd`. `--blobs default|
//! database|filesystem|s3|all` picks where message bodies are kept
//! (`[blobs] backend`): the backend's default (files on SQLite, rows on
//! PostgreSQL; the default), one store, or each in turn; `s3` is moto's
//! server on loopback, as the tests start it (`postino_tests::s3`), a
//! stand-in that shows the cost of the protocol rather than of a real
//! object store. `--sieve off|on|both` runs each scenario with no Sieve
//! script (the default), with every mailbox running [`FILTERS`] (twenty
//! rules of the kind Roundcube writes, none of which files the bench's
//! messages away, so the store check still finds them in INBOX), or both;
//! a filtered scenario's name ends in `+sieve`. PostgreSQL is reached as the tests
//! reach it, at `POSTINO_TEST_DATABASE_URL`. `cargo bench` builds in the
//! release profile, and the harness builds the `postino` binary in the
//! profile of the executable that asks for it: the server measured is the
//! release build.
//!
//! Nothing waits without a bound: each reply at most [`REPLY_LIMIT`], each
//! scenario at most [`scenario_limit`]. All traffic stays on 127.0.0.1, and
//! the clients share the machine's cores with the server: compare numbers
//! taken on one machine.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use postino_tests::bench::{cpu_seconds, percentile, stop_server, warning_notes};
use postino_tests::dns::DnsStub;
use postino_tests::imap::ImapClient;
use postino_tests::{Backend, Server, TestConfig, postino_binary, s3, within};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// The recipients' domain, served by Postino.
const DOMAIN: &str = "comune.esempio.pu.it";
/// Mailboxes in [`DOMAIN`]; messages go to each in turn.
const MAILBOXES: usize = 50;
/// The sending organisation's domain, with SPF and DMARC in the stub.
const SENDER_DOMAIN: &str = "fornitore.example.org";
/// The name the clients give in EHLO, with SPF of its own.
const HELO: &str = "mx.fornitore.example.org";
/// Measured messages of each scenario when `--messages` does not say.
const DEFAULT_MESSAGES: usize = 3_000;
/// Messages of each connection before the clock starts.
const WARM_UP_PER_CONNECTION: usize = 5;
/// How long a client waits for one reply.
const REPLY_LIMIT: Duration = Duration::from_secs(30);
/// Every client comes from 127.0.0.1, unlike a real MX's peers, so the
/// per-address connection limit (20 by default) is raised above the load.
const MAX_CONNECTIONS_PER_IP: usize = 64;
/// Widest line of body text, before its CRLF.
const LINE_WIDTH: usize = 76;
/// The team's figure for Postfix delivering to Dovecot over LMTP, 2 KiB
/// messages over 20 connections.
const BASELINE_PER_SECOND: f64 = 450.0;
/// Refusals and server log lines quoted after the table, at most.
const QUOTED: usize = 5;
/// The mailboxes' password, for reading the messages back over IMAP.
const PASSWORD: &str = "password-del-banco";

/// The mailboxes' script with `--sieve on`: twenty rules as a comune's
/// employee sets them up in Roundcube, the last of which keeps the bench's
/// messages with a label, so that each message is tested against all of
/// them.
const FILTERS: &str = r#"require ["fileinto", "imap4flags", "envelope", "body", "relational", "comparator-i;ascii-numeric"];
# rule:[Delibere]
if header :contains "subject" ["delibera", "determina"] { fileinto "Delibere"; stop; }
# rule:[Fatture]
if anyof (header :contains "subject" "fattura", address :domain "from" "sdi.fatturapa.it") { fileinto "Fatture"; stop; }
# rule:[PEC]
if exists "X-Ricevuta" { fileinto "PEC"; stop; }
# rule:[Newsletter]
if anyof (exists "List-Id", header :is "precedence" ["bulk", "list"]) { fileinto "Newsletter"; stop; }
# rule:[Regione]
if address :domain :is "from" "regione.puglia.it" { fileinto "Regione"; stop; }
# rule:[Prefettura]
if address :domain :contains "from" "prefettura" { fileinto "Prefettura"; stop; }
# rule:[INPS]
if address :is "from" ["noreply@inps.it", "comunicazioni@inps.it"] { fileinto "INPS"; stop; }
# rule:[Tributi]
if header :contains "subject" ["IMU", "TARI", "tributi"] { fileinto "Tributi"; stop; }
# rule:[Anagrafe]
if header :contains "subject" ["anagrafe", "residenza", "carta d'identita"] { fileinto "Anagrafe"; stop; }
# rule:[Concorsi]
if header :contains "subject" "concorso" { fileinto "Concorsi"; stop; }
# rule:[Grandi allegati]
if size :over 20M { fileinto "Grandi"; stop; }
# rule:[Sindaco]
if address :is "to" "sindaco@comune.esempio.pu.it" { addflag "\Flagged"; }
# rule:[Ufficio tecnico]
if header :matches "subject" "*SUAP*" { fileinto "SUAP"; stop; }
# rule:[Social]
if address :domain :is "from" ["facebookmail.com", "linkedin.com"] { fileinto "Social"; stop; }
# rule:[Convegni]
if header :contains "subject" ["convegno", "seminario", "webinar"] { fileinto "Eventi"; stop; }
# rule:[Spam score]
if header :value "ge" :comparator "i;ascii-numeric" "X-Spam-Score" "8" { fileinto "Junk"; stop; }
# rule:[Avvisi automatici]
if envelope :localpart :is "from" ["noreply", "no-reply"] { fileinto "Avvisi"; stop; }
# rule:[Ordini]
if body :text :contains "ordine di acquisto" { fileinto "Ordini"; stop; }
# rule:[Urgente]
if header :contains "subject" "URGENTE" { addflag "\Flagged"; }
# rule:[Protocollo]
if address :domain :is "from" "fornitore.example.org" { addflag "$Protocollo"; keep; stop; }
"#;

/// Where message bodies are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bodies {
    /// The backend's default: files on SQLite, rows on PostgreSQL.
    Default,
    Database,
    Filesystem,
    S3,
}

impl Bodies {
    fn name(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Bodies::Default, Backend::Sqlite) | (Bodies::Filesystem, _) => "files",
            (Bodies::Default, Backend::Postgres) | (Bodies::Database, _) => "rows",
            (Bodies::S3, _) => "s3",
        }
    }

    fn configure(self, config: &TestConfig) {
        match self {
            Bodies::Default => {}
            Bodies::Database => config.set("blobs", "backend = \"database\""),
            Bodies::Filesystem => config.set("blobs", "backend = \"filesystem\""),
            Bodies::S3 => {
                for (table, line) in s3::shared().config_lines() {
                    config.set(table, &line);
                }
            }
        }
    }
}

/// A message size and a number of connections.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    name: &'static str,
    message_size: usize,
    connections: usize,
    /// Whether it is the one the baseline was measured with.
    baseline: bool,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "10KiB x 16",
        message_size: 10 * 1024,
        connections: 16,
        baseline: false,
    },
    Scenario {
        name: "2KiB x 20",
        message_size: 2 * 1024,
        connections: 20,
        baseline: true,
    },
];

/// The longest a scenario may take, set-up and check included: generous,
/// so that only a stuck or broken server reaches it.
fn scenario_limit(messages: usize) -> Duration {
    Duration::from_secs(120) + Duration::from_millis(20).saturating_mul(messages as u32)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!(
                "smtp_inbound: {message}; usage: smtp_inbound [--backend sqlite|postgres|both] \
                 [--messages N] [--rspamd off|on|both] [--sieve off|on|both] \
                 [--blobs default|database|filesystem|s3|all]"
            );
            return ExitCode::FAILURE;
        }
    };
    // Built before anything is timed: the first build takes minutes.
    let binary = postino_binary();
    println!("server: {}", binary.display());
    println!(
        "{} messages per scenario after {WARM_UP_PER_CONNECTION} per connection of warm-up, \
         one recipient each among {MAILBOXES} mailboxes, MAIL+RCPT+DATA pipelined",
        args.messages
    );
    println!();
    println!(
        "{:<9} {:<6} {:<18} {:>8} {:>7} {:>7} {:>8} {:>6} {:>7} {:>7} {:>7} {:>7} {:>8} {:>10}",
        "backend",
        "bodies",
        "scenario",
        "messages",
        "refused",
        "seconds",
        "msg/s",
        "MB/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "CPU ms",
        "peak RSS",
        "fetch MB/s"
    );
    let mut notes = Vec::new();
    for &backend in &args.backends {
        for &bodies in &args.bodies {
            for scenario in SCENARIOS {
                for &rspamd in &args.rspamd {
                    for &sieve in &args.sieve {
                        let setup = Setup {
                            backend,
                            bodies,
                            scenario,
                            rspamd,
                            sieve,
                        };
                        let run =
                            within(scenario_limit(args.messages), run(setup, args.messages)).await;
                        run.print_row();
                        notes.extend(run.notes());
                    }
                }
            }
        }
    }
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
    ExitCode::SUCCESS
}

struct Args {
    backends: Vec<Backend>,
    messages: usize,
    /// Whether each scenario runs without rspamd, with it, or both.
    rspamd: Vec<bool>,
    /// Whether each scenario runs without Sieve scripts, with, or both.
    sieve: Vec<bool>,
    bodies: Vec<Bodies>,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut parsed = Args {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            messages: DEFAULT_MESSAGES,
            rspamd: vec![false],
            sieve: vec![false],
            bodies: vec![Bodies::Default],
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // `cargo bench` passes this to every bench.
                "--bench" => {}
                "--backend" => {
                    parsed.backends = match args.next().as_deref() {
                        Some("sqlite") => vec![Backend::Sqlite],
                        Some("postgres") => vec![Backend::Postgres],
                        Some("both") => vec![Backend::Sqlite, Backend::Postgres],
                        other => {
                            return Err(format!("unknown backend `{}`", other.unwrap_or("")));
                        }
                    }
                }
                "--rspamd" => {
                    parsed.rspamd = match args.next().as_deref() {
                        Some("off") => vec![false],
                        Some("on") => vec![true],
                        Some("both") => vec![false, true],
                        other => {
                            return Err(format!("unknown --rspamd `{}`", other.unwrap_or("")));
                        }
                    }
                }
                "--sieve" => {
                    parsed.sieve = match args.next().as_deref() {
                        Some("off") => vec![false],
                        Some("on") => vec![true],
                        Some("both") => vec![false, true],
                        other => {
                            return Err(format!("unknown --sieve `{}`", other.unwrap_or("")));
                        }
                    }
                }
                "--blobs" => {
                    parsed.bodies = match args.next().as_deref() {
                        Some("default") => vec![Bodies::Default],
                        Some("database") => vec![Bodies::Database],
                        Some("filesystem") => vec![Bodies::Filesystem],
                        Some("s3") => vec![Bodies::S3],
                        Some("all") => vec![Bodies::Database, Bodies::Filesystem, Bodies::S3],
                        other => {
                            return Err(format!("unknown --blobs `{}`", other.unwrap_or("")));
                        }
                    }
                }
                "--messages" => {
                    let value = args.next().unwrap_or_default();
                    parsed.messages = match value.parse() {
                        Ok(n) if n > 0 && n <= u32::MAX as usize => n,
                        _ => return Err(format!("`{value}` is not a number of messages")),
                    };
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(parsed)
    }
}

/// What one run is of.
#[derive(Debug, Clone, Copy)]
struct Setup {
    backend: Backend,
    bodies: Bodies,
    scenario: Scenario,
    /// Whether rspamd scans every message.
    rspamd: bool,
    /// Whether every mailbox runs [`FILTERS`].
    sieve: bool,
}

/// What one scenario measured.
struct Run {
    setup: Setup,
    elapsed: Duration,
    /// Measured messages that got 250 after their data.
    accepted: usize,
    /// Their latencies, sorted.
    latencies: Vec<Duration>,
    refused: usize,
    /// The first refusals, as the server worded them.
    refusals: Vec<String>,
    /// Peak resident set of the server in KiB, if `/proc` told.
    peak_rss_kib: Option<u64>,
    /// Whether the peak covers the measured run only, not the start.
    peak_reset: bool,
    /// Lines of the server's log at WARN or ERROR.
    warnings: Vec<String>,
    /// Bytes read back over IMAP a second.
    fetch_per_second: f64,
    /// The server's CPU seconds (user and system) over the measured load.
    cpu_seconds: f64,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }

    fn print_row(&self) {
        let millis = |percent| {
            percentile(&self.latencies, percent)
                .map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64() * 1e3))
        };
        let rss = self.peak_rss_kib.map_or("n/a".to_string(), |kib| {
            format!("{:.0} MiB", kib as f64 / 1024.0)
        });
        let Setup {
            backend,
            bodies,
            scenario,
            ..
        } = self.setup;
        println!(
            "{:<9} {:<6} {:<18} {:>8} {:>7} {:>7.2} {:>8.1} {:>6.2} {:>7} {:>7} {:>7} {:>7.2} {:>8} {:>10.1}",
            backend.name(),
            bodies.name(backend),
            self.name(),
            self.accepted,
            self.refused,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            (self.accepted * scenario.message_size) as f64 / self.elapsed.as_secs_f64() / 1e6,
            millis(50),
            millis(99),
            millis(100),
            self.cpu_seconds * 1e3 / self.accepted.max(1) as f64,
            rss,
            self.fetch_per_second / 1e6,
        );
    }

    /// The scenario's name, `+rspamd` when scanned, `+sieve` when filtered.
    fn name(&self) -> String {
        let scanned = if self.setup.rspamd { " +rspamd" } else { "" };
        let filtered = if self.setup.sieve { " +sieve" } else { "" };
        format!("{}{scanned}{filtered}", self.setup.scenario.name)
    }

    /// What to say below the table about this run.
    fn notes(&self) -> Vec<String> {
        let Setup {
            backend, bodies, ..
        } = self.setup;
        let run = format!(
            "{} {} {}",
            backend.name(),
            bodies.name(backend),
            self.name()
        );
        let mut notes = Vec::new();
        if self.setup.scenario.baseline && !self.setup.rspamd && !self.setup.sieve {
            notes.push(format!(
                "{run}: {:.2}x the Postfix + Dovecot LMTP baseline of {BASELINE_PER_SECOND} msg/s",
                self.per_second() / BASELINE_PER_SECOND
            ));
        }
        if !self.peak_reset {
            notes.push(format!(
                "{run}: the peak RSS could not be reset after the warm-up; it counts from the start"
            ));
        }
        if self.refused > 0 {
            notes.push(format!(
                "{run}: {} messages refused, for example: {}",
                self.refused,
                self.refusals.join(" | ")
            ));
        }
        notes.extend(warning_notes(&run, &self.warnings, QUOTED));
        notes
    }
}

/// Runs one scenario on a fresh store, reads its messages back, checks
/// the store, and removes it.
async fn run(setup: Setup, messages: usize) -> Run {
    let Setup {
        backend,
        bodies,
        scenario,
        rspamd,
        sieve,
    } = setup;
    let config = TestConfig::new(backend).await;
    bodies.configure(&config);
    config.set("imap", "allow_plaintext_auth = true");
    let dns = DnsStub::start().await.expect("start the DNS stub");
    let spf = "v=spf1 ip4:127.0.0.1 -all";
    dns.add_txt(SENDER_DOMAIN, spf);
    dns.add_txt(HELO, spf);
    dns.add_txt(
        &format!("_dmarc.{SENDER_DOMAIN}"),
        "v=DMARC1; p=reject; adkim=r; aspf=r",
    );
    config.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
    config.set(
        "smtp",
        &format!("max_connections_per_ip = {MAX_CONNECTIONS_PER_IP}"),
    );
    if rspamd {
        let worker = postino_tests::rspamd::shared().normal;
        config.set("antispam", &format!("rspamd_url = [\"http://{worker}\"]"));
    }
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    for i in 0..MAILBOXES {
        let password = format!("{PASSWORD}\n");
        config
            .cli(
                &["mailbox", "add", &mailbox(i), "--password-stdin"],
                Some(&password),
            )
            .await
            .ok();
        if sieve {
            config
                .cli(
                    &["sieve", "put", &mailbox(i), "filtri", "-", "--activate"],
                    Some(FILTERS),
                )
                .await
                .ok();
        }
    }

    let mut server = Server::start(&config).await;
    let mx = config.listeners.smtp_mx;
    let warm_up = load(
        mx,
        scenario,
        0,
        WARM_UP_PER_CONNECTION * scenario.connections,
    )
    .await;
    let peak_reset = reset_peak_rss(server.id());
    let pid = server.id().to_string();
    let cpu_before = cpu_seconds(&pid).0;
    let started = Instant::now();
    let mut measured = load(mx, scenario, 1, messages).await;
    let elapsed = started.elapsed();
    let cpu_used = cpu_seconds(&pid).0 - cpu_before;
    let peak_rss_kib = peak_rss_kib(server.id());
    let fetch_per_second = fetch_all(config.listeners.imap).await;
    let warnings = stop_server(&mut server).await;

    let mut acknowledged = warm_up.accepted;
    acknowledged.extend_from_slice(&measured.accepted);
    check_store(&config, scenario.message_size, &acknowledged).await;
    drop(dns);

    measured.latencies.sort_unstable();
    let mut refusals = warm_up.refusals;
    refusals.extend(measured.refusals);
    refusals.truncate(QUOTED);
    Run {
        setup,
        elapsed,
        accepted: measured.accepted.len(),
        latencies: measured.latencies,
        refused: warm_up.refused + measured.refused,
        refusals,
        peak_rss_kib,
        peak_reset,
        warnings,
        fetch_per_second,
        cpu_seconds: cpu_used,
    }
}

/// Reads every mailbox's messages back at once, one IMAP session each,
/// and returns the bytes of the responses a second.
async fn fetch_all(imap: SocketAddr) -> f64 {
    let ready = std::sync::Arc::new(tokio::sync::Barrier::new(MAILBOXES + 1));
    let mut sessions = JoinSet::new();
    for i in 0..MAILBOXES {
        let ready = ready.clone();
        sessions.spawn(async move {
            let mut client = ImapClient::connect(imap).await;
            client
                .command(&format!("LOGIN {} {PASSWORD}", mailbox(i)))
                .await
                .ok();
            client.command("SELECT INBOX").await.ok();
            ready.wait().await;
            let fetched = client.command("UID FETCH 1:* BODY.PEEK[]").await;
            fetched.ok();
            client.logout().await;
            // Each line and its CRLF, as they came.
            fetched
                .untagged
                .iter()
                .map(|line| line.len() + 2)
                .sum::<usize>()
        });
    }
    ready.wait().await;
    let started = Instant::now();
    let mut bytes = 0;
    while let Some(session) = sessions.join_next().await {
        bytes += session.expect("a fetching session panicked");
    }
    bytes as f64 / started.elapsed().as_secs_f64()
}

/// Mailbox `i` of [`DOMAIN`].
fn mailbox(i: usize) -> String {
    format!("ufficio{i:02}@{DOMAIN}")
}

/// Resets the peak resident set of process `pid` to its current one
/// (`clear_refs`, proc(5)); false if the kernel did not allow it.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The peak resident set of process `pid` in KiB (`VmHWM`, proc(5)).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    value.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// Which message: the round (0 for the warm-up), the connection that
/// sent it, and its place in that connection's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct MessageId {
    round: u32,
    connection: u32,
    n: u32,
}

impl MessageId {
    /// The mailbox it goes to: each connection starts at a different one
    /// and takes the next for each message, so concurrent messages mostly
    /// go to different mailboxes but all are used.
    fn recipient(self) -> usize {
        (self.connection as usize * 7 + self.n as usize) % MAILBOXES
    }

    fn sender(self) -> String {
        format!("protocollo{}@{SENDER_DOMAIN}", self.connection)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.round, self.connection, self.n)
    }
}

impl FromStr for MessageId {
    type Err = ();

    fn from_str(text: &str) -> Result<MessageId, ()> {
        let mut parts = text.split('.').map(|part| part.parse().map_err(|_| ()));
        let (Some(round), Some(connection), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(());
        };
        Ok(MessageId {
            round: round?,
            connection: connection?,
            n: n?,
        })
    }
}

/// What the connections of one round did.
#[derive(Default)]
struct Load {
    accepted: Vec<MessageId>,
    latencies: Vec<Duration>,
    refused: usize,
    refusals: Vec<String>,
}

/// Sends `total` messages of `round` over the scenario's connections, each
/// sending its share in sequence. A connection that fails (closed, out of
/// time, not SMTP) fails the run.
async fn load(addr: SocketAddr, scenario: Scenario, round: u32, total: usize) -> Load {
    let connections = scenario.connections;
    let mut tasks = JoinSet::new();
    for connection in 0..connections {
        let count = total / connections + usize::from(connection < total % connections);
        tasks.spawn(send_sequence(
            addr,
            scenario.message_size,
            round,
            connection as u32,
            count,
        ));
    }
    let mut load = Load::default();
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("a client task panicked") {
            Ok(done) => {
                load.accepted.extend(done.accepted);
                load.latencies.extend(done.latencies);
                load.refused += done.refused;
                load.refusals.extend(done.refusals);
            }
            Err(failure) => failures.push(failure),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {connections} connections failed: {}",
        failures.len(),
        failures.join("; ")
    );
    load
}

/// One connection sending `count` messages, one transaction after another.
async fn send_sequence(
    addr: SocketAddr,
    size: usize,
    round: u32,
    connection: u32,
    count: usize,
) -> Result<Load, String> {
    let context = |err: String| format!("connection {connection}: {err}");
    let mut client = Client::connect(addr).await.map_err(context)?;
    let mut load = Load {
        accepted: Vec::with_capacity(count),
        latencies: Vec::with_capacity(count),
        ..Load::default()
    };
    for n in 0..count as u32 {
        let id = MessageId {
            round,
            connection,
            n,
        };
        let envelope = format!(
            "MAIL FROM:<{}> SIZE={size}\r\nRCPT TO:<{}>\r\nDATA\r\n",
            id.sender(),
            mailbox(id.recipient())
        );
        let mut data = message(id, size);
        data.extend_from_slice(b".\r\n");
        let started = Instant::now();
        match client
            .transaction(envelope.as_bytes(), &data)
            .await
            .map_err(context)?
        {
            Outcome::Accepted => {
                load.latencies.push(started.elapsed());
                load.accepted.push(id);
            }
            Outcome::Refused(reply) => {
                load.refused += 1;
                if load.refusals.len() < QUOTED {
                    load.refusals.push(reply);
                }
            }
        }
    }
    client.quit().await.map_err(context)?;
    Ok(load)
}

/// An SMTP reply: its code and its lines, CRLF removed.
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join(" / "))
    }
}

enum Outcome {
    Accepted,
    /// The first reply that refused the message, as sent.
    Refused(String),
}

/// The smallest SMTP client that a load needs: it writes what it is given
/// and reads replies, each within [`REPLY_LIMIT`]. Every error is the end
/// of the connection, described.
struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    /// Connects, reads the greeting and says EHLO; fails unless the server
    /// offers PIPELINING.
    async fn connect(addr: SocketAddr) -> Result<Client, String> {
        let stream = tokio::time::timeout(REPLY_LIMIT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("no connection to {addr} within {REPLY_LIMIT:?}"))?
            .map_err(|err| format!("cannot connect to {addr}: {err}"))?;
        // The client writes whole commands and waits for replies: no
        // reason to let Nagle hold the last segment of a message.
        stream
            .set_nodelay(true)
            .map_err(|err| format!("cannot set TCP_NODELAY: {err}"))?;
        let mut client = Client {
            stream: BufReader::new(stream),
        };
        let greeting = client.reply().await?;
        if greeting.code != 220 {
            return Err(format!("greeted with {greeting}"));
        }
        client.write(format!("EHLO {HELO}\r\n").as_bytes()).await?;
        let ehlo = client.reply().await?;
        let pipelining = ehlo.lines.iter().any(|line| {
            line.get(4..)
                .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
        });
        if ehlo.code != 250 || !pipelining {
            return Err(format!("EHLO answered without PIPELINING: {ehlo}"));
        }
        Ok(client)
    }

    /// One mail transaction: `envelope` (MAIL, RCPT, DATA) in one write,
    /// then `data`, the content and its end line, after the 354. A refused
    /// transaction is reset so that the next one starts clean.
    async fn transaction(&mut self, envelope: &[u8], data: &[u8]) -> Result<Outcome, String> {
        self.write(envelope).await?;
        let mail = self.reply().await?;
        let rcpt = self.reply().await?;
        let go_ahead = self.reply().await?;
        if go_ahead.code != 354 {
            let refusal = [&mail, &rcpt, &go_ahead]
                .into_iter()
                .find(|reply| reply.code >= 400)
                .map_or_else(|| go_ahead.to_string(), ToString::to_string);
            self.reset().await?;
            return Ok(Outcome::Refused(refusal));
        }
        self.write(data).await?;
        let end = self.reply().await?;
        if end.code == 250 {
            return Ok(Outcome::Accepted);
        }
        self.reset().await?;
        Ok(Outcome::Refused(end.to_string()))
    }

    async fn reset(&mut self) -> Result<(), String> {
        self.write(b"RSET\r\n").await?;
        match self.reply().await? {
            reply if reply.code == 250 => Ok(()),
            reply => Err(format!("RSET answered {reply}")),
        }
    }

    async fn quit(&mut self) -> Result<(), String> {
        self.write(b"QUIT\r\n").await?;
        match self.reply().await? {
            reply if reply.code == 221 => Ok(()),
            reply => Err(format!("QUIT answered {reply}")),
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .get_mut()
            .write_all(bytes)
            .await
            .map_err(|err| format!("cannot write to the server: {err}"))
    }

    /// The next reply, all its lines (RFC 5321 §4.2.1).
    async fn reply(&mut self) -> Result<Reply, String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(REPLY_LIMIT, self.stream.read_line(&mut line))
                .await
                .map_err(|_| format!("no reply within {REPLY_LIMIT:?}"))?
                .map_err(|err| format!("cannot read from the server: {err}"))?;
            if read == 0 {
                return Err(format!("the server closed the connection after {lines:?}"));
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            let code = line.get(..3).and_then(|code| code.parse().ok());
            let separator = line.as_bytes().get(3).copied().unwrap_or(b' ');
            let Some(code) = code.filter(|_| matches!(separator, b' ' | b'-')) else {
                return Err(format!("not an SMTP reply: {line:?}"));
            };
            lines.push(line);
            if separator == b' ' {
                return Ok(Reply { code, lines });
            }
        }
    }
}

/// Fails unless the store holds exactly the `acknowledged` messages, each
/// once, in its recipient's INBOX, ending with the content sent, and the
/// usage counters add up. Call it with the server stopped.
async fn check_store(config: &TestConfig, size: usize, acknowledged: &[MessageId]) {
    let store = config.open_store().await;
    let mut missing: HashSet<MessageId> = acknowledged.iter().copied().collect();
    assert_eq!(
        missing.len(),
        acknowledged.len(),
        "a message was acknowledged twice"
    );
    let mut stored = 0;
    for i in 0..MAILBOXES {
        let address = mailbox(i);
        let account = store
            .account(&address)
            .await
            .expect("read an account")
            .unwrap_or_else(|| panic!("mailbox {address} is gone"));
        let inbox = store
            .folder(account.id, "INBOX")
            .await
            .expect("read a folder")
            .unwrap_or_else(|| panic!("{address} has no INBOX"));
        for summary in store.messages(inbox.id).await.expect("list an INBOX") {
            let body = store
                .message_body(inbox.id, summary.uid)
                .await
                .expect("read a message")
                .unwrap_or_else(|| panic!("{address} UID {} has no body", summary.uid));
            let id = message_id_of(&body).unwrap_or_else(|| {
                panic!(
                    "{address} UID {} holds a message the bench did not send",
                    summary.uid
                )
            });
            assert!(
                missing.remove(&id),
                "{address} UID {} holds message {id}, which was not acknowledged or is \
                 stored twice",
                summary.uid
            );
            assert_eq!(
                id.recipient(),
                i,
                "message {id} was delivered to {address}, not to its recipient"
            );
            assert!(
                body.ends_with(&message(id, size)),
                "{address} UID {} does not end with message {id} as sent",
                summary.uid
            );
            stored += 1;
        }
    }
    assert!(
        missing.is_empty(),
        "{} acknowledged messages are not stored ({stored} of {} are), for example {}",
        missing.len(),
        acknowledged.len(),
        missing
            .iter()
            .next()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    let drift = store.usage_drift().await.expect("compare usage counters");
    assert!(
        drift.is_empty(),
        "usage counters disagree with the messages: {drift:?}"
    );
    store.close().await;
}

/// The bench's id in a stored message's `Message-ID` field.
fn message_id_of(stored: &[u8]) -> Option<MessageId> {
    let field = b"\r\nMessage-ID: <";
    let start = stored.windows(field.len()).position(|w| w == field)? + field.len();
    let rest = &stored[start..];
    let end = rest.iter().position(|&b| b == b'@')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Message `id` as sent: a plain-text RFC 5322 message of exactly `size`
/// bytes with a body of its own, in CRLF lines of which none starts with a
/// dot, so that it goes on the wire as it is.
fn message(id: MessageId, size: usize) -> Vec<u8> {
    let date = format!(
        "Tue, 7 Oct 2025 {:02}:{:02}:{:02} +0200",
        9 + id.n / 3600 % 8,
        id.n / 60 % 60,
        id.n % 60
    );
    let host = id.connection % 250 + 1;
    let mut text = format!(
        "Received: from pc{host}.uffici.{SENDER_DOMAIN} (pc{host}.uffici.{SENDER_DOMAIN} \
         [10.20.0.{host}])\r\n\tby {HELO} with ESMTPSA id {id}; {date}\r\n\
         Date: {date}\r\n\
         From: Ufficio Protocollo <{sender}>\r\n\
         To: <{recipient}>\r\n\
         Subject: Pratica {id}: trasmissione della documentazione richiesta\r\n\
         Message-ID: <{id}@{SENDER_DOMAIN}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n\
         Pratica numero {id}.\r\n\
         \r\n",
        sender = id.sender(),
        recipient = mailbox(id.recipient()),
    )
    .into_bytes();
    assert!(
        text.len() + 2 <= size,
        "{size} bytes leave no room for a body"
    );
    let mut rng = XorShift::new(id);
    loop {
        let room = size - text.len();
        if room < LINE_WIDTH + 6 {
            // The last line, filled to the exact size.
            let mut last = words(&mut rng, room - 2);
            last.extend(std::iter::repeat_n('-', room - 2 - last.len()));
            text.extend_from_slice(last.as_bytes());
            text.extend_from_slice(b"\r\n");
            return text;
        }
        if rng.below(7) == 0 {
            text.extend_from_slice(b"\r\n");
        }
        let width = 40 + rng.below(LINE_WIDTH - 40 + 1);
        text.extend_from_slice(words(&mut rng, width).as_bytes());
        text.extend_from_slice(b"\r\n");
    }
}

const WORDS: [&str; 40] = [
    "si",
    "trasmette",
    "in",
    "allegato",
    "la",
    "documentazione",
    "relativa",
    "alla",
    "pratica",
    "indicata",
    "in",
    "oggetto",
    "come",
    "richiesto",
    "dal",
    "vostro",
    "ufficio",
    "con",
    "nota",
    "del",
    "mese",
    "scorso",
    "determina",
    "dirigenziale",
    "contratto",
    "fornitura",
    "servizi",
    "manutenzione",
    "comunale",
    "verbale",
    "seduta",
    "giunta",
    "bilancio",
    "preventivo",
    "cordiali",
    "saluti",
    "responsabile",
    "procedimento",
    "ai",
    "sensi",
];

/// Words separated by spaces, as many as fit in `width` characters.
fn words(rng: &mut XorShift, width: usize) -> String {
    let mut line = String::with_capacity(width);
    loop {
        let word = WORDS[rng.below(WORDS.len())];
        let needed = word.len() + usize::from(!line.is_empty());
        if line.len() + needed > width {
            return line;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
}

/// xorshift64*: varied text from a message's id, no secrecy needed.
struct XorShift(u64);

impl XorShift {
    fn new(id: MessageId) -> XorShift {
        let seed = (u64::from(id.round) << 56) ^ (u64::from(id.connection) << 32) ^ u64::from(id.n);
        // Never zero, which xorshift would keep forever.
        XorShift(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize % n
    }
}

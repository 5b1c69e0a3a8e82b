//! How the cost of each operation grows with the size of an installation,
//! on PostgreSQL: 10,000, 100,000 and 500,000 mailboxes, and then two and
//! three `postino serve` nodes on the one database.
//!
//! The bench makes (or reuses) one database, migrated by the store itself
//! (`Store::open`), and grows it scale by scale with bulk statements
//! ([`fill`]): domains, mailboxes, folders and messages drawn from a
//! skewed population ([`population`]), bodies shared from a few hundred
//! realistic ones ([`bodies`]), every counter consistent. Messages number
//! about 12 per ordinary mailbox on average (most hold a few, a few over a
//! thousand), plus four mailboxes of 100,000 to 160,000 messages and 25
//! folders of exactly 10,000: 0.9 million messages at 10k mailboxes, 2
//! million at 100k and 6.9 million at 500k, 11.3 GB of database.
//! After each step it runs `VACUUM (ANALYZE)` and `CHECKPOINT` (and, up to 100,000
//! mailboxes, has the store check every counter against the messages:
//! `Store::usage_drift`), starts `postino serve` (the
//! release build) on loopback ports and times each operation of
//! [`probe`] on random mailboxes, one at a time, then prints a table per
//! scale ([`report`]) and how p50 and p99 compare with the first scale's.
//! The goal is p99 at 500k within 1.5x of 10k.
//!
//! With nodes (`SCALE_MODE=nodes` or `both`), it then runs one, two and
//! three nodes on the largest database ([`nodes`]): outbound and inbound
//! throughput as nodes are added, and each node's PostgreSQL connections.
//!
//! A database left by an earlier run is grown from where it stands (a
//! load cut short carries on from its last whole chunk of 2,000
//! mailboxes); scales below what it holds are skipped. `SCALE_FRESH=1`
//! starts from an empty database.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p postino-tests --bench scale
//! SCALE_MAILBOXES=10000,100000 SCALE_MODE=latency cargo bench -p postino-tests --bench scale
//! ```
//!
//! The settings, all from the environment: `SCALE_DATABASE_URL` (the
//! database, made if missing; default `postino_scale` on the server of
//! `POSTINO_TEST_DATABASE_URL`), `SCALE_MAILBOXES` (the scales, ascending,
//! at least 10,000; default `10000,100000,500000`), `SCALE_SAMPLES`
//! (measured samples of each operation, at most 1,000; default 300),
//! `SCALE_MODE` (`latency`, `nodes` or `both`, the default), `SCALE_NODES`
//! (default `1,2,3`), `SCALE_NODE_SECONDS` (inbound load per node count,
//! default 20), `SCALE_OUTBOUND` (messages queued per node count, default
//! 2,000) and `SCALE_FRESH`. The PostgreSQL settings that bear on the
//! figures are printed with them; the bench changes none of the server's
//! (its own loading connection only commits without waiting for the
//! disk).
//!
//! All traffic stays on 127.0.0.1; the clients, the servers and
//! PostgreSQL share the machine's cores. Nothing waits without a bound:
//! each reply at most `READ_LIMIT`, the whole bench at most [`LIMIT`].
//! Timings are reported, never asserted; wrong answers fail the bench.

mod bodies;
mod database;
mod fill;
mod nodes;
mod population;
mod probe;
mod report;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use postino_common::auth::{Authenticator, Secret, ThrottlePolicy};
use postino_common::store::testing::{postgres_url, with_database};
use postino_common::store::{Location, Store, now};
use postino_tests::bench::{self, env_number};
use postino_tests::dns::DnsStub;
use postino_tests::{Server, TestConfig, bind_unused_port, postino_binary, within};
use sqlx::PgConnection;
use tokio::task::JoinSet;

use crate::population::Layout;

/// The longest the whole bench may take.
const LIMIT: Duration = Duration::from_secs(6 * 3_600);
/// Distinct password hashes, given to the mailboxes in turn: as many
/// logins as this can each cost an argon2 hash.
const HASHES: usize = 1_024;
/// The provincial admin whose API token lists the domains' mailboxes.
const ADMIN: &str = "provincia";
/// Up to this many mailboxes, the store checks every counter after a load
/// (it reads every message, too long beyond).
const CHECKED_UP_TO: usize = 100_000;

/// What to run, from `SCALE_*`.
struct Settings {
    url: String,
    /// The database's name, from the URL.
    name: String,
    scales: Vec<usize>,
    samples: usize,
    latency: bool,
    nodes: Vec<usize>,
    node_seconds: u64,
    outbound: usize,
    fresh: bool,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let url = std::env::var("SCALE_DATABASE_URL")
            .unwrap_or_else(|_| with_database(&postgres_url(), "postino_scale"));
        let name = database_name(&url)
            .ok_or_else(|| format!("SCALE_DATABASE_URL `{url}` names no database"))?;
        let scales = env_list("SCALE_MAILBOXES", &[10_000, 100_000, 500_000])?;
        if scales.first().is_none_or(|&first| first < 10_000) || !scales.is_sorted() {
            return Err("SCALE_MAILBOXES must be ascending, from 10000 up".to_string());
        }
        let samples = env_number("SCALE_SAMPLES", 300)?;
        if samples == 0 || samples + probe::WARM_UP > HASHES {
            return Err(format!(
                "SCALE_SAMPLES must be 1 to {}",
                HASHES - probe::WARM_UP
            ));
        }
        let (latency, nodes) = match std::env::var("SCALE_MODE").as_deref() {
            Err(_) | Ok("both" | "") => (true, true),
            Ok("latency") => (true, false),
            Ok("nodes") => (false, true),
            Ok(other) => {
                return Err(format!(
                    "SCALE_MODE is `{other}`, not latency, nodes or both"
                ));
            }
        };
        let node_counts = env_list("SCALE_NODES", &[1, 2, 3])?;
        if node_counts.contains(&0) {
            return Err("SCALE_NODES must count at least one node".to_string());
        }
        Ok(Settings {
            url,
            name,
            scales,
            samples,
            latency,
            nodes: if nodes { node_counts } else { Vec::new() },
            node_seconds: env_number("SCALE_NODE_SECONDS", 20)?.max(1) as u64,
            outbound: env_number("SCALE_OUTBOUND", 2_000)?.max(1),
            fresh: std::env::var("SCALE_FRESH").is_ok_and(|v| v == "1"),
        })
    }
}

/// The database a PostgreSQL URL names: the last path segment.
fn database_name(url: &str) -> Option<String> {
    let path = url.split('?').next()?;
    let (server, name) = path.rsplit_once('/')?;
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (server.contains("//") && !name.is_empty() && plain).then(|| name.to_string())
}

/// Comma-separated whole numbers from `name`, or `default`.
fn env_list(name: &str, default: &[usize]) -> Result<Vec<usize>, String> {
    match std::env::var(name) {
        Err(_) => Ok(default.to_vec()),
        Ok(value) => value
            .split(',')
            .map(|n| n.trim().replace('_', "").parse())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("{name} is `{value}`, not numbers separated by commas")),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let Some(settings) = bench::settings(
        "scale",
        "SCALE_DATABASE_URL, SCALE_MAILBOXES, SCALE_SAMPLES, SCALE_MODE, SCALE_NODES, \
         SCALE_NODE_SECONDS, SCALE_OUTBOUND or SCALE_FRESH",
        Settings::from_env,
    ) else {
        return ExitCode::FAILURE;
    };
    // Built before anything is timed: the first build takes minutes.
    println!("postino: {}", postino_binary().display());
    match within(LIMIT, run(&settings)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("scale bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: &Settings) -> Result<(), String> {
    let failed = |what: &'static str| move |err: sqlx::Error| format!("{what}: {err}");
    let mut conn = database::open(&settings.url, &settings.name, settings.fresh)
        .await
        .map_err(failed("cannot open the database"))?;
    // The store migrates the schema, as `postino serve` does.
    let store = Store::open(Location::Postgres(&settings.url), 4, bodies::blob_store())
        .await
        .map_err(|err| format!("cannot open the store: {err}"))?;
    let loaded = database::loaded(&mut conn)
        .await
        .map_err(failed("cannot count the mailboxes"))?
        .ok_or_else(|| {
            "the database holds mailboxes the bench did not make; set SCALE_FRESH=1".to_string()
        })?;
    let passwords = passwords(&store, &mut conn, loaded).await;
    // Dropped, not only closed: its change listener goes with it.
    store.close().await;
    drop(store);
    let passwords = passwords?;
    println!("PostgreSQL settings:");
    for setting in database::settings(&mut conn)
        .await
        .map_err(failed("cannot read the settings"))?
    {
        println!("    {setting}");
    }
    let largest = settings.scales.last().copied().unwrap_or_default();
    let layout = Layout::new(largest.max(loaded));
    let dns = dns_stub().await?;
    let token = admin_token(&settings.url, &dns, &mut conn).await?;
    let mut measured = Vec::new();
    let mut have = loaded;
    for &mailboxes in &settings.scales {
        if have > mailboxes {
            println!("{mailboxes} mailboxes: skipped, the database already holds {have}");
            continue;
        }
        let load_seconds = if have < mailboxes {
            eprintln!("scale: loading mailboxes {have} to {mailboxes}");
            let started = Instant::now();
            fill::grow(&mut conn, &layout, have, mailboxes, &passwords, now())
                .await
                .map_err(failed("loading failed"))?;
            bench::settle(&mut conn)
                .await
                .map_err(failed("VACUUM or CHECKPOINT failed"))?;
            let seconds = started.elapsed().as_secs_f64();
            if mailboxes <= CHECKED_UP_TO {
                check_counters(&settings.url).await?;
            }
            Some(seconds)
        } else {
            None
        };
        have = mailboxes;
        if !settings.latency {
            continue;
        }
        let size = database::size(&mut conn)
            .await
            .map_err(failed("cannot size the database"))?;
        eprintln!("scale: measuring at {mailboxes} mailboxes");
        let timings = measure(settings, &layout, mailboxes, &dns, &token).await;
        let scale = report::Scale {
            mailboxes,
            size,
            load_seconds,
            timings,
        };
        report::scale(&scale);
        measured.push(scale);
    }
    report::ratios(&measured);
    if !settings.nodes.is_empty() {
        let runs = nodes::run(
            &settings.url,
            &mut conn,
            (&layout, have),
            &dns,
            &settings.nodes,
            settings.outbound,
            settings.node_seconds,
        )
        .await;
        nodes::report(&runs);
    }
    Ok(())
}

/// The password hashes the mailboxes get in turn: those of the first
/// [`HASHES`] mailboxes when they are loaded, else new ones of
/// [`probe::PASSWORD`], each with its own salt, hashed as the server
/// hashes passwords.
async fn passwords(
    store: &Store,
    conn: &mut PgConnection,
    loaded: usize,
) -> Result<Vec<String>, String> {
    if loaded >= HASHES {
        return sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id <= $1 ORDER BY id")
            .bind(HASHES as i64)
            .fetch_all(conn)
            .await
            .map_err(|err| format!("cannot read the password hashes: {err}"));
    }
    if loaded > 0 {
        return Err(format!(
            "the database holds {loaded} mailboxes, too few to carry on from; set SCALE_FRESH=1"
        ));
    }
    eprintln!("scale: hashing {HASHES} passwords");
    let auth = Authenticator::new(store.clone(), ThrottlePolicy::for_tests(5, 3), 2);
    let mut tasks = JoinSet::new();
    for n in 0..HASHES {
        let auth = auth.clone();
        tasks.spawn(async move {
            let hash = auth.hash_password(&Secret::new(probe::PASSWORD)).await;
            (n, hash)
        });
    }
    let mut hashes = vec![String::new(); HASHES];
    while let Some(joined) = tasks.join_next().await {
        let (n, hash) = joined.map_err(|err| format!("a hashing task failed: {err}"))?;
        hashes[n] = hash.map_err(|err| format!("cannot hash a password: {err}"))?;
    }
    Ok(hashes)
}

/// Fails unless every folder counter and account usage the load wrote
/// agrees with the messages, as the store itself counts them.
async fn check_counters(url: &str) -> Result<(), String> {
    let store = Store::open(Location::Postgres(url), 2, bodies::blob_store())
        .await
        .map_err(|err| format!("cannot open the store: {err}"))?;
    let drift = store
        .usage_drift()
        .await
        .map_err(|err| format!("cannot check the counters: {err}"))?;
    store.close().await;
    match drift.first() {
        None => Ok(()),
        Some(d) => Err(format!(
            "{} counters disagree with the messages, such as {}: {} recorded, {} counted",
            drift.len(),
            d.name,
            d.recorded,
            d.counted
        )),
    }
}

/// A DNS stub publishing SPF and DMARC for the sender of the SMTP probes.
async fn dns_stub() -> Result<DnsStub, String> {
    let dns = DnsStub::start()
        .await
        .map_err(|err| format!("cannot start the DNS stub: {err}"))?;
    let domain = probe::SENDER
        .split_once('@')
        .map_or(probe::SENDER, |(_, domain)| domain);
    dns.add_txt(domain, "v=spf1 ip4:127.0.0.1 -all");
    dns.add_txt(&format!("_dmarc.{domain}"), "v=DMARC1; p=reject");
    Ok(dns)
}

/// The configuration of the one server the latency probes run on: node 1,
/// with nothing to deliver elsewhere (outside mail goes to a closed port).
fn latency_node(url: &str, dns: &DnsStub) -> TestConfig {
    let closed = bind_unused_port()
        .local_addr()
        .expect("address of a bound socket");
    nodes::node(url, 1, dns, closed)
}

/// A new API token of the provincial admin, who is added the first time.
async fn admin_token(url: &str, dns: &DnsStub, conn: &mut PgConnection) -> Result<String, String> {
    let config = latency_node(url, dns);
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE username = $1")
        .bind(ADMIN)
        .fetch_one(conn)
        .await
        .map_err(|err| format!("cannot look for the admin: {err}"))?;
    if known == 0 {
        let add = ["admin", "add", ADMIN, "--all-domains", "--password-stdin"];
        let password = format!("{}\n", probe::PASSWORD);
        config.cli(&add, Some(&password)).await.ok();
    }
    let created = config.cli(&["admin", "token", "create", ADMIN], None).await;
    Ok(created.ok().trim().to_string())
}

/// Starts a server on the database, runs the probes, stops it.
async fn measure(
    settings: &Settings,
    layout: &Layout,
    mailboxes: usize,
    dns: &DnsStub,
    token: &str,
) -> Vec<probe::Timings> {
    let config = latency_node(&settings.url, dns);
    let mut server = Server::start(&config).await;
    let target = probe::Target {
        mx: config.listeners.smtp_mx,
        imap: config.listeners.imap,
        admin: config.listeners.admin,
        token,
        layout,
        mailboxes,
        hashes: HASHES,
        domains: layout.domain_of(settings.scales[0]),
    };
    let timings = probe::run(&target, settings.samples, mailboxes as u64).await;
    let warnings = bench::stop_server(&mut server).await;
    for note in bench::warning_notes(&format!("{mailboxes} mailboxes"), &warnings, 5) {
        println!("{note}");
    }
    timings
}

//! How fast `postino migrate imap` moves mail in from Dovecot, on each
//! store: messages/s and MB/s, and where the time goes.
//!
//! Dovecot (Debian's, on loopback, as [`postino_tests::migration`] fills
//! it: eight folders per user, 2 to 200 KB messages of about 24 KB, three
//! of 5 to 9 MB) serves `MIGRATE_BENCH_USERS` users (4) of
//! `MIGRATE_BENCH_MESSAGES` messages each (2,500); every folder is opened
//! once beforehand, so Dovecot has its indexes, as a server in service
//! does. For each store the release build of `postino migrate imap` copies
//! them all, `MIGRATE_BENCH_JOBS` mailboxes at once (4), into a fresh
//! store. The bench prints the wall time, messages/s and MB/s, the time
//! the copy waited on Dovecot's FETCH and on our appends (summed over the
//! mailboxes; they overlap, since the next batch is fetched while one is
//! stored), and the CPU seconds Dovecot's processes and Postino's used.
//! It fails unless every message was copied.
//!
//! ```text
//! cargo bench -p postino-tests --bench migrate
//! MIGRATE_BENCH_BACKENDS=sqlite MIGRATE_BENCH_MESSAGES=10000 cargo bench -p postino-tests --bench migrate
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use postino_tests::bench::{cpu_seconds, env_backends, env_number, settings};
use postino_tests::migration::{self, User};
use postino_tests::{Backend, TestConfig, cli_within, dovecot};

/// The longest a run may take.
const RUN_LIMIT: Duration = Duration::from_secs(3_600);

struct Settings {
    backends: Vec<Backend>,
    users: usize,
    messages: usize,
    jobs: usize,
}

fn from_env() -> Result<Settings, String> {
    Ok(Settings {
        backends: env_backends("MIGRATE_BENCH_BACKENDS")?,
        users: env_number("MIGRATE_BENCH_USERS", 4)?.max(1),
        messages: env_number("MIGRATE_BENCH_MESSAGES", 2_500)?,
        jobs: env_number("MIGRATE_BENCH_JOBS", 4)?.max(1),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(settings) = settings(
        "migrate",
        "MIGRATE_BENCH_BACKENDS, _USERS, _MESSAGES, _JOBS",
        from_env,
    ) else {
        return ExitCode::FAILURE;
    };
    if let Err(message) = dovecot::ensure_installed() {
        eprintln!("migrate bench: {message}");
        return ExitCode::FAILURE;
    }
    postino_tests::postino_binary();
    let (source, users) = match migration::source(settings.users, settings.messages, 3).await {
        Ok(started) => started,
        Err(message) => {
            eprintln!("migrate bench: {message}");
            return ExitCode::FAILURE;
        }
    };
    migration::warm(&source, &users).await;
    let total: usize = users.iter().map(User::messages).sum();
    let bytes: usize = users.iter().map(User::bytes).sum();
    println!(
        "dovecot {}: {} users, {total} messages, {:.1} MB",
        source.version,
        users.len(),
        bytes as f64 / 1e6
    );
    println!(
        "{:<10} {:>8} {:>9} {:>7} {:>9} {:>9} {:>12} {:>12}",
        "store", "seconds", "msg/s", "MB/s", "fetch s", "store s", "dovecot cpu", "postino cpu"
    );
    let mut ok = true;
    for backend in &settings.backends {
        let config = TestConfig::new(*backend).await;
        let args = migration::migration_args(&config, &source, &users, settings.jobs).await;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let dovecot_before = dovecot_cpu(source.pid());
        let ours_before = children_cpu();
        let started = Instant::now();
        let out = cli_within(&config.path, &args, None, RUN_LIMIT).await;
        let seconds = started.elapsed().as_secs_f64();
        let dovecot_used = dovecot_cpu(source.pid()) - dovecot_before;
        let ours_used = children_cpu() - ours_before;
        let Ok(report) = serde_json::from_str::<serde_json::Value>(&out.stdout) else {
            eprintln!("migrate bench: no report from {}: {out:#?}", backend.name());
            ok = false;
            continue;
        };
        let sum = |key: &str| -> f64 {
            report["mailboxes"]
                .as_array()
                .map(|all| all.iter().filter_map(|m| m[key].as_f64()).sum())
                .unwrap_or(0.0)
        };
        let copied = sum("messages");
        if copied as usize != total || !out.status.success() {
            eprintln!(
                "migrate bench: {} copied {copied} of {total} messages: {}",
                backend.name(),
                out.stderr
            );
            ok = false;
        }
        println!(
            "{:<10} {:>8.1} {:>9.0} {:>7.1} {:>9.1} {:>9.1} {:>12.1} {:>12.1}",
            backend.name(),
            seconds,
            copied / seconds,
            sum("bytes") / 1e6 / seconds,
            sum("fetch_seconds"),
            sum("store_seconds"),
            dovecot_used,
            ours_used
        );
    }
    let problems = source.problems();
    for line in &problems {
        eprintln!("dovecot: {line}");
    }
    match ok && problems.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// Dovecot's CPU seconds so far: its master's and every process it reaped.
fn dovecot_cpu(pid: u32) -> f64 {
    let (own, reaped) = cpu_seconds(&pid.to_string());
    own + reaped
}

/// The CPU seconds of the children this process has waited for.
fn children_cpu() -> f64 {
    cpu_seconds("self").1
}

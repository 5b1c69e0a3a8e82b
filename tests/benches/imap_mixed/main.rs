//! A mixed IMAP load on the real `postino serve` (SQLite and PostgreSQL)
//! and on Dovecot, side by side, in one run.
//!
//! Every user's INBOX starts with the same `IMAP_MIXED_MESSAGES` messages
//! on both servers ([`postino_tests::corpus`]: plain, `multipart/alternative`, base64
//! attachments; 2 to 200 KB, about 24 KB on average), with flags and
//! labels, and each user has empty Sent, Drafts, Trash, Junk and Archive
//! folders. Postino's store comes from the harness (SQLite in a temporary
//! data directory; PostgreSQL in a new database at
//! `POSTINO_TEST_DATABASE_URL`, dropped at the end), the users from the
//! CLI, the messages from `Store::append` before any server runs
//! ([`postino`]). Dovecot gets the same messages as maildir files, and the
//! same argon2id password strings, under a configuration of its own that
//! leaves everything bearing on speed at Dovecot's defaults ([`dovecot`]).
//!
//! Each run is one backend (Postino) or Dovecot in one mode:
//!
//! - `logout`: each session logs in, goes through the steps once and logs
//!   out; the client then starts another;
//! - `stay`: each session logs in once and loops over the steps from LIST
//!   on, never logging out.
//!
//! The steps and their probabilities are in [`session`]: LOGIN, LIST,
//! STATUS, SELECT, FETCH of headers and envelopes, FETCH of whole bodies,
//! COPY to the Archive, STORE of flags and labels, STORE `\Deleted`,
//! EXPUNGE, APPEND and LOGOUT. `IMAP_MIXED_CLIENTS` clients run at once,
//! each session as a user drawn from the `IMAP_MIXED_USERS`, so sessions
//! share mailboxes and see each other's EXISTS, EXPUNGE and flag changes.
//! The deletes balance the APPENDs (1.05 messages per round each), so the
//! INBOXes keep about their size; the Archive grows by what COPY adds.
//!
//! Before each run every user logs in once and SELECTs the INBOX (Dovecot
//! builds its indexes then); the load then runs for three seconds
//! unmeasured and `IMAP_MIXED_SECONDS` measured ([`load`]). Each client's
//! choices come from a generator seeded by its number, so both servers get
//! the same load. Dovecot runs once per mode, and its figures stand beside
//! each backend's. For every run the bench prints: commands per second
//! (every tagged command answered OK counts, LOGIN and LOGOUT included),
//! p50, p99 and largest latency and the count of each kind of command,
//! commands slower than a second, the longest stall (no command
//! completing), how long the warm-up SELECTs took, and the resident set
//! of the server's processes before the load and at the end.
//!
//! A faster wrong server must not count: every response is checked as a
//! careful client would ([`view`]), and a failed session (NO, BAD, a line
//! not within 30 s, a closed connection) or a violation is reported below
//! the table and makes the bench exit with failure. Lines of either
//! server's log at warning level or worse are quoted there too.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p postino-tests --bench imap_mixed
//! IMAP_MIXED_BACKENDS=sqlite IMAP_MIXED_MODES=stay IMAP_MIXED_MESSAGES=10000 \
//!     cargo bench -p postino-tests --bench imap_mixed
//! ```
//!
//! The settings, all from the environment: `IMAP_MIXED_BACKENDS`
//! (`sqlite`, `postgres` or `both`, the default), `IMAP_MIXED_MODES`
//! (`logout`, `stay` or `both`, the default), `IMAP_MIXED_USERS` (20),
//! `IMAP_MIXED_MESSAGES` (1,500 per INBOX), `IMAP_MIXED_CLIENTS` (10) and
//! `IMAP_MIXED_SECONDS` (20). `cargo bench` builds in the release profile,
//! and so the harness builds the `postino` measured. Dovecot is Debian's
//! `dovecot-imapd`, installed with apt-get if missing when the bench runs
//! as root. The fill takes disk: about 24 KB per message per store, the
//! maildirs as much again.
//!
//! All traffic stays on 127.0.0.1, and the clients (one runtime, raw IMAP
//! over TCP) share the machine's cores with the server: compare numbers
//! taken on one machine. Nothing waits without a bound: each response line
//! at most 30 s, the whole bench at most [`bench_limit`].

mod dovecot;
mod load;
mod postino;
mod report;
mod session;
mod view;

use std::process::ExitCode;
use std::time::Duration;

use postino_tests::bench::{self, env_backends, env_number};
use postino_tests::{Backend, postino_binary, within};

use crate::dovecot::Dovecot;
use crate::load::{Measured, WARM_UP};
use crate::report::Side;
use crate::session::Mode;

/// The hosted domain, on both servers.
const DOMAIN: &str = "comune.esempio.pu.it";

/// What to run, from `IMAP_MIXED_*`.
struct Settings {
    backends: Vec<Backend>,
    modes: Vec<Mode>,
    users: usize,
    messages: usize,
    clients: usize,
    seconds: u64,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let backends = env_backends("IMAP_MIXED_BACKENDS")?;
        let modes = match std::env::var("IMAP_MIXED_MODES").as_deref() {
            Err(_) | Ok("both" | "") => vec![Mode::Logout, Mode::Stay],
            Ok("logout") => vec![Mode::Logout],
            Ok("stay") => vec![Mode::Stay],
            Ok(other) => {
                return Err(format!(
                    "IMAP_MIXED_MODES is `{other}`, not logout, stay or both"
                ));
            }
        };
        let settings = Settings {
            backends,
            modes,
            users: env_number("IMAP_MIXED_USERS", 20)?,
            messages: env_number("IMAP_MIXED_MESSAGES", 1_500)?,
            clients: env_number("IMAP_MIXED_CLIENTS", 10)?,
            seconds: env_number("IMAP_MIXED_SECONDS", 20)? as u64,
        };
        if settings.users == 0 || settings.messages == 0 || settings.clients == 0 {
            return Err("IMAP_MIXED_USERS, _MESSAGES and _CLIENTS must be at least 1".to_string());
        }
        if settings.seconds == 0 {
            return Err("IMAP_MIXED_SECONDS must be at least 1".to_string());
        }
        Ok(settings)
    }
}

/// The longest the whole bench may take: generous, so that only a stuck
/// server or store reaches it.
fn bench_limit(settings: &Settings) -> Duration {
    let runs = (settings.backends.len() + 1) * settings.modes.len();
    let per_run = WARM_UP + Duration::from_secs(settings.seconds + 300);
    let messages = (settings.users * settings.messages * (settings.backends.len() + 1)) as u32;
    Duration::from_secs(600) + per_run * runs as u32 + Duration::from_millis(20) * messages
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let Some(settings) = bench::settings(
        "imap_mixed",
        "IMAP_MIXED_BACKENDS, IMAP_MIXED_MODES, IMAP_MIXED_USERS, IMAP_MIXED_MESSAGES, \
         IMAP_MIXED_CLIENTS or IMAP_MIXED_SECONDS",
        Settings::from_env,
    ) else {
        return ExitCode::FAILURE;
    };
    if let Err(message) = dovecot::ensure_installed() {
        eprintln!("imap_mixed bench: {message}");
        return ExitCode::FAILURE;
    }
    // Built before anything is timed: the first build takes minutes.
    println!("postino: {}", postino_binary().display());
    println!(
        "{} clients over {} users of {} messages; {} s measured after {} s of warm-up",
        settings.clients,
        settings.users,
        settings.messages,
        settings.seconds,
        WARM_UP.as_secs()
    );
    match within(bench_limit(&settings), run(&settings)).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("imap_mixed bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Every backend and mode, with Dovecot beside; prints the tables as the
/// runs end. Returns whether everything was answered right.
async fn run(settings: &Settings) -> Result<bool, String> {
    let mut dovecot: Option<Dovecot> = None;
    let mut dovecot_runs: Vec<(Mode, Measured)> = Vec::new();
    let mut clean = true;
    for &backend in &settings.backends {
        let name = backend.name();
        eprintln!(
            "{name}: storing {} messages",
            settings.users * settings.messages
        );
        let prepared = postino::prepare(backend, DOMAIN, settings.users, settings.messages).await;
        println!(
            "{name}: filled {} INBOXes in {:.1} s through Store::append",
            settings.users,
            prepared.filled_in.as_secs_f64()
        );
        if dovecot.is_none() {
            eprintln!("dovecot: writing the maildirs");
            let started =
                Dovecot::start(DOMAIN, &prepared.users, &prepared.hashes, settings.messages)
                    .await?;
            println!(
                "dovecot {}: wrote the maildirs in {:.1} s",
                started.version,
                started.written_in.as_secs_f64()
            );
            dovecot = Some(started);
        }
        let dovecot = dovecot.as_ref().expect("Dovecot was started above");
        for &mode in &settings.modes {
            eprintln!("{name}: {} mode", mode.name());
            let (postino, warnings) =
                postino::run(&prepared, settings.clients, settings.seconds, mode).await;
            let done = dovecot_runs.iter().position(|(done, _)| *done == mode);
            let at = match done {
                Some(at) => at,
                None => {
                    eprintln!("dovecot: {} mode", mode.name());
                    let measured = dovecot.run(settings.clients, settings.seconds, mode).await;
                    dovecot_runs.push((mode, measured));
                    dovecot_runs.len() - 1
                }
            };
            let beside = &dovecot_runs[at].1;
            let problems = dovecot.problems();
            println!();
            report::table(
                &format!("== {name}, {} mode ==", mode.name()),
                &Side {
                    name: format!("postino ({name})"),
                    measured: &postino,
                    problems: &warnings,
                },
                &Side {
                    name: format!("dovecot {}", dovecot.version),
                    measured: beside,
                    problems: &problems,
                },
            );
            clean &= is_clean(&postino) && is_clean(beside);
        }
    }
    if let Some(mut dovecot) = dovecot {
        dovecot.stop();
    }
    report::legend();
    Ok(clean)
}

fn is_clean(measured: &Measured) -> bool {
    measured.failures.is_empty() && measured.violations.is_empty()
}

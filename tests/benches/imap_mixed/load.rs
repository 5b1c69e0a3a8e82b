//! Runs the mixed load against one server and measures it: a warm-up
//! SELECT per user, then the clients for [`WARM_UP`] unmeasured and the
//! measured seconds, then the figures of the measured window.
//!
//! Each client has a generator seeded by its number alone, so that both
//! servers get the same sequence of choices (users, steps, set shapes),
//! drawn over what each server's folders hold at the time. A client
//! starts session after session, each as a user drawn at random, until the
//! deadline; a session still running then is cut off between commands. A
//! failed session is counted and the client starts another.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fastrand::Rng;
use postino_tests::bench::status_kib;
use postino_tests::imap::ImapClient;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::session::{self, Ended, Gathered, Kind, Mode, REPLY_LIMIT, Races, Sample};

/// How long the load runs before the measured window opens.
pub const WARM_UP: Duration = Duration::from_secs(3);
/// Commands slower than this are counted apart.
pub const SLOW: Duration = Duration::from_secs(1);
/// Failed sessions after which a client gives up, so that a broken server
/// ends the run instead of failing in a loop.
const MAX_FAILURES_PER_CLIENT: usize = 20;
/// The pause after a failed session, before the next.
const AFTER_FAILURE: Duration = Duration::from_millis(100);

/// A server under load: where it listens, its users and its process (the
/// resident set is that of the process and its children).
pub struct Target<'a> {
    pub addr: SocketAddr,
    pub users: &'a [String],
    pub pid: u32,
}

/// What one run measured.
pub struct Measured {
    pub figures: Figures,
    /// How long the warm-up SELECTs (one per user) took.
    pub warm_up: Duration,
    /// The resident set (KiB) of the server's processes before the load,
    /// then at the end of each quarter of the measured window: whether the
    /// memory levels off shows in the last ones.
    pub rss: [Option<u64>; 5],
    pub failures: Vec<String>,
    pub violations: Vec<String>,
    /// Answers explained by another session's EXPUNGE (see [`session`]).
    pub races: Races,
}

/// The timings of the measured window.
pub struct Figures {
    /// Each kind's latencies, sorted, by [`Kind::index`].
    pub latencies: Vec<Vec<Duration>>,
    /// Every command's latency, sorted.
    pub all: Vec<Duration>,
    pub seconds: f64,
    /// Commands slower than [`SLOW`].
    pub slow: usize,
    /// The longest time during which no command completed.
    pub stall: Duration,
}

impl Figures {
    pub fn per_second(&self) -> f64 {
        self.all.len() as f64 / self.seconds
    }
}

/// Warms the server up, then runs `clients` clients in `mode` for
/// [`WARM_UP`] and `seconds` more, measured.
pub async fn run(target: &Target<'_>, clients: usize, seconds: u64, mode: Mode) -> Measured {
    let (warm_up, mut failures) = select_each(target.addr, target.users, clients).await;
    let mut rss = [tree_rss(target.pid), None, None, None, None];
    let started = Instant::now();
    let window = started + WARM_UP;
    let deadline = window + Duration::from_secs(seconds);
    let users: Arc<[String]> = target.users.into();
    let mut tasks = JoinSet::new();
    for i in 0..clients {
        let (addr, users) = (target.addr, users.clone());
        tasks.spawn(async move { client(i, addr, &users, mode, deadline).await });
    }
    // The last quarter ends at the deadline.
    let quarter = Duration::from_secs(seconds) / 4;
    for (i, sample) in rss.iter_mut().enumerate().skip(1) {
        tokio::time::sleep_until((window + quarter * i as u32).into()).await;
        *sample = tree_rss(target.pid);
    }
    let mut samples = Vec::new();
    let mut violations = Vec::new();
    let mut races = Races::default();
    while let Some(joined) = tasks.join_next().await {
        let done = joined.expect("a load client panicked");
        samples.extend(done.samples);
        failures.extend(done.failures);
        violations.extend(done.violations);
        races.expunged += done.races.expunged;
        races.left += done.races.left;
    }
    Measured {
        figures: Figures::of(&samples, window, deadline),
        warm_up,
        rss,
        failures,
        violations,
        races,
    }
}

/// What one client gathered over its sessions.
#[derive(Default)]
struct Client {
    samples: Vec<Sample>,
    failures: Vec<String>,
    violations: Vec<String>,
    races: Races,
}

async fn client(
    i: usize,
    addr: SocketAddr,
    users: &[String],
    mode: Mode,
    deadline: Instant,
) -> Client {
    let mut rng = Rng::with_seed(0x6d69_7865_6400 + i as u64);
    let mut done = Client::default();
    while Instant::now() < deadline && done.failures.len() < MAX_FAILURES_PER_CLIENT {
        let user = &users[rng.usize(0..users.len())];
        let gathered = Gathered {
            samples: &mut done.samples,
            violations: &mut done.violations,
            races: &mut done.races,
        };
        match session::session(addr, user, mode, &mut rng, deadline, gathered).await {
            Ok(()) | Err(Ended::Stopped) => {}
            Err(Ended::Failed(failure)) => {
                done.failures
                    .push(format!("client {i} as {user}: {failure}"));
                tokio::time::sleep(AFTER_FAILURE).await;
            }
        }
    }
    done
}

/// Logs in as each user once and selects the INBOX, `clients` at a time,
/// so that the servers have built their indexes and caches before the
/// load; returns how long that took, and what failed.
async fn select_each(
    addr: SocketAddr,
    users: &[String],
    clients: usize,
) -> (Duration, Vec<String>) {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(clients.max(1)));
    let mut tasks = JoinSet::new();
    for user in users {
        let (gate, user) = (gate.clone(), user.clone());
        tasks.spawn(async move {
            let _turn = gate.acquire_owned().await.expect("the gate stays open");
            select_once(addr, &user)
                .await
                .map_err(|failure| format!("warm-up as {user}: {failure}"))
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Err(failure) = joined.expect("a warm-up task panicked") {
            failures.push(failure);
        }
    }
    (started.elapsed(), failures)
}

async fn select_once(addr: SocketAddr, user: &str) -> Result<(), String> {
    let mut client = ImapClient::try_connect(addr, REPLY_LIMIT).await?;
    // The first SELECT may index thousands of files: each line may take
    // as long as a whole response otherwise would.
    for command in [
        format!("LOGIN \"{user}\" \"{}\"", crate::session::PASSWORD),
        "SELECT INBOX".to_string(),
        "LOGOUT".to_string(),
    ] {
        let response = client
            .try_command(command.as_bytes(), REPLY_LIMIT * 4)
            .await?;
        if response.status() != "OK" {
            return Err(format!("{command:?} answered {}", response.tagged));
        }
        let empty = response.untagged.iter().any(|l| l == "* 0 EXISTS");
        if command == "SELECT INBOX" && empty {
            return Err("the INBOX is empty".to_string());
        }
    }
    Ok(())
}

impl Figures {
    /// The figures of the commands sent in `window..deadline`; a stall
    /// counts completions of any command.
    fn of(samples: &[Sample], window: Instant, deadline: Instant) -> Figures {
        let mut latencies = vec![Vec::new(); Kind::ALL.len()];
        let mut all = Vec::new();
        let mut completions = Vec::new();
        for sample in samples {
            let completed = sample.sent + sample.took;
            if (window..=deadline).contains(&completed) {
                completions.push(completed);
            }
            if (window..deadline).contains(&sample.sent) {
                latencies[sample.kind.index()].push(sample.took);
                all.push(sample.took);
            }
        }
        for kind in &mut latencies {
            kind.sort_unstable();
        }
        all.sort_unstable();
        completions.sort_unstable();
        let mut stall = Duration::ZERO;
        let mut last = window;
        for completed in completions.into_iter().chain([deadline]) {
            stall = stall.max(completed - last);
            last = completed;
        }
        Figures {
            slow: all.iter().filter(|&&took| took > SLOW).count(),
            latencies,
            all,
            seconds: (deadline - window).as_secs_f64(),
            stall,
        }
    }
}

/// The resident set of process `pid` and of its children, in KiB: Dovecot
/// runs a process per service and per IMAP session under its master.
fn tree_rss(pid: u32) -> Option<u64> {
    let mut total = status_kib(pid, "VmRSS")?;
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Some(total);
    };
    for entry in processes.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if parent_of(child) == Some(pid) {
            total += status_kib(child, "VmRSS").unwrap_or(0);
        }
    }
    Some(total)
}

/// The parent of process `pid`, from `/proc/<pid>/stat` (the field after
/// the state, which follows the parenthesized command name).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

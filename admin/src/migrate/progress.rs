//! Progress of a migration, on standard error. On a terminal, one line
//! redrawn in place: mailboxes done, messages and bytes so far, the rate,
//! and each mailbox being copied with its share done. Otherwise (a log, a
//! pipe) plain lines: one per mailbox every [`LINE_EVERY`] while it is
//! copied, and one when it ends.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use postino_config::ByteSize;

use super::report::MailboxReport;

/// How often plain progress lines are printed.
const LINE_EVERY: Duration = Duration::from_secs(10);
/// How often the terminal line is redrawn at most.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

pub struct Progress {
    terminal: bool,
    state: Mutex<State>,
}

struct State {
    started: Instant,
    shown: Instant,
    mailboxes: usize,
    finished: usize,
    messages: u64,
    bytes: u64,
    active: BTreeMap<String, Active>,
}

#[derive(Default)]
struct Active {
    planned: u64,
    copied: u64,
}

impl Progress {
    pub fn new(mailboxes: usize) -> Progress {
        let now = Instant::now();
        Progress {
            terminal: std::io::stderr().is_terminal(),
            state: Mutex::new(State {
                started: now,
                shown: now,
                mailboxes,
                finished: 0,
                messages: 0,
                bytes: 0,
                active: BTreeMap::new(),
            }),
        }
    }

    /// `messages` more to copy into `address`, found in a folder.
    pub fn planned(&self, address: &str, messages: u64) {
        self.update(|state| {
            state.active.entry(address.to_string()).or_default().planned += messages;
        });
    }

    /// `messages` of `bytes` copied into `address`.
    pub fn copied(&self, address: &str, messages: u64, bytes: u64) {
        self.update(|state| {
            state.active.entry(address.to_string()).or_default().copied += messages;
            state.messages += messages;
            state.bytes += bytes;
        });
    }

    /// A mailbox is done (or given up): its line.
    pub fn finished(&self, report: &MailboxReport) {
        self.update(|state| {
            state.active.remove(&report.address);
            state.finished += 1;
        });
        let line = format!("{}: {}", report.address, report.summary());
        let mut err = std::io::stderr().lock();
        let _ = match self.terminal {
            true => writeln!(err, "\r\x1b[K{line}"),
            false => writeln!(err, "{line}"),
        };
    }

    /// Clears the terminal line, at the end.
    pub fn done(&self) {
        if self.terminal {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        change(&mut state);
        let every = match self.terminal {
            true => REDRAW_EVERY,
            false => LINE_EVERY,
        };
        if state.shown.elapsed() < every {
            return;
        }
        state.shown = Instant::now();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[K{}", state.overall());
            for (address, active) in &state.active {
                let _ = write!(err, " | {address} {}%", active.percent());
            }
        } else {
            for (address, active) in &state.active {
                let _ = writeln!(
                    err,
                    "{address}: {} of {} messages copied so far",
                    active.copied, active.planned
                );
            }
            let _ = writeln!(err, "{}", state.overall());
        }
        let _ = err.flush();
    }
}

impl State {
    fn overall(&self) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        format!(
            "{}/{} mailboxes, {} messages, {}, {:.0} msg/s",
            self.finished,
            self.mailboxes,
            self.messages,
            ByteSize(self.bytes),
            self.messages as f64 / seconds
        )
    }
}

impl Active {
    fn percent(&self) -> u64 {
        match self.planned {
            0 => 0,
            planned => self.copied * 100 / planned,
        }
    }
}

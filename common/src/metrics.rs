//! The metrics `common` records: failed logins and store latency, with
//! their names and descriptions; [`InUse`], the gauge guard the servers
//! count their open sessions with, and [`SessionCounters`], the pair of
//! session metrics a single-listener service keeps.
//!
//! Recording goes to the process's installed recorder: `postino serve`
//! installs the Prometheus one that `/metrics` renders; without one (the
//! CLI, unit tests) a record costs next to nothing and goes nowhere.

use std::time::Duration;

use ::metrics::{
    Gauge, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Failed logins, by `service` and `reason`.
pub const LOGIN_FAILURES: &str = "postino_login_failures_total";
/// How long committing a write transaction takes.
pub const STORE_COMMIT_SECONDS: &str = "postino_store_commit_seconds";
/// How long a write transaction takes, from its start to its commit.
pub const STORE_WRITE_SECONDS: &str = "postino_store_write_seconds";
/// How long writers wait for their turn or for row locks.
pub const STORE_LOCK_WAIT_SECONDS: &str = "postino_store_lock_wait_seconds";
/// How long storing a message takes, batching and commit included.
pub const STORE_APPEND_SECONDS: &str = "postino_store_append_seconds";

/// Upper bounds, in seconds, of the buckets of the latency histograms: from
/// half a millisecond (a commit the disk cache absorbs) to five seconds (a
/// disk or database in trouble).
pub const LATENCY_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The `service` labels of [`LOGIN_FAILURES`].
const SERVICES: [&str; 5] = ["imap", "smtp", "admin", "managesieve", "pop3"];
/// The `reason` labels of [`LOGIN_FAILURES`].
const REASONS: [&str; 4] = ["bad_password", "unknown_user", "disabled", "throttled"];

/// Describes this crate's metrics to the installed recorder, and creates
/// every labelled counter at zero, so that each series exists from the
/// start (a rate needs a first sample). Call it once the recorder is in.
pub fn describe() {
    describe_counter!(
        LOGIN_FAILURES,
        "Failed logins, by service (imap, smtp, admin, managesieve, pop3) and reason \
         (bad_password, unknown_user, disabled, throttled)"
    );
    describe_histogram!(
        STORE_COMMIT_SECONDS,
        Unit::Seconds,
        "Time to commit a store write transaction"
    );
    describe_histogram!(
        STORE_WRITE_SECONDS,
        Unit::Seconds,
        "Time a store write transaction takes, from its start (waiting for \
         the writer's turn included) to its durable commit"
    );
    describe_histogram!(
        STORE_LOCK_WAIT_SECONDS,
        Unit::Seconds,
        "Time store writers wait for the writer's turn (SQLite) or for the \
         row locks of the folders and accounts they change (PostgreSQL)"
    );
    describe_histogram!(
        STORE_APPEND_SECONDS,
        Unit::Seconds,
        "Time to store a message durably, waiting for its group commit included"
    );
    for service in SERVICES {
        for reason in REASONS {
            counter!(LOGIN_FAILURES, "service" => service, "reason" => reason).increment(0);
        }
    }
}

/// Counts a failed login; `reason` is one of [`REASONS`].
pub(crate) fn login_failed(service: &'static str, reason: &'static str) {
    counter!(LOGIN_FAILURES, "service" => service, "reason" => reason).increment(1);
}

pub(crate) fn commit_took(elapsed: Duration) {
    histogram!(STORE_COMMIT_SECONDS).record(elapsed);
}

pub(crate) fn write_took(elapsed: Duration) {
    histogram!(STORE_WRITE_SECONDS).record(elapsed);
}

pub(crate) fn lock_waited(elapsed: Duration) {
    histogram!(STORE_LOCK_WAIT_SECONDS).record(elapsed);
}

pub(crate) fn append_took(elapsed: Duration) {
    histogram!(STORE_APPEND_SECONDS).record(elapsed);
}

/// One unit of a gauge, held for as long as this lives: an open session
/// counts from its start until its task ends, whichever way it ends.
#[derive(Debug)]
pub struct InUse(Gauge);

impl InUse {
    pub fn new(gauge: Gauge) -> InUse {
        gauge.increment(1.0);
        InUse(gauge)
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A service's sessions: a counter of connections accepted and a gauge of
/// those open now.
pub struct SessionCounters {
    /// The counter's name, e.g. `postino_imap_sessions_total`.
    pub total: &'static str,
    /// The gauge's name, e.g. `postino_imap_sessions_open`.
    pub open: &'static str,
    /// The protocol, as the descriptions name it.
    pub protocol: &'static str,
}

impl SessionCounters {
    /// Describes both metrics to the installed recorder and creates them at
    /// zero, so that a scrape shows them before the first connection.
    pub fn describe(&self) {
        describe_counter!(
            self.total,
            format!("{} connections accepted", self.protocol)
        );
        describe_gauge!(self.open, format!("{} connections open", self.protocol));
        counter!(self.total).increment(0);
        gauge!(self.open).set(0.0);
    }

    /// Counts a new connection; it counts as open until the returned guard
    /// is dropped.
    pub fn opened(&self) -> InUse {
        counter!(self.total).increment(1);
        InUse::new(gauge!(self.open))
    }
}

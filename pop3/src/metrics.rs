//! The POP3 service's metrics: sessions opened and open now, and commands
//! by name, as `postino serve` describes them.

use ::metrics::{counter, describe_counter};
use postino_common::metrics::SessionCounters;

/// POP3 connections accepted (`postino_pop3_sessions_total`) and open now
/// (`postino_pop3_sessions_open`).
pub const SESSIONS: SessionCounters = SessionCounters {
    total: "postino_pop3_sessions_total",
    open: "postino_pop3_sessions_open",
    protocol: "POP3",
};

/// Commands read, by `command` (their names, never what a client made up).
pub const COMMANDS: &str = "postino_pop3_commands_total";

/// Describes the POP3 metrics to the installed recorder and creates the
/// session ones at zero. Call it once the recorder is in.
pub fn describe() {
    SESSIONS.describe();
    describe_counter!(COMMANDS, "POP3 commands read, by command");
}

/// Counts a command read.
pub(crate) fn command(name: &'static str) {
    counter!(COMMANDS, "command" => name).increment(1);
}

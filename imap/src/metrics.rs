//! The IMAP service's metrics: sessions opened and open now.

use ::metrics::{counter, describe_counter, describe_gauge, gauge};
use postino_common::metrics::InUse;

/// Connections accepted.
pub const SESSIONS: &str = "postino_imap_sessions_total";
/// Connections open now.
pub const SESSIONS_OPEN: &str = "postino_imap_sessions_open";

/// Describes the IMAP metrics to the installed recorder and creates them
/// at zero. Call it once the recorder is in.
pub fn describe() {
    describe_counter!(SESSIONS, "IMAP connections accepted");
    describe_gauge!(SESSIONS_OPEN, "IMAP connections open");
    counter!(SESSIONS).increment(0);
    gauge!(SESSIONS_OPEN).set(0.0);
}

/// Counts a new connection; it counts as open until the returned guard is
/// dropped.
pub(crate) fn session_opened() -> InUse {
    counter!(SESSIONS).increment(1);
    InUse::new(gauge!(SESSIONS_OPEN))
}

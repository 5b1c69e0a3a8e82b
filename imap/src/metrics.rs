//! The IMAP service's metrics: sessions opened and open now.

use postino_common::metrics::SessionCounters;

/// IMAP connections accepted (`postino_imap_sessions_total`) and open now
/// (`postino_imap_sessions_open`).
pub const SESSIONS: SessionCounters = SessionCounters {
    total: "postino_imap_sessions_total",
    open: "postino_imap_sessions_open",
    protocol: "IMAP",
};

/// Describes the IMAP metrics to the installed recorder and creates them
/// at zero. Call it once the recorder is in.
pub fn describe() {
    SESSIONS.describe();
}

//! The SMTP service's metrics: sessions, accepted messages, refusals by
//! reason, outbound delivery attempts by outcome, scans, and what rspamd
//! was taught. Names and labels are defined here once; the session,
//! delivery and learning code call the functions.

use std::time::Duration;

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use postino_common::metrics::InUse;
use postino_common::mta_sts::Mode;
use postino_common::store::{Lesson, RecipientOutcome};

use crate::ListenerKind;
use crate::proto::Reply;

/// Connections accepted, by `listener`.
pub const SESSIONS: &str = "postino_smtp_sessions_total";
/// Connections open now, by `listener`.
pub const SESSIONS_OPEN: &str = "postino_smtp_sessions_open";
/// Messages stored or queued (answered 250 at the end of data), by `listener`.
pub const MESSAGES_ACCEPTED: &str = "postino_smtp_messages_accepted_total";
/// Refused commands and messages, by `reason`.
pub const REJECTIONS: &str = "postino_smtp_rejections_total";
/// Outbound delivery attempts, one per recipient, by `outcome`.
pub const DELIVERY_ATTEMPTS: &str = "postino_delivery_attempts_total";
/// Deliveries that failed a recipient domain's MTA-STS policy (RFC 8461),
/// by `mode` (enforce: deferred; testing: delivered all the same) and
/// `failure` (one of [`MTA_STS_FAILURES`]).
pub const MTA_STS_FAILED: &str = "postino_mta_sts_failures_total";
/// Messages scanned on the MX, by `action`: rspamd's, or `blocked` (an
/// attachment of a refused type), `infected` (clamd found a signature),
/// `clean` (no rspamd, nothing found), `unscanned`.
pub const SCAN_VERDICTS: &str = "postino_antispam_verdicts_total";
/// How long a scan that gave a verdict took, failed servers included.
pub const SCAN_SECONDS: &str = "postino_antispam_scan_seconds";
/// Scans a server failed to answer (refused, timed out, bad reply).
pub const SCAN_ERRORS: &str = "postino_antispam_errors_total";
/// Attempts to teach rspamd a message users filed, by `as` (the lesson)
/// and `result`.
pub const LEARNED: &str = "postino_antispam_learned_total";

/// Messages or recipients refused to a logged-in mailbox past one of its
/// sending limits, by `limit`.
pub const SENDING_LIMIT_HITS: &str = "postino_smtp_sending_limit_hits_total";

/// The `limit` labels of [`SENDING_LIMIT_HITS`].
const SENDING_LIMITS: [&str; 2] = ["messages_per_hour", "recipients_per_day"];

/// The `failure` labels of [`MTA_STS_FAILED`]: an MX host the policy does
/// not name, no STARTTLS, a certificate not valid for the MX host.
pub const MTA_STS_FAILURES: [&str; 3] = ["mx", "starttls", "certificate"];

/// The `action` labels of [`SCAN_VERDICTS`].
const SCAN_ACTIONS: [&str; 10] = [
    "blocked",
    "infected",
    "clean",
    "no action",
    "greylist",
    "add header",
    "rewrite subject",
    "soft reject",
    "reject",
    "unscanned",
];

const LISTENERS: [ListenerKind; 3] = [
    ListenerKind::Mx,
    ListenerKind::Submission,
    ListenerKind::Submissions,
];
const OUTCOMES: [RecipientOutcome; 3] = [
    RecipientOutcome::Delivered,
    RecipientOutcome::Deferred,
    RecipientOutcome::Failed,
];

/// Why a command or a message was refused: a small fixed set, so that each
/// is a series worth watching. Refusals for bad syntax or a wrong command
/// order are not counted; neither are temporary server errors, which the
/// log reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// MAIL on submission before AUTH.
    AuthRequired,
    /// A recipient elsewhere from a client that may not relay.
    RelayDenied,
    /// A recipient address or domain not hosted here, or disabled.
    UnknownRecipient,
    /// A mailbox or domain too full, at RCPT or at the end of data.
    OverQuota,
    /// Over the message size limit, announced with SIZE or sent.
    TooLarge,
    /// A relay client over its rate.
    RateLimited,
    /// Content with bare CR or LF, or a line too long.
    BadData,
    /// A sender the client may not use.
    SenderRefused,
    /// A client of the MX in a DNS blocklist.
    Blocklisted,
    /// A client of the MX that talked before the end of the greeting.
    Pregreet,
    /// An EHLO or HELO from outside with our own name.
    ForgedHelo,
    /// Content clamd found malware in, or with an attachment of a refused
    /// type.
    Malware,
    /// Content rspamd says to reject.
    Spam,
    /// Content the scanner says to hold back (soft reject, greylist), or
    /// could not scan.
    ScanDeferred,
    /// A message every recipient's Sieve script refused (`reject`).
    Filter,
}

impl Rejection {
    const ALL: [Rejection; 15] = [
        Rejection::AuthRequired,
        Rejection::RelayDenied,
        Rejection::UnknownRecipient,
        Rejection::OverQuota,
        Rejection::TooLarge,
        Rejection::RateLimited,
        Rejection::BadData,
        Rejection::SenderRefused,
        Rejection::Blocklisted,
        Rejection::Pregreet,
        Rejection::ForgedHelo,
        Rejection::Malware,
        Rejection::Spam,
        Rejection::ScanDeferred,
        Rejection::Filter,
    ];

    fn label(self) -> &'static str {
        match self {
            Rejection::AuthRequired => "auth_required",
            Rejection::RelayDenied => "relay_denied",
            Rejection::UnknownRecipient => "unknown_recipient",
            Rejection::OverQuota => "over_quota",
            Rejection::TooLarge => "too_large",
            Rejection::RateLimited => "rate_limited",
            Rejection::BadData => "bad_data",
            Rejection::SenderRefused => "sender_refused",
            Rejection::Blocklisted => "blocklisted",
            Rejection::Pregreet => "pregreet",
            Rejection::ForgedHelo => "forged_helo",
            Rejection::Malware => "malware",
            Rejection::Spam => "spam",
            Rejection::ScanDeferred => "scan_deferred",
            Rejection::Filter => "filter",
        }
    }
}

fn listener_label(kind: ListenerKind) -> &'static str {
    match kind {
        ListenerKind::Mx => "mx",
        ListenerKind::Submission => "submission",
        ListenerKind::Submissions => "submissions",
    }
}

fn outcome_label(outcome: RecipientOutcome) -> &'static str {
    match outcome {
        RecipientOutcome::Delivered => "delivered",
        RecipientOutcome::Deferred => "deferred",
        RecipientOutcome::Failed => "failed",
    }
}

/// Describes the SMTP metrics to the installed recorder and creates every
/// labelled series at zero. Call it once the recorder is in.
pub fn describe() {
    describe_counter!(SESSIONS, "SMTP connections accepted, by listener");
    describe_gauge!(SESSIONS_OPEN, "SMTP connections open, by listener");
    describe_counter!(
        MESSAGES_ACCEPTED,
        "Messages accepted by SMTP (stored or queued), by listener"
    );
    describe_counter!(
        REJECTIONS,
        "SMTP commands and messages refused, by reason (auth_required, relay_denied, \
         unknown_recipient, over_quota, too_large, rate_limited, bad_data, sender_refused, \
         blocklisted, pregreet, forged_helo, malware, spam, scan_deferred)"
    );
    describe_counter!(
        DELIVERY_ATTEMPTS,
        "Outbound delivery attempts, one per recipient, by outcome (delivered, deferred, failed)"
    );
    describe_counter!(
        MTA_STS_FAILED,
        "Deliveries that failed a recipient domain's MTA-STS policy, by mode (enforce: \
         deferred; testing: delivered all the same) and failure (mx, starttls, certificate)"
    );
    for mode in [Mode::Enforce, Mode::Testing] {
        for failure in MTA_STS_FAILURES {
            counter!(MTA_STS_FAILED, "mode" => mode.as_str(), "failure" => failure).increment(0);
        }
    }
    describe_counter!(
        SCAN_VERDICTS,
        "Messages scanned on the MX, by action: rspamd's (no action, greylist, add header, \
         rewrite subject, soft reject, reject), blocked (an attachment of a refused type), \
         infected (clamd found malware), clean (no rspamd, nothing found) or unscanned"
    );
    describe_histogram!(
        SCAN_SECONDS,
        Unit::Seconds,
        "Time to get a content scanner's verdict on a message"
    );
    describe_counter!(
        SCAN_ERRORS,
        "Content scans a server failed to answer (refused, timed out, bad reply)"
    );
    describe_counter!(
        SENDING_LIMIT_HITS,
        "Messages or recipients refused to a mailbox past its sending limits, by limit \
         (messages_per_hour, recipients_per_day)"
    );
    for limit in SENDING_LIMITS {
        counter!(SENDING_LIMIT_HITS, "limit" => limit).increment(0);
    }
    describe_counter!(
        LEARNED,
        "Attempts to teach rspamd a message users filed in or out of Junk, by as (spam, ham) \
         and result (ok: learned, or known already; error: not learnable, or no controller \
         took it)"
    );
    counter!(SCAN_ERRORS).increment(0);
    for lesson in [Lesson::Spam, Lesson::Ham] {
        for result in ["ok", "error"] {
            counter!(LEARNED, "as" => lesson.as_str(), "result" => result).increment(0);
        }
    }
    for action in SCAN_ACTIONS {
        counter!(SCAN_VERDICTS, "action" => action).increment(0);
    }
    for kind in LISTENERS {
        let listener = listener_label(kind);
        counter!(SESSIONS, "listener" => listener).increment(0);
        gauge!(SESSIONS_OPEN, "listener" => listener).set(0.0);
        counter!(MESSAGES_ACCEPTED, "listener" => listener).increment(0);
    }
    for reason in Rejection::ALL {
        counter!(REJECTIONS, "reason" => reason.label()).increment(0);
    }
    for outcome in OUTCOMES {
        counter!(DELIVERY_ATTEMPTS, "outcome" => outcome_label(outcome)).increment(0);
    }
}

/// Counts a new connection on a `kind` listener; it counts as open until
/// the returned guard is dropped.
pub(crate) fn session_opened(kind: ListenerKind) -> InUse {
    let listener = listener_label(kind);
    counter!(SESSIONS, "listener" => listener).increment(1);
    InUse::new(gauge!(SESSIONS_OPEN, "listener" => listener))
}

pub(crate) fn message_accepted(kind: ListenerKind) {
    counter!(MESSAGES_ACCEPTED, "listener" => listener_label(kind)).increment(1);
}

/// Counts `reply` as a refusal for `reason`, and passes it on.
pub(crate) fn rejected(reason: Rejection, reply: Reply) -> Reply {
    counter!(REJECTIONS, "reason" => reason.label()).increment(1);
    reply
}

pub(crate) fn delivery_attempted(outcome: RecipientOutcome) {
    counter!(DELIVERY_ATTEMPTS, "outcome" => outcome_label(outcome)).increment(1);
}

/// Counts a delivery that failed an MTA-STS policy in `mode`, for
/// `failure`, one of [`MTA_STS_FAILURES`].
pub(crate) fn mta_sts_failed(mode: Mode, failure: &'static str) {
    counter!(MTA_STS_FAILED, "mode" => mode.as_str(), "failure" => failure).increment(1);
}

/// Counts a scanned message by rspamd's `action`, one of [`SCAN_ACTIONS`].
pub(crate) fn scanned(action: &'static str) {
    counter!(SCAN_VERDICTS, "action" => action).increment(1);
}

pub(crate) fn scan_took(elapsed: Duration) {
    histogram!(SCAN_SECONDS).record(elapsed);
}

pub(crate) fn scan_failed() {
    counter!(SCAN_ERRORS).increment(1);
}

/// Counts a refusal past a sending limit, one of [`SENDING_LIMITS`].
pub(crate) fn sending_limit_hit(limit: &'static str) {
    counter!(SENDING_LIMIT_HITS, "limit" => limit).increment(1);
}

/// Counts an attempt to teach rspamd `lesson`, and whether it took.
pub(crate) fn learned(lesson: Lesson, ok: bool) {
    let result = if ok { "ok" } else { "error" };
    counter!(LEARNED, "as" => lesson.as_str(), "result" => result).increment(1);
}

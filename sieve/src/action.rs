//! What a run asks the caller to do with the message: the public result of
//! the engine, executed by delivery (RFC 5228 section 4, RFC 5230, RFC 5429).

/// One action; the caller performs them in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Store in the user's INBOX with these IMAP flags: `keep`, `fileinto
    /// "INBOX"` or the implicit keep.
    Keep { flags: Vec<String> },
    /// Store in `mailbox`, creating it first when `create` is set (RFC 5490);
    /// a missing mailbox without `create` means INBOX.
    FileInto {
        mailbox: String,
        flags: Vec<String>,
        create: bool,
    },
    /// Forward the message, unchanged, to `address`.
    Redirect { address: String },
    /// Refuse the message: in SMTP when `extended` (`ereject`) or possible,
    /// otherwise by a delivery status notification (RFC 5429).
    Reject { reason: String, extended: bool },
    /// Send an out-of-office reply, if `vacation_allowed` and the caller's
    /// record of earlier replies permit it.
    Vacation(Vacation),
}

/// Everything needed to send a vacation reply (RFC 5230 section 4, RFC 6131).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vacation {
    /// The reply text, or a whole MIME entity when `mime` is set.
    pub reason: String,
    pub mime: bool,
    /// The subject of the reply: the script's `:subject`, or "Auto: " and
    /// the subject of the message.
    pub subject: String,
    /// The `:from` address to send the reply from, if given.
    pub from: Option<String>,
    /// The user's other addresses (`:addresses`) for the addressed-to-me check.
    pub addresses: Vec<String>,
    /// Identifies this vacation response: replies to a sender are counted
    /// per handle, so a changed text starts a new period.
    pub handle: String,
    /// Send at most one reply per sender and handle within this many seconds;
    /// 0 means reply every time (RFC 6131 section 2).
    pub period: u64,
}

/// What a run decided.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The actions in order, the implicit keep (if any) last; none at all
    /// means the message is discarded.
    pub actions: Vec<Action>,
    /// Why the run failed, when it did: the actions are then only a keep,
    /// and the caller logs the message.
    pub error: Option<String>,
}

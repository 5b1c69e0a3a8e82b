//! Content scanning by ClamAV and rspamd, at the end of DATA or BDAT and
//! before the reply: of the mail that arrives on the MX, and of the mail
//! logged-in mailboxes and relay clients send ([`Checks::OUTBOUND`]).
//!
//! A message with an attachment of a refused type ([`attachments`]), or in
//! which clamd finds a signature, is refused for good. Then
//! rspamd's action decides ([`Scanner::scan`]): `reject` refuses the
//! message for good, `soft reject` and `greylist` for now; `add header`,
//! `rewrite subject` and custom actions deliver it into the recipients'
//! Junk folders with `X-Spam-*` fields; `no action` into their INBOX. When
//! no server answers, the configured [`OnFailure`] decides. The outcome is a
//! value; the session turns a refusal into its reply in `error.rs`.
//!
//! rspamd also learns from what users file in and out of Junk: [`learn`]
//! teaches its controller in the background.

mod attachments;
mod clamd;
pub mod learn;
mod rspamd;

use std::future::Future;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use hyper::body::Bytes;

pub use self::clamd::Clamd;
pub use self::rspamd::{Action, Verdict};
use crate::error::Chain;
use crate::header;
use crate::metrics;

/// The longest line of a folded `X-Spam-Symbols` field.
const FOLD_AT: usize = 78;

/// What the MX does with a message no server could scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Refused for now (`451 4.7.1`); the sender tries again.
    Tempfail,
    /// Delivered to the INBOX unscanned, marked so.
    Accept,
}

/// Why a server gave no verdict.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot talk to {server}")]
    Io {
        server: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no reply from {server} within {timeout:?}")]
    Timeout { server: String, timeout: Duration },
    #[error("HTTP exchange with {server} failed")]
    Http {
        server: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{server} answered {status}")]
    Status {
        server: String,
        status: hyper::StatusCode,
    },
    #[error("{server} sent a reply that is not a verdict")]
    Reply {
        server: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{server} did not scan the message: {reply:?}")]
    Refused { server: String, reply: String },
}

/// Runs `exchange` with `server`, for at most `timeout`.
async fn within<T>(
    server: &str,
    timeout: Duration,
    exchange: impl Future<Output = Result<T, ScanError>>,
) -> Result<T, ScanError> {
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(ScanError::Timeout {
                server: server.to_string(),
                timeout,
            })
        })
}

/// The scanning settings, from `[antispam]`.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// Attachment extensions refused (lower case, with the dot), attached
    /// or inside a ZIP archive.
    pub blocked_attachments: Vec<String>,
    /// Extensions refused only inside a ZIP archive (lower case, with the
    /// dot).
    pub blocked_in_archives: Vec<String>,
    /// clamd, if attachments are scanned for malware.
    pub clamd: Option<Clamd>,
    /// rspamd's normal workers, `host:port`, tried in order; none: no
    /// spam scanning.
    pub servers: Vec<String>,
    /// How long one server may take.
    pub timeout: Duration,
    /// Larger messages are delivered unscanned, marked so.
    pub max_size: usize,
    pub on_failure: OnFailure,
    /// Whether outbound mail is scanned too.
    pub scan_outbound: bool,
    /// The rspamd settings id for outbound mail, if any.
    pub outbound_profile: Option<String>,
}

/// Which checks a scan makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// Attachments of the refused types.
    pub attachments: bool,
    /// rspamd's: off when no recipient's domain filters spam.
    pub spam: bool,
}

impl Checks {
    /// The MX's, for mail from the world.
    pub const INBOUND: Checks = Checks {
        attachments: true,
        spam: true,
    };
    /// For the mail our own users and relay clients send: employees may
    /// send any type of file, but not malware or what rspamd refuses.
    pub const OUTBOUND: Checks = Checks {
        attachments: false,
        spam: true,
    };
}

/// The SMTP transaction a message came with, as rspamd is told it.
#[derive(Debug)]
pub struct Envelope<'a> {
    pub ip: IpAddr,
    pub helo: &'a str,
    /// The reverse path, empty for a bounce.
    pub mail_from: &'a str,
    pub rcpt_to: Vec<&'a str>,
    /// The server's own name.
    pub hostname: &'a str,
    pub queue_id: &'a str,
    /// The rspamd settings id of the recipients' profile, if any.
    pub settings_id: Option<&'a str>,
    /// The sender of outbound mail: a mailbox's address, or `relay:NAME`
    /// for a relay client; rspamd applies its rules for authenticated
    /// senders to it.
    pub user: Option<&'a str>,
}

impl Envelope<'_> {
    /// rspamd's request headers for this envelope.
    fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        [
            ("IP", self.ip.to_string()),
            ("Helo", self.helo.to_string()),
            ("From", self.mail_from.to_string()),
            ("Queue-Id", self.queue_id.to_string()),
            ("MTA-Name", self.hostname.to_string()),
        ]
        .into_iter()
        .chain(self.settings_id.map(|id| ("Settings-ID", id.to_string())))
        .chain(self.user.map(|user| ("User", user.to_string())))
        .chain(self.rcpt_to.iter().map(|rcpt| ("Rcpt", rcpt.to_string())))
    }
}

/// Where a message goes, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered to the recipients' INBOX with these header fields first.
    Inbox { fields: String },
    /// Delivered to the recipients' Junk folder with these header fields.
    Junk { fields: String },
    /// Refused for good (`554 5.7.1`): an attachment of a refused type,
    /// or a ZIP archive with one inside (`archive.zip/entry`).
    Blocked { filename: String },
    /// Refused for good (`554 5.7.1`): clamd found this signature.
    Infected { signature: String },
    /// Refused for good (`550 5.7.1`), with rspamd's text.
    Reject { text: String },
    /// Refused for now (`451 4.7.1`).
    Defer { text: String },
}

impl Scanner {
    /// Whether outbound mail has anything to be scanned by.
    pub fn scans_outbound(&self) -> bool {
        self.scan_outbound && (self.clamd.is_some() || !self.servers.is_empty())
    }

    /// Makes the `checks` on `message`, clamd's always, rspamd's last.
    pub async fn scan(&self, envelope: &Envelope<'_>, message: &[u8], checks: Checks) -> Outcome {
        if message.len() > self.max_size {
            tracing::info!(size = message.len(), "message too large to scan");
            metrics::scanned("unscanned");
            let scanners = self.clamd.is_some() || !self.servers.is_empty();
            return Outcome::Inbox {
                fields: if scanners {
                    unscanned("too large")
                } else {
                    String::new()
                },
            };
        }
        if let Some(filename) = checks
            .attachments
            .then(|| {
                attachments::first_blocked(
                    message,
                    &self.blocked_attachments,
                    &self.blocked_in_archives,
                )
            })
            .flatten()
        {
            tracing::info!(filename, "attachment of a refused type");
            metrics::scanned("blocked");
            return Outcome::Blocked { filename };
        }
        let started = Instant::now();
        if let Some(clamd) = &self.clamd {
            match clamd::scan(clamd, self.timeout, message).await {
                Ok(None) => {}
                Ok(Some(signature)) => {
                    tracing::info!(%signature, "malware found");
                    metrics::scanned("infected");
                    return Outcome::Infected { signature };
                }
                Err(err) => {
                    log_failure(&err);
                    return self.unscanned();
                }
            }
        }
        if self.servers.is_empty() || !checks.spam {
            metrics::scan_took(started.elapsed());
            metrics::scanned("clean");
            return Outcome::Inbox {
                fields: String::new(),
            };
        }
        // Copied once, for rspamd's HTTP body, only when rspamd is asked.
        let body = Bytes::copy_from_slice(message);
        for server in &self.servers {
            match rspamd::check(server, self.timeout, envelope, body.clone()).await {
                Ok(verdict) => {
                    metrics::scan_took(started.elapsed());
                    metrics::scanned(verdict.action.name());
                    tracing::info!(
                        action = verdict.action.name(),
                        score = verdict.score,
                        symbols = %symbol_list(&verdict),
                        "scanned"
                    );
                    return outcome(&verdict);
                }
                Err(err) => log_failure(&err),
            }
        }
        self.unscanned()
    }

    /// What becomes of a message no server could scan, as `on_failure` says.
    fn unscanned(&self) -> Outcome {
        metrics::scanned("unscanned");
        match self.on_failure {
            OnFailure::Tempfail => Outcome::Defer {
                text: "Content scanner unavailable, try again later".to_string(),
            },
            OnFailure::Accept => Outcome::Inbox {
                fields: unscanned("scanner unavailable"),
            },
        }
    }
}

fn log_failure(err: &ScanError) {
    metrics::scan_failed();
    tracing::warn!(error = %Chain(err), "scan failed");
}

/// Whether `field` is one of the `X-Spam-*` fields the scan writes, which
/// a sender must not set in its stead.
pub(crate) fn is_scan_field(field: &[u8]) -> bool {
    header::split_field(field)
        .is_some_and(|(name, _)| name.len() >= 6 && name[..6].eq_ignore_ascii_case(b"X-Spam"))
}

fn outcome(verdict: &Verdict) -> Outcome {
    let text = || match &verdict.smtp_message {
        Some(text) => reply_text(text),
        None => "Message refused as spam".to_string(),
    };
    match verdict.action {
        Action::Reject => Outcome::Reject { text: text() },
        Action::SoftReject | Action::Greylist => Outcome::Defer { text: text() },
        Action::AddHeader | Action::RewriteSubject => Outcome::Junk {
            fields: fields(verdict, true),
        },
        Action::NoAction => Outcome::Inbox {
            fields: fields(verdict, false),
        },
    }
}

/// The `X-Spam-*` fields of a scanned message; a spam one also names the
/// rules that matched.
fn fields(verdict: &Verdict, spam: bool) -> String {
    let mut fields = format!(
        "X-Spam: {}\r\nX-Spam-Action: {}\r\nX-Spam-Score: {:.2} / {:.2}\r\n",
        if spam { "Yes" } else { "No" },
        verdict.action.name(),
        verdict.score,
        verdict.required_score,
    );
    if spam && !verdict.symbols.is_empty() {
        fields.push_str(&fold("X-Spam-Symbols:", &symbol_list(verdict)));
    }
    fields
}

/// The scanner's text as one line of an SMTP reply: printable ASCII, at
/// most 200 characters, so that it can break nothing.
fn reply_text(text: &str) -> String {
    let printable: String = text
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                ' '
            }
        })
        .take(200)
        .collect();
    match printable.trim() {
        "" => "Message refused as spam".to_string(),
        text => text.to_string(),
    }
}

fn unscanned(why: &str) -> String {
    format!("X-Spam-Scanned: no ({why})\r\n")
}

/// `NAME(score), ...`, highest score first.
fn symbol_list(verdict: &Verdict) -> String {
    let each: Vec<String> = verdict
        .symbols
        .iter()
        .map(|(name, score)| format!("{name}({score:.2})"))
        .collect();
    each.join(", ")
}

/// A header field `name value`, folded at spaces so that no line is longer
/// than [`FOLD_AT`] where a word allows it.
fn fold(name: &str, value: &str) -> String {
    let mut field = name.to_string();
    let mut line = field.len();
    for word in value.split(' ') {
        if line + 1 + word.len() > FOLD_AT && line > 1 {
            field.push_str("\r\n\t");
            line = 1;
        } else {
            field.push(' ');
            line += 1;
        }
        field.push_str(word);
        line += word.len();
    }
    field.push_str("\r\n");
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(action: Action, symbols: &[(&str, f64)]) -> Verdict {
        Verdict {
            action,
            score: 7.5,
            required_score: 15.0,
            symbols: symbols.iter().map(|&(n, s)| (n.to_string(), s)).collect(),
            smtp_message: None,
        }
    }

    #[test]
    fn each_action_has_its_outcome() {
        assert_eq!(
            outcome(&verdict(Action::Reject, &[])),
            Outcome::Reject {
                text: "Message refused as spam".to_string()
            }
        );
        let greylist = outcome(&Verdict {
            smtp_message: Some("Try again later".to_string()),
            ..verdict(Action::Greylist, &[])
        });
        assert_eq!(
            greylist,
            Outcome::Defer {
                text: "Try again later".to_string()
            }
        );
        assert_eq!(
            outcome(&verdict(Action::AddHeader, &[("BAYES_SPAM", 5.1)])),
            Outcome::Junk {
                fields:
                    "X-Spam: Yes\r\nX-Spam-Action: add header\r\nX-Spam-Score: 7.50 / 15.00\r\n\
                         X-Spam-Symbols: BAYES_SPAM(5.10)\r\n"
                        .to_string()
            }
        );
        assert_eq!(
            outcome(&verdict(Action::NoAction, &[("R_SPF_NA", 0.0)])),
            Outcome::Inbox {
                fields: "X-Spam: No\r\nX-Spam-Action: no action\r\nX-Spam-Score: 7.50 / 15.00\r\n"
                    .to_string()
            }
        );
    }

    #[test]
    fn the_scanner_text_cannot_break_the_reply() {
        assert_eq!(reply_text("Spam\r\n250 OK"), "Spam  250 OK");
        assert_eq!(reply_text("\u{1b}\r\n"), "Message refused as spam");
        assert_eq!(reply_text(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn long_symbol_lists_are_folded() {
        let symbols: Vec<(String, f64)> = (0..20).map(|i| (format!("RULE_{i:02}"), 1.0)).collect();
        let long = Verdict {
            symbols,
            ..verdict(Action::AddHeader, &[])
        };
        let field = fold("X-Spam-Symbols:", &symbol_list(&long));
        assert!(field.lines().count() > 1, "{field}");
        assert!(field.lines().all(|line| line.len() <= FOLD_AT), "{field}");
        assert!(field.lines().skip(1).all(|line| line.starts_with('\t')));
        let unfolded = field.replace("\r\n\t", " ");
        assert_eq!(
            unfolded,
            format!("X-Spam-Symbols: {}\r\n", symbol_list(&long))
        );
    }

    #[test]
    fn senders_cannot_set_the_scan_fields() {
        assert!(is_scan_field(b"X-Spam: No\r\n"));
        assert!(is_scan_field(b"x-spam-score: -100\r\n"));
        assert!(is_scan_field(b"X-Spam-Flag: YES\r\n"));
        assert!(!is_scan_field(b"Subject: X-Spam\r\n"));
    }
}

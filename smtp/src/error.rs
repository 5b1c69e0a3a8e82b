//! Where errors become SMTP replies (RFC 5321 §4.2.2, with the enhanced
//! status codes of RFC 3463): failures of the server, bad command lines,
//! bad content and expired time limits, each kind with its one reply.
//!
//! A command handler answers `Ok(reply)` for every outcome the protocol
//! foresees, refusals included (`550 5.1.1` for an unknown user), and
//! `Err` only when the command could not complete: the connection failed,
//! which ends the session, or something on our side failed, which the
//! client hears as a fixed temporary reply and may try again. Such a
//! failure is logged here, once, with its whole chain of causes, inside the
//! session's span (which names the session and the peer); none of its text
//! reaches the client. [`Chain`] is how every error of the service, the
//! outbound queue's included, is written to the log.

use std::io;
use std::net::IpAddr;

use postino_common::auth::AuthError;
pub(crate) use postino_common::chain::Chain;
use postino_common::store::StoreError;

use crate::connection::Expired;
use crate::dnsbl::Listing;
use crate::metrics::{Rejection, rejected};
use crate::proto::{DataError, MAX_TEXT_LINE, Reply, SyntaxError};
use crate::scan::Outcome;

/// Why a command could not complete.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Reading from or writing to the client failed, or the client ran out
    /// of time: the session ends.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A failure on our side: the client is told to try again later.
    #[error(transparent)]
    Internal(#[from] Internal),
}

/// A failure on the server's side; its text is for the log only.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Internal {
    /// The store failed at what the session was doing ("look up a domain").
    #[error("failed to {doing}")]
    Store {
        doing: &'static str,
        #[source]
        source: StoreError,
    },
    /// A password could not be checked (a wrong one is a refusal, not this).
    #[error("failed to check a password")]
    Auth(#[source] AuthError),
}

impl Error {
    /// For `map_err`: the store failed at `doing` ("look up a domain").
    pub(crate) fn store(doing: &'static str) -> impl FnOnce(StoreError) -> Error {
        move |source| Error::Internal(Internal::Store { doing, source })
    }

    /// What the client hears after a command failed with `self`; `Err`,
    /// with no reply, when the connection itself failed.
    pub(crate) fn into_reply(self) -> io::Result<Reply> {
        match self {
            Error::Io(err) => Err(err),
            Error::Internal(err) => Ok(err.reply()),
        }
    }

    /// The reply that ends a session which could not start because of
    /// `self`: that of [`Error::into_reply`] with the code 421, which says
    /// the connection closes (RFC 5321 §3.8).
    pub(crate) fn into_closing_reply(self) -> io::Result<Reply> {
        self.into_reply().map(|reply| Reply { code: 421, ..reply })
    }
}

impl Internal {
    /// Logs the failure with its causes; the fixed reply in its place.
    fn reply(&self) -> Reply {
        tracing::error!(error = %Chain(self), "temporary failure");
        match self {
            Internal::Store { .. } => {
                Reply::new(451, "4.3.0", "Temporary server error, try again later")
            }
            // RFC 4954 §6.
            Internal::Auth(_) => Reply::new(454, "4.7.0", "Temporary authentication failure"),
        }
    }
}

/// The reply to a command line that did not parse.
pub(crate) fn syntax(err: SyntaxError) -> Reply {
    match err {
        SyntaxError::UnknownCommand => Reply::new(500, "5.5.1", "Unrecognized command"),
        SyntaxError::Arguments(command) => {
            Reply::new(501, "5.5.2", format!("Syntax error in {command} arguments"))
        }
        SyntaxError::UnknownParameter(name) => {
            Reply::new(555, "5.5.4", format!("Unsupported parameter {name}"))
        }
        SyntaxError::BadParameter(name) => {
            Reply::new(501, "5.5.4", format!("Invalid value for parameter {name}"))
        }
        SyntaxError::NotUtf8 => Reply::new(501, "5.6.7", "Address is not valid UTF-8"),
    }
}

/// The reply to message content refused whole, under a size limit of
/// `max` bytes.
pub(crate) fn content(err: DataError, max: usize) -> Reply {
    match err {
        DataError::TooBig => rejected(
            Rejection::TooLarge,
            Reply::new(
                552,
                "5.3.4",
                format!("Message too big: the limit is {max} bytes"),
            ),
        ),
        DataError::BareLineEnd => rejected(
            Rejection::BadData,
            Reply::new(
                554,
                "5.6.0",
                "Message refused: bare CR or LF; lines must end with CRLF (RFC 5321 section 2.3.8)",
            ),
        ),
        DataError::LineTooLong => rejected(
            Rejection::BadData,
            Reply::new(
                554,
                "5.6.0",
                format!(
                    "Message refused: a line is longer than {MAX_TEXT_LINE} characters (RFC 5321 section 4.5.3.1.6)"
                ),
            ),
        ),
    }
}

/// The reply to a message the content scan refused, or `None` when it
/// is to be delivered.
pub(crate) fn refused_by_scan(outcome: &Outcome) -> Option<Reply> {
    Some(match outcome {
        Outcome::Inbox { .. } | Outcome::Junk { .. } => return None,
        Outcome::Blocked { filename } => rejected(
            Rejection::Malware,
            Reply::new(
                554,
                "5.7.1",
                format!(
                    "Message refused: attachments like {} are not accepted",
                    printable(filename)
                ),
            ),
        ),
        Outcome::Infected { signature } => rejected(
            Rejection::Malware,
            Reply::new(
                554,
                "5.7.1",
                format!("Message refused: malware found ({signature})"),
            ),
        ),
        Outcome::Reject { text } => {
            rejected(Rejection::Spam, Reply::new(550, "5.7.1", text.clone()))
        }
        Outcome::Defer { text } => rejected(
            Rejection::ScanDeferred,
            Reply::new(451, "4.7.1", text.clone()),
        ),
    })
}

/// `text` with anything but printable ASCII as `?`, at most 100
/// characters: a file name quoted in a reply.
fn printable(text: &str) -> String {
    text.chars()
        .take(100)
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The reply to a client found in the DNS blocklist of `listing`.
pub(crate) fn blocklisted(peer: IpAddr, listing: &Listing) -> Reply {
    let reason = listing
        .reason
        .as_deref()
        .map_or(String::new(), |reason| format!("; {reason}"));
    rejected(
        Rejection::Blocklisted,
        Reply::new(
            554,
            "5.7.1",
            format!(
                "Service unavailable; client [{peer}] blocked using {}{reason}",
                listing.zone
            ),
        ),
    )
}

/// The reply that ends the session of a client that talked before the
/// end of the greeting.
pub(crate) fn pregreet() -> Reply {
    rejected(
        Rejection::Pregreet,
        Reply::new(554, "5.5.1", "Protocol error: talked before the greeting"),
    )
}

/// The reply to an EHLO or HELO from outside that gives our own name.
pub(crate) fn our_own_name() -> Reply {
    rejected(
        Rejection::ForgedHelo,
        Reply::new(550, "5.7.1", "Refused: that is our own name"),
    )
}

/// The reply that ends a session whose client ran out of time.
pub(crate) fn timed_out(limit: Expired) -> Reply {
    Reply::new(
        421,
        "4.4.2",
        format!("Timeout: {limit}, closing connection"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_reach_the_client_as_fixed_text() {
        let failed = Error::store("look up a domain")(StoreError::WriterGone);
        let reply = failed.into_reply().expect("a reply");
        assert_eq!(
            (reply.code, reply.status, reply.lines[0].as_ref()),
            (451, "4.3.0", "Temporary server error, try again later")
        );
        let auth = Error::from(Internal::Auth(AuthError::Hashing));
        let reply = auth.into_closing_reply().expect("a reply");
        assert_eq!((reply.code, reply.status), (421, "4.7.0"));
        let io = Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(
            io.into_reply().is_err(),
            "a failed connection gets no reply"
        );
    }
}

//! What a command that could not complete answers: the one mapping from
//! the errors commands meet to `NO` responses (RFC 5804 section 1.3).
//!
//! Refusals that tell the client something keep their response code
//! (`NONEXISTENT`, `ALREADYEXISTS`, `ACTIVE`, `QUOTA`); internal failures
//! are logged here, once, with their whole chain, and reach the client as
//! fixed text, `NO (TRYLATER)`.

use postino_common::auth::AuthError;
pub(crate) use postino_common::chain::Chain;
use postino_common::store::StoreError;

use crate::proto::{Code, Response};

/// Why a command did not complete.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl Error {
    /// The response to the command.
    pub(crate) fn response(&self) -> Response {
        match self {
            Error::Store(StoreError::NotFound { .. }) => {
                Response::no("There is no script by that name").code(Code::Nonexistent)
            }
            Error::Store(StoreError::AlreadyExists { .. }) => {
                Response::no("A script by that name already exists").code(Code::AlreadyExists)
            }
            Error::Store(StoreError::ScriptActive(_)) => {
                Response::no("The active script cannot be deleted").code(Code::Active)
            }
            Error::Store(StoreError::ScriptSpace { limit, .. }) => over_quota(*limit),
            Error::Store(StoreError::BadScriptName { problem, .. }) => {
                Response::no(format!("Invalid script name: it {problem}"))
            }
            Error::Auth(AuthError::Invalid) => Response::no("Authentication failed"),
            Error::Auth(AuthError::Throttled { .. }) => {
                Response::no("Too many failed logins, try again later").code(Code::TryLater)
            }
            Error::Store(_) | Error::Auth(_) => {
                tracing::error!(error = %Chain(self), "command failed");
                Response::no("Temporary failure, try again later").code(Code::TryLater)
            }
        }
    }
}

/// The refusal of a script that would take the mailbox's scripts past
/// their `limit` in bytes (HAVESPACE's, PUTSCRIPT's).
pub(crate) fn over_quota(limit: u64) -> Response {
    Response::no(format!(
        "The mailbox's scripts would take more than their {limit} bytes"
    ))
    .code(Code::Quota)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_are_fixed_text() {
        let response = Error::Store(StoreError::WriterGone).response();
        assert_eq!(response.code, Some(Code::TryLater));
        assert_eq!(response.text, "Temporary failure, try again later");
        assert_eq!(
            Error::Auth(AuthError::Hashing).response().code,
            Some(Code::TryLater)
        );
    }

    #[test]
    fn refusals_keep_their_codes() {
        let missing = StoreError::NotFound {
            what: "sieve script",
            name: "a".into(),
        };
        assert_eq!(
            Error::Store(missing).response().code,
            Some(Code::Nonexistent)
        );
        let taken = StoreError::AlreadyExists {
            what: "sieve script",
            name: "a".into(),
        };
        assert_eq!(
            Error::Store(taken).response().code,
            Some(Code::AlreadyExists)
        );
        let active = StoreError::ScriptActive("a".into());
        assert_eq!(Error::Store(active).response().code, Some(Code::Active));
        let full = StoreError::ScriptSpace {
            needed: 10,
            limit: 5,
        };
        assert_eq!(Error::Store(full).response().code, Some(Code::Quota));
        let wrong = Error::Auth(AuthError::Invalid).response();
        assert_eq!(
            (wrong.code, wrong.text.as_str()),
            (None, "Authentication failed")
        );
    }
}

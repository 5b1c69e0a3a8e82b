//! What a command that could not complete answers: the one mapping from
//! the errors commands meet to tagged `NO` responses.
//!
//! Refusals that tell the client something keep their response code
//! (`NONEXISTENT`, `ALREADYEXISTS`, `AUTHENTICATIONFAILED`); internal
//! failures are logged here, once, with their whole chain, and reach the
//! client as fixed text, `NO [UNAVAILABLE]`, that it may retry.

use postino_common::auth::AuthError;
pub(crate) use postino_common::chain::Chain;
use postino_common::store::StoreError;

use crate::proto::{Code, Status};
use crate::session::BadName;

/// Why a command did not complete.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Name(#[from] BadName),
}

impl Error {
    /// The tagged response to the command.
    pub(crate) fn status(&self) -> Status<'static> {
        match self {
            Error::Store(StoreError::AlreadyExists { what: "folder", .. }) => {
                Status::no("Mailbox already exists").code(Code::AlreadyExists)
            }
            Error::Store(StoreError::NotFound { what: "folder", .. }) => {
                Status::no("No such mailbox").code(Code::NonExistent)
            }
            Error::Auth(AuthError::Invalid) => {
                Status::no("Invalid credentials").code(Code::AuthenticationFailed)
            }
            Error::Auth(AuthError::Throttled { .. }) => {
                Status::no("Too many failed logins, try again later").code(Code::Unavailable)
            }
            Error::Name(_) => Status::no("Invalid mailbox name").code(Code::Cannot),
            Error::Store(_) | Error::Auth(_) => {
                tracing::error!(error = %Chain(self), "command failed");
                Status::no("Temporary failure, try again later").code(Code::Unavailable)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_are_fixed_text() {
        let status = Error::Store(StoreError::WriterGone).status();
        assert_eq!(status.code, Some(Code::Unavailable));
        assert_eq!(status.text, "Temporary failure, try again later");
        let status = Error::Auth(AuthError::Hashing).status();
        assert_eq!(status.code, Some(Code::Unavailable));
    }

    #[test]
    fn refusals_keep_their_codes() {
        let exists = StoreError::AlreadyExists {
            what: "folder",
            name: "a".into(),
        };
        assert_eq!(
            Error::Store(exists).status().code,
            Some(Code::AlreadyExists)
        );
        let missing = StoreError::NotFound {
            what: "folder",
            name: "a".into(),
        };
        assert_eq!(Error::Store(missing).status().code, Some(Code::NonExistent));
        assert_eq!(
            Error::Auth(AuthError::Invalid).status().code,
            Some(Code::AuthenticationFailed)
        );
        assert_eq!(Error::Name(BadName).status().code, Some(Code::Cannot));
    }
}

//! What a command that could not complete answers: the one mapping from
//! the errors commands meet to `-ERR` lines.
//!
//! Refused credentials say `[AUTH]` (RFC 3206), so that clients ask for
//! the password again; throttling and internal failures say `[SYS/TEMP]`,
//! so that clients try later. Internal failures are logged here, once,
//! with their whole chain, and reach the client as fixed text.

use postino_common::auth::AuthError;
use postino_common::chain::Chain;
use postino_common::store::StoreError;

use crate::proto::{Code, Reply};

/// Why a command did not complete.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl Error {
    /// The reply to the command.
    pub(crate) fn reply(&self) -> Reply {
        match self {
            Error::Auth(AuthError::Invalid) => {
                Reply::err("Authentication failed.").code(Code::Auth)
            }
            Error::Auth(AuthError::Throttled { .. }) => {
                Reply::err("Too many failed logins, try again later.").code(Code::SysTemp)
            }
            Error::Store(_) | Error::Auth(_) => {
                tracing::error!(error = %Chain(self), "command failed");
                Reply::err("Temporary failure, try again later.").code(Code::SysTemp)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_are_fixed_text() {
        let reply = Error::Store(StoreError::WriterGone).reply();
        assert_eq!(reply.code, Some(Code::SysTemp));
        assert_eq!(reply.text, "Temporary failure, try again later.");
        assert_eq!(
            Error::Auth(AuthError::Hashing).reply().code,
            Some(Code::SysTemp)
        );
    }

    #[test]
    fn refused_credentials_say_auth() {
        let reply = Error::Auth(AuthError::Invalid).reply();
        assert_eq!(
            (reply.code, reply.text.as_str()),
            (Some(Code::Auth), "Authentication failed.")
        );
        let throttled = AuthError::Throttled {
            retry_after: std::time::Duration::from_secs(5),
        };
        assert_eq!(Error::Auth(throttled).reply().code, Some(Code::SysTemp));
    }
}

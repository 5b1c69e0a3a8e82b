//! Why a management operation was refused or failed.

use postino_common::auth::AuthError;
use postino_common::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum OpsError {
    /// Bad input, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{what} `{name}` does not exist")]
    NotFound { what: &'static str, name: String },
    #[error("{what} `{name}` already exists")]
    AlreadyExists { what: &'static str, name: String },
    /// The change would break a rule, such as a limit.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    /// A Sieve script that does not compile, where and why.
    #[error("{name}:{line}:{column}: {message}")]
    Script {
        name: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("store error")]
    Store(#[source] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot generate a DKIM key")]
    KeyGeneration(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for OpsError {
    fn from(err: StoreError) -> OpsError {
        match err {
            StoreError::NotFound { what, name } => OpsError::NotFound { what, name },
            StoreError::AlreadyExists { what, name } => OpsError::AlreadyExists { what, name },
            StoreError::MailboxLimit { .. }
            | StoreError::ScriptSpace { .. }
            | StoreError::ScriptActive(_) => OpsError::Conflict(err.to_string()),
            StoreError::BadScriptName { .. } => OpsError::Invalid {
                field: "name",
                message: err.to_string(),
            },
            StoreError::DomainNotEmpty { domain, count } => OpsError::Conflict(format!(
                "domain `{domain}` still has {count} mailboxes; remove them first, or force the removal"
            )),
            other => OpsError::Store(other),
        }
    }
}

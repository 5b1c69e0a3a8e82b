//! The one place where the admin HTTP service says what went wrong. Every
//! refusal and failure, whichever part of the service meets it, becomes an
//! [`HttpError`]: a [`Code`] a script can match, the status that goes with
//! it, a message, the input at fault when there is one. Each surface only
//! renders it: the API as JSON (`api::error`), the console as a page or as
//! a form shown again with the reason (`console`), the autoconfiguration
//! endpoints as plain text ([`IntoResponse`] here).
//!
//! Internal errors are logged here, once, with their whole chain, and
//! reach the client as a bare `500 internal`, so store details never leak.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use postino_common::auth::AuthError;
use postino_common::store::StoreError;

use crate::ops::OpsError;

/// What kind of refusal or failure an error is; stable, as scripts match
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The request cannot be read: malformed JSON, form or query.
    BadRequest,
    /// A value the request gave is refused; the field is named.
    Invalid,
    Unauthenticated,
    InvalidCredentials,
    /// A change made with a session lacks the session's CSRF token.
    Csrf,
    Forbidden,
    /// Missing, or out of the caller's reach: the two are not told apart.
    NotFound,
    AlreadyExists,
    /// The change would break a rule, such as a limit.
    Conflict,
    Throttled,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::Invalid => "invalid",
            Code::Unauthenticated => "unauthenticated",
            Code::InvalidCredentials => "invalid_credentials",
            Code::Csrf => "csrf",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::Conflict => "conflict",
            Code::Throttled => "throttled",
            Code::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Code::BadRequest => StatusCode::BAD_REQUEST,
            Code::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Code::Unauthenticated | Code::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Code::Csrf | Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Conflict => StatusCode::CONFLICT,
            Code::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A refusal or failure, classified.
#[derive(Debug)]
pub struct HttpError {
    code: Code,
    /// For people, in English; fixed text for internal errors.
    message: String,
    /// The input at fault, for [`Code::Invalid`].
    field: Option<String>,
    /// What does not exist, or already does: its kind (`domain`,
    /// `mailbox`) and name, for a form to show next to the input for it.
    subject: Option<(&'static str, String)>,
    /// When to try again, for [`Code::Throttled`]: whole seconds, at
    /// least 1, as `Retry-After` gives them.
    retry_after: Option<u64>,
}

impl HttpError {
    fn new(code: Code, message: impl Into<String>) -> HttpError {
        HttpError {
            code,
            message: message.into(),
            field: None,
            subject: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError::new(Code::BadRequest, message)
    }

    /// Bad input in one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> HttpError {
        HttpError {
            field: Some(field.into()),
            ..HttpError::new(Code::Invalid, message)
        }
    }

    pub fn unauthenticated() -> HttpError {
        HttpError::new(
            Code::Unauthenticated,
            "log in, or send an API token as `Authorization: Bearer …`",
        )
    }

    pub fn csrf() -> HttpError {
        HttpError::new(
            Code::Csrf,
            "a change made with a session cookie needs the session's X-CSRF-Token header",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> HttpError {
        HttpError::new(Code::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> HttpError {
        HttpError::new(Code::NotFound, message)
    }

    /// An internal error, logged here with its chain; what reaches the
    /// client says no more than that.
    pub fn internal(error: impl Into<anyhow::Error>) -> HttpError {
        let error = error.into();
        tracing::error!(error = format!("{error:#}"), "admin HTTP request failed");
        HttpError::new(Code::Internal, "internal error")
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn subject(&self) -> Option<(&'static str, &str)> {
        self.subject
            .as_ref()
            .map(|(what, name)| (*what, name.as_str()))
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The error with its field named as the request names it: the ops
    /// layer names fields after the CLI's arguments (`cidr`,
    /// `sender-domain`), which a JSON body may call otherwise. `names`
    /// pairs an ops name with the request's.
    pub fn renaming(mut self, names: &[(&str, &str)]) -> HttpError {
        let renamed = self.field.as_deref().and_then(|field| {
            names
                .iter()
                .find(|(ops, _)| *ops == field)
                .map(|(_, request)| request.to_string())
        });
        if renamed.is_some() {
            self.field = renamed;
        }
        self
    }
}

impl From<OpsError> for HttpError {
    fn from(err: OpsError) -> HttpError {
        let message = err.to_string();
        match err {
            OpsError::Invalid { field, message } => HttpError::invalid(field, message),
            OpsError::NotFound { what, name } => HttpError {
                subject: Some((what, name)),
                ..HttpError::not_found(message)
            },
            OpsError::AlreadyExists { what, name } => HttpError {
                subject: Some((what, name)),
                ..HttpError::new(Code::AlreadyExists, message)
            },
            OpsError::Conflict(_) => HttpError::new(Code::Conflict, message),
            OpsError::Forbidden(_) => HttpError::forbidden(message),
            OpsError::Script { .. } => HttpError::invalid("script", message),
            OpsError::Auth(auth) => HttpError::from(auth),
            other @ (OpsError::Store(_) | OpsError::KeyGeneration(_)) => HttpError::internal(other),
        }
    }
}

impl From<AuthError> for HttpError {
    fn from(err: AuthError) -> HttpError {
        match err {
            AuthError::Invalid => {
                HttpError::new(Code::InvalidCredentials, "wrong name or password")
            }
            AuthError::Throttled { retry_after } => HttpError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..HttpError::new(Code::Throttled, err.to_string())
            },
            other => HttpError::internal(other),
        }
    }
}

impl From<StoreError> for HttpError {
    fn from(err: StoreError) -> HttpError {
        HttpError::from(OpsError::from(err))
    }
}

/// The plain rendering, for the endpoints that are neither the API nor the
/// console: the status and the message on a line.
impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status(), format!("{}\n", self.message)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn ops_refusals_keep_their_field_and_subject() {
        let err = HttpError::from(OpsError::Invalid {
            field: "cidr",
            message: "not a network".to_string(),
        });
        assert_eq!((err.code(), err.status().as_u16()), (Code::Invalid, 422));
        assert_eq!(
            (err.field(), err.message()),
            (Some("cidr"), "not a network")
        );
        let err = err.renaming(&[("domain", "x"), ("cidr", "networks")]);
        assert_eq!(err.field(), Some("networks"));

        let err = HttpError::from(OpsError::AlreadyExists {
            what: "mailbox",
            name: "a@b.it".to_string(),
        });
        assert_eq!(
            (err.code(), err.status().as_u16()),
            (Code::AlreadyExists, 409)
        );
        assert_eq!(err.subject(), Some(("mailbox", "a@b.it")));
        assert_eq!(err.message(), "mailbox `a@b.it` already exists");
        assert_eq!(err.field(), None);
    }

    #[test]
    fn throttling_says_when_to_try_again() {
        let throttled = |retry_after| AuthError::Throttled { retry_after };
        let err = HttpError::from(OpsError::Auth(throttled(Duration::from_secs(30))));
        assert_eq!((err.code(), err.status().as_u16()), (Code::Throttled, 429));
        assert_eq!(err.retry_after(), Some(30));
        let err = HttpError::from(throttled(Duration::from_millis(10)));
        assert_eq!(err.retry_after(), Some(1));
    }

    #[test]
    fn internal_errors_say_nothing_of_their_cause() {
        let err = HttpError::from(StoreError::WriterGone);
        assert_eq!((err.code(), err.status().as_u16()), (Code::Internal, 500));
        assert_eq!(err.message(), "internal error");
        assert_eq!((err.field(), err.subject()), (None, None));
    }
}

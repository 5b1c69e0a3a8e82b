//! API errors: a status, a stable code a script can match, a human
//! message, and the offending field when there is one. Internal errors are
//! logged with their whole chain and reach the client as a bare `internal`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use postino_common::auth::AuthError;
use postino_common::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ops::OpsError;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `bad_request`, `invalid`, `unauthenticated`,
    /// `invalid_credentials`, `csrf`, `forbidden`, `not_found`,
    /// `already_exists`, `conflict`, `throttled`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// The input field at fault, for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: ErrorDetail {
                code,
                message: message.into(),
                field: None,
            },
            retry_after: None,
        }
    }

    /// Bad input in one field: `422 invalid`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        error.detail.field = Some(field.into());
        error
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in, or send an API token as `Authorization: Bearer …`",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn csrf() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "a change made with a session cookie needs the session's X-CSRF-Token header",
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The error with its field named as the request names it: the ops
    /// layer names fields after the CLI's arguments (`cidr`,
    /// `sender-domain`), which a JSON body may call otherwise. `names`
    /// pairs an ops name with the request's.
    pub fn renaming(mut self, names: &[(&str, &str)]) -> ApiError {
        let renamed = self.detail.field.as_deref().and_then(|field| {
            names
                .iter()
                .find(|(ops, _)| *ops == field)
                .map(|(_, api)| api.to_string())
        });
        if renamed.is_some() {
            self.detail.field = renamed;
        }
        self
    }

    fn internal(error: anyhow::Error) -> ApiError {
        tracing::error!(error = format!("{error:#}"), "admin API request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl From<OpsError> for ApiError {
    fn from(err: OpsError) -> ApiError {
        let message = err.to_string();
        match err {
            OpsError::Invalid { field, message } => ApiError::invalid(field, message),
            OpsError::NotFound { .. } => ApiError::not_found(message),
            OpsError::AlreadyExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_exists", message)
            }
            OpsError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            OpsError::Forbidden(_) => ApiError::forbidden(message),
            OpsError::Auth(auth) => ApiError::from(auth),
            other => ApiError::internal(other.into()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        match err {
            AuthError::Invalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong name or password",
            ),
            AuthError::Throttled { retry_after } => {
                let mut error =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", err.to_string());
                error.retry_after = Some(retry_after.as_secs().max(1));
                error
            }
            other => ApiError::internal(other.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        ApiError::from(OpsError::from(err))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: self.detail })).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

//! API errors as JSON: the classification of [`HttpError`] (a status, a
//! stable code a script can match, a human message, and the offending
//! field when there is one) in the body every error answer has.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use postino_common::auth::AuthError;
use postino_common::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::HttpError;
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

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError(HttpError);

impl From<HttpError> for ApiError {
    fn from(err: HttpError) -> ApiError {
        ApiError(err)
    }
}

impl From<OpsError> for ApiError {
    fn from(err: OpsError) -> ApiError {
        ApiError(err.into())
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        ApiError(err.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        ApiError(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError(err) = self;
        let body = ErrorBody {
            error: ErrorDetail {
                code: err.code().as_str(),
                message: err.message().to_string(),
                field: err.field().map(str::to_string),
            },
        };
        let mut response = (err.status(), Json(body)).into_response();
        if let Some(seconds) = err.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

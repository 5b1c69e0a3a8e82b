//! The one place where the admin HTTP service turns errors into responses.
//! Refusals get their status and a short fixed reason; internal errors are
//! logged once with their whole chain and reach the client as a bare 500,
//! so store details never leak.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use postino_common::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HttpError {
    /// The request is malformed; the reason is fixed text, never input.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("not found")]
    NotFound,
    #[error("store error")]
    Store(#[source] StoreError),
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match self {
            HttpError::BadRequest(reason) => {
                (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response()
            }
            HttpError::NotFound => (StatusCode::NOT_FOUND, "not found\n").into_response(),
            HttpError::Store(_) => {
                let report = anyhow::Error::new(self);
                tracing::error!(error = format!("{report:#}"), "admin HTTP request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
            }
        }
    }
}

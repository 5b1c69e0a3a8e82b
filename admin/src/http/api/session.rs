//! `POST /session` logs in with a password and sets the session cookie;
//! `DELETE /session` logs out.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use postino_common::auth::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, Body, Caller, ErrorBody};
use crate::http::AppState;
use crate::http::login::{self, cleared_cookie, session_cookie};
use crate::http::principal::{self, Kind};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(log_in, log_out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// An admin's name, or a mailbox address.
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionOpened {
    /// `admin` or `mailbox`.
    kind: &'static str,
    /// Send it as the X-CSRF-Token header with every change.
    csrf_token: String,
}

/// Logs in; the answer sets the session cookie.
#[utoipa::path(post, path = "/session", operation_id = "log_in", tag = "session", security(()),
    request_body = Credentials,
    responses(
        (status = 200, body = SessionOpened, description = "Logged in; Set-Cookie holds the session"),
        (status = 401, body = ErrorBody, description = "Wrong name or password"),
        (status = 422, body = ErrorBody, description = "No name or no password"),
        (status = 429, body = ErrorBody, description = "Too many failed logins"),
    ))]
async fn log_in(
    State(state): State<AppState>,
    parts: Parts,
    Body(credentials): Body<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    let ip = principal::client_ip(&parts);
    let password = Secret::new(credentials.password);
    let opened = login::log_in(&state, &credentials.username, &password, ip).await?;
    let cookie = session_cookie(&opened.token, state.secure_cookies);
    let body = SessionOpened {
        kind: match opened.kind {
            Kind::Admin => "admin",
            Kind::MailboxUser => "mailbox",
        },
        csrf_token: opened.csrf,
    };
    Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Json(body)))
}

/// Logs out: the session ends on every node.
#[utoipa::path(delete, path = "/session", operation_id = "log_out", tag = "session",
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Without the session's X-CSRF-Token header"),
    ))]
async fn log_out(
    State(state): State<AppState>,
    Caller(_): Caller,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    login::log_out(&state, &headers).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, cleared_cookie(state.secure_cookies))]),
    ))
}

//! `/me`: who the caller is; for a mailbox user, its quota usage and its
//! own password — all a mailbox user may reach.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use postino_common::auth::Secret;
use postino_common::store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, Body, Caller, ErrorBody};
use crate::http::AppState;
use crate::http::principal::{self, Kind};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(change_password))
}

/// Which domains an admin may manage.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminScope {
    AllDomains,
    Domains(Vec<String>),
}

impl From<store::AdminScope> for AdminScope {
    fn from(scope: store::AdminScope) -> AdminScope {
        match scope {
            store::AdminScope::AllDomains => AdminScope::AllDomains,
            store::AdminScope::Domains(names) => AdminScope::Domains(names),
        }
    }
}

/// The caller: an admin with its scope, or a mailbox with its usage.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Me {
    Admin {
        username: String,
        scope: AdminScope,
    },
    Mailbox {
        address: String,
        display_name: String,
        /// 0: bounded by the domain's quota only.
        quota_bytes: i64,
        used_bytes: i64,
    },
}

#[utoipa::path(get, path = "/me", operation_id = "me", tag = "me",
    responses(
        (status = 200, body = Me),
        (status = 401, body = ErrorBody),
    ))]
async fn me(State(state): State<AppState>, Caller(caller): Caller) -> Result<Json<Me>, ApiError> {
    let me = match caller.kind {
        Kind::Admin => Me::Admin {
            username: caller.actor.name.clone(),
            scope: caller.actor.scope.clone().into(),
        },
        Kind::MailboxUser => {
            let account = caller.ops(&state).own_account().await?;
            Me::Mailbox {
                address: account.address,
                display_name: account.display_name,
                quota_bytes: account.quota_bytes,
                used_bytes: account.used_bytes,
            }
        }
    };
    Ok(Json(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    /// At least 8 characters.
    new_password: String,
}

/// A mailbox user changes its own password. Every session of the mailbox
/// ends, this one included: log in again with the new password.
#[utoipa::path(put, path = "/me/password", operation_id = "change_own_password", tag = "me",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not a mailbox user"),
        (status = 422, body = ErrorBody, description = "Wrong current password, or a new one too short"),
        (status = 429, body = ErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    parts: Parts,
    Caller(caller): Caller,
    Body(change): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let current = Secret::new(change.current_password);
    let new = Secret::new(change.new_password);
    caller
        .ops(&state)
        .change_own_password(&current, &new, principal::client_ip(&parts))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

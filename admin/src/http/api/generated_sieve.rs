//! A mailbox's out-of-office reply and forwarding: `/me/vacation` and
//! `/me/forwarding` for a mailbox user's own, `/mailboxes/{address}/…` for
//! an admin on a mailbox it manages. Both become the mailbox's generated
//! Sieve script (`ops::generated_sieve`); a `PUT` that would replace an
//! active script written by hand is a `409` unless it says `replace=true`.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::Params;
use super::{AdminCaller, ApiError, Body, Caller, ErrorBody};
use crate::http::AppState;
use crate::ops::generated_sieve::{Forwarding, Generated, Vacation, Whose};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(own_vacation, set_own_vacation))
        .routes(routes!(own_forwarding, set_own_forwarding))
        .routes(routes!(vacation, set_vacation))
        .routes(routes!(forwarding, set_forwarding))
}

/// A mailbox's out-of-office reply, and whether delivery runs it.
#[derive(Serialize, ToSchema)]
pub struct VacationState {
    settings: Vacation,
    /// The mailbox's active Sieve script, if any.
    active_script: Option<String>,
    /// Whether the active script is the one these settings generate; when
    /// another script is active, a change needs `replace=true`.
    generated_active: bool,
}

/// A mailbox's forwarding, and whether delivery runs it.
#[derive(Serialize, ToSchema)]
pub struct ForwardingState {
    settings: Forwarding,
    /// The mailbox's active Sieve script, if any.
    active_script: Option<String>,
    /// Whether the active script is the one these settings generate; when
    /// another script is active, a change needs `replace=true`.
    generated_active: bool,
}

impl From<Generated> for VacationState {
    fn from(generated: Generated) -> VacationState {
        VacationState {
            settings: generated.settings.vacation,
            active_script: generated.active_script,
            generated_active: generated.generated_active,
        }
    }
}

impl From<Generated> for ForwardingState {
    fn from(generated: Generated) -> ForwardingState {
        ForwardingState {
            settings: generated.settings.forwarding,
            active_script: generated.active_script,
            generated_active: generated.generated_active,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Replace {
    /// Make the generated script the active one even though the active
    /// script was written by hand (which stays stored, inactive).
    #[serde(default)]
    replace: bool,
}

/// The caller's own out-of-office reply.
#[utoipa::path(get, path = "/me/vacation", operation_id = "own_vacation", tag = "me",
    responses(
        (status = 200, body = VacationState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not a mailbox user"),
    ))]
async fn own_vacation(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<VacationState>, ApiError> {
    let generated = caller.ops(&state).generated_sieve(Whose::Own).await?;
    Ok(Json(generated.into()))
}

/// Sets the caller's own out-of-office reply; its forwarding stays.
#[utoipa::path(put, path = "/me/vacation", operation_id = "set_own_vacation", tag = "me",
    params(Replace), request_body = Vacation,
    responses(
        (status = 200, body = VacationState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not a mailbox user"),
        (status = 409, body = ErrorBody, description = "A hand-written script is active: replace=true replaces it"),
        (status = 422, body = ErrorBody),
    ))]
async fn set_own_vacation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Params(replace): Params<Replace>,
    Body(vacation): Body<Vacation>,
) -> Result<Json<VacationState>, ApiError> {
    let generated = caller
        .ops(&state)
        .set_vacation(Whose::Own, vacation, replace.replace, &state.sieve)
        .await?;
    Ok(Json(generated.into()))
}

/// The caller's own forwarding.
#[utoipa::path(get, path = "/me/forwarding", operation_id = "own_forwarding", tag = "me",
    responses(
        (status = 200, body = ForwardingState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not a mailbox user"),
    ))]
async fn own_forwarding(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ForwardingState>, ApiError> {
    let generated = caller.ops(&state).generated_sieve(Whose::Own).await?;
    Ok(Json(generated.into()))
}

/// Sets the caller's own forwarding; its out-of-office reply stays.
#[utoipa::path(put, path = "/me/forwarding", operation_id = "set_own_forwarding", tag = "me",
    params(Replace), request_body = Forwarding,
    responses(
        (status = 200, body = ForwardingState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not a mailbox user"),
        (status = 409, body = ErrorBody, description = "A hand-written script is active: replace=true replaces it"),
        (status = 422, body = ErrorBody),
    ))]
async fn set_own_forwarding(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Params(replace): Params<Replace>,
    Body(forwarding): Body<Forwarding>,
) -> Result<Json<ForwardingState>, ApiError> {
    let generated = caller
        .ops(&state)
        .set_forwarding(Whose::Own, forwarding, replace.replace, &state.sieve)
        .await?;
    Ok(Json(generated.into()))
}

/// A mailbox's out-of-office reply.
#[utoipa::path(get, path = "/mailboxes/{address}/vacation",
    operation_id = "mailbox_vacation", tag = "mailboxes",
    params(("address" = String, Path)),
    responses(
        (status = 200, body = VacationState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn vacation(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<VacationState>, ApiError> {
    let generated = caller
        .ops(&state)
        .generated_sieve(Whose::Mailbox(&address))
        .await?;
    Ok(Json(generated.into()))
}

/// Sets a mailbox's out-of-office reply, such as an absent colleague's;
/// its forwarding stays.
#[utoipa::path(put, path = "/mailboxes/{address}/vacation",
    operation_id = "set_mailbox_vacation", tag = "mailboxes",
    params(("address" = String, Path), Replace), request_body = Vacation,
    responses(
        (status = 200, body = VacationState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A hand-written script is active: replace=true replaces it"),
        (status = 422, body = ErrorBody),
    ))]
async fn set_vacation(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
    Params(replace): Params<Replace>,
    Body(vacation): Body<Vacation>,
) -> Result<Json<VacationState>, ApiError> {
    let generated = caller
        .ops(&state)
        .set_vacation(
            Whose::Mailbox(&address),
            vacation,
            replace.replace,
            &state.sieve,
        )
        .await?;
    Ok(Json(generated.into()))
}

/// A mailbox's forwarding.
#[utoipa::path(get, path = "/mailboxes/{address}/forwarding",
    operation_id = "mailbox_forwarding", tag = "mailboxes",
    params(("address" = String, Path)),
    responses(
        (status = 200, body = ForwardingState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn forwarding(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<ForwardingState>, ApiError> {
    let generated = caller
        .ops(&state)
        .generated_sieve(Whose::Mailbox(&address))
        .await?;
    Ok(Json(generated.into()))
}

/// Sets a mailbox's forwarding; its out-of-office reply stays.
#[utoipa::path(put, path = "/mailboxes/{address}/forwarding",
    operation_id = "set_mailbox_forwarding", tag = "mailboxes",
    params(("address" = String, Path), Replace), request_body = Forwarding,
    responses(
        (status = 200, body = ForwardingState),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A hand-written script is active: replace=true replaces it"),
        (status = 422, body = ErrorBody),
    ))]
async fn set_forwarding(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
    Params(replace): Params<Replace>,
    Body(forwarding): Body<Forwarding>,
) -> Result<Json<ForwardingState>, ApiError> {
    let generated = caller
        .ops(&state)
        .set_forwarding(
            Whose::Mailbox(&address),
            forwarding,
            replace.replace,
            &state.sieve,
        )
        .await?;
    Ok(Json(generated.into()))
}

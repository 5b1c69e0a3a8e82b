//! `/mailboxes`: a domain's mailboxes, their quotas, passwords and state.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postino_common::auth::Secret;
use postino_common::store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminCaller, ApiError, Body, ErrorBody, json_list};
use crate::http::AppState;
use crate::ops::MailboxChange;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(add))
        .routes(routes!(show, update, remove))
        .routes(routes!(set_password))
}

/// A mailbox. `quota_bytes` 0 means bounded only by the domain's quota.
#[derive(Serialize, ToSchema)]
pub struct Account {
    id: i64,
    domain_id: i64,
    address: String,
    display_name: String,
    quota_bytes: i64,
    used_bytes: i64,
    active: bool,
    created_at: i64,
    /// Messages it may send in an hour; 0: no limit; null: its domain's.
    max_messages_per_hour: Option<i64>,
    /// Distinct recipients it may write to in a day, likewise.
    max_recipients_per_day: Option<i64>,
}

impl From<store::Account> for Account {
    fn from(account: store::Account) -> Account {
        Account {
            id: account.id,
            domain_id: account.domain_id,
            address: account.address,
            display_name: account.display_name,
            quota_bytes: account.quota_bytes,
            used_bytes: account.used_bytes,
            active: account.active,
            created_at: account.created_at,
            max_messages_per_hour: account.max_messages_per_hour,
            max_recipients_per_day: account.max_recipients_per_day,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMailbox {
    address: String,
    /// At least 8 characters; without one, nobody can log in until a
    /// password is set.
    password: Option<String>,
    /// Bytes; 0 or absent: bounded by the domain's quota only.
    #[serde(default)]
    quota_bytes: u64,
    /// The owner's name, such as "Mario Rossi".
    #[serde(default)]
    display_name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// At least 8 characters.
    password: String,
}

/// A domain's mailboxes.
#[utoipa::path(get, path = "/domains/{domain}/mailboxes",
    operation_id = "list_mailboxes", tag = "mailboxes",
    params(("domain" = String, Path)),
    responses(
        (status = 200, body = [Account]),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
) -> Result<Json<Vec<Account>>, ApiError> {
    Ok(json_list(
        caller.ops(&state).mailboxes(Some(&domain)).await?,
    ))
}

#[utoipa::path(post, path = "/mailboxes",
    operation_id = "add_mailbox", tag = "mailboxes", request_body = NewMailbox,
    responses(
        (status = 201, body = Account),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such domain"),
        (status = 409, body = ErrorBody, description = "It exists, or the domain is full"),
        (status = 422, body = ErrorBody),
    ))]
async fn add(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Body(new): Body<NewMailbox>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    let password = new.password.map(Secret::new);
    let account = caller
        .ops(&state)
        .add_mailbox(
            &new.address,
            password.as_ref(),
            new.quota_bytes,
            &new.display_name,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

#[utoipa::path(get, path = "/mailboxes/{address}", operation_id = "show_mailbox", tag = "mailboxes",
    params(("address" = String, Path)),
    responses(
        (status = 200, body = Account),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(
        caller.ops(&state).mailbox(&address).await?.account.into(),
    ))
}

/// Changes a mailbox's display name, quota or active flag. A disabled
/// mailbox cannot log in but still receives mail.
#[utoipa::path(patch, path = "/mailboxes/{address}",
    operation_id = "update_mailbox", tag = "mailboxes",
    params(("address" = String, Path)), request_body = MailboxChange,
    responses(
        (status = 200, body = Account),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
    Body(change): Body<MailboxChange>,
) -> Result<Json<Account>, ApiError> {
    let account = caller.ops(&state).update_mailbox(&address, &change).await?;
    Ok(Json(account.into()))
}

/// Removes a mailbox with all its mail.
#[utoipa::path(delete, path = "/mailboxes/{address}",
    operation_id = "remove_mailbox", tag = "mailboxes",
    params(("address" = String, Path)),
    responses(
        (status = 200, body = Account, description = "Removed; the mailbox as it was"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn remove(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(
        caller.ops(&state).remove_mailbox(&address).await?.into(),
    ))
}

/// Resets a mailbox's password.
#[utoipa::path(put, path = "/mailboxes/{address}/password",
    operation_id = "set_mailbox_password", tag = "mailboxes",
    params(("address" = String, Path)), request_body = NewPassword,
    responses(
        (status = 204, description = "Set"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn set_password(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
    Body(new): Body<NewPassword>,
) -> Result<StatusCode, ApiError> {
    let password = Secret::new(new.password);
    caller
        .ops(&state)
        .set_mailbox_password(&address, &password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/mailboxes/{address}/shares`: a mailbox shared with mailboxes of its
//! domain, such as an office's role mailbox with its employees.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postino_common::store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminCaller, ApiError, Body, ErrorBody, json_list};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(share, unshare))
}

/// A mailbox shared with another of its domain.
#[derive(Serialize, ToSchema)]
pub struct Share {
    /// The shared mailbox.
    owner: String,
    /// The mailbox it is shared with.
    grantee: String,
    /// IMAP rights (RFC 4314), letters of `lrswipkxtea`.
    rights: String,
    /// Whether the grantee may send as the owner's address.
    send_as: bool,
}

impl From<store::Share> for Share {
    fn from(share: store::Share) -> Share {
        Share {
            owner: share.owner,
            grantee: share.grantee,
            rights: share.rights,
            send_as: share.send_as,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    /// IMAP rights (RFC 4314), letters of `lrswipkxtea`: l see, r read,
    /// s keep `\Seen`, w other flags, i add messages, p post, k make
    /// folders, x delete folders, t mark deleted, e expunge, a change rights.
    rights: String,
    /// Let the grantee send as the shared mailbox.
    #[serde(default)]
    send_as: bool,
}

/// Whom a mailbox is shared with.
#[utoipa::path(get, path = "/mailboxes/{address}/shares",
    operation_id = "list_shares", tag = "mailboxes",
    params(("address" = String, Path)),
    responses(
        (status = 200, body = [Share]),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(address): Path<String>,
) -> Result<Json<Vec<Share>>, ApiError> {
    let shares = caller
        .ops(&state)
        .mailbox_shares(Some(&address), None)
        .await?;
    Ok(json_list(shares))
}

/// Shares a mailbox with another mailbox of its domain, or changes how.
#[utoipa::path(put, path = "/mailboxes/{address}/shares/{user}",
    operation_id = "share_mailbox", tag = "mailboxes",
    params(("address" = String, Path), ("user" = String, Path)), request_body = NewShare,
    responses(
        (status = 200, body = Share),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Bad rights, or a mailbox of another domain"),
    ))]
async fn share(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((address, user)): Path<(String, String)>,
    Body(new): Body<NewShare>,
) -> Result<Json<Share>, ApiError> {
    let share = caller
        .ops(&state)
        .share_mailbox(&address, &user, &new.rights, new.send_as)
        .await?;
    Ok(Json(share.into()))
}

/// Takes from a mailbox every right in another.
#[utoipa::path(delete, path = "/mailboxes/{address}/shares/{user}",
    operation_id = "unshare_mailbox", tag = "mailboxes",
    params(("address" = String, Path), ("user" = String, Path)),
    responses(
        (status = 204, description = "Unshared"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn unshare(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((address, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.ops(&state).unshare_mailbox(&address, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/relay-clients`: agency systems (document registry, SUAP portals,
//! payment notices) that send mail through Postino, recognised by their
//! source networks or by a password. A comune admin sees and manages only
//! the clients whose sender domains are all its own (the ops layer's
//! rule); the others do not exist for it.
//!
//! `PATCH /relay-clients/{name}` changes what a client may do and resets a
//! password client's password; whether it is recognised by networks or by
//! a password stays as it was added (see `ops::relay`).

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
use crate::http::error::HttpError;
use crate::ops::RelayChange;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(update, remove))
}

/// The ops layer names fields as the CLI's arguments (`--cidr`,
/// `--sender-domain`); a sender domain that is no domain name is `domain`.
const CLIENT_FIELDS: [(&str, &str); 3] = [
    ("cidr", "networks"),
    ("sender-domain", "sender_domains"),
    ("domain", "sender_domains"),
];

/// A relay client. Its password hash is never serialized nor printed.
#[derive(Serialize, ToSchema)]
pub struct RelayClient {
    id: i64,
    name: String,
    /// Source networks that identify the client, in CIDR notation.
    networks: Vec<String>,
    /// Whether the client logs in with a password.
    password: bool,
    /// The domains it may use in MAIL FROM, by name.
    sender_domains: Vec<String>,
    /// Messages a minute; 0 is no limit.
    rate_per_minute: i64,
    created_at: i64,
}

impl From<store::RelayClient> for RelayClient {
    fn from(client: store::RelayClient) -> RelayClient {
        RelayClient {
            id: client.id,
            name: client.name,
            networks: client.networks,
            password: client.password,
            sender_domains: client.sender_domains,
            rate_per_minute: client.rate_per_minute,
            created_at: client.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelayClient {
    /// 1 to 64 lowercase letters, digits, '.', '_' or '-'; with a password,
    /// the user name for SMTP AUTH.
    name: String,
    /// Source networks in CIDR notation, such as `10.1.0.0/16`. Give
    /// networks or a password, not both.
    #[serde(default)]
    networks: Vec<String>,
    /// At least 8 characters. Never shown again, nor audited.
    password: Option<String>,
    /// Hosted domains it may send from; at least one.
    sender_domains: Vec<String>,
    /// Most messages a minute; 0 or absent: no limit.
    #[serde(default)]
    rate_per_minute: u64,
}

/// What to change in a relay client: each field given replaces the current
/// value, the others stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayClientChange {
    /// Source networks in CIDR notation, replacing the current ones; at
    /// least one, and only for a client recognised by its networks.
    networks: Option<Vec<String>>,
    /// A new password of at least 8 characters, only for a client that
    /// logs in with one. Never shown again, nor audited.
    password: Option<String>,
    /// Hosted domains it may send from, replacing the current ones; at
    /// least one.
    sender_domains: Option<Vec<String>>,
    /// Most messages a minute; 0: no limit.
    rate_per_minute: Option<u64>,
}

/// The relay clients the caller manages, by name.
#[utoipa::path(get, path = "/relay-clients", operation_id = "list_relay_clients", tag = "relay",
    responses(
        (status = 200, body = [RelayClient]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<Vec<RelayClient>>, ApiError> {
    Ok(json_list(caller.ops(&state).relay_clients().await?))
}

/// Adds a relay client.
#[utoipa::path(post, path = "/relay-clients",
    operation_id = "add_relay_client", tag = "relay", request_body = NewRelayClient,
    responses(
        (status = 201, body = RelayClient),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "A sender domain does not exist"),
        (status = 409, body = ErrorBody, description = "A client of that name exists"),
        (status = 422, body = ErrorBody),
    ))]
async fn add(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Body(new): Body<NewRelayClient>,
) -> Result<(StatusCode, Json<RelayClient>), ApiError> {
    let password = new.password.map(Secret::new);
    let client = caller
        .ops(&state)
        .add_relay_client(
            &new.name,
            &new.networks,
            password.as_ref(),
            &new.sender_domains,
            new.rate_per_minute,
        )
        .await
        .map_err(|e| HttpError::from(e).renaming(&CLIENT_FIELDS))?;
    Ok((StatusCode::CREATED, Json(client.into())))
}

/// Changes a relay client's networks, sender domains or rate, or resets
/// its password.
#[utoipa::path(patch, path = "/relay-clients/{name}",
    operation_id = "update_relay_client", tag = "relay",
    params(("name" = String, Path)), request_body = RelayClientChange,
    responses(
        (status = 200, body = RelayClient, description = "The client as it is now"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such client, or a sender domain does not exist"),
        (status = 422, body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(name): Path<String>,
    Body(change): Body<RelayClientChange>,
) -> Result<Json<RelayClient>, ApiError> {
    let change = RelayChange {
        networks: change.networks,
        password: change.password.map(Secret::new),
        sender_domains: change.sender_domains,
        rate_per_minute: change.rate_per_minute,
    };
    let client = caller
        .ops(&state)
        .update_relay_client(&name, &change)
        .await
        .map_err(|e| HttpError::from(e).renaming(&CLIENT_FIELDS))?;
    Ok(Json(client.into()))
}

/// Removes a relay client: it can send no more.
#[utoipa::path(delete, path = "/relay-clients/{name}",
    operation_id = "remove_relay_client", tag = "relay",
    params(("name" = String, Path)),
    responses(
        (status = 200, body = RelayClient, description = "Removed; the client as it was"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Not a client name"),
    ))]
async fn remove(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<RelayClient>, ApiError> {
    Ok(Json(
        caller.ops(&state).remove_relay_client(&name).await?.into(),
    ))
}

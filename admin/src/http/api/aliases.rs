//! `/aliases`: addresses that deliver to other addresses, and each
//! domain's catch-all (`@domain`). An alias is listed as one
//! source–target pair per target.

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
use crate::http::error::HttpError;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(add))
        .routes(routes!(remove))
        .routes(routes!(remove_target))
}

/// The ops layer names fields as the CLI's arguments: an alias's source
/// `alias` (a catch-all's `domain`), each target `target`.
const SOURCE_FIELDS: [(&str, &str); 2] = [("alias", "source"), ("domain", "source")];
const NEW_ALIAS_FIELDS: [(&str, &str); 3] = [
    ("alias", "source"),
    ("domain", "source"),
    ("target", "targets"),
];

#[derive(Serialize, ToSchema)]
pub struct Alias {
    source: String,
    target: String,
}

impl From<store::Alias> for Alias {
    fn from(alias: store::Alias) -> Alias {
        Alias {
            source: alias.source,
            target: alias.target,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlias {
    /// `name@domain`, or `@domain` for the domain's catch-all, which takes
    /// the mail of addresses with no mailbox or alias of their own.
    source: String,
    /// At least one address. An address in a hosted domain must be a
    /// mailbox or an alias; others are forwarded.
    targets: Vec<String>,
}

/// A domain's aliases and catch-all, by source then target.
#[utoipa::path(get, path = "/domains/{domain}/aliases",
    operation_id = "list_aliases", tag = "aliases",
    params(("domain" = String, Path)),
    responses(
        (status = 200, body = [Alias]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Not a domain name"),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
) -> Result<Json<Vec<Alias>>, ApiError> {
    Ok(json_list(caller.ops(&state).aliases(Some(&domain)).await?))
}

/// Adds an alias, or more targets to one.
#[utoipa::path(post, path = "/aliases",
    operation_id = "add_alias", tag = "aliases", request_body = NewAlias,
    responses(
        (status = 201, body = [Alias], description = "The pairs added"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such domain, or a hosted target does not exist"),
        (status = 409, body = ErrorBody, description = "The alias already has such a target, or the address is a mailbox"),
        (status = 422, body = ErrorBody),
    ))]
async fn add(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Body(new): Body<NewAlias>,
) -> Result<(StatusCode, Json<Vec<Alias>>), ApiError> {
    let added = caller
        .ops(&state)
        .add_alias(&new.source, &new.targets)
        .await
        .map_err(|e| HttpError::from(e).renaming(&NEW_ALIAS_FIELDS))?;
    Ok((StatusCode::CREATED, json_list(added)))
}

/// Removes an alias with all its targets.
#[utoipa::path(delete, path = "/aliases/{source}", operation_id = "remove_alias", tag = "aliases",
    params(("source" = String, Path, description = "`name@domain`, or `@domain` for a catch-all")),
    responses(
        (status = 200, body = [Alias], description = "Removed; the pairs as they were"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn remove(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(source): Path<String>,
) -> Result<Json<Vec<Alias>>, ApiError> {
    let removed = caller
        .ops(&state)
        .remove_alias(&source, &[])
        .await
        .map_err(|e| HttpError::from(e).renaming(&SOURCE_FIELDS))?;
    Ok(json_list(removed))
}

/// Removes one target of an alias; the others stay.
#[utoipa::path(delete, path = "/aliases/{source}/targets/{target}",
    operation_id = "remove_alias_target", tag = "aliases",
    params(
        ("source" = String, Path, description = "`name@domain`, or `@domain` for a catch-all"),
        ("target" = String, Path),
    ),
    responses(
        (status = 200, body = [Alias], description = "Removed; the pair as it was"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "No such alias, or not with that target"),
        (status = 422, body = ErrorBody),
    ))]
async fn remove_target(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((source, target)): Path<(String, String)>,
) -> Result<Json<Vec<Alias>>, ApiError> {
    let removed = caller
        .ops(&state)
        .remove_alias(&source, &[target])
        .await
        .map_err(|e| HttpError::from(e).renaming(&SOURCE_FIELDS))?;
    Ok(json_list(removed))
}

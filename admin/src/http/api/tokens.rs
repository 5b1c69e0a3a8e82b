//! `/tokens`: the API tokens, for provincial admins to list and revoke.
//! Tokens are created at the command line only (`postino admin token
//! create`): a stolen session could otherwise turn itself into a
//! credential that outlives it.

use axum::Json;
use axum::extract::{Path, State};
use postino_common::store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::Params;
use super::{AdminCaller, ApiError, ErrorBody, json_list};
use crate::http::AppState;
use crate::http::error::HttpError;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
}

#[derive(Serialize, ToSchema)]
pub struct ApiToken {
    id: i64,
    /// The admin principal the token acts as.
    admin: String,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<store::ApiToken> for ApiToken {
    fn from(token: store::ApiToken) -> ApiToken {
        ApiToken {
            id: token.id,
            admin: token.admin,
            name: token.name,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenFilter {
    /// Only the tokens acting as this admin.
    admin: Option<String>,
}

/// Every token, or one admin's, revoked ones included, oldest first. The
/// secrets themselves were shown once, when created, and are not kept.
#[utoipa::path(get, path = "/tokens",
    operation_id = "list_tokens", tag = "tokens", params(TokenFilter),
    responses(
        (status = 200, body = [ApiToken]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not a provincial admin"),
        (status = 404, body = ErrorBody, description = "No such admin"),
        (status = 422, body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Params(filter): Params<TokenFilter>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let tokens = caller
        .ops(&state)
        .api_tokens(filter.admin.as_deref())
        .await?;
    Ok(json_list(tokens))
}

/// Revokes a token: it stops working at once. Revoking a revoked token
/// changes nothing.
#[utoipa::path(delete, path = "/tokens/{id}", operation_id = "revoke_token", tag = "tokens",
    params(("id" = i64, Path, description = "The token's id, as listed")),
    responses(
        (status = 200, body = ApiToken, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not a provincial admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn revoke(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<ApiToken>, ApiError> {
    // Parsed here rather than by axum, whose refusal is plain text: an id
    // that is no number names no token.
    let id = id
        .parse()
        .map_err(|_| HttpError::not_found(format!("token `{id}` does not exist")))?;
    Ok(Json(caller.ops(&state).revoke_api_token(id).await?.into()))
}

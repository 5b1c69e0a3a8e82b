//! `/domains/{domain}/dkim` and `/domains/{domain}/dns`: a domain's DKIM
//! signing keys (generate, list, rotate) and the DNS records to publish
//! for it. Private keys never leave the store: a key is listed with its
//! public half only.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postino_common::store::{DkimKey, DkimRotation};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminCaller, ApiError, Body, ErrorBody};
use crate::http::AppState;
use crate::http::error::HttpError;
use crate::ops::DnsRecord;

/// How long replaced keys stay published when a rotation does not say: a
/// week, as for `postino dkim rotate`.
const DEFAULT_GRACE_SECONDS: u64 = 7 * 24 * 3600;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, generate))
        .routes(routes!(rotate))
        .routes(routes!(dns))
}

/// Which keys to generate.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    /// RSA-2048 (`rsa-sha256`), which every verifier knows.
    Rsa,
    /// Ed25519 (`ed25519-sha256`, RFC 8463).
    Ed25519,
    /// One key of each.
    #[default]
    Both,
}

impl KeyAlgorithm {
    fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa => "rsa",
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Both => "both",
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeys {
    /// The selector, for one algorithm only; by default `YYYYMMDD-rsa`,
    /// `YYYYMMDD-ed`.
    selector: Option<String>,
    /// Default `both`.
    #[serde(default)]
    algorithm: KeyAlgorithm,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the replaced keys stay published, in seconds, so that mail
    /// they signed still verifies. Default 604800 (7 days).
    grace_seconds: Option<u64>,
}

/// A domain's keys in every state, active, retiring and retired.
#[utoipa::path(get, path = "/domains/{domain}/dkim", operation_id = "list_dkim_keys", tag = "dkim",
    params(("domain" = String, Path)),
    responses(
        (status = 200, body = [DkimKey]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Not a domain name"),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
) -> Result<Json<Vec<DkimKey>>, ApiError> {
    Ok(Json(caller.ops(&state).dkim_keys(Some(&domain)).await?))
}

/// Generates a domain's first signing keys; they sign at once. Publish
/// their records (`GET /domains/{domain}/dns`).
#[utoipa::path(post, path = "/domains/{domain}/dkim",
    operation_id = "generate_dkim_keys", tag = "dkim",
    params(("domain" = String, Path)), request_body = NewKeys,
    responses(
        (status = 201, body = [DkimKey], description = "The keys generated"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "An active key of the algorithm exists (rotate it), or the selector is taken"),
        (status = 422, body = ErrorBody),
    ))]
async fn generate(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
    Body(new): Body<NewKeys>,
) -> Result<(StatusCode, Json<Vec<DkimKey>>), ApiError> {
    let keys = caller
        .ops(&state)
        .generate_dkim_keys(&domain, new.selector.as_deref(), new.algorithm.as_str())
        .await?;
    Ok((StatusCode::CREATED, Json(keys)))
}

/// Replaces each active key of a domain with a new one of its algorithm,
/// which signs at once; the old ones stay published for the grace period.
#[utoipa::path(post, path = "/domains/{domain}/dkim/rotate",
    operation_id = "rotate_dkim_keys", tag = "dkim",
    params(("domain" = String, Path)), request_body = Rotation,
    responses(
        (status = 200, body = DkimRotation),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The domain has no active key"),
        (status = 422, body = ErrorBody),
    ))]
async fn rotate(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
    Body(rotation): Body<Rotation>,
) -> Result<Json<DkimRotation>, ApiError> {
    let grace = Duration::from_secs(rotation.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS));
    let rotation = caller
        .ops(&state)
        .rotate_dkim_keys(&domain, grace)
        .await
        .map_err(|e| HttpError::from(e).renaming(&[("grace", "grace_seconds")]))?;
    Ok(Json(rotation))
}

/// The records to publish in the domain's zone: MX, SPF, every DKIM key
/// that signs or may still be verified, DMARC, client autoconfiguration.
#[utoipa::path(get, path = "/domains/{domain}/dns", operation_id = "dns_records", tag = "dkim",
    params(("domain" = String, Path)),
    responses(
        (status = 200, body = [DnsRecord]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Not a domain name"),
    ))]
async fn dns(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
) -> Result<Json<Vec<DnsRecord>>, ApiError> {
    Ok(Json(
        caller
            .ops(&state)
            .dns_records(&domain, &state.hostname)
            .await?,
    ))
}

//! `/domains/{domain}/dkim` and `/domains/{domain}/dns`: a domain's DKIM
//! signing keys (generate, list, rotate) and the DNS records to publish
//! for it. Private keys never leave the store: a key is listed with its
//! public half only.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postino_common::dkim;
use postino_common::store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AdminCaller, ApiError, Body, ErrorBody, json_list};
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

/// A stored key. Its private key is never serialized nor printed.
#[derive(Serialize, ToSchema)]
pub struct DkimKey {
    id: i64,
    domain: String,
    selector: String,
    algorithm: Algorithm,
    /// Base64, the `p=` tag of the key record.
    public_key: String,
    state: DkimKeyState,
    created_at: i64,
    /// When a retiring key is to be (or a retired one was) retired.
    retire_at: Option<i64>,
}

impl From<store::DkimKey> for DkimKey {
    fn from(key: store::DkimKey) -> DkimKey {
        DkimKey {
            id: key.id,
            domain: key.domain,
            selector: key.selector,
            algorithm: key.algorithm.into(),
            public_key: key.public_key,
            state: key.state.into(),
            created_at: key.created_at,
            retire_at: key.retire_at,
        }
    }
}

/// A DKIM signing algorithm, named as in the `a=` tag of a signature.
#[derive(Serialize, ToSchema)]
pub enum Algorithm {
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
    #[serde(rename = "ed25519-sha256")]
    Ed25519Sha256,
}

impl From<dkim::Algorithm> for Algorithm {
    fn from(algorithm: dkim::Algorithm) -> Algorithm {
        match algorithm {
            dkim::Algorithm::RsaSha256 => Algorithm::RsaSha256,
            dkim::Algorithm::Ed25519Sha256 => Algorithm::Ed25519Sha256,
        }
    }
}

/// Where a key is in its life.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DkimKeyState {
    /// Signs, and is published.
    Active,
    /// Replaced: published until `retire_at`, signs nothing.
    Retiring,
    /// Neither signs nor needs publishing.
    Retired,
}

impl From<store::DkimKeyState> for DkimKeyState {
    fn from(state: store::DkimKeyState) -> DkimKeyState {
        match state {
            store::DkimKeyState::Active => DkimKeyState::Active,
            store::DkimKeyState::Retiring => DkimKeyState::Retiring,
            store::DkimKeyState::Retired => DkimKeyState::Retired,
        }
    }
}

/// What a rotation did.
#[derive(Serialize, ToSchema)]
pub struct DkimRotation {
    /// The keys that were active, now retiring.
    retiring: Vec<DkimKey>,
    /// The new active keys.
    added: Vec<DkimKey>,
}

impl From<store::DkimRotation> for DkimRotation {
    fn from(rotation: store::DkimRotation) -> DkimRotation {
        let keys = |keys: Vec<store::DkimKey>| keys.into_iter().map(DkimKey::from).collect();
        DkimRotation {
            retiring: keys(rotation.retiring),
            added: keys(rotation.added),
        }
    }
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
    Ok(json_list(
        caller.ops(&state).dkim_keys(Some(&domain)).await?,
    ))
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
    Ok((StatusCode::CREATED, json_list(keys)))
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
    Ok(Json(rotation.into()))
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
            .dns_records(&domain, &state.publishing)
            .await?,
    ))
}

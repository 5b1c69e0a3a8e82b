//! `/domains`: the comuni's domains, their limits and usage.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use postino_common::mta_sts::Mode;
use postino_common::store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::Params;
use super::{AdminCaller, ApiError, Body, ErrorBody, json_list};
use crate::http::AppState;
use crate::http::error::HttpError;
use crate::ops::{self, DomainChange, MailboxUsage};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(show, update, remove))
        .routes(routes!(usage))
        .routes(routes!(all_usage))
}

/// A hosted domain. Quotas and limits of 0 mean "none".
#[derive(Serialize, ToSchema)]
pub struct Domain {
    id: i64,
    name: String,
    quota_bytes: i64,
    max_mailboxes: i64,
    /// Bytes stored in all of the domain's mailboxes.
    used_bytes: i64,
    mailboxes: i64,
    active: bool,
    created_at: i64,
    /// Whether rspamd's verdict applies to the domain's mail.
    spam_filter: bool,
    /// The rspamd settings id of the domain's profile; null: rspamd's
    /// defaults.
    spam_profile: Option<String>,
    /// Messages each mailbox may send in an hour unless it has its own
    /// limit; 0: no limit; null: the configured limit.
    max_messages_per_hour: Option<i64>,
    /// Distinct recipients each may write to in a day, likewise.
    max_recipients_per_day: Option<i64>,
    /// Days its Junk and Trash keep a message; 0: forever; null: the
    /// configured retention.
    junk_retention_days: Option<i64>,
    /// The mode of the MTA-STS policy published for the domain: enforce,
    /// testing or none.
    #[schema(value_type = String)]
    mta_sts_mode: Mode,
}

impl From<store::Domain> for Domain {
    fn from(domain: store::Domain) -> Domain {
        Domain {
            id: domain.id,
            name: domain.name,
            quota_bytes: domain.quota_bytes,
            max_mailboxes: domain.max_mailboxes,
            used_bytes: domain.used_bytes,
            mailboxes: domain.mailboxes,
            active: domain.active,
            created_at: domain.created_at,
            spam_filter: domain.spam_filter,
            spam_profile: domain.spam_profile,
            max_messages_per_hour: domain.max_messages_per_hour,
            max_recipients_per_day: domain.max_recipients_per_day,
            junk_retention_days: domain.junk_retention_days,
            mta_sts_mode: domain.mta_sts_mode,
        }
    }
}

/// A domain's use, with each of its mailboxes'.
#[derive(Serialize, ToSchema)]
pub struct DomainUsage {
    #[serde(flatten)]
    domain: Domain,
    /// By address.
    accounts: Vec<MailboxUsage>,
}

impl From<ops::DomainUsage> for DomainUsage {
    fn from(usage: ops::DomainUsage) -> DomainUsage {
        DomainUsage {
            domain: usage.domain.into(),
            accounts: usage.accounts,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    /// Lowercase; an internationalised name is stored as its A-label.
    name: String,
    /// Storage for the whole domain in bytes; 0 or absent: no limit.
    #[serde(default)]
    quota_bytes: u64,
    /// Most mailboxes; 0 or absent: no limit.
    #[serde(default)]
    max_mailboxes: u64,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Removal {
    /// Remove the domain even with mailboxes, and all their mail.
    #[serde(default)]
    force: bool,
}

/// The domains the caller manages.
#[utoipa::path(get, path = "/domains", operation_id = "list_domains", tag = "domains",
    responses(
        (status = 200, body = [Domain]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<Vec<Domain>>, ApiError> {
    Ok(json_list(caller.ops(&state).domains().await?))
}

/// Adds a domain (provincial admins only).
#[utoipa::path(post, path = "/domains",
    operation_id = "add_domain", tag = "domains", request_body = NewDomain,
    responses(
        (status = 201, body = Domain),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "It exists already"),
        (status = 422, body = ErrorBody),
    ))]
async fn add(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Body(new): Body<NewDomain>,
) -> Result<(StatusCode, Json<Domain>), ApiError> {
    let domain = caller
        .ops(&state)
        .add_domain(&new.name, new.quota_bytes, new.max_mailboxes)
        .await?;
    Ok((StatusCode::CREATED, Json(domain.into())))
}

#[utoipa::path(get, path = "/domains/{domain}", operation_id = "show_domain", tag = "domains",
    params(("domain" = String, Path)),
    responses(
        (status = 200, body = Domain),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
) -> Result<Json<Domain>, ApiError> {
    Ok(Json(
        caller.ops(&state).domain(&domain).await?.domain.into(),
    ))
}

/// Changes a domain's quota, mailbox limit, sending limits or active flag
/// (provincial admins only), or its spam settings, Junk retention and
/// MTA-STS mode (its comune admins too).
#[utoipa::path(patch, path = "/domains/{domain}", operation_id = "update_domain", tag = "domains",
    params(("domain" = String, Path)), request_body = DomainChange,
    responses(
        (status = 200, body = Domain),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
    Body(change): Body<DomainChange>,
) -> Result<Json<Domain>, ApiError> {
    let domain = caller.ops(&state).update_domain(&domain, &change).await?;
    Ok(Json(domain.into()))
}

/// Removes a domain (provincial admins only).
#[utoipa::path(delete, path = "/domains/{domain}", operation_id = "remove_domain", tag = "domains",
    params(("domain" = String, Path), Removal),
    responses(
        (status = 200, body = Domain, description = "Removed; the domain as it was"),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "It still has mailboxes"),
    ))]
async fn remove(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
    Params(removal): Params<Removal>,
) -> Result<Json<Domain>, ApiError> {
    let domain = caller
        .ops(&state)
        .remove_domain(&domain, removal.force)
        .await?;
    Ok(Json(domain.into()))
}

/// A domain's usage, mailbox by mailbox.
#[utoipa::path(get, path = "/domains/{domain}/usage", operation_id = "domain_usage", tag = "usage",
    params(("domain" = String, Path)),
    responses(
        (status = 200, body = DomainUsage),
        (status = 401, body = ErrorBody, description = "Not logged in"),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody),
    ))]
async fn usage(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(domain): Path<String>,
) -> Result<Json<DomainUsage>, ApiError> {
    let mut report = caller.ops(&state).usage(Some(&domain)).await?;
    report
        .pop()
        .map(|usage| Json(usage.into()))
        .ok_or_else(|| HttpError::not_found(format!("domain `{domain}` does not exist")).into())
}

/// Usage of every domain the caller manages.
#[utoipa::path(get, path = "/usage", operation_id = "all_usage", tag = "usage",
    responses(
        (status = 200, body = [DomainUsage]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
    ))]
async fn all_usage(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<Vec<DomainUsage>>, ApiError> {
    Ok(json_list(caller.ops(&state).usage(None).await?))
}

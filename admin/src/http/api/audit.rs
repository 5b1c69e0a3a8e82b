//! `/audit`: the audit log, newest first, as JSON or as CSV (RFC 4180) for
//! a spreadsheet. A comune admin sees the entries about its own domains
//! only (the ops layer's rule); entries about no domain (admins, API
//! tokens) are the provincial admins' alone.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use postino_common::store;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::Params;
use super::{AdminCaller, ApiError, ErrorBody, json_list};
use crate::http::AppState;
use crate::ops::{AuditFilter, Time, audit_csv};

const CSV_TYPE: &str = "text/csv; charset=utf-8";
const CSV_DISPOSITION: &str = "attachment; filename=\"postino-audit.csv\"";

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Serialize, ToSchema)]
pub struct AuditRecord {
    id: i64,
    at: i64,
    actor: String,
    origin: String,
    action: String,
    /// The first of the domains the entry is about.
    domain: Option<String>,
    target: String,
    before: Option<String>,
    after: Option<String>,
    /// The hash of the entry before this one in the tamper-evident chain,
    /// and this entry's own; none for entries older than the chain.
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl From<store::AuditRecord> for AuditRecord {
    fn from(record: store::AuditRecord) -> AuditRecord {
        AuditRecord {
            id: record.id,
            at: record.at,
            actor: record.actor,
            origin: record.origin,
            action: record.action,
            domain: record.domain,
            target: record.target,
            before: record.before,
            after: record.after,
            prev_hash: record.prev_hash,
            hash: record.hash,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditFormat {
    Json,
    Csv,
}

/// Which entries to list: every condition given must hold. A time is
/// RFC 3339 (`2025-03-01T00:00:00Z`, `2025-03-01T01:00:00+01:00`), a date
/// for its midnight UTC (`2025-03-01`), or whole seconds since the Unix
/// epoch (`1740787200`).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only the entries about this domain (it may have been removed since).
    domain: Option<String>,
    /// Only the entries of this actor: an admin's username, a mailbox
    /// address, `cli:USER`.
    actor: Option<String>,
    /// Only the entries from this time on (inclusive).
    #[serde(default, deserialize_with = "time")]
    #[param(value_type = Option<String>)]
    since: Option<i64>,
    /// Only the entries before this time (exclusive).
    #[serde(default, deserialize_with = "time")]
    #[param(value_type = Option<String>)]
    until: Option<i64>,
    /// Only the entries older than this id: the last id of the previous page.
    before_id: Option<i64>,
    /// At most this many entries, 1 to 1000. Default 100.
    limit: Option<i64>,
    /// `json` or `csv`; without it, CSV if the Accept header prefers
    /// `text/csv`, else JSON.
    #[param(inline)]
    format: Option<AuditFormat>,
}

/// A time, as [`Time`] reads it; a date is its midnight UTC.
fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let text = String::deserialize(deserializer)?;
    let time: Time = text.parse().map_err(serde::de::Error::custom)?;
    Ok(Some(time.start()))
}

/// Whether the Accept header prefers CSV to JSON: the listed type of each
/// with the higher `q` wins, JSON on a tie (also with `*/*` only).
fn prefers_csv(headers: &HeaderMap) -> bool {
    let mut csv = 0.0_f32;
    let mut json = 0.0_f32;
    let ranges = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/csv" => csv = csv.max(q),
            "application/json" | "application/*" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    csv > json
}

/// The audit log, newest first, at most `limit` entries; page with
/// `before_id`.
#[utoipa::path(get, path = "/audit", operation_id = "audit_log", tag = "audit", params(AuditParams),
    responses(
        (status = 200,
            description = "The entries. JSON: `before` and `after` are JSON text. CSV (RFC 4180, \
                           `at` in RFC 3339 UTC): an attachment `postino-audit.csv`",
            content(([AuditRecord] = "application/json"), (String = "text/csv"))),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin"),
        (status = 404, body = ErrorBody, description = "A domain outside the caller's"),
        (status = 422, body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    headers: HeaderMap,
    Params(params): Params<AuditParams>,
) -> Result<Response, ApiError> {
    let filter = AuditFilter {
        domain: params.domain,
        actor: params.actor,
        since: params.since,
        until: params.until,
        before_id: params.before_id,
        limit: params.limit,
    };
    let records = caller.ops(&state).audit_log(&filter).await?;
    let csv = match params.format {
        Some(format) => format == AuditFormat::Csv,
        None => prefers_csv(&headers),
    };
    if !csv {
        return Ok(json_list::<_, AuditRecord>(records).into_response());
    }
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(CSV_TYPE)),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static(CSV_DISPOSITION),
        ),
    ];
    Ok((headers, audit_csv(&records)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_when_the_client_prefers_it() {
        let accept = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(value));
            prefers_csv(&headers)
        };
        assert!(accept("text/csv"));
        assert!(accept("text/csv, application/json;q=0.5"));
        assert!(accept("application/json;q=0.5, text/csv"));
        assert!(!accept("application/json, text/csv"));
        assert!(!accept("*/*"));
        assert!(!accept("text/csv;q=0.1, */*"));
        assert!(!prefers_csv(&HeaderMap::new()));
    }
}

//! `/console/audit`: the audit log an admin may see, filtered by a GET form
//! (domain, actor, days in UTC), a page at a time, and the same selection
//! as CSV (`ops::audit_csv`) or JSON to download; and for provincial
//! admins, the export for an inspection (`ops::LogExport`): both admin
//! logs within the filter's days, with the hashes that verify them.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use postino_common::store::AuditRecord;
use serde::Deserialize;

use super::form::{Field, FormView, Rejected};
use super::i18n::T;
use super::layout::{self, View};
use super::{Ctx, Page, encode};
use crate::http::AppState;
use crate::http::error::{Code, HttpError};
use crate::ops::{AuditFilter, LogExport, Time, audit_csv, utc};

const FILTER: &str = "audit-filter";
/// Entries on a page.
const PAGE_SIZE: i64 = 100;
/// Entries in a download: the most the ops layer lists at once.
const DOWNLOAD_SIZE: i64 = 1000;

/// The filter as the query carries it, typed text all.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    domain: String,
    actor: String,
    from: String,
    to: String,
    /// The last id of the page before, for the next one.
    before: String,
}

impl Params {
    /// The ops filter, or the input at fault and why.
    fn filter(&self, limit: i64) -> Result<AuditFilter, (&'static str, T)> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let time = |s: &str| text(s).map(|t| t.parse::<Time>()).transpose();
        let since = time(&self.from).map_err(|_| ("from", T::ErrDate))?;
        let until = time(&self.to).map_err(|_| ("to", T::ErrDate))?;
        // The last day is included: the filter ends after it.
        let (since, until) = (since.map(Time::start), until.map(Time::end));
        if let (Some(since), Some(until)) = (since, until)
            && until <= since
        {
            return Err(("to", T::ErrDateOrder));
        }
        let before_id = match text(&self.before) {
            Some(id) => Some(id.parse().map_err(|_| ("before", T::ErrNumber))?),
            None => None,
        };
        Ok(AuditFilter {
            domain: text(&self.domain),
            actor: text(&self.actor),
            since,
            until,
            before_id,
            limit: Some(limit),
        })
    }

    /// The filter as a query string, with `before` as given.
    fn query(&self, before: Option<i64>) -> String {
        let before = before.map(|id| id.to_string());
        let pairs = [
            ("domain", self.domain.trim()),
            ("actor", self.actor.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("before", before.as_deref().unwrap_or("")),
        ];
        pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| format!("{key}={}", encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// `GET /console/audit`.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    params: Result<Query<Params>, QueryRejection>,
) -> Response {
    page.respond(audit_page(&page, &state, params).await)
}

async fn audit_page(
    page: &Page,
    state: &AppState,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Response, HttpError> {
    page.require_admin()?;
    let Query(params) = params.map_err(|_| HttpError::bad_request("malformed query"))?;
    let ctx = &page.ctx;
    let lang = ctx.lang;
    let (records, rejected) = match params.filter(PAGE_SIZE) {
        Ok(filter) => match page.ops(state).audit_log(&filter).await {
            Ok(records) => (records, None),
            Err(err) => {
                let fields = [("domain", "domain"), ("until", "to")];
                let rejected = Rejected::from_error(FILTER, err, lang, &fields, T::ErrConflict)
                    .or_else(|failure| match failure.code() {
                        // An unknown domain, or one out of reach, is not a
                        // missing page here: the filter names it.
                        Code::NotFound => Ok(Rejected::new(
                            FILTER,
                            Some("domain"),
                            T::ErrDomain.get(lang).into(),
                        )),
                        _ => Err(failure),
                    })?;
                (Vec::new(), Some(rejected))
            }
        },
        Err((field, message)) => (
            Vec::new(),
            Some(Rejected::new(FILTER, Some(field), message.get(lang).into())),
        ),
    };
    let rejected = rejected.map(|r| {
        r.keep("domain", &params.domain)
            .keep("actor", &params.actor)
            .keep("from", &params.from)
            .keep("to", &params.to)
    });
    let query = params.query(None);
    let older = records
        .last()
        .filter(|_| records.len() == PAGE_SIZE as usize)
        .map(|last| params.query(Some(last.id)));
    let body = html! {
        (filter_form(ctx, &params, rejected.as_ref()))
        @if rejected.is_none() {
            p {
                a #audit-csv href=(format!("/console/audit.csv?{query}")) download { (ctx.t(T::DownloadCsv)) }
                " · "
                a #audit-json href=(format!("/console/audit.json?{query}")) download { (ctx.t(T::DownloadJson)) }
                " "
                span.hint { (T::DownloadHint.fill(lang, &[&DOWNLOAD_SIZE])) }
            }
            @if ctx.user.as_ref().is_some_and(|user| user.provincial) {
                p {
                    a #audit-export-csv href=(format!("/console/audit/export.csv?{query}")) download { (ctx.t(T::ExportCsv)) }
                    " · "
                    a #audit-export-json href=(format!("/console/audit/export.json?{query}")) download { (ctx.t(T::ExportJson)) }
                    " "
                    span.hint { (ctx.t(T::ExportHint)) }
                }
            }
            p.hint { (T::AuditShown.fill(lang, &[&PAGE_SIZE])) }
            (entries(ctx, &records))
            @if let Some(older) = older {
                p { a #audit-older href=(format!("/console/audit?{older}")) { (ctx.t(T::OlderEntries)) } }
            }
        }
    };
    let mut view = View::new(ctx.t(T::AuditTitle), ctx.here.clone(), body);
    if let Some(rejected) = &rejected {
        view.status = rejected.status;
        view.refused = true;
    }
    Ok(layout::render(ctx, view))
}

fn filter_form(ctx: &Ctx, params: &Params, rejected: Option<&Rejected>) -> Markup {
    let view = FormView::new(FILTER, rejected);
    let date_hint = ctx.t(T::DateHint);
    html! {
        h2 #filter-title { (ctx.t(T::FilterTitle)) }
        form.panel method="get" action="/console/audit" aria-labelledby="filter-title" {
            (view.general())
            (Field::new("audit-domain", "domain", ctx.t(T::ColDomain))
                .value(params.domain.trim()).from(&view).render())
            (Field::new("audit-actor", "actor", ctx.t(T::FilterActor))
                .value(params.actor.trim()).hint(ctx.t(T::FilterActorHint)).from(&view).render())
            (Field::new("audit-from", "from", ctx.t(T::FilterFrom)).kind("date")
                .value(params.from.trim()).hint(date_hint).from(&view).render())
            (Field::new("audit-to", "to", ctx.t(T::FilterTo)).kind("date")
                .value(params.to.trim()).hint(date_hint).from(&view).render())
            button #audit-filter-submit type="submit" { (ctx.t(T::FilterSubmit)) }
            " "
            a href="/console/audit" { (ctx.t(T::FilterClear)) }
        }
    }
}

fn entries(ctx: &Ctx, records: &[AuditRecord]) -> Markup {
    html! {
        @if records.is_empty() {
            p { (ctx.t(T::AuditEmpty)) }
        } @else {
            table #audit {
                thead {
                    tr {
                        th scope="col" { (ctx.t(T::ColWhen)) }
                        th scope="col" { (ctx.t(T::ColActor)) }
                        th scope="col" { (ctx.t(T::ColOrigin)) }
                        th scope="col" { (ctx.t(T::ColAction)) }
                        th scope="col" { (ctx.t(T::ColDomain)) }
                        th scope="col" { (ctx.t(T::ColTarget2)) }
                        th scope="col" { (ctx.t(T::ColDetails)) }
                    }
                }
                tbody {
                    @for record in records {
                        tr {
                            td { (utc(record.at)) }
                            td { (record.actor) }
                            td { (record.origin) }
                            td { code { (record.action) } }
                            td { (record.domain.as_deref().unwrap_or("")) }
                            td { (record.target) }
                            td {
                                @if record.before.is_some() || record.after.is_some() {
                                    details {
                                        summary { (ctx.t(T::ShowDetails)) }
                                        @if let Some(before) = &record.before {
                                            p { (ctx.t(T::Before)) }
                                            pre { (pretty(before)) }
                                        }
                                        @if let Some(after) = &record.after {
                                            p { (ctx.t(T::After)) }
                                            pre { (pretty(after)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Stored JSON, indented for reading; as stored if it is not JSON.
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| json.to_string())
}

/// `GET /console/audit.csv`.
pub async fn csv(
    State(state): State<AppState>,
    page: Page,
    params: Result<Query<Params>, QueryRejection>,
) -> Response {
    let result = download(&page, &state, params).await.map(|records| {
        attachment(
            "text/csv; charset=utf-8",
            "postino-audit.csv",
            audit_csv(&records).into_bytes(),
        )
    });
    page.respond(result)
}

/// `GET /console/audit.json`.
pub async fn json(
    State(state): State<AppState>,
    page: Page,
    params: Result<Query<Params>, QueryRejection>,
) -> Response {
    let result = download(&page, &state, params).await.and_then(|records| {
        let body = serde_json::to_vec_pretty(&records).map_err(HttpError::internal)?;
        Ok(attachment("application/json", "postino-audit.json", body))
    });
    page.respond(result)
}

/// `GET /console/audit/export.csv`: both logs within the filter's days.
pub async fn export_csv(
    State(state): State<AppState>,
    page: Page,
    params: Result<Query<Params>, QueryRejection>,
) -> Response {
    let result = export(&page, &state, params).await.map(|export| {
        attachment(
            "text/csv; charset=utf-8",
            "postino-admin-logs.csv",
            export.csv().into_bytes(),
        )
    });
    page.respond(result)
}

/// `GET /console/audit/export.json`: the same, with the chains' state.
pub async fn export_json(
    State(state): State<AppState>,
    page: Page,
    params: Result<Query<Params>, QueryRejection>,
) -> Response {
    let result = export(&page, &state, params).await.and_then(|export| {
        let body = serde_json::to_vec_pretty(&export).map_err(HttpError::internal)?;
        Ok(attachment(
            "application/json",
            "postino-admin-logs.json",
            body,
        ))
    });
    page.respond(result)
}

async fn export(
    page: &Page,
    state: &AppState,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<LogExport, HttpError> {
    page.require_admin()?;
    let Query(params) = params.map_err(|_| HttpError::bad_request("malformed query"))?;
    let filter = params
        .filter(DOWNLOAD_SIZE)
        .map_err(|(field, _)| HttpError::invalid(field, "not a valid filter"))?;
    Ok(page
        .ops(state)
        .export_logs(filter.since, filter.until)
        .await?)
}

async fn download(
    page: &Page,
    state: &AppState,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Vec<AuditRecord>, HttpError> {
    page.require_admin()?;
    let Query(params) = params.map_err(|_| HttpError::bad_request("malformed query"))?;
    let filter = params
        .filter(DOWNLOAD_SIZE)
        .map_err(|(field, _)| HttpError::invalid(field, "not a valid filter"))?;
    Ok(page.ops(state).audit_log(&filter).await?)
}

fn attachment(content_type: &'static str, name: &'static str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter of the form with its dates only.
    fn dates(from: &str, to: &str) -> Result<AuditFilter, (&'static str, T)> {
        let params = Params {
            from: from.into(),
            to: to.into(),
            ..Params::default()
        };
        params.filter(10)
    }

    #[test]
    fn days_are_whole_utc_days_and_the_last_is_included() {
        let filter = dates("2025-03-03", "2025-03-03").unwrap();
        assert_eq!(filter.since, Some(1_740_960_000));
        assert_eq!(filter.until, Some(1_740_960_000 + 24 * 3600));
        assert_eq!(filter.limit, Some(10));
        assert_eq!((filter.domain, filter.actor), (None, None));

        let backwards = dates("2025-03-04", "2025-03-02");
        assert_eq!(backwards.unwrap_err(), ("to", T::ErrDateOrder));
        assert_eq!(dates("03/03/2025", "").unwrap_err(), ("from", T::ErrDate));
    }

    #[test]
    fn times_are_read_as_the_cli_and_the_api_read_them() {
        let filter = dates("2025-03-03T10:00:00+01:00", "1740996000").unwrap();
        assert_eq!(filter.since, Some(1_740_992_400));
        assert_eq!(filter.until, Some(1_740_996_000));
    }

    #[test]
    fn the_query_carries_the_filter() {
        let params = Params {
            domain: " comune.esempio.it ".into(),
            actor: "cli:root".into(),
            ..Params::default()
        };
        assert_eq!(
            params.query(None),
            "domain=comune.esempio.it&actor=cli%3Aroot"
        );
        assert_eq!(
            params.query(Some(42)),
            "domain=comune.esempio.it&actor=cli%3Aroot&before=42"
        );
    }
}

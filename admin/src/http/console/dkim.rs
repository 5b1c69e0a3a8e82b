//! `/console/domains/{domain}/dkim`: a domain's DKIM keys in every state,
//! the forms that generate and rotate them, and every DNS record the
//! domain needs (`Ops::dns_records`), as zone-file lines ready to copy.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use postino_common::address::DomainName;
use postino_common::store::{DkimKey, DkimKeyState};
use serde::Deserialize;

use super::form::{self, Field, FormView, Rejected};
use super::i18n::{Lang, T};
use super::layout::{self, View};
use super::{Ctx, Flash, Page, Submit, domain_path, done};
use crate::http::AppState;
use crate::http::error::HttpError;
use crate::ops::{DnsRecord, utc};

const GENERATE: &str = "dkim-generate";
const ROTATE: &str = "dkim-rotate";

/// The grace period offered for a rotation, in days.
const DEFAULT_GRACE_DAYS: u64 = 7;
/// The longest grace period accepted, in days.
const MAX_GRACE_DAYS: u64 = 365;

fn dkim_path(domain: &str) -> String {
    format!("{}/dkim", domain_path(domain))
}

/// `GET /console/domains/{domain}/dkim`.
pub async fn show(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    page: Page,
) -> Response {
    page.respond(dkim_page(&page, &state, &domain, None).await)
}

async fn dkim_page(
    page: &Page,
    state: &AppState,
    domain: &str,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    page.require_admin()?;
    let ops = page.ops(state);
    let keys = ops.dkim_keys(Some(domain)).await?;
    let records = ops.dns_records(domain, &state.publishing).await?;
    // Both calls above found it valid and in reach.
    let name = domain
        .parse::<DomainName>()
        .map_or_else(|_| domain.to_string(), |d| d.to_string());
    let ctx = &page.ctx;
    let path = dkim_path(&name);
    let has_active = keys.iter().any(|k| k.state == DkimKeyState::Active);
    let body = html! {
        p { a href=(domain_path(&name)) { (T::BackTo.fill(ctx.lang, &[&name])) } }
        p.intro { (ctx.t(T::DkimIntro)) }
        h2 #keys-title { (ctx.t(T::KeysTitle)) }
        (keys_table(ctx, &keys))
        (generate_form(ctx, &path, rejected.as_ref()))
        @if has_active || rejected.as_ref().is_some_and(|r| r.form == ROTATE) {
            (rotate_form(ctx, &path, rejected.as_ref()))
        }
        h2 #dns-title { (ctx.t(T::DnsTitle)) }
        p.intro #dns-intro { (ctx.t(T::DnsIntro)) }
        // A region the keyboard can scroll: zone lines are too long for
        // narrow screens and must not be broken.
        pre #dns-records role="region" tabindex="0" aria-labelledby="dns-title"
            aria-describedby="dns-intro" {
            code { (zone(ctx.lang, &name, &keys, &records)) }
        }
    };
    let mut view = View::new(T::DkimTitle.fill(ctx.lang, &[&name]), path, body);
    if let Some(rejected) = &rejected {
        view.status = rejected.status;
        view.refused = true;
    }
    Ok(layout::render(ctx, view))
}

fn keys_table(ctx: &Ctx, keys: &[DkimKey]) -> Markup {
    html! {
        @if keys.is_empty() {
            p { (ctx.t(T::KeysEmpty)) }
        } @else {
            table #dkim-keys aria-labelledby="keys-title" {
                thead {
                    tr {
                        th scope="col" { (ctx.t(T::ColSelector)) }
                        th scope="col" { (ctx.t(T::ColAlgorithm)) }
                        th scope="col" { (ctx.t(T::ColState)) }
                        th scope="col" { (ctx.t(T::ColCreated)) }
                    }
                }
                tbody {
                    @for key in keys {
                        tr {
                            th scope="row" { code { (key.selector) } }
                            td { (key.algorithm) }
                            td { (key_state(ctx.lang, key)) }
                            td { (utc(key.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

fn key_state(lang: Lang, key: &DkimKey) -> String {
    match (key.state, key.retire_at) {
        (DkimKeyState::Active, _) => T::KeyActive.get(lang).to_string(),
        (DkimKeyState::Retiring, Some(until)) => T::KeyRetiring.fill(lang, &[&utc(until)]),
        (DkimKeyState::Retiring, None) => T::KeyRetiringOpen.get(lang).to_string(),
        (DkimKeyState::Retired, _) => T::KeyRetired.get(lang).to_string(),
    }
}

/// The records as zone-file lines, each after a comment saying what it is
/// for, as `postino dns` prints them but in the page's language; a record
/// the console does not know keeps the ops layer's comment.
fn zone(lang: Lang, domain: &str, keys: &[DkimKey], records: &[DnsRecord]) -> String {
    let mut text = String::new();
    for record in records {
        let comment = comment(lang, domain, keys, record).unwrap_or_else(|| record.comment.clone());
        text.push_str(&format!(
            "; {comment}\n{}. IN {} {}\n",
            record.name, record.kind, record.data
        ));
    }
    text
}

fn comment(lang: Lang, domain: &str, keys: &[DkimKey], record: &DnsRecord) -> Option<String> {
    let text = match record.kind {
        "MX" => T::DnsMx.get(lang).to_string(),
        "CNAME" if !record.name.starts_with("mta-sts.") => T::DnsAutoconfig.get(lang).to_string(),
        "SRV" => T::DnsSrv.get(lang).to_string(),
        "TXT" if record.data.starts_with("\"v=spf1") => T::DnsSpf.get(lang).to_string(),
        "TXT" if record.name.starts_with("_dmarc.") => {
            T::DnsDmarc.fill(lang, &[&format!("postmaster@{domain}")])
        }
        "TXT" => {
            let (selector, _) = record.name.split_once("._domainkey.")?;
            let key = keys.iter().find(|k| k.selector == selector)?;
            match (key.state, key.retire_at) {
                (DkimKeyState::Retiring, Some(until)) => {
                    T::DnsDkimRetiring.fill(lang, &[&key.algorithm, &selector, &utc(until)])
                }
                _ => T::DnsDkimActive.fill(lang, &[&key.algorithm, &selector]),
            }
        }
        _ => return None,
    };
    Some(text)
}

fn generate_form(ctx: &Ctx, path: &str, rejected: Option<&Rejected>) -> Markup {
    let view = FormView::new(GENERATE, rejected);
    let chosen = view.value("algorithm").unwrap_or("both");
    let options = [
        ("both", T::AlgorithmBoth),
        ("rsa", T::AlgorithmRsa),
        ("ed25519", T::AlgorithmEd),
    ];
    html! {
        h3 #generate-title { (ctx.t(T::GenerateTitle)) }
        form.panel method="post" action=(format!("{path}/generate")) aria-labelledby="generate-title" {
            (form::csrf(ctx.csrf()))
            (view.general())
            div.field {
                label for="dkim-algorithm" { (ctx.t(T::Algorithm)) }
                select #dkim-algorithm name="algorithm" {
                    @for (value, text) in options {
                        option value=(value) selected[value == chosen] { (ctx.t(text)) }
                    }
                }
            }
            (Field::new("dkim-selector", "selector", ctx.t(T::Selector))
                .hint(ctx.t(T::SelectorHint)).from(&view).render())
            button #dkim-generate-submit type="submit" { (ctx.t(T::GenerateSubmit)) }
        }
    }
}

fn rotate_form(ctx: &Ctx, path: &str, rejected: Option<&Rejected>) -> Markup {
    let view = FormView::new(ROTATE, rejected);
    let grace = DEFAULT_GRACE_DAYS.to_string();
    html! {
        h3 #rotate-title { (ctx.t(T::RotateTitle)) }
        form.panel method="post" action=(format!("{path}/rotate")) aria-labelledby="rotate-title" {
            p.intro { (ctx.t(T::RotateIntro)) }
            (form::csrf(ctx.csrf()))
            (view.general())
            (Field::new("dkim-grace", "grace_days", ctx.t(T::Grace))
                .kind("number").value(&grace).from(&view).render())
            button #dkim-rotate-submit type="submit" { (ctx.t(T::RotateSubmit)) }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Generate {
    algorithm: String,
    selector: String,
}

/// `POST /console/domains/{domain}/dkim/generate`.
pub async fn generate(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<Generate>,
) -> Response {
    let Submit { page, form } = submit;
    let selector = Some(form.selector.trim()).filter(|s| !s.is_empty());
    let generated = page
        .ops(&state)
        .generate_dkim_keys(&domain, selector, &form.algorithm)
        .await;
    let result = match generated {
        Ok(_) => Ok(done(&dkim_path(&domain), Flash::DkimGenerated)),
        Err(err) => {
            let fields = [("selector", "selector"), ("DKIM selector", "selector")];
            match Rejected::from_error(GENERATE, err, page.ctx.lang, &fields, T::ErrDkimActive) {
                Ok(rejected) => {
                    let rejected = rejected
                        .keep("algorithm", &form.algorithm)
                        .keep("selector", &form.selector);
                    dkim_page(&page, &state, &domain, Some(rejected)).await
                }
                Err(failure) => Err(failure),
            }
        }
    };
    page.respond(result)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Rotate {
    grace_days: String,
}

/// `POST /console/domains/{domain}/dkim/rotate`.
pub async fn rotate(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<Rotate>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(rotate_keys(&page, &state, &domain, form).await)
}

async fn rotate_keys(
    page: &Page,
    state: &AppState,
    domain: &str,
    form: Rotate,
) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    let days = match form::parse_count(&form.grace_days) {
        Some(days) if days <= MAX_GRACE_DAYS && !form.grace_days.trim().is_empty() => days,
        _ => {
            let rejected = Rejected::new(ROTATE, Some("grace_days"), T::ErrGrace.get(lang).into())
                .keep("grace_days", &form.grace_days);
            return dkim_page(page, state, domain, Some(rejected)).await;
        }
    };
    let grace = Duration::from_secs(days * 24 * 3600);
    match page.ops(state).rotate_dkim_keys(domain, grace).await {
        Ok(_) => Ok(done(&dkim_path(domain), Flash::DkimRotated)),
        Err(err) => {
            let rejected = Rejected::from_error(ROTATE, err, lang, &[], T::ErrDkimNoActive)?;
            dkim_page(page, state, domain, Some(rejected)).await
        }
    }
}

//! `/console/`: the domains an admin manages, with their usage, the
//! mailboxes of theirs that ran into their sending limits lately, and for a
//! provincial admin the form that adds one; `/console/domains/{domain}`: a
//! domain's summary with its mailboxes, aliases and relay clients, whose
//! sections and forms live in their own modules.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use postino_common::store::{Domain, LimitHit};
use serde::Deserialize;

use super::form::{self, Field, FormView, Rejected};
use super::i18n::T;
use super::layout::{self, View};
use super::{Ctx, Flash, Page, Submit, aliases, domain_path, done, mailboxes, relay};
use crate::http::AppState;
use crate::http::error::HttpError;
use crate::http::principal::Kind;
use crate::ops::{DomainChange, utc};

const NEW_DOMAIN: &str = "new-domain";

/// `GET /console/`: the domain list; a mailbox user goes to its account.
pub async fn list(State(state): State<AppState>, page: Page) -> Response {
    if page.principal.kind == Kind::MailboxUser {
        return super::see_other(super::home(Kind::MailboxUser));
    }
    page.respond(list_page(&page, &state, None).await)
}

async fn list_page(
    page: &Page,
    state: &AppState,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    page.require_admin()?;
    let domains = page.ops(state).domains().await?;
    let hits = page.ops(state).limit_hits().await?;
    let ctx = &page.ctx;
    let provincial = ctx.user.as_ref().is_some_and(|u| u.provincial);
    let body = html! {
        @if !hits.is_empty() {
            (limit_hits(ctx, &hits))
        }
        @if domains.is_empty() {
            p { (ctx.t(T::DomainsEmpty)) }
        } @else {
            table #domains {
                thead {
                    tr {
                        th scope="col" { (ctx.t(T::ColDomain)) }
                        th scope="col" { (ctx.t(T::ColMailboxes)) }
                        th scope="col" { (ctx.t(T::ColUsage)) }
                        th scope="col" { (ctx.t(T::ColState)) }
                    }
                }
                tbody {
                    @for domain in &domains {
                        tr {
                            th scope="row" { a href=(domain_path(&domain.name)) { (domain.name) } }
                            td { (mailbox_count(ctx, domain)) }
                            td { (layout::usage(ctx.lang, domain.used_bytes, domain.quota_bytes)) }
                            td { (layout::domain_state(ctx.lang, domain)) }
                        }
                    }
                }
            }
        }
        @if provincial {
            (new_domain_form(ctx, rejected.as_ref()))
        }
    };
    Ok(render(
        ctx,
        ctx.t(T::DomainsTitle),
        "/console/",
        rejected,
        body,
    ))
}

/// The mailboxes that ran into their sending limits lately: first on the
/// page, since each may be a stolen password at work.
fn limit_hits(ctx: &Ctx, hits: &[LimitHit]) -> Markup {
    html! {
        section aria-labelledby="limit-hits-title" {
            h2 #limit-hits-title { (ctx.t(T::LimitHitsTitle)) }
            p { (ctx.t(T::LimitHitsHint)) }
            table #limit-hits {
                thead {
                    tr {
                        th scope="col" { (ctx.t(T::ColAddress)) }
                        th scope="col" { (ctx.t(T::ColLimit)) }
                        th scope="col" { (ctx.t(T::ColRefused)) }
                        th scope="col" { (ctx.t(T::ColFirst)) }
                        th scope="col" { (ctx.t(T::ColLast)) }
                    }
                }
                tbody {
                    @for hit in hits {
                        @let (local, domain) = hit.address.rsplit_once('@').unwrap_or((&hit.address, ""));
                        tr {
                            th scope="row" { a href=(mailboxes::mailbox_path(domain, local)) { (hit.address) } }
                            td { (ctx.t(match hit.limit_name.as_str() {
                                "messages_per_hour" => T::LimitMessagesPerHour,
                                _ => T::LimitRecipientsPerDay,
                            })) }
                            td { (hit.refused) }
                            td { (utc(hit.first_at)) }
                            td { (utc(hit.last_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// A page of this module's, refused form or not.
fn render(
    ctx: &Ctx,
    title: impl Into<String>,
    here: impl Into<String>,
    rejected: Option<Rejected>,
    body: Markup,
) -> Response {
    let mut view = View::new(title, here, body);
    if let Some(rejected) = rejected {
        view.status = rejected.status;
        view.refused = true;
    }
    layout::render(ctx, view)
}

/// `3 di 50`, or `3` with no limit.
fn mailbox_count(ctx: &Ctx, domain: &Domain) -> String {
    if domain.max_mailboxes > 0 {
        T::CountOf.fill(ctx.lang, &[&domain.mailboxes, &domain.max_mailboxes])
    } else {
        domain.mailboxes.to_string()
    }
}

fn new_domain_form(ctx: &Ctx, rejected: Option<&Rejected>) -> Markup {
    let view = FormView::new(NEW_DOMAIN, rejected);
    html! {
        section aria-labelledby="new-domain-title" {
            h2 #new-domain-title { (ctx.t(T::AddDomainTitle)) }
            form.panel method="post" action="/console/domains" {
                (form::csrf(ctx.csrf()))
                (view.general())
                (Field::new("new-domain-name", "name", ctx.t(T::DomainName))
                    .hint(ctx.t(T::DomainNameHint)).required().from(&view).render())
                (Field::new("new-domain-quota", "quota", ctx.t(T::DomainQuota))
                    .hint(ctx.t(T::DomainQuotaHint)).from(&view).render())
                (Field::new("new-domain-max", "max_mailboxes", ctx.t(T::DomainMaxMailboxes))
                    .hint(ctx.t(T::EmptyNoLimit)).from(&view).render())
                button #new-domain-submit type="submit" { (ctx.t(T::AddDomainSubmit)) }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewDomain {
    name: String,
    quota: String,
    max_mailboxes: String,
}

/// `POST /console/domains`.
pub async fn add(State(state): State<AppState>, submit: Submit<NewDomain>) -> Response {
    let Submit { page, form } = submit;
    page.respond(add_domain(&page, &state, form).await)
}

async fn add_domain(page: &Page, state: &AppState, form: NewDomain) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    let refuse = |rejected: Rejected| {
        rejected
            .keep("name", &form.name)
            .keep("quota", &form.quota)
            .keep("max_mailboxes", &form.max_mailboxes)
    };
    let Some(quota) = form::parse_size(&form.quota) else {
        let rejected = Rejected::new(NEW_DOMAIN, Some("quota"), T::ErrSize.get(lang).into());
        return list_page(page, state, Some(refuse(rejected))).await;
    };
    let Some(max) = form::parse_count(&form.max_mailboxes) else {
        let rejected = Rejected::new(
            NEW_DOMAIN,
            Some("max_mailboxes"),
            T::ErrNumber.get(lang).into(),
        );
        return list_page(page, state, Some(refuse(rejected))).await;
    };
    match page
        .ops(state)
        .add_domain(form.name.trim(), quota, max)
        .await
    {
        Ok(_) => Ok(done("/console/", Flash::DomainAdded)),
        Err(err) => {
            let fields = [("domain", "name"), ("quota_bytes", "quota")];
            let rejected = Rejected::from_error(NEW_DOMAIN, err, lang, &fields, T::ErrConflict)?;
            list_page(page, state, Some(refuse(rejected))).await
        }
    }
}

/// `GET /console/domains/{domain}`.
pub async fn show(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    page: Page,
) -> Response {
    page.respond(domain_page(&page, &state, &domain, None).await)
}

/// A domain's page, with a refused form of one of its sections if any.
pub async fn domain_page(
    page: &Page,
    state: &AppState,
    name: &str,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    page.require_admin()?;
    let ops = page.ops(state);
    let details = ops.domain(name).await?;
    let domain = &details.domain;
    let relays: Vec<_> = ops
        .relay_clients()
        .await?
        .into_iter()
        .filter(|client| client.may_send_from(&domain.name))
        .collect();
    let ctx = &page.ctx;
    let path = domain_path(&domain.name);
    let body = html! {
        p { a href="/console/" { (ctx.t(T::NavDomains)) } }
        dl.summary {
            dt { (ctx.t(T::ColUsage)) }
            dd { (layout::usage(ctx.lang, domain.used_bytes, domain.quota_bytes)) }
            dt { (ctx.t(T::ColMailboxes)) }
            dd { (mailbox_count(ctx, domain)) }
            dt { (ctx.t(T::ColState)) }
            dd { (layout::domain_state(ctx.lang, domain)) }
        }
        p { a href=(format!("{path}/dkim")) { (ctx.t(T::DkimLink)) } }
        (spam_section(ctx, domain, rejected.as_ref()))
        (mailboxes::section(ctx, domain, &details.accounts, rejected.as_ref()))
        (aliases::section(ctx, domain, &details.aliases, rejected.as_ref()))
        (relay::section(ctx, domain, &relays, rejected.as_ref()))
    };
    Ok(render(ctx, domain.name.clone(), path, rejected, body))
}

const EDIT_SPAM: &str = "edit-spam";

/// The domain's spam settings, as a form.
fn spam_section(ctx: &Ctx, domain: &Domain, rejected: Option<&Rejected>) -> Markup {
    let edit = FormView::new(EDIT_SPAM, rejected);
    let filter = match edit.value("filter") {
        Some(value) => value == "1",
        None => domain.spam_filter,
    };
    let profile = domain.spam_profile.as_deref().unwrap_or_default();
    html! {
        section aria-labelledby="spam-title" {
            h2 #spam-title { (ctx.t(T::SpamTitle)) }
            form.panel method="post" action=(format!("{}/spam", domain_path(&domain.name)))
                aria-labelledby="spam-title" {
                (form::csrf(ctx.csrf()))
                (edit.general())
                fieldset {
                    legend { (ctx.t(T::SpamTitle)) }
                    div {
                        input #spam-on type="radio" name="filter" value="1" checked[filter];
                        " "
                        label for="spam-on" { (ctx.t(T::SpamFilterOn)) }
                    }
                    div {
                        input #spam-off type="radio" name="filter" value="0" checked[!filter];
                        " "
                        label for="spam-off" { (ctx.t(T::SpamFilterOff)) }
                    }
                }
                (Field::new("spam-profile", "profile", ctx.t(T::SpamProfile))
                    .value(profile).hint(ctx.t(T::SpamProfileHint)).from(&edit).render())
                button #spam-submit type="submit" { (ctx.t(T::Save)) }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditSpam {
    filter: String,
    profile: String,
}

/// `POST /console/domains/{domain}/spam`.
pub async fn update_spam(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<EditSpam>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(save_spam(&page, &state, &domain, form).await)
}

async fn save_spam(
    page: &Page,
    state: &AppState,
    domain: &str,
    form: EditSpam,
) -> Result<Response, HttpError> {
    page.require_admin()?;
    let change = DomainChange {
        spam_filter: match form.filter.as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        spam_profile: Some(form.profile.trim().to_string()),
        ..DomainChange::default()
    };
    match page.ops(state).update_domain(domain, &change).await {
        Ok(updated) => Ok(done(&domain_path(&updated.name), Flash::SpamUpdated)),
        Err(err) => {
            let lang = page.ctx.lang;
            let fields = [("spam_profile", "profile")];
            let rejected = Rejected::from_error(EDIT_SPAM, err, lang, &fields, T::ErrConflict)?
                .keep("filter", &form.filter)
                .keep("profile", &form.profile);
            refused(page, state, domain, Ok(rejected)).await
        }
    }
}

/// The answer to a domain's form that the ops layer refused: the domain's
/// page with the form again, or the page of a failure.
pub async fn refused(
    page: &Page,
    state: &AppState,
    domain: &str,
    rejected: Result<Rejected, HttpError>,
) -> Result<Response, HttpError> {
    domain_page(page, state, domain, Some(rejected?)).await
}

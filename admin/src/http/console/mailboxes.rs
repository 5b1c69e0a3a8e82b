//! Mailboxes: the table and the new-mailbox form on a domain's page, and a
//! mailbox's own page (`/console/domains/{domain}/mailboxes/{local}`) to
//! change its name, quota and state, see its out-of-office reply and
//! forwarding (set on pages of their own, `generated_sieve`), set its
//! password, or delete it after a confirmation page.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use postino_common::auth::Secret;
use postino_common::store::{Account, Domain};
use serde::Deserialize;

use super::domains::{domain_page, refused};
use super::form::{self, Field, FormView, Rejected};
use super::i18n::T;
use super::layout::{self, View};
use super::{Ctx, Flash, NoFields, Page, Submit, domain_path, done, encode};
use super::{generated_sieve, shares};
use crate::http::AppState;
use crate::http::error::HttpError;
use crate::ops::MailboxChange;
use crate::ops::generated_sieve::Whose;

const NEW_MAILBOX: &str = "new-mailbox";
const EDIT_MAILBOX: &str = "edit-mailbox";
const SET_PASSWORD: &str = "set-password";

/// The path of a mailbox's page.
pub(super) fn mailbox_path(domain: &str, local: &str) -> String {
    format!("{}/mailboxes/{}", domain_path(domain), encode(local))
}

/// The local part of a stored address.
fn local_part(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(local, _)| local)
}

/// The section of a domain's page.
pub fn section(
    ctx: &Ctx,
    domain: &Domain,
    accounts: &[Account],
    rejected: Option<&Rejected>,
) -> Markup {
    html! {
        section aria-labelledby="mailboxes-title" {
            h2 #mailboxes-title { (ctx.t(T::MailboxesTitle)) }
            table #mailboxes aria-labelledby="mailboxes-title" {
                thead {
                    tr {
                        th scope="col" { (ctx.t(T::ColAddress)) }
                        th scope="col" { (ctx.t(T::ColName)) }
                        th scope="col" { (ctx.t(T::ColUsage)) }
                        th scope="col" { (ctx.t(T::ColState)) }
                        th scope="col" { (ctx.t(T::ColActions)) }
                    }
                }
                tbody {
                    @for account in accounts {
                        @let path = mailbox_path(&domain.name, local_part(&account.address));
                        tr {
                            th scope="row" { (account.address) }
                            td { (account.display_name) }
                            td { (layout::usage(ctx.lang, account.used_bytes, account.quota_bytes)) }
                            td { (layout::mailbox_state(ctx.lang, account)) }
                            td {
                                a href=(path) {
                                    (ctx.t(T::Edit)) span.vh { " " (account.address) }
                                }
                                " · "
                                a.danger href=(format!("{path}/delete")) {
                                    (ctx.t(T::Delete)) span.vh { " " (account.address) }
                                }
                            }
                        }
                    }
                    @if accounts.is_empty() {
                        tr { td colspan="5" { (ctx.t(T::MailboxesEmpty)) } }
                    }
                }
            }
            (new_form(ctx, domain, rejected))
        }
    }
}

fn new_form(ctx: &Ctx, domain: &Domain, rejected: Option<&Rejected>) -> Markup {
    let view = FormView::new(NEW_MAILBOX, rejected);
    let suffix = format!("@{}", domain.name);
    html! {
        h3 #new-mailbox-title { (ctx.t(T::NewMailboxTitle)) }
        form.panel method="post" action=(format!("{}/mailboxes", domain_path(&domain.name)))
            aria-labelledby="new-mailbox-title" {
            (form::csrf(ctx.csrf()))
            (view.general())
            (Field::new("new-mailbox-local", "local", ctx.t(T::LocalPart))
                .suffix(&suffix).required().from(&view).render())
            (Field::new("new-mailbox-name", "display_name", ctx.t(T::DisplayName))
                .hint(ctx.t(T::DisplayNameHint)).from(&view).render())
            (Field::new("new-mailbox-password", "password", ctx.t(T::Password))
                .password("new-password").hint(ctx.t(T::MailboxPasswordHint)).from(&view).render())
            (Field::new("new-mailbox-quota", "quota", ctx.t(T::MailboxQuota))
                .hint(ctx.t(T::MailboxQuotaHint)).from(&view).render())
            button #new-mailbox-submit type="submit" { (ctx.t(T::CreateMailbox)) }
        }
    }
}

// No Debug: it holds a password.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct NewMailbox {
    local: String,
    display_name: String,
    password: String,
    quota: String,
}

/// `POST /console/domains/{domain}/mailboxes`.
pub async fn add(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<NewMailbox>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(add_mailbox(&page, &state, &domain, form).await)
}

async fn add_mailbox(
    page: &Page,
    state: &AppState,
    domain: &str,
    form: NewMailbox,
) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    let refuse = |rejected: Rejected| {
        rejected
            .keep("local", &form.local)
            .keep("display_name", &form.display_name)
            .keep("quota", &form.quota)
    };
    let local = form.local.trim();
    if local.is_empty() {
        let rejected = Rejected::new(NEW_MAILBOX, Some("local"), T::ErrRequired.get(lang).into());
        return domain_page(page, state, domain, Some(refuse(rejected))).await;
    }
    let Some(quota) = form::parse_size(&form.quota) else {
        let rejected = Rejected::new(NEW_MAILBOX, Some("quota"), T::ErrSize.get(lang).into());
        return domain_page(page, state, domain, Some(refuse(rejected))).await;
    };
    let password = (!form.password.is_empty()).then(|| Secret::new(form.password.as_str()));
    let address = format!("{local}@{domain}");
    let added = page
        .ops(state)
        .add_mailbox(&address, password.as_ref(), quota, &form.display_name)
        .await;
    match added {
        Ok(account) => {
            let domain = account.address.rsplit_once('@').map_or(domain, |(_, d)| d);
            Ok(done(&domain_path(domain), Flash::MailboxAdded))
        }
        Err(err) => {
            let fields = [
                ("address", "local"),
                ("mailbox", "local"),
                ("display_name", "display_name"),
                ("password", "password"),
                ("quota_bytes", "quota"),
            ];
            let rejected =
                Rejected::from_error(NEW_MAILBOX, err, lang, &fields, T::ErrMailboxLimit);
            refused(page, state, domain, rejected.map(refuse)).await
        }
    }
}

/// `GET /console/domains/{domain}/mailboxes/{local}`.
pub async fn show(
    State(state): State<AppState>,
    Path((domain, local)): Path<(String, String)>,
    page: Page,
) -> Response {
    page.respond(mailbox_page(&page, &state, &domain, &local, None).await)
}

pub(super) async fn mailbox_page(
    page: &Page,
    state: &AppState,
    domain: &str,
    local: &str,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    page.require_admin()?;
    let ops = page.ops(state);
    let account = ops.mailbox(&format!("{local}@{domain}")).await?.account;
    let generated = ops
        .generated_sieve(Whose::Mailbox(&account.address))
        .await?;
    let shared = ops.mailbox_shares(Some(&account.address), None).await?;
    let ctx = &page.ctx;
    let (local, domain) = account.address.rsplit_once('@').unwrap_or((local, domain));
    let path = mailbox_path(domain, local);
    let edit = FormView::new(EDIT_MAILBOX, rejected.as_ref());
    let password = FormView::new(SET_PASSWORD, rejected.as_ref());
    let quota = form::size_input(account.quota_bytes);
    let active = match edit.value("active") {
        Some(value) => value == "1",
        None => account.active,
    };
    let body = html! {
        p { a href=(domain_path(domain)) { (T::BackTo.fill(ctx.lang, &[&domain])) } }
        dl.summary {
            dt { (ctx.t(T::DisplayName)) }
            dd { (account.display_name) }
            dt { (ctx.t(T::ColUsage)) }
            dd { (layout::usage(ctx.lang, account.used_bytes, account.quota_bytes)) }
            dt { (ctx.t(T::ColState)) }
            dd { (layout::mailbox_state(ctx.lang, &account)) }
        }

        h2 #edit-mailbox-title { (ctx.t(T::EditMailboxTitle)) }
        form.panel method="post" action=(path) aria-labelledby="edit-mailbox-title" {
            (form::csrf(ctx.csrf()))
            (edit.general())
            (Field::new("edit-mailbox-name", "display_name", ctx.t(T::DisplayName))
                .value(&account.display_name).from(&edit).render())
            (Field::new("edit-mailbox-quota", "quota", ctx.t(T::MailboxQuota))
                .value(&quota).hint(ctx.t(T::MailboxQuotaHint)).from(&edit).render())
            fieldset {
                legend { (ctx.t(T::MailboxState)) }
                div {
                    input #edit-mailbox-active type="radio" name="active" value="1" checked[active];
                    " "
                    label for="edit-mailbox-active" { (ctx.t(T::MailboxActiveChoice)) }
                }
                div {
                    input #edit-mailbox-disabled type="radio" name="active" value="0" checked[!active];
                    " "
                    label for="edit-mailbox-disabled" { (ctx.t(T::MailboxDisabledChoice)) }
                }
            }
            button #edit-mailbox-submit type="submit" { (ctx.t(T::Save)) }
        }

        (generated_sieve::summary(ctx, &generated, &path))

        (shares::section(ctx, &path, &shared, rejected.as_ref()))

        h2 #set-password-title { (ctx.t(T::SetPasswordTitle)) }
        form.panel method="post" action=(format!("{path}/password")) aria-labelledby="set-password-title" {
            (form::csrf(ctx.csrf()))
            (password.general())
            (Field::new("set-password", "password", ctx.t(T::NewPassword))
                .password("new-password").hint(ctx.t(T::PasswordHint)).required().from(&password).render())
            (Field::new("set-password-repeat", "repeat", ctx.t(T::RepeatPassword))
                .password("new-password").required().from(&password).render())
            button #set-password-submit type="submit" { (ctx.t(T::SetPassword)) }
        }

        h2 { (ctx.t(T::DeleteMailboxTitle)) }
        p { (ctx.t(T::DeleteMailboxIntro)) }
        p {
            a.danger #delete-mailbox href=(format!("{path}/delete")) {
                (T::DeleteMailboxLink.fill(ctx.lang, &[&account.address]))
            }
        }
    };
    let mut view = View::new(account.address.clone(), path, body);
    if let Some(rejected) = &rejected {
        view.status = rejected.status;
        view.refused = true;
    }
    Ok(layout::render(ctx, view))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditMailbox {
    display_name: String,
    quota: String,
    active: String,
}

/// `POST /console/domains/{domain}/mailboxes/{local}`.
pub async fn update(
    State(state): State<AppState>,
    Path((domain, local)): Path<(String, String)>,
    submit: Submit<EditMailbox>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(update_mailbox(&page, &state, &domain, &local, form).await)
}

async fn update_mailbox(
    page: &Page,
    state: &AppState,
    domain: &str,
    local: &str,
    form: EditMailbox,
) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    let refuse = |rejected: Rejected| {
        rejected
            .keep("display_name", &form.display_name)
            .keep("quota", &form.quota)
            .keep("active", &form.active)
    };
    let Some(quota) = form::parse_size(&form.quota) else {
        let rejected = Rejected::new(EDIT_MAILBOX, Some("quota"), T::ErrSize.get(lang).into());
        return mailbox_page(page, state, domain, local, Some(refuse(rejected))).await;
    };
    let change = MailboxChange {
        display_name: Some(form.display_name.clone()),
        quota_bytes: Some(quota),
        active: match form.active.as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        },
        ..MailboxChange::default()
    };
    let address = format!("{local}@{domain}");
    match page.ops(state).update_mailbox(&address, &change).await {
        Ok(account) => Ok(done(&account_path(&account), Flash::MailboxUpdated)),
        Err(err) => {
            let fields = [("display_name", "display_name"), ("quota_bytes", "quota")];
            let rejected = Rejected::from_error(EDIT_MAILBOX, err, lang, &fields, T::ErrConflict)?;
            mailbox_page(page, state, domain, local, Some(refuse(rejected))).await
        }
    }
}

/// The page of a stored mailbox.
fn account_path(account: &Account) -> String {
    match account.address.rsplit_once('@') {
        Some((local, domain)) => mailbox_path(domain, local),
        None => "/console/".to_string(),
    }
}

// No Debug: it holds a password.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct NewPassword {
    password: String,
    repeat: String,
}

/// `POST /console/domains/{domain}/mailboxes/{local}/password`.
pub async fn set_password(
    State(state): State<AppState>,
    Path((domain, local)): Path<(String, String)>,
    submit: Submit<NewPassword>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(set_mailbox_password(&page, &state, &domain, &local, form).await)
}

async fn set_mailbox_password(
    page: &Page,
    state: &AppState,
    domain: &str,
    local: &str,
    form: NewPassword,
) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    if form.password != form.repeat {
        let rejected = Rejected::new(
            SET_PASSWORD,
            Some("repeat"),
            T::ErrPasswordsDiffer.get(lang).into(),
        );
        return mailbox_page(page, state, domain, local, Some(rejected)).await;
    }
    let address = format!("{local}@{domain}");
    let password = Secret::new(form.password);
    match page
        .ops(state)
        .set_mailbox_password(&address, &password)
        .await
    {
        Ok(()) => Ok(done(&mailbox_path(domain, local), Flash::PasswordSet)),
        Err(err) => {
            let fields = [("password", "password")];
            let rejected = Rejected::from_error(SET_PASSWORD, err, lang, &fields, T::ErrConflict)?;
            mailbox_page(page, state, domain, local, Some(rejected)).await
        }
    }
}

/// `GET /console/domains/{domain}/mailboxes/{local}/delete`: what would be
/// lost, and the button that does it.
pub async fn confirm_delete(
    State(state): State<AppState>,
    Path((domain, local)): Path<(String, String)>,
    page: Page,
) -> Response {
    page.respond(confirm_page(&page, &state, &domain, &local).await)
}

async fn confirm_page(
    page: &Page,
    state: &AppState,
    domain: &str,
    local: &str,
) -> Result<Response, HttpError> {
    page.require_admin()?;
    let account = page
        .ops(state)
        .mailbox(&format!("{local}@{domain}"))
        .await?
        .account;
    let ctx = &page.ctx;
    let path = account_path(&account);
    let size = ctx
        .lang
        .size(u64::try_from(account.used_bytes).unwrap_or(0));
    let body = html! {
        p { (T::ConfirmDeleteText.fill(ctx.lang, &[&size])) }
        form method="post" action=(format!("{path}/delete")) {
            (form::csrf(ctx.csrf()))
            button.danger #delete-mailbox-submit type="submit" { (ctx.t(T::ConfirmDeleteSubmit)) }
            " "
            a href=(path) { (ctx.t(T::Cancel)) }
        }
    };
    let title = T::ConfirmDeleteTitle.fill(ctx.lang, &[&account.address]);
    Ok(layout::render(
        ctx,
        View::new(title, format!("{path}/delete"), body),
    ))
}

/// `POST /console/domains/{domain}/mailboxes/{local}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path((domain, local)): Path<(String, String)>,
    submit: Submit<NoFields>,
) -> Response {
    let page = submit.page;
    let address = format!("{local}@{domain}");
    let removed = page.ops(&state).remove_mailbox(&address).await;
    page.respond(match removed {
        Ok(account) => {
            let domain = account
                .address
                .rsplit_once('@')
                .map_or(domain.as_str(), |(_, d)| d);
            Ok(done(&domain_path(domain), Flash::MailboxRemoved))
        }
        Err(err) => Err(err.into()),
    })
}

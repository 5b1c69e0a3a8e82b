//! `/console/account`: a mailbox user's own page — its usage, the form
//! that changes its password (knowing the current one), the settings for
//! mail clients, and an Apple configuration profile with them
//! (`profile`), and its latest logins. Admins have no mailbox, and the
//! ops layer tells them so.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use postino_common::auth::Secret;
use postino_common::store::Account;
use serde::Deserialize;

use super::form::{self, Field, FormView, Rejected};
use super::i18n::T;
use super::layout::{self, View};
use super::{Ctx, Flash, Page, Submit, done, profile};
use crate::http::autoconfig::{ClientSettings, Endpoint, Security};
use crate::http::error::HttpError;
use crate::http::{AppState, login};
use crate::ops::utc;

const CHANGE_PASSWORD: &str = "change-password";
const PATH: &str = "/console/account";
const PROFILE_PATH: &str = "/console/account/postino.mobileconfig";

/// `GET /console/account`.
pub async fn show(State(state): State<AppState>, page: Page) -> Response {
    page.respond(account_page(&page, &state, None).await)
}

async fn account_page(
    page: &Page,
    state: &AppState,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    let ops = page.ops(state);
    let account = ops.own_account().await?;
    let logins = ops.own_logins().await?;
    let ctx = &page.ctx;
    let view = FormView::new(CHANGE_PASSWORD, rejected.as_ref());
    let clients = &state.clients;
    let body = html! {
        dl.summary {
            dt { (ctx.t(T::ColAddress)) }
            dd #account-address { (account.address) }
            dt { (ctx.t(T::DisplayName)) }
            dd { (account.display_name) }
            dt { (ctx.t(T::ColUsage)) }
            dd #account-usage { (layout::usage(ctx.lang, account.used_bytes, account.quota_bytes)) }
        }

        h2 #change-password-title { (ctx.t(T::ChangePasswordTitle)) }
        form.panel method="post" action=(format!("{PATH}/password")) aria-labelledby="change-password-title" {
            (form::csrf(ctx.csrf()))
            (view.general())
            input type="text" name="username" value=(account.address) autocomplete="username" hidden;
            (Field::new("current-password", "current", ctx.t(T::CurrentPassword))
                .password("current-password").required().from(&view).render())
            (Field::new("new-password", "new", ctx.t(T::NewPassword))
                .password("new-password").hint(ctx.t(T::PasswordHint)).required().from(&view).render())
            (Field::new("new-password-repeat", "repeat", ctx.t(T::RepeatPassword))
                .password("new-password").required().from(&view).render())
            button #change-password-submit type="submit" { (ctx.t(T::ChangePasswordSubmit)) }
        }

        h2 #recent-logins-title { (ctx.t(T::RecentLoginsTitle)) }
        p { (ctx.t(T::RecentLoginsIntro)) }
        @if logins.is_empty() {
            p #recent-logins-none { (ctx.t(T::NoLogins)) }
        } @else {
            table #recent-logins aria-labelledby="recent-logins-title" {
                thead { tr {
                    th scope="col" { (ctx.t(T::ColWhen)) }
                    th scope="col" { (ctx.t(T::ColIp)) }
                    th scope="col" { (ctx.t(T::ColProtocol)) }
                } }
                tbody {
                    @for login in &logins {
                        tr { td { (utc(login.at)) } td { (login.ip) } td { (login.protocol) } }
                    }
                }
            }
        }

        h2 #devices-title { (ctx.t(T::DevicesTitle)) }
        p { (ctx.t(T::DevicesIntro)) }
        (settings(ctx, clients, &account))
        @if profile::available(clients) {
            p {
                a #apple-profile href=(PROFILE_PATH) download { (ctx.t(T::AppleProfile)) }
                br;
                span.hint { (ctx.t(T::AppleProfileHint)) }
            }
        }
    };
    let mut view = View::new(ctx.t(T::AccountTitle), PATH, body);
    if let Some(rejected) = &rejected {
        view.status = rejected.status;
        view.refused = true;
    }
    Ok(layout::render(ctx, view))
}

/// Every server a mail client may use, with the user name.
fn settings(ctx: &Ctx, clients: &ClientSettings, account: &Account) -> Markup {
    let rows = clients
        .imap
        .iter()
        .map(|e| (T::Incoming, e))
        .chain(clients.smtp.iter().map(|e| (T::Outgoing, e)));
    html! {
        table #client-settings aria-labelledby="devices-title" {
            thead {
                tr {
                    th scope="col" { (ctx.t(T::ColService)) }
                    th scope="col" { (ctx.t(T::ColServer)) }
                    th scope="col" { (ctx.t(T::ColPort)) }
                    th scope="col" { (ctx.t(T::ColSecurity)) }
                    th scope="col" { (ctx.t(T::ColUsername)) }
                }
            }
            tbody {
                @for (service, endpoint) in rows {
                    tr {
                        th scope="row" { (ctx.t(service)) }
                        td { (clients.hostname) }
                        td { (endpoint.port) }
                        td { (security(endpoint)) }
                        td { (account.address) }
                    }
                }
            }
        }
    }
}

fn security(endpoint: &Endpoint) -> &'static str {
    match endpoint.security {
        Security::Tls => "SSL/TLS",
        Security::StartTls => "STARTTLS",
    }
}

// No Debug: it holds a password.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PasswordChange {
    current: String,
    new: String,
    repeat: String,
}

/// `POST /console/account/password`.
pub async fn change_password(
    State(state): State<AppState>,
    submit: Submit<PasswordChange>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(change_own_password(&page, &state, form).await)
}

async fn change_own_password(
    page: &Page,
    state: &AppState,
    form: PasswordChange,
) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    if form.new != form.repeat {
        let rejected = Rejected::new(
            CHANGE_PASSWORD,
            Some("repeat"),
            T::ErrPasswordsDiffer.get(lang).into(),
        );
        return account_page(page, state, Some(rejected)).await;
    }
    let (current, new) = (Secret::new(form.current), Secret::new(form.new));
    let changed = page
        .ops(state)
        .change_own_password(&current, &new, page.ip)
        .await;
    match changed {
        Ok(()) => {
            // The change ended every session of the mailbox, this one
            // included: open a new one with the new password, so that the
            // user stays logged in here and only other browsers are out.
            let mut response = done(PATH, Flash::PasswordChanged);
            if let Some(address) = page.principal.actor.own_address.as_deref()
                && let Ok(opened) = login::log_in(state, address, &new, page.ip).await
            {
                response.headers_mut().append(
                    header::SET_COOKIE,
                    login::session_cookie(&opened.token, state.secure_cookies),
                );
            }
            Ok(response)
        }
        Err(err) => {
            let fields = [("current_password", "current"), ("new_password", "new")];
            let rejected =
                Rejected::from_error(CHANGE_PASSWORD, err, lang, &fields, T::ErrConflict)?;
            account_page(page, state, Some(rejected)).await
        }
    }
}

/// `GET /console/account/postino.mobileconfig`.
pub async fn profile(State(state): State<AppState>, page: Page) -> Response {
    let result = async {
        let account = page.ops(&state).own_account().await?;
        let text = profile::mobileconfig(&state.clients, &account, page.ctx.lang)
            .ok_or_else(|| HttpError::not_found("no profile without IMAP and SMTP"))?;
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-apple-aspen-config"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"postino.mobileconfig\""),
                ),
            ],
            text,
        )
            .into_response())
    };
    let result = result.await;
    page.respond(result)
}

//! "Caselle condivise" on a mailbox's page: whom the mailbox is shared
//! with, each with its IMAP rights and whether it may send as the mailbox,
//! removable one by one, and the form that shares it with another mailbox
//! of the comune or changes how.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use postino_common::store::Share;
use serde::Deserialize;

use super::form::{self, Field, FormView, Rejected};
use super::i18n::T;
use super::mailboxes::{mailbox_page, mailbox_path};
use super::{Ctx, Flash, Page, Submit, done};
use crate::http::AppState;
use crate::http::error::HttpError;

const NEW_SHARE: &str = "new-share";

/// The section of the mailbox page at `path`.
pub fn section(ctx: &Ctx, path: &str, shares: &[Share], rejected: Option<&Rejected>) -> Markup {
    let view = FormView::new(NEW_SHARE, rejected);
    let rights = view.value("rights").unwrap_or("lrswite");
    html! {
        section aria-labelledby="shares-title" {
            h2 #shares-title { (ctx.t(T::SharesTitle)) }
            p.intro { (ctx.t(T::SharesIntro)) }
            @if shares.is_empty() {
                p { (ctx.t(T::SharesEmpty)) }
            } @else {
                table #shares aria-labelledby="shares-title" {
                    thead {
                        tr {
                            th scope="col" { (ctx.t(T::ColSharedWith)) }
                            th scope="col" { (ctx.t(T::ColRights)) }
                            th scope="col" { (ctx.t(T::ColSendAs)) }
                            th scope="col" { (ctx.t(T::ColActions)) }
                        }
                    }
                    tbody {
                        @for share in shares {
                            tr {
                                th scope="row" { (share.grantee) }
                                td { code { (share.rights) } }
                                td { (ctx.t(if share.send_as { T::Yes } else { T::No })) }
                                td {
                                    form method="post" action=(format!("{path}/shares/remove")) {
                                        (form::csrf(ctx.csrf()))
                                        input type="hidden" name="user" value=(share.grantee);
                                        button.link type="submit" {
                                            (ctx.t(T::Remove))
                                            span.vh { " " (share.grantee) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 #new-share-title { (ctx.t(T::NewShareTitle)) }
            form.panel method="post" action=(format!("{path}/shares")) aria-labelledby="new-share-title" {
                (form::csrf(ctx.csrf()))
                (view.general())
                (Field::new("new-share-user", "user", ctx.t(T::ShareUser))
                    .hint(ctx.t(T::ShareUserHint)).kind("email").required().from(&view).render())
                (Field::new("new-share-rights", "rights", ctx.t(T::ShareRights))
                    .value(rights).hint(ctx.t(T::ShareRightsHint)).required().from(&view).render())
                (form::checkbox("new-share-send-as", "send_as", ctx.t(T::ShareSendAs),
                    view.value("send_as") == Some("1"), &view))
                button #new-share-submit type="submit" { (ctx.t(T::AddShare)) }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewShare {
    user: String,
    rights: String,
    send_as: String,
}

/// `POST /console/domains/{domain}/mailboxes/{local}/shares`.
pub async fn add(
    State(state): State<AppState>,
    Path((domain, local)): Path<(String, String)>,
    submit: Submit<NewShare>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(add_share(&page, &state, &domain, &local, form).await)
}

async fn add_share(
    page: &Page,
    state: &AppState,
    domain: &str,
    local: &str,
    form: NewShare,
) -> Result<Response, HttpError> {
    let address = format!("{local}@{domain}");
    let shared = page
        .ops(state)
        .share_mailbox(
            &address,
            form.user.trim(),
            form.rights.trim(),
            form.send_as == "1",
        )
        .await;
    match shared {
        Ok(_) => Ok(done(&mailbox_path(domain, local), Flash::MailboxShared)),
        Err(err) => {
            let fields = [
                ("user", "user"),
                ("rights", "rights"),
                ("mailbox of the domain", "user"),
            ];
            let rejected =
                Rejected::from_error(NEW_SHARE, err, page.ctx.lang, &fields, T::ErrConflict)?
                    .keep("user", &form.user)
                    .keep("rights", &form.rights)
                    .keep("send_as", &form.send_as);
            mailbox_page(page, state, domain, local, Some(rejected)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemovedShare {
    user: String,
}

/// `POST /console/domains/{domain}/mailboxes/{local}/shares/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Path((domain, local)): Path<(String, String)>,
    submit: Submit<RemovedShare>,
) -> Response {
    let Submit { page, form } = submit;
    let address = format!("{local}@{domain}");
    let removed = page.ops(&state).unshare_mailbox(&address, &form.user).await;
    page.respond(match removed {
        Ok(()) => Ok(done(&mailbox_path(&domain, &local), Flash::MailboxUnshared)),
        Err(err) => Err(err.into()),
    })
}

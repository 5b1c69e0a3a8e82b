//! Relay clients on a domain's page: the agency systems that may send from
//! the domain, the form that adds one sending from it, and their removal;
//! and a client's own page
//! (`/console/domains/{domain}/relay/clients/{name}`) to change its
//! networks, sender domains and rate, or reset its password. Which clients
//! an admin sees and may change is the ops layer's rule (a comune admin:
//! those whose sender domains are all its own); a page shows only a client
//! sending from its domain.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use postino_common::auth::Secret;
use postino_common::store::{Domain, RelayClient};
use serde::Deserialize;

use super::domains::refused;
use super::form::{self, Field, FormView, Rejected};
use super::i18n::T;
use super::layout::{self, View};
use super::{Ctx, Flash, Page, Submit, domain_path, done, encode};
use crate::http::AppState;
use crate::http::error::{Code, HttpError};
use crate::ops::RelayChange;

const NEW_RELAY: &str = "new-relay";
const EDIT_RELAY: &str = "edit-relay";

/// The path of a client's page, under a domain it sends from.
fn client_path(domain: &str, name: &str) -> String {
    format!("{}/relay/clients/{}", domain_path(domain), encode(name))
}

/// The client `name` as the page of `domain` shows it: one the principal
/// may manage, sending from that domain.
async fn client_on_page(
    page: &Page,
    state: &AppState,
    domain: &str,
    name: &str,
) -> Result<RelayClient, HttpError> {
    page.require_admin()?;
    let name = name.trim().to_ascii_lowercase();
    page.ops(state)
        .relay_clients()
        .await?
        .into_iter()
        .find(|c| c.name == name && c.may_send_from(domain))
        .ok_or_else(|| HttpError::not_found(format!("relay client `{name}` does not exist")))
}

/// The section of a domain's page.
pub fn section(
    ctx: &Ctx,
    domain: &Domain,
    clients: &[RelayClient],
    rejected: Option<&Rejected>,
) -> Markup {
    let path = domain_path(&domain.name);
    let view = FormView::new(NEW_RELAY, rejected);
    html! {
        section aria-labelledby="relay-title" {
            h2 #relay-title { (ctx.t(T::RelayTitle)) }
            p.intro { (ctx.t(T::RelayIntro)) }
            @if clients.is_empty() {
                p { (ctx.t(T::RelayEmpty)) }
            } @else {
                table #relay-clients aria-labelledby="relay-title" {
                    thead {
                        tr {
                            th scope="col" { (ctx.t(T::ColName)) }
                            th scope="col" { (ctx.t(T::ColRecognisedBy)) }
                            th scope="col" { (ctx.t(T::ColSenderDomains)) }
                            th scope="col" { (ctx.t(T::ColRate)) }
                            th scope="col" { (ctx.t(T::ColActions)) }
                        }
                    }
                    tbody {
                        @for client in clients {
                            tr {
                                th scope="row" { (client.name) }
                                td {
                                    @if client.password {
                                        (ctx.t(T::ByPassword))
                                    } @else {
                                        (client.networks.join(", "))
                                    }
                                }
                                td { (client.sender_domains.join(", ")) }
                                td {
                                    @if client.rate_per_minute > 0 {
                                        (T::PerMinute.fill(ctx.lang, &[&client.rate_per_minute]))
                                    } @else {
                                        (ctx.t(T::NoLimit))
                                    }
                                }
                                td {
                                    a href=(client_path(&domain.name, &client.name)) {
                                        (ctx.t(T::Edit)) span.vh { " " (client.name) }
                                    }
                                    form method="post" action=(format!("{path}/relay/remove")) {
                                        (form::csrf(ctx.csrf()))
                                        input type="hidden" name="name" value=(client.name);
                                        button.link type="submit" {
                                            (ctx.t(T::Remove)) span.vh { " " (client.name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 #new-relay-title { (ctx.t(T::NewRelayTitle)) }
            form.panel method="post" action=(format!("{path}/relay")) aria-labelledby="new-relay-title" {
                (form::csrf(ctx.csrf()))
                (view.general())
                (Field::new("new-relay-name", "name", ctx.t(T::RelayName))
                    .hint(ctx.t(T::RelayNameHint)).required().from(&view).render())
                (Field::new("new-relay-networks", "networks", ctx.t(T::RelayNetworks))
                    .hint(ctx.t(T::RelayNetworksHint)).multiline().from(&view).render())
                (Field::new("new-relay-password", "password", ctx.t(T::Password))
                    .password("new-password").hint(ctx.t(T::RelayPasswordHint)).from(&view).render())
                (Field::new("new-relay-rate", "rate", ctx.t(T::RelayRate))
                    .hint(ctx.t(T::EmptyNoLimit)).from(&view).render())
                button #new-relay-submit type="submit" { (ctx.t(T::AddRelay)) }
            }
        }
    }
}

// No Debug: it holds a password.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct NewRelay {
    name: String,
    networks: String,
    password: String,
    rate: String,
}

/// `POST /console/domains/{domain}/relay`: a client sending from this
/// domain.
pub async fn add(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<NewRelay>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(add_relay(&page, &state, &domain, form).await)
}

async fn add_relay(
    page: &Page,
    state: &AppState,
    domain: &str,
    form: NewRelay,
) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    let refuse = |rejected: Rejected| {
        rejected
            .keep("name", &form.name)
            .keep("networks", &form.networks)
            .keep("rate", &form.rate)
    };
    let Some(rate) = form::parse_count(&form.rate) else {
        let rejected = Rejected::new(NEW_RELAY, Some("rate"), T::ErrNumber.get(lang).into());
        return refused(page, state, domain, Ok(refuse(rejected))).await;
    };
    let password = (!form.password.is_empty()).then(|| Secret::new(form.password.as_str()));
    let added = page
        .ops(state)
        .add_relay_client(
            &form.name,
            &form::items(&form.networks),
            password.as_ref(),
            &[domain.to_string()],
            rate,
        )
        .await;
    match added {
        Ok(_) => Ok(done(&domain_path(domain), Flash::RelayAdded)),
        Err(err) => {
            let fields = [
                ("name", "name"),
                ("relay client", "name"),
                ("cidr", "networks"),
                ("password", "password"),
            ];
            let rejected = Rejected::from_error(NEW_RELAY, err, lang, &fields, T::ErrConflict);
            refused(page, state, domain, rejected.map(refuse)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemovedRelay {
    name: String,
}

/// `POST /console/domains/{domain}/relay/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<RemovedRelay>,
) -> Response {
    let Submit { page, form } = submit;
    // A client that does not send from this domain is not on this page.
    if let Err(failure) = client_on_page(&page, &state, &domain, &form.name).await {
        return page.respond(Err(failure));
    }
    page.respond(
        match page.ops(&state).remove_relay_client(&form.name).await {
            Ok(_) => Ok(done(&domain_path(&domain), Flash::RelayRemoved)),
            Err(err) => Err(err.into()),
        },
    )
}

/// `GET /console/domains/{domain}/relay/clients/{name}`.
pub async fn show(
    State(state): State<AppState>,
    Path((domain, name)): Path<(String, String)>,
    page: Page,
) -> Response {
    page.respond(client_page(&page, &state, &domain, &name, None).await)
}

async fn client_page(
    page: &Page,
    state: &AppState,
    domain: &str,
    name: &str,
    rejected: Option<Rejected>,
) -> Result<Response, HttpError> {
    let client = client_on_page(page, state, domain, name).await?;
    let ctx = &page.ctx;
    let path = client_path(domain, &client.name);
    let view = FormView::new(EDIT_RELAY, rejected.as_ref());
    let networks = client.networks.join("\n");
    let sender_domains = client.sender_domains.join("\n");
    let rate = match client.rate_per_minute {
        0 => String::new(),
        n => n.to_string(),
    };
    let body = html! {
        p { a href=(domain_path(domain)) { (T::BackTo.fill(ctx.lang, &[&domain])) } }
        h2 #edit-relay-title { (ctx.t(T::EditRelayFormTitle)) }
        form.panel method="post" action=(path) aria-labelledby="edit-relay-title" {
            (form::csrf(ctx.csrf()))
            (view.general())
            @if client.password {
                (Field::new("edit-relay-password", "password", ctx.t(T::NewPassword))
                    .password("new-password").hint(ctx.t(T::RelayNewPasswordHint)).from(&view).render())
                (Field::new("edit-relay-repeat", "repeat", ctx.t(T::RepeatPassword))
                    .password("new-password").from(&view).render())
            } @else {
                (Field::new("edit-relay-networks", "networks", ctx.t(T::RelayNetworks))
                    .value(&networks).hint(ctx.t(T::EditRelayNetworksHint)).multiline()
                    .required().from(&view).render())
            }
            (Field::new("edit-relay-domains", "sender_domains", ctx.t(T::RelaySenderDomains))
                .value(&sender_domains).hint(ctx.t(T::RelaySenderDomainsHint)).multiline()
                .required().from(&view).render())
            (Field::new("edit-relay-rate", "rate", ctx.t(T::RelayRate))
                .value(&rate).hint(ctx.t(T::EmptyNoLimit)).from(&view).render())
            button #edit-relay-submit type="submit" { (ctx.t(T::Save)) }
        }
    };
    let title = T::EditRelayTitle.fill(ctx.lang, &[&client.name]);
    let mut view = View::new(title, path, body);
    if let Some(rejected) = &rejected {
        view.status = rejected.status;
        view.refused = true;
    }
    Ok(layout::render(ctx, view))
}

// No Debug: it holds a password.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct EditRelay {
    networks: Option<String>,
    password: String,
    repeat: String,
    sender_domains: String,
    rate: String,
}

/// `POST /console/domains/{domain}/relay/clients/{name}`.
pub async fn update(
    State(state): State<AppState>,
    Path((domain, name)): Path<(String, String)>,
    submit: Submit<EditRelay>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(update_relay(&page, &state, &domain, &name, form).await)
}

async fn update_relay(
    page: &Page,
    state: &AppState,
    domain: &str,
    name: &str,
    form: EditRelay,
) -> Result<Response, HttpError> {
    let lang = page.ctx.lang;
    let client = client_on_page(page, state, domain, name).await?;
    let refuse = |rejected: Rejected| {
        rejected
            .keep("networks", form.networks.as_deref().unwrap_or_default())
            .keep("sender_domains", &form.sender_domains)
            .keep("rate", &form.rate)
    };
    let Some(rate) = form::parse_count(&form.rate) else {
        let rejected = Rejected::new(EDIT_RELAY, Some("rate"), T::ErrNumber.get(lang).into());
        return client_page(page, state, domain, name, Some(refuse(rejected))).await;
    };
    if form.password != form.repeat {
        let rejected = Rejected::new(
            EDIT_RELAY,
            Some("repeat"),
            T::ErrPasswordsDiffer.get(lang).into(),
        );
        return client_page(page, state, domain, name, Some(refuse(rejected))).await;
    }
    let change = RelayChange {
        // A form without the input (a password client's) leaves them be.
        networks: form.networks.as_deref().map(form::items),
        password: (!form.password.is_empty()).then(|| Secret::new(form.password.as_str())),
        sender_domains: Some(form::items(&form.sender_domains)),
        rate_per_minute: Some(rate),
    };
    let updated = page
        .ops(state)
        .update_relay_client(&client.name, &change)
        .await;
    let err = match updated {
        Ok(client) => {
            // Back to this domain's page if the client still sends from
            // it, else to the page of one it does.
            let back = if client.may_send_from(domain) {
                domain
            } else {
                client.sender_domains.first().map_or(domain, String::as_str)
            };
            return Ok(done(&domain_path(back), Flash::RelayUpdated));
        }
        Err(err) => HttpError::from(err),
    };
    let rejected = match (err.code(), err.subject()) {
        (Code::NotFound, Some(("domain", missing))) => {
            // A sender domain not hosted, or not the admin's: the same
            // words for both, so that neither tells the other apart.
            let message = T::ErrSenderDomainMissing.fill(lang, &[&missing]);
            Rejected::new(EDIT_RELAY, Some("sender_domains"), message)
        }
        _ => {
            let fields = [
                ("cidr", "networks"),
                ("password", "password"),
                ("sender-domain", "sender_domains"),
                ("domain", "sender_domains"),
            ];
            Rejected::from_error(EDIT_RELAY, err, lang, &fields, T::ErrConflict)?
        }
    };
    client_page(page, state, domain, name, Some(refuse(rejected))).await
}

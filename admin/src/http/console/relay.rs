//! Relay clients on a domain's page: the agency systems that may send from
//! the domain, the form that adds one sending from it, and their removal.
//! Which clients an admin sees and may remove is the ops layer's rule (a
//! comune admin: those whose sender domains are all its own).

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use postino_common::auth::Secret;
use postino_common::store::{Domain, RelayClient};
use serde::Deserialize;

use super::domains::refused;
use super::form::{self, Field, FormView, Rejected};
use super::i18n::T;
use super::{Ctx, Failure, Flash, Page, Submit, domain_path, done};
use crate::http::AppState;

const NEW_RELAY: &str = "new-relay";

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

#[derive(Debug, Default, Deserialize)]
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
) -> Result<Response, Failure> {
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
            let rejected = Rejected::from_ops(NEW_RELAY, err, lang, &fields, T::ErrConflict);
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
    let ops = page.ops(&state);
    // A client that does not send from this domain is not on this page.
    let on_page = match ops.relay_clients().await {
        Ok(clients) => clients
            .iter()
            .any(|c| c.name == form.name.trim().to_ascii_lowercase() && c.may_send_from(&domain)),
        Err(err) => return page.respond(Err(err.into())),
    };
    if !on_page {
        return page.respond(Err(Failure::NotFound));
    }
    page.respond(match ops.remove_relay_client(&form.name).await {
        Ok(_) => Ok(done(&domain_path(&domain), Flash::RelayRemoved)),
        Err(err) => Err(err.into()),
    })
}

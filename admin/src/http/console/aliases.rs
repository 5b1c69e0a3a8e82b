//! Aliases on a domain's page: one row per target, each removable on its
//! own (the alias goes with its last target), and the form that adds an
//! alias or more targets to one.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use postino_common::store::{Alias, Domain};
use serde::Deserialize;

use super::domains::refused;
use super::form::{self, Field, FormView, Rejected};
use super::i18n::T;
use super::{Ctx, Flash, Page, Submit, domain_path, done};
use crate::http::AppState;
use crate::http::error::HttpError;

const NEW_ALIAS: &str = "new-alias";

/// The section of a domain's page.
pub fn section(
    ctx: &Ctx,
    domain: &Domain,
    aliases: &[Alias],
    rejected: Option<&Rejected>,
) -> Markup {
    let path = domain_path(&domain.name);
    let view = FormView::new(NEW_ALIAS, rejected);
    let suffix = format!("@{}", domain.name);
    html! {
        section aria-labelledby="aliases-title" {
            h2 #aliases-title { (ctx.t(T::AliasesTitle)) }
            p.intro { (ctx.t(T::AliasesIntro)) }
            @if aliases.is_empty() {
                p { (ctx.t(T::AliasesEmpty)) }
            } @else {
                table #aliases aria-labelledby="aliases-title" {
                    thead {
                        tr {
                            th scope="col" { (ctx.t(T::ColAlias)) }
                            th scope="col" { (ctx.t(T::ColTarget)) }
                            th scope="col" { (ctx.t(T::ColActions)) }
                        }
                    }
                    tbody {
                        @for alias in aliases {
                            tr {
                                th scope="row" { (alias.source) }
                                td { (alias.target) }
                                td {
                                    form method="post" action=(format!("{path}/aliases/remove")) {
                                        (form::csrf(ctx.csrf()))
                                        input type="hidden" name="source" value=(alias.source);
                                        input type="hidden" name="target" value=(alias.target);
                                        button.link type="submit" {
                                            (ctx.t(T::Remove))
                                            span.vh { " " (alias.source) " → " (alias.target) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 #new-alias-title { (ctx.t(T::NewAliasTitle)) }
            form.panel method="post" action=(format!("{path}/aliases")) aria-labelledby="new-alias-title" {
                (form::csrf(ctx.csrf()))
                (view.general())
                (Field::new("new-alias-source", "source", ctx.t(T::AliasSource))
                    .hint(T::AliasSourceHint.fill(ctx.lang, &[&domain.name]))
                    .suffix(&suffix).required().from(&view).render())
                (Field::new("new-alias-targets", "targets", ctx.t(T::AliasTargets))
                    .hint(ctx.t(T::AliasTargetsHint)).multiline().required().from(&view).render())
                button #new-alias-submit type="submit" { (ctx.t(T::AddAlias)) }
            }
        }
    }
}

/// An alias's source as typed on `domain`'s page: its local part (or the
/// whole address), or `*` for the catch-all. Anything else that has an
/// `@` is left for the ops layer to refuse, as aliases of a domain are
/// made on its own page.
fn source(typed: &str, domain: &str) -> String {
    let typed = typed.trim();
    let suffix = format!("@{domain}");
    let local = match typed.len().checked_sub(suffix.len()) {
        Some(at) if typed.is_char_boundary(at) && typed[at..].eq_ignore_ascii_case(&suffix) => {
            &typed[..at]
        }
        _ => typed,
    };
    match local {
        "*" | "" => suffix,
        local => format!("{local}{suffix}"),
    }
}

/// Targets as typed: addresses, a bare name being of `domain`.
fn targets(typed: &str, domain: &str) -> Vec<String> {
    form::items(typed)
        .into_iter()
        .map(|target| {
            if target.contains('@') {
                target
            } else {
                format!("{target}@{domain}")
            }
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewAlias {
    source: String,
    targets: String,
}

/// `POST /console/domains/{domain}/aliases`.
pub async fn add(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<NewAlias>,
) -> Response {
    let Submit { page, form } = submit;
    page.respond(add_alias(&page, &state, &domain, form).await)
}

async fn add_alias(
    page: &Page,
    state: &AppState,
    domain: &str,
    form: NewAlias,
) -> Result<Response, HttpError> {
    let refuse = |rejected: Rejected| {
        rejected
            .keep("source", &form.source)
            .keep("targets", &form.targets)
    };
    if form.source.trim().is_empty() {
        let message = T::ErrRequired.get(page.ctx.lang).into();
        let rejected = Rejected::new(NEW_ALIAS, Some("source"), message);
        return refused(page, state, domain, Ok(refuse(rejected))).await;
    }
    let added = page
        .ops(state)
        .add_alias(
            &source(&form.source, domain),
            &targets(&form.targets, domain),
        )
        .await;
    match added {
        Ok(_) => Ok(done(&domain_path(domain), Flash::AliasAdded)),
        Err(err) => {
            let fields = [
                ("alias", "source"),
                ("mailbox", "source"),
                ("target", "targets"),
                ("mailbox or alias", "targets"),
            ];
            let rejected =
                Rejected::from_error(NEW_ALIAS, err, page.ctx.lang, &fields, T::ErrConflict);
            refused(page, state, domain, rejected.map(refuse)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemovedAlias {
    source: String,
    target: String,
}

/// `POST /console/domains/{domain}/aliases/remove`: one target of an
/// alias.
pub async fn remove(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    submit: Submit<RemovedAlias>,
) -> Response {
    let Submit { page, form } = submit;
    // An alias of another domain is not on this page, even one the admin
    // manages too.
    let on_page = form
        .source
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&domain));
    if !on_page {
        return page.respond(Err(HttpError::not_found("no such alias on this page")));
    }
    let removed = page
        .ops(&state)
        .remove_alias(&form.source, std::slice::from_ref(&form.target))
        .await;
    page.respond(match removed {
        Ok(_) => Ok(done(&domain_path(&domain), Flash::AliasRemoved)),
        Err(err) => Err(err.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_targets_default_to_the_domain() {
        let domain = "comune.esempio.it";
        assert_eq!(
            source(" protocollo ", domain),
            "protocollo@comune.esempio.it"
        );
        assert_eq!(source("*", domain), "@comune.esempio.it");
        assert_eq!(
            source("Anna@Comune.Esempio.it", domain),
            "Anna@comune.esempio.it"
        );
        assert_eq!(source("@comune.esempio.it", domain), "@comune.esempio.it");
        assert_eq!(source("a@altro.it", domain), "a@altro.it@comune.esempio.it");
        assert_eq!(
            targets("anna, bruno@altro.it\nc", domain),
            [
                "anna@comune.esempio.it",
                "bruno@altro.it",
                "c@comune.esempio.it"
            ]
        );
    }
}

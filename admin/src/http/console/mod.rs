//! The web console under `/console`: server-rendered HTML, no JavaScript,
//! Italian by default and English on request (`i18n`). Its pages are thin
//! adapters over the ops layer acting as the logged-in principal, as the
//! CLI and the API are: what may be done, and why not, is decided there.
//!
//! Every page but the login form needs a session ([`Page`]). Every form
//! that changes something is a POST carrying the session's CSRF token in a
//! hidden `csrf` field, checked before anything else ([`Submit`]). A change
//! that went through answers `303 See Other` to the page it was made on,
//! with a fixed confirmation named in the query ([`Flash`]); one that was
//! refused shows its form again with the reason next to the field
//! (`form`). Refusals that are not about a field get a page of their own:
//! 404 for what the principal cannot see, 403 for what it may not do.
//! Either way the refusal is classified once, as for the API
//! (`http::error`); the console only words it for people.

mod account;
mod aliases;
mod audit;
mod dkim;
mod domains;
mod form;
mod generated_sieve;
mod i18n;
mod layout;
mod login;
mod mailboxes;
mod profile;
mod relay;
mod shares;

use std::net::IpAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use postino_common::store::AdminScope;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use self::i18n::{Lang, T};
use super::AppState;
use super::error::HttpError;
use super::principal::{self, Kind, Principal};
use crate::ops::Ops;

/// The largest form body read, in bytes; the longest form, a list of
/// alias targets, fits many times over.
const MAX_FORM: usize = 64 * 1024;

/// What every console response carries: no scripts, styles and forms from
/// this site only, never framed, never cached (pages hold CSRF tokens).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, and `/` leading to them.
pub fn router() -> Router<AppState> {
    let domain = "/console/domains/{domain}";
    let mailbox = "/console/domains/{domain}/mailboxes/{local}";
    Router::new()
        .route("/", get(to_console))
        .route("/console", get(to_console))
        .route("/console/", get(domains::list))
        .route("/console/style.css", get(layout::style))
        .route("/console/lang", get(i18n::switch))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::log_out))
        .route("/console/domains", post(domains::add))
        .route(domain, get(domains::show))
        .route(&format!("{domain}/mailboxes"), post(mailboxes::add))
        .route(mailbox, get(mailboxes::show).post(mailboxes::update))
        .route(
            &format!("{mailbox}/password"),
            post(mailboxes::set_password),
        )
        .route(
            &format!("{mailbox}/vacation"),
            get(generated_sieve::mailbox_vacation).post(generated_sieve::save_mailbox_vacation),
        )
        .route(
            &format!("{mailbox}/forwarding"),
            get(generated_sieve::mailbox_forwarding).post(generated_sieve::save_mailbox_forwarding),
        )
        .route(&format!("{mailbox}/shares"), post(shares::add))
        .route(&format!("{mailbox}/shares/remove"), post(shares::remove))
        .route(
            &format!("{mailbox}/delete"),
            get(mailboxes::confirm_delete).post(mailboxes::delete),
        )
        .route(&format!("{domain}/aliases"), post(aliases::add))
        .route(&format!("{domain}/aliases/remove"), post(aliases::remove))
        .route(&format!("{domain}/relay"), post(relay::add))
        .route(&format!("{domain}/relay/remove"), post(relay::remove))
        .route(
            &format!("{domain}/relay/clients/{{name}}"),
            get(relay::show).post(relay::update),
        )
        .route(&format!("{domain}/spam"), post(domains::update_spam))
        .route(&format!("{domain}/dkim"), get(dkim::show))
        .route(&format!("{domain}/dkim/generate"), post(dkim::generate))
        .route(&format!("{domain}/dkim/rotate"), post(dkim::rotate))
        .route("/console/audit", get(audit::show))
        .route("/console/audit.csv", get(audit::csv))
        .route("/console/audit.json", get(audit::json))
        .route("/console/audit/export.csv", get(audit::export_csv))
        .route("/console/audit/export.json", get(audit::export_json))
        .route("/console/account", get(account::show))
        .route("/console/account/password", post(account::change_password))
        .route(
            "/console/account/vacation",
            get(generated_sieve::own_vacation).post(generated_sieve::save_own_vacation),
        )
        .route(
            "/console/account/forwarding",
            get(generated_sieve::own_forwarding).post(generated_sieve::save_own_forwarding),
        )
        .route(
            "/console/account/postino.mobileconfig",
            get(account::profile),
        )
        .route("/console/{*rest}", get(not_found))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .layer(middleware::map_response(protect))
}

async fn to_console() -> Response {
    see_other("/console/")
}

async fn not_found(page: Page) -> Response {
    page.respond(Err(HttpError::not_found("no such page")))
}

async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Who is looking at a page, in which language, and where.
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<User>,
    pub flash: Option<Flash>,
    /// The request's path and query, without the flash: where the language
    /// switch of a failure's page comes back to (the start page, after a
    /// form).
    pub here: String,
}

/// The logged-in principal, as the page frame shows it.
pub struct User {
    pub name: String,
    pub kind: Kind,
    /// A provincial admin, who manages every domain.
    pub provincial: bool,
    /// The session's CSRF token, for the hidden field of every form; empty
    /// for an API token, which needs none.
    pub csrf: String,
}

impl Ctx {
    fn new(parts: &Parts, principal: Option<&Principal>) -> Ctx {
        let query = parts.uri.query().unwrap_or("");
        let flash = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("ok="))
            .and_then(Flash::from_key);
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("ok="))
            .collect();
        let path = parts.uri.path();
        let here = if !parts.method.is_safe() && path != "/console/login" {
            // A form's action has no page to come back to.
            "/console/".to_string()
        } else if kept.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", kept.join("&"))
        };
        Ctx {
            lang: Lang::of(&parts.headers),
            user: principal.map(|p| User {
                name: p.actor.name.clone(),
                kind: p.kind,
                provincial: p.actor.scope == AdminScope::AllDomains,
                csrf: p.csrf.clone().unwrap_or_default(),
            }),
            flash,
            here,
        }
    }

    /// A text in the page's language.
    pub fn t(&self, key: T) -> &'static str {
        key.get(self.lang)
    }

    /// The session's CSRF token, as every form's hidden field.
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.csrf.as_str())
    }
}

/// A page for a logged-in principal; anyone else is sent to the login
/// form, which comes back here afterwards.
pub struct Page {
    pub ctx: Ctx,
    pub principal: Principal,
    /// Where the request comes from, for checks that count as logins.
    pub ip: IpAddr,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Page, Response> {
        match principal::authenticate(state, parts).await {
            Ok(Some(principal)) => Ok(Page {
                ctx: Ctx::new(parts, Some(&principal)),
                principal,
                ip: principal::client_ip(parts),
            }),
            Ok(None) => {
                let ctx = Ctx::new(parts, None);
                let next = if parts.method.is_safe() {
                    format!("?next={}", encode(&ctx.here))
                } else {
                    String::new()
                };
                Err(see_other(&format!("/console/login{next}")))
            }
            Err(err) => Err(layout::failure(&Ctx::new(parts, None), err.into())),
        }
    }
}

impl Page {
    /// The management operations, acting as the principal.
    pub fn ops(&self, state: &AppState) -> Ops {
        self.principal.ops(state)
    }

    /// The answer of a handler: its response, or the page of its failure.
    pub fn respond(&self, result: Result<Response, HttpError>) -> Response {
        result.unwrap_or_else(|failure| layout::failure(&self.ctx, failure))
    }

    /// Fails unless the principal is an admin: mailbox users have their
    /// own account page only.
    pub fn require_admin(&self) -> Result<(), HttpError> {
        match self.principal.kind {
            Kind::Admin => Ok(()),
            Kind::MailboxUser => Err(HttpError::forbidden(
                "this needs an admin; a mailbox user has its account page only",
            )),
        }
    }
}

/// A posted form of fields `T`, from a logged-in principal, whose `csrf`
/// field holds the session's token. Every field of `T` should default, so
/// that a form missing its token is refused as such whatever else it lacks.
pub struct Submit<T> {
    pub page: Page,
    pub form: T,
}

#[derive(Deserialize)]
struct Posted<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Submit<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Submit<T>, Response> {
        let (mut parts, body) = request.into_parts();
        let page = Page::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Form(posted) = Form::<Posted<T>>::from_request(request, state)
            .await
            .map_err(|_| layout::failure(&page.ctx, HttpError::bad_request("malformed form")))?;
        if !page.principal.allows_change(Some(&posted.csrf)) {
            tracing::warn!(
                actor = page.principal.actor.name,
                origin = page.principal.actor.origin,
                "console form refused: missing or wrong CSRF token"
            );
            return Err(layout::failure(&page.ctx, HttpError::csrf()));
        }
        Ok(Submit {
            page,
            form: posted.form,
        })
    }
}

/// A form with no fields but its token, such as a confirmation.
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// The confirmations shown after a change: a fixed text each, named by a
/// key in the query, so that a link cannot make the console say anything
/// else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    LoggedOut,
    DomainAdded,
    MailboxAdded,
    MailboxUpdated,
    SpamUpdated,
    MailboxRemoved,
    PasswordSet,
    AliasAdded,
    AliasRemoved,
    RelayAdded,
    RelayUpdated,
    RelayRemoved,
    DkimGenerated,
    DkimRotated,
    PasswordChanged,
    VacationSaved,
    ForwardingSaved,
    MailboxShared,
    MailboxUnshared,
}

impl Flash {
    const ALL: [Flash; 19] = [
        Flash::LoggedOut,
        Flash::DomainAdded,
        Flash::MailboxAdded,
        Flash::MailboxUpdated,
        Flash::SpamUpdated,
        Flash::MailboxRemoved,
        Flash::PasswordSet,
        Flash::AliasAdded,
        Flash::AliasRemoved,
        Flash::RelayAdded,
        Flash::RelayUpdated,
        Flash::RelayRemoved,
        Flash::DkimGenerated,
        Flash::DkimRotated,
        Flash::PasswordChanged,
        Flash::VacationSaved,
        Flash::ForwardingSaved,
        Flash::MailboxShared,
        Flash::MailboxUnshared,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Flash::LoggedOut => "logged-out",
            Flash::DomainAdded => "domain-added",
            Flash::MailboxAdded => "mailbox-added",
            Flash::MailboxUpdated => "mailbox-updated",
            Flash::SpamUpdated => "spam-updated",
            Flash::MailboxRemoved => "mailbox-removed",
            Flash::PasswordSet => "password-set",
            Flash::AliasAdded => "alias-added",
            Flash::AliasRemoved => "alias-removed",
            Flash::RelayAdded => "relay-added",
            Flash::RelayUpdated => "relay-updated",
            Flash::RelayRemoved => "relay-removed",
            Flash::DkimGenerated => "dkim-generated",
            Flash::DkimRotated => "dkim-rotated",
            Flash::PasswordChanged => "password-changed",
            Flash::VacationSaved => "vacation-saved",
            Flash::ForwardingSaved => "forwarding-saved",
            Flash::MailboxShared => "mailbox-shared",
            Flash::MailboxUnshared => "mailbox-unshared",
        }
    }

    pub fn text(self) -> T {
        match self {
            Flash::LoggedOut => T::FlashLoggedOut,
            Flash::DomainAdded => T::FlashDomainAdded,
            Flash::MailboxAdded => T::FlashMailboxAdded,
            Flash::MailboxUpdated => T::FlashMailboxUpdated,
            Flash::SpamUpdated => T::FlashSpamUpdated,
            Flash::MailboxRemoved => T::FlashMailboxRemoved,
            Flash::PasswordSet => T::FlashPasswordSet,
            Flash::AliasAdded => T::FlashAliasAdded,
            Flash::AliasRemoved => T::FlashAliasRemoved,
            Flash::RelayAdded => T::FlashRelayAdded,
            Flash::RelayUpdated => T::FlashRelayUpdated,
            Flash::RelayRemoved => T::FlashRelayRemoved,
            Flash::DkimGenerated => T::FlashDkimGenerated,
            Flash::DkimRotated => T::FlashDkimRotated,
            Flash::PasswordChanged => T::FlashPasswordChanged,
            Flash::VacationSaved => T::FlashVacationSaved,
            Flash::ForwardingSaved => T::FlashForwardingSaved,
            Flash::MailboxShared => T::FlashMailboxShared,
            Flash::MailboxUnshared => T::FlashMailboxUnshared,
        }
    }

    fn from_key(key: &str) -> Option<Flash> {
        Flash::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// `303 See Other` to `path` with a confirmation.
pub fn done(path: &str, flash: Flash) -> Response {
    see_other(&format!("{path}?ok={}", flash.key()))
}

/// `303 See Other` to a path of this site. Paths are built from fixed text
/// and [`encode`]d parts, so they are always valid header values; the
/// console's start page stands in for any that is not.
pub fn see_other(path: &str) -> Response {
    let location =
        HeaderValue::from_str(path).unwrap_or_else(|_| HeaderValue::from_static("/console/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// `text` percent-encoded for a path segment or a query value: everything
/// but unreserved characters (RFC 3986 §2.3), as UTF-8 bytes.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Where a principal lands after logging in.
pub fn home(kind: Kind) -> &'static str {
    match kind {
        Kind::Admin => "/console/",
        Kind::MailboxUser => "/console/account",
    }
}

/// `next` if it is a page of the console, for coming back after the login
/// or a change of language; never another site (`//host`), never text that
/// could not be a header value.
pub fn console_target(next: &str) -> Option<&str> {
    let inside = next == "/console" || next.starts_with("/console/");
    let clean = next.bytes().all(|b| b.is_ascii_graphic()) && !next.contains(['\\']);
    (inside && clean && !next.contains("//")).then_some(next)
}

/// The path of a domain's page.
pub fn domain_path(domain: &str) -> String {
    format!("/console/domains/{}", encode(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_do_not_conflict() {
        // Conflicting routes panic as the router is built.
        let _ = router();
    }

    #[test]
    fn encodes_everything_but_unreserved_characters() {
        assert_eq!(encode("comune.esempio.it"), "comune.esempio.it");
        assert_eq!(encode("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(encode("niccolò"), "niccol%C3%B2");
        assert_eq!(
            encode("/console/audit?x=1&y"),
            "%2Fconsole%2Faudit%3Fx%3D1%26y"
        );
    }

    #[test]
    fn only_console_pages_are_targets() {
        for good in ["/console", "/console/", "/console/domains/a.it?x=1"] {
            assert_eq!(console_target(good), Some(good));
        }
        for bad in [
            "",
            "/",
            "https://evil.example/console/",
            "//evil.example/console/",
            "/console//evil.example",
            "/consoles",
            "/console/\r\nSet-Cookie: x",
            "/console/a b",
            "/console/\\evil",
        ] {
            assert_eq!(console_target(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn flashes_are_found_by_their_keys_only() {
        for flash in Flash::ALL {
            assert_eq!(Flash::from_key(flash.key()), Some(flash));
        }
        assert_eq!(Flash::from_key("<script>"), None);
        assert_eq!(Flash::from_key(""), None);
    }
}

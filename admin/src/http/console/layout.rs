//! The frame every console page shares — language, skip link, navigation,
//! the session, the confirmation of the last change — its stylesheet, the
//! pages of failures, and the small pieces several pages show (usage).
//!
//! The stylesheet keeps text at 4.5:1 contrast or more (WCAG 2.2 1.4.3),
//! draws a visible focus ring on everything focusable (2.4.7) and lays out
//! in one column on narrow screens.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use postino_common::store::{Account, Domain};

use super::i18n::{Lang, T};
use super::{Ctx, encode};
use crate::http::error::{Code, HttpError};
use crate::http::principal::Kind;

/// What one page puts in the frame.
pub struct View {
    /// The page's `<h1>`, and its `<title>` before the site's name.
    pub title: String,
    /// The page's own path (and query), for the language switch to come
    /// back to: a refused form is shown at the path it was posted to,
    /// which has no page of its own.
    pub here: String,
    pub status: StatusCode,
    /// Whether the page shows a refused form, which its title then says.
    pub refused: bool,
    pub body: Markup,
}

impl View {
    pub fn new(title: impl Into<String>, here: impl Into<String>, body: Markup) -> View {
        View {
            title: title.into(),
            here: here.into(),
            status: StatusCode::OK,
            refused: false,
            body,
        }
    }
}

/// A whole page, as the response.
pub fn render(ctx: &Ctx, view: View) -> Response {
    let title = if view.refused {
        T::ErrorTitle.fill(ctx.lang, &[&view.title])
    } else {
        view.title.clone()
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Postino" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                a.skip href="#main" { (ctx.t(T::SkipLink)) }
                header.top {
                    p.brand { a href="/console/" { "Postino" } }
                    (navigation(ctx, &view.here))
                    (languages(ctx, &view.here))
                }
                main #main tabindex="-1" {
                    h1 { (view.title) }
                    @if let Some(flash) = ctx.flash {
                        p #flash .flash role="status" { (ctx.t(flash.text())) }
                    }
                    (view.body)
                }
            }
        }
    };
    (view.status, Html(markup.into_string())).into_response()
}

fn navigation(ctx: &Ctx, here: &str) -> Markup {
    let Some(user) = &ctx.user else {
        return html! {};
    };
    let links: &[(&str, T)] = match user.kind {
        Kind::Admin => &[
            ("/console/", T::NavDomains),
            ("/console/audit", T::NavAudit),
        ],
        Kind::MailboxUser => &[
            ("/console/account", T::NavAccount),
            ("/console/account/vacation", T::NavVacation),
            ("/console/account/forwarding", T::NavForwarding),
        ],
    };
    let current = |path: &str| match path {
        "/console/" => here == "/console/" || here.starts_with("/console/domains"),
        // Not on the pages under it that have links of their own.
        "/console/account" => {
            !links.iter().any(|&(p, _)| p != path && here.starts_with(p)) && here.starts_with(path)
        }
        _ => here.starts_with(path),
    };
    html! {
        nav.main aria-label=(ctx.t(T::MainNav)) {
            ul {
                @for &(path, text) in links {
                    li {
                        a href=(path) aria-current=[current(path).then_some("page")] {
                            (ctx.t(text))
                        }
                    }
                }
            }
        }
        div.session {
            span { (T::LoggedInAs.fill(ctx.lang, &[&user.name])) }
            form method="post" action="/console/logout" {
                input type="hidden" name="csrf" value=(user.csrf);
                button.link type="submit" #logout { (ctx.t(T::LogOut)) }
            }
        }
    }
}

/// Links to the page in the other languages, each named in its own.
fn languages(ctx: &Ctx, here: &str) -> Markup {
    html! {
        nav.languages aria-label=(ctx.t(T::LanguageNav)) {
            ul {
                @for lang in Lang::ALL {
                    li {
                        @if lang == ctx.lang {
                            span lang=(lang.code()) aria-current="true" { (lang.name()) }
                        } @else {
                            a lang=(lang.code()) hreflang=(lang.code())
                                href=(format!("/console/lang?set={}&next={}", lang.code(), encode(here))) {
                                (lang.name())
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The page of a refusal or failure that is not a form's to show: fixed
/// words for its kind, with its status. An internal error was logged as
/// it was classified; the page says no more than that something went
/// wrong.
pub fn failure(ctx: &Ctx, failure: HttpError) -> Response {
    let (title, text) = match failure.code() {
        Code::NotFound => (T::NotFoundTitle, T::NotFoundText),
        Code::Forbidden | Code::Unauthenticated | Code::InvalidCredentials => {
            (T::ForbiddenTitle, T::ForbiddenText)
        }
        Code::Csrf => (T::CsrfTitle, T::CsrfText),
        Code::Internal => (T::InternalTitle, T::InternalText),
        Code::BadRequest
        | Code::Invalid
        | Code::AlreadyExists
        | Code::Conflict
        | Code::Throttled => (T::BadRequestTitle, T::BadRequestText),
    };
    let home = ctx
        .user
        .as_ref()
        .map_or("/console/login", |u| super::home(u.kind));
    let body = html! {
        p { (ctx.t(text)) }
        p { a href=(home) { (ctx.t(T::BackHome)) } }
    };
    let mut view = View::new(ctx.t(title), ctx.here.clone(), body);
    view.status = failure.status();
    render(ctx, view)
}

/// Used against a quota: a bar and the same in words, `1,2 GB di 10 GB`.
/// The bar is only a picture of the words, so it is hidden from assistive
/// technology, which reads the words.
pub fn usage(lang: Lang, used: i64, quota: i64) -> Markup {
    let used = u64::try_from(used).unwrap_or(0);
    let quota = u64::try_from(quota).unwrap_or(0);
    let text = if quota == 0 {
        T::UsageNoLimit.fill(lang, &[&lang.size(used)])
    } else {
        T::UsageOf.fill(lang, &[&lang.size(used), &lang.size(quota)])
    };
    html! {
        span.usage {
            @if quota > 0 {
                meter min="0" max=(quota) value=(used.min(quota)) high=(quota / 10 * 9)
                    optimum="0" aria-hidden="true" {}
                " "
            }
            span { (text) }
        }
    }
}

pub fn domain_state(lang: Lang, domain: &Domain) -> Markup {
    state(lang, domain.active, T::DomainActive, T::DomainDisabled)
}

pub fn mailbox_state(lang: Lang, account: &Account) -> Markup {
    state(lang, account.active, T::MailboxActive, T::MailboxDisabled)
}

fn state(lang: Lang, active: bool, on: T, off: T) -> Markup {
    html! {
        @if active {
            span.state.on { (on.get(lang)) }
        } @else {
            span.state.off { (off.get(lang)) }
        }
    }
}

/// `GET /console/style.css`.
pub async fn style() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE,
    )
        .into_response()
}

/// The whole stylesheet. Colours: text #1b1b1b on white (17:1), links
/// #1d4f91 (8.6:1), errors #a4161a (7.6:1), muted text #4a4a4a (8.9:1),
/// the focus ring #ffbf47 with a dark outline so it shows on any ground.
const STYLE: &str = r#"
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 100%; line-height: 1.5; color: #1b1b1b; background: #fff; }
body { margin: 0; }
a { color: #1d4f91; text-decoration-thickness: 1px; text-underline-offset: 2px; }
a:hover { text-decoration-thickness: 3px; }
:focus-visible { outline: 3px solid #ffbf47; outline-offset: 0; box-shadow: 0 0 0 6px #1b1b1b; }
main:focus { outline: none; box-shadow: none; }
.skip { position: absolute; left: -9999px; top: 0; padding: .5rem 1rem; background: #ffbf47; color: #1b1b1b; z-index: 10; }
.skip:focus { left: 0; }
.vh { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  clip-path: inset(50%); white-space: nowrap; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 2rem; padding: .75rem 1.5rem;
  background: #12325a; color: #fff; }
header.top a, header.top .link { color: #fff; }
header.top .brand { margin: 0; font-weight: 700; font-size: 1.25rem; }
header.top .brand a { text-decoration: none; }
header.top ul { display: flex; gap: 1rem; margin: 0; padding: 0; list-style: none; }
header.top [aria-current] { font-weight: 700; }
header.top a[aria-current="page"] { text-decoration-thickness: 3px; }
.session { display: flex; gap: 1rem; align-items: center; margin-left: auto; }
.session form { margin: 0; }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 2rem; line-height: 1.2; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.5rem; margin: 2.5rem 0 .75rem; }
h3 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
.flash { padding: .75rem 1rem; border-left: 6px solid #1e6b34; background: #e8f3eb; }
.intro, .hint { color: #4a4a4a; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: .5rem .75rem .5rem 0; border-bottom: 1px solid #b1b4b6;
  overflow-wrap: anywhere; }
thead th { border-bottom: 2px solid #1b1b1b; }
td form { display: inline; margin: 0; }
.usage { display: inline-flex; flex-wrap: wrap; align-items: center; gap: .25rem .5rem; }
meter { width: 8rem; height: 1rem; }
.state.on { color: #1e6b34; font-weight: 600; }
.state.off { color: #a4161a; font-weight: 600; }
form.panel { max-width: 40rem; padding: 1rem 1.25rem; margin: 1rem 0; border: 1px solid #b1b4b6; background: #f7f7f7; }
.field { margin: 0 0 1.25rem; }
.field label, fieldset legend { display: block; font-weight: 600; margin-bottom: .25rem; }
.field label.inline { display: inline; font-weight: 400; }
.notice { padding: .75rem 1rem; border-left: 6px solid #8a5300; background: #fdf3e1; }
.field .hint { display: block; margin: 0 0 .25rem; font-size: .95rem; }
.field .suffix { margin-left: .25rem; }
input[type=text], input[type=password], input[type=email], input[type=date], input[type=number], select, textarea {
  font: inherit; padding: .4rem .5rem; border: 2px solid #1b1b1b; border-radius: 0; background: #fff; color: #1b1b1b;
  max-width: 100%; }
input[type=text], input[type=password], input[type=email], textarea { width: 24rem; }
textarea { min-height: 5rem; }
fieldset { border: 0; padding: 0; margin: 0 0 1.25rem; }
fieldset label { font-weight: 400; }
.field-error { border-left: 5px solid #a4161a; padding-left: .75rem; }
.field-error input, .field-error textarea, .field-error select { border-color: #a4161a; }
.error { color: #a4161a; font-weight: 600; margin: 0 0 .25rem; }
button { font: inherit; cursor: pointer; padding: .45rem 1rem; border: 2px solid #12325a; background: #12325a; color: #fff; }
button:hover { background: #0b2340; }
button.secondary { background: #fff; color: #12325a; }
button.danger { background: #a4161a; border-color: #a4161a; }
button.link { padding: 0; border: 0; background: none; color: #1d4f91; text-decoration: underline; }
header.top button.link { color: #fff; }
a.danger { color: #a4161a; }
pre { overflow-x: auto; padding: 1rem; background: #f3f2f1; border: 1px solid #b1b4b6; white-space: pre; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.5rem; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; }
details pre { white-space: pre-wrap; overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  header.top { padding: .75rem; }
  .session { margin-left: 0; }
  main { padding: 1rem; }
  dl.summary { grid-template-columns: 1fr; }
  dl.summary dd { margin-bottom: .5rem; }
}
"#;

//! `/console/login` and `/console/logout`: the password login of admins
//! and mailbox users (`http::login`, throttled like every login), and its
//! end.
//!
//! The login form carries a random token that must match a cookie set
//! with the form (a double-submit token): another site can neither read
//! nor set it, so it cannot log a visitor's browser in to an account of
//! its own choosing (login CSRF), which the session's own token cannot
//! prevent as there is no session yet.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::html;
use postino_common::auth::{Secret, bearer};
use serde::Deserialize;

use super::i18n::T;
use super::layout::{self, View};
use super::{Ctx, Flash, NoFields, Submit, console_target, done, home, see_other};
use crate::http::cookie::{self, Jar};
use crate::http::error::{Code, HttpError};
use crate::http::login::{self as session, cleared_cookie, session_cookie};
use crate::http::{AppState, principal};

/// The cookie holding the login form's token, sent back to the login form
/// only, and only from this site's own pages.
const LOGIN_COOKIE: Jar = Jar {
    name: "postino_login",
    path: "/console/login",
    http_only: true,
    same_site: "Strict",
};
/// How long a login form stays usable, in seconds.
const LOGIN_COOKIE_AGE: i64 = 3600;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
}

/// `GET /console/login`; the logged-in go straight on.
pub async fn form(State(state): State<AppState>, parts: Parts) -> Response {
    let ctx = Ctx::new(&parts, None);
    match principal::authenticate(&state, &parts).await {
        Ok(Some(principal)) => return see_other(home(principal.kind)),
        Ok(None) => {}
        Err(err) => return layout::failure(&ctx, err.into()),
    }
    let next = Query::<LoginQuery>::try_from_uri(&parts.uri)
        .map(|Query(q)| q.next)
        .unwrap_or_default();
    let attempt = Attempt {
        username: String::new(),
        next,
        refusal: None,
    };
    login_page(&ctx, &state, &parts.headers, attempt, StatusCode::OK)
}

/// What the form shows again after a refused login.
struct Attempt {
    username: String,
    next: String,
    refusal: Option<String>,
}

fn login_page(
    ctx: &Ctx,
    state: &AppState,
    headers: &HeaderMap,
    attempt: Attempt,
    status: StatusCode,
) -> Response {
    let kept = cookie::read(headers, LOGIN_COOKIE.name).filter(|t| is_token(t));
    let token = match kept {
        Some(token) => token.to_string(),
        None => bearer::generate("").0.expose().to_string(),
    };
    let next = console_target(&attempt.next);
    let refused = attempt.refusal.is_some();
    let described = refused.then_some("login-error");
    let body = html! {
        p.intro { (ctx.t(T::LoginIntro)) }
        form.panel method="post" action="/console/login" {
            input type="hidden" name="token" value=(token);
            @if let Some(next) = next {
                input type="hidden" name="next" value=(next);
            }
            @if let Some(refusal) = &attempt.refusal {
                p.error #login-error role="alert" { (refusal) }
            }
            div.field {
                label for="username" { (ctx.t(T::Username)) }
                input #username name="username" type="text" value=(attempt.username)
                    autocomplete="username" autocapitalize="none" spellcheck="false" required
                    autofocus[!refused] aria-describedby=[described];
            }
            div.field {
                label for="password" { (ctx.t(T::Password)) }
                input #password name="password" type="password" autocomplete="current-password"
                    required autofocus[refused] aria-describedby=[described];
            }
            button #login-submit type="submit" { (ctx.t(T::LoginSubmit)) }
        }
    };
    let mut view = View::new(ctx.t(T::LoginTitle), ctx.here.clone(), body);
    view.status = status;
    view.refused = refused;
    let mut response = layout::render(ctx, view);
    if kept.is_none() {
        let cookie = LOGIN_COOKIE.set(&token, LOGIN_COOKIE_AGE, state.secure_cookies);
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Whether a cookie value looks like a token this module made: 32 random
/// bytes in base64url.
fn is_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct Credentials {
    username: String,
    password: String,
    next: String,
    token: String,
}

/// `POST /console/login`.
pub async fn submit(
    State(state): State<AppState>,
    parts: Parts,
    form: Result<Form<Credentials>, FormRejection>,
) -> Response {
    let ctx = Ctx::new(&parts, None);
    let Ok(Form(credentials)) = form else {
        return layout::failure(&ctx, HttpError::bad_request("malformed form"));
    };
    let refuse = |text: String, status| {
        let attempt = Attempt {
            username: credentials.username.clone(),
            next: credentials.next.clone(),
            refusal: Some(text),
        };
        login_page(&ctx, &state, &parts.headers, attempt, status)
    };
    let token_ok = cookie::read(&parts.headers, LOGIN_COOKIE.name)
        .is_some_and(|t| is_token(t) && t == credentials.token);
    if !token_ok {
        return refuse(ctx.t(T::LoginExpired).into(), StatusCode::FORBIDDEN);
    }
    let username = credentials.username.trim();
    if username.is_empty() || credentials.password.is_empty() {
        return refuse(
            ctx.t(T::LoginMissing).into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let password = Secret::new(credentials.password.as_str());
    let ip = principal::client_ip(&parts);
    let err = match session::log_in(&state, username, &password, ip).await {
        Ok(opened) => {
            let target = console_target(&credentials.next).unwrap_or(home(opened.kind));
            let mut response = see_other(target);
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                session_cookie(&opened.token, state.secure_cookies),
            );
            headers.append(header::SET_COOKIE, LOGIN_COOKIE.clear(state.secure_cookies));
            return response;
        }
        Err(err) => HttpError::from(err),
    };
    match (err.code(), err.retry_after()) {
        (Code::InvalidCredentials, _) => refuse(ctx.t(T::LoginWrong).into(), err.status()),
        (Code::Throttled, Some(seconds)) => {
            let text = T::LoginThrottled.fill(ctx.lang, &[&ctx.lang.wait(seconds)]);
            let mut response = refuse(text, err.status());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        _ => layout::failure(&ctx, err),
    }
}

/// `POST /console/logout`: the session ends on every node.
pub async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    submit: Submit<NoFields>,
) -> Response {
    if let Err(err) = session::log_out(&state, &headers).await {
        return layout::failure(&submit.page.ctx, err.into());
    }
    let mut response = done("/console/login", Flash::LoggedOut);
    response
        .headers_mut()
        .append(header::SET_COOKIE, cleared_cookie(state.secure_cookies));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base64url_of_32_bytes() {
        let (token, _) = bearer::generate("");
        assert!(is_token(token.expose()));
        assert!(!is_token(""));
        assert!(!is_token(&"a".repeat(42)));
        assert!(!is_token(&format!("{}=", "a".repeat(42))));
    }
}

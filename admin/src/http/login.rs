//! Password logins for the console and the API: one check for admins and
//! mailbox users, and the session cookie that follows.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue};
use postino_common::auth::{AuthError, Secret, Service, bearer};
use postino_common::store::{AccessMethod, AdminAccess, SessionOwner, StoreError};

use super::AppState;
use super::cookie::{self, Jar};
use super::principal::{Kind, SESSION_COOKIE};

/// How long a session lasts after its login, in seconds: a working day.
pub const SESSION_LIFETIME: i64 = 8 * 3600;

/// A session just opened.
pub struct Opened {
    /// The cookie's value; only its digest is stored.
    pub token: Secret,
    pub csrf: String,
    pub kind: Kind,
}

/// Checks a name and password and opens a session. A name that is an
/// admin principal's logs in as that admin; any other as a mailbox. Both
/// paths are throttled by the authenticator.
pub async fn log_in(
    state: &AppState,
    username: &str,
    password: &Secret,
    ip: IpAddr,
) -> Result<Opened, AuthError> {
    let (owner, kind) = if state.store.admin(username).await?.is_some() {
        let login = state.auth.login_admin(username, password, ip).await;
        record_admin_login(state, username, ip, &login).await?;
        (SessionOwner::Admin(login?.id), Kind::Admin)
    } else {
        let user = state
            .auth
            .login_user(Service::Admin, username, password, ip)
            .await?;
        (SessionOwner::Account(user.account_id), Kind::MailboxUser)
    };
    let (token, digest) = bearer::generate("");
    let (csrf, _) = bearer::generate("");
    let mut tx = state.store.begin().await?;
    tx.create_web_session(&digest, owner, csrf.expose(), SESSION_LIFETIME)
        .await?;
    tx.commit().await?;
    Ok(Opened {
        token,
        csrf: csrf.expose().to_string(),
        kind,
    })
}

/// Writes an admin's password login, or its refusal, to the access log.
/// Only names of admins are logged: a wrong name is nobody's login.
async fn record_admin_login<T>(
    state: &AppState,
    username: &str,
    ip: IpAddr,
    login: &Result<T, AuthError>,
) -> Result<(), StoreError> {
    let refused = match login {
        Ok(_) => None,
        Err(AuthError::Invalid) => Some("wrong password"),
        Err(AuthError::Throttled { .. }) => Some("too many failed logins"),
        // Nothing was decided: the store or the hashing failed.
        Err(AuthError::Store(_) | AuthError::Hashing) => return Ok(()),
    };
    state
        .store
        .record_admin_access(&AdminAccess {
            who: username.to_string(),
            origin: ip.to_string(),
            method: AccessMethod::Password,
            succeeded: refused.is_none(),
            detail: refused.unwrap_or_default().to_string(),
        })
        .await
}

/// Ends the session the request's cookie names, if it names one.
pub async fn log_out(state: &AppState, headers: &HeaderMap) -> Result<(), AuthError> {
    if let Some(token) = cookie::read(headers, SESSION_COOKIE) {
        state
            .store
            .delete_web_session(&bearer::digest(token))
            .await?;
    }
    Ok(())
}

/// The session cookie: never readable by scripts, sent only to this
/// site's own pages and forms (`Lax`), and only over TLS when the service
/// runs on it.
const SESSION: Jar = Jar {
    name: SESSION_COOKIE,
    path: "/",
    http_only: true,
    same_site: "Lax",
};

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(token: &Secret, secure: bool) -> HeaderValue {
    SESSION.set(token.expose(), SESSION_LIFETIME, secure)
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> HeaderValue {
    SESSION.clear(secure)
}

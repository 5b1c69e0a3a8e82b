//! Who is calling: an admin principal (by API token or session cookie) or
//! a mailbox user (by session cookie). Every API and console handler
//! starts from a [`Principal`] and reaches the store only through the ops
//! layer acting as it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use postino_common::auth::bearer;
use postino_common::store::{SessionOwner, StoreError};

use super::AppState;
use super::cookie;
use crate::ops::{Actor, Ops};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "postino_session";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Admin,
    MailboxUser,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub kind: Kind,
    /// The session's CSRF token; `None` for an API token, which a browser
    /// never sends on its own.
    pub csrf: Option<String>,
}

impl Principal {
    /// The management operations, acting as this principal.
    pub fn ops(&self, state: &AppState) -> Ops {
        Ops::new(state.store.clone(), state.auth.clone(), self.actor.clone())
    }

    /// Whether a change may go ahead: always with an API token; with a
    /// session, only when the request carries the session's CSRF token.
    pub fn allows_change(&self, presented: Option<&str>) -> bool {
        match &self.csrf {
            None => true,
            Some(expected) => presented.is_some_and(|p| constant_time_eq(p, expected)),
        }
    }
}

/// The client's address, as the connection gave it.
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| addr.ip())
}

/// The principal a request authenticates as, if any: an `Authorization:
/// Bearer` API token first, else the session cookie.
pub async fn authenticate(
    state: &AppState,
    parts: &Parts,
) -> Result<Option<Principal>, StoreError> {
    let origin = client_ip(parts).to_string();
    if let Some(token) = bearer_token(&parts.headers) {
        let admin = state
            .store
            .admin_by_token(&bearer::digest(token), &origin)
            .await?;
        return Ok(admin.map(|admin| Principal {
            actor: Actor::admin(&admin, origin),
            kind: Kind::Admin,
            csrf: None,
        }));
    }
    let Some(cookie) = cookie::read(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = state.store.web_session(&bearer::digest(cookie)).await? else {
        return Ok(None);
    };
    let principal = match session.owner {
        SessionOwner::Admin(id) => state.store.admin_by_id(id).await?.map(|admin| Principal {
            actor: Actor::admin(&admin, origin),
            kind: Kind::Admin,
            csrf: Some(session.csrf),
        }),
        // A mailbox disabled since its login loses its session with it.
        SessionOwner::Account(id) => {
            let Some(account) = state.store.account_by_id(id).await? else {
                return Ok(None);
            };
            let active = state.store.credentials(&account.address).await?;
            active
                .filter(|credentials| credentials.active)
                .map(|_| Principal {
                    actor: Actor::mailbox_user(account.address, origin),
                    kind: Kind::MailboxUser,
                    csrf: Some(session.csrf),
                })
        }
    };
    Ok(principal)
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Compares secrets without an early exit that would time the match.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn reads_bearer_tokens_only() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer pst_x"),
        );
        assert_eq!(bearer_token(&headers), Some("pst_x"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eDp5"),
        );
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  "));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn compares_tokens_whole() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}

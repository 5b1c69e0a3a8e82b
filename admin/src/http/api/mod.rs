//! The JSON API under `/api/v1`, and its OpenAPI document at
//! `/api/v1/openapi.json`. Routes and document come from the same
//! annotated handlers (utoipa), so the document describes exactly what is
//! served. Handlers only translate: every rule is in the ops layer.

mod aliases;
mod audit;
mod body;
mod dkim;
mod domains;
mod error;
mod generated_sieve;
mod mailboxes;
mod me;
mod query;
mod relay;
mod session;
mod shares;
mod tokens;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{any, get};
use axum::{Json, Router};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::error::HttpError;
use super::principal::{self, Kind, Principal};

pub use body::Body;
pub use error::{ApiError, ErrorBody};

/// The header that carries a session's CSRF token on API changes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Any authenticated caller. A change made with a session cookie must
/// carry the session's CSRF token.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let principal = principal::authenticate(state, parts)
            .await?
            .ok_or_else(HttpError::unauthenticated)?;
        let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !parts.method.is_safe() && !principal.allows_change(presented) {
            return Err(HttpError::csrf().into());
        }
        Ok(Caller(principal))
    }
}

/// An admin principal: mailbox users get `403`.
pub struct AdminCaller(pub Principal);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<AdminCaller, ApiError> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        match principal.kind {
            Kind::Admin => Ok(AdminCaller(principal)),
            Kind::MailboxUser => Err(HttpError::forbidden(
                "this needs an admin; a mailbox user may only use /api/v1/me",
            )
            .into()),
        }
    }
}

/// The API's routes and the document that describes them.
pub fn router() -> (Router<AppState>, OpenApi) {
    let (api, mut doc) = OpenApiRouter::<AppState>::new()
        .merge(session::routes())
        .merge(me::routes())
        .merge(domains::routes())
        .merge(mailboxes::routes())
        .merge(shares::routes())
        .merge(generated_sieve::routes())
        .merge(aliases::routes())
        .merge(dkim::routes())
        .merge(relay::routes())
        .merge(audit::routes())
        .merge(tokens::routes())
        .split_for_parts();
    describe(&mut doc);
    let served = doc.clone();
    let api = api
        .route("/openapi.json", get(move || async move { Json(served) }))
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .fallback(no_endpoint);
    // The nested router's fallback does not see `/api/v1/` itself.
    let api = Router::new()
        .nest("/api/v1", api)
        .route("/api/v1/", any(no_endpoint));
    (api, doc)
}

/// Store rows as the API's JSON of them: each resource module has its own
/// types, converted from the rows, so that the document describes what is
/// served and the store's types stay the store's.
fn json_list<Row, View: From<Row>>(rows: Vec<Row>) -> Json<Vec<View>> {
    Json(rows.into_iter().map(View::from).collect())
}

/// A JSON request body's parser, discarding what it parsed.
pub(crate) type BodyParser = fn(&[u8]) -> Result<(), ApiError>;

/// Every JSON request body the API reads, by type name, with the parser its
/// handler uses: what the `http_json` fuzz target feeds.
pub(crate) const REQUEST_BODIES: &[(&str, BodyParser)] = &[
    ("Credentials", |b| {
        body::parse::<session::Credentials>(b).map(drop)
    }),
    ("PasswordChange", |b| {
        body::parse::<me::PasswordChange>(b).map(drop)
    }),
    ("NewDomain", |b| {
        body::parse::<domains::NewDomain>(b).map(drop)
    }),
    ("DomainChange", |b| {
        body::parse::<crate::ops::DomainChange>(b).map(drop)
    }),
    ("NewMailbox", |b| {
        body::parse::<mailboxes::NewMailbox>(b).map(drop)
    }),
    ("MailboxChange", |b| {
        body::parse::<crate::ops::MailboxChange>(b).map(drop)
    }),
    ("NewPassword", |b| {
        body::parse::<mailboxes::NewPassword>(b).map(drop)
    }),
    ("Vacation", |b| {
        body::parse::<crate::ops::generated_sieve::Vacation>(b).map(drop)
    }),
    ("Forwarding", |b| {
        body::parse::<crate::ops::generated_sieve::Forwarding>(b).map(drop)
    }),
    ("NewAlias", |b| {
        body::parse::<aliases::NewAlias>(b).map(drop)
    }),
    ("NewKeys", |b| body::parse::<dkim::NewKeys>(b).map(drop)),
    ("Rotation", |b| body::parse::<dkim::Rotation>(b).map(drop)),
    ("NewRelayClient", |b| {
        body::parse::<relay::NewRelayClient>(b).map(drop)
    }),
    ("RelayClientChange", |b| {
        body::parse::<relay::RelayClientChange>(b).map(drop)
    }),
];

async fn no_endpoint() -> ApiError {
    HttpError::not_found("no such API endpoint").into()
}

/// The document's title, server prefix and ways to authenticate.
fn describe(doc: &mut OpenApi) {
    doc.info = InfoBuilder::new()
        .title("Postino admin API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Domains, mailboxes, aliases, DKIM keys, relay clients, usage and the audit log; \
             mailboxes' out-of-office replies and forwarding. \
             Authenticate with an API token (`postino admin token create`) as a bearer token, \
             or log in at POST /session and send the session cookie with the X-CSRF-Token \
             header on every change.",
        ))
        .build();
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    // Every operation needs one of the two, unless it says otherwise.
    doc.security = Some(vec![
        SecurityRequirement::new("token", Vec::<String>::new()),
        SecurityRequirement::new("session", Vec::<String>::new()),
    ]);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "token",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(principal::SESSION_COOKIE))),
    );
}

#[cfg(test)]
mod tests {
    use postino_common::auth::Secret;
    use postino_common::dkim::Algorithm;
    use postino_common::store::{self, AdminScope, DkimKeyState};
    use serde::Serialize;
    use serde_json::Value;

    use super::*;
    use crate::ops::{DomainUsage, MailboxUsage};

    /// The JSON of the API's type for `row`, which must be the JSON of
    /// the row itself, as `postino … --json` prints it: scripts read both.
    fn same_json<View: Serialize + From<Row>, Row: Serialize + Clone>(row: &Row) -> Value {
        let json = serde_json::to_value(row).unwrap();
        assert_eq!(serde_json::to_value(View::from(row.clone())).unwrap(), json);
        json
    }

    fn domain() -> store::Domain {
        store::Domain {
            id: 1,
            name: "comune.esempio.it".to_string(),
            quota_bytes: 10,
            max_mailboxes: 2,
            used_bytes: 3,
            mailboxes: 1,
            active: true,
            created_at: 1_740_787_200,
            spam_filter: true,
            spam_profile: Some("strict".to_string()),
            max_messages_per_hour: Some(50),
            max_recipients_per_day: None,
            junk_retention_days: Some(14),
            mta_sts_mode: postino_common::mta_sts::Mode::Enforce,
        }
    }

    fn account() -> store::Account {
        store::Account {
            id: 2,
            domain_id: 1,
            address: "anna@comune.esempio.it".to_string(),
            display_name: "Anna".to_string(),
            quota_bytes: 0,
            used_bytes: 3,
            active: false,
            created_at: 1_740_787_201,
            max_messages_per_hour: None,
            max_recipients_per_day: Some(0),
        }
    }

    fn key(state: DkimKeyState, algorithm: Algorithm) -> store::DkimKey {
        store::DkimKey {
            id: 3,
            domain: "comune.esempio.it".to_string(),
            selector: "20250301-rsa".to_string(),
            algorithm,
            public_key: "MIIB".to_string(),
            state,
            created_at: 1_740_787_202,
            retire_at: (state != DkimKeyState::Active).then_some(1_741_392_002),
            private_key: Secret::new("-----BEGIN PRIVATE KEY-----"),
        }
    }

    #[test]
    fn resources_are_the_json_of_their_rows() {
        let json = same_json::<domains::Domain, _>(&domain());
        assert_eq!(json["active"], true);
        same_json::<mailboxes::Account, _>(&account());
        same_json::<aliases::Alias, _>(&store::Alias {
            source: "@comune.esempio.it".to_string(),
            target: "anna@comune.esempio.it".to_string(),
        });
        let client = store::RelayClient {
            id: 4,
            name: "protocollo".to_string(),
            networks: vec!["10.1.0.0/16".to_string()],
            password: false,
            sender_domains: vec!["comune.esempio.it".to_string()],
            rate_per_minute: 30,
            created_at: 1_740_787_203,
            password_hash: Some("$argon2id$".to_string()),
        };
        let json = same_json::<relay::RelayClient, _>(&client);
        assert!(!json.to_string().contains("argon2"), "{json}");
        same_json::<audit::AuditRecord, _>(&store::AuditRecord {
            id: 5,
            at: 1_740_787_204,
            actor: "cli:root".to_string(),
            origin: "cli".to_string(),
            action: "domain.add".to_string(),
            domain: Some("comune.esempio.it".to_string()),
            target: "comune.esempio.it".to_string(),
            before: None,
            after: Some("{}".to_string()),
            prev_hash: Some(String::new()),
            hash: Some("ab".repeat(32)),
        });
        same_json::<tokens::ApiToken, _>(&store::ApiToken {
            id: 6,
            admin: "provincia".to_string(),
            name: "script".to_string(),
            created_at: 1_740_787_205,
            last_used_at: None,
            revoked_at: Some(1_740_787_206),
        });
        for scope in [
            AdminScope::AllDomains,
            AdminScope::Domains(vec!["comune.esempio.it".to_string()]),
        ] {
            same_json::<me::AdminScope, _>(&scope);
        }
    }

    #[test]
    fn dkim_keys_are_the_json_of_their_rows() {
        for state in [
            DkimKeyState::Active,
            DkimKeyState::Retiring,
            DkimKeyState::Retired,
        ] {
            for algorithm in Algorithm::ALL {
                let json = same_json::<dkim::DkimKey, _>(&key(state, algorithm));
                assert!(!json.to_string().contains("PRIVATE"), "{json}");
            }
        }
        same_json::<dkim::DkimRotation, _>(&store::DkimRotation {
            retiring: vec![key(DkimKeyState::Retiring, Algorithm::RsaSha256)],
            added: vec![key(DkimKeyState::Active, Algorithm::Ed25519Sha256)],
        });
    }

    #[test]
    fn usage_is_the_json_of_the_ops_report() {
        let report = DomainUsage {
            domain: domain(),
            accounts: vec![MailboxUsage::from(account())],
        };
        let json = serde_json::to_value(&report).unwrap();
        let view = domains::DomainUsage::from(report);
        assert_eq!(serde_json::to_value(view).unwrap(), json);
    }
}

//! The admin JSON API (`/api/v1`) of the real binary, on both store
//! backends, used as scripts (API tokens), browsers (the session cookie
//! with the CSRF header) and curl use it: logins and their throttling, API
//! tokens, what comune admins and mailbox users may reach across every
//! endpoint of the OpenAPI document, the audit of every change, error
//! answers, and the document itself against what the server does.
//!
//! Every test starts from the same site: two comuni, A and B, each with a
//! mailbox, an alias, a DKIM key and a relay client; a provincial admin
//! and one comune admin per domain, each with an API token.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use postino_tests::http::{Request, Response};
use postino_tests::imap::ImapClient;
use postino_tests::{Server, TestConfig, on_both_backends, run_program};
use serde_json::{Value, json};

on_both_backends!(
    sessions_need_the_csrf_header_for_changes,
    repeated_failed_logins_are_throttled,
    api_tokens_work_until_revoked,
    comune_admins_reach_nothing_outside_their_domains,
    mailbox_users_reach_only_their_own_account,
    every_change_is_audited_without_secrets,
    audit_entries_are_scoped_like_what_they_describe,
    bad_requests_get_json_errors,
    the_openapi_document_matches_the_server,
    curl_logs_in_and_adds_a_mailbox,
    a_catch_all_is_made_and_removed,
    out_of_office_and_forwarding_become_the_active_script,
);

const A: &str = "comune-a.esempio.it";
const B: &str = "comune-b.esempio.it";
const PROVINCIA_PASSWORD: &str = "password-della-provincia";
const ANNA_PASSWORD: &str = "password-di-anna";
const BRUNO_PASSWORD: &str = "password-di-bruno";
/// The password of `mario@A` and `mario@B`.
const MARIO_PASSWORD: &str = "password-di-mario";
/// What an intruder tries to set.
const INTRUDER_PASSWORD: &str = "password-dell-intruso";
/// Operations whose answer to anyone is about the caller alone, or a
/// listing filtered to the caller's domains: they answer 2xx to a comune
/// admin, and must then say nothing of the other domains.
const SCOPED: [&str; 5] = [
    "GET /domains",
    "GET /usage",
    "GET /relay-clients",
    "GET /me",
    "DELETE /session",
];
/// What a mailbox user may call besides logging in.
const SELF_SERVICE: [&str; 7] = [
    "GET /me",
    "PUT /me/password",
    "GET /me/vacation",
    "PUT /me/vacation",
    "GET /me/forwarding",
    "PUT /me/forwarding",
    "DELETE /session",
];
/// What is about the caller's own mailbox: refused to any admin.
const OWN_MAILBOX: [&str; 5] = [
    "PUT /me/password",
    "GET /me/vacation",
    "PUT /me/vacation",
    "GET /me/forwarding",
    "PUT /me/forwarding",
];
/// Actions only a provincial admin may take, even on a comune admin's own
/// domain.
const PROVINCIAL_ONLY: [&str; 5] = [
    "POST /domains",
    "PATCH /domains/{domain}",
    "DELETE /domains/{domain}",
    "GET /tokens",
    "DELETE /tokens/{id}",
];

fn api(path: &str) -> String {
    format!("/api/v1{path}")
}

fn mario(domain: &str) -> String {
    format!("mario@{domain}")
}

/// A running server with the site described at the top, and the API
/// tokens of its admins.
struct Site {
    server: Server,
    addr: SocketAddr,
    imap: SocketAddr,
    provincia: String,
    anna: String,
    bruno: String,
}

/// Runs a management command that must succeed; its standard output.
async fn run(config: &TestConfig, args: &[&str], stdin: Option<&str>) -> String {
    config.cli(args, stdin).await.ok().to_string()
}

/// Sets up the site with the CLI and starts the server.
async fn site(config: &TestConfig) -> Site {
    config.set("imap", "allow_plaintext_auth = true");
    for domain in [A, B] {
        run(config, &["domain", "add", domain], None).await;
    }
    let admins = [
        ("provincia", PROVINCIA_PASSWORD, None),
        ("anna", ANNA_PASSWORD, Some(A)),
        ("bruno", BRUNO_PASSWORD, Some(B)),
    ];
    for (name, password, domain) in admins {
        let mut args = vec!["admin", "add", name, "--password-stdin"];
        match domain {
            Some(domain) => args.extend(["--domain", domain]),
            None => args.push("--all-domains"),
        }
        run(config, &args, Some(&format!("{password}\n"))).await;
    }
    for (domain, relay, cidr) in [(A, "suap-a", "10.1.0.0/16"), (B, "suap-b", "10.2.0.0/16")] {
        let address = mario(domain);
        let stdin = format!("{MARIO_PASSWORD}\n");
        let add = ["mailbox", "add", &address, "--password-stdin"];
        run(config, &add, Some(&stdin)).await;
        let info = format!("info@{domain}");
        run(config, &["alias", "add", &info, &address], None).await;
        let generate = ["dkim", "generate", domain, "--algorithm", "ed25519"];
        run(config, &generate, None).await;
        let relay = [
            "relay",
            "add",
            relay,
            "--cidr",
            cidr,
            "--sender-domain",
            domain,
        ];
        run(config, &relay, None).await;
    }
    let mut tokens = Vec::new();
    for admin in ["provincia", "anna", "bruno"] {
        let token = run(config, &["admin", "token", "create", admin], None).await;
        tokens.push(token.trim().to_string());
    }
    let server = Server::start(config).await;
    let [provincia, anna, bruno] = <[String; 3]>::try_from(tokens).expect("three tokens");
    Site {
        server,
        addr: config.listeners.admin,
        imap: config.listeners.imap,
        provincia,
        anna,
        bruno,
    }
}

/// A logged-in session: the cookie to send back and its CSRF token.
struct Session {
    /// `postino_session=VALUE`.
    cookie: String,
    /// The whole `Set-Cookie` header of the login.
    set_cookie: String,
    csrf: String,
    /// `admin` or `mailbox`.
    kind: String,
}

impl Session {
    /// `request` with the session's cookie and CSRF header.
    fn with(&self, request: Request) -> Request {
        request.cookie(&self.cookie).csrf(&self.csrf)
    }

    /// The cookie's value alone.
    fn value(&self) -> &str {
        self.cookie.split_once('=').map_or("", |(_, v)| v)
    }
}

impl Site {
    async fn send(&self, request: Request) -> Response {
        request.send(self.addr).await
    }

    /// `GET /api/v1{path}` with `token`, which must answer 200 with JSON.
    async fn get(&self, token: &str, path: &str) -> Value {
        let response = self.send(Request::get(&api(path)).bearer(token)).await;
        assert_eq!(response.status, 200, "GET {path}: {response:#?}");
        response.json()
    }

    async fn try_login(&self, username: &str, password: &str) -> Response {
        let credentials = json!({ "username": username, "password": password });
        self.send(Request::post(&api("/session")).json(&credentials))
            .await
    }

    async fn login(&self, username: &str, password: &str) -> Session {
        let response = self.try_login(username, password).await;
        assert_eq!(response.status, 200, "login as {username}: {response:#?}");
        let set_cookie = response
            .header("set-cookie")
            .expect("a session cookie")
            .to_string();
        let cookie = set_cookie.split(';').next().unwrap_or_default().trim();
        assert!(cookie.starts_with("postino_session="), "{set_cookie}");
        let body = response.json();
        Session {
            cookie: cookie.to_string(),
            set_cookie: set_cookie.clone(),
            csrf: body["csrf_token"]
                .as_str()
                .expect("a CSRF token")
                .to_string(),
            kind: body["kind"].as_str().expect("a kind").to_string(),
        }
    }

    async fn openapi(&self) -> Value {
        let response = self.send(Request::get(&api("/openapi.json"))).await;
        assert_eq!(response.status, 200, "{response:#?}");
        response.json()
    }

    /// The id of the API token of `admin`.
    async fn token_id(&self, admin: &str) -> i64 {
        let tokens = self
            .get(&self.provincia, &format!("/tokens?admin={admin}"))
            .await;
        tokens[0]["id"].as_i64().expect("a token id")
    }

    /// Everything a provincial admin sees of `domain`, with the tokens of
    /// `tokens_of`, the whole domain list and the audit log: what refused
    /// requests may not change. (Using a token changes its `last_used_at`,
    /// so `tokens_of` is an admin who is not acting.)
    async fn view_of(&self, domain: &str, tokens_of: &str) -> Value {
        let token = &self.provincia;
        let relay: Vec<Value> = self
            .get(token, "/relay-clients")
            .await
            .as_array()
            .expect("an array")
            .iter()
            .filter(|c| c["sender_domains"].to_string().contains(domain))
            .cloned()
            .collect();
        let mut view = json!({ "relay-clients": relay });
        for path in [
            "/domains".to_string(),
            format!("/domains/{domain}"),
            format!("/domains/{domain}/mailboxes"),
            format!("/mailboxes/{}", mario(domain)),
            format!("/domains/{domain}/aliases"),
            format!("/domains/{domain}/dkim"),
            format!("/domains/{domain}/dns"),
            format!("/domains/{domain}/usage"),
            format!("/tokens?admin={tokens_of}"),
            "/audit?limit=1000".to_string(),
        ] {
            view[&path] = self.get(token, &path).await;
        }
        view
    }

    /// The audit entries newer than `after_id`, oldest first.
    async fn audit_since(&self, after_id: i64) -> Vec<Value> {
        let log = self.get(&self.provincia, "/audit?limit=1000").await;
        let mut newer: Vec<Value> = log
            .as_array()
            .expect("an array")
            .iter()
            .filter(|e| e["id"].as_i64().expect("an id") > after_id)
            .cloned()
            .collect();
        newer.reverse();
        newer
    }

    async fn newest_audit_id(&self) -> i64 {
        let log = self.get(&self.provincia, "/audit?limit=1").await;
        log[0]["id"].as_i64().unwrap_or(0)
    }
}

/// Asserts an error answer; its `error` object.
#[track_caller]
fn assert_error(response: &Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status, status, "{response:#?}");
    let body = response.json();
    assert_eq!(body["error"]["code"], code, "{response:#?}");
    body["error"].clone()
}

/// One operation of the OpenAPI document.
struct Operation {
    /// Upper case.
    method: String,
    /// As the document writes it, such as `/domains/{domain}`.
    path: String,
    spec: Value,
}

fn operations(doc: &Value) -> Vec<Operation> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let mut found = Vec::new();
    let paths = doc["paths"].as_object().expect("paths in the document");
    for (path, item) in paths {
        for (method, spec) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                found.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    spec: spec.clone(),
                });
            }
        }
    }
    assert!(!found.is_empty(), "no operations in {doc}");
    found
}

impl Operation {
    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Whether it needs no authentication (`security: [{}]`).
    fn is_public(&self) -> bool {
        self.spec["security"].as_array().is_some_and(|s| {
            s.iter()
                .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
        })
    }

    fn has_body(&self) -> bool {
        self.spec.get("requestBody").is_some()
    }

    fn documents(&self, status: u16) -> bool {
        self.spec["responses"].get(status.to_string()).is_some()
    }

    /// The target under `/api/v1`, with each path parameter and the query
    /// parameters `values` has. A path parameter it lacks fails the test:
    /// a new endpoint needs a value here.
    fn target(&self, values: &BTreeMap<&str, String>) -> String {
        let mut path = self.path.clone();
        let mut query = Vec::new();
        for param in self.spec["parameters"].as_array().into_iter().flatten() {
            let name = param["name"].as_str().expect("a parameter name");
            match (param["in"].as_str(), values.get(name)) {
                (Some("path"), Some(value)) => {
                    let placeholder = format!("{{{name}}}");
                    assert!(
                        path.contains(&placeholder),
                        "{} documents a path parameter `{name}` its path does not have",
                        self.key()
                    );
                    path = path.replace(&placeholder, &encode(value));
                }
                (Some("path"), None) => {
                    panic!("no value for path parameter `{name}` of {}", self.key())
                }
                (Some("query"), Some(value)) => query.push(format!("{name}={}", encode(value))),
                _ => assert!(
                    param["required"] != true,
                    "no value for required parameter `{name}` of {}",
                    self.key()
                ),
            }
        }
        if query.is_empty() {
            api(&path)
        } else {
            api(&format!("{path}?{}", query.join("&")))
        }
    }

    /// The schema of its `status` answer in JSON.
    fn response_schema(&self, status: u16) -> &Value {
        &self.spec["responses"][status.to_string()]["content"]["application/json"]["schema"]
    }
}

/// `value` as one path segment or query value: letters, digits, `-._~@`
/// as they are, the rest percent-encoded.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Parameter values naming `domain`'s resources.
fn values_of(
    domain: &str,
    relay: &str,
    admin: &str,
    token_id: i64,
) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("domain", domain.to_string()),
        ("address", mario(domain)),
        ("user", format!("info@{domain}")),
        ("source", format!("info@{domain}")),
        ("target", mario(domain)),
        ("name", relay.to_string()),
        ("id", token_id.to_string()),
        ("admin", admin.to_string()),
        ("force", "true".to_string()),
    ])
}

/// Request bodies aimed at `domain`'s resources, for every operation that
/// takes one (several for some). An operation missing here fails the
/// test: a new endpoint needs its bodies.
fn bodies_for(domain: &str) -> BTreeMap<&'static str, Vec<Value>> {
    let intruder = format!("intruso@{domain}");
    BTreeMap::from([
        ("POST /session", vec![]),
        (
            "POST /domains",
            vec![json!({ "name": format!("nuovo.{domain}") })],
        ),
        (
            "PATCH /domains/{domain}",
            vec![json!({ "quota_bytes": 1, "max_mailboxes": 1, "active": false })],
        ),
        (
            "POST /mailboxes",
            vec![json!({ "address": intruder, "password": INTRUDER_PASSWORD })],
        ),
        (
            "PATCH /mailboxes/{address}",
            vec![json!({ "display_name": "Intruso", "quota_bytes": 1, "active": false })],
        ),
        (
            "PUT /mailboxes/{address}/password",
            vec![json!({ "password": INTRUDER_PASSWORD })],
        ),
        (
            "PUT /mailboxes/{address}/shares/{user}",
            vec![json!({ "rights": "lrswipkxtea", "send_as": true })],
        ),
        (
            "POST /aliases",
            vec![
                json!({ "source": intruder, "targets": [mario(domain)] }),
                json!({ "source": format!("@{domain}"), "targets": ["fuori@esterno.example"] }),
                json!({ "source": format!("info@{domain}"), "targets": ["fuori@esterno.example"] }),
            ],
        ),
        (
            "POST /domains/{domain}/dkim",
            vec![json!({ "algorithm": "rsa" }), json!({})],
        ),
        (
            "POST /domains/{domain}/dkim/rotate",
            vec![json!({ "grace_seconds": 0 })],
        ),
        (
            "POST /relay-clients",
            vec![
                json!({ "name": "intruso", "networks": ["10.9.0.0/16"], "sender_domains": [domain] }),
                json!({ "name": "intruso", "password": INTRUDER_PASSWORD, "sender_domains": [domain] }),
            ],
        ),
        (
            "PATCH /relay-clients/{name}",
            vec![
                json!({ "networks": ["10.9.0.0/16"], "sender_domains": [domain], "rate_per_minute": 1 }),
                json!({ "password": INTRUDER_PASSWORD }),
                json!({ "rate_per_minute": 0 }),
            ],
        ),
        (
            "PUT /me/password",
            vec![json!({ "current_password": ANNA_PASSWORD, "new_password": INTRUDER_PASSWORD })],
        ),
        ("PUT /me/vacation", vec![intruder_vacation()]),
        ("PUT /me/forwarding", vec![intruder_forwarding()]),
        (
            "PUT /mailboxes/{address}/vacation",
            vec![intruder_vacation()],
        ),
        (
            "PUT /mailboxes/{address}/forwarding",
            vec![intruder_forwarding()],
        ),
    ])
}

fn intruder_vacation() -> Value {
    json!({ "enabled": true, "start": "2026-12-24", "message": "Preso dall'intruso" })
}

fn intruder_forwarding() -> Value {
    json!({ "enabled": true, "forward_to": "fuori@esterno.example", "keep_copy": false })
}

/// Every request of `operation` for the probes: one per body, or one.
fn probes(
    operation: &Operation,
    values: &BTreeMap<&str, String>,
    bodies: &BTreeMap<&str, Vec<Value>>,
) -> Vec<Request> {
    let target = operation.target(values);
    if !operation.has_body() {
        return vec![Request::new(&operation.method, &target)];
    }
    let bodies = bodies
        .get(operation.key().as_str())
        .unwrap_or_else(|| panic!("no request body for {}", operation.key()));
    bodies
        .iter()
        .map(|body| Request::new(&operation.method, &target).json(body))
        .collect()
}

/// The JSON type of `value`, as JSON Schema names it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `value` against `schema` of `doc`, as far as these tests care:
/// references, types, required properties, array items, properties, and
/// `allOf` / `oneOf` / `anyOf`.
fn conforms(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("a reference outside the document: {reference}"))?;
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("no schema {name}"));
        }
        return conforms(doc, target, value);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(variants) = schema[key].as_array()
            && !variants.iter().any(|v| conforms(doc, v, value).is_ok())
        {
            return Err(format!("{value} matches none of {key} {schema}"));
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conforms(doc, part, value)?;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let actual = json_type(value);
    let typed = types.is_empty()
        || types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"));
    if !typed {
        return Err(format!("{value} is not of type {types:?}"));
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for item in array {
            conforms(doc, items, item)?;
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("no required `{name}` in {value}"));
            }
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            if let Some(v) = object.get(name) {
                conforms(doc, property, v).map_err(|e| format!("{name}: {e}"))?;
            }
        }
    }
    Ok(())
}

async fn sessions_need_the_csrf_header_for_changes(config: &TestConfig) {
    let site = site(config).await;

    let admin = site.login("provincia", PROVINCIA_PASSWORD).await;
    assert_eq!(admin.kind, "admin");
    let attributes: Vec<&str> = admin.set_cookie.split(';').map(str::trim).collect();
    for wanted in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            attributes.contains(&wanted),
            "{wanted} in {}",
            admin.set_cookie
        );
    }
    assert!(
        !attributes.iter().any(|a| a.eq_ignore_ascii_case("secure")),
        "Secure on plain HTTP: {}",
        admin.set_cookie
    );
    let me = site
        .send(Request::get(&api("/me")).cookie(&admin.cookie))
        .await;
    assert_eq!(me.status, 200, "{me:#?}");
    assert_eq!(
        me.json(),
        json!({ "kind": "admin", "username": "provincia", "scope": "all_domains" })
    );

    // A change without the session's CSRF token is refused, and changes
    // nothing.
    let address = format!("nuova@{A}");
    let new = json!({ "address": address, "password": INTRUDER_PASSWORD });
    let before = site.view_of(A, "anna").await;
    for csrf in [None, Some("sbagliato"), Some("")] {
        let mut request = Request::post(&api("/mailboxes"))
            .cookie(&admin.cookie)
            .json(&new);
        if let Some(csrf) = csrf {
            request = request.csrf(csrf);
        }
        assert_error(&site.send(request).await, 403, "csrf");
    }
    assert_eq!(site.view_of(A, "anna").await, before);
    let missing = site
        .send(Request::get(&api(&format!("/mailboxes/{address}"))).bearer(&site.provincia))
        .await;
    assert_error(&missing, 404, "not_found");

    // Another session's CSRF token is no better.
    let other = site.login("provincia", PROVINCIA_PASSWORD).await;
    let crossed = Request::post(&api("/mailboxes"))
        .cookie(&admin.cookie)
        .csrf(&other.csrf)
        .json(&new);
    assert_error(&site.send(crossed).await, 403, "csrf");

    let made = site
        .send(admin.with(Request::post(&api("/mailboxes")).json(&new)))
        .await;
    assert_eq!(made.status, 201, "{made:#?}");
    assert_eq!(made.json()["address"], address);

    // A mailbox user logs in the same way.
    let user = site.login(&mario(A), MARIO_PASSWORD).await;
    assert_eq!(user.kind, "mailbox");
    let me = site
        .send(Request::get(&api("/me")).cookie(&user.cookie))
        .await;
    assert_eq!(me.status, 200, "{me:#?}");
    assert_eq!(me.json()["kind"], "mailbox");
    assert_eq!(me.json()["address"], mario(A));

    // Logging out needs the CSRF token too; then the cookie is worthless,
    // and the other session lives on.
    let refused = site
        .send(Request::delete(&api("/session")).cookie(&admin.cookie))
        .await;
    assert_error(&refused, 403, "csrf");
    let out = site
        .send(admin.with(Request::delete(&api("/session"))))
        .await;
    assert_eq!(out.status, 204, "{out:#?}");
    let cleared = out.header("set-cookie").expect("a cleared cookie");
    assert!(
        cleared.starts_with("postino_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    for request in [
        Request::get(&api("/me")).cookie(&admin.cookie),
        admin.with(Request::post(&api("/mailboxes")).json(&new)),
    ] {
        assert_error(&site.send(request).await, 401, "unauthenticated");
    }
    let still = site
        .send(Request::get(&api("/me")).cookie(&other.cookie))
        .await;
    assert_eq!(still.status, 200, "{still:#?}");

    let mario_a = mario(A);
    for (username, password) in [
        ("provincia", "password-sbagliata"),
        ("nessuno", "password-sbagliata"),
        (mario_a.as_str(), "password-sbagliata"),
    ] {
        let refused = site.try_login(username, password).await;
        assert_error(&refused, 401, "invalid_credentials");
        assert!(refused.header("set-cookie").is_none(), "{refused:#?}");
    }
}

async fn repeated_failed_logins_are_throttled(config: &TestConfig) {
    config.set("auth", "max_failures_per_account = 2");
    config.set("auth", "max_failures_per_ip = 4");
    let site = site(config).await;
    for _ in 0..2 {
        let refused = site.try_login("provincia", "password-sbagliata").await;
        assert_error(&refused, 401, "invalid_credentials");
    }
    // The account is slowed down, never locked: the right password still
    // works, after a wait.
    let started = std::time::Instant::now();
    site.login("provincia", PROVINCIA_PASSWORD).await;
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    // The address is locked out once it reaches its own limit, for every
    // account and with the right password too.
    for _ in 0..2 {
        let refused = site.try_login("provincia", "password-sbagliata").await;
        assert_error(&refused, 401, "invalid_credentials");
    }
    for (username, password) in [("provincia", PROVINCIA_PASSWORD), ("anna", ANNA_PASSWORD)] {
        let throttled = site.try_login(username, password).await;
        assert_error(&throttled, 429, "throttled");
        let retry: u64 = throttled
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("a Retry-After in seconds: {throttled:#?}"));
        assert!(retry >= 1, "{throttled:#?}");
    }
}

async fn api_tokens_work_until_revoked(config: &TestConfig) {
    let site = site(config).await;
    let me = site.get(&site.anna, "/me").await;
    assert_eq!(
        me,
        json!({ "kind": "admin", "username": "anna", "scope": { "domains": [A] } })
    );

    let tokens = site
        .send(Request::get(&api("/tokens")).bearer(&site.provincia))
        .await;
    assert_eq!(tokens.status, 200, "{tokens:#?}");
    let listed: Vec<String> = tokens
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t["admin"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(listed, ["provincia", "anna", "bruno"]);
    for secret in [&site.provincia, &site.anna, &site.bruno] {
        assert!(
            !tokens.body.contains(secret.as_str()),
            "a token secret listed"
        );
    }
    // Comune admins do not manage tokens.
    let refused = site
        .send(Request::get(&api("/tokens")).bearer(&site.anna))
        .await;
    assert_error(&refused, 403, "forbidden");

    // Revoked through the API, a token stops working at once.
    let anna_id = site.token_id("anna").await;
    let revoked = site
        .send(Request::delete(&api(&format!("/tokens/{anna_id}"))).bearer(&site.provincia))
        .await;
    assert_eq!(revoked.status, 200, "{revoked:#?}");
    assert!(revoked.json()["revoked_at"].is_i64(), "{revoked:#?}");
    let gone = site
        .send(Request::get(&api("/me")).bearer(&site.anna))
        .await;
    assert_error(&gone, 401, "unauthenticated");
    // Revoking it again changes nothing.
    let again = site
        .send(Request::delete(&api(&format!("/tokens/{anna_id}"))).bearer(&site.provincia))
        .await;
    assert_eq!(again.json(), revoked.json());

    // Revoked at the command line, the same.
    let bruno_id = site.token_id("bruno").await.to_string();
    assert_eq!(site.get(&site.bruno, "/me").await["username"], "bruno");
    run(config, &["admin", "token", "revoke", &bruno_id], None).await;
    let gone = site
        .send(Request::get(&api("/me")).bearer(&site.bruno))
        .await;
    assert_error(&gone, 401, "unauthenticated");

    for token in [
        "pst_inventato",
        "",
        &site.provincia[..site.provincia.len() - 1],
    ] {
        let response = site.send(Request::get(&api("/me")).bearer(token)).await;
        assert_error(&response, 401, "unauthenticated");
    }
    for id in ["999999", "abc"] {
        let response = site
            .send(Request::delete(&api(&format!("/tokens/{id}"))).bearer(&site.provincia))
            .await;
        assert_error(&response, 404, "not_found");
    }
    assert_eq!(
        site.get(&site.provincia, "/me").await["username"],
        "provincia"
    );
}

async fn comune_admins_reach_nothing_outside_their_domains(config: &TestConfig) {
    let site = site(config).await;
    let doc = site.openapi().await;
    let bruno_id = site.token_id("bruno").await;
    let values = values_of(B, "suap-b", "bruno", bruno_id);
    let bodies = bodies_for(B);
    let before = site.view_of(B, "bruno").await;
    let before_a = site.view_of(A, "bruno").await;

    let mut probed = 0;
    for operation in operations(&doc) {
        if operation.is_public() {
            continue;
        }
        let key = operation.key();
        for request in probes(&operation, &values, &bodies) {
            let response = site.send(request.bearer(&site.anna)).await;
            probed += 1;
            if SCOPED.contains(&key.as_str()) {
                assert!(
                    (200..300).contains(&response.status),
                    "{key}: {response:#?}"
                );
                for foreign in [B, "suap-b", "bruno"] {
                    assert!(
                        !response.body.contains(foreign),
                        "{key} shows `{foreign}` to a comune admin of {A}: {response:#?}"
                    );
                }
            } else {
                // 403 only for what is refused whatever the domain: the
                // provincial actions, and what is about a mailbox user's
                // own mailbox (admins change their password with the CLI).
                let refused =
                    PROVINCIAL_ONLY.contains(&key.as_str()) || OWN_MAILBOX.contains(&key.as_str());
                let expected: &[u16] = if refused { &[403, 404] } else { &[404] };
                assert!(
                    expected.contains(&response.status),
                    "{key} for a comune admin of {A} on {B}: {response:#?}"
                );
                response.json();
                assert!(
                    operation.documents(response.status),
                    "{key} answered {}, which it does not document",
                    response.status
                );
            }
        }
    }
    assert!(probed > 20, "only {probed} probes");

    // Listings without a domain show only A.
    for path in ["/audit", "/audit?actor=cli%3Aroot", "/audit?format=csv"] {
        let response = site.send(Request::get(&api(path)).bearer(&site.anna)).await;
        assert_eq!(response.status, 200, "{path}: {response:#?}");
        assert!(
            !response.body.contains(B),
            "{path} shows {B}: {response:#?}"
        );
    }

    // Provincial-only actions are refused on its own domain as well.
    let values_a = values_of(A, "suap-a", "bruno", bruno_id);
    let bodies_a = bodies_for(A);
    for operation in operations(&doc) {
        if !PROVINCIAL_ONLY.contains(&operation.key().as_str()) {
            continue;
        }
        for request in probes(&operation, &values_a, &bodies_a) {
            let response = site.send(request.bearer(&site.anna)).await;
            assert_error(&response, 403, "forbidden");
        }
    }

    assert_eq!(site.view_of(B, "bruno").await, before, "B changed");
    assert_eq!(site.view_of(A, "bruno").await, before_a, "A changed");
    // The audit log is part of both views: no entry was added.
    site.login(&mario(B), MARIO_PASSWORD).await;
}

async fn mailbox_users_reach_only_their_own_account(config: &TestConfig) {
    let site = site(config).await;
    let doc = site.openapi().await;
    let user = site.login(&mario(A), MARIO_PASSWORD).await;
    let values = values_of(A, "suap-a", "anna", site.token_id("anna").await);
    let bodies = bodies_for(A);
    let before = site.view_of(A, "anna").await;
    for operation in operations(&doc) {
        let key = operation.key();
        if operation.is_public() || SELF_SERVICE.contains(&key.as_str()) {
            continue;
        }
        for request in probes(&operation, &values, &bodies) {
            let response = site.send(user.with(request)).await;
            let error = assert_error(&response, 403, "forbidden");
            assert!(operation.documents(403), "{key} does not document its 403");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("/me"),
                "{key}: {error}"
            );
        }
    }
    assert_eq!(site.view_of(A, "anna").await, before, "A changed");

    let me = site
        .send(Request::get(&api("/me")).cookie(&user.cookie))
        .await;
    assert_eq!(me.status, 200, "{me:#?}");
    let me = me.json();
    assert_eq!(me["kind"], "mailbox");
    assert_eq!(me["address"], mario(A));
    assert!(
        me["used_bytes"].is_i64() && me["quota_bytes"].is_i64(),
        "{me}"
    );

    let change = |current: &str, new: &str| {
        let body = json!({ "current_password": current, "new_password": new });
        user.with(Request::put(&api("/me/password")).json(&body))
    };
    const NEW: &str = "nuova-password-di-mario";
    let wrong = site.send(change("password-sbagliata", NEW)).await;
    let error = assert_error(&wrong, 422, "invalid");
    assert_eq!(error["field"], "current_password");
    let short = site.send(change(MARIO_PASSWORD, "corta")).await;
    let error = assert_error(&short, 422, "invalid");
    assert_eq!(error["field"], "new_password");
    let changed = site.send(change(MARIO_PASSWORD, NEW)).await;
    assert_eq!(changed.status, 204, "{changed:#?}");
    let ended = site.send(user.with(Request::get(&api("/me")))).await;
    assert_error(&ended, 401, "unauthenticated");

    let old = site.try_login(&mario(A), MARIO_PASSWORD).await;
    assert_error(&old, 401, "invalid_credentials");
    site.login(&mario(A), NEW).await;
    for (password, status) in [(MARIO_PASSWORD, "NO"), (NEW, "OK")] {
        let mut imap = ImapClient::connect(site.imap).await;
        let login = imap
            .command(&format!("LOGIN \"{}\" \"{password}\"", mario(A)))
            .await;
        assert_eq!(
            login.status(),
            status,
            "IMAP LOGIN with {password}: {login:#?}"
        );
    }
    // The other domain's mario keeps his password.
    site.login(&mario(B), MARIO_PASSWORD).await;
}

/// An audit entry a change must add.
struct Entry<'a> {
    action: &'a str,
    actor: &'a str,
    domain: Option<&'a str>,
    before: bool,
    after: bool,
}

fn entry<'a>(
    action: &'a str,
    actor: &'a str,
    domain: Option<&'a str>,
    before: bool,
    after: bool,
) -> Entry<'a> {
    Entry {
        action,
        actor,
        domain,
        before,
        after,
    }
}

/// Changes made through the API, each checked against the audit log.
struct Changes<'a> {
    site: &'a Site,
    /// The operations exercised, as `METHOD /path`.
    exercised: BTreeSet<String>,
}

impl Changes<'_> {
    /// Sends a change of operation `key`, which must answer `status`, and
    /// checks the entries it added to the audit log; its answer's body.
    async fn make(
        &mut self,
        key: &str,
        request: Request,
        status: u16,
        expected: &[Entry<'_>],
    ) -> Value {
        let site = self.site;
        let last = site.newest_audit_id().await;
        let response = site.send(request).await;
        assert_eq!(response.status, status, "{key}: {response:#?}");
        self.exercised.insert(key.to_string());
        let added = site.audit_since(last).await;
        assert_eq!(added.len(), expected.len(), "{key} added {added:#?}");
        for (got, wanted) in added.iter().zip(expected) {
            assert_eq!(got["action"], wanted.action, "{key}: {got}");
            assert_eq!(got["actor"], wanted.actor, "{key}: {got}");
            assert_eq!(got["origin"], "127.0.0.1", "{key}: {got}");
            assert_eq!(got["domain"].as_str(), wanted.domain, "{key}: {got}");
            for (field, present) in [("before", wanted.before), ("after", wanted.after)] {
                assert_eq!(!got[field].is_null(), present, "{key}: {field} in {got}");
                if let Some(text) = got[field].as_str() {
                    serde_json::from_str::<Value>(text)
                        .unwrap_or_else(|e| panic!("{key}: {field} is not JSON ({e}): {got}"));
                }
            }
        }
        if response.body.is_empty() {
            Value::Null
        } else {
            response.json()
        }
    }
}

async fn every_change_is_audited_without_secrets(config: &TestConfig) {
    const C: &str = "comune-c.esempio.it";
    const LUCIA_PASSWORD: &str = "password-di-lucia";
    const LUCIA_NEW: &str = "nuova-password-di-lucia";
    const RELAY_PASSWORD: &str = "password-del-protocollo";
    const RELAY_NEW: &str = "nuova-password-del-protocollo";
    const MARIO_NEW: &str = "nuova-password-di-mario";
    let site = site(config).await;
    let anna = site.login("anna", ANNA_PASSWORD).await;
    let user = site.login(&mario(A), MARIO_PASSWORD).await;
    let provincia = |request: Request| request.bearer(&site.provincia);
    let lucia = format!("lucia@{A}");
    let ufficio = format!("ufficio@{A}");
    let mut changes = Changes {
        site: &site,
        exercised: BTreeSet::new(),
    };

    let new_domain = json!({ "name": C, "quota_bytes": 10_000_000 });
    changes
        .make(
            "POST /domains",
            provincia(Request::post(&api("/domains")).json(&new_domain)),
            201,
            &[entry("domain.add", "provincia", Some(C), false, true)],
        )
        .await;
    let limit = json!({ "max_mailboxes": 5 });
    let limited = changes
        .make(
            "PATCH /domains/{domain}",
            provincia(Request::patch(&api(&format!("/domains/{C}"))).json(&limit)),
            200,
            &[entry("domain.update", "provincia", Some(C), true, true)],
        )
        .await;
    // Booleans are JSON booleans, not the store's integers.
    assert_eq!(limited["active"], json!(true), "{limited}");

    let new_mailbox =
        json!({ "address": lucia, "password": LUCIA_PASSWORD, "display_name": "Lucia" });
    changes
        .make(
            "POST /mailboxes",
            anna.with(Request::post(&api("/mailboxes")).json(&new_mailbox)),
            201,
            &[entry("mailbox.add", "anna", Some(A), false, true)],
        )
        .await;
    let renamed = json!({ "display_name": "Lucia Bianchi" });
    changes
        .make(
            "PATCH /mailboxes/{address}",
            anna.with(Request::patch(&api(&format!("/mailboxes/{lucia}"))).json(&renamed)),
            200,
            &[entry("mailbox.update", "anna", Some(A), true, true)],
        )
        .await;
    let reset = json!({ "password": LUCIA_NEW });
    changes
        .make(
            "PUT /mailboxes/{address}/password",
            anna.with(Request::put(&api(&format!("/mailboxes/{lucia}/password"))).json(&reset)),
            204,
            &[entry("mailbox.passwd", "anna", Some(A), false, false)],
        )
        .await;

    let shared = json!({ "rights": "lrs", "send_as": true });
    changes
        .make(
            "PUT /mailboxes/{address}/shares/{user}",
            anna.with(
                Request::put(&api(&format!("/mailboxes/{lucia}/shares/{}", mario(A))))
                    .json(&shared),
            ),
            200,
            &[entry("mailbox.share", "anna", Some(A), false, true)],
        )
        .await;
    changes
        .make(
            "DELETE /mailboxes/{address}/shares/{user}",
            anna.with(Request::delete(&api(&format!(
                "/mailboxes/{lucia}/shares/{}",
                mario(A)
            )))),
            204,
            &[entry("mailbox.unshare", "anna", Some(A), true, false)],
        )
        .await;

    let alias = json!({ "source": ufficio, "targets": [lucia, mario(A)] });
    let added = changes
        .make(
            "POST /aliases",
            anna.with(Request::post(&api("/aliases")).json(&alias)),
            201,
            &[entry("alias.add", "anna", Some(A), false, true)],
        )
        .await;
    assert_eq!(added.as_array().map(Vec::len), Some(2), "{added}");
    changes
        .make(
            "DELETE /aliases/{source}/targets/{target}",
            anna.with(Request::delete(&api(&format!(
                "/aliases/{ufficio}/targets/{lucia}"
            )))),
            200,
            &[entry("alias.remove", "anna", Some(A), true, false)],
        )
        .await;
    let aliases = site
        .get(&site.provincia, &format!("/domains/{A}/aliases"))
        .await;
    let left: Vec<&Value> = aliases
        .as_array()
        .expect("an array")
        .iter()
        .filter(|a| a["source"] == ufficio.as_str())
        .collect();
    assert_eq!(left, [&json!({ "source": ufficio, "target": mario(A) })]);
    changes
        .make(
            "DELETE /aliases/{source}",
            anna.with(Request::delete(&api(&format!("/aliases/{ufficio}")))),
            200,
            &[entry("alias.remove", "anna", Some(A), true, false)],
        )
        .await;

    let keys = changes
        .make(
            "POST /domains/{domain}/dkim",
            provincia(
                Request::post(&api(&format!("/domains/{A}/dkim")))
                    .json(&json!({ "algorithm": "rsa" })),
            ),
            201,
            &[entry("dkim.generate", "provincia", Some(A), false, true)],
        )
        .await;
    assert_eq!(
        keys[0]["algorithm"].as_str().map(|a| a.starts_with("rsa")),
        Some(true),
        "{keys}"
    );
    let grace = json!({ "grace_seconds": 3600 });
    let rotation = changes
        .make(
            "POST /domains/{domain}/dkim/rotate",
            anna.with(Request::post(&api(&format!("/domains/{A}/dkim/rotate"))).json(&grace)),
            200,
            &[entry("dkim.rotate", "anna", Some(A), true, true)],
        )
        .await;
    assert_eq!(
        rotation["added"].as_array().map(Vec::len),
        Some(2),
        "{rotation}"
    );
    assert_eq!(
        rotation["retiring"].as_array().map(Vec::len),
        Some(2),
        "{rotation}"
    );

    let relay = json!({ "name": "protocollo-a", "password": RELAY_PASSWORD, "sender_domains": [A], "rate_per_minute": 30 });
    let client = changes
        .make(
            "POST /relay-clients",
            anna.with(Request::post(&api("/relay-clients")).json(&relay)),
            201,
            &[entry("relay.add", "anna", Some(A), false, true)],
        )
        .await;
    assert_eq!(client["password"], true, "{client}");
    let change = json!({ "password": RELAY_NEW, "rate_per_minute": 60 });
    let client = changes
        .make(
            "PATCH /relay-clients/{name}",
            anna.with(Request::patch(&api("/relay-clients/protocollo-a")).json(&change)),
            200,
            &[entry("relay.update", "anna", Some(A), true, true)],
        )
        .await;
    assert_eq!(
        (&client["rate_per_minute"], &client["password"]),
        (&json!(60), &json!(true)),
        "{client}"
    );
    let updated = site.audit_since(0).await;
    let updated = updated
        .iter()
        .find(|e| e["action"] == "relay.update")
        .expect("a relay.update entry");
    let after: Value =
        serde_json::from_str(updated["after"].as_str().unwrap_or("null")).expect("after is JSON");
    assert_eq!(after["password_reset"], true, "{updated}");
    assert_eq!(after["rate_per_minute"], 60, "{updated}");
    changes
        .make(
            "DELETE /relay-clients/{name}",
            anna.with(Request::delete(&api("/relay-clients/protocollo-a"))),
            200,
            &[entry("relay.remove", "anna", Some(A), true, false)],
        )
        .await;

    // Out of office and forwarding: the user's own, then a comune admin's
    // on the same mailbox, each keeping what the other set.
    let mario_a = mario(A);
    let away = json!({ "enabled": true, "start": "2026-12-24", "end": "2027-01-06",
        "subject": "Ferie", "message": "Sono in ferie." });
    let set = changes
        .make(
            "PUT /me/vacation",
            user.with(Request::put(&api("/me/vacation")).json(&away)),
            200,
            &[entry("mailbox.vacation", &mario_a, Some(A), true, true)],
        )
        .await;
    assert_eq!(set["settings"], away, "{set}");
    let forward =
        json!({ "enabled": true, "forward_to": "collega@esterno.example", "keep_copy": true });
    changes
        .make(
            "PUT /me/forwarding",
            user.with(Request::put(&api("/me/forwarding")).json(&forward)),
            200,
            &[entry("mailbox.forwarding", &mario_a, Some(A), true, true)],
        )
        .await;
    let covering = json!({ "enabled": true, "message": "Mario è assente; scrivete a info." });
    let set = changes
        .make(
            "PUT /mailboxes/{address}/vacation",
            anna.with(
                Request::put(&api(&format!("/mailboxes/{mario_a}/vacation"))).json(&covering),
            ),
            200,
            &[entry("mailbox.vacation", "anna", Some(A), true, true)],
        )
        .await;
    assert_eq!(set["generated_active"], true, "{set}");
    let off = json!({ "enabled": false });
    let set = changes
        .make(
            "PUT /mailboxes/{address}/forwarding",
            anna.with(Request::put(&api(&format!("/mailboxes/{mario_a}/forwarding"))).json(&off)),
            200,
            &[entry("mailbox.forwarding", "anna", Some(A), true, true)],
        )
        .await;
    assert_eq!(
        set["settings"],
        json!({ "enabled": false, "forward_to": "", "keep_copy": true }),
        "{set}"
    );

    let own = json!({ "current_password": MARIO_PASSWORD, "new_password": MARIO_NEW });
    changes
        .make(
            "PUT /me/password",
            user.with(Request::put(&api("/me/password")).json(&own)),
            204,
            &[entry("mailbox.passwd", &mario_a, Some(A), false, false)],
        )
        .await;

    let bruno_id = site.token_id("bruno").await;
    changes
        .make(
            "DELETE /tokens/{id}",
            provincia(Request::delete(&api(&format!("/tokens/{bruno_id}")))),
            200,
            &[entry("token.revoke", "provincia", None, true, true)],
        )
        .await;

    changes
        .make(
            "DELETE /mailboxes/{address}",
            anna.with(Request::delete(&api(&format!("/mailboxes/{lucia}")))),
            200,
            &[entry("mailbox.remove", "anna", Some(A), true, false)],
        )
        .await;
    changes
        .make(
            "DELETE /domains/{domain}",
            provincia(Request::delete(&api(&format!("/domains/{C}?force=true")))),
            200,
            &[entry("domain.remove", "provincia", Some(C), true, false)],
        )
        .await;

    // Every operation that changes something was exercised.
    let doc = site.openapi().await;
    let every_change: BTreeSet<String> = operations(&doc)
        .iter()
        .filter(|o| o.method != "GET" && !o.path.starts_with("/session"))
        .map(Operation::key)
        .collect();
    assert_eq!(changes.exercised, every_change);

    // No secret anywhere in the log, in either format, nor in the
    // server's own log.
    let secrets: [&str; 16] = [
        PROVINCIA_PASSWORD,
        ANNA_PASSWORD,
        BRUNO_PASSWORD,
        MARIO_PASSWORD,
        MARIO_NEW,
        LUCIA_PASSWORD,
        LUCIA_NEW,
        RELAY_PASSWORD,
        RELAY_NEW,
        &site.provincia,
        &site.anna,
        &site.bruno,
        anna.value(),
        &anna.csrf,
        user.value(),
        &user.csrf,
    ];
    let json_log = site
        .send(Request::get(&api("/audit?limit=1000")).bearer(&site.provincia))
        .await;
    let csv_log = site
        .send(Request::get(&api("/audit?limit=1000&format=csv")).bearer(&site.provincia))
        .await;
    let server_log = site.server.log();
    for (name, text) in [
        ("JSON", &json_log.body),
        ("CSV", &csv_log.body),
        ("server log", &server_log),
    ] {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret in the {name}: {secret}");
        }
        assert!(!text.contains("$argon2"), "a password hash in the {name}");
    }

    // CSV, by parameter or by Accept header, as a file to save.
    let entries = json_log.json().as_array().expect("an array").len();
    let by_accept = site
        .send(
            Request::get(&api("/audit?limit=1000"))
                .bearer(&site.provincia)
                .header("Accept", "text/csv"),
        )
        .await;
    for csv in [&csv_log, &by_accept] {
        assert_eq!(csv.status, 200, "{csv:#?}");
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(
            csv.header("content-disposition"),
            Some("attachment; filename=\"postino-audit.csv\"")
        );
        assert!(
            csv.body
                .starts_with("id,at,actor,origin,action,domain,target,before,after\r\n"),
            "{}",
            csv.body
        );
        assert_eq!(csv.body.matches(",127.0.0.1,").count(), 23, "{}", csv.body);
        assert_eq!(csv.body.lines().count(), entries + 1, "{}", csv.body);
    }
    let json_again = site
        .send(
            Request::get(&api("/audit?format=json"))
                .bearer(&site.provincia)
                .header("Accept", "text/csv"),
        )
        .await;
    assert_eq!(json_again.header("content-type"), Some("application/json"));

    // Filters: by actor, by time (RFC 3339 or seconds), by domain; a
    // comune admin sees its own domains' entries only.
    let by_anna = site.get(&site.provincia, "/audit?actor=anna").await;
    let by_anna = by_anna.as_array().expect("an array");
    assert_eq!(by_anna.len(), 15, "{by_anna:#?}");
    assert!(by_anna.iter().all(|e| e["actor"] == "anna"));
    let now = by_anna[0]["at"].as_i64().expect("a time");
    for (query, count) in [
        ("since=2000-01-01T00:00:00Z".to_string(), entries),
        (format!("since={}", now - 3600), entries),
        (format!("since={}", now + 3600), 0),
        ("until=2000-01-01T01:00:00%2B01:00".to_string(), 0),
        (format!("domain={C}"), 3),
    ] {
        let listed = site
            .get(&site.provincia, &format!("/audit?limit=1000&{query}"))
            .await;
        let listed = listed.as_array().expect("an array");
        assert_eq!(listed.len(), count, "{query}: {listed:#?}");
    }
    let seen = site
        .send(anna.with(Request::get(&api("/audit?limit=1000"))))
        .await
        .json();
    let seen = seen.as_array().expect("an array");
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|e| e["domain"] == A), "{seen:#?}");
    let page = site.get(&site.provincia, "/audit?limit=2").await;
    let last = page[1]["id"].as_i64().expect("an id");
    let next = site
        .get(&site.provincia, &format!("/audit?limit=2&before_id={last}"))
        .await;
    let next = next.as_array().expect("an array");
    assert_eq!(next.len(), 2, "{next:#?}");
    assert!(next.iter().all(|e| e["id"].as_i64() < Some(last)));
}

/// A relay client sending from two comuni is neither's alone: its audit
/// entries, with its networks, are no more visible to a comune admin than
/// the client itself, in JSON or in CSV.
async fn audit_entries_are_scoped_like_what_they_describe(config: &TestConfig) {
    let site = site(config).await;
    let shared = [
        "relay",
        "add",
        "protocollo-ab",
        "--cidr",
        "10.9.0.0/16",
        "--sender-domain",
        A,
        "--sender-domain",
        B,
    ];
    run(config, &shared, None).await;
    let audit = |token: &str, format: &'static str| {
        let request = Request::get(&api(&format!("/audit?limit=1000&format={format}")));
        site.send(request.bearer(token))
    };
    for token in [&site.anna, &site.bruno] {
        let json = audit(token, "json").await;
        let csv = audit(token, "csv").await;
        for (format, response) in [("JSON", &json), ("CSV", &csv)] {
            assert_eq!(response.status, 200, "{response:#?}");
            assert!(
                !response.body.contains("protocollo-ab") && !response.body.contains("10.9.0.0"),
                "{format}: {}",
                response.body
            );
        }
        // Their own domain's relay client is listed.
        assert!(json.body.contains("\"relay.add\""), "{}", json.body);
        assert!(csv.body.contains(",relay.add,"), "{}", csv.body);
        let relays = site.get(token, "/relay-clients").await;
        assert!(!relays.to_string().contains("protocollo-ab"), "{relays}");
    }
    let everything = audit(&site.provincia, "csv").await;
    assert!(
        everything
            .body
            .contains(",relay.add,comune-a.esempio.it,protocollo-ab,")
    );
    let under_b = site
        .get(&site.provincia, &format!("/audit?limit=1000&domain={B}"))
        .await;
    assert!(under_b.to_string().contains("protocollo-ab"), "{under_b}");
}

async fn bad_requests_get_json_errors(config: &TestConfig) {
    let site = site(config).await;
    let as_provincia = |request: Request| request.bearer(&site.provincia);
    let post = |path: &str, body: &str| {
        as_provincia(Request::post(&api(path)).body("application/json", body))
    };
    let patch = |path: &str, body: &str| {
        as_provincia(Request::patch(&api(path)).body("application/json", body))
    };

    let cases: Vec<(Request, u16, &str, Option<&str>)> = vec![
        (post("/domains", r#"{"name": "nuovo.esempio.it", "quota": 5}"#), 422, "invalid", Some("quota")),
        (post("/domains", r#"{"name": "#), 400, "bad_request", None),
        (post("/domains", "not json"), 400, "bad_request", None),
        (post("/domains", r#"{"name": "nuovo.esempio.it", "quota_bytes": "tanto"}"#), 422, "invalid", Some("quota_bytes")),
        (post("/domains", r#"{"quota_bytes": 5}"#), 422, "invalid", Some("name")),
        (post("/domains", r#"{"name": "non valido"}"#), 422, "invalid", Some("domain")),
        (post("/domains", &json!({ "name": A }).to_string()), 409, "already_exists", None),
        (as_provincia(Request::post(&api("/domains")).body("text/plain", r#"{"name": "x.it"}"#)), 400, "bad_request", None),
        (as_provincia(Request::get(&api("/domains/non_valido!"))), 422, "invalid", Some("domain")),
        (as_provincia(Request::get(&api("/domains/nessuno.esempio.it"))), 404, "not_found", None),
        (as_provincia(Request::delete(&api(&format!("/domains/{B}?force=forse")))), 422, "invalid", Some("force")),
        (as_provincia(Request::delete(&api(&format!("/domains/{B}?forza=true")))), 422, "invalid", Some("forza")),
        (as_provincia(Request::delete(&api(&format!("/domains/{B}")))), 409, "conflict", None),
        (post("/mailboxes", &json!({ "address": "senza-chiocciola" }).to_string()), 422, "invalid", Some("address")),
        (post("/mailboxes", &json!({ "address": format!("nuovo@{A}"), "password": "corta" }).to_string()), 422, "invalid", Some("password")),
        (post("/aliases", &json!({ "source": "non valida", "targets": [mario(A)] }).to_string()), 422, "invalid", Some("source")),
        (post("/aliases", &json!({ "source": format!("@{A}"), "targets": [] }).to_string()), 422, "invalid", Some("targets")),
        (post("/aliases", &json!({ "source": format!("x@{A}"), "targets": ["non valida"] }).to_string()), 422, "invalid", Some("targets")),
        (post("/aliases", &json!({ "source": format!("x@{A}"), "targets": [format!("nessuno@{A}")] }).to_string()), 404, "not_found", None),
        (post("/aliases", &json!({ "source": mario(A), "targets": [mario(B)] }).to_string()), 409, "already_exists", None),
        (post("/relay-clients", &json!({ "name": "x", "networks": ["10.0.0.0/33"], "sender_domains": [A] }).to_string()), 422, "invalid", Some("networks")),
        (post("/relay-clients", &json!({ "name": "x", "networks": ["10.0.0.0/8"], "sender_domains": ["non valido"] }).to_string()), 422, "invalid", Some("sender_domains")),
        (post("/relay-clients", &json!({ "name": "x", "sender_domains": [A] }).to_string()), 422, "invalid", Some("networks")),
        (post("/relay-clients", &json!({ "name": "suap-a", "networks": ["10.0.0.0/8"], "sender_domains": [A] }).to_string()), 409, "already_exists", None),
        (post("/relay-clients", &json!({ "name": "x", "networks": ["10.0.0.0/8"], "sender_domains": [A], "rate_per_minute": -1 }).to_string()), 422, "invalid", Some("rate_per_minute")),
        (patch("/relay-clients/suap-a", &json!({ "networks": ["10.0.0.0/33"] }).to_string()), 422, "invalid", Some("networks")),
        (patch("/relay-clients/suap-a", &json!({ "networks": [] }).to_string()), 422, "invalid", Some("networks")),
        (patch("/relay-clients/suap-a", &json!({ "sender_domains": [] }).to_string()), 422, "invalid", Some("sender_domains")),
        (patch("/relay-clients/suap-a", &json!({ "sender_domains": ["non valido"] }).to_string()), 422, "invalid", Some("sender_domains")),
        (patch("/relay-clients/suap-a", &json!({ "password": INTRUDER_PASSWORD }).to_string()), 422, "invalid", Some("password")),
        (patch("/relay-clients/suap-a", &json!({ "rate_per_minute": -1 }).to_string()), 422, "invalid", Some("rate_per_minute")),
        (patch("/relay-clients/suap-a", &json!({ "rete": ["10.0.0.0/8"] }).to_string()), 422, "invalid", Some("rete")),
        (patch("/relay-clients/nessuno", &json!({ "rate_per_minute": 1 }).to_string()), 404, "not_found", None),
        (post(&format!("/domains/{A}/dkim"), r#"{"algorithm": "dsa"}"#), 422, "invalid", Some("algorithm")),
        (post(&format!("/domains/{A}/dkim"), r#"{"algorithm": "ed25519"}"#), 409, "conflict", None),
        (post(&format!("/domains/{A}/dkim/rotate"), r#"{"grace_seconds": "una settimana"}"#), 422, "invalid", Some("grace_seconds")),
        (post(&format!("/domains/{A}/dkim/rotate"), r#"{"grace_seconds": 18446744073709551615}"#), 422, "invalid", Some("grace_seconds")),
        (as_provincia(Request::get(&api("/"))), 404, "not_found", None),
        (as_provincia(Request::get(&api("/nessuno"))), 404, "not_found", None),
        (as_provincia(Request::get(&api("/audit?since=ieri"))), 422, "invalid", Some("since")),
        (as_provincia(Request::get(&api("/audit?limit=0"))), 422, "invalid", Some("limit")),
        (as_provincia(Request::get(&api("/audit?limit=tanti"))), 422, "invalid", Some("limit")),
        (as_provincia(Request::get(&api("/audit?format=xml"))), 422, "invalid", Some("format")),
        (as_provincia(Request::get(&api("/audit?since=10&until=5"))), 422, "invalid", Some("until")),
        (as_provincia(Request::get(&api("/nessuno"))), 404, "not_found", None),
        (as_provincia(Request::get(&api(&format!("/domains/{A}/nessuno")))), 404, "not_found", None),
        (Request::get(&api("/nessuno")), 404, "not_found", None),
        (Request::get(&api("/domains")), 401, "unauthenticated", None),
        (Request::post(&api("/domains")).json(&json!({ "name": "x.it" })), 401, "unauthenticated", None),
    ];
    let before = site.view_of(A, "anna").await;
    for (request, status, code, field) in cases {
        let response = site.send(request.clone()).await;
        let error = assert_error(&response, status, code);
        assert_eq!(error["field"].as_str(), field, "{request:?}: {response:#?}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{response:#?}"
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{response:#?}"
        );
    }
    assert_eq!(
        site.view_of(A, "anna").await,
        before,
        "a refused request changed A"
    );

    let wrong_method = site
        .send(as_provincia(Request::put(&api("/domains"))))
        .await;
    assert_eq!(wrong_method.status, 405, "{wrong_method:#?}");
}

async fn the_openapi_document_matches_the_server(config: &TestConfig) {
    let site = site(config).await;
    let response = site.send(Request::get(&api("/openapi.json"))).await;
    assert_eq!(response.status, 200, "{response:#?}");
    assert_eq!(response.header("content-type"), Some("application/json"));
    let doc = response.json();
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3."), "OpenAPI {version}");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(doc["info"]["title"], "Postino admin API");
    let ops = operations(&doc);
    let mut ids = BTreeSet::new();
    for operation in &ops {
        let id = operation.spec["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{} has no operationId", operation.key());
        assert!(ids.insert(id), "operationId {id} is not unique");
    }
    let keys: BTreeSet<String> = ops.iter().map(Operation::key).collect();
    for known in [
        "POST /session",
        "GET /me",
        "GET /domains/{domain}",
        "POST /mailboxes",
        "GET /domains/{domain}/aliases",
        "POST /aliases",
        "DELETE /aliases/{source}",
        "DELETE /aliases/{source}/targets/{target}",
        "GET /domains/{domain}/dkim",
        "POST /domains/{domain}/dkim",
        "POST /domains/{domain}/dkim/rotate",
        "GET /domains/{domain}/dns",
        "GET /relay-clients",
        "POST /relay-clients",
        "PATCH /relay-clients/{name}",
        "DELETE /relay-clients/{name}",
        "GET /audit",
        "GET /tokens",
        "DELETE /tokens/{id}",
    ] {
        assert!(
            keys.contains(known),
            "{known} is not in the document: {keys:#?}"
        );
    }

    // Every operation is routed, and answers with a status it documents;
    // named resources that do not exist leave the site as it was.
    let nothing = values_of("nessuno.esempio.it", "nessuno", "provincia", 999_999);
    for operation in &ops {
        let mut request = Request::new(&operation.method, &operation.target(&nothing));
        if operation.has_body() {
            request = request.json(&json!({}));
        }
        let response = site.send(request.clone().bearer(&site.provincia)).await;
        let key = operation.key();
        assert_ne!(response.status, 405, "{key} is not routed: {response:#?}");
        if response.status == 404 {
            assert_ne!(
                response.json()["error"]["message"],
                "no such API endpoint",
                "{key} is not routed"
            );
        }
        assert!(
            operation.documents(response.status),
            "{key} answered {}, which it does not document: {response:#?}",
            response.status
        );
        if !operation.is_public() {
            let anonymous = site.send(request).await;
            assert_error(&anonymous, 401, "unauthenticated");
            assert!(operation.documents(401), "{key} does not document its 401");
        }
        if response.status >= 400 {
            let schema = operation.response_schema(response.status);
            conforms(&doc, schema, &response.json())
                .unwrap_or_else(|e| panic!("{key} {}: {e}", response.status));
        }
    }

    // Reads of real resources answer what their documents promise; those
    // of a mailbox user's own mailbox, to the user.
    let values = values_of(A, "suap-a", "anna", site.token_id("anna").await);
    let user = site.login(&mario(A), MARIO_PASSWORD).await;
    let mut checked = 0;
    for operation in ops.iter().filter(|o| o.method == "GET") {
        let target = operation.target(&values);
        let key = operation.key();
        let request = if OWN_MAILBOX.contains(&key.as_str()) {
            user.with(Request::get(&target))
        } else {
            Request::get(&target).bearer(&site.provincia)
        };
        let response = site.send(request).await;
        assert_eq!(response.status, 200, "{key}: {response:#?}");
        let body = response.json();
        assert!(!body.is_null(), "{key}: {response:#?}");
        conforms(&doc, operation.response_schema(200), &body)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        if body.as_array().is_some_and(|a| !a.is_empty()) || body.is_object() {
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} reads had something to check");
    let add = ops
        .iter()
        .find(|o| o.key() == "POST /mailboxes")
        .expect("POST /mailboxes");
    let made = site
        .send(
            Request::post(&api("/mailboxes"))
                .bearer(&site.provincia)
                .json(&json!({ "address": format!("nuova@{A}") })),
        )
        .await;
    assert_eq!(made.status, 201, "{made:#?}");
    conforms(&doc, add.response_schema(201), &made.json()).expect("a mailbox as documented");
    let login = ops
        .iter()
        .find(|o| o.key() == "POST /session")
        .expect("POST /session");
    assert!(login.is_public());
    let opened = site.try_login("anna", ANNA_PASSWORD).await;
    conforms(&doc, login.response_schema(200), &opened.json()).expect("a session as documented");

    // Paths the document does not have are not served.
    for path in [
        "/api/v1/nessuno",
        "/api/v1/",
        "/api/v1/domains/comune-a.esempio.it/mailboxes/altro",
        "/api/v1/aliases",
        "/api/v2/domains",
    ] {
        let response = site.send(Request::get(path).bearer(&site.provincia)).await;
        assert!(
            [404, 405].contains(&response.status),
            "GET {path}: {response:#?}"
        );
        // `/api/v1/` itself is outside the nested API router.
        if path.len() > "/api/v1/".len() && path.starts_with("/api/v1/") && response.status == 404 {
            assert_error(&response, 404, "not_found");
        }
    }
}

async fn curl_logs_in_and_adds_a_mailbox(config: &TestConfig) {
    let site = site(config).await;
    let jar = config.dir().join("cookies.txt");
    let jar = jar.to_str().expect("temporary paths are UTF-8");
    let base = format!("http://{}/api/v1", site.addr);
    let json_type = "Content-Type: application/json";
    let credentials = json!({ "username": "anna", "password": ANNA_PASSWORD }).to_string();
    let login = run_program(
        "curl",
        &[
            "--silent",
            "--show-error",
            "--fail-with-body",
            "--cookie-jar",
            jar,
            "--header",
            json_type,
            "--data",
            &credentials,
            &format!("{base}/session"),
        ],
        None,
    )
    .await;
    let opened: Value = serde_json::from_str(login.ok()).expect("JSON from the login");
    let csrf = opened["csrf_token"].as_str().expect("a CSRF token");
    let saved = std::fs::read_to_string(jar).expect("curl's cookie jar");
    assert!(
        saved
            .lines()
            .any(|l| l.starts_with("#HttpOnly_") && l.contains("\tpostino_session\t")),
        "{saved}"
    );

    let address = format!("da-curl@{A}");
    let new = json!({ "address": address, "password": "password-da-curl", "display_name": "Curl" })
        .to_string();
    let mailboxes = format!("{base}/mailboxes");
    let curl = |extra: Vec<String>| {
        let mut args: Vec<String> = [
            "--silent",
            "--show-error",
            "--cookie",
            jar,
            "--cookie-jar",
            jar,
            "--write-out",
            "\n%{http_code}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra);
        args
    };
    let status_of = |out: &str| -> (String, String) {
        let (body, status) = out.rsplit_once('\n').unwrap_or(("", out));
        (body.to_string(), status.to_string())
    };

    let without = curl(vec![
        "--header".into(),
        json_type.into(),
        "--data".into(),
        new.clone(),
        mailboxes.clone(),
    ]);
    let out = run_program(
        "curl",
        &without.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    )
    .await;
    let (body, status) = status_of(out.ok());
    assert_eq!(status, "403", "{body}");
    assert!(body.contains("\"csrf\""), "{body}");

    let with = curl(vec![
        "--header".into(),
        json_type.into(),
        "--header".into(),
        format!("X-CSRF-Token: {csrf}"),
        "--data".into(),
        new.clone(),
        mailboxes.clone(),
    ]);
    let out = run_program(
        "curl",
        &with.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    )
    .await;
    let (body, status) = status_of(out.ok());
    assert_eq!(status, "201", "{body}");
    let made: Value = serde_json::from_str(&body).expect("the new mailbox");
    assert_eq!(made["address"], address);
    assert_eq!(made["display_name"], "Curl");
    site.get(&site.provincia, &format!("/mailboxes/{address}"))
        .await;
    site.login(&address, "password-da-curl").await;

    let logout = curl(vec![
        "--request".into(),
        "DELETE".into(),
        "--header".into(),
        format!("X-CSRF-Token: {csrf}"),
        format!("{base}/session"),
    ]);
    let out = run_program(
        "curl",
        &logout.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    )
    .await;
    assert_eq!(status_of(out.ok()).1, "204");
    let me = curl(vec![format!("{base}/me")]);
    let out = run_program(
        "curl",
        &me.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    )
    .await;
    assert_eq!(status_of(out.ok()).1, "401");
}

async fn a_catch_all_is_made_and_removed(config: &TestConfig) {
    let site = site(config).await;
    let catch_all = format!("@{A}");
    let body = json!({ "source": catch_all, "targets": [mario(A)] });
    let made = site
        .send(
            Request::post(&api("/aliases"))
                .json(&body)
                .bearer(&site.anna),
        )
        .await;
    assert_eq!(made.status, 201, "{made:#?}");
    assert_eq!(
        made.json(),
        json!([{ "source": catch_all, "target": mario(A) }])
    );
    let listed = site.get(&site.anna, &format!("/domains/{A}/aliases")).await;
    let catch_alls: Vec<&Value> = listed
        .as_array()
        .expect("an array")
        .iter()
        .filter(|a| a["source"] == catch_all.as_str())
        .collect();
    assert_eq!(
        catch_alls,
        [&json!({ "source": catch_all, "target": mario(A) })]
    );

    // Another comune's catch-all is out of reach, as its domain is.
    let foreign = json!({ "source": format!("@{B}"), "targets": [mario(A)] });
    let refused = site
        .send(
            Request::post(&api("/aliases"))
                .json(&foreign)
                .bearer(&site.anna),
        )
        .await;
    assert_error(&refused, 404, "not_found");

    let path = api(&format!("/aliases/{}", catch_all.replace('@', "%40")));
    let removed = site.send(Request::delete(&path).bearer(&site.anna)).await;
    assert_eq!(removed.status, 200, "{removed:#?}");
    let listed = site.get(&site.anna, &format!("/domains/{A}/aliases")).await;
    let sources: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|a| a["source"].as_str())
        .collect();
    assert_eq!(
        sources,
        [format!("info@{A}")],
        "only the other alias is left"
    );
}

async fn out_of_office_and_forwarding_become_the_active_script(config: &TestConfig) {
    let site = site(config).await;
    let mario_a = mario(A);
    let user = site.login(&mario_a, MARIO_PASSWORD).await;
    let nothing = site
        .send(user.with(Request::get(&api("/me/vacation"))))
        .await;
    assert_eq!(nothing.status, 200, "{nothing:#?}");
    assert_eq!(
        nothing.json(),
        json!({
            "settings": { "enabled": false, "start": null, "end": null, "subject": "", "message": "" },
            "active_script": null,
            "generated_active": false,
        })
    );

    // A script written by hand is active: saving is refused until told
    // to replace it.
    let filters = "require \"fileinto\";\nfileinto \"Archivio\";\n";
    run(
        config,
        &["sieve", "put", &mario_a, "filtri", "-", "--activate"],
        Some(filters),
    )
    .await;
    let away = json!({ "enabled": true, "start": "2026-12-24", "message": "In ferie." });
    let refused = site
        .send(user.with(Request::put(&api("/me/vacation")).json(&away)))
        .await;
    assert_error(&refused, 409, "conflict");
    let state = site
        .send(user.with(Request::get(&api("/me/forwarding"))))
        .await
        .json();
    assert_eq!(
        (&state["active_script"], &state["generated_active"]),
        (&json!("filtri"), &json!(false)),
        "{state}"
    );
    let replaced = site
        .send(user.with(Request::put(&api("/me/vacation?replace=true")).json(&away)))
        .await;
    assert_eq!(replaced.status, 200, "{replaced:#?}");
    assert_eq!(replaced.json()["active_script"], "postino");
    let listed = run(config, &["sieve", "list", &mario_a, "--json"], None).await;
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    let scripts: Vec<(&str, bool)> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| (s["name"].as_str().unwrap_or_default(), s["active"] == true))
        .collect();
    assert_eq!(scripts, [("filtri", false), ("postino", true)]);
    let script = run(config, &["sieve", "get", &mario_a, "postino"], None).await;
    assert!(
        script
            .contains("vacation :days 1 :addresses [\"info@comune-a.esempio.it\"] \"In ferie.\";"),
        "{script}"
    );

    // Bad settings name their field.
    for (path, body, field) in [
        (
            "/me/forwarding",
            json!({ "enabled": true, "forward_to": mario_a }),
            "forward_to",
        ),
        (
            "/me/forwarding",
            json!({ "enabled": true, "forward_to": "non un indirizzo" }),
            "forward_to",
        ),
        (
            "/me/vacation",
            json!({ "enabled": true, "start": "24/12/2026", "message": "x" }),
            "start",
        ),
        (
            "/me/vacation",
            json!({ "enabled": true, "message": " " }),
            "message",
        ),
        (
            "/me/vacation",
            json!({ "enabled": true, "message": "x", "start": "2027-01-06", "end": "2026-12-24" }),
            "end",
        ),
    ] {
        let response = site
            .send(user.with(Request::put(&api(path)).json(&body)))
            .await;
        let error = assert_error(&response, 422, "invalid");
        assert_eq!(error["field"], field, "{body}: {error}");
    }

    // Admins: a comune admin of another domain finds no such mailbox; the
    // provincial admin sees what the user set.
    let target = api(&format!("/mailboxes/{mario_a}/vacation"));
    let other = site
        .send(Request::put(&target).bearer(&site.bruno).json(&away))
        .await;
    assert_error(&other, 404, "not_found");
    let seen = site
        .get(&site.provincia, &format!("/mailboxes/{mario_a}/vacation"))
        .await;
    assert_eq!(
        seen["settings"],
        json!({ "enabled": true, "start": "2026-12-24", "end": null, "subject": "", "message": "In ferie." })
    );
    assert_eq!(seen["generated_active"], true);
}

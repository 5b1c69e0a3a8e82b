//! The web console of the real binary, on both store backends, spoken to
//! as a browser without JavaScript would: GET pages, POST
//! `application/x-www-form-urlencoded` forms, keep cookies, follow no
//! redirect unasked. Each test checks what the pages say and, through the
//! CLI, what the store holds afterwards.

use std::net::SocketAddr;
use std::time::Duration;

use postino_tests::http::{Request, Response};
use postino_tests::{Server, TestConfig, on_both_backends, run_program};
use serde_json::Value;

on_both_backends!(
    pages_need_a_login,
    an_admin_manages_a_domain_from_its_page,
    forms_without_the_session_token_change_nothing,
    a_comune_admin_reaches_only_its_own_domain,
    english_on_request,
    a_mailbox_user_has_its_own_page_and_profile,
    an_admin_edits_a_relay_client_from_its_page,
    a_comune_admin_edits_only_its_own_relay_clients,
    a_mailbox_password_is_reset_from_the_console,
    dkim_keys_are_rotated_from_the_console,
    a_relay_client_is_removed_from_the_console,
    console_changes_are_audited_from_the_loopback_without_passwords,
    a_comune_admin_tunes_its_spam_filter,
    mailboxes_past_their_sending_limits_are_listed,
    a_mailbox_user_sets_its_out_of_office_and_forwarding,
    a_hand_written_script_is_replaced_only_when_confirmed,
    a_comune_admin_switches_on_an_absent_colleagues_reply,
    a_role_mailbox_is_shared_from_the_console,
);

const DOMAIN: &str = "comune.esempio.it";
const ALTRO: &str = "altro.esempio.it";
const ADMIN: &str = "provincia";
const PASSWORD: &str = "una password lunga abbastanza";
const HOSTNAME: &str = "mx.postino.test";

/// A browser: a cookie jar, and the headers it sends with every request.
struct Visitor {
    addr: SocketAddr,
    cookies: Vec<(String, String)>,
    headers: Vec<(&'static str, &'static str)>,
}

impl Visitor {
    fn new(config: &TestConfig) -> Visitor {
        Visitor {
            addr: config.listeners.admin,
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    async fn request(&mut self, method: &str, target: &str, body: Option<String>) -> Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = Request::new(method, target);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if !cookie.is_empty() {
            request = request.cookie(&cookie);
        }
        if let Some(body) = &body {
            request = request.body("application/x-www-form-urlencoded", body);
        }
        let response = request.send(self.addr).await;
        for set in response.headers_named("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() && !set.contains("Max-Age=0") {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        response
    }

    async fn get(&mut self, target: &str) -> Response {
        self.request("GET", target, None).await
    }

    async fn post(&mut self, target: &str, fields: &[(&str, &str)]) -> Response {
        self.request("POST", target, Some(form_body(fields))).await
    }

    /// A page that must be there: its HTML.
    async fn page(&mut self, target: &str) -> String {
        let response = self.get(target).await;
        assert_eq!(response.status, 200, "GET {target}: {}", response.body);
        response.body
    }

    /// Posts a form of the page at `page` with the page's CSRF token.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let html = self.page(page).await;
        let csrf = value_of(&html, "csrf");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    fn has_cookie(&self, name: &str) -> bool {
        self.cookies.iter().any(|(n, _)| n == name)
    }

    /// Fills in the login form found at `login` and sends it.
    async fn log_in_at(&mut self, login: &str, username: &str, password: &str) -> Response {
        let html = self.page(login).await;
        let token = value_of(&html, "token");
        let next = html
            .contains("name=\"next\"")
            .then(|| value_of(&html, "next"));
        let mut fields = vec![
            ("token", token.as_str()),
            ("username", username),
            ("password", password),
        ];
        if let Some(next) = &next {
            fields.push(("next", next));
        }
        self.post("/console/login", &fields).await
    }

    async fn log_in(&mut self, username: &str, password: &str) -> Response {
        self.log_in_at("/console/login", username, password).await
    }
}

/// `fields` as an `application/x-www-form-urlencoded` body, as a browser
/// sends a form.
fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the first input named `name` in a page: every such input
/// is written `name="NAME" value="VALUE"`.
#[track_caller]
fn value_of(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name} with a value in: {html}"))
        + marker.len();
    let len = html[start..].find('"').expect("the end of the value");
    html[start..start + len].replace("&amp;", "&")
}

#[track_caller]
fn expect_redirect(response: &Response, status: u16, location: &str) {
    assert_eq!(
        (response.status, response.header("location")),
        (status, Some(location)),
        "{response:#?}"
    );
}

/// A domain and a provincial admin.
async fn prepare(config: &TestConfig) {
    config
        .cli(&["domain", "add", DOMAIN, "--quota", "10GB"], None)
        .await
        .ok();
    add_admin(config, ADMIN, &["--all-domains"]).await;
}

/// A domain, a provincial admin, and a running server.
async fn start(config: &TestConfig) -> Server {
    prepare(config).await;
    Server::start(config).await
}

async fn add_admin(config: &TestConfig, name: &str, scope: &[&str]) {
    let mut args = vec!["admin", "add", name, "--password-stdin"];
    args.extend_from_slice(scope);
    config.cli(&args, Some(&format!("{PASSWORD}\n"))).await.ok();
}

async fn mailboxes(config: &TestConfig, domain: &str) -> Vec<Value> {
    let listed = config
        .cli(&["mailbox", "list", domain, "--json"], None)
        .await
        .json();
    listed.as_array().expect("a list of mailboxes").clone()
}

async fn pages_need_a_login(config: &TestConfig) {
    config.set("auth", "max_failures_per_ip = 3");
    let _server = start(config).await;
    let mut visitor = Visitor::new(config);

    expect_redirect(&visitor.get("/").await, 303, "/console/");
    for (page, next) in [
        ("/console/", "%2Fconsole%2F"),
        ("/console/audit?actor=x", "%2Fconsole%2Faudit%3Factor%3Dx"),
        ("/console/account", "%2Fconsole%2Faccount"),
        (
            &format!("/console/domains/{DOMAIN}/dkim"),
            "%2Fconsole%2Fdomains%2Fcomune.esempio.it%2Fdkim",
        ),
    ] {
        let login = format!("/console/login?next={next}");
        expect_redirect(&visitor.get(page).await, 303, &login);
    }
    let refused = visitor
        .post("/console/domains", &[("csrf", "x"), ("name", ALTRO)])
        .await;
    expect_redirect(&refused, 303, "/console/login");
    let style = visitor.get("/console/style.css").await;
    assert_eq!(style.status, 200);
    assert_eq!(
        style.header("content-type"),
        Some("text/css; charset=utf-8")
    );

    let login = visitor.page("/console/login").await;
    for needed in [
        "<html lang=\"it\">",
        "<label for=\"username\">",
        "id=\"username\"",
        "<label for=\"password\">",
        "id=\"password\"",
        "id=\"login-submit\"",
        "class=\"skip\" href=\"#main\"",
    ] {
        assert!(login.contains(needed), "{needed} not in: {login}");
    }
    let page = visitor.get("/console/login").await;
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'")),
        "{page:#?}"
    );

    // A login form posted from elsewhere has no token of ours.
    let mut elsewhere = Visitor::new(config);
    let forged = elsewhere
        .post(
            "/console/login",
            &[("username", ADMIN), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, 403, "{forged:#?}");
    assert!(!elsewhere.has_cookie("postino_session"));

    let wrong = visitor.log_in(ADMIN, "sbagliata").await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .body
            .contains("role=\"alert\">Nome utente o password non corretti.")
    );
    assert!(wrong.body.contains("value=\"provincia\""), "{}", wrong.body);
    assert!(!visitor.has_cookie("postino_session"));

    // Back to the page asked for, after the login.
    let asked = visitor.get("/console/audit").await;
    let login = asked.header("location").expect("to the login").to_string();
    let logged = visitor.log_in_at(&login, ADMIN, PASSWORD).await;
    expect_redirect(&logged, 303, "/console/audit");
    let cookie = logged
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("postino_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let list = visitor.page("/console/").await;
    assert!(
        list.contains(&format!(
            "<a href=\"/console/domains/{DOMAIN}\">{DOMAIN}</a>"
        )),
        "{list}"
    );
    assert!(list.contains("0 B di 10 GB"), "{list}");

    // Logged in, the login page sends the admin home.
    expect_redirect(&visitor.get("/console/login").await, 303, "/console/");
    let out = visitor.submit("/console/", "/console/logout", &[]).await;
    expect_redirect(&out, 303, "/console/login?ok=logged-out");
    assert!(!visitor.has_cookie("postino_session"));
    let page = visitor.page("/console/login?ok=logged-out").await;
    assert!(
        page.contains("id=\"flash\" role=\"status\">Sei uscito dalla console."),
        "{page}"
    );
    expect_redirect(
        &visitor.get("/console/").await,
        303,
        "/console/login?next=%2Fconsole%2F",
    );

    // Past the address's failure limit (one failure above, two here), it is
    // refused.
    for _ in 0..2 {
        assert_eq!(visitor.log_in("ignoto", "sbagliata").await.status, 401);
    }
    let throttled = visitor.log_in("ignoto", "sbagliata").await;
    assert_eq!(throttled.status, 429, "{throttled:#?}");
    assert!(throttled.header("retry-after").is_some());
    assert!(
        throttled
            .body
            .contains("Troppi tentativi non riusciti. Riprova tra ")
    );
}

async fn an_admin_manages_a_domain_from_its_page(config: &TestConfig) {
    let _server = start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");
    let domain_page = format!("/console/domains/{DOMAIN}");
    let page = visitor.page(&domain_page).await;
    for id in [
        "mailboxes",
        "new-mailbox-local",
        "new-mailbox-name",
        "new-mailbox-password",
        "new-mailbox-quota",
        "new-mailbox-submit",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "#{id} not in: {page}"
        );
    }

    // A refused form comes back with the error next to its field, what was
    // typed in it, and never the password.
    let action = format!("{domain_page}/mailboxes");
    let mailbox = |quota| {
        [
            ("local", "anagrafe"),
            ("display_name", "<script>alert(\"x\")</script>"),
            ("password", "un'altra password lunga"),
            ("quota", quota),
        ]
    };
    let refused = visitor
        .submit(&domain_page, &action, &mailbox("tanto"))
        .await;
    assert_eq!(refused.status, 422);
    for needed in [
        "<title>Errore: comune.esempio.it — Postino</title>",
        "<p class=\"error\" id=\"new-mailbox-quota-error\" role=\"alert\">Scrivi una dimensione come 2GB, 500MB o 1,5GB.</p>",
        "value=\"tanto\" aria-describedby=\"new-mailbox-quota-hint new-mailbox-quota-error\" aria-invalid=\"true\" autofocus",
    ] {
        assert!(
            refused.body.contains(needed),
            "{needed} not in: {}",
            refused.body
        );
    }
    assert!(!refused.body.contains("un&#39;altra") && !refused.body.contains("un'altra"));
    assert!(mailboxes(config, DOMAIN).await.is_empty());

    let created = visitor.submit(&domain_page, &action, &mailbox("2GB")).await;
    expect_redirect(
        &created,
        303,
        &format!("/console/domains/{DOMAIN}?ok=mailbox-added"),
    );
    let page = visitor
        .page(&format!("{domain_page}?ok=mailbox-added"))
        .await;
    assert!(
        page.contains("id=\"flash\" role=\"status\">Casella creata."),
        "{page}"
    );
    let address = format!("anagrafe@{DOMAIN}");
    let table = &page[page.find("id=\"mailboxes\"").expect("the table")..];
    assert!(
        table.contains(&format!("<th scope=\"row\">{address}</th>")),
        "{table}"
    );
    assert!(table.contains("0 B di 2 GB"), "{table}");
    // The name is shown as text, never run.
    assert!(
        page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");
    let stored = mailboxes(config, DOMAIN).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["address"], address.as_str());
    assert_eq!(stored[0]["display_name"], "<script>alert(\"x\")</script>");
    assert_eq!(stored[0]["quota_bytes"], 2_000_000_000);

    let again = visitor.submit(&domain_page, &action, &mailbox("2GB")).await;
    assert_eq!(again.status, 409);
    assert!(
        again.body.contains(&format!("{address} esiste già.")),
        "{}",
        again.body
    );

    // Edit: name, quota with a decimal comma, disabled.
    let mailbox_page = format!("{domain_page}/mailboxes/anagrafe");
    let edited = visitor
        .submit(
            &mailbox_page,
            &mailbox_page,
            &[
                ("display_name", "Ufficio Anagrafe"),
                ("quota", "1,5GB"),
                ("active", "0"),
            ],
        )
        .await;
    expect_redirect(&edited, 303, &format!("{mailbox_page}?ok=mailbox-updated"));
    let stored = mailboxes(config, DOMAIN).await;
    assert_eq!(
        (
            &stored[0]["display_name"],
            &stored[0]["quota_bytes"],
            &stored[0]["active"]
        ),
        (
            &Value::from("Ufficio Anagrafe"),
            &Value::from(1_500_000_000),
            &Value::from(false)
        )
    );
    let page = visitor.page(&mailbox_page).await;
    assert!(page.contains("value=\"1500MB\""), "{page}");

    // An alias to it, and its removal.
    let added = visitor
        .submit(
            &domain_page,
            &format!("{domain_page}/aliases"),
            &[("source", "protocollo"), ("targets", "anagrafe")],
        )
        .await;
    expect_redirect(&added, 303, &format!("{domain_page}?ok=alias-added"));
    let aliases = config.cli(&["alias", "list", "--json"], None).await.json();
    assert_eq!(
        aliases[0]["source"],
        format!("protocollo@{DOMAIN}").as_str()
    );
    assert_eq!(aliases[0]["target"], address.as_str());
    let missing = visitor
        .submit(
            &domain_page,
            &format!("{domain_page}/aliases"),
            &[("source", "urp"), ("targets", "nessuno")],
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(
        missing
            .body
            .contains(&format!("nessuno@{DOMAIN} non è una casella né un alias.")),
        "{}",
        missing.body
    );
    let removed = visitor
        .submit(
            &domain_page,
            &format!("{domain_page}/aliases/remove"),
            &[
                ("source", &format!("protocollo@{DOMAIN}")),
                ("target", &address),
            ],
        )
        .await;
    expect_redirect(&removed, 303, &format!("{domain_page}?ok=alias-removed"));
    let aliases = config.cli(&["alias", "list", "--json"], None).await.json();
    assert_eq!(aliases, Value::Array(Vec::new()));

    // A relay client sending from the domain.
    let relay = visitor
        .submit(
            &domain_page,
            &format!("{domain_page}/relay"),
            &[
                ("name", "protocollo-sw"),
                ("networks", "10.1.0.0/16"),
                ("rate", "30"),
            ],
        )
        .await;
    expect_redirect(&relay, 303, &format!("{domain_page}?ok=relay-added"));
    let clients = config.cli(&["relay", "list", "--json"], None).await.json();
    assert_eq!(clients[0]["name"], "protocollo-sw");
    assert_eq!(clients[0]["rate_per_minute"], 30);
    let page = visitor.page(&domain_page).await;
    assert!(
        page.contains("10.1.0.0/16") && page.contains("30 al minuto"),
        "{page}"
    );

    // DKIM keys, and the records to publish.
    let dkim_page = format!("{domain_page}/dkim");
    let generated = visitor
        .submit(
            &dkim_page,
            &format!("{dkim_page}/generate"),
            &[("algorithm", "ed25519"), ("selector", "")],
        )
        .await;
    expect_redirect(&generated, 303, &format!("{dkim_page}?ok=dkim-generated"));
    let page = visitor.page(&dkim_page).await;
    let records = &page[page.find("id=\"dns-records\"").expect("the records")..];
    assert!(
        records.contains(&format!(
            "-ed._domainkey.{DOMAIN}. IN TXT &quot;v=DKIM1; k=ed25519; p="
        )),
        "{records}"
    );
    assert!(
        records.contains(&format!("{DOMAIN}. IN MX 10 {HOSTNAME}.")),
        "{records}"
    );
    let twice = visitor
        .submit(
            &dkim_page,
            &format!("{dkim_page}/generate"),
            &[("algorithm", "ed25519")],
        )
        .await;
    assert_eq!(twice.status, 409);
    assert!(twice.body.contains("ruotala invece"), "{}", twice.body);

    // Deleting asks first.
    let confirm = visitor.page(&format!("{mailbox_page}/delete")).await;
    assert!(
        confirm.contains("id=\"delete-mailbox-submit\""),
        "{confirm}"
    );
    assert!(
        confirm.contains(&format!("Eliminare {address}?")),
        "{confirm}"
    );
    let deleted = visitor
        .submit(
            &format!("{mailbox_page}/delete"),
            &format!("{mailbox_page}/delete"),
            &[],
        )
        .await;
    expect_redirect(&deleted, 303, &format!("{domain_page}?ok=mailbox-removed"));
    assert!(mailboxes(config, DOMAIN).await.is_empty());
    assert_eq!(visitor.get(&mailbox_page).await.status, 404);

    // Everything above is in the audit log, on the page and downloaded.
    let audit = visitor
        .page(&format!("/console/audit?domain={DOMAIN}&actor={ADMIN}"))
        .await;
    for action in [
        "mailbox.add",
        "mailbox.update",
        "alias.add",
        "relay.add",
        "dkim.generate",
    ] {
        assert!(
            audit.contains(&format!("<code>{action}</code>")),
            "{action}: {audit}"
        );
    }
    let query = format!("domain={DOMAIN}&actor={ADMIN}");
    let csv = visitor.get(&format!("/console/audit.csv?{query}")).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.body
            .starts_with("id,at,actor,origin,action,domain,target,before,after\r\n")
    );
    assert!(
        csv.body.contains(",provincia,127.0.0.1,mailbox.remove,"),
        "{}",
        csv.body
    );
    let json = visitor.get(&format!("/console/audit.json?{query}")).await;
    assert_eq!(json.status, 200);
    let entries: Value = serde_json::from_str(&json.body).expect("JSON");
    let actions: Vec<&str> = entries
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions.first(), Some(&"mailbox.remove"), "{actions:?}");
    assert!(actions.len() >= 7, "{actions:?}");
    let bad = visitor.get("/console/audit?from=31%2F12%2F2025").await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("id=\"audit-from-error\" role=\"alert\""),
        "{}",
        bad.body
    );
}

async fn forms_without_the_session_token_change_nothing(config: &TestConfig) {
    let _server = start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");
    let action = format!("/console/domains/{DOMAIN}/mailboxes");
    let fields = [("local", "anagrafe"), ("password", PASSWORD)];
    for csrf in [None, Some(""), Some("non-il-token-della-sessione")] {
        let mut all = fields.to_vec();
        if let Some(csrf) = csrf {
            all.push(("csrf", csrf));
        }
        let refused = visitor.post(&action, &all).await;
        assert_eq!(refused.status, 403, "csrf {csrf:?}: {refused:#?}");
        assert!(
            refused.body.contains("Modulo non accettato"),
            "{}",
            refused.body
        );
    }
    let refused = visitor
        .post("/console/domains", &[("name", ALTRO), ("csrf", "x")])
        .await;
    assert_eq!(refused.status, 403);
    assert!(mailboxes(config, DOMAIN).await.is_empty());
    let domains = config.cli(&["domain", "list", "--json"], None).await.json();
    assert_eq!(domains.as_array().map(Vec::len), Some(1), "{domains}");
    // The token of another session is no better.
    let mut other = Visitor::new(config);
    other.log_in(ADMIN, PASSWORD).await;
    let theirs = value_of(&other.page("/console/").await, "csrf");
    let mut all = fields.to_vec();
    all.push(("csrf", &theirs));
    assert_eq!(visitor.post(&action, &all).await.status, 403);
    assert!(mailboxes(config, DOMAIN).await.is_empty());
}

async fn a_comune_admin_reaches_only_its_own_domain(config: &TestConfig) {
    prepare(config).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    config
        .cli(&["mailbox", "add", &format!("anna@{ALTRO}")], None)
        .await
        .ok();
    add_admin(config, "sindaco", &["--domain", DOMAIN]).await;
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in("sindaco", PASSWORD).await, 303, "/console/");

    let list = visitor.page("/console/").await;
    assert!(
        list.contains(&format!("href=\"/console/domains/{DOMAIN}\"")),
        "{list}"
    );
    assert!(!list.contains(ALTRO), "{list}");
    assert!(!list.contains("new-domain-name"), "{list}");

    let other = format!("/console/domains/{ALTRO}");
    for page in [
        other.clone(),
        format!("{other}/dkim"),
        format!("{other}/mailboxes/anna"),
        format!("{other}/mailboxes/anna/delete"),
        "/console/domains/ignoto.esempio.it".to_string(),
    ] {
        let response = visitor.get(&page).await;
        assert_eq!(response.status, 404, "GET {page}");
        assert!(
            response.body.contains("Pagina non trovata"),
            "{}",
            response.body
        );
    }
    // Forms posted with a good token reach nothing there either.
    let own = format!("/console/domains/{DOMAIN}");
    for (action, fields) in [
        (
            format!("{other}/mailboxes"),
            vec![("local", "nuova"), ("password", PASSWORD)],
        ),
        (format!("{other}/mailboxes/anna/delete"), vec![]),
        (
            format!("{other}/mailboxes/anna"),
            vec![("display_name", "Presa"), ("quota", "1GB"), ("active", "0")],
        ),
        (
            format!("{other}/aliases"),
            vec![("source", "tutti"), ("targets", "anna")],
        ),
        (
            format!("{other}/dkim/generate"),
            vec![("algorithm", "ed25519")],
        ),
    ] {
        let response = visitor.submit(&own, &action, &fields).await;
        assert_eq!(response.status, 404, "POST {action}: {}", response.body);
    }
    let theirs = mailboxes(config, ALTRO).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        (&theirs[0]["display_name"], &theirs[0]["active"]),
        (&Value::from(""), &Value::from(true))
    );
    let keys = config.cli(&["dkim", "list", "--json"], None).await.json();
    assert_eq!(keys, Value::Array(Vec::new()));
    let aliases = config.cli(&["alias", "list", "--json"], None).await.json();
    assert_eq!(aliases, Value::Array(Vec::new()));

    // Adding a domain is the province's.
    let refused = visitor
        .submit(
            "/console/",
            "/console/domains",
            &[("name", "nuovo.esempio.it")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let domains = config.cli(&["domain", "list", "--json"], None).await.json();
    assert_eq!(domains.as_array().map(Vec::len), Some(2));
    // Nor does the audit log tell of the other domain.
    let audit = visitor.get(&format!("/console/audit?domain={ALTRO}")).await;
    assert_eq!(audit.status, 422);
    assert!(!audit.body.contains("mailbox.add"), "{}", audit.body);

    // Its own domain is its to manage.
    let created = visitor
        .submit(
            &own,
            &format!("{own}/mailboxes"),
            &[("local", "protocollo"), ("quota", "")],
        )
        .await;
    expect_redirect(&created, 303, &format!("{own}?ok=mailbox-added"));
    assert_eq!(mailboxes(config, DOMAIN).await.len(), 1);
}

async fn english_on_request(config: &TestConfig) {
    let _server = start(config).await;
    let mut browser_en = Visitor::new(config);
    browser_en
        .headers
        .push(("Accept-Language", "en-GB,en;q=0.9,it;q=0.5"));
    let page = browser_en.page("/console/login").await;
    assert!(
        page.contains("<html lang=\"en\">") && page.contains("<h1>Log in</h1>"),
        "{page}"
    );

    // The switch wins over the browser, and is kept.
    let switched = browser_en
        .get("/console/lang?set=it&next=%2Fconsole%2Flogin")
        .await;
    expect_redirect(&switched, 303, "/console/login");
    let page = browser_en.page("/console/login").await;
    assert!(
        page.contains("<html lang=\"it\">") && page.contains("<h1>Accesso</h1>"),
        "{page}"
    );

    let mut visitor = Visitor::new(config);
    let page = visitor.page("/console/login").await;
    assert!(page.contains("<html lang=\"it\">"), "{page}");
    assert!(
        page.contains("href=\"/console/lang?set=en&amp;next=%2Fconsole%2Flogin\""),
        "{page}"
    );
    let switched = visitor
        .get("/console/lang?set=en&next=%2Fconsole%2Flogin")
        .await;
    expect_redirect(&switched, 303, "/console/login");
    assert!(
        switched
            .header("set-cookie")
            .is_some_and(|c| c.starts_with("postino_lang=en;")),
        "{switched:#?}"
    );
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");
    let list = visitor.page("/console/").await;
    for text in [
        "<h1>Domains</h1>",
        "Log out",
        "0 B of 10 GB",
        "Add a domain",
    ] {
        assert!(list.contains(text), "{text} not in: {list}");
    }
    let domain_page = format!("/console/domains/{DOMAIN}");
    let created = visitor
        .submit(
            &domain_page,
            &format!("{domain_page}/mailboxes"),
            &[("local", "urp"), ("quota", "1.5GB")],
        )
        .await;
    let location = created.header("location").expect("a redirect").to_string();
    let page = visitor.page(&location).await;
    assert!(page.contains("role=\"status\">Mailbox created."), "{page}");
    assert!(page.contains("0 B of 1.5 GB"), "{page}");

    // Only pages of the console are gone back to.
    for next in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example%2Fconsole%2F",
    ] {
        let switched = visitor
            .get(&format!("/console/lang?set=it&next={next}"))
            .await;
        expect_redirect(&switched, 303, "/console/");
    }
    let list = visitor.page("/console/").await;
    assert!(list.contains("<h1>Domini</h1>"), "{list}");
}

/// Reads a property list with Python's plistlib, as JSON.
async fn plist(text: &str) -> Value {
    let script = "import json, plistlib, sys\n\
                  print(json.dumps(plistlib.loads(sys.stdin.buffer.read()), default=str))";
    let out = run_program("/usr/bin/python3", &["-c", script], Some(text.as_bytes())).await;
    serde_json::from_str(out.ok()).expect("plistlib's JSON")
}

async fn a_mailbox_user_has_its_own_page_and_profile(config: &TestConfig) {
    prepare(config).await;
    let address = format!("anna@{DOMAIN}");
    let mut args = vec!["mailbox", "add", &address, "--password-stdin"];
    args.extend(["--quota", "2GB", "--name", "Anna & <Rossi>"]);
    config.cli(&args, Some(&format!("{PASSWORD}\n"))).await.ok();
    let _server = Server::start(config).await;
    let mut anna = Visitor::new(config);
    expect_redirect(
        &anna.log_in(&address, PASSWORD).await,
        303,
        "/console/account",
    );

    let page = anna.page("/console/account").await;
    for needed in [
        format!("<dd id=\"account-address\">{address}</dd>"),
        "0 B di 2 GB".to_string(),
        "Anna &amp; &lt;Rossi&gt;".to_string(),
        "href=\"/console/account/postino.mobileconfig\"".to_string(),
        format!("<td>{}</td>", config.listeners.imap_tls.port()),
        "id=\"current-password\"".to_string(),
    ] {
        assert!(page.contains(&needed), "{needed} not in: {page}");
    }
    assert!(!page.contains("/console/audit"), "{page}");
    // The console login shows among the recent ones once written (the
    // history is written every second).
    let shown = postino_tests::within(Duration::from_secs(10), async {
        loop {
            let page = anna.page("/console/account").await;
            if page.contains("<td>127.0.0.1</td><td>web</td>") {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(shown.contains("id=\"recent-logins\""), "{shown}");
    expect_redirect(&anna.get("/console/").await, 303, "/console/account");
    for admin_page in [
        "/console/audit".to_string(),
        format!("/console/domains/{DOMAIN}"),
    ] {
        assert_eq!(anna.get(&admin_page).await.status, 403, "GET {admin_page}");
    }

    let profile = anna.get("/console/account/postino.mobileconfig").await;
    assert_eq!(profile.status, 200, "{profile:#?}");
    assert_eq!(
        profile.header("content-type"),
        Some("application/x-apple-aspen-config")
    );
    let parsed = plist(&profile.body).await;
    assert_eq!(parsed["PayloadType"], "Configuration");
    let payloads = parsed["PayloadContent"].as_array().expect("payloads");
    assert_eq!(payloads.len(), 1);
    let mail = &payloads[0];
    let listeners = config.listeners;
    assert_eq!(mail["PayloadType"], "com.apple.mail.managed");
    assert_eq!(mail["EmailAccountType"], "EmailTypeIMAP");
    assert_eq!(mail["EmailAddress"], address.as_str());
    assert_eq!(mail["EmailAccountName"], "Anna & <Rossi>");
    assert_eq!(mail["IncomingMailServerHostName"], HOSTNAME);
    assert_eq!(
        mail["IncomingMailServerPortNumber"],
        listeners.imap_tls.port()
    );
    assert_eq!(mail["IncomingMailServerUseSSL"], true);
    assert_eq!(mail["IncomingMailServerUsername"], address.as_str());
    assert_eq!(mail["OutgoingMailServerHostName"], HOSTNAME);
    assert_eq!(
        mail["OutgoingMailServerPortNumber"],
        listeners.smtp_submissions.port()
    );
    assert_eq!(mail["OutgoingMailServerUseSSL"], true);
    assert_eq!(mail["OutgoingMailServerUsername"], address.as_str());
    assert!(
        !profile.body.contains(PASSWORD) && mail.get("IncomingPassword").is_none(),
        "{mail}"
    );
    assert_ne!(parsed["PayloadUUID"], mail["PayloadUUID"]);
    assert_eq!(
        parsed["PayloadIdentifier"],
        "test.postino.mx.mail.anna-at-comune.esempio.it"
    );

    // Its password, knowing the current one.
    let new = "una nuova password lunga";
    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        [("current", current), ("new", new), ("repeat", repeat)]
    };
    let differ = anna
        .submit(
            "/console/account",
            "/console/account/password",
            &change(PASSWORD, new, "un'altra ancora"),
        )
        .await;
    assert_eq!(differ.status, 422);
    assert!(
        differ.body.contains(
            "id=\"new-password-repeat-error\" role=\"alert\">Le due password non coincidono."
        ),
        "{}",
        differ.body
    );
    let wrong = anna
        .submit(
            "/console/account",
            "/console/account/password",
            &change("sbagliata", new, new),
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong
            .body
            .contains("id=\"current-password-error\" role=\"alert\">Non è la password attuale."),
        "{}",
        wrong.body
    );
    let mut elsewhere = Visitor::new(config);
    elsewhere.log_in(&address, PASSWORD).await;
    assert_eq!(elsewhere.get("/console/account").await.status, 200);
    let changed = anna
        .submit(
            "/console/account",
            "/console/account/password",
            &change(PASSWORD, new, new),
        )
        .await;
    expect_redirect(&changed, 303, "/console/account?ok=password-changed");
    // This browser stays logged in; the other one is out.
    let after = anna.get("/console/account?ok=password-changed").await;
    assert_eq!(after.status, 200, "{after:#?}");
    let out = elsewhere.get("/console/account").await;
    assert_eq!(out.status, 303, "{out:#?}");
    let mut again = Visitor::new(config);
    assert_eq!(again.log_in(&address, PASSWORD).await.status, 401);
    expect_redirect(&again.log_in(&address, new).await, 303, "/console/account");

    // An admin has no mailbox, so no page of its own nor a profile.
    let mut admin = Visitor::new(config);
    admin.log_in(ADMIN, PASSWORD).await;
    assert_eq!(admin.get("/console/account").await.status, 403);
    let refused = admin.get("/console/account/postino.mobileconfig").await;
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
}

/// The relay clients as `relay list --json` shows them.
async fn relay_clients(config: &TestConfig) -> Vec<Value> {
    let listed = config.cli(&["relay", "list", "--json"], None).await.json();
    listed.as_array().expect("a list of relay clients").clone()
}

/// Adds relay client `name` with the CLI: `suap`-like by `cidr`, or with
/// `password` on standard input.
async fn add_relay(
    config: &TestConfig,
    name: &str,
    cidr: Option<&str>,
    password: Option<&str>,
    domains: &[&str],
) {
    let mut args = vec!["relay", "add", name];
    if let Some(cidr) = cidr {
        args.extend(["--cidr", cidr]);
    }
    if password.is_some() {
        args.push("--password-stdin");
    }
    for domain in domains {
        args.extend(["--sender-domain", domain]);
    }
    let stdin = password.map(|p| format!("{p}\n"));
    config.cli(&args, stdin.as_deref()).await.ok();
}

/// The audit log as the console exports it, newest first.
async fn audit_json(visitor: &mut Visitor, query: &str) -> (String, Vec<Value>) {
    let response = visitor.get(&format!("/console/audit.json?{query}")).await;
    assert_eq!(response.status, 200, "{response:#?}");
    let entries: Value = serde_json::from_str(&response.body).expect("JSON");
    let entries = entries.as_array().expect("a list").clone();
    (response.body, entries)
}

async fn an_admin_edits_a_relay_client_from_its_page(config: &TestConfig) {
    prepare(config).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    add_relay(config, "suap", Some("10.2.0.0/16"), None, &[DOMAIN]).await;
    add_relay(config, "protocollo", None, Some(PASSWORD), &[DOMAIN]).await;
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");

    // Reached from the domain's list, its page shows a labelled form with
    // what the client has now.
    let domain_page = format!("/console/domains/{DOMAIN}");
    let suap_page = format!("{domain_page}/relay/clients/suap");
    let page = visitor.page(&domain_page).await;
    assert!(page.contains(&format!("href=\"{suap_page}\"")), "{page}");
    let page = visitor.page(&suap_page).await;
    for needed in [
        "<h1>Client di inoltro suap</h1>",
        "<label for=\"edit-relay-networks\">",
        ">10.2.0.0/16</textarea>",
        "<label for=\"edit-relay-domains\">",
        &format!(">{DOMAIN}</textarea>"),
        "<label for=\"edit-relay-rate\">",
        "name=\"csrf\"",
        "id=\"edit-relay-submit\"",
    ] {
        assert!(page.contains(needed), "{needed} not in: {page}");
    }
    assert!(!page.contains("edit-relay-password"), "{page}");

    // Refusals name the field, keep what was typed, change nothing.
    let before = relay_clients(config).await;
    let edit = |networks: &'static str, domains: &'static str, rate: &'static str| {
        [
            ("networks", networks),
            ("sender_domains", domains),
            ("rate", rate),
        ]
    };
    let bad_network = visitor
        .submit(&suap_page, &suap_page, &edit("10.1.2.3/8", DOMAIN, "60"))
        .await;
    assert_eq!(bad_network.status, 422, "{bad_network:#?}");
    assert!(
        bad_network
            .body
            .contains("id=\"edit-relay-networks-error\" role=\"alert\">"),
        "{}",
        bad_network.body
    );
    assert!(bad_network.body.contains(">10.1.2.3/8</textarea>"));
    let unhosted = visitor
        .submit(
            &suap_page,
            &suap_page,
            &edit("10.2.0.0/16", "ignoto.esempio.it", "60"),
        )
        .await;
    assert_eq!(unhosted.status, 422, "{unhosted:#?}");
    assert!(
        unhosted
            .body
            .contains("ignoto.esempio.it non è un dominio che gestisci."),
        "{}",
        unhosted.body
    );
    let bad_rate = visitor
        .submit(
            &suap_page,
            &suap_page,
            &edit("10.2.0.0/16", DOMAIN, "molti"),
        )
        .await;
    assert_eq!(bad_rate.status, 422, "{bad_rate:#?}");
    assert!(
        bad_rate
            .body
            .contains("id=\"edit-relay-rate-error\" role=\"alert\">Scrivi un numero intero."),
        "{}",
        bad_rate.body
    );
    assert_eq!(relay_clients(config).await, before);

    // Networks, a second sender domain and a rate.
    let edited = visitor
        .submit(
            &suap_page,
            &suap_page,
            &edit(
                "192.0.2.0/24\n10.3.0.0/16",
                "comune.esempio.it, altro.esempio.it",
                "60",
            ),
        )
        .await;
    expect_redirect(&edited, 303, &format!("{domain_page}?ok=relay-updated"));
    let page = visitor
        .page(&format!("{domain_page}?ok=relay-updated"))
        .await;
    assert!(
        page.contains("role=\"status\">Client di inoltro modificato."),
        "{page}"
    );
    let row = &page[page
        .find("<th scope=\"row\">suap</th>")
        .expect("suap listed")..];
    let row = &row[..row.find("</tr>").expect("the row's end")];
    for needed in [
        "10.3.0.0/16, 192.0.2.0/24",
        &format!("{ALTRO}, {DOMAIN}"),
        "60 al minuto",
    ] {
        assert!(row.contains(needed), "{needed} not in: {row}");
    }
    let suap = relay_clients(config)
        .await
        .into_iter()
        .find(|c| c["name"] == "suap")
        .expect("suap");
    assert_eq!(
        suap["networks"],
        serde_json::json!(["10.3.0.0/16", "192.0.2.0/24"])
    );
    assert_eq!(suap["rate_per_minute"], 60);

    // A password client gets a new password, typed twice, and no networks.
    let protocollo_page = format!("{domain_page}/relay/clients/protocollo");
    let page = visitor.page(&protocollo_page).await;
    assert!(
        page.contains("<label for=\"edit-relay-password\">")
            && page.contains("<label for=\"edit-relay-repeat\">")
            && !page.contains("edit-relay-networks"),
        "{page}"
    );
    let new = "nuova password del protocollo";
    let reset = |repeat: &'static str| {
        [
            ("password", new),
            ("repeat", repeat),
            ("sender_domains", DOMAIN),
            ("rate", ""),
        ]
    };
    let differ = visitor
        .submit(&protocollo_page, &protocollo_page, &reset("un'altra"))
        .await;
    assert_eq!(differ.status, 422, "{differ:#?}");
    assert!(
        differ.body.contains("Le due password non coincidono."),
        "{}",
        differ.body
    );
    assert!(!differ.body.contains(new), "{}", differ.body);
    let done = visitor
        .submit(&protocollo_page, &protocollo_page, &reset(new))
        .await;
    expect_redirect(&done, 303, &format!("{domain_page}?ok=relay-updated"));

    let (text, entries) = audit_json(&mut visitor, &format!("actor={ADMIN}")).await;
    let updates: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "relay.update")
        .collect();
    assert_eq!(updates.len(), 2, "{text}");
    assert_eq!(updates[0]["target"], "protocollo", "{text}");
    let after: Value =
        serde_json::from_str(updates[0]["after"].as_str().expect("after")).expect("JSON");
    assert_eq!(after["password_reset"], true, "{text}");
    let before: Value =
        serde_json::from_str(updates[1]["before"].as_str().expect("before")).expect("JSON");
    assert_eq!(
        before["networks"],
        serde_json::json!(["10.2.0.0/16"]),
        "{text}"
    );
    for secret in [PASSWORD, new, "argon2"] {
        assert!(!text.contains(secret), "{secret} in the audit log: {text}");
    }
}

async fn a_comune_admin_edits_only_its_own_relay_clients(config: &TestConfig) {
    prepare(config).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    add_relay(config, "suap", Some("10.2.0.0/16"), None, &[DOMAIN]).await;
    add_relay(
        config,
        "condiviso",
        Some("10.9.0.0/16"),
        None,
        &[DOMAIN, ALTRO],
    )
    .await;
    add_relay(config, "altrui", Some("10.8.0.0/16"), None, &[ALTRO]).await;
    add_admin(config, "sindaco", &["--domain", DOMAIN]).await;
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in("sindaco", PASSWORD).await, 303, "/console/");

    let own = format!("/console/domains/{DOMAIN}");
    let page = visitor.page(&own).await;
    assert!(!page.contains("condiviso"), "{page}");
    let before = relay_clients(config).await;
    let fields = [
        ("networks", "10.0.0.0/8"),
        ("sender_domains", DOMAIN),
        ("rate", "1"),
    ];
    for path in [
        format!("{own}/relay/clients/condiviso"),
        format!("/console/domains/{ALTRO}/relay/clients/altrui"),
        format!("/console/domains/{ALTRO}/relay/clients/condiviso"),
        format!("{own}/relay/clients/nessuno"),
    ] {
        let shown = visitor.get(&path).await;
        assert_eq!(shown.status, 404, "GET {path}: {}", shown.body);
        let posted = visitor.submit(&own, &path, &fields).await;
        assert_eq!(posted.status, 404, "POST {path}: {}", posted.body);
    }
    // Its own client may not be given a domain that is not its own.
    let suap_page = format!("{own}/relay/clients/suap");
    let widened = visitor
        .submit(
            &suap_page,
            &suap_page,
            &[
                ("networks", "10.2.0.0/16"),
                ("sender_domains", &format!("{DOMAIN}\n{ALTRO}")),
                ("rate", ""),
            ],
        )
        .await;
    assert_eq!(widened.status, 422, "{widened:#?}");
    assert!(
        widened
            .body
            .contains(&format!("{ALTRO} non è un dominio che gestisci.")),
        "{}",
        widened.body
    );
    assert_eq!(relay_clients(config).await, before);
    let edited = visitor
        .submit(
            &suap_page,
            &suap_page,
            &[
                ("networks", "10.2.0.0/16"),
                ("sender_domains", DOMAIN),
                ("rate", "5"),
            ],
        )
        .await;
    expect_redirect(&edited, 303, &format!("{own}?ok=relay-updated"));
    let suap = relay_clients(config)
        .await
        .into_iter()
        .find(|c| c["name"] == "suap")
        .expect("suap");
    assert_eq!(suap["rate_per_minute"], 5);
}

async fn a_mailbox_password_is_reset_from_the_console(config: &TestConfig) {
    prepare(config).await;
    let address = format!("anna@{DOMAIN}");
    let old = "la vecchia password di anna";
    let new = "la nuova password di anna";
    let add = ["mailbox", "add", &address, "--password-stdin"];
    config.cli(&add, Some(&format!("{old}\n"))).await.ok();
    let _server = Server::start(config).await;
    let mut anna = Visitor::new(config);
    expect_redirect(&anna.log_in(&address, old).await, 303, "/console/account");
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");

    let mailbox_page = format!("/console/domains/{DOMAIN}/mailboxes/anna");
    let page = visitor.page(&mailbox_page).await;
    for needed in [
        "<label for=\"set-password\">",
        "<label for=\"set-password-repeat\">",
        "id=\"set-password-submit\"",
    ] {
        assert!(page.contains(needed), "{needed} not in: {page}");
    }
    let action = format!("{mailbox_page}/password");
    let differ = visitor
        .submit(
            &mailbox_page,
            &action,
            &[("password", new), ("repeat", "un'altra")],
        )
        .await;
    assert_eq!(differ.status, 422, "{differ:#?}");
    assert!(
        differ.body.contains(
            "id=\"set-password-repeat-error\" role=\"alert\">Le due password non coincidono."
        ),
        "{}",
        differ.body
    );
    let short = visitor
        .submit(
            &mailbox_page,
            &action,
            &[("password", "corta"), ("repeat", "corta")],
        )
        .await;
    assert_eq!(short.status, 422, "{short:#?}");
    assert!(
        short.body.contains(
            "id=\"set-password-error\" role=\"alert\">La password deve avere almeno 8 caratteri."
        ),
        "{}",
        short.body
    );
    // Refused, the old password still works.
    let mut probe = Visitor::new(config);
    expect_redirect(&probe.log_in(&address, old).await, 303, "/console/account");

    let reset = visitor
        .submit(
            &mailbox_page,
            &action,
            &[("password", new), ("repeat", new)],
        )
        .await;
    expect_redirect(&reset, 303, &format!("{mailbox_page}?ok=password-set"));
    let page = visitor
        .page(&format!("{mailbox_page}?ok=password-set"))
        .await;
    assert!(
        page.contains("role=\"status\">Nuova password impostata."),
        "{page}"
    );

    // The new password logs in, the old one does not, and the session
    // opened with the old one is over.
    let mut again = Visitor::new(config);
    assert_eq!(again.log_in(&address, old).await.status, 401);
    expect_redirect(&again.log_in(&address, new).await, 303, "/console/account");
    let ended = anna.get("/console/account").await;
    assert_eq!(ended.status, 303, "{ended:#?}");
}

async fn dkim_keys_are_rotated_from_the_console(config: &TestConfig) {
    prepare(config).await;
    let generate = ["dkim", "generate", DOMAIN, "--algorithm", "ed25519"];
    config.cli(&generate, None).await.ok();
    let keys = config.cli(&["dkim", "list", "--json"], None).await.json();
    let old = keys[0]["selector"]
        .as_str()
        .expect("a selector")
        .to_string();
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");

    let dkim_page = format!("/console/domains/{DOMAIN}/dkim");
    let page = visitor.page(&dkim_page).await;
    assert!(
        page.contains("<label for=\"dkim-grace\">") && page.contains("id=\"dkim-rotate-submit\""),
        "{page}"
    );
    let action = format!("{dkim_page}/rotate");
    let bad = visitor
        .submit(&dkim_page, &action, &[("grace_days", "366")])
        .await;
    assert_eq!(bad.status, 422, "{bad:#?}");
    assert!(
        bad.body.contains(
            "id=\"dkim-grace-error\" role=\"alert\">Scrivi un numero di giorni da 0 a 365."
        ),
        "{}",
        bad.body
    );
    let unchanged = config.cli(&["dkim", "list", "--json"], None).await.json();
    assert_eq!(unchanged, keys);

    let rotated = visitor
        .submit(&dkim_page, &action, &[("grace_days", "7")])
        .await;
    expect_redirect(&rotated, 303, &format!("{dkim_page}?ok=dkim-rotated"));
    let keys = config.cli(&["dkim", "list", "--json"], None).await.json();
    let keys = keys.as_array().expect("a list");
    assert_eq!(keys.len(), 2, "{keys:#?}");
    let new = keys
        .iter()
        .find(|k| k["selector"] != old.as_str())
        .and_then(|k| k["selector"].as_str())
        .expect("a new selector")
        .to_string();

    let page = visitor.page(&format!("{dkim_page}?ok=dkim-rotated")).await;
    let table = &page[page.find("id=\"dkim-keys\"").expect("the keys")..];
    let row_of = |selector: &str| -> String {
        let start = table
            .find(&format!("<code>{selector}</code>"))
            .unwrap_or_else(|| panic!("{selector} not listed: {table}"));
        let row = &table[start..];
        row[..row.find("</tr>").expect("the row's end")].to_string()
    };
    assert!(row_of(&new).contains("Attiva: firma la posta"), "{table}");
    let retiring = row_of(&old);
    assert!(
        retiring.contains("In ritiro: da pubblicare fino a "),
        "{retiring}"
    );
    // Both stay in the records to publish until the old one retires.
    let records = &page[page.find("id=\"dns-records\"").expect("the records")..];
    for selector in [&old, &new] {
        assert!(
            records.contains(&format!("{selector}._domainkey.{DOMAIN}.")),
            "{selector}: {records}"
        );
    }
}

async fn a_relay_client_is_removed_from_the_console(config: &TestConfig) {
    prepare(config).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    add_relay(config, "suap", Some("10.2.0.0/16"), None, &[DOMAIN]).await;
    add_relay(config, "altrui", Some("10.8.0.0/16"), None, &[ALTRO]).await;
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");

    let domain_page = format!("/console/domains/{DOMAIN}");
    let action = format!("{domain_page}/relay/remove");
    let page = visitor.page(&domain_page).await;
    assert!(page.contains(&format!("action=\"{action}\"")), "{page}");
    // A client that does not send from the domain is not removed from its
    // page, nor is one that does not exist.
    for name in ["altrui", "nessuno"] {
        let refused = visitor
            .submit(&domain_page, &action, &[("name", name)])
            .await;
        assert_eq!(refused.status, 404, "{name}: {refused:#?}");
    }
    assert_eq!(relay_clients(config).await.len(), 2);

    let removed = visitor
        .submit(&domain_page, &action, &[("name", "suap")])
        .await;
    expect_redirect(&removed, 303, &format!("{domain_page}?ok=relay-removed"));
    let page = visitor
        .page(&format!("{domain_page}?ok=relay-removed"))
        .await;
    assert!(
        page.contains("role=\"status\">Client di inoltro rimosso."),
        "{page}"
    );
    assert!(!page.contains("10.2.0.0/16"), "{page}");
    assert!(page.contains("Nessun client di inoltro."), "{page}");
    let left: Vec<Value> = relay_clients(config).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["name"], "altrui");
    // Gone, it cannot be removed twice.
    let again = visitor
        .submit(&domain_page, &action, &[("name", "suap")])
        .await;
    assert_eq!(again.status, 404, "{again:#?}");
    let (_, entries) = audit_json(&mut visitor, &format!("actor={ADMIN}")).await;
    let removals: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "relay.remove")
        .collect();
    assert_eq!(removals.len(), 1, "{entries:#?}");
    assert_eq!(removals[0]["target"], "suap");
}

async fn console_changes_are_audited_from_the_loopback_without_passwords(config: &TestConfig) {
    prepare(config).await;
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    // The origin is the peer's address: a header cannot change it.
    visitor.headers.push(("X-Forwarded-For", "203.0.113.9"));
    expect_redirect(&visitor.log_in(ADMIN, PASSWORD).await, 303, "/console/");
    let mailbox_password = "password della casella";
    let mailbox_reset = "password della casella, nuova";
    let relay_password = "password del protocollo";
    let relay_reset = "password del protocollo, nuova";

    let domain_page = format!("/console/domains/{DOMAIN}");
    let mailbox_page = format!("{domain_page}/mailboxes/anna");
    let protocollo_page = format!("{domain_page}/relay/clients/protocollo");
    // The page each form is on, where it goes, and what it says.
    type Step<'a> = (String, String, Vec<(&'a str, &'a str)>);
    let steps: Vec<Step> = vec![
        (
            domain_page.clone(),
            format!("{domain_page}/mailboxes"),
            vec![
                ("local", "anna"),
                ("password", mailbox_password),
                ("quota", ""),
            ],
        ),
        (
            mailbox_page.clone(),
            format!("{mailbox_page}/password"),
            vec![("password", mailbox_reset), ("repeat", mailbox_reset)],
        ),
        (
            domain_page.clone(),
            format!("{domain_page}/relay"),
            vec![
                ("name", "protocollo"),
                ("password", relay_password),
                ("rate", ""),
            ],
        ),
        (
            protocollo_page.clone(),
            protocollo_page.clone(),
            vec![
                ("password", relay_reset),
                ("repeat", relay_reset),
                ("sender_domains", DOMAIN),
                ("rate", "10"),
            ],
        ),
        (
            domain_page.clone(),
            format!("{domain_page}/relay/remove"),
            vec![("name", "protocollo")],
        ),
    ];
    for (page, action, fields) in &steps {
        let response = visitor.submit(page, action, fields).await;
        assert_eq!(response.status, 303, "POST {action}: {response:#?}");
    }

    let (text, entries) = audit_json(&mut visitor, &format!("actor={ADMIN}")).await;
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "relay.remove",
            "relay.update",
            "relay.add",
            "mailbox.passwd",
            "mailbox.add"
        ],
        "{text}"
    );
    for entry in &entries {
        assert_eq!(entry["origin"], "127.0.0.1", "{entry}");
        assert_eq!(entry["actor"], ADMIN, "{entry}");
    }
    let csv = visitor
        .get(&format!("/console/audit.csv?actor={ADMIN}"))
        .await;
    assert_eq!(csv.status, 200, "{csv:#?}");
    assert_eq!(
        csv.body.matches(",provincia,127.0.0.1,").count(),
        5,
        "{}",
        csv.body
    );
    let html = visitor.page(&format!("/console/audit?actor={ADMIN}")).await;
    for (name, body) in [("JSON", &text), ("CSV", &csv.body), ("page", &html)] {
        for secret in [
            PASSWORD,
            mailbox_password,
            mailbox_reset,
            relay_password,
            relay_reset,
            "argon2",
        ] {
            assert!(!body.contains(secret), "`{secret}` in the {name}: {body}");
        }
    }

    // The export for an inspection has the admin's console login, with
    // the chain's hashes, and the page links to it.
    assert!(
        html.contains("href=\"/console/audit/export.csv?actor=provincia\""),
        "{html}"
    );
    let export = visitor
        .get("/console/audit/export.json?from=2000-01-01")
        .await;
    assert_eq!(export.status, 200, "{export:#?}");
    let export: Value = serde_json::from_str(&export.body).expect("JSON");
    let login = export["access"]
        .as_array()
        .and_then(|logins| logins.iter().find(|l| l["method"] == "password"))
        .expect("the console login");
    assert_eq!(login["who"], ADMIN, "{login}");
    assert_eq!(login["origin"], "127.0.0.1", "{login}");
    assert_eq!(login["succeeded"], true, "{login}");
    assert_eq!(login["hash"].as_str().map(str::len), Some(64), "{login}");
    assert_eq!(export["chains"][0]["broken"], Value::Null, "{export}");
}

async fn a_comune_admin_tunes_its_spam_filter(config: &TestConfig) {
    prepare(config).await;
    add_admin(config, "sindaco", &["--domain", DOMAIN]).await;
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    visitor.log_in("sindaco", PASSWORD).await;
    let domain_page = format!("/console/domains/{DOMAIN}");
    let action = format!("{domain_page}/spam");
    let page = visitor.page(&domain_page).await;
    assert!(
        page.contains("id=\"spam-on\" type=\"radio\" name=\"filter\" value=\"1\" checked"),
        "{page}"
    );

    let saved = visitor
        .submit(
            &domain_page,
            &action,
            &[("filter", "0"), ("profile", "severo")],
        )
        .await;
    expect_redirect(&saved, 303, &format!("{domain_page}?ok=spam-updated"));
    let shown = config
        .cli(&["domain", "show", DOMAIN, "--json"], None)
        .await
        .json();
    assert_eq!(
        (&shown["spam_filter"], &shown["spam_profile"]),
        (&Value::Bool(false), &Value::String("severo".to_string())),
        "{shown}"
    );

    // A profile rspamd could not name is refused, with the form again.
    let refused = visitor
        .submit(
            &domain_page,
            &action,
            &[("filter", "1"), ("profile", "non valido")],
        )
        .await;
    assert_eq!(refused.status, 422, "{refused:#?}");
    assert!(refused.body.contains("non valido"), "{}", refused.body);
    let kept = config
        .cli(&["domain", "show", DOMAIN, "--json"], None)
        .await
        .json();
    assert_eq!(kept["spam_filter"], Value::Bool(false), "{kept}");
}

async fn mailboxes_past_their_sending_limits_are_listed(config: &TestConfig) {
    use postino_tests::smtp::{add_mailbox, data, envelope, logged_in};
    prepare(config).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    add_admin(config, "sindaco-altro", &["--domain", ALTRO]).await;
    let anna = format!("anna@{DOMAIN}");
    add_mailbox(config, &anna, &[]).await;
    config.set("smtp", "allow_plaintext_auth = true");
    config.set("smtp", "max_messages_per_hour = 1");
    let _server = Server::start(config).await;

    let mut client = logged_in(config.listeners.smtp_submission, &anna).await;
    envelope(&mut client, &anna, &[&anna]).await;
    data(&mut client, b"Subject: uno\r\n\r\nprimo\r\n")
        .await
        .expect(250, "2.0.0");
    client
        .command(&format!("MAIL FROM:<{anna}>"))
        .await
        .expect(451, "4.7.1");

    let mut provincia = Visitor::new(config);
    provincia.log_in(ADMIN, PASSWORD).await;
    let page = provincia.page("/console/").await;
    assert!(page.contains("id=\"limit-hits\""), "{page}");
    assert!(page.contains(&anna), "{page}");
    assert!(
        page.contains("<td>Messaggi all"),
        "the limit, named: {page}"
    );

    // Another comune's admin sees none of it.
    let mut altro = Visitor::new(config);
    altro.log_in("sindaco-altro", PASSWORD).await;
    let page = altro.page("/console/").await;
    assert!(!page.contains("limit-hits"), "{page}");
    assert!(!page.contains(&anna), "{page}");
}

/// The sieve scripts of `address` as `postino sieve list` shows them:
/// names and whether each is active.
async fn sieve_scripts(config: &TestConfig, address: &str) -> Vec<(String, bool)> {
    let listed = config
        .cli(&["sieve", "list", address, "--json"], None)
        .await
        .json();
    listed
        .as_array()
        .expect("a list of scripts")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["active"].as_bool().unwrap_or_default(),
            )
        })
        .collect()
}

async fn generated_script(config: &TestConfig, address: &str) -> String {
    config
        .cli(&["sieve", "get", address, "postino"], None)
        .await
        .ok()
        .to_string()
}

async fn a_mailbox_user_sets_its_out_of_office_and_forwarding(config: &TestConfig) {
    prepare(config).await;
    let address = format!("anna@{DOMAIN}");
    let add = ["mailbox", "add", &address, "--password-stdin"];
    config.cli(&add, Some(&format!("{PASSWORD}\n"))).await.ok();
    let _server = Server::start(config).await;
    let mut anna = Visitor::new(config);
    expect_redirect(
        &anna.log_in(&address, PASSWORD).await,
        303,
        "/console/account",
    );

    let account = anna.page("/console/account").await;
    for link in [
        "href=\"/console/account/vacation\">Risposta automatica</a>",
        "href=\"/console/account/forwarding\">Inoltro</a>",
    ] {
        assert!(account.contains(link), "{link} not in: {account}");
    }
    let page = anna.page("/console/account/vacation").await;
    for needed in [
        "<h1>Risposta automatica</h1>",
        "<label for=\"vacation-start\">Dal giorno</label>",
        "<label for=\"vacation-end\">Al giorno (compreso)</label>",
        "<label for=\"vacation-message\">Messaggio</label>",
        "aria-describedby=\"vacation-start-hint\"",
        "<a href=\"/console/account/vacation\" aria-current=\"page\">",
    ] {
        assert!(page.contains(needed), "{needed} not in: {page}");
    }
    assert!(!page.contains("hand-written"), "{page}");

    // Refusals come back next to their field, with what was typed.
    let action = "/console/account/vacation";
    let bad_date = anna
        .submit(
            action,
            action,
            &[
                ("enabled", "1"),
                ("start", "31/02/2026"),
                ("message", "In ferie"),
            ],
        )
        .await;
    assert_eq!(bad_date.status, 422, "{bad_date:#?}");
    assert!(
        bad_date
            .body
            .contains("id=\"vacation-start-error\" role=\"alert\">Scrivi una data come 24/12/2026"),
        "{}",
        bad_date.body
    );
    assert!(
        bad_date.body.contains("value=\"31/02/2026\""),
        "{}",
        bad_date.body
    );
    let no_message = anna
        .submit(action, action, &[("enabled", "1"), ("start", "24/12/2026")])
        .await;
    assert_eq!(no_message.status, 422, "{no_message:#?}");
    assert!(
        no_message
            .body
            .contains("id=\"vacation-message-error\" role=\"alert\">"),
        "{}",
        no_message.body
    );
    let backwards = anna
        .submit(
            action,
            action,
            &[
                ("enabled", "1"),
                ("start", "2027-01-06"),
                ("end", "24/12/2026"),
                ("message", "In ferie"),
            ],
        )
        .await;
    assert_eq!(backwards.status, 422, "{backwards:#?}");
    assert!(
        backwards
            .body
            .contains("id=\"vacation-end-error\" role=\"alert\">La data finale"),
        "{}",
        backwards.body
    );
    assert!(sieve_scripts(config, &address).await.is_empty());

    let saved = anna
        .submit(
            action,
            action,
            &[
                ("enabled", "1"),
                ("start", "24/12/2026"),
                ("end", "2027-01-06"),
                ("subject", "Assente"),
                (
                    "message",
                    "Sono in ferie fino al 6 gennaio.\r\nPer urgenze: segreteria.",
                ),
            ],
        )
        .await;
    expect_redirect(&saved, 303, "/console/account/vacation?ok=vacation-saved");
    let page = anna
        .page("/console/account/vacation?ok=vacation-saved")
        .await;
    for needed in [
        "role=\"status\">Risposta automatica salvata.",
        "value=\"24/12/2026\"",
        "value=\"06/01/2027\"",
        "value=\"Assente\"",
        "Sono in ferie fino al 6 gennaio.\nPer urgenze: segreteria.</textarea>",
        "id=\"vacation-on\" type=\"radio\" name=\"enabled\" value=\"1\" checked",
    ] {
        assert!(page.contains(needed), "{needed} not in: {page}");
    }
    // The generated script is the mailbox's active one.
    assert_eq!(
        sieve_scripts(config, &address).await,
        [("postino".to_string(), true)]
    );
    let script = generated_script(config, &address).await;
    for needed in [
        "currentdate :zone \"+0100\" :value \"ge\" \"date\" \"2026-12-24\"",
        "currentdate :zone \"+0100\" :value \"le\" \"date\" \"2027-01-06\"",
        "vacation :days 1 :subject \"Assente\" \"Sono in ferie fino al 6 gennaio.\nPer urgenze: segreteria.\";",
    ] {
        assert!(script.contains(needed), "{needed} not in: {script}");
    }

    // Forwarding: never to the mailbox itself.
    let action = "/console/account/forwarding";
    let to_self = anna
        .submit(
            action,
            action,
            &[("enabled", "1"), ("forward_to", &address)],
        )
        .await;
    assert_eq!(to_self.status, 422, "{to_self:#?}");
    assert!(
        to_self
            .body
            .contains("id=\"forwarding-to-error\" role=\"alert\">Scrivi un indirizzo email valido"),
        "{}",
        to_self.body
    );
    // The box unticked stays unticked on the refused form.
    assert!(
        !to_self
            .body
            .contains("name=\"keep_copy\" type=\"checkbox\" value=\"1\" checked"),
        "{}",
        to_self.body
    );
    let saved = anna
        .submit(
            action,
            action,
            &[("enabled", "1"), ("forward_to", "Collega@Altro.Esempio.it")],
        )
        .await;
    expect_redirect(
        &saved,
        303,
        "/console/account/forwarding?ok=forwarding-saved",
    );
    let page = anna
        .page("/console/account/forwarding?ok=forwarding-saved")
        .await;
    assert!(
        page.contains("value=\"collega@altro.esempio.it\""),
        "{page}"
    );
    let script = generated_script(config, &address).await;
    assert!(
        script.contains("redirect \"collega@altro.esempio.it\";"),
        "{script}"
    );
    assert!(
        script.contains("vacation :days 1"),
        "the reply was kept: {script}"
    );

    // The same pages in English.
    anna.get("/console/lang?set=en&next=/console/").await;
    let page = anna.page("/console/account/vacation").await;
    for needed in [
        "<h1>Out of office</h1>",
        "value=\"2026-12-24\"",
        ">Until (inclusive)</label>",
    ] {
        assert!(page.contains(needed), "{needed} not in: {page}");
    }
    let page = anna.page("/console/account/forwarding").await;
    assert!(page.contains("<h1>Forwarding</h1>"), "{page}");

    // An admin has no mailbox of its own to set.
    let mut admin = Visitor::new(config);
    expect_redirect(&admin.log_in(ADMIN, PASSWORD).await, 303, "/console/");
    assert_eq!(admin.get("/console/account/vacation").await.status, 403);
}

async fn a_hand_written_script_is_replaced_only_when_confirmed(config: &TestConfig) {
    prepare(config).await;
    let address = format!("anna@{DOMAIN}");
    let add = ["mailbox", "add", &address, "--password-stdin"];
    config.cli(&add, Some(&format!("{PASSWORD}\n"))).await.ok();
    let filters = "require \"fileinto\";\nif header :contains \"subject\" \"delibera\" { fileinto \"Delibere\"; }\n";
    config
        .cli(
            &["sieve", "put", &address, "filtri", "-", "--activate"],
            Some(filters),
        )
        .await
        .ok();
    let _server = Server::start(config).await;
    let mut anna = Visitor::new(config);
    expect_redirect(
        &anna.log_in(&address, PASSWORD).await,
        303,
        "/console/account",
    );

    let action = "/console/account/forwarding";
    let page = anna.page(action).await;
    for needed in [
        "id=\"hand-written\"",
        "«filtri», che è attivo ora",
        "<label class=\"inline\" for=\"forwarding-replace\">Sostituisci il filtro «filtri»",
    ] {
        assert!(page.contains(needed), "{needed} not in: {page}");
    }
    let fields = [
        ("enabled", "1"),
        ("forward_to", "collega@altro.esempio.it"),
        ("keep_copy", "1"),
    ];
    let refused = anna.submit(action, action, &fields).await;
    assert_eq!(refused.status, 409, "{refused:#?}");
    assert!(
        refused
            .body
            .contains("id=\"forwarding-replace-error\" role=\"alert\">Per salvare, conferma"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"collega@altro.esempio.it\""),
        "{}",
        refused.body
    );
    assert_eq!(
        sieve_scripts(config, &address).await,
        [("filtri".to_string(), true)]
    );

    let mut confirmed = fields.to_vec();
    confirmed.push(("replace", "1"));
    let saved = anna.submit(action, action, &confirmed).await;
    expect_redirect(
        &saved,
        303,
        "/console/account/forwarding?ok=forwarding-saved",
    );
    assert_eq!(
        sieve_scripts(config, &address).await,
        [("filtri".to_string(), false), ("postino".to_string(), true)]
    );
    let script = generated_script(config, &address).await;
    assert!(
        script.contains("redirect :copy \"collega@altro.esempio.it\";"),
        "{script}"
    );
    let page = anna.page(action).await;
    assert!(!page.contains("hand-written"), "{page}");
}

async fn a_comune_admin_switches_on_an_absent_colleagues_reply(config: &TestConfig) {
    prepare(config).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    let anna = format!("anna@{DOMAIN}");
    let mario = format!("mario@{ALTRO}");
    for address in [&anna, &mario] {
        config.cli(&["mailbox", "add", address], None).await.ok();
    }
    add_admin(config, "sindaco", &["--domain", DOMAIN]).await;
    let _server = Server::start(config).await;
    let mut sindaco = Visitor::new(config);
    expect_redirect(&sindaco.log_in("sindaco", PASSWORD).await, 303, "/console/");

    let mailbox_page = format!("/console/domains/{DOMAIN}/mailboxes/anna");
    let page = sindaco.page(&mailbox_page).await;
    for needed in [
        format!("<a id=\"vacation-link\" href=\"{mailbox_page}/vacation\">"),
        format!("<a id=\"forwarding-link\" href=\"{mailbox_page}/forwarding\">"),
        "<dd id=\"vacation-state\">Disattivata</dd>".to_string(),
    ] {
        assert!(page.contains(&needed), "{needed} not in: {page}");
    }
    let action = format!("{mailbox_page}/vacation");
    let page = sindaco.page(&action).await;
    assert!(
        page.contains(&format!("<h1>Risposta automatica di {anna}</h1>")),
        "{page}"
    );
    let saved = sindaco
        .submit(
            &action,
            &action,
            &[
                ("enabled", "1"),
                ("end", "31/01/2027"),
                ("message", "Anna è assente."),
            ],
        )
        .await;
    expect_redirect(&saved, 303, &format!("{action}?ok=vacation-saved"));
    let page = sindaco.page(&mailbox_page).await;
    assert!(
        page.contains("<dd id=\"vacation-state\">Attiva fino al 31/01/2027</dd>"),
        "{page}"
    );
    assert_eq!(
        sieve_scripts(config, &anna).await,
        [("postino".to_string(), true)]
    );
    // Deactivated at the command line, the settings are shown as not in
    // use, on the mailbox's page and on the form.
    config.cli(&["sieve", "deactivate", &anna], None).await.ok();
    for page in [&mailbox_page, &action] {
        let html = sindaco.page(page).await;
        assert!(html.contains("id=\"dormant\""), "{page}: {html}");
    }

    // Another domain's mailbox is not found, to look at or to set.
    let other = format!("/console/domains/{ALTRO}/mailboxes/mario");
    for which in ["vacation", "forwarding"] {
        let response = sindaco.get(&format!("{other}/{which}")).await;
        assert_eq!(response.status, 404, "GET {other}/{which}");
    }
    let own_csrf_page = format!("{mailbox_page}/vacation");
    for (which, fields) in [
        ("vacation", vec![("enabled", "1"), ("message", "Presa")]),
        (
            "forwarding",
            vec![("enabled", "1"), ("forward_to", "fuori@esterno.example")],
        ),
    ] {
        let response = sindaco
            .submit(&own_csrf_page, &format!("{other}/{which}"), &fields)
            .await;
        assert_eq!(response.status, 404, "POST {other}/{which}: {response:#?}");
    }
    assert!(sieve_scripts(config, &mario).await.is_empty());

    // A mailbox user may not use an admin's pages, even for itself.
    config
        .cli(
            &["mailbox", "passwd", &anna, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        )
        .await
        .ok();
    let mut user = Visitor::new(config);
    expect_redirect(&user.log_in(&anna, PASSWORD).await, 303, "/console/account");
    assert_eq!(user.get(&action).await.status, 403);

    // The change is audited: who, which mailbox, the dates, no text.
    let log = config.cli(&["audit", "--json"], None).await.json();
    let entry = log
        .as_array()
        .expect("a list")
        .iter()
        .find(|e| e["action"] == "mailbox.vacation")
        .unwrap_or_else(|| panic!("no mailbox.vacation entry: {log:#}"))
        .clone();
    assert_eq!(
        (&entry["actor"], &entry["target"], &entry["domain"]),
        (
            &Value::from("sindaco"),
            &Value::from(anna.as_str()),
            &Value::from(DOMAIN)
        ),
        "{entry:#}"
    );
    let after = entry["after"].as_str().unwrap_or_default();
    assert!(after.contains("\"end\":\"2027-01-31\""), "{entry:#}");
    assert!(
        !log.to_string().contains("assente"),
        "the reply's text audited: {log:#}"
    );
}

/// "Casella condivisa" on a mailbox's page: a comune admin shares its
/// office mailbox with an employee, is refused a mailbox of another comune
/// with the reason by the field, and takes the share back; the CLI sees
/// each change.
async fn a_role_mailbox_is_shared_from_the_console(config: &TestConfig) {
    prepare(config).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    let office = format!("protocollo@{DOMAIN}");
    for address in [
        office.clone(),
        format!("anna@{DOMAIN}"),
        format!("ugo@{ALTRO}"),
    ] {
        config.cli(&["mailbox", "add", &address], None).await.ok();
    }
    add_admin(config, "comune", &["--domain", DOMAIN]).await;
    let _server = Server::start(config).await;
    let mut visitor = Visitor::new(config);
    expect_redirect(&visitor.log_in("comune", PASSWORD).await, 303, "/console/");
    let page_path = format!("/console/domains/{DOMAIN}/mailboxes/protocollo");
    let page = visitor.page(&page_path).await;
    for needed in [
        "Questa casella non è condivisa.",
        "<label for=\"new-share-user\">",
        "<label for=\"new-share-rights\">",
        "id=\"new-share-send-as\"",
    ] {
        assert!(page.contains(needed), "{needed} not in: {page}");
    }
    let action = format!("{page_path}/shares");
    let outsider = format!("ugo@{ALTRO}");
    let refused = visitor
        .submit(
            &page_path,
            &action,
            &[("user", &outsider), ("rights", "lr")],
        )
        .await;
    assert_eq!(refused.status, 422, "{refused:#?}");
    assert!(
        refused
            .body
            .contains("id=\"new-share-user-error\" role=\"alert\">"),
        "{}",
        refused.body
    );
    let anna = format!("anna@{DOMAIN}");
    let shared = visitor
        .submit(
            &page_path,
            &action,
            &[("user", &anna), ("rights", "lrs"), ("send_as", "1")],
        )
        .await;
    expect_redirect(&shared, 303, &format!("{page_path}?ok=mailbox-shared"));
    let listed = config
        .cli(&["mailbox", "shares", &office, "--json"], None)
        .await
        .json();
    assert_eq!(listed[0]["grantee"], anna.as_str(), "{listed}");
    assert_eq!(listed[0]["rights"], "lrs", "{listed}");
    assert_eq!(listed[0]["send_as"], true, "{listed}");
    let page = visitor.page(&page_path).await;
    assert!(
        page.contains(&format!("<th scope=\"row\">{anna}</th>")),
        "{page}"
    );

    let removed = visitor
        .submit(&page_path, &format!("{action}/remove"), &[("user", &anna)])
        .await;
    expect_redirect(&removed, 303, &format!("{page_path}?ok=mailbox-unshared"));
    let listed = config
        .cli(&["mailbox", "shares", &office, "--json"], None)
        .await
        .json();
    assert_eq!(listed, serde_json::json!([]));
}

//! `postino admin list|token|passwd|remove`, `domain update`, `mailbox update`, `usage`
//! and `audit` (with `audit verify` and `audit export`) as an operator runs
//! them, on both store backends. A refusal exits non-zero with one
//! `postino:` line.

use postino_common::auth::bearer;
use postino_tests::http::{Request, Response};
use postino_tests::imap::{deliver, message};
use postino_tests::smtp::{ANNA, BRUNO, DOMAIN, site};
use postino_tests::{Server, TestConfig, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    api_tokens_are_created_listed_and_revoked,
    domains_and_mailboxes_are_updated,
    usage_counts_delivered_mail_and_disabled_mailboxes_still_receive,
    the_audit_log_is_filtered_and_exported,
    admins_get_new_passwords_and_are_removed,
    tampering_with_the_admin_logs_is_found_and_named
);

const ALTRO: &str = "altro.esempio.it";
const ADMIN_PASSWORD: Option<&str> = Some("password-della-provincia\n");

async fn json(config: &TestConfig, args: &[&str]) -> Value {
    config.cli(args, None).await.json()
}

/// Runs `args`, which must be refused with one error line containing
/// `reason`.
async fn refused(config: &TestConfig, args: &[&str], reason: &str) {
    let out = config.cli(args, None).await;
    let error = out.refused();
    assert!(
        error.contains(reason),
        "{args:?}: expected `{reason}` in: {error}"
    );
}

/// Runs `args`, which clap must reject before anything runs.
async fn unparsed(config: &TestConfig, args: &[&str]) {
    let out = config.cli(args, None).await;
    assert!(!out.status.success(), "{args:?} succeeded: {out:#?}");
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:#?}");
}

async fn api_tokens_are_created_listed_and_revoked(config: &TestConfig) {
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    config
        .cli(
            &[
                "admin",
                "add",
                "provincia",
                "--password-stdin",
                "--all-domains",
            ],
            ADMIN_PASSWORD,
        )
        .await
        .ok();
    config
        .cli(
            &[
                "admin",
                "add",
                "anna",
                "--password-stdin",
                "--domain",
                DOMAIN,
            ],
            ADMIN_PASSWORD,
        )
        .await
        .ok();
    let admins = json(config, &["admin", "list", "--json"]).await;
    assert_eq!(
        admins,
        json!([
            { "id": admins[0]["id"], "username": "anna", "scope": { "domains": [DOMAIN] },
              "created_at": admins[0]["created_at"] },
            { "id": admins[1]["id"], "username": "provincia", "scope": "all_domains",
              "created_at": admins[1]["created_at"] },
        ])
    );
    let table = config.cli(&["admin", "list"], None).await;
    assert!(table.ok().contains("all domains"), "{table:#?}");

    let out = config
        .cli(
            &["admin", "token", "create", "anna", "--name", "protocollo"],
            None,
        )
        .await;
    let token = out.ok().trim().to_string();
    assert_eq!(
        out.stdout,
        format!("{token}\n"),
        "the token alone: {out:#?}"
    );
    assert!(token.starts_with("pst_"), "{out:#?}");
    assert!(out.stderr.contains("only this once"), "{out:#?}");
    let out = config
        .cli(&["admin", "token", "create", "provincia"], None)
        .await;
    let other = out.ok().trim().to_string();
    assert_ne!(token, other);

    let store = config.open_store().await;
    let admin = store
        .admin_by_token(&bearer::digest(&token), "192.0.2.1")
        .await
        .expect("look the token up")
        .expect("the token acts as its admin");
    assert_eq!(admin.username, "anna");
    assert_eq!(
        store
            .admin_by_token(&bearer::digest("pst_unknown"), "192.0.2.1")
            .await
            .ok(),
        Some(None)
    );

    let tokens = json(config, &["admin", "token", "list", "--json"]).await;
    let summary = |tokens: &Value| -> Vec<Value> {
        tokens
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(|t| json!([t["admin"], t["name"], t["revoked_at"].is_null()]))
            .collect()
    };
    assert_eq!(
        summary(&tokens),
        [
            json!(["anna", "protocollo", true]),
            json!(["provincia", "api", true])
        ]
    );
    let text = tokens.to_string();
    assert!(
        !text.contains(&token) && !text.contains(&bearer::digest(&token)),
        "{text}"
    );
    let anna = json(config, &["admin", "token", "list", "anna", "--json"]).await;
    assert_eq!(summary(&anna), [json!(["anna", "protocollo", true])]);
    let table = config.cli(&["admin", "token", "list"], None).await;
    assert!(table.ok().contains("protocollo"), "{table:#?}");

    let id = tokens[0]["id"].as_i64().expect("a numeric id").to_string();
    let out = config.cli(&["admin", "token", "revoke", &id], None).await;
    assert!(out.ok().contains("revoked API token"), "{out:#?}");
    assert_eq!(
        store
            .admin_by_token(&bearer::digest(&token), "192.0.2.1")
            .await
            .ok(),
        Some(None),
        "a revoked token still works"
    );
    let tokens = json(config, &["admin", "token", "list", "--json"]).await;
    assert_eq!(
        summary(&tokens),
        [
            json!(["anna", "protocollo", false]),
            json!(["provincia", "api", true])
        ]
    );
    store.close().await;

    refused(
        config,
        &["admin", "token", "create", "nessuno"],
        "admin `nessuno` does not exist",
    )
    .await;
    refused(
        config,
        &["admin", "token", "create", "anna", "--name", " "],
        "name:",
    )
    .await;
    refused(
        config,
        &["admin", "token", "list", "nessuno"],
        "admin `nessuno` does not exist",
    )
    .await;
    refused(
        config,
        &["admin", "token", "revoke", "99999"],
        "token `99999` does not exist",
    )
    .await;
    unparsed(config, &["admin", "token", "revoke", "uno"]).await;

    // The audit log says who got a token, never the token.
    let audit = config
        .cli(&["audit", "--json", "--limit", "1000"], None)
        .await;
    let entries = audit.json();
    let actions: Vec<&str> = entries
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("token."))
        .collect();
    assert_eq!(actions, ["token.revoke", "token.create", "token.create"]);
    assert!(
        !audit.stdout.contains(&token) && !audit.stdout.contains(&other),
        "a token in the audit log: {}",
        audit.stdout
    );
}

async fn domains_and_mailboxes_are_updated(config: &TestConfig) {
    config
        .cli(
            &[
                "domain",
                "add",
                DOMAIN,
                "--quota",
                "1GB",
                "--max-mailboxes",
                "2",
            ],
            None,
        )
        .await
        .ok();
    config
        .cli(&["mailbox", "add", ANNA, "--quota", "200MB"], None)
        .await
        .ok();

    refused(
        config,
        &["domain", "update", DOMAIN, "--quota", "100MB"],
        "less than the quota of mailbox `anna@",
    )
    .await;
    let out = config
        .cli(
            &["domain", "update", DOMAIN, "--quota", "2GB", "--disable"],
            None,
        )
        .await;
    assert!(
        out.ok()
            .contains("quota 2GB, at most 2 mailboxes, disabled"),
        "{out:#?}"
    );
    let domains = json(config, &["domain", "list", "--json"]).await;
    assert_eq!(
        json!([
            domains[0]["quota_bytes"],
            domains[0]["max_mailboxes"],
            domains[0]["active"]
        ]),
        json!([2_000_000_000_u64, 2, false])
    );
    let out = config
        .cli(
            &[
                "domain",
                "update",
                DOMAIN,
                "--max-mailboxes",
                "0",
                "--enable",
            ],
            None,
        )
        .await;
    assert!(out.ok().contains("no mailbox limit, active"), "{out:#?}");
    refused(
        config,
        &["domain", "update", ALTRO, "--enable"],
        "domain `altro.esempio.it` does not exist",
    )
    .await;
    unparsed(config, &["domain", "update", DOMAIN]).await;
    unparsed(
        config,
        &["domain", "update", DOMAIN, "--enable", "--disable"],
    )
    .await;

    let out = config
        .cli(
            &[
                "mailbox",
                "update",
                ANNA,
                "--display-name",
                " Anna Rossi ",
                "--quota",
                "300MB",
                "--disable",
            ],
            None,
        )
        .await;
    assert!(
        out.ok()
            .contains("name \"Anna Rossi\", quota 300MB, disabled"),
        "{out:#?}"
    );
    let mailboxes = json(config, &["mailbox", "list", "--json"]).await;
    assert_eq!(
        json!([
            mailboxes[0]["display_name"],
            mailboxes[0]["quota_bytes"],
            mailboxes[0]["active"]
        ]),
        json!(["Anna Rossi", 300_000_000, false])
    );
    // `mailbox quota` is the same change.
    let out = config.cli(&["mailbox", "quota", ANNA, "250MB"], None).await;
    assert_eq!(out.ok().trim(), format!("quota of {ANNA} is now 250MB"));
    refused(
        config,
        &["mailbox", "update", ANNA, "--quota", "3GB"],
        "quota_bytes: 3GB is more than the quota of domain",
    )
    .await;
    let long = "x".repeat(201);
    refused(
        config,
        &["mailbox", "update", ANNA, "--display-name", &long],
        "display_name: must be at most 200 characters",
    )
    .await;
    refused(
        config,
        &["mailbox", "update", BRUNO, "--enable"],
        "mailbox `bruno@comune.esempio.pu.it` does not exist",
    )
    .await;
    unparsed(config, &["mailbox", "update", ANNA]).await;

    let audit = json(config, &["audit", "--json"]).await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "mailbox.update",
            "mailbox.update",
            "domain.update",
            "domain.update",
            "mailbox.add",
            "domain.add"
        ]
    );
    let before: Value = serde_json::from_str(audit[1]["before"].as_str().expect("a before"))
        .expect("before is JSON");
    assert_eq!(before["display_name"], "");
    assert_eq!(before["quota_bytes"], 200_000_000);
}

async fn usage_counts_delivered_mail_and_disabled_mailboxes_still_receive(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    config
        .cli(&["mailbox", "update", ANNA, "--quota", "1MB"], None)
        .await
        .ok();
    config
        .cli(&["mailbox", "update", BRUNO, "--disable"], None)
        .await
        .ok();
    let mut server = Server::start(config).await;
    let body = format!("{}\r\n", "a".repeat(78)).repeat(50);
    deliver(config, ANNA, &message(ANNA, "prima", &body)).await;
    deliver(config, BRUNO, &message(BRUNO, "per bruno", "sospeso")).await;
    assert!(server.stop().await.success());

    let usage = json(config, &["usage", "--json"]).await;
    let names: Vec<&str> = usage
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, [ALTRO, DOMAIN]);
    let comune = &usage[1];
    let accounts = comune["accounts"].as_array().expect("accounts");
    let used = |i: usize| accounts[i]["used_bytes"].as_i64().expect("used bytes");
    assert_eq!(accounts[0]["address"], ANNA);
    assert!(used(0) > 4000, "{comune}");
    assert_eq!(accounts[0]["quota_bytes"], 1_000_000);
    assert_eq!(accounts[0]["active"], true);
    assert_eq!(accounts[1]["address"], BRUNO);
    assert!(
        used(1) > 0,
        "a disabled mailbox still receives mail: {comune}"
    );
    assert_eq!(accounts[1]["active"], false);
    assert_eq!(comune["used_bytes"].as_i64(), Some(used(0) + used(1)));

    let one = json(config, &["usage", DOMAIN, "--json"]).await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(one[0], usage[1]);
    let table = config.cli(&["usage", DOMAIN], None).await;
    let text = table.ok();
    let anna = text
        .lines()
        .find(|l| l.contains(ANNA))
        .unwrap_or_else(|| panic!("no line for {ANNA}: {text}"));
    assert!(anna.ends_with('%') && anna.contains("1MB"), "{text}");
    let bruno = text
        .lines()
        .find(|l| l.contains(BRUNO))
        .expect("bruno's line");
    assert!(bruno.contains("(disabled)"), "{text}");
    refused(
        config,
        &["usage", "ignoto.esempio.it"],
        "domain `ignoto.esempio.it` does not exist",
    )
    .await;
}

async fn the_audit_log_is_filtered_and_exported(config: &TestConfig) {
    for domain in [DOMAIN, ALTRO] {
        config.cli(&["domain", "add", domain], None).await.ok();
    }
    config
        .cli(&["mailbox", "add", ANNA, "--name", "Rossi, \"Anna\""], None)
        .await
        .ok();
    config
        .cli(&["mailbox", "add", &format!("carlo@{ALTRO}")], None)
        .await
        .ok();

    let all = json(config, &["audit", "--json"]).await;
    let all = all.as_array().expect("a JSON array");
    assert_eq!(all.len(), 4);
    // The CLI runs without $USER (see `postino_command`): the actor is
    // named after the real user id.
    let actor = all[0]["actor"].as_str().expect("an actor");
    let whoami = postino_tests::run_program("id", &["-un"], None).await;
    assert_eq!(actor, format!("cli:{}", whoami.ok().trim()));

    let comune = json(config, &["audit", "--domain", DOMAIN, "--json"]).await;
    let targets: Vec<&str> = comune
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert_eq!(targets, [ANNA, DOMAIN]);
    let by_actor = json(config, &["audit", "--actor", actor, "--json"]).await;
    assert_eq!(by_actor.as_array().map(Vec::len), Some(4));
    let nobody = json(config, &["audit", "--actor", "cli:nessuno", "--json"]).await;
    assert_eq!(nobody, json!([]));
    let window = [
        "audit",
        "--since",
        "2000-01-01",
        "--until",
        "2999-12-31T23:59:59+01:00",
    ];
    let within = json(config, &[&window[..], &["--json"]].concat()).await;
    assert_eq!(within.as_array().map(Vec::len), Some(4));
    let before = json(config, &["audit", "--until", "2000-01-01", "--json"]).await;
    assert_eq!(before, json!([]));
    let limited = json(config, &["audit", "--limit", "1", "--json"]).await;
    assert_eq!(limited[0], all[0]);

    let out = config
        .cli(&["audit", "--domain", DOMAIN, "--csv"], None)
        .await;
    let csv = out.ok();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,at,actor,origin,action,domain,target,before,after"
    );
    assert_eq!(lines.len(), 4, "two rows and a final line end: {csv:?}");
    assert_eq!(lines[3], "");
    let row = lines[1];
    assert!(
        row.contains(&format!(",{actor},cli,mailbox.add,{DOMAIN},{ANNA},,\"{{")),
        "{row}"
    );
    // The JSON in the field, quotes doubled: "display_name":"Rossi, \"Anna\"".
    assert!(
        row.contains(r#"""display_name"":""Rossi, \""Anna\"""""#),
        "{row}"
    );
    let at = row.split(',').nth(1).expect("an `at` field");
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );

    let table = config.cli(&["audit"], None).await;
    assert!(table.ok().contains("mailbox.add"), "{table:#?}");
    refused(
        config,
        &["audit", "--limit", "0"],
        "limit: must be 1 to 1000",
    )
    .await;
    refused(
        config,
        &["audit", "--since", "2025-01-02", "--until", "2025-01-01"],
        "until: must be later than since",
    )
    .await;
    unparsed(config, &["audit", "--since", "ieri"]).await;
    unparsed(config, &["audit", "--json", "--csv"]).await;
}

/// Logs in to the API as `username`; the response to the login.
async fn api_login(config: &TestConfig, username: &str, password: &str) -> Response {
    let credentials = json!({ "username": username, "password": password });
    Request::post("/api/v1/session")
        .json(&credentials)
        .send(config.listeners.admin)
        .await
}

async fn me(config: &TestConfig, request: Request) -> u16 {
    request.send(config.listeners.admin).await.status
}

async fn admins_get_new_passwords_and_are_removed(config: &TestConfig) {
    const OLD: &str = "vecchia-password-di-anna";
    const NEW: &str = "nuova-password-di-anna";
    config.cli(&["domain", "add", DOMAIN], None).await.ok();
    let add = [
        "admin",
        "add",
        "anna",
        "--password-stdin",
        "--domain",
        DOMAIN,
    ];
    config.cli(&add, Some(&format!("{OLD}\n"))).await.ok();
    let token = config
        .cli(&["admin", "token", "create", "anna"], None)
        .await;
    let token = token.ok().trim().to_string();
    let server = Server::start(config).await;

    let login = api_login(config, "anna", OLD).await;
    assert_eq!(login.status, 200, "{login:#?}");
    let cookie = login
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let with_cookie = || Request::get("/api/v1/me").cookie(&cookie);
    let with_token = || Request::get("/api/v1/me").bearer(&token);
    assert_eq!(me(config, with_cookie()).await, 200);

    let passwd = ["admin", "passwd", "anna", "--password-stdin"];
    let out = config.cli(&passwd, Some(&format!("{NEW}\n"))).await;
    assert!(
        out.ok().contains("password of admin anna changed"),
        "{out:#?}"
    );
    assert_eq!(
        me(config, with_cookie()).await,
        401,
        "the session of the old password ended"
    );
    assert_eq!(me(config, with_token()).await, 200, "tokens stay valid");
    assert_eq!(api_login(config, "anna", OLD).await.status, 401);
    assert_eq!(api_login(config, "anna", NEW).await.status, 200);
    let short = config.cli(&passwd, Some("corta\n")).await;
    assert!(short.refused().contains("password"), "{short:#?}");

    let out = config.cli(&["admin", "remove", "anna"], None).await;
    assert!(out.ok().contains("removed admin anna"), "{out:#?}");
    assert_eq!(me(config, with_token()).await, 401, "its tokens ended");
    assert_eq!(api_login(config, "anna", NEW).await.status, 401);
    assert_eq!(json(config, &["admin", "list", "--json"]).await, json!([]));
    let tokens = json(config, &["admin", "token", "list", "--json"]).await;
    assert_eq!(tokens, json!([]));
    refused(config, &["admin", "remove", "anna"], "anna").await;
    let nobody = ["admin", "passwd", "nessuno", "--password-stdin"];
    let out = config.cli(&nobody, Some(&format!("{NEW}\n"))).await;
    assert!(out.refused().contains("nessuno"), "{out:#?}");
    drop(server);

    let audit = json(config, &["audit", "--json"]).await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("admin."))
        .collect();
    assert_eq!(actions, ["admin.remove", "admin.passwd", "admin.add"]);
    let text = audit.to_string();
    for secret in [OLD, NEW, token.as_str()] {
        assert!(
            !text.contains(secret),
            "`{secret}` in the audit log: {text}"
        );
    }
}

/// Runs one statement straight on the store, as someone with the
/// database password could.
async fn tamper(config: &TestConfig, sql: &'static str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&config.database_url())
        .await
        .expect("connect to the store");
    sqlx::query(sql).execute(&pool).await.expect(sql);
    pool.close().await;
}

/// `audit verify` must fail, naming `broken`.
async fn tampered(config: &TestConfig, broken: &str) {
    let out = config.cli(&["audit", "verify"], None).await;
    let error = out.refused();
    assert!(error.contains(broken), "expected `{broken}` in: {error}");
}

async fn tampering_with_the_admin_logs_is_found_and_named(config: &TestConfig) {
    for domain in [DOMAIN, ALTRO, "terzo.esempio.it", "quarto.esempio.it"] {
        config.cli(&["domain", "add", domain], None).await.ok();
    }
    let out = config.cli(&["audit", "verify"], None).await;
    let verified = out.ok();
    assert!(
        verified.contains("audit: ok (4 entries checked)"),
        "{verified}"
    );
    // Each command so far, and this one, is in the access log.
    assert!(
        verified.contains("access: ok (5 entries checked)"),
        "{verified}"
    );

    // The export carries the entries with their hashes, and the chains.
    let export = json(config, &["audit", "export", "--since", "2000-01-01"]).await;
    let audit = export["audit"].as_array().expect("the audit entries");
    assert_eq!(audit.len(), 4);
    assert_eq!(audit[1]["prev_hash"], audit[0]["hash"]);
    assert_eq!(audit[0]["prev_hash"], "");
    let access = export["access"].as_array().expect("the logins");
    assert_eq!(access[0]["method"], "cli");
    assert_eq!(access[0]["detail"], "domain add");
    assert_eq!(access.last().expect("a login")["detail"], "audit export");
    assert_eq!(export["chains"][0]["broken"], Value::Null);
    let out = config
        .cli(&["audit", "export", "--format", "csv"], None)
        .await;
    let csv = out.ok();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "log,id,at,actor,origin,action,domain,target,before,after,prev_hash,hash"
    );
    assert!(lines[1].starts_with("audit,1,"), "{csv}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",cli,login.cli,,domain add,,,")),
        "{csv}"
    );

    // An entry altered is named.
    tamper(
        config,
        "UPDATE audit_log SET target = 'x.esempio.it' WHERE id = 2",
    )
    .await;
    tampered(
        config,
        "the audit log has been tampered with: entry 2 was altered",
    )
    .await;
    tamper(
        config,
        "UPDATE audit_log SET target = 'altro.esempio.it' WHERE id = 2",
    )
    .await;
    config.cli(&["audit", "verify"], None).await.ok();
    // Two entries swapped, and put back.
    let swap = [
        "UPDATE admin_access SET id = -2 WHERE id = 2",
        "UPDATE admin_access SET id = 2 WHERE id = 3",
        "UPDATE admin_access SET id = 3 WHERE id = -2",
    ];
    for sql in swap {
        tamper(config, sql).await;
    }
    tampered(
        config,
        "the access log has been tampered with: entry 2 does not follow the entry before it",
    )
    .await;
    for sql in swap {
        tamper(config, sql).await;
    }
    config.cli(&["audit", "verify"], None).await.ok();
    // An entry removed: the next one names the gap.
    tamper(config, "DELETE FROM admin_access WHERE id = 2").await;
    tampered(
        config,
        "the access log has been tampered with: entry 3 does not follow the entry before it",
    )
    .await;
    // The newest entries removed.
    tamper(config, "DELETE FROM audit_log WHERE id > 1").await;
    tampered(
        config,
        "the audit log has been tampered with: the entries after entry 1 were removed",
    )
    .await;
}

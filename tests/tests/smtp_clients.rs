//! Real SMTP clients against every listener: Python's smtplib (STARTTLS,
//! implicit TLS, AUTH PLAIN and LOGIN, SMTPUTF8, pipelining) through
//! `tests/python/smtp_steps.py`, and swaks. The certificate is the
//! self-signed one generated on first start, so neither client verifies it.
//! Everything runs on SQLite and on PostgreSQL.

use postino_common::store::Store;
use postino_tests::smtp::{
    ANNA, BRUNO, DOMAIN, PASSWORD, inbox, outside_world_unreachable, queued_addresses, site,
    stopped,
};
use postino_tests::{Output, Server, TestConfig, on_both_backends, run_program};
use serde_json::{Value, json};

on_both_backends!(
    smtplib_starttls_submission_with_auth_and_pipelining,
    smtplib_implicit_tls_with_login_and_smtputf8,
    smtplib_on_mx_with_starttls,
    swaks_over_every_listener,
);

const STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/smtp_steps.py");

/// Runs smtplib through `steps`; one result per step.
async fn python(steps: Value) -> Vec<Value> {
    let input = steps.to_string();
    let out = run_program("python3", &[STEPS], Some(input.as_bytes())).await;
    let results: Vec<Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|err| panic!("smtp_steps.py output is not JSON ({err}): {out:#?}"));
    assert_eq!(
        results.len(),
        steps.as_array().map_or(0, Vec::len),
        "{results:#?}"
    );
    results
}

#[track_caller]
fn code(result: &Value) -> u64 {
    result["code"]
        .as_u64()
        .unwrap_or_else(|| panic!("no reply code in {result}"))
}

fn message(from: &str, subject: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: <{BRUNO}>\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@postino.test>\r\n\r\nTesto di prova.\r\n"
    )
}

/// The messages in a mailbox's INBOX, as text.
async fn inbox_text(store: &Store, address: &str) -> Vec<String> {
    let bodies = inbox(store, address).await;
    bodies
        .into_iter()
        .map(|body| String::from_utf8(body).expect("UTF-8 test messages"))
        .collect()
}

fn has_feature(features: &Value, name: &str) -> bool {
    features.get(name).is_some()
}

async fn smtplib_starttls_submission_with_auth_and_pipelining(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    outside_world_unreachable(config);
    let server = Server::start(config).await;
    let port = config.listeners.smtp_submission.port();
    let first = message(ANNA, "smtplib-starttls");
    let second = message(ANNA, "smtplib-pipelined");
    let results = python(json!([
        {"op": "connect", "port": port, "tls": "starttls"},
        {"op": "login", "user": ANNA, "password": PASSWORD, "mechanism": "PLAIN"},
        {"op": "sendmail", "from": ANNA, "to": [BRUNO, "amico@esterno.example"], "message": first},
        {"op": "mail", "from": BRUNO},
        {"op": "raw", "bytes": format!(
            "MAIL FROM:<{ANNA}>\r\nRCPT TO:<{BRUNO}>\r\nRCPT TO:<nessuno@{DOMAIN}>\r\nDATA\r\n")},
        {"op": "reply"}, {"op": "reply"}, {"op": "reply"}, {"op": "reply"},
        {"op": "raw", "bytes": format!("{second}.\r\n")},
        {"op": "reply"},
        {"op": "quit"},
    ]))
    .await;
    let connect = &results[0];
    assert_eq!(connect["starttls_code"], 220, "{connect}");
    let before = &connect["features_before_tls"];
    assert!(has_feature(before, "starttls"), "{connect}");
    assert!(
        !has_feature(before, "auth"),
        "AUTH offered in clear: {connect}"
    );
    let after = &connect["features"];
    assert!(
        !has_feature(after, "starttls"),
        "STARTTLS offered again: {connect}"
    );
    let auth = after["auth"].as_str().unwrap_or_default();
    assert!(
        auth.contains("PLAIN") && auth.contains("LOGIN"),
        "{connect}"
    );
    for name in [
        "pipelining",
        "size",
        "8bitmime",
        "smtputf8",
        "enhancedstatuscodes",
        "chunking",
        "dsn",
    ] {
        assert!(has_feature(after, name), "{name} missing: {connect}");
    }
    assert_eq!(code(&results[1]), 235, "{}", results[1]);
    assert_eq!(results[2], json!({"refused": {}}), "sendmail");
    assert_eq!(code(&results[3]), 553, "sending as Bruno: {}", results[3]);
    assert!(
        results[3]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("5.7.1")),
        "{}",
        results[3]
    );
    let pipelined: Vec<u64> = results[5..9].iter().map(code).collect();
    assert_eq!(pipelined, [250, 250, 550, 354], "{results:#?}");
    assert_eq!(code(&results[10]), 250, "{}", results[10]);
    assert_eq!(code(&results[11]), 221);

    let store = stopped(server, config).await;
    let bruno = inbox_text(&store, BRUNO).await;
    assert_eq!(bruno.len(), 2, "{bruno:#?}");
    assert!(
        bruno[0].ends_with(&first) && bruno[1].ends_with(&second),
        "{bruno:#?}"
    );
    assert!(
        bruno[0].contains("with ESMTPSA"),
        "RFC 3848 over TLS with AUTH: {}",
        bruno[0]
    );
    assert_eq!(queued_addresses(&store).await, ["amico@esterno.example"]);
}

async fn smtplib_implicit_tls_with_login_and_smtputf8(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    outside_world_unreachable(config);
    let server = Server::start(config).await;
    let port = config.listeners.smtp_submissions.port();
    let utf8 = format!(
        "From: Anna <{ANNA}>\r\nTo: José <josé@esterno.example>\r\nSubject: perché è così\r\n\r\nCittà più bella.\r\n"
    );
    let results = python(json!([
        {"op": "connect", "port": port, "tls": "implicit"},
        {"op": "login", "user": ANNA, "password": "sbagliata", "mechanism": "LOGIN"},
        {"op": "login", "user": ANNA, "password": PASSWORD, "mechanism": "LOGIN"},
        {"op": "sendmail", "from": ANNA, "to": [BRUNO, "josé@esterno.example"], "message": utf8,
         "mail_options": ["SMTPUTF8", "BODY=8BITMIME"]},
        {"op": "quit"},
    ]))
    .await;
    let connect = &results[0];
    assert!(has_feature(&connect["features"], "auth"), "{connect}");
    assert!(
        !has_feature(&connect["features"], "starttls"),
        "STARTTLS over TLS: {connect}"
    );
    assert_eq!(code(&results[1]), 535, "{}", results[1]);
    assert_eq!(code(&results[2]), 235, "{}", results[2]);
    assert_eq!(results[3], json!({"refused": {}}), "sendmail");

    let store = stopped(server, config).await;
    let bruno = inbox_text(&store, BRUNO).await;
    assert_eq!(bruno.len(), 1);
    assert!(bruno[0].ends_with(&utf8), "{}", bruno[0]);
    assert!(
        bruno[0].contains("with UTF8SMTPSA"),
        "RFC 6531 §3.7.3: {}",
        bruno[0]
    );
    assert_eq!(queued_addresses(&store).await, ["josé@esterno.example"]);
}

/// MX offers STARTTLS but never AUTH; input sent in clear after STARTTLS is
/// dropped, not run after the handshake (CVE-2011-0411).
async fn smtplib_on_mx_with_starttls(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    outside_world_unreachable(config);
    let server = Server::start(config).await;
    let port = config.listeners.smtp_mx.port();
    let sent = message("mittente@esterno.example", "mx-starttls");
    let results = python(json!([
        {"op": "connect", "port": port, "tls": "starttls"},
        {"op": "sendmail", "from": "mittente@esterno.example", "to": [ANNA], "message": sent},
        {"op": "rcpt", "to": "vittima@esterno.example"},
        {"op": "quit"},
        {"op": "starttls_injection", "port": port},
    ]))
    .await;
    let connect = &results[0];
    assert!(
        !has_feature(&connect["features"], "auth"),
        "AUTH on MX: {connect}"
    );
    assert!(!has_feature(&connect["features"], "starttls"), "{connect}");
    assert_eq!(results[1], json!({"refused": {}}), "sendmail");
    assert!(code(&results[2]) >= 500, "{}", results[2]);
    let injection = &results[4];
    assert_eq!(injection["starttls"]["code"], 220, "{injection}");
    let first = &injection["first_after_tls"];
    assert_eq!(first["code"], 250, "{injection}");
    let lines = first["lines"].as_array().map_or(0, Vec::len);
    assert!(
        lines > 1,
        "the first reply after TLS is not the EHLO one: {injection}"
    );

    let store = stopped(server, config).await;
    let anna = inbox_text(&store, ANNA).await;
    assert_eq!(anna.len(), 1);
    assert!(anna[0].ends_with(&sent));
    assert!(anna[0].contains("with ESMTPS"), "{}", anna[0]);
    assert!(!anna[0].contains("with ESMTPSA"), "{}", anna[0]);
}

/// Runs swaks against the server; the output names every line exchanged.
async fn swaks(args: &[&str]) -> Output {
    let mut all = vec!["--helo", "client.example", "--timeout", "20"];
    all.extend_from_slice(args);
    run_program("swaks", &all, None).await
}

#[track_caller]
fn swaks_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "swaks {what} failed: {out:#?}");
}

async fn swaks_over_every_listener(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    outside_world_unreachable(config);
    let server = Server::start(config).await;
    let mx = config.listeners.smtp_mx.to_string();
    let submission = config.listeners.smtp_submission.to_string();
    let submissions = config.listeners.smtp_submissions.to_string();
    let external = "mittente@esterno.example";
    let cases: [(&str, Vec<&str>); 5] = [
        (
            "swaks-mx",
            vec!["--server", &mx, "--from", external, "--to", ANNA],
        ),
        (
            "swaks-mx-tls",
            vec!["--server", &mx, "--tls", "--from", external, "--to", ANNA],
        ),
        (
            "swaks-mx-pipeline",
            vec![
                "--server",
                &mx,
                "--pipeline",
                "--from",
                external,
                "--to",
                ANNA,
            ],
        ),
        (
            "swaks-submission",
            vec![
                "--server",
                &submission,
                "--tls",
                "--auth",
                "PLAIN",
                "--auth-user",
                ANNA,
                "--auth-password",
                PASSWORD,
                "--from",
                ANNA,
                "--to",
                BRUNO,
            ],
        ),
        (
            "swaks-submissions",
            vec![
                "--server",
                &submissions,
                "--tlsc",
                "--auth",
                "LOGIN",
                "--auth-user",
                ANNA,
                "--auth-password",
                PASSWORD,
                "--from",
                ANNA,
                "--to",
                BRUNO,
            ],
        ),
    ];
    for (subject, args) in &cases {
        let header = format!("Subject: {subject}");
        let mut all = args.clone();
        all.extend_from_slice(&["--header", &header, "--body", "Corpo da swaks."]);
        swaks_ok(&swaks(&all).await, subject);
    }
    // Refusals: swaks fails, and the transcript shows why.
    let relay = swaks(&[
        "--server",
        &mx,
        "--from",
        external,
        "--to",
        "vittima@altrove.example",
    ])
    .await;
    assert!(!relay.status.success(), "{relay:#?}");
    assert!(relay.stdout.contains("550 5.7.1"), "{relay:#?}");
    let anonymous = swaks(&[
        "--server",
        &submission,
        "--tls",
        "--from",
        ANNA,
        "--to",
        BRUNO,
    ])
    .await;
    assert!(!anonymous.status.success(), "{anonymous:#?}");
    assert!(anonymous.stdout.contains("530 5.7.0"), "{anonymous:#?}");
    let wrong = swaks(&[
        "--server",
        &submissions,
        "--tlsc",
        "--auth",
        "PLAIN",
        "--auth-user",
        ANNA,
        "--auth-password",
        "sbagliata",
        "--from",
        ANNA,
        "--to",
        BRUNO,
    ])
    .await;
    assert!(!wrong.status.success(), "{wrong:#?}");
    assert!(wrong.stdout.contains("535 5.7.8"), "{wrong:#?}");

    let store = stopped(server, config).await;
    let subjects = |messages: Vec<String>| -> Vec<String> {
        messages
            .iter()
            .filter_map(|m| m.lines().find_map(|l| l.strip_prefix("Subject: ")))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        subjects(inbox_text(&store, ANNA).await),
        ["swaks-mx", "swaks-mx-tls", "swaks-mx-pipeline"]
    );
    assert_eq!(
        subjects(inbox_text(&store, BRUNO).await),
        ["swaks-submission", "swaks-submissions"]
    );
}

//! Real IMAP clients against both IMAP listeners, on both store backends:
//! Python's imaplib through `tests/python/imap_steps.py` (STARTTLS, implicit
//! TLS, IMAP4rev2 with UTF-8 names and ESEARCH, modified UTF-7 names under
//! IMAP4rev1, two sessions on one folder, the commands a mail client sends)
//! and curl with imap:// and imaps://. Mail arrives by SMTP on the MX
//! listener. The certificate is the self-signed one generated on first
//! start, so neither client verifies it.

use postino_tests::dns::DnsStub;
use postino_tests::smtp::{ANNA, PASSWORD, add_mailbox, data, envelope, greeted, site};
use postino_tests::{Output, Server, TestConfig, on_both_backends, run_program};
use serde_json::{Value, json};

on_both_backends!(
    imaplib_starttls_session,
    imaplib_implicit_tls_and_bad_password,
    imaplib_imap4rev2_utf8_names_and_esearch,
    imaplib_imap4rev1_modified_utf7_names,
    imaplib_two_sessions_on_one_folder,
    imaplib_mail_client_flow,
    curl_imap_and_imaps,
);

const STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/imap_steps.py");
const SENDER: &str = "mittente@esterno.example";

/// Runs imaplib through `steps`; one result per step.
async fn python(steps: Value) -> Vec<Value> {
    let input = steps.to_string();
    let out = run_program("python3", &[STEPS], Some(input.as_bytes())).await;
    let results: Vec<Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|err| panic!("imap_steps.py output is not JSON ({err}): {out:#?}"));
    assert_eq!(
        results.len(),
        steps.as_array().map_or(0, Vec::len),
        "{results:#?}"
    );
    results
}

/// A step calling `imaplib.IMAP4.method(*args)` in session "a".
fn call(method: &str, args: Value) -> Value {
    json!({"op": "call", "method": method, "args": args})
}

/// `step` in session `session`.
fn on(session: &str, mut step: Value) -> Value {
    step["session"] = json!(session);
    step
}

/// Starts a server for Anna, with `imap` settings and Anna's `options`.
async fn start(config: &TestConfig, imap: &[&str], options: &[&str]) -> (Server, DnsStub) {
    for line in imap {
        config.set("imap", line);
    }
    let dns = site(config, &[], &[]).await;
    add_mailbox(config, ANNA, options).await;
    (Server::start(config).await, dns)
}

/// Delivers `message` to Anna through the MX listener.
async fn deliver(config: &TestConfig, message: &str) {
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, SENDER, &[ANNA]).await;
    data(&mut client, message.as_bytes())
        .await
        .expect(250, "2.0.0");
    client.command("QUIT").await.expect(221, "2.0.0");
}

fn message(subject: &str, body: &str) -> String {
    format!(
        "From: Mittente <{SENDER}>\r\nTo: Anna <{ANNA}>\r\nSubject: {subject}\r\n\
         Message-ID: <{}@esterno.example>\r\nDate: Mon, 2 Feb 2026 10:00:00 +0100\r\n\
         \r\n{body}\r\n",
        subject.replace(' ', ".")
    )
}

/// Asserts that a `call` step got a tagged OK, and returns it.
#[track_caller]
fn ok(result: &Value) -> &Value {
    assert_eq!(result["typ"], "OK", "{result:#}");
    result
}

/// Every string in `value`, one a line, whatever imaplib nested it in.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s}\n"),
        Value::Array(items) => items.iter().map(text).collect(),
        Value::Object(map) => map.values().map(text).collect(),
        _ => String::new(),
    }
}

/// The strings of a step's `data`.
#[track_caller]
fn strings(result: &Value) -> Vec<&str> {
    let data = result["data"].as_array();
    let data = data.unwrap_or_else(|| panic!("no data in {result:#}"));
    data.iter().filter_map(Value::as_str).collect()
}

/// The untagged responses `name` a step collected.
fn untagged<'a>(result: &'a Value, name: &str) -> Vec<&'a str> {
    let values = result["untagged"][name].as_array();
    values.map_or_else(Vec::new, |v| v.iter().filter_map(Value::as_str).collect())
}

/// The message of a one-message FETCH BODY[] (imaplib: `[(head, literal), ")"]`).
#[track_caller]
fn fetched_body(result: &Value) -> &str {
    ok(result)["data"][0][1]
        .as_str()
        .unwrap_or_else(|| panic!("no literal in {result:#}"))
}

/// The number after `key ` in `text`.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(&format!("{key} "))? + key.len() + 1;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[track_caller]
fn capabilities(result: &Value) -> Vec<&str> {
    let caps = result["capabilities"].as_array();
    let caps = caps.unwrap_or_else(|| panic!("no capabilities in {result:#}"));
    caps.iter().filter_map(Value::as_str).collect()
}

/// STARTTLS on the cleartext listener: LOGIN is refused before it, then the
/// usual session runs over TLS.
async fn imaplib_starttls_session(config: &TestConfig) {
    let (_server, _dns) = start(config, &[], &[]).await;
    let sent = message("Prova STARTTLS", "Arrivata in chiaro, letta su TLS.");
    deliver(config, &sent).await;
    let r = python(json!([
        {"op": "connect", "port": config.listeners.imap.port()},
        call("login", json!([ANNA, PASSWORD])),
        {"op": "starttls"},
        call("login", json!([ANNA, PASSWORD])),
        call("list", json!([])),
        call("select", json!(["INBOX"])),
        call("fetch", json!(["1", "(FLAGS RFC822.SIZE BODY.PEEK[])"])),
        call("logout", json!([])),
    ]))
    .await;
    let before = capabilities(&r[0]);
    for cap in ["IMAP4REV2", "IMAP4REV1", "STARTTLS", "LOGINDISABLED"] {
        assert!(before.contains(&cap), "{cap} before TLS: {:#}", r[0]);
    }
    assert!(!before.contains(&"AUTH=PLAIN"), "{:#}", r[0]);
    assert_eq!(r[1]["error"], "error", "LOGIN in clear: {:#}", r[1]);
    assert!(text(&r[1]).contains("[PRIVACYREQUIRED]"), "{:#}", r[1]);

    assert_eq!(r[2]["typ"], "OK", "{:#}", r[2]);
    let after = capabilities(&r[2]);
    assert!(after.contains(&"AUTH=PLAIN"), "{:#}", r[2]);
    assert!(!after.contains(&"STARTTLS"), "{:#}", r[2]);
    assert!(!after.contains(&"LOGINDISABLED"), "{:#}", r[2]);
    ok(&r[3]);
    let list = strings(ok(&r[4]));
    assert!(list.contains(&r#"(\HasNoChildren) "/" INBOX"#), "{list:#?}");
    for folder in ["Sent", "Drafts", "Trash", "Junk", "Archive"] {
        let line = format!(r#"(\HasNoChildren \{folder}) "/" {folder}"#);
        assert!(list.contains(&line.as_str()), "{line} in {list:#?}");
    }
    assert_eq!(strings(ok(&r[5])), ["1"]);
    let body = fetched_body(&r[6]);
    assert!(body.ends_with(&sent) && body.len() > sent.len(), "{body}");
    let head = r[6]["data"][0][0].as_str().unwrap_or_default();
    // PEEK sets nothing; the message is \Recent in the first session to
    // select INBOX since it arrived.
    assert!(head.contains(r"FLAGS (\Recent)"), "{head}");
    assert_eq!(number_after(head, "RFC822.SIZE"), Some(body.len() as u64));
    assert_eq!(r[7]["typ"], "BYE", "{:#}", r[7]);
}

/// Implicit TLS on the other listener; a wrong password is refused with
/// AUTHENTICATIONFAILED and the right one then works.
async fn imaplib_implicit_tls_and_bad_password(config: &TestConfig) {
    let (_server, _dns) = start(config, &[], &[]).await;
    let sent = message("Prova TLS", "Letta su TLS implicito.");
    deliver(config, &sent).await;
    let r = python(json!([
        {"op": "connect", "port": config.listeners.imap_tls.port(), "tls": "implicit"},
        call("login", json!([ANNA, "sbagliata"])),
        call("login", json!(["nessuno@comune.esempio.pu.it", PASSWORD])),
        call("login", json!([ANNA, PASSWORD])),
        call("namespace", json!([])),
        call("select", json!(["INBOX"])),
        call("fetch", json!(["1", "(UID RFC822)"])),
        call("fetch", json!(["1", "(FLAGS)"])),
        call("logout", json!([])),
    ]))
    .await;
    let caps = capabilities(&r[0]);
    assert!(caps.contains(&"AUTH=PLAIN"), "{:#}", r[0]);
    assert!(!caps.contains(&"STARTTLS"), "STARTTLS over TLS: {:#}", r[0]);
    assert!(!caps.contains(&"LOGINDISABLED"), "{:#}", r[0]);
    for refused in &r[1..3] {
        assert_eq!(refused["error"], "error", "{refused:#}");
        assert!(
            text(refused).contains("[AUTHENTICATIONFAILED]"),
            "{refused:#}"
        );
    }
    ok(&r[3]);
    assert_eq!(
        strings(ok(&r[4])),
        [r#"(("" "/")) (("Condivise/" "/")) NIL"#]
    );
    assert_eq!(strings(ok(&r[5])), ["1"]);
    let body = fetched_body(&r[6]);
    assert!(body.ends_with(&sent), "{body}");
    // RFC822 is BODY[], which sets \Seen (RFC 9051 §6.4.5).
    let flags = text(&ok(&r[7])["data"]);
    assert!(flags.contains(r"FLAGS (\Seen \Recent)"), "{flags}");
    assert_eq!(r[8]["typ"], "BYE", "{:#}", r[8]);
}

/// IMAP4rev2 enabled: mailbox names in UTF-8 both ways, SEARCH answered
/// with ESEARCH (which imaplib leaves among the untagged responses, its
/// `search` returning `[None]`), and a UTF-8 search string.
async fn imaplib_imap4rev2_utf8_names_and_esearch(config: &TestConfig) {
    let (_server, _dns) = start(config, &["allow_plaintext_auth = true"], &[]).await;
    let first =
        "From: <mittente@esterno.example>\r\nSubject: Riunione in città\r\n\r\nA domani.\r\n";
    let second = "From: <mittente@esterno.example>\r\n\
                  Subject: =?UTF-8?Q?Citt=C3=A0=2C_perch=C3=A9_no=3F?=\r\n\
                  Content-Type: text/plain; charset=utf-8\r\n\r\nPerché sì.\r\n";
    let r = python(json!([
        {"op": "connect", "port": config.listeners.imap.port()},
        call("login", json!([ANNA, PASSWORD])),
        call("enable", json!(["IMAP4rev2"])),
        {"op": "utf8"},
        call("create", json!(["\"Città\""])),
        call("create", json!(["\"Città/Perché\""])),
        call("list", json!(["\"\"", "*"])),
        call("append", json!(["\"Città\"", null, null, {"bytes": first}])),
        call("append", json!(["\"Città\"", "(\\Flagged)", null, {"bytes": second}])),
        call("status", json!(["\"Città\"", "(MESSAGES UIDNEXT)"])),
        call("select", json!(["\"Città\""])),
        call("search", json!([null, "ALL"])),
        call("search", json!([null, "SUBJECT", "\"perché\""])),
        call("uid", json!(["SEARCH", "SUBJECT", "\"in città\""])),
        call("search", json!([null, "FLAGGED"])),
        call("search", json!([null, "BODY", "\"sì\""])),
        call("search", json!([null, "SUBJECT", "\"assente\""])),
        call("fetch", json!(["2", "(BODY.PEEK[])"])),
        call("logout", json!([])),
    ]))
    .await;
    ok(&r[1]);
    assert_eq!(untagged(ok(&r[2]), "ENABLED"), ["IMAP4rev2"], "{:#}", r[2]);
    ok(&r[4]);
    ok(&r[5]);
    let list = strings(ok(&r[6]));
    assert!(list.contains(&r#"(\HasChildren) "/" "Città""#), "{list:#?}");
    assert!(
        list.contains(&r#"(\HasNoChildren) "/" "Città/Perché""#),
        "{list:#?}"
    );
    for append in &r[7..9] {
        assert!(!untagged(ok(append), "APPENDUID").is_empty(), "{append:#}");
    }
    assert_eq!(strings(ok(&r[9])), [r#""Città" (MESSAGES 2 UIDNEXT 3)"#]);
    assert_eq!(strings(ok(&r[10])), ["2"]);
    // (step, what follows the `(TAG "...")` correlator)
    let searches = [
        (11, " ALL 1:2"),
        (12, " ALL 2"),
        (13, " UID ALL 1"),
        (14, " ALL 2"),
        (15, " ALL 2"),
        (16, ""),
    ];
    for (step, expected) in searches {
        let result = ok(&r[step]);
        assert_eq!(result["data"], json!([null]), "no * SEARCH: {result:#}");
        let esearch = untagged(result, "ESEARCH");
        assert_eq!(esearch.len(), 1, "step {step}: {result:#}");
        let rest = esearch[0]
            .strip_prefix("(TAG \"")
            .and_then(|s| s.split_once("\")"))
            .map(|(_, rest)| rest);
        assert_eq!(rest, Some(expected), "step {step}: {result:#}");
    }
    assert_eq!(fetched_body(&r[17]), second);
}

/// Without IMAP4rev2 names travel in modified UTF-7 (RFC 3501 §5.1.3);
/// a rev2 session sees the same folders in UTF-8.
async fn imaplib_imap4rev1_modified_utf7_names(config: &TestConfig) {
    let (_server, _dns) = start(config, &["allow_plaintext_auth = true"], &[]).await;
    let port = config.listeners.imap.port();
    let sent = message("Nella cartella", "Nella cartella accentata.");
    let r = python(json!([
        {"op": "connect", "port": port},
        call("login", json!([ANNA, PASSWORD])),
        call("create", json!(["Citt&AOA-"])),
        call("create", json!(["\"Citt&AOA-/Perch&AOk-\""])),
        call("list", json!(["\"\"", "Citt*"])),
        call("select", json!(["\"Citt&AOA-/Perch&AOk-\""])),
        call("append", json!(["Citt&AOA-", null, null, {"bytes": sent}])),
        call("status", json!(["Citt&AOA-", "(MESSAGES)"])),
        call("rename", json!(["\"Citt&AOA-/Perch&AOk-\"", "\"Citt&AOA-/Cos&AOw-\""])),
        call("list", json!(["\"\"", "*"])),
        on("b", json!({"op": "connect", "port": port})),
        on("b", call("login", json!([ANNA, PASSWORD]))),
        on("b", call("enable", json!(["IMAP4rev2"]))),
        on("b", json!({"op": "utf8"})),
        on("b", call("list", json!(["\"\"", "Citt*"]))),
        on("b", call("status", json!(["\"Città\"", "(MESSAGES)"]))),
        call("logout", json!([])),
        on("b", call("logout", json!([]))),
    ]))
    .await;
    ok(&r[1]);
    ok(&r[2]);
    ok(&r[3]);
    assert_eq!(
        strings(ok(&r[4])),
        [
            r#"(\HasChildren) "/" Citt&AOA-"#,
            r#"(\HasNoChildren) "/" Citt&AOA-/Perch&AOk-"#
        ]
    );
    assert_eq!(strings(ok(&r[5])), ["0"]);
    ok(&r[6]);
    assert_eq!(strings(ok(&r[7])), [r#"Citt&AOA- (MESSAGES 1)"#]);
    ok(&r[8]);
    let list = strings(ok(&r[9]));
    assert!(
        list.contains(&r#"(\HasNoChildren) "/" Citt&AOA-/Cos&AOw-"#),
        "{list:#?}"
    );
    assert!(
        list.iter()
            .all(|line| line.is_ascii() && !line.contains("Perch")),
        "{list:#?}"
    );
    assert_eq!(
        strings(ok(&r[14])),
        [
            r#"(\HasChildren) "/" "Città""#,
            r#"(\HasNoChildren) "/" "Città/Così""#
        ]
    );
    assert_eq!(strings(ok(&r[15])), [r#""Città" (MESSAGES 1)"#]);
}

/// Two sessions on one folder: what the writer does (APPEND, STORE,
/// EXPUNGE) the reader hears of, first on NOOP, then while in IDLE.
async fn imaplib_two_sessions_on_one_folder(config: &TestConfig) {
    let (_server, _dns) = start(config, &[], &[]).await;
    let port = config.listeners.imap_tls.port();
    let first = message("Primo", "Uno.");
    let second = message("Secondo", "Due.");
    let third = message("Terzo", "Tre.");
    let w = |step: Value| on("w", step);
    let r = |step: Value| on("r", step);
    let res = python(json!([
        w(json!({"op": "connect", "port": port, "tls": "implicit"})),
        w(call("login", json!([ANNA, PASSWORD]))),
        r(json!({"op": "connect", "port": port, "tls": "implicit"})),
        r(call("login", json!([ANNA, PASSWORD]))),
        w(call("create", json!(["Progetti"]))),
        w(call("select", json!(["Progetti"]))),
        r(call("select", json!(["Progetti"]))),
        // 7: on NOOP
        w(call(
            "append",
            json!(["Progetti", null, null, {"bytes": first}])
        )),
        r(json!({"op": "noop_until", "name": "EXISTS"})),
        w(call("store", json!(["1", "+FLAGS", "(\\Flagged)"]))),
        r(json!({"op": "noop_until", "name": "FETCH"})),
        w(call(
            "append",
            json!(["Progetti", null, null, {"bytes": second}])
        )),
        w(call("store", json!(["1", "+FLAGS", "(\\Deleted)"]))),
        w(call("expunge", json!([]))),
        r(json!({"op": "noop_until", "name": "EXPUNGE"})),
        // 15: in IDLE
        r(json!({"op": "send", "bytes": "I1 IDLE\r\n", "until": "^\\+"})),
        w(call(
            "append",
            json!(["Progetti", null, null, {"bytes": third}])
        )),
        r(json!({"op": "send", "until": "EXISTS$"})),
        w(call("uid", json!(["STORE", "3", "+FLAGS", "(\\Seen)"]))),
        r(json!({"op": "send", "until": "FETCH"})),
        w(call("uid", json!(["STORE", "2", "+FLAGS", "(\\Deleted)"]))),
        w(call("uid", json!(["EXPUNGE", "2"]))),
        r(json!({"op": "send", "until": "EXPUNGE$"})),
        r(json!({"op": "send", "bytes": "DONE\r\n", "until": "^I1 "})),
        r(call("fetch", json!(["1:*", "(UID FLAGS)"]))),
        w(call("logout", json!([]))),
        r(call("logout", json!([]))),
    ]))
    .await;
    for step in [1, 3, 4] {
        ok(&res[step]);
    }
    assert_eq!(strings(ok(&res[5])), ["0"]);
    assert_eq!(strings(ok(&res[6])), ["0"]);
    ok(&res[7]);
    assert_eq!(untagged(&res[8], "EXISTS"), ["1"], "{:#}", res[8]);
    ok(&res[9]);
    let flagged = untagged(&res[10], "FETCH");
    assert!(
        flagged.len() == 1 && flagged[0].starts_with("1 (") && flagged[0].contains(r"\Flagged"),
        "{:#}",
        res[10]
    );
    ok(&res[11]);
    ok(&res[12]);
    assert_eq!(strings(ok(&res[13])), ["1"], "the writer's own EXPUNGE");
    let noop = &res[14];
    assert_eq!(untagged(noop, "EXPUNGE"), ["1"], "{noop:#}");
    assert!(untagged(noop, "EXISTS").contains(&"2"), "{noop:#}");

    let idle = |step: usize| -> Vec<&str> {
        let lines = res[step]["lines"].as_array();
        let lines = lines.unwrap_or_else(|| panic!("step {step}: {:#}", res[step]));
        lines.iter().filter_map(Value::as_str).collect()
    };
    assert!(
        idle(15).last().is_some_and(|l| l.starts_with("+ ")),
        "{:?}",
        idle(15)
    );
    ok(&res[16]);
    assert_eq!(idle(17), ["* 2 EXISTS"]);
    ok(&res[18]);
    // The RECENT that followed EXISTS may be read with this step.
    let mut seen = idle(19);
    seen.retain(|line| !line.ends_with(" RECENT"));
    assert!(
        seen.len() == 1 && seen[0].starts_with("* 2 FETCH (") && seen[0].contains(r"\Seen"),
        "{seen:?}"
    );
    ok(&res[20]);
    ok(&res[21]);
    let expunged = idle(22);
    assert_eq!(expunged.last(), Some(&"* 1 EXPUNGE"), "{expunged:?}");
    let done = idle(23);
    assert!(done.len() == 1 && done[0].starts_with("I1 OK"), "{done:?}");
    let left = strings(ok(&res[24]));
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].contains("UID 3") && left[0].contains(r"\Seen"),
        "{left:?}"
    );
}

/// What a desktop mail client does on opening and reading its mail.
async fn imaplib_mail_client_flow(config: &TestConfig) {
    let (_server, _dns) = start(config, &[], &["--quota", "10MB"]).await;
    let simple = message("Prova semplice", "Un messaggio di solo testo.");
    let attachment = format!(
        "From: Mittente <{SENDER}>\r\nTo: <{ANNA}>\r\nSubject: Relazione con allegato\r\n\
         Message-ID: <allegato@esterno.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"confine\"\r\n\r\n\
         --confine\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n\
         In allegato la relazione.\r\n\
         --confine\r\nContent-Type: application/pdf; name=\"relazione.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"relazione.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n\
         JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK\r\n\
         dHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK\r\n--confine--\r\n"
    );
    let reminder = message("Promemoria", "Da leggere.");
    for sent in [&simple, &attachment, &reminder] {
        deliver(config, sent).await;
    }
    let reply = format!(
        "From: Anna <{ANNA}>\r\nTo: <{SENDER}>\r\nSubject: Re: Prova semplice\r\n\r\nRicevuto.\r\n"
    );
    let folders = ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"];
    let mut steps = vec![
        json!({"op": "connect", "port": config.listeners.imap_tls.port(), "tls": "implicit"}),
        call("login", json!([ANNA, PASSWORD])),
        call("list", json!(["\"\"", "*"])),
    ];
    for folder in folders {
        steps.push(call("status", json!([folder, "(MESSAGES UNSEEN UIDNEXT)"])));
    }
    steps.extend([
        // 9
        call("select", json!(["INBOX"])),
        call(
            "uid",
            json!([
                "FETCH",
                "1:*",
                "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
            ]),
        ),
        call("uid", json!(["FETCH", "1", "(BODY.PEEK[])"])),
        call("uid", json!(["FETCH", "2", "(BODY.PEEK[])"])),
        call("uid", json!(["STORE", "1", "+FLAGS", "(\\Seen)"])),
        call("uid", json!(["COPY", "1", "Archive"])),
        call("uid", json!(["MOVE", "2", "Trash"])),
        call("uid", json!(["STORE", "1", "+FLAGS", "(\\Deleted)"])),
        call("uid", json!(["EXPUNGE", "1"])),
        call(
            "append",
            json!(["Sent", "(\\Seen)", null, {"bytes": reply}]),
        ),
        // 19
        call("search", json!([null, "UNSEEN"])),
        call("status", json!(["Archive", "(MESSAGES UNSEEN)"])),
        call("status", json!(["Trash", "(MESSAGES UNSEEN)"])),
        call("status", json!(["Sent", "(MESSAGES UNSEEN)"])),
        call("getquotaroot", json!(["INBOX"])),
        call("select", json!(["Archive"])),
        call("fetch", json!(["1", "(FLAGS BODY.PEEK[])"])),
        call("logout", json!([])),
    ]);
    let r = python(Value::Array(steps)).await;
    ok(&r[1]);
    assert_eq!(strings(ok(&r[2])).len(), folders.len(), "{:#}", r[2]);
    for (i, folder) in folders.iter().enumerate() {
        // Names as atoms and items in Dovecot's order.
        let expected = if *folder == "INBOX" {
            "INBOX (MESSAGES 3 UIDNEXT 4 UNSEEN 3)".to_string()
        } else {
            format!("{folder} (MESSAGES 0 UIDNEXT 1 UNSEEN 0)")
        };
        assert_eq!(strings(ok(&r[3 + i])), [expected.as_str()]);
    }
    assert_eq!(strings(ok(&r[9])), ["3"]);

    let listing = text(&ok(&r[10])["data"]);
    let lower = listing.to_ascii_lowercase();
    for uid in 1..=3 {
        assert!(listing.contains(&format!("UID {uid}")), "{listing}");
    }
    for expected in [
        "\"prova semplice\"",
        "\"relazione con allegato\"",
        "\"mittente\" \"esterno.example\"",
        "\"text\" \"plain\"",
        "\"application\" \"pdf\"",
        "\"attachment\"",
        "\"base64\"",
        "\"mixed\"",
    ] {
        assert!(lower.contains(expected), "{expected} in {listing}");
    }
    let simple_body = fetched_body(&r[11]);
    assert!(simple_body.ends_with(&simple), "{simple_body}");
    assert!(fetched_body(&r[12]).ends_with(&attachment), "{:#}", r[12]);
    let first_line = listing.lines().next().unwrap_or_default();
    assert_eq!(
        number_after(first_line, "RFC822.SIZE"),
        Some(simple_body.len() as u64),
        "{listing}"
    );
    assert!(!first_line.contains(r"\Seen"), "{listing}");

    let seen = text(&ok(&r[13])["data"]);
    assert!(seen.contains(r"\Seen") && seen.contains("UID 1"), "{seen}");
    assert_eq!(untagged(ok(&r[14]), "COPYUID").len(), 1, "{:#}", r[14]);
    let moved = ok(&r[15]);
    assert_eq!(untagged(moved, "COPYUID").len(), 1, "{moved:#}");
    assert_eq!(untagged(moved, "EXPUNGE"), ["2"], "{moved:#}");
    ok(&r[16]);
    assert_eq!(untagged(ok(&r[17]), "EXPUNGE"), ["1"], "{:#}", r[17]);
    assert_eq!(untagged(ok(&r[18]), "APPENDUID").len(), 1, "{:#}", r[18]);
    assert_eq!(strings(ok(&r[19])), ["1"], "only the reminder is unseen");
    assert_eq!(strings(ok(&r[20])), ["Archive (MESSAGES 1 UNSEEN 0)"]);
    // BODY.PEEK[] left the moved message unseen.
    assert_eq!(strings(ok(&r[21])), ["Trash (MESSAGES 1 UNSEEN 1)"]);
    assert_eq!(strings(ok(&r[22])), ["Sent (MESSAGES 1 UNSEEN 0)"]);

    // getquotaroot gives [[QUOTAROOT ...], [QUOTA ...]].
    let quota = ok(&r[23]);
    let root = quota["data"][0][0].as_str().unwrap_or_default();
    let usage = quota["data"][1][0].as_str().unwrap_or_default();
    let name = root.strip_prefix("INBOX ");
    assert!(name.is_some_and(|n| usage.starts_with(n)), "{quota:#}");
    let used = number_after(usage, "STORAGE");
    assert!(used.is_some_and(|kib| kib >= 1), "{quota:#}");
    let limit = usage
        .split(' ')
        .next_back()
        .map(|n| n.trim_end_matches(')'));
    let limit = limit.and_then(|n| n.parse::<u64>().ok());
    // 10 MB in units of 1024 octets (RFC 9208 §5.1), however rounded.
    assert!(
        limit.is_some_and(|kib| (9765..=10240).contains(&kib)),
        "{quota:#}"
    );

    assert_eq!(strings(ok(&r[24])), ["1"]);
    let head = r[25]["data"][0][0].as_str().unwrap_or_default();
    assert!(head.contains(r"\Seen"), "COPY keeps flags: {:#}", r[25]);
    assert_eq!(fetched_body(&r[25]), simple_body);
    assert_eq!(r[26]["typ"], "BYE", "{:#}", r[26]);
}

/// Runs curl, logged in as Anna unless `args` say otherwise.
async fn curl(args: &[&str]) -> Output {
    let user = format!("{ANNA}:{PASSWORD}");
    let mut all = vec!["--silent", "--show-error", "--max-time", "20"];
    if !args.contains(&"--user") {
        all.extend_from_slice(&["--user", &user]);
    }
    all.extend_from_slice(args);
    run_program("curl", &all, None).await
}

#[track_caller]
fn curl_ok<'a>(out: &'a Output, what: &str) -> &'a str {
    assert!(out.status.success(), "curl {what}: {out:#?}");
    &out.stdout
}

/// curl's IMAP: listing, fetching by UID, custom commands, search and
/// upload, in cleartext, with STARTTLS and over implicit TLS.
async fn curl_imap_and_imaps(config: &TestConfig) {
    let (_server, _dns) = start(config, &["allow_plaintext_auth = true"], &[]).await;
    let sent = message("Prova curl", "Letta da curl.");
    deliver(config, &sent).await;
    let imap = format!("imap://{}", config.listeners.imap);
    let imaps = format!("imaps://{}", config.listeners.imap_tls);

    let list = curl(&[&format!("{imap}/")]).await;
    let lines: Vec<&str> = curl_ok(&list, "list").lines().collect();
    assert!(
        lines.contains(&r#"* LIST (\HasNoChildren) "/" INBOX"#),
        "{lines:#?}"
    );
    for folder in ["Sent", "Drafts", "Trash", "Junk", "Archive"] {
        let line = format!(r#"* LIST (\HasNoChildren \{folder}) "/" {folder}"#);
        assert!(lines.contains(&line.as_str()), "{line} in {lines:#?}");
    }
    let tls_list = curl(&["--insecure", &format!("{imaps}/")]).await;
    assert_eq!(curl_ok(&tls_list, "imaps list"), list.stdout);

    let inbox_uid = |base: &str, uid: u32| format!("{base}/INBOX;UID={uid}");
    let fetched = curl(&[&inbox_uid(&imap, 1)]).await;
    let body = curl_ok(&fetched, "fetch").to_string();
    assert!(body.ends_with(&sent) && body.len() > sent.len(), "{body}");
    let tls_fetched = curl(&["--insecure", &inbox_uid(&imaps, 1)]).await;
    assert_eq!(curl_ok(&tls_fetched, "imaps fetch"), body);
    let starttls = curl(&[
        "--verbose",
        "--insecure",
        "--ssl-reqd",
        &inbox_uid(&imap, 1),
    ])
    .await;
    assert_eq!(curl_ok(&starttls, "STARTTLS fetch"), body);
    assert!(
        starttls.stderr.contains("STARTTLS") && starttls.stderr.contains("AUTHENTICATE PLAIN"),
        "{starttls:#?}"
    );

    let upload = config.dir().join("caricato.eml");
    let uploaded = message("Caricato da curl", "Caricato con -T.");
    std::fs::write(&upload, &uploaded).expect("write the message to upload");
    let upload = upload.to_str().expect("temporary paths are UTF-8");
    let appended = curl(&["--upload-file", upload, &format!("{imap}/INBOX")]).await;
    curl_ok(&appended, "upload");
    let refetched = curl(&[&inbox_uid(&imap, 2)]).await;
    assert_eq!(curl_ok(&refetched, "fetch the upload"), uploaded);

    let search = curl(&["--request", "UID SEARCH ALL", &format!("{imap}/INBOX")]).await;
    assert_eq!(curl_ok(&search, "UID SEARCH").trim_end(), "* SEARCH 1 2");
    let query = curl(&[&format!("{imap}/INBOX?SUBJECT%20caricato")]).await;
    assert_eq!(curl_ok(&query, "URL search").trim_end(), "* SEARCH 2");
    let examine = curl(&["--request", "EXAMINE INBOX", &format!("{imap}/")]).await;
    let examined = curl_ok(&examine, "EXAMINE");
    for expected in ["* 2 EXISTS", "[UIDVALIDITY ", "[UIDNEXT 3]"] {
        assert!(examined.contains(expected), "{expected} in {examined}");
    }

    let wrong = format!("{ANNA}:sbagliata");
    let refused = curl(&["--user", &wrong, &format!("{imap}/")]).await;
    assert_eq!(
        refused.status.code(),
        Some(67),
        "login denied: {refused:#?}"
    );
}

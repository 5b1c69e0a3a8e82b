//! POP3 (RFC 1939, with CAPA, STLS, SASL PLAIN, UIDL and TOP) as mail
//! clients speak it, on both store backends: Debian's `fetchmail` keeping
//! and then deleting mail, over STLS and implicit TLS with the test's own
//! certificate verified; Python's `poplib` through every command, the
//! plaintext refusal before TLS (IMAP's rule), bad commands and
//! too-long lines, and wrong passwords throttled as IMAP's; idle clients
//! and connections over the limit closed. Beside an IMAP session on the
//! same INBOX: an IMAP client in IDLE sees what QUIT expunges, and a
//! message IMAP expunged under a POP3 session answers `-ERR` while the
//! rest of the session goes on. UIDLs are the same after a restart and
//! after `postino backup` and `restore`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use postino_tests::dns::DnsStub;
use postino_tests::imap::{ImapClient, deliver, login, message};
use postino_tests::smtp::{ANNA, PASSWORD, site};
use postino_tests::{
    LineClient, Output, Server, TestConfig, on_both_backends, run_program, self_signed,
};
use serde_json::{Value, json};

on_both_backends!(
    python_client_sends_every_command,
    bad_commands_and_long_lines_get_err,
    idle_clients_and_connections_over_the_limit_are_refused,
    wrong_passwords_are_throttled_as_for_imap,
    fetchmail_keeps_then_deletes_mail,
    imap_and_pop3_sessions_share_inbox,
    uidls_survive_a_restart_and_a_restore,
);

const STEPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/pop3_steps.py");

/// A message whose body has lines starting with a dot, which RETR stuffs
/// and the client unstuffs.
const DOTTED: &str = "From: <mittente@esterno.example>\r\nTo: <anna@comune.esempio.pu.it>\r\n\
Subject: Puntini\r\nMessage-ID: <puntini@esterno.example>\r\n\r\nPrima riga\r\n.\r\n..due\r\n\
.nascosta\r\nultima\r\n";

/// Delivers [`DOTTED`] through the MX, dot-stuffed for SMTP's DATA: the
/// message stored is [`DOTTED`] as it is.
async fn deliver_dotted(config: &TestConfig) {
    deliver(config, ANNA, &DOTTED.replace("\r\n.", "\r\n..")).await;
}

/// The server's certificate, made for 127.0.0.1 and presented by every
/// TLS listener: the clients verify it against this file.
fn certificate(config: &TestConfig) -> PathBuf {
    config.dir().join("cert.pem")
}

/// Anna's mailbox, passwords before TLS refused as IMAP refuses them
/// (unless `plaintext`), the server's certificate the test's own.
async fn site_with_tls(config: &TestConfig, plaintext: bool) -> DnsStub {
    let dir = config.dir();
    self_signed("127.0.0.1", &dir.join("cert.pem"), &dir.join("key.pem")).await;
    config.set("tls", "cert = \"cert.pem\"");
    config.set("tls", "key = \"key.pem\"");
    if plaintext {
        config.set("imap", "allow_plaintext_auth = true");
    }
    site(config, &[], &[ANNA]).await
}

/// Runs the Python client through `steps`; one result per step.
async fn python(steps: &[Value]) -> Vec<Value> {
    let input = Value::from(steps.to_vec()).to_string();
    let out = run_program("python3", &[STEPS], Some(input.as_bytes())).await;
    let results: Vec<Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|err| panic!("pop3_steps.py output is not JSON ({err}): {out:#?}"));
    assert_eq!(results.len(), steps.len(), "{results:#?}");
    results
}

fn connect(config: &TestConfig, source: &str) -> Value {
    json!({"op": "connect", "port": config.listeners.pop3.port(), "source": source})
}

fn connect_tls(config: &TestConfig, source: &str) -> Value {
    json!({
        "op": "connect",
        "port": config.listeners.pop3_tls.port(),
        "source": source,
        "tls": true,
        "cafile": certificate(config),
    })
}

fn stls(config: &TestConfig) -> Value {
    json!({"op": "stls", "cafile": certificate(config)})
}

fn short(text: &str) -> Value {
    json!({"op": "short", "text": text})
}

fn long(text: &str) -> Value {
    json!({"op": "long", "text": text})
}

fn auth_plain(password: &str, initial: bool) -> Value {
    json!({"op": "auth_plain", "user": ANNA, "password": password, "initial": initial})
}

fn response(result: &Value) -> &str {
    result["response"]
        .as_str()
        .unwrap_or_else(|| panic!("no response: {result}"))
}

fn error(result: &Value) -> &str {
    result["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not refused: {result}"))
}

fn lines(result: &Value) -> Vec<&str> {
    result["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("no lines: {result}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The `value` of each `number value` line of a LIST or UIDL answer.
fn values(result: &Value) -> Vec<String> {
    lines(result)
        .iter()
        .map(|line| {
            line.split_once(' ')
                .expect("number and value")
                .1
                .to_string()
        })
        .collect()
}

/// The flags of each message of Anna's INBOX, in UID order, as the store
/// has them.
async fn inbox_flags(config: &TestConfig) -> Vec<(i64, bool)> {
    use postino_common::store::Flags;
    let store = config.open_store().await;
    let anna = store.account(ANNA).await.expect("read").expect("Anna");
    let inbox = store.folder(anna.id, "INBOX").await.expect("read");
    let messages = store
        .messages(inbox.expect("INBOX").id)
        .await
        .expect("read");
    store.close().await;
    messages
        .iter()
        .map(|m| (m.uid, m.flags.contains(Flags::SEEN)))
        .collect()
}

async fn python_client_sends_every_command(config: &TestConfig) {
    let _dns = site_with_tls(config, false).await;
    let _server = Server::start(config).await;
    for n in 1..=2 {
        let subject = format!("Delibera {n}");
        deliver(config, ANNA, &message(ANNA, &subject, "Testo.")).await;
    }
    deliver_dotted(config).await;

    let r = python(&[
        // 0: another loopback address is no trusted client: no passwords
        // before TLS, as IMAP's LOGIN.
        connect(config, "127.0.0.2"),
        json!({"op": "capa"}),
        short(&format!("USER {ANNA}")),
        auth_plain(PASSWORD, true),
        stls(config),
        // 5
        json!({"op": "capa"}),
        short("STAT"),
        short(&format!("USER {ANNA}")),
        short("PASS sbagliata"),
        auth_plain(PASSWORD, false),
        // 10
        short("STAT"),
        long("LIST"),
        long("UIDL"),
        short("UIDL 2"),
        long("TOP 1 0"),
        // 15
        json!({"op": "retr", "number": 3}),
        short("LIST 3"),
        short("DELE 1"),
        short("DELE 1"),
        short("RETR 1"),
        // 20
        short("STAT"),
        short("RSET"),
        short("STAT"),
        short("DELE 2"),
        short("NOOP"),
        // 25
        short("LIST 9"),
        short("STLS"),
        json!({"op": "capa"}),
        // RSET forgot the first RETR's \Seen, as Dovecot forgets it.
        json!({"op": "retr", "number": 3}),
        json!({"op": "quit"}),
    ])
    .await;
    assert!(response(&r[0]).starts_with("+OK"), "{:?}", r[0]);
    let before = &r[1]["capabilities"];
    for name in ["STLS", "TOP", "UIDL", "PIPELINING", "RESP-CODES"] {
        assert!(before.get(name).is_some(), "{name} not in {before}");
    }
    assert!(
        before.get("USER").is_none() && before.get("SASL").is_none(),
        "{before}"
    );
    let refused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.";
    assert_eq!(error(&r[2]), refused);
    assert_eq!(error(&r[3]), refused);
    assert!(response(&r[4]).starts_with("+OK"), "{:?}", r[4]);
    let after = &r[5]["capabilities"];
    assert!(after.get("STLS").is_none(), "{after}");
    assert_eq!(after["SASL"], json!(["PLAIN"]), "{after}");
    assert!(after.get("USER").is_some(), "{after}");
    assert!(
        error(&r[6]).starts_with("-ERR Log in before STAT"),
        "{:?}",
        r[6]
    );
    assert!(response(&r[7]).starts_with("+OK"), "{:?}", r[7]);
    assert_eq!(error(&r[8]), "-ERR [AUTH] Authentication failed.");
    assert_eq!(response(&r[9]), "+OK Logged in.");

    let list = values(&r[11]);
    assert_eq!(list.len(), 3, "{:?}", r[11]);
    let sizes: Vec<u64> = list.iter().map(|s| s.parse().expect("a size")).collect();
    let total: u64 = sizes.iter().sum();
    assert_eq!(response(&r[10]), format!("+OK 3 {total}"));
    let uidls = values(&r[12]);
    assert_eq!(uidls.len(), 3);
    assert!(
        uidls
            .iter()
            .all(|u| u.len() == 16 && u.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))),
        "{uidls:?}"
    );
    assert!(
        uidls[0].starts_with("00000001") && uidls[2].starts_with("00000003"),
        "{uidls:?}"
    );
    assert_eq!(response(&r[13]), format!("+OK 2 {}", uidls[1]));
    let top = lines(&r[14]);
    assert!(top.contains(&"Subject: Delibera 1"), "{top:?}");
    assert_eq!(
        top.last(),
        Some(&""),
        "the header and the empty line only: {top:?}"
    );

    // RETR sends as many octets as LIST said, stuffing aside.
    assert_eq!(response(&r[15]), format!("+OK {} octets", sizes[2]));
    let body = lines(&r[15]);
    let stuffed_lines = body.iter().filter(|l| l.starts_with('.')).count() as u64;
    assert_eq!(
        r[15]["octets"].as_u64(),
        Some(sizes[2] + stuffed_lines),
        "{:?}",
        r[15]
    );
    let tail: Vec<&str> = body.iter().rev().take(5).rev().copied().collect();
    assert_eq!(tail, ["Prima riga", ".", "..due", ".nascosta", "ultima"]);
    assert_eq!(response(&r[16]), format!("+OK 3 {}", sizes[2]));

    assert_eq!(response(&r[17]), "+OK Marked to be deleted.");
    assert_eq!(error(&r[18]), "-ERR Message 1 is deleted.");
    assert_eq!(error(&r[19]), "-ERR Message 1 is deleted.");
    assert_eq!(response(&r[20]), format!("+OK 2 {}", sizes[1] + sizes[2]));
    assert_eq!(response(&r[21]), "+OK");
    assert_eq!(response(&r[22]), format!("+OK 3 {total}"));
    assert_eq!(response(&r[23]), "+OK Marked to be deleted.");
    assert_eq!(response(&r[24]), "+OK");
    assert_eq!(error(&r[25]), "-ERR There is no message 9.");
    assert_eq!(error(&r[26]), "-ERR STLS is not valid after login.");
    let logged_in = &r[27]["capabilities"];
    assert!(
        logged_in.get("USER").is_none() && logged_in.get("TOP").is_some(),
        "{logged_in}"
    );
    assert_eq!(response(&r[28]), response(&r[15]));
    assert_eq!(response(&r[29]), "+OK Logging out, messages deleted.");

    // QUIT expunged message 2; RETR marked message 3 \Seen, TOP left
    // message 1 unseen (Dovecot's default).
    assert_eq!(inbox_flags(config).await, [(1, false), (3, true)]);

    // Implicit TLS, the same maildrop less what QUIT expunged, with the
    // same UIDLs.
    let r = python(&[
        connect_tls(config, "127.0.0.1"),
        json!({"op": "capa"}),
        auth_plain(PASSWORD, true),
        long("UIDL"),
        json!({"op": "quit"}),
    ])
    .await;
    assert!(response(&r[0]).starts_with("+OK"), "{:?}", r[0]);
    assert!(r[1]["capabilities"].get("STLS").is_none(), "{}", r[1]);
    assert_eq!(response(&r[2]), "+OK Logged in.");
    assert_eq!(values(&r[3]), [uidls[0].clone(), uidls[2].clone()]);
    assert_eq!(response(&r[4]), "+OK Logging out.");
}

async fn bad_commands_and_long_lines_get_err(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    config.set("imap", "max_errors = 3");
    let _server = Server::start(config).await;
    let pop3 = config.listeners.pop3;

    let mut client = LineClient::connect(pop3).await;
    assert_eq!(client.read_line().await, "+OK Postino ready.");
    for (command, answer) in [
        ("FROBNICATE", "-ERR Unknown command FROBNICATE"),
        ("APOP anna 0123456789abcdef", "-ERR Unknown command APOP"),
        ("STAT", "-ERR Log in before STAT."),
    ] {
        client.send(command).await;
        assert_eq!(client.read_line().await, answer);
    }
    // The third error ends the session.
    assert_eq!(
        client.closed_within(Duration::from_secs(5)).await,
        ["-ERR Too many errors, closing."]
    );

    let mut client = LineClient::connect(pop3).await;
    client.read_line().await;
    client.send("RETR x").await;
    assert_eq!(client.read_line().await, "-ERR Invalid message number: x");
    client.send("CAPA").await;
    assert_eq!(client.read_line().await, "+OK Capability list follows");
    let mut capabilities = Vec::new();
    loop {
        match client.read_line().await {
            end if end == "." => break,
            line => capabilities.push(line),
        }
    }
    assert!(
        capabilities.contains(&"STLS".to_string()),
        "{capabilities:?}"
    );
    // A line past the limit is answered and ends the session: nothing
    // after it could be told apart from it.
    client.send_raw(&vec![b'A'; 9000]).await;
    assert_eq!(
        client.closed_within(Duration::from_secs(5)).await,
        ["-ERR Line too long."]
    );

    // Pipelined commands are answered in order.
    let mut client = LineClient::connect(pop3).await;
    client.read_line().await;
    client.send_raw(b"NOOP\r\nCAPA\r\nQUIT\r\n").await;
    assert_eq!(client.read_line().await, "-ERR Log in before NOOP.");
    assert_eq!(client.read_line().await, "+OK Capability list follows");
    let rest = client.closed_within(Duration::from_secs(5)).await;
    assert_eq!(
        rest.last().map(String::as_str),
        Some("+OK Logging out."),
        "{rest:?}"
    );
}

/// A client past the greeting, once the one connection a client may have
/// is free: a session ends a moment after its socket closed.
async fn greeted_once_free(addr: std::net::SocketAddr) -> LineClient {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let mut client = LineClient::connect(addr).await;
        let greeting = client.read_line().await;
        if greeting == "+OK Postino ready." {
            return client;
        }
        assert!(tokio::time::Instant::now() < deadline, "{greeting}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn idle_clients_and_connections_over_the_limit_are_refused(config: &TestConfig) {
    config.set("pop3", "idle_timeout = \"1s\"");
    config.set("pop3", "max_connections_per_ip = 1");
    let _dns = site(config, &[], &[ANNA]).await;
    let _server = Server::start(config).await;
    let mut first = greeted_once_free(config.listeners.pop3).await;
    let mut second = LineClient::connect(config.listeners.pop3).await;
    assert_eq!(
        second.closed_within(Duration::from_secs(5)).await,
        ["-ERR [SYS/TEMP] Too many connections, try again later."]
    );
    assert_eq!(
        first.closed_within(Duration::from_secs(5)).await,
        ["-ERR Disconnected for inactivity."]
    );
    greeted_once_free(config.listeners.pop3).await;
}

async fn wrong_passwords_are_throttled_as_for_imap(config: &TestConfig) {
    config.set("auth", "max_failures_per_ip = 3");
    let _dns = site_with_tls(config, false).await;
    let server = Server::start(config).await;
    let mut steps = vec![connect_tls(config, "127.0.0.2")];
    for _ in 0..3 {
        steps.extend([short(&format!("USER {ANNA}")), short("PASS sbagliata")]);
    }
    steps.push(auth_plain(PASSWORD, true));
    // Another loopback address is another client, not locked out.
    steps.extend([connect_tls(config, "127.0.0.3"), auth_plain(PASSWORD, true)]);
    let r = python(&steps).await;
    for failed in [&r[2], &r[4], &r[6]] {
        assert_eq!(error(failed), "-ERR [AUTH] Authentication failed.");
    }
    assert_eq!(
        error(&r[7]),
        "-ERR [SYS/TEMP] Too many failed logins, try again later."
    );
    assert_eq!(response(&r[9]), "+OK Logged in.");
    let log = server.log();
    let failures = log
        .lines()
        .filter(|l| l.contains("authentication failed service=\"pop3\""))
        .filter(|l| l.contains("ip=127.0.0.2"))
        .count();
    assert!(failures >= 3, "{log}");
    let logged_in = log
        .lines()
        .find(|l| l.contains("logged in") && l.contains("pop3"))
        .unwrap_or_else(|| panic!("no login line: {log}"));
    assert!(logged_in.contains("session="), "{logged_in}");
}

/// Runs `fetchmail` once as Anna with `options` on the poll line, over
/// TLS with the server's certificate checked against `trusted`, every
/// message going to the file `delivered` through an MDA. Returns its
/// output; its exit status is 0 when mail came, 1 when there was none.
async fn fetchmail(config: &TestConfig, port: u16, trusted: &Path, options: &str) -> Output {
    let dir = config.dir();
    let rc = dir.join("fetchmailrc");
    let delivered = dir.join("delivered");
    let text = format!(
        "set no bouncemail\n\
         poll 127.0.0.1 with proto POP3 port {port} uidl\n\
         \tuser \"{ANNA}\" there with password \"{PASSWORD}\" is \"root\" here\n\
         \tsslcertck sslcertfile \"{cert}\" {options}\n\
         \tmda \"/bin/sh -c 'cat >> {delivered}; echo ==== >> {delivered}'\"\n",
        cert = trusted.display(),
        delivered = delivered.display(),
    );
    std::fs::write(&rc, text).expect("write the fetchmailrc");
    set_mode(&rc, 0o600);
    let idfile = dir.join("fetchids");
    let args = [
        "--nodetach",
        "--nosyslog",
        "-f",
        path(&rc),
        "--idfile",
        path(&idfile),
        "--pidfile",
        &format!("{}/fetchmail.pid", dir.display()),
    ];
    run_program("fetchmail", &args, None).await
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The messages the MDA wrote, by Subject.
fn delivered_subjects(config: &TestConfig) -> Vec<String> {
    let text = std::fs::read_to_string(config.dir().join("delivered")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("Subject: "))
        .map(str::to_string)
        .collect()
}

async fn fetchmail_keeps_then_deletes_mail(config: &TestConfig) {
    let _dns = site_with_tls(config, false).await;
    let _server = Server::start(config).await;
    for n in 1..=2 {
        deliver(
            config,
            ANNA,
            &message(ANNA, &format!("Pratica {n}"), "Testo."),
        )
        .await;
    }
    deliver_dotted(config).await;
    let starttls = config.listeners.pop3.port();
    let implicit = config.listeners.pop3_tls.port();
    let ours = certificate(config);

    // A certificate other than the server's: fetchmail will not talk.
    let dir = config.dir();
    let other = dir.join("other.pem");
    self_signed("127.0.0.1", &other, &dir.join("other-key.pem")).await;
    let out = fetchmail(config, implicit, &other, "ssl keep").await;
    let said = format!("{}{}", out.stdout, out.stderr).to_lowercase();
    assert!(
        !out.status.success() && said.contains("certificate"),
        "{out:#?}"
    );
    assert!(delivered_subjects(config).is_empty());

    // Keep mode over STLS (sslproto: TLS is required, not opportunistic).
    let out = fetchmail(config, starttls, &ours, "sslproto \"tls1.2+\" keep").await;
    assert!(out.status.success(), "{out:#?}");
    assert_eq!(
        delivered_subjects(config),
        ["Pratica 1", "Pratica 2", "Puntini"]
    );
    let delivered = std::fs::read_to_string(config.dir().join("delivered")).expect("delivered");
    assert!(delivered.contains("\n.\n..due\n.nascosta\n"), "{delivered}");
    assert_eq!(inbox_flags(config).await.len(), 3);
    // Nothing new: the UIDLs it kept say so.
    let out = fetchmail(config, starttls, &ours, "sslproto \"tls1.2+\" keep").await;
    assert_eq!(out.status.code(), Some(1), "{out:#?}");
    assert_eq!(delivered_subjects(config).len(), 3);

    // A new message only is fetched, over implicit TLS.
    deliver(config, ANNA, &message(ANNA, "Pratica 3", "Testo.")).await;
    let out = fetchmail(config, implicit, &ours, "ssl keep").await;
    assert!(out.status.success(), "{out:#?}");
    assert_eq!(
        delivered_subjects(config).last().map(String::as_str),
        Some("Pratica 3")
    );
    assert_eq!(delivered_subjects(config).len(), 4);

    // Delete mode: everything fetched again and deleted from the server.
    let out = fetchmail(config, implicit, &ours, "ssl fetchall no keep").await;
    assert!(out.status.success(), "{out:#?}");
    assert_eq!(delivered_subjects(config).len(), 8);
    assert!(inbox_flags(config).await.is_empty());
}

async fn imap_and_pop3_sessions_share_inbox(config: &TestConfig) {
    // USER/PASS in clear where IMAP's LOGIN is allowed in clear.
    let _dns = site_with_tls(config, true).await;
    let _server = Server::start(config).await;
    for n in 1..=4 {
        deliver(config, ANNA, &message(ANNA, &format!("Atto {n}"), "Testo.")).await;
    }
    let mut imap = login(config.listeners.imap, ANNA).await;
    imap.command("SELECT INBOX").await.ok();

    let mut pop = LineClient::connect(config.listeners.pop3).await;
    pop.read_line().await;
    for command in [format!("USER {ANNA}"), format!("PASS {PASSWORD}")] {
        pop.send(&command).await;
        assert!(pop.read_line().await.starts_with("+OK"));
    }
    // A message delivered now shows at the next login only.
    deliver(config, ANNA, &message(ANNA, "Atto 5", "Testo.")).await;
    pop.send("STAT").await;
    assert!(pop.read_line().await.starts_with("+OK 4 "));

    // IMAP expunges message 2 while POP3 holds its list.
    imap.command("STORE 2 +FLAGS.SILENT (\\Deleted)").await.ok();
    imap.command("EXPUNGE").await.ok();
    pop.send("RETR 2").await;
    assert_eq!(pop.read_line().await, "-ERR Message 2 expunged.");
    pop.send("TOP 2 0").await;
    assert_eq!(pop.read_line().await, "-ERR Message 2 expunged.");
    pop.send("RETR 1").await;
    assert!(pop.read_line().await.ends_with(" octets"));
    while pop.read_line().await != "." {}
    for number in 1..=3 {
        pop.send(&format!("DELE {number}")).await;
        assert_eq!(pop.read_line().await, "+OK Marked to be deleted.");
    }

    // IMAP idles; POP3's QUIT expunges messages 1 and 3 (2 is gone).
    let tag = imap.tag();
    imap.send_line(&format!("{tag} IDLE")).await;
    assert!(imap.read_line().await.starts_with("+ "));
    pop.send("QUIT").await;
    assert_eq!(pop.read_line().await, "+OK Logging out, messages deleted.");
    let mut expunges = Vec::new();
    while expunges.len() < 2 {
        let line = imap
            .line_within(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no EXPUNGE in IDLE; got {expunges:?}"));
        if line.ends_with(" EXPUNGE") {
            expunges.push(line);
        }
    }
    // Messages 1 and 2 of IMAP's view (UIDs 1 and 3), in the order IMAP
    // reports them.
    assert_eq!(expunges, ["* 2 EXPUNGE", "* 1 EXPUNGE"]);
    imap.send_line("DONE").await;
    let uids = inbox_flags(config).await;
    assert_eq!(uids, [(4, false), (5, false)]);
    ImapClient::logout(imap).await;
}

/// The UIDL listing of Anna's maildrop, over implicit TLS.
async fn uidl(config: &TestConfig) -> Vec<String> {
    let r = python(&[
        connect_tls(config, "127.0.0.1"),
        auth_plain(PASSWORD, true),
        long("UIDL"),
        json!({"op": "quit"}),
    ])
    .await;
    assert_eq!(response(&r[1]), "+OK Logged in.", "{r:?}");
    values(&r[2])
}

async fn uidls_survive_a_restart_and_a_restore(config: &TestConfig) {
    let _dns = site_with_tls(config, false).await;
    let mut server = Server::start(config).await;
    for n in 1..=3 {
        deliver(
            config,
            ANNA,
            &message(ANNA, &format!("Verbale {n}"), "Testo."),
        )
        .await;
    }
    let before = uidl(config).await;
    assert_eq!(before.len(), 3);
    server.stop().await;
    let mut server = Server::start(config).await;
    assert_eq!(uidl(config).await, before, "after a restart");
    server.stop().await;

    let backup = config.dir().join("backup");
    let out = config.cli(&["backup", path(&backup)], None).await;
    out.ok();
    let target = TestConfig::new(config.backend).await;
    let dir = target.dir();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(config.dir().join(file), dir.join(file)).expect("copy the certificate");
    }
    target.set("tls", "cert = \"cert.pem\"");
    target.set("tls", "key = \"key.pem\"");
    target.cli(&["restore", path(&backup)], None).await.ok();
    let _restored = Server::start(&target).await;
    assert_eq!(uidl(&target).await, before, "after a restore");
}

//! Who may send what to whom, and what lands where: local delivery with
//! trace fields (RFC 5321 §4.4) and Authentication-Results (RFC 8601, SPF
//! checked against the DNS stub), aliases and catch-alls, one blob per
//! message, quotas, never an open relay, authenticated submission (RFC
//! 4954, RFC 6409) with its sender rule and its queue, DSN parameters
//! (RFC 3461). Everything runs on SQLite and on PostgreSQL.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_tests::smtp::{
    ANNA, BRUNO, CARLA, DOMAIN, PASSWORD, add_mailbox, data, envelope_with, expect_reply, greeted,
    inbox, logged_in, only_message, outside_world_unreachable, plain, queued_addresses, site,
    stopped,
};
use postino_tests::{LineClient, Server, SmtpReply, TestConfig, on_both_backends};

on_both_backends!(
    local_delivery_adds_trace_fields_and_stores_one_blob,
    aliases_and_catch_alls_expand_to_each_inbox,
    quotas_are_checked_at_rcpt_and_at_delivery,
    a_message_larger_than_the_quota_is_refused_for_good,
    submission_queues_remote_mail_and_delivers_local_mail,
    mx_is_never_an_open_relay,
    submission_requires_authentication,
    submission_sender_must_be_the_user_or_its_alias,
    auth_plain_and_login,
);

fn message(from: &str, subject: &str, filler: usize) -> String {
    format!(
        "From: <{from}>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@esterno.example>\r\n\r\n{}",
        format!("{}\r\n", "z".repeat(70)).repeat(filler.div_ceil(72))
    )
}

/// One transaction with DATA; the reply to the end of data, or the first
/// refusal before it.
async fn send(client: &mut LineClient, from: &str, to: &[&str], content: &str) -> (u16, String) {
    let reply = client.command(&format!("MAIL FROM:<{from}>")).await;
    if reply.code != 250 {
        return (reply.code, reply.lines.join("\n"));
    }
    for rcpt in to {
        let reply = client.command(&format!("RCPT TO:<{rcpt}>")).await;
        if reply.code != 250 {
            client.command("RSET").await;
            return (reply.code, reply.lines.join("\n"));
        }
    }
    assert_eq!(client.command("DATA").await.code, 354);
    client.send_raw(content.as_bytes()).await;
    let reply = client.command(".").await;
    (reply.code, reply.lines.join("\n"))
}

/// Rows in the store's `blobs` table: message bodies, each stored once.
async fn blob_count(config: &TestConfig) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&config.database_url())
        .await
        .expect("connect to the store's database");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs")
        .fetch_one(&pool)
        .await
        .expect("count blobs");
    pool.close().await;
    count
}

/// The header fields of a stored message, unfolded: (name, value).
fn header_fields(stored: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(stored);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_string(), value.trim().to_string()));
        }
    }
    fields
}

async fn local_delivery_adds_trace_fields_and_stores_one_blob(config: &TestConfig) {
    let dns = site(config, &[], &[ANNA, BRUNO]).await;
    dns.add_txt("spf-ok.example", "v=spf1 ip4:127.0.0.1 -all");
    dns.add_txt("spf-ko.example", "v=spf1 ip4:192.0.2.1 -all");
    let server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    let good = message("ufficio@spf-ok.example", "spf-ok", 500);
    let reply = send(&mut client, "ufficio@spf-ok.example", &[ANNA, BRUNO], &good).await;
    assert_eq!(reply.0, 250, "{reply:?}");
    // A forged result for our own host name in the message must not survive.
    let forged = format!(
        "Authentication-Results: mx.postino.test; spf=pass smtp.mailfrom=finto@spf-ko.example\r\n{}",
        message("finto@spf-ko.example", "spf-ko", 100)
    );
    let reply = send(&mut client, "finto@spf-ko.example", &[ANNA], &forged).await;
    assert_eq!(reply.0, 250, "{reply:?}");
    client.command("QUIT").await;

    let store = stopped(server, config).await;
    let anna = inbox(&store, ANNA).await;
    let bruno = inbox(&store, BRUNO).await;
    assert_eq!((anna.len(), bruno.len()), (2, 1));
    assert_eq!(
        anna[0], bruno[0],
        "both recipients get the same stored message"
    );
    assert_eq!(
        blob_count(config).await,
        2,
        "one blob per message, not per recipient"
    );

    let stored = &anna[0];
    assert!(
        stored.ends_with(good.as_bytes()),
        "the message is stored whole"
    );
    let fields = header_fields(stored);
    assert_eq!(
        fields[0],
        (
            "Return-Path".to_string(),
            "<ufficio@spf-ok.example>".to_string()
        ),
        "Return-Path first (RFC 5321 §4.4)"
    );
    let value = |name: &str| {
        fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let received = value("Received");
    assert_eq!(received.len(), 1, "{fields:?}");
    let received = &received[0];
    for part in [
        "from client.example",
        "127.0.0.1",
        "by mx.postino.test",
        "with ESMTP",
    ] {
        assert!(
            received.contains(part),
            "`{part}` not in Received: {received}"
        );
    }
    let results = value("Authentication-Results");
    assert_eq!(results.len(), 1, "{fields:?}");
    assert!(results[0].starts_with("mx.postino.test"), "{}", results[0]);
    assert!(results[0].contains("spf=pass"), "{}", results[0]);
    assert!(
        results[0].contains("smtp.mailfrom=ufficio@spf-ok.example"),
        "{}",
        results[0]
    );
    let forged = header_fields(&anna[1]);
    let ours: Vec<&String> = forged
        .iter()
        .filter(|(n, v)| {
            n.eq_ignore_ascii_case("Authentication-Results") && v.starts_with("mx.postino.test")
        })
        .map(|(_, v)| v)
        .collect();
    assert_eq!(ours.len(), 1, "a forged result survived: {forged:?}");
    assert!(ours[0].contains("spf=fail"), "{}", ours[0]);
}

async fn aliases_and_catch_alls_expand_to_each_inbox(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO, CARLA]).await;
    outside_world_unreachable(config);
    config
        .cli(
            &["alias", "add", &format!("ufficio@{DOMAIN}"), ANNA, BRUNO],
            None,
        )
        .await
        .ok();
    config
        .cli(
            &[
                "alias",
                "add",
                &format!("inoltro@{DOMAIN}"),
                "amico@esterno.example",
            ],
            None,
        )
        .await
        .ok();
    config
        .cli(&["alias", "add", &format!("@{DOMAIN}"), CARLA], None)
        .await
        .ok();
    config
        .cli(&["domain", "add", "senza-catchall.example"], None)
        .await
        .ok();
    let server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;

    // The alias, one of its targets again, and an unknown address caught
    // by the catch-all: each mailbox once.
    let all = message("mittente@esterno.example", "a-tutti", 300);
    let to = [
        format!("ufficio@{DOMAIN}"),
        ANNA.to_string(),
        format!("Sconosciuto@{DOMAIN}"),
    ];
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    assert_eq!(
        send(&mut client, "mittente@esterno.example", &to, &all)
            .await
            .0,
        250
    );
    // A mailbox that exists is not taken by the catch-all.
    let direct = message("mittente@esterno.example", "solo-bruno", 100);
    assert_eq!(
        send(&mut client, "mittente@esterno.example", &[BRUNO], &direct)
            .await
            .0,
        250
    );
    // An alias forwarding to another server: accepted on MX and queued.
    let forward = message("mittente@esterno.example", "inoltro", 100);
    let inoltro = format!("inoltro@{DOMAIN}");
    assert_eq!(
        send(
            &mut client,
            "mittente@esterno.example",
            &[&inoltro],
            &forward
        )
        .await
        .0,
        250
    );
    // No catch-all there: unknown users are refused.
    let reply = client.command("MAIL FROM:<mittente@esterno.example>").await;
    assert_eq!(reply.code, 250);
    client
        .command("RCPT TO:<nessuno@senza-catchall.example>")
        .await
        .expect(550, "5.1.1");
    client.command("QUIT").await;

    let store = stopped(server, config).await;
    let (anna, bruno, carla) = (
        inbox(&store, ANNA).await,
        inbox(&store, BRUNO).await,
        inbox(&store, CARLA).await,
    );
    assert_eq!((anna.len(), bruno.len(), carla.len()), (1, 2, 1));
    assert!(anna[0].ends_with(all.as_bytes()));
    assert_eq!(anna[0], bruno[0]);
    assert_eq!(anna[0], carla[0]);
    assert!(bruno[1].ends_with(direct.as_bytes()));
    let queued = store.queued_recipients().await.expect("read the queue");
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].address, "amico@esterno.example");
    // Its sender is rewritten by SRS, so that SPF passes there.
    assert!(
        queued[0].sender.starts_with("SRS0=")
            && queued[0]
                .sender
                .ends_with("=esterno.example=mittente@mx.postino.test"),
        "{}",
        queued[0].sender
    );
    let body = store
        .queued_message(queued[0].queue_id)
        .await
        .expect("read the queue")
        .expect("queued body");
    assert!(body.ends_with(forward.as_bytes()));
    assert_eq!(blob_count(config).await, 3, "one blob per message");
}

/// MAIL FROM `from` announcing `size` (RFC 1870), whatever its reply, then
/// RCPT TO `rcpt`; the reply to RCPT.
async fn rcpt_after_size(
    client: &mut LineClient,
    from: &str,
    size: usize,
    rcpt: &str,
) -> SmtpReply {
    client
        .command(&format!("MAIL FROM:<{from}> SIZE={size}"))
        .await;
    client.command(&format!("RCPT TO:<{rcpt}>")).await
}

async fn quotas_are_checked_at_rcpt_and_at_delivery(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    add_mailbox(config, CARLA, &["--quota", "3000"]).await;
    config
        .cli(
            &["domain", "add", "piccolo.example", "--quota", "3000"],
            None,
        )
        .await
        .ok();
    add_mailbox(config, "eva@piccolo.example", &[]).await;
    let server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    let from = "mittente@esterno.example";

    // Announced bigger than the whole quota: permanent.
    rcpt_after_size(&mut client, from, 5000, CARLA)
        .await
        .expect(552, "5.2.2");
    client
        .command(&format!("RCPT TO:<{ANNA}>"))
        .await
        .expect(250, "2.1.5");
    client.command("RSET").await;

    let first = message(from, "primo", 1800);
    assert_eq!(send(&mut client, from, &[CARLA], &first).await.0, 250);
    // Announced to fit the quota, not the space left: temporary.
    rcpt_after_size(&mut client, from, 1500, CARLA)
        .await
        .expect(452, "4.2.2");
    client.command("RSET").await;
    // Not announced: refused once the content is known, nothing stored.
    let second = message(from, "secondo", 1500);
    let reply = send(&mut client, from, &[CARLA, ANNA], &second).await;
    assert_eq!(reply.0, 452, "{reply:?}");
    assert!(reply.1.contains("4.2.2"), "{reply:?}");

    // The domain's quota counts too.
    let eva = "eva@piccolo.example";
    assert_eq!(send(&mut client, from, &[eva], &first).await.0, 250);
    rcpt_after_size(&mut client, from, 1500, eva)
        .await
        .expect(452, "4.2.2");
    client.command("RSET").await;
    let reply = send(&mut client, from, &[eva], &second).await;
    assert_eq!(reply.0, 452, "{reply:?}");
    client.command("NOOP").await.expect(250, "2.0.0");
    client.command("QUIT").await;

    let store = stopped(server, config).await;
    let carla = only_message(&store, CARLA).await;
    assert!(carla.ends_with(first.as_bytes()));
    assert!(
        inbox(&store, ANNA).await.is_empty(),
        "a refused message was stored for Anna"
    );
    assert_eq!(inbox(&store, eva).await.len(), 1);
    let account = store.account(CARLA).await.expect("read").expect("Carla");
    assert_eq!(
        account.used_bytes,
        carla.len() as i64,
        "usage counts the stored bytes"
    );
    let drift = store.usage_drift().await.expect("check usage");
    assert!(drift.is_empty(), "usage counters drifted: {drift:?}");
}

/// The issue: 552 5.2.2 "when the message alone exceeds the quota", also
/// when its size was not announced: retrying can never succeed.
async fn a_message_larger_than_the_quota_is_refused_for_good(config: &TestConfig) {
    let _dns = site(config, &[], &[]).await;
    add_mailbox(config, CARLA, &["--quota", "1000"]).await;
    let server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    let from = "mittente@esterno.example";
    let big = message(from, "enorme", 5000);
    let reply = send(&mut client, from, &[CARLA], &big).await;
    assert_eq!(reply.0, 552, "{reply:?}");
    assert!(reply.1.contains("5.2.2"), "{reply:?}");
    client.command("NOOP").await.expect(250, "2.0.0");
    let store = stopped(server, config).await;
    assert!(inbox(&store, CARLA).await.is_empty());
}

/// Authenticated submission (AUTH allowed in clear here; TLS is in
/// smtp_clients): local recipients get the message in their INBOX, remote
/// ones are queued with their DSN parameters, one blob for both.
async fn submission_queues_remote_mail_and_delivers_local_mail(config: &TestConfig) {
    let _dns = site(config, &["allow_plaintext_auth = true"], &[ANNA, BRUNO]).await;
    outside_world_unreachable(config);
    let server = Server::start(config).await;
    let mut client = logged_in(config.listeners.smtp_submission, ANNA).await;
    envelope_with(
        &mut client,
        &format!("<{ANNA}> RET=HDRS ENVID=pratica+2B42"),
        &[
            "<amico@esterno.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;amico@esterno.example",
            &format!("<{BRUNO}>"),
            "<altro@altrove.example>",
        ],
    )
    .await;
    let sent = message(ANNA, "in-uscita", 400);
    data(&mut client, sent.as_bytes())
        .await
        .expect(250, "2.0.0");
    client.command("QUIT").await;

    let store = stopped(server, config).await;
    let bruno = only_message(&store, BRUNO).await;
    assert!(bruno.ends_with(sent.as_bytes()));
    let text = String::from_utf8_lossy(&bruno);
    assert!(
        text.starts_with(&format!("Return-Path: <{ANNA}>\r\n")),
        "{text}"
    );
    let received: Vec<_> = header_fields(&bruno)
        .into_iter()
        .filter(|(n, _)| n == "Received")
        .collect();
    assert_eq!(received.len(), 1, "{text}");
    assert!(
        received[0].1.contains("ESMTPA"),
        "RFC 3848: authenticated: {}",
        received[0].1
    );
    let mut queued = store.queued_recipients().await.expect("read the queue");
    queued.sort_by(|a, b| a.address.cmp(&b.address));
    let addresses: Vec<&str> = queued.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["altro@altrove.example", "amico@esterno.example"]
    );
    assert_eq!(queued[0].queue_id, queued[1].queue_id, "one queue entry");
    let amico = &queued[1];
    assert_eq!(amico.sender, ANNA);
    assert_eq!(amico.notify.as_deref(), Some("SUCCESS,FAILURE"));
    assert_eq!(amico.orcpt.as_deref(), Some("rfc822;amico@esterno.example"));
    assert_eq!(amico.envid.as_deref(), Some("pratica+2B42"));
    assert_eq!(amico.ret.as_deref(), Some("HDRS"));
    let body = store
        .queued_message(amico.queue_id)
        .await
        .expect("read the queue")
        .expect("queued body");
    assert!(body.ends_with(sent.as_bytes()));
    // Counted over these two only: the queue may already have bounced
    // the message for the unknown domain, with a body of its own.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&config.database_url())
        .await
        .expect("connect to the store's database");
    let bodies: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT blob_hash) FROM (SELECT blob_hash FROM queue WHERE id = $1 \
         UNION ALL SELECT m.blob_hash FROM messages m JOIN folders f ON f.id = m.folder_id \
         JOIN accounts a ON a.id = f.account_id WHERE a.address = $2) AS used",
    )
    .bind(amico.queue_id)
    .bind(BRUNO)
    .fetch_one(&pool)
    .await
    .expect("count bodies");
    pool.close().await;
    assert_eq!(bodies, 1, "local copy and queue share one blob");
}

/// Whatever the sender claims, MX takes mail only for hosted domains.
async fn mx_is_never_an_open_relay(config: &TestConfig) {
    let _dns = site(config, &["max_errors = 100"], &[ANNA]).await;
    outside_world_unreachable(config);
    let server = Server::start(config).await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    let senders = [
        "mittente@esterno.example".to_string(),
        ANNA.to_string(),
        format!("postmaster@{DOMAIN}"),
        String::new(),
    ];
    let recipients = [
        "vittima@esterno.example".to_string(),
        format!("@{DOMAIN}:vittima@esterno.example"),
        format!("vittima@esterno.example.{DOMAIN}.example"),
        format!("vittima@sub.{DOMAIN}"),
        "postmaster@esterno.example".to_string(),
    ];
    for sender in &senders {
        client
            .command(&format!("MAIL FROM:<{sender}>"))
            .await
            .expect(250, "2.1.0");
        for rcpt in &recipients {
            expect_reply(&mut client, &format!("RCPT TO:<{rcpt}>"), 550, "5.7.1").await;
        }
        // Malformed paths, and tricks that stay inside the domain, are
        // refused too (as syntax errors or unknown users).
        for rcpt in [
            "vittima@esterno.example.".to_string(),
            "vittima@[192.0.2.1]".to_string(),
            format!("vittima%esterno.example@{DOMAIN}"),
            format!("\"vittima@esterno.example\"@{DOMAIN}"),
        ] {
            let reply = client.command(&format!("RCPT TO:<{rcpt}>")).await;
            assert!(reply.code >= 500, "RCPT TO:<{rcpt}>: {reply:?}");
        }
        let data = client.command("DATA").await;
        assert!(
            data.code >= 500,
            "DATA with only refused recipients: {data:?}"
        );
        client.command("RSET").await.expect(250, "2.0.0");
    }
    client.command("NOOP").await.expect(250, "2.0.0");
    let store = stopped(server, config).await;
    assert!(queued_addresses(&store).await.is_empty());
}

/// Submission without AUTH sends nothing, and AUTH needs TLS by default.
async fn submission_requires_authentication(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    let server = Server::start(config).await;
    let mut client = LineClient::connect(config.listeners.smtp_submission).await;
    client.read_reply().await;
    let ehlo = client.command("EHLO client.example").await;
    assert!(
        ehlo.lines.iter().all(|l| !l[4..].starts_with("AUTH")),
        "{ehlo:?}"
    );
    let auth = client
        .command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
        .await;
    assert_eq!(auth.code, 538, "RFC 4954 §6: encryption required: {auth:?}");
    for sender in [ANNA, "mittente@esterno.example"] {
        client
            .command(&format!("MAIL FROM:<{sender}>"))
            .await
            .expect(530, "5.7.0");
    }
    client
        .command(&format!("RCPT TO:<{BRUNO}>"))
        .await
        .expect(503, "5.5.1");
    client.command("NOOP").await.expect(250, "2.0.0");
    let store = stopped(server, config).await;
    assert!(inbox(&store, BRUNO).await.is_empty());
}

/// A user sends as itself or as one of its aliases; a catch-all that
/// delivers to it does not make every address of the domain its own.
async fn submission_sender_must_be_the_user_or_its_alias(config: &TestConfig) {
    let _dns = site(config, &["allow_plaintext_auth = true"], &[ANNA, BRUNO]).await;
    let segreteria = format!("segreteria@{DOMAIN}");
    config
        .cli(&["alias", "add", &segreteria, ANNA], None)
        .await
        .ok();
    config
        .cli(&["alias", "add", &format!("@{DOMAIN}"), ANNA], None)
        .await
        .ok();
    let server = Server::start(config).await;
    let mut client = logged_in(config.listeners.smtp_submission, ANNA).await;
    for sender in [
        BRUNO.to_string(),
        format!("chiunque@{DOMAIN}"),
        "sindaco@esterno.example".to_string(),
        String::new(),
    ] {
        expect_reply(&mut client, &format!("MAIL FROM:<{sender}>"), 553, "5.7.1").await;
    }
    for sender in [
        ANNA.to_string(),
        "Anna@Comune.Esempio.PU.it".to_string(),
        segreteria,
    ] {
        client
            .command(&format!("MAIL FROM:<{sender}>"))
            .await
            .expect(250, "2.1.0");
        client.command("RSET").await;
    }
    drop(server);
}

/// PLAIN and LOGIN (RFC 4616, draft-murchison-sasl-login), where AUTH is
/// allowed in clear; failures and cancellations are protocol replies.
async fn auth_plain_and_login(config: &TestConfig) {
    let _dns = site(config, &["allow_plaintext_auth = true"], &[ANNA]).await;
    let _server = Server::start(config).await;
    let submission = config.listeners.smtp_submission;

    let mut client = LineClient::connect(submission).await;
    client.read_reply().await;
    client.command("HELO client.example").await;
    client
        .command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
        .await
        .expect(503, "5.5.1");
    let ehlo = client.command("EHLO client.example").await;
    assert!(
        ehlo.lines.iter().any(|l| &l[4..] == "AUTH PLAIN LOGIN"),
        "{ehlo:?}"
    );
    client
        .command(&format!("AUTH PLAIN {}", plain(ANNA, "sbagliata")))
        .await
        .expect(535, "5.7.8");
    client.command("AUTH CRAM-MD5").await.expect(504, "5.5.4");
    let challenge = client.command("AUTH PLAIN").await;
    assert_eq!(challenge.code, 334, "{challenge:?}");
    client.command("*").await.expect(501, "5.0.0");
    let challenge = client.command("AUTH PLAIN").await;
    assert_eq!(challenge.code, 334, "{challenge:?}");
    client
        .command(&plain(ANNA, PASSWORD))
        .await
        .expect(235, "2.7.0");
    client
        .command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
        .await
        .expect(503, "5.5.1");

    let mut client = greeted(submission).await;
    let user = client.command("AUTH LOGIN").await;
    assert_eq!(user.lines, ["334 VXNlcm5hbWU6"], "{user:?}");
    let password = client.command(&BASE64.encode(ANNA)).await;
    assert_eq!(password.lines, ["334 UGFzc3dvcmQ6"], "{password:?}");
    client
        .command(&BASE64.encode(PASSWORD))
        .await
        .expect(235, "2.7.0");
    client
        .command(&format!("MAIL FROM:<{ANNA}>"))
        .await
        .expect(250, "2.1.0");

    // Acting for another user is refused (RFC 4616 §2 authzid).
    let mut client = greeted(submission).await;
    let other = BASE64.encode(format!("{BRUNO}\0{ANNA}\0{PASSWORD}"));
    let reply = client.command(&format!("AUTH PLAIN {other}")).await;
    assert!(reply.code == 535 || reply.code == 501, "{reply:?}");
    client.command("NOOP").await.expect(250, "2.0.0");
}

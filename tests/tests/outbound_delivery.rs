//! Outbound delivery end to end: mail submitted to the real binary leaves
//! through the queue for a loopback sink or another Postino, with retries,
//! bounces, delay notices, DKIM signatures that verify, and several workers
//! on one PostgreSQL delivering each message once; a queued or retried
//! message wakes a worker at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use postino_common::store::{NewMessage, Outbound, OutboundRecipient};
use postino_tests::dns::DnsStub;
use postino_tests::sink::Sink;
use postino_tests::smtp::{
    ANNA, DOMAIN, PASSWORD, add_mailbox, authentication_results, data, envelope, greeted, inbox,
    plain, queued_addresses, site, stopped,
};
use postino_tests::{Backend, Server, TestConfig, run_program, within};

/// The longest one of these tests may run.
const LIMIT: Duration = Duration::from_secs(60);
/// How long a delivery may take to show.
const WAIT: Duration = Duration::from_secs(20);
const REMOTE: &str = "amico@esterno.example";

/// The longest a worker sleeps without looking at the queue, unless woken.
const FALLBACK_POLL: Duration = Duration::from_secs(10);

/// Submits one message from ANNA to `to` with authenticated submission.
async fn submit(config: &TestConfig, to: &str, subject: &str) {
    submit_with(config, to, subject, None).await;
}

/// [`submit`], with a DSN NOTIFY parameter (RFC 3461 4.1) on the recipient
/// if `notify` is given.
async fn submit_with(config: &TestConfig, to: &str, subject: &str, notify: Option<&str>) {
    let mut client = greeted(config.listeners.smtp_submission).await;
    client
        .command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
        .await
        .expect(235, "2.7.0");
    match notify {
        None => envelope(&mut client, ANNA, &[to]).await,
        Some(notify) => {
            client
                .command(&format!("MAIL FROM:<{ANNA}>"))
                .await
                .expect(250, "2.1.0");
            client
                .command(&format!("RCPT TO:<{to}> NOTIFY={notify}"))
                .await
                .expect(250, "2.1.5");
        }
    }
    let message = format!(
        "From: Anna <{ANNA}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@{DOMAIN}>\r\n\r\nCiao,\r\n..una riga con il punto\r\n"
    );
    let reply = data(&mut client, message.as_bytes()).await;
    assert_eq!(reply.code, 250, "{reply:?}");
}

/// A SQLite site with ANNA, DKIM keys, retries every second, and mail for
/// esterno.example routed to `sink`.
async fn sink_site(sink: &Sink) -> (TestConfig, DnsStub) {
    let config = TestConfig::new(Backend::Sqlite).await;
    let dns = site(&config, &["allow_plaintext_auth = true"], &[ANNA]).await;
    config.set("delivery", "retry = [\"1s\"]");
    config.set(
        "delivery.routes",
        &format!("\"esterno.example\" = \"{}\"", sink.addr()),
    );
    config.cli(&["dkim", "generate", DOMAIN], None).await.ok();
    (config, dns)
}

/// What dkimpy, an independent verifier, says of each DKIM signature of
/// `message`, with the TXT records `postino dns` prints as the only DNS.
async fn dkimpy_verdicts(config: &TestConfig, message: &[u8]) -> Vec<(String, bool)> {
    let records = config.cli(&["dns", DOMAIN, "--json"], None).await;
    let records: serde_json::Map<String, serde_json::Value> = records
        .json()
        .as_array()
        .expect("a list of records")
        .iter()
        .filter(|r| {
            r["type"] == "TXT"
                && r["name"]
                    .as_str()
                    .is_some_and(|n| n.contains("._domainkey."))
        })
        .map(|r| {
            // Zone-file data: quoted character-strings, joined.
            let data = r["data"].as_str().expect("record data");
            let joined: String = data.split('"').skip(1).step_by(2).collect();
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                joined.into(),
            )
        })
        .collect();
    // Latin-1 carries every byte as one character.
    let text: String = message.iter().map(|&b| char::from(b)).collect();
    let request = serde_json::json!({ "message": text, "records": records });
    let out = run_program(
        SYSTEM_PYTHON,
        &[DKIM_VERIFY],
        Some(request.to_string().as_bytes()),
    )
    .await;
    let verdicts: Vec<serde_json::Value> = serde_json::from_str(out.ok())
        .unwrap_or_else(|err| panic!("dkimpy said ({err}): {out:#?}"));
    verdicts
        .iter()
        .map(|v| {
            (
                v["algorithm"].as_str().unwrap_or_default().to_string(),
                v["verified"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// Debian's Python, where `scripts/test` installs dkimpy (python3-dkim) and
/// PyNaCl for Ed25519.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";
const DKIM_VERIFY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/dkim_verify.py");

/// Waits until the server's log has `text`.
async fn logged(server: &Server, text: &str) {
    logged_times(server, text, 1).await;
}

/// Waits until the server's log has `text` at least `times` times.
async fn logged_times(server: &Server, text: &str, times: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.log().matches(text).count() < times {
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{text}` not logged {times} times within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_deferred_message_is_retried_and_delivered_signed() {
    within(LIMIT, async {
        let sink = Sink::start(&["451 4.3.0 try again later", "250 2.0.0 queued"])
            .await
            .expect("sink");
        let (config, _dns) = sink_site(&sink).await;
        let server = Server::start(&config).await;
        submit(&config, REMOTE, "riprova").await;

        let received = sink.wait_received(1, WAIT).await;
        assert_eq!(sink.answered(), 2, "one refusal, then the delivery");
        let message = &received[0];
        assert_eq!(message.sender, ANNA);
        assert_eq!(message.recipients, [REMOTE]);
        let text = String::from_utf8_lossy(&message.content);
        assert!(!text.contains("Return-Path"), "{text}");
        assert_eq!(text.matches("DKIM-Signature:").count(), 2, "{text}");
        assert!(
            text.contains("a=rsa-sha256") && text.contains("a=ed25519-sha256"),
            "{text}"
        );
        assert!(
            text.contains("\r\n.una riga con il punto\r\n"),
            "dot-stuffing undone: {text}"
        );
        assert_eq!(
            dkimpy_verdicts(&config, &message.content).await,
            [("rsa-sha256".into(), true), ("ed25519-sha256".into(), true)],
            "dkimpy against the records of `postino dns`"
        );
        logged(&server, "message done").await;
        let log = server.log();
        assert!(log.contains("queue_id"), "{log}");

        let store = stopped(server, &config).await;
        assert!(store.queued_recipients().await.expect("queue").is_empty());
        assert!(inbox(&store, ANNA).await.is_empty(), "no bounce");
    })
    .await;
}

#[tokio::test]
async fn eight_bit_mail_is_announced_as_8bitmime() {
    within(LIMIT, async {
        let sink = Sink::start(&["250 2.0.0 queued"]).await.expect("sink");
        let (config, _dns) = sink_site(&sink).await;
        let _server = Server::start(&config).await;
        let mut client = greeted(config.listeners.smtp_submission).await;
        client
            .command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
            .await
            .expect(235, "2.7.0");
        envelope(&mut client, ANNA, &[REMOTE]).await;
        let message = format!(
            "From: <{ANNA}>\r\nTo: <{REMOTE}>\r\nSubject: citt\u{e0}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\nPerch\u{e9} s\u{ec}.\r\n"
        );
        assert_eq!(data(&mut client, message.as_bytes()).await.code, 250);
        let received = sink.wait_received(1, WAIT).await;
        let parameters = &received[0].mail_parameters;
        assert!(parameters.contains("BODY=8BITMIME"), "{parameters}");
        assert!(parameters.contains("SIZE="), "{parameters}");
        assert!(!parameters.contains("SMTPUTF8"), "{parameters}");
        let text = String::from_utf8_lossy(&received[0].content);
        assert!(text.contains("Perch\u{e9} s\u{ec}."), "{text}");
    })
    .await;
}

#[tokio::test]
async fn a_refused_message_bounces_to_its_sender() {
    within(LIMIT, async {
        let sink = Sink::start(&["550 5.1.1 no such user here"])
            .await
            .expect("sink");
        let (config, _dns) = sink_site(&sink).await;
        let server = Server::start(&config).await;
        submit(&config, REMOTE, "rifiuto").await;
        logged(&server, "bounce sent").await;
        assert_eq!(sink.answered(), 1, "a permanent refusal is not retried");

        let store = stopped(server, &config).await;
        assert!(store.queued_recipients().await.expect("queue").is_empty());
        let inbox = inbox(&store, ANNA).await;
        assert_eq!(inbox.len(), 1);
        let dsn = String::from_utf8_lossy(&inbox[0]);
        for expected in [
            "Return-Path: <>",
            "report-type=delivery-status",
            "Final-Recipient: rfc822; amico@esterno.example",
            "Action: failed",
            "Status: 5.1.1",
            "Diagnostic-Code: smtp; 550 5.1.1 no such user here",
            "Content-Type: text/rfc822-headers",
            "Subject: rifiuto",
        ] {
            assert!(dsn.contains(expected), "{expected:?} missing: {dsn}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_refusal_bounces_only_when_notify_asks_for_failures() {
    within(LIMIT, async {
        let sink = Sink::start(&["550 5.1.1 no such user here"])
            .await
            .expect("sink");
        let (config, _dns) = sink_site(&sink).await;
        let server = Server::start(&config).await;
        submit_with(&config, REMOTE, "mai", Some("NEVER")).await;
        submit_with(&config, REMOTE, "ritardo", Some("DELAY")).await;
        submit_with(&config, REMOTE, "fallimento", Some("SUCCESS,FAILURE")).await;
        logged(&server, "bounce sent").await;
        let deadline = tokio::time::Instant::now() + WAIT;
        while sink.answered() < 3 {
            assert!(tokio::time::Instant::now() < deadline, "not all attempted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // Stopping lets the attempts in flight finish and be recorded.
        let store = stopped(server, &config).await;
        assert_eq!(sink.answered(), 3, "a permanent refusal is not retried");
        assert!(store.queued_recipients().await.expect("queue").is_empty());
        let inbox = inbox(&store, ANNA).await;
        assert_eq!(inbox.len(), 1, "one bounce, for the message asking for it");
        let dsn = String::from_utf8_lossy(&inbox[0]);
        assert!(dsn.contains("Subject: fallimento"), "{dsn}");
    })
    .await;
}

/// Publishes a domain's active DKIM keys, as `dkim list --json` shows
/// them, in the stub.
async fn publish_dkim(config: &TestConfig, dns: &DnsStub, domain: &str) {
    let keys = config
        .cli(&["dkim", "list", domain, "--json"], None)
        .await
        .json();
    for key in keys.as_array().expect("an array of keys") {
        let algorithm = key["algorithm"].as_str().expect("algorithm");
        let kind = if algorithm.starts_with("rsa") {
            "rsa"
        } else {
            "ed25519"
        };
        let name = format!(
            "{}._domainkey.{domain}",
            key["selector"].as_str().expect("selector")
        );
        let value = format!(
            "v=DKIM1; k={kind}; p={}",
            key["public_key"].as_str().expect("key")
        );
        dns.add_txt(&name, &value);
    }
}

#[tokio::test]
async fn mail_reaches_another_postino_signed_and_spf_aligned() {
    within(LIMIT, async {
        const OTHER: &str = "altro.example";
        const BEA: &str = "bea@altro.example";
        let sender = TestConfig::new(Backend::Sqlite).await;
        let dns = site(&sender, &["allow_plaintext_auth = true"], &[ANNA]).await;
        let receiver = TestConfig::new(Backend::Sqlite).await;
        // Another server: one greeted with its own name refuses the EHLO.
        receiver.replace(
            "hostname = \"mx.postino.test\"",
            "hostname = \"mx.altro.example\"",
        );
        receiver.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
        receiver.set("dns", "timeout = \"2s\"");
        receiver.cli(&["domain", "add", OTHER], None).await.ok();
        add_mailbox(&receiver, BEA, &[]).await;
        sender.set(
            "delivery",
            &format!("port = {}", receiver.listeners.smtp_mx.port()),
        );
        sender.set("delivery", "retry = [\"1s\"]");

        dns.add_mx(OTHER, 10, "mx.altro.example");
        dns.add_a("mx.altro.example", std::net::Ipv4Addr::LOCALHOST);
        dns.add_txt(DOMAIN, "v=spf1 ip4:127.0.0.1 -all");
        sender.cli(&["dkim", "generate", DOMAIN], None).await.ok();
        publish_dkim(&sender, &dns, DOMAIN).await;

        let receiving = Server::start(&receiver).await;
        let sending = Server::start(&sender).await;
        submit(&sender, BEA, "interoperabilita").await;
        logged(&receiving, "message accepted").await;
        logged(&sending, "message done").await;

        let store = stopped(receiving, &receiver).await;
        let inbox = inbox(&store, BEA).await;
        assert_eq!(inbox.len(), 1);
        let text = String::from_utf8_lossy(&inbox[0]);
        let results = authentication_results(&text);
        assert_eq!(results.matches("dkim=pass").count(), 2, "{results}");
        assert!(results.contains("spf=pass"), "{results}");
        assert!(text.contains("Subject: interoperabilita"), "{text}");
        drop(sending);
    })
    .await;
}

#[tokio::test]
async fn two_workers_on_one_postgres_deliver_each_message_once() {
    within(LIMIT, async {
        const COUNT: usize = 500;
        let sink = Sink::start(&["250 2.0.0 ok"]).await.expect("sink");
        let first = TestConfig::new(Backend::Postgres).await;
        let second = TestConfig::new(Backend::Sqlite).await;
        second.set("store", "backend = \"postgres\"");
        second.set("store", &format!("url = {:?}", first.database_url()));
        for config in [&first, &second] {
            config.set(
                "delivery.routes",
                &format!("\"esterno.example\" = \"{}\"", sink.addr()),
            );
        }
        let store = first.open_store().await;
        for n in 0..COUNT {
            let raw = format!("Return-Path: <{ANNA}>\r\nFrom: {ANNA}\r\nMessage-ID: <{n}@test>\r\nSubject: {n}\r\n\r\nmessage {n}\r\n");
            let message = NewMessage {
                raw: Arc::from(raw.into_bytes()),
                targets: Vec::new(),
                outbound: vec![Outbound {
                    sender: ANNA.to_owned(),
                    recipients: vec![OutboundRecipient {
                        address: REMOTE.to_owned(),
                        ..OutboundRecipient::default()
                    }],
                    ..Outbound::default()
                }],
                sent_by: None,
            };
            store.append(message).await.expect("store").expect("queued");
        }
        store.close().await;

        let one = Server::start(&first).await;
        let two = Server::start(&second).await;
        let received = sink.wait_received(COUNT, Duration::from_secs(40)).await;
        // Anything sent twice would arrive a little later.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let received = if sink.received().len() > received.len() { sink.received() } else { received };
        assert_eq!(received.len(), COUNT);
        let ids: HashSet<String> = received
            .iter()
            .map(|m| {
                let text = String::from_utf8_lossy(&m.content);
                text.lines().find(|l| l.starts_with("Message-ID:")).unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(ids.len(), COUNT, "every message exactly once");
        assert!(one.log().contains("message done") && two.log().contains("message done"), "both workers delivered");
        let store = stopped(one, &first).await;
        drop(two);
        assert!(store.queued_recipients().await.expect("queue").is_empty());
    })
    .await;
}

/// Waits until the sink answered `count` ends of data.
async fn answered(sink: &Sink, count: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while sink.answered() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sink answered {} times of {count} within {WAIT:?}",
            sink.answered()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_message_still_deferred_gets_its_sender_one_delay_notice() {
    within(LIMIT, async {
        let sink = Sink::start(&["451 4.3.0 try again later"])
            .await
            .expect("sink");
        let (config, _dns) = sink_site(&sink).await;
        config.set("delivery", "delay_notice = \"2s\"");
        let server = Server::start(&config).await;
        submit(&config, REMOTE, "ritardo").await;
        submit_with(&config, REMOTE, "ritardo-solo-errori", Some("FAILURE")).await;
        logged(&server, "delay notice sent").await;

        // Both messages go on being retried past the notice's age: two
        // more attempts each, and no second notice.
        answered(&sink, sink.answered() + 4).await;
        let log = server.log();
        assert_eq!(log.matches("delay notice sent").count(), 1, "{log}");

        let store = stopped(server, &config).await;
        assert_eq!(
            queued_addresses(&store).await,
            [REMOTE, REMOTE],
            "both messages are still queued"
        );
        let inbox = inbox(&store, ANNA).await;
        assert_eq!(inbox.len(), 1, "one notice, none for NOTIFY=FAILURE");
        let dsn = String::from_utf8_lossy(&inbox[0]);
        for expected in [
            "Return-Path: <>",
            "Subject: Delayed Mail",
            "report-type=delivery-status",
            "Final-Recipient: rfc822; amico@esterno.example",
            "Action: delayed",
            "Status: 4.3.0",
            "Diagnostic-Code: smtp; 451 4.3.0 try again later",
            "Will-Retry-Until: ",
            "Content-Type: text/rfc822-headers",
            "Subject: ritardo\r\n",
        ] {
            assert!(dsn.contains(expected), "{expected:?} missing: {dsn}");
        }
        assert!(!dsn.contains("Action: failed"), "{dsn}");
        assert!(!dsn.contains("ritardo-solo-errori"), "{dsn}");
    })
    .await;
}

#[tokio::test]
async fn a_domain_that_does_not_exist_bounces_at_once() {
    within(LIMIT, async {
        const NOWHERE: &str = "qualcuno@inesistente.example";
        const BROKEN: &str = "qualcuno@guasto.example";
        let sink = Sink::start(&["250 2.0.0 queued"]).await.expect("sink");
        let (config, dns) = sink_site(&sink).await;
        // The stub knows no inesistente.example: NXDOMAIN. Its answers for
        // guasto.example fail: SERVFAIL, which is no proof of anything.
        dns.fail("guasto.example");
        let server = Server::start(&config).await;
        submit(&config, BROKEN, "dns-guasto").await;
        submit(&config, NOWHERE, "nessun-dominio").await;
        logged(&server, "bounce sent").await;
        logged(&server, "4.4.3 MX look-up for guasto.example failed").await;
        assert_eq!(sink.answered(), 0);

        let store = stopped(server, &config).await;
        assert_eq!(
            queued_addresses(&store).await,
            [BROKEN],
            "a DNS failure is retried"
        );
        let inbox = inbox(&store, ANNA).await;
        assert_eq!(inbox.len(), 1, "one bounce, for the unknown domain");
        let dsn = String::from_utf8_lossy(&inbox[0]);
        for expected in [
            "Final-Recipient: rfc822; qualcuno@inesistente.example",
            "Action: failed",
            "Status: 5.1.2",
            "Diagnostic-Code: smtp; 550 5.1.2 inesistente.example does not exist (NXDOMAIN)",
            "Subject: nessun-dominio",
        ] {
            assert!(dsn.contains(expected), "{expected:?} missing: {dsn}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_submitted_message_wakes_an_idle_worker() {
    within(LIMIT, async {
        let sink = Sink::start(&["250 2.0.0 queued"]).await.expect("sink");
        let (config, _dns) = sink_site(&sink).await;
        let server = Server::start(&config).await;
        logged(&server, "outbound delivery started").await;
        // Let the worker find the queue empty and fall asleep: only a
        // wake-up brings the message out before the fallback poll.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let submitted = tokio::time::Instant::now();
        submit(&config, REMOTE, "sveglia").await;
        sink.wait_received(1, WAIT).await;
        let took = submitted.elapsed();
        assert!(
            took < FALLBACK_POLL / 2,
            "delivered after {took:?}, as if by the {FALLBACK_POLL:?} poll"
        );
    })
    .await;
}

#[tokio::test]
async fn a_delivery_under_way_at_shutdown_records_its_outcome() {
    within(LIMIT, async {
        let sink = Sink::start(&["250 2.0.0 queued"]).await.expect("sink");
        sink.delay_replies(Duration::from_secs(2));
        let (config, _dns) = sink_site(&sink).await;
        let server = Server::start(&config).await;
        submit(&config, REMOTE, "in-volo").await;
        // The far end has the message and is about to say so: a shutdown
        // now must wait for its answer, or a restart would send it again.
        sink.wait_received(1, WAIT).await;
        let store = stopped(server, &config).await;
        assert!(queued_addresses(&store).await.is_empty());
        assert_eq!(sink.answered(), 1);
    })
    .await;
}

#[tokio::test]
async fn queue_retry_wakes_a_worker_of_another_process_on_postgres() {
    within(LIMIT, async {
        let sink = Sink::start(&["451 4.3.0 not now", "250 2.0.0 queued"])
            .await
            .expect("sink");
        let config = TestConfig::new(Backend::Postgres).await;
        let _dns = site(&config, &["allow_plaintext_auth = true"], &[ANNA]).await;
        config.set("delivery", "retry = [\"1h\"]");
        config.set(
            "delivery.routes",
            &format!("\"esterno.example\" = \"{}\"", sink.addr()),
        );
        let server = Server::start(&config).await;
        submit(&config, REMOTE, "riprova-ora").await;
        answered(&sink, 1).await;
        logged(&server, "451 4.3.0 not now").await;
        // Deferred for an hour, until an operator says otherwise: the CLI
        // is another process, reached through LISTEN/NOTIFY.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let retried = tokio::time::Instant::now();
        config.cli(&["queue", "retry", "--all"], None).await.ok();
        sink.wait_received(1, WAIT).await;
        let took = retried.elapsed();
        assert!(
            took < FALLBACK_POLL / 2,
            "delivered after {took:?}, as if by the {FALLBACK_POLL:?} poll"
        );
        let store = stopped(server, &config).await;
        assert!(queued_addresses(&store).await.is_empty());
    })
    .await;
}

/// MTA-STS end to end: a receiving Postino serves its domains' policies
/// over HTTPS on its admin listener and takes mail with STARTTLS, both
/// with a certificate of the test's own, which the sender trusts through
/// `[delivery] ca_file`; the DNS stub publishes the `_mta-sts` records
/// `postino dns` prints, and MX hosts the policies name or not.
#[tokio::test]
async fn mta_sts_policies_are_fetched_enforced_tested_and_kept() {
    within(LIMIT, async {
        const MX: &str = "mx.altro.example";
        // Named by the policies, but not by the receiver's certificate.
        const MX2: &str = "mx2.altro.example";
        // Named by no policy.
        const WRONG: &str = "wrong.altro.example";
        // domain, its MX host, its mode; cinque's policy host is down.
        let domains = [
            ("uno.example", MX, "enforce"),
            ("due.example", WRONG, "enforce"),
            ("tre.example", MX2, "enforce"),
            ("quattro.example", WRONG, "testing"),
            ("cinque.example", WRONG, "enforce"),
        ];
        let sender = TestConfig::new(Backend::Sqlite).await;
        let dns = site(&sender, &["allow_plaintext_auth = true"], &[ANNA]).await;
        let receiver = TestConfig::new(Backend::Sqlite).await;
        receiver.replace("hostname = \"mx.postino.test\"", &format!("hostname = \"{MX}\""));
        receiver.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
        receiver.set("dns", "timeout = \"2s\"");
        receiver.set("mta_sts", &format!("mx = [\"{MX}\", \"{MX2}\"]"));
        let (cert, key) = (receiver.dir().join("cert.pem"), receiver.dir().join("key.pem"));
        let mut names = vec![MX.to_string()];
        names.extend(domains[..4].iter().map(|(d, _, _)| format!("mta-sts.{d}")));
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        postino_tests::self_signed_for(&names, &cert, &key).await;
        receiver.set("tls", "cert = \"cert.pem\"\nkey = \"key.pem\"");
        for (domain, mx, mode) in domains {
            receiver.cli(&["domain", "add", domain], None).await.ok();
            receiver
                .cli(&["domain", "update", domain, "--mta-sts", mode], None)
                .await
                .ok();
            add_mailbox(&receiver, &format!("ufficio@{domain}"), &[]).await;
            let records = receiver.cli(&["dns", domain, "--json"], None).await.json();
            let record = |name: &str| {
                let found = records.as_array().expect("records").iter().find(|r| r["name"] == name);
                let data = found.and_then(|r| r["data"].as_str()).expect(name);
                data.trim_matches('"').to_string()
            };
            dns.add_txt(&format!("_mta-sts.{domain}"), &record(&format!("_mta-sts.{domain}")));
            assert_eq!(
                record(&format!("_smtp._tls.{domain}")),
                format!("v=TLSRPTv1; rua=mailto:postmaster@{domain}")
            );
            dns.add_mx(domain, 10, mx);
            dns.add_a(&format!("mta-sts.{domain}"), std::net::Ipv4Addr::LOCALHOST);
        }
        for host in [MX, MX2, WRONG] {
            dns.add_a(host, std::net::Ipv4Addr::LOCALHOST);
        }
        // cinque's policy, enforced, was cached before its host went down
        // and its record changed (the id is not the cached one's): it stays
        // in force.
        dns.fail("mta-sts.cinque.example");
        {
            let store = sender.open_store().await;
            let now = postino_common::store::now();
            let cached = postino_common::store::CachedPolicy {
                domain: "cinque.example".into(),
                policy_id: "vecchio".into(),
                policy: format!("version: STSv1\nmode: enforce\nmx: {MX}\nmax_age: 86400\n"),
                fetched_at: now,
                expires_at: now + 86_400,
            };
            store.save_mta_sts_policy(&cached).await.expect("cache a policy");
        }
        sender.set("delivery", &format!("port = {}", receiver.listeners.smtp_mx.port()));
        sender.set("delivery", &format!("mta_sts_port = {}", receiver.listeners.admin.port()));
        sender.set("delivery", &format!("ca_file = {:?}", cert.to_str().expect("UTF-8")));
        sender.set("delivery", "retry = [\"1s\"]");
        let receiving = Server::start(&receiver).await;
        let sending = Server::start(&sender).await;
        for (domain, _, _) in domains {
            submit(&sender, &format!("ufficio@{domain}"), domain.split('.').next().unwrap_or("x")).await;
        }
        logged(&sending, "MTA-STS: wrong.altro.example is not an MX host the MTA-STS policy of due.example names").await;
        logged(&sending, "the certificate is not valid for mx2.altro.example").await;
        logged(&sending, "MTA-STS: wrong.altro.example is not an MX host the MTA-STS policy of cinque.example names").await;
        logged(&sending, "cannot fetch the MTA-STS policy; the cached one stays in force").await;
        logged(&sending, "policy in testing mode").await;
        logged_times(&receiving, "message accepted", 2).await;
        for domain in ["uno", "quattro"] {
            let fetched = format!("MTA-STS policy fetched domain=\"{domain}.example\"");
            logged(&sending, &fetched).await;
        }
        let metrics = postino_tests::scrape::scrape(sender.listeners.admin).await;
        let testing = |failure| {
            metrics.get(
                "postino_mta_sts_failures_total",
                &[("mode", "testing"), ("failure", failure)],
            )
        };
        assert!(testing("mx") >= 1.0 && testing("certificate") >= 1.0, "testing mode is counted");
        let cached = stopped(sending, &sender).await.mta_sts_policy("uno.example").await;
        let cached = cached.expect("read the cache").expect("uno's policy is cached");
        assert!(cached.policy.contains("mode: enforce"), "{cached:?}");

        let store = stopped(receiving, &receiver).await;
        for (domain, delivered) in [
            ("uno.example", true),
            ("due.example", false),
            ("tre.example", false),
            ("quattro.example", true),
            ("cinque.example", false),
        ] {
            let inbox = inbox(&store, &format!("ufficio@{domain}")).await;
            assert_eq!(inbox.len(), usize::from(delivered), "{domain}");
            if let Some(message) = inbox.first() {
                let text = String::from_utf8_lossy(message);
                assert!(text.contains("with ESMTPS"), "{domain} over TLS: {text}");
            }
        }
    })
    .await;
}

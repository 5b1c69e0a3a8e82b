//! `postino queue list|show|retry|remove` as an operator runs them, on both
//! store backends, against mail queued by authenticated submission for a
//! loopback sink that answers every attempt with `451`, so that it stays
//! queued. A refusal exits non-zero with one `postino:` line and changes
//! nothing `queue list` shows.

use std::time::Duration;

use postino_tests::dns::DnsStub;
use postino_tests::sink::Sink;
use postino_tests::smtp::{ANNA, DOMAIN, PASSWORD, data, envelope, greeted, plain, site, stopped};
use postino_tests::{Server, TestConfig, on_both_backends};
use serde_json::Value;

on_both_backends!(
    queued_mail_is_listed_shown_retried_and_removed,
    bad_queue_commands_are_refused
);

/// How long an attempt may take to show.
const WAIT: Duration = Duration::from_secs(20);
const REMOTE: &str = "amico@esterno.example";
const REFUSAL: &str = "451 4.3.0 try again later";

/// A site with ANNA and a running server whose mail for esterno.example
/// goes to a sink that always answers [`REFUSAL`], with `count` messages
/// submitted and each attempted once. The first retry is a minute away.
async fn queued_site(config: &TestConfig, count: usize) -> (Server, Sink, DnsStub) {
    let sink = Sink::start(&[REFUSAL]).await.expect("start the sink");
    let dns = site(config, &["allow_plaintext_auth = true"], &[ANNA]).await;
    config.set("delivery", "retry = [\"1m\"]");
    config.set(
        "delivery.routes",
        &format!("\"esterno.example\" = \"{}\"", sink.addr()),
    );
    let server = Server::start(config).await;
    for n in 0..count {
        submit(config, &format!("coda{n}")).await;
    }
    wait_for(|| sink.answered() >= count, "every message attempted").await;
    settled(config, &vec![1; count]).await;
    (server, sink, dns)
}

/// Waits until the queue holds messages whose only recipient is deferred
/// after `attempts[i]` attempts, none of them leased: the attempt is
/// recorded a moment after the sink answers, and a retry asked for before
/// that would be overtaken by the next attempt's schedule.
async fn settled(config: &TestConfig, attempts: &[i64]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let entries = list(config).await;
        let states: Vec<i64> = entries
            .as_array()
            .expect("a JSON array")
            .iter()
            .filter(|e| e["recipients"][0]["status"] == "deferred" && e["leased_by"].is_null())
            .map(|e| e["recipients"][0]["attempts"].as_i64().unwrap_or(0))
            .collect();
        if states == attempts {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue did not settle at {attempts:?} attempts within {WAIT:?}: {entries:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits one message from ANNA to [`REMOTE`] with authenticated submission.
async fn submit(config: &TestConfig, subject: &str) {
    let mut client = greeted(config.listeners.smtp_submission).await;
    client
        .command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
        .await
        .expect(235, "2.7.0");
    envelope(&mut client, ANNA, &[REMOTE]).await;
    let message = format!(
        "From: Anna <{ANNA}>\r\nTo: <{REMOTE}>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@{DOMAIN}>\r\n\r\nCiao.\r\n"
    );
    let reply = data(&mut client, message.as_bytes()).await;
    assert_eq!(reply.code, 250, "{reply:?}");
}

async fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn list(config: &TestConfig) -> Value {
    config.cli(&["queue", "list", "--json"], None).await.json()
}

fn ids(entries: &Value) -> Vec<i64> {
    entries
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|e| e["id"].as_i64().expect("a numeric id"))
        .collect()
}

async fn queued_mail_is_listed_shown_retried_and_removed(config: &TestConfig) {
    let (server, sink, _dns) = queued_site(config, 2).await;

    let entries = list(config).await;
    let queued = ids(&entries);
    assert_eq!(queued.len(), 2, "{entries:#}");
    let first = &entries[0];
    assert_eq!(first["sender"], ANNA);
    let recipient = &first["recipients"][0];
    assert_eq!(recipient["address"], REMOTE);
    assert_eq!(recipient["status"], "deferred");
    assert_eq!(recipient["attempts"], 1);
    assert_eq!(recipient["last_reply"], REFUSAL);
    let table = config.cli(&["queue", "list"], None).await;
    let text = table.ok();
    assert!(text.contains(ANNA) && text.contains("1 deferred"), "{text}");

    let id = queued[0].to_string();
    let shown = config
        .cli(&["queue", "show", &id, "--json"], None)
        .await
        .json();
    assert_eq!(&shown, first);
    let table = config.cli(&["queue", "show", &id], None).await;
    let text = table.ok();
    assert!(
        text.contains(REMOTE) && text.contains(REFUSAL) && text.contains("deferred"),
        "{text}"
    );

    // A retry makes the message due at once, a minute early.
    let out = config.cli(&["queue", "retry", &id], None).await;
    assert!(
        out.ok().contains(&format!("message {id} is due now")),
        "{out:#?}"
    );
    wait_for(|| sink.answered() >= 3, "the retried message attempted").await;
    settled(config, &[2, 1]).await;
    let out = config.cli(&["queue", "retry", "--all"], None).await;
    assert!(
        out.ok().contains("2 queued messages are due now"),
        "{out:#?}"
    );
    wait_for(|| sink.answered() >= 5, "every message attempted again").await;
    settled(config, &[3, 2]).await;

    let out = config.cli(&["queue", "remove", &id], None).await;
    assert!(
        out.ok()
            .contains(&format!("removed message {id} from the queue")),
        "{out:#?}"
    );
    assert_eq!(ids(&list(config).await), queued[1..]);

    let store = stopped(server, config).await;
    assert_eq!(store.queued_recipients().await.expect("queue").len(), 1);
    let audit = store.audit_log(None, 3).await.expect("audit log");
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("queue.remove", id.as_str()),
            ("queue.retry", "all"),
            ("queue.retry", id.as_str()),
        ]
    );
    assert!(audit.iter().all(|e| e.origin == "cli"), "{audit:?}");
}

async fn bad_queue_commands_are_refused(config: &TestConfig) {
    let (server, _sink, _dns) = queued_site(config, 1).await;
    // Stopped, so that nothing but these commands could change the queue.
    let store = stopped(server, config).await;
    store.close().await;
    let before = list(config).await;
    assert_eq!(ids(&before).len(), 1, "{before:#}");
    let cases: [(&[&str], &str); 6] = [
        (
            &["queue", "show", "999999"],
            "queued message `999999` does not exist",
        ),
        (
            &["queue", "retry", "999999"],
            "queued message `999999` does not exist",
        ),
        (
            &["queue", "remove", "999999"],
            "queued message `999999` does not exist",
        ),
        (&["queue", "remove", "abc"], "`abc` is not a queue id"),
        (&["queue", "show", "4.2"], "`4.2` is not a queue id"),
        (&["queue", "retry", "0"], "`0` is not a queue id"),
    ];
    for (args, reason) in cases {
        let out = config.cli(args, None).await;
        let error = out.refused();
        assert!(
            error.contains(reason),
            "{args:?}: expected `{reason}` in: {error}"
        );
        assert_eq!(list(config).await, before, "{args:?} changed the queue");
    }
    // Neither an id nor --all, or both: clap refuses before anything runs.
    for args in [&["queue", "retry"][..], &["queue", "retry", "1", "--all"]] {
        let out = config.cli(args, None).await;
        assert!(!out.status.success(), "{args:?}: {out:#?}");
    }
    assert_eq!(list(config).await, before);
    let store = config.open_store().await;
    let audit = store.audit_log(None, 10).await.expect("audit log");
    assert!(
        audit.iter().all(|e| !e.action.starts_with("queue.")),
        "{audit:?}"
    );
}

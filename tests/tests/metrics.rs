//! `/metrics` on the admin listener of the real binary: after SMTP
//! deliveries and refusals, failed IMAP logins and outbound attempts, the
//! Prometheus text it answers has the counters moved by exactly that much,
//! with the right labels, the queue gauges read from the store, and store
//! commits in the latency histogram. A client outside `admin.metrics_allow`
//! gets 403.

use std::time::Duration;

use postino_tests::http::request;
use postino_tests::imap::ImapClient;
use postino_tests::scrape::scrape_until;
use postino_tests::sink::Sink;
use postino_tests::smtp::{ANNA, BRUNO, DOMAIN, PASSWORD, data, envelope, greeted, plain, site};
use postino_tests::{
    Backend, LineClient, Server, TEST_LIMIT, TestConfig, on_both_backends, within,
};

on_both_backends!(counters_follow_what_clients_do);

/// How long a scrape may wait for a count to show (outbound attempts run
/// in the background).
const WAIT: Duration = Duration::from_secs(20);
const OUTSIDE: &str = "mittente@esterno.example";
/// Routed to a sink that accepts.
const FRIEND: &str = "amico@esterno.example";
/// Routed to a sink that answers 451, so the message stays queued.
const SLOW: &str = "qualcuno@lento.example";

fn listener(name: &'static str) -> [(&'static str, &'static str); 1] {
    [("listener", name)]
}

fn imap_failure(reason: &'static str) -> [(&'static str, &'static str); 2] {
    [("service", "imap"), ("reason", reason)]
}

async fn counters_follow_what_clients_do(config: &TestConfig) {
    let friend = Sink::start(&["250 2.0.0 ok"]).await.expect("start a sink");
    let slow = Sink::start(&["451 4.3.0 try again later"])
        .await
        .expect("start a sink");
    let _dns = site(config, &["allow_plaintext_auth = true"], &[ANNA, BRUNO]).await;
    config.set("imap", "allow_plaintext_auth = true");
    config.set("auth", "max_failures_per_ip = 3");
    config.set(
        "delivery.routes",
        &format!("\"esterno.example\" = \"{}\"", friend.addr()),
    );
    config.set(
        "delivery.routes",
        &format!("\"lento.example\" = \"{}\"", slow.addr()),
    );
    let _server = Server::start(config).await;
    let listeners = config.listeners;
    let admin = listeners.admin;

    // The harness made one connection to each listener to see it listen;
    // once those are counted and closed, every later change is this test's.
    let before = scrape_until(admin, WAIT, "the start-up connections", |s| {
        ["mx", "submission", "submissions"]
            .into_iter()
            .all(|l| s.get("postino_smtp_sessions_total", &listener(l)) >= 1.0)
            && s.get("postino_imap_sessions_total", &[]) >= 2.0
            && ["mx", "submission", "submissions"]
                .into_iter()
                .all(|l| s.get("postino_smtp_sessions_open", &listener(l)) == 0.0)
            && s.get("postino_imap_sessions_open", &[]) == 0.0
            && s.get("postino_managesieve_sessions_total", &[]) >= 1.0
            && s.get("postino_managesieve_sessions_open", &[]) == 0.0
            && s.get("postino_pop3_sessions_total", &[]) >= 2.0
            && s.get("postino_pop3_sessions_open", &[]) == 0.0
    })
    .await;
    assert_eq!(before.get("postino_queue_messages", &[]), 0.0);
    assert_eq!(before.get("postino_queue_oldest_age_seconds", &[]), 0.0);

    // MX: one message in, an unknown mailbox and a relay attempt out.
    let mut mx = greeted(listeners.smtp_mx).await;
    envelope(&mut mx, OUTSIDE, &[ANNA]).await;
    let message = format!("From: <{OUTSIDE}>\r\nTo: <{ANNA}>\r\nSubject: ciao\r\n\r\nciao\r\n");
    data(&mut mx, message.as_bytes()).await.expect(250, "2.0.0");
    mx.command(&format!("MAIL FROM:<{OUTSIDE}>"))
        .await
        .expect(250, "2.1.0");
    mx.command(&format!("RCPT TO:<nessuno@{DOMAIN}>"))
        .await
        .expect(550, "5.1.1");
    mx.command(&format!("RCPT TO:<{FRIEND}>"))
        .await
        .expect(550, "5.7.1");
    mx.command("QUIT").await;

    // Submission: MAIL before AUTH is refused; then one message for two
    // remote recipients, one delivered and one deferred.
    let mut submission = greeted(listeners.smtp_submission).await;
    submission
        .command(&format!("MAIL FROM:<{ANNA}>"))
        .await
        .expect(530, "5.7.0");
    submission
        .command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
        .await
        .expect(235, "2.7.0");
    envelope(&mut submission, ANNA, &[FRIEND, SLOW]).await;
    let message =
        format!("From: <{ANNA}>\r\nTo: <{FRIEND}>, <{SLOW}>\r\nSubject: ciao\r\n\r\nciao\r\n");
    data(&mut submission, message.as_bytes())
        .await
        .expect(250, "2.0.0");
    submission.command("QUIT").await;

    // POP3, before IMAP locks the address out: Anna logs in and leaves.
    let mut pop3 = LineClient::connect(listeners.pop3).await;
    pop3.read_line().await;
    for command in [
        format!("USER {ANNA}"),
        format!("PASS {PASSWORD}"),
        "STAT".into(),
    ] {
        pop3.send(&command).await;
        assert!(pop3.read_line().await.starts_with("+OK"), "{command}");
    }
    pop3.send("QUIT").await;
    pop3.closed_within(WAIT).await;

    // IMAP: a name that does not exist and two wrong passwords for Bruno
    // lock the address out (max_failures_per_ip = 3), so the right one is
    // then throttled.
    let mut imap = ImapClient::connect(listeners.imap).await;
    imap.command(&format!("LOGIN \"nessuno@{DOMAIN}\" \"{PASSWORD}\""))
        .await
        .no_any();
    for password in ["sbagliata", "sbagliata", PASSWORD] {
        imap.command(&format!("LOGIN \"{BRUNO}\" \"{password}\""))
            .await
            .no_any();
    }
    scrape_until(admin, WAIT, "the open IMAP session", |s| {
        s.get("postino_imap_sessions_open", &[]) == 1.0
    })
    .await;
    imap.command("LOGOUT").await.ok();
    drop(imap);

    let after = scrape_until(
        admin,
        WAIT,
        "both outbound attempts and closed sessions",
        |s| {
            s.get(
                "postino_delivery_attempts_total",
                &[("outcome", "delivered")],
            ) >= 1.0
                && s.get(
                    "postino_delivery_attempts_total",
                    &[("outcome", "deferred")],
                ) >= 1.0
                && s.get("postino_imap_sessions_open", &[]) == 0.0
                && s.get("postino_pop3_sessions_open", &[]) == 0.0
                && ["mx", "submission"]
                    .into_iter()
                    .all(|l| s.get("postino_smtp_sessions_open", &listener(l)) == 0.0)
        },
    )
    .await;
    // Described, histograms too now that they have samples.
    for name in [
        "postino_smtp_sessions_total",
        "postino_smtp_sessions_open",
        "postino_smtp_messages_accepted_total",
        "postino_smtp_rejections_total",
        "postino_imap_sessions_total",
        "postino_imap_sessions_open",
        "postino_pop3_sessions_total",
        "postino_pop3_sessions_open",
        "postino_pop3_commands_total",
        "postino_login_failures_total",
        "postino_queue_messages",
        "postino_queue_oldest_age_seconds",
        "postino_delivery_attempts_total",
        "postino_store_commit_seconds",
        "postino_store_write_seconds",
        "postino_store_lock_wait_seconds",
        "postino_store_append_seconds",
    ] {
        assert!(
            after.text.contains(&format!("# HELP {name} ")),
            "no description of {name}:\n{}",
            after.text
        );
    }
    let moved = |name: &str, labels: &[(&str, &str)]| {
        let (was, is) = (
            before.find(name, labels).unwrap_or(0.0),
            after.get(name, labels),
        );
        is - was
    };

    for (name, opened) in [("mx", 1.0), ("submission", 1.0), ("submissions", 0.0)] {
        assert_eq!(
            moved("postino_smtp_sessions_total", &listener(name)),
            opened,
            "{name} sessions:\n{}",
            after.text
        );
    }
    assert_eq!(moved("postino_imap_sessions_total", &[]), 1.0);
    assert_eq!(moved("postino_pop3_sessions_total", &[]), 1.0);
    for command in ["USER", "PASS", "STAT", "QUIT"] {
        let labels = [("command", command)];
        assert_eq!(
            moved("postino_pop3_commands_total", &labels),
            1.0,
            "{command}"
        );
    }
    for (name, accepted) in [("mx", 1.0), ("submission", 1.0), ("submissions", 0.0)] {
        assert_eq!(
            moved("postino_smtp_messages_accepted_total", &listener(name)),
            accepted,
            "{name} messages:\n{}",
            after.text
        );
    }
    for (reason, count) in [
        ("auth_required", 1.0),
        ("relay_denied", 1.0),
        ("unknown_recipient", 1.0),
        ("over_quota", 0.0),
        ("too_large", 0.0),
        ("rate_limited", 0.0),
        ("bad_data", 0.0),
        ("sender_refused", 0.0),
    ] {
        assert_eq!(
            moved("postino_smtp_rejections_total", &[("reason", reason)]),
            count,
            "rejections for {reason}:\n{}",
            after.text
        );
    }
    for (reason, count) in [
        ("bad_password", 2.0),
        ("throttled", 1.0),
        ("unknown_user", 1.0),
        ("disabled", 0.0),
    ] {
        assert_eq!(
            moved("postino_login_failures_total", &imap_failure(reason)),
            count,
            "IMAP login failures for {reason}:\n{}",
            after.text
        );
        assert_eq!(
            moved(
                "postino_login_failures_total",
                &[("service", "smtp"), ("reason", reason)]
            ),
            0.0,
            "the SMTP login succeeded"
        );
    }
    for (outcome, count) in [("delivered", 1.0), ("deferred", 1.0), ("failed", 0.0)] {
        assert_eq!(
            moved("postino_delivery_attempts_total", &[("outcome", outcome)]),
            count,
            "delivery attempts {outcome}:\n{}",
            after.text
        );
    }
    assert_eq!(friend.received().len(), 1);

    // The deferred recipient keeps its message queued.
    assert_eq!(after.get("postino_queue_messages", &[]), 1.0);
    let age = after.get("postino_queue_oldest_age_seconds", &[]);
    assert!(
        (0.0..WAIT.as_secs_f64() * 3.0).contains(&age),
        "queue age {age}"
    );

    // Every write went through a timed commit: a real histogram, with
    // cumulative buckets ending in +Inf.
    let commits = after.get("postino_store_commit_seconds_count", &[]);
    assert!(commits > 0.0, "{}", after.text);
    assert_eq!(
        after.get("postino_store_commit_seconds_bucket", &[("le", "+Inf")]),
        commits
    );
    assert!(after.get("postino_store_commit_seconds_sum", &[]) > 0.0);
    // Each of them is timed whole too, from its start, never shorter than
    // its commit.
    assert_eq!(after.get("postino_store_write_seconds_count", &[]), commits);
    assert!(
        after.get("postino_store_write_seconds_sum", &[])
            >= after.get("postino_store_commit_seconds_sum", &[])
    );
    assert!(after.get("postino_store_append_seconds_count", &[]) >= 2.0);
}

#[tokio::test]
async fn clients_outside_metrics_allow_are_refused() {
    within(TEST_LIMIT, async {
        let config = TestConfig::new(Backend::Sqlite).await;
        config.set("admin", "metrics_allow = [\"192.0.2.0/24\", \"::1\"]");
        let _server = Server::start(&config).await;
        let (status, body) = request(config.listeners.admin, "GET", "/metrics", "").await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body, "forbidden\n");
        assert!(!body.contains("postino_"));
        // The rest of the admin service is not concerned.
        let (status, _) = request(config.listeners.admin, "GET", "/healthz", "").await;
        assert_eq!(status, 200);
    })
    .await;
}

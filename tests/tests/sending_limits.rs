//! Sending limits of logged-in mailboxes, on the real binary: past its
//! messages an hour a mailbox gets `451 4.7.1` at MAIL, past its distinct
//! recipients a day at RCPT (a recipient written to before still passes);
//! a mailbox's own limit beats its domain's, which beats the configured
//! one; each hit shows in `postino mailbox limit-hits` and in the metrics.
//! Everything runs on SQLite and on PostgreSQL.

use postino_tests::http::request;
use postino_tests::smtp::{
    ANNA, BRUNO, CARLA, DOMAIN, data, envelope, logged_in, outside_world_unreachable, site,
};
use postino_tests::{LineClient, Server, TestConfig, on_both_backends};

on_both_backends!(
    a_mailbox_past_its_hourly_messages_is_held_back,
    a_mailbox_past_its_daily_recipients_is_held_back,
);

fn message(from: &str) -> String {
    format!("From: <{from}>\r\nSubject: Delibera\r\n\r\nIn allegato la delibera.\r\n")
}

/// Sends one message from `from` to `to` in an open session.
async fn send(client: &mut LineClient, from: &str, to: &[&str]) {
    envelope(client, from, to).await;
    data(client, message(from).as_bytes())
        .await
        .expect(250, "2.0.0");
}

/// The value of the `limit` series of the sending limit metric.
async fn hits_metric(config: &TestConfig, limit: &str) -> String {
    let (status, body) = request(config.listeners.admin, "GET", "/metrics", "").await;
    assert_eq!(status, 200, "{body}");
    let series = format!("postino_smtp_sending_limit_hits_total{{limit=\"{limit}\"}} ");
    body.lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .unwrap_or_else(|| panic!("no {series} in {body}"))
        .to_string()
}

async fn a_mailbox_past_its_hourly_messages_is_held_back(config: &TestConfig) {
    let settings = ["allow_plaintext_auth = true", "max_messages_per_hour = 3"];
    let _dns = site(config, &settings, &[ANNA, BRUNO, CARLA]).await;
    let _server = Server::start(config).await;
    let submission = config.listeners.smtp_submission;

    let mut anna = logged_in(submission, ANNA).await;
    for _ in 0..3 {
        send(&mut anna, ANNA, &[BRUNO]).await;
    }
    let refused = anna.command(&format!("MAIL FROM:<{ANNA}>")).await;
    refused.expect(451, "4.7.1");
    assert!(
        refused.lines[0].contains("3 messages an hour"),
        "{refused:?}"
    );
    // The session goes on, and so do other mailboxes.
    anna.command(&format!("MAIL FROM:<{ANNA}>"))
        .await
        .expect(451, "4.7.1");
    let mut bruno = logged_in(submission, BRUNO).await;
    send(&mut bruno, BRUNO, &[ANNA]).await;

    let hits = config
        .cli(&["mailbox", "limit-hits", "--json"], None)
        .await
        .json();
    let hits = hits.as_array().expect("a list");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["address"], ANNA);
    assert_eq!(hits[0]["limit_name"], "messages_per_hour");
    assert_eq!(hits[0]["refused"], 2);
    assert_eq!(hits_metric(config, "messages_per_hour").await, "2");

    // Her own limit beats the configured one.
    config
        .cli(
            &["mailbox", "update", ANNA, "--max-messages-per-hour", "5"],
            None,
        )
        .await
        .ok();
    send(&mut anna, ANNA, &[BRUNO]).await;

    // The domain's beats the configured one for those without their own:
    // Bruno sent one, Carla none.
    config
        .cli(
            &["domain", "update", DOMAIN, "--max-messages-per-hour", "1"],
            None,
        )
        .await
        .ok();
    bruno
        .command(&format!("MAIL FROM:<{BRUNO}>"))
        .await
        .expect(451, "4.7.1");
    let mut carla = logged_in(submission, CARLA).await;
    send(&mut carla, CARLA, &[ANNA]).await;
    send(&mut anna, ANNA, &[BRUNO]).await;

    // 0 is no limit; `default` goes back to the domain's.
    config
        .cli(
            &["domain", "update", DOMAIN, "--max-messages-per-hour", "0"],
            None,
        )
        .await
        .ok();
    send(&mut bruno, BRUNO, &[ANNA]).await;
    config
        .cli(
            &[
                "mailbox",
                "update",
                ANNA,
                "--max-messages-per-hour",
                "default",
            ],
            None,
        )
        .await
        .ok();
    for _ in 0..3 {
        send(&mut anna, ANNA, &[CARLA]).await;
    }
}

async fn a_mailbox_past_its_daily_recipients_is_held_back(config: &TestConfig) {
    let settings = ["allow_plaintext_auth = true", "max_recipients_per_day = 3"];
    let _dns = site(config, &settings, &[ANNA, BRUNO]).await;
    outside_world_unreachable(config);
    let _server = Server::start(config).await;
    let mut anna = logged_in(config.listeners.smtp_submission, ANNA).await;

    let outside = [
        "a@esterno.example",
        "b@esterno.example",
        "c@esterno.example",
    ];
    send(&mut anna, ANNA, &outside).await;
    envelope(&mut anna, ANNA, &[]).await;
    // Written to before, in any case: no new recipient.
    anna.command("RCPT TO:<A@esterno.example>")
        .await
        .expect(250, "2.1.5");
    let refused = anna.command("RCPT TO:<d@esterno.example>").await;
    refused.expect(451, "4.7.1");
    assert!(
        refused.lines[0].contains("3 recipients a day"),
        "{refused:?}"
    );
    anna.command(&format!("RCPT TO:<{BRUNO}>"))
        .await
        .expect(451, "4.7.1");
    data(&mut anna, message(ANNA).as_bytes())
        .await
        .expect(250, "2.0.0");

    let hits = config
        .cli(&["mailbox", "limit-hits", "--json"], None)
        .await
        .json();
    assert_eq!(hits[0]["limit_name"], "recipients_per_day", "{hits}");
    assert_eq!(hits[0]["refused"], 2, "{hits}");
    assert_eq!(hits_metric(config, "recipients_per_day").await, "2");

    config
        .cli(
            &["mailbox", "update", ANNA, "--max-recipients-per-day", "10"],
            None,
        )
        .await
        .ok();
    send(&mut anna, ANNA, &["d@esterno.example", BRUNO]).await;
}

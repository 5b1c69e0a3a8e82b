//! The MX's checks of a client before its mail: DNS blocklists and
//! allowlists (RFC 5782) through the DNS stub, the pregreet test (a client
//! talking before the end of the greeting), and EHLO with our own name.
//! Everything runs on SQLite and on PostgreSQL.

use std::net::Ipv4Addr;
use std::time::Duration;

use postino_tests::smtp::{ANNA, DOMAIN, data, envelope, greet, greeted, inbox, site, stopped};
use postino_tests::{LineClient, Server, TestConfig, on_both_backends};

on_both_backends!(
    blocklisted_clients_are_refused_unless_allowlisted,
    clients_that_talk_before_the_greeting_are_refused,
    our_own_name_in_ehlo_is_refused,
);

const REASON: &str = "Listed by bl.test, see https://bl.test/lookup";

async fn blocklisted_clients_are_refused_unless_allowlisted(config: &TestConfig) {
    let dns = site(config, &[], &[ANNA]).await;
    // 127.0.0.1 is listed; 127.0.0.2 is not; 127.0.0.3 is listed but a
    // relay client, which no list is asked about.
    dns.add_a("1.0.0.127.bl.test", Ipv4Addr::new(127, 0, 0, 2));
    dns.add_txt("1.0.0.127.bl.test", REASON);
    dns.add_a("3.0.0.127.bl.test", Ipv4Addr::new(127, 0, 0, 2));
    // A list refusing our resolver says so in 127.255.255.0/24: no listing.
    dns.add_a("2.0.0.127.bl.test", Ipv4Addr::new(127, 255, 255, 254));
    config.set("antispam", "dnsbl = [\"empty.test\", \"bl.test\"]");
    config
        .cli(
            &[
                "relay",
                "add",
                "protocollo",
                "--cidr",
                "127.0.0.3/32",
                "--sender-domain",
                DOMAIN,
            ],
            None,
        )
        .await
        .ok();
    let server = Server::start(config).await;

    let mut listed = greeted(config.listeners.smtp_mx).await;
    for _ in 0..2 {
        let reply = listed.command("MAIL FROM:<mittente@esterno.example>").await;
        reply.expect(554, "5.7.1");
        let text = reply.lines.join("\n");
        assert!(
            text.contains("[127.0.0.1] blocked using bl.test") && text.contains(REASON),
            "{text}"
        );
    }
    let relay_sender = format!("protocollo@{DOMAIN}");
    for (source, sender) in [
        (Ipv4Addr::new(127, 0, 0, 2), "mittente@esterno.example"),
        (Ipv4Addr::new(127, 0, 0, 3), relay_sender.as_str()),
    ] {
        let client = LineClient::connect_from(source, config.listeners.smtp_mx).await;
        let mut client = greet(client).await;
        envelope(&mut client, sender, &[ANNA]).await;
        let content = format!("Subject: da {source}\r\n\r\nCiao.\r\n");
        data(&mut client, content.as_bytes())
            .await
            .expect(250, "2.0.0");
    }
    let store = stopped(server, config).await;
    assert_eq!(inbox(&store, ANNA).await.len(), 2);
    store.close().await;

    // An allowlist outweighs every blocklist.
    dns.add_a("1.0.0.127.wl.test", Ipv4Addr::new(127, 0, 10, 1));
    config.set("antispam", "dnswl = [\"wl.test\"]");
    let _server = Server::start(config).await;
    let mut allowed = greeted(config.listeners.smtp_mx).await;
    envelope(&mut allowed, "mittente@esterno.example", &[ANNA]).await;
}

async fn clients_that_talk_before_the_greeting_are_refused(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    config.replace("pregreet_wait = \"0s\"", "pregreet_wait = \"2s\"");
    let _server = Server::start(config).await;

    // A mail server waits for the last line of the greeting.
    let mut polite = LineClient::connect(config.listeners.smtp_mx).await;
    let greeting = polite.read_reply().await;
    assert_eq!(greeting.code, 220);
    assert_eq!(greeting.lines.len(), 2, "a two-line greeting: {greeting:?}");
    assert_eq!(polite.command("EHLO client.example").await.code, 250);

    // A bot sends as soon as it is connected.
    let mut bot = LineClient::connect(config.listeners.smtp_mx).await;
    bot.send("EHLO bot.example").await;
    let lines = bot.closed_within(Duration::from_secs(10)).await;
    assert!(lines[0].starts_with("220-"), "{lines:?}");
    assert!(
        lines
            .last()
            .is_some_and(|line| line.starts_with("554 5.5.1 ")),
        "{lines:?}"
    );

    // The submission listeners do not wait.
    let mut submission = LineClient::connect(config.listeners.smtp_submission).await;
    assert_eq!(submission.read_reply().await.lines.len(), 1);
}

async fn our_own_name_in_ehlo_is_refused(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA]).await;
    let _server = Server::start(config).await;
    let mut client = LineClient::connect(config.listeners.smtp_mx).await;
    assert_eq!(client.read_reply().await.code, 220);
    for ours in [
        "EHLO mx.postino.test",
        "HELO MX.Postino.Test.",
        "EHLO [127.0.0.1]",
    ] {
        client.command(ours).await.expect(550, "5.7.1");
    }
    // No greeting was taken: MAIL is still out of order.
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(503, "5.5.1");
    assert_eq!(client.command("EHLO client.example").await.code, 250);
}

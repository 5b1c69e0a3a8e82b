//! SMTP smuggling (CVE-2023-51764 and kin): only `CRLF . CRLF` ends DATA
//! (RFC 5321 §4.1.1.4). A bare LF or bare CR around a dot never ends the
//! message, so what follows it is never run as a command; and a message
//! holding a bare line end is refused whole (554 5.6.0, RFC 5321 §2.3.8),
//! so it is neither stored nor passed on. Raw sockets only: no client
//! library would send these bytes.

use std::time::Duration;

use postino_tests::dns::DnsStub;
use postino_tests::smtp::{
    ANNA, BRUNO, DOMAIN, PASSWORD, envelope, greeted, inbox, inbox_len, plain, sqlite_site, stopped,
};
use postino_tests::{Server, TEST_LIMIT, TestConfig, within};

/// The sequences that end DATA on a lenient server (SEC Consult's list).
const SMUGGLING: [&str; 5] = ["\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r", "\r\n.\n"];

/// A configuration on SQLite with a DNS stub, the domain and two mailboxes,
/// plus `smtp` settings.
async fn site(smtp: &[&str]) -> (TestConfig, DnsStub) {
    sqlite_site(smtp, &[ANNA, BRUNO]).await
}

/// A message to Anna that hides, after `sequence`, a whole second
/// transaction to Bruno, ended by a real `CRLF . CRLF`.
fn smuggling_message(sequence: &str) -> String {
    format!(
        "From: <mittente@esterno.example>\r\nTo: <{ANNA}>\r\nSubject: innocuo\r\n\r\n\
         Ciao Anna{sequence}MAIL FROM:<direttore@{DOMAIN}>\r\nRCPT TO:<{BRUNO}>\r\nDATA\r\n\
         From: <direttore@{DOMAIN}>\r\nSubject: contrabbando\r\n\r\nPaga subito.\r\n.\r\n"
    )
}

#[tokio::test]
async fn smuggled_commands_are_never_executed() {
    within(TEST_LIMIT, async {
        let (config, _dns) = site(&[]).await;
        let server = Server::start(&config).await;
        for sequence in SMUGGLING {
            for pipelined in [false, true] {
                let what = format!("{sequence:?} (pipelined: {pipelined})");
                let mut client = greeted(config.listeners.smtp_mx).await;
                let envelope =
                    format!("MAIL FROM:<mittente@esterno.example>\r\nRCPT TO:<{ANNA}>\r\nDATA\r\n");
                let content = smuggling_message(sequence);
                if pipelined {
                    // Everything in one write: the content is already in the
                    // server's buffer when DATA starts.
                    client
                        .send_raw(format!("{envelope}{content}NOOP\r\n").as_bytes())
                        .await;
                } else {
                    client.send_raw(envelope.as_bytes()).await;
                }
                client.read_reply().await.expect(250, "2.1.0");
                client.read_reply().await.expect(250, "2.1.5");
                assert_eq!(client.read_reply().await.code, 354, "{what}");
                if !pipelined {
                    client.send_raw(content.as_bytes()).await;
                    client.send("NOOP").await;
                }
                // One reply for the whole content, then the NOOP's: nothing
                // in between was run as a command.
                let end = client.read_reply().await;
                assert_eq!(
                    (end.code, end.status()),
                    (554, Some("5.6.0")),
                    "{what}: {end:?}"
                );
                let next = client.read_reply().await;
                assert_eq!(next.code, 250, "{what}: a smuggled command ran: {next:?}");
                client.command("QUIT").await.expect(221, "2.0.0");
            }
        }
        let store = stopped(server, &config).await;
        assert_eq!(
            inbox_len(&store, ANNA).await,
            0,
            "a refused message was stored"
        );
        assert_eq!(
            inbox_len(&store, BRUNO).await,
            0,
            "a smuggled message was stored"
        );
    })
    .await;
}

/// A client that tries to end DATA with a bare-LF dot gets no answer: the
/// server is still reading the message.
#[tokio::test]
async fn a_bare_line_end_dot_does_not_end_data() {
    within(TEST_LIMIT, async {
        let (config, _dns) = site(&[]).await;
        let server = Server::start(&config).await;
        for sequence in SMUGGLING {
            let mut client = greeted(config.listeners.smtp_mx).await;
            envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
            assert_eq!(client.command("DATA").await.code, 354);
            client
                .send_raw(format!("Subject: x\r\n\r\nCiao{sequence}").as_bytes())
                .await;
            let early = client.line_within(Duration::from_millis(700)).await;
            assert_eq!(early, None, "{sequence:?} ended DATA");
            client.send_raw(b"\r\n.\r\n").await;
            client.read_reply().await.expect(554, "5.6.0");
            client.command("NOOP").await.expect(250, "2.0.0");
        }
        let store = stopped(server, &config).await;
        assert_eq!(inbox_len(&store, ANNA).await, 0);
    })
    .await;
}

/// Bare CR and bare LF anywhere, in DATA or in BDAT chunks (also across
/// chunk boundaries), refuse the whole message; properly stuffed dots and
/// CRLFs are fine.
#[tokio::test]
async fn bare_line_ends_anywhere_refuse_the_message() {
    within(TEST_LIMIT, async {
        let (config, _dns) = site(&[]).await;
        let server = Server::start(&config).await;
        let mut client = greeted(config.listeners.smtp_mx).await;
        let head = "From: <mittente@esterno.example>\r\nSubject: x\r\n\r\n";
        for body in ["una\nriga\r\n", "una\rriga\r\n", "fine con CR\r", "a\r\r\n"] {
            envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
            assert_eq!(client.command("DATA").await.code, 354);
            client
                .send_raw(format!("{head}{body}\r\n.\r\n").as_bytes())
                .await;
            client.read_reply().await.expect(554, "5.6.0");
        }
        for chunks in [
            vec!["una\nriga\r\n"],
            vec!["finisce con CR\r"],
            vec!["CR alla fine del pezzo\r", "e LF nel prossimo? no: x\r\n"],
            vec!["pezzo\r\n", "\n"],
        ] {
            envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
            let last = chunks.len() - 1;
            for (i, chunk) in chunks.iter().enumerate() {
                let chunk = if i == 0 {
                    format!("{head}{chunk}")
                } else {
                    chunk.to_string()
                };
                let suffix = if i == last { " LAST" } else { "" };
                client.send(&format!("BDAT {}{suffix}", chunk.len())).await;
                client.send_raw(chunk.as_bytes()).await;
                let reply = client.read_reply().await;
                if i == last {
                    assert_eq!(
                        (reply.code, reply.status()),
                        (554, Some("5.6.0")),
                        "BDAT {chunks:?}: {reply:?}"
                    );
                } else {
                    assert_eq!(reply.code, 250, "BDAT {chunks:?}: {reply:?}");
                }
            }
        }
        // The control: dot-stuffed lines that look like an end are content.
        envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
        assert_eq!(client.command("DATA").await.code, 354);
        client
            .send_raw(format!("{head}riga\r\n..\r\n..MAIL FROM:<x@y.example>\r\n.\r\n").as_bytes())
            .await;
        client.read_reply().await.expect(250, "2.0.0");
        let store = stopped(server, &config).await;
        let anna = inbox(&store, ANNA).await;
        assert_eq!(anna.len(), 1, "only the control is stored");
        let stored = &anna[0];
        assert!(
            stored.ends_with(format!("{head}riga\r\n.\r\n.MAIL FROM:<x@y.example>\r\n").as_bytes()),
            "dots not unstuffed: {}",
            String::from_utf8_lossy(stored)
        );
    })
    .await;
}

/// An authenticated user's message for another server is refused whole too:
/// nothing with a bare line end reaches the outbound queue.
#[tokio::test]
async fn smuggling_is_never_passed_on_to_other_servers() {
    within(TEST_LIMIT, async {
        let (config, _dns) = site(&["allow_plaintext_auth = true"]).await;
        let server = Server::start(&config).await;
        let mut client = greeted(config.listeners.smtp_submission).await;
        let plain = plain(ANNA, PASSWORD);
        client
            .command(&format!("AUTH PLAIN {plain}"))
            .await
            .expect(235, "2.7.0");
        for sequence in SMUGGLING {
            envelope(&mut client, ANNA, &["amico@esterno.example"]).await;
            assert_eq!(client.command("DATA").await.code, 354);
            client
                .send_raw(smuggling_message(sequence).as_bytes())
                .await;
            let end = client.read_reply().await;
            assert_eq!(
                (end.code, end.status()),
                (554, Some("5.6.0")),
                "{sequence:?}: {end:?}"
            );
            client.command("NOOP").await.expect(250, "2.0.0");
        }
        let store = stopped(server, &config).await;
        let queued = store.queued_recipients().await.expect("read the queue");
        assert!(queued.is_empty(), "smuggled mail queued: {queued:?}");
        assert_eq!(inbox_len(&store, BRUNO).await, 0);
    })
    .await;
}

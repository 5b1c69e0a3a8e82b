//! SMTP smuggling (CVE-2023-51764 and kin): only `CRLF . CRLF` ends DATA
//! (RFC 5321 §4.1.1.4). A bare LF or bare CR around a dot never ends the
//! message, so what follows it is never run as a command; and a message
//! holding a bare line end is refused whole (554 5.6.0, RFC 5321 §2.3.8),
//! so it is neither stored nor passed on. Raw sockets only: no client
//! library would send these bytes.
//!
//! Authenticated users, relay clients and the networks of
//! `smtp.bare_newline_allow` may end lines with a bare LF, stored as CRLF
//! (Postfix's `smtpd_forbid_bare_newline = normalize`); even from them only
//! `CRLF . CRLF` ends DATA. Everything runs on SQLite and on PostgreSQL.

use std::net::Ipv4Addr;
use std::time::Duration;

use postino_tests::dns::DnsStub;
use postino_tests::smtp::{
    ANNA, BRUNO, DOMAIN, PASSWORD, data, envelope, greet, greeted, inbox, inbox_len,
    outside_world_unreachable, plain, stopped,
};
use postino_tests::{LineClient, Server, TestConfig, on_both_backends};

on_both_backends!(
    smuggled_commands_are_never_executed,
    a_bare_line_end_dot_does_not_end_data,
    bare_line_ends_anywhere_refuse_the_message,
    smuggling_is_never_passed_on_to_other_servers,
    trusted_clients_may_end_lines_with_bare_lf,
    a_trusted_client_cannot_end_data_with_a_bare_line_end_dot,
);

/// The sequences that end DATA on a lenient server (SEC Consult's list).
const SMUGGLING: [&str; 5] = ["\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r", "\r\n.\n"];

/// Sets `config` up with a DNS stub, the domain and two mailboxes, plus
/// `smtp` settings.
async fn site(config: &TestConfig, smtp: &[&str]) -> DnsStub {
    postino_tests::smtp::site(config, smtp, &[ANNA, BRUNO]).await
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

async fn smuggled_commands_are_never_executed(config: &TestConfig) {
    let _dns = site(config, &[]).await;
    let server = Server::start(config).await;
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
    let store = stopped(server, config).await;
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
}

/// A client that tries to end DATA with a bare-LF dot gets no answer: the
/// server is still reading the message.
async fn a_bare_line_end_dot_does_not_end_data(config: &TestConfig) {
    let _dns = site(config, &[]).await;
    let server = Server::start(config).await;
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
    let store = stopped(server, config).await;
    assert_eq!(inbox_len(&store, ANNA).await, 0);
}

/// Bare CR and bare LF anywhere, in DATA or in BDAT chunks (also across
/// chunk boundaries), refuse the whole message; properly stuffed dots and
/// CRLFs are fine.
async fn bare_line_ends_anywhere_refuse_the_message(config: &TestConfig) {
    let _dns = site(config, &[]).await;
    let server = Server::start(config).await;
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
    let store = stopped(server, config).await;
    let anna = inbox(&store, ANNA).await;
    assert_eq!(anna.len(), 1, "only the control is stored");
    let stored = &anna[0];
    assert!(
        stored.ends_with(format!("{head}riga\r\n.\r\n.MAIL FROM:<x@y.example>\r\n").as_bytes()),
        "dots not unstuffed: {}",
        String::from_utf8_lossy(stored)
    );
}

/// An authenticated user's message for another server never passes a
/// smuggling sequence on: one with a bare CR is refused whole, and one
/// with a bare LF reaches the outbound queue with CRLF line ends and the
/// dot unstuffed, so the hidden transaction is only text of the message.
async fn smuggling_is_never_passed_on_to_other_servers(config: &TestConfig) {
    let _dns = site(config, &["allow_plaintext_auth = true"]).await;
    outside_world_unreachable(config);
    let server = Server::start(config).await;
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
        let expected = if has_bare_cr(sequence) {
            (554, Some("5.6.0"))
        } else {
            (250, Some("2.0.0"))
        };
        assert_eq!((end.code, end.status()), expected, "{sequence:?}: {end:?}");
        client.command("NOOP").await.expect(250, "2.0.0");
    }
    let store = stopped(server, config).await;
    let queued = store.queued_recipients().await.expect("read the queue");
    let bare_lf_only = SMUGGLING.iter().filter(|s| !has_bare_cr(s)).count();
    assert_eq!(queued.len(), bare_lf_only, "{queued:?}");
    for recipient in queued {
        let message = store
            .queued_message(recipient.queue_id)
            .await
            .expect("read a queued message")
            .expect("the queued message has a body");
        let text = String::from_utf8_lossy(&message);
        assert!(!has_bare_lf(&message), "{text:?}");
        assert!(
            !text.contains("\r\n.\r\n"),
            "an end of data queued: {text:?}"
        );
        assert!(text.contains("\r\nMAIL FROM:<direttore@"), "{text}");
    }
    assert_eq!(inbox_len(&store, BRUNO).await, 0);
}

/// The network of `bare_newline_allow` in [`lenient_site`].
const EXEMPT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The network of the relay client of [`lenient_site`].
const RELAY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// The relay client's sender.
const SENDER: &str = "protocollo@comune.esempio.pu.it";

/// A [`site`] where 127.0.0.2 may send bare LFs, 127.0.0.3 is a relay
/// client's network and AUTH works without TLS.
async fn lenient_site(config: &TestConfig) -> DnsStub {
    let dns = site(
        config,
        &[
            "bare_newline_allow = [\"127.0.0.2\"]",
            "allow_plaintext_auth = true",
        ],
    )
    .await;
    let relay = ["relay", "add", "protocollo", "--cidr", "127.0.0.3/32"];
    let mut args = relay.to_vec();
    args.extend_from_slice(&["--sender-domain", DOMAIN]);
    config.cli(&args, None).await.ok();
    dns
}

/// A message with bare LF line ends, as Unix tools write it, with a
/// stuffed dot; its last line ends in CRLF, so that `.` CRLF ends the data.
fn lf_message(subject: &str) -> String {
    format!("From: <{SENDER}>\nSubject: {subject}\n\nprima riga\n..punto\nultima\r\n")
}

/// How [`lf_message`] is stored: CRLF line ends, the dot unstuffed.
fn lf_stored(subject: &str) -> String {
    format!("From: <{SENDER}>\r\nSubject: {subject}\r\n\r\nprima riga\r\n.punto\r\nultima\r\n")
}

/// Whether `bytes` holds an LF without a CR before it.
fn has_bare_lf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\n") || bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r')
}

/// Asserts that `stored` ends with `sent` and has CRLF line ends only.
#[track_caller]
fn assert_stored(stored: &[u8], sent: &str) {
    let text = String::from_utf8_lossy(stored);
    assert!(stored.ends_with(sent.as_bytes()), "{text}");
    assert!(!has_bare_lf(stored), "a bare LF was stored: {text:?}");
}

async fn trusted_clients_may_end_lines_with_bare_lf(config: &TestConfig) {
    let _dns = lenient_site(config).await;
    let server = Server::start(config).await;
    let mx = config.listeners.smtp_mx;

    // A network of bare_newline_allow, on MX: DATA, and BDAT with a CRLF
    // split between chunks (BDAT content is never unstuffed).
    let mut exempt = greet(LineClient::connect_from(EXEMPT, mx).await).await;
    envelope(&mut exempt, "mittente@esterno.example", &[ANNA]).await;
    data(&mut exempt, lf_message("rete").as_bytes())
        .await
        .expect(250, "2.0.0");
    envelope(&mut exempt, "mittente@esterno.example", &[ANNA]).await;
    for (chunk, last) in [("Subject: bdat\n\nuno\r", ""), ("\ndue\n..tre\n", " LAST")] {
        exempt.send(&format!("BDAT {}{last}", chunk.len())).await;
        exempt.send_raw(chunk.as_bytes()).await;
        let reply = exempt.read_reply().await;
        assert_eq!(reply.code, 250, "{chunk:?}: {reply:?}");
    }

    // A relay client known by its address, on MX too.
    let mut relay = greet(LineClient::connect_from(RELAY, mx).await).await;
    envelope(&mut relay, SENDER, &[ANNA]).await;
    data(&mut relay, lf_message("relay").as_bytes())
        .await
        .expect(250, "2.0.0");

    // A user once logged in, commands ending in bare LF too.
    let mut user = greeted(config.listeners.smtp_submission).await;
    user.command(&format!("AUTH PLAIN {}", plain(ANNA, PASSWORD)))
        .await
        .expect(235, "2.7.0");
    user.send_raw(format!("MAIL FROM:<{ANNA}>\nRCPT TO:<{BRUNO}>\nDATA\n").as_bytes())
        .await;
    user.read_reply().await.expect(250, "2.1.0");
    user.read_reply().await.expect(250, "2.1.5");
    assert_eq!(user.read_reply().await.code, 354);
    user.send_raw(lf_message("utente").as_bytes()).await;
    user.command(".").await.expect(250, "2.0.0");

    // Anyone else on MX: refused, as ever.
    let mut stranger = greeted(mx).await;
    envelope(&mut stranger, "mittente@esterno.example", &[ANNA]).await;
    data(&mut stranger, lf_message("estraneo").as_bytes())
        .await
        .expect(554, "5.6.0");

    let store = stopped(server, config).await;
    let anna = inbox(&store, ANNA).await;
    assert_eq!(anna.len(), 3, "the stranger's message was stored");
    assert_stored(&anna[0], &lf_stored("rete"));
    assert_stored(&anna[1], "Subject: bdat\r\n\r\nuno\r\ndue\r\n..tre\r\n");
    assert_stored(&anna[2], &lf_stored("relay"));
    let bruno = inbox(&store, BRUNO).await;
    assert_eq!(bruno.len(), 1);
    assert_stored(&bruno[0], &lf_stored("utente"));
}

/// Whether `sequence`, followed by a letter, holds a CR without an LF after.
fn has_bare_cr(sequence: &str) -> bool {
    let bytes = sequence.as_bytes();
    bytes.ends_with(b"\r") || bytes.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n')
}

/// From a client whose bare LFs end lines, a dot line after one still does
/// not end DATA: the smuggled transaction is content, stored as such (or
/// refused whole for a bare CR), and never run.
async fn a_trusted_client_cannot_end_data_with_a_bare_line_end_dot(config: &TestConfig) {
    let _dns = lenient_site(config).await;
    let server = Server::start(config).await;
    let mut accepted = 0;
    for sequence in SMUGGLING {
        let connection = LineClient::connect_from(EXEMPT, config.listeners.smtp_mx).await;
        let mut client = greet(connection).await;
        envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
        assert_eq!(client.command("DATA").await.code, 354);
        let content = smuggling_message(sequence);
        let (head, tail) = content.split_at(content.find("MAIL FROM").unwrap_or_default());
        client.send_raw(head.as_bytes()).await;
        let early = client.line_within(Duration::from_millis(700)).await;
        assert_eq!(early, None, "{sequence:?} ended DATA");
        client.send_raw(tail.as_bytes()).await;
        let end = client.read_reply().await;
        if has_bare_cr(sequence) {
            assert_eq!(
                (end.code, end.status()),
                (554, Some("5.6.0")),
                "{sequence:?}: {end:?}"
            );
        } else {
            assert_eq!(
                (end.code, end.status()),
                (250, Some("2.0.0")),
                "{sequence:?}: {end:?}"
            );
            accepted += 1;
        }
        client.command("NOOP").await.expect(250, "2.0.0");
    }
    let store = stopped(server, config).await;
    assert_eq!(
        inbox_len(&store, BRUNO).await,
        0,
        "a smuggled message was stored"
    );
    let anna = inbox(&store, ANNA).await;
    assert_eq!(anna.len(), accepted);
    for message in anna {
        let text = String::from_utf8_lossy(&message);
        assert!(text.contains("\r\nMAIL FROM:<direttore@"), "{text}");
        assert!(!has_bare_lf(&message), "{text:?}");
    }
}

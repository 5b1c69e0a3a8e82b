//! The SMTP conversation itself, over raw sockets on the MX and submission
//! listeners: EHLO and its extensions (RFC 5321 §4.1.1.1, RFC 1870, 2034,
//! 2920, 3030, 3207, 3461, 6152, 6531), enhanced status codes on every
//! reply (RFC 2034, 3463), the simple verbs, sequence and syntax errors,
//! pipelining, BDAT, the size and line-length limits, `<postmaster>`
//! without a domain (RFC 5321 §4.5.1), and a failing store.
//!
//! Every refusal is followed by a command that must still work: a refused
//! command never ends or desynchronises the session. Everything runs on
//! SQLite and on PostgreSQL.

use postino_common::store::Store;
use postino_tests::smtp::{
    ANNA, BRUNO, DOMAIN, add_mailbox, bdat, data, envelope, envelope_with, greeted, inbox,
    only_message, read_replies, site, started, stopped,
};
use postino_tests::{LineClient, Server, SmtpReply, TestConfig, on_both_backends};

on_both_backends!(
    ehlo_lists_the_extensions_of_each_listener,
    every_reply_has_an_enhanced_status_code,
    commands_out_of_sequence_get_503,
    syntax_errors_get_500_and_501,
    rset_noop_vrfy_help_and_quit,
    over_long_command_line_is_refused_and_the_session_goes_on,
    pipelined_transactions_get_every_reply_in_order,
    bdat_chunks_are_delivered_byte_for_byte,
    refused_bdat_chunks_are_consumed_not_executed,
    messages_over_the_size_limit_are_refused,
    over_long_text_lines_are_refused,
    too_many_recipients_get_452,
    utf8_addresses_need_smtputf8,
    utf8_domains_are_accepted_with_smtputf8,
    postmaster_without_a_domain_reaches_our_postmaster,
    a_store_failure_is_a_fixed_temporary_reply,
    a_store_failure_before_the_greeting_is_421,
);

/// The mailboxes of every test's site.
const MAILBOXES: &[&str] = &[ANNA, BRUNO];

/// A small message with a subject that finds it again.
fn message(subject: &str) -> String {
    format!(
        "From: <mittente@esterno.example>\r\nTo: <{ANNA}>\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@esterno.example>\r\n\r\nCorpo del messaggio.\r\n"
    )
}

/// Sends `content` with DATA, whatever the reply to DATA itself, and
/// returns the reply to the end of data.
async fn data_unchecked(client: &mut LineClient, content: &[u8]) -> SmtpReply {
    client.command("DATA").await;
    client.send_raw(content).await;
    client.command(".").await
}

/// Asserts `stored` is `sent` with only trace header fields before it.
#[track_caller]
fn assert_delivered(stored: &[u8], sent: &[u8]) {
    assert!(
        stored.ends_with(sent),
        "stored message does not end with the one sent:\n{}",
        String::from_utf8_lossy(stored)
    );
    let prefix = String::from_utf8_lossy(&stored[..stored.len() - sent.len()]).into_owned();
    for line in prefix.split_terminator("\r\n") {
        let trace = ["Return-Path:", "Received:", "Authentication-Results:"]
            .iter()
            .any(|name| line.starts_with(name));
        assert!(
            trace || line.starts_with([' ', '\t']),
            "unexpected line {line:?} before the message:\n{prefix}"
        );
    }
}

async fn ehlo_lists_the_extensions_of_each_listener(config: &TestConfig) {
    let _dns = site(config, &["max_message_size = \"12345\""], MAILBOXES).await;
    let server = Server::start(config).await;
    let listeners = config.listeners;

    for (addr, submission) in [
        (listeners.smtp_mx, false),
        (listeners.smtp_submission, true),
    ] {
        let mut client = LineClient::connect(addr).await;
        let greeting = client.read_reply().await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        assert!(
            greeting.lines[0].starts_with("220 mx.postino.test "),
            "{greeting:?}"
        );
        let ehlo = client.command("EHLO client.example").await;
        assert_eq!(ehlo.code, 250, "{ehlo:?}");
        assert!(ehlo.lines[0].starts_with("250-mx.postino.test"), "{ehlo:?}");
        let keywords: Vec<&str> = ehlo.lines[1..].iter().map(|l| &l[4..]).collect();
        for wanted in [
            "PIPELINING",
            "SIZE 12345",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "DSN",
            "STARTTLS",
        ] {
            assert!(keywords.contains(&wanted), "{wanted} missing: {ehlo:?}");
        }
        // Never AUTH in clear by default, and never on MX.
        assert!(
            !keywords.iter().any(|k| k.starts_with("AUTH")),
            "AUTH offered in clear (submission: {submission}): {ehlo:?}"
        );
        let helo = client.command("HELO client.example").await;
        assert_eq!(helo.lines.len(), 1, "HELO gets one line: {helo:?}");
        assert!(helo.lines[0].starts_with("250 mx.postino.test"), "{helo:?}");
        client.command("QUIT").await.expect(221, "2.0.0");
    }
    drop(server);
}

/// RFC 2034 §3: with ENHANCEDSTATUSCODES, every reply but the greeting, the
/// EHLO/HELO replies and the 3xx intermediate ones carries a status code.
async fn every_reply_has_an_enhanced_status_code(config: &TestConfig) {
    let (_dns, _server, mut client) = started(config, &["max_errors = 100"], MAILBOXES).await;
    let mut replies: Vec<(&str, SmtpReply)> = Vec::new();
    for command in [
        "NOOP",
        "HELP",
        "VRFY anna",
        "EXPN staff",
        "RSET",
        "RCPT TO:<anna@comune.esempio.pu.it>",
        "DATA",
        "FROB",
        "MAIL FROM:broken",
        "MAIL FROM:<mittente@esterno.example> FROB=1",
        "MAIL FROM:<mittente@esterno.example>",
        "MAIL FROM:<mittente@esterno.example>",
        "RCPT TO:<nessuno@comune.esempio.pu.it>",
        "RCPT TO:<qualcuno@altrove.example>",
        "RCPT TO:<anna@comune.esempio.pu.it>",
        "AUTH PLAIN AGFubmEAcGFzc3dvcmQ=",
        "STARTTLS now",
    ] {
        replies.push((command, client.command(command).await));
    }
    client.send("DATA").await;
    let go_ahead = client.read_reply().await;
    assert_eq!(go_ahead.code, 354, "{go_ahead:?}");
    client.send_raw(b"Subject: x\r\n\r\nx\r\n.\r\n").await;
    replies.push(("end of data", client.read_reply().await));
    replies.push(("QUIT", client.command("QUIT").await));
    for (command, reply) in &replies {
        let status = reply.status();
        assert!(
            status.is_some_and(|s| s.as_bytes()[0] == reply.lines[0].as_bytes()[0]),
            "`{command}`: no matching enhanced status code in {reply:?}"
        );
        for line in &reply.lines {
            assert!(
                line.get(4..).and_then(|t| t.split(' ').next()) == status,
                "`{command}`: a line without the status code: {reply:?}"
            );
        }
    }
}

async fn commands_out_of_sequence_get_503(config: &TestConfig) {
    let _dns = site(config, &["max_errors = 100"], MAILBOXES).await;
    let _server = Server::start(config).await;
    let mut client = LineClient::connect(config.listeners.smtp_mx).await;
    client.read_reply().await;
    // Before any greeting.
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(503, "5.5.1");
    client.command("HELO client.example").await;
    client
        .command(&format!("RCPT TO:<{ANNA}>"))
        .await
        .expect(503, "5.5.1");
    let data = client.command("DATA").await;
    assert!(matches!(data.code, 503 | 554), "DATA before MAIL: {data:?}");
    assert_eq!(data.status(), Some("5.5.1"), "{data:?}");
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(250, "2.1.0");
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(503, "5.5.1");
    // DATA with no accepted recipient (RFC 5321 §3.3: 503 or 554).
    let data = client.command("DATA").await;
    assert!(
        matches!(data.code, 503 | 554),
        "DATA without RCPT: {data:?}"
    );
    client
        .command(&format!("RCPT TO:<{ANNA}>"))
        .await
        .expect(250, "2.1.5");
    client.command("RSET").await.expect(250, "2.0.0");
    // RSET ended the transaction.
    client
        .command(&format!("RCPT TO:<{ANNA}>"))
        .await
        .expect(503, "5.5.1");
    // AUTH on MX is not offered at all.
    let auth = client.command("AUTH PLAIN AGFubmEAcGFzcw==").await;
    assert!(auth.code >= 500, "AUTH on MX: {auth:?}");
    client.command("NOOP").await.expect(250, "2.0.0");
}

async fn syntax_errors_get_500_and_501(config: &TestConfig) {
    let _dns = site(config, &["max_errors = 100"], MAILBOXES).await;
    let _server = Server::start(config).await;
    let mut client = LineClient::connect(config.listeners.smtp_mx).await;
    client.read_reply().await;
    client.command("FROB").await.expect(500, "5.5.1");
    client.command("").await;
    let ehlo = client.command("EHLO").await;
    assert_eq!(ehlo.code, 501, "{ehlo:?}");
    assert!(
        ehlo.status().is_some_and(|s| s.starts_with("5.5.")),
        "{ehlo:?}"
    );
    client.command("EHLO client.example").await;
    for bad in [
        "MAIL FROM:mittente@esterno.example",
        "MAIL TO:<mittente@esterno.example>",
        "MAIL FROM:<mittente@>",
        "MAIL FROM:<mittente@esterno.example> SIZE=grande",
        "DATA adesso",
        "RSET tutto",
        "BDAT tanti",
    ] {
        let reply = client.command(bad).await;
        assert_eq!(reply.code, 501, "`{bad}`: {reply:?}");
        assert!(
            reply.status().is_some_and(|s| s.starts_with("5.5.")),
            "`{bad}`: {reply:?}"
        );
    }
    // An unknown parameter: 555 (RFC 5321 §4.1.1.11) or 501.
    let reply = client
        .command("MAIL FROM:<mittente@esterno.example> FROB=1")
        .await;
    assert!(matches!(reply.code, 501 | 555), "{reply:?}");
    assert!(
        reply.status().is_some_and(|s| s.starts_with("5.5.")),
        "{reply:?}"
    );
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(250, "2.1.0");
    for bad in [
        "RCPT TO:<>",
        "RCPT TO:<a b@comune.esempio.pu.it>",
        "RCPT TO:anna",
    ] {
        let reply = client.command(bad).await;
        assert_eq!(reply.code, 501, "`{bad}`: {reply:?}");
    }
    client
        .command(&format!("RCPT TO:<{ANNA}>"))
        .await
        .expect(250, "2.1.5");
}

async fn rset_noop_vrfy_help_and_quit(config: &TestConfig) {
    let (_dns, server, mut client) = started(config, &[], MAILBOXES).await;
    client.command("NOOP").await.expect(250, "2.0.0");
    client.command("NOOP anything").await.expect(250, "2.0.0");
    let help = client.command("HELP").await;
    assert!(matches!(help.code, 211 | 214), "{help:?}");
    // RFC 5321 §3.5.3: 252 when the server will not say.
    let vrfy = client.command(&format!("VRFY {ANNA}")).await;
    assert_eq!(vrfy.code, 252, "{vrfy:?}");
    let vrfy = client.command("VRFY nessuno@comune.esempio.pu.it").await;
    assert_eq!(vrfy.code, 252, "VRFY must not tell users apart: {vrfy:?}");

    envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
    client.command("RSET").await.expect(250, "2.0.0");
    // A new transaction after RSET, delivered to Bruno only.
    envelope(&mut client, "mittente@esterno.example", &[BRUNO]).await;
    let sent = message("dopo-rset");
    data(&mut client, sent.as_bytes())
        .await
        .expect(250, "2.0.0");
    client.command("QUIT").await.expect(221, "2.0.0");
    let after = client
        .closed_within(std::time::Duration::from_secs(5))
        .await;
    assert!(after.is_empty(), "lines after QUIT: {after:?}");

    let store = stopped(server, config).await;
    assert!(
        inbox(&store, ANNA).await.is_empty(),
        "RSET did not drop Anna"
    );
    assert_delivered(&only_message(&store, BRUNO).await, sent.as_bytes());
}

async fn over_long_command_line_is_refused_and_the_session_goes_on(config: &TestConfig) {
    let (_dns, _server, mut client) = started(config, &[], MAILBOXES).await;
    let long = format!("MAIL FROM:<{}@esterno.example>", "a".repeat(5000));
    let reply = client.command(&long).await;
    assert_eq!(reply.code, 500, "{reply:?}");
    assert!(
        reply.status().is_some_and(|s| s.starts_with("5.5.")),
        "{reply:?}"
    );
    // 200 KB with no line end at all, then the end: one refusal, and
    // nothing of it is taken for a command.
    let mut flood = b"NOOP ".to_vec();
    flood.extend(std::iter::repeat_n(b'x', 200_000));
    flood.extend_from_slice(b"\r\nNOOP\r\n");
    client.send_raw(&flood).await;
    assert_eq!(client.read_reply().await.code, 500);
    client.read_reply().await.expect(250, "2.0.0");
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(250, "2.1.0");
}

async fn pipelined_transactions_get_every_reply_in_order(config: &TestConfig) {
    let (_dns, server, mut client) = started(config, &[], MAILBOXES).await;
    let first = message("pipelined-1");
    let second = message("pipelined-2");
    // RFC 2920: the client waits only after DATA.
    client
        .send_raw(
            format!(
                "MAIL FROM:<mittente@esterno.example>\r\nRCPT TO:<{ANNA}>\r\n\
                 RCPT TO:<nessuno@{DOMAIN}>\r\nRCPT TO:<{BRUNO}>\r\nDATA\r\n"
            )
            .as_bytes(),
        )
        .await;
    let envelope = ["250 2.1.0", "250 2.1.5", "550 5.1.1", "250 2.1.5"];
    read_replies(&mut client, &envelope).await;
    assert_eq!(client.read_reply().await.code, 354);
    // The end of data, a whole second transaction and QUIT in one write.
    client
        .send_raw(
            format!(
                "{first}.\r\nMAIL FROM:<mittente@esterno.example>\r\nRCPT TO:<{ANNA}>\r\n\
                 BDAT {} LAST\r\n{second}QUIT\r\n",
                second.len()
            )
            .as_bytes(),
        )
        .await;
    let replies = [
        "250 2.0.0",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.0.0",
        "221 2.0.0",
    ];
    read_replies(&mut client, &replies).await;

    let store = stopped(server, config).await;
    let anna = inbox(&store, ANNA).await;
    assert_eq!(anna.len(), 2);
    assert_delivered(&anna[0], first.as_bytes());
    assert_delivered(&anna[1], second.as_bytes());
    let bruno = inbox(&store, BRUNO).await;
    assert_eq!(bruno.len(), 1);
    assert_eq!(bruno[0], anna[0], "one message, the same bytes for both");
}

/// RFC 3030: BDAT content is taken byte for byte: no dot-stuffing, and a
/// `CRLF . CRLF` inside a chunk ends nothing.
async fn bdat_chunks_are_delivered_byte_for_byte(config: &TestConfig) {
    let (_dns, server, mut client) = started(config, &[], MAILBOXES).await;
    envelope_with(
        &mut client,
        "<mittente@esterno.example> BODY=8BITMIME",
        &[&format!("<{ANNA}>")],
    )
    .await;
    let sent = format!(
        "{}..due punti\r\n.\r\nMAIL FROM:<x@esterno.example>\r\nperché è così\r\n",
        message("bdat")
    );
    let (one, two) = sent.as_bytes().split_at(40);
    let reply = bdat(&mut client, one, false).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    bdat(&mut client, two, true).await.expect(250, "2.0.0");
    // An empty last chunk ends a message too (RFC 3030 §2).
    envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
    let small = message("bdat-0-last");
    assert_eq!(bdat(&mut client, small.as_bytes(), false).await.code, 250);
    bdat(&mut client, b"", true).await.expect(250, "2.0.0");
    // DATA cannot follow BDAT in one transaction (RFC 3030 §2).
    envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
    assert_eq!(bdat(&mut client, b"abc", false).await.code, 250);
    client.command("DATA").await.expect(503, "5.5.1");
    client.command("NOOP").await.expect(250, "2.0.0");

    let store = stopped(server, config).await;
    let anna = inbox(&store, ANNA).await;
    assert_eq!(
        anna.len(),
        2,
        "the BDAT followed by DATA must not be stored"
    );
    assert_delivered(&anna[0], sent.as_bytes());
    assert_delivered(&anna[1], small.as_bytes());
}

/// A BDAT chunk that is refused is still read whole: none of it is ever
/// taken for commands (STYLE.md anti-pattern 2).
async fn refused_bdat_chunks_are_consumed_not_executed(config: &TestConfig) {
    let (_dns, server, mut client) = started(config, &[], MAILBOXES).await;
    let inside = format!("MAIL FROM:<x@esterno.example>\r\nRCPT TO:<{ANNA}>\r\nDATA\r\n");
    bdat(&mut client, inside.as_bytes(), true)
        .await
        .expect(503, "5.5.1");
    client.command("NOOP").await.expect(250, "2.0.0");
    // No valid recipient: refused, and consumed too.
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(250, "2.1.0");
    client
        .command(&format!("RCPT TO:<nessuno@{DOMAIN}>"))
        .await
        .expect(550, "5.1.1");
    let reply = bdat(&mut client, inside.as_bytes(), true).await;
    assert!(reply.code >= 500, "{reply:?}");
    client.command("NOOP").await.expect(250, "2.0.0");

    let store = stopped(server, config).await;
    assert!(inbox(&store, ANNA).await.is_empty());
}

/// RFC 1870: SIZE refuses a message announced too big at MAIL, and one that
/// turns out too big in DATA or over BDAT chunks, and the session goes on.
async fn messages_over_the_size_limit_are_refused(config: &TestConfig) {
    let (_dns, server, mut client) =
        started(config, &["max_message_size = \"20KB\""], MAILBOXES).await;
    client
        .command("MAIL FROM:<mittente@esterno.example> SIZE=20001")
        .await
        .expect(552, "5.3.4");
    envelope_with(
        &mut client,
        "<mittente@esterno.example> SIZE=20000",
        &[&format!("<{ANNA}>")],
    )
    .await;
    // Announced small, sent big: 30 lines of 998 characters.
    let line = format!("{}\r\n", "x".repeat(998));
    let big = format!("{}{}", message("troppo-grande"), line.repeat(30));
    data_unchecked(&mut client, big.as_bytes())
        .await
        .expect(552, "5.3.4");
    client.command("NOOP").await.expect(250, "2.0.0");

    // Over BDAT: each chunk fits, the sum does not.
    envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
    let chunk = line.repeat(12);
    assert_eq!(bdat(&mut client, chunk.as_bytes(), false).await.code, 250);
    bdat(&mut client, chunk.as_bytes(), true)
        .await
        .expect(552, "5.3.4");
    client.command("NOOP").await.expect(250, "2.0.0");

    // Just under the limit passes.
    envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
    let head = message("quasi-troppo");
    let fits = format!("{head}{}", line.repeat((20_000 - head.len()) / line.len()));
    data_unchecked(&mut client, fits.as_bytes())
        .await
        .expect(250, "2.0.0");

    let store = stopped(server, config).await;
    assert_delivered(&only_message(&store, ANNA).await, fits.as_bytes());
}

/// RFC 5321 §4.5.3.1.6: text lines are at most 998 characters.
async fn over_long_text_lines_are_refused(config: &TestConfig) {
    let (_dns, server, mut client) = started(config, &[], MAILBOXES).await;
    for (how, length) in [("DATA", 5000), ("BDAT", 999)] {
        envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
        let content = format!("{}{}\r\n", message("riga-lunga"), "y".repeat(length));
        let reply = if how == "DATA" {
            data_unchecked(&mut client, content.as_bytes()).await
        } else {
            bdat(&mut client, content.as_bytes(), true).await
        };
        assert!(reply.code >= 500, "{how}: line of {length}: {reply:?}");
        client.command("NOOP").await.expect(250, "2.0.0");
    }
    let store = stopped(server, config).await;
    assert!(inbox(&store, ANNA).await.is_empty());
}

async fn too_many_recipients_get_452(config: &TestConfig) {
    let (_dns, server, mut client) = started(config, &["max_recipients = 2"], MAILBOXES).await;
    envelope(&mut client, "mittente@esterno.example", &[ANNA, BRUNO]).await;
    client
        .command(&format!("RCPT TO:<{ANNA}>"))
        .await
        .expect(452, "4.5.3");
    let sent = message("due-destinatari");
    data_unchecked(&mut client, sent.as_bytes())
        .await
        .expect(250, "2.0.0");

    let store = stopped(server, config).await;
    assert_eq!(inbox(&store, ANNA).await.len(), 1);
    assert_eq!(inbox(&store, BRUNO).await.len(), 1);
}

/// RFC 6531 §3.4: a UTF-8 address needs SMTPUTF8 on MAIL.
async fn utf8_addresses_need_smtputf8(config: &TestConfig) {
    let (_dns, server, mut client) = started(config, &[], MAILBOXES).await;
    let reply = client.command("MAIL FROM:<niccolò@esterno.example>").await;
    assert!(reply.code == 553 || reply.code == 550, "{reply:?}");
    assert_eq!(reply.status(), Some("5.6.7"), "{reply:?}");
    envelope_with(
        &mut client,
        "<niccolò@esterno.example> SMTPUTF8",
        &[&format!("<{ANNA}>")],
    )
    .await;
    let sent = "From: Niccolò <niccolò@esterno.example>\r\nSubject: perché\r\n\r\nè così\r\n";
    data_unchecked(&mut client, sent.as_bytes())
        .await
        .expect(250, "2.0.0");

    let store = stopped(server, config).await;
    let anna = only_message(&store, ANNA).await;
    assert_delivered(&anna, sent.as_bytes());
    let text = String::from_utf8_lossy(&anna);
    assert!(
        text.starts_with("Return-Path: <niccolò@esterno.example>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("with UTF8SMTP"),
        "RFC 6531 §3.7.3 protocol: {text}"
    );
}

/// RFC 6531 §3.2: with SMTPUTF8, domains may be in UTF-8 (U-labels) too.
async fn utf8_domains_are_accepted_with_smtputf8(config: &TestConfig) {
    let (_dns, _server, mut client) = started(config, &[], MAILBOXES).await;
    let anna = format!("<{ANNA}>");
    envelope_with(&mut client, "<niccolò@città.example> SMTPUTF8", &[&anna]).await;
}

/// Sends a message with `subject` on MX to `<name>`, a postmaster without a
/// domain, asserting that it is accepted.
async fn send_to_postmaster(config: &TestConfig, name: &str, subject: &str) {
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, "mittente@esterno.example", &[name]).await;
    data(&mut client, message(subject).as_bytes())
        .await
        .expect(250, "2.0.0");
    client.command("QUIT").await.expect(221, "2.0.0");
}

/// The subjects of the messages in a mailbox's INBOX.
async fn subjects(store: &Store, address: &str) -> Vec<String> {
    inbox(store, address)
        .await
        .iter()
        .filter_map(|raw| {
            let text = String::from_utf8_lossy(raw);
            let line = text.lines().find(|l| l.starts_with("Subject: "))?;
            Some(line["Subject: ".len()..].to_string())
        })
        .collect()
}

/// RFC 5321 §4.5.1: `<postmaster>` without a domain, in any case, is
/// accepted on MX from anyone and reaches our own postmaster: at the
/// hostname's nearest hosted parent domain, else at the domain hosted
/// first; or the address `smtp.postmaster` names.
async fn postmaster_without_a_domain_reaches_our_postmaster(config: &TestConfig) {
    let _dns = site(config, &[], MAILBOXES).await;
    let first = format!("postmaster@{DOMAIN}");
    config.cli(&["alias", "add", &first, ANNA], None).await.ok();
    let server = Server::start(config).await;
    // Nothing in mx.postino.test is hosted: the first domain's postmaster.
    send_to_postmaster(config, "Postmaster", "primo").await;
    // Its parent postino.test now is, and it wins.
    config
        .cli(&["domain", "add", "postino.test"], None)
        .await
        .ok();
    add_mailbox(config, "postmaster@postino.test", &[]).await;
    send_to_postmaster(config, "POSTMASTER", "secondo").await;
    let store = stopped(server, config).await;
    assert_eq!(subjects(&store, ANNA).await, ["primo"]);
    assert_eq!(
        subjects(&store, "postmaster@postino.test").await,
        ["secondo"]
    );
    drop(store);

    config.set("smtp", &format!("postmaster = \"{BRUNO}\""));
    let server = Server::start(config).await;
    send_to_postmaster(config, "postmaster", "terzo").await;
    let store = stopped(server, config).await;
    assert_eq!(subjects(&store, BRUNO).await, ["terzo"]);
    assert_eq!(subjects(&store, ANNA).await, ["primo"]);
}

/// Runs `sql` on the store's database, under the running server.
async fn execute(config: &TestConfig, sql: &'static str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&config.database_url())
        .await
        .expect("connect to the store's database");
    sqlx::query(sql).execute(&pool).await.expect(sql);
    pool.close().await;
}

/// A store failing under a session: the client gets a fixed temporary
/// reply with nothing of the database in it, the session goes on, and
/// the log has the failure once, with its causes, in the session's span.
async fn a_store_failure_is_a_fixed_temporary_reply(config: &TestConfig) {
    let (_dns, mut server, mut client) = started(config, &[], MAILBOXES).await;
    client
        .command("MAIL FROM:<mittente@esterno.example>")
        .await
        .expect(250, "2.1.0");
    execute(config, "ALTER TABLE domains RENAME TO domains_away").await;
    let reply = client.command(&format!("RCPT TO:<{ANNA}>")).await;
    assert_eq!(
        reply.lines,
        ["451 4.3.0 Temporary server error, try again later"]
    );
    client.command("NOOP").await.expect(250, "2.0.0");
    execute(config, "ALTER TABLE domains_away RENAME TO domains").await;
    client
        .command(&format!("RCPT TO:<{ANNA}>"))
        .await
        .expect(250, "2.1.5");
    client.command("QUIT").await.expect(221, "2.0.0");

    assert!(server.stop().await.success(), "exit after SIGTERM");
    let log = server.log();
    let failures: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("temporary failure"))
        .collect();
    assert_eq!(failures.len(), 1, "logged once: {log}");
    for part in [
        "session=",
        "failed to look up a recipient's domain: database error: ",
        "domains",
    ] {
        assert!(
            failures[0].contains(part),
            "`{part}` not in {}",
            failures[0]
        );
    }
}

/// A store failing before the greeting: the session cannot start, says so
/// with 421 and the same fixed text (RFC 5321 §3.8), and closes.
async fn a_store_failure_before_the_greeting_is_421(config: &TestConfig) {
    let _dns = site(config, &[], MAILBOXES).await;
    let _server = Server::start(config).await;
    execute(
        config,
        "ALTER TABLE relay_clients RENAME TO relay_clients_away",
    )
    .await;
    let mut client = LineClient::connect(config.listeners.smtp_mx).await;
    let refused = client.read_reply().await;
    assert_eq!(
        refused.lines,
        ["421 4.3.0 Temporary server error, try again later"]
    );
    let after = client
        .closed_within(std::time::Duration::from_secs(5))
        .await;
    assert!(after.is_empty(), "lines after 421: {after:?}");
    execute(
        config,
        "ALTER TABLE relay_clients_away RENAME TO relay_clients",
    )
    .await;
    let mut client = greeted(config.listeners.smtp_mx).await;
    client.command("QUIT").await.expect(221, "2.0.0");
}

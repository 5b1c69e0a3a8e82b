//! Content scanning on the MX with a real clamd and rspamd (see
//! `postino_tests::clamd` and `postino_tests::rspamd`): programs attached
//! refused by their extension, macro documents inside ZIP archives
//! refused, malware refused and never stored, GTUBE refused and never
//! stored, spam filed in Junk with its `X-Spam-*` fields, clean mail in the
//! INBOX, fields forged by the sender dropped; what happens when no
//! scanner answers (as `antispam.on_failure` says), when only the second
//! rspamd does and when only clamd does; and mail too large to scan.
//! Everything runs on SQLite and on PostgreSQL.

use std::io::{Cursor, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_common::store::Store;
use postino_tests::clamd::{self, EICAR, TEST_MALWARE};
use postino_tests::rspamd::{self, GTUBE, JUNK_SUBJECT, STRICT_PROFILE};
use postino_tests::smtp::{
    ANNA, BRUNO, DOMAIN, envelope, folder_messages, greeted, inbox, site, stopped,
};
use postino_tests::{Server, SmtpReply, TestConfig, bind_unused_port, on_both_backends};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

on_both_backends!(
    programs_are_refused_by_default,
    macro_documents_in_archives_are_refused,
    malware_is_refused_and_never_stored,
    malware_is_refused_while_rspamd_is_down,
    gtube_is_refused_and_never_stored,
    spam_is_filed_in_junk_with_the_verdict,
    clean_mail_reaches_the_inbox_and_forged_verdicts_go,
    without_rspamd_mail_waits_or_goes_in_marked,
    the_next_rspamd_answers_when_one_is_down,
    mail_too_large_to_scan_goes_in_marked,
    each_domain_has_its_spam_filter_and_profile,
);

fn message(subject: &str, body: &str) -> String {
    format!(
        "From: Mittente <mittente@esterno.example>\r\nTo: <{ANNA}>\r\n\
         Subject: {subject}\r\nMessage-ID: <{}@esterno.example>\r\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0100\r\n\r\n{body}\r\n",
        subject.len()
    )
}

/// Starts the server with the `[antispam]` settings `antispam` and sends
/// `content` to Anna and Bruno from outside; the reply to the end of data.
async fn send(config: &TestConfig, antispam: &[String], content: &str) -> (Server, SmtpReply) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    for line in antispam {
        config.set("antispam", line);
    }
    config.set("antispam", "timeout = \"30s\"");
    let server = Server::start(config).await;
    let reply = send_again(config, content).await;
    (server, reply)
}

/// Sends `content` to Anna and Bruno from outside, to a running server.
async fn send_again(config: &TestConfig, content: &str) -> SmtpReply {
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, "mittente@esterno.example", &[ANNA, BRUNO]).await;
    assert_eq!(client.command("DATA").await.code, 354);
    client.send_raw(content.as_bytes()).await;
    client.command(".").await
}

/// The settings that scan with the shared rspamd.
fn with_rspamd() -> Vec<String> {
    vec![format!(
        "rspamd_url = [\"http://{}\"]",
        rspamd::shared().normal
    )]
}

/// A message with `attachment` as a base64 file `name`.
fn with_attachment(name: &str, attachment: impl AsRef<[u8]>) -> String {
    let encoded = BASE64.encode(attachment);
    format!(
        "From: <mittente@esterno.example>\r\nTo: <{ANNA}>\r\nSubject: Fattura\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nIn allegato la fattura.\r\n\
         --b\r\nContent-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{encoded}\r\n--b--\r\n"
    )
}

/// A ZIP archive of `names`, each holding a line of text.
fn archive(names: &[&str]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for name in names {
        writer
            .start_file(*name, SimpleFileOptions::default())
            .expect("an entry");
        writer.write_all(b"Sub AutoOpen()\r\n").expect("its data");
    }
    writer.finish().expect("a whole archive").into_inner()
}

/// An address on which nothing listens.
fn closed_port() -> std::net::SocketAddr {
    bind_unused_port().local_addr().expect("a bound address")
}

/// The one message Anna's and Bruno's INBOX each hold, as text, with
/// nothing in their Junk folders.
async fn only_message_of_each(store: &Store) -> Vec<String> {
    let mut texts = Vec::new();
    for address in [ANNA, BRUNO] {
        let messages = inbox(store, address).await;
        assert_eq!(messages.len(), 1, "the INBOX of {address}");
        assert!(folder_messages(store, address, "Junk").await.is_empty());
        texts.push(String::from_utf8_lossy(&messages[0]).into_owned());
    }
    texts
}

/// The header section of `message`, as text.
fn header(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn programs_are_refused_by_default(config: &TestConfig) {
    let (server, reply) = send(config, &[], &with_attachment("Fattura.PDF.exe", "MZ")).await;
    reply.expect(554, "5.7.1");
    assert!(reply.lines[0].contains("Fattura.PDF.exe"), "{reply:?}");
    send_again(config, &with_attachment("fattura.pdf", "%PDF-1.4"))
        .await
        .expect(250, "2.0.0");
    let store = stopped(server, config).await;
    assert_eq!(inbox(&store, ANNA).await.len(), 1);
    store.close().await;

    config.set("antispam", "blocked_attachments = []");
    let _server = Server::start(config).await;
    send_again(config, &with_attachment("setup.exe", "MZ"))
        .await
        .expect(250, "2.0.0");
}

async fn macro_documents_in_archives_are_refused(config: &TestConfig) {
    let zipped = with_attachment("fattura.zip", archive(&["leggimi.txt", "macro.docm"]));
    let (server, reply) = send(config, &[], &zipped).await;
    reply.expect(554, "5.7.1");
    assert!(
        reply.lines[0].contains("fattura.zip/macro.docm"),
        "{reply:?}"
    );
    let harmless = archive(&["delibera.pdf", "determina.docx"]);
    send_again(config, &with_attachment("atti.zip", harmless))
        .await
        .expect(250, "2.0.0");
    let store = stopped(server, config).await;
    for text in only_message_of_each(&store).await {
        assert!(text.contains("atti.zip"), "{text}");
    }
}

async fn malware_is_refused_and_never_stored(config: &TestConfig) {
    let scan = vec![format!("clamd = \"{}\"", clamd::shared().addr)];
    let (server, reply) = send(config, &scan, &with_attachment("verbale.txt", EICAR)).await;
    reply.expect(554, "5.7.1");
    assert!(reply.lines[0].contains("Eicar-Test-Signature"), "{reply:?}");
    let ours = send_again(config, &message("Avviso", TEST_MALWARE)).await;
    ours.expect(554, "5.7.1");
    assert!(ours.lines[0].contains("Postino-Test-Signature"), "{ours:?}");
    send_again(config, &with_attachment("fattura.txt", "Totale: 100 euro"))
        .await
        .expect(250, "2.0.0");
    let store = stopped(server, config).await;
    for text in only_message_of_each(&store).await {
        assert!(text.contains("fattura.txt"), "{text}");
        assert!(!text.contains("X-Spam"), "no rspamd, no verdict:\n{text}");
    }
}

async fn malware_is_refused_while_rspamd_is_down(config: &TestConfig) {
    let scan = vec![
        format!("clamd = \"{}\"", clamd::shared().addr),
        format!("rspamd_url = [\"http://{}\"]", closed_port()),
        "on_failure = \"tempfail\"".to_string(),
    ];
    let (server, reply) = send(config, &scan, &with_attachment("verbale.txt", EICAR)).await;
    reply.expect(554, "5.7.1");
    assert!(reply.lines[0].contains("Eicar-Test-Signature"), "{reply:?}");
    // clamd found nothing, and no rspamd could say it is not spam.
    send_again(config, &message("Protocollo", "In allegato la delibera."))
        .await
        .expect(451, "4.7.1");
    let store = stopped(server, config).await;
    for address in [ANNA, BRUNO] {
        assert!(inbox(&store, address).await.is_empty());
        assert!(folder_messages(&store, address, "Junk").await.is_empty());
    }
}

async fn gtube_is_refused_and_never_stored(config: &TestConfig) {
    let (server, reply) = send(config, &with_rspamd(), &message("Offerta", GTUBE)).await;
    reply.expect(550, "5.7.1");
    assert!(
        reply.lines[0].contains("Gtube pattern"),
        "rspamd's text: {reply:?}"
    );
    let store = stopped(server, config).await;
    for address in [ANNA, BRUNO] {
        assert!(inbox(&store, address).await.is_empty());
        assert!(folder_messages(&store, address, "Junk").await.is_empty());
    }
}

async fn spam_is_filed_in_junk_with_the_verdict(config: &TestConfig) {
    let content = message(&format!("Vinci ora {JUNK_SUBJECT}"), "Clicca qui.");
    let (server, reply) = send(config, &with_rspamd(), &content).await;
    reply.expect(250, "2.0.0");
    let store = stopped(server, config).await;
    for address in [ANNA, BRUNO] {
        assert!(
            inbox(&store, address).await.is_empty(),
            "INBOX of {address}"
        );
        let junk = folder_messages(&store, address, "Junk").await;
        assert_eq!(junk.len(), 1, "Junk of {address}");
        let header = header(&junk[0]);
        assert!(header.starts_with("Return-Path: "), "{header}");
        for field in ["X-Spam: Yes", "X-Spam-Action: add header", "X-Spam-Score: "] {
            assert!(header.contains(field), "no `{field}` in:\n{header}");
        }
        assert!(
            header.contains("POSTINO_TEST_JUNK(8.00)"),
            "the rule is named:\n{header}"
        );
        assert!(String::from_utf8_lossy(&junk[0]).contains("Clicca qui."));
    }
}

async fn clean_mail_reaches_the_inbox_and_forged_verdicts_go(config: &TestConfig) {
    let content = format!(
        "X-Spam: No\r\nX-Spam-Score: -100\r\n{}",
        message("Riunione di giunta", "La riunione e' spostata a giovedi'.")
    );
    let (server, reply) = send(config, &with_rspamd(), &content).await;
    reply.expect(250, "2.0.0");
    let store = stopped(server, config).await;
    for address in [ANNA, BRUNO] {
        let messages = inbox(&store, address).await;
        assert_eq!(messages.len(), 1, "INBOX of {address}");
        let header = header(&messages[0]);
        assert!(header.contains("X-Spam: No\r\n"), "{header}");
        assert!(header.contains("X-Spam-Action: no action"), "{header}");
        assert!(
            !header.contains("-100"),
            "the sender's field stayed:\n{header}"
        );
        assert_eq!(header.matches("X-Spam: ").count(), 1, "{header}");
        assert!(folder_messages(&store, address, "Junk").await.is_empty());
    }
}

async fn without_rspamd_mail_waits_or_goes_in_marked(config: &TestConfig) {
    let closed = closed_port();
    let scan = vec![
        format!("clamd = \"{closed}\""),
        format!("rspamd_url = [\"http://{closed}\"]"),
    ];
    let content = message("Protocollo", "In allegato la delibera.");
    let (server, reply) = send(config, &scan, &content).await;
    reply.expect(451, "4.7.1");
    let store = stopped(server, config).await;
    assert!(inbox(&store, ANNA).await.is_empty());
    store.close().await;

    config.set("antispam", "on_failure = \"accept\"");
    let server = Server::start(config).await;
    send_again(config, &content).await.expect(250, "2.0.0");
    let store = stopped(server, config).await;
    let messages = inbox(&store, ANNA).await;
    assert_eq!(messages.len(), 1);
    let header = header(&messages[0]);
    assert!(
        header.contains("X-Spam-Scanned: no (scanner unavailable)"),
        "{header}"
    );
}

async fn the_next_rspamd_answers_when_one_is_down(config: &TestConfig) {
    let scan = vec![format!(
        "rspamd_url = [\"http://{}\", \"http://{}\"]",
        closed_port(),
        rspamd::shared().normal
    )];
    let (server, reply) = send(config, &scan, &message("Offerta", GTUBE)).await;
    reply.expect(550, "5.7.1");
    send_again(config, &message("Riunione", "Giovedi' alle 10."))
        .await
        .expect(250, "2.0.0");
    let store = stopped(server, config).await;
    let messages = inbox(&store, ANNA).await;
    assert_eq!(messages.len(), 1);
    let header = header(&messages[0]);
    assert!(header.contains("X-Spam-Action: no action"), "{header}");
}

async fn mail_too_large_to_scan_goes_in_marked(config: &TestConfig) {
    let mut scan = with_rspamd();
    scan.push("max_size = \"2KB\"".to_string());
    let (server, reply) = send(config, &scan, &message("Offerta", GTUBE)).await;
    reply.expect(550, "5.7.1");
    let padding = "Testo del bando, articolo per articolo.\r\n".repeat(100);
    let large = message("Bando", &format!("{GTUBE}\r\n{padding}"));
    assert!(large.len() > 4000, "well past max_size");
    send_again(config, &large).await.expect(250, "2.0.0");
    let store = stopped(server, config).await;
    let messages = inbox(&store, ANNA).await;
    assert_eq!(messages.len(), 1, "the large one, unscanned");
    let header = header(&messages[0]);
    assert!(
        header.contains("X-Spam-Scanned: no (too large)"),
        "{header}"
    );
    assert!(!header.contains("X-Spam-Action"), "{header}");
}

async fn each_domain_has_its_spam_filter_and_profile(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    for line in with_rspamd() {
        config.set("antispam", &line);
    }
    let update = |args: &'static [&'static str]| async move {
        let mut all = vec!["domain", "update", DOMAIN];
        all.extend_from_slice(args);
        let out = config.cli(&all, None).await;
        assert!(out.ok().contains("spam filter"), "{out:?}");
    };
    update(&["--spam-filter", "off"]).await;
    let server = Server::start(config).await;
    let spam = message(&format!("Vinci ora {JUNK_SUBJECT}"), "Clicca qui.");
    send_again(config, &spam).await.expect(250, "2.0.0");
    // Without its filter the domain gets even what rspamd refuses.
    send_again(config, &message("Offerta", GTUBE))
        .await
        .expect(250, "2.0.0");
    let store = stopped(server, config).await;
    let messages = inbox(&store, ANNA).await;
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| !header(m).contains("X-Spam")));
    store.close().await;

    // Under the strict profile, whatever comes is spam.
    update(&["--spam-filter", "on", "--spam-profile", STRICT_PROFILE]).await;
    let server = Server::start(config).await;
    send_again(config, &message("Riunione", "Giovedi' alle 10."))
        .await
        .expect(250, "2.0.0");
    let store = stopped(server, config).await;
    let junk = folder_messages(&store, ANNA, "Junk").await;
    assert_eq!(junk.len(), 1);
    assert!(
        header(&junk[0]).contains("X-Spam: Yes"),
        "{}",
        header(&junk[0])
    );
}

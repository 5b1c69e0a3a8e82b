//! Scanning of the mail our own users send, with a real clamd and rspamd:
//! a stolen password must not spread malware or spam. On submission, what
//! rspamd says to reject is refused (`550 5.7.1`) and malware too (`554
//! 5.7.1`); anything short of that goes as written, with no verdict added
//! and no Junk filing, and attachment types are not refused. With
//! `scan_outbound = false` nothing is scanned. On SQLite and PostgreSQL.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use postino_tests::clamd::{self, EICAR};
use postino_tests::rspamd::{self, GTUBE, JUNK_SUBJECT};
use postino_tests::smtp::{ANNA, BRUNO, data, envelope, inbox, logged_in, site, stopped};
use postino_tests::{LineClient, Server, SmtpReply, TestConfig, on_both_backends};

on_both_backends!(mail_our_users_send_is_scanned_too);

fn message(subject: &str, body: &str) -> String {
    format!(
        "From: <{ANNA}>\r\nTo: <{BRUNO}>\r\nSubject: {subject}\r\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0100\r\n\r\n{body}\r\n"
    )
}

fn with_attachment(name: &str, attachment: &str) -> String {
    format!(
        "From: <{ANNA}>\r\nTo: <{BRUNO}>\r\nSubject: Allegato\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nEcco il file.\r\n\
         --b\r\nContent-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n--b--\r\n",
        BASE64.encode(attachment)
    )
}

async fn submit(anna: &mut LineClient, content: &str) -> SmtpReply {
    envelope(anna, ANNA, &[BRUNO]).await;
    data(anna, content.as_bytes()).await
}

async fn mail_our_users_send_is_scanned_too(config: &TestConfig) {
    let _dns = site(config, &["allow_plaintext_auth = true"], &[ANNA, BRUNO]).await;
    config.set("antispam", &format!("clamd = \"{}\"", clamd::shared().addr));
    config.set(
        "antispam",
        &format!("rspamd_url = [\"http://{}\"]", rspamd::shared().normal),
    );
    config.set("antispam", "timeout = \"30s\"");
    let server = Server::start(config).await;
    let mut anna = logged_in(config.listeners.smtp_submission, ANNA).await;

    let spam = submit(&mut anna, &message("Offerta", GTUBE)).await;
    spam.expect(550, "5.7.1");
    assert!(spam.lines[0].contains("Gtube pattern"), "{spam:?}");
    submit(&mut anna, &with_attachment("verbale.txt", EICAR))
        .await
        .expect(554, "5.7.1");
    let junk_subject = format!("Promemoria {JUNK_SUBJECT}");
    submit(&mut anna, &message(&junk_subject, "Ci vediamo alle 10."))
        .await
        .expect(250, "2.0.0");
    submit(&mut anna, &with_attachment("installa.exe", "MZ"))
        .await
        .expect(250, "2.0.0");
    drop(anna);

    let store = stopped(server, config).await;
    let delivered = inbox(&store, BRUNO).await;
    assert_eq!(delivered.len(), 2, "the two that passed, in the INBOX");
    for message in &delivered {
        let text = String::from_utf8_lossy(message);
        assert!(!text.contains("X-Spam"), "no verdict added:\n{text}");
    }
    assert!(String::from_utf8_lossy(&delivered[0]).contains(&junk_subject));
    assert!(String::from_utf8_lossy(&delivered[1]).contains("installa.exe"));
    store.close().await;

    config.set("antispam", "scan_outbound = false");
    let server = Server::start(config).await;
    let mut anna = logged_in(config.listeners.smtp_submission, ANNA).await;
    submit(&mut anna, &message("Offerta", GTUBE))
        .await
        .expect(250, "2.0.0");
    drop(anna);
    let store = stopped(server, config).await;
    assert_eq!(inbox(&store, BRUNO).await.len(), 3);
}

//! Mailbox filters at delivery, end to end through the real binary: a
//! script stored with `postino sieve put --activate` files into folders
//! (made with `:create`), sets flags, discards, refuses in SMTP or by a
//! notice, answers with one vacation reply per sender and period (never to
//! lists, auto-replies or the null sender), and redirects (and aliases
//! forward): outside with the sender rewritten by SRS so that SPF passes at another Postino, whose
//! bounce comes back here and goes on to the original sender, and not once
//! more when the message has looped through us; and the out-of-office an
//! admin sets through the API is the one that answers.

use std::net::Ipv4Addr;
use std::time::Duration;

use postino_common::store::{Flags, Store};
use postino_tests::sink::Sink;
use postino_tests::smtp::{
    ANNA, BRUNO, CARLA, DOMAIN, add_mailbox, authentication_results, data, envelope, envelope_with,
    folder_messages, greeted, inbox, message, send, site, stopped, subjects,
};
use postino_tests::{Backend, LineClient, Server, TestConfig, on_both_backends, within};

on_both_backends!(
    scripts_file_flag_discard_and_leave_others_alone,
    refusals_are_given_in_smtp_or_by_a_notice,
    vacation_replies_once_per_sender_and_never_to_automated_mail,
);

/// How long an answer sent in the background may take to show.
const WAIT: Duration = Duration::from_secs(20);
const OUTSIDE: &str = "amico@esterno.example";

/// Stores `script` as ANNA's active script.
async fn activate(config: &TestConfig, address: &str, script: &str) {
    config
        .cli(
            &["sieve", "put", address, "filtri", "-", "--activate"],
            Some(script),
        )
        .await
        .ok();
}

/// The flags and keywords of each message of a folder, in UID order.
async fn states(store: &Store, address: &str, name: &str) -> Vec<(Flags, Vec<String>)> {
    let folder = postino_tests::smtp::folder_id(store, address, name).await;
    store
        .messages(folder)
        .await
        .expect("list a folder")
        .into_iter()
        .map(|m| (m.flags, m.keywords.iter().map(String::from).collect()))
        .collect()
}

const FILTERS: &str = r#"require ["fileinto", "imap4flags", "mailbox"];
if header :contains "subject" "delibera" {
    fileinto :create :flags ["\\Flagged", "$Label1"] "Delibere/2026";
    stop;
}
if header :contains "subject" "offerta" { discard; stop; }
if header :contains "subject" "smarrita" { fileinto "Non esiste"; stop; }
if mailboxexists "Archivio" { fileinto "Archivio"; }
addflag "\\Seen";
"#;

async fn scripts_file_flag_discard_and_leave_others_alone(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO]).await;
    activate(config, ANNA, FILTERS).await;
    let server = Server::start(config).await;
    let both = [ANNA, BRUNO];
    for subject in ["delibera 12", "offerta speciale", "smarrita", "saluti"] {
        send(
            config,
            OUTSIDE,
            &both,
            &message(OUTSIDE, ANNA, subject, ""),
            250,
        )
        .await;
    }
    let store = stopped(server, config).await;

    let filed = folder_messages(&store, ANNA, "Delibere/2026").await;
    assert_eq!(subjects(&filed), ["delibera 12"]);
    let flags = states(&store, ANNA, "Delibere/2026").await;
    assert_eq!(flags, [(Flags::FLAGGED, vec!["$Label1".to_string()])]);
    // `:create` made the parent too.
    postino_tests::smtp::folder_id(&store, ANNA, "Delibere").await;
    // Discarded, and the missing folder's message is in INBOX; no
    // Archivio, so the last one stays in INBOX, with \Seen.
    assert_eq!(subjects(&inbox(&store, ANNA).await), ["smarrita", "saluti"]);
    let flags = states(&store, ANNA, "INBOX").await;
    assert_eq!(flags, [(Flags::default(), vec![]), (Flags::SEEN, vec![])]);
    // Bruno has no script: every message, unflagged.
    assert_eq!(
        subjects(&inbox(&store, BRUNO).await),
        ["delibera 12", "offerta speciale", "smarrita", "saluti"]
    );
    assert!(
        states(&store, BRUNO, "INBOX")
            .await
            .iter()
            .all(|(flags, keywords)| *flags == Flags::default() && keywords.is_empty())
    );

    // Once Archivio exists, `mailboxexists` sees it.
    let account = store.account(ANNA).await.expect("read Anna");
    let account = account.expect("Anna exists");
    let mut tx = store.begin().await.expect("begin");
    tx.create_folder(account.id, "Archivio", None)
        .await
        .expect("create Archivio");
    tx.commit().await.expect("commit");
    store.close().await;
    let server = Server::start(config).await;
    send(
        config,
        OUTSIDE,
        &[ANNA],
        &message(OUTSIDE, ANNA, "archiviami", ""),
        250,
    )
    .await;
    let store = stopped(server, config).await;
    assert_eq!(
        subjects(&folder_messages(&store, ANNA, "Archivio").await),
        ["archiviami"]
    );
    // `addflag` after `fileinto` does not reach back to it (RFC 5232 §3).
    assert_eq!(
        states(&store, ANNA, "Archivio").await,
        [(Flags::default(), vec![])]
    );
    store.close().await;
}

async fn refusals_are_given_in_smtp_or_by_a_notice(config: &TestConfig) {
    let _dns = site(config, &[], &[ANNA, BRUNO, CARLA]).await;
    activate(
        config,
        ANNA,
        "require \"reject\";\nif header :contains \"subject\" \"pubblicità\" {\n  reject \"Non accetto pubblicità.\";\n}\n",
    )
    .await;
    let server = Server::start(config).await;
    // Anna alone: refused in SMTP, with the script's reason.
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, CARLA, &[ANNA]).await;
    let text = message(CARLA, ANNA, "pubblicità", "");
    let reply = data(&mut client, text.as_bytes()).await;
    reply.expect(550, "5.7.1");
    assert!(
        reply.lines[0].contains("Non accetto pubblicit"),
        "{reply:?}"
    );
    // Anna and Bruno: Bruno gets it, Carla a notice naming Anna.
    send(
        config,
        CARLA,
        &[ANNA, BRUNO],
        &message(CARLA, BRUNO, "pubblicità", ""),
        250,
    )
    .await;
    // Anything else reaches Anna.
    send(
        config,
        CARLA,
        &[ANNA],
        &message(CARLA, ANNA, "riunione", ""),
        250,
    )
    .await;
    let notice = wait_for_inbox(config, CARLA, 1).await;
    let store = stopped(server, config).await;
    assert_eq!(subjects(&inbox(&store, ANNA).await), ["riunione"]);
    assert_eq!(subjects(&inbox(&store, BRUNO).await), ["pubblicità"]);
    let notice = String::from_utf8_lossy(&notice[0]).into_owned();
    assert!(
        notice.contains("Final-Recipient: rfc822;") && notice.contains(ANNA),
        "{notice}"
    );
    assert!(notice.contains("Status: 5.7.1"), "{notice}");
    assert!(notice.contains("Non accetto pubblicit"), "{notice}");
    assert!(!notice.contains(&format!("rfc822; {BRUNO}")), "{notice}");
    store.close().await;
}

/// The messages of a mailbox's INBOX once it holds `count`, read from the
/// running server's store.
async fn wait_for_inbox(config: &TestConfig, address: &str, count: usize) -> Vec<Vec<u8>> {
    let store = config.open_store().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let messages = inbox(&store, address).await;
        if messages.len() >= count {
            store.close().await;
            return messages;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{address} has {} messages, not {count}, after {WAIT:?}",
            messages.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const VACATION: &str = "require [\"vacation\"];\nvacation :days 1 :subject \"Assente fino al 2 gennaio\" \"Sono in ferie. Per urgenze: segreteria.\";\n";

async fn vacation_replies_once_per_sender_and_never_to_automated_mail(config: &TestConfig) {
    let sink = Sink::start(&["250 2.0.0 ok"]).await.expect("start a sink");
    let _dns = site(config, &[], &[ANNA]).await;
    config.set("delivery", "retry = [\"1s\"]");
    config.set(
        "delivery.routes",
        &format!("\"esterno.example\" = \"{}\"", sink.addr()),
    );
    config.cli(&["dkim", "generate", DOMAIN], None).await.ok();
    activate(config, ANNA, VACATION).await;
    let server = Server::start(config).await;
    let plain = message(OUTSIDE, ANNA, "domanda", "");
    send(config, OUTSIDE, &[ANNA], &plain, 250).await;
    let replies = sink.wait_received(1, WAIT).await;
    // A second message within the period, and automated mail: no reply.
    send(
        config,
        OUTSIDE,
        &[ANNA],
        &message(OUTSIDE, ANNA, "ancora", ""),
        250,
    )
    .await;
    let list = message(
        "lista@esterno.example",
        ANNA,
        "notiziario",
        "List-Id: <notizie.esterno.example>\r\n",
    );
    send(config, "lista@esterno.example", &[ANNA], &list, 250).await;
    let auto = message(
        "robot@esterno.example",
        ANNA,
        "avviso",
        "Auto-Submitted: auto-generated\r\n",
    );
    send(config, "robot@esterno.example", &[ANNA], &auto, 250).await;
    let bulk = message(
        "massa@esterno.example",
        ANNA,
        "promo",
        "Precedence: bulk\r\n",
    );
    send(config, "massa@esterno.example", &[ANNA], &bulk, 250).await;
    let mut null = greeted(config.listeners.smtp_mx).await;
    envelope_with(&mut null, "<>", &[&format!("<{ANNA}>")]).await;
    let reply = data(
        &mut null,
        message("mailer-daemon@esterno.example", ANNA, "rinvio", "").as_bytes(),
    )
    .await;
    assert_eq!(reply.code, 250);
    // Not addressed to Anna in To or Cc: a Bcc copy from a list server, say.
    let elsewhere = message(
        "altro@esterno.example",
        "tutti@esterno.example",
        "circolare",
        "",
    );
    send(config, "altro@esterno.example", &[ANNA], &elsewhere, 250).await;
    // Another sender gets one of their own.
    let other = message("collega@esterno.example", ANNA, "domanda", "");
    send(config, "collega@esterno.example", &[ANNA], &other, 250).await;
    let replies_now = sink.wait_received(2, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = sink.received();
    let store = stopped(server, config).await;

    assert_eq!(
        all.len(),
        2,
        "replies: {:?}",
        all.iter().map(|r| &r.recipients).collect::<Vec<_>>()
    );
    assert_eq!(replies[0].recipients, [OUTSIDE]);
    assert_eq!(replies_now[1].recipients, ["collega@esterno.example"]);
    let reply = &replies[0];
    assert_eq!(
        reply.sender, "",
        "a vacation reply comes from the null sender"
    );
    let text = String::from_utf8_lossy(&reply.content).into_owned();
    for expected in [
        "Subject: Assente fino al 2 gennaio",
        "Auto-Submitted: auto-replied",
        "In-Reply-To: <domanda@esterno.example>",
        &format!("From: <{ANNA}>"),
        "Sono in ferie.",
    ] {
        assert!(text.contains(expected), "`{expected}` missing in:\n{text}");
    }
    assert!(
        text.starts_with("DKIM-Signature:") && text.contains(&format!("d={DOMAIN}")),
        "signed for the domain:\n{text}"
    );
    // Anna has every message all the same.
    assert_eq!(inbox(&store, ANNA).await.len(), 8);
    store.close().await;
}

/// The MX of the other Postino of the redirect test.
const OTHER: &str = "altro.example";
const BEA: &str = "bea@altro.example";
/// The original sender, whose SPF allows 127.0.0.2 only.
const SENDER: &str = "mittente@fuori.example";
const HOSTNAME: &str = "mx.postino.test";

#[tokio::test]
async fn a_redirect_passes_spf_at_another_postino_and_its_bounce_comes_back() {
    within(Duration::from_secs(90), async {
        let ours = TestConfig::new(Backend::Sqlite).await;
        let dns = site(&ours, &[], &[ANNA, BRUNO]).await;
        let receiver = TestConfig::new(Backend::Sqlite).await;
        receiver.replace(
            "hostname = \"mx.postino.test\"",
            "hostname = \"mx.altro.example\"",
        );
        receiver.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
        receiver.set("dns", "timeout = \"2s\"");
        receiver.cli(&["domain", "add", OTHER], None).await.ok();
        add_mailbox(&receiver, BEA, &[]).await;
        let sink = Sink::start(&["250 2.0.0 ok"]).await.expect("start a sink");
        ours.set("delivery", &format!("port = {}", receiver.listeners.smtp_mx.port()));
        ours.set("delivery", "retry = [\"1s\"]");
        ours.set("delivery.routes", &format!("\"fuori.example\" = \"{}\"", sink.addr()));
        dns.add_mx(OTHER, 10, "mx.altro.example");
        dns.add_a("mx.altro.example", Ipv4Addr::LOCALHOST);
        dns.add_txt("fuori.example", "v=spf1 ip4:127.0.0.2 -all");
        // The SRS domain is our hostname; its SPF names us.
        dns.add_txt(HOSTNAME, "v=spf1 ip4:127.0.0.1 -all");
        activate(&ours, ANNA, &format!("redirect \"{BEA}\";\n")).await;
        activate(
            &ours,
            BRUNO,
            &format!("require \"copy\";\nredirect :copy \"{BEA}\";\n"),
        )
        .await;

        let receiving = Server::start(&receiver).await;
        let server = Server::start(&ours).await;
        let mut client = LineClient::connect_from(Ipv4Addr::new(127, 0, 0, 2), ours.listeners.smtp_mx).await;
        assert_eq!(client.read_reply().await.code, 220);
        assert_eq!(client.command("EHLO client.fuori.example").await.code, 250);
        envelope(&mut client, SENDER, &[ANNA]).await;
        let reply = data(&mut client, message(SENDER, ANNA, "inoltrami", "").as_bytes()).await;
        assert_eq!(reply.code, 250, "{reply:?}");
        let forwarded = wait_for_inbox(&receiver, BEA, 1).await;
        let text = String::from_utf8_lossy(&forwarded[0]).into_owned();
        let return_path = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("Return-Path: <"))
            .and_then(|l| l.strip_suffix('>'))
            .unwrap_or_else(|| panic!("no Return-Path:\n{text}"))
            .to_string();
        assert!(
            return_path.starts_with("SRS0=") && return_path.ends_with(&format!("=fuori.example=mittente@{HOSTNAME}")),
            "{return_path}"
        );
        let results = authentication_results(&text);
        assert!(results.contains("spf=pass"), "{results}");

        // An alias of ours forwarding to the other server rewrites the
        // sender the same way.
        let alias = format!("inoltro@{DOMAIN}");
        ours.cli(&["alias", "add", &alias, BEA], None).await.ok();
        envelope(&mut client, SENDER, &[&alias]).await;
        let reply = data(&mut client, message(SENDER, &alias, "via alias", "").as_bytes()).await;
        assert_eq!(reply.code, 250, "{reply:?}");
        let aliased = wait_for_inbox(&receiver, BEA, 2).await;
        let text = String::from_utf8_lossy(&aliased[1]).into_owned();
        assert!(text.starts_with("Return-Path: <SRS0="), "{text}");
        let results = authentication_results(&text);
        assert!(results.contains("spf=pass"), "{results}");

        // The other server's bounce to the rewritten sender comes back here
        // and goes on to the original sender.
        let mut bounce = greeted(ours.listeners.smtp_mx).await;
        envelope_with(&mut bounce, "<>", &[&format!("<{return_path}>")]).await;
        let dsn = "From: MAILER-DAEMON@mx.altro.example\r\nTo: <x>\r\nSubject: Undelivered Mail\r\n\r\nbounce\r\n";
        assert_eq!(data(&mut bounce, dsn.as_bytes()).await.code, 250);
        let bounced = sink.wait_received(1, WAIT).await;
        assert_eq!(bounced[0].recipients, [SENDER]);
        assert_eq!(bounced[0].sender, "");
        // A forged or altered address is refused.
        let forged = return_path.replacen("SRS0=", "SRS0=x", 1);
        bounce.command("MAIL FROM:<>").await.expect(250, "2.1.0");
        bounce.command(&format!("RCPT TO:<{forged}>")).await.expect(550, "5.1.1");
        bounce.command(&format!("RCPT TO:<SRS0=abcd=AA=fuori.example=x@{HOSTNAME}>")).await.expect(550, "5.1.1");

        // Bruno's :copy keeps his; and a message that has looped through us
        // already is kept, not redirected again.
        let looped = format!(
            "Received: from a ([127.0.0.1])\r\n\tby {HOSTNAME} (Postino) with ESMTP id 1; x\r\n\
             Received: from b ([127.0.0.1])\r\n\tby {HOSTNAME} (Postino) with ESMTP id 2; x\r\n\
             Received: from c ([127.0.0.1])\r\n\tby {HOSTNAME} (Postino) with ESMTP id 3; x\r\n{}",
            message(OUTSIDE, ANNA, "giro", "")
        );
        send(&ours, OUTSIDE, &[ANNA], &looped, 250).await;
        send(&ours, OUTSIDE, &[BRUNO], &message(OUTSIDE, BRUNO, "copia", ""), 250).await;
        let received = wait_for_inbox(&receiver, BEA, 3).await;
        let store = stopped(server, &ours).await;
        assert_eq!(subjects(&inbox(&store, ANNA).await), ["giro"]);
        assert_eq!(subjects(&inbox(&store, BRUNO).await), ["copia"]);
        store.close().await;
        drop(receiving);
        assert_eq!(subjects(&received), ["inoltrami", "via alias", "copia"]);
    })
    .await;
}

/// The console's out-of-office, set for Anna by her comune's admin through
/// the API, is the script delivery runs: a sender gets the reply the admin
/// wrote, once.
#[tokio::test]
async fn an_out_of_office_set_by_an_admin_is_answered_at_delivery() {
    within(Duration::from_secs(60), async {
        let config = TestConfig::new(Backend::Sqlite).await;
        let sink = Sink::start(&["250 2.0.0 ok"]).await.expect("start a sink");
        let _dns = site(&config, &[], &[ANNA]).await;
        config.set(
            "delivery.routes",
            &format!("\"esterno.example\" = \"{}\"", sink.addr()),
        );
        let add = [
            "admin",
            "add",
            "segreteria",
            "--password-stdin",
            "--domain",
            DOMAIN,
        ];
        config.cli(&add, Some("segreteria-robusta\n")).await.ok();
        let token = config
            .cli(&["admin", "token", "create", "segreteria"], None)
            .await;
        let token = token.ok().trim().to_string();
        let server = Server::start(&config).await;
        // From yesterday (Italian time) for a week: running now.
        let today = chrono::Utc::now().date_naive();
        let start = today - chrono::Days::new(1);
        let end = today + chrono::Days::new(7);
        let settings = serde_json::json!({
            "enabled": true,
            "start": start.to_string(),
            "end": end.to_string(),
            "subject": "Fuori ufficio",
            "message": "Rientro tra una settimana.",
        });
        let response =
            postino_tests::http::Request::put(&format!("/api/v1/mailboxes/{ANNA}/vacation"))
                .bearer(&token)
                .json(&settings)
                .send(config.listeners.admin)
                .await;
        assert_eq!(response.status, 200, "{response:?}");
        send(
            &config,
            OUTSIDE,
            &[ANNA],
            &message(OUTSIDE, ANNA, "pratica", ""),
            250,
        )
        .await;
        send(
            &config,
            OUTSIDE,
            &[ANNA],
            &message(OUTSIDE, ANNA, "sollecito", ""),
            250,
        )
        .await;
        let replies = sink.wait_received(1, WAIT).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(sink.received().len(), 1, "one reply per sender");
        let text = String::from_utf8_lossy(&replies[0].content).into_owned();
        assert!(text.contains("Subject: Fuori ufficio"), "{text}");
        assert!(text.contains("Rientro tra una settimana."), "{text}");
        assert_eq!(replies[0].recipients, [OUTSIDE]);
        drop(server);
    })
    .await;
}

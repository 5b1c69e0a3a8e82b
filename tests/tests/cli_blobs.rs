//! `postino blobs` on the real binary, as an operator moves a running
//! installation's message bodies from files to an S3 bucket (moto on
//! loopback): add the bucket and restart, so that new bodies go there and
//! the old ones stay readable in their files; move the old ones while the
//! server runs; every message reads the same over IMAP (curl) before and
//! after, and `postino blobs verify` finds nothing wrong. A store that does
//! not exist is refused. On both store backends.

use postino_tests::smtp::{ANNA, PASSWORD, add_mailbox, data, envelope, greeted, site};
use postino_tests::{Server, TestConfig, on_both_backends, run_program, s3};

on_both_backends!(bodies_move_from_files_to_s3_while_the_server_runs);

async fn deliver(config: &TestConfig, text: &str) {
    let mut client = greeted(config.listeners.smtp_mx).await;
    envelope(&mut client, "mittente@esterno.example", &[ANNA]).await;
    let message = format!("Subject: {text}\r\n\r\n{text}, corpo del messaggio.\r\n");
    data(&mut client, message.as_bytes())
        .await
        .expect(250, "2.0.0");
    client.command("QUIT").await.expect(221, "2.0.0");
}

/// Anna's INBOX message `uid`, as curl fetches it.
async fn fetch(config: &TestConfig, uid: u32) -> String {
    let user = format!("{ANNA}:{PASSWORD}");
    let url = format!("imap://{}/INBOX;UID={uid}", config.listeners.imap);
    let out = run_program(
        "curl",
        &[
            "--silent",
            "--show-error",
            "--max-time",
            "20",
            "--user",
            &user,
            &url,
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "curl fetch {uid}: {out:#?}");
    out.stdout
}

async fn bodies_move_from_files_to_s3_while_the_server_runs(config: &TestConfig) {
    config.set("blobs", "backend = \"filesystem\"");
    config.set("imap", "allow_plaintext_auth = true");
    let _dns = site(config, &[], &[]).await;
    add_mailbox(config, ANNA, &[]).await;
    let mut server = Server::start(config).await;
    let subjects = ["Primo", "Secondo", "Terzo", "Quarto"];
    for subject in &subjects[..3] {
        deliver(config, subject).await;
    }
    let files = std::fs::read_dir(config.data_dir().join("blobs"))
        .expect("the body directory")
        .count();
    assert!(files > 0, "bodies are in files");
    assert!(server.stop().await.success());

    config.replace("backend = \"filesystem\"", "backend = \"s3\"");
    for (table, line) in s3::shared().config_lines() {
        if table == "blobs.s3" {
            config.set(table, &line);
        }
    }
    let mut server = Server::start(config).await;
    deliver(config, subjects[3]).await;
    for (uid, subject) in (1..).zip(subjects) {
        assert!(fetch(config, uid).await.contains(subject), "message {uid}");
    }

    let refused = config
        .cli(&["blobs", "migrate", "--to", "tape"], None)
        .await;
    assert!(
        refused.refused().contains("`tape` is not a body store"),
        "{refused:#?}"
    );
    let moved = config.cli(&["blobs", "migrate", "--to", "s3"], None).await;
    assert_eq!(
        moved.ok().trim(),
        "moved 3 bodies to s3; 0 left elsewhere",
        "{moved:#?}"
    );
    for (uid, subject) in (1..).zip(subjects) {
        assert!(fetch(config, uid).await.contains(subject), "message {uid}");
    }
    let again = config.cli(&["blobs", "migrate", "--to", "s3"], None).await;
    assert_eq!(again.ok().trim(), "moved 0 bodies to s3; 0 left elsewhere");
    let verified = config.cli(&["blobs", "verify", "--json"], None).await;
    let check = verified.json();
    assert_eq!(check["checked"], 4, "{check:#}");
    assert_eq!(check["problems"], serde_json::json!([]), "{check:#}");
    assert!(server.stop().await.success());
}

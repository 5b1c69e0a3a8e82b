//! Junk and Trash emptied of old messages by the real binary's sweep:
//! with `antispam.junk_retention` a few seconds long, what was appended to
//! Junk and Trash goes (a session on the folder is told EXPUNGE) while the
//! INBOX keeps its own, and a domain that keeps its Junk forever keeps it.
//! On SQLite and PostgreSQL.

use std::time::Duration;

use postino_tests::imap::{ImapClient, append, imap_site, login, message, number_after};
use postino_tests::smtp::{ANNA, add_mailbox};
use postino_tests::{Server, TestConfig, on_both_backends};
use tokio::time::{Instant, sleep};

on_both_backends!(junk_and_trash_are_emptied_after_their_retention);

const ALTRO: &str = "altro.esempio.it";
const DARIO: &str = "dario@altro.esempio.it";
/// Long past the retention and a sweep's interval, on a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

async fn messages(client: &mut ImapClient, folder: &str) -> u64 {
    let status = client.command(&format!("STATUS {folder} (MESSAGES)")).await;
    number_after(status.ok().line("* STATUS"), "MESSAGES ")
}

async fn junk_and_trash_are_emptied_after_their_retention(config: &TestConfig) {
    let _dns = imap_site(config, &[], &[ANNA]).await;
    config.set("antispam", "junk_retention = \"3s\"");
    config.cli(&["domain", "add", ALTRO], None).await.ok();
    add_mailbox(config, DARIO, &[]).await;
    let kept = config
        .cli(
            &["domain", "update", ALTRO, "--junk-retention-days", "0"],
            None,
        )
        .await;
    assert!(kept.ok().contains("kept forever"), "{kept:?}");
    let _server = Server::start(config).await;

    let mut anna = login(config.listeners.imap, ANNA).await;
    for folder in ["INBOX", "Junk", "Trash"] {
        append(
            &mut anna,
            folder,
            "",
            &message(ANNA, folder, "Vecchio messaggio"),
        )
        .await;
    }
    let mut dario = login(config.listeners.imap, DARIO).await;
    append(&mut dario, "Junk", "", &message(DARIO, "Junk", "Da tenere")).await;
    anna.command("SELECT Junk").await.ok();

    let deadline = Instant::now() + WAIT;
    loop {
        let noop = anna.command("NOOP").await;
        if noop.ok().has("* 1 EXPUNGE") {
            break;
        }
        assert!(Instant::now() < deadline, "Junk was not emptied: {noop:#?}");
        sleep(Duration::from_millis(250)).await;
    }
    while messages(&mut anna, "Trash").await > 0 {
        assert!(Instant::now() < deadline, "Trash was not emptied");
        sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        messages(&mut anna, "INBOX").await,
        1,
        "the INBOX keeps its own"
    );
    assert_eq!(messages(&mut dario, "Junk").await, 1, "kept forever");
}

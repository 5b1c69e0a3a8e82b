//! `postino backup`, `backup verify` and `restore` on the real binary: a
//! backup taken while mail keeps arriving restores, into a fresh store,
//! every message acknowledged before it started, byte for byte with its
//! flags, keywords, UIDs and MODSEQs, so that an IMAP client sees the same
//! mailbox; an incremental backup holds only the new bodies; a damaged
//! backup is refused by `verify` and by `restore`, which leaves the store
//! empty. On SQLite (bodies in files) and PostgreSQL (bodies in the
//! database), and across them with bodies in S3.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use postino_common::store::{IMAGE_TABLES, MessageSummary, Store};
use postino_tests::dns::DnsStub;
use postino_tests::imap::{OUTSIDE_SENDER, deliver, imap_site, login, message, number_after};
use postino_tests::smtp::{ANNA, BRUNO, data, envelope, greeted};
use postino_tests::{Backend, Server, TEST_LIMIT, TestConfig, on_both_backends, within};

on_both_backends!(
    a_backup_taken_under_load_restores_every_acknowledged_message,
    an_incremental_backup_holds_only_the_new_bodies,
    a_damaged_backup_is_refused,
);

/// Every folder of a mailbox, by name: the folder's UIDVALIDITY, and each
/// message's summary (UID, flags, keywords, MODSEQ) with its bytes.
type Mailbox = BTreeMap<String, (i64, Vec<(MessageSummary, Vec<u8>)>)>;

async fn mailbox(store: &Store, address: &str) -> Mailbox {
    let account = store
        .account(address)
        .await
        .expect("read the account")
        .expect("the account exists");
    let mut folders = Mailbox::new();
    for folder in store.folders(account.id).await.expect("list folders") {
        let mut messages = Vec::new();
        for summary in store.messages(folder.id).await.expect("list messages") {
            let body = store
                .message_body(folder.id, summary.uid)
                .await
                .expect("read a body")
                .expect("the body exists");
            messages.push((summary, body));
        }
        folders.insert(folder.name, (folder.uidvalidity, messages));
    }
    folders
}

/// Delivers `count` messages to each of `to`, numbered from `first`; the
/// same text to several recipients is one body, stored once.
async fn deliver_many(config: &TestConfig, to: &[&str], first: usize, count: usize) {
    for n in first..first + count {
        let text = message(
            ANNA,
            &format!("Delibera {n}"),
            &"Testo della delibera. ".repeat(n % 50 + 1),
        );
        let mut smtp = greeted(config.listeners.smtp_mx).await;
        envelope(&mut smtp, OUTSIDE_SENDER, to).await;
        let reply = data(&mut smtp, text.as_bytes()).await;
        assert_eq!(reply.code, 250, "{reply:?}");
        smtp.command("QUIT").await;
    }
}

/// Files flags and keywords, copies some messages to a folder with a
/// non-ASCII name and expunges one: the state a restore must keep.
async fn use_the_mailbox(config: &TestConfig) {
    let mut anna = login(config.listeners.imap, ANNA).await;
    anna.command("CREATE \"Protocollo/Entrata &AOg-\"")
        .await
        .ok();
    anna.command("SELECT INBOX").await.ok();
    anna.command("STORE 1:5 +FLAGS (\\Seen $Protocollato)")
        .await
        .ok();
    anna.command("STORE 3 +FLAGS (\\Flagged)").await.ok();
    anna.command("COPY 2:4 \"Protocollo/Entrata &AOg-\"")
        .await
        .ok();
    anna.command("STORE 6 +FLAGS (\\Deleted)").await.ok();
    anna.command("EXPUNGE").await.ok();
    anna.command("LOGOUT").await;
}

/// What IMAP shows of a folder: UIDVALIDITY, and each message's UID,
/// flags and MODSEQ. `\Recent` belongs to the first session that saw a
/// message, not to the mailbox, and is left out.
async fn imap_view(config: &TestConfig, folder: &str) -> (u64, Vec<String>) {
    let mut anna = login(config.listeners.imap, ANNA).await;
    let select = anna
        .command(&format!("SELECT \"{folder}\" (CONDSTORE)"))
        .await;
    let uidvalidity = number_after(select.ok().line("* OK [UIDVALIDITY"), "UIDVALIDITY ");
    let fetch = anna.command("UID FETCH 1:* (FLAGS MODSEQ)").await;
    let mut lines: Vec<String> = fetch
        .ok()
        .lines("* ")
        .into_iter()
        .map(|line| {
            let fetched = line.split_once(" FETCH ").map_or(line, |(_, rest)| rest);
            fetched.replace(" \\Recent", "")
        })
        .collect();
    lines.sort();
    anna.command("LOGOUT").await;
    (uidvalidity, lines)
}

fn backup_dir(config: &TestConfig, name: &str) -> PathBuf {
    config.dir().join("backups").join(name)
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A fresh configuration on `backend`, with the settings of the source
/// and a DNS stub of its own (which answers while it lives), its store
/// filled from `backup`.
async fn restored(backend: Backend, backup: &Path) -> (TestConfig, DnsStub) {
    let target = TestConfig::new(backend).await;
    let dns = DnsStub::start().await.expect("start the DNS stub");
    target.set("dns", &format!("nameservers = [\"{}\"]", dns.addr()));
    target.set("imap", "allow_plaintext_auth = true");
    let output = target.cli(&["restore", path_arg(backup)], None).await;
    let tables = format!("restored {} tables", IMAGE_TABLES.len());
    assert!(output.ok().contains(&tables), "{output:?}");
    (target, dns)
}

async fn a_backup_taken_under_load_restores_every_acknowledged_message(config: &TestConfig) {
    let _dns = imap_site(config, &[], &[ANNA, BRUNO]).await;
    let server = Server::start(config).await;
    deliver_many(config, &[ANNA, BRUNO], 0, 40).await;
    use_the_mailbox(config).await;
    let before_store = config.open_store().await;
    let before = mailbox(&before_store, ANNA).await;
    let before_bruno = mailbox(&before_store, BRUNO).await;
    before_store.close().await;
    let inbox_view = imap_view(config, "INBOX").await;
    let folder_view = imap_view(config, "Protocollo/Entrata &AOg-").await;

    // Mail keeps arriving while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, sent, mx) = (stop.clone(), sent.clone(), config.listeners.smtp_mx);
        tokio::spawn(async move {
            let mut n = 1000;
            while !stop.load(Ordering::Relaxed) {
                let text = message(ANNA, &format!("Durante {n}"), "Arrivato durante il backup.");
                let mut smtp = greeted(mx).await;
                envelope(&mut smtp, OUTSIDE_SENDER, &[ANNA]).await;
                assert_eq!(data(&mut smtp, text.as_bytes()).await.code, 250);
                smtp.command("QUIT").await;
                sent.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        })
    };
    while sent.load(Ordering::Relaxed) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let dest = backup_dir(config, "lunedi");
    let output = config.cli(&["backup", path_arg(&dest)], None).await;
    let tables = format!("backed up {} tables", IMAGE_TABLES.len());
    assert!(output.ok().contains(&tables), "{output:?}");
    stop.store(true, Ordering::Relaxed);
    load.await.expect("the load ran");
    assert!(
        sent.load(Ordering::Relaxed) > 3,
        "no mail arrived during the backup"
    );
    let verified = config
        .cli(&["backup", "verify", path_arg(&dest), "--json"], None)
        .await
        .json();
    assert_eq!(verified["problems"], serde_json::json!([]), "{verified}");
    drop(server);

    let (target, _dns) = restored(config.backend, &dest).await;
    let store = target.open_store().await;
    let after = mailbox(&store, ANNA).await;
    assert_eq!(mailbox(&store, BRUNO).await, before_bruno);
    for (name, (uidvalidity, messages)) in &before {
        let (restored_validity, restored_messages) = &after[name];
        assert_eq!(restored_validity, uidvalidity, "{name}");
        // Mail that arrived during the backup may be there too, whole.
        for message in messages {
            assert!(
                restored_messages.contains(message),
                "{name}: {:?} lost",
                message.0
            );
        }
    }
    assert!(
        store.usage_drift().await.expect("usage").is_empty(),
        "counters agree with the messages"
    );
    assert!(store.queued_recipients().await.expect("queue").is_empty());
    store.close().await;

    // A client that knew the mailbox finds it as it was.
    let _restored_server = Server::start(&target).await;
    let (validity, lines) = imap_view(&target, "INBOX").await;
    assert_eq!(validity, inbox_view.0);
    for line in &inbox_view.1 {
        assert!(lines.contains(line), "{line} not in {lines:?}");
    }
    assert_eq!(
        imap_view(&target, "Protocollo/Entrata &AOg-").await,
        folder_view
    );
    // New mail takes the next UID: every id sequence is past the ids
    // restored.
    let mut anna = login(target.listeners.imap, ANNA).await;
    let status = anna.command("STATUS INBOX (UIDNEXT MESSAGES)").await;
    let uidnext = number_after(status.ok().line("* STATUS"), "UIDNEXT ");
    deliver(
        &target,
        ANNA,
        &message(ANNA, "Dopo il ripristino", "Nuova posta."),
    )
    .await;
    anna.command("SELECT INBOX").await.ok();
    let fetch = anna
        .command(&format!(
            "UID FETCH {uidnext} (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
        ))
        .await;
    let fetched = fetch.ok().untagged.join("\n");
    assert!(fetched.contains("Dopo il ripristino"), "{fetch:?}");
    // Logins, DKIM keys and the audit log came too; the restore is audited.
    let audit = target.cli(&["audit", "--json"], None).await.json();
    let actions: Vec<&str> = audit
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert_eq!(actions.first(), Some(&"store.restore"), "{actions:?}");
    assert!(actions.contains(&"mailbox.add"), "{actions:?}");

    // A store that is not empty is refused, unless told.
    let refused = target.cli(&["restore", path_arg(&dest)], None).await;
    assert!(refused.refused().contains("not empty"), "{refused:?}");
    target
        .cli(&["restore", path_arg(&dest), "--force"], None)
        .await
        .ok();
}

/// Takes a backup into `dest` on `base`, and returns what it printed.
async fn incremental(config: &TestConfig, dest: &Path, base: &Path) -> String {
    let args = ["backup", path_arg(dest), "--base", path_arg(base)];
    config.cli(&args, None).await.ok().to_string()
}

async fn an_incremental_backup_holds_only_the_new_bodies(config: &TestConfig) {
    let _dns = imap_site(config, &[], &[ANNA]).await;
    let server = Server::start(config).await;
    deliver_many(config, &[ANNA], 0, 20).await;
    let full = backup_dir(config, "domenica");
    let output = config.cli(&["backup", path_arg(&full)], None).await;
    assert!(output.ok().contains(" 20 new bodies"), "{output:?}");

    deliver_many(config, &[ANNA], 20, 5).await;
    let monday = backup_dir(config, "lunedi");
    let text = incremental(config, &monday, &full).await;
    assert!(
        text.contains(" 5 new bodies") && text.contains("20 bodies left to the base"),
        "{text}"
    );
    let tuesday = backup_dir(config, "martedi");
    let text = incremental(config, &tuesday, &monday).await;
    assert!(text.contains(" 0 new bodies"), "{text}");
    let verified = config
        .cli(&["backup", "verify", path_arg(&tuesday), "--json"], None)
        .await
        .json();
    assert_eq!(verified["bodies"], 25, "{verified}");
    assert_eq!(verified["problems"], serde_json::json!([]), "{verified}");
    drop(server);

    let source = config.open_store().await;
    let expected = mailbox(&source, ANNA).await;
    source.close().await;
    let (target, _dns) = restored(config.backend, &tuesday).await;
    let store = target.open_store().await;
    assert_eq!(mailbox(&store, ANNA).await, expected);
    store.close().await;

    // A chain missing its base, or with another in its place, is refused.
    std::fs::rename(&full, backup_dir(config, "altrove")).expect("move the base away");
    let refused = config
        .cli(&["backup", "verify", path_arg(&tuesday)], None)
        .await;
    assert!(refused.refused().contains("domenica"), "{refused:?}");
    std::fs::rename(&monday, &full).expect("put another backup in its place");
    std::fs::rename(backup_dir(config, "altrove"), &monday).expect("and the base where it was");
    let refused = config
        .cli(&["backup", "verify", path_arg(&tuesday)], None)
        .await;
    assert!(refused.refused().contains("not the one"), "{refused:?}");
}

async fn a_damaged_backup_is_refused(config: &TestConfig) {
    let _dns = imap_site(config, &[], &[ANNA]).await;
    let server = Server::start(config).await;
    deliver_many(config, &[ANNA], 0, 10).await;
    let dest = backup_dir(config, "danneggiato");
    config.cli(&["backup", path_arg(&dest)], None).await.ok();
    drop(server);
    let target = TestConfig::new(config.backend).await;

    // A body changed by one byte.
    let body = first_file(&dest.join("bodies"));
    let good = std::fs::read(&body).expect("read a body");
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x20;
    std::fs::write(&body, &bad).expect("damage a body");
    let refused = config
        .cli(&["backup", "verify", path_arg(&dest)], None)
        .await;
    assert!(
        refused.stdout.contains("does not match its hash"),
        "{refused:?}"
    );
    assert!(refused.refused().contains("1 problems"), "{refused:?}");
    let refused = target.cli(&["restore", path_arg(&dest)], None).await;
    assert!(
        refused.refused().contains("does not match its hash"),
        "{refused:?}"
    );
    assert_store_empty(&target).await;
    std::fs::write(&body, &good).expect("mend the body");

    // A table file changed.
    let table = dest.join("tables").join("messages.jsonl.gz");
    let good = std::fs::read(&table).expect("read a table");
    let mut bad = good.clone();
    let at = bad.len() - 10;
    bad[at] ^= 0x01;
    std::fs::write(&table, &bad).expect("damage a table");
    let refused = config
        .cli(&["backup", "verify", path_arg(&dest)], None)
        .await;
    assert!(
        refused
            .stdout
            .contains("messages.jsonl.gz does not match its checksum"),
        "{refused:?}"
    );
    let refused = target.cli(&["restore", path_arg(&dest)], None).await;
    assert!(
        refused.refused().contains("does not match its checksum"),
        "{refused:?}"
    );
    assert_store_empty(&target).await;
    std::fs::write(&table, &good).expect("mend the table");

    // A backup that never finished.
    std::fs::rename(dest.join("manifest.json"), dest.join("manifest.old"))
        .expect("hide the manifest");
    let refused = target.cli(&["restore", path_arg(&dest)], None).await;
    assert!(
        refused.refused().contains("not a finished backup"),
        "{refused:?}"
    );
    std::fs::rename(dest.join("manifest.old"), dest.join("manifest.json")).expect("mend it");
    config
        .cli(&["backup", "verify", path_arg(&dest)], None)
        .await
        .ok();
}

fn first_file(dir: &Path) -> PathBuf {
    let sub = std::fs::read_dir(dir)
        .expect("read bodies")
        .next()
        .expect("a directory")
        .expect("entry")
        .path();
    std::fs::read_dir(sub)
        .expect("read a directory")
        .next()
        .expect("a body")
        .expect("entry")
        .path()
}

async fn assert_store_empty(config: &TestConfig) {
    let store = config.open_store().await;
    assert!(
        store.is_empty().await.expect("look"),
        "a refused restore left rows behind"
    );
    store.close().await;
}

/// A backup of a PostgreSQL store whose bodies are in S3 restores into
/// SQLite with bodies in files: the way from one backend to the other.
#[tokio::test]
async fn a_backup_moves_a_store_between_backends_and_body_stores() {
    within(TEST_LIMIT, async {
        let s3 = postino_tests::s3::shared();
        let config = TestConfig::new(Backend::Postgres).await;
        for (table, line) in s3.config_lines() {
            config.set(table, &line);
        }
        let _dns = imap_site(&config, &[], &[ANNA]).await;
        let server = Server::start(&config).await;
        deliver(
            &config,
            ANNA,
            &message(ANNA, "Verso SQLite", "Da S3 ai file."),
        )
        .await;
        deliver_many(&config, &[ANNA], 0, 5).await;
        use_the_mailbox(&config).await;
        let view = imap_view(&config, "INBOX").await;
        drop(server);
        // Her out-of-office script and its memory of whom it answered go along.
        let script = "require \"vacation\";\r\nvacation \"In ferie fino a lunedì.\";\r\n";
        config
            .cli(
                &["sieve", "put", ANNA, "ferie", "-", "--activate"],
                Some(script),
            )
            .await
            .ok();
        let source = config.open_store().await;
        let anna = source.account(ANNA).await.unwrap().expect("anna");
        let (handle, sender, day) = ("ferie", "mario@example.org", 86_400);
        assert!(
            source
                .vacation_due(anna.id, handle, sender, day, 1_000_000)
                .await
                .unwrap()
        );
        source.close().await;
        let dest = backup_dir(&config, "verso-sqlite");
        config.cli(&["backup", path_arg(&dest)], None).await.ok();
        let source = config.open_store().await;
        let expected = mailbox(&source, ANNA).await;
        source.close().await;

        let (target, _dns) = restored(Backend::Sqlite, &dest).await;
        let store = target.open_store().await;
        assert_eq!(mailbox(&store, ANNA).await, expected);
        let anna = store.account(ANNA).await.unwrap().expect("anna");
        let active = store.active_sieve_script(anna.id).await.unwrap();
        assert_eq!(
            active.map(|s| (s.name, s.source)),
            Some(("ferie".into(), script.into()))
        );
        assert!(
            !store
                .vacation_due(anna.id, handle, sender, day, 1_000_100)
                .await
                .unwrap()
        );
        store.close().await;
        let _server = Server::start(&target).await;
        assert_eq!(imap_view(&target, "INBOX").await, view);
    })
    .await;
}

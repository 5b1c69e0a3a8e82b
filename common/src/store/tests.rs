//! Store tests, each run on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::address::{Address, DomainName};
use crate::store_tests;

store_tests!(
    domains_are_created_listed_and_removed,
    new_accounts_get_the_standard_folders,
    the_mailbox_limit_holds,
    one_body_is_stored_for_many_recipients,
    quotas_refuse_what_does_not_fit,
    outbound_mail_is_queued_with_its_local_copies,
    usage_stays_exact_under_concurrent_appends_and_expunges,
    expunges_are_remembered_for_qresync,
    old_expunge_records_give_way_to_the_gaps,
    aliases_and_catch_alls_resolve,
    changes_are_announced_after_commit,
    admins_keep_their_scope,
    audit_entries_are_listed_newest_first,
    failure_counters_count_and_reset,
    known_clients_are_remembered_for_a_while,
    flags_change_with_one_modseq_per_store,
    flags_and_keywords_read_back_as_stored,
    deleted_messages_are_found_through_their_index,
    copies_charge_quota_and_moves_do_not,
    folders_are_renamed_and_deleted,
    subscriptions_are_names_apart_from_folders,
    sieve_scripts_are_stored_by_name_one_active,
    sieve_script_refusals_change_nothing,
    vacation_replies_are_due_once_per_period,
    srs_secrets_rotate_and_are_kept_while_needed,
    admins_are_listed_by_username,
    a_domain_read_for_update_waits_for_its_transaction,
    api_tokens_find_their_admin_until_revoked,
    web_sessions_last_until_they_expire,
    imported_messages_are_remembered_once_each,
    an_image_names_every_table,
    sort_keys_are_stored_at_delivery_and_copied,
    missing_sort_keys_are_computed_once_and_stored,
    append_all_stores_every_message_or_none,
);

async fn add_domain(store: &Store, name: &str, quota_bytes: u64, max_mailboxes: u64) -> Domain {
    let mut tx = store.begin().await.unwrap();
    let domain = tx
        .create_domain(&NewDomain {
            name: name.parse::<DomainName>().unwrap(),
            quota_bytes,
            max_mailboxes,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    domain
}

async fn add_account(store: &Store, address: &str, quota_bytes: u64) -> Result<Account> {
    let mut tx = store.begin().await?;
    let account = tx
        .create_account(&NewAccount {
            address: address.parse::<Address>().unwrap(),
            display_name: String::new(),
            password_hash: None,
            quota_bytes,
        })
        .await?;
    tx.commit().await?;
    Ok(account)
}

async fn inbox(store: &Store, account: &Account) -> Folder {
    store.folder(account.id, "INBOX").await.unwrap().unwrap()
}

fn message(size: usize, folders: &[i64]) -> NewMessage {
    let mut raw = format!("Subject: test {}\r\n\r\n", rand_word()).into_bytes();
    raw.resize(size.max(raw.len()), b'x');
    NewMessage::to_folders(
        raw.into(),
        folders.iter().map(|&f| AppendTarget::new(f)).collect(),
    )
}

/// A word that differs between calls, so bodies differ.
fn rand_word() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(store.pool()).await.unwrap();
    n
}

async fn domains_are_created_listed_and_removed(store: Store) {
    add_domain(&store, "b.example.it", 0, 0).await;
    add_domain(&store, "a.example.it", 1000, 5).await;
    let mut tx = store.begin().await.unwrap();
    let again = tx
        .create_domain(&NewDomain {
            name: "a.example.it".parse().unwrap(),
            quota_bytes: 0,
            max_mailboxes: 0,
        })
        .await;
    assert!(matches!(
        again,
        Err(StoreError::AlreadyExists { what: "domain", .. })
    ));
    drop(tx);
    let names: Vec<String> = store
        .domains()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["a.example.it", "b.example.it"]);

    add_account(&store, "mario@a.example.it", 0).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let refused = tx.remove_domain("a.example.it", false).await;
    assert!(matches!(
        refused,
        Err(StoreError::DomainNotEmpty { count: 1, .. })
    ));
    drop(tx);
    assert!(store.account("mario@a.example.it").await.unwrap().is_some());

    let mut tx = store.begin().await.unwrap();
    tx.remove_domain("a.example.it", true).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.domain("a.example.it").await.unwrap().is_none());
    assert!(store.account("mario@a.example.it").await.unwrap().is_none());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM folders").await, 0);
}

async fn new_accounts_get_the_standard_folders(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let account = add_account(&store, "Anna@Comune.Example.it", 0)
        .await
        .unwrap();
    assert_eq!(account.address, "anna@comune.example.it");
    let folders: Vec<(String, Option<String>)> = store
        .folders(account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.special_use))
        .collect();
    let expected = [
        ("Archive", Some("\\Archive")),
        ("Drafts", Some("\\Drafts")),
        ("INBOX", None),
        ("Junk", Some("\\Junk")),
        ("Sent", Some("\\Sent")),
        ("Trash", Some("\\Trash")),
    ]
    .map(|(n, s)| (n.to_string(), s.map(str::to_string)));
    assert_eq!(folders, expected);
    let junk = store
        .special_folder(account.id, SpecialUse::Junk)
        .await
        .unwrap();
    assert_eq!(junk.map(|f| f.name).as_deref(), Some("Junk"));
    let mut tx = store.begin().await.unwrap();
    tx.delete_folder(account.id, "Archive").await.unwrap();
    tx.commit().await.unwrap();
    let archive = store
        .special_folder(account.id, SpecialUse::Archive)
        .await
        .unwrap();
    assert_eq!(archive, None);
    let again = add_account(&store, "anna@comune.example.it", 0).await;
    assert!(matches!(
        again,
        Err(StoreError::AlreadyExists {
            what: "mailbox",
            ..
        })
    ));
    let orphan = add_account(&store, "anna@elsewhere.example.it", 0).await;
    assert!(matches!(
        orphan,
        Err(StoreError::NotFound { what: "domain", .. })
    ));
}

async fn the_mailbox_limit_holds(store: Store) {
    add_domain(&store, "small.example.it", 0, 2).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(
                async move { add_account(&store, &format!("u{i}@small.example.it"), 0).await },
            )
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::MailboxLimit { max: 2, .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(created, 2);
    assert_eq!(
        store
            .domain("small.example.it")
            .await
            .unwrap()
            .unwrap()
            .mailboxes,
        2
    );
}

async fn one_body_is_stored_for_many_recipients(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let bruno = add_account(&store, "bruno@comune.example.it", 0)
        .await
        .unwrap();
    let (a, b) = (inbox(&store, &anna).await, inbox(&store, &bruno).await);
    let msg = message(2000, &[a.id, b.id]);
    let stored = store.append(msg.clone()).await.unwrap().unwrap();
    assert_eq!(stored.appended.len(), 2);
    assert!(stored.queue_ids.is_empty());
    for (appended, folder) in stored.appended.iter().zip([&a, &b]) {
        assert_eq!((appended.folder_id, appended.uid), (folder.id, 1));
        assert!(appended.modseq > folder.highestmodseq);
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM blobs").await, 1);
    assert_eq!(count(&store, "SELECT refcount FROM blobs").await, 2);
    assert_eq!(
        store.message_body(b.id, 1).await.unwrap().unwrap(),
        &msg.raw[..]
    );
    assert_eq!(
        store
            .account(&anna.address)
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        2000
    );
    assert_eq!(
        store
            .domain("comune.example.it")
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        4000
    );

    // The same bytes delivered again share the body too.
    store
        .append(message_with(&msg, &[a.id]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count(&store, "SELECT refcount FROM blobs").await, 3);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.expunge(a.id, &[1, 2, 99]).await.unwrap(), [1, 2]);
    tx.commit().await.unwrap();
    assert_eq!(count(&store, "SELECT refcount FROM blobs").await, 1);
    let mut tx = store.begin().await.unwrap();
    tx.expunge(b.id, &[1]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM blobs").await, 0);
    assert!(store.usage_drift().await.unwrap().is_empty());
}

fn message_with(original: &NewMessage, folders: &[i64]) -> NewMessage {
    NewMessage::to_folders(
        original.raw.clone(),
        folders.iter().map(|&f| AppendTarget::new(f)).collect(),
    )
}

async fn quotas_refuse_what_does_not_fit(store: Store) {
    add_domain(&store, "comune.example.it", 2500, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 1500)
        .await
        .unwrap();
    let bruno = add_account(&store, "bruno@comune.example.it", 0)
        .await
        .unwrap();
    let (a, b) = (inbox(&store, &anna).await, inbox(&store, &bruno).await);

    assert!(store.append(message(1000, &[a.id])).await.unwrap().is_ok());
    // Over Anna's own quota: the message is refused for Bruno too (all or
    // nothing), and nothing is charged.
    let both = store.append(message(1000, &[b.id, a.id])).await.unwrap();
    assert_eq!(both, Err(Refusal::AccountOverQuota(anna.address.clone())));
    assert_eq!(
        store
            .account(&bruno.address)
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        0
    );
    assert!(store.append(message(1000, &[b.id])).await.unwrap().is_ok());
    // Bruno has no quota of his own, but the domain is full.
    let full = store.append(message(1000, &[b.id])).await.unwrap();
    assert_eq!(
        full,
        Err(Refusal::DomainOverQuota("comune.example.it".into()))
    );
    let nowhere = store.append(message(10, &[i64::MAX])).await.unwrap();
    assert_eq!(nowhere, Err(Refusal::NoSuchFolder(i64::MAX)));

    assert_eq!(
        store
            .account(&anna.address)
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        1000
    );
    assert_eq!(
        store
            .account(&bruno.address)
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        1000
    );
    assert_eq!(
        store
            .domain("comune.example.it")
            .await
            .unwrap()
            .unwrap()
            .used_bytes,
        2000
    );
    assert_eq!(store.messages(a.id).await.unwrap().len(), 1);
    assert_eq!(store.messages(b.id).await.unwrap().len(), 1);
    assert!(store.usage_drift().await.unwrap().is_empty());
}

async fn outbound_mail_is_queued_with_its_local_copies(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let sent = store.folder(anna.id, "Sent").await.unwrap().unwrap();
    let mut msg = message(3000, &[sent.id]);
    msg.outbound = vec![Outbound {
        sender: anna.address.clone(),
        envid: Some("QQ314159".into()),
        ret: Some("HDRS".into()),
        recipients: vec![
            OutboundRecipient {
                address: "x@other.example.org".into(),
                orcpt: Some("rfc822;x@other.example.org".into()),
                notify: Some("FAILURE,DELAY".into()),
            },
            OutboundRecipient {
                address: "y@other.example.org".into(),
                ..Default::default()
            },
        ],
    }];
    let stored = store.append(msg.clone()).await.unwrap().unwrap();
    let queue_id = *stored.queue_ids.first().expect("queued");
    assert_eq!(stored.appended.len(), 1);
    // One body for the Sent copy and the queue entry.
    assert_eq!(count(&store, "SELECT refcount FROM blobs").await, 2);
    assert_eq!(
        store.queued_message(queue_id).await.unwrap().unwrap(),
        &msg.raw[..]
    );
    let queued = store.queued_recipients().await.unwrap();
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].address, "x@other.example.org");
    assert_eq!(queued[0].status, "pending");
    assert_eq!(queued[0].notify.as_deref(), Some("FAILURE,DELAY"));
    assert_eq!(queued[0].envid.as_deref(), Some("QQ314159"));
    assert_eq!(queued[1].orcpt, None);
}

async fn usage_stays_exact_under_concurrent_appends_and_expunges(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let mut folders = Vec::new();
    for i in 0..4 {
        let account = add_account(&store, &format!("u{i}@comune.example.it"), 0)
            .await
            .unwrap();
        folders.push(inbox(&store, &account).await.id);
    }
    let folders = Arc::new(folders);
    let mut tasks = Vec::new();
    for task in 0..16usize {
        let store = store.clone();
        let folders = folders.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..15usize {
                let targets = [folders[(task + round) % 4], folders[(task + round + 1) % 4]];
                let stored = store
                    .append(message(500 + task * 10 + round, &targets))
                    .await
                    .unwrap()
                    .unwrap();
                // Every third round, expunge what this task just appended.
                if round % 3 == 0 {
                    let mut tx = store.begin().await.unwrap();
                    // A transaction that changes several folders locks
                    // them together first, in the one order that keeps
                    // PostgreSQL writers from deadlocking.
                    let folders: Vec<i64> = stored.appended.iter().map(|a| a.folder_id).collect();
                    tx.lock_folders(&folders).await.unwrap();
                    for appended in stored.appended {
                        tx.expunge(appended.folder_id, &[appended.uid])
                            .await
                            .unwrap();
                    }
                    tx.commit().await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.usage_drift().await.unwrap(), []);
    let messages = count(&store, "SELECT COUNT(*) FROM messages").await;
    assert_eq!(messages, 16 * 10 * 2);
    let refs = count(
        &store,
        "SELECT CAST(COALESCE(SUM(refcount), 0) AS BIGINT) FROM blobs",
    )
    .await;
    assert_eq!(refs, messages);
    // UIDs are unique per folder and never reused.
    for &folder in folders.iter() {
        let uids: Vec<i64> = store
            .messages(folder)
            .await
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect();
        let mut sorted = uids.clone();
        sorted.dedup();
        assert_eq!(uids, sorted);
    }
}

async fn expunges_are_remembered_for_qresync(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    for _ in 0..3 {
        store
            .append(message(100, &[folder.id]))
            .await
            .unwrap()
            .unwrap();
    }
    let before = store.folder(anna.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(before.uidnext, 4);
    let mut tx = store.begin().await.unwrap();
    tx.expunge(folder.id, &[2]).await.unwrap();
    tx.commit().await.unwrap();
    let after = store.folder(anna.id, "INBOX").await.unwrap().unwrap();
    assert!(after.highestmodseq > before.highestmodseq);
    assert_eq!(
        store
            .vanished(folder.id, before.highestmodseq, i64::MAX)
            .await
            .unwrap(),
        [2]
    );
    assert_eq!(
        store
            .vanished(folder.id, after.highestmodseq, i64::MAX)
            .await
            .unwrap(),
        Vec::<i64>::new()
    );
    store
        .append(message(100, &[folder.id]))
        .await
        .unwrap()
        .unwrap();
    let uids: Vec<i64> = store
        .messages(folder.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(uids, [1, 3, 4]);
}

async fn old_expunge_records_give_way_to_the_gaps(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    for _ in 0..5 {
        store
            .append(message(100, &[folder.id]))
            .await
            .unwrap()
            .unwrap();
    }
    let expunge = async |uid: i64| {
        let mut tx = store.begin().await.unwrap();
        tx.expunge(folder.id, &[uid]).await.unwrap();
        tx.commit().await.unwrap();
        store
            .folder_by_id(folder.id)
            .await
            .unwrap()
            .unwrap()
            .highestmodseq
    };
    let first = expunge(2).await;
    let second = expunge(4).await;
    // Records younger than the store keeps stay.
    assert_eq!(
        store
            .prune_expunged(now() - EXPUNGED_KEPT_FOR)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.vanished(folder.id, 0, i64::MAX).await.unwrap(),
        [2, 4]
    );
    assert_eq!(store.prune_expunged(now() + 1).await.unwrap(), 2);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM expunged").await, 0);
    // A client that synchronised before the records went learns of every
    // gap; one that synchronised after learns nothing new.
    assert_eq!(
        store.vanished(folder.id, first, i64::MAX).await.unwrap(),
        [2, 4]
    );
    assert_eq!(
        store.vanished(folder.id, second, i64::MAX).await.unwrap(),
        Vec::<i64>::new()
    );
    let third = expunge(5).await;
    assert_eq!(store.vanished(folder.id, second, third).await.unwrap(), [5]);
    assert_eq!(
        store.vanished(folder.id, 0, i64::MAX).await.unwrap(),
        [2, 4, 5]
    );
}

async fn aliases_and_catch_alls_resolve(store: Store) {
    let domain = add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let bruno = add_account(&store, "bruno@comune.example.it", 0)
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let targets = [
        "anna@comune.example.it",
        "bruno@comune.example.it",
        "esterno@other.example.org",
    ]
    .map(String::from);
    tx.add_alias(domain.id, "ufficio@comune.example.it", &targets)
        .await
        .unwrap();
    tx.add_alias(
        domain.id,
        "tutti@comune.example.it",
        &["ufficio@comune.example.it".into()],
    )
    .await
    .unwrap();
    tx.add_alias(
        domain.id,
        "@comune.example.it",
        &["bruno@comune.example.it".into()],
    )
    .await
    .unwrap();
    let clash = tx
        .add_alias(domain.id, "anna@comune.example.it", &["x@y.it".into()])
        .await;
    assert!(matches!(
        clash,
        Err(StoreError::AlreadyExists {
            what: "mailbox",
            ..
        })
    ));
    tx.commit().await.unwrap();

    let local = |account: &Account| Recipient::Local {
        account_id: account.id,
        address: account.address.clone(),
    };
    let mut resolved = store.resolve("tutti@comune.example.it").await.unwrap();
    resolved.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(
        resolved,
        [
            local(&anna),
            local(&bruno),
            Recipient::Remote("esterno@other.example.org".into())
        ]
    );
    assert_eq!(
        store.resolve("anna@comune.example.it").await.unwrap(),
        [local(&anna)]
    );
    assert_eq!(
        store.resolve("chiunque@comune.example.it").await.unwrap(),
        [local(&bruno)]
    );
    assert_eq!(store.resolve("x@other.example.org").await.unwrap(), []);

    let mut tx = store.begin().await.unwrap();
    tx.remove_alias("@comune.example.it", &[]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.resolve("chiunque@comune.example.it").await.unwrap(),
        []
    );
    assert_eq!(
        store
            .aliases(Some("comune.example.it"))
            .await
            .unwrap()
            .len(),
        4
    );
}

async fn changes_are_announced_after_commit(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    let mut changes = store.watch(anna.id);
    let mut others = store.watch(anna.id + 1);
    let appended = store
        .append(message(100, &[folder.id]))
        .await
        .unwrap()
        .unwrap()
        .appended[0];
    // On PostgreSQL the creation of the account's folders may be heard
    // after the watch began: it is not what this test waits for.
    let change = loop {
        let change = tokio::time::timeout(Duration::from_secs(5), changes.changed())
            .await
            .expect("no change announced")
            .unwrap();
        if change.kind != ChangeKind::Folders {
            break change;
        }
    };
    assert_eq!(
        change,
        Change {
            account_id: anna.id,
            folder_id: folder.id,
            kind: ChangeKind::Appended,
            modseq: appended.modseq,
        }
    );
    // A rolled-back transaction announces nothing.
    let mut tx = store.begin().await.unwrap();
    tx.expunge(folder.id, &[appended.uid]).await.unwrap();
    drop(tx);
    let silence = tokio::time::timeout(Duration::from_millis(500), changes.changed()).await;
    assert!(
        silence.is_err(),
        "a rolled-back change was announced: {silence:?}"
    );
    assert!(
        store
            .message_uids(folder.id)
            .await
            .unwrap()
            .contains(&appended.uid),
        "a rolled-back expunge removed the message"
    );
    // Another account's watcher heard nothing.
    let silence = tokio::time::timeout(Duration::from_millis(10), others.changed()).await;
    assert!(silence.is_err(), "another account was woken: {silence:?}");
}

async fn admins_keep_their_scope(store: Store) {
    add_domain(&store, "a.example.it", 0, 0).await;
    add_domain(&store, "b.example.it", 0, 0).await;
    let mut tx = store.begin().await.unwrap();
    tx.create_admin("provincia", "hash1", &AdminScope::AllDomains)
        .await
        .unwrap();
    tx.create_admin(
        "comune-a",
        "hash2",
        &AdminScope::Domains(vec!["a.example.it".into()]),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let dup = tx
        .create_admin("provincia", "x", &AdminScope::AllDomains)
        .await;
    assert!(matches!(
        dup,
        Err(StoreError::AlreadyExists { what: "admin", .. })
    ));
    drop(tx);
    let comune = store.admin("comune-a").await.unwrap().unwrap();
    assert_eq!(
        comune.scope,
        AdminScope::Domains(vec!["a.example.it".into()])
    );
    assert!(comune.scope.covers("a.example.it") && !comune.scope.covers("b.example.it"));
    assert_eq!(comune.password_hash, "hash2");
    assert!(
        store
            .admin("provincia")
            .await
            .unwrap()
            .unwrap()
            .scope
            .covers("b.example.it")
    );
    assert!(store.admin("nobody").await.unwrap().is_none());
}

async fn audit_entries_are_listed_newest_first(store: Store) {
    for (i, domain) in ["a.example.it", "b.example.it", "a.example.it"]
        .iter()
        .enumerate()
    {
        let mut tx = store.begin().await.unwrap();
        tx.audit(&AuditEntry {
            actor: "cli:root".into(),
            origin: "cli".into(),
            action: "mailbox.add".into(),
            domains: vec![domain.to_string()],
            target: format!("u{i}@{domain}"),
            before: None,
            after: Some(serde_json::json!({ "quota_bytes": i })),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let all = store.audit_log(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        ["u2@a.example.it", "u1@b.example.it", "u0@a.example.it"]
    );
    let a = store.audit_log(Some("a.example.it"), 10).await.unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].after.as_deref(), Some(r#"{"quota_bytes":2}"#));

    // An entry about two domains is listed under either, but within a
    // scope only if both are in it.
    let mut tx = store.begin().await.unwrap();
    tx.audit(&AuditEntry {
        actor: "cli:root".into(),
        origin: "cli".into(),
        action: "relay.add".into(),
        domains: vec!["a.example.it".into(), "b.example.it".into()],
        target: "suap".into(),
        before: None,
        after: None,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let b = store.audit_log(Some("b.example.it"), 10).await.unwrap();
    let targets = |records: &[AuditRecord]| -> Vec<String> {
        records.iter().map(|r| r.target.clone()).collect()
    };
    assert_eq!(targets(&b), ["suap", "u1@b.example.it"]);
    assert_eq!(b[0].domain.as_deref(), Some("a.example.it"));
    let within = |domains: &[&str]| AuditQuery {
        within: Some(domains.iter().map(|d| d.to_string()).collect()),
        limit: 10,
        ..AuditQuery::default()
    };
    let only_a = store
        .audit_search(&within(&["a.example.it"]))
        .await
        .unwrap();
    assert_eq!(targets(&only_a), ["u2@a.example.it", "u0@a.example.it"]);
    let both = within(&["a.example.it", "b.example.it"]);
    assert_eq!(store.audit_search(&both).await.unwrap().len(), 4);
}

async fn failure_counters_count_and_reset(store: Store) {
    assert_eq!(store.failures("ip:192.0.2.1", 0).await.unwrap(), None);
    store
        .record_failure("ip:192.0.2.1", 1000, 900)
        .await
        .unwrap();
    let second = store
        .record_failure("ip:192.0.2.1", 1010, 910)
        .await
        .unwrap();
    assert_eq!(
        (second.failures, second.first_at, second.last_at),
        (2, 1000, 1010)
    );
    // A failure long after the last one starts a new count.
    let later = store
        .record_failure("ip:192.0.2.1", 5000, 4000)
        .await
        .unwrap();
    assert_eq!((later.failures, later.first_at), (1, 5000));
    assert!(
        store
            .failures("ip:192.0.2.1", 5001)
            .await
            .unwrap()
            .is_none()
    );
}

async fn known_clients_are_remembered_for_a_while(store: Store) {
    let (key, client) = ("account:anna@a.example.it", "192.0.2.1");
    assert_eq!(store.known_client(key, client, 0).await.unwrap(), None);
    store.remember_client(key, client, 1000, 0).await.unwrap();
    store.remember_client(key, client, 2000, 0).await.unwrap();
    assert_eq!(
        store.known_client(key, client, 1500).await.unwrap(),
        Some(2000)
    );
    assert_eq!(store.known_client(key, "192.0.2.2", 0).await.unwrap(), None);
    // Remembering another client forgets the ones not seen lately.
    store
        .remember_client(key, "192.0.2.2", 9000, 5000)
        .await
        .unwrap();
    assert_eq!(store.known_client(key, client, 0).await.unwrap(), None);
}

async fn flags_change_with_one_modseq_per_store(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    for _ in 0..3 {
        store
            .append(message(50, &[folder.id]))
            .await
            .unwrap()
            .unwrap();
    }
    let seen = FlagChange {
        op: FlagOp::Add,
        flags: Flags::SEEN,
        keywords: ["$Work"].into_iter().collect(),
    };
    let stored = store
        .store_flags(folder.id, &[1, 2, 9], &seen, None)
        .await
        .unwrap();
    let modseqs: Vec<i64> = stored.messages.iter().map(|m| m.modseq).collect();
    assert_eq!(stored.messages.len(), 2);
    assert_eq!(modseqs[0], modseqs[1]);
    assert!(
        stored
            .messages
            .iter()
            .all(|m| m.flags == Flags::SEEN && m.keywords.iter().eq(["$Work"]))
    );
    let after = store.folder_by_id(folder.id).await.unwrap().unwrap();
    assert_eq!(after.highestmodseq, modseqs[0]);
    // UNCHANGEDSINCE below message 1's MODSEQ leaves it alone.
    let stored = store
        .store_flags(folder.id, &[1, 3], &seen, Some(modseqs[0] - 1))
        .await
        .unwrap();
    assert_eq!(stored.modified, [1]);
    assert_eq!(stored.messages.len(), 1);
    assert_eq!(stored.messages[0].uid, 3);
    let changed = store
        .messages_changed_since(folder.id, modseqs[0])
        .await
        .unwrap();
    assert_eq!(changed.iter().map(|m| m.uid).collect::<Vec<_>>(), [3]);
}

async fn flags_and_keywords_read_back_as_stored(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    let marks = [
        (Flags::ALL, "$Label1 Work"),
        (Flags::DELETED | Flags::DRAFT, "$Junk"),
        (Flags::SEEN, ""),
    ];
    for (flags, keywords) in marks {
        let mut new = message(50, &[folder.id]);
        new.targets[0].flags = flags;
        new.targets[0].keywords = keywords.split_whitespace().collect();
        store.append(new).await.unwrap().unwrap();
    }
    let listed = store.messages(folder.id).await.unwrap();
    let details = store
        .message_details(folder.id, &[1, 2, 3], Columns::Flags)
        .await
        .unwrap();
    assert_eq!((listed.len(), details.len()), (3, 3));
    for ((summary, detail), (flags, keywords)) in listed.iter().zip(&details).zip(marks) {
        assert_eq!(summary.flags, flags);
        assert_eq!(detail.flags, flags);
        assert!(summary.keywords.iter().eq(keywords.split_whitespace()));
        assert_eq!(detail.keywords, summary.keywords);
    }
    let after = store.folder_by_id(folder.id).await.unwrap().unwrap();
    assert!(after.keywords.iter().eq(["$Label1", "Work", "$Junk"]));
    assert_eq!((after.unseen, after.deleted), (1, 2));
    // EXPUNGE finds the messages marked \Deleted in SQL (on SQLite
    // called directly, after the appends written through sqlx).
    let removed = store.expunge_deleted(folder.id, None).await.unwrap();
    assert_eq!(removed, [1, 2]);
    assert_eq!(store.first_unseen(folder.id).await.unwrap(), None);
    assert!(store.usage_drift().await.unwrap().is_empty());
}

async fn deleted_messages_are_found_through_their_index(store: Store) {
    use sqlx::Row;

    let explain = match store.backend() {
        Backend::Sqlite => "EXPLAIN QUERY PLAN",
        Backend::Postgres => "EXPLAIN",
    };
    let sql = format!(
        "{explain} DELETE FROM messages WHERE folder_id = 1 AND {} RETURNING uid",
        messages::IS_DELETED
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(store.pool())
        .await
        .unwrap();
    let plan: Vec<String> = rows
        .iter()
        .map(|row| row.try_get(row.len() - 1).unwrap())
        .collect();
    assert!(
        plan.iter().any(|line| line.contains("messages_deleted")),
        "{plan:?}"
    );
}

async fn copies_charge_quota_and_moves_do_not(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 1000)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    let archive = store.folder(anna.id, "Archive").await.unwrap().unwrap();
    for _ in 0..2 {
        store
            .append(message(300, &[folder.id]))
            .await
            .unwrap()
            .unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    let copied = tx
        .copy_messages(folder.id, &[1, 2], archive.id)
        .await
        .unwrap();
    assert!(
        matches!(copied, Err(Refusal::AccountOverQuota(_))),
        "{copied:?}"
    );
    let copied = tx
        .copy_messages(folder.id, &[2, 7], archive.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copied, [(2, 1)]);
    tx.commit().await.unwrap();
    assert_eq!(store.usage(anna.id).await.unwrap().unwrap().used_bytes, 900);
    let mut tx = store.begin().await.unwrap();
    let moved = tx
        .move_messages(folder.id, &[1, 2], archive.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(moved, [(1, 2), (2, 3)]);
    assert!(store.message_uids(folder.id).await.unwrap().is_empty());
    assert_eq!(store.message_uids(archive.id).await.unwrap(), [1, 2, 3]);
    assert_eq!(
        store.vanished(folder.id, 0, i64::MAX).await.unwrap(),
        [1, 2]
    );
    let usage = store.usage(anna.id).await.unwrap().unwrap();
    assert_eq!((usage.used_bytes, usage.messages), (900, 3));
    let bodies = store.message_bodies(archive.id, &[1, 3, 8]).await.unwrap();
    assert_eq!(
        bodies.iter().map(|(uid, _)| *uid).collect::<Vec<_>>(),
        [1, 3]
    );
    assert_eq!(bodies[0].1, bodies[1].1, "a copy and a move of message 2");
    assert!(store.usage_drift().await.unwrap().is_empty());
}

async fn folders_are_renamed_and_deleted(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    store
        .append(message(100, &[folder.id]))
        .await
        .unwrap()
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let work = tx.create_folder(anna.id, "Work", None).await.unwrap();
    tx.create_folder(anna.id, "Work/2026", None).await.unwrap();
    assert!(work.uidvalidity > folder.uidvalidity);
    tx.rename_folder(anna.id, "Work", "Lavoro").await.unwrap();
    assert!(matches!(
        tx.rename_folder(anna.id, "Lavoro", "Sent").await,
        Err(StoreError::AlreadyExists { .. })
    ));
    tx.rename_folder(anna.id, "INBOX", "Old").await.unwrap();
    // A folder with folders below goes alone.
    tx.delete_folder(anna.id, "Lavoro").await.unwrap();
    tx.commit().await.unwrap();
    let names: Vec<String> = store
        .folders(anna.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert!(!names.contains(&"Lavoro".into()), "{names:?}");
    assert!(names.contains(&"Lavoro/2026".into()), "{names:?}");
    assert!(names.contains(&"Old".into()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("Work")), "{names:?}");
    let old = store.folder(anna.id, "Old").await.unwrap().unwrap();
    assert_eq!(store.message_uids(old.id).await.unwrap(), [1]);
    assert!(store.message_uids(folder.id).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    tx.delete_folder(anna.id, "Old").await.unwrap();
    assert!(tx.delete_folder(anna.id, "INBOX").await.is_err());
    tx.commit().await.unwrap();
    assert_eq!(store.usage(anna.id).await.unwrap().unwrap().used_bytes, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM blobs").await, 0);
}

async fn subscriptions_are_names_apart_from_folders(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    // A new account subscribes to its standard folders.
    let standard = ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"];
    assert_eq!(store.subscriptions(anna.id).await.unwrap(), standard);
    let mut tx = store.begin().await.unwrap();
    // A name may be subscribed before its folder exists, twice over.
    tx.set_subscribed(anna.id, "Work/2026", true).await.unwrap();
    tx.set_subscribed(anna.id, "Work/2026", true).await.unwrap();
    tx.create_folder(anna.id, "Work", None).await.unwrap();
    tx.create_folder(anna.id, "Work/2026", None).await.unwrap();
    tx.set_subscribed(anna.id, "Work", true).await.unwrap();
    // Renaming carries the subscriptions below along; deleting keeps them.
    tx.rename_folder(anna.id, "Work", "Lavoro").await.unwrap();
    tx.delete_folder(anna.id, "Lavoro/2026").await.unwrap();
    tx.set_subscribed(anna.id, "Junk", false).await.unwrap();
    tx.set_subscribed(anna.id, "Junk", false).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.subscriptions(anna.id).await.unwrap(),
        [
            "Archive",
            "Drafts",
            "INBOX",
            "Lavoro",
            "Lavoro/2026",
            "Sent",
            "Trash"
        ]
    );
}

/// Bytes enough for any test's scripts.
const SIEVE_SPACE: u64 = 1 << 20;

async fn sieve_scripts_are_stored_by_name_one_active(store: Store) {
    let domain = add_domain(&store, "comune.example.it", 1 << 30, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 1 << 20)
        .await
        .unwrap();
    assert!(store.sieve_scripts(anna.id).await.unwrap().is_empty());
    assert_eq!(store.active_sieve_script(anna.id).await.unwrap(), None);
    // Delivery's one look-up: the INBOX, no script yet, and both quotas.
    let point = store.delivery_point(anna.id).await.unwrap().unwrap();
    let inbox = store.folder(anna.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(
        (
            point.inbox,
            point.script,
            point.quota_bytes,
            point.used_bytes
        ),
        (inbox.id, None, 1 << 20, 0)
    );
    assert_eq!(
        (point.domain_id, point.domain_quota_bytes),
        (domain.id, 1 << 30)
    );
    let ferie = "require \"vacation\";\r\nvacation \"In ferie: è così\";\r\n";
    let mut tx = store.begin().await.unwrap();
    let put = tx
        .put_sieve_script(anna.id, "ferie", ferie, SIEVE_SPACE)
        .await
        .unwrap();
    assert_eq!((put.name.as_str(), put.active), ("ferie", false));
    assert_eq!(put.size, ferie.len() as i64);
    tx.put_sieve_script(anna.id, "filtri", "keep;", SIEVE_SPACE)
        .await
        .unwrap();
    tx.activate_sieve_script(anna.id, Some("ferie"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Sizes are bytes, not characters; sources come back byte for byte.
    let listed = store.sieve_scripts(anna.id).await.unwrap();
    let summary: Vec<_> = listed
        .iter()
        .map(|s| (s.name.as_str(), s.active, s.size))
        .collect();
    assert_eq!(
        summary,
        [("ferie", true, ferie.len() as i64), ("filtri", false, 5)]
    );
    assert_eq!(
        store
            .sieve_script(anna.id, "ferie")
            .await
            .unwrap()
            .as_deref(),
        Some(ferie)
    );
    assert_eq!(store.sieve_script(anna.id, "altro").await.unwrap(), None);
    let active = store.active_sieve_script(anna.id).await.unwrap().unwrap();
    assert_eq!(
        (active.name.as_str(), active.source.as_str()),
        ("ferie", ferie)
    );

    // Replacing keeps the script active; activating another deactivates it.
    let mut tx = store.begin().await.unwrap();
    let replaced = tx
        .put_sieve_script(anna.id, "ferie", "discard;", SIEVE_SPACE)
        .await
        .unwrap();
    assert!(replaced.active);
    tx.activate_sieve_script(anna.id, Some("filtri"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let active = store.active_sieve_script(anna.id).await.unwrap().unwrap();
    assert_eq!(active.name, "filtri");
    let actives = |scripts: Vec<SieveScript>| -> Vec<String> {
        scripts
            .into_iter()
            .filter(|s| s.active)
            .map(|s| s.name)
            .collect()
    };
    assert_eq!(
        actives(store.sieve_scripts(anna.id).await.unwrap()),
        ["filtri"]
    );

    // Renaming the active script keeps it active; deleting an inactive one works.
    let mut tx = store.begin().await.unwrap();
    tx.rename_sieve_script(anna.id, "filtri", "Regole di posta")
        .await
        .unwrap();
    tx.delete_sieve_script(anna.id, "ferie").await.unwrap();
    tx.commit().await.unwrap();
    let listed = store.sieve_scripts(anna.id).await.unwrap();
    assert_eq!(actives(listed.clone()), ["Regole di posta"]);
    assert_eq!(listed.len(), 1);

    // Activating none leaves none active; then the script may go.
    let mut tx = store.begin().await.unwrap();
    tx.activate_sieve_script(anna.id, None).await.unwrap();
    tx.delete_sieve_script(anna.id, "Regole di posta")
        .await
        .unwrap();
    tx.put_sieve_script(anna.id, "ultimo", "keep;", SIEVE_SPACE)
        .await
        .unwrap();
    tx.activate_sieve_script(anna.id, Some("ultimo"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        store
            .vacation_due(anna.id, "h", "x@y.it", 60, 1000)
            .await
            .unwrap()
    );

    // The account's scripts and vacation memory go with it.
    let mut tx = store.begin().await.unwrap();
    tx.remove_account("anna@comune.example.it").await.unwrap();
    tx.commit().await.unwrap();
    for table in ["sieve_scripts", "vacation_replies"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows, 0, "{table}");
    }
}

async fn sieve_script_refusals_change_nothing(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.put_sieve_script(anna.id, "a", "keep;", 20)
        .await
        .unwrap();
    tx.put_sieve_script(anna.id, "b", "discard;", 20)
        .await
        .unwrap();
    tx.activate_sieve_script(anna.id, Some("a")).await.unwrap();
    tx.commit().await.unwrap();

    let too_long = "x".repeat(129);
    for bad in ["", "a/b", "a\tb", "line\u{2028}sep", too_long.as_str()] {
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .put_sieve_script(anna.id, bad, "keep;", 20)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::BadScriptName { .. }),
            "{bad:?}: {err}"
        );
        let err = tx.rename_sieve_script(anna.id, "b", bad).await.unwrap_err();
        assert!(
            matches!(err, StoreError::BadScriptName { .. }),
            "{bad:?}: {err}"
        );
    }
    let name = "é".repeat(64);
    let mut tx = store.begin().await.unwrap();
    tx.put_sieve_script(anna.id, &name, "", 20).await.unwrap();
    tx.delete_sieve_script(anna.id, &name).await.unwrap();
    drop(tx);

    // 5 + 8 bytes are stored; 20 is the limit.
    let mut tx = store.begin().await.unwrap();
    let err = tx
        .put_sieve_script(anna.id, "c", "discard;", 20)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::ScriptSpace {
                needed: 21,
                limit: 20
            }
        ),
        "{err}"
    );
    // Replacing counts the new source instead of the old.
    tx.put_sieve_script(anna.id, "b", "discard; stop;", 20)
        .await
        .unwrap();
    drop(tx);
    assert!(store.has_sieve_space(anna.id, "b", 15, 20).await.unwrap());
    assert!(!store.has_sieve_space(anna.id, "b", 16, 20).await.unwrap());
    assert!(!store.has_sieve_space(anna.id, "c", 8, 20).await.unwrap());

    let mut tx = store.begin().await.unwrap();
    let err = tx.delete_sieve_script(anna.id, "a").await.unwrap_err();
    assert!(
        matches!(err, StoreError::ScriptActive(ref n) if n == "a"),
        "{err}"
    );
    let err = tx.delete_sieve_script(anna.id, "z").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let err = tx
        .activate_sieve_script(anna.id, Some("z"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let err = tx.rename_sieve_script(anna.id, "z", "y").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let err = tx.rename_sieve_script(anna.id, "a", "b").await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    drop(tx);

    let listed: Vec<_> = store
        .sieve_scripts(anna.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.active, s.size))
        .collect();
    assert_eq!(
        listed,
        [("a".to_string(), true, 5), ("b".to_string(), false, 8)]
    );
}

async fn srs_secrets_rotate_and_are_kept_while_needed(store: Store) {
    let (day, rotate, keep) = (86_400, 30 * 86_400, 52 * 86_400);
    let t = 1_800_000_000;
    let first = store.srs_secrets(t, rotate, keep).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].len(), 32);
    // Read again, by this node or another: the same secret.
    assert_eq!(
        store.srs_secrets(t + day, rotate, keep).await.unwrap(),
        first
    );
    // Once the newest is old, a new one signs and the old one still checks.
    let rotated = store.srs_secrets(t + rotate, rotate, keep).await.unwrap();
    assert_eq!(rotated.len(), 2);
    assert_ne!(rotated[0], first[0]);
    assert_eq!(rotated[1], first[0]);
    // Past `keep`, the old one is forgotten; the newest is always kept.
    let later = store
        .srs_secrets(t + keep + day, rotate, keep)
        .await
        .unwrap();
    assert_eq!(later, rotated[..1]);
    let much_later = store
        .srs_secrets(t + 10 * keep, rotate, keep)
        .await
        .unwrap();
    assert_eq!(much_later.len(), 1, "a new one made, the old newest gone");
    assert_ne!(much_later[0], rotated[0]);
}

async fn vacation_replies_are_due_once_per_period(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let day = 86_400;
    let due = |handle: &'static str, sender: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .vacation_due(anna.id, handle, sender, day, now)
                .await
                .unwrap()
        }
    };
    let t = 1_800_000_000;
    assert!(due("ferie", "mario@example.org", t).await);
    assert!(!due("ferie", "Mario@Example.org", t + 10).await);
    assert!(!due("ferie", "mario@example.org", t + day - 1).await);
    // Another sender, or another handle, is counted apart.
    assert!(due("ferie", "luca@example.org", t + 10).await);
    assert!(due("malattia", "mario@example.org", t + 10).await);
    // A period after the reply, one is due again, and counts from then.
    assert!(due("ferie", "mario@example.org", t + day).await);
    assert!(!due("ferie", "mario@example.org", t + day + 100).await);

    // Of many asking at once, one is told yes.
    let asks: Vec<_> = (0..8)
        .map(|_| tokio::spawn(due("ferie", "mario@example.org", t + 3 * day)))
        .collect();
    let mut yes = 0;
    for ask in asks {
        yes += usize::from(ask.await.unwrap());
    }
    assert_eq!(yes, 1);

    // Pruning forgets replies before a time, so they are due again.
    assert_eq!(store.prune_vacation_replies(t + 2 * day).await.unwrap(), 2);
    assert!(due("ferie", "luca@example.org", t + 3 * day).await);
    assert!(!due("ferie", "mario@example.org", t + 3 * day).await);
}

async fn admins_are_listed_by_username(store: Store) {
    assert!(store.admins().await.unwrap().is_empty());
    add_domain(&store, "a.example.it", 0, 0).await;
    let mut tx = store.begin().await.unwrap();
    tx.create_admin("zeta", "hash1", &AdminScope::AllDomains)
        .await
        .unwrap();
    tx.create_admin(
        "alfa",
        "hash2",
        &AdminScope::Domains(vec!["a.example.it".into()]),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let admins = store.admins().await.unwrap();
    let listed: Vec<(&str, &AdminScope)> = admins
        .iter()
        .map(|a| (a.username.as_str(), &a.scope))
        .collect();
    assert_eq!(
        listed,
        [
            ("alfa", &AdminScope::Domains(vec!["a.example.it".into()])),
            ("zeta", &AdminScope::AllDomains)
        ]
    );
    assert_eq!(admins[0], store.admin("alfa").await.unwrap().unwrap());
}

async fn a_domain_read_for_update_waits_for_its_transaction(store: Store) {
    add_domain(&store, "a.example.it", 1000, 0).await;
    let mut tx = store.begin().await.unwrap();
    let missing = tx.domain_for_update("b.example.it").await;
    assert!(matches!(
        missing,
        Err(StoreError::NotFound { what: "domain", .. })
    ));
    let locked = tx.domain_for_update("a.example.it").await.unwrap();
    assert_eq!(locked.quota_bytes, 1000);
    // A second writer of the same domain waits: on PostgreSQL for the row
    // lock, on SQLite for its turn to write.
    let other = store.clone();
    let mut second = tokio::spawn(async move {
        let mut tx = other.begin().await?;
        let domain = tx.domain_for_update("a.example.it").await?;
        tx.set_domain_limits(&domain.name, 3000, 0).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(domain.quota_bytes)
    });
    let waited = tokio::time::timeout(Duration::from_millis(300), &mut second).await;
    assert!(waited.is_err(), "the second writer did not wait");
    tx.set_domain_limits("a.example.it", 2000, 0).await.unwrap();
    tx.commit().await.unwrap();
    // It saw the first writer's change once it got the lock.
    assert_eq!(second.await.unwrap().unwrap(), 2000);
    let domain = store.domain("a.example.it").await.unwrap().unwrap();
    assert_eq!(domain.quota_bytes, 3000);
}

async fn api_tokens_find_their_admin_until_revoked(store: Store) {
    add_domain(&store, "a.example.it", 0, 0).await;
    let mut tx = store.begin().await.unwrap();
    tx.create_admin(
        "comune-a",
        "hash",
        &AdminScope::Domains(vec!["a.example.it".into()]),
    )
    .await
    .unwrap();
    let token = tx
        .create_api_token("comune-a", "registry", "digest-1")
        .await
        .unwrap();
    let unknown = tx.create_api_token("nobody", "x", "digest-2").await;
    assert!(matches!(
        unknown,
        Err(StoreError::NotFound { what: "admin", .. })
    ));
    tx.commit().await.unwrap();
    assert_eq!(
        (token.admin.as_str(), token.name.as_str()),
        ("comune-a", "registry")
    );
    assert_eq!(token.last_used_at, None);

    let admin = store
        .admin_by_token("digest-1", "192.0.2.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.username, "comune-a");
    assert_eq!(
        admin.scope,
        AdminScope::Domains(vec!["a.example.it".into()])
    );
    assert!(
        store
            .admin_by_token("digest-9", "192.0.2.1")
            .await
            .unwrap()
            .is_none()
    );
    let listed = store.api_tokens(Some("comune-a")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "a use is noted");

    let mut tx = store.begin().await.unwrap();
    let revoked = tx.revoke_api_token(token.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(
        store
            .admin_by_token("digest-1", "192.0.2.1")
            .await
            .unwrap()
            .is_none()
    );
}

async fn web_sessions_last_until_they_expire(store: Store) {
    add_domain(&store, "a.example.it", 0, 0).await;
    let account = add_account(&store, "mario@a.example.it", 0).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.create_web_session("live", SessionOwner::Account(account.id), "csrf-1", 3600)
        .await
        .unwrap();
    tx.create_web_session("stale", SessionOwner::Account(account.id), "csrf-2", -1)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let live = store.web_session("live").await.unwrap().unwrap();
    assert_eq!(live.owner, SessionOwner::Account(account.id));
    assert_eq!(live.csrf, "csrf-1");
    assert!(store.web_session("stale").await.unwrap().is_none());
    assert!(store.web_session("other").await.unwrap().is_none());

    // Opening a session clears the expired ones out.
    let mut tx = store.begin().await.unwrap();
    tx.create_web_session("next", SessionOwner::Account(account.id), "csrf-3", 3600)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM web_sessions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.0, 2);

    store.delete_web_session("live").await.unwrap();
    assert!(store.web_session("live").await.unwrap().is_none());

    // A new password ends the sessions opened with the old one.
    assert!(store.web_session("next").await.unwrap().is_some());
    let mut tx = store.begin().await.unwrap();
    tx.set_password("mario@a.example.it", "nuovo-hash")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(store.web_session("next").await.unwrap().is_none());
}

store_tests!(sending_is_counted_within_its_windows);

async fn sending_is_counted_within_its_windows(store: Store) {
    let domain = add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let bob = add_account(&store, "bob@comune.example.it", 0)
        .await
        .unwrap();
    let counts = |s: Sending| (s.messages, s.recipients);
    let sending = store.sending(anna.id).await.unwrap().unwrap();
    assert_eq!(counts(sending), (0, 0));
    assert_eq!(sending.account_messages_per_hour, None);

    let bob_inbox = inbox(&store, &bob).await;
    for recipients in [
        vec!["bob@comune.example.it", "x@altro.example"],
        vec!["Bob@Comune.Example.IT"],
    ] {
        let mut sent = message(100, &[bob_inbox.id]);
        sent.sent_by = Some(SentBy {
            account_id: anna.id,
            recipients: recipients.into_iter().map(String::from).collect(),
        });
        store.append(sent).await.unwrap().unwrap();
    }
    let sending = store.sending(anna.id).await.unwrap().unwrap();
    assert_eq!(counts(sending), (2, 2), "one recipient, written twice");
    assert!(
        store
            .has_sent_to(anna.id, "BOB@comune.example.it")
            .await
            .unwrap()
    );
    assert!(
        !store
            .has_sent_to(anna.id, "carla@altro.example")
            .await
            .unwrap()
    );
    assert_eq!(
        counts(store.sending(bob.id).await.unwrap().unwrap()),
        (0, 0)
    );

    // What fell out of the windows counts no more.
    let long_ago = now() - RECIPIENT_WINDOW - 1;
    sqlx::query("UPDATE sent_messages SET sent_at = $1")
        .bind(now() - MESSAGE_WINDOW - 1)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE sent_recipients SET sent_at = $1 WHERE recipient = $2")
        .bind(long_ago)
        .bind("x@altro.example")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        counts(store.sending(anna.id).await.unwrap().unwrap()),
        (0, 1)
    );
    assert!(!store.has_sent_to(anna.id, "x@altro.example").await.unwrap());

    let mut tx = store.begin().await.unwrap();
    tx.set_sending_limits(LimitsOf::Account(anna.id), Some(5), None)
        .await
        .unwrap();
    tx.set_sending_limits(LimitsOf::Domain(domain.id), Some(50), Some(7))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let sending = store.sending(anna.id).await.unwrap().unwrap();
    assert_eq!(
        (
            sending.account_messages_per_hour,
            sending.account_recipients_per_day,
            sending.domain_messages_per_hour,
            sending.domain_recipients_per_day
        ),
        (Some(5), None, Some(50), Some(7))
    );

    store
        .record_limit_hit(anna.id, "messages_per_hour")
        .await
        .unwrap();
    store
        .record_limit_hit(anna.id, "messages_per_hour")
        .await
        .unwrap();
    let hits = store.limit_hits(0, None).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(
        (
            hits[0].address.as_str(),
            hits[0].limit_name.as_str(),
            hits[0].refused
        ),
        ("anna@comune.example.it", "messages_per_hour", 2)
    );
    assert_eq!(
        store
            .limit_hits(0, Some("comune.example.it"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .limit_hits(0, Some("altro.example"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.limit_hits(now() + 1, None).await.unwrap().is_empty());
}

store_tests!(old_junk_expires_and_leases_are_held_once);

async fn old_junk_expires_and_leases_are_held_once(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let junk = store.folder(anna.id, "Junk").await.unwrap().unwrap();
    for _ in 0..3 {
        store
            .append(message(100, &[junk.id]))
            .await
            .unwrap()
            .unwrap();
    }
    // Saved long ago, whatever the INTERNALDATE says.
    sqlx::query("UPDATE messages SET saved_at = $1 WHERE folder_id = $2 AND uid <= 2")
        .bind(now() - 1000)
        .bind(junk.id)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.expire(junk.id, now() - 500).await.unwrap(), 2);
    assert_eq!(store.message_uids(junk.id).await.unwrap(), [3]);
    let usage = store.usage(anna.id).await.unwrap().unwrap();
    assert_eq!(usage.used_bytes, 100, "the space is given back");
    assert_eq!(store.expire(junk.id, now() - 500).await.unwrap(), 0);

    let soon = now() + 60;
    assert!(store.take_lease("sweep", "one", soon).await.unwrap());
    assert!(!store.take_lease("sweep", "two", soon).await.unwrap());
    assert!(
        store.take_lease("sweep", "one", soon).await.unwrap(),
        "renewed"
    );
    assert!(store.take_lease("other", "two", soon).await.unwrap());
    assert!(store.take_lease("sweep", "one", now()).await.unwrap());
    assert!(
        store.take_lease("sweep", "two", soon).await.unwrap(),
        "ran out"
    );
}

store_tests!(the_junk_sweep_lists_only_folders_with_old_messages);

/// Regression (issue 15): the sweep asked every Junk and Trash folder of
/// the installation in turn, an hourly query per mailbox.
async fn the_junk_sweep_lists_only_folders_with_old_messages(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    add_account(&store, "bruno@comune.example.it", 0)
        .await
        .unwrap();
    let junk = store.folder(anna.id, "Junk").await.unwrap().unwrap();
    for _ in 0..3 {
        store
            .append(message(100, &[junk.id]))
            .await
            .unwrap()
            .unwrap();
    }
    let listed = |configured: i64| {
        let store = store.clone();
        async move {
            let folders = store.expiring_folders(configured, now()).await.unwrap();
            folders.iter().map(|f| f.folder_id).collect::<Vec<i64>>()
        }
    };
    assert!(listed(500).await.is_empty(), "nothing is old yet");

    // Saved long ago.
    sqlx::query("UPDATE messages SET saved_at = $1 WHERE folder_id = $2 AND uid <= 2")
        .bind(now() - 1000)
        .bind(junk.id)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(listed(500).await, [junk.id]);
    assert!(listed(2000).await.is_empty(), "kept 2000 s");
    assert!(listed(0).await.is_empty(), "kept forever");
    let folders = store.expiring_folders(500, now()).await.unwrap();
    assert_eq!(folders[0].retention_days, None);
    assert_eq!(folders[0].keep(500), 500);
    // The domain's own retention comes first: a day, then forever.
    for (days, expected) in [(Some(1), Vec::<i64>::new()), (Some(0), Vec::new())] {
        let mut tx = store.begin().await.unwrap();
        tx.set_junk_retention(anna.domain_id, days).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(listed(500).await, expected, "retention {days:?} days");
    }
    let mut tx = store.begin().await.unwrap();
    tx.set_junk_retention(anna.domain_id, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.expire(junk.id, now() - 500).await.unwrap(), 2);
    assert!(listed(500).await.is_empty(), "expired");
}

store_tests!(a_domain_policy_and_usage_agree_with_the_domain);

async fn a_domain_policy_and_usage_agree_with_the_domain(store: Store) {
    assert_eq!(store.domain_policy("none.example.it").await.unwrap(), None);
    let domain = add_domain(&store, "comune.example.it", 50_000, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let bruno = add_account(&store, "bruno@comune.example.it", 0)
        .await
        .unwrap();
    let folders = [
        inbox(&store, &anna).await.id,
        inbox(&store, &bruno).await.id,
    ];
    store
        .append(message(1000, &folders))
        .await
        .unwrap()
        .unwrap();
    store
        .append(message(300, &folders[..1]))
        .await
        .unwrap()
        .unwrap();

    let policy = store
        .domain_policy("comune.example.it")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(policy.id, domain.id);
    assert!(policy.active);
    assert!(policy.spam_filter);
    assert_eq!((policy.quota_bytes, policy.spam_profile), (50_000, None));
    let summed = store.domain("comune.example.it").await.unwrap().unwrap();
    let used = store.domain_used_bytes(domain.id).await.unwrap();
    assert_eq!(used, summed.used_bytes);
    assert!(
        used >= 2300,
        "two copies of 1000 bytes and one of 300: {used}"
    );
}

/// Closing a PostgreSQL store closes every connection it opened, the
/// change listener's as well as the pool's.
#[tokio::test]
async fn closing_a_postgres_store_leaves_no_connection() {
    use sqlx::Connection;
    let (url, name) = testing::create_postgres_database().await;
    let store = Store::open(
        Location::Postgres(&url),
        4,
        crate::blobs::BlobStore::database(),
    )
    .await
    .unwrap();
    let mut admin = sqlx::postgres::PgConnection::connect(&testing::postgres_url())
        .await
        .unwrap();
    let mut connections = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap()
    };
    assert!(connections().await >= 2, "the pool's and the listener's");
    store.close().await;
    // A backend leaves pg_stat_activity shortly after its client hangs up.
    let mut left = connections().await;
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = connections().await;
    }
    assert_eq!(left, 0, "connections left open after close");
    testing::drop_postgres_database(&name).await;
}

/// A message copied from another server is recorded with its origin in the
/// commit that stores it, and a second message with the same origin in the
/// same folder is refused whole, so a migration can never store one twice.
async fn imported_messages_are_remembered_once_each(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let folder = inbox(&store, &anna).await;
    let from = |uid: i64| {
        let mut message = message(100, &[folder.id]);
        message.targets[0].origin = Some(Origin {
            folder: "Posta inviata".to_string(),
            uidvalidity: 77,
            uid,
        });
        message
    };
    for uid in [3, 9] {
        assert!(store.append(from(uid)).await.unwrap().is_ok());
    }
    assert!(store.append(from(9)).await.is_err());
    let uids = store
        .imported_uids(folder.id, "Posta inviata", 77)
        .await
        .unwrap();
    assert_eq!(uids, [3, 9].into_iter().collect());
    assert!(
        store
            .imported_uids(folder.id, "Posta inviata", 78)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .imported_validities(folder.id, "Posta inviata")
            .await
            .unwrap(),
        [77]
    );
    // The refused copy left nothing behind: two messages, two charged.
    assert_eq!(count(&store, "SELECT COUNT(*) FROM messages").await, 2);
    let used = store
        .account(&anna.address)
        .await
        .unwrap()
        .unwrap()
        .used_bytes;
    assert_eq!(used, 2 * 100);
}

/// Every table of the schema is in a store's image or named as left out:
/// a table a new migration adds cannot be forgotten by backups.
async fn an_image_names_every_table(store: Store) {
    let sql = match store.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'"
        }
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(store.pool()).await.unwrap();
    let mut tables: Vec<String> = rows.into_iter().map(|(name,)| name).collect();
    tables.sort();
    let mut named: Vec<String> = IMAGE_TABLES
        .iter()
        .chain(NOT_IMAGED)
        .map(|t| t.to_string())
        .collect();
    named.sort();
    assert_eq!(tables, named);
    assert!(store.is_empty().await.unwrap());
}

fn raw_message(headers: &str) -> NewMessage {
    let raw = format!("{headers}\r\n\r\nbody {}\r\n", rand_word());
    NewMessage::to_folders(raw.into_bytes().into(), Vec::new())
}

async fn sort_keys_are_stored_at_delivery_and_copied(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let inbox = inbox(&store, &anna).await;
    let archive = store.folder(anna.id, "Archive").await.unwrap().unwrap();
    let mut m = raw_message(
        "From: Bruno <bruno@example.org>\r\nSubject: Re: Bilancio\r\n\
         Message-ID: <b@x>\r\nReferences: <a@x>\r\nDate: Mon, 2 Jan 2023 10:00:00 +0100",
    );
    m.targets = vec![AppendTarget::new(inbox.id)];
    let uid = store.append(m).await.unwrap().unwrap().appended[0].uid;
    let rows = store.sort_rows(inbox.id, &[uid]).await.unwrap();
    assert_eq!(rows.len(), 1);
    let keys = &rows[0].keys;
    assert_eq!(keys.base_subject, "BILANCIO");
    assert!(keys.reply_or_forward);
    assert_eq!(keys.from, "BRUNO");
    assert_eq!(keys.display_from, "BRUNO");
    assert_eq!(keys.message_id.as_deref(), Some("b@x"));
    assert_eq!(keys.references, ["a@x"]);
    assert_eq!(rows[0].sent_at, Some(1_672_650_000));
    let mut tx = store.begin().await.unwrap();
    let map = tx
        .copy_messages(inbox.id, &[uid], archive.id)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let copied = store.sort_rows(archive.id, &[map[0].1]).await.unwrap();
    assert_eq!(copied[0].keys, rows[0].keys);
    // UIDs not asked for, or not there, are left out.
    assert!(
        store
            .sort_rows(inbox.id, &[uid + 1])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.sort_rows(inbox.id, &[]).await.unwrap().is_empty());
}

async fn missing_sort_keys_are_computed_once_and_stored(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 0)
        .await
        .unwrap();
    let inbox = inbox(&store, &anna).await;
    let mut uids = Vec::new();
    for n in 0..70 {
        let mut m = raw_message(&format!(
            "From: user{n}@example.org\r\nSubject: Fwd: item {n}\r\nMessage-ID: <{n}@x>"
        ));
        m.targets = vec![AppendTarget::new(inbox.id)];
        uids.push(store.append(m).await.unwrap().unwrap().appended[0].uid);
    }
    let delivered = store.sort_rows(inbox.id, &uids).await.unwrap();
    // As a message stored before migration 0025 has them: no keys.
    sqlx::query("UPDATE messages SET sort_keys = NULL")
        .execute(store.pool())
        .await
        .unwrap();
    let missing = "SELECT COUNT(*) FROM messages WHERE sort_keys IS NULL";
    assert_eq!(count(&store, missing).await, 70);
    // A sparse read fills only what it reads.
    let some = store.sort_rows(inbox.id, &uids[..3]).await.unwrap();
    assert_eq!(some[..], delivered[..3]);
    assert_eq!(count(&store, missing).await, 67);
    // More than a batch at once.
    let all = store.sort_rows(inbox.id, &uids).await.unwrap();
    assert_eq!(all, delivered);
    assert_eq!(all[69].keys.base_subject, "ITEM 69");
    assert_eq!(count(&store, missing).await, 0);
}

async fn append_all_stores_every_message_or_none(store: Store) {
    add_domain(&store, "comune.example.it", 0, 0).await;
    let anna = add_account(&store, "anna@comune.example.it", 700)
        .await
        .unwrap();
    let inbox = inbox(&store, &anna).await;
    let three: Vec<NewMessage> = (0..3).map(|_| message(200, &[inbox.id])).collect();
    let stored = store.append_all(three).await.unwrap().unwrap();
    let uids: Vec<i64> = stored.iter().map(|s| s.appended[0].uid).collect();
    assert_eq!(uids, [1, 2, 3]);
    // The second does not fit: neither is stored, nothing is charged.
    let two = vec![message(50, &[inbox.id]), message(200, &[inbox.id])];
    let refused = store.append_all(two).await.unwrap();
    assert_eq!(
        refused,
        Err(Refusal::AccountOverQuota(anna.address.clone()))
    );
    assert_eq!(store.message_uids(inbox.id).await.unwrap(), [1, 2, 3]);
    let used = store.account(&anna.address).await.unwrap().unwrap();
    assert_eq!(used.used_bytes, 600);
    assert!(store.usage_drift().await.unwrap().is_empty());
    // The UIDs the refused ones would have taken are not skipped.
    let one = store
        .append_all(vec![message(50, &[inbox.id])])
        .await
        .unwrap();
    assert_eq!(one.unwrap()[0].appended[0].uid, 4);
}

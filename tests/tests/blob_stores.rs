//! Message bodies in each body store (`[blobs] backend`: the database's
//! rows, files, an S3 bucket), on SQLite and on PostgreSQL: appends,
//! copies and expunges keep them counted; the collector deletes them after
//! the grace period, and orphans too, never a body in use; bodies move
//! between stores while readable; the check finds missing and damaged
//! ones. The S3 bucket is moto's server on loopback.

use std::sync::Arc;
use std::time::Duration;

use postino_common::address::Address;
use postino_common::blobs::{BlobStore, Filesystem, S3, Target};
use postino_common::store::testing::{TestStore, add_domain, pool};
use postino_common::store::{AppendTarget, Backend, NewAccount, NewMessage, Store};
use postino_tests::s3;
use postino_tests::smtp::folder_id;

/// The body stores of a test, all readable, new bodies going to `target`.
fn stores(target: Target) -> impl FnOnce(&std::path::Path) -> BlobStore {
    move |dir| {
        let bucket = S3::new(&s3::shared().options()).expect("an S3 client");
        BlobStore::new(
            target,
            Some(Filesystem::new(dir.join("blobs"))),
            Some(bucket),
        )
    }
}

/// Runs each `async fn(Store, Target)` on both databases with each body
/// store, as tests `NAME::{sqlite,postgres}_{database,filesystem,s3}`.
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            on_every_store!(@one $name, sqlite_database, Backend::Sqlite, Target::Database);
            on_every_store!(@one $name, sqlite_filesystem, Backend::Sqlite, Target::Filesystem);
            on_every_store!(@one $name, sqlite_s3, Backend::Sqlite, Target::S3);
            on_every_store!(@one $name, postgres_database, Backend::Postgres, Target::Database);
            on_every_store!(@one $name, postgres_filesystem, Backend::Postgres, Target::Filesystem);
            on_every_store!(@one $name, postgres_s3, Backend::Postgres, Target::S3);
        }
    )*};
    (@one $name:ident, $test:ident, $backend:expr, $target:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let t = TestStore::open($backend, stores($target)).await;
            tokio::time::timeout(Duration::from_secs(120), super::$name(t.store.clone(), $target))
                .await
                .expect("test timed out");
            t.finish().await;
        }
    };
}

on_every_store!(
    bodies_last_while_used_and_go_after_the_grace_period,
    orphans_go_once_old_and_bodies_in_use_stay,
    missing_and_damaged_bodies_are_reported,
    large_bodies_arrive_whole,
);

/// Where a body row says its body is; `None`: in the row.
async fn locations(store: &Store) -> Vec<Option<String>> {
    let rows: Vec<(Option<String>,)> = sqlx::query_as("SELECT location FROM blobs ORDER BY hash")
        .fetch_all(pool(store))
        .await
        .expect("read the body rows");
    rows.into_iter().map(|(location,)| location).collect()
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(pool(store))
        .await
        .expect("count rows");
    n
}

/// Runs `sql` against the store's database.
async fn execute(store: &Store, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(pool(store))
        .await
        .expect("run a statement");
}

/// A mailbox of its own domain; returns the ids of its INBOX and Trash.
async fn mailbox(store: &Store, address: &str) -> (i64, i64) {
    let domain = address.split_once('@').expect("an address").1;
    add_domain(store, domain).await;
    let mut tx = store.begin().await.expect("begin");
    tx.create_account(&NewAccount {
        address: address.parse::<Address>().expect("an address"),
        display_name: String::new(),
        password_hash: None,
        quota_bytes: 0,
    })
    .await
    .expect("add the mailbox");
    tx.commit().await.expect("commit");
    (
        folder_id(store, address, "INBOX").await,
        folder_id(store, address, "Trash").await,
    )
}

fn message(text: &str, folders: &[i64]) -> NewMessage {
    let raw = format!("Subject: {text}\r\n\r\n{}\r\n", text.repeat(200));
    NewMessage::to_folders(
        Arc::from(raw.into_bytes()),
        folders.iter().map(|&f| AppendTarget::new(f)).collect(),
    )
}

fn prefix(target: Target) -> Option<&'static str> {
    match target {
        Target::Database => None,
        Target::Filesystem => Some("fs:"),
        Target::S3 => Some("s3:"),
    }
}

/// Makes every body in the trash look freed `seconds` earlier.
async fn age_trash(store: &Store, seconds: i64) {
    execute(
        store,
        format!("UPDATE blob_trash SET freed_at = freed_at - {seconds}"),
    )
    .await;
}

async fn bodies_last_while_used_and_go_after_the_grace_period(store: Store, target: Target) {
    let (inbox, trash) = mailbox(&store, "anna@comune.example.it").await;
    let (other, _) = mailbox(&store, "bruno@altro.example.it").await;
    let first = message("first", &[inbox, other]);
    let second = message("second", &[inbox]);
    store
        .append(first.clone())
        .await
        .expect("append")
        .expect("stored");
    store
        .append(second.clone())
        .await
        .expect("append")
        .expect("stored");
    // The same bytes again: one body for all three messages.
    store
        .append(message("first", &[inbox]))
        .await
        .expect("append")
        .expect("stored");

    let placed = locations(&store).await;
    assert_eq!(placed.len(), 2, "one row per distinct body");
    for location in &placed {
        assert_eq!(location.as_deref().map(|l| &l[..3]), prefix(target));
    }
    // The first body's second copy, written before its row was found.
    let unused_copies = i64::from(prefix(target).is_some());
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM blob_trash").await,
        unused_copies
    );
    assert_eq!(
        store
            .message_body(other, 1)
            .await
            .expect("read")
            .expect("the message"),
        &first.raw[..]
    );
    assert_eq!(
        store
            .message_bodies(inbox, &[1, 2, 3])
            .await
            .expect("store"),
        vec![
            (1, first.raw.to_vec()),
            (2, second.raw.to_vec()),
            (3, first.raw.to_vec())
        ]
    );

    // A copy holds the body; expunging every message of it frees it.
    let mut tx = store.begin().await.expect("begin");
    tx.copy_messages(inbox, &[2], trash)
        .await
        .expect("store")
        .expect("outcome");
    tx.expunge(inbox, &[2]).await.expect("store");
    tx.commit().await.expect("commit");
    assert_eq!(
        store
            .message_body(trash, 1)
            .await
            .expect("read")
            .expect("the message"),
        &second.raw[..]
    );
    let second_location = {
        let mut tx = store.begin().await.expect("begin");
        tx.expunge(trash, &[1]).await.expect("store");
        tx.commit().await.expect("commit");
        let left = locations(&store).await;
        assert_eq!(left.len(), 1, "the second body's row is gone");
        placed.into_iter().find(|l| !left.contains(l)).flatten()
    };
    let Some(second_location) = second_location else {
        assert_eq!(count(&store, "SELECT COUNT(*) FROM blob_trash").await, 0);
        return;
    };

    // Within the grace period the body is still there for readers that
    // found its row; after it, the collector deletes it.
    assert_eq!(store.empty_blob_trash(3600).await.expect("store"), 0);
    assert_eq!(
        store.blobs().get(&second_location).await.expect("store"),
        &second.raw[..]
    );
    age_trash(&store, 7200).await;
    assert_eq!(store.empty_blob_trash(3600).await.expect("store"), 2);
    assert!(store.blobs().get(&second_location).await.is_err());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM blob_trash").await, 0);
    // The body still in use is untouched.
    assert_eq!(
        store
            .message_body(inbox, 3)
            .await
            .expect("read")
            .expect("the message"),
        &first.raw[..]
    );
}

async fn orphans_go_once_old_and_bodies_in_use_stay(store: Store, _: Target) {
    let (inbox, _) = mailbox(&store, "anna@comune.example.it").await;
    let kept = message("kept", &[inbox]);
    store
        .append(kept.clone())
        .await
        .expect("append")
        .expect("stored");
    // A body written by an append that never committed.
    let orphan = store
        .blobs()
        .put("ab".repeat(32).as_str(), Arc::from(&b"lost"[..]))
        .await
        .expect("store");
    // S3 dates objects to the second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.collect_orphan_blobs(3600).await.expect("store"), 0);
    let collected = store.collect_orphan_blobs(0).await.expect("store");
    match orphan {
        None => assert_eq!(collected, 0, "no body is kept outside the database"),
        Some(orphan) => {
            assert_eq!(collected, 1);
            assert!(store.blobs().get(&orphan).await.is_err());
        }
    }
    assert_eq!(
        store
            .message_body(inbox, 1)
            .await
            .expect("read")
            .expect("the message"),
        &kept.raw[..]
    );
}

async fn missing_and_damaged_bodies_are_reported(store: Store, target: Target) {
    let (inbox, _) = mailbox(&store, "anna@comune.example.it").await;
    for text in ["one", "two", "three"] {
        store
            .append(message(text, &[inbox]))
            .await
            .expect("append")
            .expect("stored");
    }
    let check = store.check_blobs(|_| {}).await.expect("store");
    assert_eq!((check.checked, check.problems.len()), (3, 0));

    let placed = locations(&store).await;
    match &placed[0] {
        Some(location) => store.blobs().delete(location).await.expect("store"),
        None => {
            let sql = "UPDATE blobs SET data = x'00' WHERE hash = (SELECT MIN(hash) FROM blobs)";
            let sql = match store.backend() {
                Backend::Sqlite => sql.to_string(),
                Backend::Postgres => sql.replace("x'00'", "'\\x00'::bytea"),
            };
            execute(&store, sql).await;
        }
    }
    let check = store.check_blobs(|_| {}).await.expect("store");
    assert_eq!(check.checked, 3);
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
    assert_eq!(check.problems[0].location, placed[0]);
    let expected = match target {
        Target::Database => "1 bytes",
        Target::Filesystem | Target::S3 => "missing",
    };
    assert!(
        check.problems[0].problem.contains(expected),
        "{:?}",
        check.problems[0]
    );
}

/// A body past S3's part size goes up in parts and reads back whole.
async fn large_bodies_arrive_whole(store: Store, _: Target) {
    let (inbox, _) = mailbox(&store, "anna@comune.example.it").await;
    let mut raw = b"Subject: allegato\r\n\r\n".to_vec();
    for line in 0..300_000 {
        raw.extend_from_slice(format!("riga {line:07} dell'allegato grande\r\n").as_bytes());
    }
    assert!(raw.len() > 8 << 20, "{} bytes", raw.len());
    let big = NewMessage::to_folders(Arc::from(raw), vec![AppendTarget::new(inbox)]);
    store
        .append(big.clone())
        .await
        .expect("append")
        .expect("stored");
    let read = store
        .message_body(inbox, 1)
        .await
        .expect("read")
        .expect("the message");
    assert!(read == big.raw[..], "the body read back differs");
    let check = store.check_blobs(|_| {}).await.expect("check");
    assert_eq!((check.checked, check.problems), (1, Vec::new()));
}

/// Bodies move from the rows to files, to S3 and back, readable all the
/// while; each place left goes to the trash.
async fn bodies_move_between_every_store(backend: Backend) {
    let t = TestStore::open(backend, stores(Target::Database)).await;
    let store = t.store.clone();
    let (inbox, _) = mailbox(&store, "anna@comune.example.it").await;
    let mut sent = Vec::new();
    for text in ["uno", "due", "tre", "quattro"] {
        let m = message(text, &[inbox]);
        store
            .append(m.clone())
            .await
            .expect("append")
            .expect("stored");
        sent.push(m.raw.to_vec());
    }
    let read_all = || async {
        let bodies = store
            .message_bodies(inbox, &[1, 2, 3, 4])
            .await
            .expect("store");
        bodies.into_iter().map(|(_, b)| b).collect::<Vec<_>>()
    };
    let mut trashed = 0;
    for to in [Target::Filesystem, Target::S3, Target::Database] {
        assert_eq!(store.blobs_elsewhere(to).await.expect("store"), 4);
        let mut told = Vec::new();
        assert_eq!(
            store.move_blobs(to, |n| told.push(n)).await.expect("store"),
            4
        );
        assert_eq!(told.last(), Some(&4));
        assert_eq!(store.blobs_elsewhere(to).await.expect("store"), 0);
        // Run again, it has nothing left to do.
        assert_eq!(store.move_blobs(to, |_| {}).await.expect("store"), 0);
        for location in locations(&store).await {
            assert_eq!(location.as_deref().map(|l| &l[..3]), prefix(to));
        }
        assert_eq!(read_all().await, sent);
        let check = store.check_blobs(|_| {}).await.expect("store");
        assert_eq!((check.checked, check.problems), (4, Vec::new()));
        if to != Target::Filesystem {
            trashed += 4;
        }
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM blob_trash").await,
            trashed
        );
    }
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_move_between_every_store_on_sqlite() {
    bodies_move_between_every_store(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_move_between_every_store_on_postgres() {
    bodies_move_between_every_store(Backend::Postgres).await;
}

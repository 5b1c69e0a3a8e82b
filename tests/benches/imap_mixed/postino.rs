//! Postino's side: a store of either backend from the harness, filled
//! before any server runs, and one `postino serve` per run.
//!
//! The CLI creates the domain and the users (each with the default
//! folders: INBOX, Sent, Drafts, Trash, Junk, Archive); the bench then
//! opens the store itself and stores every user's INBOX through
//! `Store::append` from many concurrent tasks, which group-commits them
//! and parses each message once, as for delivered mail. On PostgreSQL it
//! then vacuums and checkpoints, as autovacuum and time would have done to
//! the folders of a running installation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use postino_common::store::{AppendTarget, Flags, NewMessage, Store};
use postino_tests::bench;
use postino_tests::corpus::{self, LABELS};
use postino_tests::{Backend, Server, TestConfig};
use sqlx::Connection;
use tokio::task::JoinSet;

use crate::load::{self, Measured, Target};
use crate::session::{Mode, PASSWORD};

/// Tasks storing at once while the folders are filled: enough to fill the
/// store's group commits.
const APPEND_TASKS: usize = 128;

/// A store ready for the runs.
pub struct Prepared {
    pub config: TestConfig,
    pub users: Vec<String>,
    /// Each user's argon2id PHC string, as the CLI stored it.
    pub hashes: Vec<String>,
    /// How long filling the INBOXes took.
    pub filled_in: Duration,
}

/// Creates `users` users, each with `messages` messages in the INBOX.
pub async fn prepare(backend: Backend, domain: &str, users: usize, messages: usize) -> Prepared {
    let config = TestConfig::new(backend).await;
    config.set("imap", "allow_plaintext_auth = true");
    // Nothing here resolves names; should anything try, it stays on
    // loopback (the discard port) instead of asking the system's resolver.
    config.set("dns", "nameservers = [\"127.0.0.1:9\"]");
    config.cli(&["domain", "add", domain], None).await.ok();
    let addresses: Vec<String> = (0..users).map(|i| corpus::mailbox(i, domain)).collect();
    let password = format!("{PASSWORD}\n");
    for address in &addresses {
        config
            .cli(
                &["mailbox", "add", address, "--password-stdin"],
                Some(&password),
            )
            .await
            .ok();
    }
    let store = config.open_store().await;
    let mut hashes = Vec::new();
    let mut inboxes = Vec::new();
    for address in &addresses {
        let credentials = store
            .credentials(address)
            .await
            .expect("read credentials")
            .unwrap_or_else(|| panic!("mailbox {address} was not created"));
        hashes.push(
            credentials
                .password_hash
                .unwrap_or_else(|| panic!("{address} has no password")),
        );
        let inbox = store
            .folder(credentials.account_id, "INBOX")
            .await
            .expect("read a folder")
            .unwrap_or_else(|| panic!("{address} has no INBOX"));
        inboxes.push(inbox.id);
    }
    let started = Instant::now();
    fill(&store, &inboxes, messages, domain).await;
    let filled_in = started.elapsed();
    store.close().await;
    if backend == Backend::Postgres {
        // A mailbox opened in use was vacuumed long after its messages came.
        let url = config.database_url();
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("connect to the filled store");
        bench::settle(&mut conn)
            .await
            .expect("VACUUM and CHECKPOINT the filled store");
    }
    Prepared {
        config,
        users: addresses,
        hashes,
        filled_in,
    }
}

/// Stores message `n` of [`corpus::prefilled`] for user `u` in `inboxes[u]`,
/// for every `n` below `messages`, then checks the counts.
async fn fill(store: &Store, inboxes: &[i64], messages: usize, domain: &str) {
    let inboxes: Arc<[i64]> = inboxes.into();
    let next = Arc::new(AtomicUsize::new(0));
    let total = inboxes.len() * messages;
    let mut tasks = JoinSet::new();
    for _ in 0..APPEND_TASKS {
        let (store, inboxes, next, domain) = (
            store.clone(),
            inboxes.clone(),
            next.clone(),
            domain.to_string(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                // Message by message across the users, so that the group
                // commits hold several folders, as deliveries do.
                let (n, user) = (i / inboxes.len(), i % inboxes.len());
                let message = corpus::prefilled(user, n, &domain);
                let mut target = AppendTarget::new(inboxes[user]);
                target.internal_date = message.date;
                for (set, flag) in [
                    (message.seen, Flags::SEEN),
                    (message.answered, Flags::ANSWERED),
                    (message.flagged, Flags::FLAGGED),
                ] {
                    if set {
                        target.flags |= flag;
                    }
                }
                if let Some(label) = message.label {
                    target.keywords = [LABELS[label]].into_iter().collect();
                }
                let stored = store
                    .append(NewMessage::to_folders(message.raw.into(), vec![target]))
                    .await;
                match stored {
                    Ok(Ok(_)) => {}
                    Ok(Err(refusal)) => panic!("message {n} was refused: {refusal}"),
                    Err(err) => panic!("message {n} was not stored: {err:?}"),
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("an append task panicked");
    }
    for &inbox in inboxes.iter() {
        let uids = store.message_uids(inbox).await.expect("list a folder");
        assert_eq!(
            uids.len(),
            messages,
            "folder {inbox} holds {} messages",
            uids.len()
        );
    }
}

/// Starts `postino serve` on the prepared store, runs the load, stops it;
/// returns the figures and the lines the server logged at WARN or ERROR.
pub async fn run(
    prepared: &Prepared,
    clients: usize,
    seconds: u64,
    mode: Mode,
) -> (Measured, Vec<String>) {
    let mut server = Server::start(&prepared.config).await;
    let target = Target {
        addr: prepared.config.listeners.imap,
        users: &prepared.users,
        pid: server.id(),
    };
    let measured = load::run(&target, clients, seconds, mode).await;
    let warnings = bench::stop_server(&mut server).await;
    (measured, warnings)
}

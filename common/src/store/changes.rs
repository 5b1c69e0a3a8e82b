//! Change notifications: what IMAP IDLE and open folders wait on.
//!
//! On SQLite every writer is in this process, so a committed change goes
//! straight to the in-process channel. On PostgreSQL writers may be on other
//! nodes: a change is sent with `NOTIFY` inside its transaction (delivered only
//! if it commits) and each node's listener feeds its own channel, its own
//! changes included.
//!
//! The outbound queue has a wake-up of its own on the same path: a commit
//! that queues a message or makes one due again wakes the delivery workers
//! of every node (channel `postino_queue` on PostgreSQL), so that they need
//! not poll often.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::Result;

pub(crate) const CHANNEL: &str = "postino_changes";
/// The NOTIFY channel of queue wake-ups; they carry no payload.
pub(crate) const QUEUE_CHANNEL: &str = "postino_queue";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// New messages in the folder.
    Appended,
    /// Flags of messages in the folder changed.
    Flags,
    /// Messages were expunged from the folder.
    Expunged,
    /// The account's folder list changed (folder created, renamed or deleted).
    Folders,
}

impl ChangeKind {
    fn code(self) -> char {
        match self {
            ChangeKind::Appended => 'a',
            ChangeKind::Flags => 'f',
            ChangeKind::Expunged => 'x',
            ChangeKind::Folders => 'l',
        }
    }

    fn from_code(code: &str) -> Option<ChangeKind> {
        Some(match code {
            "a" => ChangeKind::Appended,
            "f" => ChangeKind::Flags,
            "x" => ChangeKind::Expunged,
            "l" => ChangeKind::Folders,
            _ => return None,
        })
    }
}

/// One committed change to an account's mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub account_id: i64,
    pub folder_id: i64,
    pub kind: ChangeKind,
    /// The folder's HIGHESTMODSEQ after the change.
    pub modseq: i64,
}

impl Change {
    /// The NOTIFY payload: `account folder kind modseq`.
    pub(crate) fn encode(&self) -> String {
        format!(
            "{} {} {} {}",
            self.account_id,
            self.folder_id,
            self.kind.code(),
            self.modseq
        )
    }

    fn decode(payload: &str) -> Option<Change> {
        let mut parts = payload.split(' ');
        let change = Change {
            account_id: parts.next()?.parse().ok()?,
            folder_id: parts.next()?.parse().ok()?,
            kind: ChangeKind::from_code(parts.next()?)?,
            modseq: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(change)
    }
}

pub(crate) struct Hub {
    /// One channel per account that someone watches; an account nobody
    /// watches has none, so a delivery to it wakes nobody.
    accounts: Arc<Mutex<HashMap<i64, watch::Sender<Option<Change>>>>>,
    /// Touched whenever queued mail may have become due.
    queue: Arc<watch::Sender<()>>,
    /// The PostgreSQL listener's task and what stops it: sending, or
    /// dropping the hub.
    listener: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl Hub {
    pub(crate) fn local() -> Hub {
        Hub {
            accounts: Arc::default(),
            queue: Arc::new(watch::channel(()).0),
            listener: Mutex::new(None),
        }
    }

    pub(crate) async fn postgres(url: &str) -> Result<Hub> {
        let mut listener = PgListener::connect(url).await?;
        listener.listen_all([CHANNEL, QUEUE_CHANNEL]).await?;
        let hub = Hub::local();
        let (stop, mut stopped) = oneshot::channel();
        let accounts = hub.accounts.clone();
        let queue = hub.queue.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    received = listener.recv() => match received {
                        Ok(note) if note.channel() == QUEUE_CHANNEL => queue.send_replace(()),
                        Ok(note) => match Change::decode(note.payload()) {
                            Some(change) => deliver(&accounts, change),
                            None => tracing::warn!(payload = note.payload(), "ignoring malformed change notification"),
                        },
                        Err(err) => {
                            // The listener reconnects by itself on the next
                            // recv; changes missed meanwhile are seen by the
                            // sessions' next resynchronisation.
                            tracing::warn!(error = %err, "change notification listener lost its connection");
                            // A queue wake-up may have been missed: look.
                            queue.send_replace(());
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        }
                    },
                }
            }
        });
        *hub.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, task));
        Ok(hub)
    }

    /// Stops the PostgreSQL listener, if any, and waits until its
    /// connection is closed.
    pub(crate) async fn stop_listener(&self) {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((stop, task)) = listener {
            let _ = stop.send(());
            // Its connection closes as the task drops it; a panic there
            // has already been reported.
            let _ = task.await;
        }
    }

    pub(crate) fn publish(&self, change: Change) {
        deliver(&self.accounts, change);
    }

    pub(crate) fn wake_queue(&self) {
        self.queue.send_replace(());
    }

    fn watch(&self, account_id: i64) -> Watch {
        let mut accounts = lock(&self.accounts);
        let receiver = accounts
            .entry(account_id)
            .or_insert_with(|| watch::channel(None).0)
            .subscribe();
        Watch {
            receiver: Some(receiver),
            account_id,
            accounts: self.accounts.clone(),
        }
    }
}

type Accounts = Mutex<HashMap<i64, watch::Sender<Option<Change>>>>;

fn lock(
    accounts: &Accounts,
) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<Option<Change>>>> {
    // The map stays consistent whatever a panicking holder was doing.
    accounts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn deliver(accounts: &Accounts, change: Change) {
    if let Some(sender) = lock(accounts).get(&change.account_id) {
        sender.send_replace(Some(change));
    }
}

/// A wake-up for every change committed to one account's mail, by any node.
/// Changes that come while nobody looks are merged into one wake-up: the
/// watcher then reads what changed from the store.
pub struct Watch {
    receiver: Option<watch::Receiver<Option<Change>>>,
    account_id: i64,
    accounts: Arc<Accounts>,
}

impl Watch {
    /// The account whose changes wake this watch.
    pub fn account_id(&self) -> i64 {
        self.account_id
    }

    /// Waits for the next change and returns the latest one. Once the
    /// store is closed no change can come, and this never returns.
    pub async fn changed(&mut self) -> Option<Change> {
        let Some(receiver) = self.receiver.as_mut() else {
            return std::future::pending().await;
        };
        if receiver.changed().await.is_err() {
            return std::future::pending().await;
        }
        *receiver.borrow_and_update()
    }
}

impl Watch {
    /// True when a change came since the last call (or `changed`); does
    /// not wait.
    pub fn take_change(&mut self) -> bool {
        self.receiver.as_mut().is_some_and(|receiver| {
            let changed = receiver.has_changed().unwrap_or(false);
            receiver.mark_unchanged();
            changed
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let mut accounts = lock(&self.accounts);
        if accounts
            .get(&self.account_id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            accounts.remove(&self.account_id);
        }
    }
}

/// A wake-up for queued mail that may have become due: a message queued, or
/// made due again by an operator, on any node. Wake-ups that come while
/// nobody waits are merged into one; what is due is then read from the
/// store.
pub struct QueueWatch {
    receiver: watch::Receiver<()>,
}

impl QueueWatch {
    /// Waits for the next wake-up. Once the store is closed none can come,
    /// and this never returns.
    pub async fn changed(&mut self) {
        if self.receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl super::Store {
    /// Wakes on every change committed from now on to the account's mail.
    pub fn watch(&self, account_id: i64) -> Watch {
        self.inner.changes.watch(account_id)
    }

    /// Wakes whenever queued mail may have become due, from now on.
    pub fn watch_queue(&self) -> QueueWatch {
        QueueWatch {
            receiver: self.inner.changes.queue.subscribe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips() {
        let change = Change {
            account_id: 7,
            folder_id: 42,
            kind: ChangeKind::Expunged,
            modseq: 1234,
        };
        assert_eq!(Change::decode(&change.encode()), Some(change));
        assert_eq!(Change::decode("7 42 q 1"), None);
        assert_eq!(Change::decode("7 42 a 1 extra"), None);
    }
}

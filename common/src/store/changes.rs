//! Change notifications: what IMAP IDLE and open folders wait on.
//!
//! On SQLite every writer is in this process, so a committed change goes
//! straight to the in-process channel. On PostgreSQL writers may be on other
//! nodes: a change is sent with `NOTIFY` inside its transaction (delivered only
//! if it commits) and each node's listener feeds its own channel, its own
//! changes included.

use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, oneshot};

use super::Result;

pub(crate) const CHANNEL: &str = "postino_changes";

/// How many changes a slow subscriber may fall behind before it is told it
/// lagged (and must resynchronise from the store).
const BACKLOG: usize = 4096;

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
    sender: broadcast::Sender<Change>,
    /// Dropping the hub drops this and so stops the PostgreSQL listener.
    _stop_listener: Option<oneshot::Sender<()>>,
}

impl Hub {
    pub(crate) fn local() -> Hub {
        Hub {
            sender: broadcast::channel(BACKLOG).0,
            _stop_listener: None,
        }
    }

    pub(crate) async fn postgres(url: &str) -> Result<Hub> {
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let sender = broadcast::channel(BACKLOG).0;
        let (stop, mut stopped) = oneshot::channel();
        let feed = sender.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    received = listener.recv() => match received {
                        Ok(note) => match Change::decode(note.payload()) {
                            Some(change) => {
                                let _ = feed.send(change);
                            }
                            None => tracing::warn!(payload = note.payload(), "ignoring malformed change notification"),
                        },
                        Err(err) => {
                            // The listener reconnects by itself on the next recv.
                            tracing::warn!(error = %err, "change notification listener lost its connection");
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        }
                    },
                }
            }
        });
        Ok(Hub {
            sender,
            _stop_listener: Some(stop),
        })
    }

    pub(crate) fn publish(&self, change: Change) {
        // No subscriber is not an error: nobody is waiting on this account.
        let _ = self.sender.send(change);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }
}

impl super::Store {
    /// Every change committed from now on, by any node.
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
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

//! Group flushes of SQLite's write-ahead log: many commits, one `fsync`.
//!
//! SQLite runs with `synchronous = NORMAL`: a commit writes its pages to the
//! WAL file and returns without flushing it, so the writer's turn ends at
//! once. The commit is then made durable here: every commit waiting at that
//! moment is covered by one `fdatasync` of the WAL file, which flushes every
//! frame written before it, and each caller is answered only after it. A
//! commit is acknowledged durable exactly as with `synchronous = FULL`, but
//! writers no longer take turns at the disk's flush latency.
//!
//! The file is opened again for every flush: SQLite deletes and recreates
//! the WAL when the last connection closes (after checkpointing it into the
//! database and flushing that), so a handle kept open could point at a file
//! no longer used.

use std::path::PathBuf;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{Result, StoreError};

/// Commits waiting to be made durable; each is answered after a flush that
/// started after it committed.
pub(super) struct WalSync {
    waiting: mpsc::Sender<oneshot::Sender<std::io::Result<()>>>,
}

impl WalSync {
    /// Starts the flushing thread for the database at `database`.
    pub(super) fn start(database: PathBuf) -> std::io::Result<WalSync> {
        let mut wal = database.into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let (waiting, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("postino-wal-sync".into())
            .spawn(move || flush_forever(&wal, &queue))?;
        Ok(WalSync { waiting })
    }

    /// Asks for a flush of everything committed before the call, without
    /// waiting for it.
    pub(super) fn flush_soon(&self) {
        let (done, _) = oneshot::channel();
        // A stopped flusher is reported by the next durable commit.
        let _ = self.waiting.send(done);
    }

    /// Returns once everything committed before the call is on disk.
    pub(super) async fn durable(&self) -> Result<()> {
        let (done, flushed) = oneshot::channel();
        self.waiting
            .send(done)
            .map_err(|_| StoreError::WriterGone)?;
        match flushed.await {
            Ok(result) => Ok(result.map_err(sqlx::Error::Io)?),
            Err(_) => Err(StoreError::WriterGone),
        }
    }
}

/// Flushes the WAL whenever commits wait, once for all of those waiting,
/// until the store is dropped.
fn flush_forever(
    wal: &std::path::Path,
    queue: &mpsc::Receiver<oneshot::Sender<std::io::Result<()>>>,
) {
    while let Ok(first) = queue.recv() {
        let mut waiting = vec![first];
        waiting.extend(queue.try_iter());
        let flushed = flush(wal);
        for done in waiting {
            let _ = done.send(match &flushed {
                Ok(()) => Ok(()),
                Err(err) => Err(std::io::Error::new(err.kind(), err.to_string())),
            });
        }
    }
}

fn flush(wal: &std::path::Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data(),
        // No WAL: the last connection checkpointed it into the database,
        // flushed, and deleted it; nothing is left to flush.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::add_domain;
    use crate::store::{Location, Store};

    /// The writer connection checkpoints the log when it reaches SQLite's
    /// thousand pages, after which the log starts over from its beginning;
    /// without checkpoints each commit would leave two pages or more in it.
    #[tokio::test]
    async fn the_log_starts_over_once_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postino.db");
        let blobs = crate::blobs::BlobStore::database();
        let store = Store::open(Location::Sqlite(&path), 4, blobs)
            .await
            .unwrap();
        let commits = 1_000;
        for n in 0..commits {
            add_domain(&store, &format!("comune{n}.example.it")).await;
        }
        let frame = 4096 + 24;
        let log = std::fs::metadata(dir.path().join("postino.db-wal"))
            .unwrap()
            .len();
        assert!(
            log < 1_100 * frame,
            "the log holds {} pages after {commits} commits",
            log / frame
        );
        store.close().await;
    }
}

//! What IMAP SORT and THREAD read of a folder's messages: sizes, dates
//! and the [`SortKeys`] computed at delivery, never the bodies.
//!
//! Messages stored before migration 0025 (and any written without keys,
//! such as the scale bench's fill) have no keys yet: the first read that
//! meets them parses their bodies once, a batch at a time, and writes the
//! keys back, so that later reads find them. Computing them lazily keeps
//! the migration instant on a store of millions of messages, and the keys
//! come from the same parser as at delivery, which SQL could not run.

use sqlx::FromRow;

use super::{Result, Store};
use crate::mime::{self, SortKeys};

/// Bodies parsed at once when filling missing keys.
const FILL_BATCH: usize = 64;

/// One message as SORT and THREAD see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortRow {
    pub uid: i64,
    pub size: i64,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// The Date header, Unix seconds; `None` when absent or invalid.
    pub sent_at: Option<i64>,
    pub keys: SortKeys,
}

#[derive(FromRow)]
struct Stored {
    uid: i64,
    size: i64,
    internal_date: i64,
    sent_at: Option<i64>,
    sort_keys: Option<String>,
}

impl Store {
    /// The messages of a folder with these UIDs (ascending), in UID order;
    /// UIDs not there are left out. Keys missing from the store are
    /// computed and stored first (see the module documentation).
    pub async fn sort_rows(&self, folder_id: i64, uids: &[i64]) -> Result<Vec<SortRow>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        // A whole folder is one indexed range scan; SORT and THREAD
        // mostly ask for all or most of it.
        let stored: Vec<Stored> = sqlx::query_as(
            "SELECT uid, size, internal_date, sent_at, sort_keys FROM messages \
             WHERE folder_id = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid",
        )
        .bind(folder_id)
        .bind(uids[0])
        .bind(uids[uids.len() - 1])
        .fetch_all(self.pool())
        .await?;
        let mut rows = Vec::with_capacity(uids.len());
        let mut missing = Vec::new();
        for row in stored {
            if uids.binary_search(&row.uid).is_err() {
                continue;
            }
            let keys = row.sort_keys.as_deref().map(serde_json::from_str);
            if !matches!(keys, Some(Ok(_))) {
                missing.push(rows.len());
            }
            rows.push(SortRow {
                uid: row.uid,
                size: row.size,
                internal_date: row.internal_date,
                sent_at: row.sent_at,
                keys: keys.and_then(|k| k.ok()).unwrap_or_default(),
            });
        }
        for batch in missing.chunks(FILL_BATCH) {
            let uids: Vec<i64> = batch.iter().map(|&i| rows[i].uid).collect();
            let filled = self.fill_sort_keys(folder_id, &uids).await?;
            for &i in batch {
                if let Some((_, keys)) = filled.iter().find(|(uid, _)| *uid == rows[i].uid) {
                    rows[i].keys = keys.clone();
                }
            }
        }
        Ok(rows)
    }

    /// Parses the bodies of some messages and stores their keys.
    async fn fill_sort_keys(&self, folder_id: i64, uids: &[i64]) -> Result<Vec<(i64, SortKeys)>> {
        let bodies = self.message_bodies(folder_id, uids).await?;
        // Parsing is CPU work, off the async threads.
        let keys = tokio::task::spawn_blocking(move || {
            bodies
                .into_iter()
                .map(|(uid, raw)| (uid, mime::parse(&raw).keys))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let json: Vec<(i64, String)> = keys
            .iter()
            .map(|(uid, keys)| (*uid, serde_json::to_string(keys).unwrap_or_default()))
            .collect();
        tracing::debug!(folder_id, messages = json.len(), "sort keys filled");
        self.write(move |mut tx| async move {
            for (uid, json) in json {
                sqlx::query(
                    "UPDATE messages SET sort_keys = $1 \
                     WHERE folder_id = $2 AND uid = $3 AND sort_keys IS NULL",
                )
                .bind(json)
                .bind(folder_id)
                .bind(uid)
                .execute(tx.conn())
                .await?;
            }
            // Keys lost in a crash are computed again: no need to wait for
            // the disk.
            tx.commit_flushed_later().await
        })
        .await?;
        Ok(keys)
    }
}

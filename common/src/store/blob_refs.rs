//! Message bodies: stored once however many messages and queue entries use
//! them, and counted, so that the last one to go deletes the body.
//!
//! A write that adds or drops references changes them set by set: one
//! statement per distinct count, not one per message.

use std::collections::BTreeMap;

use sqlx::AssertSqlSafe;

use super::direct::Sql;
use super::in_list::{BindEach, MAX_IN_LIST, placeholders};
use super::{Backend, Result, Store, WriteTx};

/// How many references each body gains or loses, by hash, in hash order.
#[derive(Debug, Default)]
pub(super) struct BlobRefs(BTreeMap<String, i64>);

impl BlobRefs {
    pub fn add(&mut self, hash: &str) {
        match self.0.get_mut(hash) {
            Some(count) => *count += 1,
            None => {
                self.0.insert(hash.to_string(), 1);
            }
        }
    }

    pub fn from_counts(counts: impl IntoIterator<Item = (String, i64)>) -> BlobRefs {
        BlobRefs(counts.into_iter().collect())
    }
}

impl Store {
    /// A body's bytes, from its row's `data` and `location`.
    pub(super) async fn body(&self, data: Vec<u8>, location: Option<String>) -> Result<Vec<u8>> {
        match location {
            Some(location) => Ok(self.blobs().get(&location).await?),
            None => Ok(data),
        }
    }
}

impl WriteTx {
    /// Adds references to bodies already stored.
    pub(super) async fn hold_blobs(&mut self, refs: &BlobRefs) -> Result<()> {
        self.count_blob_refs(refs, 1).await
    }

    /// Drops references to bodies, deleting those no longer used: their
    /// rows now, and what they kept outside the database after the grace
    /// period (see [`crate::blobs`]).
    pub(super) async fn release_blobs(&mut self, refs: &BlobRefs) -> Result<()> {
        self.count_blob_refs(refs, -1).await?;
        let hashes: Vec<&str> = refs.0.keys().map(String::as_str).collect();
        let mut freed = Vec::new();
        for chunk in hashes.chunks(MAX_IN_LIST) {
            let sql = format!(
                "DELETE FROM blobs WHERE refcount <= 0 AND hash IN ({}) RETURNING location",
                placeholders(1, chunk.len())
            );
            let query = Sql::new(sql).bind_each(chunk.iter().copied());
            let locations: Vec<(Option<String>,)> = self.fetch(query).await?;
            freed.extend(locations.into_iter().filter_map(|(location,)| location));
        }
        self.trash_blobs(&freed).await
    }

    /// Puts bodies kept outside the database, which no row names any
    /// more, in the trash, from which the collector deletes them.
    pub(super) async fn trash_blobs(&mut self, locations: &[String]) -> Result<()> {
        let now = super::now();
        for chunk in locations.chunks(MAX_IN_LIST / 2) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let sql = format!(
                "INSERT INTO blob_trash (location, freed_at) VALUES {} ON CONFLICT (location) DO NOTHING",
                values.join(", ")
            );
            let mut query = Sql::new(sql);
            for location in chunk {
                query = query.bind(location.as_str()).bind(now);
            }
            self.run(query).await?;
        }
        Ok(())
    }

    /// Locks the rows of bodies on PostgreSQL, in hash order (`hashes`
    /// sorted), so that writers sharing bodies cannot deadlock: a write
    /// that changes a body's count, or what refers to it, takes its lock
    /// first. The lock is `FOR NO KEY UPDATE`, what changing a count needs:
    /// `FOR UPDATE` would also wait for the key-share locks that inserting
    /// a message referring to the body takes, and two COPY or MOVE of one
    /// body, each inserting and then locking, would deadlock. On SQLite the
    /// transaction already excludes other writers.
    pub(super) async fn lock_blobs(&mut self, hashes: &[&str]) -> Result<()> {
        if self.backend() == Backend::Postgres {
            for chunk in hashes.chunks(MAX_IN_LIST) {
                let sql = format!(
                    "SELECT hash FROM blobs WHERE hash IN ({}) ORDER BY hash FOR NO KEY UPDATE",
                    placeholders(1, chunk.len())
                );
                let query = sqlx::query(AssertSqlSafe(sql)).bind_each(chunk.iter().copied());
                query.execute(self.conn()).await?;
            }
        }
        Ok(())
    }

    async fn count_blob_refs(&mut self, refs: &BlobRefs, sign: i64) -> Result<()> {
        let hashes: Vec<&str> = refs.0.keys().map(String::as_str).collect();
        // Locked first: the updates below lock the rows in whatever order
        // their plan reads them.
        self.lock_blobs(&hashes).await?;
        let mut by_count: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (hash, &count) in &refs.0 {
            by_count.entry(count).or_default().push(hash);
        }
        for (count, hashes) in by_count {
            for chunk in hashes.chunks(MAX_IN_LIST) {
                let sql = format!(
                    "UPDATE blobs SET refcount = refcount + $1 WHERE hash IN ({})",
                    placeholders(2, chunk.len())
                );
                let query = Sql::new(sql)
                    .bind(sign * count)
                    .bind_each(chunk.iter().copied());
                self.run(query).await?;
            }
        }
        Ok(())
    }
}

//! Keeping the bodies outside the database in order (see [`crate::blobs`]):
//! the collector, which deletes what no row names any more (bodies in the
//! trash, and orphans that a crash or a lost race left); moving bodies from
//! one store to another while the server runs; and checking that every
//! body is where its row says, whole.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, FromRow};

use super::in_list::{BindEach, placeholders};
use super::{Result, Store, now};
use crate::blobs::{BlobError, Target};

/// Bodies handled per statement and per transaction.
const PAGE: usize = 200;

/// A body that is not where its row says, or not whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobProblem {
    pub hash: String,
    /// Where the row says it is; `None`: in the database.
    pub location: Option<String>,
    pub problem: String,
}

/// What a check of every body found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlobCheck {
    pub checked: usize,
    pub problems: Vec<BlobProblem>,
}

#[derive(FromRow)]
struct BodyRow {
    hash: String,
    size: i64,
    data: Vec<u8>,
    location: Option<String>,
}

impl Target {
    /// The condition on `blobs` rows of bodies kept elsewhere than here.
    fn elsewhere(self) -> &'static str {
        match self {
            Target::Database => "location IS NOT NULL",
            Target::Filesystem => "(location IS NULL OR location NOT LIKE 'fs:%')",
            Target::S3 => "(location IS NULL OR location NOT LIKE 's3:%')",
        }
    }
}

/// The body rows matching a condition, a page at a time in hash order.
struct BodyPages<'a> {
    store: &'a Store,
    sql: String,
    /// The last hash read.
    after: String,
}

impl BodyPages<'_> {
    /// The next page; empty after the last.
    async fn next(&mut self) -> Result<Vec<BodyRow>> {
        let page: Vec<BodyRow> = sqlx::query_as(AssertSqlSafe(self.sql.clone()))
            .bind(&self.after)
            .bind(PAGE as i64)
            .fetch_all(self.store.pool())
            .await?;
        if let Some(last) = page.last() {
            self.after = last.hash.clone();
        }
        Ok(page)
    }
}

impl Store {
    fn body_pages(&self, condition: &str) -> BodyPages<'_> {
        BodyPages {
            store: self,
            sql: format!(
                "SELECT hash, size, data, location FROM blobs WHERE {condition} AND hash > $1 \
                 ORDER BY hash LIMIT $2"
            ),
            after: String::new(),
        }
    }

    /// Deletes the bodies put in the trash more than `grace` seconds ago;
    /// returns how many went. One that cannot be deleted now (its store
    /// does not answer) stays in the trash for the next run.
    pub async fn empty_blob_trash(&self, grace: u64) -> Result<usize> {
        let before = now() - grace as i64;
        let mut emptied = 0;
        loop {
            let page: Vec<(String,)> = sqlx::query_as(
                "SELECT location FROM blob_trash WHERE freed_at < $1 ORDER BY freed_at, location LIMIT $2",
            )
            .bind(before)
            .bind(PAGE as i64)
            .fetch_all(self.pool())
            .await?;
            let mut deleted = Vec::with_capacity(page.len());
            for (location,) in &page {
                match self.blobs().delete(location).await {
                    Ok(()) => deleted.push(location.as_str()),
                    Err(err) => {
                        tracing::warn!(location, error = %err, "cannot delete a body from the trash");
                    }
                }
            }
            if !deleted.is_empty() {
                let sql = format!(
                    "DELETE FROM blob_trash WHERE location IN ({})",
                    placeholders(1, deleted.len())
                );
                let mut tx = self.begin().await?;
                let query = sqlx::query(AssertSqlSafe(sql)).bind_each(deleted.iter().copied());
                query.execute(tx.conn()).await?;
                tx.commit().await?;
            }
            emptied += deleted.len();
            if page.len() < PAGE || deleted.len() < page.len() {
                return Ok(emptied);
            }
        }
    }

    /// Deletes the bodies in the store new bodies go to that are older than
    /// `grace` seconds and that no row names, not even the trash's; returns
    /// how many went. A body is written before its row, so one that old
    /// without a row will never get one.
    pub async fn collect_orphan_blobs(&self, grace: u64) -> Result<usize> {
        let mut after: Option<String> = None;
        let mut collected = 0;
        loop {
            let page = self.blobs().list_old(after.as_deref(), grace, PAGE).await?;
            let Some(last) = page.last().cloned() else {
                return Ok(collected);
            };
            let named = self.named_locations(&page).await?;
            for location in page.iter().filter(|l| !named.contains(*l)) {
                self.blobs().delete(location).await?;
                tracing::info!(location, "deleted an orphaned body");
                collected += 1;
            }
            after = Some(last);
        }
    }

    /// Which of `locations` a body row or the trash names.
    async fn named_locations(&self, locations: &[String]) -> Result<HashSet<String>> {
        let list = placeholders(1, locations.len());
        let sql = format!(
            "SELECT location FROM blobs WHERE location IN ({list}) \
             UNION SELECT location FROM blob_trash WHERE location IN ({list})"
        );
        let query =
            sqlx::query_as(AssertSqlSafe(sql)).bind_each(locations.iter().map(String::as_str));
        let rows: Vec<(String,)> = query.fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(|(location,)| location).collect())
    }

    /// How many bodies are kept elsewhere than in `to`.
    pub async fn blobs_elsewhere(&self, to: Target) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM blobs WHERE {}", to.elsewhere());
        let (count,): (i64,) = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(self.pool())
            .await?;
        Ok(count)
    }

    /// Moves every body kept elsewhere into `to`, one at a time, while the
    /// server runs: each is copied, checked against its hash, and its row
    /// pointed at the copy in a transaction of its own, the old place going
    /// to the trash. `moved` is told the count after each page. Stopped
    /// half way, it goes on where it stopped when run again. A body whose
    /// row changed meanwhile is left for the next run; one that does not
    /// match its hash stops the move with an error.
    pub async fn move_blobs(&self, to: Target, mut moved: impl FnMut(usize)) -> Result<usize> {
        let mut done = 0;
        let mut pages = self.body_pages(to.elsewhere());
        loop {
            let page = pages.next().await?;
            if page.is_empty() {
                return Ok(done);
            }
            for row in page {
                if self.move_blob(row, to).await? {
                    done += 1;
                }
            }
            moved(done);
        }
    }

    async fn move_blob(&self, row: BodyRow, to: Target) -> Result<bool> {
        let old = row.location.clone();
        let body = self.body(row.data, row.location).await?;
        if hex::encode(Sha256::digest(&body)) != row.hash {
            return Err(BlobError::Corrupt {
                location: old.unwrap_or_else(|| format!("in row {}", row.hash)),
            }
            .into());
        }
        let body: Arc<[u8]> = body.into();
        let new = self.blobs().put_to(to, &row.hash, body.clone()).await?;
        let data = match new {
            Some(_) => &[][..],
            None => &body[..],
        };
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE blobs SET data = $1, location = $2 \
             WHERE hash = $3 AND COALESCE(location, '') = $4",
        )
        .bind(data)
        .bind(new.as_deref())
        .bind(&row.hash)
        .bind(old.as_deref().unwrap_or(""))
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        if updated && let Some(old) = old {
            tx.trash_blobs(&[old]).await?;
        }
        tx.commit().await?;
        if !updated && let Some(new) = new {
            self.blobs().delete(&new).await?;
        }
        Ok(updated)
    }

    /// Reads every body, checking it is where its row says, of its size
    /// and hash. `checked` is told the count after each page.
    pub async fn check_blobs(&self, mut checked: impl FnMut(usize)) -> Result<BlobCheck> {
        let mut check = BlobCheck::default();
        let mut pages = self.body_pages("TRUE");
        loop {
            let page = pages.next().await?;
            if page.is_empty() {
                return Ok(check);
            }
            for row in page {
                check.checked += 1;
                let location = row.location.clone();
                let problem = match self.body(row.data, row.location).await {
                    Err(err) => Some(err.to_string()),
                    Ok(body) if body.len() as i64 != row.size => {
                        Some(format!("{} bytes, not {}", body.len(), row.size))
                    }
                    Ok(body) if hex::encode(Sha256::digest(&body)) != row.hash => {
                        Some("does not match its hash".to_string())
                    }
                    Ok(_) => None,
                };
                if let Some(problem) = problem {
                    check.problems.push(BlobProblem {
                        hash: row.hash,
                        location,
                        problem,
                    });
                }
            }
            checked(check.checked);
        }
    }
}

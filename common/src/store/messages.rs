//! Stored messages: listing, reading, expunging, and the shared bodies.

use serde::Serialize;
use sqlx::{AssertSqlSafe, FromRow};

use super::append::Charge;
use super::{Change, ChangeKind, Result, Store, StoreError, WriteTx};

/// The system flags of RFC 9051 §2.3.2, as bits of the `flags` column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flags(pub i64);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// What a folder listing gives for each message.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct MessageSummary {
    pub uid: i64,
    pub size: i64,
    pub internal_date: i64,
    pub flags: i64,
    /// Keywords (user flags), separated by spaces.
    pub keywords: String,
    pub modseq: i64,
}

/// An account or domain whose usage counter disagrees with its messages.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct UsageDrift {
    pub name: String,
    pub recorded: i64,
    pub counted: i64,
}

/// A message with what FETCH and SEARCH read besides its body: the parse
/// cache, filled at delivery (`None` for a message no parser described).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MessageDetails {
    pub uid: i64,
    pub size: i64,
    pub internal_date: i64,
    pub flags: i64,
    pub keywords: String,
    pub modseq: i64,
    /// The envelope and body structure, as `mime::Parsed` wrote them.
    pub envelope: Option<String>,
    pub body_structure: Option<String>,
    pub subject: Option<String>,
    pub sent_at: Option<i64>,
}

/// Which parts of the parse cache [`Store::message_details`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// None: flags, sizes, dates and MODSEQ only.
    Flags,
    /// The subject and sent date too, for SEARCH.
    Search,
    /// Everything, envelope and body structure included, for FETCH.
    Parsed,
}

/// Most parameters in one `IN (...)` list.
pub(super) const MAX_IN_LIST: usize = 500;

/// `$first, $first+1, ...` for `count` parameters.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The UIDs of a folder, ascending: what SELECT needs to number messages.
    pub async fn message_uids(&self, folder_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT uid FROM messages WHERE folder_id = $1 ORDER BY uid")
                .bind(folder_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(uid,)| uid).collect())
    }

    /// The lowest UID of a folder's messages without `\Seen`.
    pub async fn first_unseen(&self, folder_id: i64) -> Result<Option<i64>> {
        let (uid,): (Option<i64>,) =
            sqlx::query_as("SELECT MIN(uid) FROM messages WHERE folder_id = $1 AND flags % 2 = 0")
                .bind(folder_id)
                .fetch_one(self.pool())
                .await?;
        Ok(uid)
    }

    /// The UIDs of a folder's messages marked `\Deleted`, ascending.
    pub async fn deleted_uids(&self, folder_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT uid FROM messages WHERE folder_id = $1 AND flags % 16 >= 8 ORDER BY uid",
        )
        .bind(folder_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(uid,)| uid).collect())
    }

    /// Messages of a folder whose MODSEQ is above `modseq` (new or changed
    /// since), in UID order.
    pub async fn messages_changed_since(
        &self,
        folder_id: i64,
        modseq: i64,
    ) -> Result<Vec<MessageSummary>> {
        Ok(sqlx::query_as(
            "SELECT uid, size, internal_date, flags, keywords, modseq FROM messages \
             WHERE folder_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(folder_id)
        .bind(modseq)
        .fetch_all(self.pool())
        .await?)
    }

    /// The messages of a folder with UIDs in `first..=last`, with as much of
    /// their parse cache as `columns` asks, in UID order. One query for the
    /// range, so that FETCH and SEARCH never ask per message.
    pub async fn message_details(
        &self,
        folder_id: i64,
        first: i64,
        last: i64,
        columns: Columns,
    ) -> Result<Vec<MessageDetails>> {
        // The columns a mode leaves out are read as NULL, so that one row
        // type serves every mode.
        macro_rules! select_range {
            ($cached:literal) => {
                concat!(
                    "SELECT uid, size, internal_date, flags, keywords, modseq, ",
                    $cached,
                    " FROM messages WHERE folder_id = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid"
                )
            };
        }
        let sql = match columns {
            Columns::Parsed => select_range!("envelope, body_structure, subject, sent_at"),
            Columns::Search => select_range!(
                "CAST(NULL AS TEXT) AS envelope, CAST(NULL AS TEXT) AS body_structure, subject, sent_at"
            ),
            Columns::Flags => select_range!(
                "CAST(NULL AS TEXT) AS envelope, CAST(NULL AS TEXT) AS body_structure, \
                 CAST(NULL AS TEXT) AS subject, CAST(NULL AS BIGINT) AS sent_at"
            ),
        };
        Ok(sqlx::query_as(sql)
            .bind(folder_id)
            .bind(first)
            .bind(last)
            .fetch_all(self.pool())
            .await?)
    }

    /// The raw bytes of some messages of a folder, `(uid, bytes)` in UID
    /// order; UIDs not there are left out. Ask for a few at a time: every
    /// body asked for is in memory at once.
    pub async fn message_bodies(
        &self,
        folder_id: i64,
        uids: &[i64],
    ) -> Result<Vec<(i64, Vec<u8>)>> {
        let mut bodies = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "SELECT m.uid, b.data FROM messages m JOIN blobs b ON b.hash = m.blob_hash \
                 WHERE m.folder_id = $1 AND m.uid IN ({}) ORDER BY m.uid",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query_as(AssertSqlSafe(sql)).bind(folder_id);
            for uid in chunk {
                query = query.bind(uid);
            }
            bodies.extend(query.fetch_all(self.pool()).await?);
        }
        Ok(bodies)
    }

    /// The messages of a folder in UID order.
    pub async fn messages(&self, folder_id: i64) -> Result<Vec<MessageSummary>> {
        Ok(sqlx::query_as(
            "SELECT uid, size, internal_date, flags, keywords, modseq FROM messages \
             WHERE folder_id = $1 ORDER BY uid",
        )
        .bind(folder_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The raw bytes of one message.
    pub async fn message_body(&self, folder_id: i64, uid: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT b.data FROM messages m JOIN blobs b ON b.hash = m.blob_hash \
             WHERE m.folder_id = $1 AND m.uid = $2",
        )
        .bind(folder_id)
        .bind(uid)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(data,)| data))
    }

    /// Accounts and domains whose recorded usage differs from the sum of
    /// their messages' sizes; empty when the counters are exact.
    pub async fn usage_drift(&self) -> Result<Vec<UsageDrift>> {
        let mut drift: Vec<UsageDrift> = sqlx::query_as(
            "SELECT a.address AS name, a.used_bytes AS recorded, \
             CAST(COALESCE((SELECT SUM(m.size) FROM messages m JOIN folders f ON f.id = m.folder_id \
                            WHERE f.account_id = a.id), 0) AS BIGINT) AS counted \
             FROM accounts a",
        )
        .fetch_all(self.pool())
        .await?;
        drift.extend(
            sqlx::query_as::<_, UsageDrift>(
                "SELECT d.name, d.used_bytes AS recorded, \
                 CAST(COALESCE((SELECT SUM(a.used_bytes) FROM accounts a WHERE a.domain_id = d.id), 0) AS BIGINT) \
                 AS counted FROM domains d",
            )
            .fetch_all(self.pool())
            .await?,
        );
        drift.retain(|d| d.recorded != d.counted);
        Ok(drift)
    }
}

impl WriteTx {
    /// Removes messages from a folder, records them for QRESYNC and gives
    /// their space back. Returns the UIDs that were there.
    pub async fn expunge(&mut self, folder_id: i64, uids: &[i64]) -> Result<Vec<i64>> {
        self.lock_folders(&[folder_id]).await?;
        let folder: Option<(i64, i64, i64)> = sqlx::query_as(
            "UPDATE folders SET highestmodseq = highestmodseq + 1 WHERE id = $1 \
             RETURNING account_id, (SELECT domain_id FROM accounts WHERE accounts.id = folders.account_id), highestmodseq",
        )
        .bind(folder_id)
        .fetch_optional(self.conn())
        .await?;
        let (account_id, domain_id, modseq) = folder.ok_or_else(|| StoreError::NotFound {
            what: "folder",
            name: folder_id.to_string(),
        })?;
        let mut removed = Vec::with_capacity(uids.len());
        let mut freed = 0;
        let mut blobs: Vec<(String, i64)> = Vec::new();
        for &uid in uids {
            let row: Option<(i64, String)> = sqlx::query_as(
                "DELETE FROM messages WHERE folder_id = $1 AND uid = $2 RETURNING size, blob_hash",
            )
            .bind(folder_id)
            .bind(uid)
            .fetch_optional(self.conn())
            .await?;
            let Some((size, hash)) = row else { continue };
            sqlx::query("INSERT INTO expunged (folder_id, uid, modseq) VALUES ($1, $2, $3)")
                .bind(folder_id)
                .bind(uid)
                .bind(modseq)
                .execute(self.conn())
                .await?;
            freed += size;
            match blobs.iter_mut().find(|(h, _)| *h == hash) {
                Some((_, count)) => *count += 1,
                None => blobs.push((hash, 1)),
            }
            removed.push(uid);
        }
        if removed.is_empty() {
            return Ok(removed);
        }
        self.release_blobs(&blobs).await?;
        self.charge(Charge::Account, account_id, -freed).await?;
        self.charge(Charge::Domain, domain_id, -freed).await?;
        self.announce(Change {
            account_id,
            folder_id,
            kind: ChangeKind::Expunged,
            modseq,
        });
        Ok(removed)
    }

    /// Drops references to bodies, `(hash, how many)`, deleting the unused ones.
    pub(super) async fn release_blobs(&mut self, blobs: &[(String, i64)]) -> Result<()> {
        let mut sorted: Vec<&(String, i64)> = blobs.iter().collect();
        // A fixed order keeps concurrent PostgreSQL writers from deadlocking.
        sorted.sort();
        for (hash, count) in sorted {
            sqlx::query("UPDATE blobs SET refcount = refcount - $1 WHERE hash = $2")
                .bind(count)
                .bind(hash)
                .execute(self.conn())
                .await?;
            sqlx::query("DELETE FROM blobs WHERE hash = $1 AND refcount <= 0")
                .bind(hash)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// UIDs expunged from a folder after MODSEQ `since` and up to `until`,
    /// for QRESYNC and for sessions catching up.
    pub async fn vanished(&self, folder_id: i64, since: i64, until: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT uid FROM expunged WHERE folder_id = $1 AND modseq > $2 AND modseq <= $3 ORDER BY uid",
        )
        .bind(folder_id)
        .bind(since)
        .bind(until)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(uid,)| uid).collect())
    }
}

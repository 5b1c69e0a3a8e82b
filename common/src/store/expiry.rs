//! Emptying Junk and Trash of old messages: each domain keeps them for its
//! retention (its own, else the configured one), counted from when a
//! message entered the folder. Expired messages go as an EXPUNGE would take
//! them, so that sessions see them go, QRESYNC learns of them and their
//! space is given back. A sweep runs on one node at a time: the holder of
//! a lease ([`Store::take_lease`]).

use sqlx::FromRow;

use super::{Result, SpecialUse, Store, WriteTx, now};

/// Messages expunged per transaction, so that a sweep holds no folder long.
const BATCH: i64 = 500;
/// Seconds in a day, the unit of domains' retentions.
const DAY: i64 = 86_400;

/// A folder whose old messages go, with its domain's own retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct ExpiringFolder {
    pub folder_id: i64,
    /// Days; `None`: the configured retention; 0: kept forever.
    pub retention_days: Option<i64>,
}

impl ExpiringFolder {
    /// How long the folder keeps a message, in seconds: its domain's
    /// retention, else `configured`; 0 (or less): forever.
    pub fn keep(&self, configured: i64) -> i64 {
        self.retention_days
            .map_or(configured, |days| days.saturating_mul(DAY))
    }
}

impl Store {
    /// The Junk and Trash folders holding a message older than its
    /// domain's retention (its own, else `configured` seconds; 0: kept
    /// forever) at `now`, with that retention.
    ///
    /// One statement finds them: asking each folder in turn cost two
    /// queries per mailbox an hour, about two minutes at 500,000
    /// mailboxes, nearly all for folders with nothing to expire.
    pub async fn expiring_folders(&self, configured: i64, now: i64) -> Result<Vec<ExpiringFolder>> {
        Ok(sqlx::query_as(
            "SELECT f.id AS folder_id, d.junk_retention_days AS retention_days \
             FROM folders f JOIN accounts a ON a.id = f.account_id \
             JOIN domains d ON d.id = a.domain_id \
             WHERE f.special_use IN ($1, $2) AND f.messages > 0 \
             AND COALESCE(d.junk_retention_days * $3, $4) > 0 \
             AND EXISTS (SELECT 1 FROM messages m WHERE m.folder_id = f.id \
                         AND m.saved_at < $5 - COALESCE(d.junk_retention_days * $3, $4)) \
             ORDER BY f.id",
        )
        .bind(SpecialUse::Junk.attribute())
        .bind(SpecialUse::Trash.attribute())
        .bind(DAY)
        .bind(configured)
        .bind(now)
        .fetch_all(self.pool())
        .await?)
    }

    /// Expunges a folder's messages saved there before `before` (Unix
    /// seconds), a batch per transaction; returns how many went. One with
    /// no saved time (none is filed without one) is kept.
    pub async fn expire(&self, folder_id: i64, before: i64) -> Result<usize> {
        let mut expunged = 0;
        loop {
            let uids: Vec<i64> = sqlx::query_scalar(
                "SELECT uid FROM messages \
                 WHERE folder_id = $1 AND saved_at < $2 \
                 ORDER BY uid LIMIT $3",
            )
            .bind(folder_id)
            .bind(before)
            .bind(BATCH)
            .fetch_all(self.pool())
            .await?;
            if uids.is_empty() {
                return Ok(expunged);
            }
            let mut tx = self.begin().await?;
            // A message moved out meanwhile is simply not there any more.
            expunged += tx.expunge(folder_id, &uids).await?.len();
            tx.commit().await?;
            if uids.len() < BATCH as usize {
                return Ok(expunged);
            }
        }
    }

    /// Takes the lease `name` for `holder` until `until` (Unix seconds) if
    /// nobody else holds it now; whether `holder` has it.
    pub async fn take_lease(&self, name: &str, holder: &str, until: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let taken = sqlx::query(
            "INSERT INTO task_leases (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = $2, until = $3 \
             WHERE task_leases.until <= $4 OR task_leases.holder = $2",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(taken.rows_affected() == 1)
    }
}

impl WriteTx {
    /// Sets how many days a domain's Junk and Trash keep messages; `None`
    /// defers to the configured retention, 0 keeps them forever.
    pub async fn set_junk_retention(&mut self, domain_id: i64, days: Option<i64>) -> Result<()> {
        sqlx::query("UPDATE domains SET junk_retention_days = $1 WHERE id = $2")
            .bind(days)
            .bind(domain_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

//! What was expunged, and when: the records behind QRESYNC's VANISHED
//! (RFC 7162 §3.2.10) and behind sessions catching up with each other.
//!
//! Every expunged UID is kept with the MODSEQ of its removal for a week
//! ([`KEPT_FOR`]), then dropped by [`Store::prune_expunged`], which raises
//! the folder's `vanished_floor` to the highest MODSEQ dropped. A client
//! that last synchronised before the floor is told that every UID no longer
//! in the folder has vanished, which RFC 7162 §3.2.5.2 allows for servers
//! that do not remember; so the table holds about a week of expunges
//! rather than every one ever made. Dovecot keeps its equivalent, the
//! previous transaction log, for two days.

use super::direct::Sql;
use super::in_list::MAX_IN_LIST;
use super::{Result, Store, WriteTx, now};

/// How long expunge records are kept, in seconds.
pub const KEPT_FOR: i64 = 7 * 24 * 3600;

impl WriteTx {
    /// Records UIDs expunged from a folder with the MODSEQ of their
    /// removal.
    pub(super) async fn record_expunged(
        &mut self,
        folder_id: i64,
        uids: &[i64],
        modseq: i64,
    ) -> Result<()> {
        let at = now();
        for chunk in uids.chunks(MAX_IN_LIST) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("($1, $2, $3, ${})", n + 4))
                .collect();
            let sql = format!(
                "INSERT INTO expunged (folder_id, modseq, at, uid) VALUES {}",
                rows.join(", ")
            );
            let query = Sql::new(sql)
                .bind(folder_id)
                .bind(modseq)
                .bind(at)
                .bind_each(chunk.iter().copied());
            self.run(query).await?;
        }
        Ok(())
    }
}

impl Store {
    /// UIDs expunged from a folder after MODSEQ `since` and up to `until`.
    /// When records after `since` have been dropped, every UID below the
    /// folder's UIDNEXT that is not in it.
    pub async fn vanished(&self, folder_id: i64, since: i64, until: i64) -> Result<Vec<i64>> {
        // One statement, so that the floor and the records are read from
        // one snapshot, whatever a prune commits in between.
        let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT f.vanished_floor, f.uidnext, e.uid FROM folders f \
             LEFT JOIN expunged e ON e.folder_id = f.id AND e.modseq > $2 AND e.modseq <= $3 \
             WHERE f.id = $1 ORDER BY e.uid",
        )
        .bind(folder_id)
        .bind(since)
        .bind(until)
        .fetch_all(self.pool())
        .await?;
        let Some(&(floor, uidnext, _)) = rows.first() else {
            return Ok(Vec::new());
        };
        if since >= floor {
            return Ok(rows.into_iter().filter_map(|(_, _, uid)| uid).collect());
        }
        // UIDs are handed out in order and never reused, so each one below
        // UIDNEXT is either still here or gone.
        let present = self.message_uids(folder_id).await?;
        Ok((1..uidnext)
            .filter(|uid| present.binary_search(uid).is_err())
            .collect())
    }

    /// Drops expunge records made before `before` (Unix seconds), one
    /// folder per transaction so that no writer waits long; returns how
    /// many were dropped.
    pub async fn prune_expunged(&self, before: i64) -> Result<u64> {
        let folders: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT folder_id, MAX(modseq) FROM expunged WHERE at < $1 GROUP BY folder_id",
        )
        .bind(before)
        .fetch_all(self.pool())
        .await?;
        let mut dropped = 0;
        for (folder_id, floor) in folders {
            let mut tx = self.begin().await?;
            sqlx::query(
                "UPDATE folders SET vanished_floor = $2 WHERE id = $1 AND vanished_floor < $2",
            )
            .bind(folder_id)
            .bind(floor)
            .execute(tx.conn())
            .await?;
            dropped += sqlx::query("DELETE FROM expunged WHERE folder_id = $1 AND modseq <= $2")
                .bind(folder_id)
                .bind(floor)
                .execute(tx.conn())
                .await?
                .rows_affected();
            tx.commit().await?;
        }
        Ok(dropped)
    }
}

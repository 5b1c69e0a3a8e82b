//! What a migration from another server has copied already: one row per
//! message, keyed by the source folder, its UIDVALIDITY and the source
//! UID, written in the commit that stores the message (see
//! [`Origin`](super::Origin)). A rerun asks here what to skip.

use std::collections::HashSet;

use super::{Origin, Result, Store, WriteTx};

impl Store {
    /// The source UIDs already copied into a folder from `source_folder`
    /// while its UIDVALIDITY was `uidvalidity`.
    pub async fn imported_uids(
        &self,
        folder_id: i64,
        source_folder: &str,
        uidvalidity: i64,
    ) -> Result<HashSet<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT source_uid FROM imported_messages \
             WHERE folder_id = $1 AND source_folder = $2 AND source_uidvalidity = $3",
        )
        .bind(folder_id)
        .bind(source_folder)
        .bind(uidvalidity)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(uid,)| uid).collect())
    }

    /// The UIDVALIDITY values messages were copied at from `source_folder`
    /// into a folder: more than the current one means the source folder
    /// was made anew since, and its UIDs name other messages.
    pub async fn imported_validities(
        &self,
        folder_id: i64,
        source_folder: &str,
    ) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT source_uidvalidity FROM imported_messages \
             WHERE folder_id = $1 AND source_folder = $2",
        )
        .bind(folder_id)
        .bind(source_folder)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }
}

impl WriteTx {
    /// Records where a message just stored in `folder_id` came from; fails
    /// (rolling the message back with it) if that origin is there already.
    pub(super) async fn record_origin(&mut self, folder_id: i64, origin: &Origin) -> Result<()> {
        sqlx::query(
            "INSERT INTO imported_messages (folder_id, source_folder, source_uidvalidity, source_uid) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(folder_id)
        .bind(&origin.folder)
        .bind(origin.uidvalidity)
        .bind(origin.uid)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

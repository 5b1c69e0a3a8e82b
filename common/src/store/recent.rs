//! `\Recent` (RFC 3501 §2.3.2): a message is recent in the one session that
//! first sees it with its folder selected read-write. The folder's row
//! holds the first UID no session has taken yet, so that the rule holds
//! across sessions on any node; IMAP4rev2 sessions take nothing.

use super::{Result, Store};

impl Store {
    /// Takes as recent, for the calling session, the folder's messages
    /// below UID `until` that no session has taken; returns the first UID
    /// taken (the session's share is `first..until`), or `None` when
    /// another session took them all first.
    pub async fn take_recent(&self, folder_id: i64, until: i64) -> Result<Option<i64>> {
        // SET reads the row as it was: `recent_taken_from` keeps where the
        // share starts, and the one statement makes taking it atomic. A
        // share lost in a crash only makes its messages recent again.
        let taken = sqlx::query_as(
            "UPDATE folders SET recent_taken_from = first_recent, first_recent = $2 \
             WHERE id = $1 AND first_recent < $2 RETURNING recent_taken_from",
        )
        .bind(folder_id)
        .bind(until);
        let row: Option<(i64,)> = self.write_alone(taken).await?;
        Ok(row.map(|(first,)| first))
    }

    /// How many of a folder's messages no session has taken as recent,
    /// for STATUS.
    pub async fn untaken_recent(&self, folder_id: i64, first_recent: i64) -> Result<i64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM messages WHERE folder_id = $1 AND uid >= $2")
                .bind(folder_id)
                .bind(first_recent)
                .fetch_one(self.pool())
                .await?;
        Ok(count)
    }
}

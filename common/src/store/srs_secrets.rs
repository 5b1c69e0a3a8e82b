//! The secrets that sign rewritten senders (SRS) of redirected mail, kept
//! in the store so that every node signs alike and can check an address
//! another node signed. The store makes a new secret when the newest has
//! signed for `rotate_after` seconds, and forgets those no address that may
//! still come back was signed with.

use rand_core::{OsRng, RngCore};

use super::{Result, Store};

/// Bytes of a secret.
const SECRET_BYTES: usize = 32;

impl Store {
    /// The secrets to sign and check with at `now`, newest (the signing
    /// one) first: a new one is made if the newest is older than
    /// `rotate_after` seconds, and those older than `keep_for` are
    /// deleted, the newest always kept. Two nodes rotating at once each add
    /// one; both are then accepted, and the newer signs.
    pub async fn srs_secrets(
        &self,
        now: i64,
        rotate_after: i64,
        keep_for: i64,
    ) -> Result<Vec<Vec<u8>>> {
        let mut tx = self.begin().await?;
        let (newest,): (Option<i64>,) = sqlx::query_as("SELECT MAX(created_at) FROM srs_secrets")
            .fetch_one(tx.conn())
            .await?;
        if newest.is_none_or(|at| at <= now - rotate_after) {
            let mut secret = [0u8; SECRET_BYTES];
            OsRng.fill_bytes(&mut secret);
            sqlx::query("INSERT INTO srs_secrets (secret, created_at) VALUES ($1, $2)")
                .bind(hex::encode(secret))
                .bind(now)
                .execute(tx.conn())
                .await?;
        }
        sqlx::query(
            "DELETE FROM srs_secrets WHERE created_at < $1 \
             AND id <> (SELECT id FROM srs_secrets ORDER BY created_at DESC, id DESC LIMIT 1)",
        )
        .bind(now - keep_for)
        .execute(tx.conn())
        .await?;
        let secrets: Vec<(String,)> =
            sqlx::query_as("SELECT secret FROM srs_secrets ORDER BY created_at DESC, id DESC")
                .fetch_all(tx.conn())
                .await?;
        tx.commit().await?;
        Ok(secrets
            .into_iter()
            .filter_map(|(secret,)| hex::decode(secret).ok())
            .collect())
    }
}

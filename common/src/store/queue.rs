//! Reading the outbound queue. Messages enter it with an append
//! ([`super::append::Outbound`]), in the same transaction as any local copies.

use serde::Serialize;
use sqlx::FromRow;

use super::{Result, Store};

/// One recipient of a queued message and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct QueuedRecipient {
    pub queue_id: i64,
    pub sender: String,
    pub address: String,
    pub status: String,
    pub orcpt: Option<String>,
    pub notify: Option<String>,
    pub envid: Option<String>,
    pub ret: Option<String>,
}

impl Store {
    /// Every recipient in the queue, oldest message first.
    pub async fn queued_recipients(&self) -> Result<Vec<QueuedRecipient>> {
        Ok(sqlx::query_as(
            "SELECT q.id AS queue_id, q.sender, r.address, r.status, r.orcpt, r.notify, q.envid, q.ret \
             FROM queue q JOIN queue_recipients r ON r.queue_id = q.id ORDER BY q.id, r.id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The raw message of a queue entry.
    pub async fn queued_message(&self, queue_id: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT b.data FROM queue q JOIN blobs b ON b.hash = q.blob_hash WHERE q.id = $1",
        )
        .bind(queue_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(data,)| data))
    }
}

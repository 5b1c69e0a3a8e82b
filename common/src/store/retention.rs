//! What the store keeps about employees' mail beside the mail itself,
//! and its purge after `retention.metadata`: counters and records that
//! name an address or a client's IP address with a time. Messages and
//! their bodies are the users' and are never purged here; the outbound
//! queue holds mail in transit, each message gone once delivered or
//! bounced.

use sqlx::AssertSqlSafe;

use super::{Result, Store};

/// The tables of employee mail metadata, each with the column of the time
/// a row was last written.
pub const METADATA_TABLES: &[(&str, &str)] = &[
    // Failed logins per address and per IP address.
    ("auth_failures", "last_at"),
    // The IP addresses each address logged in from.
    ("auth_known_clients", "last_at"),
    // Sending-limit counters: when an account sent, and to whom.
    ("sent_messages", "sent_at"),
    ("sent_recipients", "sent_at"),
    ("sending_limit_hits", "last_at"),
    // Senders an out-of-office reply went to.
    ("vacation_replies", "sent_at"),
    // Users' logins: when, from where, over which protocol.
    ("user_logins", "at"),
];

impl Store {
    /// Removes the metadata last written before `before` (seconds since
    /// the epoch) and returns how many rows each table lost, one
    /// transaction per table.
    pub async fn purge_metadata(&self, before: i64) -> Result<Vec<(&'static str, u64)>> {
        let mut purged = Vec::with_capacity(METADATA_TABLES.len());
        for (table, column) in METADATA_TABLES {
            let mut tx = self.begin().await?;
            let removed = sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE {column} < $1"
            )))
            .bind(before)
            .execute(tx.conn())
            .await?
            .rows_affected();
            tx.commit().await?;
            purged.push((*table, removed));
        }
        Ok(purged)
    }
}

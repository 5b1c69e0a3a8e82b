//! What each mailbox sent lately, for its sending limits: the messages of
//! the last hour and the distinct recipients of the last day. They are
//! counted in the store, so that every node sees the same counts, and
//! recorded in the transaction that stores the message sent (see
//! [`SentBy`]), so that no message escapes the count.

use serde::Serialize;
use sqlx::FromRow;

use super::{Result, Store, WriteTx, now};

/// How far back the message count looks, in seconds.
pub const MESSAGE_WINDOW: i64 = 3600;
/// How far back the recipient count looks, in seconds.
pub const RECIPIENT_WINDOW: i64 = 86_400;

/// Who sent a message, and to whom, for the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentBy {
    pub account_id: i64,
    /// Every envelope recipient, local or not, as given in RCPT.
    pub recipients: Vec<String>,
}

/// A mailbox's sending limits, its domain's, and what it sent within
/// their windows. A limit of `None` is not set there; 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Sending {
    pub account_messages_per_hour: Option<i64>,
    pub account_recipients_per_day: Option<i64>,
    pub domain_messages_per_hour: Option<i64>,
    pub domain_recipients_per_day: Option<i64>,
    /// Messages sent within the last [`MESSAGE_WINDOW`].
    pub messages: i64,
    /// Distinct recipients written to within the last [`RECIPIENT_WINDOW`].
    pub recipients: i64,
}

/// Whose sending limits: a mailbox's or a domain's, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitsOf {
    Account(i64),
    Domain(i64),
}

/// A mailbox that ran into one of its sending limits: when first and last
/// (within the current run of refusals), and how many messages or
/// recipients were refused.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct LimitHit {
    pub address: String,
    /// `messages_per_hour` or `recipients_per_day`.
    pub limit_name: String,
    pub first_at: i64,
    pub last_at: i64,
    pub refused: i64,
}

impl Store {
    /// The sending limits and counts of an account; `None` if it is gone.
    pub async fn sending(&self, account_id: i64) -> Result<Option<Sending>> {
        let now = now();
        Ok(sqlx::query_as(
            "SELECT a.max_messages_per_hour AS account_messages_per_hour, \
             a.max_recipients_per_day AS account_recipients_per_day, \
             d.max_messages_per_hour AS domain_messages_per_hour, \
             d.max_recipients_per_day AS domain_recipients_per_day, \
             (SELECT COUNT(*) FROM sent_messages s WHERE s.account_id = a.id AND s.sent_at > $2) \
             AS messages, \
             (SELECT COUNT(*) FROM sent_recipients r WHERE r.account_id = a.id AND r.sent_at > $3) \
             AS recipients \
             FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.id = $1",
        )
        .bind(account_id)
        .bind(now - MESSAGE_WINDOW)
        .bind(now - RECIPIENT_WINDOW)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Whether the account wrote to `recipient` within the last
    /// [`RECIPIENT_WINDOW`], so that writing again counts for nothing.
    pub async fn has_sent_to(&self, account_id: i64, recipient: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT sent_at FROM sent_recipients \
             WHERE account_id = $1 AND recipient = $2 AND sent_at > $3",
        )
        .bind(account_id)
        .bind(recipient.to_ascii_lowercase())
        .bind(now() - RECIPIENT_WINDOW)
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Notes that the account was refused by `limit_name`: a run of
    /// refusals starts again after a quiet day.
    pub async fn record_limit_hit(&self, account_id: i64, limit_name: &str) -> Result<()> {
        let now = now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sending_limit_hits (account_id, limit_name, first_at, last_at, refused) \
             VALUES ($1, $2, $3, $3, 1) \
             ON CONFLICT (account_id, limit_name) DO UPDATE SET \
               first_at = CASE WHEN sending_limit_hits.last_at <= $4 THEN $3 \
                          ELSE sending_limit_hits.first_at END, \
               refused = CASE WHEN sending_limit_hits.last_at <= $4 THEN 1 \
                         ELSE sending_limit_hits.refused + 1 END, \
               last_at = $3",
        )
        .bind(account_id)
        .bind(limit_name)
        .bind(now)
        .bind(now - RECIPIENT_WINDOW)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// The limits mailboxes ran into since `since` (Unix seconds), of one
    /// domain or all, latest first.
    pub async fn limit_hits(&self, since: i64, domain: Option<&str>) -> Result<Vec<LimitHit>> {
        Ok(sqlx::query_as(
            "SELECT a.address, h.limit_name, h.first_at, h.last_at, h.refused \
             FROM sending_limit_hits h JOIN accounts a ON a.id = h.account_id \
             JOIN domains d ON d.id = a.domain_id \
             WHERE h.last_at >= $1 AND ($2 IS NULL OR d.name = $2) \
             ORDER BY h.last_at DESC, a.address",
        )
        .bind(since)
        .bind(domain)
        .fetch_all(self.pool())
        .await?)
    }
}

impl WriteTx {
    /// Counts a message sent, and its recipients, and forgets what fell
    /// out of the windows, so that the tables stay small.
    pub(super) async fn record_sending(&mut self, sent: &SentBy) -> Result<()> {
        let now = now();
        sqlx::query("DELETE FROM sent_messages WHERE account_id = $1 AND sent_at <= $2")
            .bind(sent.account_id)
            .bind(now - MESSAGE_WINDOW)
            .execute(self.conn())
            .await?;
        sqlx::query("INSERT INTO sent_messages (account_id, sent_at) VALUES ($1, $2)")
            .bind(sent.account_id)
            .bind(now)
            .execute(self.conn())
            .await?;
        // In one order, so that two batches upserting the same rows cannot
        // deadlock on PostgreSQL.
        let mut recipients: Vec<String> = sent
            .recipients
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        recipients.sort_unstable();
        recipients.dedup();
        for recipient in &recipients {
            sqlx::query(
                "INSERT INTO sent_recipients (account_id, recipient, sent_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, recipient) DO UPDATE SET sent_at = $3",
            )
            .bind(sent.account_id)
            .bind(recipient)
            .bind(now)
            .execute(self.conn())
            .await?;
        }
        sqlx::query("DELETE FROM sent_recipients WHERE account_id = $1 AND sent_at <= $2")
            .bind(sent.account_id)
            .bind(now - RECIPIENT_WINDOW)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Sets the sending limits of a mailbox or a domain; `None` defers to
    /// the domain's (for a mailbox) or the configured ones (for a domain).
    pub async fn set_sending_limits(
        &mut self,
        of: LimitsOf,
        messages_per_hour: Option<i64>,
        recipients_per_day: Option<i64>,
    ) -> Result<()> {
        let (sql, id) = match of {
            LimitsOf::Account(id) => (
                "UPDATE accounts SET max_messages_per_hour = $1, max_recipients_per_day = $2 \
                 WHERE id = $3",
                id,
            ),
            LimitsOf::Domain(id) => (
                "UPDATE domains SET max_messages_per_hour = $1, max_recipients_per_day = $2 \
                 WHERE id = $3",
                id,
            ),
        };
        sqlx::query(sql)
            .bind(messages_per_hour)
            .bind(recipients_per_day)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

//! The outbound queue. Messages enter it with an append
//! ([`super::append::Outbound`]), in the same transaction as any local
//! copies; delivery workers lease them, record each recipient's outcome, and
//! the message goes once no recipient is left to try. A lease keeps other
//! workers, on this node or another, away from a message (see [`super::lease`]).

use std::time::Duration;

use serde::Serialize;
use sqlx::FromRow;

use super::blob_refs::BlobRefs;
use super::lease::Jobs;
use super::{Result, Store, WriteTx, now};

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

/// A queued message as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct QueueEntry {
    pub id: i64,
    /// Empty for the null sender.
    pub sender: String,
    pub size: i64,
    pub created_at: i64,
    pub next_attempt_at: i64,
    /// Unix seconds; 0 or past when nobody holds the message.
    pub leased_until: i64,
    pub leased_by: Option<String>,
    #[sqlx(skip)]
    pub recipients: Vec<RecipientState>,
}

/// One recipient's delivery state.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct RecipientState {
    pub id: i64,
    #[serde(skip)]
    pub queue_id: i64,
    pub address: String,
    /// `pending`, `delivered`, `deferred` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_reply: Option<String>,
    pub orcpt: Option<String>,
    pub notify: Option<String>,
}

impl RecipientState {
    /// Whether delivery to this recipient is still to be tried.
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "pending" | "deferred")
    }
}

/// A leased message with what delivering it needs.
#[derive(Debug, Clone)]
pub struct LeasedMessage {
    pub entry: QueueEntry,
    pub envid: Option<String>,
    pub ret: Option<String>,
    /// The stored message, `Return-Path` line included.
    pub raw: Vec<u8>,
    /// When the delay notice went to the sender, Unix seconds; `None`
    /// while none has (see [`Store::claim_delay_notice`]).
    pub delay_notice_at: Option<i64>,
}

/// What one attempt did for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientOutcome {
    Delivered,
    Deferred,
    Failed,
}

impl RecipientOutcome {
    fn as_str(self) -> &'static str {
        match self {
            RecipientOutcome::Delivered => "delivered",
            RecipientOutcome::Deferred => "deferred",
            RecipientOutcome::Failed => "failed",
        }
    }
}

/// One recipient's result, by [`RecipientState::id`], with the reply that
/// decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    pub recipient_id: i64,
    pub outcome: RecipientOutcome,
    pub reply: String,
}

/// How much mail waits in the queue, for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct QueueStats {
    /// Messages with a recipient still to try.
    pub messages: i64,
    /// When the oldest of them was queued, Unix seconds; `None` when there
    /// are none.
    pub oldest_created_at: Option<i64>,
}

#[derive(FromRow)]
struct LeasedRow {
    id: i64,
    sender: String,
    size: i64,
    created_at: i64,
    next_attempt_at: i64,
    leased_until: i64,
    leased_by: Option<String>,
    envid: Option<String>,
    ret: Option<String>,
    data: Vec<u8>,
    location: Option<String>,
    delay_notice_at: Option<i64>,
}

const ENTRY_COLUMNS: &str = "q.id, q.sender, b.size, q.created_at, q.next_attempt_at, \
    q.leased_until, q.leased_by FROM queue q JOIN blobs b ON b.hash = q.blob_hash";
const RECIPIENT_COLUMNS: &str = "SELECT id, queue_id, address, status, attempts, last_reply, orcpt, notify FROM queue_recipients";

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
        let row: Option<(Vec<u8>, Option<String>)> = sqlx::query_as(
            "SELECT b.data, b.location FROM queue q JOIN blobs b ON b.hash = q.blob_hash WHERE q.id = $1",
        )
        .bind(queue_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some((data, location)) => Ok(Some(self.body(data, location).await?)),
            None => Ok(None),
        }
    }

    /// Every queued message with its recipients, oldest first.
    pub async fn queue_entries(&self) -> Result<Vec<QueueEntry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} ORDER BY q.id");
        let mut entries: Vec<QueueEntry> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        let sql = format!("{RECIPIENT_COLUMNS} ORDER BY queue_id, id");
        let recipients: Vec<RecipientState> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        for recipient in recipients {
            if let Some(entry) = entries.iter_mut().find(|e| e.id == recipient.queue_id) {
                entry.recipients.push(recipient);
            }
        }
        Ok(entries)
    }

    /// One queued message with its recipients.
    pub async fn queue_entry(&self, queue_id: i64) -> Result<Option<QueueEntry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} WHERE q.id = $1");
        let entry: Option<QueueEntry> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(queue_id)
            .fetch_optional(self.pool())
            .await?;
        let Some(mut entry) = entry else {
            return Ok(None);
        };
        entry.recipients = self.queue_recipients(queue_id).await?;
        Ok(Some(entry))
    }

    async fn queue_recipients(&self, queue_id: i64) -> Result<Vec<RecipientState>> {
        let sql = format!("{RECIPIENT_COLUMNS} WHERE queue_id = $1 ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(queue_id)
            .fetch_all(self.pool())
            .await?)
    }

    /// Leases up to `limit` messages that are due and not leased (or whose
    /// lease ran out) to `worker` for `lease`, and returns their ids.
    pub async fn lease_due(&self, worker: &str, limit: i64, lease: Duration) -> Result<Vec<i64>> {
        self.take_leases(Jobs::Queue, worker, limit, lease).await
    }

    /// A message leased by `worker`, with its body and recipients; `None`
    /// if it is gone or no longer `worker`'s.
    pub async fn leased_message(
        &self,
        queue_id: i64,
        worker: &str,
    ) -> Result<Option<LeasedMessage>> {
        let row: Option<LeasedRow> = sqlx::query_as(
            "SELECT q.id, q.sender, b.size, q.created_at, q.next_attempt_at, q.leased_until, \
             q.leased_by, q.envid, q.ret, b.data, b.location, q.delay_notice_at \
             FROM queue q JOIN blobs b ON b.hash = q.blob_hash WHERE q.id = $1 AND q.leased_by = $2",
        )
        .bind(queue_id)
        .bind(worker)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let recipients = self.queue_recipients(queue_id).await?;
        Ok(Some(LeasedMessage {
            entry: QueueEntry {
                id: row.id,
                sender: row.sender,
                size: row.size,
                created_at: row.created_at,
                next_attempt_at: row.next_attempt_at,
                leased_until: row.leased_until,
                leased_by: row.leased_by,
                recipients,
            },
            envid: row.envid,
            ret: row.ret,
            raw: self.body(row.data, row.location).await?,
            delay_notice_at: row.delay_notice_at,
        }))
    }

    /// Marks that the delay notice of a message leased by `worker` is being
    /// sent; whether the caller should send it: `false` if one was already
    /// sent or `worker` lost the lease. Claimed before it is sent, so that
    /// no message gets two: a notice that then fails to go is not retried.
    pub async fn claim_delay_notice(&self, queue_id: i64, worker: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let claimed = sqlx::query(
            "UPDATE queue SET delay_notice_at = $1 \
             WHERE id = $2 AND leased_by = $3 AND delay_notice_at IS NULL",
        )
        .bind(now())
        .bind(queue_id)
        .bind(worker)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// When the next queued message becomes due, Unix seconds: its next
    /// attempt, or the end of its lease if that is later. `None` when the
    /// queue is empty. A worker sleeps until then, unless woken earlier.
    pub async fn next_due(&self) -> Result<Option<i64>> {
        self.next_due_of(Jobs::Queue).await
    }

    /// How many messages wait for delivery and since when, in one query.
    pub async fn queue_stats(&self) -> Result<QueueStats> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*) AS messages, MIN(q.created_at) AS oldest_created_at FROM queue q \
             WHERE EXISTS (SELECT 1 FROM queue_recipients r WHERE r.queue_id = q.id \
             AND r.status IN ('pending', 'deferred'))",
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// Records what an attempt did for each recipient, then either removes
    /// the message (no recipient left to try) or schedules it for
    /// `next_attempt_at` and gives up `worker`'s lease. Returns whether the
    /// message was removed. Nothing happens if `worker` lost the lease.
    pub async fn record_attempt(
        &self,
        queue_id: i64,
        worker: &str,
        results: &[RecipientResult],
        next_attempt_at: i64,
    ) -> Result<bool> {
        let now = now();
        let mut tx = self.begin().await?;
        let held: Option<(i64,)> = sqlx::query_as(Jobs::Queue.held_sql(self.backend()))
            .bind(queue_id)
            .bind(worker)
            .fetch_optional(tx.conn())
            .await?;
        if held.is_none() {
            return Ok(false);
        }
        for result in results {
            sqlx::query(
                "UPDATE queue_recipients SET status = $1, last_reply = $2, attempts = attempts + 1, \
                 updated_at = $3 WHERE id = $4 AND queue_id = $5",
            )
            .bind(result.outcome.as_str())
            .bind(&result.reply)
            .bind(now)
            .bind(result.recipient_id)
            .bind(queue_id)
            .execute(tx.conn())
            .await?;
        }
        let (open,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM queue_recipients WHERE queue_id = $1 \
             AND status IN ('pending', 'deferred')",
        )
        .bind(queue_id)
        .fetch_one(tx.conn())
        .await?;
        let removed = if open == 0 {
            tx.remove_queued(queue_id).await?
        } else {
            sqlx::query(
                "UPDATE queue SET next_attempt_at = $1, leased_until = 0, leased_by = NULL WHERE id = $2",
            )
            .bind(next_attempt_at)
            .bind(queue_id)
            .execute(tx.conn())
            .await?;
            false
        };
        tx.commit().await?;
        Ok(removed)
    }

    /// Gives up `worker`'s lease on a message without recording an attempt,
    /// so that another worker may take it at once.
    pub async fn release_lease(&self, queue_id: i64, worker: &str) -> Result<()> {
        self.give_back(Jobs::Queue, queue_id, worker).await
    }

    /// Makes one message (or every message, with `None`) due now, its
    /// deferred recipients included. Returns how many messages.
    pub async fn retry_queued(&self, queue_id: Option<i64>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let updated = tx.retry_queued(queue_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Removes a message from the queue, undelivered; whether it was there.
    pub async fn remove_queued(&self, queue_id: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed = tx.remove_queued(queue_id).await?;
        tx.commit().await?;
        Ok(removed)
    }
}

impl WriteTx {
    /// [`Store::retry_queued`] inside this transaction, so that the caller
    /// can record it in the same commit. The commit wakes the delivery
    /// workers.
    pub async fn retry_queued(&mut self, queue_id: Option<i64>) -> Result<u64> {
        let updated = match queue_id {
            Some(id) => {
                sqlx::query("UPDATE queue SET next_attempt_at = $1 WHERE id = $2")
                    .bind(now())
                    .bind(id)
                    .execute(self.conn())
                    .await?
            }
            None => {
                sqlx::query("UPDATE queue SET next_attempt_at = $1")
                    .bind(now())
                    .execute(self.conn())
                    .await?
            }
        };
        if updated.rows_affected() > 0 {
            self.queue_due = true;
        }
        Ok(updated.rows_affected())
    }

    /// Deletes a queue row (its recipients go with it) and drops its
    /// reference to the body; whether it was there.
    pub async fn remove_queued(&mut self, queue_id: i64) -> Result<bool> {
        let hash: Option<(String,)> =
            sqlx::query_as("DELETE FROM queue WHERE id = $1 RETURNING blob_hash")
                .bind(queue_id)
                .fetch_optional(self.conn())
                .await?;
        let Some((hash,)) = hash else {
            return Ok(false);
        };
        let mut refs = BlobRefs::default();
        refs.add(&hash);
        self.release_blobs(&refs).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::store::{NewMessage, Outbound, OutboundRecipient};
    use crate::store_tests;

    store_tests!(
        leases_exclude_other_workers_until_they_run_out,
        attempts_are_recorded_and_finished_messages_removed,
        removed_messages_release_their_body,
        a_delay_notice_is_claimed_once_by_the_lease_holder,
        the_next_due_time_follows_attempts_and_leases,
        queueing_and_retrying_wake_the_workers,
        queue_stats_count_waiting_messages_and_the_oldest,
    );

    const HOUR: Duration = Duration::from_secs(3600);

    async fn enqueue(store: &Store, body: &str, recipients: &[&str]) -> i64 {
        let message = NewMessage {
            raw: Arc::from(body.as_bytes()),
            targets: Vec::new(),
            outbound: vec![Outbound {
                sender: "anna@comune.example".to_owned(),
                recipients: recipients
                    .iter()
                    .map(|address| OutboundRecipient {
                        address: (*address).to_owned(),
                        ..OutboundRecipient::default()
                    })
                    .collect(),
                ..Outbound::default()
            }],
            sent_by: None,
        };
        let stored = store.append(message).await.unwrap().unwrap();
        stored.queue_ids[0]
    }

    async fn blobs(store: &Store) -> i64 {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM blobs")
            .fetch_one(store.pool())
            .await
            .unwrap();
        count
    }

    async fn leases_exclude_other_workers_until_they_run_out(store: Store) {
        let first = enqueue(&store, "Subject: 1\r\n\r\n1\r\n", &["a@x.example"]).await;
        let second = enqueue(&store, "Subject: 2\r\n\r\n2\r\n", &["b@x.example"]).await;
        assert_eq!(store.lease_due("w1", 1, HOUR).await.unwrap(), [first]);
        assert_eq!(store.lease_due("w2", 10, HOUR).await.unwrap(), [second]);
        assert!(store.lease_due("w3", 10, HOUR).await.unwrap().is_empty());

        // Only the holder reads the message.
        assert!(store.leased_message(first, "w2").await.unwrap().is_none());
        let leased = store.leased_message(first, "w1").await.unwrap().unwrap();
        assert_eq!(leased.raw, b"Subject: 1\r\n\r\n1\r\n");
        assert_eq!(leased.entry.recipients[0].address, "a@x.example");
        assert_eq!(leased.entry.leased_by.as_deref(), Some("w1"));

        // A lease that ran out (here: one of no time) is anyone's.
        store.release_lease(first, "w1").await.unwrap();
        assert_eq!(
            store.lease_due("w3", 10, Duration::ZERO).await.unwrap(),
            [first]
        );
        assert_eq!(store.lease_due("w4", 10, HOUR).await.unwrap(), [first]);
        // The worker that lost it records nothing.
        let result = RecipientResult {
            recipient_id: leased.entry.recipients[0].id,
            outcome: RecipientOutcome::Delivered,
            reply: "250 ok".to_owned(),
        };
        assert!(
            !store
                .record_attempt(first, "w1", &[result], 0)
                .await
                .unwrap()
        );
        let entry = store.queue_entry(first).await.unwrap().unwrap();
        assert_eq!(entry.recipients[0].status, "pending");
        assert_eq!(entry.leased_by.as_deref(), Some("w4"));
    }

    async fn attempts_are_recorded_and_finished_messages_removed(store: Store) {
        let id = enqueue(
            &store,
            "Subject: s\r\n\r\nbody\r\n",
            &["a@x.example", "b@y.example"],
        )
        .await;
        assert_eq!(blobs(&store).await, 1);
        assert_eq!(store.lease_due("w", 10, HOUR).await.unwrap(), [id]);
        let leased = store.leased_message(id, "w").await.unwrap().unwrap();
        let (a, b) = (&leased.entry.recipients[0], &leased.entry.recipients[1]);
        let later = now() + 3600;
        let results = [
            RecipientResult {
                recipient_id: a.id,
                outcome: RecipientOutcome::Delivered,
                reply: "250 2.0.0 ok".to_owned(),
            },
            RecipientResult {
                recipient_id: b.id,
                outcome: RecipientOutcome::Deferred,
                reply: "451 4.3.0 try later".to_owned(),
            },
        ];
        assert!(
            !store
                .record_attempt(id, "w", &results, later)
                .await
                .unwrap()
        );
        let entry = store.queue_entry(id).await.unwrap().unwrap();
        assert_eq!(entry.next_attempt_at, later);
        assert_eq!(entry.leased_by, None);
        let states: Vec<(&str, i64, Option<&str>)> = entry
            .recipients
            .iter()
            .map(|r| (r.status.as_str(), r.attempts, r.last_reply.as_deref()))
            .collect();
        assert_eq!(
            states,
            [
                ("delivered", 1, Some("250 2.0.0 ok")),
                ("deferred", 1, Some("451 4.3.0 try later"))
            ]
        );
        assert_eq!(
            store.queue_entries().await.unwrap(),
            std::slice::from_ref(&entry)
        );

        // Not due yet, until an operator asks for a retry.
        assert!(store.lease_due("w", 10, HOUR).await.unwrap().is_empty());
        assert_eq!(store.retry_queued(Some(id)).await.unwrap(), 1);
        assert_eq!(store.lease_due("w", 10, HOUR).await.unwrap(), [id]);
        let failed = RecipientResult {
            recipient_id: entry.recipients[1].id,
            outcome: RecipientOutcome::Failed,
            reply: "550 5.1.1 no such user".to_owned(),
        };
        assert!(
            store
                .record_attempt(id, "w", &[failed], later)
                .await
                .unwrap()
        );
        assert!(store.queue_entry(id).await.unwrap().is_none());
        assert!(store.queued_recipients().await.unwrap().is_empty());
        assert_eq!(blobs(&store).await, 0);
    }

    async fn removed_messages_release_their_body(store: Store) {
        let first = enqueue(&store, "Subject: same\r\n\r\nsame\r\n", &["a@x.example"]).await;
        let second = enqueue(&store, "Subject: same\r\n\r\nsame\r\n", &["b@x.example"]).await;
        assert_eq!(blobs(&store).await, 1, "one body for both");
        assert!(store.remove_queued(first).await.unwrap());
        assert!(!store.remove_queued(first).await.unwrap());
        assert_eq!(blobs(&store).await, 1, "still used by the second");
        assert_eq!(store.retry_queued(None).await.unwrap(), 1);
        assert!(store.remove_queued(second).await.unwrap());
        assert_eq!(blobs(&store).await, 0);
    }

    async fn a_delay_notice_is_claimed_once_by_the_lease_holder(store: Store) {
        let id = enqueue(&store, "Subject: d\r\n\r\nd\r\n", &["a@x.example"]).await;
        assert_eq!(store.lease_due("w", 10, HOUR).await.unwrap(), [id]);
        let leased = store.leased_message(id, "w").await.unwrap().unwrap();
        assert_eq!(leased.delay_notice_at, None);
        assert!(!store.claim_delay_notice(id, "other").await.unwrap());
        assert!(store.claim_delay_notice(id, "w").await.unwrap());
        assert!(!store.claim_delay_notice(id, "w").await.unwrap(), "twice");
        let leased = store.leased_message(id, "w").await.unwrap().unwrap();
        assert!(leased.delay_notice_at.is_some_and(|at| at <= now()));

        // The mark stays with the message through later attempts.
        let result = RecipientResult {
            recipient_id: leased.entry.recipients[0].id,
            outcome: RecipientOutcome::Deferred,
            reply: "451 4.3.0 later".to_owned(),
        };
        store.record_attempt(id, "w", &[result], 0).await.unwrap();
        assert_eq!(store.lease_due("v", 10, HOUR).await.unwrap(), [id]);
        assert!(!store.claim_delay_notice(id, "v").await.unwrap());
        assert_eq!(
            store
                .leased_message(id, "v")
                .await
                .unwrap()
                .unwrap()
                .delay_notice_at,
            leased.delay_notice_at
        );
    }

    async fn the_next_due_time_follows_attempts_and_leases(store: Store) {
        assert_eq!(store.next_due().await.unwrap(), None);
        let before = now();
        let id = enqueue(&store, "Subject: n\r\n\r\nn\r\n", &["a@x.example"]).await;
        let due = store.next_due().await.unwrap().unwrap();
        assert!((before..=now()).contains(&due), "due at once: {due}");

        // Leased: not due before the lease runs out.
        assert_eq!(store.lease_due("w", 10, HOUR).await.unwrap(), [id]);
        let entry = store.queue_entry(id).await.unwrap().unwrap();
        assert_eq!(store.next_due().await.unwrap(), Some(entry.leased_until));

        let later = now() + 600;
        let result = RecipientResult {
            recipient_id: entry.recipients[0].id,
            outcome: RecipientOutcome::Deferred,
            reply: "451 4.3.0 later".to_owned(),
        };
        store
            .record_attempt(id, "w", &[result], later)
            .await
            .unwrap();
        assert_eq!(store.next_due().await.unwrap(), Some(later));
        let sooner = enqueue(&store, "Subject: m\r\n\r\nm\r\n", &["b@x.example"]).await;
        assert!(store.next_due().await.unwrap().unwrap() < later);
        assert!(store.remove_queued(sooner).await.unwrap());
        assert_eq!(store.next_due().await.unwrap(), Some(later));
    }

    async fn queueing_and_retrying_wake_the_workers(store: Store) {
        const SOON: Duration = Duration::from_secs(5);
        const QUIET: Duration = Duration::from_millis(500);
        let mut watch = store.watch_queue();
        let id = enqueue(&store, "Subject: w\r\n\r\nw\r\n", &["a@x.example"]).await;
        tokio::time::timeout(SOON, watch.changed())
            .await
            .expect("queueing woke nobody");

        // Taking and recording attempts wakes nobody: the worker knows.
        assert_eq!(store.lease_due("w", 10, HOUR).await.unwrap(), [id]);
        let entry = store.queue_entry(id).await.unwrap().unwrap();
        let result = RecipientResult {
            recipient_id: entry.recipients[0].id,
            outcome: RecipientOutcome::Deferred,
            reply: "451 4.3.0 later".to_owned(),
        };
        store
            .record_attempt(id, "w", &[result], now() + 600)
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(QUIET, watch.changed()).await.is_err(),
            "an attempt woke the workers"
        );

        // A rolled-back retry wakes nobody; a committed one does.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.retry_queued(Some(id)).await.unwrap(), 1);
        drop(tx);
        assert!(
            tokio::time::timeout(QUIET, watch.changed()).await.is_err(),
            "a rolled-back retry woke the workers"
        );
        assert_eq!(store.retry_queued(Some(id)).await.unwrap(), 1);
        tokio::time::timeout(SOON, watch.changed())
            .await
            .expect("a retry woke nobody");
    }

    async fn queue_stats_count_waiting_messages_and_the_oldest(store: Store) {
        let none = QueueStats {
            messages: 0,
            oldest_created_at: None,
        };
        assert_eq!(store.queue_stats().await.unwrap(), none);
        let first = enqueue(&store, "Subject: 1\r\n\r\n1\r\n", &["a@x.example"]).await;
        let second = enqueue(&store, "Subject: 2\r\n\r\n2\r\n", &["b@x.example"]).await;
        let first_created = store.queue_entry(first).await.unwrap().unwrap().created_at;
        let stats = store.queue_stats().await.unwrap();
        assert_eq!(stats.messages, 2);
        assert_eq!(stats.oldest_created_at, Some(first_created));

        // Delivered, the first message leaves the queue and the count.
        assert_eq!(store.lease_due("w", 1, HOUR).await.unwrap(), [first]);
        let leased = store.leased_message(first, "w").await.unwrap().unwrap();
        let delivered = RecipientResult {
            recipient_id: leased.entry.recipients[0].id,
            outcome: RecipientOutcome::Delivered,
            reply: "250 2.0.0 ok".to_owned(),
        };
        assert!(
            store
                .record_attempt(first, "w", &[delivered], 0)
                .await
                .unwrap()
        );
        let second_created = store.queue_entry(second).await.unwrap().unwrap().created_at;
        assert_eq!(
            store.queue_stats().await.unwrap(),
            QueueStats {
                messages: 1,
                oldest_created_at: Some(second_created),
            }
        );
        assert!(store.remove_queued(second).await.unwrap());
        assert_eq!(store.queue_stats().await.unwrap(), none);
    }
}

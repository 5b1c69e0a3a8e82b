//! Appending messages, with group commit.
//!
//! Every append is a durable commit, and a commit costs a disk flush. To
//! keep that cost from bounding throughput, appends go to a writer task
//! that takes every append waiting at that moment and commits them together:
//! one flush for the batch, and each caller is answered only after it.
//! If a batch fails, its appends are retried one by one, so one bad append
//! cannot fail the others.

use std::sync::{Arc, Weak};
use std::time::Instant;

use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::mime;

use super::counters::Tally;
use super::direct::Sql;
use super::sending::SentBy;
use super::writer_thread::WriterThread;
use super::{
    Change, ChangeKind, Flags, Inner, Keywords, Result, Store, StoreError, WriteTx, is_transient,
};

/// Most appends in one commit.
const MAX_BATCH: usize = 256;
/// Most message bytes in one commit.
const MAX_BATCH_BYTES: usize = 32 << 20;
/// How often a batch that raced another transaction is run again.
const MAX_ATTEMPTS: u32 = 3;
/// Appends waiting for a writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 1024;
/// Batches committing at once on PostgreSQL.
const POSTGRES_WRITERS: usize = 4;

/// A message to store, once, into folders and/or the outbound queue. It is
/// stored everywhere or nowhere: one refused target refuses the message.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub raw: Arc<[u8]>,
    pub targets: Vec<AppendTarget>,
    /// Queue entries for other servers, each with its own envelope sender.
    pub outbound: Vec<Outbound>,
    /// The mailbox that sent it, counted against its sending limits.
    pub sent_by: Option<SentBy>,
}

impl NewMessage {
    /// A message for folders only.
    pub fn to_folders(raw: Arc<[u8]>, targets: Vec<AppendTarget>) -> NewMessage {
        NewMessage {
            raw,
            targets,
            outbound: Vec::new(),
            sent_by: None,
        }
    }
}

/// The envelope of a message queued for other servers.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    /// The envelope sender; empty for the null sender.
    pub sender: String,
    /// DSN ENVID and RET (RFC 3461), as given.
    pub envid: Option<String>,
    pub ret: Option<String>,
    pub recipients: Vec<OutboundRecipient>,
}

#[derive(Debug, Clone, Default)]
pub struct OutboundRecipient {
    pub address: String,
    /// DSN ORCPT and NOTIFY (RFC 3461), as given.
    pub orcpt: Option<String>,
    pub notify: Option<String>,
}

/// One folder a message goes into, with the state it starts with there.
#[derive(Debug, Clone)]
pub struct AppendTarget {
    pub folder_id: i64,
    pub flags: Flags,
    pub keywords: Keywords,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// Where it was copied from, for a message moved in from another
    /// server: recorded in the same commit (see [`Origin`]).
    pub origin: Option<Origin>,
}

impl AppendTarget {
    /// A new, unflagged message received now.
    pub fn new(folder_id: i64) -> AppendTarget {
        AppendTarget {
            folder_id,
            flags: Flags::default(),
            keywords: Keywords::default(),
            internal_date: super::now(),
            origin: None,
        }
    }
}

/// A message's place on the server it was copied from. A folder holds at
/// most one message per origin: the commit that would store a second one
/// fails, so two runs of a migration at once cannot duplicate either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The source folder's name, as the source spells it.
    pub folder: String,
    pub uidvalidity: i64,
    pub uid: i64,
}

/// Where a message landed in one folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub folder_id: i64,
    pub uid: i64,
    pub modseq: i64,
}

/// Where a whole message landed: one entry per target, in order, and one
/// queue entry per outbound part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub appended: Vec<Appended>,
    pub queue_ids: Vec<i64>,
}

/// A target's space and UID, taken but not yet filled.
struct Reserved {
    appended: Appended,
    account_id: i64,
}

/// Whose space a folder's messages use, and how much room the domain has.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct Owner {
    pub account_id: i64,
    pub address: String,
    pub domain: String,
    /// The domain's quota, 0 for none.
    pub domain_quota: i64,
    /// The domain's usage, the sum of its mailboxes'; only read (as 0
    /// otherwise) when the domain has a quota.
    pub domain_used: i64,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("mailbox {0} is over its quota")]
    AccountOverQuota(String),
    #[error("domain {0} is over its quota")]
    DomainOverQuota(String),
    #[error("folder {0} does not exist")]
    NoSuchFolder(i64),
}

pub type Outcome = std::result::Result<Stored, Refusal>;

struct Job {
    message: NewMessage,
    hash: String,
    /// Where the body was written, when bodies are kept outside the
    /// database.
    location: Option<String>,
    /// The description FETCH and SEARCH read, for messages going to folders.
    described: Option<Described>,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// A message's parse cache, in the form its columns hold.
struct Described {
    envelope: String,
    body_structure: String,
    subject: String,
    sent_at: Option<i64>,
    sent_zone: i64,
    sort_keys: String,
}

/// A message ready for the writer.
#[derive(Clone, Copy)]
struct Prepared<'a> {
    message: &'a NewMessage,
    hash: &'a str,
    location: Option<&'a str>,
    described: Option<&'a Described>,
}

impl Job {
    fn prepared(&self) -> Prepared<'_> {
        Prepared {
            message: &self.message,
            hash: &self.hash,
            location: self.location.as_deref(),
            described: self.described.as_ref(),
        }
    }
}

/// Messages larger than this are parsed off the async threads.
const PARSE_INLINE: usize = 256 * 1024;

impl Described {
    /// Parses `raw` once; the one place delivered mail is parsed for IMAP.
    async fn of(raw: &Arc<[u8]>) -> Described {
        let describe = |raw: &[u8]| {
            let parsed = mime::parse(raw);
            Described {
                // Plain data: serialising cannot fail.
                envelope: serde_json::to_string(&parsed.envelope).unwrap_or_default(),
                body_structure: serde_json::to_string(&parsed.structure).unwrap_or_default(),
                subject: parsed.subject,
                sent_at: parsed.sent_at,
                sent_zone: parsed.sent_zone,
                sort_keys: serde_json::to_string(&parsed.keys).unwrap_or_default(),
            }
        };
        if raw.len() <= PARSE_INLINE {
            return describe(raw);
        }
        let owned = raw.clone();
        match tokio::task::spawn_blocking(move || describe(&owned)).await {
            Ok(described) => described,
            // The parser panicked: store the message undescribed, FETCH
            // describes it from its bytes.
            Err(_) => Described {
                envelope: String::new(),
                body_structure: String::new(),
                subject: String::new(),
                sent_at: None,
                sent_zone: 0,
                sort_keys: String::new(),
            },
        }
    }
}

pub(super) struct Handle {
    jobs: mpsc::Sender<Job>,
}

impl Handle {
    /// Starts the writers: on SQLite's writer thread, one, since SQLite has
    /// one writer at a time anyway; without one (PostgreSQL), several, as
    /// batches for different mailboxes lock different rows and their
    /// commits' flushes overlap.
    pub(super) fn spawn(store: Weak<Inner>, thread: Option<&WriterThread>) -> Handle {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let queue = Arc::new(Mutex::new(queue));
        match thread {
            Some(thread) => thread.spawn(write_batches(store, queue)),
            None => {
                for _ in 0..POSTGRES_WRITERS {
                    tokio::spawn(write_batches(store.clone(), queue.clone()));
                }
            }
        }
        Handle { jobs }
    }
}

/// Takes every append waiting (up to a batch) and commits them together,
/// until the store is gone. Writers take turns at the queue, not at the
/// database.
async fn write_batches(store: Weak<Inner>, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut bytes = first.message.raw.len();
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                let Ok(job) = queue.try_recv() else { break };
                bytes += job.message.raw.len();
                batch.push(job);
            }
            batch
        };
        let Some(inner) = store.upgrade() else { return };
        Store { inner }.write_batch(batch).await;
    }
}

impl Store {
    /// Stores a message and returns once it is durably committed: its
    /// body first, where bodies are kept, then its rows.
    pub async fn append(&self, message: NewMessage) -> Result<Outcome> {
        let started = Instant::now();
        let (job, answer) = self.prepare(message).await?;
        let location = job.location.clone();
        self.inner
            .appender
            .jobs
            .send(job)
            .await
            .map_err(|_| StoreError::WriterGone)?;
        let outcome = answer.await.map_err(|_| StoreError::WriterGone)?;
        crate::metrics::append_took(started.elapsed());
        self.finish(location, outcome).await
    }

    /// Stores messages in one commit, in their order (so their UIDs in a
    /// folder follow it), and returns each one's outcome once durable; if
    /// the commit fails they are stored one by one, as batched appends are.
    /// For bulk imports, which want their messages in order and need not
    /// share commits with other writers; keep a call to a few hundred
    /// messages and some megabytes, which are in memory at once.
    pub async fn append_in_order(&self, messages: Vec<NewMessage>) -> Vec<Result<Outcome>> {
        let prepared =
            futures_util::future::join_all(messages.into_iter().map(|m| self.prepare(m))).await;
        let mut jobs = Vec::with_capacity(prepared.len());
        // Each message's answer, or why it never got as far as a job.
        let mut answers = Vec::with_capacity(prepared.len());
        for result in prepared {
            match result {
                Ok((job, answer)) => {
                    answers.push(Ok((job.location.clone(), answer)));
                    jobs.push(job);
                }
                Err(err) => answers.push(Err(err)),
            }
        }
        if !jobs.is_empty() {
            let store = self.clone();
            // The jobs carry their own answers, which are read below.
            let _ = self
                .on_writer_thread(async move {
                    store.write_batch(jobs).await;
                    Ok(())
                })
                .await;
        }
        let mut outcomes = Vec::with_capacity(answers.len());
        for answer in answers {
            outcomes.push(match answer {
                Ok((location, answer)) => match answer.await {
                    Ok(outcome) => self.finish(location, outcome).await,
                    Err(_) => Err(StoreError::WriterGone),
                },
                Err(err) => Err(err),
            });
        }
        outcomes
    }

    /// Hashes and parses a message and writes its body where bodies are
    /// kept: a job for the writer, and where its answer will come.
    async fn prepare(
        &self,
        message: NewMessage,
    ) -> Result<(Job, oneshot::Receiver<Result<Outcome>>)> {
        let hash = hex::encode(Sha256::digest(&message.raw));
        let stored_anywhere = !message.targets.is_empty() || !message.outbound.is_empty();
        let (described, location) = tokio::try_join!(
            async {
                Ok::<_, StoreError>(match message.targets.is_empty() {
                    true => None,
                    false => Some(Described::of(&message.raw).await),
                })
            },
            async {
                match stored_anywhere {
                    true => Ok(self.inner.blobs.put(&hash, message.raw.clone()).await?),
                    false => Ok(None),
                }
            }
        )?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            message,
            hash,
            location,
            described,
            reply,
        };
        Ok((job, answer))
    }

    /// Passes on a job's outcome. The body of a refused message is deleted
    /// at once. After an error the commit may still have happened (a
    /// connection lost during it), so the body is left to the collector,
    /// which deletes it as an orphan if no row names it.
    async fn finish(&self, location: Option<String>, outcome: Result<Outcome>) -> Result<Outcome> {
        if let Some(location) = location.filter(|_| matches!(outcome, Ok(Err(_)))) {
            self.discard_body(&location).await;
        }
        outcome
    }

    /// Deletes the body of a message refused, where bodies are kept.
    async fn discard_body(&self, location: &str) {
        if let Err(err) = self.inner.blobs.delete(location).await {
            tracing::warn!(location, error = %err, "cannot delete the body of a message not stored");
        }
    }

    async fn write_batch(&self, batch: Vec<Job>) {
        let messages: Vec<Prepared<'_>> = batch.iter().map(Job::prepared).collect();
        match self.commit_appends(&messages).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(err) if batch.len() > 1 => {
                tracing::warn!(error = %err, appends = batch.len(), "batched append failed, retrying one by one");
                for job in batch {
                    let result = self
                        .commit_appends(&[job.prepared()])
                        .await
                        // One message in, one outcome out.
                        .map(|mut outcomes| outcomes.remove(0));
                    let _ = job.reply.send(result);
                }
            }
            Err(err) => {
                if let Some(job) = batch.into_iter().next() {
                    let _ = job.reply.send(Err(err));
                }
            }
        }
    }

    async fn commit_appends(&self, messages: &[Prepared<'_>]) -> Result<Vec<Outcome>> {
        retrying(|| async {
            let mut tx = self.begin_appends(messages).await?;
            let mut outcomes = Vec::with_capacity(messages.len());
            for prepared in messages {
                outcomes.push(tx.append(*prepared).await?);
            }
            tx.commit().await?;
            Ok(outcomes)
        })
        .await
    }

    /// Stores messages all or none (IMAP MULTIAPPEND, RFC 3502 §6.3.11):
    /// one commit, in their order, so that their UIDs in a folder follow
    /// it; the first refusal refuses them all and stores nothing.
    pub async fn append_all(
        &self,
        messages: Vec<NewMessage>,
    ) -> Result<std::result::Result<Vec<Stored>, Refusal>> {
        let started = Instant::now();
        let prepared =
            futures_util::future::try_join_all(messages.into_iter().map(|m| self.prepare(m)))
                .await?;
        let jobs: Vec<Job> = prepared.into_iter().map(|(job, _)| job).collect();
        let locations: Vec<String> = jobs.iter().filter_map(|j| j.location.clone()).collect();
        let store = self.clone();
        let outcome = self
            .on_writer_thread(async move {
                let messages: Vec<Prepared<'_>> = jobs.iter().map(Job::prepared).collect();
                retrying(|| async {
                    let mut tx = store.begin_appends(&messages).await?;
                    let mut stored = Vec::with_capacity(messages.len());
                    for prepared in &messages {
                        match tx.append(*prepared).await? {
                            Ok(one) => stored.push(one),
                            // Dropping the transaction rolls back those
                            // already written.
                            Err(refusal) => return Ok(Err(refusal)),
                        }
                    }
                    tx.commit().await?;
                    Ok(Ok(stored))
                })
                .await
            })
            .await;
        crate::metrics::append_took(started.elapsed());
        if matches!(outcome, Ok(Err(_))) {
            for location in &locations {
                self.discard_body(location).await;
            }
        }
        outcome
    }

    /// A transaction with the folders of `messages` locked.
    async fn begin_appends(&self, messages: &[Prepared<'_>]) -> Result<WriteTx> {
        let folders: Vec<i64> = messages
            .iter()
            .flat_map(|p| p.message.targets.iter().map(|t| t.folder_id))
            .collect();
        let mut tx = self.begin().await?;
        tx.lock_folders(&folders).await?;
        Ok(tx)
    }
}

/// Runs a commit again when it raced another transaction.
async fn retrying<T, F, Fut>(mut commit: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match commit().await {
            Err(err) if attempt < MAX_ATTEMPTS && is_transient(&err) => attempt += 1,
            other => return other,
        }
    }
}

impl WriteTx {
    async fn append(&mut self, prepared: Prepared<'_>) -> Result<Outcome> {
        let Prepared {
            message,
            hash,
            location,
            described,
        } = prepared;
        let size = message.raw.len() as i64;
        // All or nothing: every target's space is charged before any UID
        // is taken, and what was charged is given back on a refusal.
        let mut owners = Vec::with_capacity(message.targets.len());
        for target in &message.targets {
            let charged = match self.owner(target.folder_id).await? {
                Some(owner) => self.charge_owner(&owner, size).await?.map(|()| owner),
                None => Err(Refusal::NoSuchFolder(target.folder_id)),
            };
            match charged {
                Ok(owner) => owners.push(owner.account_id),
                Err(refusal) => {
                    for &account_id in &owners {
                        self.charge_account(account_id, -size).await?;
                    }
                    return Ok(Err(refusal));
                }
            }
        }
        let mut reserved = Vec::with_capacity(owners.len());
        for (target, account_id) in message.targets.iter().zip(owners) {
            let added = Tally::of(target.flags, size);
            let touched = self
                .touch_folder(target.folder_id, 1, added, &target.keywords)
                .await?;
            reserved.push(Reserved {
                appended: Appended {
                    folder_id: target.folder_id,
                    uid: touched.first_uid,
                    modseq: touched.modseq,
                },
                account_id,
            });
        }
        let references = reserved.len() + message.outbound.len();
        if references == 0 {
            return Ok(Ok(Stored::default()));
        }
        // A body kept elsewhere has an empty `data`. One already stored
        // keeps its own location: the copy just written is not needed.
        let data = match location {
            Some(_) => &[][..],
            None => &message.raw[..],
        };
        let (kept,): (Option<String>,) = sqlx::query_as(
            "INSERT INTO blobs (hash, size, refcount, data, location) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + excluded.refcount \
             RETURNING location",
        )
        .bind(hash)
        .bind(size)
        .bind(references as i64)
        .bind(data)
        .bind(location)
        .fetch_one(self.conn())
        .await?;
        if let Some(unused) = location.filter(|&ours| kept.as_deref() != Some(ours)) {
            self.trash_blobs(&[unused.to_string()]).await?;
        }
        let mut stored = Stored::default();
        for (target, r) in message.targets.iter().zip(reserved) {
            let Appended {
                folder_id,
                uid,
                modseq,
            } = r.appended;
            let text = |pick: fn(&Described) -> &str| described.map(pick).filter(|s| !s.is_empty());
            sqlx::query(
                "INSERT INTO messages (folder_id, uid, blob_hash, size, internal_date, flags, keywords, modseq, \
                 envelope, body_structure, subject, sent_at, sent_zone, saved_at, sort_keys) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(folder_id)
            .bind(uid)
            .bind(hash)
            .bind(size)
            .bind(target.internal_date)
            .bind(target.flags)
            .bind(&target.keywords)
            .bind(modseq)
            .bind(text(|d| &d.envelope))
            .bind(text(|d| &d.body_structure))
            .bind(described.map(|d| d.subject.as_str()))
            .bind(described.and_then(|d| d.sent_at))
            .bind(described.map_or(0, |d| d.sent_zone))
            .bind(super::now())
            .bind(text(|d| &d.sort_keys))
            .execute(self.conn())
            .await?;
            if let Some(origin) = &target.origin {
                self.record_origin(folder_id, origin).await?;
            }
            self.announce(Change {
                account_id: r.account_id,
                folder_id,
                kind: ChangeKind::Appended,
                modseq,
            });
            stored.appended.push(r.appended);
        }
        for outbound in &message.outbound {
            stored.queue_ids.push(self.enqueue(outbound, hash).await?);
        }
        if let Some(sent) = &message.sent_by {
            self.record_sending(sent).await?;
        }
        Ok(Ok(stored))
    }

    /// The account and domain a folder belongs to.
    pub(super) async fn owner(&mut self, folder_id: i64) -> Result<Option<Owner>> {
        Ok(sqlx::query_as(
            "SELECT a.id AS account_id, a.address, d.name AS domain, d.quota_bytes AS domain_quota, \
             CASE WHEN d.quota_bytes = 0 THEN 0 ELSE \
             CAST((SELECT SUM(o.used_bytes) FROM accounts o WHERE o.domain_id = d.id) AS BIGINT) END \
             AS domain_used \
             FROM folders f JOIN accounts a ON a.id = f.account_id JOIN domains d ON d.id = a.domain_id \
             WHERE f.id = $1",
        )
        .bind(folder_id)
        .fetch_optional(self.conn())
        .await?)
    }

    /// Charges `size` bytes to an account if it and its domain have room.
    /// The account's room is checked by the update that charges it; the
    /// domain's, which is the sum of its mailboxes', is read without a lock,
    /// so concurrent writers to one comune may pass its quota by what they
    /// store at the same moment, never more.
    pub(super) async fn charge_owner(
        &mut self,
        owner: &Owner,
        size: i64,
    ) -> Result<Result<(), Refusal>> {
        if !self.charge_account(owner.account_id, size).await? {
            return Ok(Err(Refusal::AccountOverQuota(owner.address.clone())));
        }
        if owner.domain_quota > 0 && size > 0 && owner.domain_used + size > owner.domain_quota {
            self.charge_account(owner.account_id, -size).await?;
            return Ok(Err(Refusal::DomainOverQuota(owner.domain.clone())));
        }
        Ok(Ok(()))
    }

    /// Puts a message in the outbound queue, due at once: the commit wakes
    /// the delivery workers.
    async fn enqueue(&mut self, outbound: &Outbound, hash: &str) -> Result<i64> {
        let now = super::now();
        self.queue_due = true;
        let (queue_id,): (i64,) = sqlx::query_as(
            "INSERT INTO queue (blob_hash, sender, envid, ret, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(hash)
        .bind(&outbound.sender)
        .bind(outbound.envid.as_deref())
        .bind(outbound.ret.as_deref())
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        for recipient in &outbound.recipients {
            sqlx::query(
                "INSERT INTO queue_recipients (queue_id, address, orcpt, notify, updated_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(queue_id)
            .bind(&recipient.address)
            .bind(recipient.orcpt.as_deref())
            .bind(recipient.notify.as_deref())
            .bind(now)
            .execute(self.conn())
            .await?;
        }
        Ok(queue_id)
    }

    /// Adds `delta` bytes to an account's usage; a positive delta only if it
    /// stays within the quota. Returns whether it did.
    pub(super) async fn charge_account(&mut self, account_id: i64, delta: i64) -> Result<bool> {
        let charge = Sql::new(
            "UPDATE accounts SET used_bytes = used_bytes + $1 \
             WHERE id = $2 AND ($1 <= 0 OR quota_bytes = 0 OR used_bytes + $1 <= quota_bytes)",
        )
        .bind(delta)
        .bind(account_id);
        Ok(self.run(charge).await? == 1)
    }
}

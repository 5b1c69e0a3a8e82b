//! Lessons for rspamd's Bayes classifier from what users file over IMAP: a
//! message moved or copied into Junk is spam, one taken out of Junk (into
//! any folder but Trash) is ham.
//!
//! COPY and MOVE record the lesson in their own transaction, one job per
//! body; learning workers lease due jobs (see [`super::lease`]), teach
//! rspamd, and then delete the job, or record a failed attempt and when to
//! try again. A job holds a reference to its body, so that the body is
//! still there when the message is expunged before rspamd has learned it.
//! Filing a body again while its job waits replaces the lesson: the user's
//! last word counts, and rspamd learns each message once.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use sqlx::{AssertSqlSafe, FromRow};

use super::blob_refs::BlobRefs;
use super::in_list::{BindEach, MAX_IN_LIST, placeholders};
use super::lease::Jobs;
use super::{Result, SpecialUse, Store, WriteTx, now};

/// What filing a message teaches rspamd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lesson {
    Spam,
    Ham,
}

impl Lesson {
    /// What moving or copying a message from a folder of special use
    /// `from` into one of special use `to` teaches: spam when it goes into
    /// Junk from elsewhere, ham when it leaves Junk for anywhere but Trash
    /// (deleting spam says nothing about it), else nothing.
    pub fn of_filing(from: Option<SpecialUse>, to: Option<SpecialUse>) -> Option<Lesson> {
        let junk = Some(SpecialUse::Junk);
        match (from == junk, to == junk) {
            (false, true) => Some(Lesson::Spam),
            (true, false) if to != Some(SpecialUse::Trash) => Some(Lesson::Ham),
            _ => None,
        }
    }

    /// `spam` or `ham`, as stored and as metrics and logs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Lesson::Spam => "spam",
            Lesson::Ham => "ham",
        }
    }
}

impl fmt::Display for Lesson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored lesson that is neither `spam` nor `ham`.
#[derive(Debug, thiserror::Error)]
#[error("unknown lesson `{0}`")]
pub struct UnknownLesson(String);

impl TryFrom<String> for Lesson {
    type Error = UnknownLesson;

    fn try_from(text: String) -> std::result::Result<Lesson, UnknownLesson> {
        match text.as_str() {
            "spam" => Ok(Lesson::Spam),
            "ham" => Ok(Lesson::Ham),
            _ => Err(UnknownLesson(text)),
        }
    }
}

/// A leased learning job with what teaching it needs.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LearningJob {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub lesson: Lesson,
    /// Who filed the message.
    pub account_id: i64,
    /// When it was filed, Unix seconds.
    pub created_at: i64,
    /// Failed attempts before this one.
    pub attempts: i64,
    /// The stored message.
    pub raw: Vec<u8>,
}

/// A job as its row gives it: the body may be kept outside the database.
#[derive(FromRow)]
struct LearningRow {
    #[sqlx(flatten)]
    job: LearningJob,
    location: Option<String>,
}

impl WriteTx {
    /// Records what filing messages teaches: those now at `uids` in folder
    /// `target`, moved or copied there from folder `source` (of the same
    /// account). Returns the lesson, if the two folders' special uses give
    /// one.
    pub async fn learn_from_filing(
        &mut self,
        source: i64,
        target: i64,
        uids: &[i64],
    ) -> Result<Option<Lesson>> {
        let folders: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, account_id, special_use FROM folders WHERE id = $1 OR id = $2",
        )
        .bind(source)
        .bind(target)
        .fetch_all(self.conn())
        .await?;
        let special_use = |id: i64| {
            folders
                .iter()
                .find(|(folder, _, _)| *folder == id)
                .and_then(|(_, _, special)| special.as_deref())
                .and_then(SpecialUse::from_attribute)
        };
        let Some(lesson) = Lesson::of_filing(special_use(source), special_use(target)) else {
            return Ok(None);
        };
        let Some(&(_, account_id, _)) = folders.iter().find(|(id, _, _)| *id == target) else {
            return Ok(None);
        };
        let hashes = self.bodies(target, uids).await?;
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        // Bodies are locked before their jobs, in hash order: otherwise a
        // writer holding a body's lock (a COPY of it) could wait for a job
        // held by another writer that waits for that body.
        self.lock_blobs(&hashes).await?;
        let now = now();
        let mut added = BlobRefs::default();
        for chunk in hashes.chunks(MAX_IN_LIST) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, $1, $2, $3, $3)", i + 4))
                .collect();
            let sql = format!(
                "INSERT INTO learning_jobs (blob_hash, lesson, account_id, created_at, \
                 next_attempt_at) VALUES {} ON CONFLICT (blob_hash) DO NOTHING RETURNING blob_hash",
                rows.join(", ")
            );
            let query = sqlx::query_as::<_, (String,)>(AssertSqlSafe(sql))
                .bind(lesson.as_str())
                .bind(account_id)
                .bind(now)
                .bind_each(chunk.iter().copied());
            for (hash,) in query.fetch_all(self.conn()).await? {
                added.add(&hash);
            }
        }
        self.hold_blobs(&added).await?;
        // A body already waiting to be taught the other lesson is taught
        // this one instead, from scratch; one a worker holds is taken back
        // from it, so that it does not record the old lesson as done.
        for chunk in hashes.chunks(MAX_IN_LIST) {
            let sql = format!(
                "UPDATE learning_jobs SET lesson = $1, account_id = $2, created_at = $3, \
                 next_attempt_at = $3, attempts = 0, last_error = NULL, leased_until = 0, \
                 leased_by = NULL WHERE lesson <> $1 AND blob_hash IN ({})",
                placeholders(4, chunk.len())
            );
            let query = sqlx::query(AssertSqlSafe(sql))
                .bind(lesson.as_str())
                .bind(account_id)
                .bind(now)
                .bind_each(chunk.iter().copied());
            query.execute(self.conn()).await?;
        }
        Ok(Some(lesson))
    }

    /// The distinct bodies of messages `uids` of a folder, in hash order.
    async fn bodies(&mut self, folder_id: i64, uids: &[i64]) -> Result<BTreeSet<String>> {
        let mut hashes = BTreeSet::new();
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "SELECT blob_hash FROM messages WHERE folder_id = $1 AND uid IN ({})",
                placeholders(2, chunk.len())
            );
            let query = sqlx::query_as::<_, (String,)>(AssertSqlSafe(sql))
                .bind(folder_id)
                .bind_each(chunk);
            hashes.extend(
                query
                    .fetch_all(self.conn())
                    .await?
                    .into_iter()
                    .map(|(h,)| h),
            );
        }
        Ok(hashes)
    }
}

impl Store {
    /// Leases up to `limit` learning jobs that are due and not leased (or
    /// whose lease ran out) to `worker` for `lease`, and returns their ids.
    pub async fn lease_learning(
        &self,
        worker: &str,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<i64>> {
        self.take_leases(Jobs::Learning, worker, limit, lease).await
    }

    /// A learning job leased by `worker`, with its message; `None` if it is
    /// gone or no longer `worker`'s.
    pub async fn leased_learning(&self, id: i64, worker: &str) -> Result<Option<LearningJob>> {
        let row: Option<LearningRow> = sqlx::query_as(
            "SELECT j.id, j.lesson, j.account_id, j.created_at, j.attempts, b.data AS raw, \
             b.location FROM learning_jobs j JOIN blobs b ON b.hash = j.blob_hash \
             WHERE j.id = $1 AND j.leased_by = $2",
        )
        .bind(id)
        .bind(worker)
        .fetch_optional(self.pool())
        .await?;
        let Some(LearningRow { mut job, location }) = row else {
            return Ok(None);
        };
        job.raw = self.body(job.raw, location).await?;
        Ok(Some(job))
    }

    /// Deletes a job leased by `worker`, learned or given up, and drops its
    /// reference to the body. Returns whether it did: not if `worker` lost
    /// the lease (the job was filed again meanwhile).
    pub async fn learning_done(&self, id: i64, worker: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let hash: Option<String> = sqlx::query_scalar(
            "SELECT blob_hash FROM learning_jobs WHERE id = $1 AND leased_by = $2",
        )
        .bind(id)
        .bind(worker)
        .fetch_optional(tx.conn())
        .await?;
        let Some(hash) = hash else {
            return Ok(false);
        };
        // The body before its job, as `learn_from_filing` locks them.
        tx.lock_blobs(&[hash.as_str()]).await?;
        let deleted = sqlx::query("DELETE FROM learning_jobs WHERE id = $1 AND leased_by = $2")
            .bind(id)
            .bind(worker)
            .execute(tx.conn())
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        let mut refs = BlobRefs::default();
        refs.add(&hash);
        tx.release_blobs(&refs).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a failed attempt at a job leased by `worker`, with `error`,
    /// and gives the lease up until `next_attempt_at` (Unix seconds).
    /// Returns whether it did: not if `worker` lost the lease.
    pub async fn learning_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE learning_jobs SET attempts = attempts + 1, last_error = $1, \
             next_attempt_at = $2, leased_until = 0, leased_by = NULL \
             WHERE id = $3 AND leased_by = $4",
        )
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .bind(worker)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Gives up `worker`'s lease on a job without recording an attempt, so
    /// that another worker may take it at once.
    pub async fn release_learning(&self, id: i64, worker: &str) -> Result<()> {
        self.give_back(Jobs::Learning, id, worker).await
    }

    /// When the next learning job becomes due, Unix seconds; `None` when
    /// there is none.
    pub async fn next_learning_due(&self) -> Result<Option<i64>> {
        self.next_due_of(Jobs::Learning).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{add_domain, add_mailbox};
    use crate::store::{AppendTarget, Folder, NewMessage};
    use crate::store_tests;

    store_tests!(
        filing_into_and_out_of_junk_records_one_job_per_body,
        a_job_keeps_its_body_after_the_message_is_expunged,
        jobs_are_leased_retried_and_done,
        filing_again_replaces_the_lesson_and_takes_the_lease_back,
    );

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn junk_teaches_spam_in_and_ham_out_but_not_into_trash() {
        use SpecialUse::{Archive, Junk, Trash};
        let cases = [
            (None, Some(Junk), Some(Lesson::Spam)),
            (Some(Archive), Some(Junk), Some(Lesson::Spam)),
            (Some(Trash), Some(Junk), Some(Lesson::Spam)),
            (Some(Junk), None, Some(Lesson::Ham)),
            (Some(Junk), Some(Archive), Some(Lesson::Ham)),
            (Some(Junk), Some(Trash), None),
            (Some(Junk), Some(Junk), None),
            (None, Some(Trash), None),
            (None, None, None),
        ];
        for (from, to, lesson) in cases {
            assert_eq!(Lesson::of_filing(from, to), lesson, "{from:?} -> {to:?}");
        }
    }

    /// Anna's folders by name.
    struct Mailbox {
        store: Store,
        account_id: i64,
    }

    impl Mailbox {
        async fn new(store: &Store) -> Mailbox {
            add_domain(store, "comune.example.it").await;
            let account = add_mailbox(store, "anna@comune.example.it").await;
            Mailbox {
                store: store.clone(),
                account_id: account.id,
            }
        }

        async fn folder(&self, name: &str) -> Folder {
            self.store
                .folder(self.account_id, name)
                .await
                .unwrap()
                .unwrap()
        }

        /// Delivers a message to `folder`; its UID there.
        async fn deliver(&self, folder: &str, text: &str) -> i64 {
            let folder = self.folder(folder).await;
            let raw = format!("Subject: {text}\r\n\r\n{text}\r\n").into_bytes();
            let message = NewMessage::to_folders(raw.into(), vec![AppendTarget::new(folder.id)]);
            self.store.append(message).await.unwrap().unwrap();
            folder.uidnext
        }

        /// Moves (or copies) messages `uids` from one folder to another,
        /// with what that teaches; their UIDs in `to`.
        async fn file(&self, from: &str, uids: &[i64], to: &str, moving: bool) -> FiledAs {
            let (from, to) = (self.folder(from).await.id, self.folder(to).await.id);
            let mut tx = self.store.begin().await.unwrap();
            let map = if moving {
                tx.move_messages(from, uids, to).await.unwrap()
            } else {
                tx.copy_messages(from, uids, to).await.unwrap().unwrap()
            };
            let new_uids: Vec<i64> = map.iter().map(|&(_, uid)| uid).collect();
            let lesson = tx.learn_from_filing(from, to, &new_uids).await.unwrap();
            tx.commit().await.unwrap();
            FiledAs {
                lesson,
                uids: new_uids,
            }
        }
    }

    struct FiledAs {
        lesson: Option<Lesson>,
        uids: Vec<i64>,
    }

    /// Every job as `(lesson, attempts, leased_by)`, oldest first.
    async fn jobs(store: &Store) -> Vec<(String, i64, Option<String>)> {
        sqlx::query_as("SELECT lesson, attempts, leased_by FROM learning_jobs ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap()
    }

    async fn refcounts(store: &Store) -> Vec<i64> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT refcount FROM blobs ORDER BY hash")
            .fetch_all(store.pool())
            .await
            .unwrap();
        rows.into_iter().map(|(count,)| count).collect()
    }

    fn spam(attempts: i64) -> (String, i64, Option<String>) {
        ("spam".to_owned(), attempts, None)
    }

    async fn filing_into_and_out_of_junk_records_one_job_per_body(store: Store) {
        let anna = Mailbox::new(&store).await;
        let first = anna.deliver("INBOX", "prima").await;
        let second = anna.deliver("INBOX", "seconda").await;

        // Neither folder is Junk: nothing to learn.
        let archived = anna.file("INBOX", &[first], "Archive", false).await;
        assert_eq!(archived.lesson, None);
        assert!(jobs(&store).await.is_empty());
        let mut counts = refcounts(&store).await;
        counts.sort_unstable();
        assert_eq!(counts, [1, 2]);

        // Both into Junk, one of them twice over (its copy too): one job
        // per body, each holding it.
        let junk = anna.file("INBOX", &[first, second], "Junk", true).await;
        assert_eq!(junk.lesson, Some(Lesson::Spam));
        anna.file("Archive", &archived.uids, "Junk", true).await;
        assert_eq!(jobs(&store).await, [spam(0), spam(0)]);
        let mut counts = refcounts(&store).await;
        counts.sort_unstable();
        assert_eq!(counts, [2, 3], "two copies of the first, one of the second");

        // Deleting spam teaches nothing; taking it out of Junk teaches ham.
        let trash = anna.file("Junk", &junk.uids[..1], "Trash", true).await;
        assert_eq!(trash.lesson, None);
        let out = anna.file("Junk", &junk.uids[1..], "INBOX", true).await;
        assert_eq!(out.lesson, Some(Lesson::Ham));
        let lessons: Vec<String> = jobs(&store).await.into_iter().map(|j| j.0).collect();
        assert_eq!(lessons.len(), 2);
        assert!(lessons.contains(&"ham".to_owned()), "{lessons:?}");
        assert!(store.usage_drift().await.unwrap().is_empty());
    }

    async fn a_job_keeps_its_body_after_the_message_is_expunged(store: Store) {
        let anna = Mailbox::new(&store).await;
        let uid = anna.deliver("INBOX", "offerta").await;
        let junk = anna.file("INBOX", &[uid], "Junk", true).await;
        let mut tx = store.begin().await.unwrap();
        let folder = anna.folder("Junk").await;
        tx.expunge(folder.id, &junk.uids).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(refcounts(&store).await, [1], "the job's reference");

        let [id] = store.lease_learning("w", 10, HOUR).await.unwrap()[..] else {
            panic!("one job to lease");
        };
        let job = store.leased_learning(id, "w").await.unwrap().unwrap();
        assert_eq!(job.lesson, Lesson::Spam);
        assert_eq!(job.account_id, anna.account_id);
        assert_eq!(job.raw, b"Subject: offerta\r\n\r\nofferta\r\n");
        assert!(store.learning_done(id, "w").await.unwrap());
        assert!(refcounts(&store).await.is_empty(), "the body went with it");
        assert!(jobs(&store).await.is_empty());
    }

    async fn jobs_are_leased_retried_and_done(store: Store) {
        let anna = Mailbox::new(&store).await;
        assert_eq!(store.next_learning_due().await.unwrap(), None);
        for text in ["uno", "due"] {
            let uid = anna.deliver("INBOX", text).await;
            anna.file("INBOX", &[uid], "Junk", false).await;
        }
        let due = store.next_learning_due().await.unwrap().unwrap();
        assert!(due <= now());

        // A lease keeps other workers away until it is given back.
        let first = store.lease_learning("w1", 1, HOUR).await.unwrap();
        let second = store.lease_learning("w2", 10, HOUR).await.unwrap();
        assert_eq!((first.len(), second.len()), (1, 1));
        let (first, second) = (first[0], second[0]);
        assert!(
            store
                .lease_learning("w3", 10, HOUR)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.leased_learning(first, "w2").await.unwrap().is_none());
        store.release_learning(second, "w2").await.unwrap();
        assert_eq!(
            store.lease_learning("w3", 10, HOUR).await.unwrap(),
            [second]
        );

        // A failure is recorded, and the job waits for its next attempt.
        let later = now() + 600;
        assert!(
            !store
                .learning_failed(first, "w2", "refused", later)
                .await
                .unwrap(),
            "not w2's"
        );
        assert!(
            store
                .learning_failed(first, "w1", "connection refused", later)
                .await
                .unwrap()
        );
        assert_eq!(jobs(&store).await[0], spam(1));
        assert!(store.learning_done(second, "w3").await.unwrap());
        assert_eq!(store.next_learning_due().await.unwrap(), Some(later));
        assert!(
            store
                .lease_learning("w1", 10, HOUR)
                .await
                .unwrap()
                .is_empty()
        );
        sqlx::query("UPDATE learning_jobs SET next_attempt_at = 0")
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(store.lease_learning("w1", 10, HOUR).await.unwrap(), [first]);
        let job = store.leased_learning(first, "w1").await.unwrap().unwrap();
        assert_eq!(job.attempts, 1);
        assert!(!store.learning_done(first, "w3").await.unwrap(), "not w3's");
        assert!(store.learning_done(first, "w1").await.unwrap());
        assert!(jobs(&store).await.is_empty());
        assert_eq!(refcounts(&store).await, [2, 2], "each in INBOX and Junk");
    }

    async fn filing_again_replaces_the_lesson_and_takes_the_lease_back(store: Store) {
        let anna = Mailbox::new(&store).await;
        let uid = anna.deliver("INBOX", "newsletter").await;
        let junk = anna.file("INBOX", &[uid], "Junk", true).await;
        let [id] = store.lease_learning("w", 10, HOUR).await.unwrap()[..] else {
            panic!("one job to lease");
        };
        assert!(
            store
                .learning_failed(id, "w", "timed out", now())
                .await
                .unwrap()
        );
        assert_eq!(store.lease_learning("w", 10, HOUR).await.unwrap(), [id]);

        // Filed as spam again: the job goes on as it was.
        let copy = anna.file("Junk", &junk.uids, "Junk", false).await;
        assert_eq!(copy.lesson, None);
        assert_eq!(
            jobs(&store).await,
            [("spam".to_owned(), 1, Some("w".to_owned()))]
        );

        // The user changed their mind while w was teaching spam: w's
        // result no longer counts, and ham is taught from scratch.
        let out = anna.file("Junk", &junk.uids, "INBOX", true).await;
        assert_eq!(out.lesson, Some(Lesson::Ham));
        assert_eq!(jobs(&store).await, [("ham".to_owned(), 0, None)]);
        assert!(!store.learning_done(id, "w").await.unwrap());
        assert_eq!(store.lease_learning("v", 10, HOUR).await.unwrap(), [id]);
        let job = store.leased_learning(id, "v").await.unwrap().unwrap();
        assert_eq!((job.lesson, job.attempts), (Lesson::Ham, 0));
        assert_eq!(refcounts(&store).await, [3], "two messages and one job");
    }
}

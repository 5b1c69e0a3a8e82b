//! Copying and moving messages between folders (IMAP COPY, RFC 9051
//! §6.4.7, and MOVE, RFC 6851): new UIDs in the target, the same bodies.
//! Each is a few statements whatever the number of messages.

use super::append::Refusal;
use sqlx::AssertSqlSafe;

use super::blob_refs::BlobRefs;
use super::counters::Tally;
use super::in_list::{BindEach, MAX_IN_LIST, placeholders};
use super::keywords::Keywords;
use super::{Change, ChangeKind, Flags, Result, WriteTx};

/// Where copied or moved messages landed: `(source UID, new UID)` pairs in
/// source UID order.
pub type UidMap = Vec<(i64, i64)>;

struct Source {
    uid: i64,
    size: i64,
    flags: Flags,
    keywords: Keywords,
    blob_hash: String,
}

/// Every keyword some messages have.
fn keywords(messages: &[Source]) -> Keywords {
    let mut all = Keywords::default();
    for message in messages {
        all.insert_all(&message.keywords);
    }
    all
}

/// What some messages add to a folder's counters.
fn tally(messages: &[Source]) -> Tally {
    let mut tally = Tally::default();
    for message in messages {
        tally += Tally::of(message.flags, message.size);
    }
    tally
}

impl WriteTx {
    /// Copies messages into `target`, charging their size to the target's
    /// account (within its domain's quota); refused whole when it does not
    /// fit.
    pub async fn copy_messages(
        &mut self,
        source: i64,
        uids: &[i64],
        target: i64,
    ) -> Result<Result<UidMap, Refusal>> {
        self.lock_folders(&[source, target]).await?;
        let messages = self.sources(source, uids).await?;
        if messages.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let Some(owner) = self.owner(target).await? else {
            return Ok(Err(Refusal::NoSuchFolder(target)));
        };
        let added = tally(&messages);
        if let Err(refusal) = self.charge_owner(&owner, added.bytes).await? {
            return Ok(Err(refusal));
        }
        let touched = self
            .touch_folder(target, messages.len(), added, &keywords(&messages))
            .await?;
        let map = self
            .insert_copies(source, &messages, target, touched.first_uid, touched.modseq)
            .await?;
        let mut refs = BlobRefs::default();
        for message in &messages {
            refs.add(&message.blob_hash);
        }
        self.hold_blobs(&refs).await?;
        self.announce(Change {
            account_id: owner.account_id,
            folder_id: target,
            kind: ChangeKind::Appended,
            modseq: touched.modseq,
        });
        Ok(Ok(map))
    }

    /// Moves messages of one account's folder into another of its folders:
    /// they get new UIDs there and are expunged from the source, with no
    /// change in usage.
    pub async fn move_messages(
        &mut self,
        source: i64,
        uids: &[i64],
        target: i64,
    ) -> Result<UidMap> {
        self.lock_folders(&[source, target]).await?;
        let messages = self.sources(source, uids).await?;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let moved = tally(&messages);
        let arrived = self
            .touch_folder(target, messages.len(), moved, &keywords(&messages))
            .await?;
        let map = self
            .insert_copies(source, &messages, target, arrived.first_uid, arrived.modseq)
            .await?;
        // The copies hold the bodies now: the source rows go without
        // touching the bodies' counts.
        let uids: Vec<i64> = messages.iter().map(|m| m.uid).collect();
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "DELETE FROM messages WHERE folder_id = $1 AND uid IN ({})",
                placeholders(2, chunk.len())
            );
            let query = sqlx::query(AssertSqlSafe(sql))
                .bind(source)
                .bind_each(chunk);
            query.execute(self.conn()).await?;
        }
        let left = self
            .touch_folder(source, 0, -moved, &Keywords::default())
            .await?;
        self.record_expunged(source, &uids, left.modseq).await?;
        self.announce(Change {
            account_id: left.account_id,
            folder_id: source,
            kind: ChangeKind::Expunged,
            modseq: left.modseq,
        });
        self.announce(Change {
            account_id: arrived.account_id,
            folder_id: target,
            kind: ChangeKind::Appended,
            modseq: arrived.modseq,
        });
        Ok(map)
    }

    /// Copies the rows of `messages` (in UID order) into `target`, numbered
    /// from `first_uid` in the same order.
    async fn insert_copies(
        &mut self,
        source: i64,
        messages: &[Source],
        target: i64,
        first_uid: i64,
        modseq: i64,
    ) -> Result<UidMap> {
        let mut map = Vec::with_capacity(messages.len());
        for (n, chunk) in messages.chunks(MAX_IN_LIST).enumerate() {
            let chunk_first = first_uid + (n * MAX_IN_LIST) as i64;
            let sql = format!(
                "INSERT INTO messages (folder_id, uid, blob_hash, size, internal_date, flags, keywords, \
                 modseq, envelope, body_structure, subject, sent_at, sent_zone, saved_at, sort_keys) \
                 SELECT $1, $2 + ROW_NUMBER() OVER (ORDER BY uid) - 1, blob_hash, size, internal_date, \
                 flags, keywords, $3, envelope, body_structure, subject, sent_at, sent_zone, $5, sort_keys \
                 FROM messages WHERE folder_id = $4 AND uid IN ({})",
                placeholders(6, chunk.len())
            );
            // Saved now: Junk and Trash keep a message for their retention
            // from when it arrived there, whatever its INTERNALDATE.
            let query = sqlx::query(AssertSqlSafe(sql))
                .bind(target)
                .bind(chunk_first)
                .bind(modseq)
                .bind(source)
                .bind(super::now())
                .bind_each(chunk.iter().map(|message| message.uid));
            query.execute(self.conn()).await?;
            map.extend(
                chunk
                    .iter()
                    .enumerate()
                    .map(|(i, message)| (message.uid, chunk_first + i as i64)),
            );
        }
        Ok(map)
    }

    /// The messages `uids` of a folder that exist, in UID order.
    async fn sources(&mut self, folder_id: i64, uids: &[i64]) -> Result<Vec<Source>> {
        let mut found = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "SELECT uid, size, flags, keywords, blob_hash FROM messages \
                 WHERE folder_id = $1 AND uid IN ({})",
                placeholders(2, chunk.len())
            );
            let query =
                sqlx::query_as::<_, (i64, i64, Flags, Keywords, String)>(AssertSqlSafe(sql))
                    .bind(folder_id)
                    .bind_each(chunk);
            found.extend(query.fetch_all(self.conn()).await?.into_iter().map(
                |(uid, size, flags, keywords, blob_hash)| Source {
                    uid,
                    size,
                    flags,
                    keywords,
                    blob_hash,
                },
            ));
        }
        found.sort_by_key(|m| m.uid);
        Ok(found)
    }
}

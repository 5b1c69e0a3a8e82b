//! Copying and moving messages between folders (IMAP COPY, RFC 9051
//! §6.4.7, and MOVE, RFC 6851): new UIDs in the target, the same bodies.

use super::append::Refusal;
use sqlx::AssertSqlSafe;

use super::messages::{MAX_IN_LIST, placeholders};
use super::{Change, ChangeKind, Result, WriteTx};

/// Where copied or moved messages landed: `(source UID, new UID)` pairs in
/// source UID order.
pub type UidMap = Vec<(i64, i64)>;

struct Source {
    uid: i64,
    size: i64,
    blob_hash: String,
}

impl WriteTx {
    /// Copies messages into `target`, charging their size to the target's
    /// account and domain; refused whole when it does not fit.
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
        let size: i64 = messages.iter().map(|m| m.size).sum();
        if let Err(refusal) = self.charge_owner(&owner, size).await? {
            return Ok(Err(refusal));
        }
        let (first_uid, modseq) = self.take_uids(target, messages.len()).await?;
        let mut map = Vec::with_capacity(messages.len());
        let mut blobs: Vec<(String, i64)> = Vec::new();
        for (n, message) in messages.iter().enumerate() {
            let uid = first_uid + n as i64;
            sqlx::query(
                "INSERT INTO messages (folder_id, uid, blob_hash, size, internal_date, flags, keywords, \
                 modseq, envelope, body_structure, subject, sent_at) \
                 SELECT $1, $2, blob_hash, size, internal_date, flags, keywords, $3, envelope, \
                 body_structure, subject, sent_at FROM messages WHERE folder_id = $4 AND uid = $5",
            )
            .bind(target)
            .bind(uid)
            .bind(modseq)
            .bind(source)
            .bind(message.uid)
            .execute(self.conn())
            .await?;
            match blobs.iter_mut().find(|(h, _)| *h == message.blob_hash) {
                Some((_, count)) => *count += 1,
                None => blobs.push((message.blob_hash.clone(), 1)),
            }
            map.push((message.uid, uid));
        }
        blobs.sort();
        for (hash, count) in &blobs {
            sqlx::query("UPDATE blobs SET refcount = refcount + $1 WHERE hash = $2")
                .bind(count)
                .bind(hash)
                .execute(self.conn())
                .await?;
        }
        self.announce(Change {
            account_id: owner.account_id,
            folder_id: target,
            kind: ChangeKind::Appended,
            modseq,
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
        let (first_uid, target_modseq) = self.take_uids(target, messages.len()).await?;
        let expunge = self.bump_modseq(source).await?;
        let mut map = Vec::with_capacity(messages.len());
        for (n, message) in messages.iter().enumerate() {
            let uid = first_uid + n as i64;
            sqlx::query(
                "UPDATE messages SET folder_id = $1, uid = $2, modseq = $3 WHERE folder_id = $4 AND uid = $5",
            )
            .bind(target)
            .bind(uid)
            .bind(target_modseq)
            .bind(source)
            .bind(message.uid)
            .execute(self.conn())
            .await?;
            sqlx::query("INSERT INTO expunged (folder_id, uid, modseq) VALUES ($1, $2, $3)")
                .bind(source)
                .bind(message.uid)
                .bind(expunge.modseq)
                .execute(self.conn())
                .await?;
            map.push((message.uid, uid));
        }
        self.announce(Change {
            kind: ChangeKind::Expunged,
            ..expunge
        });
        self.announce(Change {
            account_id: expunge.account_id,
            folder_id: target,
            kind: ChangeKind::Appended,
            modseq: target_modseq,
        });
        Ok(map)
    }

    /// The messages `uids` of a folder that exist, in UID order.
    async fn sources(&mut self, folder_id: i64, uids: &[i64]) -> Result<Vec<Source>> {
        let mut found = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "SELECT uid, size, blob_hash FROM messages WHERE folder_id = $1 AND uid IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query =
                sqlx::query_as::<_, (i64, i64, String)>(AssertSqlSafe(sql)).bind(folder_id);
            for uid in chunk {
                query = query.bind(uid);
            }
            found.extend(query.fetch_all(self.conn()).await?.into_iter().map(
                |(uid, size, blob_hash)| Source {
                    uid,
                    size,
                    blob_hash,
                },
            ));
        }
        found.sort_by_key(|m| m.uid);
        Ok(found)
    }

    /// Takes `count` consecutive UIDs and one new MODSEQ in a folder;
    /// returns the first UID and the MODSEQ.
    pub(super) async fn take_uids(&mut self, folder_id: i64, count: usize) -> Result<(i64, i64)> {
        let count = count as i64;
        Ok(sqlx::query_as(
            "UPDATE folders SET uidnext = uidnext + $1, highestmodseq = highestmodseq + 1 \
             WHERE id = $2 RETURNING uidnext - $1, highestmodseq",
        )
        .bind(count)
        .bind(folder_id)
        .fetch_one(self.conn())
        .await?)
    }
}

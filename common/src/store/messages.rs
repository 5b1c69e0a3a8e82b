//! Stored messages: listing, reading, expunging, and the shared bodies.

use serde::Serialize;
use sqlx::{AssertSqlSafe, FromRow};

use super::blob_refs::BlobRefs;
use super::counters::Tally;
use super::direct::{Arg, DirectRow, Sql};
use super::in_list::{BindEach, MAX_IN_LIST, placeholders};
use super::keywords::Keywords;
use super::{Change, ChangeKind, Result, Store, StoreError, WriteTx};

/// The system flags of RFC 9051 §2.3.2 a message has, as the bits of its
/// `flags` column. `\Recent` is not among them: it belongs to a session.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, sqlx::Type,
)]
#[sqlx(transparent)]
pub struct Flags(i64);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);
    /// Every system flag.
    pub const ALL: Flags = Flags(31);

    /// Each flag with its IMAP name, in the order IMAP lists them
    /// (Dovecot's).
    const NAMES: [(Flags, &str); 5] = [
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::SEEN, "\\Seen"),
        (Flags::DRAFT, "\\Draft"),
    ];

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flag an IMAP name (`\Seen`, any case) stands for, `None` for
    /// a keyword or `\Recent`.
    pub fn named(name: &str) -> Option<Flags> {
        Flags::NAMES
            .into_iter()
            .find(|(_, known)| known.eq_ignore_ascii_case(name))
            .map(|(flag, _)| flag)
    }

    /// The IMAP names of the flags set (`\Answered`, `\Seen`, …), in the
    /// order IMAP lists them. The names are static; the lifetime is left to
    /// the caller so that they chain with borrowed words such as keywords.
    pub fn names<'a>(self) -> impl Iterator<Item = &'a str> {
        Flags::NAMES
            .into_iter()
            .filter(move |&(flag, _)| self.contains(flag))
            .map(|(_, name)| name)
    }
}

/// The union: the flags set in either.
impl std::ops::BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// The difference: the flags of `self` not set in `rhs`.
impl std::ops::Sub for Flags {
    type Output = Flags;

    fn sub(self, rhs: Flags) -> Flags {
        Flags(self.0 & !rhs.0)
    }
}

impl From<Flags> for Arg<'_> {
    fn from(flags: Flags) -> Self {
        Arg::Int(flags.0)
    }
}

impl rusqlite::types::FromSql for Flags {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        <i64 as rusqlite::types::FromSql>::column_result(value).map(Flags)
    }
}

/// The SQL test of `\Deleted`, written as the partial index
/// `messages_deleted` has it (migration 0015), so that the index serves the
/// queries that use it.
pub(super) const IS_DELETED: &str = "(flags & 8) <> 0";

/// What a folder listing gives for each message.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct MessageSummary {
    pub uid: i64,
    pub size: i64,
    pub internal_date: i64,
    pub flags: Flags,
    pub keywords: Keywords,
    pub modseq: i64,
}

impl DirectRow for MessageSummary {
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(MessageSummary {
            uid: row.get(0)?,
            size: row.get(1)?,
            internal_date: row.get(2)?,
            flags: row.get(3)?,
            keywords: row.get(4)?,
            modseq: row.get(5)?,
        })
    }
}

/// An account or domain whose usage counter disagrees with its messages.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct UsageDrift {
    pub name: String,
    pub recorded: i64,
    pub counted: i64,
}

/// A message with what FETCH and SEARCH read besides its body: the parse
/// cache, filled at delivery (`None` for a message no parser described).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MessageDetails {
    pub uid: i64,
    pub size: i64,
    pub internal_date: i64,
    pub flags: Flags,
    pub keywords: Keywords,
    pub modseq: i64,
    /// The envelope and body structure, as `mime::Parsed` wrote them.
    pub envelope: Option<String>,
    pub body_structure: Option<String>,
    pub subject: Option<String>,
    pub sent_at: Option<i64>,
    /// The Date header's time zone, in seconds east of UTC.
    pub sent_zone: i64,
}

/// Which parts of the parse cache [`Store::message_details`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// None: flags, sizes, dates and MODSEQ only.
    Flags,
    /// The subject and sent date too, for SEARCH.
    Search,
    /// Everything, envelope and body structure included, for FETCH.
    Parsed,
}

impl Store {
    /// The UIDs of a folder, ascending: what SELECT needs to number messages.
    /// They come as one comma-separated row: a row per UID costs far more
    /// in the driver than the database takes to find them.
    pub async fn message_uids(&self, folder_id: i64) -> Result<Vec<i64>> {
        let (list,): (Option<String>,) = sqlx::query_as(self.backend().uid_list())
            .bind(folder_id)
            .fetch_one(self.pool())
            .await?;
        let mut uids: Vec<i64> = list
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|uid| uid.parse().ok())
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The lowest UID of a folder's messages without `\Seen`: read in UID
    /// order, stopping at the first.
    pub async fn first_unseen(&self, folder_id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT uid FROM messages WHERE folder_id = $1 AND (flags & 1) = 0 ORDER BY uid LIMIT 1",
        )
        .bind(folder_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(uid,)| uid))
    }

    /// Messages of a folder whose MODSEQ is above `modseq` (new or changed
    /// since), in UID order.
    pub async fn messages_changed_since(
        &self,
        folder_id: i64,
        modseq: i64,
    ) -> Result<Vec<MessageSummary>> {
        Ok(sqlx::query_as(
            "SELECT uid, size, internal_date, flags, keywords, modseq FROM messages \
             WHERE folder_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(folder_id)
        .bind(modseq)
        .fetch_all(self.pool())
        .await?)
    }

    /// The messages of a folder with these UIDs (ascending), with as much
    /// of their parse cache as `columns` asks, in UID order; UIDs not there
    /// are left out. A dense list is read as one UID range, a sparse one by
    /// its UIDs, so that FETCH and SEARCH never ask per message nor read
    /// the messages between scattered ones.
    pub async fn message_details(
        &self,
        folder_id: i64,
        uids: &[i64],
        columns: Columns,
    ) -> Result<Vec<MessageDetails>> {
        let (Some(&first), Some(&last)) = (uids.first(), uids.last()) else {
            return Ok(Vec::new());
        };
        // The columns a mode leaves out are read as NULL, so that one row
        // type serves every mode.
        let cached = match columns {
            Columns::Parsed => "envelope, body_structure, subject, sent_at, sent_zone",
            Columns::Search => {
                "CAST(NULL AS TEXT) AS envelope, CAST(NULL AS TEXT) AS body_structure, subject, \
                 sent_at, sent_zone"
            }
            Columns::Flags => {
                "CAST(NULL AS TEXT) AS envelope, CAST(NULL AS TEXT) AS body_structure, \
                 CAST(NULL AS TEXT) AS subject, CAST(NULL AS BIGINT) AS sent_at, sent_zone"
            }
        };
        let select = format!(
            "SELECT uid, size, internal_date, flags, keywords, modseq, {cached} FROM messages \
             WHERE folder_id = $1"
        );
        if last - first < 2 * uids.len() as i64 {
            let sql = format!("{select} AND uid BETWEEN $2 AND $3 ORDER BY uid");
            let mut rows: Vec<MessageDetails> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(folder_id)
                .bind(first)
                .bind(last)
                .fetch_all(self.pool())
                .await?;
            rows.retain(|row| uids.binary_search(&row.uid).is_ok());
            return Ok(rows);
        }
        let mut rows = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "{select} AND uid IN ({}) ORDER BY uid",
                placeholders(2, chunk.len())
            );
            let query = sqlx::query_as(AssertSqlSafe(sql))
                .bind(folder_id)
                .bind_each(chunk);
            rows.extend(query.fetch_all(self.pool()).await?);
        }
        Ok(rows)
    }

    /// The raw bytes of some messages of a folder, `(uid, bytes)` in UID
    /// order; UIDs not there are left out. Ask for a few at a time: every
    /// body asked for is in memory at once.
    pub async fn message_bodies(
        &self,
        folder_id: i64,
        uids: &[i64],
    ) -> Result<Vec<(i64, Vec<u8>)>> {
        let mut bodies = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "SELECT m.uid, b.data, b.location FROM messages m JOIN blobs b ON b.hash = m.blob_hash \
                 WHERE m.folder_id = $1 AND m.uid IN ({}) ORDER BY m.uid",
                placeholders(2, chunk.len())
            );
            let query = sqlx::query_as(AssertSqlSafe(sql))
                .bind(folder_id)
                .bind_each(chunk);
            let rows: Vec<(i64, Vec<u8>, Option<String>)> = query.fetch_all(self.pool()).await?;
            // Bodies kept outside the database are read all at once.
            let read = rows.into_iter().map(|(uid, data, location)| async move {
                Ok::<_, StoreError>((uid, self.body(data, location).await?))
            });
            bodies.extend(futures_util::future::try_join_all(read).await?);
        }
        Ok(bodies)
    }

    /// The messages of a folder in UID order.
    pub async fn messages(&self, folder_id: i64) -> Result<Vec<MessageSummary>> {
        Ok(sqlx::query_as(
            "SELECT uid, size, internal_date, flags, keywords, modseq FROM messages \
             WHERE folder_id = $1 ORDER BY uid",
        )
        .bind(folder_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The raw bytes of one message.
    pub async fn message_body(&self, folder_id: i64, uid: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>, Option<String>)> = sqlx::query_as(
            "SELECT b.data, b.location FROM messages m JOIN blobs b ON b.hash = m.blob_hash \
             WHERE m.folder_id = $1 AND m.uid = $2",
        )
        .bind(folder_id)
        .bind(uid)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some((data, location)) => Ok(Some(self.body(data, location).await?)),
            None => Ok(None),
        }
    }

    /// Accounts whose recorded usage differs from the sum of their
    /// messages' sizes, and folder counters (named `address/folder
    /// counter`) that differ from their messages; empty when every counter
    /// is exact.
    pub async fn usage_drift(&self) -> Result<Vec<UsageDrift>> {
        let mut drift: Vec<UsageDrift> = sqlx::query_as(
            "SELECT a.address AS name, a.used_bytes AS recorded, \
             CAST(COALESCE((SELECT SUM(m.size) FROM messages m JOIN folders f ON f.id = m.folder_id \
                            WHERE f.account_id = a.id), 0) AS BIGINT) AS counted \
             FROM accounts a",
        )
        .fetch_all(self.pool())
        .await?;
        let folders: Vec<FolderTally> = sqlx::query_as(
            "SELECT a.address, f.name, f.messages, f.unseen, f.bytes, f.deleted, f.deleted_bytes, \
             COUNT(m.uid) AS counted_messages, \
             CAST(COALESCE(SUM(CASE WHEN (m.flags & 1) = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS counted_unseen, \
             CAST(COALESCE(SUM(m.size), 0) AS BIGINT) AS counted_bytes, \
             CAST(COALESCE(SUM(CASE WHEN (m.flags & 8) <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS counted_deleted, \
             CAST(COALESCE(SUM(CASE WHEN (m.flags & 8) <> 0 THEN m.size ELSE 0 END), 0) AS BIGINT) \
             AS counted_deleted_bytes \
             FROM folders f JOIN accounts a ON a.id = f.account_id \
             LEFT JOIN messages m ON m.folder_id = f.id GROUP BY f.id, a.address",
        )
        .fetch_all(self.pool())
        .await?;
        for f in folders {
            let counters = [
                ("messages", f.messages, f.counted_messages),
                ("unseen", f.unseen, f.counted_unseen),
                ("bytes", f.bytes, f.counted_bytes),
                ("deleted", f.deleted, f.counted_deleted),
                ("deleted_bytes", f.deleted_bytes, f.counted_deleted_bytes),
            ];
            for (counter, recorded, counted) in counters {
                drift.push(UsageDrift {
                    name: format!("{}/{} {counter}", f.address, f.name),
                    recorded,
                    counted,
                });
            }
        }
        drift.retain(|d| d.recorded != d.counted);
        Ok(drift)
    }
}

/// A folder's counters beside what its messages add up to.
#[derive(FromRow)]
struct FolderTally {
    address: String,
    name: String,
    messages: i64,
    unseen: i64,
    bytes: i64,
    deleted: i64,
    deleted_bytes: i64,
    counted_messages: i64,
    counted_unseen: i64,
    counted_bytes: i64,
    counted_deleted: i64,
    counted_deleted_bytes: i64,
}

impl Store {
    /// Removes a folder's messages marked `\Deleted`, as
    /// [`WriteTx::expunge_deleted`] does, in a transaction of its own
    /// committed to disk before it returns.
    pub async fn expunge_deleted(&self, folder_id: i64, among: Option<&[i64]>) -> Result<Vec<i64>> {
        let among = among.map(<[i64]>::to_vec);
        self.write_direct(move |mut tx| async move {
            let removed = tx.expunge_deleted(folder_id, among.as_deref()).await?;
            tx.commit().await?;
            Ok(removed)
        })
        .await
    }
}

impl WriteTx {
    /// Removes the messages `uids` of a folder, whatever their flags.
    /// Returns the UIDs that were there, ascending.
    pub async fn expunge(&mut self, folder_id: i64, uids: &[i64]) -> Result<Vec<i64>> {
        self.remove_messages(folder_id, Some(uids), false).await
    }

    /// Removes a folder's messages marked `\Deleted`; with `among`, only
    /// those with these UIDs (UID EXPUNGE). Returns the UIDs removed,
    /// ascending.
    pub async fn expunge_deleted(
        &mut self,
        folder_id: i64,
        among: Option<&[i64]>,
    ) -> Result<Vec<i64>> {
        self.remove_messages(folder_id, among, true).await
    }

    /// Removes messages of a folder (those of `among`, or all; with
    /// `only_deleted`, only those marked `\Deleted`), records them for
    /// QRESYNC and gives their space back, in a few statements whatever
    /// their number.
    pub(super) async fn remove_messages(
        &mut self,
        folder_id: i64,
        among: Option<&[i64]>,
        only_deleted: bool,
    ) -> Result<Vec<i64>> {
        self.lock_folders(&[folder_id]).await?;
        let deleted = if only_deleted {
            format!(" AND {IS_DELETED}")
        } else {
            String::new()
        };
        let mut rows: Vec<(i64, i64, Flags, String)> = Vec::new();
        match among {
            None => {
                let sql = format!(
                    "DELETE FROM messages WHERE folder_id = $1{deleted} \
                     RETURNING uid, size, flags, blob_hash"
                );
                rows = self.fetch(Sql::new(sql).bind(folder_id)).await?;
            }
            Some(uids) => {
                for chunk in uids.chunks(MAX_IN_LIST) {
                    let sql = format!(
                        "DELETE FROM messages WHERE folder_id = $1{deleted} AND uid IN ({}) \
                         RETURNING uid, size, flags, blob_hash",
                        placeholders(2, chunk.len())
                    );
                    let query = Sql::new(sql)
                        .bind(folder_id)
                        .bind_each(chunk.iter().copied());
                    rows.extend(self.fetch::<(i64, i64, Flags, String)>(query).await?);
                }
            }
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        rows.sort_unstable_by_key(|row| row.0);
        let mut removed = Tally::default();
        let mut refs = BlobRefs::default();
        for (_, size, flags, hash) in &rows {
            removed += Tally::of(*flags, *size);
            refs.add(hash);
        }
        let touched = self
            .touch_folder(folder_id, 0, -removed, &Keywords::default())
            .await?;
        let uids: Vec<i64> = rows.into_iter().map(|row| row.0).collect();
        self.record_expunged(folder_id, &uids, touched.modseq)
            .await?;
        self.release_blobs(&refs).await?;
        self.charge_account(touched.account_id, -removed.bytes)
            .await?;
        self.announce(Change {
            account_id: touched.account_id,
            folder_id,
            kind: ChangeKind::Expunged,
            modseq: touched.modseq,
        });
        Ok(uids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_combine_as_sets() {
        let seen_flagged = Flags::SEEN | Flags::FLAGGED;
        assert!(seen_flagged.contains(Flags::SEEN));
        assert!(!seen_flagged.contains(Flags::SEEN | Flags::DELETED));
        assert_eq!(seen_flagged - Flags::SEEN, Flags::FLAGGED);
        assert_eq!(seen_flagged - Flags::DRAFT, seen_flagged);
        let mut all = Flags::default();
        for flag in [Flags::SEEN, Flags::ANSWERED, Flags::FLAGGED] {
            all |= flag;
        }
        all |= Flags::DELETED | Flags::DRAFT;
        assert_eq!(all, Flags::ALL);
    }

    #[test]
    fn flags_are_named_in_the_order_imap_lists_them() {
        let names: Vec<&str> = Flags::ALL.names().collect();
        assert_eq!(
            names,
            ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]
        );
        let some: Vec<&str> = (Flags::DRAFT | Flags::SEEN).names().collect();
        assert_eq!(some, ["\\Seen", "\\Draft"]);
        assert_eq!(Flags::default().names().next(), None);
    }

    #[test]
    fn flags_serialize_as_the_stored_bits() {
        let json = serde_json::to_string(&(Flags::SEEN | Flags::DELETED)).unwrap();
        assert_eq!(json, "9");
    }
}

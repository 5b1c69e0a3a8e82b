//! Folders of an account, with the counters IMAP needs (RFC 9051 §2.3.1.1,
//! RFC 7162 §3.1.1): UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ.

use serde::Serialize;
use sqlx::{Any, Executor, FromRow};

use super::{Change, ChangeKind, Keywords, Result, Store, StoreError, WriteTx, inserted, now};

/// Special-use attributes (RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialUse {
    Sent,
    Drafts,
    Trash,
    Junk,
    Archive,
}

impl SpecialUse {
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Archive => "\\Archive",
        }
    }

    /// The attribute named as in `\Sent`, any case.
    pub fn from_attribute(name: &str) -> Option<SpecialUse> {
        [
            SpecialUse::Sent,
            SpecialUse::Drafts,
            SpecialUse::Trash,
            SpecialUse::Junk,
            SpecialUse::Archive,
        ]
        .into_iter()
        .find(|u| u.attribute().eq_ignore_ascii_case(name))
    }
}

/// The folders every new account starts with.
pub(super) const DEFAULT_FOLDERS: [(&str, Option<SpecialUse>); 6] = [
    ("INBOX", None),
    ("Sent", Some(SpecialUse::Sent)),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct Folder {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    /// The special-use attribute, such as `\Sent`.
    pub special_use: Option<String>,
    pub uidvalidity: i64,
    pub uidnext: i64,
    pub highestmodseq: i64,
    /// What STATUS reports: messages, those without `\Seen`, their total
    /// size, and those marked `\Deleted` with their size.
    pub messages: i64,
    pub unseen: i64,
    pub bytes: i64,
    pub deleted: i64,
    pub deleted_bytes: i64,
    /// Every keyword the folder's messages have had.
    #[serde(skip)]
    pub keywords: Keywords,
    /// The first UID no session has taken as `\Recent` yet.
    #[serde(skip)]
    pub first_recent: i64,
}

/// The columns of a [`Folder`], of the table named `f`.
macro_rules! folder_columns {
    () => {
        concat!(
            "f.id, f.account_id, f.name, f.special_use, f.uidvalidity, f.uidnext, ",
            "f.highestmodseq, f.messages, f.unseen, f.bytes, f.deleted, f.deleted_bytes, ",
            "f.keywords, f.first_recent"
        )
    };
}
pub(super) use folder_columns;

macro_rules! select_folder {
    ($tail:literal) => {
        concat!("SELECT ", folder_columns!(), " FROM folders f ", $tail)
    };
}

async fn by_name<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: i64,
    name: &str,
) -> Result<Option<Folder>> {
    Ok(
        sqlx::query_as(select_folder!("WHERE account_id = $1 AND name = $2"))
            .bind(account_id)
            .bind(name)
            .fetch_optional(db)
            .await?,
    )
}

async fn of_account<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: i64,
) -> Result<Vec<Folder>> {
    Ok(
        sqlx::query_as(select_folder!("WHERE account_id = $1 ORDER BY name"))
            .bind(account_id)
            .fetch_all(db)
            .await?,
    )
}

/// What QUOTA reports for an account (RFC 9208): its own usage and limit
/// and its domain's. A limit of 0 means none.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Usage {
    pub used_bytes: i64,
    pub quota_bytes: i64,
    pub domain: String,
    pub domain_used_bytes: i64,
    pub domain_quota_bytes: i64,
    pub messages: i64,
}

impl Store {
    pub async fn folders(&self, account_id: i64) -> Result<Vec<Folder>> {
        of_account(self.pool(), account_id).await
    }

    /// A folder's current counters, by id.
    pub async fn folder_by_id(&self, folder_id: i64) -> Result<Option<Folder>> {
        Ok(sqlx::query_as(select_folder!("WHERE id = $1"))
            .bind(folder_id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// An account's usage and quota, and its domain's.
    pub async fn usage(&self, account_id: i64) -> Result<Option<Usage>> {
        Ok(sqlx::query_as(
            "SELECT a.used_bytes, a.quota_bytes, d.name AS domain, \
             CAST((SELECT SUM(o.used_bytes) FROM accounts o WHERE o.domain_id = d.id) AS BIGINT) \
             AS domain_used_bytes, d.quota_bytes AS domain_quota_bytes, \
             CAST((SELECT COALESCE(SUM(f.messages), 0) FROM folders f WHERE f.account_id = a.id) AS BIGINT) \
             AS messages \
             FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.id = $1",
        )
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn folder(&self, account_id: i64, name: &str) -> Result<Option<Folder>> {
        by_name(self.pool(), account_id, name).await
    }

    /// The account's folder for `usage` (such as Junk, where spam is
    /// filed), the first by name if the user marked several.
    pub async fn special_folder(
        &self,
        account_id: i64,
        usage: SpecialUse,
    ) -> Result<Option<Folder>> {
        Ok(sqlx::query_as(select_folder!(
            "WHERE account_id = $1 AND special_use = $2 ORDER BY name LIMIT 1"
        ))
        .bind(account_id)
        .bind(usage.attribute())
        .fetch_optional(self.pool())
        .await?)
    }
}

fn folder_not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "folder",
        name: name.to_string(),
    }
}

impl WriteTx {
    pub async fn folders(&mut self, account_id: i64) -> Result<Vec<Folder>> {
        of_account(self.conn(), account_id).await
    }

    pub async fn create_folder(
        &mut self,
        account_id: i64,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<Folder> {
        // UIDVALIDITY is a non-zero 32-bit number; creation time fits until
        // 2106. Above every other the account's folders ever had, so that a
        // folder deleted and created again in the same second still gets a
        // new one.
        let (uidvalidity,): (i64,) = sqlx::query_as(
            "UPDATE accounts SET last_uidvalidity = \
             CASE WHEN last_uidvalidity >= $2 THEN last_uidvalidity + 1 ELSE $2 END \
             WHERE id = $1 RETURNING last_uidvalidity",
        )
        .bind(account_id)
        .bind(now().max(1))
        .fetch_one(self.conn())
        .await?;
        let result = sqlx::query(
            "INSERT INTO folders (account_id, name, special_use, uidvalidity) VALUES ($1, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(name)
        .bind(special_use.map(SpecialUse::attribute))
        .bind(uidvalidity)
        .execute(self.conn())
        .await;
        inserted(result, "folder", || name.to_string())?;
        let folder = by_name(self.conn(), account_id, name)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "folder",
                name: name.to_string(),
            })?;
        self.announce(Change {
            account_id,
            folder_id: folder.id,
            kind: ChangeKind::Folders,
            modseq: folder.highestmodseq,
        });
        Ok(folder)
    }

    /// Creates every missing level above `name` (`a` and `a/b` for
    /// `a/b/c`), so that every level of a name exists (RFC 9051 §6.3.4).
    pub async fn create_parents(&mut self, account_id: i64, name: &str) -> Result<()> {
        let existing: Vec<String> = self
            .folders(account_id)
            .await?
            .into_iter()
            .map(|f| f.name)
            .collect();
        for (at, _) in name.match_indices('/') {
            let parent = &name[..at];
            if !existing.iter().any(|n| n == parent) {
                self.create_folder(account_id, parent, None).await?;
            }
        }
        Ok(())
    }

    /// Renames a folder and every folder below it (`name/...`). Renaming
    /// INBOX moves its messages into a new folder and leaves INBOX empty
    /// (RFC 9051 §6.3.6).
    pub async fn rename_folder(&mut self, account_id: i64, from: &str, to: &str) -> Result<()> {
        let folders = self.folders(account_id).await?;
        let source = folders
            .iter()
            .find(|f| f.name == from)
            .ok_or_else(|| folder_not_found(from))?;
        if from == "INBOX" {
            let target = self.create_folder(account_id, to, None).await?;
            let uids: Vec<(i64,)> = sqlx::query_as("SELECT uid FROM messages WHERE folder_id = $1")
                .bind(source.id)
                .fetch_all(self.conn())
                .await?;
            let uids: Vec<i64> = uids.into_iter().map(|(uid,)| uid).collect();
            self.move_messages(source.id, &uids, target.id).await?;
            return Ok(());
        }
        let below = format!("{from}/");
        let renamed: Vec<(&Folder, String)> = folders
            .iter()
            .filter_map(|f| {
                if f.name == from {
                    Some((f, to.to_string()))
                } else {
                    f.name
                        .strip_prefix(&below)
                        .map(|rest| (f, format!("{to}/{rest}")))
                }
            })
            .collect();
        for (_, name) in &renamed {
            if folders.iter().any(|f| &f.name == name) {
                return Err(StoreError::AlreadyExists {
                    what: "folder",
                    name: name.clone(),
                });
            }
        }
        self.rename_subscriptions(account_id, from, to).await?;
        for (folder, name) in &renamed {
            sqlx::query("UPDATE folders SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(folder.id)
                .execute(self.conn())
                .await?;
        }
        self.announce(Change {
            account_id,
            folder_id: source.id,
            kind: ChangeKind::Folders,
            modseq: source.highestmodseq,
        });
        Ok(())
    }

    /// Deletes a folder and its messages; INBOX stays. Folders below it
    /// stay too (RFC 9051 §6.3.5): its name remains a level of the
    /// hierarchy that holds no mail.
    pub async fn delete_folder(&mut self, account_id: i64, name: &str) -> Result<()> {
        let folders = self.folders(account_id).await?;
        let folder = folders
            .iter()
            .find(|f| f.name == name && f.name != "INBOX")
            .ok_or_else(|| folder_not_found(name))?;
        self.remove_messages(folder.id, None, false).await?;
        sqlx::query("DELETE FROM expunged WHERE folder_id = $1")
            .bind(folder.id)
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM folders WHERE id = $1")
            .bind(folder.id)
            .execute(self.conn())
            .await?;
        self.announce(Change {
            account_id,
            folder_id: folder.id,
            kind: ChangeKind::Folders,
            modseq: folder.highestmodseq,
        });
        Ok(())
    }

    /// Queues a change to announce after commit.
    pub(super) fn announce(&mut self, change: Change) {
        self.pending.push(change);
    }
}

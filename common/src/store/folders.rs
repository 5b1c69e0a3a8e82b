//! Folders of an account, with the counters IMAP needs (RFC 9051 §2.3.1.1,
//! RFC 7162 §3.1.1): UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ.

use serde::Serialize;
use sqlx::{Any, Executor, FromRow};

use super::{Change, ChangeKind, Result, Store, StoreError, WriteTx, is_unique_violation, now};

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
    pub subscribed: i64,
    pub uidvalidity: i64,
    pub uidnext: i64,
    pub highestmodseq: i64,
}

macro_rules! select_folder {
    ($tail:literal) => {
        concat!(
            "SELECT id, account_id, name, special_use, subscribed, uidvalidity, uidnext, highestmodseq ",
            "FROM folders ",
            $tail
        )
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

impl Store {
    pub async fn folders(&self, account_id: i64) -> Result<Vec<Folder>> {
        of_account(self.pool(), account_id).await
    }

    pub async fn folder(&self, account_id: i64, name: &str) -> Result<Option<Folder>> {
        by_name(self.pool(), account_id, name).await
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
        let inserted = sqlx::query(
            "INSERT INTO folders (account_id, name, special_use, uidvalidity) VALUES ($1, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(name)
        .bind(special_use.map(SpecialUse::attribute))
        // UIDVALIDITY is a non-zero 32-bit number; creation time fits until 2106.
        .bind(now().clamp(1, u32::MAX.into()))
        .execute(self.conn())
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists {
                what: "folder",
                name: name.to_string(),
            }),
            other => {
                other?;
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
        }
    }

    /// Queues a change to announce after commit.
    pub(super) fn announce(&mut self, change: Change) {
        self.pending.push(change);
    }
}

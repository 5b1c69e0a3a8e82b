//! Mail moved in from elsewhere (another IMAP server, a Maildir, an mbox
//! file) into an existing mailbox. Messages go in through the store's
//! append, as deliveries do, so quota, usage, UIDs, MODSEQs and the parse
//! cache stay right; each batch is one commit, its messages in order.
//! A message that does not fit the quota is reported, never dropped
//! silently. Each finished import is recorded in the audit log.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use postino_common::store::{
    Account, AppendTarget, Flags, Folder, Keywords, NewMessage, Origin, Refusal, SpecialUse, Store,
};
use serde::Serialize;

use super::{Ops, OpsError, Result};

/// A message to import.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub raw: Vec<u8>,
    pub flags: Flags,
    pub keywords: Keywords,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// Where it comes from, when the source has UIDs: recorded with it so
    /// that importing again skips it.
    pub origin: Option<Origin>,
}

/// Why one message was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotImported {
    /// It does not fit the mailbox's or the domain's quota.
    OverQuota(String),
    /// The store failed; the message may be tried again.
    Failed(String),
}

impl std::fmt::Display for NotImported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotImported::OverQuota(why) | NotImported::Failed(why) => f.write_str(why),
        }
    }
}

/// The mailbox an import writes into, with its folders by name.
pub struct Importer {
    store: Store,
    pub account: Account,
    folders: HashMap<String, Folder>,
}

/// What an import did, as it is audited.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Imported {
    pub source: String,
    pub folders: usize,
    pub messages: u64,
    pub bytes: u64,
    pub failures: u64,
}

impl Ops {
    /// The mailbox `address`, which must exist and be the actor's to
    /// manage, ready to import into.
    pub async fn importer(&self, address: &str) -> Result<Importer> {
        let account = self.managed_account(address).await?;
        let folders = self.store.folders(account.id).await?;
        Ok(Importer {
            store: self.store.clone(),
            folders: folders.into_iter().map(|f| (f.name.clone(), f)).collect(),
            account,
        })
    }

    /// Records a finished import of `importer`'s mailbox.
    pub async fn record_import(&self, importer: &Importer, imported: &Imported) -> Result<()> {
        let domain = importer
            .account
            .address
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain);
        let mut tx = self.store.begin().await?;
        self.audit(
            &mut tx,
            "mailbox.import",
            Some(domain),
            &importer.account.address,
            None::<&()>,
            Some(imported),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Importer {
    /// Our folder `name`, made (with its parents) if missing: with
    /// `special_use` if given, unless the mailbox has a folder of that use
    /// already, which is then the one used.
    pub async fn folder(&mut self, name: &str, special_use: Option<SpecialUse>) -> Result<i64> {
        if let Some(usage) = special_use
            && let Some(folder) = self
                .folders
                .values()
                .filter(|f| f.special_use.as_deref() == Some(usage.attribute()))
                .min_by(|a, b| a.name.cmp(&b.name))
        {
            return Ok(folder.id);
        }
        if let Some(folder) = self.folders.get(name) {
            return Ok(folder.id);
        }
        let mut tx = self.store.begin().await?;
        tx.create_parents(self.account.id, name).await?;
        let folder = tx.create_folder(self.account.id, name, special_use).await?;
        let all = tx.folders(self.account.id).await?;
        tx.commit().await?;
        self.folders = all.into_iter().map(|f| (f.name.clone(), f)).collect();
        Ok(folder.id)
    }

    /// The UIDs of `source_folder` already imported into `folder_id` at
    /// `uidvalidity`; an error if messages were imported from it at
    /// another UIDVALIDITY (the source folder was made anew, and its UIDs
    /// now name other messages: importing again could duplicate).
    pub async fn imported_uids(
        &self,
        folder_id: i64,
        source_folder: &str,
        uidvalidity: i64,
    ) -> Result<HashSet<i64>> {
        let validities = self
            .store
            .imported_validities(folder_id, source_folder)
            .await?;
        if validities.iter().any(|&v| v != uidvalidity) {
            return Err(OpsError::Conflict(format!(
                "folder `{source_folder}` has a new UIDVALIDITY ({uidvalidity}) since messages \
                 were copied from it; it is left alone rather than copied twice"
            )));
        }
        Ok(self
            .store
            .imported_uids(folder_id, source_folder, uidvalidity)
            .await?)
    }

    /// Appends `messages` to `folder_id` in one commit, in their order
    /// (their UIDs follow it), and returns each one's outcome in order.
    pub async fn append(
        &self,
        folder_id: i64,
        messages: Vec<Incoming>,
    ) -> Vec<Result<(), NotImported>> {
        let messages = messages
            .into_iter()
            .map(|incoming| {
                let target = AppendTarget {
                    folder_id,
                    flags: incoming.flags,
                    keywords: incoming.keywords,
                    internal_date: incoming.internal_date,
                    origin: incoming.origin,
                };
                NewMessage::to_folders(Arc::from(incoming.raw), vec![target])
            })
            .collect();
        let outcomes = self.store.append_in_order(messages).await;
        outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(refusal @ (Refusal::AccountOverQuota(_) | Refusal::DomainOverQuota(_)))) => {
                    Err(NotImported::OverQuota(refusal.to_string()))
                }
                Ok(Err(refusal)) => Err(NotImported::Failed(refusal.to_string())),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot import a message");
                    Err(NotImported::Failed(format!("store error: {err}")))
                }
            })
            .collect()
    }
}

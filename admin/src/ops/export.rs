//! A mailbox's mail read out whole, folder by folder, for a comune that
//! leaves (`postino mailbox export`): every message with its flags,
//! keywords and INTERNALDATE, read through the store, wherever bodies are
//! kept. Each export is recorded in the audit log, since it hands out a
//! person's mail.

use postino_common::store::{Account, Folder, MessageSummary, Store};
use serde::Serialize;

use super::{Ops, Result};

/// Messages whose bodies are read at once.
pub const BODIES_AT_ONCE: usize = 100;

/// A mailbox being exported.
pub struct Exporter {
    store: Store,
    pub account: Account,
    pub folders: Vec<Folder>,
}

/// What an export wrote, as it is audited.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exported {
    pub format: String,
    pub destination: String,
    pub folders: usize,
    pub messages: u64,
    pub bytes: u64,
}

impl Ops {
    /// The mailbox `address`, which must be the actor's to manage, ready
    /// to be read out.
    pub async fn exporter(&self, address: &str) -> Result<Exporter> {
        let account = self.managed_account(address).await?;
        Ok(Exporter {
            folders: self.store.folders(account.id).await?,
            store: self.store.clone(),
            account,
        })
    }

    /// Records a finished export.
    pub async fn record_export(&self, exporter: &Exporter, exported: &Exported) -> Result<()> {
        let address = &exporter.account.address;
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        let mut tx = self.store.begin().await?;
        self.audit(
            &mut tx,
            "mailbox.export",
            Some(domain),
            address,
            None::<&()>,
            Some(exported),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Exporter {
    /// A folder's messages in UID order, without their bodies.
    pub async fn messages(&self, folder: &Folder) -> Result<Vec<MessageSummary>> {
        Ok(self.store.messages(folder.id).await?)
    }

    /// The bodies of some messages of a folder, in UID order (at most
    /// [`BODIES_AT_ONCE`] at a time, which are all in memory at once).
    pub async fn bodies(&self, folder: &Folder, uids: &[i64]) -> Result<Vec<(i64, Vec<u8>)>> {
        Ok(self.store.message_bodies(folder.id, uids).await?)
    }
}

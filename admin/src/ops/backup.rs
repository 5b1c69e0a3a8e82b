//! Backups of the whole store. A backup holds every comune's mail, so only
//! a provincial admin may take or restore one, and each is recorded in the
//! audit log: a backup's record in the store it was taken from, after its
//! snapshot; a restore's in the store it filled.

use postino_common::store::Store;
use serde::Serialize;

use super::{Ops, Result};

impl Ops {
    /// The whole store, for `action` on it, if the actor may act on every
    /// domain.
    pub fn whole_store(&self, action: &str) -> Result<&Store> {
        self.require_all_domains(action)?;
        Ok(&self.store)
    }

    /// Records a backup or restore (`action`) of the directory `place`.
    pub async fn record_backup(
        &self,
        action: &str,
        place: &str,
        done: &impl Serialize,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        self.audit(
            &mut tx,
            action,
            None::<&str>,
            place,
            None::<&()>,
            Some(done),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

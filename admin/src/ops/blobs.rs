//! The message bodies kept outside the database, as the operator manages
//! them: moving them all to another store while the server runs, and
//! checking that every one is where its row says, whole. Provincial admins
//! only: bodies are every comune's at once.

use postino_common::blobs::Target;
use postino_common::store::BlobCheck;
use serde::Serialize;

use super::{Ops, OpsError, Result};

/// What a move did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub to: &'static str,
    pub moved: usize,
    /// Bodies still elsewhere after the move: changed while it ran, to be
    /// moved by running it again.
    pub left: i64,
}

/// A body store as the operator names it.
pub fn parse_target(text: &str) -> Result<Target> {
    match text {
        "database" => Ok(Target::Database),
        "filesystem" => Ok(Target::Filesystem),
        "s3" => Ok(Target::S3),
        other => Err(OpsError::Invalid {
            field: "to",
            message: format!("`{other}` is not a body store (database, filesystem or s3)"),
        }),
    }
}

impl Ops {
    /// How many bodies are elsewhere than `to`.
    pub async fn blobs_elsewhere(&self, to: Target) -> Result<i64> {
        self.require_all_domains("move message bodies")?;
        Ok(self.store.blobs_elsewhere(to).await?)
    }

    /// Moves every body into `to`; `moved` is told the count as it goes.
    /// Recorded in the audit log when done.
    pub async fn move_blobs(&self, to: Target, moved: impl FnMut(usize)) -> Result<Moved> {
        self.require_all_domains("move message bodies")?;
        let count = self.store.move_blobs(to, moved).await?;
        let done = Moved {
            to: to.name(),
            moved: count,
            left: self.store.blobs_elsewhere(to).await?,
        };
        let mut tx = self.store.begin().await?;
        self.audit(
            &mut tx,
            "blobs.move",
            [],
            to.name(),
            None::<&()>,
            Some(&done),
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Reads and checks every body; `checked` is told the count as it goes.
    pub async fn check_blobs(&self, checked: impl FnMut(usize)) -> Result<BlobCheck> {
        self.require_all_domains("check message bodies")?;
        Ok(self.store.check_blobs(checked).await?)
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::AdminScope;
    use postino_common::store::testing::TestStore;

    use super::*;
    use crate::ops::testing::ops;

    #[test]
    fn stores_are_named_as_in_the_configuration() {
        assert_eq!(parse_target("s3").unwrap(), Target::S3);
        assert_eq!(parse_target("filesystem").unwrap(), Target::Filesystem);
        assert!(matches!(
            parse_target("disk"),
            Err(OpsError::Invalid { field: "to", .. })
        ));
    }

    #[tokio::test]
    async fn only_provincial_admins_touch_bodies() {
        let t = TestStore::sqlite().await;
        let comune = ops(&t.store, AdminScope::Domains(vec!["a.example.it".into()]));
        assert!(matches!(
            comune.move_blobs(Target::Database, |_| {}).await,
            Err(OpsError::Forbidden(_))
        ));
        assert!(matches!(
            comune.check_blobs(|_| {}).await,
            Err(OpsError::Forbidden(_))
        ));
        let province = ops(&t.store, AdminScope::AllDomains);
        let moved = province.move_blobs(Target::Database, |_| {}).await.unwrap();
        assert_eq!((moved.moved, moved.left), (0, 0));
        t.finish().await;
    }
}

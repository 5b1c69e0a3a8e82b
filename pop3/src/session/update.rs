//! The UPDATE state (RFC 1939 section 6): at QUIT, messages RETR read get
//! `\Seen` and those DELE marked are expunged, with the store's own flag
//! and expunge operations, so that IMAP sessions on INBOX are told (an
//! IMAP session in IDLE sees the EXPUNGE). A message another session
//! expunged meanwhile is simply no longer there to expunge.
//!
//! A client that leaves without QUIT loses its deletions, as the RFC
//! says, but keeps its `\Seen` flags, as Dovecot keeps them.

use postino_common::chain::Chain;
use postino_common::store::{FlagChange, FlagOp, Flags};

use super::{Client, Maildrop, Outcome};
use crate::error::Error;
use crate::proto::Reply;

impl Client<'_> {
    pub(super) async fn update(&mut self, maildrop: Maildrop) -> Outcome {
        self.mark_seen(&maildrop, false).await?;
        let deleted = maildrop.deleted();
        if deleted.is_empty() {
            return Ok(Reply::ok("Logging out."));
        }
        let folder_id = maildrop.folder_id;
        let asked = deleted.len();
        let expunged = self
            .ctx
            .store
            .write(move |mut tx| async move {
                let expunged = tx.expunge(folder_id, &deleted).await?;
                tx.commit().await?;
                Ok(expunged)
            })
            .await?;
        tracing::info!(
            expunged = expunged.len(),
            already_gone = asked - expunged.len(),
            "messages deleted"
        );
        Ok(Reply::ok("Logging out, messages deleted."))
    }

    /// Keeps the `\Seen` flags of a session that ended without QUIT.
    pub(super) async fn keep_seen(&mut self, maildrop: &Maildrop) {
        if let Err(err) = self.mark_seen(maildrop, true).await {
            tracing::error!(error = %Chain(&err), "cannot keep the \\Seen flags of RETR");
        }
    }

    async fn mark_seen(&mut self, maildrop: &Maildrop, with_deleted: bool) -> Result<(), Error> {
        let uids = maildrop.newly_seen(with_deleted);
        if uids.is_empty() {
            return Ok(());
        }
        let seen = FlagChange {
            op: FlagOp::Add,
            flags: Flags::SEEN,
            keywords: Default::default(),
        };
        self.ctx
            .store
            .store_flags(maildrop.folder_id, &uids, &seen, None)
            .await?;
        Ok(())
    }
}

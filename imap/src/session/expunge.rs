//! EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, §6.4.9).

use imap_codec::imap_types::sequence::SequenceSet;

use super::{Done, Session, unavailable};

impl Session<'_> {
    pub(super) async fn expunge(&mut self, only: Option<&SequenceSet>) -> Done {
        let Some(view) = &self.selected else {
            return Done::bad("No mailbox selected");
        };
        if view.read_only {
            return Done::no("Mailbox is read-only").code("READ-ONLY");
        }
        let folder_id = view.folder_id;
        let among: Option<Vec<i64>> = only.map(|set| {
            view.resolve(set, true)
                .into_iter()
                .map(|(_, uid)| i64::from(uid))
                .collect()
        });
        let store = self.ctx.store.clone();
        let expunged = async {
            let mut tx = store.begin().await?;
            let removed = tx.expunge_deleted(folder_id, among.as_deref()).await?;
            tx.commit().await?;
            Ok::<_, postino_common::store::StoreError>(removed)
        };
        let removed = match expunged.await {
            Ok(removed) => removed,
            Err(err) => return unavailable(&err),
        };
        let removed: Vec<u32> = removed.into_iter().map(|uid| uid as u32).collect();
        // Report what other sessions expunged too before the tagged OK, as
        // Dovecot does, even if their notification is still on its way.
        self.forced_sync = true;
        let qresync = self.enabled.qresync;
        if let (Some(view), Some(conn)) = (&mut self.selected, &mut self.conn) {
            view.remove(&removed, qresync, &mut conn.out);
        }
        let done = Done::ok("EXPUNGE completed");
        if !qresync {
            return done;
        }
        // Under QRESYNC the client learns the mailbox's new HIGHESTMODSEQ
        // (RFC 7162 §3.2.10), as Dovecot tells it.
        match store.folder_by_id(folder_id).await {
            Ok(Some(folder)) => done.code(format!("HIGHESTMODSEQ {}", folder.highestmodseq)),
            Ok(None) => done,
            Err(err) => unavailable(&err),
        }
    }
}

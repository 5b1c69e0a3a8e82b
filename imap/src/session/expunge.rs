//! EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, §6.4.9).

use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::acl::Rights;

use super::view::View;
use super::{Client, Outcome};
use crate::proto::{Code, Status};

impl Client<'_> {
    pub(super) async fn expunge(&mut self, view: &mut View, only: Option<&SequenceSet>) -> Outcome {
        if view.read_only {
            return Ok(Status::no("Mailbox is read-only").code(Code::ReadOnly));
        }
        if !view.rights.contains(Rights::EXPUNGE) {
            return Ok(Status::no("Permission denied").code(Code::NoPerm));
        }
        let among: Option<Vec<i64>> = only.map(|set| {
            view.resolve(set, true)
                .into_iter()
                .map(|(_, uid)| i64::from(uid))
                .collect()
        });
        let folder_id = view.folder_id;
        let removed = self
            .ctx
            .store
            .expunge_deleted(folder_id, among.as_deref())
            .await?;
        let removed: Vec<u32> = removed.into_iter().map(|uid| uid as u32).collect();
        // Report what other sessions expunged too before the tagged OK, as
        // Dovecot does, even if their notification is still on its way.
        self.forced_sync = true;
        self.remove(view, &removed);
        let done = Status::ok("EXPUNGE completed");
        if !self.enabled.qresync {
            return Ok(done);
        }
        // Under QRESYNC the client learns the mailbox's new HIGHESTMODSEQ
        // (RFC 7162 §3.2.10), as Dovecot tells it.
        Ok(match self.ctx.store.folder_by_id(view.folder_id).await? {
            Some(folder) => done.code(Code::HighestModSeq(folder.highestmodseq as u64)),
            None => done,
        })
    }
}

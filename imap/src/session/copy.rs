//! COPY and MOVE, and their UID forms (RFC 9051 §6.4.7-8, RFC 6851), with
//! COPYUID (UIDPLUS, RFC 4315). Messages filed into or out of Junk are
//! recorded in the same transaction for rspamd to learn from, later and
//! elsewhere: the command never waits for rspamd.

use std::borrow::Cow;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;

use super::names::from_client;
use super::view::View;
use super::{Client, Outcome};
use crate::proto::{Code, Response, Status};

impl Client<'_> {
    pub(super) async fn copy(
        &mut self,
        account_id: i64,
        view: &mut View,
        set: &SequenceSet,
        mailbox: &Mailbox<'_>,
        by_uid: bool,
        moving: bool,
    ) -> Outcome {
        if moving && view.read_only {
            return Ok(Status::no("Mailbox is read-only").code(Code::ReadOnly));
        }
        if !by_uid && view.out_of_range(set) {
            return Ok(Status::bad("No such message"));
        }
        let name = from_client(mailbox, self.enabled)?;
        let store = &self.ctx.store;
        let Some(target) = store.folder(account_id, &name).await? else {
            return Ok(Status::no("No such mailbox").code(Code::TryCreate));
        };
        let source = view.folder_id;
        let uids: Vec<i64> = view
            .resolve(set, by_uid)
            .into_iter()
            .map(|(_, uid)| i64::from(uid))
            .collect();
        let target_id = target.id;
        let named = uids.len();
        let learning = self.ctx.settings.spam_learning;
        let copied = store
            .write(move |mut tx| async move {
                let map = if moving {
                    tx.move_messages(source, &uids, target_id).await?
                } else {
                    match tx.copy_messages(source, &uids, target_id).await? {
                        Ok(map) => map,
                        Err(_) => return Ok(None),
                    }
                };
                // As Dovecot does, a message of the view that another
                // session expunged makes the whole command fail: the
                // transaction is dropped, so nothing is copied or moved.
                let mut lesson = None;
                if map.len() == uids.len() {
                    if learning && !map.is_empty() {
                        let filed: Vec<i64> = map.iter().map(|&(_, uid)| uid).collect();
                        lesson = tx.learn_from_filing(source, target_id, &filed).await?;
                    }
                    tx.commit().await?;
                }
                Ok(Some((map, lesson)))
            })
            .await?;
        let Some((map, lesson)) = copied else {
            return Ok(Status::no("Over quota").code(Code::OverQuota));
        };
        if let Some(lesson) = lesson {
            tracing::info!(%lesson, messages = map.len(), folder = %target.name, "filed for rspamd to learn");
        }
        if map.len() != named {
            let refused = Status::no("Some of the requested messages no longer exist");
            return Ok(refused.code(Code::ExpungeIssued));
        }
        if map.is_empty() {
            return Ok(Status::ok(if moving {
                "MOVE completed, nothing to do"
            } else {
                "COPY completed, nothing to do"
            }));
        }
        let from: Vec<u32> = map.iter().map(|&(from, _)| from as u32).collect();
        let to: Vec<u32> = map.iter().map(|&(_, to)| to as u32).collect();
        let uid_validity = target.uidvalidity as u32;
        if !moving {
            if target.id == source {
                self.forced_sync = true;
            }
            let code = Code::CopyUid {
                uid_validity,
                from: Cow::Owned(from),
                to: Cow::Owned(to),
            };
            return Ok(Status::ok("COPY completed").code(code));
        }
        // MOVE: COPYUID comes in an untagged OK before the expunges
        // (RFC 6851 §4.3).
        let code = Code::CopyUid {
            uid_validity,
            from: Cow::Borrowed(&from),
            to: Cow::Borrowed(&to),
        };
        self.send(Response::Untagged(Status::ok("Moved").code(code)));
        self.remove(view, &from);
        self.forced_sync = target.id == source;
        Ok(Status::ok("MOVE completed"))
    }
}

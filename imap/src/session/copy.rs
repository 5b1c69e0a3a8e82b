//! COPY and MOVE, and their UID forms (RFC 9051 §6.4.7-8, RFC 6851), with
//! COPYUID (UIDPLUS, RFC 4315). Messages filed into or out of Junk are
//! recorded in the same transaction for rspamd to learn from, later and
//! elsewhere: the command never waits for rspamd.

use std::borrow::Cow;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::acl::Rights;

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
        // Moving out deletes and expunges (RFC 4314 §4, RFC 6851 §3.3).
        if moving
            && !view
                .rights
                .contains(Rights::DELETE_MESSAGES.with(Rights::EXPUNGE))
        {
            return Ok(Status::no("Permission denied").code(Code::NoPerm));
        }
        if !by_uid && view.out_of_range(set) {
            return Ok(Status::bad("No such message"));
        }
        let name = from_client(mailbox, self.enabled)?;
        let store = &self.ctx.store;
        let target = match self.reach(account_id, &name, Rights::INSERT).await? {
            Ok(reached) => reached.folder,
            Err(refused) => return Ok(refused.status(Code::TryCreate)),
        };
        let source = view.folder_id;
        let uids: Vec<i64> = view
            .resolve(set, by_uid)
            .into_iter()
            .map(|(_, uid)| i64::from(uid))
            .collect();
        let target_id = target.id;
        // A move to another account's folder is a copy there, charged to
        // it, and an expunge here, given back to this one.
        let across = target.account_id != view.account_id;
        let named = uids.len();
        let learning = self.ctx.settings.spam_learning;
        let copied = store
            .write(move |mut tx| async move {
                let map = if moving && !across {
                    tx.move_messages(source, &uids, target_id).await?
                } else {
                    match tx.copy_messages(source, &uids, target_id).await? {
                        Ok(map) => map,
                        Err(_) => return Ok(None),
                    }
                };
                if moving && across && map.len() == uids.len() {
                    let moved: Vec<i64> = map.iter().map(|&(from, _)| from).collect();
                    tx.expunge(source, &moved).await?;
                }
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

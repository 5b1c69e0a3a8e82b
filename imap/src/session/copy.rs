//! COPY and MOVE, and their UID forms (RFC 9051 §6.4.7-8, RFC 6851), with
//! COPYUID (UIDPLUS, RFC 4315).

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::store::{Refusal, StoreError, UidMap};

use super::names::from_client;
use super::view::uid_set;
use super::{Done, Session, unavailable};

impl Session<'_> {
    pub(super) async fn copy(
        &mut self,
        set: &SequenceSet,
        mailbox: &Mailbox<'_>,
        by_uid: bool,
        moving: bool,
    ) -> Done {
        let (Some(view), Some(login)) = (&self.selected, &self.login) else {
            return Done::bad("No mailbox selected");
        };
        if moving && view.read_only {
            return Done::no("Mailbox is read-only").code("READ-ONLY");
        }
        if !by_uid && view.out_of_range(set) {
            return Done::bad("No such message");
        }
        let Ok(name) = from_client(mailbox, self.enabled) else {
            return Done::no("Invalid mailbox name").code("CANNOT");
        };
        let store = self.ctx.store.clone();
        let target = match store.folder(login.user.account_id, &name).await {
            Ok(Some(folder)) => folder,
            Ok(None) => return Done::no("No such mailbox").code("TRYCREATE"),
            Err(err) => return unavailable(&err),
        };
        let source = view.folder_id;
        let uids: Vec<i64> = view
            .resolve(set, by_uid)
            .into_iter()
            .map(|(_, uid)| i64::from(uid))
            .collect();
        let done = async {
            let mut tx = store.begin().await?;
            let map = if moving {
                Ok(tx.move_messages(source, &uids, target.id).await?)
            } else {
                tx.copy_messages(source, &uids, target.id).await?
            };
            // As Dovecot does, a message of the view that another session
            // expunged makes the whole command fail: the transaction is
            // dropped, so nothing is copied or moved.
            if map.as_ref().is_ok_and(|map| map.len() == uids.len()) {
                tx.commit().await?;
            }
            Ok::<Result<UidMap, Refusal>, StoreError>(map)
        };
        let map = match done.await {
            Ok(Ok(map)) if map.len() == uids.len() => map,
            Ok(Ok(_)) => {
                return Done::no("Some of the requested messages no longer exist")
                    .code("EXPUNGEISSUED");
            }
            Ok(Err(_)) => return Done::no("Over quota").code("OVERQUOTA"),
            Err(err) => return unavailable(&err),
        };
        let verb = if moving { "MOVE" } else { "COPY" };
        if map.is_empty() {
            return Done::ok(format!("{verb} completed, nothing to do"));
        }
        let from: Vec<u32> = map.iter().map(|&(from, _)| from as u32).collect();
        let to: Vec<u32> = map.iter().map(|&(_, to)| to as u32).collect();
        let code = format!(
            "COPYUID {} {} {}",
            target.uidvalidity,
            uid_set(&from),
            uid_set(&to)
        );
        if !moving {
            if target.id == source {
                self.forced_sync = true;
            }
            return Done::ok(format!("{verb} completed")).code(code);
        }
        // MOVE: COPYUID comes in an untagged OK before the expunges
        // (RFC 6851 §4.3).
        self.conn().line(&format!("* OK [{code}] Moved"));
        let qresync = self.enabled.qresync;
        if let (Some(view), Some(conn)) = (&mut self.selected, &mut self.conn) {
            view.remove(&from, qresync, &mut conn.out);
        }
        self.forced_sync = target.id == source;
        Done::ok(format!("{verb} completed"))
    }
}

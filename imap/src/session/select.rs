//! SELECT and EXAMINE (RFC 9051 §6.3.2-3, with CONDSTORE and QRESYNC
//! parameters, RFC 7162 §3.1.8 and §3.2.5), CLOSE and UNSELECT.

use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::acl::Rights;
use postino_common::store::StoreError;

use super::names::from_client;
use super::view::View;
use super::{Client, Outcome, State};
use crate::proto::{Code, Data, FetchItem, List, Response, Status};
use crate::search::in_sequence_set;

impl Client<'_> {
    pub(super) async fn select(
        &mut self,
        account_id: i64,
        state: &mut State,
        mailbox: &Mailbox<'_>,
        parameters: &[SelectParameter],
        read_only: bool,
    ) -> Outcome {
        // A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
        // CLOSED tells where the old mailbox's responses end (RFC 7162
        // §3.2.11); Dovecot sends it without QRESYNC too.
        if state.unselect().is_some() {
            let closed = Status::ok("Previous mailbox closed").code(Code::Closed);
            self.send(Response::Untagged(closed));
        }
        let name = from_client(mailbox, self.enabled)?;
        let mut qresync = None;
        for parameter in parameters {
            match parameter {
                SelectParameter::CondStore => self.enabled.condstore = true,
                SelectParameter::QResync {
                    uid_validity,
                    mod_sequence_value,
                    known_uids,
                    ..
                } => {
                    if !self.enabled.qresync {
                        return Ok(Status::bad("Enable QRESYNC first"));
                    }
                    qresync = Some((
                        i64::from(uid_validity.get()),
                        mod_sequence_value.get() as i64,
                        known_uids.clone(),
                    ));
                }
            }
        }
        let ctx = self.ctx;
        let store = &ctx.store;
        // The folder before its UIDs: a message added in between is then
        // both listed and reported again, never missed.
        let reached = match self.reach(account_id, &name, Rights::READ).await? {
            Ok(reached) => reached,
            Err(refused) => return Ok(refused.status(Code::NonExistent)),
        };
        let (folder, rights) = (reached.folder, reached.rights);
        // Without a right to change anything the mailbox is read-only, as
        // in Dovecot.
        let changes = Rights::SEEN
            .with(Rights::WRITE)
            .with(Rights::DELETE_MESSAGES)
            .with(Rights::EXPUNGE);
        let read_only = read_only || !rights.intersects(changes);
        if let State::Authenticated(login) = state
            && login.watch.account_id() != folder.account_id
        {
            // Another account's changes from now on; what came before this
            // is read once at the end of the command.
            login.follow(store, folder.account_id);
            self.forced_sync = true;
        }
        let uids = store.message_uids(folder.id).await?;
        let uids = uids.into_iter().map(|uid| uid as u32).collect();
        let mut view = View::new(&folder, uids, read_only, rights);
        let enabled = self.enabled;
        view.take_recent(store, &folder, enabled).await;
        // IMAP4rev2 dropped the UNSEEN response code.
        let first_unseen = match enabled.rev2 || folder.unseen == 0 {
            true => None,
            false => store
                .first_unseen(folder.id)
                .await?
                .and_then(|uid| view.seq_of(uid as u32)),
        };
        self.send_mailbox_flags(&folder.keywords, view.writable());
        self.send(Data::Exists(view.exists()));
        if !enabled.rev2 {
            self.send(Data::Recent(view.recent_count() as u32));
            if let Some(seq) = first_unseen {
                let unseen = Status::ok("First unseen").code(Code::Unseen(seq));
                self.send(Response::Untagged(unseen));
            }
        }
        let uid_validity = folder.uidvalidity as u32;
        let untagged = [
            Status::ok("UIDs valid").code(Code::UidValidity(uid_validity)),
            Status::ok("Predicted next UID").code(Code::UidNext(folder.uidnext as u32)),
            Status::ok("Highest").code(Code::HighestModSeq(folder.highestmodseq as u64)),
        ];
        for status in untagged {
            self.send(Response::Untagged(status));
        }
        if enabled.rev2 {
            self.send(Data::List(List {
                lsub: false,
                attributes: &[],
                mailbox: &folder.name,
                subscribed_child: false,
            }));
        }
        if let Some((uidvalidity, since, known)) = qresync
            && uidvalidity == folder.uidvalidity
        {
            self.resync(&view, since, known.as_ref()).await?;
        }
        state.select(view);
        Ok(if read_only {
            Status::ok("EXAMINE completed").code(Code::ReadOnly)
        } else {
            Status::ok("SELECT completed").code(Code::ReadWrite)
        })
    }

    /// QRESYNC: what the client missed since `since`: expunged UIDs it knew
    /// as VANISHED (EARLIER), then flags of messages changed since.
    async fn resync(
        &mut self,
        view: &View,
        since: i64,
        known: Option<&SequenceSet>,
    ) -> Result<(), StoreError> {
        let ctx = self.ctx;
        let store = &ctx.store;
        let mut vanished: Vec<u32> = store
            .vanished(view.folder_id, since, view.modseq)
            .await?
            .into_iter()
            .map(|uid| uid as u32)
            .collect();
        if let Some(known) = known {
            vanished.retain(|&uid| in_sequence_set(known, uid, u32::MAX));
        }
        let changed = store.messages_changed_since(view.folder_id, since).await?;
        if !vanished.is_empty() {
            self.send(Data::Vanished {
                earlier: true,
                uids: &vanished,
            });
        }
        for message in changed.iter().filter(|m| m.modseq <= view.modseq) {
            let Some(seq) = view.seq_of(message.uid as u32) else {
                continue;
            };
            let items = [
                FetchItem::Uid(message.uid as u32),
                FetchItem::Flags(view.flags(message.uid, message.flags, &message.keywords)),
                FetchItem::ModSeq(message.modseq as u64),
            ];
            self.send(Data::Fetch { seq, items: &items });
        }
        Ok(())
    }

    /// CLOSE expunges silently what is marked deleted, UNSELECT does not;
    /// both leave the selected state.
    pub(super) async fn close(&mut self, state: &mut State, expunge: bool) -> Outcome {
        let Some(view) = state.unselect() else {
            return Ok(Status::bad("Select a mailbox first"));
        };
        if expunge && !view.read_only && view.rights.contains(Rights::EXPUNGE) {
            let mut tx = self.ctx.store.begin().await?;
            tx.expunge_deleted(view.folder_id, None).await?;
            tx.commit().await?;
        }
        Ok(if expunge {
            Status::ok("CLOSE completed")
        } else {
            Status::ok("UNSELECT completed")
        })
    }
}

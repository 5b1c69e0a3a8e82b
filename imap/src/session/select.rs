//! SELECT and EXAMINE (RFC 9051 §6.3.2-3, with CONDSTORE and QRESYNC
//! parameters, RFC 7162 §3.1.8 and §3.2.5), CLOSE and UNSELECT.

use std::io::Write as _;

use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::mailbox::Mailbox;

use super::names::{from_client, write_name};
use super::view::{View, uid_set, write_flags, write_mailbox_flags};
use super::{Done, Session, unavailable};
use crate::search::in_sequence_set;

impl Session<'_> {
    pub(super) async fn select(
        &mut self,
        mailbox: &Mailbox<'_>,
        parameters: &[SelectParameter],
        read_only: bool,
    ) -> Done {
        // A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
        // CLOSED tells where the old mailbox's responses end (RFC 7162
        // §3.2.11); Dovecot sends it without QRESYNC too.
        if self.selected.take().is_some() {
            self.conn().line("* OK [CLOSED] Previous mailbox closed");
        }
        let Some(login) = &self.login else {
            return Done::bad("Log in first");
        };
        let account_id = login.user.account_id;
        let Ok(name) = from_client(mailbox, self.enabled) else {
            return Done::no("Invalid mailbox name").code("CANNOT");
        };
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
                        return Done::bad("Enable QRESYNC first");
                    }
                    qresync = Some((
                        i64::from(uid_validity.get()),
                        mod_sequence_value.get() as i64,
                        known_uids.clone(),
                    ));
                }
            }
        }
        let store = self.ctx.store.clone();
        // The folder before its UIDs: a message added in between is then
        // both listed and reported again, never missed.
        let folder = match store.folder(account_id, &name).await {
            Ok(Some(folder)) => folder,
            Ok(None) => return Done::no("No such mailbox").code("NONEXISTENT"),
            Err(err) => return unavailable(&err),
        };
        let uids = match store.message_uids(folder.id).await {
            Ok(uids) => uids.into_iter().map(|uid| uid as u32).collect(),
            Err(err) => return unavailable(&err),
        };
        let mut view = View::new(&folder, uids, read_only);
        let enabled = self.enabled;
        view.take_recent(&store, &folder, enabled).await;
        // IMAP4rev2 dropped the UNSEEN response code.
        let first_unseen = match enabled.rev2 || folder.unseen == 0 {
            true => None,
            false => match store.first_unseen(folder.id).await {
                Ok(uid) => uid.and_then(|uid| view.seq_of(uid as u32)),
                Err(err) => return unavailable(&err),
            },
        };
        let conn = self.conn();
        write_mailbox_flags(&mut conn.out, &folder.keywords, read_only);
        conn.line(&format!("* {} EXISTS", view.exists()));
        if !enabled.rev2 {
            conn.line(&format!("* {} RECENT", view.recent_count()));
            if let Some(seq) = first_unseen {
                conn.line(&format!("* OK [UNSEEN {seq}] First unseen"));
            }
        }
        conn.line(&format!(
            "* OK [UIDVALIDITY {}] UIDs valid",
            folder.uidvalidity
        ));
        conn.line(&format!(
            "* OK [UIDNEXT {}] Predicted next UID",
            folder.uidnext
        ));
        conn.line(&format!(
            "* OK [HIGHESTMODSEQ {}] Highest",
            folder.highestmodseq
        ));
        if enabled.rev2 {
            let out = &mut conn.out;
            out.extend_from_slice(b"* LIST () \"/\" ");
            write_name(out, &folder.name, enabled);
            out.extend_from_slice(b"\r\n");
        }
        if let Some((uidvalidity, since, known)) = qresync
            && uidvalidity == folder.uidvalidity
            && let Err(err) = self.resync(&view, since, known.as_ref()).await
        {
            return unavailable(&err);
        }
        self.selected = Some(view);
        if read_only {
            Done::ok("EXAMINE completed").code("READ-ONLY")
        } else {
            Done::ok("SELECT completed").code("READ-WRITE")
        }
    }

    /// QRESYNC: what the client missed since `since`: expunged UIDs it knew
    /// as VANISHED (EARLIER), then flags of messages changed since.
    async fn resync(
        &mut self,
        view: &View,
        since: i64,
        known: Option<&imap_codec::imap_types::sequence::SequenceSet>,
    ) -> Result<(), postino_common::store::StoreError> {
        let store = self.ctx.store.clone();
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
        let out = &mut self.conn().out;
        if !vanished.is_empty() {
            let _ = write!(out, "* VANISHED (EARLIER) {}\r\n", uid_set(&vanished));
        }
        for message in changed.iter().filter(|m| m.modseq <= view.modseq) {
            let Some(seq) = view.seq_of(message.uid as u32) else {
                continue;
            };
            let _ = write!(out, "* {seq} FETCH (UID {} FLAGS ", message.uid);
            let recent = view.is_recent(message.uid as u32);
            write_flags(out, message.flags, &message.keywords, recent);
            let _ = write!(out, " MODSEQ ({}))\r\n", message.modseq);
        }
        Ok(())
    }

    /// CLOSE expunges silently what is marked deleted, UNSELECT does not;
    /// both leave the selected state.
    pub(super) async fn close(&mut self, expunge: bool) -> Done {
        let Some(view) = self.selected.take() else {
            return Done::bad("No mailbox selected");
        };
        if expunge && !view.read_only {
            let expunged = async {
                let mut tx = self.ctx.store.begin().await?;
                tx.expunge_deleted(view.folder_id, None).await?;
                tx.commit().await
            };
            if let Err(err) = expunged.await {
                return unavailable(&err);
            }
        }
        if expunge {
            Done::ok("CLOSE completed")
        } else {
            Done::ok("UNSELECT completed")
        }
    }
}

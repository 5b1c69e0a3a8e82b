//! The selected mailbox as this session sees it: its messages numbered in
//! UID order, and what the session has already been told.
//!
//! Other sessions and deliveries change the folder at any time; the view
//! catches up from the store (rows whose MODSEQ is above what it has seen,
//! and the expunge history) only at the points where the client may be told
//! (RFC 9051 §7.5.1): new messages as EXISTS, flag changes as FETCH, and
//! expunges as EXPUNGE or, under QRESYNC, VANISHED.

use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::acl::Rights;
use postino_common::store::{Flags, Folder, Keywords, Store, StoreError};

use super::{Client, Enabled, LoggedIn};
use crate::error::Chain;
use crate::proto::{Code, Data, FetchItem, MessageFlags, Response, Status};
use crate::search::in_sequence_set;

pub(crate) struct View {
    pub folder_id: i64,
    /// The account that owns the folder.
    pub account_id: i64,
    pub name: String,
    pub read_only: bool,
    /// The user's rights in the folder: all of them in its own.
    pub rights: Rights,
    /// UIDs of the messages the client knows, ascending: sequence number
    /// `n` is `uids[n - 1]`.
    pub uids: Vec<u32>,
    /// The folder's HIGHESTMODSEQ up to which the session has caught up.
    pub modseq: i64,
    /// Expunged by others while EXPUNGE could not be reported; reported at
    /// the next point it can.
    pending_expunge: Vec<u32>,
    /// MODSEQs of this session's own flag changes, already reported.
    own_modseqs: Vec<i64>,
    /// UIDs found by the last `SEARCH RETURN (SAVE)`: what `$` names
    /// (SEARCHRES, RFC 5182).
    pub saved: Vec<u32>,
    /// The folder's keywords as last announced in FLAGS.
    keywords: Keywords,
    /// UIDs that are `\Recent` in this session, ascending.
    recent: Vec<u32>,
}

impl View {
    pub(crate) fn new(folder: &Folder, uids: Vec<u32>, read_only: bool, rights: Rights) -> View {
        View {
            folder_id: folder.id,
            account_id: folder.account_id,
            name: folder.name.clone(),
            read_only,
            rights,
            uids,
            modseq: folder.highestmodseq,
            pending_expunge: Vec::new(),
            own_modseqs: Vec::new(),
            saved: Vec::new(),
            keywords: folder.keywords.clone(),
            recent: Vec::new(),
        }
    }

    /// The rights to change messages this session may use: none in a
    /// read-only mailbox.
    pub(crate) fn writable(&self) -> Rights {
        match self.read_only {
            true => Rights::NONE,
            false => self.rights,
        }
    }

    pub(crate) fn is_recent(&self, uid: u32) -> bool {
        self.recent.binary_search(&uid).is_ok()
    }

    pub(crate) fn recent_count(&self) -> usize {
        self.recent.len()
    }

    /// Marks `\Recent` the messages of the view no session has taken yet:
    /// a read-write IMAP4rev1 session takes them, so that no other gets
    /// them; a read-only one (EXAMINE) shows them without taking, as
    /// Dovecot does. IMAP4rev2 has no `\Recent`. A store failure only costs
    /// the flag.
    pub(crate) async fn take_recent(&mut self, store: &Store, folder: &Folder, enabled: Enabled) {
        let until = i64::from(self.max_uid()) + 1;
        if enabled.rev2 || folder.first_recent >= until {
            return;
        }
        let first = if self.read_only {
            folder.first_recent
        } else {
            match store.take_recent(self.folder_id, until).await {
                Ok(Some(first)) => first,
                Ok(None) => return,
                Err(err) => {
                    tracing::warn!(error = %Chain(&err), "cannot take new messages as recent");
                    return;
                }
            }
        };
        let taken = self.uids.iter().filter(|&&uid| i64::from(uid) >= first);
        self.recent.extend(taken);
        self.recent.sort_unstable();
        self.recent.dedup();
    }

    pub(crate) fn exists(&self) -> u32 {
        self.uids.len() as u32
    }

    pub(crate) fn max_uid(&self) -> u32 {
        self.uids.last().copied().unwrap_or(0)
    }

    pub(crate) fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    /// The messages a sequence set names, `(seq, uid)` ascending; with
    /// `by_uid` the set holds UIDs. UIDs that are not here are skipped, as
    /// RFC 9051 §6.4.9 says; `*` is the last message.
    pub(crate) fn resolve(&self, set: &SequenceSet, by_uid: bool) -> Vec<(u32, u32)> {
        if by_uid {
            let largest = self.max_uid();
            self.uids
                .iter()
                .enumerate()
                .filter(|&(_, &uid)| in_sequence_set(set, uid, largest))
                .map(|(i, &uid)| (i as u32 + 1, uid))
                .collect()
        } else {
            let largest = self.exists();
            self.uids
                .iter()
                .enumerate()
                .filter(|&(i, _)| in_sequence_set(set, i as u32 + 1, largest))
                .map(|(i, &uid)| (i as u32 + 1, uid))
                .collect()
        }
    }

    /// True when a sequence set names a message number the mailbox does
    /// not have (a client error, unlike an unknown UID).
    pub(crate) fn out_of_range(&self, set: &SequenceSet) -> bool {
        use imap_codec::imap_types::sequence::{SeqOrUid, Sequence};
        // `*` in an empty mailbox names no message either, as in Dovecot.
        let beyond = |s: &SeqOrUid| match s {
            SeqOrUid::Value(n) => n.get() > self.exists(),
            SeqOrUid::Asterisk => self.exists() == 0,
        };
        set.0.as_ref().iter().any(|sequence| match sequence {
            Sequence::Single(s) => beyond(s),
            Sequence::Range(a, b) => beyond(a) && beyond(b),
        })
    }

    /// Remembers a MODSEQ of this session's own change, already reported.
    /// A change right after the MODSEQ the view has caught up to had
    /// nothing come between: the view is then caught up to it without
    /// reading the store again.
    pub(crate) fn own_change(&mut self, modseq: i64) {
        if modseq == self.modseq + 1 {
            self.modseq = modseq;
        } else if modseq > self.modseq && !self.own_modseqs.contains(&modseq) {
            self.own_modseqs.push(modseq);
        }
    }

    /// The flags of a message of the view.
    pub(crate) fn flags<'k>(
        &self,
        uid: i64,
        flags: Flags,
        keywords: &'k Keywords,
    ) -> MessageFlags<'k> {
        MessageFlags {
            flags,
            recent: self.is_recent(uid as u32),
            keywords,
        }
    }
}

impl Client<'_> {
    /// Sends the flags a mailbox has (system flags and its keywords) and
    /// those a client may set, as SELECT does.
    /// FLAGS, and PERMANENTFLAGS with what `writable` lets the session
    /// store.
    pub(crate) fn send_mailbox_flags(&mut self, keywords: &Keywords, writable: Rights) {
        self.send(Data::Flags(keywords));
        let (flags, with_keywords) = storable(writable);
        let code = Code::PermanentFlags {
            flags,
            keywords: with_keywords.then_some(keywords),
        };
        let text = match writable.is_empty() {
            true => "Read-only mailbox",
            false => "Flags permitted",
        };
        self.send(Response::Untagged(Status::ok(text).code(code)));
    }

    /// Announces the folder's keywords with FLAGS and PERMANENTFLAGS
    /// (RFC 9051 §7.3.5) when they are not what the client was told.
    pub(crate) fn announce_keywords(&mut self, view: &mut View, keywords: &Keywords) {
        if view.keywords != *keywords {
            view.keywords.clone_from(keywords);
            self.send_mailbox_flags(keywords, view.writable());
        }
    }

    /// Takes messages out of the view and sends EXPUNGE (highest sequence
    /// number first, so that each is right when read) or one VANISHED.
    pub(crate) fn remove(&mut self, view: &mut View, uids: &[u32]) {
        let mut gone: Vec<u32> = uids
            .iter()
            .filter(|uid| view.uids.binary_search(uid).is_ok())
            .copied()
            .collect();
        if gone.is_empty() {
            return;
        }
        gone.sort_unstable();
        gone.dedup();
        if self.enabled.qresync {
            self.send(Data::Vanished {
                earlier: false,
                uids: &gone,
            });
            view.uids.retain(|uid| gone.binary_search(uid).is_err());
        } else {
            for uid in gone.iter().rev() {
                if let Ok(index) = view.uids.binary_search(uid) {
                    view.uids.remove(index);
                    self.send(Data::Expunge(index as u32 + 1));
                }
            }
        }
        // The new RECENT count when recent messages went, as Dovecot says.
        let recent = view.recent.len();
        view.recent.retain(|uid| gone.binary_search(uid).is_err());
        if view.recent.len() != recent {
            self.send(Data::Recent(view.recent.len() as u32));
        }
    }

    /// Tells the client what changed in the selected folder since it was
    /// last told. Store failures are logged and retried at the next point.
    pub(crate) async fn report_changes(
        &mut self,
        login: &mut LoggedIn,
        view: &mut View,
        expunge_allowed: bool,
    ) {
        // Any change to the account wakes the watch; without one, nothing
        // changed (this session's own changes wake it too).
        if !login.watch.take_change() && !self.forced_sync {
            if expunge_allowed && !view.pending_expunge.is_empty() {
                let pending = std::mem::take(&mut view.pending_expunge);
                self.remove(view, &pending);
            }
            return;
        }
        self.forced_sync = false;
        // On the heap: an idling session waits in here, and its future
        // lasts as long as the connection (see `Session::command`).
        if let Err(err) = Box::pin(self.catch_up(view, expunge_allowed)).await {
            tracing::warn!(error = %Chain(&err), "cannot read the selected folder's changes");
        }
    }

    /// Turns CONDSTORE on for a command that uses it (RFC 7162 §3.1); the
    /// first such command also gets the mailbox's HIGHESTMODSEQ.
    pub(crate) fn enable_condstore(&mut self, view: &View) {
        if self.enabled.condstore {
            return;
        }
        self.enabled.condstore = true;
        let highest = Status::ok("Highest").code(Code::HighestModSeq(view.modseq as u64));
        self.send(Response::Untagged(highest));
    }

    async fn catch_up(&mut self, view: &mut View, expunge_allowed: bool) -> Result<(), StoreError> {
        let ctx = self.ctx;
        let store = &ctx.store;
        let Some(folder) = store.folder_by_id(view.folder_id).await? else {
            // Deleted by another session: everything in it is gone.
            let all = view.uids.clone();
            if expunge_allowed {
                self.remove(view, &all);
            }
            return Ok(());
        };
        let until = folder.highestmodseq;
        // Keywords first: the FETCH responses below may show them.
        self.announce_keywords(view, &folder.keywords);
        if until > view.modseq {
            let vanished = store.vanished(view.folder_id, view.modseq, until).await?;
            view.pending_expunge
                .extend(vanished.into_iter().map(|uid| uid as u32));
            let changed = store
                .messages_changed_since(view.folder_id, view.modseq)
                .await?;
            let Enabled {
                condstore, qresync, ..
            } = self.enabled;
            let mut added = false;
            let mut items = Vec::with_capacity(3);
            for message in changed.iter().filter(|m| m.modseq <= until) {
                let uid = message.uid as u32;
                if uid > view.max_uid() {
                    view.uids.push(uid);
                    added = true;
                } else if let Some(seq) = view.seq_of(uid) {
                    if view.own_modseqs.contains(&message.modseq) {
                        continue;
                    }
                    // UID only under QRESYNC (RFC 7162 §3.2.4), as Dovecot.
                    items.clear();
                    if qresync {
                        items.push(FetchItem::Uid(uid));
                    }
                    let flags = view.flags(message.uid, message.flags, &message.keywords);
                    items.push(FetchItem::Flags(flags));
                    if condstore {
                        items.push(FetchItem::ModSeq(message.modseq as u64));
                    }
                    self.send(Data::Fetch { seq, items: &items });
                }
            }
            if added {
                self.send(Data::Exists(view.exists()));
                // RECENT when it changed, as Dovecot does.
                let recent = view.recent_count();
                view.take_recent(store, &folder, self.enabled).await;
                if view.recent_count() != recent {
                    self.send(Data::Recent(view.recent_count() as u32));
                }
            }
            view.modseq = until;
            view.own_modseqs.clear();
        }
        if expunge_allowed && !view.pending_expunge.is_empty() {
            let pending = std::mem::take(&mut view.pending_expunge);
            self.remove(view, &pending);
        }
        Ok(())
    }
}

/// The system flags `rights` let a session store, and whether keywords too
/// (RFC 4314 §4): `\Seen` with `s`, `\Deleted` with `t`, the others and
/// keywords with `w`.
pub(crate) fn storable(rights: Rights) -> (Flags, bool) {
    let mut flags = Flags::default();
    if rights.contains(Rights::SEEN) {
        flags |= Flags::SEEN;
    }
    if rights.contains(Rights::DELETE_MESSAGES) {
        flags |= Flags::DELETED;
    }
    let write = rights.contains(Rights::WRITE);
    if write {
        flags |= Flags::ALL - Flags::SEEN - Flags::DELETED;
    }
    (flags, write)
}

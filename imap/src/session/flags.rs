//! STORE and UID STORE (RFC 9051 §6.4.6), with UNCHANGEDSINCE (RFC 7162
//! §3.1.3).

use std::borrow::Cow;

use imap_codec::imap_types::command::StoreModifier;
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::store::{FlagChange, FlagOp, Flags, Keywords};

use super::view::{View, storable};
use super::{Client, Outcome};
use crate::proto::{Code, Data, FetchItem, Status};

/// The system flags and the keywords of a flag list; `None` for a flag that
/// may not be stored (`\Recent`, unknown `\` flags).
pub(super) fn split_flags(flags: &[Flag<'_>]) -> Option<(Flags, Keywords)> {
    let mut system = Flags::default();
    let mut keywords = Keywords::default();
    for flag in flags {
        match flag {
            Flag::Seen => system |= Flags::SEEN,
            Flag::Answered => system |= Flags::ANSWERED,
            Flag::Flagged => system |= Flags::FLAGGED,
            Flag::Deleted => system |= Flags::DELETED,
            Flag::Draft => system |= Flags::DRAFT,
            Flag::Keyword(atom) => {
                keywords.insert(atom.inner());
            }
            Flag::Extension(_) => return None,
        }
    }
    Some((system, keywords))
}

/// What a STORE may change with the user's rights (RFC 4314 §4): the
/// flags it has no right to are left out, as long as one is left; a
/// replacement must be allowed every flag, since it clears those not named.
fn permitted(
    view: &View,
    kind: StoreType,
    system: Flags,
    keywords: Keywords,
) -> Option<(Flags, Keywords)> {
    let (allowed, keywords_allowed) = storable(view.rights);
    if allowed == Flags::ALL && keywords_allowed {
        return Some((system, keywords));
    }
    let asked = system != Flags::default() || !keywords.is_empty();
    let kept = system - (Flags::ALL - allowed);
    let keywords = if keywords_allowed {
        keywords
    } else {
        Keywords::default()
    };
    let nothing_left = kept == Flags::default() && keywords.is_empty();
    match kind == StoreType::Replace || (asked && nothing_left) {
        true => None,
        false => Some((kept, keywords)),
    }
}

impl Client<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store(
        &mut self,
        view: &mut View,
        set: &SequenceSet,
        kind: StoreType,
        response: StoreResponse,
        flags: &[Flag<'_>],
        by_uid: bool,
        modifiers: &[StoreModifier],
    ) -> Outcome {
        if view.read_only {
            return Ok(Status::no("Mailbox is read-only").code(Code::ReadOnly));
        }
        if !by_uid && view.out_of_range(set) {
            return Ok(Status::bad("No such message"));
        }
        let Some((system, keywords)) = split_flags(flags) else {
            return Ok(Status::bad("That flag cannot be stored"));
        };
        let Some((system, keywords)) = permitted(view, kind, system, keywords) else {
            return Ok(Status::no("Permission denied").code(Code::NoPerm));
        };
        let unchanged_since = modifiers
            .iter()
            .map(|m| match m {
                StoreModifier::UnchangedSince(since) => *since as i64,
            })
            .next();
        let change = FlagChange {
            op: match kind {
                StoreType::Add => FlagOp::Add,
                StoreType::Remove => FlagOp::Remove,
                StoreType::Replace => FlagOp::Replace,
            },
            flags: system,
            keywords,
        };
        let uids: Vec<i64> = view
            .resolve(set, by_uid)
            .iter()
            .map(|&(_, uid)| i64::from(uid))
            .collect();
        if unchanged_since.is_some() {
            self.enable_condstore(view);
        }
        let stored = self
            .ctx
            .store
            .store_flags(view.folder_id, &uids, &change, unchanged_since)
            .await?;
        let (condstore, qresync) = (self.enabled.condstore, self.enabled.qresync);
        if let Some(keywords) = &stored.folder_keywords {
            self.announce_keywords(view, keywords);
        }
        // SILENT still reports the new MODSEQ under CONDSTORE, as Dovecot
        // does (RFC 7162 §3.1.3 requires it with UNCHANGEDSINCE).
        let silent = response == StoreResponse::Silent;
        let mut items = Vec::with_capacity(3);
        for message in &stored.messages {
            view.own_change(message.modseq);
            if silent && !condstore {
                continue;
            }
            let Some(seq) = view.seq_of(message.uid as u32) else {
                continue;
            };
            // As Dovecot writes them: UID (always under QRESYNC, RFC 7162
            // §3.2.4), MODSEQ, FLAGS.
            items.clear();
            if by_uid || qresync {
                items.push(FetchItem::Uid(message.uid as u32));
            }
            if condstore {
                items.push(FetchItem::ModSeq(message.modseq as u64));
            }
            if !silent {
                let flags = view.flags(message.uid, message.flags, &message.keywords);
                items.push(FetchItem::Flags(flags));
            }
            self.send(Data::Fetch { seq, items: &items });
        }
        if stored.modified.is_empty() {
            return Ok(Status::ok("STORE completed"));
        }
        let modified: Vec<u32> = stored
            .modified
            .iter()
            .filter_map(|&uid| {
                if by_uid {
                    Some(uid as u32)
                } else {
                    view.seq_of(uid as u32)
                }
            })
            .collect();
        let code = Code::Modified(Cow::Owned(modified));
        Ok(Status::ok("Some messages changed since").code(code))
    }
}

//! STORE and UID STORE (RFC 9051 §6.4.6), with UNCHANGEDSINCE (RFC 7162
//! §3.1.3).

use std::io::Write as _;

use imap_codec::imap_types::command::StoreModifier;
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::store::{FlagChange, FlagOp, Flags};

use super::view::{uid_set, write_flags};
use super::{Done, End, Session, unavailable};

/// System flags as bits and keywords by name; `None` for a flag that may
/// not be stored (`\Recent`, unknown `\` flags).
pub(super) fn split_flags(flags: &[Flag<'_>]) -> Option<(Flags, Vec<String>)> {
    let mut bits = Flags::default();
    let mut keywords = Vec::new();
    for flag in flags {
        match flag {
            Flag::Seen => bits = bits | Flags::SEEN,
            Flag::Answered => bits = bits | Flags::ANSWERED,
            Flag::Flagged => bits = bits | Flags::FLAGGED,
            Flag::Deleted => bits = bits | Flags::DELETED,
            Flag::Draft => bits = bits | Flags::DRAFT,
            Flag::Keyword(atom) => keywords.push(atom.inner().to_string()),
            Flag::Extension(_) => return None,
        }
    }
    Some((bits, keywords))
}

impl Session<'_> {
    pub(super) async fn store(
        &mut self,
        set: &SequenceSet,
        kind: StoreType,
        response: StoreResponse,
        flags: &[Flag<'_>],
        by_uid: bool,
        modifiers: &[StoreModifier],
    ) -> Result<Done, End> {
        let Some(view) = &self.selected else {
            return Ok(Done::bad("No mailbox selected"));
        };
        if view.read_only {
            return Ok(Done::no("Mailbox is read-only").code("READ-ONLY"));
        }
        if !by_uid && view.out_of_range(set) {
            return Ok(Done::bad("No such message"));
        }
        let Some((bits, keywords)) = split_flags(flags) else {
            return Ok(Done::bad("That flag cannot be stored"));
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
            flags: bits,
            keywords,
        };
        let messages = view.resolve(set, by_uid);
        let folder_id = view.folder_id;
        if unchanged_since.is_some() {
            self.enable_condstore();
        }
        let uids: Vec<i64> = messages.iter().map(|&(_, uid)| i64::from(uid)).collect();
        let store = self.ctx.store.clone();
        let stored = async {
            let mut tx = store.begin().await?;
            let stored = tx
                .store_flags(folder_id, &uids, &change, unchanged_since)
                .await?;
            tx.commit().await?;
            Ok::<_, postino_common::store::StoreError>(stored)
        };
        let stored = match stored.await {
            Ok(stored) => stored,
            Err(err) => return Ok(unavailable(&err)),
        };
        let (condstore, qresync) = (self.enabled.condstore, self.enabled.qresync);
        let (Some(view), Some(conn)) = (&mut self.selected, &mut self.conn) else {
            return Ok(Done::bad("No mailbox selected"));
        };
        if let Some(keywords) = &stored.folder_keywords {
            view.announce_keywords(keywords, &mut conn.out);
        }
        for message in &stored.messages {
            view.own_change(message.modseq);
            // SILENT still reports the new MODSEQ under CONDSTORE, as
            // Dovecot does (RFC 7162 §3.1.3 requires it with UNCHANGEDSINCE).
            let silent = response == StoreResponse::Silent;
            if silent && !condstore {
                continue;
            }
            let Some(seq) = view.seq_of(message.uid as u32) else {
                continue;
            };
            // As Dovecot writes them: UID (always under QRESYNC, RFC 7162
            // §3.2.4), MODSEQ, FLAGS.
            let mut items = Vec::new();
            if by_uid || qresync {
                items.push(format!("UID {}", message.uid));
            }
            if condstore {
                items.push(format!("MODSEQ ({})", message.modseq));
            }
            if !silent {
                let mut flags = b"FLAGS ".to_vec();
                let recent = view.is_recent(message.uid as u32);
                write_flags(&mut flags, message.flags, &message.keywords, recent);
                items.push(String::from_utf8_lossy(&flags).into_owned());
            }
            let _ = write!(conn.out, "* {seq} FETCH ({})\r\n", items.join(" "));
        }
        if stored.modified.is_empty() {
            return Ok(Done::ok("STORE completed"));
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
        Ok(
            Done::ok("Some messages changed since")
                .code(format!("MODIFIED {}", uid_set(&modified))),
        )
    }
}

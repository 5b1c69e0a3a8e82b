//! FETCH and UID FETCH (RFC 9051 §6.4.5), with BINARY (RFC 3516),
//! CHANGEDSINCE and VANISHED (RFC 7162 §3.1.4, §3.2.6).
//!
//! Messages are read a window at a time: one query for the flags and the
//! parse cache of a whole UID range, and, only when a body section is asked
//! for, one query per few bodies. ENVELOPE and BODYSTRUCTURE come from the
//! description stored at delivery; sections are cut with its offsets.

use std::borrow::Cow;
use std::num::NonZeroU32;

use imap_codec::imap_types::command::FetchModifier;
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::fetch::{
    Macro, MacroOrMessageDataItemNames, MessageDataItemName, Part as PartSpec, Section,
};
use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::acl::Rights;
use postino_common::mime::{self, Envelope, Part, SectionText};
use postino_common::store::{
    Columns, FlagChange, FlagOp, Flags, Keywords, MessageDetails, Store, StoreError,
};

use super::view::View;
use super::{Client, End, Outcome};
use crate::proto::{Code, Data, FetchItem, MessageFlags, Status};
use crate::search::in_sequence_set;

/// Messages whose flags and descriptions are read in one query.
const WINDOW: usize = 512;
/// Bodies read in one query.
const BODY_BATCH: usize = 32;

/// What the items of a FETCH need from the store.
struct Needs {
    /// The envelope and body structure.
    parsed: bool,
    /// The raw message.
    raw: bool,
    /// Fetching sets `\Seen` (a non-PEEK body section, RFC822, RFC822.TEXT).
    sets_seen: bool,
}

fn needs(items: &[MessageDataItemName<'_>]) -> Needs {
    let mut needs = Needs {
        parsed: false,
        raw: false,
        sets_seen: false,
    };
    for item in items {
        match item {
            MessageDataItemName::Envelope
            | MessageDataItemName::Body
            | MessageDataItemName::BodyStructure => needs.parsed = true,
            MessageDataItemName::BodyExt { peek, .. }
            | MessageDataItemName::Binary { peek, .. } => {
                needs.parsed = true;
                needs.raw = true;
                needs.sets_seen |= !peek;
            }
            MessageDataItemName::BinarySize { .. } | MessageDataItemName::Rfc822Header => {
                needs.parsed = true;
                needs.raw = true;
            }
            MessageDataItemName::Rfc822 | MessageDataItemName::Rfc822Text => {
                needs.parsed = true;
                needs.raw = true;
                needs.sets_seen = true;
            }
            _ => {}
        }
    }
    needs
}

/// The items a macro stands for (RFC 9051 §6.4.5).
fn expand(items: MacroOrMessageDataItemNames<'_>) -> Vec<MessageDataItemName<'_>> {
    match items {
        MacroOrMessageDataItemNames::MessageDataItemNames(items) => items,
        MacroOrMessageDataItemNames::Macro(m) => {
            let mut items = vec![
                MessageDataItemName::Flags,
                MessageDataItemName::InternalDate,
                MessageDataItemName::Rfc822Size,
            ];
            if matches!(m, Macro::All | Macro::Full) {
                items.push(MessageDataItemName::Envelope);
            }
            if m == Macro::Full {
                items.push(MessageDataItemName::Body);
            }
            items
        }
    }
}

/// One message being answered.
struct Message<'a> {
    seq: u32,
    row: &'a MessageDetails,
    raw: Option<&'a [u8]>,
    /// The stored description, or one made now for a message stored before
    /// descriptions were (its raw bytes are then read).
    envelope: Option<Envelope>,
    structure: Option<Part>,
}

impl Client<'_> {
    pub(super) async fn fetch(
        &mut self,
        view: &mut View,
        set: &SequenceSet,
        items: MacroOrMessageDataItemNames<'_>,
        by_uid: bool,
        modifiers: &[FetchModifier],
    ) -> Result<Outcome, End> {
        if !by_uid && view.out_of_range(set) {
            return Ok(Ok(Status::bad("No such message")));
        }
        let mut items = expand(items);
        let mut changed_since = None;
        let mut vanished = false;
        for modifier in modifiers {
            match modifier {
                FetchModifier::ChangedSince(since) => changed_since = Some(since.get() as i64),
                FetchModifier::Vanished => vanished = true,
            }
        }
        if vanished && !(by_uid && self.enabled.qresync && changed_since.is_some()) {
            let refused = Status::bad("VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE");
            return Ok(Ok(refused));
        }
        if changed_since.is_some() || items.contains(&MessageDataItemName::ModSeq) {
            self.enable_condstore(view);
        }
        if by_uid && !items.contains(&MessageDataItemName::Uid) {
            items.insert(0, MessageDataItemName::Uid);
        }
        // CHANGEDSINCE implies MODSEQ (RFC 7162 §3.1.4.1); a plain FETCH of
        // FLAGS gets none, as in Dovecot, unsolicited ones do.
        if changed_since.is_some() && !items.contains(&MessageDataItemName::ModSeq) {
            items.push(MessageDataItemName::ModSeq);
        }
        let needs = needs(&items);
        let folder_id = view.folder_id;
        let messages = view.resolve(set, by_uid);
        let ctx = self.ctx;
        let store = &ctx.store;
        if let (true, Some(since)) = (vanished, changed_since) {
            let largest = view.max_uid();
            let gone: Vec<u32> = match store.vanished(folder_id, since, i64::MAX).await {
                Ok(gone) => gone
                    .into_iter()
                    .map(|uid| uid as u32)
                    .filter(|&uid| in_sequence_set(set, uid, largest))
                    .collect(),
                Err(err) => return Ok(Err(err.into())),
            };
            if !gone.is_empty() {
                self.send(Data::Vanished {
                    earlier: true,
                    uids: &gone,
                });
            }
        }
        // Mark as seen first, so that the answer shows the new flags.
        let mut seen_now = Vec::new();
        let may_see = view.writable().contains(Rights::SEEN);
        if needs.sets_seen && may_see && !messages.is_empty() {
            let uids: Vec<i64> = messages.iter().map(|&(_, uid)| i64::from(uid)).collect();
            match mark_seen(store, view, &uids).await {
                Ok(uids) => seen_now = uids,
                Err(err) => return Ok(Err(err.into())),
            }
        }
        let columns = if needs.parsed {
            Columns::Parsed
        } else {
            Columns::Flags
        };
        let mut unknown_encoding = false;
        for window in messages.chunks(WINDOW) {
            let uids: Vec<i64> = window.iter().map(|&(_, uid)| i64::from(uid)).collect();
            let rows = match store.message_details(folder_id, &uids, columns).await {
                Ok(rows) => rows,
                Err(err) => return Ok(Err(err.into())),
            };
            let rows: Vec<(u32, &MessageDetails)> = window
                .iter()
                .filter_map(|&(seq, uid)| {
                    let row = rows.binary_search_by_key(&i64::from(uid), |r| r.uid).ok()?;
                    Some((seq, &rows[row]))
                })
                .filter(|(_, row)| changed_since.is_none_or(|since| row.modseq > since))
                .collect();
            for batch in rows.chunks(BODY_BATCH) {
                let wanted: Vec<i64> = batch
                    .iter()
                    .filter(|(_, row)| needs.raw || (needs.parsed && row.envelope.is_none()))
                    .map(|(_, row)| row.uid)
                    .collect();
                let bodies = if wanted.is_empty() {
                    Vec::new()
                } else {
                    match store.message_bodies(folder_id, &wanted).await {
                        Ok(bodies) => bodies,
                        Err(err) => return Ok(Err(err.into())),
                    }
                };
                for &(seq, row) in batch {
                    let raw = bodies
                        .binary_search_by_key(&row.uid, |(uid, _)| *uid)
                        .ok()
                        .map(|i| bodies[i].1.as_slice());
                    if needs.raw && raw.is_none() {
                        // Expunged since the window was read.
                        continue;
                    }
                    let message = describe(seq, row, raw, needs.parsed);
                    let seen = seen_now.binary_search(&row.uid).is_ok();
                    let recent = view.is_recent(row.uid as u32);
                    unknown_encoding |= self.send_message(&message, &items, seen, recent);
                }
                self.conn.flush_if_full().await?;
            }
        }
        if unknown_encoding {
            let refused = Status::no("Unknown content transfer encoding");
            return Ok(Ok(refused.code(Code::UnknownCte)));
        }
        Ok(Ok(Status::ok("FETCH completed")))
    }

    /// Sends `* seq FETCH (...)`; returns true when a BINARY item met an
    /// encoding it cannot undo (answered NIL).
    fn send_message(
        &mut self,
        message: &Message<'_>,
        names: &[MessageDataItemName<'_>],
        seen_now: bool,
        recent: bool,
    ) -> bool {
        let row = message.row;
        let flags = MessageFlags {
            flags: if seen_now {
                row.flags | Flags::SEEN
            } else {
                row.flags
            },
            recent,
            keywords: &row.keywords,
        };
        let mut unknown_encoding = false;
        let mut items: Vec<FetchItem<'_>> = Vec::with_capacity(names.len() + 1);
        items.extend(names.iter().map(|name| match name {
            MessageDataItemName::Uid => FetchItem::Uid(row.uid as u32),
            MessageDataItemName::Flags => FetchItem::Flags(flags),
            MessageDataItemName::InternalDate => FetchItem::InternalDate(row.internal_date),
            MessageDataItemName::Rfc822Size => FetchItem::Rfc822Size(row.size as u64),
            MessageDataItemName::ModSeq => FetchItem::ModSeq(row.modseq as u64),
            MessageDataItemName::Envelope => FetchItem::Envelope(message.envelope.as_ref()),
            MessageDataItemName::Body => FetchItem::Body(message.structure.as_ref()),
            MessageDataItemName::BodyStructure => {
                FetchItem::BodyStructure(message.structure.as_ref())
            }
            MessageDataItemName::BodyExt {
                section, partial, ..
            } => {
                let (path, text) = section_parts(section.as_ref());
                FetchItem::Section {
                    section: section.as_ref(),
                    partial: *partial,
                    data: cut(message, &path, &text).unwrap_or_default(),
                }
            }
            MessageDataItemName::Binary {
                section, partial, ..
            } => FetchItem::Binary {
                part: section,
                partial: *partial,
                data: match decoded(message, section) {
                    Some(Ok(data)) => Some(Cow::Owned(data)),
                    Some(Err(_)) => {
                        unknown_encoding = true;
                        None
                    }
                    None => None,
                },
            },
            MessageDataItemName::BinarySize { section } => FetchItem::BinarySize {
                part: section,
                size: match decoded(message, section) {
                    Some(Ok(data)) => Some(data.len() as u64),
                    Some(Err(_)) => {
                        unknown_encoding = true;
                        None
                    }
                    None => None,
                },
            },
            MessageDataItemName::Rfc822 => {
                FetchItem::Rfc822(cut(message, &[], &SectionText::Full).unwrap_or_default())
            }
            MessageDataItemName::Rfc822Header => {
                FetchItem::Rfc822Header(cut(message, &[], &SectionText::Header).unwrap_or_default())
            }
            MessageDataItemName::Rfc822Text => {
                FetchItem::Rfc822Text(cut(message, &[], &SectionText::Text).unwrap_or_default())
            }
        }));
        // A message that fetching marked seen shows its new flags (RFC 9051
        // §6.4.5), where Dovecot puts them: first, or after UID.
        if seen_now && !names.contains(&MessageDataItemName::Flags) {
            let at = usize::from(names.first() == Some(&MessageDataItemName::Uid));
            items.insert(at, FetchItem::Flags(flags));
        }
        self.send(Data::Fetch {
            seq: message.seq,
            items: &items,
        });
        unknown_encoding
    }
}

/// Sets `\Seen` on the messages that lack it; returns their UIDs.
async fn mark_seen(store: &Store, view: &mut View, uids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let change = FlagChange {
        op: FlagOp::Add,
        flags: Flags::SEEN,
        keywords: Keywords::default(),
    };
    let unseen: Vec<i64> = store
        .message_details(view.folder_id, uids, Columns::Flags)
        .await?
        .into_iter()
        .filter(|m| !m.flags.contains(Flags::SEEN))
        .map(|m| m.uid)
        .collect();
    if unseen.is_empty() {
        return Ok(unseen);
    }
    let stored = store
        .store_flags(view.folder_id, &unseen, &change, None)
        .await?;
    for message in &stored.messages {
        view.own_change(message.modseq);
    }
    Ok(unseen)
}

/// The message with its description, read from the cache or, when the
/// cache is empty, made from the raw bytes.
fn describe<'a>(
    seq: u32,
    row: &'a MessageDetails,
    raw: Option<&'a [u8]>,
    parsed: bool,
) -> Message<'a> {
    let mut message = Message {
        seq,
        row,
        raw,
        envelope: None,
        structure: None,
    };
    if !parsed {
        return message;
    }
    let cached = row
        .envelope
        .as_deref()
        .and_then(|e| serde_json::from_str::<Envelope>(e).ok())
        .zip(
            row.body_structure
                .as_deref()
                .and_then(|s| serde_json::from_str::<Part>(s).ok()),
        );
    match (cached, raw) {
        (Some((envelope, structure)), _) => {
            message.envelope = Some(envelope);
            message.structure = Some(structure);
        }
        (None, Some(raw)) => {
            let parsed = mime::parse(raw);
            message.envelope = Some(parsed.envelope);
            message.structure = Some(parsed.structure);
        }
        (None, None) => {}
    }
    message
}

/// The part numbers and text specifier of a section.
fn section_parts(section: Option<&Section<'_>>) -> (Vec<u32>, SectionText) {
    fn path(part: Option<&PartSpec>) -> Vec<u32> {
        part.map_or_else(Vec::new, |p| p.0.as_ref().iter().map(|n| n.get()).collect())
    }
    fn names(fields: &[AString<'_>]) -> Vec<String> {
        fields
            .iter()
            .map(|f| String::from_utf8_lossy(f.as_ref()).into_owned())
            .collect()
    }
    match section {
        None => (Vec::new(), SectionText::Full),
        Some(Section::Part(part)) => (path(Some(part)), SectionText::Full),
        Some(Section::Header(part)) => (path(part.as_ref()), SectionText::Header),
        Some(Section::HeaderFields(part, fields)) => (
            path(part.as_ref()),
            SectionText::HeaderFields(names(fields.as_ref())),
        ),
        Some(Section::HeaderFieldsNot(part, fields)) => (
            path(part.as_ref()),
            SectionText::HeaderFieldsNot(names(fields.as_ref())),
        ),
        Some(Section::Text(part)) => (path(part.as_ref()), SectionText::Text),
        Some(Section::Mime(part)) => (path(Some(part)), SectionText::Mime),
    }
}

/// The bytes of a section; `None` when the message has no such part.
fn cut<'a>(message: &Message<'a>, path: &[u32], text: &SectionText) -> Option<Cow<'a, [u8]>> {
    let raw = message.raw?;
    match &message.structure {
        Some(root) => mime::section(raw, root, path, text),
        None if path.is_empty() && *text == SectionText::Full => Some(Cow::Borrowed(raw)),
        None => None,
    }
}

/// A part's body with its transfer encoding undone.
fn decoded(
    message: &Message<'_>,
    path: &[NonZeroU32],
) -> Option<Result<Vec<u8>, mime::UnknownEncoding>> {
    let path: Vec<u32> = path.iter().map(|n| n.get()).collect();
    mime::binary(message.raw?, message.structure.as_ref()?, &path)
}

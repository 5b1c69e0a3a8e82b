//! FETCH and UID FETCH (RFC 9051 §6.4.5), with BINARY (RFC 3516),
//! CHANGEDSINCE and VANISHED (RFC 7162 §3.1.4, §3.2.6).
//!
//! Messages are read a window at a time: one query for the flags and the
//! parse cache of a whole UID range, and, only when a body section is asked
//! for, one query per few bodies. ENVELOPE and BODYSTRUCTURE come from the
//! description stored at delivery; sections are cut with its offsets.

use std::borrow::Cow;
use std::io::Write as _;
use std::num::NonZeroU32;

use imap_codec::imap_types::command::FetchModifier;
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::fetch::{
    Macro, MacroOrMessageDataItemNames, MessageDataItemName, Part as PartSpec, Section,
};
use imap_codec::imap_types::sequence::SequenceSet;
use postino_common::mime::{self, Envelope, Part, SectionText};
use postino_common::store::{Columns, FlagChange, FlagOp, Flags, MessageDetails, StoreError};

use super::view::{uid_set, write_flags};
use super::{Done, End, Session, unavailable};
use crate::render::{write_body_structure, write_envelope};
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

impl Session<'_> {
    pub(super) async fn fetch(
        &mut self,
        set: &SequenceSet,
        items: MacroOrMessageDataItemNames<'_>,
        by_uid: bool,
        modifiers: &[FetchModifier],
    ) -> Result<Done, End> {
        let Some(view) = &self.selected else {
            return Ok(Done::bad("No mailbox selected"));
        };
        if !by_uid && view.out_of_range(set) {
            return Ok(Done::bad("No such message"));
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
            return Ok(Done::bad(
                "VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE",
            ));
        }
        if changed_since.is_some() || items.contains(&MessageDataItemName::ModSeq) {
            self.enable_condstore();
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
        let Some(view) = &self.selected else {
            return Ok(Done::bad("No mailbox selected"));
        };
        let folder_id = view.folder_id;
        let read_only = view.read_only;
        let messages = view.resolve(set, by_uid);
        let store = self.ctx.store.clone();
        if let (true, Some(since)) = (vanished, changed_since) {
            let largest = view.max_uid();
            let gone: Vec<u32> = match store.vanished(folder_id, since, i64::MAX).await {
                Ok(gone) => gone
                    .into_iter()
                    .map(|uid| uid as u32)
                    .filter(|&uid| in_sequence_set(set, uid, largest))
                    .collect(),
                Err(err) => return Ok(unavailable(&err)),
            };
            if !gone.is_empty() {
                self.conn()
                    .line(&format!("* VANISHED (EARLIER) {}", uid_set(&gone)));
            }
        }
        // Mark as seen first, so that the answer shows the new flags.
        let mut seen_now = Vec::new();
        if needs.sets_seen && !read_only && !messages.is_empty() {
            let uids: Vec<i64> = messages.iter().map(|&(_, uid)| i64::from(uid)).collect();
            match self.mark_seen(folder_id, &uids).await {
                Ok(uids) => seen_now = uids,
                Err(err) => return Ok(unavailable(&err)),
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
                Err(err) => return Ok(unavailable(&err)),
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
                        Err(err) => return Ok(unavailable(&err)),
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
                    unknown_encoding |= self.write_message(&message, &items, seen);
                }
                self.conn().flush_if_full().await?;
            }
        }
        if unknown_encoding {
            return Ok(Done::no("Unknown content transfer encoding").code("UNKNOWN-CTE"));
        }
        Ok(Done::ok("FETCH completed"))
    }

    /// Sets `\Seen` on the messages that lack it; returns their UIDs.
    async fn mark_seen(&mut self, folder_id: i64, uids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let change = FlagChange {
            op: FlagOp::Add,
            flags: Flags::SEEN,
            keywords: Vec::new(),
        };
        let store = self.ctx.store.clone();
        let before = store.message_details(folder_id, uids, Columns::Flags);
        let unseen: Vec<i64> = before
            .await?
            .into_iter()
            .filter(|m| !Flags(m.flags).contains(Flags::SEEN))
            .map(|m| m.uid)
            .collect();
        if unseen.is_empty() {
            return Ok(unseen);
        }
        let mut tx = store.begin().await?;
        let stored = tx.store_flags(folder_id, &unseen, &change, None).await?;
        tx.commit().await?;
        if let Some(view) = &mut self.selected {
            for message in &stored.messages {
                view.own_change(message.modseq);
            }
        }
        Ok(unseen)
    }

    /// Writes `* seq FETCH (...)`; returns true when a BINARY item met an
    /// encoding it cannot undo (answered NIL).
    fn write_message(
        &mut self,
        message: &Message<'_>,
        items: &[MessageDataItemName<'_>],
        seen_now: bool,
    ) -> bool {
        let utf8 = self.enabled.utf8;
        let recent = (self.selected.as_ref()).is_some_and(|v| v.is_recent(message.row.uid as u32));
        let out = &mut self.conn().out;
        let row = message.row;
        let _ = write!(out, "* {} FETCH (", message.seq);
        let mut unknown_encoding = false;
        // A message that fetching marked seen shows its new flags (RFC 9051
        // §6.4.5), where Dovecot puts them: first, or after UID.
        let mut items: Vec<&MessageDataItemName<'_>> = items.iter().collect();
        if seen_now && !items.contains(&&MessageDataItemName::Flags) {
            let at = usize::from(items.first() == Some(&&MessageDataItemName::Uid));
            items.insert(at, &MessageDataItemName::Flags);
        }
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            match item {
                MessageDataItemName::Uid => {
                    let _ = write!(out, "UID {}", row.uid);
                }
                MessageDataItemName::Flags => {
                    out.extend_from_slice(b"FLAGS ");
                    write_flags(out, row.flags | seen_bit(seen_now), &row.keywords, recent);
                }
                MessageDataItemName::InternalDate => {
                    let _ = write!(out, "INTERNALDATE \"{}\"", internal_date(row.internal_date));
                }
                MessageDataItemName::Rfc822Size => {
                    let _ = write!(out, "RFC822.SIZE {}", row.size);
                }
                MessageDataItemName::ModSeq => {
                    let _ = write!(out, "MODSEQ ({})", row.modseq);
                }
                MessageDataItemName::Envelope => {
                    out.extend_from_slice(b"ENVELOPE ");
                    match &message.envelope {
                        Some(envelope) => write_envelope(out, envelope, utf8),
                        None => write_envelope(out, &Envelope::default(), utf8),
                    }
                }
                MessageDataItemName::Body | MessageDataItemName::BodyStructure => {
                    let extended = *item == MessageDataItemName::BodyStructure;
                    out.extend_from_slice(if extended {
                        b"BODYSTRUCTURE "
                    } else {
                        b"BODY "
                    });
                    match &message.structure {
                        Some(part) => write_body_structure(out, part, extended, utf8),
                        None => out.extend_from_slice(b"NIL"),
                    }
                }
                MessageDataItemName::BodyExt {
                    section, partial, ..
                } => {
                    out.extend_from_slice(b"BODY[");
                    write_section_spec(out, section.as_ref());
                    out.push(b']');
                    let (path, text) = section_parts(section.as_ref());
                    let data = cut(message, &path, &text);
                    write_partial(out, data.as_deref(), *partial, false);
                }
                MessageDataItemName::Binary {
                    section, partial, ..
                } => {
                    out.extend_from_slice(b"BINARY[");
                    write_path(out, section);
                    out.push(b']');
                    match decoded(message, section) {
                        Some(Ok(data)) => write_partial(out, Some(&data), *partial, true),
                        Some(Err(_)) => {
                            unknown_encoding = true;
                            out.extend_from_slice(b" NIL");
                        }
                        None => out.extend_from_slice(b" NIL"),
                    }
                }
                MessageDataItemName::BinarySize { section } => {
                    out.extend_from_slice(b"BINARY.SIZE[");
                    write_path(out, section);
                    out.push(b']');
                    match decoded(message, section) {
                        Some(Ok(data)) => {
                            let _ = write!(out, " {}", data.len());
                        }
                        Some(Err(_)) => {
                            unknown_encoding = true;
                            out.extend_from_slice(b" NIL");
                        }
                        None => out.extend_from_slice(b" NIL"),
                    }
                }
                MessageDataItemName::Rfc822 => {
                    out.extend_from_slice(b"RFC822");
                    let data = cut(message, &[], &SectionText::Full);
                    write_partial(out, data.as_deref(), None, false);
                }
                MessageDataItemName::Rfc822Header => {
                    out.extend_from_slice(b"RFC822.HEADER");
                    let data = cut(message, &[], &SectionText::Header);
                    write_partial(out, data.as_deref(), None, false);
                }
                MessageDataItemName::Rfc822Text => {
                    out.extend_from_slice(b"RFC822.TEXT");
                    let data = cut(message, &[], &SectionText::Text);
                    write_partial(out, data.as_deref(), None, false);
                }
            }
        }
        out.extend_from_slice(b")\r\n");
        unknown_encoding
    }
}

fn seen_bit(seen_now: bool) -> i64 {
    if seen_now { Flags::SEEN.0 } else { 0 }
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

/// Writes a section specifier as the client sent it, field names in
/// capitals: `1.2.HEADER.FIELDS (A B)`.
fn write_section_spec(out: &mut Vec<u8>, section: Option<&Section<'_>>) {
    let Some(section) = section else { return };
    let (part, text): (Option<&PartSpec>, &str) = match section {
        Section::Part(part) => (Some(part), ""),
        Section::Header(part) => (part.as_ref(), "HEADER"),
        Section::HeaderFields(part, _) => (part.as_ref(), "HEADER.FIELDS"),
        Section::HeaderFieldsNot(part, _) => (part.as_ref(), "HEADER.FIELDS.NOT"),
        Section::Text(part) => (part.as_ref(), "TEXT"),
        Section::Mime(part) => (Some(part), "MIME"),
    };
    if let Some(part) = part {
        write_path(out, part.0.as_ref());
        if !text.is_empty() {
            out.push(b'.');
        }
    }
    out.extend_from_slice(text.as_bytes());
    if let Section::HeaderFields(_, fields) | Section::HeaderFieldsNot(_, fields) = section {
        out.extend_from_slice(b" (");
        for (n, field) in fields.as_ref().iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            // In capitals, as Dovecot echoes them; an atom stays an atom
            // (`(SUBJECT FROM)`).
            let name = field.as_ref().to_ascii_uppercase();
            let atom = !name.is_empty()
                && name
                    .iter()
                    .all(|&b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b));
            if atom {
                out.extend_from_slice(&name);
            } else {
                crate::render::write_string(out, &name, false);
            }
        }
        out.push(b')');
    }
}

fn write_path(out: &mut Vec<u8>, path: &[NonZeroU32]) {
    for (n, number) in path.iter().enumerate() {
        if n > 0 {
            out.push(b'.');
        }
        let _ = write!(out, "{number}");
    }
}

/// Writes ` <origin> {n}\r\n<bytes>` (or ` ""` for a missing part). A
/// literal may not hold NUL: like Dovecot, a NUL goes out as 0x80, except
/// in BINARY, which sends a literal8 (`~{n}`) instead.
fn write_partial(
    out: &mut Vec<u8>,
    data: Option<&[u8]>,
    partial: Option<(u32, NonZeroU32)>,
    binary: bool,
) {
    let data = data.unwrap_or_default();
    let data = match partial {
        Some((origin, length)) => {
            let _ = write!(out, "<{origin}>");
            let start = (origin as usize).min(data.len());
            let end = start.saturating_add(length.get() as usize).min(data.len());
            &data[start..end]
        }
        None => data,
    };
    let has_nul = data.contains(&0);
    if binary && has_nul {
        let _ = write!(out, " ~{{{}}}\r\n", data.len());
        out.extend_from_slice(data);
    } else {
        let _ = write!(out, " {{{}}}\r\n", data.len());
        if has_nul {
            out.extend(data.iter().map(|&b| if b == 0 { 0x80 } else { b }));
        } else {
            out.extend_from_slice(data);
        }
    }
}

/// INTERNALDATE as `dd-Mon-yyyy hh:mm:ss +0000` (RFC 9051 `date-time`), UTC.
fn internal_date(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%d-%b-%Y %H:%M:%S +0000")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_dates_are_imap_date_times() {
        assert_eq!(internal_date(0), "01-Jan-1970 00:00:00 +0000");
        assert_eq!(internal_date(1_790_000_000), "21-Sep-2026 14:13:20 +0000");
    }

    #[test]
    fn partial_fetches_cut_and_escape() {
        let mut out = Vec::new();
        write_partial(
            &mut out,
            Some(b"hello\0world"),
            NonZeroU32::new(4).map(|n| (3, n)),
            false,
        );
        assert_eq!(out, b"<3> {4}\r\nlo\x80w");
        let mut out = Vec::new();
        write_partial(&mut out, Some(b"a\0"), None, true);
        assert_eq!(out, b" ~{2}\r\na\0");
        let mut out = Vec::new();
        write_partial(&mut out, None, None, false);
        assert_eq!(out, b" {0}\r\n");
    }
}

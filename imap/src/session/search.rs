//! SEARCH and UID SEARCH (RFC 9051 §6.4.4), answered with `* SEARCH` or,
//! when asked with RETURN or under IMAP4rev2, `* ESEARCH` (RFC 4731).
//!
//! One query reads the flags, dates, sizes and cached subjects of the whole
//! folder; only messages that the metadata leaves undecided have their
//! bodies read, a few at a time.

use imap_codec::imap_types::core::{Charset, Tag};
use imap_codec::imap_types::search::SearchKey;
use postino_common::store::{Columns, MessageDetails, Store, StoreError};

use super::view::View;
use super::{Client, Outcome};
use crate::proto::{Code, Data, Esearch, Options, SearchReturn, Status};
use crate::search::{CHARSETS, Candidate, Context, Query, charset_supported};

/// Bodies read at once for content keys.
const BODY_BATCH: usize = 64;

/// True when some key is MODSEQ, which adds the highest MODSEQ of the
/// matches to the answer (RFC 7162 §3.1.5).
pub(super) fn uses_modseq(keys: &[SearchKey<'_>]) -> bool {
    keys.iter().any(|key| match key {
        SearchKey::ModSequence { .. } => true,
        SearchKey::And(keys) => uses_modseq(keys.as_ref()),
        SearchKey::Not(key) => uses_modseq(std::slice::from_ref(key)),
        SearchKey::Or(a, b) => {
            uses_modseq(std::slice::from_ref(a)) || uses_modseq(std::slice::from_ref(b))
        }
        _ => false,
    })
}

fn candidate<'a>(
    seq: u32,
    row: &'a MessageDetails,
    raw: Option<&'a [u8]>,
    recent: bool,
) -> Candidate<'a> {
    Candidate {
        seq,
        uid: row.uid as u32,
        flags: row.flags,
        keywords: &row.keywords,
        internal_date: row.internal_date,
        size: row.size,
        modseq: row.modseq,
        sent_local: row.sent_at.map_or(0, |at| at + row.sent_zone),
        recent,
        subject: row.subject.as_deref().unwrap_or(""),
        raw,
    }
}

/// A match: its sequence number, UID and MODSEQ.
pub(super) struct Hit {
    pub seq: u32,
    pub uid: u32,
    pub modseq: i64,
}

/// The answer to a search charset that is not one of [`CHARSETS`].
pub(super) fn bad_charset() -> Status<'static> {
    Status::no("Unsupported charset").code(Code::BadCharset(CHARSETS))
}

impl Client<'_> {
    pub(super) async fn search(
        &mut self,
        tag: &Tag<'_>,
        view: &mut View,
        charset: Option<&Charset<'_>>,
        keys: &[SearchKey<'_>],
        by_uid: bool,
        options: &Options,
    ) -> Outcome {
        if let Some(charset) = charset
            && !charset_supported(charset.as_ref())
        {
            return Ok(bad_charset());
        }
        let hits = find(&self.ctx.store, view, keys).await?;
        let modseq = uses_modseq(keys)
            .then(|| hits.iter().map(|h| h.modseq as u64).max())
            .flatten();
        if uses_modseq(keys) {
            self.enable_condstore(view);
        }
        let returns = match options {
            Options::SearchReturn(returns) => Some(returns.as_slice()),
            _ if self.enabled.rev2 => Some(&[][..]),
            _ => None,
        };
        if let Some(returns) = returns
            && returns.contains(&SearchReturn::Save)
        {
            let mut uids: Vec<u32> = hits.iter().map(|h| h.uid).collect();
            uids.sort_unstable();
            view.saved = uids;
            // SAVE alone asks for no answer (RFC 5182 §2.1).
            if returns == [SearchReturn::Save] {
                return Ok(Status::ok("SEARCH completed, result saved"));
            }
        }
        let numbers: Vec<u32> = hits
            .iter()
            .map(|hit| if by_uid { hit.uid } else { hit.seq })
            .collect();
        match returns {
            None => self.send(Data::Search {
                numbers: &numbers,
                modseq,
            }),
            Some(returns) => {
                // No return option (but SAVE) means ALL (RFC 4731 §3.1).
                let all = returns.iter().all(|r| *r == SearchReturn::Save)
                    || returns.contains(&SearchReturn::All);
                let asked = |option| returns.contains(&option);
                self.send(Data::Esearch(Esearch {
                    tag: Some(tag),
                    uid: by_uid,
                    min: asked(SearchReturn::Min)
                        .then(|| numbers.first().copied())
                        .flatten(),
                    max: asked(SearchReturn::Max)
                        .then(|| numbers.last().copied())
                        .flatten(),
                    all: all.then_some(numbers.as_slice()),
                    count: asked(SearchReturn::Count).then_some(numbers.len() as u32),
                    modseq,
                }));
            }
        }
        Ok(Status::ok("SEARCH completed"))
    }
}

/// The messages of the selected folder matching `keys`, ascending.
pub(super) async fn find(
    store: &Store,
    view: &View,
    keys: &[SearchKey<'_>],
) -> Result<Vec<Hit>, StoreError> {
    let query = Query::new(keys);
    let context = Context {
        max_seq: view.exists(),
        max_uid: view.max_uid(),
    };
    let uids: Vec<i64> = view.uids.iter().map(|&uid| i64::from(uid)).collect();
    let rows = store
        .message_details(view.folder_id, &uids, Columns::Search)
        .await?;
    let mut hits = Vec::new();
    let mut undecided = Vec::new();
    for row in &rows {
        let Some(seq) = view.seq_of(row.uid as u32) else {
            continue;
        };
        let recent = view.is_recent(row.uid as u32);
        let candidate = candidate(seq, row, None, recent);
        let decided = if query.needs_content() {
            query.prefilter(&candidate, &context)
        } else {
            Some(query.matches(&candidate, &context))
        };
        match decided {
            Some(true) => hits.push(Hit {
                seq,
                uid: row.uid as u32,
                modseq: row.modseq,
            }),
            Some(false) => {}
            None => undecided.push((seq, row)),
        }
    }
    for batch in undecided.chunks(BODY_BATCH) {
        let uids: Vec<i64> = batch.iter().map(|(_, row)| row.uid).collect();
        let bodies = store.message_bodies(view.folder_id, &uids).await?;
        for (seq, row) in batch {
            let Some((_, raw)) = bodies.iter().find(|(uid, _)| *uid == row.uid) else {
                continue;
            };
            let recent = view.is_recent(row.uid as u32);
            let candidate = candidate(*seq, row, Some(raw), recent);
            if query.matches(&candidate, &context) {
                hits.push(Hit {
                    seq: *seq,
                    uid: row.uid as u32,
                    modseq: row.modseq,
                });
            }
        }
    }
    hits.sort_by_key(|h| h.seq);
    Ok(hits)
}

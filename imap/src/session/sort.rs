//! SORT and UID SORT (RFC 5256, RFC 5957), answered with `* SORT` or, when
//! asked with RETURN, `* ESEARCH` (ESORT, RFC 5267 §3.2); THREAD and UID
//! THREAD (RFC 5256). The search keys select messages as SEARCH does (the
//! same code, in `search`); the order comes from the keys the store keeps
//! for each message, never from the bodies.

use imap_codec::imap_types::core::{Charset, Tag};
use imap_codec::imap_types::search::SearchKey;
use postino_common::store::SortRow;

use super::search::{bad_charset, find, uses_modseq};
use super::view::View;
use super::{Client, Outcome};
use crate::error::Error;
use crate::proto::{Data, Esearch, SearchReturn, SortCriterion, Status, ThreadAlgorithm};
use crate::search::charset_supported;
use crate::sort::{Sortable, sent_date, sort};
use crate::thread::{Threadable, thread};

/// A match with what orders it.
struct Match {
    seq: u32,
    uid: u32,
    modseq: i64,
    row: SortRow,
}

impl Client<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn sort(
        &mut self,
        tag: &Tag<'_>,
        view: &mut View,
        charset: Option<&Charset<'_>>,
        keys: &[SearchKey<'_>],
        by_uid: bool,
        criteria: &[SortCriterion],
        returns: Option<&[SearchReturn]>,
    ) -> Outcome {
        let Some(matches) = self.matches(view, charset, keys).await? else {
            return Ok(bad_charset());
        };
        let mut sortable: Vec<Sortable<'_>> = matches
            .iter()
            .map(|m| Sortable {
                seq: m.seq,
                row: &m.row,
            })
            .collect();
        sort(&mut sortable, criteria);
        let by_seq = |seq: u32| matches.binary_search_by_key(&seq, |m| m.seq).ok();
        let ordered: Vec<&Match> = sortable
            .iter()
            .filter_map(|s| by_seq(s.seq).map(|i| &matches[i]))
            .collect();
        let numbers: Vec<u32> = ordered
            .iter()
            .map(|m| if by_uid { m.uid } else { m.seq })
            .collect();
        let modseq = uses_modseq(keys)
            .then(|| ordered.iter().map(|m| m.modseq as u64).max())
            .flatten();
        if uses_modseq(keys) {
            self.enable_condstore(view);
        }
        let Some(returns) = returns else {
            self.send(Data::Sort {
                numbers: &numbers,
                modseq,
            });
            return Ok(Status::ok("SORT completed"));
        };
        if returns.contains(&SearchReturn::Save) {
            let mut uids: Vec<u32> = ordered.iter().map(|m| m.uid).collect();
            uids.sort_unstable();
            view.saved = uids;
            if returns == [SearchReturn::Save] {
                return Ok(Status::ok("SORT completed, result saved"));
            }
        }
        // No return option (but SAVE) means ALL (RFC 4731 §3.1); MIN and
        // MAX are the first and last in sort order (RFC 5267 §3.2).
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
        Ok(Status::ok("SORT completed"))
    }

    pub(super) async fn thread(
        &mut self,
        view: &mut View,
        charset: Option<&Charset<'_>>,
        keys: &[SearchKey<'_>],
        by_uid: bool,
        algorithm: ThreadAlgorithm,
    ) -> Outcome {
        let Some(matches) = self.matches(view, charset, keys).await? else {
            return Ok(bad_charset());
        };
        let threadable: Vec<Threadable<'_>> = matches
            .iter()
            .map(|m| Threadable {
                number: if by_uid { m.uid } else { m.seq },
                date: sent_date(&m.row),
                keys: &m.row.keys,
            })
            .collect();
        let threads = thread(&threadable, algorithm);
        self.send(Data::Thread(&threads));
        Ok(Status::ok("THREAD completed"))
    }

    /// The messages matching `keys`, in mailbox order, with their sort
    /// keys; `None` for a charset SEARCH does not read.
    async fn matches(
        &mut self,
        view: &View,
        charset: Option<&Charset<'_>>,
        keys: &[SearchKey<'_>],
    ) -> Result<Option<Vec<Match>>, Error> {
        if let Some(charset) = charset
            && !charset_supported(charset.as_ref())
        {
            return Ok(None);
        }
        let store = &self.ctx.store;
        let hits = find(store, view, keys).await?;
        let uids: Vec<i64> = hits.iter().map(|h| i64::from(h.uid)).collect();
        let rows = store.sort_rows(view.folder_id, &uids).await?;
        // Both in UID order, which is mailbox order.
        let mut rows = rows.into_iter().peekable();
        let mut matches = Vec::with_capacity(hits.len());
        for hit in hits {
            let uid = i64::from(hit.uid);
            while rows.next_if(|row| row.uid < uid).is_some() {}
            if let Some(row) = rows.next_if(|row| row.uid == uid) {
                matches.push(Match {
                    seq: hit.seq,
                    uid: hit.uid,
                    modseq: hit.modseq,
                    row,
                });
            }
        }
        tracing::debug!(matches = matches.len(), "sort keys read");
        Ok(Some(matches))
    }
}

//! SORT ordering (RFC 5256 §3, RFC 5957 §3): pure, over the keys the
//! store keeps for each message (`mime::SortKeys`), never the bodies.
//!
//! Strings compare as their stored i;unicode-casemap forms, byte by byte;
//! a missing field is the empty string, first in ascending order. DATE is
//! the Date header in UTC, or INTERNALDATE when it has none (RFC 5256
//! §2.2). Messages equal on every key keep their mailbox order: REVERSE
//! turns one key around, not that final tie-break, as Dovecot does.

use std::cmp::Ordering;

use postino_common::store::SortRow;

use crate::proto::{SortCriterion, SortKey};

/// One message to order: its sequence number and what the store keeps.
#[derive(Debug, Clone, Copy)]
pub struct Sortable<'a> {
    pub seq: u32,
    pub row: &'a SortRow,
}

/// The sent date RFC 5256 §2.2 orders by: the Date header, else
/// INTERNALDATE.
pub fn sent_date(row: &SortRow) -> i64 {
    row.sent_at.unwrap_or(row.internal_date)
}

/// Orders `messages` by `criteria`, then by sequence number.
pub fn sort(messages: &mut [Sortable<'_>], criteria: &[SortCriterion]) {
    messages.sort_by(|a, b| {
        criteria
            .iter()
            .map(|criterion| {
                let order = compare(criterion.key, a.row, b.row);
                if criterion.reverse {
                    order.reverse()
                } else {
                    order
                }
            })
            .find(|order| order.is_ne())
            .unwrap_or(Ordering::Equal)
            .then(a.seq.cmp(&b.seq))
    });
}

fn compare(key: SortKey, a: &SortRow, b: &SortRow) -> Ordering {
    let (ka, kb) = (&a.keys, &b.keys);
    match key {
        SortKey::Arrival => a.internal_date.cmp(&b.internal_date),
        SortKey::Date => sent_date(a).cmp(&sent_date(b)),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => ka.base_subject.cmp(&kb.base_subject),
        SortKey::From => ka.from.cmp(&kb.from),
        SortKey::To => ka.to.cmp(&kb.to),
        SortKey::Cc => ka.cc.cmp(&kb.cc),
        SortKey::DisplayFrom => ka.display_from.cmp(&kb.display_from),
        SortKey::DisplayTo => ka.display_to.cmp(&kb.display_to),
    }
}

#[cfg(test)]
mod tests {
    use postino_common::mime::SortKeys;

    use super::*;

    fn row(uid: i64, size: i64, date: Option<i64>, subject: &str, from: &str) -> SortRow {
        SortRow {
            uid,
            size,
            internal_date: 1000 + uid,
            sent_at: date,
            keys: SortKeys {
                base_subject: subject.into(),
                from: from.into(),
                ..SortKeys::default()
            },
        }
    }

    fn order(rows: &[SortRow], criteria: &[(SortKey, bool)]) -> Vec<u32> {
        let mut messages: Vec<Sortable<'_>> = rows
            .iter()
            .enumerate()
            .map(|(n, row)| Sortable {
                seq: n as u32 + 1,
                row,
            })
            .collect();
        let criteria: Vec<SortCriterion> = criteria
            .iter()
            .map(|&(key, reverse)| SortCriterion { key, reverse })
            .collect();
        sort(&mut messages, &criteria);
        messages.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn keys_reverse_and_ties() {
        let rows = [
            row(1, 300, Some(50), "B", "ANNA"),
            row(2, 100, None, "A", ""),
            row(3, 200, Some(50), "B", "CARLO"),
            row(4, 100, Some(2000), "", "ANNA"),
        ];
        assert_eq!(order(&rows, &[(SortKey::Arrival, false)]), [1, 2, 3, 4]);
        assert_eq!(order(&rows, &[(SortKey::Arrival, true)]), [4, 3, 2, 1]);
        // Without a Date, INTERNALDATE (1002); equal dates keep their order.
        assert_eq!(order(&rows, &[(SortKey::Date, false)]), [1, 3, 2, 4]);
        assert_eq!(order(&rows, &[(SortKey::Date, true)]), [4, 2, 1, 3]);
        assert_eq!(order(&rows, &[(SortKey::Size, false)]), [2, 4, 3, 1]);
        assert_eq!(order(&rows, &[(SortKey::Subject, false)]), [4, 2, 1, 3]);
        assert_eq!(
            order(&rows, &[(SortKey::Subject, true), (SortKey::Size, false)]),
            [3, 1, 2, 4]
        );
        assert_eq!(
            order(&rows, &[(SortKey::From, false), (SortKey::Date, true)]),
            [2, 4, 1, 3]
        );
    }
}

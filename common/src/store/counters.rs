//! A folder's counters: UIDNEXT, HIGHESTMODSEQ and what STATUS reports
//! (messages, unseen, size, deleted). Every write that changes a folder's
//! messages moves them all in one statement on the folder's row, so that
//! STATUS reads one row instead of counting the folder's messages.
//!
//! The row also lists every keyword the folder's messages have had, in the
//! spelling first seen: what SELECT and the untagged FLAGS response announce
//! (RFC 9051 §7.3.5), so that a client never sees a keyword on a message
//! before it was told the mailbox has it.

use std::ops::{AddAssign, Neg};

use super::direct::Sql;
use super::keywords::Keywords;
use super::{Flags, Result, StoreError, WriteTx};

/// What some messages add to a folder's STATUS counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Tally {
    pub messages: i64,
    pub unseen: i64,
    pub bytes: i64,
    pub deleted: i64,
    pub deleted_bytes: i64,
}

impl Tally {
    /// One message with these flags and size.
    pub fn of(flags: Flags, size: i64) -> Tally {
        let deleted = flags.contains(Flags::DELETED);
        Tally {
            messages: 1,
            unseen: i64::from(!flags.contains(Flags::SEEN)),
            bytes: size,
            deleted: i64::from(deleted),
            deleted_bytes: if deleted { size } else { 0 },
        }
    }

    /// What a message's flags changing from `before` to `after` does.
    pub fn reflagged(before: Flags, after: Flags, size: i64) -> Tally {
        let mut delta = Tally::of(after, size);
        delta += -Tally::of(before, size);
        delta
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.messages += other.messages;
        self.unseen += other.unseen;
        self.bytes += other.bytes;
        self.deleted += other.deleted;
        self.deleted_bytes += other.deleted_bytes;
    }
}

impl Neg for Tally {
    type Output = Tally;

    fn neg(self) -> Tally {
        Tally {
            messages: -self.messages,
            unseen: -self.unseen,
            bytes: -self.bytes,
            deleted: -self.deleted,
            deleted_bytes: -self.deleted_bytes,
        }
    }
}

/// What [`WriteTx::touch_folder`] took.
#[derive(Debug, Clone)]
pub(super) struct Touched {
    pub account_id: i64,
    /// The first of the UIDs taken (UIDNEXT before, if none were).
    pub first_uid: i64,
    /// The folder's new HIGHESTMODSEQ, the MODSEQ of this change.
    pub modseq: i64,
    /// The keywords the folder has, after this change.
    pub keywords: Keywords,
}

impl WriteTx {
    /// Takes `new_uids` consecutive UIDs and one new MODSEQ in a folder and
    /// adds `delta` to its counters, in one statement; a second adds the
    /// keywords of `brings` the folder did not have yet.
    pub(super) async fn touch_folder(
        &mut self,
        folder_id: i64,
        new_uids: usize,
        delta: Tally,
        brings: &Keywords,
    ) -> Result<Touched> {
        let touch = Sql::new(
            "UPDATE folders SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1, \
             messages = messages + $3, unseen = unseen + $4, bytes = bytes + $5, \
             deleted = deleted + $6, deleted_bytes = deleted_bytes + $7 \
             WHERE id = $1 RETURNING account_id, uidnext - $2, highestmodseq, keywords",
        )
        .bind(folder_id)
        .bind(new_uids as i64)
        .bind(delta.messages)
        .bind(delta.unseen)
        .bind(delta.bytes)
        .bind(delta.deleted)
        .bind(delta.deleted_bytes);
        let row: Option<(i64, i64, i64, Keywords)> = self.fetch_one(touch).await?;
        let (account_id, first_uid, modseq, mut keywords) =
            row.ok_or_else(|| StoreError::NotFound {
                what: "folder",
                name: folder_id.to_string(),
            })?;
        if keywords.insert_all(brings) {
            let learn = Sql::new("UPDATE folders SET keywords = $2 WHERE id = $1")
                .bind(folder_id)
                .bind(&keywords);
            self.run(learn).await?;
        }
        Ok(Touched {
            account_id,
            first_uid,
            modseq,
            keywords,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_changes_move_the_right_counters() {
        let seen_deleted = Flags::SEEN | Flags::DELETED;
        assert_eq!(
            Tally::reflagged(Flags::default(), seen_deleted, 100),
            Tally {
                messages: 0,
                unseen: -1,
                bytes: 0,
                deleted: 1,
                deleted_bytes: 100,
            }
        );
        let seen_flagged = Flags::SEEN | Flags::FLAGGED;
        assert_eq!(
            Tally::reflagged(seen_flagged, seen_flagged, 100),
            Tally::default()
        );
    }
}

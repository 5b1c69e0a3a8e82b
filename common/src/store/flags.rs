//! Changing the flags of stored messages (IMAP STORE, RFC 9051 §6.4.6),
//! with CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3).

use std::collections::BTreeMap;

use super::counters::Tally;
use super::direct::Sql;
use super::in_list::{MAX_IN_LIST, placeholders};
use super::keywords::Keywords;
use super::{Change, ChangeKind, Flags, MessageSummary, Result, Store, WriteTx};

/// How a STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

/// The flags a STORE names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub op: FlagOp,
    pub flags: Flags,
    pub keywords: Keywords,
}

impl FlagChange {
    /// The flags and keywords a message ends with.
    fn apply(&self, flags: Flags, keywords: &Keywords) -> (Flags, Keywords) {
        match self.op {
            FlagOp::Add => {
                let mut keywords = keywords.clone();
                keywords.insert_all(&self.keywords);
                (flags | self.flags, keywords)
            }
            FlagOp::Remove => {
                let mut keywords = keywords.clone();
                for keyword in &self.keywords {
                    keywords.remove(keyword);
                }
                (flags - self.flags, keywords)
            }
            FlagOp::Replace => (self.flags, self.keywords.clone()),
        }
    }
}

/// What a STORE did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagsStored {
    /// Every message named that is still there, with its flags after the
    /// change (changed or not), in UID order.
    pub messages: Vec<MessageSummary>,
    /// UIDs left alone because they changed after UNCHANGEDSINCE.
    pub modified: Vec<i64>,
    /// Every keyword of the folder after the change, when anything changed.
    pub folder_keywords: Option<Keywords>,
}

impl Store {
    /// Changes the flags of the messages `uids` of a folder, as
    /// [`WriteTx::store_flags`] does, in a transaction of its own that is
    /// made durable with the next flush rather than waiting for it (see
    /// [`Durability`](super::Durability)).
    pub async fn store_flags(
        &self,
        folder_id: i64,
        uids: &[i64],
        change: &FlagChange,
        unchanged_since: Option<i64>,
    ) -> Result<FlagsStored> {
        let uids = uids.to_vec();
        let change = change.clone();
        self.write_direct(move |mut tx| async move {
            let stored = tx
                .store_flags(folder_id, &uids, &change, unchanged_since)
                .await?;
            tx.commit_flushed_later().await?;
            Ok(stored)
        })
        .await
    }
}

impl WriteTx {
    /// Changes the flags of the messages `uids` of a folder. Messages whose
    /// flags end as they were keep their MODSEQ; all the others get one new
    /// MODSEQ. With `unchanged_since`, a message whose MODSEQ is above it is
    /// not changed and is listed in `modified`.
    async fn store_flags(
        &mut self,
        folder_id: i64,
        uids: &[i64],
        change: &FlagChange,
        unchanged_since: Option<i64>,
    ) -> Result<FlagsStored> {
        // Flags change no usage: the folder's row is the only lock needed,
        // taken before reading so that concurrent changes do not interleave.
        self.lock_folder(folder_id).await?;
        let mut current = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(MAX_IN_LIST) {
            let sql = format!(
                "SELECT uid, size, internal_date, flags, keywords, modseq FROM messages \
                 WHERE folder_id = $1 AND uid IN ({}) ORDER BY uid",
                placeholders(2, chunk.len())
            );
            let query = Sql::new(sql)
                .bind(folder_id)
                .bind_each(chunk.iter().copied());
            current.extend(self.fetch::<MessageSummary>(query).await?);
        }
        current.sort_by_key(|m| m.uid);
        let mut stored = FlagsStored::default();
        // Messages to change, grouped by the flags they end with, so that
        // marking a whole folder seen is a handful of statements.
        let mut groups: BTreeMap<(Flags, Keywords), Vec<usize>> = BTreeMap::new();
        let mut delta = Tally::default();
        for (index, message) in current.iter().enumerate() {
            if unchanged_since.is_some_and(|since| message.modseq > since) {
                stored.modified.push(message.uid);
                continue;
            }
            let after = change.apply(message.flags, &message.keywords);
            if after.0 != message.flags || after.1 != message.keywords {
                delta += Tally::reflagged(message.flags, after.0, message.size);
                groups.entry(after).or_default().push(index);
            }
        }
        if !groups.is_empty() {
            let none = Keywords::default();
            let brings = match change.op {
                FlagOp::Remove => &none,
                FlagOp::Add | FlagOp::Replace => &change.keywords,
            };
            let touched = self.touch_folder(folder_id, 0, delta, brings).await?;
            for ((flags, keywords), indexes) in groups {
                for chunk in indexes.chunks(MAX_IN_LIST) {
                    let sql = format!(
                        "UPDATE messages SET flags = $1, keywords = $2, modseq = $3 \
                         WHERE folder_id = $4 AND uid IN ({})",
                        placeholders(5, chunk.len())
                    );
                    let query = Sql::new(sql)
                        .bind(flags)
                        .bind(&keywords)
                        .bind(touched.modseq)
                        .bind(folder_id)
                        .bind_each(chunk.iter().map(|&index| current[index].uid));
                    self.run(query).await?;
                    for &index in chunk {
                        let message = &mut current[index];
                        message.flags = flags;
                        message.keywords.clone_from(&keywords);
                        message.modseq = touched.modseq;
                    }
                }
            }
            self.announce(Change {
                account_id: touched.account_id,
                folder_id,
                kind: ChangeKind::Flags,
                modseq: touched.modseq,
            });
            stored.folder_keywords = Some(touched.keywords);
        }
        current.retain(|m| stored.modified.binary_search(&m.uid).is_err());
        stored.messages = current;
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(op: FlagOp, flags: Flags, keywords: &str) -> FlagChange {
        FlagChange {
            op,
            flags,
            keywords: keywords.split_whitespace().collect(),
        }
    }

    fn keywords(text: &str) -> Keywords {
        text.split_whitespace().collect()
    }

    #[test]
    fn flags_and_keywords_combine() {
        let add = change(FlagOp::Add, Flags::SEEN, "$Junk work");
        assert_eq!(
            add.apply(Flags::FLAGGED, &keywords("Work")),
            (Flags::SEEN | Flags::FLAGGED, keywords("Work $Junk"))
        );
        let remove = change(FlagOp::Remove, Flags::SEEN, "WORK");
        assert_eq!(
            remove.apply(Flags::SEEN | Flags::FLAGGED, &keywords("Work $Junk")),
            (Flags::FLAGGED, keywords("$Junk"))
        );
        let replace = change(FlagOp::Replace, Flags::DRAFT, "a A");
        assert_eq!(
            replace.apply(Flags::ALL, &keywords("x y")),
            (Flags::DRAFT, keywords("a"))
        );
    }
}

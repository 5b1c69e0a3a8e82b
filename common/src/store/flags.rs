//! Changing the flags of stored messages (IMAP STORE, RFC 9051 §6.4.6),
//! with CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3).

use std::collections::BTreeMap;

use sqlx::AssertSqlSafe;

use super::counters::Tally;
use super::in_list::{BindEach, MAX_IN_LIST, placeholders};
use super::{Change, ChangeKind, Flags, MessageSummary, Result, WriteTx};

/// How a STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

/// The flags a STORE names: system flags as bits, keywords by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub op: FlagOp,
    pub flags: Flags,
    pub keywords: Vec<String>,
}

impl FlagChange {
    /// The flags and keywords a message ends with.
    fn apply(&self, flags: i64, keywords: &str) -> (i64, String) {
        let mut words: Vec<&str> = match self.op {
            FlagOp::Replace => Vec::new(),
            FlagOp::Add | FlagOp::Remove => keywords.split_whitespace().collect(),
        };
        if self.op == FlagOp::Remove {
            words.retain(|w| !self.keywords.iter().any(|k| k.eq_ignore_ascii_case(w)));
        } else {
            for keyword in &self.keywords {
                if !words.iter().any(|w| w.eq_ignore_ascii_case(keyword)) {
                    words.push(keyword);
                }
            }
        }
        let flags = match self.op {
            FlagOp::Add => flags | self.flags.0,
            FlagOp::Remove => flags & !self.flags.0,
            FlagOp::Replace => self.flags.0,
        };
        (flags, words.join(" "))
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
    pub folder_keywords: Option<String>,
}

impl WriteTx {
    /// Changes the flags of the messages `uids` of a folder. Messages whose
    /// flags end as they were keep their MODSEQ; all the others get one new
    /// MODSEQ. With `unchanged_since`, a message whose MODSEQ is above it is
    /// not changed and is listed in `modified`.
    pub async fn store_flags(
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
            let query = sqlx::query_as::<_, MessageSummary>(AssertSqlSafe(sql))
                .bind(folder_id)
                .bind_each(chunk);
            current.extend(query.fetch_all(self.conn()).await?);
        }
        current.sort_by_key(|m| m.uid);
        let mut stored = FlagsStored::default();
        // Messages to change, grouped by the flags they end with, so that
        // marking a whole folder seen is a handful of statements.
        let mut groups: BTreeMap<(i64, String), Vec<usize>> = BTreeMap::new();
        let mut delta = Tally::default();
        for (index, message) in current.iter().enumerate() {
            if unchanged_since.is_some_and(|since| message.modseq > since) {
                stored.modified.push(message.uid);
                continue;
            }
            let after = change.apply(message.flags, &message.keywords);
            if after != (message.flags, message.keywords.clone()) {
                delta += Tally::reflagged(message.flags, after.0, message.size);
                groups.entry(after).or_default().push(index);
            }
        }
        if !groups.is_empty() {
            let brings = match change.op {
                FlagOp::Remove => String::new(),
                FlagOp::Add | FlagOp::Replace => change.keywords.join(" "),
            };
            let touched = self.touch_folder(folder_id, 0, delta, &brings).await?;
            for ((flags, keywords), indexes) in groups {
                for chunk in indexes.chunks(MAX_IN_LIST) {
                    let sql = format!(
                        "UPDATE messages SET flags = $1, keywords = $2, modseq = $3 \
                         WHERE folder_id = $4 AND uid IN ({})",
                        placeholders(5, chunk.len())
                    );
                    let query = sqlx::query(AssertSqlSafe(sql))
                        .bind(flags)
                        .bind(&keywords)
                        .bind(touched.modseq)
                        .bind(folder_id)
                        .bind_each(chunk.iter().map(|&index| current[index].uid));
                    query.execute(self.conn()).await?;
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

    fn change(op: FlagOp, flags: Flags, keywords: &[&str]) -> FlagChange {
        FlagChange {
            op,
            flags,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn flags_and_keywords_combine() {
        let add = change(FlagOp::Add, Flags::SEEN, &["$Junk", "work"]);
        assert_eq!(
            add.apply(Flags::FLAGGED.0, "Work"),
            (5, "Work $Junk".into())
        );
        let remove = change(FlagOp::Remove, Flags::SEEN, &["WORK"]);
        assert_eq!(remove.apply(5, "Work $Junk"), (4, "$Junk".into()));
        let replace = change(FlagOp::Replace, Flags::DRAFT, &["a", "A"]);
        assert_eq!(replace.apply(31, "x y"), (16, "a".into()));
    }
}

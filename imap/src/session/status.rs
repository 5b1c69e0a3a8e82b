//! STATUS (RFC 9051 §6.3.11, STATUS=SIZE of RFC 8438, HIGHESTMODSEQ of
//! RFC 7162 §3.1.4), also used by LIST-STATUS (RFC 5819).

use std::fmt::Write as _;
use std::io::Write as _;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::status::StatusDataItemName;
use postino_common::store::{Folder, FolderCounts};

use super::names::{from_client, write_name};
use super::{Done, Session, unavailable};

impl Session<'_> {
    pub(super) async fn status(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
        items: &[StatusDataItemName],
    ) -> Done {
        let Ok(name) = from_client(mailbox, self.enabled) else {
            return Done::no("Invalid mailbox name").code("CANNOT");
        };
        let store = &self.ctx.store;
        let (folder, counts) = match store.folder(account_id, &name).await {
            Ok(Some(folder)) => match store.folder_counts(account_id).await {
                Ok(counts) => (folder, counts),
                Err(err) => return unavailable(&err),
            },
            Ok(None) => return Done::no("No such mailbox").code("NONEXISTENT"),
            Err(err) => return unavailable(&err),
        };
        let counts = counts.iter().find(|c| c.folder_id == folder.id);
        self.write_status(&folder, counts, items);
        Done::ok("STATUS completed")
    }

    /// Writes `* STATUS name (items)` for a folder.
    pub(super) fn write_status(
        &mut self,
        folder: &Folder,
        counts: Option<&FolderCounts>,
        items: &[StatusDataItemName],
    ) {
        let enabled = self.enabled;
        let out = &mut self.conn().out;
        out.extend_from_slice(b"* STATUS ");
        write_name(out, &folder.name, enabled);
        let mut values = String::new();
        for item in items {
            if !values.is_empty() {
                values.push(' ');
            }
            let count = |pick: fn(&FolderCounts) -> i64| counts.map_or(0, pick);
            let _ = match item {
                StatusDataItemName::Messages => {
                    write!(values, "MESSAGES {}", count(|c| c.messages))
                }
                StatusDataItemName::Recent => write!(values, "RECENT 0"),
                StatusDataItemName::UidNext => write!(values, "UIDNEXT {}", folder.uidnext),
                StatusDataItemName::UidValidity => {
                    write!(values, "UIDVALIDITY {}", folder.uidvalidity)
                }
                StatusDataItemName::Unseen => write!(values, "UNSEEN {}", count(|c| c.unseen)),
                StatusDataItemName::Deleted => write!(values, "DELETED {}", count(|c| c.deleted)),
                // Space an expunge would give back; shared bodies count
                // once per message, as quota does.
                StatusDataItemName::DeletedStorage => {
                    write!(values, "DELETED-STORAGE {}", count(|c| c.deleted_bytes))
                }
                StatusDataItemName::Size => write!(values, "SIZE {}", count(|c| c.bytes)),
                StatusDataItemName::HighestModSeq => {
                    write!(values, "HIGHESTMODSEQ {}", folder.highestmodseq)
                }
            };
        }
        let _ = write!(out, " ({values})\r\n");
    }
}

//! STATUS (RFC 9051 §6.3.11, STATUS=SIZE of RFC 8438, HIGHESTMODSEQ of
//! RFC 7162 §3.1.4), also used by LIST-STATUS (RFC 5819).

use std::fmt::Write as _;
use std::io::Write as _;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::status::StatusDataItemName;
use postino_common::store::{Folder, StoreError};

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
        let folder = match self.ctx.store.folder(account_id, &name).await {
            Ok(Some(folder)) => folder,
            Ok(None) => return Done::no("No such mailbox").code("NONEXISTENT"),
            Err(err) => return unavailable(&err),
        };
        match self.write_status(&folder, items).await {
            Ok(()) => Done::ok("STATUS completed"),
            Err(err) => unavailable(&err),
        }
    }

    /// Writes `* STATUS name (items)` for a folder.
    pub(super) async fn write_status(
        &mut self,
        folder: &Folder,
        items: &[StatusDataItemName],
    ) -> Result<(), StoreError> {
        // What a session selecting the folder now would take as recent.
        let recent = match items.contains(&StatusDataItemName::Recent)
            && folder.first_recent < folder.uidnext
        {
            true => {
                self.ctx
                    .store
                    .untaken_recent(folder.id, folder.first_recent)
                    .await?
            }
            false => 0,
        };
        let enabled = self.enabled;
        let out = &mut self.conn().out;
        out.extend_from_slice(b"* STATUS ");
        write_name(out, &folder.name, enabled);
        let mut values = String::new();
        for item in items {
            if !values.is_empty() {
                values.push(' ');
            }
            let _ = match item {
                StatusDataItemName::Messages => {
                    write!(values, "MESSAGES {}", folder.messages)
                }
                StatusDataItemName::Recent => write!(values, "RECENT {recent}"),
                StatusDataItemName::UidNext => write!(values, "UIDNEXT {}", folder.uidnext),
                StatusDataItemName::UidValidity => {
                    write!(values, "UIDVALIDITY {}", folder.uidvalidity)
                }
                StatusDataItemName::Unseen => write!(values, "UNSEEN {}", folder.unseen),
                StatusDataItemName::Deleted => write!(values, "DELETED {}", folder.deleted),
                // Space an expunge would give back; shared bodies count
                // once per message, as quota does.
                StatusDataItemName::DeletedStorage => {
                    write!(values, "DELETED-STORAGE {}", folder.deleted_bytes)
                }
                StatusDataItemName::Size => write!(values, "SIZE {}", folder.bytes),
                StatusDataItemName::HighestModSeq => {
                    write!(values, "HIGHESTMODSEQ {}", folder.highestmodseq)
                }
            };
        }
        let _ = write!(out, " ({values})\r\n");
        Ok(())
    }
}

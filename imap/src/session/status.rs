//! STATUS (RFC 9051 §6.3.11, STATUS=SIZE of RFC 8438, HIGHESTMODSEQ of
//! RFC 7162 §3.1.4), also used by LIST-STATUS (RFC 5819).

use std::fmt::Write as _;
use std::io::Write as _;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::status::StatusDataItemName;
use postino_common::store::{Folder, StoreError};

use super::names::{from_client, write_name};
use super::view::View;
use super::{Done, Session, unavailable};

impl Session<'_> {
    pub(super) async fn status(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
        items: &[StatusDataItemName],
    ) -> Done {
        // RFC 9051 §9: status-att-list is one or more items.
        if items.is_empty() {
            return Done::bad("STATUS needs at least one item");
        }
        let Ok(name) = from_client(mailbox, self.enabled) else {
            return Done::no("Invalid mailbox name").code("CANNOT");
        };
        let folder = match self.ctx.store.folder(account_id, &name).await {
            Ok(Some(folder)) => folder,
            Ok(None) => return Done::no("No such mailbox").code("NONEXISTENT"),
            Err(err) => return unavailable(&err),
        };
        let selected = self
            .selected
            .as_ref()
            .is_some_and(|v| v.folder_id == folder.id);
        match self.write_status(&folder, items).await {
            // RFC 9051 §6.3.11 advises against it; Dovecot says so.
            Ok(()) if selected => Done::ok("STATUS on the selected mailbox").code("CLIENTBUG"),
            Ok(()) => Done::ok("STATUS completed"),
            Err(err) => unavailable(&err),
        }
    }

    /// Writes `* STATUS name (items)` for a folder, the items in
    /// Dovecot's order whatever the order asked.
    pub(super) async fn write_status(
        &mut self,
        folder: &Folder,
        items: &[StatusDataItemName],
    ) -> Result<(), StoreError> {
        // What a session selecting the folder now would take as recent,
        // and what this session holds as recent if it has it selected.
        let untaken = match items.contains(&StatusDataItemName::Recent)
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
        let held = (self.selected.as_ref())
            .filter(|view| view.folder_id == folder.id)
            .map_or(0, View::recent_count);
        let recent = untaken + held as i64;
        let enabled = self.enabled;
        let out = &mut self.conn().out;
        out.extend_from_slice(b"* STATUS ");
        write_name(out, &folder.name, enabled);
        let mut items = items.to_vec();
        items.sort_by_key(dovecot_rank);
        items.dedup();
        let mut values = String::new();
        for item in &items {
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

/// Where Dovecot puts an item in a STATUS response.
fn dovecot_rank(item: &StatusDataItemName) -> u8 {
    match item {
        StatusDataItemName::Messages => 0,
        StatusDataItemName::Recent => 1,
        StatusDataItemName::UidNext => 2,
        StatusDataItemName::UidValidity => 3,
        StatusDataItemName::Unseen => 4,
        StatusDataItemName::HighestModSeq => 5,
        StatusDataItemName::Size => 6,
        StatusDataItemName::Deleted => 7,
        StatusDataItemName::DeletedStorage => 8,
    }
}

//! STATUS (RFC 9051 §6.3.11, STATUS=SIZE of RFC 8438, HIGHESTMODSEQ of
//! RFC 7162 §3.1.4), also used by LIST-STATUS (RFC 5819).

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::status::StatusDataItemName;
use postino_common::acl::Rights;
use postino_common::store::{Folder, StoreError};

use super::names::from_client;
use super::view::View;
use super::{Client, Outcome};
use crate::proto::{Code, Data, Status, StatusItem};

impl Client<'_> {
    pub(super) async fn status(
        &mut self,
        account_id: i64,
        selected: Option<&View>,
        mailbox: &Mailbox<'_>,
        items: &[StatusDataItemName],
    ) -> Outcome {
        // RFC 9051 §9: status-att-list is one or more items.
        if items.is_empty() {
            return Ok(Status::bad("STATUS needs at least one item"));
        }
        let name = from_client(mailbox, self.enabled)?;
        let folder = match self.reach(account_id, &name, Rights::READ).await? {
            Ok(reached) => reached.folder,
            Err(refused) => return Ok(refused.status(Code::NonExistent)),
        };
        let selected = selected.filter(|view| view.folder_id == folder.id);
        self.send_status(&folder, items, selected).await?;
        Ok(match selected {
            // RFC 9051 §6.3.11 advises against it; Dovecot says so.
            Some(_) => Status::ok("STATUS on the selected mailbox").code(Code::ClientBug),
            None => Status::ok("STATUS completed"),
        })
    }

    /// Sends `* STATUS name (items)` for a folder; `selected` is the
    /// selected mailbox's view, if any.
    pub(super) async fn send_status(
        &mut self,
        folder: &Folder,
        items: &[StatusDataItemName],
        selected: Option<&View>,
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
        let held =
            (selected.filter(|view| view.folder_id == folder.id)).map_or(0, View::recent_count);
        let recent = untaken + held as i64;
        let values: Vec<StatusItem> = items
            .iter()
            .map(|item| match item {
                StatusDataItemName::Messages => StatusItem::Messages(folder.messages as u64),
                StatusDataItemName::Recent => StatusItem::Recent(recent as u64),
                StatusDataItemName::UidNext => StatusItem::UidNext(folder.uidnext as u32),
                StatusDataItemName::UidValidity => {
                    StatusItem::UidValidity(folder.uidvalidity as u32)
                }
                StatusDataItemName::Unseen => StatusItem::Unseen(folder.unseen as u64),
                StatusDataItemName::Deleted => StatusItem::Deleted(folder.deleted as u64),
                // Space an expunge would give back; shared bodies count
                // once per message, as quota does.
                StatusDataItemName::DeletedStorage => {
                    StatusItem::DeletedStorage(folder.deleted_bytes as u64)
                }
                StatusDataItemName::Size => StatusItem::Size(folder.bytes as u64),
                StatusDataItemName::HighestModSeq => {
                    StatusItem::HighestModSeq(folder.highestmodseq as u64)
                }
            })
            .collect();
        self.send(Data::Status {
            mailbox: &folder.name,
            items: &values,
        });
        Ok(())
    }
}

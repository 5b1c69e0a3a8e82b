//! The mailbox list: CREATE (with CREATE-SPECIAL-USE, RFC 6154 §3), DELETE,
//! RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (with LIST-EXTENDED, RFC 5258, and
//! LIST-STATUS, RFC 5819) and LSUB, whose answers [`super::listing`]
//! works out. Folders are flat rows with `/` in their names; CREATE makes
//! missing parents, as RFC 9051 §6.3.4 asks, so every level of a name
//! exists. CREATE subscribes to nothing and DELETE unsubscribes from
//! nothing, as in Dovecot.

use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use postino_common::store::{SpecialUse, StoreError};

use super::listing::{Selection, entries};
use super::names::{from_client, list_mailbox_bytes, pattern_from_client, to_create};
use super::view::View;
use super::{Client, Outcome, State};
use crate::proto::{
    Attribute, Code, Data, List, ListOptions, ListReturn, ListSelect, Options, Status,
};

impl Client<'_> {
    pub(super) async fn create(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
        options: &Options,
    ) -> Outcome {
        let name = to_create(mailbox, self.enabled)?;
        let special_use = match options {
            Options::CreateUse(uses) => match uses.as_slice() {
                [] => None,
                [one] => match SpecialUse::from_attribute(one) {
                    Some(special_use) => Some(special_use),
                    None => {
                        return Ok(Status::no("Unknown special-use attribute").code(Code::UseAttr));
                    }
                },
                _ => {
                    let refused = Status::no("One special-use attribute per mailbox");
                    return Ok(refused.code(Code::UseAttr));
                }
            },
            _ => None,
        };
        let mut tx = self.ctx.store.begin().await?;
        tx.create_parents(account_id, &name).await?;
        tx.create_folder(account_id, &name, special_use).await?;
        tx.commit().await?;
        Ok(Status::ok("CREATE completed"))
    }

    pub(super) async fn delete(
        &mut self,
        account_id: i64,
        state: &mut State,
        mailbox: &Mailbox<'_>,
    ) -> Outcome {
        let name = from_client(mailbox, self.enabled)?;
        if name == "INBOX" {
            return Ok(Status::no("INBOX cannot be deleted").code(Code::Cannot));
        }
        let mut tx = self.ctx.store.begin().await?;
        tx.delete_folder(account_id, &name).await?;
        tx.commit().await?;
        if state.view().is_some_and(|v| v.name == name) {
            state.unselect();
        }
        Ok(Status::ok("DELETE completed"))
    }

    pub(super) async fn rename(
        &mut self,
        account_id: i64,
        selected: Option<&mut View>,
        from: &Mailbox<'_>,
        to: &Mailbox<'_>,
    ) -> Outcome {
        let from = from_client(from, self.enabled)?;
        let to = from_client(to, self.enabled)?;
        if to == "INBOX" || to.starts_with(&format!("{from}/")) {
            return Ok(Status::no("Cannot rename to that name").code(Code::Cannot));
        }
        let mut tx = self.ctx.store.begin().await?;
        if tx.folders(account_id).await?.iter().any(|f| f.name == to) {
            return Err(StoreError::AlreadyExists {
                what: "folder",
                name: to,
            }
            .into());
        }
        tx.create_parents(account_id, &to).await?;
        tx.rename_folder(account_id, &from, &to).await?;
        tx.commit().await?;
        if let Some(view) = selected
            && let Some(rest) = view.name.strip_prefix(&from)
            && (rest.is_empty() || rest.starts_with('/'))
            && from != "INBOX"
        {
            view.name = format!("{to}{rest}");
        }
        self.forced_sync = true;
        Ok(Status::ok("RENAME completed"))
    }

    pub(super) async fn subscribe(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
        subscribed: bool,
    ) -> Outcome {
        let name = from_client(mailbox, self.enabled)?;
        let store = &self.ctx.store;
        // A name is subscribed only while it is a mailbox, as Dovecot checks
        // (RFC 9051 §6.3.7 allows it); it may outlive the mailbox.
        if subscribed && store.folder(account_id, &name).await?.is_none() {
            return Ok(Status::no("No such mailbox").code(Code::NonExistent));
        }
        let mut tx = store.begin().await?;
        tx.set_subscribed(account_id, &name, subscribed).await?;
        tx.commit().await?;
        Ok(if subscribed {
            Status::ok("SUBSCRIBE completed")
        } else {
            Status::ok("UNSUBSCRIBE completed")
        })
    }

    pub(super) async fn list(
        &mut self,
        account_id: i64,
        selected: Option<&View>,
        reference: &Mailbox<'_>,
        pattern: &ListMailbox<'_>,
        options: &Options,
        lsub: bool,
    ) -> Outcome {
        let default_options = ListOptions::default();
        let options = match options {
            Options::List(options) => options,
            _ => &default_options,
        };
        let reference = match reference {
            Mailbox::Inbox => Some("INBOX".to_string()),
            Mailbox::Other(other) => pattern_from_client(other.as_ref(), self.enabled),
        };
        let sent: Vec<&[u8]> = if options.patterns.is_empty() {
            vec![list_mailbox_bytes(pattern)]
        } else {
            options.patterns.iter().map(Vec::as_slice).collect()
        };
        let patterns: Option<Vec<String>> = sent
            .iter()
            .map(|p| pattern_from_client(p, self.enabled))
            .collect();
        let done = Status::ok(if lsub {
            "LSUB completed"
        } else {
            "LIST completed"
        });
        // A pattern no name can match (not valid modified UTF-7) matches
        // nothing; it is no error (RFC 9051 §6.3.9).
        let (Some(reference), Some(patterns)) = (reference, patterns) else {
            return Ok(done);
        };
        if patterns.iter().all(String::is_empty) {
            // The hierarchy delimiter and the root of the reference: up to
            // its first delimiter (RFC 9051 §6.3.9).
            let root = reference.find('/').map_or("", |at| &reference[..=at]);
            self.send(Data::List(List {
                lsub,
                attributes: &[Attribute::NoSelect],
                mailbox: root,
                subscribed_child: false,
            }));
            return Ok(done);
        }
        let patterns: Vec<String> = patterns
            .iter()
            .map(|pattern| format!("{reference}{pattern}"))
            .collect();
        let store = &self.ctx.store;
        let (folders, subscriptions) =
            tokio::try_join!(store.folders(account_id), store.subscriptions(account_id))?;
        let status_items = options.returns.iter().find_map(|r| match r {
            ListReturn::Status(items) => Some(items.clone()),
            _ => None,
        });
        let subscribed_only = options.selection.contains(&ListSelect::Subscribed);
        let selection = Selection {
            subscribed_only,
            mark_subscribed: subscribed_only || options.returns.contains(&ListReturn::Subscribed),
            special_only: options.selection.contains(&ListSelect::SpecialUse),
            recursive: options.selection.contains(&ListSelect::RecursiveMatch),
            extended: !options.selection.is_empty() || !options.returns.is_empty(),
        };
        for entry in entries(&folders, &subscriptions, &patterns, selection, lsub) {
            self.send(Data::List(List {
                lsub,
                attributes: &entry.attributes,
                mailbox: &entry.name,
                subscribed_child: entry.subscribed_child,
            }));
            if let (Some(items), Some(folder)) = (&status_items, entry.folder) {
                self.send_status(folder, items, selected).await?;
            }
        }
        Ok(done)
    }
}

//! The mailbox list: CREATE (with CREATE-SPECIAL-USE, RFC 6154 §3), DELETE,
//! RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (with LIST-EXTENDED, RFC 5258, and
//! LIST-STATUS, RFC 5819) and LSUB, whose answers [`super::listing`]
//! works out. Folders are flat rows with `/` in their names; CREATE makes
//! missing parents, as RFC 9051 §6.3.4 asks, so every level of a name
//! exists. CREATE subscribes to nothing and DELETE unsubscribes from
//! nothing, as in Dovecot.

use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use postino_common::acl::Rights;
use postino_common::store::{SpecialUse, StoreError};

use super::listing::{Selection, entries};
use super::names::{from_client, list_mailbox_bytes, pattern_from_client, to_create};
use super::shared::{Place, place, shared_name};
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
        let (account_id, name) = match self.owned_place(account_id, &name, true).await? {
            Ok(place) => place,
            Err(refusal) => return Ok(refusal),
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
        let (owner_id, local) = match self.owned_place(account_id, &name, false).await? {
            Ok(place) => place,
            Err(refusal) => return Ok(refusal),
        };
        if local == "INBOX" {
            return Ok(Status::no("INBOX cannot be deleted").code(Code::Cannot));
        }
        let mut tx = self.ctx.store.begin().await?;
        tx.delete_folder(owner_id, &local).await?;
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
        let (owner_id, old) = match self.owned_place(account_id, &from, false).await? {
            Ok(place) => place,
            Err(refusal) => return Ok(refusal),
        };
        let (to_owner, new) = match self.owned_place(account_id, &to, true).await? {
            Ok(place) => place,
            Err(refusal) => return Ok(refusal),
        };
        if to_owner != owner_id {
            let refusal = Status::no("Mailboxes move only within their account");
            return Ok(refusal.code(Code::Cannot));
        }
        if new == "INBOX" || new.starts_with(&format!("{old}/")) {
            return Ok(Status::no("Cannot rename to that name").code(Code::Cannot));
        }
        let mut tx = self.ctx.store.begin().await?;
        if tx.folders(owner_id).await?.iter().any(|f| f.name == new) {
            return Err(StoreError::AlreadyExists {
                what: "folder",
                name: to,
            }
            .into());
        }
        tx.create_parents(owner_id, &new).await?;
        tx.rename_folder(owner_id, &old, &new).await?;
        tx.commit().await?;
        if let Some(view) = selected
            && let Some(rest) = view.name.strip_prefix(&from)
            && (rest.is_empty() || rest.starts_with('/'))
            && old != "INBOX"
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
        if subscribed && let Err(refused) = self.reach(account_id, &name, Rights::LOOKUP).await? {
            return Ok(refused.status(Code::NonExistent));
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
        let (mut folders, subscriptions, shared) = tokio::try_join!(
            store.folders(account_id),
            store.subscriptions(account_id),
            store.shared_folders(account_id)
        )?;
        // Other accounts' folders the user may see, under its names for
        // them; STATUS only for those it may read.
        let mut unreadable = Vec::new();
        for shared in shared {
            if !shared.rights.contains(Rights::LOOKUP) {
                continue;
            }
            let mut folder = shared.folder;
            if !shared.rights.contains(Rights::READ) {
                unreadable.push(folder.id);
            }
            folder.name = shared_name(&shared.owner, &folder.name);
            folders.push(folder);
        }
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
            if let (Some(items), Some(folder)) = (&status_items, entry.folder)
                && !unreadable.contains(&folder.id)
            {
                self.send_status(folder, items, selected).await?;
            }
        }
        Ok(done)
    }

    /// The account and the name there of the folder `name` that DELETE or
    /// RENAME takes away, or that CREATE or RENAME is to make (`making`),
    /// if the user may: any of its own; one of another account with `x` on
    /// it, or to make one, with `k` in the folder above (the INBOX for one
    /// at the top).
    async fn owned_place(
        &self,
        account_id: i64,
        name: &str,
        making: bool,
    ) -> Result<Result<(i64, String), Status<'static>>, StoreError> {
        let (owner, local) = match place(name) {
            Place::Own(name) => return Ok(Ok((account_id, name.to_string()))),
            Place::Level if making => {
                let refusal = Status::no("Shared mailboxes are named by their owners");
                return Ok(Err(refusal.code(Code::Cannot)));
            }
            Place::Level => return Ok(Err(Status::no("No such mailbox").code(Code::NonExistent))),
            Place::Shared { owner, name } => (owner, name),
        };
        let (checked, needed) = match making {
            true => {
                let above = local.rsplit_once('/').map_or("INBOX", |(above, _)| above);
                (shared_name(owner, above), Rights::CREATE)
            }
            false => (name.to_string(), Rights::DELETE_FOLDER),
        };
        Ok(self
            .reach(account_id, &checked, needed)
            .await?
            .map(|reached| (reached.folder.account_id, local))
            .map_err(|refused| refused.status(Code::NonExistent)))
    }
}

//! The mailbox list: CREATE (with CREATE-SPECIAL-USE, RFC 6154 §3), DELETE,
//! RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (with LIST-EXTENDED, RFC 5258, and
//! LIST-STATUS, RFC 5819) and LSUB, whose answers [`super::listing`]
//! works out. Folders are flat rows with `/` in their names; CREATE makes
//! missing parents, as RFC 9051 §6.3.4 asks, so every level of a name
//! exists. CREATE subscribes to nothing and DELETE unsubscribes from
//! nothing, as in Dovecot.

use std::io::Write as _;

use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use postino_common::store::{SpecialUse, StoreError, WriteTx};

use super::listing::{Selection, entries};
use super::names::{
    BadName, from_client, list_mailbox_bytes, pattern_from_client, to_create, write_name,
};
use super::{Done, Session, unavailable};
use crate::proto::{ListOptions, ListReturn, ListSelect, Options};

/// The usual answer to a store error in these commands.
fn refused(err: &StoreError) -> Done {
    match err {
        StoreError::AlreadyExists { .. } => {
            Done::no("Mailbox already exists").code("ALREADYEXISTS")
        }
        StoreError::NotFound { .. } => Done::no("No such mailbox").code("NONEXISTENT"),
        other => unavailable(other),
    }
}

fn bad_name(_: BadName) -> Done {
    Done::no("Invalid mailbox name").code("CANNOT")
}

/// Creates every missing level above `name` (`a` and `a/b` for `a/b/c`).
async fn create_parents(tx: &mut WriteTx, account_id: i64, name: &str) -> Result<(), StoreError> {
    let existing: Vec<String> = tx
        .folders(account_id)
        .await?
        .into_iter()
        .map(|f| f.name)
        .collect();
    for (at, _) in name.match_indices('/') {
        let parent = &name[..at];
        if !existing.iter().any(|n| n == parent) {
            tx.create_folder(account_id, parent, None).await?;
        }
    }
    Ok(())
}

impl Session<'_> {
    pub(super) async fn create(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
        options: &Options,
    ) -> Done {
        let name = match to_create(mailbox, self.enabled) {
            Ok(name) => name,
            Err(err) => return bad_name(err),
        };
        let special_use = match options {
            Options::CreateUse(uses) => match uses.as_slice() {
                [] => None,
                [one] => match SpecialUse::from_attribute(one) {
                    Some(special_use) => Some(special_use),
                    None => return Done::no("Unknown special-use attribute").code("USEATTR"),
                },
                _ => return Done::no("One special-use attribute per mailbox").code("USEATTR"),
            },
            _ => None,
        };
        let created = async {
            let mut tx = self.ctx.store.begin().await?;
            create_parents(&mut tx, account_id, &name).await?;
            tx.create_folder(account_id, &name, special_use).await?;
            tx.commit().await
        };
        match created.await {
            Ok(()) => Done::ok("CREATE completed"),
            Err(err) => refused(&err),
        }
    }

    pub(super) async fn delete(&mut self, account_id: i64, mailbox: &Mailbox<'_>) -> Done {
        let name = match from_client(mailbox, self.enabled) {
            Ok(name) => name,
            Err(err) => return bad_name(err),
        };
        if name == "INBOX" {
            return Done::no("INBOX cannot be deleted").code("CANNOT");
        }
        let deleted = async {
            let mut tx = self.ctx.store.begin().await?;
            tx.delete_folder(account_id, &name).await?;
            tx.commit().await
        };
        match deleted.await {
            Ok(()) => {
                if self.selected.as_ref().is_some_and(|v| v.name == name) {
                    self.selected = None;
                }
                Done::ok("DELETE completed")
            }
            Err(err) => refused(&err),
        }
    }

    pub(super) async fn rename(
        &mut self,
        account_id: i64,
        from: &Mailbox<'_>,
        to: &Mailbox<'_>,
    ) -> Done {
        let (from, to) = match (
            from_client(from, self.enabled),
            from_client(to, self.enabled),
        ) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(err), _) | (_, Err(err)) => return bad_name(err),
        };
        if to == "INBOX" || to.starts_with(&format!("{from}/")) {
            return Done::no("Cannot rename to that name").code("CANNOT");
        }
        let renamed = async {
            let mut tx = self.ctx.store.begin().await?;
            if tx.folders(account_id).await?.iter().any(|f| f.name == to) {
                return Err(StoreError::AlreadyExists {
                    what: "folder",
                    name: to.clone(),
                });
            }
            create_parents(&mut tx, account_id, &to).await?;
            tx.rename_folder(account_id, &from, &to).await?;
            tx.commit().await
        };
        match renamed.await {
            Ok(()) => {
                if let Some(view) = &mut self.selected
                    && let Some(rest) = view.name.strip_prefix(&from)
                    && (rest.is_empty() || rest.starts_with('/'))
                    && from != "INBOX"
                {
                    view.name = format!("{to}{rest}");
                }
                self.forced_sync = true;
                Done::ok("RENAME completed")
            }
            Err(err) => refused(&err),
        }
    }

    pub(super) async fn subscribe(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
        subscribed: bool,
    ) -> Done {
        let name = match from_client(mailbox, self.enabled) {
            Ok(name) => name,
            Err(err) => return bad_name(err),
        };
        // A name is subscribed only while it is a mailbox, as Dovecot checks
        // (RFC 9051 §6.3.7 allows it); it may outlive the mailbox.
        if subscribed {
            match self.ctx.store.folder(account_id, &name).await {
                Ok(Some(_)) => {}
                Ok(None) => return Done::no("No such mailbox").code("NONEXISTENT"),
                Err(err) => return unavailable(&err),
            }
        }
        let changed = async {
            let mut tx = self.ctx.store.begin().await?;
            tx.set_subscribed(account_id, &name, subscribed).await?;
            tx.commit().await
        };
        match changed.await {
            Ok(()) if subscribed => Done::ok("SUBSCRIBE completed"),
            Ok(()) => Done::ok("UNSUBSCRIBE completed"),
            Err(err) => refused(&err),
        }
    }

    pub(super) async fn list(
        &mut self,
        account_id: i64,
        reference: &Mailbox<'_>,
        pattern: &ListMailbox<'_>,
        options: &Options,
        lsub: bool,
    ) -> Done {
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
        let verb = if lsub { "LSUB" } else { "LIST" };
        // A pattern no name can match (not valid modified UTF-7) matches
        // nothing; it is no error (RFC 9051 §6.3.9).
        let (Some(reference), Some(patterns)) = (reference, patterns) else {
            return Done::ok(format!("{verb} completed"));
        };
        if patterns.iter().all(String::is_empty) {
            // The hierarchy delimiter and the root of the reference: up to
            // its first delimiter (RFC 9051 §6.3.9).
            let root = reference.find('/').map_or("", |at| &reference[..=at]);
            let enabled = self.enabled;
            let out = &mut self.conn().out;
            let _ = write!(out, "* {verb} (\\Noselect) \"/\" ");
            write_name(out, root, enabled);
            out.extend_from_slice(b"\r\n");
            return Done::ok(format!("{verb} completed"));
        }
        let patterns: Vec<String> = patterns
            .iter()
            .map(|pattern| format!("{reference}{pattern}"))
            .collect();
        let store = &self.ctx.store;
        let (folders, subscriptions) =
            match tokio::try_join!(store.folders(account_id), store.subscriptions(account_id)) {
                Ok(both) => both,
                Err(err) => return unavailable(&err),
            };
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
            let enabled = self.enabled;
            let out = &mut self.conn().out;
            let _ = write!(out, "* {verb} ({}) \"/\" ", entry.attributes.join(" "));
            write_name(out, &entry.name, enabled);
            if entry.subscribed_child {
                out.extend_from_slice(b" (CHILDINFO (\"SUBSCRIBED\"))");
            }
            out.extend_from_slice(b"\r\n");
            if let (Some(items), Some(folder)) = (&status_items, entry.folder)
                && let Err(err) = self.write_status(folder, items).await
            {
                return unavailable(&err);
            }
        }
        Done::ok(format!("{verb} completed"))
    }
}

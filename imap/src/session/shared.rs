//! Mailboxes of other accounts (RFC 4314, RFC 2342 §5). A folder another
//! account of the domain shares with the user is named
//! `Condivise/<owner's address>/<the owner's name for it>`, in the other
//! users' namespace; the user's own folders keep their names. A command
//! that names a mailbox reaches it through [`Client::reach`], which gives
//! the folder, renamed as the client knows it, with the user's rights in
//! it; the user has every right in its own folders.

use postino_common::acl::Rights;
use postino_common::mailbox_name;
use postino_common::store::{Folder, StoreError};

use super::Client;
use crate::proto::{Code, Status};

/// The root of the other users' namespace.
pub(crate) const SHARED_ROOT: &str = "Condivise";

/// Where a name, in the store's spelling, leads.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Place<'a> {
    /// One of the user's own folders.
    Own(&'a str),
    /// The folder `name` of the account `owner`.
    Shared { owner: &'a str, name: String },
    /// `Condivise` or `Condivise/<owner>`: a level of the namespace, never
    /// a mailbox.
    Level,
}

pub(crate) fn place(name: &str) -> Place<'_> {
    let Some(rest) = name.strip_prefix(SHARED_ROOT) else {
        return Place::Own(name);
    };
    let Some(rest) = rest.strip_prefix('/') else {
        return match rest.is_empty() {
            true => Place::Level,
            false => Place::Own(name),
        };
    };
    match rest.split_once('/') {
        // The owner's name for it, with its INBOX spelled as the store does.
        Some((owner, folder)) => match mailbox_name::store_name(folder) {
            Some(folder) => Place::Shared {
                owner,
                name: folder,
            },
            None => Place::Level,
        },
        None => Place::Level,
    }
}

/// The client's name for a folder of `owner` named `name`.
pub(crate) fn shared_name(owner: &str, name: &str) -> String {
    format!("{SHARED_ROOT}/{owner}/{name}")
}

/// A folder a command reached.
pub(crate) struct Reached {
    /// The folder, under the client's name for it.
    pub folder: Folder,
    /// The owner's address, for a folder of another account.
    pub owner: Option<String>,
    pub rights: Rights,
}

/// Why a command cannot have the folder it named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No such folder, or one the user may not even see (RFC 4314 §4:
    /// without `l` the answer must not tell it exists).
    Missing,
    /// The user sees the folder but lacks the right the command needs.
    Denied,
}

impl Refused {
    /// The answer, with `missing` as the code for a folder that is not there.
    pub(crate) fn status(self, missing: Code<'static>) -> Status<'static> {
        match self {
            Refused::Missing => Status::no("No such mailbox").code(missing),
            Refused::Denied => Status::no("Permission denied").code(Code::NoPerm),
        }
    }
}

impl Client<'_> {
    /// The folder `name` leads to for the account `account_id`, if the
    /// account has every right of `needed` in it.
    pub(crate) async fn reach(
        &self,
        account_id: i64,
        name: &str,
        needed: Rights,
    ) -> Result<Result<Reached, Refused>, StoreError> {
        let store = &self.ctx.store;
        let reached = match place(name) {
            Place::Own(name) => store.folder(account_id, name).await?.map(|folder| Reached {
                folder,
                owner: None,
                rights: Rights::ALL,
            }),
            Place::Shared { owner, name } => store
                .shared_folder(account_id, owner, &name)
                .await?
                .map(|shared| {
                    let mut folder = shared.folder;
                    folder.name = shared_name(owner, &name);
                    Reached {
                        folder,
                        owner: Some(shared.owner),
                        rights: shared.rights,
                    }
                }),
            Place::Level => None,
        };
        Ok(match reached {
            Some(reached) if reached.rights.contains(needed) && !reached.rights.is_empty() => {
                Ok(reached)
            }
            Some(reached) if reached.rights.contains(Rights::LOOKUP) => Err(Refused::Denied),
            _ => Err(Refused::Missing),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_under_the_shared_root_lead_to_other_accounts() {
        assert_eq!(place("INBOX"), Place::Own("INBOX"));
        assert_eq!(place("Condivisioni"), Place::Own("Condivisioni"));
        assert_eq!(place("Condivise"), Place::Level);
        assert_eq!(place("Condivise/protocollo@c.it"), Place::Level);
        assert_eq!(
            place("Condivise/protocollo@c.it/inbox/Pratiche"),
            Place::Shared {
                owner: "protocollo@c.it",
                name: "INBOX/Pratiche".into()
            }
        );
        assert_eq!(place("Condivise/protocollo@c.it/a//b"), Place::Level);
    }
}

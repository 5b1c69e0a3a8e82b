//! The ACL commands (RFC 4314 §3): GETACL, SETACL, DELETEACL, LISTRIGHTS
//! and MYRIGHTS. Identifiers are addresses of mailboxes of the owner's
//! domain; `anyone`, `authenticated` and groups are not kept, so that no
//! right ever reaches another domain. The owner holds every right in its
//! folders, which no command changes. Changing rights needs `a`; MYRIGHTS
//! any right.

use postino_common::acl::Rights;
use postino_common::address::Address;
use postino_common::store::StoreError;

use super::names::from_client_bytes;
use super::shared::Reached;
use super::{Client, LoggedIn, Outcome};
use crate::proto::{AclCommand, Code, Data, Status};

impl Client<'_> {
    pub(super) async fn acl_command(&mut self, login: &LoggedIn, command: AclCommand) -> Outcome {
        let name = from_client_bytes(command.mailbox(), self.enabled)?;
        let needed = match command {
            AclCommand::MyRights { .. } => Rights::NONE,
            _ => Rights::ADMIN,
        };
        let account_id = login.user.account_id;
        let reached = match self.reach(account_id, &name, needed).await? {
            Ok(reached) => reached,
            Err(refused) => return Ok(refused.status(Code::NonExistent)),
        };
        let owner = reached.owner.as_deref().unwrap_or(&login.user.address);
        Ok(match command {
            AclCommand::GetAcl { .. } => {
                let acl = self.ctx.store.folder_acl(&reached.folder).await?;
                let mut entries = vec![(owner.to_string(), Rights::ALL.to_string())];
                entries.extend(
                    acl.iter()
                        .map(|(who, rights)| (who.clone(), rights.to_string())),
                );
                self.send(Data::Acl {
                    mailbox: &reached.folder.name,
                    entries: &entries,
                });
                Status::ok("GETACL completed")
            }
            AclCommand::MyRights { .. } => {
                self.send(Data::MyRights {
                    mailbox: &reached.folder.name,
                    rights: &reached.rights.to_string(),
                });
                Status::ok("MYRIGHTS completed")
            }
            AclCommand::ListRights { identifier, .. } => {
                let is_owner = same_address(&identifier, owner);
                // The owner has them all, always; others any of them, one
                // by one.
                let (required, optional): (String, Vec<String>) = match is_owner {
                    true => (Rights::ALL.to_string(), Vec::new()),
                    false => (String::new(), letters(Rights::ALL)),
                };
                self.send(Data::ListRights {
                    mailbox: &reached.folder.name,
                    identifier: &identifier,
                    required: &required,
                    optional: &optional,
                });
                Status::ok("LISTRIGHTS completed")
            }
            AclCommand::SetAcl {
                identifier, rights, ..
            } => {
                let (op, letters) = match rights.as_bytes().first() {
                    Some(b'+') => (Op::Add, &rights[1..]),
                    Some(b'-') => (Op::Remove, &rights[1..]),
                    _ => (Op::Replace, rights.as_str()),
                };
                let Ok(given) = Rights::parse(letters) else {
                    return Ok(Status::bad("Invalid rights"));
                };
                let grantee = match self.grantee(&identifier, owner) {
                    Ok(grantee) => grantee,
                    Err(refusal) => return Ok(refusal),
                };
                let current = self.rights_of(&reached, &grantee).await?;
                let rights = match op {
                    Op::Add => current.with(given),
                    Op::Remove => current.without(given),
                    Op::Replace => given,
                };
                self.set_rights(&reached, &grantee, Some(rights))
                    .await?
                    .unwrap_or_else(|| Status::ok("SETACL completed"))
            }
            AclCommand::DeleteAcl { identifier, .. } => {
                let grantee = match self.grantee(&identifier, owner) {
                    Ok(grantee) => grantee,
                    Err(refusal) => return Ok(refusal),
                };
                // The folder's own entry goes; if a share of the whole
                // mailbox still gives rights here, an empty entry takes
                // them away, since the client asked for none.
                if let Some(refusal) = self.set_rights(&reached, &grantee, None).await? {
                    return Ok(refusal);
                }
                if !self.rights_of(&reached, &grantee).await?.is_empty() {
                    self.set_rights(&reached, &grantee, Some(Rights::NONE))
                        .await?;
                }
                Status::ok("DELETEACL completed")
            }
        })
    }

    /// The address an identifier names, or the refusal: rights go to
    /// other mailboxes of the domain, by address, and never to the owner.
    fn grantee(&self, identifier: &str, owner: &str) -> Result<String, Status<'static>> {
        let Ok(address) = identifier.parse::<Address>() else {
            let refusal = Status::no("Rights are given to mailboxes of the domain, by address");
            return Err(refusal.code(Code::Cannot));
        };
        let address = address.to_string();
        if same_address(&address, owner) {
            let refusal = Status::no("The owner always has every right");
            return Err(refusal.code(Code::Cannot));
        }
        Ok(address)
    }

    /// The rights `grantee` has in the folder now.
    async fn rights_of(&self, reached: &Reached, grantee: &str) -> Result<Rights, StoreError> {
        let acl = self.ctx.store.folder_acl(&reached.folder).await?;
        Ok(acl
            .into_iter()
            .find(|(who, _)| who == grantee)
            .map_or(Rights::NONE, |(_, rights)| rights))
    }

    /// Stores the folder's own rights for `grantee`; the refusal when the
    /// grantee is no mailbox of the owner's domain.
    async fn set_rights(
        &self,
        reached: &Reached,
        grantee: &str,
        rights: Option<Rights>,
    ) -> Result<Option<Status<'static>>, StoreError> {
        let mut tx = self.ctx.store.begin().await?;
        match tx
            .set_folder_rights(reached.folder.id, grantee, rights)
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound { .. }) => {
                let refusal = Status::no("No such mailbox in this domain");
                return Ok(Some(refusal.code(Code::Cannot)));
            }
            Err(err) => return Err(err),
        }
        tx.commit().await?;
        tracing::info!(
            folder = %reached.folder.name,
            grantee,
            rights = %rights.map_or_else(|| "(the share's)".to_string(), |r| r.to_string()),
            "rights changed"
        );
        Ok(None)
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Remove,
    Replace,
}

fn same_address(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Each right of a set on its own, as LISTRIGHTS lists optional rights.
fn letters(rights: Rights) -> Vec<String> {
    rights.to_string().chars().map(String::from).collect()
}

//! QUOTA (RFC 9208): the account's own quota is the root `""`, its
//! domain's quota the root named after the domain; both count STORAGE in
//! KiB. A folder another account shares counts against that account's
//! quota, the root named by its address. Roots without a limit are not
//! listed. SETQUOTA is for administrators, through `postino`.

use imap_codec::imap_types::mailbox::Mailbox;
use postino_common::acl::Rights;
use postino_common::store::Usage;

use super::names::from_client;
use super::{Client, Outcome};
use crate::proto::{Code, Data, Resource, Status};

fn kib(bytes: i64) -> u64 {
    ((bytes + 1023) / 1024) as u64
}

/// The quota roots that have a limit, with their resources; `account` is
/// the name of the account's own root.
fn roots<'a>(usage: &'a Usage, account: &'a str) -> Vec<(&'a str, Resource)> {
    let mut roots = Vec::new();
    if usage.quota_bytes > 0 {
        let storage = Resource::Storage {
            used: kib(usage.used_bytes),
            limit: kib(usage.quota_bytes),
        };
        roots.push((account, storage));
    }
    if usage.domain_quota_bytes > 0 {
        let storage = Resource::Storage {
            used: kib(usage.domain_used_bytes),
            limit: kib(usage.domain_quota_bytes),
        };
        roots.push((usage.domain.as_str(), storage));
    }
    roots
}

impl Client<'_> {
    pub(super) async fn get_quota_root(
        &mut self,
        account_id: i64,
        mailbox: &Mailbox<'_>,
    ) -> Outcome {
        let name = from_client(mailbox, self.enabled)?;
        // Another account's folder counts against its owner's quota, whose
        // root is named by its address.
        let reached = match self.reach(account_id, &name, Rights::LOOKUP).await? {
            Ok(reached) => reached,
            Err(refused) => return Ok(refused.status(Code::NonExistent)),
        };
        let Some(usage) = self.ctx.store.usage(reached.folder.account_id).await? else {
            return Ok(Status::no("No such account"));
        };
        let roots = roots(&usage, reached.owner.as_deref().unwrap_or(""));
        let names: Vec<&str> = roots.iter().map(|&(root, _)| root).collect();
        self.send(Data::QuotaRoot {
            mailbox: &name,
            roots: &names,
        });
        for (root, resource) in &roots {
            self.send(Data::Quota {
                root,
                resources: std::slice::from_ref(resource),
            });
        }
        Ok(Status::ok("GETQUOTAROOT completed"))
    }

    pub(super) async fn get_quota(&mut self, account_id: i64, root: &[u8]) -> Outcome {
        let store = &self.ctx.store;
        // A root named by an address is that of an account sharing a
        // folder the user sees.
        let owner = std::str::from_utf8(root).ok().filter(|r| r.contains('@'));
        let (of, account_root) = match owner {
            Some(owner) => {
                let shared = store.shared_folders(account_id).await?;
                let seen = shared
                    .iter()
                    .find(|s| s.owner == owner && s.rights.contains(Rights::LOOKUP));
                match seen {
                    Some(shared) => (shared.folder.account_id, owner),
                    None => return Ok(Status::no("No such quota root").code(Code::NonExistent)),
                }
            }
            None => (account_id, ""),
        };
        let Some(usage) = store.usage(of).await? else {
            return Ok(Status::no("No such account"));
        };
        let roots = roots(&usage, account_root);
        let Some((name, resource)) = roots.iter().find(|(name, _)| name.as_bytes() == root) else {
            return Ok(Status::no("No such quota root").code(Code::NonExistent));
        };
        self.send(Data::Quota {
            root: name,
            resources: std::slice::from_ref(resource),
        });
        Ok(Status::ok("GETQUOTA completed"))
    }
}

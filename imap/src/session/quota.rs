//! QUOTA (RFC 9208): the account's own quota is the root `""`, its
//! domain's quota the root named after the domain; both count STORAGE in
//! KiB. Roots without a limit are not listed. SETQUOTA is for administrators, through `postino`.

use imap_codec::imap_types::mailbox::Mailbox;
use postino_common::store::Usage;

use super::names::from_client;
use super::{Client, Outcome};
use crate::proto::{Code, Data, Resource, Status};

fn kib(bytes: i64) -> u64 {
    ((bytes + 1023) / 1024) as u64
}

/// The quota roots that have a limit, with their resources.
fn roots(usage: &Usage) -> Vec<(&str, Resource)> {
    let mut roots = Vec::new();
    if usage.quota_bytes > 0 {
        let storage = Resource::Storage {
            used: kib(usage.used_bytes),
            limit: kib(usage.quota_bytes),
        };
        roots.push(("", storage));
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
        let store = &self.ctx.store;
        if store.folder(account_id, &name).await?.is_none() {
            return Ok(Status::no("No such mailbox").code(Code::NonExistent));
        }
        let Some(usage) = store.usage(account_id).await? else {
            return Ok(Status::no("No such account"));
        };
        let roots = roots(&usage);
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
        let Some(usage) = self.ctx.store.usage(account_id).await? else {
            return Ok(Status::no("No such account"));
        };
        let roots = roots(&usage);
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

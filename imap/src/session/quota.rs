//! QUOTA (RFC 9208): the account's own quota is the root `""`, its
//! domain's quota the root named after the domain; both count STORAGE in
//! KiB, the account's also its MESSAGE count. Roots without a limit are
//! not listed. SETQUOTA is for administrators, through `postino`.

use std::io::Write as _;

use imap_codec::imap_types::mailbox::Mailbox;
use postino_common::store::Usage;

use super::names::{from_client, write_name};
use super::{Done, Session, unavailable};
use crate::render::write_nstring;

fn kib(bytes: i64) -> i64 {
    (bytes + 1023) / 1024
}

/// The quota roots that have a limit, with their resources.
fn roots(usage: &Usage) -> Vec<(String, String)> {
    let mut roots = Vec::new();
    if usage.quota_bytes > 0 {
        roots.push((
            String::new(),
            format!(
                "STORAGE {} {}",
                kib(usage.used_bytes),
                kib(usage.quota_bytes)
            ),
        ));
    }
    if usage.domain_quota_bytes > 0 {
        roots.push((
            usage.domain.clone(),
            format!(
                "STORAGE {} {}",
                kib(usage.domain_used_bytes),
                kib(usage.domain_quota_bytes)
            ),
        ));
    }
    roots
}

impl Session<'_> {
    pub(super) async fn get_quota_root(&mut self, account_id: i64, mailbox: &Mailbox<'_>) -> Done {
        let Ok(name) = from_client(mailbox, self.enabled) else {
            return Done::no("Invalid mailbox name").code("CANNOT");
        };
        let store = &self.ctx.store;
        match store.folder(account_id, &name).await {
            Ok(Some(_)) => {}
            Ok(None) => return Done::no("No such mailbox").code("NONEXISTENT"),
            Err(err) => return unavailable(&err),
        }
        let usage = match store.usage(account_id).await {
            Ok(Some(usage)) => usage,
            Ok(None) => return Done::no("No such account"),
            Err(err) => return unavailable(&err),
        };
        let roots = roots(&usage);
        let enabled = self.enabled;
        let out = &mut self.conn().out;
        out.extend_from_slice(b"* QUOTAROOT ");
        write_name(out, &name, enabled);
        for (root, _) in &roots {
            out.push(b' ');
            write_nstring(out, Some(root.as_bytes()), false);
        }
        out.extend_from_slice(b"\r\n");
        for (root, resources) in &roots {
            out.extend_from_slice(b"* QUOTA ");
            write_nstring(out, Some(root.as_bytes()), false);
            let _ = write!(out, " ({resources})\r\n");
        }
        Done::ok("GETQUOTAROOT completed")
    }

    pub(super) async fn get_quota(&mut self, account_id: i64, root: &[u8]) -> Done {
        let usage = match self.ctx.store.usage(account_id).await {
            Ok(Some(usage)) => usage,
            Ok(None) => return Done::no("No such account"),
            Err(err) => return unavailable(&err),
        };
        let Some((name, resources)) = roots(&usage)
            .into_iter()
            .find(|(name, _)| name.as_bytes() == root)
        else {
            return Done::no("No such quota root").code("NONEXISTENT");
        };
        let out = &mut self.conn().out;
        out.extend_from_slice(b"* QUOTA ");
        write_nstring(out, Some(name.as_bytes()), false);
        let _ = write!(out, " ({resources})\r\n");
        Done::ok("GETQUOTA completed")
    }
}

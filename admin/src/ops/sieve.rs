//! Users' Sieve scripts (RFC 5228): filters and out-of-office replies,
//! kept by name per mailbox, at most one active. A script passes
//! `postino_common::sieve`'s check before it is stored, as one uploaded
//! over ManageSieve does. Every change is audited by the script's name,
//! never with its source.

use postino_common::sieve::{ScriptRefusal, check_user_script};
use postino_common::store::{Account, SieveScript, WriteTx};
use postino_config::SieveConfig;
use serde::Serialize;

use super::{Ops, OpsError, Result};

/// A script as the audit log names it.
#[derive(Serialize)]
struct Audited<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<i64>,
}

impl<'a> Audited<'a> {
    fn named(name: &'a str) -> Audited<'a> {
        Audited { name, size: None }
    }
}

impl Ops {
    /// The scripts of a mailbox the actor manages, in name order.
    pub async fn sieve_scripts(&self, address: &str) -> Result<Vec<SieveScript>> {
        let account = self.managed_account(address).await?;
        Ok(self.store.sieve_scripts(account.id).await?)
    }

    /// The source of one script.
    pub async fn sieve_script(&self, address: &str, name: &str) -> Result<String> {
        let account = self.managed_account(address).await?;
        self.store
            .sieve_script(account.id, name)
            .await?
            .ok_or_else(|| script_not_found(name))
    }

    /// Stores a script, new or replacing the one of that name, once it
    /// compiles and fits the limits of `[sieve]`; `activate` makes it the
    /// mailbox's active script too.
    pub async fn put_sieve_script(
        &self,
        address: &str,
        name: &str,
        source: &str,
        limits: &SieveConfig,
        activate: bool,
    ) -> Result<SieveScript> {
        let account = self.managed_account(address).await?;
        self.check_script(&account, name, source, limits).await?;
        let mut tx = self.store.begin().await?;
        let mut stored = tx
            .put_sieve_script(account.id, name, source, limits.max_scripts_size.0)
            .await?;
        let audited = Audited {
            name,
            size: Some(stored.size),
        };
        self.audit_script(&mut tx, "sieve.put", &account, None, Some(&audited))
            .await?;
        if activate && !stored.active {
            self.activate_in(&mut tx, &account, Some(name)).await?;
            stored.active = true;
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Fails unless `source` fits `[sieve]`'s size and compiles as the
    /// mailbox's script `name`, against the mailbox's other scripts for
    /// its `include`s (with `source` in place of the one it replaces).
    pub(super) async fn check_script(
        &self,
        account: &Account,
        name: &str,
        source: &str,
        limits: &SieveConfig,
    ) -> Result<()> {
        check_user_script(&self.store, account.id, Some(name), source, limits)
            .await?
            .map_err(|refusal| match refusal {
                ScriptRefusal::TooLarge { max } => OpsError::Invalid {
                    field: "script",
                    message: format!("`{name}` is larger than {max} (sieve.max_script_size)"),
                },
                ScriptRefusal::Invalid(err) => OpsError::Script {
                    name: name.to_string(),
                    line: err.line,
                    column: err.column,
                    message: err.message,
                },
            })?;
        Ok(())
    }

    /// Makes `name` the mailbox's active script; `None` leaves none active.
    pub async fn activate_sieve_script(&self, address: &str, name: Option<&str>) -> Result<()> {
        let account = self.managed_account(address).await?;
        let mut tx = self.store.begin().await?;
        self.activate_in(&mut tx, &account, name).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn rename_sieve_script(&self, address: &str, from: &str, to: &str) -> Result<()> {
        let account = self.managed_account(address).await?;
        let mut tx = self.store.begin().await?;
        tx.rename_sieve_script(account.id, from, to).await?;
        self.audit_script(
            &mut tx,
            "sieve.rename",
            &account,
            Some(&Audited::named(from)),
            Some(&Audited::named(to)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a script; the active one is refused, as ManageSieve's
    /// DELETESCRIPT refuses it (RFC 5804 §2.10).
    pub async fn remove_sieve_script(&self, address: &str, name: &str) -> Result<()> {
        let account = self.managed_account(address).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_sieve_script(account.id, name).await?;
        self.audit_script(
            &mut tx,
            "sieve.remove",
            &account,
            Some(&Audited::named(name)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Activates `name` (or none) within `tx`, audited as `sieve.activate`
    /// or `sieve.deactivate` with the script active before.
    async fn activate_in(
        &self,
        tx: &mut WriteTx,
        account: &Account,
        name: Option<&str>,
    ) -> Result<()> {
        let before = self.store.active_sieve_script(account.id).await?;
        tx.activate_sieve_script(account.id, name).await?;
        let before = before.as_ref().map(|script| Audited::named(&script.name));
        let after = name.map(Audited::named);
        let action = match name {
            Some(_) => "sieve.activate",
            None => "sieve.deactivate",
        };
        self.audit_script(tx, action, account, before.as_ref(), after.as_ref())
            .await
    }

    async fn audit_script(
        &self,
        tx: &mut WriteTx,
        action: &str,
        account: &Account,
        before: Option<&Audited<'_>>,
        after: Option<&Audited<'_>>,
    ) -> Result<()> {
        let domain = account.address.rsplit_once('@').map_or("", |(_, d)| d);
        self.audit(tx, action, Some(domain), &account.address, before, after)
            .await
    }
}

fn script_not_found(name: &str) -> OpsError {
    OpsError::NotFound {
        what: "sieve script",
        name: name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use postino_common::store::{AdminScope, Store};

    use super::*;
    use crate::ops::testing::ops;

    postino_common::store_tests!(comune_admins_reach_only_their_own_mailboxes_scripts);

    const ANNA: &str = "anna@comune.esempio.pu.it";
    const ALTRO: &str = "mario@altro.esempio.it";

    async fn comune_admins_reach_only_their_own_mailboxes_scripts(store: Store) {
        let provincia = ops(&store, AdminScope::AllDomains);
        let comune = ops(
            &store,
            AdminScope::Domains(vec!["comune.esempio.pu.it".to_string()]),
        );
        for address in [ANNA, ALTRO] {
            let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap();
            provincia.add_domain(domain, 0, 0).await.unwrap();
            provincia.add_mailbox(address, None, 0, "").await.unwrap();
        }
        let limits = SieveConfig::default();
        comune
            .put_sieve_script(ANNA, "filtri", "keep;", &limits, true)
            .await
            .unwrap();
        provincia
            .put_sieve_script(ALTRO, "filtri", "keep;", &limits, false)
            .await
            .unwrap();
        let refusals = [
            comune.sieve_scripts(ALTRO).await.map(drop),
            comune.sieve_script(ALTRO, "filtri").await.map(drop),
            comune
                .put_sieve_script(ALTRO, "altro", "keep;", &limits, false)
                .await
                .map(drop),
            comune.activate_sieve_script(ALTRO, Some("filtri")).await,
            comune.rename_sieve_script(ALTRO, "filtri", "x").await,
            comune.remove_sieve_script(ALTRO, "filtri").await,
        ];
        for refused in refusals {
            assert!(
                matches!(refused, Err(OpsError::NotFound { .. })),
                "{refused:?}"
            );
        }
        let scripts = provincia.sieve_scripts(ALTRO).await.unwrap();
        assert_eq!(scripts.len(), 1);
        assert!(!scripts[0].active);
        let own = comune.sieve_scripts(ANNA).await.unwrap();
        assert!(own[0].active);
    }
}

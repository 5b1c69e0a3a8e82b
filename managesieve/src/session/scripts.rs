//! The scripts a user has (RFC 5804 sections 2.7 to 2.11): LISTSCRIPTS,
//! GETSCRIPT, SETACTIVE (an empty name leaves none active), DELETESCRIPT
//! (never the active script) and RENAMESCRIPT. Each change is one store
//! transaction; the refusals (`NONEXISTENT`, `ACTIVE`, `ALREADYEXISTS`)
//! come from the store's errors through `crate::error`.

use super::{Client, Outcome};
use crate::proto::Response;
use crate::proto::response::{write_script_list, write_string_line};

impl Client<'_> {
    pub(super) async fn list_scripts(&mut self, account: i64) -> Outcome {
        let scripts = self.ctx.store.sieve_scripts(account).await?;
        let listed = scripts.iter().map(|s| (s.name.as_str(), s.active));
        write_script_list(self.conn.out(), listed);
        Ok(Response::ok("Listscripts completed"))
    }

    pub(super) async fn get_script(&mut self, account: i64, name: &str) -> Outcome {
        let Some(source) = self.ctx.store.sieve_script(account, name).await? else {
            return Err(not_found(name));
        };
        write_string_line(self.conn.out(), source.as_bytes());
        Ok(Response::ok("Getscript completed"))
    }

    pub(super) async fn set_active(&mut self, account: i64, name: &str) -> Outcome {
        let active = (!name.is_empty()).then_some(name);
        let mut tx = self.ctx.store.begin().await?;
        tx.activate_sieve_script(account, active).await?;
        tx.commit().await?;
        match active {
            Some(name) => tracing::info!(script = name, "script activated"),
            None => tracing::info!("scripts deactivated"),
        }
        Ok(Response::ok("Setactive completed"))
    }

    pub(super) async fn delete_script(&mut self, account: i64, name: &str) -> Outcome {
        let mut tx = self.ctx.store.begin().await?;
        tx.delete_sieve_script(account, name).await?;
        tx.commit().await?;
        tracing::info!(script = name, "script deleted");
        Ok(Response::ok("Deletescript completed"))
    }

    pub(super) async fn rename_script(&mut self, account: i64, old: &str, new: &str) -> Outcome {
        let mut tx = self.ctx.store.begin().await?;
        tx.rename_sieve_script(account, old, new).await?;
        tx.commit().await?;
        tracing::info!(script = old, to = new, "script renamed");
        Ok(Response::ok("Renamescript completed"))
    }
}

fn not_found(name: &str) -> crate::error::Error {
    postino_common::store::StoreError::NotFound {
        what: "sieve script",
        name: name.to_string(),
    }
    .into()
}

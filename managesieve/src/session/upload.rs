//! Storing scripts (RFC 5804 sections 2.3, 2.6 and 2.12): HAVESPACE asks
//! whether one would fit, PUTSCRIPT stores one, CHECKSCRIPT only checks
//! it. A script passes the check every stored script passes
//! (`postino_common::sieve`): a script over `sieve.max_script_size` is
//! refused with `QUOTA/MAXSIZE`, one that does not compile with its line
//! and column; the mailbox's scripts over `sieve.max_scripts_size`
//! together are refused with `QUOTA`.

use postino_common::sieve::{ScriptRefusal, check_user_script};
use postino_common::store::check_script_name;

use super::{Client, Outcome};
use crate::error::over_quota;
use crate::proto::{Code, Response};

impl Client<'_> {
    pub(super) async fn have_space(&mut self, account: i64, name: &str, size: u64) -> Outcome {
        // PUTSCRIPT would refuse the name: so does the question.
        check_script_name(name)?;
        let scripts = &self.ctx.settings.scripts;
        if size > scripts.max_script_size.0 {
            return Ok(too_large(scripts.max_script_size));
        }
        let store = &self.ctx.store;
        let limit = scripts.max_scripts_size.0;
        if !store.has_sieve_space(account, name, size, limit).await? {
            return Ok(over_quota(limit));
        }
        Ok(Response::ok("Putscript would succeed"))
    }

    pub(super) async fn put_script(
        &mut self,
        account: i64,
        name: &str,
        script: Vec<u8>,
    ) -> Outcome {
        let source = match self.checked(account, Some(name), script).await? {
            Ok(source) => source,
            Err(refused) => return Ok(refused),
        };
        let limit = self.ctx.settings.scripts.max_scripts_size.0;
        let mut tx = self.ctx.store.begin().await?;
        let stored = tx.put_sieve_script(account, name, &source, limit).await?;
        tx.commit().await?;
        tracing::info!(script = name, size = stored.size, "script stored");
        Ok(Response::ok("Putscript completed"))
    }

    pub(super) async fn check_script(&mut self, account: i64, script: Vec<u8>) -> Outcome {
        Ok(match self.checked(account, None, script).await? {
            Ok(_) => Response::ok("Script is valid"),
            Err(refused) => refused,
        })
    }

    /// The script as text once it passes the check, or the response
    /// refusing it.
    async fn checked(
        &self,
        account: i64,
        name: Option<&str>,
        script: Vec<u8>,
    ) -> Result<Result<String, Response>, crate::error::Error> {
        let Ok(source) = String::from_utf8(script) else {
            return Ok(Err(Response::no("The script is not UTF-8 text")));
        };
        let config = &self.ctx.settings.scripts;
        let checked = check_user_script(&self.ctx.store, account, name, &source, config).await?;
        Ok(match checked {
            Ok(()) => Ok(source),
            Err(ScriptRefusal::TooLarge { max }) => Err(too_large(max)),
            // "line L, column C: message", as `postino sieve put` says it.
            Err(ScriptRefusal::Invalid(err)) => Err(Response::no(err.to_string())),
        })
    }
}

fn too_large(max: postino_config::ByteSize) -> Response {
    Response::no(format!("The script is larger than {max}")).code(Code::QuotaMaxSize)
}

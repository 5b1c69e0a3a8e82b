//! What a user's Sieve script must pass before it is stored, whoever
//! stores it (an administrator with `postino sieve put`, the user over
//! ManageSieve): it fits `sieve.max_script_size`, and it compiles as
//! delivery will compile it, against the mailbox's other scripts for its
//! `include`s (RFC 6609), so that a script that would fail at delivery is
//! refused at upload with its line and column.

use std::collections::HashMap;

use postino_config::{ByteSize, SieveConfig};
use postino_sieve::{CompileError, Limits, PersonalScripts};
use thiserror::Error;

use crate::store::{Store, StoreError};

/// Why a script cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScriptRefusal {
    /// Larger than `sieve.max_script_size`.
    #[error("the script is larger than {max} (sieve.max_script_size)")]
    TooLarge { max: ByteSize },
    #[error(transparent)]
    Invalid(#[from] CompileError),
}

/// The engine's limits for the scripts of `[sieve]`: the configured size,
/// the engine's own bounds on actions, redirects and steps.
pub fn engine_limits(config: &SieveConfig) -> Limits {
    Limits {
        max_script_size: usize::try_from(config.max_script_size.0).unwrap_or(usize::MAX),
        ..Limits::default()
    }
}

/// Checks `source` as the script `name` of an account would be once
/// stored: with it in place of the script of that name, if any. Without a
/// name (ManageSieve's CHECKSCRIPT) it is checked beside the account's
/// scripts as they are. The outer error is the store's; the inner one,
/// the script's.
pub async fn check_user_script(
    store: &Store,
    account_id: i64,
    name: Option<&str>,
    source: &str,
    config: &SieveConfig,
) -> Result<Result<(), ScriptRefusal>, StoreError> {
    let max = config.max_script_size;
    if source.len() as u64 > max.0 {
        return Ok(Err(ScriptRefusal::TooLarge { max }));
    }
    let mut scripts: HashMap<String, String> = store
        .sieve_sources(account_id)
        .await?
        .into_iter()
        .map(|script| (script.name, script.source))
        .collect();
    if let Some(name) = name {
        scripts.insert(name.to_string(), source.to_string());
    }
    let compiled =
        postino_sieve::compile(source, &PersonalScripts(scripts), &engine_limits(config));
    Ok(compiled.map(drop).map_err(ScriptRefusal::Invalid))
}

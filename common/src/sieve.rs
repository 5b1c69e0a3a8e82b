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

#[cfg(test)]
mod tests {
    use postino_config::ByteSize;

    use super::*;
    use crate::store::NewAccount;
    use crate::store::testing::add_domain;

    crate::store_tests!(scripts_are_checked_among_the_mailboxs_others);

    const CALLER: &str = "require \"include\";\ninclude :personal \"comune\";\n";

    async fn scripts_are_checked_among_the_mailboxs_others(store: Store) {
        add_domain(&store, "comune.example.it").await;
        let mut tx = store.begin().await.expect("begin");
        let anna = tx
            .create_account(&NewAccount {
                address: "anna@comune.example.it".parse().expect("address"),
                display_name: String::new(),
                password_hash: None,
                quota_bytes: 0,
            })
            .await
            .expect("account");
        let config = SieveConfig {
            max_script_size: ByteSize(100),
            ..SieveConfig::default()
        };
        tx.put_sieve_script(anna.id, "comune", "keep;\n", 1000)
            .await
            .expect("store a script");
        tx.commit().await.expect("commit");
        let check = async |name: Option<&str>, source: &str| {
            check_user_script(&store, anna.id, name, source, &config)
                .await
                .expect("read the store")
        };
        // An include of a stored script compiles; one made to include
        // itself by the new source, in place of the stored one, does not.
        assert_eq!(check(Some("filtri"), CALLER).await, Ok(()));
        assert_eq!(check(None, CALLER).await, Ok(()));
        let looped = check(Some("comune"), CALLER).await;
        assert!(
            matches!(looped, Err(ScriptRefusal::Invalid(ref err)) if err.line == 2),
            "{looped:?}"
        );
        let missing = check(Some("filtri"), "keep\n").await;
        assert!(
            matches!(missing, Err(ScriptRefusal::Invalid(_))),
            "{missing:?}"
        );
        assert_eq!(
            check(None, &"#".repeat(101)).await,
            Err(ScriptRefusal::TooLarge { max: ByteSize(100) })
        );
    }
}

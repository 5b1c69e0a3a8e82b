//! Users' Sieve scripts (RFC 5228), kept by name per mailbox as ManageSieve
//! presents them (RFC 5804 §1.7, §2.4-2.11): at most one active, the one
//! delivery runs; the active one cannot be deleted. Scripts are stored as
//! given; compiling them is the caller's (the store knows no Sieve).
//!
//! The vacation memory (RFC 5230 §4.2) is here too: whether a reply to a
//! sender is due is answered and recorded in one statement, so that two
//! nodes delivering at once never both reply.

use serde::Serialize;
use sqlx::FromRow;

use super::{Backend, IntFlag, Result, Store, StoreError, WriteTx, inserted, now};

/// Longest script name, in bytes.
const MAX_SCRIPT_NAME: usize = 128;

/// A script as listed, without its source.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct SieveScript {
    pub name: String,
    #[sqlx(try_from = "IntFlag")]
    pub active: bool,
    /// The source's length in bytes.
    pub size: i64,
    /// When the source was last stored, in Unix seconds.
    pub updated_at: i64,
}

/// A script's name and source.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ScriptSource {
    pub name: String,
    pub source: String,
}

/// What delivery needs of a mailbox: its INBOX, the source of its active
/// script, which delivery runs, if it has one, and the quotas a message
/// must fit in.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DeliveryPoint {
    pub inbox: i64,
    pub script: Option<String>,
    /// The mailbox's quota (0: none) and the bytes it holds.
    pub quota_bytes: i64,
    pub used_bytes: i64,
    /// The mailbox's domain and its quota over all its mailboxes (0: none).
    pub domain_id: i64,
    pub domain_quota_bytes: i64,
}

/// Why `name` cannot name a script, if it cannot: RFC 5804 §1.6 refuses
/// control characters and line separators, and a slash is refused too, so
/// that a name can always become a file name.
fn script_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("must not be empty")
    } else if name.len() > MAX_SCRIPT_NAME {
        Some("must be at most 128 bytes")
    } else if name
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        Some("must not contain control characters")
    } else if name.contains('/') {
        Some("must not contain `/`")
    } else {
        None
    }
}

/// Refuses a name no script may have (see `script_name_problem`).
pub fn check_script_name(name: &str) -> Result<()> {
    match script_name_problem(name) {
        Some(problem) => Err(StoreError::BadScriptName {
            name: name.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "sieve script",
        name: name.to_string(),
    }
}

/// The byte length of the `source` column, as a BIGINT.
fn size_of_source(backend: Backend) -> &'static str {
    match backend {
        // SQLite's length() counts characters; a blob's, bytes.
        Backend::Sqlite => "length(CAST(source AS BLOB))",
        Backend::Postgres => "CAST(octet_length(source) AS BIGINT)",
    }
}

impl Store {
    /// An account's scripts, in name order.
    pub async fn sieve_scripts(&self, account_id: i64) -> Result<Vec<SieveScript>> {
        let sql = format!(
            "SELECT name, active, {} AS size, updated_at FROM sieve_scripts \
             WHERE account_id = $1 ORDER BY name",
            size_of_source(self.backend())
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.pool())
            .await?)
    }

    /// The source of one script, `None` if the account has none by that name.
    pub async fn sieve_script(&self, account_id: i64, name: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT source FROM sieve_scripts WHERE account_id = $1 AND name = $2",
        )
        .bind(account_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every script of an account with its source, in name order: what
    /// a script's `include`s may name.
    pub async fn sieve_sources(&self, account_id: i64) -> Result<Vec<ScriptSource>> {
        Ok(sqlx::query_as(
            "SELECT name, source FROM sieve_scripts WHERE account_id = $1 ORDER BY name",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The script delivery runs for an account, if it has an active one.
    pub async fn active_sieve_script(&self, account_id: i64) -> Result<Option<ScriptSource>> {
        Ok(sqlx::query_as(
            "SELECT name, source FROM sieve_scripts WHERE account_id = $1 AND active <> 0",
        )
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// A mailbox's INBOX, active script and quotas, in one statement:
    /// delivery asks for every recipient. `None` if the mailbox has no
    /// INBOX.
    pub async fn delivery_point(&self, account_id: i64) -> Result<Option<DeliveryPoint>> {
        Ok(sqlx::query_as(
            "SELECT f.id AS inbox, \
             (SELECT s.source FROM sieve_scripts s \
              WHERE s.account_id = f.account_id AND s.active <> 0) AS script, \
             a.quota_bytes, a.used_bytes, a.domain_id, d.quota_bytes AS domain_quota_bytes \
             FROM folders f JOIN accounts a ON a.id = f.account_id \
             JOIN domains d ON d.id = a.domain_id \
             WHERE f.account_id = $1 AND f.name = 'INBOX'",
        )
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The folder a filter files into: `name` (the store's spelling) if the
    /// mailbox has it, else made with its parents when `create` is set
    /// (RFC 5490 `:create`); `None` when it is missing and not made.
    pub async fn filing_folder(
        &self,
        account_id: i64,
        name: &str,
        create: bool,
    ) -> Result<Option<i64>> {
        if let Some(folder) = self.folder(account_id, name).await? {
            return Ok(Some(folder.id));
        }
        if !create {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        tx.create_parents(account_id, name).await?;
        let made = tx.create_folder(account_id, name, None).await;
        let folder = match made {
            Ok(folder) => folder,
            // Made by a delivery beside this one since the look-up.
            Err(StoreError::AlreadyExists { .. }) => {
                drop(tx);
                return Ok(self.folder(account_id, name).await?.map(|f| f.id));
            }
            Err(err) => return Err(err),
        };
        tx.commit().await?;
        Ok(Some(folder.id))
    }

    /// Whether a script of `size` bytes stored as `name` (replacing the
    /// script of that name, if any) keeps the account's scripts within
    /// `limit` bytes (ManageSieve's HAVESPACE).
    pub async fn has_sieve_space(
        &self,
        account_id: i64,
        name: &str,
        size: u64,
        limit: u64,
    ) -> Result<bool> {
        let others = others_size(self.backend(), account_id, name)
            .fetch_one(self.pool())
            .await?;
        Ok(fits(others, size, limit))
    }

    /// Whether a vacation reply from an account's script (`handle`) to
    /// `sender` may go now: yes when none went within `period_seconds`
    /// before `now`, and then `now` is recorded as the time one went. The
    /// answer and the record are one statement, so that of two nodes
    /// asking at once only one is told yes. Senders are compared without
    /// regard to case.
    pub async fn vacation_due(
        &self,
        account_id: i64,
        handle: &str,
        sender: &str,
        period_seconds: i64,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let recorded: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO vacation_replies (account_id, handle, sender, sent_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, handle, sender) DO UPDATE SET sent_at = excluded.sent_at \
             WHERE vacation_replies.sent_at <= $5 \
             RETURNING sent_at",
        )
        .bind(account_id)
        .bind(handle)
        .bind(sender.to_lowercase())
        .bind(now)
        .bind(now.saturating_sub(period_seconds))
        .fetch_optional(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(recorded.is_some())
    }

    /// Forgets the vacation replies sent before `older_than` (Unix
    /// seconds), which no period reaches back to any more; returns how
    /// many.
    pub async fn prune_vacation_replies(&self, older_than: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM vacation_replies WHERE sent_at < $1")
            .bind(older_than)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

/// The bytes of an account's scripts other than `name`.
fn others_size(
    backend: Backend,
    account_id: i64,
    name: &str,
) -> sqlx::query::QueryScalar<'static, sqlx::Any, i64, sqlx::any::AnyArguments> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM({}), 0) AS BIGINT) FROM sieve_scripts \
         WHERE account_id = $1 AND name <> $2",
        size_of_source(backend)
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(name.to_string())
}

fn fits(others: i64, size: u64, limit: u64) -> bool {
    u64::try_from(others)
        .unwrap_or(0)
        .checked_add(size)
        .is_some_and(|total| total <= limit)
}

impl WriteTx {
    /// Stores a script, new or replacing the one of that name (which stays
    /// active if it was), if the account's scripts then take at most
    /// `limit` bytes.
    pub async fn put_sieve_script(
        &mut self,
        account_id: i64,
        name: &str,
        source: &str,
        limit: u64,
    ) -> Result<SieveScript> {
        check_script_name(name)?;
        self.lock_account(account_id).await?;
        let others = others_size(self.backend(), account_id, name)
            .fetch_one(self.conn())
            .await?;
        let size = source.len() as u64;
        if !fits(others, size, limit) {
            return Err(StoreError::ScriptSpace {
                needed: u64::try_from(others).unwrap_or(0).saturating_add(size),
                limit,
            });
        }
        let updated_at = now();
        let (active,): (IntFlag,) = sqlx::query_as(
            "INSERT INTO sieve_scripts (account_id, name, source, active, updated_at) \
             VALUES ($1, $2, $3, 0, $4) \
             ON CONFLICT (account_id, name) DO UPDATE SET \
               source = excluded.source, updated_at = excluded.updated_at \
             RETURNING active",
        )
        .bind(account_id)
        .bind(name)
        .bind(source)
        .bind(updated_at)
        .fetch_one(self.conn())
        .await?;
        Ok(SieveScript {
            name: name.to_string(),
            active: active.into(),
            size: source.len() as i64,
            updated_at,
        })
    }

    /// Makes `name` the account's active script, and every other inactive;
    /// `None` leaves none active.
    pub async fn activate_sieve_script(
        &mut self,
        account_id: i64,
        name: Option<&str>,
    ) -> Result<()> {
        self.lock_account(account_id).await?;
        // Two statements, not one: PostgreSQL checks a unique index row by
        // row, and would see two active scripts halfway through one.
        sqlx::query(
            "UPDATE sieve_scripts SET active = 0 \
             WHERE account_id = $1 AND active <> 0 AND ($2 IS NULL OR name <> $2)",
        )
        .bind(account_id)
        .bind(name)
        .execute(self.conn())
        .await?;
        let Some(name) = name else { return Ok(()) };
        let done =
            sqlx::query("UPDATE sieve_scripts SET active = 1 WHERE account_id = $1 AND name = $2")
                .bind(account_id)
                .bind(name)
                .execute(self.conn())
                .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// Renames a script, active or not; refused if `to` is taken.
    pub async fn rename_sieve_script(
        &mut self,
        account_id: i64,
        from: &str,
        to: &str,
    ) -> Result<()> {
        check_script_name(to)?;
        let renamed =
            sqlx::query("UPDATE sieve_scripts SET name = $3 WHERE account_id = $1 AND name = $2")
                .bind(account_id)
                .bind(from)
                .bind(to)
                .execute(self.conn())
                .await;
        let done = inserted(renamed, "sieve script", || to.to_string())?;
        if done.rows_affected() == 0 {
            return Err(not_found(from));
        }
        Ok(())
    }

    /// Deletes a script; the active one is refused (RFC 5804 §2.10).
    pub async fn delete_sieve_script(&mut self, account_id: i64, name: &str) -> Result<()> {
        let deleted: Option<(i64,)> = sqlx::query_as(
            "DELETE FROM sieve_scripts WHERE account_id = $1 AND name = $2 AND active = 0 \
             RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .fetch_optional(self.conn())
        .await?;
        if deleted.is_some() {
            return Ok(());
        }
        let exists: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM sieve_scripts WHERE account_id = $1 AND name = $2")
                .bind(account_id)
                .bind(name)
                .fetch_optional(self.conn())
                .await?;
        match exists {
            Some(_) => Err(StoreError::ScriptActive(name.to_string())),
            None => Err(not_found(name)),
        }
    }

    /// Locks an account's row on PostgreSQL, so that its scripts' space
    /// and active script are changed by one writer at a time; on SQLite
    /// the transaction already excludes other writers.
    async fn lock_account(&mut self, account_id: i64) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
                .bind(account_id)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}

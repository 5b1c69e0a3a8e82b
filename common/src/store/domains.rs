//! Hosted domains (one per comune), with their quota and mailbox limit.

use serde::Serialize;
use sqlx::{Any, Executor, FromRow};

use super::{IntFlag, Result, Store, StoreError, WriteTx, inserted, now};
use crate::address::DomainName;
use crate::mta_sts::Mode;

/// A hosted domain. Quotas and limits of 0 mean "none".
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct Domain {
    pub id: i64,
    pub name: String,
    pub quota_bytes: i64,
    pub max_mailboxes: i64,
    /// Bytes stored in all of the domain's mailboxes.
    pub used_bytes: i64,
    pub mailboxes: i64,
    #[sqlx(try_from = "IntFlag")]
    pub active: bool,
    pub created_at: i64,
    /// Whether rspamd's verdict applies to mail for the domain.
    #[sqlx(try_from = "IntFlag")]
    pub spam_filter: bool,
    /// The rspamd settings id of the domain's profile; `None`: rspamd's
    /// defaults.
    pub spam_profile: Option<String>,
    /// Sending limits for its mailboxes; `None`: the configured ones.
    pub max_messages_per_hour: Option<i64>,
    pub max_recipients_per_day: Option<i64>,
    /// Days its Junk and Trash keep messages; `None`: the configured
    /// retention; 0: forever.
    pub junk_retention_days: Option<i64>,
    /// The mode of the MTA-STS policy published for it.
    #[sqlx(try_from = "String")]
    pub mta_sts_mode: Mode,
}

/// What delivery needs to know of a domain, read from its row alone:
/// [`Domain`] sums every mailbox's usage, which costs milliseconds in a
/// comune of thousands of mailboxes, on every RCPT.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DomainPolicy {
    pub id: i64,
    #[sqlx(try_from = "IntFlag")]
    pub active: bool,
    pub quota_bytes: i64,
    #[sqlx(try_from = "IntFlag")]
    pub spam_filter: bool,
    pub spam_profile: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewDomain {
    pub name: DomainName,
    pub quota_bytes: u64,
    pub max_mailboxes: u64,
}

/// The domain query with a trailing clause, as one `&'static str`.
macro_rules! select_domain {
    ($tail:literal) => {
        concat!(
            "SELECT d.id, d.name, d.quota_bytes, d.max_mailboxes, ",
            "CAST(COALESCE((SELECT SUM(a.used_bytes) FROM accounts a WHERE a.domain_id = d.id), 0) AS BIGINT) ",
            "AS used_bytes, ",
            "(SELECT COUNT(*) FROM accounts a WHERE a.domain_id = d.id) AS mailboxes, ",
            "d.active, d.created_at, d.spam_filter, d.spam_profile, ",
            "d.max_messages_per_hour, d.max_recipients_per_day, d.junk_retention_days, ",
            "d.mta_sts_mode FROM domains d ",
            $tail
        )
    };
}

pub(super) async fn by_name<'e>(
    db: impl Executor<'e, Database = Any>,
    name: &str,
) -> Result<Option<Domain>> {
    Ok(sqlx::query_as(select_domain!("WHERE d.name = $1"))
        .bind(name)
        .fetch_optional(db)
        .await?)
}

pub(super) fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "domain",
        name: name.to_string(),
    }
}

impl Store {
    pub async fn domain(&self, name: &str) -> Result<Option<Domain>> {
        by_name(self.pool(), name).await
    }

    /// The policy of a hosted domain; `None` when it is not hosted here.
    pub async fn domain_policy(&self, name: &str) -> Result<Option<DomainPolicy>> {
        Ok(sqlx::query_as(
            "SELECT id, active, quota_bytes, spam_filter, spam_profile FROM domains WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The bytes stored in all of a domain's mailboxes.
    pub async fn domain_used_bytes(&self, id: i64) -> Result<i64> {
        let (used,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(used_bytes), 0) AS BIGINT) FROM accounts WHERE domain_id = $1",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(used)
    }

    pub async fn domains(&self) -> Result<Vec<Domain>> {
        Ok(sqlx::query_as(select_domain!("ORDER BY d.name"))
            .fetch_all(self.pool())
            .await?)
    }
}

impl WriteTx {
    pub async fn domain(&mut self, name: &str) -> Result<Option<Domain>> {
        by_name(self.conn(), name).await
    }

    pub async fn create_domain(&mut self, new: &NewDomain) -> Result<Domain> {
        let result = sqlx::query(
            "INSERT INTO domains (name, quota_bytes, max_mailboxes, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(new.name.as_str())
        .bind(clamp(new.quota_bytes))
        .bind(clamp(new.max_mailboxes))
        .bind(now())
        .execute(self.conn())
        .await;
        inserted(result, "domain", || new.name.to_string())?;
        self.existing_domain(new.name.as_str()).await
    }

    /// A domain that must be there: `NotFound` when it is not.
    async fn existing_domain(&mut self, name: &str) -> Result<Domain> {
        self.domain(name).await?.ok_or_else(|| not_found(name))
    }

    /// Locks a domain's row until the transaction ends, and returns it: for
    /// changes checked against the domain's limits (its quota against its
    /// mailboxes' quotas), which must not interleave with another such
    /// change of the same domain. Domains come first in the lock order of
    /// [`WriteTx::lock_folders`]; on SQLite the transaction already
    /// excludes other writers.
    pub async fn domain_for_update(&mut self, name: &str) -> Result<Domain> {
        if self.backend() == super::Backend::Postgres {
            sqlx::query("SELECT id FROM domains WHERE name = $1 FOR UPDATE")
                .bind(name)
                .execute(self.conn())
                .await?;
        }
        self.existing_domain(name).await
    }

    /// Sets whether rspamd's verdict applies to the domain's mail, and the
    /// rspamd settings id of its profile.
    pub async fn set_domain_spam(
        &mut self,
        name: &str,
        filter: bool,
        profile: Option<&str>,
    ) -> Result<Domain> {
        sqlx::query("UPDATE domains SET spam_filter = $1, spam_profile = $2 WHERE name = $3")
            .bind(i64::from(filter))
            .bind(profile)
            .bind(name)
            .execute(self.conn())
            .await?;
        self.existing_domain(name).await
    }

    /// Sets the mode of the MTA-STS policy published for the domain.
    pub async fn set_domain_mta_sts(&mut self, name: &str, mode: Mode) -> Result<Domain> {
        sqlx::query("UPDATE domains SET mta_sts_mode = $1 WHERE name = $2")
            .bind(mode.as_str())
            .bind(name)
            .execute(self.conn())
            .await?;
        self.existing_domain(name).await
    }

    /// Enables or disables a domain: a disabled domain's users cannot log in.
    pub async fn set_domain_active(&mut self, name: &str, active: bool) -> Result<Domain> {
        sqlx::query("UPDATE domains SET active = $1 WHERE name = $2")
            .bind(i64::from(active))
            .bind(name)
            .execute(self.conn())
            .await?;
        self.existing_domain(name).await
    }

    /// Sets a domain's quota and mailbox limit (0: none). Lowering them
    /// below what is used is allowed: nothing is removed, but the domain
    /// takes no more mail or mailboxes until it is under them again.
    pub async fn set_domain_limits(
        &mut self,
        name: &str,
        quota_bytes: u64,
        max_mailboxes: u64,
    ) -> Result<Domain> {
        sqlx::query("UPDATE domains SET quota_bytes = $1, max_mailboxes = $2 WHERE name = $3")
            .bind(clamp(quota_bytes))
            .bind(clamp(max_mailboxes))
            .bind(name)
            .execute(self.conn())
            .await?;
        self.existing_domain(name).await
    }

    /// Removes a domain with its aliases and DKIM keys. A domain that still has mailboxes is
    /// removed only with `force`, and then its mailboxes and mail go too.
    pub async fn remove_domain(&mut self, name: &str, force: bool) -> Result<Domain> {
        let domain = self.existing_domain(name).await?;
        if domain.mailboxes > 0 && !force {
            return Err(StoreError::DomainNotEmpty {
                domain: domain.name,
                count: domain.mailboxes,
            });
        }
        let addresses: Vec<(String,)> =
            sqlx::query_as("SELECT address FROM accounts WHERE domain_id = $1")
                .bind(domain.id)
                .fetch_all(self.conn())
                .await?;
        for (address,) in addresses {
            self.remove_account(&address).await?;
        }
        for sql in [
            "DELETE FROM aliases WHERE domain_id = $1",
            "DELETE FROM dkim_keys WHERE domain_id = $1",
            "DELETE FROM admin_domains WHERE domain_id = $1",
            "DELETE FROM domains WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(domain.id)
                .execute(self.conn())
                .await?;
        }
        Ok(domain)
    }
}

/// Sizes and counts above `i64::MAX` cannot be stored and mean "no limit" anyway.
pub(super) fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

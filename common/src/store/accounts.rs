//! Mailboxes (accounts): credentials, quota and usage.

use serde::Serialize;
use sqlx::{Any, Executor, FromRow};

use super::blob_refs::BlobRefs;
use super::domains::{clamp, not_found as domain_not_found};
use super::folders::DEFAULT_FOLDERS;
use super::{IntFlag, Result, Store, StoreError, WriteTx, inserted, now};
use crate::address::Address;

/// A mailbox. `quota_bytes` 0 means bounded only by the domain's quota.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct Account {
    pub id: i64,
    pub domain_id: i64,
    pub address: String,
    pub display_name: String,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    #[sqlx(try_from = "IntFlag")]
    pub active: bool,
    pub created_at: i64,
    /// Its own sending limits; `None`: its domain's.
    pub max_messages_per_hour: Option<i64>,
    pub max_recipients_per_day: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub address: Address,
    pub display_name: String,
    /// An argon2id PHC string; `None` makes a mailbox nobody can log in to yet.
    pub password_hash: Option<String>,
    pub quota_bytes: u64,
}

/// What a login needs to know about an account.
#[derive(Debug, Clone, FromRow)]
pub struct Credentials {
    pub account_id: i64,
    pub address: String,
    pub password_hash: Option<String>,
    /// Whether both the account and its domain are active.
    #[sqlx(try_from = "IntFlag")]
    pub active: bool,
}

macro_rules! select_account {
    ($tail:literal) => {
        concat!(
            "SELECT id, domain_id, address, display_name, quota_bytes, used_bytes, active, created_at, ",
            "max_messages_per_hour, max_recipients_per_day ",
            "FROM accounts ",
            $tail
        )
    };
}

async fn by_address<'e>(
    db: impl Executor<'e, Database = Any>,
    address: &str,
) -> Result<Option<Account>> {
    Ok(sqlx::query_as(select_account!("WHERE address = $1"))
        .bind(address)
        .fetch_optional(db)
        .await?)
}

fn not_found(address: &str) -> StoreError {
    StoreError::NotFound {
        what: "mailbox",
        name: address.to_string(),
    }
}

impl Store {
    pub async fn account(&self, address: &str) -> Result<Option<Account>> {
        by_address(self.pool(), address).await
    }

    pub async fn account_by_id(&self, id: i64) -> Result<Option<Account>> {
        Ok(sqlx::query_as(select_account!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Every account, or those of one domain, by address.
    pub async fn accounts(&self, domain: Option<&str>) -> Result<Vec<Account>> {
        let query = match domain {
            Some(name) => sqlx::query_as(select_account!(
                "WHERE domain_id = (SELECT id FROM domains WHERE name = $1) ORDER BY address"
            ))
            .bind(name),
            None => sqlx::query_as(select_account!("ORDER BY address")),
        };
        Ok(query.fetch_all(self.pool()).await?)
    }

    pub async fn credentials(&self, address: &str) -> Result<Option<Credentials>> {
        Ok(sqlx::query_as(
            "SELECT a.id AS account_id, a.address, a.password_hash, a.active * d.active AS active \
             FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE a.address = $1",
        )
        .bind(address)
        .fetch_optional(self.pool())
        .await?)
    }
}

impl WriteTx {
    pub async fn account(&mut self, address: &str) -> Result<Option<Account>> {
        by_address(self.conn(), address).await
    }

    /// Creates a mailbox with its standard folders, within the domain's
    /// mailbox limit.
    pub async fn create_account(&mut self, new: &NewAccount) -> Result<Account> {
        let domain_name = new.address.domain();
        let domain_name = domain_name.as_str();
        // Lock the domain row first, so that two concurrent creations cannot
        // both pass the mailbox limit check.
        let locked = sqlx::query("UPDATE domains SET id = id WHERE name = $1")
            .bind(domain_name)
            .execute(self.conn())
            .await?;
        if locked.rows_affected() == 0 {
            return Err(domain_not_found(domain_name));
        }
        let domain = self
            .domain(domain_name)
            .await?
            .ok_or_else(|| domain_not_found(domain_name))?;
        if domain.max_mailboxes > 0 && domain.mailboxes >= domain.max_mailboxes {
            return Err(StoreError::MailboxLimit {
                domain: domain.name,
                max: domain.max_mailboxes,
            });
        }
        let result = sqlx::query(
            "INSERT INTO accounts (domain_id, address, display_name, password_hash, quota_bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(domain.id)
        .bind(new.address.as_str())
        .bind(&new.display_name)
        .bind(new.password_hash.as_deref())
        .bind(clamp(new.quota_bytes))
        .bind(now())
        .execute(self.conn())
        .await;
        inserted(result, "mailbox", || new.address.to_string())?;
        let account = self
            .account(new.address.as_str())
            .await?
            .ok_or_else(|| not_found(new.address.as_str()))?;
        for (name, special_use) in DEFAULT_FOLDERS {
            self.create_folder(account.id, name, special_use).await?;
            self.set_subscribed(account.id, name, true).await?;
        }
        Ok(account)
    }

    /// Sets a mailbox's password hash and ends its console and API
    /// sessions, which were opened with the old password: a password reset
    /// after a break-in locks the intruder out at once.
    pub async fn set_password(&mut self, address: &str, password_hash: &str) -> Result<()> {
        self.update_account(
            sqlx::query("UPDATE accounts SET password_hash = $1 WHERE address = $2")
                .bind(password_hash),
            address,
        )
        .await?;
        sqlx::query(
            "DELETE FROM web_sessions WHERE account_id IN (SELECT id FROM accounts WHERE address = $1)",
        )
        .bind(address)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_account_quota(&mut self, address: &str, quota_bytes: u64) -> Result<()> {
        self.update_account(
            sqlx::query("UPDATE accounts SET quota_bytes = $1 WHERE address = $2")
                .bind(clamp(quota_bytes)),
            address,
        )
        .await
    }

    pub async fn set_display_name(&mut self, address: &str, display_name: &str) -> Result<()> {
        self.update_account(
            sqlx::query("UPDATE accounts SET display_name = $1 WHERE address = $2")
                .bind(display_name),
            address,
        )
        .await
    }

    /// Enables or disables a mailbox: a disabled one cannot log in, but
    /// its mail is still delivered, so nothing sent to it is lost.
    pub async fn set_account_active(&mut self, address: &str, active: bool) -> Result<()> {
        self.update_account(
            sqlx::query("UPDATE accounts SET active = $1 WHERE address = $2")
                .bind(i64::from(active)),
            address,
        )
        .await
    }

    /// Runs an `UPDATE accounts … WHERE address = <last parameter>`.
    async fn update_account(
        &mut self,
        query: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
        address: &str,
    ) -> Result<()> {
        let updated = query.bind(address).execute(self.conn()).await?;
        if updated.rows_affected() == 0 {
            return Err(not_found(address));
        }
        Ok(())
    }

    /// Removes a mailbox with all its folders and mail, and drops it from
    /// every alias that pointed to it.
    pub async fn remove_account(&mut self, address: &str) -> Result<Account> {
        let account = self
            .account(address)
            .await?
            .ok_or_else(|| not_found(address))?;
        let folders: Vec<i64> = self
            .folders(account.id)
            .await?
            .iter()
            .map(|f| f.id)
            .collect();
        self.lock_folders(&folders).await?;
        let blobs: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.blob_hash, COUNT(*) FROM messages m JOIN folders f ON f.id = m.folder_id \
             WHERE f.account_id = $1 GROUP BY m.blob_hash",
        )
        .bind(account.id)
        .fetch_all(self.conn())
        .await?;
        for sql in [
            "DELETE FROM messages WHERE folder_id IN (SELECT id FROM folders WHERE account_id = $1)",
            "DELETE FROM expunged WHERE folder_id IN (SELECT id FROM folders WHERE account_id = $1)",
            "DELETE FROM folders WHERE account_id = $1",
        ] {
            sqlx::query(sql)
                .bind(account.id)
                .execute(self.conn())
                .await?;
        }
        self.release_blobs(&BlobRefs::from_counts(blobs)).await?;
        sqlx::query("DELETE FROM aliases WHERE target = $1")
            .bind(address)
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(account.id)
            .execute(self.conn())
            .await?;
        Ok(account)
    }
}

//! Aliases and catch-alls, and recipient resolution.
//!
//! An alias maps one address to one or more targets, local or remote; a
//! source of the form `@domain` is that domain's catch-all, used only when no
//! mailbox or alias matches the address exactly.

use serde::Serialize;
use sqlx::FromRow;

use super::{Result, Store, StoreError, WriteTx, inserted, now};

/// How deep aliases may point to aliases before resolution stops.
const MAX_ALIAS_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct Alias {
    pub source: String,
    pub target: String,
}

/// Where mail for an address goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Local { account_id: i64, address: String },
    Remote(String),
}

impl Store {
    /// Aliases, all or one domain's, by source then target.
    pub async fn aliases(&self, domain: Option<&str>) -> Result<Vec<Alias>> {
        let query = match domain {
            Some(name) => sqlx::query_as(
                "SELECT source, target FROM aliases \
                 WHERE domain_id = (SELECT id FROM domains WHERE name = $1) ORDER BY source, target",
            )
            .bind(name),
            None => sqlx::query_as("SELECT source, target FROM aliases ORDER BY source, target"),
        };
        Ok(query.fetch_all(self.pool()).await?)
    }

    /// The mailboxes and remote addresses that mail to `address` reaches,
    /// without duplicates; empty when the address is unknown here.
    pub async fn resolve(&self, address: &str) -> Result<Vec<Recipient>> {
        let mut found = Vec::new();
        let mut pending = vec![(address.to_string(), 0)];
        let mut seen = std::collections::HashSet::new();
        while let Some((address, depth)) = pending.pop() {
            if !seen.insert(address.clone()) || depth > MAX_ALIAS_DEPTH {
                continue;
            }
            if let Some(account) = self.account(&address).await? {
                found.push(Recipient::Local {
                    account_id: account.id,
                    address,
                });
                continue;
            }
            let mut targets = self.alias_targets(&address).await?;
            if let Some((_, domain)) = address.rsplit_once('@')
                && targets.is_empty()
            {
                targets = self.alias_targets(&format!("@{domain}")).await?;
                if targets.is_empty() && depth > 0 && self.domain_policy(domain).await?.is_none() {
                    found.push(Recipient::Remote(address));
                    continue;
                }
            }
            pending.extend(targets.into_iter().map(|t| (t, depth + 1)));
        }
        Ok(found)
    }

    /// The alias sources that deliver to `target` directly.
    pub async fn aliases_to(&self, target: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT source FROM aliases WHERE target = $1 ORDER BY source")
                .bind(target)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// True when `address` is a mailbox or an alias source itself (a
    /// catch-all does not count).
    pub async fn address_exists(&self, address: &str) -> Result<bool> {
        Ok(
            self.account(address).await?.is_some()
                || !self.alias_targets(address).await?.is_empty(),
        )
    }

    async fn alias_targets(&self, source: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT target FROM aliases WHERE source = $1 ORDER BY target")
                .bind(source)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }
}

impl WriteTx {
    /// Adds targets to an alias (creating it). `source` is an address or
    /// `@domain`; it must belong to `domain_id` and must not be a mailbox.
    pub async fn add_alias(
        &mut self,
        domain_id: i64,
        source: &str,
        targets: &[String],
    ) -> Result<()> {
        if self.account(source).await?.is_some() {
            return Err(StoreError::AlreadyExists {
                what: "mailbox",
                name: source.to_string(),
            });
        }
        for target in targets {
            let result = sqlx::query(
                "INSERT INTO aliases (domain_id, source, target, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(domain_id)
            .bind(source)
            .bind(target)
            .bind(now())
            .execute(self.conn())
            .await;
            inserted(result, "alias", || format!("{source} -> {target}"))?;
        }
        Ok(())
    }

    /// Removes an alias, or only the given targets of it. Returns what was removed.
    pub async fn remove_alias(&mut self, source: &str, targets: &[String]) -> Result<Vec<Alias>> {
        let existing: Vec<Alias> =
            sqlx::query_as("SELECT source, target FROM aliases WHERE source = $1 ORDER BY target")
                .bind(source)
                .fetch_all(self.conn())
                .await?;
        let doomed: Vec<Alias> = existing
            .into_iter()
            .filter(|a| targets.is_empty() || targets.contains(&a.target))
            .collect();
        if doomed.is_empty() {
            return Err(StoreError::NotFound {
                what: "alias",
                name: source.to_string(),
            });
        }
        for alias in &doomed {
            sqlx::query("DELETE FROM aliases WHERE source = $1 AND target = $2")
                .bind(&alias.source)
                .bind(&alias.target)
                .execute(self.conn())
                .await?;
        }
        Ok(doomed)
    }
}

//! Subscriptions (RFC 9051 §6.3.7-8): names an account lists with LSUB and
//! LIST (SUBSCRIBED), kept apart from its folders as Dovecot keeps them. A
//! subscription stays when its folder is deleted (LIST shows it
//! `\NonExistent`) and may name a folder not created yet; renaming a folder
//! carries the subscriptions of it and of the folders below it along.

use super::{Result, Store, WriteTx};

impl Store {
    /// The names an account subscribes to, in name order.
    pub async fn subscriptions(&self, account_id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name")
                .bind(account_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }
}

impl WriteTx {
    /// Subscribes to a name or unsubscribes from it; doing either twice is
    /// no error.
    pub async fn set_subscribed(
        &mut self,
        account_id: i64,
        name: &str,
        subscribed: bool,
    ) -> Result<()> {
        let sql = if subscribed {
            "INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2"
        };
        sqlx::query(sql)
            .bind(account_id)
            .bind(name)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Moves the subscriptions of `from` and of the names below it to `to`.
    pub(super) async fn rename_subscriptions(
        &mut self,
        account_id: i64,
        from: &str,
        to: &str,
    ) -> Result<()> {
        let below = format!("{from}/");
        let names: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM subscriptions WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(self.conn())
                .await?;
        for (name,) in names {
            let renamed = match name.strip_prefix(&below) {
                Some(rest) => format!("{to}/{rest}"),
                None if name == from => to.to_string(),
                None => continue,
            };
            self.set_subscribed(account_id, &name, false).await?;
            self.set_subscribed(account_id, &renamed, true).await?;
        }
        Ok(())
    }
}

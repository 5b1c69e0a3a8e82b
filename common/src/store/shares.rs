//! Shared mailboxes: the rights accounts give each other in their folders
//! (IMAP ACL, RFC 4314). An administrator shares a whole mailbox, such as
//! an office's `protocollo@`, with an account of its domain
//! (`mailbox_shares`); SETACL gives or takes rights in one folder
//! (`folder_rights`), which then replace the share's there. Rights never
//! reach an account of another domain: every statement that gives them
//! checks the domain, and every one that reads them checks it again.

use serde::Serialize;
use sqlx::FromRow;

use super::folders::folder_columns;
use super::{Folder, IntFlag, Result, SpecialUse, Store, StoreError, WriteTx};
use crate::acl::Rights;

/// A folder of another account, as one of its grantees reaches it.
#[derive(Debug, Clone)]
pub struct SharedFolder {
    /// The owner's address.
    pub owner: String,
    /// The folder under the owner's name for it.
    pub folder: Folder,
    /// The grantee's rights in it; none at all when it has no right there.
    pub rights: Rights,
}

#[derive(FromRow)]
struct SharedRow {
    #[sqlx(flatten)]
    folder: Folder,
    owner: String,
    rights: Option<String>,
}

impl From<SharedRow> for SharedFolder {
    fn from(row: SharedRow) -> SharedFolder {
        SharedFolder {
            owner: row.owner,
            folder: row.folder,
            rights: stored_rights(row.rights.as_deref()),
        }
    }
}

/// Rights as the store keeps them, written only by [`Rights`]'s display.
fn stored_rights(text: Option<&str>) -> Rights {
    text.and_then(|text| Rights::parse(text).ok())
        .unwrap_or(Rights::NONE)
}

/// A mailbox shared whole with an account.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, Serialize)]
pub struct Share {
    pub owner: String,
    pub grantee: String,
    /// As letters of `lrswipkxtea`.
    pub rights: String,
    /// Whether the grantee may send as the owner's address.
    #[sqlx(try_from = "IntFlag")]
    pub send_as: bool,
}

/// The folders a grantee (`$1`) reaches with their owner's address and its
/// rights there, the folder's own rights before the share's; only folders
/// of the grantee's domain.
macro_rules! select_shared {
    ($tail:literal) => {
        concat!(
            "SELECT ",
            folder_columns!(),
            ", o.address AS owner, COALESCE(fr.rights, s.rights) AS rights ",
            "FROM folders f JOIN accounts o ON o.id = f.account_id ",
            "JOIN accounts g ON g.id = $1 AND g.domain_id = o.domain_id AND g.id <> o.id ",
            "LEFT JOIN folder_rights fr ON fr.folder_id = f.id AND fr.grantee_id = g.id ",
            "LEFT JOIN mailbox_shares s ON s.owner_id = o.id AND s.grantee_id = g.id ",
            $tail
        )
    };
}

impl Store {
    /// Every folder of another account in which `grantee_id` has some
    /// right, by owner and name.
    pub async fn shared_folders(&self, grantee_id: i64) -> Result<Vec<SharedFolder>> {
        let rows: Vec<SharedRow> = sqlx::query_as(select_shared!(
            "WHERE (f.account_id IN (SELECT owner_id FROM mailbox_shares WHERE grantee_id = $1) \
             OR f.id IN (SELECT folder_id FROM folder_rights WHERE grantee_id = $1)) \
             ORDER BY o.address, f.name"
        ))
        .bind(grantee_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(SharedFolder::from)
            .filter(|shared| !shared.rights.is_empty())
            .collect())
    }

    /// The folder `name` of the account `owner` with the rights
    /// `grantee_id` has in it, if both accounts are of one domain.
    pub async fn shared_folder(
        &self,
        grantee_id: i64,
        owner: &str,
        name: &str,
    ) -> Result<Option<SharedFolder>> {
        let row: Option<SharedRow> =
            sqlx::query_as(select_shared!("WHERE o.address = $2 AND f.name = $3"))
                .bind(grantee_id)
                .bind(owner)
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(SharedFolder::from))
    }

    /// The accounts with some right in a folder, by address, with their
    /// rights; the owner, who has them all, is not among them.
    pub async fn folder_acl(&self, folder: &Folder) -> Result<Vec<(String, Rights)>> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT g.address, COALESCE(fr.rights, s.rights) FROM accounts g \
             JOIN accounts o ON o.id = $2 AND o.domain_id = g.domain_id \
             LEFT JOIN folder_rights fr ON fr.folder_id = $1 AND fr.grantee_id = g.id \
             LEFT JOIN mailbox_shares s ON s.owner_id = o.id AND s.grantee_id = g.id \
             WHERE g.id IN (SELECT grantee_id FROM folder_rights WHERE folder_id = $1 \
             UNION SELECT grantee_id FROM mailbox_shares WHERE owner_id = $2) \
             ORDER BY g.address",
        )
        .bind(folder.id)
        .bind(folder.account_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(address, rights)| (address, stored_rights(rights.as_deref())))
            .filter(|(_, rights)| !rights.is_empty())
            .collect())
    }

    /// The mailboxes `owner` shares whole, or all shares of a domain.
    pub async fn shares(&self, owner: Option<&str>, domain: Option<&str>) -> Result<Vec<Share>> {
        Ok(sqlx::query_as(
            "SELECT o.address AS owner, g.address AS grantee, s.rights, s.send_as \
             FROM mailbox_shares s JOIN accounts o ON o.id = s.owner_id \
             JOIN accounts g ON g.id = s.grantee_id \
             WHERE ($1 IS NULL OR o.address = $1) \
             AND ($2 IS NULL OR o.domain_id = (SELECT id FROM domains WHERE name = $2)) \
             ORDER BY o.address, g.address",
        )
        .bind(owner)
        .bind(domain)
        .fetch_all(self.pool())
        .await?)
    }

    /// Whether `grantee` may send as `owner`, and if so the folder where
    /// a copy of what it sends goes: `owner`'s Sent folder, `None` when it
    /// has none.
    pub async fn send_as(&self, grantee: &str, owner: &str) -> Result<Option<Option<i64>>> {
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT (SELECT f.id FROM folders f WHERE f.account_id = o.id \
             AND f.special_use = $3 ORDER BY f.name LIMIT 1) \
             FROM mailbox_shares s JOIN accounts o ON o.id = s.owner_id \
             JOIN accounts g ON g.id = s.grantee_id \
             WHERE o.address = $1 AND g.address = $2 AND s.send_as <> 0 \
             AND o.domain_id = g.domain_id",
        )
        .bind(owner)
        .bind(grantee)
        .bind(SpecialUse::Sent.attribute())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(sent,)| sent))
    }
}

fn not_in_domain(grantee: &str) -> StoreError {
    StoreError::NotFound {
        what: "mailbox of the domain",
        name: grantee.to_string(),
    }
}

impl WriteTx {
    /// Sets the rights `grantee` has in one folder, `None` to take the
    /// folder's own away (the share's then hold again). Refused unless the
    /// grantee is another account of the owner's domain.
    pub async fn set_folder_rights(
        &mut self,
        folder_id: i64,
        grantee: &str,
        rights: Option<Rights>,
    ) -> Result<()> {
        let done = match rights {
            Some(rights) => sqlx::query(
                "INSERT INTO folder_rights (folder_id, grantee_id, rights) \
                 SELECT f.id, g.id, $3 FROM folders f JOIN accounts o ON o.id = f.account_id \
                 JOIN accounts g ON g.address = $2 AND g.domain_id = o.domain_id AND g.id <> o.id \
                 WHERE f.id = $1 \
                 ON CONFLICT (folder_id, grantee_id) DO UPDATE SET rights = excluded.rights",
            )
            .bind(folder_id)
            .bind(grantee)
            .bind(rights.to_string()),
            None => sqlx::query(
                "DELETE FROM folder_rights WHERE folder_id = $1 \
                 AND grantee_id = (SELECT id FROM accounts WHERE address = $2)",
            )
            .bind(folder_id)
            .bind(grantee),
        }
        .execute(self.conn())
        .await?;
        if rights.is_some() && done.rows_affected() == 0 {
            return Err(not_in_domain(grantee));
        }
        Ok(())
    }

    /// Shares every folder of `owner`'s mailbox with `grantee`, of its
    /// domain, or changes how; rights set on single folders stay.
    pub async fn share_mailbox(
        &mut self,
        owner: &str,
        grantee: &str,
        rights: Rights,
        send_as: bool,
    ) -> Result<Share> {
        let done = sqlx::query(
            "INSERT INTO mailbox_shares (owner_id, grantee_id, rights, send_as) \
             SELECT o.id, g.id, $3, $4 FROM accounts o \
             JOIN accounts g ON g.address = $2 AND g.domain_id = o.domain_id AND g.id <> o.id \
             WHERE o.address = $1 \
             ON CONFLICT (owner_id, grantee_id) \
             DO UPDATE SET rights = excluded.rights, send_as = excluded.send_as",
        )
        .bind(owner)
        .bind(grantee)
        .bind(rights.to_string())
        .bind(i64::from(send_as))
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            if self.account(owner).await?.is_none() {
                return Err(StoreError::NotFound {
                    what: "mailbox",
                    name: owner.to_string(),
                });
            }
            return Err(not_in_domain(grantee));
        }
        Ok(Share {
            owner: owner.to_string(),
            grantee: grantee.to_string(),
            rights: rights.to_string(),
            send_as,
        })
    }

    /// Takes from `grantee` every right in `owner`'s folders, the share's
    /// and single folders'; false when it had none.
    pub async fn unshare_mailbox(&mut self, owner: &str, grantee: &str) -> Result<bool> {
        let mut removed = 0;
        for sql in [
            "DELETE FROM mailbox_shares \
             WHERE owner_id = (SELECT id FROM accounts WHERE address = $1) \
             AND grantee_id = (SELECT id FROM accounts WHERE address = $2)",
            "DELETE FROM folder_rights \
             WHERE folder_id IN (SELECT f.id FROM folders f JOIN accounts o ON o.id = f.account_id \
             WHERE o.address = $1) \
             AND grantee_id = (SELECT id FROM accounts WHERE address = $2)",
        ] {
            let done = sqlx::query(sql)
                .bind(owner)
                .bind(grantee)
                .execute(self.conn())
                .await?;
            removed += done.rows_affected();
        }
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{add_domain, add_mailbox};
    use crate::store_tests;

    store_tests!(
        shares_and_folder_rights_give_rights_within_a_domain,
        no_right_reaches_another_domain,
    );

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";

    async fn add_account(store: &Store, address: &str) -> i64 {
        add_mailbox(store, address).await.id
    }

    fn rights(text: &str) -> Rights {
        Rights::parse(text).unwrap()
    }

    async fn shares_and_folder_rights_give_rights_within_a_domain(store: Store) {
        add_domain(&store, COMUNE).await;
        let office = format!("protocollo@{COMUNE}");
        let owner = add_account(&store, &office).await;
        let anna = add_account(&store, &format!("anna@{COMUNE}")).await;
        let bruno = add_account(&store, &format!("bruno@{COMUNE}")).await;
        let mut tx = store.begin().await.unwrap();
        tx.share_mailbox(&office, &format!("anna@{COMUNE}"), rights("lrs"), true)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Every folder of the owner, with the share's rights.
        let shared = store.shared_folders(anna).await.unwrap();
        assert_eq!(shared.len(), 6, "{shared:?}");
        assert!(
            shared
                .iter()
                .all(|s| s.owner == office && s.rights == rights("lrs"))
        );
        assert!(store.shared_folders(bruno).await.unwrap().is_empty());
        assert!(store.shared_folders(owner).await.unwrap().is_empty());

        // A folder's own rights replace the share's there, and reach an
        // account the share does not.
        let inbox = store.folder(owner, "INBOX").await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.set_folder_rights(inbox.id, &format!("anna@{COMUNE}"), Some(rights("lrswi")))
            .await
            .unwrap();
        tx.set_folder_rights(inbox.id, &format!("bruno@{COMUNE}"), Some(rights("l")))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let reached = store
            .shared_folder(anna, &office, "INBOX")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reached.rights, rights("lrswi"));
        let acl = store.folder_acl(&inbox).await.unwrap();
        assert_eq!(
            acl,
            [
                (format!("anna@{COMUNE}"), rights("lrswi")),
                (format!("bruno@{COMUNE}"), rights("l")),
            ]
        );
        let sent = store
            .send_as(&format!("anna@{COMUNE}"), &office)
            .await
            .unwrap();
        let sent_folder = store.folder(owner, "Sent").await.unwrap().unwrap();
        assert_eq!(sent, Some(Some(sent_folder.id)));
        assert_eq!(
            store
                .send_as(&format!("bruno@{COMUNE}"), &office)
                .await
                .unwrap(),
            None
        );

        // Unsharing takes both the share's and the folders' rights.
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.unshare_mailbox(&office, &format!("anna@{COMUNE}"))
                .await
                .unwrap()
        );
        assert!(
            !tx.unshare_mailbox(&office, &format!("anna@{COMUNE}"))
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        assert!(store.shared_folders(anna).await.unwrap().is_empty());
        assert_eq!(store.shared_folders(bruno).await.unwrap().len(), 1);
    }

    async fn no_right_reaches_another_domain(store: Store) {
        add_domain(&store, COMUNE).await;
        add_domain(&store, ALTRO).await;
        let office = format!("protocollo@{COMUNE}");
        let owner = add_account(&store, &office).await;
        let outsider = add_account(&store, &format!("ugo@{ALTRO}")).await;
        let inbox = store.folder(owner, "INBOX").await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        let shared = tx
            .share_mailbox(&office, &format!("ugo@{ALTRO}"), Rights::ALL, true)
            .await;
        assert!(
            matches!(shared, Err(StoreError::NotFound { .. })),
            "{shared:?}"
        );
        let set = tx
            .set_folder_rights(inbox.id, &format!("ugo@{ALTRO}"), Some(Rights::ALL))
            .await;
        assert!(matches!(set, Err(StoreError::NotFound { .. })), "{set:?}");
        tx.commit().await.unwrap();
        // A row written around the checks still gives nothing.
        sqlx::query(
            "INSERT INTO mailbox_shares (owner_id, grantee_id, rights, send_as) \
             VALUES ($1, $2, 'lrswipkxtea', 1)",
        )
        .bind(owner)
        .bind(outsider)
        .execute(store.pool())
        .await
        .unwrap();
        assert!(store.shared_folders(outsider).await.unwrap().is_empty());
        let reached = store
            .shared_folder(outsider, &office, "INBOX")
            .await
            .unwrap();
        assert!(reached.is_none(), "{reached:?}");
        assert!(store.folder_acl(&inbox).await.unwrap().is_empty());
        assert_eq!(
            store
                .send_as(&format!("ugo@{ALTRO}"), &office)
                .await
                .unwrap(),
            None
        );
    }
}

//! MTA-STS policies of other domains, as outbound delivery fetched them
//! (RFC 8461 §5.1): one per domain, kept in the store so that every node
//! delivers under the same policy, fetches it once, and keeps using it
//! while it is fresh even when a later fetch fails.

use sqlx::FromRow;

use super::{Result, Store};

/// A fetched policy.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CachedPolicy {
    /// The domain, lowercase.
    pub domain: String,
    /// The id of the `_mta-sts` record it was fetched for.
    pub policy_id: String,
    /// The policy file as fetched.
    pub policy: String,
    /// When it was fetched, and when its `max_age` runs out, Unix seconds.
    pub fetched_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// The policy fetched for `domain`, fresh or not.
    pub async fn mta_sts_policy(&self, domain: &str) -> Result<Option<CachedPolicy>> {
        Ok(sqlx::query_as(
            "SELECT domain, policy_id, policy, fetched_at, expires_at \
             FROM mta_sts_policies WHERE domain = $1",
        )
        .bind(domain)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Keeps `policy` as its domain's, in place of any before it.
    pub async fn save_mta_sts_policy(&self, policy: &CachedPolicy) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO mta_sts_policies (domain, policy_id, policy, fetched_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (domain) DO UPDATE SET \
             policy_id = excluded.policy_id, policy = excluded.policy, \
             fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
        )
        .bind(&policy.domain)
        .bind(&policy.policy_id)
        .bind(&policy.policy)
        .bind(policy.fetched_at)
        .bind(policy.expires_at)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mta_sts::Mode;
    use crate::store::testing::add_domain;
    use crate::store_tests;

    store_tests!(
        a_policy_is_kept_per_domain_and_replaced,
        hosted_domains_publish_testing_until_changed
    );

    async fn a_policy_is_kept_per_domain_and_replaced(store: Store) {
        assert_eq!(store.mta_sts_policy("esterno.example").await.unwrap(), None);
        let first = CachedPolicy {
            domain: "esterno.example".into(),
            policy_id: "uno".into(),
            policy: "version: STSv1\r\nmode: testing\r\nmx: mx.esterno.example\r\nmax_age: 60\r\n"
                .into(),
            fetched_at: 1_800_000_000,
            expires_at: 1_800_000_060,
        };
        store.save_mta_sts_policy(&first).await.unwrap();
        let other = CachedPolicy {
            domain: "altro.example".into(),
            ..first.clone()
        };
        store.save_mta_sts_policy(&other).await.unwrap();
        let second = CachedPolicy {
            policy_id: "due".into(),
            fetched_at: 1_800_000_100,
            expires_at: 1_800_000_160,
            ..first.clone()
        };
        store.save_mta_sts_policy(&second).await.unwrap();
        assert_eq!(
            store.mta_sts_policy("esterno.example").await.unwrap(),
            Some(second)
        );
        assert_eq!(
            store.mta_sts_policy("altro.example").await.unwrap(),
            Some(other)
        );
    }

    async fn hosted_domains_publish_testing_until_changed(store: Store) {
        let domain = add_domain(&store, "comune.example.it").await;
        assert_eq!(domain.mta_sts_mode, Mode::Testing);
        let mut tx = store.begin().await.unwrap();
        let changed = tx
            .set_domain_mta_sts("comune.example.it", Mode::Enforce)
            .await
            .unwrap();
        assert_eq!(changed.mta_sts_mode, Mode::Enforce);
        tx.commit().await.unwrap();
        let read = store.domain("comune.example.it").await.unwrap().unwrap();
        assert_eq!(read.mta_sts_mode, Mode::Enforce);
    }
}

//! DKIM keys per domain, and their life: active, retiring, retired.
//!
//! An active key signs the domain's outgoing mail; a domain has at most one
//! per algorithm (a partial unique index holds this against concurrent
//! writers too). A rotation replaces active keys with new ones at once and
//! leaves the old ones retiring: they sign nothing more but stay in DNS
//! until their `retire_at`, so that mail signed just before still verifies
//! (RFC 6376 §3.6.1 leaves the timing to the signer). Retired keys are
//! kept for the record, and their selectors are never used again. Key
//! formats are described in [`crate::dkim`].

use std::time::Duration;

use serde::Serialize;
use sqlx::FromRow;

use super::{Backend, Result, Store, StoreError, WriteTx, inserted, now};
use crate::auth::Secret;
use crate::dkim::{self as keys, Algorithm};

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimKeyState {
    /// Signs, and is published.
    Active,
    /// Replaced: published until `retire_at`, signs nothing.
    Retiring,
    /// Neither signs nor needs publishing.
    Retired,
}

impl DkimKeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            DkimKeyState::Active => "active",
            DkimKeyState::Retiring => "retiring",
            DkimKeyState::Retired => "retired",
        }
    }

    fn parse(s: &str) -> Option<DkimKeyState> {
        [
            DkimKeyState::Active,
            DkimKeyState::Retiring,
            DkimKeyState::Retired,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// A stored key. Its private key is never serialized nor printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimKey {
    pub id: i64,
    pub domain: String,
    pub selector: String,
    pub algorithm: Algorithm,
    /// Base64, the `p=` tag of the key record.
    pub public_key: String,
    pub state: DkimKeyState,
    pub created_at: i64,
    /// When a retiring key is to be (or a retired one was) retired.
    pub retire_at: Option<i64>,
    /// PKCS#8 PEM.
    #[serde(skip)]
    pub private_key: Secret,
}

impl DkimKey {
    /// Whether the key's record must be in DNS at `now`: while it signs,
    /// and while mail it signed may still be verified.
    pub fn is_published(&self, now: i64) -> bool {
        match self.state {
            DkimKeyState::Active => true,
            DkimKeyState::Retiring => self.retire_at.is_none_or(|at| at > now),
            DkimKeyState::Retired => false,
        }
    }

    /// The key record: its owner name and text (see [`keys::dns_record`]).
    pub fn dns_record(&self) -> (String, String) {
        keys::dns_record(
            &self.domain,
            &self.selector,
            self.algorithm,
            &self.public_key,
        )
    }
}

/// A key to store, made by [`crate::dkim::generate`].
#[derive(Debug, Clone)]
pub struct NewDkimKey {
    /// Already checked by [`crate::dkim::parse_selector`].
    pub selector: String,
    pub algorithm: Algorithm,
    pub private_key: Secret,
    pub public_key: String,
}

impl From<(String, keys::GeneratedKey)> for NewDkimKey {
    fn from((selector, key): (String, keys::GeneratedKey)) -> NewDkimKey {
        NewDkimKey {
            selector,
            algorithm: key.algorithm,
            private_key: key.private_key,
            public_key: key.public_key,
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimRotation {
    /// The keys that were active, now retiring.
    pub retiring: Vec<DkimKey>,
    /// The new active keys.
    pub added: Vec<DkimKey>,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    domain: String,
    selector: String,
    algorithm: String,
    private_key: String,
    public_key: String,
    state: String,
    created_at: i64,
    retire_at: Option<i64>,
}

impl TryFrom<Row> for DkimKey {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<DkimKey> {
        // The table's CHECK constraints admit only known values.
        let algorithm = row
            .algorithm
            .parse()
            .map_err(|e: keys::DkimError| sqlx::Error::Decode(e.into()))?;
        let state = DkimKeyState::parse(&row.state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown DKIM key state `{}`", row.state).into())
        })?;
        Ok(DkimKey {
            id: row.id,
            domain: row.domain,
            selector: row.selector,
            algorithm,
            public_key: row.public_key,
            state,
            created_at: row.created_at,
            retire_at: row.retire_at,
            private_key: Secret::new(row.private_key),
        })
    }
}

/// The key query with a trailing clause, as one `&'static str`.
macro_rules! select_key {
    ($tail:literal) => {
        concat!(
            "SELECT k.id, d.name AS domain, k.selector, k.algorithm, k.private_key, ",
            "k.public_key, k.state, k.created_at, k.retire_at ",
            "FROM dkim_keys k JOIN domains d ON d.id = k.domain_id ",
            $tail
        )
    };
}

/// Rows as keys.
fn convert(rows: Vec<Row>) -> Result<Vec<DkimKey>> {
    rows.into_iter().map(DkimKey::try_from).collect()
}

impl Store {
    /// Keys in every state, all domains' or one's, by domain then age.
    pub async fn dkim_keys(&self, domain: Option<&str>) -> Result<Vec<DkimKey>> {
        let query = match domain {
            Some(name) => {
                sqlx::query_as(select_key!("WHERE d.name = $1 ORDER BY d.name, k.id")).bind(name)
            }
            None => sqlx::query_as(select_key!("ORDER BY d.name, k.id")),
        };
        convert(query.fetch_all(self.pool()).await?)
    }

    /// The keys that sign a domain's mail: at most one per algorithm.
    pub async fn active_dkim_keys(&self, domain: &str) -> Result<Vec<DkimKey>> {
        let query = sqlx::query_as(select_key!(
            "WHERE d.name = $1 AND k.state = 'active' ORDER BY k.algorithm DESC, k.id"
        ))
        .bind(domain);
        convert(query.fetch_all(self.pool()).await?)
    }
}

impl WriteTx {
    /// One domain's keys, in every state, oldest first.
    pub async fn dkim_keys(&mut self, domain_id: i64) -> Result<Vec<DkimKey>> {
        let query =
            sqlx::query_as(select_key!("WHERE k.domain_id = $1 ORDER BY k.id")).bind(domain_id);
        convert(query.fetch_all(self.conn()).await?)
    }

    /// Adds an active key. Refused if the selector was ever used in the
    /// domain, or if the domain has an active key of that algorithm already.
    pub async fn add_dkim_key(&mut self, domain_id: i64, key: &NewDkimKey) -> Result<DkimKey> {
        self.lock_domain(domain_id).await?;
        let existing = self.dkim_keys(domain_id).await?;
        if existing.iter().any(|k| k.selector == key.selector) {
            return Err(StoreError::AlreadyExists {
                what: "DKIM selector",
                name: key.selector.clone(),
            });
        }
        if let Some(active) = existing
            .iter()
            .find(|k| k.state == DkimKeyState::Active && k.algorithm == key.algorithm)
        {
            return Err(StoreError::AlreadyExists {
                what: match key.algorithm {
                    Algorithm::RsaSha256 => "active rsa-sha256 DKIM key",
                    Algorithm::Ed25519Sha256 => "active ed25519-sha256 DKIM key",
                },
                name: active.selector.clone(),
            });
        }
        let result: std::result::Result<(i64,), _> = sqlx::query_as(
            "INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, created_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active') RETURNING id",
        )
        .bind(domain_id)
        .bind(&key.selector)
        .bind(key.algorithm.as_str())
        .bind(key.private_key.expose())
        .bind(&key.public_key)
        .bind(now())
        .fetch_one(self.conn())
        .await;
        let (id,) = inserted(result, "DKIM key", || key.selector.clone())?;
        let query = sqlx::query_as(select_key!("WHERE k.id = $1")).bind(id);
        let mut added = convert(query.fetch_all(self.conn()).await?)?;
        added.pop().ok_or_else(|| StoreError::NotFound {
            what: "DKIM key",
            name: key.selector.clone(),
        })
    }

    /// Replaces the domain's active keys of the new keys' algorithms: those
    /// become retiring until `grace` from now, and the new keys active.
    pub async fn rotate_dkim_keys(
        &mut self,
        domain_id: i64,
        new: &[NewDkimKey],
        grace: Duration,
    ) -> Result<DkimRotation> {
        self.lock_domain(domain_id).await?;
        let retire_at = now().saturating_add(i64::try_from(grace.as_secs()).unwrap_or(i64::MAX));
        let replaced: Vec<DkimKey> = self
            .dkim_keys(domain_id)
            .await?
            .into_iter()
            .filter(|k| {
                k.state == DkimKeyState::Active && new.iter().any(|n| n.algorithm == k.algorithm)
            })
            .collect();
        let mut retiring = Vec::with_capacity(replaced.len());
        for mut key in replaced {
            sqlx::query(
                "UPDATE dkim_keys SET state = 'retiring', retire_at = $1 WHERE id = $2 AND state = 'active'",
            )
            .bind(retire_at)
            .bind(key.id)
            .execute(self.conn())
            .await?;
            key.state = DkimKeyState::Retiring;
            key.retire_at = Some(retire_at);
            retiring.push(key);
        }
        let mut added = Vec::with_capacity(new.len());
        for key in new {
            added.push(self.add_dkim_key(domain_id, key).await?);
        }
        Ok(DkimRotation { retiring, added })
    }

    /// Retires the retiring keys whose `retire_at` is not after `now`, of
    /// one domain or of all; returns them as they now are.
    pub async fn retire_dkim_keys(
        &mut self,
        domain_id: Option<i64>,
        now: i64,
    ) -> Result<Vec<DkimKey>> {
        let query = match domain_id {
            Some(id) => sqlx::query_as(select_key!(
                "WHERE k.state = 'retiring' AND k.retire_at <= $1 AND k.domain_id = $2 ORDER BY d.name, k.id"
            ))
            .bind(now)
            .bind(id),
            None => sqlx::query_as(select_key!(
                "WHERE k.state = 'retiring' AND k.retire_at <= $1 ORDER BY d.name, k.id"
            ))
            .bind(now),
        };
        let mut due = convert(query.fetch_all(self.conn()).await?)?;
        for key in &mut due {
            sqlx::query("UPDATE dkim_keys SET state = 'retired' WHERE id = $1")
                .bind(key.id)
                .execute(self.conn())
                .await?;
            key.state = DkimKeyState::Retired;
        }
        Ok(due)
    }

    /// Orders concurrent key changes of one domain on PostgreSQL (SQLite
    /// has one writer anyway), and checks that the domain exists.
    async fn lock_domain(&mut self, domain_id: i64) -> Result<()> {
        let sql = match self.backend() {
            Backend::Postgres => "SELECT id FROM domains WHERE id = $1 FOR UPDATE",
            Backend::Sqlite => "SELECT id FROM domains WHERE id = $1",
        };
        let found: Option<(i64,)> = sqlx::query_as(sql)
            .bind(domain_id)
            .fetch_optional(self.conn())
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound {
                what: "domain",
                name: format!("#{domain_id}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::testing::add_domain;
    use crate::store_tests;

    store_tests!(
        keys_are_added_and_listed_per_domain,
        selectors_are_never_reused_and_one_key_per_algorithm_is_active,
        rotation_keeps_old_keys_published_for_the_grace_period,
        rotation_replaces_only_the_algorithms_given,
        a_failed_rotation_changes_nothing,
        concurrent_additions_leave_one_active_key,
        removing_a_domain_removes_its_keys,
    );

    const COMUNE: &str = "comune.esempio.pu.it";
    const ALTRO: &str = "altro.esempio.it";
    const WEEK: Duration = Duration::from_secs(7 * 86_400);

    /// A key with stand-in material: the store does not look inside.
    fn key(selector: &str, algorithm: Algorithm) -> NewDkimKey {
        NewDkimKey {
            selector: selector.to_string(),
            algorithm,
            private_key: Secret::new(format!("private {selector}")),
            public_key: format!("public-{selector}"),
        }
    }

    async fn add(store: &Store, domain_id: i64, new: &NewDkimKey) -> Result<DkimKey> {
        let mut tx = store.begin().await?;
        let key = tx.add_dkim_key(domain_id, new).await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn rotate(store: &Store, domain_id: i64, new: &[NewDkimKey]) -> Result<DkimRotation> {
        let mut tx = store.begin().await?;
        let rotation = tx.rotate_dkim_keys(domain_id, new, WEEK).await?;
        tx.commit().await?;
        Ok(rotation)
    }

    fn selectors(keys: &[DkimKey]) -> Vec<&str> {
        keys.iter().map(|k| k.selector.as_str()).collect()
    }

    fn states(keys: &[DkimKey]) -> Vec<(&str, DkimKeyState)> {
        keys.iter()
            .map(|k| (k.selector.as_str(), k.state))
            .collect()
    }

    async fn keys_are_added_and_listed_per_domain(store: Store) {
        let comune = add_domain(&store, COMUNE).await.id;
        let altro = add_domain(&store, ALTRO).await.id;
        // A real key, to see that it comes back as it went in.
        let generated = keys::generate(Algorithm::Ed25519Sha256).unwrap();
        let ed = NewDkimKey::from(("2025-ed".to_string(), generated.clone()));
        let added = add(&store, comune, &ed).await.unwrap();
        assert_eq!(added.domain, COMUNE);
        assert_eq!(added.selector, "2025-ed");
        assert_eq!(added.algorithm, Algorithm::Ed25519Sha256);
        assert_eq!(added.state, DkimKeyState::Active);
        assert_eq!(added.retire_at, None);
        assert_eq!(added.private_key, generated.private_key);
        assert_eq!(added.public_key, generated.public_key);
        assert!((now() - added.created_at).abs() < 60);
        keys::private_key_der(&added.private_key).unwrap();

        add(&store, comune, &key("2025-rsa", Algorithm::RsaSha256))
            .await
            .unwrap();
        // The same selector in another domain is another key.
        add(&store, altro, &key("2025-rsa", Algorithm::RsaSha256))
            .await
            .unwrap();

        let all = store.dkim_keys(None).await.unwrap();
        let listed: Vec<(&str, &str)> = all
            .iter()
            .map(|k| (k.domain.as_str(), k.selector.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                (ALTRO, "2025-rsa"),
                (COMUNE, "2025-ed"),
                (COMUNE, "2025-rsa")
            ]
        );
        let comune_keys = store.dkim_keys(Some(COMUNE)).await.unwrap();
        assert_eq!(selectors(&comune_keys), ["2025-ed", "2025-rsa"]);
        assert_eq!(comune_keys[0], added);
        // What signs: RSA first, then Ed25519.
        let active = store.active_dkim_keys(COMUNE).await.unwrap();
        assert_eq!(selectors(&active), ["2025-rsa", "2025-ed"]);
        assert!(
            store
                .dkim_keys(Some("nessuno.it"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .active_dkim_keys("nessuno.it")
                .await
                .unwrap()
                .is_empty()
        );

        // The private key stays out of JSON and debug output.
        let json = serde_json::to_string(&added).unwrap();
        assert!(!json.contains("PRIVATE"), "{json}");
        assert!(json.contains("\"state\":\"active\""), "{json}");
        assert!(json.contains("\"algorithm\":\"ed25519-sha256\""), "{json}");
        assert!(!format!("{added:?}").contains("PRIVATE"));

        let mut tx = store.begin().await.unwrap();
        let missing = tx
            .add_dkim_key(i64::MAX, &key("x", Algorithm::RsaSha256))
            .await;
        assert!(
            matches!(missing, Err(StoreError::NotFound { what: "domain", .. })),
            "{missing:?}"
        );
    }

    async fn selectors_are_never_reused_and_one_key_per_algorithm_is_active(store: Store) {
        let comune = add_domain(&store, COMUNE).await.id;
        add(&store, comune, &key("uno", Algorithm::RsaSha256))
            .await
            .unwrap();
        let again = add(&store, comune, &key("uno", Algorithm::Ed25519Sha256)).await;
        assert!(
            matches!(&again, Err(StoreError::AlreadyExists { what: "DKIM selector", name }) if name == "uno"),
            "{again:?}"
        );
        let second = add(&store, comune, &key("due", Algorithm::RsaSha256)).await;
        assert!(
            matches!(&second, Err(StoreError::AlreadyExists { what: "active rsa-sha256 DKIM key", name }) if name == "uno"),
            "{second:?}"
        );
        // A selector of a retired key stays taken.
        rotate(&store, comune, &[key("due", Algorithm::RsaSha256)])
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.retire_dkim_keys(Some(comune), now() + 8 * 86_400)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let reused = rotate(&store, comune, &[key("uno", Algorithm::RsaSha256)]).await;
        assert!(
            matches!(reused, Err(StoreError::AlreadyExists { .. })),
            "{reused:?}"
        );
        let listed = store.dkim_keys(Some(COMUNE)).await.unwrap();
        assert_eq!(
            states(&listed),
            [
                ("uno", DkimKeyState::Retired),
                ("due", DkimKeyState::Active)
            ]
        );
    }

    async fn rotation_keeps_old_keys_published_for_the_grace_period(store: Store) {
        let comune = add_domain(&store, COMUNE).await.id;
        let altro = add_domain(&store, ALTRO).await.id;
        add(&store, comune, &key("old-rsa", Algorithm::RsaSha256))
            .await
            .unwrap();
        add(&store, comune, &key("old-ed", Algorithm::Ed25519Sha256))
            .await
            .unwrap();
        add(&store, altro, &key("altro-ed", Algorithm::Ed25519Sha256))
            .await
            .unwrap();

        let before = now();
        let new = [
            key("new-rsa", Algorithm::RsaSha256),
            key("new-ed", Algorithm::Ed25519Sha256),
        ];
        let rotation = rotate(&store, comune, &new).await.unwrap();
        assert_eq!(selectors(&rotation.retiring), ["old-rsa", "old-ed"]);
        assert_eq!(selectors(&rotation.added), ["new-rsa", "new-ed"]);
        let retire_at = rotation.retiring[0].retire_at.unwrap();
        let week = WEEK.as_secs() as i64;
        assert!(
            (before + week..=now() + week).contains(&retire_at),
            "{retire_at}"
        );
        assert!(
            rotation
                .added
                .iter()
                .all(|k| k.state == DkimKeyState::Active)
        );

        let listed = store.dkim_keys(Some(COMUNE)).await.unwrap();
        assert_eq!(
            states(&listed),
            [
                ("old-rsa", DkimKeyState::Retiring),
                ("old-ed", DkimKeyState::Retiring),
                ("new-rsa", DkimKeyState::Active),
                ("new-ed", DkimKeyState::Active),
            ]
        );
        assert_eq!(listed[..2], rotation.retiring[..]);
        let active = store.active_dkim_keys(COMUNE).await.unwrap();
        assert_eq!(selectors(&active), ["new-rsa", "new-ed"]);
        // Published: the new keys, and the old ones until retire_at.
        assert!(listed.iter().all(|k| k.is_published(now())));
        assert!(!listed[0].is_published(retire_at));
        assert!(listed[2].is_published(retire_at));

        // Nothing is due before retire_at.
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.retire_dkim_keys(None, retire_at - 1)
                .await
                .unwrap()
                .is_empty()
        );
        let retired = tx.retire_dkim_keys(None, retire_at).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(selectors(&retired), ["old-rsa", "old-ed"]);
        assert!(retired.iter().all(|k| k.state == DkimKeyState::Retired));
        let listed = store.dkim_keys(None).await.unwrap();
        assert_eq!(
            states(&listed),
            [
                ("altro-ed", DkimKeyState::Active),
                ("old-rsa", DkimKeyState::Retired),
                ("old-ed", DkimKeyState::Retired),
                ("new-rsa", DkimKeyState::Active),
                ("new-ed", DkimKeyState::Active),
            ]
        );
        assert_eq!(listed[1].retire_at, Some(retire_at));
        assert!(!listed[1].is_published(now()));
    }

    async fn rotation_replaces_only_the_algorithms_given(store: Store) {
        let comune = add_domain(&store, COMUNE).await.id;
        add(&store, comune, &key("rsa-1", Algorithm::RsaSha256))
            .await
            .unwrap();
        add(&store, comune, &key("ed-1", Algorithm::Ed25519Sha256))
            .await
            .unwrap();
        let rotation = rotate(&store, comune, &[key("ed-2", Algorithm::Ed25519Sha256)])
            .await
            .unwrap();
        assert_eq!(selectors(&rotation.retiring), ["ed-1"]);
        let active = store.active_dkim_keys(COMUNE).await.unwrap();
        assert_eq!(selectors(&active), ["rsa-1", "ed-2"]);
        // Retiring one domain's keys leaves the others alone.
        let altro = add_domain(&store, ALTRO).await.id;
        add(&store, altro, &key("a-1", Algorithm::RsaSha256))
            .await
            .unwrap();
        rotate(&store, altro, &[key("a-2", Algorithm::RsaSha256)])
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let retired = tx
            .retire_dkim_keys(Some(altro), now() + 30 * 86_400)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(selectors(&retired), ["a-1"]);
        let comune_keys = store.dkim_keys(Some(COMUNE)).await.unwrap();
        assert_eq!(comune_keys[1].state, DkimKeyState::Retiring);
    }

    async fn a_failed_rotation_changes_nothing(store: Store) {
        let comune = add_domain(&store, COMUNE).await.id;
        add(&store, comune, &key("rsa-1", Algorithm::RsaSha256))
            .await
            .unwrap();
        add(&store, comune, &key("ed-1", Algorithm::Ed25519Sha256))
            .await
            .unwrap();
        let before = store.dkim_keys(None).await.unwrap();
        // The second new key reuses a selector: the first must not stay.
        let new = [
            key("rsa-2", Algorithm::RsaSha256),
            key("ed-1", Algorithm::Ed25519Sha256),
        ];
        let failed = rotate(&store, comune, &new).await;
        assert!(
            matches!(failed, Err(StoreError::AlreadyExists { .. })),
            "{failed:?}"
        );
        assert_eq!(store.dkim_keys(None).await.unwrap(), before);
    }

    async fn concurrent_additions_leave_one_active_key(store: Store) {
        let comune = add_domain(&store, COMUNE).await.id;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    add(&store, comune, &key(&format!("k{i}"), Algorithm::RsaSha256)).await
                })
            })
            .collect();
        let mut added = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => added += 1,
                Err(StoreError::AlreadyExists { .. }) => {}
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!(added, 1);
        assert_eq!(store.active_dkim_keys(COMUNE).await.unwrap().len(), 1);
        assert_eq!(store.dkim_keys(None).await.unwrap().len(), 1);
    }

    async fn removing_a_domain_removes_its_keys(store: Store) {
        let comune = add_domain(&store, COMUNE).await.id;
        let altro = add_domain(&store, ALTRO).await.id;
        add(&store, comune, &key("rsa-1", Algorithm::RsaSha256))
            .await
            .unwrap();
        rotate(&store, comune, &[key("rsa-2", Algorithm::RsaSha256)])
            .await
            .unwrap();
        add(&store, altro, &key("rsa-1", Algorithm::RsaSha256))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.remove_domain(COMUNE, true).await.unwrap();
        tx.commit().await.unwrap();
        let left = store.dkim_keys(None).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].domain, ALTRO);
        // A domain added again under the name starts without keys.
        let again = add_domain(&store, COMUNE).await.id;
        assert!(store.dkim_keys(Some(COMUNE)).await.unwrap().is_empty());
        add(&store, again, &key("rsa-1", Algorithm::RsaSha256))
            .await
            .unwrap();
    }
}

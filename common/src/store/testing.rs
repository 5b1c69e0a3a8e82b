//! Fresh stores for tests, on SQLite and on PostgreSQL, and the domain
//! most tests start by adding.
//!
//! PostgreSQL is reached at `POSTINO_TEST_DATABASE_URL` (default: the local
//! server as user `postgres`); each test gets a database of its own, dropped
//! by [`TestStore::finish`]. A PostgreSQL that does not answer fails the test:
//! it is never skipped.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tempfile::TempDir;

use super::{Account, Backend, Domain, Location, NewAccount, NewDomain, Store};
use crate::blobs::BlobStore;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL server the tests use.
pub fn postgres_url() -> String {
    std::env::var("POSTINO_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A URL for database `name` on the same server as `url`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = match base.rfind('/') {
        Some(slash) if slash > base.find("//").map_or(0, |i| i + 1) => &base[..slash],
        _ => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// Creates an empty database on the test server and returns its URL and name.
pub async fn create_postgres_database() -> (String, String) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "postino_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        super::now()
    );
    let admin_url = postgres_url();
    let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is needed for the store tests and does not answer at {admin_url}: {e}")
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    (with_database(&admin_url, &name), name)
}

/// Drops a database made by [`create_postgres_database`].
pub async fn drop_postgres_database(name: &str) {
    let mut admin = PgConnection::connect(&postgres_url())
        .await
        .expect("connect to PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop test database");
}

pub struct TestStore {
    pub store: Store,
    /// For SQLite's file and for bodies kept in files.
    pub dir: TempDir,
    database: Option<String>,
}

impl TestStore {
    /// SQLite with bodies in files, its default.
    pub async fn sqlite() -> TestStore {
        TestStore::open(Backend::Sqlite, |dir| {
            BlobStore::filesystem(dir.join("blobs"))
        })
        .await
    }

    /// PostgreSQL with bodies in its rows, its default.
    pub async fn postgres() -> TestStore {
        TestStore::open(Backend::Postgres, |_| BlobStore::database()).await
    }

    /// A new store on `backend`, with the body stores `blobs` makes given
    /// the test's directory.
    pub async fn open(backend: Backend, blobs: impl FnOnce(&Path) -> BlobStore) -> TestStore {
        let dir = TempDir::new().expect("temporary directory");
        let blobs = blobs(dir.path());
        let (store, database) = match backend {
            Backend::Sqlite => {
                let path = dir.path().join("postino.db");
                let store = Store::open(Location::Sqlite(&path), 8, blobs).await;
                (store.expect("open SQLite store"), None)
            }
            Backend::Postgres => {
                let (url, name) = create_postgres_database().await;
                let store = Store::open(Location::Postgres(&url), 8, blobs).await;
                (store.expect("open PostgreSQL store"), Some(name))
            }
        };
        TestStore {
            store,
            dir,
            database,
        }
    }

    /// Closes the store and removes its database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some(name) = &self.database {
            drop_postgres_database(name).await;
        }
    }
}

/// The store's own connections, for tests that read or change its rows
/// directly.
pub fn pool(store: &Store) -> &sqlx::AnyPool {
    store.pool()
}

/// Adds the domain `name`, without quota or mailbox limit, in a
/// transaction of its own.
pub async fn add_domain(store: &Store, name: &str) -> Domain {
    let mut tx = store.begin().await.expect("begin a transaction");
    let domain = tx
        .create_domain(&NewDomain {
            name: name.parse().expect("a domain name"),
            quota_bytes: 0,
            max_mailboxes: 0,
        })
        .await
        .expect("add the domain");
    tx.commit().await.expect("commit the domain");
    domain
}

/// Adds the mailbox `address`, with no password nor quota of its own, in
/// a transaction of its own.
pub async fn add_mailbox(store: &Store, address: &str) -> Account {
    let mut tx = store.begin().await.expect("begin a transaction");
    let account = tx
        .create_account(&NewAccount {
            address: address.parse().expect("an address"),
            display_name: String::new(),
            password_hash: None,
            quota_bytes: 0,
        })
        .await
        .expect("add the mailbox");
    tx.commit().await.expect("commit the mailbox");
    account
}

/// Runs each named `async fn(Store)` as two tests, `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::store::testing::TestStore;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let t = TestStore::sqlite().await;
                    tokio::time::timeout(std::time::Duration::from_secs(120), super::$name(t.store.clone()))
                        .await
                        .expect("test timed out");
                    t.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let t = TestStore::postgres().await;
                    tokio::time::timeout(std::time::Duration::from_secs(120), super::$name(t.store.clone()))
                        .await
                        .expect("test timed out");
                    t.finish().await;
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}

//! An image of the whole store: read consistently while the server runs
//! ([`Snapshot`]), and loaded into an empty store ([`Load`]). This is what
//! `postino backup` and `postino restore` are made of.
//!
//! Rows travel as JSON values (integers, texts and nulls) named by their
//! columns, so an image taken on one backend loads into the other. The
//! `blobs` rows travel without their bodies' places: a body is read from
//! wherever the source keeps it, and on load goes to the store the target
//! is configured with. Row ids travel unchanged, and with them every
//! folder's UIDVALIDITY, UIDNEXT and MODSEQs: an IMAP client sees the same
//! mailbox after a restore and downloads nothing again.

use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use serde_json::Value;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Any, AnyConnection, AssertSqlSafe, Column, Row, Transaction, ValueRef};

use super::in_list::{BindEach, MAX_IN_LIST, placeholders};
use super::{Backend, Result, Store, StoreError, WriteTx};

/// The tables of an image, each after the tables it refers to.
pub const IMAGE_TABLES: &[&str] = &[
    "domains",
    "accounts",
    "sieve_scripts",
    "vacation_replies",
    "srs_secrets",
    "aliases",
    "admins",
    "admin_domains",
    "folders",
    "subscriptions",
    "mailbox_shares",
    "folder_rights",
    "blobs",
    "messages",
    "expunged",
    "imported_messages",
    "queue",
    "queue_recipients",
    "learning_jobs",
    "dkim_keys",
    "relay_clients",
    "relay_client_networks",
    "relay_client_domains",
    "relay_usage",
    "api_tokens",
    "audit_log",
    "audit_domains",
    "admin_access",
    "log_chains",
    "auth_known_clients",
    "sent_messages",
    "sent_recipients",
    "sending_limit_hits",
];

/// Tables an image leaves out: the state of the nodes that run on the
/// store, not of the mail: failed-login counters, console sessions, leases
/// on periodic work, body places the source's collector is to delete,
/// other domains' MTA-STS policies (fetched again when needed) and users'
/// recent logins (metadata kept days, for the users' own eyes).
pub const NOT_IMAGED: &[&str] = &[
    "auth_failures",
    "web_sessions",
    "task_leases",
    "blob_trash",
    "mta_sts_policies",
    "user_logins",
];

/// The `blobs` columns an image holds; `data` and `location` say where
/// one store keeps a body, and are made anew on load.
pub const BLOB_COLUMNS: &[&str] = &["hash", "size", "refcount"];

/// One `blobs` row of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    pub hash: String,
    pub size: i64,
    pub refcount: i64,
}

/// A read of the whole store as of one instant, inside one read-only
/// transaction: SQLite's WAL and PostgreSQL's repeatable read keep what it
/// sees still while writers go on. Bodies outside the database stay
/// readable meanwhile: a place freed after the snapshot waits in the
/// trash for the collector's grace period.
pub struct Snapshot {
    tx: Transaction<'static, Any>,
    store: Store,
}

impl Store {
    /// Starts a snapshot of the whole store.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        };
        let mut tx = self.pool().begin_with(begin).await?;
        // SQLite takes its snapshot at the first read.
        sqlx::query("SELECT COUNT(*) FROM domains")
            .execute(&mut *tx)
            .await?;
        Ok(Snapshot {
            tx,
            store: self.clone(),
        })
    }

    /// The latest schema migration this store has.
    pub async fn schema_version(&self) -> Result<i64> {
        let mut conn = self.pool().acquire().await?;
        schema_version(&mut conn).await
    }
}

async fn schema_version(conn: &mut AnyConnection) -> Result<i64> {
    let (version,): (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(conn)
        .await?;
    Ok(version.unwrap_or(0))
}

/// The columns of `table`, in their order.
async fn columns_of(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql).bind(table).fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

impl Snapshot {
    pub async fn schema_version(&mut self) -> Result<i64> {
        schema_version(&mut self.tx).await
    }

    /// The columns of one of [`IMAGE_TABLES`] the image holds.
    pub async fn columns(&mut self, table: &str) -> Result<Vec<String>> {
        if table == "blobs" {
            return Ok(BLOB_COLUMNS.iter().map(|c| c.to_string()).collect());
        }
        let backend = self.store.backend();
        columns_of(&mut self.tx, backend, table).await
    }

    /// The rows of `table`, as values of `columns` in that order.
    pub fn rows<'a>(
        &'a mut self,
        table: &str,
        columns: &[String],
    ) -> impl Stream<Item = Result<Vec<Value>>> + 'a {
        let sql = format!("SELECT {} FROM {table}", columns.join(", "));
        sqlx::query(AssertSqlSafe(sql))
            .fetch(&mut *self.tx)
            .map(|row| row_values(&row?))
    }

    /// A page of `blobs` rows in hash order, those after `after`.
    pub async fn blob_page(&mut self, after: &str, limit: i64) -> Result<Vec<BlobEntry>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT hash, size, refcount FROM blobs WHERE hash > $1 ORDER BY hash LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(hash, size, refcount)| BlobEntry {
                hash,
                size,
                refcount,
            })
            .collect())
    }

    /// The bodies of some blobs (at most [`MAX_IN_LIST`] at a time), as
    /// `(hash, bytes)`, read from wherever they are kept.
    pub async fn bodies(&mut self, hashes: &[&str]) -> Result<Vec<(String, Vec<u8>)>> {
        assert!(hashes.len() <= MAX_IN_LIST, "too many bodies at once");
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT hash, data, location FROM blobs WHERE hash IN ({})",
            placeholders(1, hashes.len())
        );
        let rows: Vec<(String, Vec<u8>, Option<String>)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind_each(hashes.iter().copied())
            .fetch_all(&mut *self.tx)
            .await?;
        let store = &self.store;
        let read = rows.into_iter().map(|(hash, data, location)| async move {
            Ok::<_, StoreError>((hash, store.body(data, location).await?))
        });
        futures_util::future::try_join_all(read).await
    }
}

/// A row's values: integers, texts and nulls, the only kinds the schema
/// has outside `blobs.data`.
fn row_values(row: &AnyRow) -> Result<Vec<Value>> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(index)?;
        if raw.is_null() {
            values.push(Value::Null);
            continue;
        }
        let value = match raw.type_info().kind() {
            AnyTypeInfoKind::Bool => Value::from(i64::from(row.try_get::<bool, _>(index)?)),
            AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
                Value::from(row.try_get::<i64, _>(index)?)
            }
            AnyTypeInfoKind::Text => Value::from(row.try_get::<String, _>(index)?),
            other => {
                return Err(StoreError::BadImage(format!(
                    "column {} holds a {other:?}, which an image cannot hold",
                    column.name()
                )));
            }
        };
        values.push(value);
    }
    Ok(values)
}

/// A load of an image into a store, in one transaction: on failure the
/// store is left as it was. Bodies written to a filesystem or S3 before a
/// failure are orphans the collector deletes.
pub struct Load {
    tx: WriteTx,
}

impl Store {
    /// Whether the store holds nothing an image would hold.
    pub async fn is_empty(&self) -> Result<bool> {
        for table in IMAGE_TABLES {
            let sql = format!("SELECT 1 FROM {table} LIMIT 1");
            if sqlx::query(AssertSqlSafe(sql))
                .fetch_optional(self.pool())
                .await?
                .is_some()
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Starts loading an image. With `replace`, everything the store held
    /// goes in the same transaction; without, a store that is not empty
    /// is refused.
    pub async fn load(&self, replace: bool) -> Result<Load> {
        let mut tx = self.begin().await?;
        if replace {
            for table in IMAGE_TABLES.iter().chain(NOT_IMAGED).rev() {
                if *table == "blobs" {
                    // Bodies kept outside go to the trash, for the collector.
                    sqlx::query(
                        "INSERT INTO blob_trash (location, freed_at) \
                         SELECT location, $1 FROM blobs WHERE location IS NOT NULL",
                    )
                    .bind(super::now())
                    .execute(tx.conn())
                    .await?;
                }
                let sql = format!("DELETE FROM {table}");
                sqlx::query(AssertSqlSafe(sql)).execute(tx.conn()).await?;
            }
        } else if !self.is_empty().await? {
            return Err(StoreError::BadImage(
                "the store is not empty; a restore would mix two stores".to_string(),
            ));
        }
        Ok(Load { tx })
    }
}

impl Load {
    /// Inserts rows of one of [`IMAGE_TABLES`] (not `blobs`), each the
    /// values of `columns` in that order.
    pub async fn insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<()> {
        if !IMAGE_TABLES.contains(&table) || table == "blobs" {
            return Err(StoreError::BadImage(format!(
                "`{table}` is not a table of an image"
            )));
        }
        let backend = self.tx.backend();
        let known = columns_of(self.tx.conn(), backend, table).await?;
        if let Some(unknown) = columns.iter().find(|c| !known.contains(c)) {
            return Err(StoreError::BadImage(format!(
                "table {table} has no column `{unknown}`"
            )));
        }
        // Within either backend's limit on parameters in one statement.
        let per_statement = (30_000 / columns.len().max(1)).clamp(1, 1000);
        for chunk in rows.chunks(per_statement) {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            let mut first = 1;
            for (index, row) in chunk.iter().enumerate() {
                if row.len() != columns.len() {
                    return Err(StoreError::BadImage(format!(
                        "a row of {table} has {} values for {} columns",
                        row.len(),
                        columns.len()
                    )));
                }
                if index > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&placeholders(first, row.len()));
                sql.push(')');
                first += row.len();
            }
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for value in chunk.iter().flatten() {
                query = match value {
                    Value::Null => query.bind(None::<i64>),
                    Value::String(text) => query.bind(text.clone()),
                    Value::Number(number) => match number.as_i64() {
                        Some(number) => query.bind(number),
                        None => return Err(bad_value(table, value)),
                    },
                    _ => return Err(bad_value(table, value)),
                };
            }
            query.execute(self.tx.conn()).await?;
        }
        Ok(())
    }

    /// Inserts `blobs` rows with their bodies, each put where the store
    /// keeps new bodies (all at once: each file or object is flushed on its
    /// own). The caller has checked each body against its hash.
    pub async fn insert_blobs(&mut self, blobs: Vec<(BlobEntry, Vec<u8>)>) -> Result<()> {
        let bodies: Vec<(BlobEntry, Arc<[u8]>)> = blobs
            .into_iter()
            .map(|(entry, body)| (entry, body.into()))
            .collect();
        let store = self.tx.store.clone();
        let puts = bodies
            .iter()
            .map(|(entry, body)| store.blobs().put(&entry.hash, body.clone()));
        let locations = futures_util::future::try_join_all(puts).await?;
        for ((entry, body), location) in bodies.iter().zip(locations) {
            let data = match location {
                Some(_) => &[][..],
                None => &body[..],
            };
            sqlx::query(
                "INSERT INTO blobs (hash, size, refcount, data, location) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&entry.hash)
            .bind(entry.size)
            .bind(entry.refcount)
            .bind(data)
            .bind(location.as_deref())
            .execute(self.tx.conn())
            .await?;
        }
        Ok(())
    }

    /// Commits the load. Leases of the source's workers are let go, and on
    /// PostgreSQL each id sequence is set past the ids loaded.
    pub async fn commit(mut self) -> Result<()> {
        for table in ["queue", "learning_jobs"] {
            let sql = format!("UPDATE {table} SET leased_until = 0, leased_by = NULL");
            sqlx::query(AssertSqlSafe(sql))
                .execute(self.tx.conn())
                .await?;
        }
        if self.tx.backend() == Backend::Postgres {
            for table in IMAGE_TABLES {
                let columns = columns_of(self.tx.conn(), Backend::Postgres, table).await?;
                if !columns.iter().any(|c| c == "id") {
                    continue;
                }
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .execute(self.tx.conn())
                    .await?;
            }
        }
        self.tx.commit().await
    }
}

fn bad_value(table: &str, value: &Value) -> StoreError {
    StoreError::BadImage(format!(
        "a row of {table} holds {value}, which is not an integer, a text or null"
    ))
}

//! The bench's PostgreSQL database: made (or reset) at the start, migrated
//! by the store itself, asked how big it is and which settings it runs
//! with, and watched for how the servers use their connections.

use postino_common::store::testing::with_database;
use sqlx::{Connection, PgConnection};

/// The settings that bear on the figures, printed with them.
pub const SETTINGS: [&str; 14] = [
    "server_version",
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "checkpoint_timeout",
    "synchronous_commit",
    "wal_compression",
    "random_page_cost",
    "effective_io_concurrency",
    "jit",
    "max_connections",
    "autovacuum",
];

/// Connects to the database at `url`; with `fresh`, first drops it and
/// creates it again empty, else creates it only if it is not there. The
/// connection runs with the server's settings; [`crate::fill`] changes
/// its own.
pub async fn open(url: &str, name: &str, fresh: bool) -> sqlx::Result<PgConnection> {
    let mut admin = PgConnection::connect(&with_database(url, "postgres")).await?;
    if fresh {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await?;
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let sql = format!("CREATE DATABASE {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await?;
    }
    admin.close().await?;
    PgConnection::connect(url).await
}

/// The values of [`SETTINGS`], as `name = value`.
pub async fn settings(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, current_setting(name) FROM unnest($1::text[]) AS s(name)")
            .bind(SETTINGS.as_slice())
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(name, value)| format!("{name} = {value}"))
        .collect())
}

/// How much the store holds: domains, folders, messages, and the
/// database's size on disk.
pub struct Size {
    pub domains: i64,
    pub folders: i64,
    pub messages: i64,
    pub bytes: i64,
}

pub async fn size(conn: &mut PgConnection) -> sqlx::Result<Size> {
    let (domains, folders, messages, bytes) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM domains), \
         (SELECT COUNT(*) FROM folders), (SELECT COUNT(*) FROM messages), \
         pg_database_size(current_database())",
    )
    .fetch_one(conn)
    .await?;
    Ok(Size {
        domains,
        folders,
        messages,
        bytes,
    })
}

/// How many mailboxes the bench loaded so far: the accounts are numbered
/// from 1 without gaps, or the database is not one the bench made.
pub async fn loaded(conn: &mut PgConnection) -> sqlx::Result<Option<usize>> {
    let (count, max): (i64, Option<i64>) = sqlx::query_as("SELECT COUNT(*), MAX(id) FROM accounts")
        .fetch_one(conn)
        .await?;
    Ok((count == max.unwrap_or(0)).then_some(count as usize))
}

/// One server's connections, by its `application_name`.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    pub node: String,
    pub total: i64,
    /// Those whose last statement was LISTEN: the change listener.
    pub listening: i64,
    /// Those running a statement at that moment.
    pub active: i64,
}

/// The connections of the servers (`application_name` `postino-node…`)
/// to this database, by server.
pub async fn connections(conn: &mut PgConnection) -> sqlx::Result<Vec<Connections>> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT application_name, COUNT(*), \
         COUNT(*) FILTER (WHERE query ILIKE 'LISTEN%'), \
         COUNT(*) FILTER (WHERE state = 'active') \
         FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'postino-node%' \
         GROUP BY application_name ORDER BY application_name",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(node, total, listening, active)| Connections {
            node,
            total,
            listening,
            active,
        })
        .collect())
}

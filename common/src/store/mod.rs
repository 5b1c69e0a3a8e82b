//! The mailbox store: one API over two backends, SQLite and PostgreSQL.
//!
//! Both run through sqlx's `Any` driver with the same SQL (numbered `$n`
//! parameters, `RETURNING`, `ON CONFLICT`), so every rule is written once.
//! Where the dialects differ the difference is a method of [`Backend`].
//!
//! Reads go straight to the pool. Writes run in a [`WriteTx`]: on SQLite
//! every write transaction runs on the one writer connection, which writers
//! take in turns (SQLite has one writer at a time, and waiting on a lock is
//! cheaper than its busy loop); the turn is held until the commit but not
//! while the commit is flushed to disk, which [`wal_sync`] does for many
//! commits at once. The hottest of them (STORE, EXPUNGE) run on a second
//! writer connection on which SQLite is called directly ([`direct`]).
//! On PostgreSQL transactions come from the pool, and row locks of accounts
//! and folders order concurrent writers.
//! Message appends are batched by [`append`] so that many of them share one
//! commit.

mod accounts;
mod admin_access;
mod admins;
mod aliases;
mod api_tokens;
pub mod append;
mod audit;
mod blob_refs;
mod blob_upkeep;
mod changes;
mod copy;
mod counters;
mod direct;
mod dkim;
mod domains;
mod expiry;
mod flags;
mod folders;
mod image;
mod imported;
mod in_list;
mod keywords;
mod learning;
mod lease;
mod log_chain;
mod messages;
mod mta_sts;
mod queue;
mod recent;
mod relay;
mod retention;
mod sending;
mod shares;
mod sieve_scripts;
mod sort_keys;
mod srs_secrets;
mod subscriptions;
mod throttle;
mod user_logins;
mod vanished;
mod wal_sync;
mod web_sessions;
mod writer_thread;

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::query::QueryAs;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, FromRow, Transaction};

use in_list::BindEach;
use thiserror::Error;

use crate::blobs::{BlobError, BlobStore};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use accounts::{Account, Credentials, NewAccount};
pub use admin_access::{AccessMethod, AccessRecord, AdminAccess};
pub use admins::{Admin, AdminScope};
pub use aliases::{Alias, Recipient};
pub use api_tokens::ApiToken;
pub use append::{
    AppendTarget, Appended, NewMessage, Origin, Outbound, OutboundRecipient, Outcome, Refusal,
    Stored,
};
pub use audit::{AuditEntry, AuditQuery, AuditRecord};
pub use blob_upkeep::{BlobCheck, BlobProblem};
pub use changes::{Change, ChangeKind, QueueWatch, Watch};
pub use copy::UidMap;
pub use dkim::{DkimKey, DkimKeyState, DkimRotation, NewDkimKey};
pub use domains::{Domain, DomainPolicy, NewDomain};
pub use expiry::ExpiringFolder;
pub use flags::{FlagChange, FlagOp, FlagsStored};
pub use folders::{Folder, SpecialUse, Usage};
pub use image::{BLOB_COLUMNS, BlobEntry, IMAGE_TABLES, Load, NOT_IMAGED, Snapshot};
pub use keywords::Keywords;
pub use learning::{LearningJob, Lesson, UnknownLesson};
pub use lease::holder_name;
pub use log_chain::{ChainBreak, ChainReport, LogChain};
pub use messages::{Columns, Flags, MessageDetails, MessageSummary, UsageDrift};
pub use mta_sts::CachedPolicy;
pub use queue::{
    LeasedMessage, QueueEntry, QueueStats, QueuedRecipient, RecipientOutcome, RecipientResult,
    RecipientState,
};
pub use relay::{NetworkError, NewRelayClient, RelayClient, RelayClientUpdate, parse_network};
pub use retention::METADATA_TABLES;
pub use sending::{LimitHit, LimitsOf, MESSAGE_WINDOW, RECIPIENT_WINDOW, Sending, SentBy};
pub use shares::{Share, SharedFolder};
pub use sieve_scripts::{DeliveryPoint, ScriptSource, SieveScript, check_script_name};
pub use sort_keys::SortRow;
pub use throttle::FailureCounts;
pub use user_logins::UserLogin;
pub use vanished::KEPT_FOR as EXPUNGED_KEPT_FOR;
pub use web_sessions::{SessionOwner, WebSession};

/// A boolean column, stored as 0 or 1 by both backends. Row types read it
/// through this (`#[sqlx(try_from = "IntFlag")]`) and show a `bool`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct IntFlag(i64);

impl From<IntFlag> for bool {
    fn from(flag: IntFlag) -> bool {
        flag.0 != 0
    }
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The statement that opens a write transaction.
    fn begin_write(self) -> &'static str {
        match self {
            // Take the write lock at once: a deferred transaction that reads
            // and then writes can fail with SQLITE_BUSY_SNAPSHOT, unretried.
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// The query of a folder's UIDs (`$1`) as one comma-separated text.
    fn uid_list(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SELECT group_concat(uid) FROM (SELECT uid FROM messages WHERE folder_id = $1)"
            }
            Backend::Postgres => {
                "SELECT string_agg(CAST(uid AS TEXT), ',') FROM messages WHERE folder_id = $1"
            }
        }
    }
}

/// A store operation that could not complete.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database error")]
    Direct(#[from] rusqlite::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{what} `{name}` already exists")]
    AlreadyExists { what: &'static str, name: String },
    #[error("{what} `{name}` does not exist")]
    NotFound { what: &'static str, name: String },
    #[error("domain `{domain}` already has its maximum of {max} mailboxes")]
    MailboxLimit { domain: String, max: i64 },
    #[error("domain `{domain}` still has {count} mailboxes")]
    DomainNotEmpty { domain: String, count: i64 },
    #[error("sieve script name `{name}` {problem}")]
    BadScriptName { name: String, problem: &'static str },
    #[error("the mailbox's sieve scripts would take {needed} bytes, over their limit of {limit}")]
    ScriptSpace { needed: u64, limit: u64 },
    #[error("sieve script `{0}` is active; deactivate it first")]
    ScriptActive(String),
    #[error("the message store's writer has stopped")]
    WriterGone,
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("{0}")]
    BadImage(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How to reach the database.
#[derive(Debug, Clone)]
pub enum Location<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

/// A handle on the store; cheap to clone, shared by every service.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's one writer connection, taken in turns; `None` on
    /// PostgreSQL.
    writer: Option<Arc<Mutex<Writer>>>,
    /// Makes SQLite commits durable, many at a time; `None` on PostgreSQL,
    /// whose commits are durable when they return.
    wal_sync: Option<wal_sync::WalSync>,
    /// Runs SQLite's hot write transactions; `None` on PostgreSQL.
    writer_thread: Option<writer_thread::WriterThread>,
    changes: changes::Hub,
    appender: append::Handle,
    /// Where message bodies are kept, when not in `blobs.data`.
    blobs: BlobStore,
}

impl Store {
    /// Opens (creating it if needed) and migrates the store, which keeps
    /// new message bodies in `blobs`.
    pub async fn open(
        location: Location<'_>,
        max_connections: u32,
        blobs: BlobStore,
    ) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let mut database = None;
        let (backend, url) = match location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
                database = Some(path.to_path_buf());
                (
                    Backend::Sqlite,
                    format!("sqlite://{}?mode=rwc", path.display()),
                )
            }
            Location::Postgres(url) => (Backend::Postgres, url.to_string()),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await?;
        let mut migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        // Nodes are upgraded one at a time: a node of the previous release
        // must still start once a newer one has added its migrations, which
        // only ever add to the schema (see the README's "Upgrades"). Several
        // nodes starting at once take turns through an advisory lock on
        // PostgreSQL, so each migration runs once; on SQLite, where sqlx
        // takes no lock, processes (a server and a command started beside
        // it) take turns through a lock on a file beside the database.
        migrator.set_ignore_missing(true);
        let turn = match &database {
            Some(path) => Some(migration_turn(path).await?),
            None => None,
        };
        migrator.run(&pool).await?;
        drop(turn);
        let changes = match backend {
            Backend::Sqlite => changes::Hub::local(),
            Backend::Postgres => changes::Hub::postgres(&url).await?,
        };
        let wal_sync = database
            .clone()
            .map(wal_sync::WalSync::start)
            .transpose()
            .map_err(sqlx::Error::Io)?;
        let writer = match backend {
            Backend::Sqlite => {
                let path = database.as_deref().ok_or(StoreError::WriterGone)?;
                Some(Arc::new(Mutex::new(Writer::open(&options, path).await?)))
            }
            Backend::Postgres => None,
        };
        let writer_thread = match backend {
            Backend::Sqlite => Some(writer_thread::WriterThread::start().map_err(sqlx::Error::Io)?),
            Backend::Postgres => None,
        };
        let inner = Arc::new_cyclic(|weak| Inner {
            pool,
            backend,
            writer,
            wal_sync,
            appender: append::Handle::spawn(weak.clone(), writer_thread.as_ref()),
            writer_thread,
            changes,
            blobs,
        });
        Ok(Store { inner })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// Where message bodies are kept.
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.pool().execute("SELECT 1").await?;
        Ok(())
    }

    /// Starts a write transaction; nothing is visible to others before
    /// [`WriteTx::commit`], and dropping it rolls back.
    pub async fn begin(&self) -> Result<WriteTx> {
        let started = Instant::now();
        let tx = match &self.inner.writer {
            Some(writer) => {
                let mut turn = writer.clone().lock_owned().await;
                crate::metrics::lock_waited(started.elapsed());
                turn.begin().await?;
                Open::Writer(Some(turn))
            }
            None => Open::Pooled(self.pool().begin_with(self.backend().begin_write()).await?),
        };
        Ok(WriteTx {
            tx,
            started,
            store: self.clone(),
            pending: Vec::new(),
            queue_due: false,
        })
    }

    /// Runs one statement as a transaction of its own, for a write whose
    /// loss in a crash costs nothing: on SQLite in the writer's turn, with
    /// no BEGIN and COMMIT around it and no wait for the disk; on
    /// PostgreSQL on any connection. Returns the row it returns, if any.
    async fn write_alone<O>(
        &self,
        query: QueryAs<'static, Any, O, AnyArguments>,
    ) -> Result<Option<O>>
    where
        O: Send + Unpin + 'static + for<'r> FromRow<'r, AnyRow>,
    {
        let Some(writer) = self.inner.writer.clone() else {
            return Ok(query.fetch_optional(self.pool()).await?);
        };
        self.on_writer_thread(async move {
            let mut turn = writer_turn(writer).await?;
            Ok(query.fetch_optional(turn.conn()?).await?)
        })
        .await
    }

    /// Runs `work` with a new write transaction, on SQLite on the writer's
    /// own thread (see [`writer_thread`]); `work` commits it or drops it.
    pub async fn write<T, F, Fut>(&self, work: F) -> Result<T>
    where
        F: FnOnce(WriteTx) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        self.on_writer_thread(async move { work(store.begin().await?).await })
            .await
    }

    /// Runs `work` with a new write transaction as [`Store::write`] does,
    /// on SQLite on the direct writer connection (see [`direct`]): every
    /// statement of `work` must go through [`WriteTx::fetch`] or
    /// [`WriteTx::run`].
    async fn write_direct<T, F, Fut>(&self, work: F) -> Result<T>
    where
        F: FnOnce(WriteTx) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let Some(writer) = self.inner.writer.clone() else {
            return self.write(work).await;
        };
        let store = self.clone();
        self.on_writer_thread(async move {
            let started = Instant::now();
            let mut turn = writer_turn(writer).await?;
            let direct = turn.direct()?;
            // A rollback that failed when a transaction was dropped.
            if !direct.is_autocommit() {
                direct.execute_batch("ROLLBACK")?;
            }
            direct.execute_batch(Backend::Sqlite.begin_write())?;
            work(WriteTx {
                tx: Open::Direct(Some(turn)),
                started,
                store,
                pending: Vec::new(),
                queue_due: false,
            })
            .await
        })
        .await
    }

    /// Runs a write transaction on SQLite's writer thread, or where it is
    /// on PostgreSQL, whose writers do not take turns.
    async fn on_writer_thread<T, F>(&self, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        match &self.inner.writer_thread {
            Some(thread) => thread.run(work).await,
            None => work.await,
        }
    }

    /// Closes every database connection, the change listener's too.
    pub async fn close(&self) {
        self.inner.changes.stop_listener().await;
        if let Some(writer) = &self.inner.writer {
            writer.lock().await.close().await;
        }
        self.inner.pool.close().await;
    }
}

/// Waits for SQLite's writer's turn, and rolls back what a writer dropped
/// without committing left open on its sqlx connection.
async fn writer_turn(writer: Arc<Mutex<Writer>>) -> Result<OwnedMutexGuard<Writer>> {
    let started = Instant::now();
    let mut turn = writer.lock_owned().await;
    crate::metrics::lock_waited(started.elapsed());
    if turn.open {
        turn.rollback().await?;
    }
    Ok(turn)
}

/// Waits for this process's turn to migrate the SQLite database at
/// `path`: an exclusive lock on `path.migrating`, held until the returned
/// file is dropped.
async fn migration_turn(path: &Path) -> Result<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".migrating");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(sqlx::Error::Io)?;
    let locked = tokio::task::spawn_blocking(move || file.lock().map(|()| file)).await;
    Ok(locked
        .map_err(|err| sqlx::Error::Io(std::io::Error::other(err)))?
        .map_err(sqlx::Error::Io)?)
}

/// What every SQLite connection is opened with. WAL lets readers run beside
/// the writer. NORMAL leaves flushing the WAL to [`wal_sync`], which makes
/// each commit durable before it is reported done, for many commits at a
/// time. No memory map: a connection drops its map (and its page cache)
/// whenever another has written, which here is all the time.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;";

/// What SQLite's writer connections have besides: a larger page cache,
/// since theirs is valid from one transaction to the next.
const WRITER_PRAGMAS: &str = "PRAGMA cache_size = -16384;";

/// SQLite's writer connections, through sqlx and direct (see [`direct`]),
/// taken in turns together. A connection's page cache stays valid from
/// one transaction to the next unless the other wrote in between, so they
/// are given a larger one than the readers'. Each checkpoints the log, as
/// SQLite does by default, in the commit that fills it.
struct Writer {
    conn: Option<AnyConnection>,
    /// The connection of the transactions SQLite is called on directly.
    direct: Option<rusqlite::Connection>,
    /// A transaction was left open by a writer dropped without committing;
    /// the next one rolls it back first.
    open: bool,
}

impl Writer {
    async fn open(options: &AnyConnectOptions, path: &Path) -> Result<Writer> {
        let mut conn = AnyConnection::connect_with(options).await?;
        conn.execute(SQLITE_PRAGMAS).await?;
        conn.execute(WRITER_PRAGMAS).await?;
        Ok(Writer {
            conn: Some(conn),
            direct: Some(direct::open(path)?),
            open: false,
        })
    }

    fn conn(&mut self) -> Result<&mut AnyConnection> {
        self.conn.as_mut().ok_or(StoreError::WriterGone)
    }

    fn direct(&mut self) -> Result<&mut rusqlite::Connection> {
        self.direct.as_mut().ok_or(StoreError::WriterGone)
    }

    async fn begin(&mut self) -> Result<()> {
        if self.open {
            self.rollback().await?;
        }
        self.conn()?.execute(Backend::Sqlite.begin_write()).await?;
        self.open = true;
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        self.conn()?.execute("COMMIT").await?;
        self.open = false;
        Ok(())
    }

    async fn rollback(&mut self) -> Result<()> {
        self.conn()?.execute("ROLLBACK").await?;
        self.open = false;
        Ok(())
    }

    async fn close(&mut self) {
        self.direct = None;
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// The connection a [`WriteTx`] writes on.
enum Open {
    /// PostgreSQL: a pooled connection in a transaction.
    Pooled(Transaction<'static, Any>),
    /// SQLite: the writer's turn, held until the commit; `None` once
    /// committed.
    Writer(Option<OwnedMutexGuard<Writer>>),
    /// SQLite: the writer's turn, the transaction on its direct
    /// connection; `None` once committed.
    Direct(Option<OwnedMutexGuard<Writer>>),
}

/// When a commit returns.
///
/// Every commit is atomic, and nothing is ever acknowledged half done. Most
/// wait until the commit is on disk. Flag changes need not: like Dovecot's
/// default (`mail_fsync = optimized`), which leaves its index files to the
/// kernel, a STORE is answered once committed, and the flush follows at
/// once, shared with other commits. Killing the server loses nothing (the
/// commit is with the database); only a crash of the machine in those few
/// milliseconds can take back the last flag changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    Flushed,
    FlushedLater,
}

/// An open write transaction.
pub struct WriteTx {
    tx: Open,
    /// When [`Store::begin`] was called.
    started: Instant,
    store: Store,
    /// Changes to announce once the transaction is committed.
    pending: Vec<Change>,
    /// Whether the commit makes queued mail due, and must wake the
    /// delivery workers.
    queue_due: bool,
}

impl WriteTx {
    fn conn(&mut self) -> &mut AnyConnection {
        match &mut self.tx {
            Open::Pooled(tx) => tx,
            Open::Writer(turn) => turn
                .as_mut()
                .and_then(|writer| writer.conn.as_mut())
                .expect("a write transaction is used before its commit, while the store is open"),
            Open::Direct(_) => {
                unreachable!("a direct write transaction runs every statement through direct")
            }
        }
    }

    fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Makes every change of this transaction durable, then announces it.
    pub async fn commit(self) -> Result<()> {
        self.finish(Durability::Flushed).await
    }

    /// Commits and announces the changes without waiting for the disk
    /// flush, which follows within milliseconds; see [`Durability`].
    pub(crate) async fn commit_flushed_later(self) -> Result<()> {
        self.finish(Durability::FlushedLater).await
    }

    async fn finish(mut self, durability: Durability) -> Result<()> {
        let started = Instant::now();
        let pending = std::mem::take(&mut self.pending);
        match std::mem::replace(&mut self.tx, Open::Writer(None)) {
            Open::Pooled(mut tx) => {
                // What the commit needs set first, in one round trip.
                let mut calls = Vec::new();
                let mut values = Vec::new();
                if durability == Durability::FlushedLater {
                    // PostgreSQL's WAL writer flushes it within a few
                    // hundred milliseconds; the commit is atomic either way.
                    calls.push("set_config('synchronous_commit', 'off', true)".to_string());
                }
                // NOTIFY is delivered at commit, to this node's listener too.
                for change in &pending {
                    values.extend([changes::CHANNEL.to_string(), change.encode()]);
                    calls.push(format!(
                        "pg_notify(${}, ${})",
                        values.len() - 1,
                        values.len()
                    ));
                }
                if self.queue_due {
                    values.push(changes::QUEUE_CHANNEL.to_string());
                    calls.push(format!("pg_notify(${}, '')", values.len()));
                }
                if !calls.is_empty() {
                    let sql = format!("SELECT {}", calls.join(", "));
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind_each(values.iter().map(String::as_str))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Open::Writer(turn) => {
                let mut turn = turn.ok_or(StoreError::WriterGone)?;
                turn.commit().await?;
                self.store.flush(turn, durability).await?;
            }
            Open::Direct(turn) => {
                let mut turn = turn.ok_or(StoreError::WriterGone)?;
                turn.direct()?.execute_batch("COMMIT")?;
                self.store.flush(turn, durability).await?;
            }
        }
        crate::metrics::commit_took(started.elapsed());
        crate::metrics::write_took(self.started.elapsed());
        if self.store.backend() == Backend::Sqlite {
            for change in pending {
                self.store.inner.changes.publish(change);
            }
            if self.queue_due {
                self.store.inner.changes.wake_queue();
            }
        }
        Ok(())
    }
}

impl Store {
    /// Gives up SQLite's writer's turn after a commit, and makes the commit
    /// durable as `durability` asks.
    async fn flush(&self, turn: OwnedMutexGuard<Writer>, durability: Durability) -> Result<()> {
        // The next writer may go while this commit is being flushed.
        drop(turn);
        if let Some(wal_sync) = &self.inner.wal_sync {
            match durability {
                Durability::Flushed => wal_sync.durable().await?,
                Durability::FlushedLater => wal_sync.flush_soon(),
            }
        }
        Ok(())
    }
}

impl WriteTx {
    /// Locks one folder's row on PostgreSQL, for changes that touch no
    /// usage counter (flags). Taken alone it cannot deadlock with
    /// [`WriteTx::lock_folders`], which takes it last.
    pub(crate) async fn lock_folder(&mut self, folder_id: i64) -> Result<()> {
        if self.backend() == Backend::Postgres {
            let started = Instant::now();
            sqlx::query("SELECT id FROM folders WHERE id = $1 FOR UPDATE")
                .bind(folder_id)
                .execute(self.conn())
                .await?;
            crate::metrics::lock_waited(started.elapsed());
        }
        Ok(())
    }

    /// Takes the row locks that changing mail in these folders needs, in the
    /// one order every writer uses — accounts, then folders, each by id —
    /// so that concurrent PostgreSQL transactions cannot deadlock. The
    /// account's row carries its usage; the domain's is never locked, so
    /// the mailboxes of one comune are written in parallel. On SQLite the
    /// transaction already excludes other writers.
    pub(crate) async fn lock_folders(&mut self, folder_ids: &[i64]) -> Result<()> {
        if self.backend() == Backend::Sqlite || folder_ids.is_empty() {
            return Ok(());
        }
        let mut folders = folder_ids.to_vec();
        folders.sort_unstable();
        folders.dedup();
        let started = Instant::now();
        let list = in_list::placeholders(1, folders.len());
        let statements = [
            format!(
                "SELECT id FROM accounts WHERE id IN \
                 (SELECT account_id FROM folders WHERE id IN ({list})) ORDER BY id FOR UPDATE"
            ),
            format!("SELECT id FROM folders WHERE id IN ({list}) ORDER BY id FOR UPDATE"),
        ];
        for sql in statements {
            let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind_each(&folders);
            query.execute(self.conn()).await?;
        }
        crate::metrics::lock_waited(started.elapsed());
        Ok(())
    }
}

impl Drop for WriteTx {
    /// Rolls back a transaction not committed. A pooled one does so itself;
    /// the SQLite writer keeps its turn until the rollback is done.
    fn drop(&mut self) {
        match std::mem::replace(&mut self.tx, Open::Writer(None)) {
            Open::Writer(Some(mut turn)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        if let Err(err) = turn.rollback().await {
                            tracing::warn!(error = %err, "rolling back a write transaction failed");
                        }
                    });
                }
            }
            // SQLite called directly answers at once: no need to wait.
            Open::Direct(Some(mut turn)) => {
                if let Err(err) = turn
                    .direct()
                    .and_then(|conn| Ok(conn.execute_batch("ROLLBACK")?))
                {
                    tracing::warn!(error = %err, "rolling back a write transaction failed");
                }
            }
            _ => {}
        }
    }
}

/// True when a PostgreSQL transaction failed only because it raced another
/// (deadlock or serialization failure) and may simply be run again.
fn is_transient(err: &StoreError) -> bool {
    matches!(err, StoreError::Database(sqlx::Error::Database(db))
        if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// An insert's result, its unique-constraint violation told as the
/// `what` called `name` already existing (a concurrent writer may get there
/// between a check and the insert).
fn inserted<T>(
    result: std::result::Result<T, sqlx::Error>,
    what: &'static str,
    name: impl FnOnce() -> String,
) -> Result<T> {
    match result {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            Err(StoreError::AlreadyExists { what, name: name() })
        }
        other => Ok(other?),
    }
}

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::error::{StoreResult, map_err};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { max_connections: 16 }
    }
}

#[derive(Clone)]
enum Backend {
    /// Readers share a pool; all writes go through a single connection, so writers queue in
    /// process instead of fighting over SQLite's file lock.
    Sqlite {
        read: SqlitePool,
        write: Arc<tokio::sync::Mutex<Writer>>,
        file: Arc<DbFile>,
    },
    Postgres(PgPool),
}

/// SQLite's one write connection, held outside any pool: a pool pings each connection given back
/// to it, one more round trip to the connection's thread per write transaction.
struct Writer {
    /// `None` once the store is closed, or after a fault until it is opened again.
    conn: Option<SqliteConnection>,
    /// A transaction is open on it (begun, and neither committed nor rolled back yet).
    open: bool,
    /// The store was closed: the connection is not opened again.
    closed: bool,
    /// How to open the connection again after a fault.
    options: SqliteConnectOptions,
    file: DbFile,
}

/// The SQLite database file and the identity (device, inode) it had when the store opened it.
/// A file deleted or replaced under the running server would take every later commit with it
/// (the server keeps writing to the unlinked inode, and a restart opens another file), so
/// writes are refused once the path no longer names the file that was opened.
#[derive(Debug, Clone)]
pub(crate) struct DbFile {
    pub(crate) path: std::path::PathBuf,
    identity: Option<(u64, u64)>,
}

impl DbFile {
    fn identity_of(path: &Path) -> Option<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }

    fn open(path: &Path) -> DbFile {
        DbFile { path: path.to_path_buf(), identity: Self::identity_of(path) }
    }

    /// `Err` says why the file is no longer the one that was opened, or cannot be written.
    pub(crate) fn check(&self) -> Result<(), String> {
        match (Self::identity_of(&self.path), self.identity) {
            (None, _) => Err(format!("the database file {} was deleted", self.path.display())),
            (Some(now), Some(then)) if now != then => {
                Err(format!("the database file {} was replaced by another file", self.path.display()))
            }
            _ => self.check_writable(),
        }
    }

    /// `Err` when the database, its WAL or its shared-memory index is immutable or append-only
    /// (`chattr +i` / `+a`). SQLite maps the shared-memory index into memory and every reader and
    /// writer stores into it; a store into a page of an immutable file is answered by the kernel
    /// with SIGBUS, which would kill the server. So nothing touches the database while the flag
    /// is set. (A flag set between this check and the next store into the index still kills it:
    /// the check narrows that window to microseconds, it cannot close it.)
    pub(crate) fn check_writable(&self) -> Result<(), String> {
        use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags};
        let mut names = vec![self.path.clone()];
        for ext in ["-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(ext);
            names.push(p.into());
        }
        for name in names {
            let Ok(st) = rustix::fs::statx(CWD, &name, AtFlags::empty(), StatxFlags::BASIC_STATS) else { continue };
            if st.stx_attributes.intersects(StatxAttributes::IMMUTABLE | StatxAttributes::APPEND) {
                return Err(format!("the database file {} is immutable or append-only (chattr)", name.display()));
            }
        }
        Ok(())
    }
}

fn unavailable(reason: impl Into<String>) -> crate::StoreError {
    crate::StoreError::Unavailable { reason: reason.into() }
}

impl Writer {
    fn conn(&mut self) -> StoreResult<&mut SqliteConnection> {
        if self.closed {
            return Err(map_err(sqlx::Error::PoolClosed));
        }
        self.conn.as_mut().ok_or_else(|| unavailable("the database connection is being reopened"))
    }

    /// Makes the connection ready for a new transaction: rolls back what a dropped or failed
    /// transaction left open, and opens the connection again if a fault left it unusable.
    /// SQLite itself ends a transaction on some errors (a full disk, an I/O error); the
    /// `ROLLBACK` that then answers "no transaction is active" has nothing left to undo.
    async fn settle(&mut self) -> StoreResult<()> {
        if self.closed {
            return Err(map_err(sqlx::Error::PoolClosed));
        }
        if self.open {
            self.open = false;
            let rolled = match self.conn.as_mut() {
                Some(c) => sqlx::query("ROLLBACK").execute(c).await.map(|_| ()),
                None => Ok(()),
            };
            if let Err(e) = rolled
                && !e.to_string().contains("no transaction is active")
            {
                tracing::warn!(error = %e, "rolling back on the SQLite writer failed; reopening it");
                if let Some(c) = self.conn.take() {
                    let _ = c.close().await;
                }
            }
        }
        if self.conn.is_none() {
            let c = SqliteConnection::connect_with(&self.options).await.map_err(map_err)?;
            self.conn = Some(c);
            tracing::info!("SQLite writer reopened");
        }
        Ok(())
    }

    async fn begin(&mut self) -> StoreResult<()> {
        self.settle().await?;
        self.file.check().map_err(unavailable)?;
        sqlx::query("BEGIN IMMEDIATE").execute(self.conn()?).await.map_err(map_err)?;
        self.open = true;
        Ok(())
    }
}

/// The database. Cheap to clone (pools are reference-counted).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Free space in the SQLite database's folder below which the health check fails, in bytes.
    min_free_bytes: Arc<std::sync::atomic::AtomicU64>,
}

/// Default of [`Store::set_min_free_bytes`]: 64 MiB.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.engine())
    }
}

/// A borrowed connection of either engine; every store function takes one.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Runs the same expression on whichever engine `$c` is: the body is type-checked once per engine.
macro_rules! on {
    ($c:expr, $e:ident => $body:expr) => {
        match $c {
            $crate::Conn::Sqlite(x) => {
                let $e = &mut **x;
                $body
            }
            $crate::Conn::Postgres(x) => {
                let $e = &mut **x;
                $body
            }
        }
    };
}
pub(crate) use on;

/// `format!` for SQL text assembled from our own constants (column lists, inlined integer ids).
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}
pub(crate) use sql;

impl Conn<'_> {
    /// How many rows one multi-row INSERT of `columns` parameters each should carry.
    /// ENGINE: sqlx's SQLite binding looks parameters up by name, which grows with the square of
    /// their number; a few hundred per statement keeps it cheap. PostgreSQL takes thousands.
    pub fn rows_per_insert(&self, columns: usize) -> usize {
        let params = match self {
            Conn::Sqlite(_) => 240,
            Conn::Postgres(_) => 6000,
        };
        (params / columns.max(1)).max(1)
    }
}

/// A write transaction. Dropping it without `commit` rolls back.
pub struct Tx {
    inner: TxInner,
    /// The audit chain head once read in this transaction, so batches append without re-reading.
    pub(crate) audit_head: Option<(i64, String)>,
}

enum TxInner {
    /// `None` only while being dropped.
    Sqlite(Option<tokio::sync::OwnedMutexGuard<Writer>>),
    Postgres(Transaction<'static, Postgres>),
}

impl Drop for Tx {
    fn drop(&mut self) {
        // A transaction dropped without commit rolls back. On PostgreSQL sqlx does that; SQLite's
        // writer does it here in the background, or at the latest when the next transaction begins.
        if let TxInner::Sqlite(g) = &mut self.inner
            && let Some(mut g) = g.take()
            && g.open
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = g.settle().await {
                    tracing::warn!(error = %e, "rolling back a dropped SQLite transaction");
                }
            });
        }
    }
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(Some(g)) => match g.conn.as_mut() {
                Some(c) => Conn::Sqlite(c),
                None => unreachable!("begin checked the writer is open, and it stays locked"),
            },
            TxInner::Sqlite(None) => unreachable!("the writer is taken only when the transaction is dropped"),
            TxInner::Postgres(t) => Conn::Postgres(&mut *t),
        }
    }

    /// Marks a point inside the transaction that `rollback_to` returns to: the group commit of
    /// case intake runs several requests in one transaction, and a request that fails must leave
    /// no trace while the others commit. Savepoints do not nest here: release or roll back one
    /// before taking the next.
    pub async fn savepoint(&mut self) -> StoreResult<Savepoint> {
        on!(&mut self.conn(), e => sqlx::query("SAVEPOINT ld_sp").execute(e).await.map(|_| ()).map_err(map_err))?;
        Ok(Savepoint { audit_head: self.audit_head.clone() })
    }

    /// Undoes everything since the savepoint, including audit events appended after it.
    pub async fn rollback_to(&mut self, sp: Savepoint) -> StoreResult<()> {
        on!(&mut self.conn(), e => sqlx::query("ROLLBACK TO SAVEPOINT ld_sp").execute(e).await.map(|_| ()).map_err(map_err))?;
        on!(&mut self.conn(), e => sqlx::query("RELEASE SAVEPOINT ld_sp").execute(e).await.map(|_| ()).map_err(map_err))?;
        self.audit_head = sp.audit_head;
        Ok(())
    }

    /// Keeps what was done since the savepoint (it commits or rolls back with the transaction).
    pub async fn release(&mut self, _sp: Savepoint) -> StoreResult<()> {
        on!(&mut self.conn(), e => sqlx::query("RELEASE SAVEPOINT ld_sp").execute(e).await.map(|_| ()).map_err(map_err))?;
        Ok(())
    }

    pub async fn commit(mut self) -> StoreResult<()> {
        match &mut self.inner {
            TxInner::Sqlite(Some(g)) => {
                // The last check before a commit is acknowledged: a deleted or replaced file
                // would lose it at the next restart.
                if let Err(why) = g.file.check() {
                    let _ = g.settle().await;
                    return Err(unavailable(why));
                }
                match sqlx::query("COMMIT").execute(g.conn()?).await {
                    Ok(_) => {
                        g.open = false;
                        Ok(())
                    }
                    Err(e) => {
                        // Nothing was committed; leave the writer ready for the next transaction.
                        let err = map_err(e);
                        if let Err(s) = g.settle().await {
                            tracing::warn!(error = %s, "settling the SQLite writer after a failed commit");
                        }
                        Err(err)
                    }
                }
            }
            TxInner::Sqlite(None) => Ok(()),
            TxInner::Postgres(_) => {
                let TxInner::Postgres(t) = std::mem::replace(&mut self.inner, TxInner::Sqlite(None)) else {
                    unreachable!("matched above")
                };
                t.commit().await.map_err(map_err)
            }
        }
    }
}

/// A point inside a transaction to roll back to (see `Tx::savepoint`).
#[must_use = "release the savepoint or roll back to it"]
pub struct Savepoint {
    audit_head: Option<(i64, String)>,
}

/// A pooled connection for reads outside a transaction.
pub enum ReadHandle {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl ReadHandle {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            ReadHandle::Sqlite(c) => Conn::Sqlite(&mut *c),
            ReadHandle::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

impl Store {
    /// Opens `sqlite://PATH` (created if missing) or `postgres://…`. Does not migrate.
    pub async fn connect(url: &str, opts: &StoreOptions) -> StoreResult<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pg = PgConnectOptions::from_str(url).map_err(map_err)?.application_name("loopdesk");
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(pg)
                .await
                .map_err(map_err)?;
            return Ok(Store { backend: Backend::Postgres(pool), min_free_bytes: Default::default() }.with_defaults());
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        Self::open_sqlite(Path::new(path), opts).await
    }

    async fn open_sqlite(path: &Path, opts: &StoreOptions) -> StoreResult<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        // synchronous=FULL: a commit is on disk before it is acknowledged (spec C13).
        let base = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Page cache per connection, in KiB: 32 MB for the writer, whose index pages are hot,
            // 8 MB for each reader (the kernel's file cache serves the rest), so eight readers
            // and the writer stay within about 100 MB.
            .pragma("cache_size", "-8000");
        let write_opts = base.clone().pragma("cache_size", "-32000");
        let write = SqliteConnection::connect_with(&write_opts).await.map_err(map_err)?;
        let file = DbFile::open(path);
        let write = Arc::new(tokio::sync::Mutex::new(Writer {
            conn: Some(write),
            open: false,
            closed: false,
            options: write_opts,
            file: file.clone(),
        }));
        // A connection to a local file cannot go stale: no ping before each use.
        // Readers beyond two per core only add page caches: SQLite reads run on the caller's cores.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let readers = opts.max_connections.min(u32::try_from(2 * cores).unwrap_or(8)).clamp(1, 8);
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await
            .map_err(map_err)?;
        Ok(Store { backend: Backend::Sqlite { read, write, file: Arc::new(file) }, min_free_bytes: Default::default() }
            .with_defaults())
    }

    fn with_defaults(self) -> Store {
        self.set_min_free_bytes(DEFAULT_MIN_FREE_BYTES);
        self
    }

    /// Sets the free space (bytes) the SQLite database's folder must keep for the health check
    /// to pass; 0 turns that check off.
    pub fn set_min_free_bytes(&self, bytes: u64) {
        self.min_free_bytes.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// What keeps the database from taking writes now, each in words; empty when healthy.
    /// On SQLite: the file deleted or replaced under the server, free space in its folder below
    /// the threshold. On both engines: a write probe (one row of `health_probe` updated and
    /// committed through the same path as every write) that fails.
    pub async fn health(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Backend::Sqlite { file, .. } = &self.backend {
            if let Err(why) = file.check() {
                problems.push(why);
            }
            let min = self.min_free_bytes.load(std::sync::atomic::Ordering::Relaxed);
            let dir = file.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            match rustix::fs::statvfs(dir) {
                Ok(st) => {
                    let free = st.f_bavail.saturating_mul(st.f_frsize);
                    if free < min {
                        problems.push(format!(
                            "free space in {} is {} KiB, below the threshold of {} KiB",
                            dir.display(),
                            free / 1024,
                            min / 1024
                        ));
                    }
                }
                Err(e) => problems.push(format!("cannot read free space of {}: {e}", dir.display())),
            }
        }
        if let Err(e) = self.write_probe().await {
            problems.push(format!("write probe failed: {e}"));
        }
        problems
    }

    async fn write_probe(&self) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let now = chrono::Utc::now();
        on!(&mut tx.conn(), e => sqlx::query(
            "INSERT INTO health_probe (id, probed_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at"
        )
        .bind(now)
        .execute(e)
        .await
        .map(|_| ())
        .map_err(map_err))?;
        tx.commit().await
    }

    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite { .. } => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> StoreResult<usize> {
        let before = self.applied_migrations().await.unwrap_or(0);
        match &self.backend {
            Backend::Sqlite { write, .. } => {
                let mut w = write.lock().await;
                w.settle().await?;
                SQLITE_MIGRATIONS.run(w.conn()?).await?
            }
            Backend::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> StoreResult<usize> {
        let mut h = self.read().await?;
        let n: i64 = on!(&mut h.conn(), e => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(e)
            .await
            .map_err(map_err))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Pending migrations as (version, description).
    pub async fn pending_migrations(&self) -> StoreResult<Vec<(i64, String)>> {
        let applied: Vec<i64> = {
            let mut h = self.read().await?;
            on!(&mut h.conn(), e => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(e)
                .await)
            .unwrap_or_default()
        };
        let m = match self.engine() {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        Ok(m.iter().filter(|m| !applied.contains(&m.version)).map(|m| (m.version, m.description.to_string())).collect())
    }

    pub async fn read(&self) -> StoreResult<ReadHandle> {
        Ok(match &self.backend {
            Backend::Sqlite { read, file, .. } => {
                file.check_writable().map_err(unavailable)?;
                ReadHandle::Sqlite(read.acquire().await.map_err(map_err)?)
            }
            Backend::Postgres(p) => ReadHandle::Postgres(p.acquire().await.map_err(map_err)?),
        })
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so a transaction never fails half-way because another process wrote first.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let inner = match &self.backend {
            Backend::Sqlite { write, .. } => {
                let mut w = write.clone().lock_owned().await;
                w.begin().await?;
                TxInner::Sqlite(Some(w))
            }
            Backend::Postgres(p) => TxInner::Postgres(p.begin().await.map_err(map_err)?),
        };
        Ok(Tx { inner, audit_head: None })
    }

    /// SQLite only: a consistent copy of the live database (`VACUUM INTO`), safe while serving.
    pub async fn backup_sqlite(&self, dest: &Path) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite { write, .. } => {
                let dest = dest.to_string_lossy().to_string();
                let mut w = write.lock().await;
                w.settle().await?;
                sqlx::query("VACUUM INTO $1").bind(dest).execute(w.conn()?).await.map_err(map_err)?;
                Ok(())
            }
            Backend::Postgres(_) => Err(crate::StoreError::Other(sqlx::Error::Configuration(
                "backup of PostgreSQL is done with pg_dump".into(),
            ))),
        }
    }

    /// Gives the planner fresh statistics after a bulk load (on PostgreSQL also the visibility map
    /// that index-only scans need).
    pub async fn analyze(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite { write, .. } => {
                let mut w = write.lock().await;
                w.settle().await?;
                sqlx::query("ANALYZE").execute(w.conn()?).await.map_err(map_err)?;
            }
            Backend::Postgres(p) => {
                sqlx::query("VACUUM (ANALYZE) cases, case_events, case_clocks, case_counts")
                    .execute(p)
                    .await
                    .map_err(map_err)?;
            }
        }
        Ok(())
    }

    /// Tables and their columns, for the schema-parity test between engines.
    pub async fn schema_columns(&self) -> StoreResult<Vec<(String, String)>> {
        let mut h = self.read().await?;
        let mut cols: Vec<(String, String)> = match &mut h.conn() {
            // ENGINE: each engine has its own catalogue.
            Conn::Sqlite(c) => sqlx::query_as(
                // Ordinary tables only: an FTS5 index (virtual, with its shadow tables) is SQLite's
                // own structure, like a GIN index on PostgreSQL.
                "SELECT m.name, p.name FROM pragma_table_list m JOIN pragma_table_info(m.name) p
                 WHERE m.schema = 'main' AND m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                   AND m.name <> '_sqlx_migrations'",
            )
            .fetch_all(&mut **c)
            .await
            .map_err(map_err)?,
            Conn::Postgres(c) => sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
            )
            .fetch_all(&mut **c)
            .await
            .map_err(map_err)?,
        };
        cols.sort();
        Ok(cols)
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write, .. } => {
                read.close().await;
                let mut w = write.lock().await;
                let _ = w.settle().await;
                w.closed = true;
                if let Some(c) = w.conn.take() {
                    let _ = c.close().await;
                }
            }
            Backend::Postgres(p) => p.close().await,
        }
    }
}

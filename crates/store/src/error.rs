use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint, named `{table}_{column}_key` on both engines.
    #[error("unique constraint {constraint} violated")]
    Conflict { constraint: String },
    /// An update whose `WHERE version = ?` matched nothing although the row exists.
    #[error("stale version")]
    Stale,
    /// The database cannot take the request right now (full disk, I/O error, lock timeout, lost
    /// connection, database gone, file deleted or replaced): nothing was written; try again later.
    #[error("storage unavailable: {reason}")]
    Unavailable { reason: String },
    #[error("database error: {0}")]
    Other(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Turns unique violations into `Conflict` with one naming scheme on both engines.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::RowNotFound = e {
        return StoreError::NotFound;
    }
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        let constraint = match db.constraint() {
            Some(c) => c.to_owned(),
            // ENGINE: SQLite reports "UNIQUE constraint failed: users.username" and no constraint name.
            // Composite keys ("assets.product_id, assets.serial") become `assets_product_id_serial_key`.
            None => {
                let cols: Vec<&str> = db.message().rsplit(": ").next().unwrap_or("").split(", ").collect();
                let table = cols.first().and_then(|c| c.split_once('.')).map(|(t, _)| t).unwrap_or("");
                let names: Vec<&str> = cols.iter().map(|c| c.split_once('.').map(|(_, n)| n).unwrap_or(c)).collect();
                format!("{table}_{}_key", names.join("_"))
            }
        };
        return StoreError::Conflict { constraint };
    }
    if let Some(reason) = unavailable_reason(&e) {
        return StoreError::Unavailable { reason };
    }
    StoreError::Other(e)
}

/// Whether `e` is a storage fault that passes (space, I/O, locks, connections) rather than a
/// mistake in the request or the code; if so, why, in words for the log and the health check.
pub(crate) fn unavailable_reason(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Io(io) => Some(format!("I/O error: {io}")),
        sqlx::Error::PoolTimedOut => Some("no database connection free in time".into()),
        sqlx::Error::PoolClosed => Some("the database connection is closed".into()),
        sqlx::Error::WorkerCrashed => Some("the database connection's worker stopped".into()),
        sqlx::Error::Tls(t) => Some(format!("TLS: {t}")),
        sqlx::Error::Protocol(p) => Some(format!("database protocol: {p}")),
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            let transient = match db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                // ENGINE: SQLite's primary result code is the low byte of the extended one:
                // BUSY 5, LOCKED 6, NOMEM 7, READONLY 8, IOERR 10, CORRUPT 11, FULL 13,
                // CANTOPEN 14, PROTOCOL 15, NOTADB 26.
                Some(_) => {
                    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 7 | 8 | 10 | 11 | 13 | 14 | 15 | 26))
                }
                // PostgreSQL SQLSTATE classes: 08 connection, 53 insufficient resources (disk full,
                // out of memory, too many connections), 57 operator intervention (terminated
                // backend, shutdown, database dropped), 58 system error; 3D000 the database does
                // not exist; 55P03 lock not available; 40001/40P01 serialization failure, deadlock;
                // 25006 read-only transaction (a standby).
                None => {
                    let class = code.get(..2).unwrap_or_default();
                    matches!(class, "08" | "53" | "57" | "58")
                        || matches!(&*code, "3D000" | "55P03" | "40001" | "40P01" | "25006")
                }
            };
            transient.then(|| db.message().to_owned())
        }
        _ => None,
    }
}

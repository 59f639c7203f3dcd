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
    StoreError::Other(e)
}

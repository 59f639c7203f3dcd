//! Counted attempts for throttling (sign-in, the public portal), kept in the database so that
//! several server processes on one database share one count.

use chrono::{DateTime, Utc};

use crate::Conn;
use crate::conn::on;
use crate::error::{StoreResult, map_err};

/// Counts one attempt under each key at `at`.
pub async fn hit(c: &mut Conn<'_>, keys: &[String], at: DateTime<Utc>) -> StoreResult<()> {
    for key in keys {
        on!(c, e => sqlx::query("INSERT INTO throttle_hits (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(at)
            .execute(e)
            .await
            .map_err(map_err)
            .map(|_| ()))?;
    }
    Ok(())
}

/// How many attempts `key` has since `since`, and when the oldest of them was.
pub async fn since(c: &mut Conn<'_>, key: &str, since: DateTime<Utc>) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
    on!(c, e => sqlx::query_as("SELECT COUNT(*), MIN(at) FROM throttle_hits WHERE key = $1 AND at > $2")
        .bind(key)
        .bind(since)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Forgets every attempt under `key` (a successful sign-in).
pub async fn clear(c: &mut Conn<'_>, key: &str) -> StoreResult<()> {
    on!(c, e => sqlx::query("DELETE FROM throttle_hits WHERE key = $1")
        .bind(key)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))?;
    Ok(())
}

/// Drops attempts older than `before`: they no longer count.
pub async fn prune(c: &mut Conn<'_>, before: DateTime<Utc>) -> StoreResult<u64> {
    on!(c, e => sqlx::query("DELETE FROM throttle_hits WHERE at <= $1")
        .bind(before)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|r| r.rows_affected()))
}

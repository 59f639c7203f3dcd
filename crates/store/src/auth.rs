//! Web sessions and API tokens. Only hashes of the secrets are stored.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreError, StoreResult, map_err};

pub async fn insert_session(
    c: &mut Conn<'_>,
    id_hash: &str,
    user_id: i64,
    csrf: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    on!(c, e => sqlx::query("INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(Utc::now())
        .bind(expires_at)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))?;
    Ok(())
}

/// The session's user and CSRF token, if the session exists and has not expired.
pub async fn session(c: &mut Conn<'_>, id_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<(i64, String)>> {
    on!(c, e => sqlx::query_as("SELECT user_id, csrf_token FROM sessions WHERE id = $1 AND expires_at > $2")
        .bind(id_hash)
        .bind(now)
        .fetch_optional(e)
        .await
        .map_err(map_err))
}

pub async fn delete_session(c: &mut Conn<'_>, id_hash: &str) -> StoreResult<()> {
    on!(c, e => sqlx::query("DELETE FROM sessions WHERE id = $1 OR expires_at < $2")
        .bind(id_hash)
        .bind(Utc::now())
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))?;
    Ok(())
}

pub async fn delete_user_sessions(c: &mut Conn<'_>, user_id: i64) -> StoreResult<()> {
    on!(c, e => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(e).await.map_err(map_err).map(|_| ()))?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// After this the token is refused; `None`: it never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

const TOKEN_COLS: &str = "id, user_id, name, created_at, last_used_at, revoked_at, expires_at";

pub async fn insert_token(
    c: &mut Conn<'_>,
    user_id: i64,
    name: &str,
    token_hash: &str,
    expires_at: Option<DateTime<Utc>>,
) -> StoreResult<ApiToken> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLS}"
    ))
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(Utc::now())
    .bind(expires_at)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// The owner of a live token: not revoked, not expired at `now`.
pub async fn token_user(c: &mut Conn<'_>, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<i64>> {
    on!(c, e => sqlx::query_scalar(
        "SELECT user_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
    )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(e)
        .await
        .map_err(map_err))
}

pub async fn tokens_of(c: &mut Conn<'_>, user_id: i64) -> StoreResult<Vec<ApiToken>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY id"))
        .bind(user_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn token(c: &mut Conn<'_>, id: i64) -> StoreResult<ApiToken> {
    on!(c, e => sqlx::query_as(sql!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn revoke_token(c: &mut Conn<'_>, id: i64) -> StoreResult<ApiToken> {
    let t: Option<ApiToken> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING {TOKEN_COLS}"
    ))
    .bind(Utc::now())
    .bind(id)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    t.ok_or(StoreError::NotFound)
}

/// Revokes every live token of a user (their password changed); returns how many.
pub async fn revoke_user_tokens(c: &mut Conn<'_>, user_id: i64) -> StoreResult<u64> {
    on!(c, e => sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(Utc::now())
        .bind(user_id)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|r| r.rows_affected()))
}

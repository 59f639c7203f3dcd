//! Robot and webhook destinations (issue #15) and their send budgets, shared by every node.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreError, StoreResult, map_err};

/// A destination as stored. The secrets are never serialised (the API and pages are
/// write-only for them, and the audit trail does not see them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Destination {
    pub id: i64,
    pub name: String,
    pub channel: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    #[serde(skip)]
    pub previous_secret: String,
    pub keyword: String,
    pub mention_phones: String,
    pub department_id: Option<i64>,
    pub events: String,
    pub per_minute: i64,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Destination {
    pub fn has_secret(&self) -> bool {
        !self.secret.is_empty()
    }

    pub fn phones(&self) -> Vec<String> {
        self.mention_phones.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
    }
}

const COLS: &str = "id, name, channel, url, secret, previous_secret, keyword, mention_phones, department_id, events, \
     per_minute, active, version, created_at, updated_at";

/// What is written for a destination.
#[derive(Debug, Clone)]
pub struct DestinationRow<'a> {
    pub name: &'a str,
    pub channel: &'a str,
    pub url: &'a str,
    pub secret: &'a str,
    pub previous_secret: &'a str,
    pub keyword: &'a str,
    pub mention_phones: &'a str,
    pub department_id: Option<i64>,
    pub events: &'a str,
    pub per_minute: i64,
    pub active: bool,
}

pub async fn insert(c: &mut Conn<'_>, d: &DestinationRow<'_>, now: DateTime<Utc>) -> StoreResult<Destination> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO notify_destinations (name, channel, url, secret, previous_secret, keyword, mention_phones,
             department_id, events, per_minute, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {COLS}"
    ))
    .bind(d.name)
    .bind(d.channel)
    .bind(d.url)
    .bind(d.secret)
    .bind(d.previous_secret)
    .bind(d.keyword)
    .bind(d.mention_phones)
    .bind(d.department_id)
    .bind(d.events)
    .bind(d.per_minute)
    .bind(d.active)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Writes a destination if it is still at `version`.
pub async fn update(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    d: &DestinationRow<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Destination> {
    let r: Option<Destination> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE notify_destinations SET name = $1, channel = $2, url = $3, secret = $4, previous_secret = $5,
             keyword = $6, mention_phones = $7, department_id = $8, events = $9, per_minute = $10, active = $11,
             updated_at = $12, version = version + 1
         WHERE id = $13 AND version = $14 RETURNING {COLS}"
    ))
    .bind(d.name)
    .bind(d.channel)
    .bind(d.url)
    .bind(d.secret)
    .bind(d.previous_secret)
    .bind(d.keyword)
    .bind(d.mention_phones)
    .bind(d.department_id)
    .bind(d.events)
    .bind(d.per_minute)
    .bind(d.active)
    .bind(now)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    match r {
        Some(d) => Ok(d),
        None => {
            get(c, id).await?;
            Err(StoreError::Stale)
        }
    }
}

pub async fn get(c: &mut Conn<'_>, id: i64) -> StoreResult<Destination> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM notify_destinations WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn list(c: &mut Conn<'_>) -> StoreResult<Vec<Destination>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM notify_destinations ORDER BY name, id"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// The active destinations (the caller asks `domain::notify::robot::hears` which want an event).
pub async fn active(c: &mut Conn<'_>) -> StoreResult<Vec<Destination>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM notify_destinations WHERE active ORDER BY id"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn delete(c: &mut Conn<'_>, id: i64) -> StoreResult<()> {
    let n = on!(c, e => sqlx::query("DELETE FROM notify_destinations WHERE id = $1")
        .bind(id)
        .execute(e)
        .await
        .map_err(map_err)?
        .rows_affected());
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// The sends a destination's window has granted so far, the window's row locked for this
/// transaction. ENGINE: PostgreSQL locks the row (`FOR UPDATE`), so two nodes granting at once
/// queue up; SQLite's caller holds the single write lock.
pub async fn budget_used(c: &mut Conn<'_>, destination_id: i64, window: DateTime<Utc>) -> StoreResult<i64> {
    on!(c, e => sqlx::query(
        "INSERT INTO notify_budgets (destination_id, window_start, used) VALUES ($1, $2, 0)
         ON CONFLICT (destination_id, window_start) DO NOTHING",
    )
    .bind(destination_id)
    .bind(window)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))?;
    let lock = match c {
        Conn::Sqlite(_) => "",
        Conn::Postgres(_) => "FOR UPDATE",
    };
    on!(c, e => sqlx::query_scalar(sql!(
        "SELECT used FROM notify_budgets WHERE destination_id = $1 AND window_start = $2 {lock}"
    ))
    .bind(destination_id)
    .bind(window)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Counts `n` more sends against a destination's window.
pub async fn budget_take(c: &mut Conn<'_>, destination_id: i64, window: DateTime<Utc>, n: i64) -> StoreResult<()> {
    on!(c, e => sqlx::query(
        "UPDATE notify_budgets SET used = used + $1 WHERE destination_id = $2 AND window_start = $3",
    )
    .bind(n)
    .bind(destination_id)
    .bind(window)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))
}

/// Forgets windows before `before` (they can grant nothing any more).
pub async fn budget_prune(c: &mut Conn<'_>, before: DateTime<Utc>) -> StoreResult<()> {
    on!(c, e => sqlx::query("DELETE FROM notify_budgets WHERE window_start < $1")
        .bind(before)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))
}

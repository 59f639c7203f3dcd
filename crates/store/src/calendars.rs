//! Business calendars. The calendar itself is stored as its JSON contract in `spec`; checking it is
//! the service's job, so this module reads and writes text.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};
use crate::org::updated;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CalendarRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub timezone: String,
    /// The JSON `CalendarSpec`.
    pub spec: String,
    pub is_default: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "id, code, name, timezone, spec, is_default, version, created_at, updated_at";

pub struct CalendarFields<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub spec: &'a str,
    pub is_default: bool,
}

pub async fn list(c: &mut Conn<'_>) -> StoreResult<Vec<CalendarRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM calendars ORDER BY code"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn get_by_code(c: &mut Conn<'_>, code: &str) -> StoreResult<CalendarRow> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM calendars WHERE code = $1"))
        .bind(code)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn insert(c: &mut Conn<'_>, f: &CalendarFields<'_>) -> StoreResult<CalendarRow> {
    let now = Utc::now();
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO calendars (code, name, timezone, spec, is_default, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {COLS}"
    ))
    .bind(f.code)
    .bind(f.name)
    .bind(f.timezone)
    .bind(f.spec)
    .bind(f.is_default)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn update(c: &mut Conn<'_>, id: i64, version: i64, f: &CalendarFields<'_>) -> StoreResult<CalendarRow> {
    let row: Option<CalendarRow> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE calendars SET code = $1, name = $2, timezone = $3, spec = $4, is_default = $5,
         version = version + 1, updated_at = $6
         WHERE id = $7 AND version = $8 RETURNING {COLS}"
    ))
    .bind(f.code)
    .bind(f.name)
    .bind(f.timezone)
    .bind(f.spec)
    .bind(f.is_default)
    .bind(Utc::now())
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "calendars", id, row).await
}

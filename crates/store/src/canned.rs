//! Canned replies (issue #17): title, language, body with placeholders, department scope.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};
use crate::org::updated;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CannedRow {
    pub id: i64,
    pub title: String,
    pub locale: String,
    pub body: String,
    /// `None`: offered to everyone.
    pub department_id: Option<i64>,
    pub active: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const COLS: &str = "id, title, locale, body, department_id, active, created_by, created_at, updated_at, version";

/// A canned reply's editable fields.
#[derive(Debug, Clone, Default)]
pub struct CannedFields<'a> {
    pub title: &'a str,
    pub locale: &'a str,
    pub body: &'a str,
    pub department_id: Option<i64>,
    pub active: bool,
}

pub async fn insert(
    c: &mut Conn<'_>,
    f: &CannedFields<'_>,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<CannedRow> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO canned_replies (title, locale, body, department_id, active, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLS}"
    ))
    .bind(f.title)
    .bind(f.locale)
    .bind(f.body)
    .bind(f.department_id)
    .bind(f.active)
    .bind(by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Rewrites a canned reply if its version is still `version`.
pub async fn update(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    f: &CannedFields<'_>,
    now: DateTime<Utc>,
) -> StoreResult<CannedRow> {
    let row: Option<CannedRow> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE canned_replies SET title = $1, locale = $2, body = $3, department_id = $4, active = $5, updated_at = $6,
           version = version + 1 WHERE id = $7 AND version = $8 RETURNING {COLS}"
    ))
    .bind(f.title)
    .bind(f.locale)
    .bind(f.body)
    .bind(f.department_id)
    .bind(f.active)
    .bind(now)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "canned_replies", id, row).await
}

pub async fn get(c: &mut Conn<'_>, id: i64) -> StoreResult<CannedRow> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM canned_replies WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Canned replies offered within `departments` (`None`: all) plus those offered to everyone,
/// optionally in one language and only active ones; by title.
pub async fn list(
    c: &mut Conn<'_>,
    departments: Option<&[i64]>,
    locale: Option<&str>,
    active_only: bool,
) -> StoreResult<Vec<CannedRow>> {
    let mut cond = vec!["TRUE".to_owned()];
    if let Some(ids) = departments {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        cond.push(if list.is_empty() {
            "department_id IS NULL".into()
        } else {
            format!("(department_id IS NULL OR department_id IN ({}))", list.join(","))
        });
    }
    if active_only {
        cond.push("active".into());
    }
    let w = cond.join(" AND ");
    match locale {
        Some(l) => on!(c, e => sqlx::query_as(sql!(
            "SELECT {COLS} FROM canned_replies WHERE {w} AND locale = $1 ORDER BY title, id"
        ))
        .bind(l)
        .fetch_all(e)
        .await
        .map_err(map_err)),
        None => on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM canned_replies WHERE {w} ORDER BY title, id"))
            .fetch_all(e)
            .await
            .map_err(map_err)),
    }
}

//! Service-level escalation: stored clock policy sets, the scheduler's claim on due clocks, the
//! in-app inbox, and the clock outcomes the service-level report counts.

use chrono::{DateTime, Utc};
use loopdesk_domain::page::{Page, Paged};
use serde::Serialize;

use crate::Conn;
use crate::cases::{CLOCK_COLS, ClockRow};
use crate::conn::{on, sql};
use crate::error::{StoreError, StoreResult, map_err};

/// The newest stored policy set: (id, JSON spec, saved at).
pub async fn latest_policy_set(c: &mut Conn<'_>) -> StoreResult<Option<(i64, String, DateTime<Utc>)>> {
    on!(c, e => sqlx::query_as("SELECT id, spec, created_at FROM sla_policy_sets ORDER BY id DESC LIMIT 1")
        .fetch_optional(e)
        .await
        .map_err(map_err))
}

pub async fn insert_policy_set(c: &mut Conn<'_>, spec: &str, at: DateTime<Utc>, by: Option<i64>) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar("INSERT INTO sla_policy_sets (spec, created_at, created_by) VALUES ($1, $2, $3) RETURNING id")
        .bind(spec)
        .bind(at)
        .bind(by)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Running clocks whose next look has come, oldest first, locked for this transaction.
/// ENGINE: on PostgreSQL several server processes run the scheduler at once; `SKIP LOCKED` lets
/// each take different clocks, and the row locks hold until commit. SQLite has one writer, and the
/// caller's transaction already holds the write lock (`BEGIN IMMEDIATE`).
pub async fn claim_due_clocks(c: &mut Conn<'_>, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<ClockRow>> {
    match c {
        Conn::Sqlite(e) => sqlx::query_as(sql!(
            "SELECT {CLOCK_COLS} FROM case_clocks WHERE next_check_at IS NOT NULL AND next_check_at <= $1
             ORDER BY next_check_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut **e)
        .await
        .map_err(map_err),
        Conn::Postgres(e) => sqlx::query_as(sql!(
            "SELECT {CLOCK_COLS} FROM case_clocks WHERE next_check_at IS NOT NULL AND next_check_at <= $1
             ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut **e)
        .await
        .map_err(map_err),
    }
}

/// Stores what the scheduler decided about a clock, if nobody changed it since it was read.
pub async fn save_review(c: &mut Conn<'_>, r: &ClockRow) -> StoreResult<()> {
    let n = on!(c, e => sqlx::query(
        "UPDATE case_clocks SET breached_at = $1, warned = $2, escalation_level = $3, next_check_at = $4,
         version = version + 1 WHERE id = $5 AND version = $6",
    )
    .bind(r.breached_at)
    .bind(r.warned)
    .bind(r.escalation_level)
    .bind(r.next_check_at)
    .bind(r.id)
    .bind(r.version)
    .execute(e)
    .await
    .map_err(map_err)?
    .rows_affected());
    if n == 0 { Err(StoreError::Stale) } else { Ok(()) }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct InboxItem {
    pub id: i64,
    pub user_id: i64,
    pub case_id: Option<i64>,
    pub kind: String,
    /// JSON object of the values the message is rendered with.
    pub params: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

const INBOX_COLS: &str = "id, user_id, case_id, kind, params, created_at, read_at";

pub async fn insert_inbox(
    c: &mut Conn<'_>,
    user_id: i64,
    case_id: Option<i64>,
    kind: &str,
    params: &str,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar(
        "INSERT INTO inbox_items (user_id, case_id, kind, params, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(case_id)
    .bind(kind)
    .bind(params)
    .bind(at)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn inbox(c: &mut Conn<'_>, user_id: i64, unread_only: bool, page: Page) -> StoreResult<Paged<InboxItem>> {
    let total: i64 = on!(c, e => sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbox_items WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL)",
    )
    .bind(user_id)
    .bind(unread_only)
    .fetch_one(e)
    .await
    .map_err(map_err))?;
    let items = on!(c, e => sqlx::query_as(sql!(
        "SELECT {INBOX_COLS} FROM inbox_items WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL)
         ORDER BY id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(user_id)
    .bind(unread_only)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: false })
}

pub async fn unread_count(c: &mut Conn<'_>, user_id: i64) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar("SELECT COUNT(*) FROM inbox_items WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Marks one item (or, with `None`, all of the user's items) read; returns how many changed.
pub async fn mark_read(c: &mut Conn<'_>, user_id: i64, id: Option<i64>, at: DateTime<Utc>) -> StoreResult<u64> {
    on!(c, e => sqlx::query(
        "UPDATE inbox_items SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND ($3 IS NULL OR id = $3)",
    )
    .bind(at)
    .bind(user_id)
    .bind(id)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|r| r.rows_affected()))
}

pub async fn inbox_item(c: &mut Conn<'_>, id: i64) -> StoreResult<InboxItem> {
    on!(c, e => sqlx::query_as(sql!("SELECT {INBOX_COLS} FROM inbox_items WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Clocks due in `[from, to)`, counted by lead department, clock name and outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ClockOutcome {
    pub department_id: Option<i64>,
    pub name: String,
    pub state: String,
    pub breached: bool,
    pub n: i64,
}

pub async fn clock_outcomes(
    c: &mut Conn<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<ClockOutcome>> {
    on!(c, e => sqlx::query_as(
        "SELECT k.lead_department_id AS department_id, l.name, l.state, (l.breached_at IS NOT NULL) AS breached,
                COUNT(*) AS n
         FROM case_clocks l JOIN cases k ON k.id = l.case_id
         WHERE l.due_at >= $1 AND l.due_at < $2
         GROUP BY k.lead_department_id, l.name, l.state, (l.breached_at IS NOT NULL)",
    )
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

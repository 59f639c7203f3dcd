//! Follow-up visits (回访, issue #20 item 7, migration 0030): one row per closed complaint,
//! completed service request or (later) service order, with its due day, assignee and outcome.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};
use crate::org::updated;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Visit {
    pub id: i64,
    pub source_kind: String,
    pub source_id: i64,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub subject: String,
    pub due_on: NaiveDate,
    pub state: String,
    pub rating: Option<i64>,
    pub outcome: String,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RET_COLS: &str = "id, source_kind, source_id, case_id, customer_id, department_id, assignee_id, subject, \
    due_on, state, rating, outcome, done_at, done_by, version, created_at, updated_at";

const COLS: &str = "v.id, v.source_kind, v.source_id, v.case_id, v.customer_id, v.department_id, v.assignee_id, \
    v.subject, v.due_on, v.state, v.rating, v.outcome, v.done_at, v.done_by, v.version, v.created_at, v.updated_at";

/// A visit with the names shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct VisitView {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub visit: Visit,
    pub case_number: Option<String>,
    pub case_type: Option<String>,
    pub customer_name: Option<String>,
    pub department_name: Option<String>,
    pub assignee_name: Option<String>,
}

const VIEW: &str = "FROM follow_up_visits v
    LEFT JOIN cases k ON k.id = v.case_id
    LEFT JOIN customers c ON c.id = v.customer_id
    LEFT JOIN departments d ON d.id = v.department_id
    LEFT JOIN users u ON u.id = v.assignee_id";

const VIEW_COLS: &str = "k.number AS case_number, k.case_type AS case_type, c.name AS customer_name, d.name AS department_name, \
     u.display_name AS assignee_name";

pub struct NewVisit<'a> {
    pub source_kind: &'a str,
    pub source_id: i64,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub subject: &'a str,
    pub due_on: NaiveDate,
    pub at: DateTime<Utc>,
}

/// Inserts the visit of a source, or returns `None` when that source already has one.
pub async fn insert_if_missing(c: &mut Conn<'_>, v: &NewVisit<'_>) -> StoreResult<Option<Visit>> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO follow_up_visits (source_kind, source_id, case_id, customer_id, department_id, assignee_id,
             subject, due_on, state, outcome, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', '', 1, $9, $9)
         ON CONFLICT (source_kind, source_id) DO NOTHING RETURNING {RET_COLS}"
    ))
    .bind(v.source_kind)
    .bind(v.source_id)
    .bind(v.case_id)
    .bind(v.customer_id)
    .bind(v.department_id)
    .bind(v.assignee_id)
    .bind(v.subject)
    .bind(v.due_on)
    .bind(v.at)
    .fetch_optional(e)
    .await
    .map_err(map_err))
}

pub async fn visit(c: &mut Conn<'_>, id: i64) -> StoreResult<Visit> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM follow_up_visits v WHERE v.id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn visit_of(c: &mut Conn<'_>, source_kind: &str, source_id: i64) -> StoreResult<Option<Visit>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {COLS} FROM follow_up_visits v WHERE v.source_kind = $1 AND v.source_id = $2"
    ))
    .bind(source_kind)
    .bind(source_id)
    .fetch_optional(e)
    .await
    .map_err(map_err))
}

/// The list's filters; `None` is "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<String>,
    pub department_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub case_id: Option<i64>,
    /// Due on or after / on or before.
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
}

/// Visits matching `f`, soonest due first (at most `limit`).
pub async fn list(c: &mut Conn<'_>, f: &Filter, limit: i64) -> StoreResult<Vec<VisitView>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {COLS}, {VIEW_COLS} {VIEW}
         WHERE ($1 IS NULL OR v.state = $1) AND ($2 IS NULL OR v.department_id = $2)
           AND ($3 IS NULL OR v.assignee_id = $3) AND ($4 IS NULL OR v.customer_id = $4)
           AND ($5 IS NULL OR v.case_id = $5) AND ($6 IS NULL OR v.due_on >= $6) AND ($7 IS NULL OR v.due_on <= $7)
         ORDER BY v.due_on, v.id LIMIT $8"
    ))
    .bind(f.state.as_deref())
    .bind(f.department_id)
    .bind(f.assignee_id)
    .bind(f.customer_id)
    .bind(f.case_id)
    .bind(f.due_from)
    .bind(f.due_to)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

pub struct OutcomeFields<'a> {
    pub state: &'a str,
    pub rating: Option<i64>,
    pub outcome: &'a str,
    pub done_by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// Records the outcome of an open visit at `version`.
pub async fn record(c: &mut Conn<'_>, id: i64, version: i64, o: &OutcomeFields<'_>) -> StoreResult<Visit> {
    let row: Option<Visit> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE follow_up_visits SET state = $1, rating = $2, outcome = $3, done_by = $4, done_at = $5,
             version = version + 1, updated_at = $5
         WHERE id = $6 AND version = $7 RETURNING {RET_COLS}"
    ))
    .bind(o.state)
    .bind(o.rating)
    .bind(o.outcome)
    .bind(o.done_by)
    .bind(o.at)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "follow_up_visits", id, row).await
}

/// Assigns a visit to a person (or nobody) at `version`.
pub async fn assign(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    assignee_id: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<Visit> {
    let row: Option<Visit> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE follow_up_visits SET assignee_id = $1, version = version + 1, updated_at = $2
         WHERE id = $3 AND version = $4 RETURNING {RET_COLS}"
    ))
    .bind(assignee_id)
    .bind(at)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "follow_up_visits", id, row).await
}

//! Cases, their process definitions, and the case timeline.

use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::page::{Page, Paged};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};
use crate::org::updated;

/// (version, definition text) of the newest stored definition of a type of record `kind`
/// (`domain::process::RecordKind::code`: `case`, `capa`, `nc`, …).
pub async fn latest_definition(c: &mut Conn<'_>, kind: &str, case_type: &str) -> StoreResult<Option<(i64, String)>> {
    on!(c, e => sqlx::query_as(
        "SELECT version, definition FROM process_definitions WHERE kind = $1 AND case_type = $2
         ORDER BY version DESC LIMIT 1",
    )
    .bind(kind)
    .bind(case_type)
    .fetch_optional(e)
    .await
    .map_err(map_err))
}

pub async fn definition(c: &mut Conn<'_>, kind: &str, case_type: &str, version: i64) -> StoreResult<String> {
    on!(c, e => sqlx::query_scalar(
        "SELECT definition FROM process_definitions WHERE kind = $1 AND case_type = $2 AND version = $3",
    )
    .bind(kind)
    .bind(case_type)
    .bind(version)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Stores the shipped default as version 1 unless some version already exists; returns the
/// newest (version, text). Safe when several writers start the same type at once.
pub async fn seed_definition(c: &mut Conn<'_>, kind: &str, case_type: &str, text: &str) -> StoreResult<(i64, String)> {
    on!(c, e => sqlx::query(
        "INSERT INTO process_definitions (kind, case_type, version, definition, created_at) VALUES ($1, $2, 1, $3, $4)
         ON CONFLICT (kind, case_type, version) DO NOTHING",
    )
    .bind(kind)
    .bind(case_type)
    .bind(text)
    .bind(Utc::now())
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))?;
    latest_definition(c, kind, case_type).await?.ok_or(crate::StoreError::NotFound)
}

/// Stores the next version of a definition; returns its version number.
pub async fn insert_definition(
    c: &mut Conn<'_>,
    kind: &str,
    case_type: &str,
    text: &str,
    by: Option<i64>,
) -> StoreResult<i64> {
    let next = latest_definition(c, kind, case_type).await?.map(|(v, _)| v + 1).unwrap_or(1);
    on!(c, e => sqlx::query(
        "INSERT INTO process_definitions (kind, case_type, version, definition, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(case_type)
    .bind(next)
    .bind(text)
    .bind(by)
    .bind(Utc::now())
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))?;
    Ok(next)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Case {
    pub id: i64,
    pub number: String,
    pub case_type: String,
    pub definition_version: i64,
    pub state: String,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub received_at: DateTime<Utc>,
    pub channel: String,
    pub product_id: Option<i64>,
    pub model: String,
    pub serial: String,
    pub product_code: String,
    pub ship_date: Option<NaiveDate>,
    pub subject: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub responsibility: String,
    pub responsibility_note: String,
    pub lead_department_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub confidential: bool,
    pub adverse_event: bool,
    pub locale: String,
    #[serde(skip)]
    pub tracking_hash: String,
    pub merged_into_id: Option<i64>,
    /// Values given with transitions (resolution, reply, decision…), as a JSON object.
    pub fields: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Due time of the earliest running clock, kept by `save_clock` (lists sort and show it).
    /// Derived from the clocks, so it stays out of the case's audit record.
    #[serde(skip)]
    pub next_due_at: Option<DateTime<Utc>>,
}

const CASE_COLS: &str = "id, number, case_type, definition_version, state, customer_id, contact_id, contact_name, contact_phone,
    contact_email, received_at, channel, product_id, model, serial, product_code, ship_date, subject, description, category,
    severity, responsibility, responsibility_note, lead_department_id, owner_id, confidential, adverse_event, locale,
    tracking_hash, merged_into_id, fields, closed_at, version, created_at, updated_at, next_due_at";

/// Intake fields of a new case.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub number: String,
    pub case_type: String,
    pub definition_version: i64,
    pub state: String,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub received_at: DateTime<Utc>,
    pub channel: String,
    pub product_id: Option<i64>,
    pub model: String,
    pub serial: String,
    pub product_code: String,
    pub ship_date: Option<NaiveDate>,
    pub subject: String,
    pub description: String,
    /// Values taken at intake (e.g. `customer_deadline`), as a JSON object; empty means `{}`.
    pub fields: String,
    pub severity: String,
    pub lead_department_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub confidential: bool,
    pub adverse_event: bool,
    pub locale: String,
    pub tracking_hash: String,
}

pub async fn case(c: &mut Conn<'_>, id: i64) -> StoreResult<Case> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CASE_COLS} FROM cases WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn case_by_number(c: &mut Conn<'_>, number: &str) -> StoreResult<Case> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CASE_COLS} FROM cases WHERE number = $1"))
        .bind(number)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Writes back the mutable part of a case (state, assessment, owner, fields) if `version` still holds.
pub async fn update_case(c: &mut Conn<'_>, k: &Case, version: i64) -> StoreResult<Case> {
    let before: Option<Dims> = on!(c, e => sqlx::query_as(
        "SELECT case_type, category, severity, lead_department_id, received_at FROM cases WHERE id = $1",
    )
    .bind(k.id)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    let row: Option<Case> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE cases SET state = $1, category = $2, severity = $3, responsibility = $4, responsibility_note = $5,
         lead_department_id = $6, owner_id = $7, fields = $8, closed_at = $9, merged_into_id = $10, customer_id = $11,
         contact_id = $12, version = version + 1, updated_at = $13, adverse_event = $16
         WHERE id = $14 AND version = $15 RETURNING {CASE_COLS}"
    ))
    .bind(&k.state)
    .bind(&k.category)
    .bind(&k.severity)
    .bind(&k.responsibility)
    .bind(&k.responsibility_note)
    .bind(k.lead_department_id)
    .bind(k.owner_id)
    .bind(&k.fields)
    .bind(k.closed_at)
    .bind(k.merged_into_id)
    .bind(k.customer_id)
    .bind(k.contact_id)
    .bind(Utc::now())
    .bind(k.id)
    .bind(version)
    .bind(k.adverse_event)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    if let (Some(before), Some(after)) = (&before, &row) {
        let after = Dims::of(after);
        if *before != after {
            count_case(c, before, -1).await?;
            count_case(c, &after, 1).await?;
        }
    }
    if let Some(after) = &row {
        crate::search::set_case_scope(c, after).await?;
    }
    updated(c, "cases", k.id, row).await
}

static REPORT_ZONE: std::sync::RwLock<chrono_tz::Tz> = std::sync::RwLock::new(chrono_tz::Asia::Shanghai);

/// The organisation's zone, in which [`case_counts`] months begin and end. One per process: the
/// service sets it from the configuration when it starts.
pub fn set_report_zone(tz: chrono_tz::Tz) {
    if let Ok(mut z) = REPORT_ZONE.write() {
        *z = tz;
    }
}

pub fn report_zone() -> chrono_tz::Tz {
    REPORT_ZONE.read().map(|z| *z).unwrap_or(chrono_tz::Asia::Shanghai)
}

/// What the monthly counts are kept by.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Dims {
    case_type: String,
    category: String,
    severity: String,
    lead_department_id: Option<i64>,
    received_at: DateTime<Utc>,
}

impl Dims {
    fn of(k: &Case) -> Dims {
        Dims {
            case_type: k.case_type.clone(),
            category: k.category.clone(),
            severity: k.severity.clone(),
            lead_department_id: k.lead_department_id,
            received_at: k.received_at,
        }
    }
}

/// Adds `delta` to the count of cases like `d` in its month, inside the caller's transaction.
async fn count_case(c: &mut Conn<'_>, d: &Dims, delta: i64) -> StoreResult<()> {
    let month = loopdesk_domain::case::NumberFormat::month(d.received_at, report_zone());
    on!(c, e => sqlx::query(
        "INSERT INTO case_counts (month, case_type, category, department_id, severity, n) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (month, case_type, category, department_id, severity) DO UPDATE SET n = case_counts.n + $6",
    )
    .bind(month)
    .bind(&d.case_type)
    .bind(&d.category)
    .bind(d.lead_department_id.unwrap_or(0))
    .bind(&d.severity)
    .bind(delta)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))
}

/// One cell of the monthly report: how many cases of a kind were received in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CaseCount {
    /// YYYY-MM in the organisation's zone.
    pub month: String,
    pub case_type: String,
    /// '' until assessed.
    pub category: String,
    /// 0: no lead department yet.
    pub department_id: i64,
    /// '' until assessed.
    pub severity: String,
    pub n: i64,
}

/// The monthly counts of months `from..=to` (YYYY-MM), from the summary table.
pub async fn case_counts(c: &mut Conn<'_>, from: &str, to: &str) -> StoreResult<Vec<CaseCount>> {
    on!(c, e => sqlx::query_as(
        "SELECT month, case_type, category, department_id, severity, n FROM case_counts
         WHERE month >= $1 AND month <= $2 AND n <> 0 ORDER BY month, case_type, category, department_id, severity",
    )
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<String>,
    pub case_type: Option<String>,
    pub severity: Option<String>,
    pub department_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_to: Option<DateTime<Utc>>,
    /// Only open (not terminal) cases: the caller passes the terminal state codes.
    pub exclude_states: Vec<String>,
    /// Who is asking: only the cases `domain::scope::case_access` lets them read are listed.
    /// `None` lists every case (the system itself).
    pub scope: Option<loopdesk_domain::scope::ListScope>,
    /// Only cases with a clock running past its due time at this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only cases with a document (the case, a comment or reply, a communication) matching this
    /// full-text query.
    pub text: Option<loopdesk_domain::search::Query>,
    pub sort: CaseSort,
}

/// The order of the case list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseSort {
    /// Newest received first.
    #[default]
    Received,
    /// Earliest due first (the earliest running clock); cases with no running clock last.
    Due,
}

/// Lists count matching cases up to this many past the page shown; beyond it `total` is a lower
/// bound. Counting every match of a broad filter at a million cases is what makes lists slow.
pub const COUNT_AHEAD: i64 = 10_000;

/// A value bound to a list query.
enum Arg<'a> {
    Text(&'a str),
    Owned(String),
    Int(i64),
    Time(DateTime<Utc>),
}

/// The WHERE clause of the case list and its arguments, naming only the filters given, so each
/// engine's planner sees plain equalities it can serve from an index.
fn case_where<'a>(c: &Conn<'_>, f: &'a CaseFilter) -> (String, Vec<Arg<'a>>) {
    let mut cond: Vec<String> = vec!["TRUE".into()];
    let mut args = Vec::new();
    macro_rules! filter {
        ($v:expr, $template:expr, $arg:expr) => {
            if let Some(v) = $v {
                args.push($arg(v));
                cond.push($template.replace('?', &format!("${}", args.len())));
            }
        };
    }
    filter!(f.state.as_deref(), "state = ?", Arg::Text);
    filter!(f.case_type.as_deref(), "case_type = ?", Arg::Text);
    filter!(f.severity.as_deref(), "severity = ?", Arg::Text);
    filter!(f.department_id, "lead_department_id = ?", Arg::Int);
    filter!(f.owner_id, "owner_id = ?", Arg::Int);
    filter!(f.customer_id, "customer_id = ?", Arg::Int);
    filter!(f.received_from, "received_at >= ?", Arg::Time);
    filter!(f.received_to, "received_at < ?", Arg::Time);
    filter!(
        f.overdue_at,
        "EXISTS (SELECT 1 FROM case_clocks k WHERE k.case_id = cases.id AND k.state = 'running' AND k.due_at < ?)",
        Arg::Time
    );
    if !f.exclude_states.is_empty() {
        // State codes are checked identifiers from a process definition ([a-z0-9_]).
        let list: Vec<String> = f
            .exclude_states
            .iter()
            .filter(|s| s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .map(|s| format!("'{s}'"))
            .collect();
        if !list.is_empty() {
            cond.push(format!("state NOT IN ({})", list.join(",")));
        }
    }
    if let Some(scope) = &f.scope {
        cond.extend(crate::scope::list_condition(scope));
    }
    if let Some(q) = &f.text {
        let (sub, texts) = crate::search::case_ids_matching(c, q, args.len() + 1);
        args.extend(texts.into_iter().map(Arg::Owned));
        cond.push(format!("id IN ({sub})"));
    }
    (cond.join(" AND "), args)
}

pub async fn cases(c: &mut Conn<'_>, f: &CaseFilter, page: Page) -> StoreResult<Paged<Case>> {
    let (w, args) = case_where(c, f);
    macro_rules! binds {
        ($q:expr) => {{
            let mut q = $q;
            for a in &args {
                q = match a {
                    Arg::Text(v) => q.bind(*v),
                    Arg::Owned(v) => q.bind(v.as_str()),
                    Arg::Int(v) => q.bind(*v),
                    Arg::Time(v) => q.bind(*v),
                };
            }
            q
        }};
    }
    let cap = page.offset() + page.limit() + COUNT_AHEAD;
    let total: i64 = on!(c, e => binds!(sqlx::query_scalar(sql!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM cases WHERE {w} LIMIT {cap}) AS matching"
    )))
    .fetch_one(e)
    .await
    .map_err(map_err))?;
    let order = match f.sort {
        CaseSort::Received => "received_at DESC, id DESC",
        // ENGINE: PostgreSQL puts NULLs last in ascending order by itself; SQLite needs telling.
        // Both then read the (state, lead_department_id, next_due_at, id) index in order.
        CaseSort::Due => "next_due_at ASC NULLS LAST, id ASC",
    };
    let (limit, offset) = (page.limit(), page.offset());
    let items: Vec<Case> = on!(c, e => binds!(sqlx::query_as(sql!(
        "SELECT {CASE_COLS} FROM cases WHERE {w} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    )))
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: total >= cap })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub kind: String,
    pub transition: String,
    pub from_state: String,
    pub to_state: String,
    /// JSON object of the fields given.
    pub fields: String,
    pub body: String,
    pub public: bool,
}

const EVENT_COLS: &str =
    "id, case_id, at, actor_id, actor, kind, transition, from_state, to_state, fields, body, public";

#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    pub case_id: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub kind: &'a str,
    pub transition: &'a str,
    pub from_state: &'a str,
    pub to_state: &'a str,
    pub fields: String,
    pub body: &'a str,
    pub public: bool,
}

pub async fn insert_event(c: &mut Conn<'_>, ev: &NewEvent<'_>) -> StoreResult<CaseEvent> {
    let row = insert_event_row(c, ev).await?;
    // Comments and replies are searched with their case, in its scope.
    if !row.body.trim().is_empty() {
        let k = case(c, row.case_id).await?;
        let d = crate::search::Doc {
            kind: crate::search::kind::CASE_EVENT,
            entity_id: row.id,
            title: format!("{} {}", k.number, k.subject),
            body: row.body.clone(),
            at: row.at,
            ..Default::default()
        };
        crate::search::put(c, &d.scoped_by(&k)).await?;
    }
    Ok(row)
}

async fn insert_event_row(c: &mut Conn<'_>, ev: &NewEvent<'_>) -> StoreResult<CaseEvent> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO case_events (case_id, at, actor_id, actor, kind, transition, from_state, to_state, fields, body, public)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {EVENT_COLS}"
    ))
    .bind(ev.case_id)
    .bind(Utc::now())
    .bind(ev.actor_id)
    .bind(ev.actor)
    .bind(ev.kind)
    .bind(ev.transition)
    .bind(ev.from_state)
    .bind(ev.to_state)
    .bind(if ev.fields.is_empty() { "{}" } else { ev.fields.as_str() })
    .bind(ev.body)
    .bind(ev.public)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// The timeline, oldest first; `public_only` for the customer's view.
pub async fn events(c: &mut Conn<'_>, case_id: i64, public_only: bool) -> StoreResult<Vec<CaseEvent>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {EVENT_COLS} FROM case_events WHERE case_id = $1 AND ($2 = FALSE OR public) ORDER BY id"
    ))
    .bind(case_id)
    .bind(public_only)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CaseTask {
    pub id: i64,
    pub case_id: i64,
    pub department_id: i64,
    pub question: String,
    pub due_date: NaiveDate,
    pub answer: String,
    pub answered_by: Option<i64>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `none` (no review asked), `pending` (waits for the customer-service manager), `approved`,
    /// `refused` (sent back, `review_note` says why). Only `none` and `approved` reach the department.
    pub review_state: String,
    pub review_note: String,
    pub reviewed_by: Option<i64>,
}

impl CaseTask {
    /// The task has gone out to its department (no review asked, or approved).
    pub fn sent(&self) -> bool {
        self.review_state == "none" || self.review_state == "approved"
    }
}

const TASK_COLS: &str = "id, case_id, department_id, question, due_date, answer, answered_by, answered_at, created_by, version, created_at, updated_at, review_state, review_note, reviewed_by";

pub async fn insert_task(
    c: &mut Conn<'_>,
    case_id: i64,
    department_id: i64,
    question: &str,
    due_date: NaiveDate,
    by: Option<i64>,
    review_state: &str,
) -> StoreResult<CaseTask> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO case_tasks (case_id, department_id, question, due_date, created_by, version, created_at, updated_at,
                                 review_state)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7) RETURNING {TASK_COLS}"
    ))
    .bind(case_id)
    .bind(department_id)
    .bind(question)
    .bind(due_date)
    .bind(by)
    .bind(Utc::now())
    .bind(review_state)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn task(c: &mut Conn<'_>, id: i64) -> StoreResult<CaseTask> {
    on!(c, e => sqlx::query_as(sql!("SELECT {TASK_COLS} FROM case_tasks WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn tasks(c: &mut Conn<'_>, case_id: i64) -> StoreResult<Vec<CaseTask>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {TASK_COLS} FROM case_tasks WHERE case_id = $1 ORDER BY id"))
        .bind(case_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn answer_task(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    answer: &str,
    by: Option<i64>,
) -> StoreResult<CaseTask> {
    let now = Utc::now();
    let row: Option<CaseTask> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE case_tasks SET answer = $1, answered_by = $2, answered_at = $3, version = version + 1, updated_at = $3
         WHERE id = $4 AND version = $5 RETURNING {TASK_COLS}"
    ))
    .bind(answer)
    .bind(by)
    .bind(now)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "case_tasks", id, row).await
}

/// Records the customer-service manager's review of a pending task (`approved` or `refused`).
pub async fn review_task(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    state: &str,
    note: &str,
    by: Option<i64>,
) -> StoreResult<CaseTask> {
    let row: Option<CaseTask> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE case_tasks SET review_state = $1, review_note = $2, reviewed_by = $3, version = version + 1,
                updated_at = $4
         WHERE id = $5 AND version = $6 RETURNING {TASK_COLS}"
    ))
    .bind(state)
    .bind(note)
    .bind(by)
    .bind(Utc::now())
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "case_tasks", id, row).await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Meeting {
    pub id: i64,
    pub case_id: i64,
    pub held_at: DateTime<Utc>,
    pub place: String,
    pub attendees: String,
    pub minutes: String,
    pub decisions: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MeetingAction {
    pub id: i64,
    pub meeting_id: i64,
    pub case_id: i64,
    pub description: String,
    pub owner_id: Option<i64>,
    pub due_date: NaiveDate,
    pub done_at: Option<DateTime<Utc>>,
    pub done_note: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const MEETING_COLS: &str = "id, case_id, held_at, place, attendees, minutes, decisions, created_by, created_at";
const ACTION_COLS: &str =
    "id, meeting_id, case_id, description, owner_id, due_date, done_at, done_note, version, created_at, updated_at";

pub struct NewMeeting<'a> {
    pub case_id: i64,
    pub held_at: DateTime<Utc>,
    pub place: &'a str,
    pub attendees: &'a str,
    pub minutes: &'a str,
    pub decisions: &'a str,
    pub created_by: Option<i64>,
}

pub async fn insert_meeting(c: &mut Conn<'_>, m: &NewMeeting<'_>) -> StoreResult<Meeting> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO case_meetings (case_id, held_at, place, attendees, minutes, decisions, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {MEETING_COLS}"
    ))
    .bind(m.case_id)
    .bind(m.held_at)
    .bind(m.place)
    .bind(m.attendees)
    .bind(m.minutes)
    .bind(m.decisions)
    .bind(m.created_by)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn insert_action(
    c: &mut Conn<'_>,
    meeting: &Meeting,
    description: &str,
    owner_id: Option<i64>,
    due: NaiveDate,
) -> StoreResult<MeetingAction> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO meeting_actions (meeting_id, case_id, description, owner_id, due_date, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {ACTION_COLS}"
    ))
    .bind(meeting.id)
    .bind(meeting.case_id)
    .bind(description)
    .bind(owner_id)
    .bind(due)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn meetings(c: &mut Conn<'_>, case_id: i64) -> StoreResult<Vec<Meeting>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {MEETING_COLS} FROM case_meetings WHERE case_id = $1 ORDER BY held_at, id"))
        .bind(case_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn actions(c: &mut Conn<'_>, case_id: i64) -> StoreResult<Vec<MeetingAction>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {ACTION_COLS} FROM meeting_actions WHERE case_id = $1 ORDER BY id"))
        .bind(case_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn action(c: &mut Conn<'_>, id: i64) -> StoreResult<MeetingAction> {
    on!(c, e => sqlx::query_as(sql!("SELECT {ACTION_COLS} FROM meeting_actions WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn complete_action(c: &mut Conn<'_>, id: i64, version: i64, note: &str) -> StoreResult<MeetingAction> {
    let now = Utc::now();
    let row: Option<MeetingAction> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE meeting_actions SET done_at = $1, done_note = $2, version = version + 1, updated_at = $1
         WHERE id = $3 AND version = $4 RETURNING {ACTION_COLS}"
    ))
    .bind(now)
    .bind(note)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "meeting_actions", id, row).await
}

/// Links a pair of cases both ways; linking twice changes nothing.
pub async fn link(c: &mut Conn<'_>, a: i64, b: i64, kind_ab: &str, kind_ba: &str, by: Option<i64>) -> StoreResult<()> {
    for (x, y, kind) in [(a, b, kind_ab), (b, a, kind_ba)] {
        on!(c, e => sqlx::query(
            "INSERT INTO case_links (case_id, other_id, kind, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (case_id, other_id) DO NOTHING",
        )
        .bind(x)
        .bind(y)
        .bind(kind)
        .bind(by)
        .bind(Utc::now())
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))?;
    }
    Ok(())
}

/// (kind, linked case) for every case linked to `case_id`.
pub async fn links(c: &mut Conn<'_>, case_id: i64) -> StoreResult<Vec<(String, Case)>> {
    let rows: Vec<(String, i64)> = on!(c, e => sqlx::query_as("SELECT kind, other_id FROM case_links WHERE case_id = $1 ORDER BY other_id")
        .bind(case_id)
        .fetch_all(e)
        .await
        .map_err(map_err))?;
    let mut out = Vec::with_capacity(rows.len());
    for (kind, id) in rows {
        out.push((kind, case(c, id).await?));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ClockRow {
    pub id: i64,
    pub case_id: i64,
    pub name: String,
    pub calendar: String,
    /// The duration as JSON (`{"working_days":5}`).
    pub duration: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    pub state: String,
    pub paused_since: Option<DateTime<Utc>>,
    pub paused_ms: i64,
    pub met_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub escalation_level: i64,
    pub warned: bool,
    pub version: i64,
    /// When the escalation scheduler should next look at the clock.
    pub next_check_at: Option<DateTime<Utc>>,
}

pub(crate) const CLOCK_COLS: &str =
    "id, case_id, name, calendar, duration, started_at, due_at, warn_at, state, paused_since, paused_ms,
    met_at, breached_at, escalation_level, warned, version, next_check_at";

pub async fn clocks(c: &mut Conn<'_>, case_id: i64) -> StoreResult<Vec<ClockRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CLOCK_COLS} FROM case_clocks WHERE case_id = $1 ORDER BY id"))
        .bind(case_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// Inserts a clock, or replaces the stored facts of the same-named clock on the case.
pub async fn save_clock(c: &mut Conn<'_>, r: &ClockRow) -> StoreResult<()> {
    on!(c, e => sqlx::query(
        "INSERT INTO case_clocks (case_id, name, calendar, duration, started_at, due_at, warn_at, state, paused_since, paused_ms,
         met_at, breached_at, escalation_level, warned, version, next_check_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15)
         ON CONFLICT (case_id, name) DO UPDATE SET calendar = $3, duration = $4, started_at = $5, due_at = $6, warn_at = $7,
         state = $8, paused_since = $9, paused_ms = $10, met_at = $11, breached_at = $12, escalation_level = $13, warned = $14,
         version = case_clocks.version + 1, next_check_at = $15",
    )
    .bind(r.case_id)
    .bind(&r.name)
    .bind(&r.calendar)
    .bind(&r.duration)
    .bind(r.started_at)
    .bind(r.due_at)
    .bind(r.warn_at)
    .bind(&r.state)
    .bind(r.paused_since)
    .bind(r.paused_ms)
    .bind(r.met_at)
    .bind(r.breached_at)
    .bind(r.escalation_level)
    .bind(r.warned)
    .bind(r.next_check_at)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))?;
    // The case list sorts by the earliest running clock's due time, kept on the case.
    on!(c, e => sqlx::query(
        "UPDATE cases SET next_due_at =
         (SELECT MIN(due_at) FROM case_clocks WHERE case_id = $1 AND state = 'running') WHERE id = $1",
    )
    .bind(r.case_id)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Category {
    pub id: i64,
    pub code: String,
    pub parent_id: Option<i64>,
    pub zh: String,
    pub en: String,
    pub version: i64,
}

pub async fn categories(c: &mut Conn<'_>) -> StoreResult<Vec<Category>> {
    on!(c, e => sqlx::query_as("SELECT id, code, parent_id, zh, en, version FROM case_categories ORDER BY id")
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn insert_category(
    c: &mut Conn<'_>,
    code: &str,
    parent_id: Option<i64>,
    zh: &str,
    en: &str,
) -> StoreResult<Category> {
    on!(c, e => sqlx::query_as(
        "INSERT INTO case_categories (code, parent_id, zh, en) VALUES ($1, $2, $3, $4) RETURNING id, code, parent_id, zh, en, version",
    )
    .bind(code)
    .bind(parent_id)
    .bind(zh)
    .bind(en)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Attachment {
    pub id: i64,
    pub case_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub public: bool,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

const ATTACHMENT_COLS: &str = "id, case_id, file_name, content_type, size, sha256, public, uploaded_by, created_at";

pub struct NewAttachment<'a> {
    pub case_id: i64,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub data: &'a [u8],
    pub public: bool,
    pub uploaded_by: &'a str,
}

pub async fn insert_attachment(c: &mut Conn<'_>, a: &NewAttachment<'_>) -> StoreResult<Attachment> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO case_attachments (case_id, file_name, content_type, size, sha256, data, public, uploaded_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {ATTACHMENT_COLS}"
    ))
    .bind(a.case_id)
    .bind(a.file_name)
    .bind(a.content_type)
    .bind(a.data.len() as i64)
    .bind(a.sha256)
    .bind(a.data)
    .bind(a.public)
    .bind(a.uploaded_by)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn attachments(c: &mut Conn<'_>, case_id: i64) -> StoreResult<Vec<Attachment>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {ATTACHMENT_COLS} FROM case_attachments WHERE case_id = $1 ORDER BY id"))
        .bind(case_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// The attachment and its bytes.
pub async fn attachment_data(c: &mut Conn<'_>, id: i64) -> StoreResult<(Attachment, Vec<u8>)> {
    let a: Attachment = on!(c, e => sqlx::query_as(sql!("SELECT {ATTACHMENT_COLS} FROM case_attachments WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    let data: Vec<u8> = on!(c, e => sqlx::query_scalar("SELECT data FROM case_attachments WHERE id = $1")
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    Ok((a, data))
}

/// Writes back a correction of the fields taken at intake (customer, contact, product, category,
/// subject, description, owner, the serious-injury answer kept in `fields`) if `version` still
/// holds; keeps the monthly counts when the category moves.
pub async fn edit_case(c: &mut Conn<'_>, k: &Case, version: i64) -> StoreResult<Case> {
    let before: Option<Dims> = on!(c, e => sqlx::query_as(
        "SELECT case_type, category, severity, lead_department_id, received_at FROM cases WHERE id = $1",
    )
    .bind(k.id)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    let row: Option<Case> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE cases SET customer_id = $1, contact_id = $2, contact_name = $3, contact_phone = $4, contact_email = $5,
         product_id = $6, model = $7, serial = $8, product_code = $9, ship_date = $10, subject = $11, description = $12,
         category = $13, owner_id = $14, adverse_event = $15, fields = $16, version = version + 1, updated_at = $17
         WHERE id = $18 AND version = $19 RETURNING {CASE_COLS}"
    ))
    .bind(k.customer_id)
    .bind(k.contact_id)
    .bind(&k.contact_name)
    .bind(&k.contact_phone)
    .bind(&k.contact_email)
    .bind(k.product_id)
    .bind(&k.model)
    .bind(&k.serial)
    .bind(&k.product_code)
    .bind(k.ship_date)
    .bind(&k.subject)
    .bind(&k.description)
    .bind(&k.category)
    .bind(k.owner_id)
    .bind(k.adverse_event)
    .bind(&k.fields)
    .bind(Utc::now())
    .bind(k.id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    if let (Some(before), Some(after)) = (&before, &row) {
        let after = Dims::of(after);
        if *before != after {
            count_case(c, before, -1).await?;
            count_case(c, &after, 1).await?;
        }
    }
    updated(c, "cases", k.id, row).await
}

/// Replaces the hash of the customer's tracking code: the old code stops working at once.
pub async fn set_tracking_hash(c: &mut Conn<'_>, id: i64, version: i64, hash: &str) -> StoreResult<Case> {
    let row: Option<Case> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE cases SET tracking_hash = $1, version = version + 1, updated_at = $2
         WHERE id = $3 AND version = $4 RETURNING {CASE_COLS}"
    ))
    .bind(hash)
    .bind(Utc::now())
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "cases", id, row).await
}

/// The cases of `case_type` a user registered themselves (the employee who filed a grievance, as
/// `case_registrations` records it for `domain::scope`), newest first, at most 200.
pub async fn cases_filed_by(c: &mut Conn<'_>, user_id: i64, case_type: &str) -> StoreResult<Vec<Case>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {CASE_COLS} FROM cases WHERE case_type = $1
           AND id IN (SELECT case_id FROM case_registrations WHERE user_id = $2)
         ORDER BY id DESC LIMIT 200"
    ))
    .bind(case_type)
    .bind(user_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

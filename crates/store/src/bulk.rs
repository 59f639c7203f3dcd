//! Bulk loading of cases (the demo generator): thousands of rows per statement, with the same
//! bookkeeping the one-by-one path keeps (timeline, clocks, the case's next due time, monthly
//! counts). Numbers, counters and the audit event are the caller's, in the same transaction.
//!
//! ENGINE: rows travel as one JSON array per statement, unpacked by `json_each` on SQLite and
//! `jsonb_array_elements` on PostgreSQL. One parameter per statement sidesteps sqlx's SQLite
//! binding, which costs the square of the number of parameters.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::Conn;
use crate::conn::sql;
use crate::error::{StoreResult, map_err};

/// A case to load, already numbered.
#[derive(Debug, Clone, Default)]
pub struct BulkCase {
    pub number: String,
    pub case_type: String,
    pub definition_version: i64,
    /// The state the process starts in (the timeline's `created` event).
    pub initial_state: String,
    /// The state the case has reached.
    pub state: String,
    pub customer_id: Option<i64>,
    pub contact_name: String,
    pub contact_phone: String,
    pub received_at: DateTime<Utc>,
    pub channel: String,
    pub product_code: String,
    pub model: String,
    pub subject: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub responsibility: String,
    pub lead_department_id: Option<i64>,
    pub confidential: bool,
    pub locale: String,
    pub tracking_hash: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// A running service-level clock, for open cases.
    pub clock: Option<BulkClock>,
}

#[derive(Debug, Clone)]
pub struct BulkClock {
    pub name: String,
    pub calendar: String,
    /// The duration as JSON (`{"hours":24}`).
    pub duration: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    pub next_check_at: Option<DateTime<Utc>>,
}

/// Rows per statement: a few hundred kilobytes of JSON.
const ROWS_PER_STATEMENT: usize = 1000;

/// Time as sqlx writes it to SQLite, so text comparisons agree with rows written one by one.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn ts_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(ts(t))).unwrap_or(Value::Null)
}

/// `INSERT INTO table (cols) SELECT … FROM <json rows>`; `cols` are (column, PostgreSQL type).
async fn insert_json(
    c: &mut Conn<'_>,
    table: &str,
    cols: &[(&str, &str)],
    rows: &[Value],
    on_conflict: &str,
) -> StoreResult<()> {
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    let names = names.join(", ");
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let body = Value::Array(chunk.to_vec()).to_string();
        match c {
            Conn::Sqlite(e) => {
                let sel: Vec<String> = (0..cols.len()).map(|i| format!("value ->> {i}")).collect();
                sqlx::query(sql!(
                    "INSERT INTO {table} ({names}) SELECT {} FROM json_each($1) WHERE TRUE {on_conflict}",
                    sel.join(", ")
                ))
                .bind(body)
                .execute(&mut **e)
                .await
                .map_err(map_err)?;
            }
            Conn::Postgres(e) => {
                let sel: Vec<String> =
                    cols.iter().enumerate().map(|(i, (_, ty))| format!("(value ->> {i})::{ty}")).collect();
                sqlx::query(sql!(
                    "INSERT INTO {table} ({names}) SELECT {} FROM jsonb_array_elements($1::jsonb) WHERE TRUE {on_conflict}",
                    sel.join(", ")
                ))
                .bind(body)
                .execute(&mut **e)
                .await
                .map_err(map_err)?;
            }
        }
    }
    Ok(())
}

/// Takes `n` case ids no other writer will use.
async fn reserve_case_ids(c: &mut Conn<'_>, n: usize) -> StoreResult<Vec<i64>> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    match c {
        // ENGINE: the caller's transaction holds SQLite's write lock, so the ids after the
        // largest are free; PostgreSQL hands them out from the identity sequence.
        Conn::Sqlite(e) => {
            let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM cases")
                .fetch_one(&mut **e)
                .await
                .map_err(map_err)?;
            Ok((max + 1..=max + n).collect())
        }
        Conn::Postgres(e) => sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, $1::bigint)",
        )
        .bind(n)
        .fetch_all(&mut **e)
        .await
        .map_err(map_err),
    }
}

/// Inserts the cases with their `created` events, running clocks and monthly counts, inside the
/// caller's transaction; returns their ids in order.
pub async fn insert_cases(
    c: &mut Conn<'_>,
    actor_id: Option<i64>,
    actor: &str,
    cases: &[BulkCase],
) -> StoreResult<Vec<i64>> {
    let ids = reserve_case_ids(c, cases.len()).await?;
    let zone = crate::cases::report_zone();
    let mut case_rows = Vec::with_capacity(cases.len());
    let mut event_rows = Vec::with_capacity(cases.len());
    let mut clock_rows = Vec::new();
    let mut counts: HashMap<(String, &str, &str, i64, &str), i64> = HashMap::new();
    for (k, &id) in cases.iter().zip(&ids) {
        let next_due = k.clock.as_ref().map(|c| c.due_at);
        case_rows.push(json!([
            id,
            k.number,
            k.case_type,
            k.definition_version,
            k.state,
            k.customer_id,
            k.contact_name,
            k.contact_phone,
            ts(k.received_at),
            k.channel,
            k.product_code,
            k.model,
            k.subject,
            k.description,
            k.category,
            k.severity,
            k.responsibility,
            k.lead_department_id,
            k.confidential,
            k.locale,
            k.tracking_hash,
            ts_opt(k.closed_at),
            ts_opt(next_due),
            ts(k.received_at),
            ts(k.updated_at),
        ]));
        let started: Vec<&str> = k.clock.iter().map(|c| c.name.as_str()).collect();
        event_rows.push(json!([
            id,
            ts(k.received_at),
            actor_id,
            actor,
            "created",
            k.initial_state,
            json!({ "clocks_started": started }).to_string(),
            true,
        ]));
        if let Some(cl) = &k.clock {
            clock_rows.push(json!([
                id,
                cl.name,
                cl.calendar,
                cl.duration,
                ts(cl.started_at),
                ts(cl.due_at),
                ts(cl.warn_at),
                "running",
                ts_opt(cl.next_check_at),
            ]));
        }
        let month = loopdesk_domain::case::NumberFormat::month(k.received_at, zone);
        *counts
            .entry((month, &k.case_type, &k.category, k.lead_department_id.unwrap_or(0), &k.severity))
            .or_insert(0) += 1;
    }
    const CASE_COLS: [(&str, &str); 25] = [
        ("id", "bigint"),
        ("number", "text"),
        ("case_type", "text"),
        ("definition_version", "bigint"),
        ("state", "text"),
        ("customer_id", "bigint"),
        ("contact_name", "text"),
        ("contact_phone", "text"),
        ("received_at", "timestamptz"),
        ("channel", "text"),
        ("product_code", "text"),
        ("model", "text"),
        ("subject", "text"),
        ("description", "text"),
        ("category", "text"),
        ("severity", "text"),
        ("responsibility", "text"),
        ("lead_department_id", "bigint"),
        ("confidential", "boolean"),
        ("locale", "text"),
        ("tracking_hash", "text"),
        ("closed_at", "timestamptz"),
        ("next_due_at", "timestamptz"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ];
    insert_json(c, "cases", &CASE_COLS, &case_rows, "").await?;
    const EVENT_COLS: [(&str, &str); 8] = [
        ("case_id", "bigint"),
        ("at", "timestamptz"),
        ("actor_id", "bigint"),
        ("actor", "text"),
        ("kind", "text"),
        ("to_state", "text"),
        ("fields", "text"),
        ("public", "boolean"),
    ];
    insert_json(c, "case_events", &EVENT_COLS, &event_rows, "").await?;
    const CLOCK_COLS: [(&str, &str); 9] = [
        ("case_id", "bigint"),
        ("name", "text"),
        ("calendar", "text"),
        ("duration", "text"),
        ("started_at", "timestamptz"),
        ("due_at", "timestamptz"),
        ("warn_at", "timestamptz"),
        ("state", "text"),
        ("next_check_at", "timestamptz"),
    ];
    insert_json(c, "case_clocks", &CLOCK_COLS, &clock_rows, "").await?;
    let count_rows: Vec<Value> = counts
        .into_iter()
        .map(|((month, case_type, category, dept, severity), n)| json!([month, case_type, category, dept, severity, n]))
        .collect();
    const COUNT_COLS: [(&str, &str); 6] = [
        ("month", "text"),
        ("case_type", "text"),
        ("category", "text"),
        ("department_id", "bigint"),
        ("severity", "text"),
        ("n", "bigint"),
    ];
    insert_json(
        c,
        "case_counts",
        &COUNT_COLS,
        &count_rows,
        "ON CONFLICT (month, case_type, category, department_id, severity) DO UPDATE SET n = case_counts.n + excluded.n",
    )
    .await?;
    Ok(ids)
}

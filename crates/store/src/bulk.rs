//! Many cases per statement: the demo generator's bulk load and the group commit of intake, with
//! the same bookkeeping (timeline, clocks, the case's next due time, monthly counts) in the same
//! transaction. Numbers, counters and audit events are the caller's.
//!
//! ENGINE: on SQLite rows are bound to anonymous `?` placeholders of a multi-row VALUES; on
//! PostgreSQL they travel as one JSON array per statement, unpacked by `jsonb_array_elements`.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::Conn;
use crate::cases::{Case, ClockRow, NewCase};
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
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn ts_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(ts(t))).unwrap_or(Value::Null)
}

/// Multi-row INSERTs gathered to be sent together. Each row is a JSON array of the values in the
/// order of the columns, given as (column, PostgreSQL type).
///
/// ENGINE: on SQLite every part becomes one multi-row VALUES with anonymous `?` placeholders, and
/// all parts go as one multi-statement query: one round trip to the connection's thread instead
/// of one per table. PostgreSQL gets one statement per part, its rows as one JSON array unpacked
/// by `jsonb_array_elements`.
#[derive(Default)]
pub struct Inserts {
    parts: Vec<Part>,
}

struct Part {
    /// Only for this engine; `None`: for both.
    engine: Option<crate::Engine>,
    table: &'static str,
    cols: &'static [(&'static str, &'static str)],
    rows: Vec<Value>,
    on_conflict: &'static str,
}

impl Inserts {
    /// Adds rows for `table`; `on_conflict` is an `ON CONFLICT …` clause or empty.
    pub fn add(
        &mut self,
        table: &'static str,
        cols: &'static [(&'static str, &'static str)],
        rows: Vec<Value>,
        on_conflict: &'static str,
    ) {
        self.add_for(None, table, cols, rows, on_conflict);
    }

    /// Like [`Inserts::add`], rows only SQLite is given (where the engines keep data differently).
    pub fn add_sqlite(
        &mut self,
        table: &'static str,
        cols: &'static [(&'static str, &'static str)],
        rows: Vec<Value>,
        on_conflict: &'static str,
    ) {
        self.add_for(Some(crate::Engine::Sqlite), table, cols, rows, on_conflict);
    }

    /// Like [`Inserts::add`], rows only PostgreSQL is given.
    pub fn add_postgres(
        &mut self,
        table: &'static str,
        cols: &'static [(&'static str, &'static str)],
        rows: Vec<Value>,
        on_conflict: &'static str,
    ) {
        self.add_for(Some(crate::Engine::Postgres), table, cols, rows, on_conflict);
    }

    fn add_for(
        &mut self,
        engine: Option<crate::Engine>,
        table: &'static str,
        cols: &'static [(&'static str, &'static str)],
        rows: Vec<Value>,
        on_conflict: &'static str,
    ) {
        if !rows.is_empty() {
            self.parts.push(Part { engine, table, cols, rows, on_conflict });
        }
    }

    /// Runs every insert gathered, in the order added.
    pub async fn run(self, c: &mut Conn<'_>) -> StoreResult<()> {
        match c {
            Conn::Sqlite(e) => {
                // Statements of up to 30,000 parameters, several to a query while the query stays under that.
                let mut sql = String::new();
                let mut args = sqlx::sqlite::SqliteArguments::default();
                let mut params = 0;
                for part in self.parts.into_iter().filter(|p| p.engine != Some(crate::Engine::Postgres)) {
                    let names: Vec<&str> = part.cols.iter().map(|(n, _)| *n).collect();
                    let names = names.join(", ");
                    let per = (30_000 / part.cols.len().max(1)).max(1);
                    let mut rows = part.rows.into_iter().peekable();
                    while rows.peek().is_some() {
                        let chunk: Vec<Value> = rows.by_ref().take(per).collect();
                        let n = chunk.len() * part.cols.len();
                        if params > 0 && params + n > 30_000 {
                            run_sqlite(e, std::mem::take(&mut sql), std::mem::take(&mut args)).await?;
                            params = 0;
                        }
                        params += n;
                        sql.push_str(&format!(
                            "INSERT INTO {} ({names}) VALUES {} {};\n",
                            part.table,
                            values_list_sqlite(chunk.len(), part.cols.len()),
                            part.on_conflict
                        ));
                        for row in chunk {
                            if let Value::Array(values) = row {
                                for v in values {
                                    add_sqlite(&mut args, v)?;
                                }
                            }
                        }
                    }
                }
                if params > 0 {
                    run_sqlite(e, sql, args).await?;
                }
            }
            Conn::Postgres(e) => {
                for part in self.parts.iter().filter(|p| p.engine != Some(crate::Engine::Sqlite)) {
                    let names: Vec<&str> = part.cols.iter().map(|(n, _)| *n).collect();
                    let sel: Vec<String> =
                        part.cols.iter().enumerate().map(|(i, (_, ty))| format!("(value ->> {i})::{ty}")).collect();
                    for chunk in part.rows.chunks(ROWS_PER_STATEMENT) {
                        let body = Value::Array(chunk.to_vec()).to_string();
                        sqlx::query(sql!(
                            "INSERT INTO {} ({}) SELECT {} FROM jsonb_array_elements($1::jsonb) WHERE TRUE {}",
                            part.table,
                            names.join(", "),
                            sel.join(", "),
                            part.on_conflict
                        ))
                        .bind(body)
                        .execute(&mut **e)
                        .await
                        .map_err(map_err)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn values_list_sqlite(rows: usize, cols: usize) -> String {
    let row = format!("({})", vec!["?"; cols].join(", "));
    vec![row; rows].join(", ")
}

fn add_sqlite(args: &mut sqlx::sqlite::SqliteArguments, v: Value) -> StoreResult<()> {
    use sqlx::Arguments;
    let r = match v {
        Value::Null => args.add(None::<String>),
        Value::Bool(b) => args.add(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => args.add(i),
            None => args.add(n.as_f64()),
        },
        Value::String(s) => args.add(s),
        other => args.add(other.to_string()),
    };
    r.map_err(|e| map_err(sqlx::Error::Encode(e)))
}

async fn run_sqlite(
    e: &mut sqlx::SqliteConnection,
    sql: String,
    args: sqlx::sqlite::SqliteArguments,
) -> StoreResult<()> {
    // ENGINE: a multi-statement query; sqlx binds the arguments across its statements in order.
    sqlx::query_with(sqlx::AssertSqlSafe(sql), args).execute(e).await.map_err(map_err).map(|_| ())
}

/// Takes `n` ids of `table` no other writer will use.
pub(crate) async fn reserve_ids(c: &mut Conn<'_>, table: &str, n: usize) -> StoreResult<Vec<i64>> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    if n == 0 {
        return Ok(vec![]);
    }
    match c {
        // ENGINE: the caller's transaction holds SQLite's write lock, so the ids after the
        // largest are free; PostgreSQL hands them out from the identity sequence.
        Conn::Sqlite(e) => {
            let max: i64 = sqlx::query_scalar(sql!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
                .fetch_one(&mut **e)
                .await
                .map_err(map_err)?;
            Ok((max + 1..=max + n).collect())
        }
        Conn::Postgres(e) => sqlx::query_scalar(sql!(
            "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1::bigint)"
        ))
        .bind(n)
        .fetch_all(&mut **e)
        .await
        .map_err(map_err),
    }
}

/// Takes `cases` case ids, `clocks` clock ids and one search document id per case, none of
/// which another writer will use.
async fn reserve_case_and_clock_ids(
    c: &mut Conn<'_>,
    cases: usize,
    clocks: usize,
) -> StoreResult<(Vec<i64>, Vec<i64>, Vec<i64>)> {
    match c {
        // ENGINE: one query for all on SQLite (under the write lock the ids after the largest
        // are free).
        Conn::Sqlite(e) => {
            let (a, b, d): (i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM cases), (SELECT COALESCE(MAX(id), 0) FROM case_clocks),
                 (SELECT COALESCE(MAX(id), 0) FROM search_docs)",
            )
            .fetch_one(&mut **e)
            .await
            .map_err(map_err)?;
            let span = |from: i64, n: usize| (from + 1..=from + i64::try_from(n).unwrap_or(i64::MAX)).collect();
            Ok((span(a, cases), span(b, clocks), span(d, cases)))
        }
        Conn::Postgres(_) => Ok((
            reserve_ids(c, "cases", cases).await?,
            reserve_ids(c, "case_clocks", clocks).await?,
            reserve_ids(c, "search_docs", cases).await?,
        )),
    }
}

/// Inserts generated cases with their `created` events, running clocks and monthly counts,
/// inside the caller's transaction; returns their ids in order.
pub async fn insert_cases(
    c: &mut Conn<'_>,
    actor_id: Option<i64>,
    actor: &str,
    cases: &[BulkCase],
) -> StoreResult<Vec<i64>> {
    let clocks = cases.iter().filter(|k| k.clock.is_some()).count();
    let (ids, clock_ids, doc_ids) = reserve_case_and_clock_ids(c, cases.len(), clocks).await?;
    let mut clock_ids = clock_ids.into_iter();
    let mut rows = Rows { doc_ids: doc_ids.into_iter(), ..Rows::default() };
    for (k, &id) in cases.iter().zip(&ids) {
        let clock = k.clock.as_ref().map(|cl| ClockRow {
            id: clock_ids.next().unwrap_or_default(),
            case_id: id,
            name: cl.name.clone(),
            calendar: cl.calendar.clone(),
            duration: cl.duration.clone(),
            started_at: cl.started_at,
            due_at: cl.due_at,
            warn_at: cl.warn_at,
            state: "running".into(),
            paused_since: None,
            paused_ms: 0,
            met_at: None,
            breached_at: None,
            escalation_level: 0,
            warned: false,
            version: 1,
            next_check_at: cl.next_check_at,
        });
        let case = Case {
            id,
            number: k.number.clone(),
            case_type: k.case_type.clone(),
            definition_version: k.definition_version,
            state: k.state.clone(),
            customer_id: k.customer_id,
            contact_id: None,
            contact_name: k.contact_name.clone(),
            contact_phone: k.contact_phone.clone(),
            contact_email: String::new(),
            received_at: k.received_at,
            channel: k.channel.clone(),
            product_id: None,
            model: k.model.clone(),
            serial: String::new(),
            product_code: k.product_code.clone(),
            ship_date: None,
            subject: k.subject.clone(),
            description: k.description.clone(),
            category: k.category.clone(),
            severity: k.severity.clone(),
            responsibility: k.responsibility.clone(),
            responsibility_note: String::new(),
            lead_department_id: k.lead_department_id,
            owner_id: None,
            confidential: k.confidential,
            adverse_event: false,
            locale: k.locale.clone(),
            tracking_hash: k.tracking_hash.clone(),
            merged_into_id: None,
            fields: "{}".into(),
            closed_at: k.closed_at,
            version: 1,
            created_at: k.received_at,
            updated_at: k.updated_at,
            next_due_at: clock.as_ref().map(|c| c.due_at),
        };
        let started: Vec<&str> = clock.iter().map(|c| c.name.as_str()).collect();
        let fields = json!({ "clocks_started": started }).to_string();
        rows.add(&case, (actor_id, actor, &k.initial_state, &fields, k.received_at), clock.as_slice());
    }
    let mut ins = Inserts::default();
    rows.into_inserts(&mut ins);
    ins.run(c).await?;
    Ok(ids)
}

/// A case registered at intake, numbered, with the clocks its process starts.
#[derive(Debug, Clone)]
pub struct NewCaseRows {
    pub case: NewCase,
    /// Who registered it (the `created` event's actor).
    pub actor_id: Option<i64>,
    pub actor: String,
    /// The `created` event's fields, as a JSON object.
    pub event_fields: String,
    /// The clocks started at intake; their ids and case ids are assigned here.
    pub clocks: Vec<ClockRow>,
}

/// Takes ids for many new cases and their clocks, adds their rows (cases, timeline, clocks,
/// monthly counts) to `ins` for the caller to run in its transaction, and returns them as they
/// will be stored, with their clocks, in input order. The audit events are the caller's. Times
/// should be whole microseconds (PostgreSQL keeps no more).
pub async fn register_cases(
    c: &mut Conn<'_>,
    ins: &mut Inserts,
    now: DateTime<Utc>,
    cases: Vec<NewCaseRows>,
) -> StoreResult<Vec<(Case, Vec<ClockRow>)>> {
    let (ids, clock_ids, doc_ids) =
        reserve_case_and_clock_ids(c, cases.len(), cases.iter().map(|k| k.clocks.len()).sum()).await?;
    let mut clock_ids = clock_ids.into_iter();
    let mut rows = Rows { doc_ids: doc_ids.into_iter(), ..Rows::default() };
    let mut out = Vec::with_capacity(cases.len());
    for (k, id) in cases.into_iter().zip(ids) {
        let mut clocks = k.clocks;
        for cl in &mut clocks {
            cl.case_id = id;
            cl.id = clock_ids.next().unwrap_or_default();
        }
        let n = k.case;
        let case = Case {
            id,
            number: n.number,
            case_type: n.case_type,
            definition_version: n.definition_version,
            state: n.state,
            customer_id: n.customer_id,
            contact_id: n.contact_id,
            contact_name: n.contact_name,
            contact_phone: n.contact_phone,
            contact_email: n.contact_email,
            received_at: n.received_at,
            channel: n.channel,
            product_id: n.product_id,
            model: n.model,
            serial: n.serial,
            product_code: n.product_code,
            ship_date: n.ship_date,
            subject: n.subject,
            description: n.description,
            category: String::new(),
            severity: n.severity,
            responsibility: String::new(),
            responsibility_note: String::new(),
            lead_department_id: n.lead_department_id,
            owner_id: n.owner_id,
            confidential: n.confidential,
            adverse_event: n.adverse_event,
            locale: n.locale,
            tracking_hash: n.tracking_hash,
            merged_into_id: None,
            fields: if n.fields.is_empty() { "{}".into() } else { n.fields },
            closed_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
            next_due_at: clocks.iter().filter(|c| c.state == "running").map(|c| c.due_at).min(),
        };
        rows.add(&case, (k.actor_id, &k.actor, &case.state, &k.event_fields, now), &clocks);
        out.push((case, clocks));
    }
    rows.into_inserts(ins);
    Ok(out)
}

/// Who registered a case and when: (actor id, actor, state it started in, fields, at).
type Created<'a> = (Option<i64>, &'a str, &'a str, &'a str, DateTime<Utc>);

/// The rows new cases add to each table, gathered for one statement per table.
#[derive(Default)]
struct Rows {
    cases: Vec<Value>,
    events: Vec<Value>,
    clocks: Vec<Value>,
    /// Cases per (month, type, category, department, severity).
    counts: HashMap<(String, String, String, i64, String), i64>,
    /// Ids taken for the cases' search documents, and the documents.
    doc_ids: std::vec::IntoIter<i64>,
    docs: Vec<(i64, crate::search::Doc)>,
}

const CASE_COLS: [(&str, &str); 33] = [
    ("id", "bigint"),
    ("number", "text"),
    ("case_type", "text"),
    ("definition_version", "bigint"),
    ("state", "text"),
    ("customer_id", "bigint"),
    ("contact_id", "bigint"),
    ("contact_name", "text"),
    ("contact_phone", "text"),
    ("contact_email", "text"),
    ("received_at", "timestamptz"),
    ("channel", "text"),
    ("product_id", "bigint"),
    ("model", "text"),
    ("serial", "text"),
    ("product_code", "text"),
    ("ship_date", "date"),
    ("subject", "text"),
    ("description", "text"),
    ("category", "text"),
    ("severity", "text"),
    ("responsibility", "text"),
    ("lead_department_id", "bigint"),
    ("owner_id", "bigint"),
    ("confidential", "boolean"),
    ("adverse_event", "boolean"),
    ("locale", "text"),
    ("tracking_hash", "text"),
    ("fields", "text"),
    ("closed_at", "timestamptz"),
    ("next_due_at", "timestamptz"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
];

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

const CLOCK_COLS: [(&str, &str); 17] = [
    ("id", "bigint"),
    ("case_id", "bigint"),
    ("name", "text"),
    ("calendar", "text"),
    ("duration", "text"),
    ("started_at", "timestamptz"),
    ("due_at", "timestamptz"),
    ("warn_at", "timestamptz"),
    ("state", "text"),
    ("paused_since", "timestamptz"),
    ("paused_ms", "bigint"),
    ("met_at", "timestamptz"),
    ("breached_at", "timestamptz"),
    ("escalation_level", "bigint"),
    ("warned", "boolean"),
    ("version", "bigint"),
    ("next_check_at", "timestamptz"),
];

const COUNT_COLS: [(&str, &str); 6] = [
    ("month", "text"),
    ("case_type", "text"),
    ("category", "text"),
    ("department_id", "bigint"),
    ("severity", "text"),
    ("n", "bigint"),
];

impl Rows {
    /// Adds a new case, its `created` event and its clocks.
    fn add(&mut self, k: &Case, created: Created<'_>, clocks: &[ClockRow]) {
        let (actor_id, actor, state, fields, at) = created;
        self.cases.push(json!([
            k.id,
            k.number,
            k.case_type,
            k.definition_version,
            k.state,
            k.customer_id,
            k.contact_id,
            k.contact_name,
            k.contact_phone,
            k.contact_email,
            ts(k.received_at),
            k.channel,
            k.product_id,
            k.model,
            k.serial,
            k.product_code,
            k.ship_date.map(|d| d.format("%Y-%m-%d").to_string()),
            k.subject,
            k.description,
            k.category,
            k.severity,
            k.responsibility,
            k.lead_department_id,
            k.owner_id,
            k.confidential,
            k.adverse_event,
            k.locale,
            k.tracking_hash,
            k.fields,
            ts_opt(k.closed_at),
            ts_opt(k.next_due_at),
            ts(k.created_at),
            ts(k.updated_at),
        ]));
        self.events.push(json!([k.id, ts(at), actor_id, actor, "created", state, fields, true]));
        for cl in clocks {
            self.clocks.push(json!([
                cl.id,
                cl.case_id,
                cl.name,
                cl.calendar,
                cl.duration,
                ts(cl.started_at),
                ts(cl.due_at),
                ts(cl.warn_at),
                cl.state,
                ts_opt(cl.paused_since),
                cl.paused_ms,
                ts_opt(cl.met_at),
                ts_opt(cl.breached_at),
                cl.escalation_level,
                cl.warned,
                cl.version,
                ts_opt(cl.next_check_at),
            ]));
        }
        if let Some(doc_id) = self.doc_ids.next() {
            self.docs.push((doc_id, crate::search::Doc::of_case(k)));
        }
        let month = loopdesk_domain::case::NumberFormat::month(k.received_at, crate::cases::report_zone());
        *self
            .counts
            .entry((
                month,
                k.case_type.clone(),
                k.category.clone(),
                k.lead_department_id.unwrap_or(0),
                k.severity.clone(),
            ))
            .or_insert(0) += 1;
    }

    fn into_inserts(self, ins: &mut Inserts) {
        ins.add("cases", &CASE_COLS, self.cases, "");
        crate::search::add_bulk(ins, &self.docs, chrono::Utc::now());
        ins.add("case_events", &EVENT_COLS, self.events, "");
        ins.add("case_clocks", &CLOCK_COLS, self.clocks, "");
        let counts = self
            .counts
            .into_iter()
            .map(|((month, case_type, category, dept, severity), n)| {
                json!([month, case_type, category, dept, severity, n])
            })
            .collect();
        ins.add(
            "case_counts",
            &COUNT_COLS,
            counts,
            "ON CONFLICT (month, case_type, category, department_id, severity) DO UPDATE SET n = case_counts.n + excluded.n",
        );
    }
}

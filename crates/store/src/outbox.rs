//! The outbox (spec C11): messages written in the business transaction, claimed by a dispatcher
//! under a lease, finished only by the node that still holds the lease (fencing), and one
//! attempt row per try.

use chrono::{DateTime, Utc};
use loopdesk_domain::page::{Page, Paged};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Conn;
use crate::bulk::{Inserts, ts};
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};

/// A message to enqueue, already rendered.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub event_id: String,
    pub dedupe_key: String,
    pub channel: String,
    pub kind: String,
    pub recipient: String,
    pub recipient_name: String,
    pub user_id: Option<i64>,
    pub case_id: Option<i64>,
    pub locale: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub thread_root: String,
    pub created_at: DateTime<Utc>,
    /// The robot or webhook destination (None for mail).
    pub destination_id: Option<i64>,
    /// When it is first due (None: at `created_at`), e.g. a digest waiting for the next budget window.
    pub due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub event_id: String,
    pub dedupe_key: String,
    pub channel: String,
    pub kind: String,
    pub recipient: String,
    pub recipient_name: String,
    pub user_id: Option<i64>,
    pub case_id: Option<i64>,
    pub locale: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub thread_root: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: String,
    pub provider_code: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub destination_id: Option<i64>,
}

const COLS: &str = "id, event_id, dedupe_key, channel, kind, recipient, recipient_name, user_id, case_id, locale, \
     subject, body_text, body_html, thread_root, status, attempts, next_attempt_at, lease_owner, lease_until, \
     last_error, provider_code, created_at, sent_at, destination_id";

const INSERT_COLS: [(&str, &str); 17] = [
    ("event_id", "text"),
    ("dedupe_key", "text"),
    ("channel", "text"),
    ("kind", "text"),
    ("recipient", "text"),
    ("recipient_name", "text"),
    ("user_id", "bigint"),
    ("case_id", "bigint"),
    ("locale", "text"),
    ("subject", "text"),
    ("body_text", "text"),
    ("body_html", "text"),
    ("thread_root", "text"),
    ("status", "text"),
    ("next_attempt_at", "timestamptz"),
    ("created_at", "timestamptz"),
    ("destination_id", "bigint"),
];

/// The same business fact enqueued again is dropped, not an error.
const ON_DUPLICATE: &str = "ON CONFLICT (dedupe_key) DO NOTHING";

fn row(m: &NewMessage) -> Value {
    json!([
        m.event_id,
        m.dedupe_key,
        m.channel,
        m.kind,
        m.recipient,
        m.recipient_name,
        m.user_id,
        m.case_id,
        m.locale,
        m.subject,
        m.body_text,
        m.body_html,
        m.thread_root,
        "pending",
        ts(m.due_at.unwrap_or(m.created_at)),
        ts(m.created_at),
        m.destination_id,
    ])
}

/// Adds messages to a batch of inserts (the group commit of intake writes them with its cases).
pub fn add_to(ins: &mut Inserts, messages: &[NewMessage]) {
    ins.add("outbox", &INSERT_COLS, messages.iter().map(row).collect(), ON_DUPLICATE);
}

/// Enqueues messages inside the caller's transaction.
pub async fn enqueue(c: &mut Conn<'_>, messages: &[NewMessage]) -> StoreResult<()> {
    let mut ins = Inserts::default();
    add_to(&mut ins, messages);
    ins.run(c).await
}

/// Takes up to `limit` due messages for `node` until `lease_until`, counting the try.
/// ENGINE: PostgreSQL skips rows another node is claiming (`FOR UPDATE SKIP LOCKED`); SQLite's
/// caller holds the single write lock.
pub async fn claim(
    c: &mut Conn<'_>,
    node: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    let lock = match c {
        Conn::Sqlite(_) => "",
        Conn::Postgres(_) => "FOR UPDATE SKIP LOCKED",
    };
    on!(c, e => sqlx::query_as(sql!(
        "UPDATE outbox SET status = 'in_flight', lease_owner = $1, lease_until = $2, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $3
                      ORDER BY next_attempt_at, id LIMIT $4 {lock})
         RETURNING {COLS}"
    ))
    .bind(node)
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// Messages whose sender's lease ran out while sending (the node died or hung), locked for
/// this transaction: the send is ambiguous.
pub async fn abandoned(c: &mut Conn<'_>, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Message>> {
    let lock = match c {
        Conn::Sqlite(_) => "",
        Conn::Postgres(_) => "FOR UPDATE SKIP LOCKED",
    };
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {COLS} FROM outbox WHERE status = 'in_flight' AND lease_until < $1 ORDER BY id LIMIT $2 {lock}"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// The outcome of a try, written only if `node` still holds the lease of try number
/// `attempts` (fencing: a node that lost its lease cannot overwrite a newer claim).
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub id: i64,
    pub node: &'a str,
    pub attempts: i64,
    pub status: &'a str,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: &'a str,
    pub provider_code: &'a str,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Returns whether the lease still held (and the outcome was stored).
pub async fn finish(c: &mut Conn<'_>, f: &Finish<'_>) -> StoreResult<bool> {
    let n = on!(c, e => sqlx::query(
        "UPDATE outbox SET status = $1, next_attempt_at = $2, last_error = $3, provider_code = $4, sent_at = $5,
         lease_owner = NULL, lease_until = NULL
         WHERE id = $6 AND status = 'in_flight' AND lease_owner = $7 AND attempts = $8",
    )
    .bind(f.status)
    .bind(f.next_attempt_at)
    .bind(f.last_error)
    .bind(f.provider_code)
    .bind(f.sent_at)
    .bind(f.id)
    .bind(f.node)
    .bind(f.attempts)
    .execute(e)
    .await
    .map_err(map_err)?
    .rows_affected());
    Ok(n == 1)
}

/// An abandoned send's new status (`pending` to retry, `uncertain` for robots), if it is still
/// abandoned.
pub async fn settle_abandoned(
    c: &mut Conn<'_>,
    m: &Message,
    status: &str,
    next_attempt_at: DateTime<Utc>,
    reason: &str,
) -> StoreResult<bool> {
    let n = on!(c, e => sqlx::query(
        "UPDATE outbox SET status = $1, next_attempt_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL
         WHERE id = $4 AND status = 'in_flight' AND attempts = $5 AND lease_owner = $6",
    )
    .bind(status)
    .bind(next_attempt_at)
    .bind(reason)
    .bind(m.id)
    .bind(m.attempts)
    .bind(&m.lease_owner)
    .execute(e)
    .await
    .map_err(map_err)?
    .rows_affected());
    Ok(n == 1)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Attempt {
    pub id: i64,
    pub outbox_id: i64,
    pub attempt: i64,
    pub node: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: String,
    pub provider_code: String,
    pub excerpt: String,
}

#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub outbox_id: i64,
    pub attempt: i64,
    pub node: &'a str,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: &'a str,
    pub provider_code: &'a str,
    pub excerpt: &'a str,
}

pub async fn insert_attempt(c: &mut Conn<'_>, a: &NewAttempt<'_>) -> StoreResult<()> {
    on!(c, e => sqlx::query(
        "INSERT INTO outbox_attempts (outbox_id, attempt, node, started_at, finished_at, outcome, provider_code, excerpt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.outbox_id)
    .bind(a.attempt)
    .bind(a.node)
    .bind(a.started_at)
    .bind(a.finished_at)
    .bind(a.outcome)
    .bind(a.provider_code)
    .bind(a.excerpt)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))
}

pub async fn attempts(c: &mut Conn<'_>, outbox_id: i64) -> StoreResult<Vec<Attempt>> {
    on!(c, e => sqlx::query_as(
        "SELECT id, outbox_id, attempt, node, started_at, finished_at, outcome, provider_code, excerpt
         FROM outbox_attempts WHERE outbox_id = $1 ORDER BY id",
    )
    .bind(outbox_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

pub async fn message(c: &mut Conn<'_>, id: i64) -> StoreResult<Message> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// The delivery log's filters; `None` is any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub case_id: Option<i64>,
    /// Part of the recipient's address or name.
    pub recipient: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub async fn list(c: &mut Conn<'_>, f: &Filter, page: Page) -> StoreResult<Paged<Message>> {
    let cond = "($1 IS NULL OR status = $1) AND ($2 IS NULL OR channel = $2) AND ($3 IS NULL OR case_id = $3)
         AND ($4 IS NULL OR recipient LIKE $4 OR recipient_name LIKE $4)
         AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6)";
    let like = f.recipient.as_ref().map(|r| format!("%{}%", r.trim()));
    let total: i64 = on!(c, e => sqlx::query_scalar(sql!("SELECT COUNT(*) FROM outbox WHERE {cond}"))
        .bind(&f.status)
        .bind(&f.channel)
        .bind(f.case_id)
        .bind(&like)
        .bind(f.from)
        .bind(f.to)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    let items = on!(c, e => sqlx::query_as(sql!(
        "SELECT {COLS} FROM outbox WHERE {cond} ORDER BY id DESC LIMIT $7 OFFSET $8"
    ))
    .bind(&f.status)
    .bind(&f.channel)
    .bind(f.case_id)
    .bind(&like)
    .bind(f.from)
    .bind(f.to)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: false })
}

/// Moves a message from one of `from` to `to`, due at `at`; returns whether it was in one of them.
pub async fn set_status(c: &mut Conn<'_>, id: i64, from: &[&str], to: &str, at: DateTime<Utc>) -> StoreResult<bool> {
    let list: Vec<String> = from.iter().map(|s| format!("'{}'", s.replace('\'', ""))).collect();
    let n = on!(c, e => sqlx::query(sql!(
        "UPDATE outbox SET status = $1, next_attempt_at = $2 WHERE id = $3 AND status IN ({})",
        list.join(", ")
    ))
    .bind(to)
    .bind(at)
    .bind(id)
    .execute(e)
    .await
    .map_err(map_err)?
    .rows_affected());
    Ok(n == 1)
}

/// Messages per status, for the admin overview and metrics.
pub async fn counts(c: &mut Conn<'_>) -> StoreResult<Vec<(String, i64)>> {
    on!(c, e => sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// Someone to tell: (user id, display name, e-mail, locale).
pub type Person = (i64, String, Option<String>, String);

/// The active people of a department (its head and members), for a task sent to it.
pub async fn department_people(c: &mut Conn<'_>, department_id: i64) -> StoreResult<Vec<Person>> {
    on!(c, e => sqlx::query_as(
        "SELECT id, display_name, email, locale FROM users WHERE active AND department_id = $1 ORDER BY id",
    )
    .bind(department_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// The active administrators, told when a message fails for good.
pub async fn admins(c: &mut Conn<'_>) -> StoreResult<Vec<i64>> {
    on!(c, e => sqlx::query_scalar(
        "SELECT id FROM users WHERE active AND id IN (SELECT user_id FROM user_roles WHERE role = 'admin') ORDER BY id",
    )
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// Puts a claimed message back as due at `at` without counting the try (it was held back by its
/// destination's budget, not tried), if `node` still holds it.
pub async fn hold_back(c: &mut Conn<'_>, id: i64, node: &str, attempts: i64, at: DateTime<Utc>) -> StoreResult<bool> {
    let n = on!(c, e => sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, attempts = attempts - 1,
         lease_owner = NULL, lease_until = NULL
         WHERE id = $2 AND status = 'in_flight' AND lease_owner = $3 AND attempts = $4",
    )
    .bind(at)
    .bind(id)
    .bind(node)
    .bind(attempts)
    .execute(e)
    .await
    .map_err(map_err)?
    .rows_affected());
    Ok(n == 1)
}

/// Marks a claimed message as merged into the digest `into` (it is not sent by itself), if
/// `node` still holds it.
pub async fn merge_into(c: &mut Conn<'_>, id: i64, node: &str, attempts: i64, into: &str) -> StoreResult<bool> {
    let n = on!(c, e => sqlx::query(
        "UPDATE outbox SET status = 'merged', last_error = $1, attempts = attempts - 1,
         lease_owner = NULL, lease_until = NULL
         WHERE id = $2 AND status = 'in_flight' AND lease_owner = $3 AND attempts = $4",
    )
    .bind(into)
    .bind(id)
    .bind(node)
    .bind(attempts)
    .execute(e)
    .await
    .map_err(map_err)?
    .rows_affected());
    Ok(n == 1)
}

/// The id of the message enqueued under `dedupe_key`.
pub async fn id_by_dedupe_key(c: &mut Conn<'_>, dedupe_key: &str) -> StoreResult<Option<i64>> {
    on!(c, e => sqlx::query_scalar("SELECT id FROM outbox WHERE dedupe_key = $1")
        .bind(dedupe_key)
        .fetch_optional(e)
        .await
        .map_err(map_err))
}

/// The active users holding `role` (the GM office for escalations), with what a message needs.
pub async fn people_with_role(c: &mut Conn<'_>, role: &str) -> StoreResult<Vec<Person>> {
    on!(c, e => sqlx::query_as(
        "SELECT id, display_name, email, locale FROM users
         WHERE active AND id IN (SELECT user_id FROM user_roles WHERE role = $1) ORDER BY id",
    )
    .bind(role)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// These users, with what a message needs (inactive ones left out).
pub async fn people(c: &mut Conn<'_>, ids: &[i64]) -> StoreResult<Vec<Person>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let p: Option<Person> = on!(c, e => sqlx::query_as(
            "SELECT id, display_name, email, locale FROM users WHERE active AND id = $1",
        )
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(map_err))?;
        out.extend(p);
    }
    Ok(out)
}

//! Spare-part resend notices (备件补发通知单), the append-only warranty spare-parts ledger
//! (三包备件登记台账) and the monthly warranty-cost facts (issue #19 items 9-11).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreError, StoreResult, map_err};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Resend {
    pub id: i64,
    pub number: String,
    pub service_order_id: Option<i64>,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: String,
    pub asset_serial: String,
    pub product_code: String,
    pub part_code: String,
    pub part_name: String,
    pub spec: String,
    pub quantity: i32,
    pub unit_cost_fen: i64,
    pub payer: String,
    pub cause: String,
    pub supplier: String,
    pub ship_date: Option<NaiveDate>,
    pub ship_place: String,
    pub receiver_name: String,
    pub receiver_phone: String,
    pub receiver_address: String,
    pub carrier: String,
    pub tracking_no: String,
    pub reason: String,
    /// `awaiting_approval`, `approved`, `rejected`, `shipped`.
    pub state: String,
    pub requested_by: Option<i64>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: String,
    pub shipped_by: Option<i64>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RESEND_COLS: &str =
    "id, number, service_order_id, case_id, customer_id, customer_name, asset_serial, product_code,
    part_code, part_name, spec, quantity, unit_cost_fen, payer, cause, supplier, ship_date, ship_place, receiver_name,
    receiver_phone, receiver_address, carrier, tracking_no, reason, state, requested_by, decided_by, decided_at,
    decision_note, shipped_by, shipped_at, version, created_at, updated_at";

/// What a resend notice is written with.
#[derive(Debug, Clone, Default)]
pub struct NewResend {
    pub number: String,
    pub service_order_id: Option<i64>,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: String,
    pub asset_serial: String,
    pub product_code: String,
    pub part_code: String,
    pub part_name: String,
    pub spec: String,
    pub quantity: i32,
    pub unit_cost_fen: i64,
    pub payer: String,
    pub cause: String,
    pub supplier: String,
    pub ship_date: Option<NaiveDate>,
    pub ship_place: String,
    pub receiver_name: String,
    pub receiver_phone: String,
    pub receiver_address: String,
    pub reason: String,
    pub requested_by: Option<i64>,
}

pub async fn insert_resend(c: &mut Conn<'_>, r: &NewResend, now: DateTime<Utc>) -> StoreResult<Resend> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO spare_part_resends (number, service_order_id, case_id, customer_id, customer_name, asset_serial,
            product_code, part_code, part_name, spec, quantity, unit_cost_fen, payer, cause, supplier, ship_date,
            ship_place, receiver_name, receiver_phone, receiver_address, reason, state, requested_by, version,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
            'awaiting_approval', $22, 1, $23, $23)
         RETURNING {RESEND_COLS}"
    ))
    .bind(&r.number)
    .bind(r.service_order_id)
    .bind(r.case_id)
    .bind(r.customer_id)
    .bind(&r.customer_name)
    .bind(&r.asset_serial)
    .bind(&r.product_code)
    .bind(&r.part_code)
    .bind(&r.part_name)
    .bind(&r.spec)
    .bind(r.quantity)
    .bind(r.unit_cost_fen)
    .bind(&r.payer)
    .bind(&r.cause)
    .bind(&r.supplier)
    .bind(r.ship_date)
    .bind(&r.ship_place)
    .bind(&r.receiver_name)
    .bind(&r.receiver_phone)
    .bind(&r.receiver_address)
    .bind(&r.reason)
    .bind(r.requested_by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn resend(c: &mut Conn<'_>, id: i64) -> StoreResult<Resend> {
    on!(c, e => sqlx::query_as(sql!("SELECT {RESEND_COLS} FROM spare_part_resends WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Resends, newest first; `state` filters when given; `order` limits to one service order.
pub async fn resends(
    c: &mut Conn<'_>,
    state: Option<&str>,
    order: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<Resend>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {RESEND_COLS} FROM spare_part_resends
          WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR service_order_id = $2)
          ORDER BY id DESC LIMIT $3"
    ))
    .bind(state)
    .bind(order)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// The management representative's decision: `approved` or `rejected`, only from
/// `awaiting_approval` at `version`.
pub async fn decide_resend(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    state: &str,
    by: Option<i64>,
    note: &str,
    now: DateTime<Utc>,
) -> StoreResult<Resend> {
    let r: Option<Resend> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE spare_part_resends SET state = $1, decided_by = $2, decided_at = $3, decision_note = $4,
                version = version + 1, updated_at = $3
          WHERE id = $5 AND version = $6 AND state = 'awaiting_approval' RETURNING {RESEND_COLS}"
    ))
    .bind(state)
    .bind(by)
    .bind(now)
    .bind(note)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    r.ok_or(StoreError::Stale)
}

/// The warehouse ships an approved resend.
#[allow(clippy::too_many_arguments)]
pub async fn ship_resend(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    ship_date: NaiveDate,
    carrier: &str,
    tracking_no: &str,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<Resend> {
    let r: Option<Resend> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE spare_part_resends SET state = 'shipped', ship_date = $1, carrier = $2, tracking_no = $3,
                shipped_by = $4, shipped_at = $5, version = version + 1, updated_at = $5
          WHERE id = $6 AND version = $7 AND state = 'approved' RETURNING {RESEND_COLS}"
    ))
    .bind(ship_date)
    .bind(carrier)
    .bind(tracking_no)
    .bind(by)
    .bind(now)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    r.ok_or(StoreError::Stale)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LedgerEntry {
    pub id: i64,
    pub entry_date: NaiveDate,
    /// `issued`, `returned_faulty`, `scrapped`, `returned_to_supplier`, `restocked`.
    pub movement: String,
    pub part_code: String,
    pub part_name: String,
    pub spec: String,
    pub quantity: i32,
    pub cost_fen: i64,
    pub service_order_id: Option<i64>,
    pub resend_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: String,
    pub asset_serial: String,
    pub supplier: String,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const LEDGER_COLS: &str = "id, entry_date, movement, part_code, part_name, spec, quantity, cost_fen, service_order_id,
    resend_id, customer_id, customer_name, asset_serial, supplier, note, created_by, created_at";

#[derive(Debug, Clone, Default)]
pub struct NewLedgerEntry {
    pub entry_date: NaiveDate,
    pub movement: String,
    pub part_code: String,
    pub part_name: String,
    pub spec: String,
    pub quantity: i32,
    pub cost_fen: i64,
    pub service_order_id: Option<i64>,
    pub resend_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: String,
    pub asset_serial: String,
    pub supplier: String,
    pub note: String,
    pub created_by: Option<i64>,
}

/// Appends one ledger line (there is no update or delete: the tables' triggers refuse them).
pub async fn append_ledger(c: &mut Conn<'_>, l: &NewLedgerEntry, now: DateTime<Utc>) -> StoreResult<LedgerEntry> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO warranty_parts_ledger (entry_date, movement, part_code, part_name, spec, quantity, cost_fen,
            service_order_id, resend_id, customer_id, customer_name, asset_serial, supplier, note, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING {LEDGER_COLS}"
    ))
    .bind(l.entry_date)
    .bind(&l.movement)
    .bind(&l.part_code)
    .bind(&l.part_name)
    .bind(&l.spec)
    .bind(l.quantity)
    .bind(l.cost_fen)
    .bind(l.service_order_id)
    .bind(l.resend_id)
    .bind(l.customer_id)
    .bind(&l.customer_name)
    .bind(&l.asset_serial)
    .bind(&l.supplier)
    .bind(&l.note)
    .bind(l.created_by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Ledger lines dated `from..=to` in entry order, at most `limit`.
pub async fn ledger(c: &mut Conn<'_>, from: NaiveDate, to: NaiveDate, limit: i64) -> StoreResult<Vec<LedgerEntry>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {LEDGER_COLS} FROM warranty_parts_ledger WHERE entry_date >= $1 AND entry_date <= $2
          ORDER BY entry_date, id LIMIT $3"
    ))
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CostFact {
    pub month: String,
    pub product_code: String,
    pub cause: String,
    pub payer: String,
    pub kind: String,
    pub amount_fen: i64,
    pub postings: i64,
}

/// Adds `amount_fen` to the month's fact for (product, cause, payer, kind), creating it.
pub async fn post_cost(c: &mut Conn<'_>, f: &CostFact, now: DateTime<Utc>) -> StoreResult<()> {
    on!(c, e => sqlx::query(
        "INSERT INTO warranty_cost_facts (month, product_code, cause, payer, kind, amount_fen, postings, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
         ON CONFLICT (month, product_code, cause, payer, kind) DO UPDATE
            SET amount_fen = warranty_cost_facts.amount_fen + excluded.amount_fen,
                postings = warranty_cost_facts.postings + 1, updated_at = excluded.updated_at"
    )
    .bind(&f.month)
    .bind(&f.product_code)
    .bind(&f.cause)
    .bind(&f.payer)
    .bind(&f.kind)
    .bind(f.amount_fen)
    .bind(now)
    .execute(e)
    .await
    .map(|_| ())
    .map_err(map_err))
}

/// The facts of months `from..=to` (`YYYY-MM`).
pub async fn cost_facts(c: &mut Conn<'_>, from: &str, to: &str) -> StoreResult<Vec<CostFact>> {
    on!(c, e => sqlx::query_as(
        "SELECT month, product_code, cause, payer, kind, amount_fen, postings FROM warranty_cost_facts
          WHERE month >= $1 AND month <= $2 ORDER BY month, product_code, cause, payer, kind"
    )
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

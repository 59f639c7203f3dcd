//! Service orders (售后服务报告单) and their lines, 三包 policies per product and each asset's 三包
//! history (issue #19). The service decides; these functions read and write rows.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreError, StoreResult, map_err};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ServiceOrder {
    pub id: i64,
    pub number: String,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub product_id: Option<i64>,
    pub serial: String,
    pub kind: String,
    pub priority: String,
    pub reported_fault: String,
    pub fault_task: String,
    pub state: String,
    pub requested_from: Option<DateTime<Utc>>,
    pub requested_to: Option<DateTime<Utc>>,
    pub technician_id: Option<i64>,
    pub planned_start: Option<DateTime<Utc>>,
    pub planned_end: Option<DateTime<Utc>>,
    pub onsite_due_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub departed_at: Option<DateTime<Utc>>,
    pub diagnosis: String,
    pub failure_code: String,
    pub cause_code: String,
    pub invoice_date: Option<NaiveDate>,
    pub main_part: bool,
    /// JSON list of 三包 void reasons.
    pub void_reasons: String,
    /// JSON of the last `domain::sanbao::Decision`; empty before diagnosis.
    pub sanbao: String,
    pub remedy: String,
    pub quote_fen: Option<i64>,
    /// `none`, `pending`, `accepted`, `rejected`.
    pub quote_state: String,
    pub quote_decided_by: String,
    pub quote_decided_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub work_done: String,
    pub report_due_at: Option<DateTime<Utc>>,
    pub report_at: Option<DateTime<Utc>>,
    pub report_text: String,
    pub signoff_name: String,
    pub signoff_at: Option<DateTime<Utc>>,
    pub signoff_method: String,
    /// A PNG data URL of the drawn signature, or empty.
    pub signoff_image: String,
    pub rating: Option<i32>,
    pub rating_comment: String,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "id, number, case_id, customer_id, contact_id, asset_id, product_id, serial, kind, priority,
    reported_fault, fault_task, state, requested_from, requested_to, technician_id, planned_start, planned_end,
    onsite_due_at, arrived_at, departed_at, diagnosis, failure_code, cause_code, invoice_date, main_part,
    void_reasons, sanbao, remedy, quote_fen, quote_state, quote_decided_by, quote_decided_at, completed_at,
    work_done, report_due_at, report_at, report_text, signoff_name, signoff_at, signoff_method, signoff_image,
    rating, rating_comment, created_by, version, created_at, updated_at";

/// Writes a new order from `o` (its id, version and timestamps are ignored).
pub async fn insert_order(c: &mut Conn<'_>, o: &ServiceOrder, now: DateTime<Utc>) -> StoreResult<ServiceOrder> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO service_orders (number, case_id, customer_id, contact_id, asset_id, product_id, serial, kind,
            priority, reported_fault, fault_task, state, requested_from, requested_to, technician_id, planned_start,
            planned_end, onsite_due_at, invoice_date, created_by, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 1, $21, $21)
         RETURNING {COLS}"
    ))
    .bind(&o.number)
    .bind(o.case_id)
    .bind(o.customer_id)
    .bind(o.contact_id)
    .bind(o.asset_id)
    .bind(o.product_id)
    .bind(&o.serial)
    .bind(&o.kind)
    .bind(&o.priority)
    .bind(&o.reported_fault)
    .bind(&o.fault_task)
    .bind(&o.state)
    .bind(o.requested_from)
    .bind(o.requested_to)
    .bind(o.technician_id)
    .bind(o.planned_start)
    .bind(o.planned_end)
    .bind(o.onsite_due_at)
    .bind(o.invoice_date)
    .bind(o.created_by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Writes every changeable column of `o` if the stored version is still `o.version`.
pub async fn save_order(c: &mut Conn<'_>, o: &ServiceOrder, now: DateTime<Utc>) -> StoreResult<ServiceOrder> {
    let r: Option<ServiceOrder> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE service_orders SET customer_id = $1, contact_id = $2, asset_id = $3, product_id = $4, serial = $5,
            kind = $6, priority = $7, reported_fault = $8, fault_task = $9, state = $10, requested_from = $11,
            requested_to = $12, technician_id = $13, planned_start = $14, planned_end = $15, onsite_due_at = $16,
            arrived_at = $17, departed_at = $18, diagnosis = $19, failure_code = $20, cause_code = $21,
            invoice_date = $22, main_part = $23, void_reasons = $24, sanbao = $25, remedy = $26, quote_fen = $27,
            quote_state = $28, quote_decided_by = $29, quote_decided_at = $30, completed_at = $31, work_done = $32,
            report_due_at = $33, report_at = $34, report_text = $35, signoff_name = $36, signoff_at = $37,
            signoff_method = $38, signoff_image = $39, rating = $40, rating_comment = $41,
            version = version + 1, updated_at = $42
          WHERE id = $43 AND version = $44 RETURNING {COLS}"
    ))
    .bind(o.customer_id)
    .bind(o.contact_id)
    .bind(o.asset_id)
    .bind(o.product_id)
    .bind(&o.serial)
    .bind(&o.kind)
    .bind(&o.priority)
    .bind(&o.reported_fault)
    .bind(&o.fault_task)
    .bind(&o.state)
    .bind(o.requested_from)
    .bind(o.requested_to)
    .bind(o.technician_id)
    .bind(o.planned_start)
    .bind(o.planned_end)
    .bind(o.onsite_due_at)
    .bind(o.arrived_at)
    .bind(o.departed_at)
    .bind(&o.diagnosis)
    .bind(&o.failure_code)
    .bind(&o.cause_code)
    .bind(o.invoice_date)
    .bind(o.main_part)
    .bind(&o.void_reasons)
    .bind(&o.sanbao)
    .bind(&o.remedy)
    .bind(o.quote_fen)
    .bind(&o.quote_state)
    .bind(&o.quote_decided_by)
    .bind(o.quote_decided_at)
    .bind(o.completed_at)
    .bind(&o.work_done)
    .bind(o.report_due_at)
    .bind(o.report_at)
    .bind(&o.report_text)
    .bind(&o.signoff_name)
    .bind(o.signoff_at)
    .bind(&o.signoff_method)
    .bind(&o.signoff_image)
    .bind(o.rating)
    .bind(&o.rating_comment)
    .bind(now)
    .bind(o.id)
    .bind(o.version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    r.ok_or(StoreError::Stale)
}

pub async fn order(c: &mut Conn<'_>, id: i64) -> StoreResult<ServiceOrder> {
    on!(c, e => sqlx::query_as(sql!("SELECT {COLS} FROM service_orders WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Orders newest first. `user`: only those assigned to or opened by that user; `technician` and
/// the planned window (`from..to`) narrow further; `case_id` lists a case's orders.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub user: Option<i64>,
    pub technician: Option<i64>,
    pub case_id: Option<i64>,
    pub planned_from: Option<DateTime<Utc>>,
    pub planned_to: Option<DateTime<Utc>>,
    pub limit: i64,
}

pub async fn orders(c: &mut Conn<'_>, f: &OrderFilter) -> StoreResult<Vec<ServiceOrder>> {
    let order_by = if f.planned_from.is_some() { "planned_start, id" } else { "id DESC" };
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {COLS} FROM service_orders
          WHERE ($1 IS NULL OR technician_id = $1 OR created_by = $1)
            AND ($2 IS NULL OR technician_id = $2)
            AND ($3 IS NULL OR case_id = $3)
            AND ($4 IS NULL OR planned_start >= $4)
            AND ($5 IS NULL OR planned_start < $5)
          ORDER BY {order_by} LIMIT $6"
    ))
    .bind(f.user)
    .bind(f.technician)
    .bind(f.case_id)
    .bind(f.planned_from)
    .bind(f.planned_to)
    .bind(f.limit)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OrderLine {
    pub id: i64,
    pub order_id: i64,
    /// `part`, `labour`, `travel`, `freight`.
    pub kind: String,
    pub description: String,
    pub part_code: String,
    pub quantity: i32,
    pub hours_tenths: i32,
    pub faulty_serial: String,
    pub replacement_serial: String,
    pub fate: String,
    pub payer: String,
    pub cost_fen: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const LINE_COLS: &str = "id, order_id, kind, description, part_code, quantity, hours_tenths, faulty_serial,
    replacement_serial, fate, payer, cost_fen, created_by, created_at";

pub async fn insert_line(c: &mut Conn<'_>, l: &OrderLine, now: DateTime<Utc>) -> StoreResult<OrderLine> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO service_order_lines (order_id, kind, description, part_code, quantity, hours_tenths,
            faulty_serial, replacement_serial, fate, payer, cost_fen, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {LINE_COLS}"
    ))
    .bind(l.order_id)
    .bind(&l.kind)
    .bind(&l.description)
    .bind(&l.part_code)
    .bind(l.quantity)
    .bind(l.hours_tenths)
    .bind(&l.faulty_serial)
    .bind(&l.replacement_serial)
    .bind(&l.fate)
    .bind(&l.payer)
    .bind(l.cost_fen)
    .bind(l.created_by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn lines(c: &mut Conn<'_>, order_id: i64) -> StoreResult<Vec<OrderLine>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {LINE_COLS} FROM service_order_lines WHERE order_id = $1 ORDER BY id"))
        .bind(order_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Policy {
    pub product_id: i64,
    pub unit_months: i32,
    pub main_parts_months: Option<i32>,
    pub return_days: i32,
    pub exchange_days: i32,
    pub repair_limit: i32,
    pub no_parts_days: i32,
    pub repair_delay_days: i32,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

const POLICY_COLS: &str = "product_id, unit_months, main_parts_months, return_days, exchange_days, repair_limit,
    no_parts_days, repair_delay_days, version, updated_at";

pub async fn policy(c: &mut Conn<'_>, product_id: i64) -> StoreResult<Option<Policy>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {POLICY_COLS} FROM warranty_policies WHERE product_id = $1"))
        .bind(product_id)
        .fetch_optional(e)
        .await
        .map_err(map_err))
}

/// Creates or replaces a product's policy.
pub async fn put_policy(c: &mut Conn<'_>, p: &Policy, now: DateTime<Utc>) -> StoreResult<Policy> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO warranty_policies (product_id, unit_months, main_parts_months, return_days, exchange_days,
            repair_limit, no_parts_days, repair_delay_days, version, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)
         ON CONFLICT (product_id) DO UPDATE SET unit_months = excluded.unit_months,
            main_parts_months = excluded.main_parts_months, return_days = excluded.return_days,
            exchange_days = excluded.exchange_days, repair_limit = excluded.repair_limit,
            no_parts_days = excluded.no_parts_days, repair_delay_days = excluded.repair_delay_days,
            version = warranty_policies.version + 1, updated_at = excluded.updated_at
         RETURNING {POLICY_COLS}"
    ))
    .bind(p.product_id)
    .bind(p.unit_months)
    .bind(p.main_parts_months)
    .bind(p.return_days)
    .bind(p.exchange_days)
    .bind(p.repair_limit)
    .bind(p.no_parts_days)
    .bind(p.repair_delay_days)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AssetEvent {
    pub id: i64,
    pub asset_id: i64,
    /// `repair` or `exchange`.
    pub kind: String,
    pub event_date: NaiveDate,
    pub days_in_repair: i32,
    pub waiting_parts_days: i32,
    pub service_order_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const EVENT_COLS: &str =
    "id, asset_id, kind, event_date, days_in_repair, waiting_parts_days, service_order_id, created_by, created_at";

pub async fn insert_asset_event(c: &mut Conn<'_>, ev: &AssetEvent, now: DateTime<Utc>) -> StoreResult<AssetEvent> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO asset_warranty_events (asset_id, kind, event_date, days_in_repair, waiting_parts_days,
            service_order_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {EVENT_COLS}"
    ))
    .bind(ev.asset_id)
    .bind(&ev.kind)
    .bind(ev.event_date)
    .bind(ev.days_in_repair)
    .bind(ev.waiting_parts_days)
    .bind(ev.service_order_id)
    .bind(ev.created_by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn asset_events(c: &mut Conn<'_>, asset_id: i64) -> StoreResult<Vec<AssetEvent>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {EVENT_COLS} FROM asset_warranty_events WHERE asset_id = $1 ORDER BY event_date, id"
    ))
    .bind(asset_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// One asset by id.
pub async fn asset(c: &mut Conn<'_>, id: i64) -> StoreResult<crate::customers::Asset> {
    on!(c, e => sqlx::query_as(
        "SELECT id, customer_id, product_id, serial, ship_date, warranty_end, version, created_at, updated_at
           FROM assets WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

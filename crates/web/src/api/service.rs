//! After-sales service (issue #19): the 三包 calculator, service orders, spare-part resends, the
//! warranty spare-parts ledger and the monthly warranty-cost facts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::sanbao::{self, EventKind, HistoryEvent, VoidReason};
use loopdesk_service::service_orders::{DiagnosisInput, EvaluateInput, LineInput, OrderInput, SignOffInput};
use loopdesk_service::spare_parts::{LedgerInput, ResendInput};
use loopdesk_service::tabular;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::customers::download;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

/// A record as JSON; its fields are described on the endpoint.
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct ServiceRecord(pub Map<String, Value>);

fn record(v: impl Serialize) -> ApiResult<ServiceRecord> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => Ok(ServiceRecord(m)),
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "errors.internal_error_has_been_logged")),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarrantyPolicyBody {
    /// Whole unit's 三包 period in months.
    #[schema(minimum = 1, maximum = 240)]
    pub unit_months: u32,
    /// Main parts' period, when longer.
    #[schema(minimum = 1, maximum = 240)]
    pub main_parts_months: Option<u32>,
    /// 第九条: return window in days (default 7).
    #[schema(minimum = 0, maximum = 365)]
    pub return_days: Option<u32>,
    /// 第十条: exchange window in days (default 15, at least return_days).
    #[schema(minimum = 0, maximum = 365)]
    pub exchange_days: Option<u32>,
    /// 第十一条: repairs after which exchange or refund is due (default 2).
    #[schema(minimum = 1, maximum = 10)]
    pub repair_limit: Option<u32>,
    /// 第十二条: days without parts after which exchange is due (default 90).
    #[schema(minimum = 1, maximum = 3650)]
    pub no_parts_days: Option<u32>,
    /// 第十二条: days of repair by the repairer's doing after which exchange is due (default 30).
    #[schema(minimum = 1, maximum = 3650)]
    pub repair_delay_days: Option<u32>,
}

impl WarrantyPolicyBody {
    fn policy(&self) -> sanbao::Policy {
        let d = sanbao::Policy::default();
        sanbao::Policy {
            unit_months: self.unit_months,
            main_parts_months: self.main_parts_months,
            return_days: self.return_days.unwrap_or(d.return_days),
            exchange_days: self.exchange_days.unwrap_or(d.exchange_days),
            repair_limit: self.repair_limit.unwrap_or(d.repair_limit),
            no_parts_days: self.no_parts_days.unwrap_or(d.no_parts_days),
            repair_delay_days: self.repair_delay_days.unwrap_or(d.repair_delay_days),
        }
    }
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Repair,
    Exchange,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryBody {
    pub kind: HistoryKind,
    pub date: NaiveDate,
    #[schema(minimum = 0, maximum = 3650)]
    #[serde(default)]
    pub days_in_repair: u32,
    #[schema(minimum = 0, maximum = 3650)]
    #[serde(default)]
    pub waiting_parts_days: u32,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum VoidBody {
    Misuse,
    UnauthorisedDisassembly,
    NoCertificate,
    AlteredCertificate,
    ModelMismatch,
    ForceMajeure,
}

impl VoidBody {
    fn reason(self) -> VoidReason {
        match self {
            VoidBody::Misuse => VoidReason::Misuse,
            VoidBody::UnauthorisedDisassembly => VoidReason::UnauthorisedDisassembly,
            VoidBody::NoCertificate => VoidReason::NoCertificate,
            VoidBody::AlteredCertificate => VoidReason::AlteredCertificate,
            VoidBody::ModelMismatch => VoidReason::ModelMismatch,
            VoidBody::ForceMajeure => VoidReason::ForceMajeure,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateBody {
    pub policy: WarrantyPolicyBody,
    pub invoice_date: NaiveDate,
    /// Not before invoice_date.
    pub fault_date: NaiveDate,
    /// The fault lies in a main part (main_parts_months applies to free repair).
    #[serde(default)]
    pub main_part: bool,
    /// Earlier repairs and exchanges, dated between invoice_date and fault_date.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub history: Vec<HistoryBody>,
    /// What takes the fault out of 三包 (第十八条).
    #[serde(default)]
    #[schema(max_items = 12)]
    pub void: Vec<VoidBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticleDto {
    /// art8, art9, art10, art11, art12 or art18.
    pub article: String,
    /// The article as cited, e.g. 《部分商品修理更换退货责任规定》第十一条.
    pub citation: String,
    pub remedies: Vec<String>,
    /// Why it applies: a message key with values (`service.basis.repairs|repairs=2|limit=2`).
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct EvaluateDto {
    /// return, exchange, repair, refund; or only paid outside 三包.
    pub remedies: Vec<String>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub in_warranty: bool,
    pub articles: Vec<ArticleDto>,
    pub voided_by: Vec<String>,
}

/// The 三包 decision (《部分商品修理更换退货责任规定》): the remedies the customer may choose, the
/// article each rests on and the period's end (invoice date plus the policy, extended by time in
/// repair and waiting for parts, restarted by an exchange). 422 names the field.
#[utoipa::path(post, path = "/warranty/evaluate", tag = "service", request_body = EvaluateBody,
    responses((status = 200, body = EvaluateDto), (status = 422, body = ErrorBody)))]
pub async fn evaluate(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<EvaluateBody>,
) -> ApiResult<Json<EvaluateDto>> {
    let input = EvaluateInput {
        policy: b.policy.policy(),
        invoice_date: b.invoice_date,
        fault_date: b.fault_date,
        main_part: b.main_part,
        history: b
            .history
            .iter()
            .map(|h| HistoryEvent {
                kind: match h.kind {
                    HistoryKind::Repair => EventKind::Repair,
                    HistoryKind::Exchange => EventKind::Exchange,
                },
                date: h.date,
                days_in_repair: h.days_in_repair,
                waiting_parts_days: h.waiting_parts_days,
            })
            .collect(),
        void: b.void.iter().map(|v| v.reason()).collect(),
    };
    let d = st.svc.evaluate_warranty(&a.actor, &input)?;
    Ok(Json(EvaluateDto {
        remedies: d.remedies.iter().map(|r| r.code().to_owned()).collect(),
        period_start: d.period_start,
        period_end: d.period_end,
        in_warranty: d.in_warranty,
        articles: d
            .articles
            .iter()
            .map(|b| ArticleDto {
                article: b.article.to_owned(),
                citation: sanbao::citation(b),
                remedies: b.remedies.iter().map(|r| r.code().to_owned()).collect(),
                reason: b.reason.clone(),
            })
            .collect(),
        voided_by: d.voided_by.iter().map(|v| v.code().to_owned()).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// The case it comes from (service request, complaint, return).
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub product_id: Option<i64>,
    #[schema(max_length = 100)]
    pub serial: Option<String>,
    /// onsite_repair, remote_support, depot_repair, installation, training, inspection
    #[schema(max_length = 32)]
    pub kind: String,
    /// low, normal (default), high, urgent
    #[schema(max_length = 16)]
    pub priority: Option<String>,
    /// Required unless taken from the case.
    #[schema(max_length = 4000)]
    pub reported_fault: Option<String>,
    /// The fault task defined before going out (003-F 6.5 5).
    #[schema(max_length = 4000)]
    pub fault_task: Option<String>,
    pub requested_from: Option<DateTime<Utc>>,
    pub requested_to: Option<DateTime<Utc>>,
    /// Runs the 48 h on-site clock (also when the case says on-site service is needed).
    pub on_site: Option<bool>,
    pub invoice_date: Option<NaiveDate>,
}

/// Open a service order (售后服务报告单), from a case or directly. Answer: the order with `id`,
/// `number` (SV-YYYY-NNNN) and `state`.
#[utoipa::path(post, path = "/service-orders", tag = "service", request_body = OrderBody,
    responses((status = 201, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_order(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<OrderBody>,
) -> ApiResult<(StatusCode, Json<ServiceRecord>)> {
    let i = OrderInput {
        case_id: b.case_id,
        customer_id: b.customer_id,
        contact_id: b.contact_id,
        asset_id: b.asset_id,
        product_id: b.product_id,
        serial: b.serial.unwrap_or_default(),
        kind: b.kind,
        priority: b.priority.unwrap_or_else(|| "normal".into()),
        reported_fault: b.reported_fault.unwrap_or_default(),
        fault_task: b.fault_task.unwrap_or_default(),
        requested_from: b.requested_from,
        requested_to: b.requested_to,
        on_site: b.on_site.unwrap_or(false),
        invoice_date: b.invoice_date,
    };
    let o = st.svc.create_service_order(&a.actor, &i).await?;
    Ok((StatusCode::CREATED, Json(record(o)?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderListParams {
    /// Only this technician's orders.
    pub technician_id: Option<i64>,
    pub case_id: Option<i64>,
    /// Planned start from (inclusive) …
    pub from: Option<DateTime<Utc>>,
    /// … to (exclusive); both or neither.
    pub to: Option<DateTime<Utc>>,
}

/// Service orders the caller may see (technicians: their own), newest first; with `from`/`to`
/// the planned ones in that window, in planned order (a day or week list).
#[utoipa::path(get, path = "/service-orders", tag = "service", params(OrderListParams),
    responses((status = 200, body = Vec<ServiceRecord>), (status = 422, body = ErrorBody)))]
pub async fn list_orders(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<OrderListParams>,
) -> ApiResult<Json<Vec<ServiceRecord>>> {
    let window = match (q.from, q.to) {
        (Some(f), Some(t)) => Some((f, t)),
        (None, None) => None,
        (Some(_), None) => return Err(ApiError::invalid("to", "service.err.required")),
        (None, Some(_)) => return Err(ApiError::invalid("from", "service.err.required")),
    };
    let rows = st.svc.service_orders(&a.actor, q.technician_id, q.case_id, window).await?;
    Ok(Json(rows.into_iter().map(record).collect::<ApiResult<_>>()?))
}

/// One order with its `lines` and its 三包 `decision`.
#[utoipa::path(get, path = "/service-orders/{id}", tag = "service", params(("id" = i64, Path)),
    responses((status = 200, body = ServiceRecord), (status = 404, body = ErrorBody)))]
pub async fn get_order(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<ServiceRecord>> {
    Ok(Json(record(st.svc.service_order(&a.actor, id).await?)?))
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    Schedule,
    Arrive,
    Diagnose,
    Quote,
    AcceptQuote,
    RejectQuote,
    StartRepair,
    Complete,
    SignOff,
    Report,
    Close,
    Cancel,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceOrderStepBody {
    pub action: StepAction,
    /// The order version you read; a stale one is answered 409.
    pub version: i64,
    /// schedule: a user with the technician role.
    pub technician_id: Option<i64>,
    pub planned_start: Option<DateTime<Utc>>,
    pub planned_end: Option<DateTime<Utc>>,
    /// diagnose: quality_defect, misuse, wear, installation, transport, no_fault_found, undetermined
    #[schema(max_length = 32)]
    pub diagnosis: Option<String>,
    #[schema(max_length = 32)]
    pub failure_code: Option<String>,
    #[schema(max_length = 32)]
    pub cause_code: Option<String>,
    pub invoice_date: Option<NaiveDate>,
    pub main_part: Option<bool>,
    #[schema(max_items = 12)]
    pub void: Option<Vec<VoidBody>>,
    /// quote: the price in fen.
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub quote_fen: Option<i64>,
    /// accept_quote / reject_quote: the name the customer signed with; sign_off: the customer's name.
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// start_repair: return, exchange, repair or refund (one the decision allows).
    #[schema(max_length = 16)]
    pub remedy: Option<String>,
    /// complete: the work done; report: the technician's report.
    #[schema(max_length = 8000)]
    pub text: Option<String>,
    /// sign_off: PNG data URL of the drawn signature.
    #[schema(max_length = 200000)]
    pub signature: Option<String>,
    /// sign_off: 1-5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i64>,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

fn need<T>(v: Option<T>, field: &str) -> ApiResult<T> {
    v.ok_or_else(|| ApiError::invalid(field, "service.err.required"))
}

/// Take a step of the order's lifecycle (the `service_order` process definition): schedule,
/// arrive, diagnose (三包 decision), quote / accept_quote / reject_quote, start_repair, complete,
/// sign_off, report, close, cancel. 409 when the order is not in a state the step leaves.
#[utoipa::path(post, path = "/service-orders/{id}/steps", tag = "service", params(("id" = i64, Path)), request_body = ServiceOrderStepBody,
    responses((status = 200, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn step(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ServiceOrderStepBody>,
) -> ApiResult<Json<ServiceRecord>> {
    let (svc, actor, v) = (&st.svc, &a.actor, b.version);
    let o = match b.action {
        StepAction::Schedule => {
            svc.schedule_service_order(
                actor,
                id,
                v,
                need(b.technician_id, "technician_id")?,
                need(b.planned_start, "planned_start")?,
                need(b.planned_end, "planned_end")?,
            )
            .await?
        }
        StepAction::Arrive => svc.arrive(actor, id, v).await?,
        StepAction::Diagnose => {
            let d = DiagnosisInput {
                diagnosis: need(b.diagnosis, "diagnosis")?,
                failure_code: b.failure_code.unwrap_or_default(),
                cause_code: b.cause_code.unwrap_or_default(),
                invoice_date: b.invoice_date,
                main_part: b.main_part.unwrap_or(false),
                void: b.void.unwrap_or_default().into_iter().map(VoidBody::reason).collect(),
            };
            svc.diagnose(actor, id, v, &d).await?
        }
        StepAction::Quote => svc.quote(actor, id, v, need(b.quote_fen, "quote_fen")?).await?,
        StepAction::AcceptQuote | StepAction::RejectQuote => {
            svc.decide_quote(actor, id, v, b.action == StepAction::AcceptQuote, &need(b.name, "name")?).await?
        }
        StepAction::StartRepair => svc.start_repair(actor, id, v, &need(b.remedy, "remedy")?).await?,
        StepAction::Complete => svc.complete_service_order(actor, id, v, &need(b.text, "text")?).await?,
        StepAction::SignOff => {
            let s = SignOffInput {
                name: need(b.name, "name")?,
                signature: b.signature.unwrap_or_default(),
                rating: need(b.rating, "rating")?,
                comment: b.comment.unwrap_or_default(),
            };
            svc.sign_off(actor, id, v, &s).await?
        }
        StepAction::Report => svc.submit_service_report(actor, id, v, &need(b.text, "text")?).await?,
        StepAction::Close => svc.end_service_order(actor, id, v, "close").await?,
        StepAction::Cancel => svc.end_service_order(actor, id, v, "cancel").await?,
    };
    Ok(Json(record(o)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// part, labour, travel, freight
    #[schema(max_length = 16)]
    pub kind: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Required for parts.
    #[schema(max_length = 64)]
    pub part_code: Option<String>,
    #[schema(minimum = 1, maximum = 10000)]
    pub quantity: Option<i64>,
    /// Labour hours in tenths (15 = 1.5 h).
    #[schema(minimum = 0, maximum = 10000)]
    pub hours_tenths: Option<i64>,
    #[schema(max_length = 100)]
    pub faulty_serial: Option<String>,
    #[schema(max_length = 100)]
    pub replacement_serial: Option<String>,
    /// return_to_supplier, scrap, keep_for_analysis (the faulty part's fate)
    #[schema(max_length = 32)]
    pub fate: Option<String>,
    /// company, customer, supplier, contractor
    #[schema(max_length = 16)]
    pub payer: String,
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub cost_fen: Option<i64>,
    /// The part's responsible supplier (for the ledger).
    #[schema(max_length = 200)]
    pub supplier: Option<String>,
}

/// Add a line: a part (with faulty and replacement serials and the faulty part's fate; written
/// to the 三包备件登记台账), labour, travel or freight. Every cost is also a monthly cost fact.
#[utoipa::path(post, path = "/service-orders/{id}/lines", tag = "service", params(("id" = i64, Path)), request_body = LineBody,
    responses((status = 201, body = ServiceRecord), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_line(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<LineBody>,
) -> ApiResult<(StatusCode, Json<ServiceRecord>)> {
    let l = LineInput {
        kind: b.kind,
        description: b.description.unwrap_or_default(),
        part_code: b.part_code.unwrap_or_default(),
        quantity: b.quantity.unwrap_or(1),
        hours_tenths: b.hours_tenths.unwrap_or(0),
        faulty_serial: b.faulty_serial.unwrap_or_default(),
        replacement_serial: b.replacement_serial.unwrap_or_default(),
        fate: b.fate.unwrap_or_default(),
        payer: b.payer,
        cost_fen: b.cost_fen.unwrap_or(0),
        supplier: b.supplier.unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(record(st.svc.add_order_line(&a.actor, id, &l).await?)?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendBody {
    pub service_order_id: Option<i64>,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    #[schema(max_length = 200)]
    pub customer_name: Option<String>,
    #[schema(max_length = 100)]
    pub asset_serial: Option<String>,
    #[schema(max_length = 64)]
    pub product_code: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub part_name: String,
    /// 规格型号
    #[schema(max_length = 200)]
    pub spec: Option<String>,
    #[schema(minimum = 1, maximum = 100000)]
    pub quantity: i64,
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub unit_cost_fen: Option<i64>,
    /// company, customer, supplier, contractor
    #[schema(max_length = 16)]
    pub payer: String,
    #[schema(max_length = 64)]
    pub cause: Option<String>,
    #[schema(max_length = 200)]
    pub supplier: Option<String>,
    pub ship_date: Option<NaiveDate>,
    #[schema(max_length = 200)]
    pub ship_place: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub receiver_name: String,
    #[schema(max_length = 50)]
    pub receiver_phone: Option<String>,
    #[schema(max_length = 500)]
    pub receiver_address: Option<String>,
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Ask for a spare part to be resent (备件补发通知单, JL-7.5-02-1); it waits for the management
/// representative's approval before the warehouse ships.
#[utoipa::path(post, path = "/spare-part-resends", tag = "service", request_body = ResendBody,
    responses((status = 201, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_resend(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<ResendBody>,
) -> ApiResult<(StatusCode, Json<ServiceRecord>)> {
    let i = ResendInput {
        service_order_id: b.service_order_id,
        case_id: b.case_id,
        customer_id: b.customer_id,
        customer_name: b.customer_name.unwrap_or_default(),
        asset_serial: b.asset_serial.unwrap_or_default(),
        product_code: b.product_code.unwrap_or_default(),
        part_code: b.part_code,
        part_name: b.part_name,
        spec: b.spec.unwrap_or_default(),
        quantity: b.quantity,
        unit_cost_fen: b.unit_cost_fen.unwrap_or(0),
        payer: b.payer,
        cause: b.cause.unwrap_or_default(),
        supplier: b.supplier.unwrap_or_default(),
        ship_date: b.ship_date,
        ship_place: b.ship_place.unwrap_or_default(),
        receiver_name: b.receiver_name,
        receiver_phone: b.receiver_phone.unwrap_or_default(),
        receiver_address: b.receiver_address.unwrap_or_default(),
        reason: b.reason.unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(record(st.svc.request_resend(&a.actor, &i).await?)?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResendListParams {
    /// awaiting_approval, approved, rejected, shipped
    #[param(max_length = 32)]
    pub state: Option<String>,
    pub service_order_id: Option<i64>,
}

/// Resends, newest first.
#[utoipa::path(get, path = "/spare-part-resends", tag = "service", params(ResendListParams),
    responses((status = 200, body = Vec<ServiceRecord>), (status = 422, body = ErrorBody)))]
pub async fn list_resends(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ResendListParams>,
) -> ApiResult<Json<Vec<ServiceRecord>>> {
    let rows = st.svc.resends(&a.actor, q.state.as_deref(), q.service_order_id).await?;
    Ok(Json(rows.into_iter().map(record).collect::<ApiResult<_>>()?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub version: i64,
    pub approve: bool,
    /// Required to reject.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// The management representative approves or rejects a resend (003-F 6.4 5).
#[utoipa::path(post, path = "/spare-part-resends/{id}/decision", tag = "service", params(("id" = i64, Path)), request_body = DecisionBody,
    responses((status = 200, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_resend(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<DecisionBody>,
) -> ApiResult<Json<ServiceRecord>> {
    let r = st.svc.decide_resend(&a.actor, id, b.version, b.approve, b.note.as_deref().unwrap_or("")).await?;
    Ok(Json(record(r)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipBody {
    pub version: i64,
    pub ship_date: NaiveDate,
    #[schema(min_length = 1, max_length = 100)]
    pub carrier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub tracking_no: String,
}

/// The warehouse ships an approved resend; the ledger's `issued` line and the cost fact are
/// written with it.
#[utoipa::path(post, path = "/spare-part-resends/{id}/ship", tag = "service", params(("id" = i64, Path)), request_body = ShipBody,
    responses((status = 200, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ship_resend(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ShipBody>,
) -> ApiResult<Json<ServiceRecord>> {
    let r = st.svc.ship_resend(&a.actor, id, b.version, b.ship_date, &b.carrier, &b.tracking_no).await?;
    Ok(Json(record(r)?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerParams {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// json (default), csv or xlsx
    #[param(max_length = 8)]
    pub format: Option<String>,
}

/// The 三包备件登记台账 (JL-7.5-02-2) between two dates: JSON, or a CSV/XLSX download.
#[utoipa::path(get, path = "/warranty-parts-ledger", tag = "service", params(LedgerParams),
    responses((status = 200, body = Vec<ServiceRecord>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ledger(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> ApiResult<Response> {
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let rows = st.svc.ledger(&a.actor, q.from, q.to).await?;
            Ok(Json(rows.into_iter().map(record).collect::<ApiResult<Vec<_>>>()?).into_response())
        }
        "csv" => {
            let rows = st.svc.ledger_rows(&a.actor, q.from, q.to).await?;
            Ok(download(tabular::write_csv(&rows)?, "text/csv; charset=utf-8", "warranty-parts-ledger.csv"))
        }
        "xlsx" => {
            let rows = st.svc.ledger_rows(&a.actor, q.from, q.to).await?;
            Ok(download(
                tabular::write_xlsx("三包备件登记台账", &rows)?,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "warranty-parts-ledger.xlsx",
            ))
        }
        _ => Err(ApiError::invalid("format", "service.err.one_of|allowed=json,csv,xlsx")),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerBody {
    pub entry_date: NaiveDate,
    /// issued, returned_faulty, scrapped, returned_to_supplier, restocked
    #[schema(max_length = 32)]
    pub movement: String,
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub part_name: String,
    #[schema(max_length = 200)]
    pub spec: Option<String>,
    #[schema(minimum = 1, maximum = 100000)]
    pub quantity: i64,
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub cost_fen: Option<i64>,
    pub service_order_id: Option<i64>,
    pub resend_id: Option<i64>,
    #[schema(max_length = 200)]
    pub customer_name: Option<String>,
    #[schema(max_length = 100)]
    pub asset_serial: Option<String>,
    #[schema(max_length = 200)]
    pub supplier: Option<String>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Append a line to the ledger (faulty part back, scrapped, returned to the supplier, restocked).
/// The ledger is append-only: a correction is another line.
#[utoipa::path(post, path = "/warranty-parts-ledger", tag = "service", request_body = LedgerBody,
    responses((status = 201, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn append_ledger(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<LedgerBody>,
) -> ApiResult<(StatusCode, Json<ServiceRecord>)> {
    let l = LedgerInput {
        entry_date: b.entry_date,
        movement: b.movement,
        part_code: b.part_code,
        part_name: b.part_name,
        spec: b.spec.unwrap_or_default(),
        quantity: b.quantity,
        cost_fen: b.cost_fen.unwrap_or(0),
        service_order_id: b.service_order_id,
        resend_id: b.resend_id,
        customer_name: b.customer_name.unwrap_or_default(),
        asset_serial: b.asset_serial.unwrap_or_default(),
        supplier: b.supplier.unwrap_or_default(),
        note: b.note.unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(record(st.svc.append_ledger(&a.actor, &l).await?)?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CostParams {
    /// YYYY-MM
    #[param(min_length = 7, max_length = 7)]
    pub from: String,
    /// YYYY-MM
    #[param(min_length = 7, max_length = 7)]
    pub to: String,
}

/// Monthly warranty-cost facts (month, product, cause, payer, kind, amount in fen, postings).
#[utoipa::path(get, path = "/warranty-cost-facts", tag = "service", params(CostParams),
    responses((status = 200, body = Vec<ServiceRecord>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cost_facts(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<CostParams>,
) -> ApiResult<Json<Vec<ServiceRecord>>> {
    let rows = st.svc.cost_facts(&a.actor, &q.from, &q.to).await?;
    Ok(Json(rows.into_iter().map(record).collect::<ApiResult<_>>()?))
}

/// Set a product's 三包 policy (the limits of the articles as data).
#[utoipa::path(put, path = "/products/{id}/warranty-policy", tag = "service", params(("id" = i64, Path)), request_body = WarrantyPolicyBody,
    responses((status = 200, body = ServiceRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_policy(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<WarrantyPolicyBody>,
) -> ApiResult<Json<ServiceRecord>> {
    Ok(Json(record(st.svc.put_warranty_policy(&a.actor, id, &b.policy()).await?)?))
}

//! Cases, their process definitions, and the customer portal's API.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::page::Page;
use loopdesk_domain::process::{ProcessDefinition, RecordKind};
use loopdesk_service::cases::CaseInput;
use loopdesk_store::cases::{Case, CaseEvent, CaseFilter, CaseSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::dto::PageDto;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody, parse_json};

#[derive(Serialize, ToSchema)]
pub struct CaseDto {
    pub id: i64,
    pub number: String,
    #[serde(rename = "type")]
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
    pub merged_into_id: Option<i64>,
    /// Values given with transitions (resolution, reply, decision…).
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only in the answer to creation: give it to the customer with the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_code: Option<String>,
    /// Service-level clocks (filled on single-case answers).
    pub clocks: Vec<ClockDto>,
}

#[derive(Serialize, ToSchema)]
pub struct ClockDto {
    pub name: String,
    pub calendar: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// running, paused, met, missed
    pub state: String,
    pub paused_ms: i64,
    pub met_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
}

impl From<loopdesk_store::cases::ClockRow> for ClockDto {
    fn from(r: loopdesk_store::cases::ClockRow) -> Self {
        ClockDto {
            name: r.name,
            calendar: r.calendar,
            started_at: r.started_at,
            due_at: r.due_at,
            state: r.state,
            paused_ms: r.paused_ms,
            met_at: r.met_at,
            breached_at: r.breached_at,
        }
    }
}

/// A case with its clocks, for answers about one case.
async fn with_clocks(st: &AppState, actor: &loopdesk_domain::access::Actor, k: Case) -> Result<CaseDto, ApiError> {
    let clocks = st.svc.clocks(actor, k.id).await?;
    let mut dto = CaseDto::from(k);
    dto.clocks = clocks.into_iter().map(Into::into).collect();
    Ok(dto)
}

impl From<Case> for CaseDto {
    fn from(k: Case) -> Self {
        CaseDto {
            id: k.id,
            number: k.number,
            case_type: k.case_type,
            definition_version: k.definition_version,
            state: k.state,
            customer_id: k.customer_id,
            contact_id: k.contact_id,
            contact_name: k.contact_name,
            contact_phone: k.contact_phone,
            contact_email: k.contact_email,
            received_at: k.received_at,
            channel: k.channel,
            product_id: k.product_id,
            model: k.model,
            serial: k.serial,
            product_code: k.product_code,
            ship_date: k.ship_date,
            subject: k.subject,
            description: k.description,
            category: k.category,
            severity: k.severity,
            responsibility: k.responsibility,
            responsibility_note: k.responsibility_note,
            lead_department_id: k.lead_department_id,
            owner_id: k.owner_id,
            confidential: k.confidential,
            adverse_event: k.adverse_event,
            merged_into_id: k.merged_into_id,
            fields: serde_json::from_str(&k.fields).unwrap_or_default(),
            closed_at: k.closed_at,
            version: k.version,
            created_at: k.created_at,
            updated_at: k.updated_at,
            tracking_code: None,
            clocks: vec![],
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseBody {
    /// inquiry, suggestion, complaint, service_request, return, praise, grievance
    #[serde(rename = "type")]
    pub case_type: String,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    /// Default: now.
    pub received_at: Option<DateTime<Utc>>,
    /// phone (default), visit, letter, fax, email, portal, api, chat
    pub channel: Option<String>,
    pub product_code: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// YYYY-MM-DD
    pub ship_date: Option<String>,
    #[schema(max_length = 200)]
    pub subject: String,
    #[schema(max_length = 20000)]
    pub description: String,
    /// minor, general, major, critical
    pub severity: Option<String>,
    pub lead_department_id: Option<i64>,
    /// Serious injury or death reported (medical devices).
    pub adverse_event: Option<bool>,
    /// The customer's language: zh-CN or en.
    pub locale: Option<String>,
    /// The customer's own deadline, `YYYY-MM-DD` (the end of that day in the organisation's zone;
    /// not before the day received): the resolution clock falls due no later than it.
    #[schema(format = Date, max_length = 10, example = "2026-10-09")]
    pub customer_deadline: Option<String>,
}

fn input(b: CaseBody) -> CaseInput {
    CaseInput {
        case_type: b.case_type,
        customer_id: b.customer_id,
        contact_id: b.contact_id,
        contact_name: b.contact_name,
        contact_phone: b.contact_phone,
        contact_email: b.contact_email,
        received_at: b.received_at,
        channel: b.channel,
        product_code: b.product_code,
        model: b.model,
        serial: b.serial,
        ship_date: b.ship_date,
        subject: b.subject,
        description: b.description,
        severity: b.severity,
        lead_department_id: b.lead_department_id,
        adverse_event: b.adverse_event,
        locale: b.locale,
        customer_deadline: b.customer_deadline,
    }
}

/// Register a case; the answer carries its number and, once, the customer's tracking code.
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = CaseBody,
    responses((status = 201, body = CaseDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_case(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<CaseBody>,
) -> ApiResult<(StatusCode, Json<CaseDto>)> {
    let created = st.svc.create_case(&a.actor, &input(b)).await?;
    let mut dto = CaseDto::from(created.case);
    dto.clocks = created.clocks.into_iter().map(Into::into).collect();
    dto.tracking_code = Some(created.tracking_code);
    Ok((StatusCode::CREATED, Json(dto)))
}

/// One case.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseDto), (status = 404, body = ErrorBody)))]
pub async fn get_case(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<CaseDto>> {
    let k = st.svc.case(&a.actor, id).await?;
    Ok(Json(with_clocks(&st, &a.actor, k).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    pub state: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub case_type: Option<String>,
    pub severity: Option<String>,
    /// Lead department id.
    pub department: Option<i64>,
    /// Customer id.
    pub customer: Option<i64>,
    pub owner: Option<i64>,
    /// Only cases not in a terminal state.
    pub open: Option<bool>,
    /// Only cases with a service-level clock running past its due time.
    pub overdue: Option<bool>,
    /// Received at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Received before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// `received` (newest first, the default) or `due` (earliest running clock first).
    pub sort: Option<String>,
    /// Full-text search, as `GET /search`: only cases whose text, comments or communications
    /// contain it.
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// Search cases within your scope, newest first or earliest due first. `total` counts matches
/// exactly up to 10,000 past the page asked for; beyond that it is a lower bound.
#[utoipa::path(get, path = "/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, body = PageDto<CaseDto>), (status = 422, body = ErrorBody)))]
pub async fn list_cases(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> ApiResult<Json<PageDto<CaseDto>>> {
    let page = Page::parse(q.page, q.per_page)?;
    let sort = match q.sort.as_deref() {
        None | Some("") | Some("received") => CaseSort::Received,
        Some("due") => CaseSort::Due,
        Some(_) => return Err(ApiError::invalid("sort", "errors.must_received_due")),
    };
    let f = CaseFilter {
        state: q.state.filter(|s| !s.is_empty()),
        case_type: q.case_type.filter(|s| !s.is_empty()),
        severity: q.severity.filter(|s| !s.is_empty()),
        department_id: q.department,
        owner_id: q.owner,
        customer_id: q.customer,
        received_from: q.from,
        received_to: q.to,
        exclude_states: if q.open == Some(true) { st.svc.terminal_states().await? } else { vec![] },
        overdue_at: (q.overdue == Some(true)).then(|| st.svc.now()),
        text: q.q.filter(|s| !s.trim().is_empty()).map(|s| loopdesk_domain::search::parse_query(&s)).transpose()?,
        sort,
        ..Default::default()
    };
    Ok(Json(PageDto::from_paged(st.svc.cases(&a.actor, f, page).await?, Into::into)))
}

#[derive(Deserialize, ToSchema)]
pub struct TransitionBody {
    /// The transition's code in the case's process definition.
    pub transition: String,
    /// The case version you read.
    pub version: i64,
    /// Any other keys are the fields the transition requires (e.g. "severity", "resolution").
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// Take a step of the case's lifecycle: 403 if your role may not, 409 for a stale version or a
/// step not possible in the current state, 422 naming a missing field.
#[utoipa::path(post, path = "/cases/{id}/transitions", tag = "cases", params(("id" = i64, Path)), request_body = TransitionBody,
    responses((status = 200, body = CaseDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transition(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<CaseDto>> {
    require_json(&headers)?;
    let b: TransitionBody = parse_json(&body)?;
    let mut fields = BTreeMap::new();
    for (k, v) in b.fields {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(ApiError::invalid(k, "errors.must_string_number")),
        };
        fields.insert(k, text);
    }
    let k = st.svc.transition(&a.actor, id, &b.transition, b.version, &fields).await?;
    Ok(Json(with_clocks(&st, &a.actor, k).await?))
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "errors.send_body_application_json",
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaseEventDto {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// created, transition, customer_comment, …
    pub kind: String,
    pub transition: String,
    pub from_state: String,
    pub to_state: String,
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub body: String,
    /// Shown to the customer on the portal.
    pub public: bool,
}

impl From<CaseEvent> for CaseEventDto {
    fn from(e: CaseEvent) -> Self {
        CaseEventDto {
            id: e.id,
            at: e.at,
            actor: e.actor,
            kind: e.kind,
            transition: e.transition,
            from_state: e.from_state,
            to_state: e.to_state,
            fields: serde_json::from_str(&e.fields).unwrap_or_default(),
            body: e.body,
            public: e.public,
        }
    }
}

/// The case's timeline, oldest first.
#[utoipa::path(get, path = "/cases/{id}/history", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CaseEventDto>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<CaseEventDto>>> {
    Ok(Json(st.svc.history(&a.actor, id).await?.into_iter().map(Into::into).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct DefinitionDto {
    /// The record kind: case, capa, nc, service_order, return.
    pub kind: String,
    /// The type within the kind (for cases, the case type).
    pub case_type: String,
    pub version: i64,
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

fn definition_dto(v: i64, d: ProcessDefinition) -> DefinitionDto {
    DefinitionDto {
        kind: d.kind.code().to_owned(),
        case_type: d.case_type.clone(),
        version: v,
        definition: serde_json::to_value(&d).unwrap_or_default(),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DefinitionsQuery {
    /// Only this record kind (case, capa, nc, service_order, return); every kind when absent.
    #[param(max_length = 40)]
    pub kind: Option<String>,
}

/// The current process definition of every type of every record kind (or of one kind).
#[utoipa::path(get, path = "/process-definitions", tag = "cases", params(DefinitionsQuery),
    responses((status = 200, body = Vec<DefinitionDto>), (status = 422, body = ErrorBody)))]
pub async fn list_definitions(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<DefinitionsQuery>,
) -> ApiResult<Json<Vec<DefinitionDto>>> {
    let defs = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => st.svc.process_definitions_of(&a.actor, RecordKind::parse(k)?).await?,
        None => st.svc.all_process_definitions(&a.actor).await?,
    };
    Ok(Json(defs.into_iter().map(|(v, d)| definition_dto(v, d)).collect()))
}

/// Load a changed definition of a type of any record kind as the next version; running records
/// keep theirs (administrators).
#[utoipa::path(put, path = "/process-definitions/{kind}/{case_type}", tag = "cases",
    params(("kind" = String, Path, max_length = 40), ("case_type" = String, Path, max_length = 40)),
    request_body(content = Object, description = "the definition as JSON (or TOML with content type text/plain)"),
    responses((status = 200, body = DefinitionDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_kind_definition(
    State(st): State<AppState>,
    a: ApiActor,
    Path((kind, case_type)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<DefinitionDto>> {
    let kind = RecordKind::parse(&kind)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("definition", "errors.not_utf_8_text"))?;
    let (v, d) = st.svc.put_record_definition(&a.actor, kind, &case_type, text).await?;
    Ok(Json(definition_dto(v, d)))
}

/// Load a changed definition (JSON, or TOML as text/plain) as the next version; running cases
/// keep theirs. An invalid definition is refused naming the problem (administrators).
#[utoipa::path(put, path = "/process-definitions/{case_type}", tag = "cases", params(("case_type" = String, Path)),
    request_body(content = Object, description = "the definition as JSON (or TOML with content type text/plain)"),
    responses((status = 200, body = DefinitionDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_definition(
    State(st): State<AppState>,
    a: ApiActor,
    Path(case_type): Path<String>,
    body: Bytes,
) -> ApiResult<Json<DefinitionDto>> {
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("definition", "errors.not_utf_8_text"))?;
    let (v, d) = st.svc.put_process_definition(&a.actor, &case_type, text).await?;
    Ok(Json(definition_dto(v, d)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicCaseBody {
    /// complaint (default), inquiry, suggestion, service_request, return, praise
    #[serde(rename = "type")]
    pub case_type: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub product_code: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub subject: String,
    pub description: String,
    /// zh-CN or en: the language of the status page and replies.
    pub locale: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicCreatedDto {
    pub number: String,
    /// Keep it: the status page needs the number and this code.
    pub tracking_code: String,
}

/// Submit feedback or a complaint without an account (rate-limited per address).
#[utoipa::path(post, path = "/public/cases", tag = "portal", security(()), request_body = PublicCaseBody,
    responses((status = 201, body = PublicCreatedDto), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn public_create(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    JsonBody(b): JsonBody<PublicCaseBody>,
) -> ApiResult<(StatusCode, Json<PublicCreatedDto>)> {
    let created = crate::portal::submit(&st, &addr.ip().to_string(), b.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(PublicCreatedDto { number: created.case.number, tracking_code: created.tracking_code }),
    ))
}

impl From<PublicCaseBody> for crate::portal::Submission {
    fn from(b: PublicCaseBody) -> Self {
        crate::portal::Submission {
            case_type: b.case_type.unwrap_or_else(|| "complaint".into()),
            name: b.name,
            phone: b.phone.unwrap_or_default(),
            email: b.email.unwrap_or_default(),
            company: b.company.unwrap_or_default(),
            product_code: b.product_code.unwrap_or_default(),
            model: b.model.unwrap_or_default(),
            serial: b.serial.unwrap_or_default(),
            subject: b.subject,
            description: b.description,
            locale: b.locale,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PublicStepDto {
    pub at: DateTime<Utc>,
    /// The state reached, in the customer's language.
    pub state: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct PublicCaseDto {
    pub number: String,
    pub subject: String,
    /// The current state in the customer's language.
    pub state: String,
    pub state_code: String,
    pub received_at: DateTime<Utc>,
    pub closed: bool,
    pub steps: Vec<PublicStepDto>,
    /// What the customer may do now: accept, reject, withdraw…
    pub actions: Vec<String>,
}

/// A case's progress for the customer: needs the header `X-Tracking-Code`; a wrong code or
/// number answers 404 either way.
#[utoipa::path(get, path = "/public/cases/{number}", tag = "portal", security(()), params(("number" = String, Path), ("X-Tracking-Code" = String, Header)),
    responses((status = 200, body = PublicCaseDto), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn public_status(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<PublicCaseDto>> {
    let code = headers.get("x-tracking-code").and_then(|v| v.to_str().ok()).unwrap_or("");
    let view = crate::portal::status(&st, &addr.ip().to_string(), &number, code).await?;
    Ok(Json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicActionBody {
    /// accept, reject, withdraw (as the case allows) or add_information
    pub action: String,
    /// Why (rejecting, withdrawing).
    pub reason: Option<String>,
    /// More information from the customer (add_information).
    pub comment: Option<String>,
}

/// The customer accepts or rejects the resolution, withdraws, or adds information
/// (header `X-Tracking-Code`).
#[utoipa::path(post, path = "/public/cases/{number}/actions", tag = "portal", security(()), params(("number" = String, Path), ("X-Tracking-Code" = String, Header)),
    request_body = PublicActionBody,
    responses((status = 200, body = PublicCaseDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn public_act(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    Path(number): Path<String>,
    headers: HeaderMap,
    JsonBody(b): JsonBody<PublicActionBody>,
) -> ApiResult<Json<PublicCaseDto>> {
    let code = headers.get("x-tracking-code").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut fields = BTreeMap::new();
    if let Some(r) = b.reason {
        fields.insert("reason".to_owned(), r);
    }
    if let Some(c) = b.comment {
        fields.insert("comment".to_owned(), c);
    }
    let ip = addr.ip().to_string();
    crate::portal::act(&st, &ip, &number, &code, &b.action, &fields).await?;
    Ok(Json(crate::portal::status(&st, &ip, &number, &code).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportabilityBody {
    pub version: i64,
    pub reportable: bool,
    /// eu_mdr_public_health_threat (2 days), eu_mdr_death (10), eu_mdr_serious (15), fda (30): required when reportable.
    pub regime: Option<String>,
    pub reason: String,
}

/// Record an adverse event's reportability decision (quality, management representative).
#[utoipa::path(post, path = "/cases/{id}/reportability", tag = "cases", params(("id" = i64, Path)), request_body = ReportabilityBody,
    responses((status = 200, body = CaseDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reportability(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ReportabilityBody>,
) -> ApiResult<Json<CaseDto>> {
    let k = st.svc.decide_reportability(&a.actor, id, b.version, b.reportable, b.regime.as_deref(), &b.reason).await?;
    Ok(Json(k.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    pub version: i64,
    /// The id of the case that is kept.
    pub into: i64,
    pub reason: String,
}

/// Merge this duplicate into another case.
#[utoipa::path(post, path = "/cases/{id}/merge", tag = "cases", params(("id" = i64, Path)), request_body = MergeBody,
    responses((status = 200, body = CaseDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<MergeBody>,
) -> ApiResult<Json<CaseDto>> {
    Ok(Json(st.svc.merge_case(&a.actor, id, b.version, b.into, &b.reason).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct TaskDto {
    pub id: i64,
    pub case_id: i64,
    pub department_id: i64,
    pub question: String,
    pub due_date: NaiveDate,
    pub answer: String,
    pub answered_at: Option<DateTime<Utc>>,
    pub version: i64,
    /// `none` (no review asked), `pending` (waits for the customer-service manager's review),
    /// `approved`, `refused` (with `review_note`). Only `none` and `approved` tasks have gone out.
    pub review_state: String,
    pub review_note: String,
}

impl From<loopdesk_store::cases::CaseTask> for TaskDto {
    fn from(t: loopdesk_store::cases::CaseTask) -> Self {
        TaskDto {
            id: t.id,
            case_id: t.case_id,
            department_id: t.department_id,
            question: t.question,
            due_date: t.due_date,
            answer: t.answer,
            answered_at: t.answered_at,
            version: t.version,
            review_state: t.review_state,
            review_note: t.review_note,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    /// Department id or code.
    pub department: String,
    pub question: String,
    /// YYYY-MM-DD
    pub due_date: String,
}

/// Send a question to a department (信息传递单).
#[utoipa::path(post, path = "/cases/{id}/tasks", tag = "cases", params(("id" = i64, Path)), request_body = TaskBody,
    responses((status = 201, body = TaskDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_task(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<TaskBody>,
) -> ApiResult<(StatusCode, Json<TaskDto>)> {
    let t = st.svc.add_task(&a.actor, id, &b.department, &b.question, &b.due_date).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

/// The case's department tasks.
#[utoipa::path(get, path = "/cases/{id}/tasks", tag = "cases", params(("id" = i64, Path)), responses((status = 200, body = Vec<TaskDto>), (status = 404, body = ErrorBody)))]
pub async fn list_tasks(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<Vec<TaskDto>>> {
    Ok(Json(st.svc.tasks(&a.actor, id).await?.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub version: i64,
    pub answer: String,
}

/// The department answers its task.
#[utoipa::path(post, path = "/case-tasks/{id}/answer", tag = "cases", params(("id" = i64, Path)), request_body = AnswerBody,
    responses((status = 200, body = TaskDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer_task(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<AnswerBody>,
) -> ApiResult<Json<TaskDto>> {
    Ok(Json(st.svc.answer_task(&a.actor, id, b.version, &b.answer).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// The version you read (the task's, or the case's for a finding).
    pub version: i64,
    /// true: approve (the task goes out / the finding stands); false: refuse with `reason`.
    pub approve: bool,
    /// Why it is refused (required when refusing).
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub reason: String,
}

/// The customer-service manager reviews a task awaiting review (issue #14 item 8): approved, it
/// goes out to its department; refused, it goes back with the reason.
#[utoipa::path(post, path = "/case-tasks/{id}/review", tag = "cases", params(("id" = i64, Path)), request_body = ReviewBody,
    responses((status = 200, body = TaskDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn review_task(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ReviewBody>,
) -> ApiResult<Json<TaskDto>> {
    Ok(Json(st.svc.review_task(&a.actor, id, b.version, b.approve, &b.reason).await?.into()))
}

/// The customer-service manager confirms or refuses a "not the company's responsibility" finding
/// that holds the case; refused, the case goes back to be assessed again.
#[utoipa::path(post, path = "/cases/{id}/responsibility-review", tag = "cases", params(("id" = i64, Path)), request_body = ReviewBody,
    responses((status = 200, body = CaseDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn review_responsibility(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ReviewBody>,
) -> ApiResult<Json<CaseDto>> {
    let k = st.svc.review_responsibility(&a.actor, id, b.version, b.approve, &b.reason).await?;
    Ok(Json(with_clocks(&st, &a.actor, k).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    pub description: String,
    /// Username of the person responsible.
    pub owner: String,
    /// YYYY-MM-DD
    pub due_date: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingBody {
    pub held_at: Option<DateTime<Utc>>,
    pub place: Option<String>,
    pub attendees: String,
    /// 会议纪要
    pub minutes: String,
    pub decisions: Option<String>,
    #[serde(default)]
    pub actions: Vec<ActionBody>,
}

#[derive(Serialize, ToSchema)]
pub struct MeetingDto {
    pub id: i64,
    pub held_at: DateTime<Utc>,
    pub place: String,
    pub attendees: String,
    pub minutes: String,
    pub decisions: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActionDto {
    pub id: i64,
    pub meeting_id: i64,
    pub description: String,
    pub owner_id: Option<i64>,
    pub due_date: NaiveDate,
    pub done_at: Option<DateTime<Utc>>,
    pub done_note: String,
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MeetingsDto {
    pub meetings: Vec<MeetingDto>,
    pub actions: Vec<ActionDto>,
}

fn meetings_dto(
    ms: Vec<loopdesk_store::cases::Meeting>,
    acts: Vec<loopdesk_store::cases::MeetingAction>,
) -> MeetingsDto {
    MeetingsDto {
        meetings: ms
            .into_iter()
            .map(|m| MeetingDto {
                id: m.id,
                held_at: m.held_at,
                place: m.place,
                attendees: m.attendees,
                minutes: m.minutes,
                decisions: m.decisions,
            })
            .collect(),
        actions: acts.into_iter().map(action_dto).collect(),
    }
}

fn action_dto(a: loopdesk_store::cases::MeetingAction) -> ActionDto {
    ActionDto {
        id: a.id,
        meeting_id: a.meeting_id,
        description: a.description,
        owner_id: a.owner_id,
        due_date: a.due_date,
        done_at: a.done_at,
        done_note: a.done_note,
        version: a.version,
    }
}

/// Record a coordination meeting (重大投诉协调会) with its action items.
#[utoipa::path(post, path = "/cases/{id}/meetings", tag = "cases", params(("id" = i64, Path)), request_body = MeetingBody,
    responses((status = 201, body = MeetingsDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_meeting(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<MeetingBody>,
) -> ApiResult<(StatusCode, Json<MeetingsDto>)> {
    let m = loopdesk_service::cases::MeetingInput {
        held_at: b.held_at,
        place: b.place,
        attendees: b.attendees,
        minutes: b.minutes,
        decisions: b.decisions,
        actions: b
            .actions
            .into_iter()
            .map(|x| loopdesk_service::cases::ActionInput {
                description: x.description,
                owner: x.owner,
                due_date: x.due_date,
            })
            .collect(),
    };
    let (meeting, actions) = st.svc.record_meeting(&a.actor, id, &m).await?;
    Ok((StatusCode::CREATED, Json(meetings_dto(vec![meeting], actions))))
}

/// The case's meetings and action items.
#[utoipa::path(get, path = "/cases/{id}/meetings", tag = "cases", params(("id" = i64, Path)), responses((status = 200, body = MeetingsDto), (status = 404, body = ErrorBody)))]
pub async fn list_meetings(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<MeetingsDto>> {
    let (ms, acts) = st.svc.meetings(&a.actor, id).await?;
    Ok(Json(meetings_dto(ms, acts)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    pub version: i64,
    pub note: String,
}

/// Mark an action item done (its owner, or a manager).
#[utoipa::path(post, path = "/meeting-actions/{id}/complete", tag = "cases", params(("id" = i64, Path)), request_body = CompleteBody,
    responses((status = 200, body = ActionDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn complete_action(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<CompleteBody>,
) -> ApiResult<Json<ActionDto>> {
    Ok(Json(action_dto(st.svc.complete_action(&a.actor, id, b.version, &b.note).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// The other case's id.
    pub other: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = CaseLinkDto)] // not the survey invitation's `LinkDto`: one name in the document, one shape
pub struct LinkDto {
    /// related, split_into, split_from
    pub kind: String,
    pub case: CaseDto,
}

/// Cases linked to this one.
#[utoipa::path(get, path = "/cases/{id}/links", tag = "cases", params(("id" = i64, Path)), responses((status = 200, body = Vec<LinkDto>), (status = 404, body = ErrorBody)))]
pub async fn list_links(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<Vec<LinkDto>>> {
    let links = st.svc.linked_cases(&a.actor, id).await?;
    Ok(Json(links.into_iter().map(|(kind, k)| LinkDto { kind, case: k.into() }).collect()))
}

/// Link a related case.
#[utoipa::path(post, path = "/cases/{id}/links", tag = "cases", params(("id" = i64, Path)), request_body = LinkBody,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn add_link(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<LinkBody>,
) -> ApiResult<StatusCode> {
    st.svc.link_cases(&a.actor, id, b.other).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// Default: the same type.
    #[serde(rename = "type")]
    pub case_type: Option<String>,
    pub subject: String,
    pub description: String,
}

/// Split part of a case off as a new, linked case.
#[utoipa::path(post, path = "/cases/{id}/split", tag = "cases", params(("id" = i64, Path)), request_body = SplitBody,
    responses((status = 201, body = CaseDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn split(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<SplitBody>,
) -> ApiResult<(StatusCode, Json<CaseDto>)> {
    let created = st.svc.split_case(&a.actor, id, b.case_type.as_deref(), &b.subject, &b.description).await?;
    let mut dto = CaseDto::from(created.case);
    dto.tracking_code = Some(created.tracking_code);
    Ok((StatusCode::CREATED, Json(dto)))
}

#[derive(Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: i64,
    pub code: String,
    pub parent_id: Option<i64>,
    pub zh: String,
    pub en: String,
}

/// The case category tree.
#[utoipa::path(get, path = "/case-categories", tag = "cases", responses((status = 200, body = Vec<CategoryDto>)))]
pub async fn list_categories(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<CategoryDto>>> {
    let cats = st.svc.categories(&a.actor).await?;
    Ok(Json(
        cats.into_iter()
            .map(|c| CategoryDto { id: c.id, code: c.code, parent_id: c.parent_id, zh: c.zh, en: c.en })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    pub code: String,
    /// The parent's code; the tree has at most three levels.
    pub parent: Option<String>,
    pub zh: String,
    pub en: String,
}

/// Add a category (administrators).
#[utoipa::path(post, path = "/case-categories", tag = "cases", request_body = CategoryBody,
    responses((status = 201, body = CategoryDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_category(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<CategoryBody>,
) -> ApiResult<(StatusCode, Json<CategoryDto>)> {
    let c = st.svc.add_category(&a.actor, &b.code, b.parent.as_deref(), &b.zh, &b.en).await?;
    Ok((StatusCode::CREATED, Json(CategoryDto { id: c.id, code: c.code, parent_id: c.parent_id, zh: c.zh, en: c.en })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub body: String,
    /// Shown to the customer on the portal.
    #[serde(default)]
    pub public: bool,
}

/// Comment on the case (internal, or public to the customer).
#[utoipa::path(post, path = "/cases/{id}/comments", tag = "cases", params(("id" = i64, Path)), request_body = CommentBody,
    responses((status = 201, body = CaseEventDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn comment(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<CommentBody>,
) -> ApiResult<(StatusCode, Json<CaseEventDto>)> {
    Ok((StatusCode::CREATED, Json(st.svc.comment(&a.actor, id, &b.body, b.public).await?.into())))
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub public: bool,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<loopdesk_store::cases::Attachment> for AttachmentDto {
    fn from(a: loopdesk_store::cases::Attachment) -> Self {
        AttachmentDto {
            id: a.id,
            file_name: a.file_name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            public: a.public,
            uploaded_by: a.uploaded_by,
            created_at: a.created_at,
        }
    }
}

/// Attach a file (multipart field `file`, optional field `public`), at most 10 MB.
#[utoipa::path(post, path = "/cases/{id}/attachments", tag = "cases", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`; optional `public` = true"),
    responses((status = 201, body = AttachmentDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn attach(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    mut mp: axum::extract::Multipart,
) -> ApiResult<(StatusCode, Json<AttachmentDto>)> {
    let mut file: Option<(String, Bytes)> = None;
    let mut public = false;
    while let Some(field) = mp.next_field().await.map_err(|e| {
        ApiError::bad_request(
            Some("file".into()),
            loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
        )
    })? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    ApiError::bad_request(
                        Some("file".into()),
                        loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                    )
                })?;
                file = Some((name, bytes));
            }
            Some("public") => public = field.text().await.map(|t| t == "true" || t == "1").unwrap_or(false),
            _ => {}
        }
    }
    let (name, bytes) = file.ok_or_else(|| ApiError::invalid("file", "errors.send_file_multipart_field_file"))?;
    Ok((StatusCode::CREATED, Json(st.svc.attach(&a.actor, id, &name, &bytes, public).await?.into())))
}

/// The case's attachments.
#[utoipa::path(get, path = "/cases/{id}/attachments", tag = "cases", params(("id" = i64, Path)), responses((status = 200, body = Vec<AttachmentDto>), (status = 404, body = ErrorBody)))]
pub async fn list_attachments(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<AttachmentDto>>> {
    Ok(Json(st.svc.attachments(&a.actor, id).await?.into_iter().map(Into::into).collect()))
}

/// Download an attachment (always as a download, never rendered inline).
#[utoipa::path(get, path = "/attachments/{id}", tag = "cases", params(("id" = i64, Path)), responses((status = 200, description = "the file"), (status = 404, body = ErrorBody)))]
pub async fn download_attachment(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<axum::response::Response> {
    let (att, data) = st.svc.attachment(&a.actor, id).await?;
    Ok(attachment_response(&att, data))
}

/// Serves stored evidence safely: a download with its sanitised name, a sandboxing CSP.
pub fn attachment_response(att: &loopdesk_store::cases::Attachment, data: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ascii: String =
        att.file_name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = form_urlencoded::byte_serialize(att.file_name.as_bytes()).collect();
    (
        [
            (axum::http::header::CONTENT_TYPE, att.content_type.clone()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
            (axum::http::header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_owned()),
        ],
        data,
    )
        .into_response()
}

//! Correcting a case after intake, re-issuing the customer's tracking code, and the case
//! register export (issue #14).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use loopdesk_service::case_record::CaseEdit;
use loopdesk_service::tabular::{self, Format};
use loopdesk_store::cases::CaseFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::cases::CaseDto;
use super::customers::download;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    /// The case version you read; a stale one is answered 409.
    pub version: i64,
    /// Links the case to a customer file (e.g. one that came in through the portal).
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    #[schema(max_length = 200)]
    pub contact_name: Option<String>,
    #[schema(max_length = 50)]
    pub contact_phone: Option<String>,
    #[schema(max_length = 200)]
    pub contact_email: Option<String>,
    #[schema(max_length = 64)]
    pub product_code: Option<String>,
    #[schema(max_length = 200)]
    pub model: Option<String>,
    /// Lot or serial number.
    #[schema(max_length = 200)]
    pub serial: Option<String>,
    /// YYYY-MM-DD, or empty to clear.
    #[schema(max_length = 10)]
    pub ship_date: Option<String>,
    /// A code (or name) of the category tree.
    #[schema(max_length = 100)]
    pub category: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub subject: Option<String>,
    #[schema(min_length = 1, max_length = 20000)]
    pub description: Option<String>,
    /// The owner's username (投诉处理人员); empty for none.
    #[schema(max_length = 64)]
    pub owner: Option<String>,
    /// Did it cause or could it have caused serious injury or death? yes, no or unknown.
    #[schema(max_length = 10)]
    pub serious_injury: Option<String>,
}

/// Correct fields taken at intake. The original values stay on the timeline and in the audit
/// trail; 409 on a stale version, 422 naming the field refused.
#[utoipa::path(patch, path = "/cases/{id}", tag = "cases", params(("id" = i64, Path)), request_body = CasePatch,
    responses((status = 200, body = CaseDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_case(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<CasePatch>,
) -> ApiResult<Json<CaseDto>> {
    let edit = CaseEdit {
        customer_id: b.customer_id,
        contact_id: b.contact_id,
        contact_name: b.contact_name,
        contact_phone: b.contact_phone,
        contact_email: b.contact_email,
        product_code: b.product_code,
        model: b.model,
        serial: b.serial,
        ship_date: b.ship_date,
        category: b.category,
        subject: b.subject,
        description: b.description,
        owner: b.owner,
        serious_injury: b.serious_injury,
    };
    let k = st.svc.edit_case(&a.actor, id, b.version, &edit).await?;
    let clocks = st.svc.clocks(&a.actor, k.id).await?;
    let mut dto = CaseDto::from(k);
    dto.clocks = clocks.into_iter().map(Into::into).collect();
    Ok(Json(dto))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueBody {
    /// The case version you read.
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TrackingCodeDto {
    pub number: String,
    /// The new code, shown this once; the old one no longer opens the case.
    pub tracking_code: String,
    pub version: i64,
}

/// Issue a new tracking code for the customer; the old one stops working at once.
#[utoipa::path(post, path = "/cases/{id}/tracking-code", tag = "cases", params(("id" = i64, Path)), request_body = ReissueBody,
    responses((status = 200, body = TrackingCodeDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reissue_tracking_code(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ReissueBody>,
) -> ApiResult<Json<TrackingCodeDto>> {
    let (k, code) = st.svc.reissue_tracking_code(&a.actor, id, b.version).await?;
    Ok(Json(TrackingCodeDto { number: k.number, tracking_code: code, version: k.version }))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    /// xlsx or csv (default)
    pub format: Option<String>,
    /// zh (default) or en headers and names
    pub lang: Option<String>,
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
}

impl RegisterQuery {
    pub(crate) async fn filter(&self, st: &AppState) -> Result<CaseFilter, ApiError> {
        let some = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        Ok(CaseFilter {
            state: some(&self.state),
            case_type: some(&self.case_type),
            severity: some(&self.severity),
            department_id: self.department,
            owner_id: self.owner,
            customer_id: self.customer,
            received_from: self.from,
            received_to: self.to,
            exclude_states: if self.open == Some(true) { st.svc.terminal_states().await? } else { vec![] },
            overdue_at: (self.overdue == Some(true)).then(|| st.svc.now()),
            ..Default::default()
        })
    }

    /// Chinese headers unless `lang` says English.
    pub(crate) fn chinese(&self) -> Result<bool, ApiError> {
        match self.lang.as_deref().map(str::trim) {
            None | Some("") | Some("zh") | Some("zh-CN") => Ok(true),
            Some("en") => Ok(false),
            Some(_) => Err(ApiError::invalid("lang", "errors.must_zh_en")),
        }
    }
}

/// The case register (客户投诉登记表) as a file: the filtered case list with Chinese or English
/// headers, category, state and department names rather than codes.
pub(crate) async fn register_file(
    st: &AppState,
    actor: &loopdesk_domain::access::Actor,
    q: &RegisterQuery,
) -> Result<Response, ApiError> {
    let format = Format::parse(q.format.as_deref().unwrap_or("csv"))?;
    let chinese = q.chinese()?;
    let rows = st.svc.case_register(actor, q.filter(st).await?, chinese).await?;
    let stamp = st.svc.now().format("%Y%m%d");
    Ok(match format {
        Format::Csv => download(tabular::write_csv(&rows)?, "text/csv; charset=utf-8", &format!("cases-{stamp}.csv")),
        Format::Xlsx => download(
            tabular::write_xlsx(if chinese { "客户投诉登记表" } else { "Case register" }, &rows)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("cases-{stamp}.xlsx"),
        ),
    })
}

/// Export the case register over the list's filters, as XLSX or CSV.
#[utoipa::path(get, path = "/cases/export", tag = "cases", params(RegisterQuery),
    responses((status = 200, description = "the file"), (status = 422, body = ErrorBody)))]
pub async fn export_cases(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<RegisterQuery>,
) -> ApiResult<Response> {
    register_file(&st, &a.actor, &q).await
}

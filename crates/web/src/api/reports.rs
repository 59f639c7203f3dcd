//! Statistics over cases.

use axum::Json;
use axum::extract::State;
use loopdesk_service::reports::CaseReport;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiActor;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The calendar year, in the organisation's time zone.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: i32,
}

#[derive(Serialize, ToSchema)]
pub struct CaseCountDto {
    /// YYYY-MM
    pub month: String,
    #[serde(rename = "type")]
    pub case_type: String,
    /// Category code; empty until the case is assessed.
    pub category: String,
    /// Lead department; null until one is given.
    pub department_id: Option<i64>,
    /// minor, general, major, critical; empty until assessed.
    pub severity: String,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CaseReportDto {
    pub year: i32,
    pub total: i64,
    /// Non-zero cells only.
    pub rows: Vec<CaseCountDto>,
}

impl From<CaseReport> for CaseReportDto {
    fn from(r: CaseReport) -> Self {
        CaseReportDto {
            year: r.year,
            total: r.total(),
            rows: r
                .rows
                .into_iter()
                .map(|c| CaseCountDto {
                    month: c.month,
                    case_type: c.case_type,
                    category: c.category,
                    department_id: (c.department_id != 0).then_some(c.department_id),
                    severity: c.severity,
                    count: c.n,
                })
                .collect(),
        }
    }
}

/// Cases received in each month of a year by type × category × lead department × severity
/// (kept as counts by the transactions that register and assess cases, so this reads no cases).
#[utoipa::path(get, path = "/reports/cases", tag = "reports", params(ReportQuery),
    responses((status = 200, body = CaseReportDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn case_report(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<CaseReportDto>> {
    Ok(Json(st.svc.case_report(&a.actor, q.year).await?.into()))
}

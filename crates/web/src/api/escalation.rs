//! Clock policies, the inbox and the service-level report.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use loopdesk_domain::page::Page;
use loopdesk_domain::sla::{EscalationStep, Escalee, Policy, PolicySet, Target};
use loopdesk_service::escalation::{PolicyRecord, SlaReport, SlaRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::calendars::parse_duration_at;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// Clock name, e.g. `acknowledgement`, `first_reply`, `on_site`, `resolution`, `follow_up`.
    pub clock: String,
    /// `{"hours": N}`, `{"working_hours": N}`, `{"working_minutes": N}`, `{"working_days": N}` or `{"months": N}`.
    #[schema(value_type = Object)]
    pub duration: serde_json::Value,
    /// Calendar code, e.g. `OFFICE` or `24X7`.
    pub calendar: String,
    /// Warn when this share of the time has gone (1–99, default 75).
    #[serde(default)]
    pub warn_pct: Option<u8>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockPolicyBody {
    pub case_type: String,
    /// A severity code, or `*` for any.
    pub severity: String,
    pub targets: Vec<TargetBody>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationStepBody {
    /// `owner`, `dept_head`, `mgmt_rep` or `gm_office`.
    pub to: String,
    /// Calendar hours after the due time.
    pub after_hours: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySetBody {
    pub policies: Vec<ClockPolicyBody>,
    /// The escalation chain; left out, the shipped one (department head, +24 h management
    /// representative, +48 h GM office).
    #[serde(default)]
    pub escalation: Option<Vec<EscalationStepBody>>,
}

#[derive(Serialize, ToSchema)]
pub struct PolicySetDto {
    /// When this set was saved; null while the shipped defaults apply.
    pub saved_at: Option<DateTime<Utc>>,
    pub policies: Vec<ClockPolicyBody>,
    pub escalation: Vec<EscalationStepBody>,
}

impl From<PolicyRecord> for PolicySetDto {
    fn from(r: PolicyRecord) -> Self {
        PolicySetDto {
            saved_at: r.saved_at,
            policies: r
                .set
                .policies
                .into_iter()
                .map(|p| ClockPolicyBody {
                    case_type: p.case_type,
                    severity: p.severity,
                    targets: p
                        .targets
                        .into_iter()
                        .map(|t| TargetBody {
                            clock: t.clock,
                            duration: serde_json::to_value(t.duration).unwrap_or_default(),
                            calendar: t.calendar,
                            warn_pct: Some(t.warn_pct),
                        })
                        .collect(),
                })
                .collect(),
            escalation: r
                .set
                .escalation
                .into_iter()
                .map(|s| EscalationStepBody { to: s.to.code().into(), after_hours: s.after_hours })
                .collect(),
        }
    }
}

fn escalee(field: &str, s: &str) -> Result<Escalee, ApiError> {
    [Escalee::Owner, Escalee::DeptHead, Escalee::MgmtRep, Escalee::GmOffice]
        .into_iter()
        .find(|e| e.code() == s)
        .ok_or_else(|| ApiError::invalid(field, "errors.must_one_owner_dept_head"))
}

pub(crate) fn to_policy_set(b: PolicySetBody) -> Result<PolicySet, ApiError> {
    let mut policies = Vec::with_capacity(b.policies.len());
    for (i, p) in b.policies.into_iter().enumerate() {
        let mut targets = Vec::with_capacity(p.targets.len());
        for (j, t) in p.targets.into_iter().enumerate() {
            targets.push(Target {
                clock: t.clock,
                duration: parse_duration_at(&format!("policies[{i}].targets[{j}].duration"), t.duration)?,
                calendar: t.calendar,
                warn_pct: t.warn_pct.unwrap_or(75),
            });
        }
        policies.push(Policy { case_type: p.case_type, severity: p.severity, targets });
    }
    let escalation = match b.escalation {
        None => loopdesk_domain::sla::default_chain(),
        Some(steps) => steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                Ok(EscalationStep { to: escalee(&format!("escalation[{i}].to"), &s.to)?, after_hours: s.after_hours })
            })
            .collect::<Result<_, ApiError>>()?,
    };
    Ok(PolicySet { policies, escalation })
}

/// The clock policies in force: targets per case type × severity, and the escalation chain.
#[utoipa::path(get, path = "/clock-policies", tag = "service levels",
    responses((status = 200, body = PolicySetDto), (status = 401, body = ErrorBody)))]
pub async fn get_policies(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<PolicySetDto>> {
    Ok(Json(st.svc.clock_policies(&a.actor).await?.into()))
}

/// Replaces the clock policies. Running clocks keep the targets they started with.
#[utoipa::path(put, path = "/clock-policies", tag = "service levels", request_body = PolicySetBody,
    responses((status = 200, body = PolicySetDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_policies(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<PolicySetBody>,
) -> ApiResult<Json<PolicySetDto>> {
    let set = to_policy_set(b)?;
    Ok(Json(st.svc.put_clock_policies(&a.actor, set).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Only unread items.
    #[serde(default)]
    pub unread: Option<bool>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxItemDto {
    pub id: i64,
    pub case_id: Option<i64>,
    /// `clock_warning`, `clock_breached` or `clock_escalated`.
    pub kind: String,
    /// The values the message is about (clock, level, to, due_at, number, subject).
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxDto {
    pub items: Vec<InboxItemDto>,
    pub total: i64,
    pub unread: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The caller's in-app notifications, newest first.
#[utoipa::path(get, path = "/inbox", tag = "service levels", params(InboxQuery),
    responses((status = 200, body = InboxDto), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn inbox(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<InboxDto>> {
    let page = Page::parse(q.page, q.per_page)?;
    let p = st.svc.inbox(&a.actor, q.unread.unwrap_or(false), page).await?;
    let unread = st.svc.unread_count(&a.actor).await?;
    Ok(Json(InboxDto {
        items: p
            .items
            .into_iter()
            .map(|i| InboxItemDto {
                id: i.id,
                case_id: i.case_id,
                kind: i.kind,
                params: serde_json::from_str(&i.params).unwrap_or_default(),
                created_at: i.created_at,
                read_at: i.read_at,
            })
            .collect(),
        total: p.total,
        unread,
        page: p.page,
        per_page: p.per_page,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct MarkedDto {
    pub marked: u64,
}

/// Marks one inbox item read.
#[utoipa::path(post, path = "/inbox/{id}/read", tag = "service levels", params(("id" = i64, Path)),
    responses((status = 200, body = MarkedDto), (status = 404, body = ErrorBody)))]
pub async fn mark_read(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<MarkedDto>> {
    Ok(Json(MarkedDto { marked: st.svc.mark_read(&a.actor, Some(id)).await? }))
}

/// Marks all of the caller's inbox items read.
#[utoipa::path(post, path = "/inbox/read", tag = "service levels",
    responses((status = 200, body = MarkedDto), (status = 401, body = ErrorBody)))]
pub async fn mark_all_read(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<MarkedDto>> {
    Ok(Json(MarkedDto { marked: st.svc.mark_read(&a.actor, None).await? }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// Calendar year, in the organisation's time zone.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: i32,
}

#[derive(Serialize, ToSchema)]
pub struct SlaRowDto {
    pub month: u32,
    pub department_id: Option<i64>,
    pub due: i64,
    pub met: i64,
    pub breached: i64,
    pub open: i64,
    pub replies_met: i64,
    pub replies_settled: i64,
    /// 回复及时率: first replies in time / first replies settled, in percent.
    pub reply_rate_pct: Option<f64>,
    pub meets_target: Option<bool>,
}

impl From<SlaRow> for SlaRowDto {
    fn from(r: SlaRow) -> Self {
        SlaRowDto {
            reply_rate_pct: r.reply_rate_pct(),
            meets_target: r.meets_target(),
            month: r.month,
            department_id: r.department_id,
            due: r.due,
            met: r.met,
            breached: r.breached,
            open: r.open,
            replies_met: r.replies_met,
            replies_settled: r.replies_settled,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SlaReportDto {
    pub year: i32,
    pub target_pct: f64,
    pub rows: Vec<SlaRowDto>,
    pub months: Vec<SlaRowDto>,
    pub total: SlaRowDto,
}

impl From<SlaReport> for SlaReportDto {
    fn from(r: SlaReport) -> Self {
        SlaReportDto {
            year: r.year,
            target_pct: r.target_pct,
            rows: r.rows.into_iter().map(Into::into).collect(),
            months: r.months.into_iter().map(Into::into).collect(),
            total: r.total.into(),
        }
    }
}

/// Service-level report: clocks due per month and lead department — met, breached, open — and
/// the reply-timeliness rate against its 95% target.
#[utoipa::path(get, path = "/reports/service-levels", tag = "service levels", params(YearQuery),
    responses((status = 200, body = SlaReportDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sla_report(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> ApiResult<Json<SlaReportDto>> {
    Ok(Json(st.svc.sla_report(&a.actor, q.year).await?.into()))
}

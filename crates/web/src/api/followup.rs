//! Follow-up visits (回访, issue #20 item 7): the list within the reader's scope, one visit, its
//! outcome (done with a 10/8/6/3/1 rating and text, not reached, refused) and its assignee.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_service::followup::OutcomeInput;
use loopdesk_store::followup::{Filter, Visit, VisitView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VisitQuery {
    /// `open`, `done`, `not_reached` or `refused`.
    #[serde(default)]
    #[param(max_length = 20)]
    pub state: Option<String>,
    #[serde(default)]
    #[param(minimum = 1)]
    pub department_id: Option<i64>,
    #[serde(default)]
    #[param(minimum = 1)]
    pub assignee_id: Option<i64>,
    #[serde(default)]
    #[param(minimum = 1)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    #[param(minimum = 1)]
    pub case_id: Option<i64>,
    /// Due on or after (YYYY-MM-DD).
    #[serde(default)]
    pub due_from: Option<NaiveDate>,
    /// Due on or before (YYYY-MM-DD).
    #[serde(default)]
    pub due_to: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct VisitDto {
    pub id: i64,
    /// `case` or `service_order`.
    pub source_kind: String,
    pub source_id: i64,
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    pub case_type: Option<String>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    /// The lead department, told of the outcome.
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub subject: String,
    pub due_on: NaiveDate,
    /// `open`, `done`, `not_reached` or `refused`.
    pub state: String,
    /// 10, 8, 6, 3 or 1 when done.
    pub rating: Option<i64>,
    pub outcome: String,
    pub done_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

impl VisitDto {
    fn of(v: Visit, names: Option<&VisitView>) -> VisitDto {
        VisitDto {
            id: v.id,
            source_kind: v.source_kind,
            source_id: v.source_id,
            case_id: v.case_id,
            case_number: names.and_then(|n| n.case_number.clone()),
            case_type: names.and_then(|n| n.case_type.clone()),
            customer_id: v.customer_id,
            customer_name: names.and_then(|n| n.customer_name.clone()),
            department_id: v.department_id,
            department_name: names.and_then(|n| n.department_name.clone()),
            assignee_id: v.assignee_id,
            assignee_name: names.and_then(|n| n.assignee_name.clone()),
            subject: v.subject,
            due_on: v.due_on,
            state: v.state,
            rating: v.rating,
            outcome: v.outcome,
            done_at: v.done_at,
            version: v.version,
            created_at: v.created_at,
        }
    }
}

impl From<VisitView> for VisitDto {
    fn from(r: VisitView) -> Self {
        let v = r.visit.clone();
        VisitDto::of(v, Some(&r))
    }
}

/// Follow-up visits within your scope, soonest due first (at most 500).
#[utoipa::path(get, path = "/follow-up-visits", tag = "follow-up", params(VisitQuery),
    responses((status = 200, body = Vec<VisitDto>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_visits(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<VisitQuery>,
) -> ApiResult<Json<Vec<VisitDto>>> {
    ApiError::check_ids(&[
        ("department_id", q.department_id),
        ("assignee_id", q.assignee_id),
        ("customer_id", q.customer_id),
        ("case_id", q.case_id),
    ])?;
    let f = Filter {
        state: q.state.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        department_id: q.department_id,
        assignee_id: q.assignee_id,
        customer_id: q.customer_id,
        case_id: q.case_id,
        due_from: q.due_from,
        due_to: q.due_to,
    };
    Ok(Json(st.svc.follow_up_visits(&a.actor, &f).await?.into_iter().map(Into::into).collect()))
}

/// One follow-up visit.
#[utoipa::path(get, path = "/follow-up-visits/{id}", tag = "follow-up", params(("id" = i64, Path)),
    responses((status = 200, body = VisitDto), (status = 404, body = ErrorBody)))]
pub async fn get_visit(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<VisitDto>> {
    Ok(Json(st.svc.follow_up_visit(&a.actor, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    /// The version you read; a stale one answers 409 and changes nothing.
    pub version: i64,
    /// `done`, `not_reached` or `refused`.
    #[schema(max_length = 20)]
    pub outcome: String,
    /// 10, 8, 6, 3 or 1; required with `done`, refused otherwise.
    #[serde(default)]
    pub rating: Option<i64>,
    /// What the customer said; required with `done`.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub text: String,
}

/// Records a visit's outcome; shares it with the lead department and stops the case's
/// `follow_up` clock (a complaint waiting in its follow-up step closes).
#[utoipa::path(post, path = "/follow-up-visits/{id}/outcome", tag = "follow-up", params(("id" = i64, Path)),
    request_body = OutcomeBody,
    responses((status = 200, body = VisitDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_outcome(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<OutcomeBody>,
) -> ApiResult<Json<VisitDto>> {
    let i = OutcomeInput { outcome: b.outcome, rating: b.rating, text: b.text };
    st.svc.record_follow_up_visit(&a.actor, id, b.version, &i).await?;
    Ok(Json(st.svc.follow_up_visit(&a.actor, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub version: i64,
    /// Username of the person of any department who makes the visit; empty or absent: nobody.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub assignee: Option<String>,
}

/// Assigns a visit to a person of any department.
#[utoipa::path(post, path = "/follow-up-visits/{id}/assign", tag = "follow-up", params(("id" = i64, Path)),
    request_body = AssignBody,
    responses((status = 200, body = VisitDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn assign(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<AssignBody>,
) -> ApiResult<Json<VisitDto>> {
    st.svc.assign_follow_up_visit(&a.actor, id, b.version, b.assignee.as_deref()).await?;
    Ok(Json(st.svc.follow_up_visit(&a.actor, id).await?.into()))
}

//! Handling departments: a department made to handle (see and work) every case of some types,
//! e.g. customer service for every complaint (seed 001 2.1).

use axum::Json;
use axum::extract::{Path, State};
use loopdesk_service::scope::HandlingSetting;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

/// A case type a department can be made to handle (the confidential `grievance` cannot).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandledType {
    Inquiry,
    Suggestion,
    Complaint,
    ServiceRequest,
    Return,
    Praise,
}

impl HandledType {
    fn code(self) -> &'static str {
        match self {
            HandledType::Inquiry => "inquiry",
            HandledType::Suggestion => "suggestion",
            HandledType::Complaint => "complaint",
            HandledType::ServiceRequest => "service_request",
            HandledType::Return => "return",
            HandledType::Praise => "praise",
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HandlingDto {
    pub department_id: i64,
    /// Case type codes the department handles.
    pub case_types: Vec<String>,
}

impl From<HandlingSetting> for HandlingDto {
    fn from(h: HandlingSetting) -> Self {
        HandlingDto { department_id: h.department_id, case_types: h.case_types }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandledTypesBody {
    /// Every case type the department handles from now on (an empty list: none).
    #[schema(max_items = 6)]
    pub case_types: Vec<HandledType>,
}

/// Departments that handle every case of some types, with those types.
#[utoipa::path(get, path = "/handling-departments", tag = "departments",
    responses((status = 200, body = Vec<HandlingDto>)))]
pub async fn list_handling(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<HandlingDto>>> {
    Ok(Json(st.svc.handling_departments(&a.actor).await?.into_iter().map(Into::into).collect()))
}

/// Set the case types a department handles (administrators): its members then see and work every
/// case of those types.
#[utoipa::path(put, path = "/departments/{id}/handled-types", tag = "departments", params(("id" = i64, Path)),
    request_body = HandledTypesBody,
    responses((status = 200, body = HandlingDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_handled_types(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<HandledTypesBody>,
) -> ApiResult<Json<HandlingDto>> {
    let types: Vec<String> = b.case_types.iter().map(|t| t.code().to_owned()).collect();
    Ok(Json(st.svc.set_handled_types(&a.actor, id, &types).await?.into()))
}

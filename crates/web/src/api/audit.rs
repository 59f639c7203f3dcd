use axum::Json;
use axum::extract::State;
use loopdesk_domain::page::Page;
use loopdesk_store::audit::AuditFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::dto::{AuditEventDto, PageDto};
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiActor;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// Browse the audit trail, newest first (auditors, administrators, management).
#[utoipa::path(get, path = "/audit/events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = PageDto<AuditEventDto>), (status = 403, body = ErrorBody)))]
pub async fn list_events(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<PageDto<AuditEventDto>>> {
    let page = Page::parse(q.page, q.per_page)?;
    let f = AuditFilter { entity: q.entity, entity_id: q.entity_id, actor: q.actor };
    Ok(Json(PageDto::from_paged(st.svc.audit_events(&a.actor, &f, page).await?, Into::into)))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyDto {
    pub intact: bool,
    pub checked: u64,
    /// The first event whose link does not hold.
    pub broken_seq: Option<i64>,
    pub reason: Option<String>,
}

/// Verify the whole hash chain.
#[utoipa::path(get, path = "/audit/verify", tag = "audit", responses((status = 200, body = VerifyDto), (status = 403, body = ErrorBody)))]
pub async fn verify(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<VerifyDto>> {
    let r = st.svc.verify_audit(&a.actor, |_| {}).await?;
    Ok(Json(VerifyDto {
        intact: r.broken.is_none(),
        checked: r.checked,
        broken_seq: r.broken.as_ref().map(|b| b.seq),
        reason: r.broken.map(|b| b.reason),
    }))
}

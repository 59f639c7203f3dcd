//! The outbox (admins): the delivery log, one message with its tries, send again, cancel.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use loopdesk_domain::page::Page;
use loopdesk_store::outbox::{Attempt, Filter, Message};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiActor;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending`, `in_flight`, `sent`, `uncertain`, `failed` or `cancelled`.
    #[serde(default)]
    #[param(max_length = 20)]
    pub status: Option<String>,
    /// `email`, `webhook`, `wecom`, `dingtalk` or `feishu`.
    #[serde(default)]
    #[param(max_length = 20)]
    pub channel: Option<String>,
    /// Messages about this case.
    #[serde(default)]
    #[param(minimum = 1)]
    pub case_id: Option<i64>,
    /// Part of the recipient's address or name.
    #[serde(default)]
    #[param(max_length = 200)] // = loopdesk_service::notify::RECIPIENT_FILTER_MAX
    pub recipient: Option<String>,
    /// Enqueued at or after.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Enqueued before.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxMessageDto {
    pub id: i64,
    /// Stable across retries: the mail's Message-ID, the webhook's `webhook-id`.
    pub event_id: String,
    pub dedupe_key: String,
    pub channel: String,
    pub kind: String,
    pub recipient: String,
    pub recipient_name: String,
    pub case_id: Option<i64>,
    pub locale: String,
    pub subject: String,
    pub status: String,
    /// Tries so far.
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: String,
    pub provider_code: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Message> for OutboxMessageDto {
    fn from(m: Message) -> Self {
        OutboxMessageDto {
            id: m.id,
            event_id: m.event_id,
            dedupe_key: m.dedupe_key,
            channel: m.channel,
            kind: m.kind,
            recipient: m.recipient,
            recipient_name: m.recipient_name,
            case_id: m.case_id,
            locale: m.locale,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            provider_code: m.provider_code,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OutboxPageDto {
    pub items: Vec<OutboxMessageDto>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptDto {
    pub attempt: i64,
    pub node: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `sent`, `retry`, `rejected`, `ambiguous` or `abandoned`.
    pub outcome: String,
    pub provider_code: String,
    pub excerpt: String,
}

impl From<Attempt> for AttemptDto {
    fn from(a: Attempt) -> Self {
        AttemptDto {
            attempt: a.attempt,
            node: a.node,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome,
            provider_code: a.provider_code,
            excerpt: a.excerpt,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OutboxDetailDto {
    pub message: OutboxMessageDto,
    pub attempts: Vec<AttemptDto>,
}

/// The delivery log, newest first (admins).
#[utoipa::path(get, path = "/outbox", tag = "notifications", params(OutboxQuery),
    responses((status = 200, body = OutboxPageDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_outbox(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<OutboxPageDto>> {
    let page = Page::parse(q.page, q.per_page)?;
    ApiError::check_ids(&[("case_id", q.case_id)])?;
    let blank = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let f = Filter {
        status: blank(q.status),
        channel: blank(q.channel),
        case_id: q.case_id,
        recipient: blank(q.recipient),
        from: q.from,
        to: q.to,
    };
    let p = st.svc.outbox(&a.actor, &f, page).await?;
    Ok(Json(OutboxPageDto {
        items: p.items.into_iter().map(Into::into).collect(),
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    }))
}

/// One message and every try at it (admins).
#[utoipa::path(get, path = "/outbox/{id}", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxDetailDto), (status = 404, body = ErrorBody)))]
pub async fn get_outbox(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<OutboxDetailDto>> {
    let (m, tries) = st.svc.outbox_message(&a.actor, id).await?;
    Ok(Json(OutboxDetailDto { message: m.into(), attempts: tries.into_iter().map(Into::into).collect() }))
}

/// Sends a failed, uncertain or cancelled message again, at once (admins).
#[utoipa::path(post, path = "/outbox/{id}/retry", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxMessageDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retry_outbox(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<OutboxMessageDto>> {
    Ok(Json(st.svc.retry_message(&a.actor, id).await?.into()))
}

/// Stops a message that has not been sent (admins).
#[utoipa::path(post, path = "/outbox/{id}/cancel", tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = OutboxMessageDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_outbox(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<OutboxMessageDto>> {
    Ok(Json(st.svc.cancel_message(&a.actor, id).await?.into()))
}

//! One error type for the API: a status code table and the `{"error":{code,message,field}}` body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use loopdesk_domain::DomainError;
use loopdesk_domain::locale::Locale;

use crate::i18n::Tr;
use loopdesk_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds to send as `Retry-After` (throttling).
    pub retry_after: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid`, `not_found`, `conflict`, `forbidden`, `unauthenticated`, …
    pub code: String,
    pub message: String,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, retry_after: None }
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message: message.into(),
            field: Some(field.into()),
            retry_after: None,
        }
    }
    /// 422 naming the first of `ids` (query filters by id) that is given but below 1.
    pub fn check_ids(ids: &[(&str, Option<i64>)]) -> Result<(), ApiError> {
        match ids.iter().find_map(|(f, v)| v.filter(|n| *n < 1).map(|n| (*f, n))) {
            Some((field, n)) => Err(ApiError::invalid(field, format!("errors.must_positive_got|a={n}"))),
            None => Ok(()),
        }
    }
    /// 503 with `Retry-After`: a storage fault that passes; nothing was written.
    pub fn unavailable() -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "errors.database_cannot_take_request_right")
    }
    pub fn bad_request(field: Option<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            field,
            retry_after: None,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let message = e.reason();
        match e {
            DomainError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            DomainError::Conflict { reason, field } => ApiError {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: reason,
                field: field.map(str::to_owned),
                retry_after: None,
            },
            DomainError::Invalid { field, reason } => ApiError::invalid(field, reason),
            DomainError::Forbidden { reason } => ApiError::new(StatusCode::FORBIDDEN, "forbidden", reason),
            DomainError::Unauthenticated => ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message),
            DomainError::RateLimited { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::Unavailable(reason) => {
                tracing::warn!(%reason, "storage unavailable");
                ApiError::unavailable()
            }
            ServiceError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "errors.internal_error_has_been_logged")
            }
        }
    }
}

/// What an error response was made of, kept on the response so that [`localize`] can write its
/// `message` in the reader's language.
#[derive(Clone, Debug)]
pub struct ErrorReason {
    pub code: &'static str,
    /// A message key with its values (see `loopdesk_domain::reason!`).
    pub reason: String,
    pub field: Option<String>,
}

/// The language of the signed-in reader, filled in by the API's actor extractor while the request
/// runs; read by [`localize`] after it.
#[derive(Clone, Default)]
pub struct ReaderLocale(pub std::sync::Arc<std::sync::OnceLock<Locale>>);

fn body(code: &str, message: String, field: Option<String>) -> ErrorBody {
    ErrorBody { error: ErrorDetail { code: code.to_owned(), message, field } }
}

/// Middleware: an API error's `message` in the reader's language — the signed-in user's, else
/// `Accept-Language` (`zh-CN` or `en`), else the organisation's default. `code` and `field` stay
/// as they are.
pub async fn localize(
    axum::extract::State(st): axum::extract::State<crate::AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let cell = ReaderLocale::default();
    req.extensions_mut().insert(cell.clone());
    let accept = req
        .headers()
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language);
    let res = next.run(req).await;
    let Some(e) = res.extensions().get::<ErrorReason>().cloned() else { return res };
    let locale = cell.0.get().copied().or(accept).unwrap_or(st.svc.settings.default_locale);
    let message = Tr(locale).reason(&e.reason);
    let (mut parts, _) = res.into_parts();
    let bytes = serde_json::to_vec(&body(e.code, message, e.field)).unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reason = ErrorReason { code: self.code, reason: self.message.clone(), field: self.field.clone() };
        let body = body(self.code, Tr(Locale::En).reason(&self.message), self.field);
        let mut out = (self.status, axum::Json(body)).into_response();
        out.extensions_mut().insert(reason);
        if let Some(secs) = self.retry_after {
            out.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            out.headers_mut().insert(axum::http::header::RETRY_AFTER, RETRY_AFTER.clone());
        }
        out
    }
}

/// Seconds a client should wait after a storage fault before trying again.
pub static RETRY_AFTER: axum::http::HeaderValue = axum::http::HeaderValue::from_static("5");

pub type ApiResult<T> = Result<T, ApiError>;

//! One error type for the API: a status code table and the `{"error":{code,message,field}}` body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use loopdesk_domain::DomainError;
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
    /// 503 with `Retry-After`: a storage fault that passes; nothing was written.
    pub fn unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "errors.database_cannot_take_request_right",
        )
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
        let message = e.to_string();
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
            DomainError::Forbidden { .. } => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message, field: self.field } };
        let mut out = (self.status, axum::Json(body)).into_response();
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

//! Loopdesk over HTTP: the JSON API (`/api/v1`, OpenAPI at `/api/openapi.json`), server-rendered
//! pages, health and metrics.
//!
//! Architecture invariant: handlers parse input, call one service method and render. No business
//! rule and no SQL lives here.

mod api;
mod error;
#[cfg(test)]
mod error_keys;
mod extract;
pub mod i18n;
mod input;
mod metrics;
mod pages;
mod portal;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use loopdesk_service::Service;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::ApiError;

/// Largest request body accepted at all (file uploads); JSON bodies have their own, smaller limit.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub svc: Service,
    pub metrics: Arc<metrics::Metrics>,
    /// The OpenAPI document, rendered once at start-up.
    openapi: Arc<String>,
}

/// The whole application as a router; `serve` and the tests both use it.
pub fn router(svc: Service) -> Router {
    let (api_routes, openapi) = api::routes();
    let openapi = openapi.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let secure = svc.settings.secure_cookies();
    let state = AppState { svc, metrics: Arc::new(metrics::Metrics::default()), openapi: Arc::new(openapi) };
    let app = Router::new()
        .merge(api_routes)
        .merge(pages::routes())
        .route("/api/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), input::guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::localize))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .with_state(state);
    if secure { app.layer(axum::middleware::from_fn(input::secure_cookies)) } else { app }
}

async fn openapi_json(State(st): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], st.openapi.as_str().to_owned())
}

/// Whether the server can take writes now: a write probe committed through the same path as
/// every write, the SQLite file's identity and the free space of its folder
/// (`Store::health`). 503 with `Retry-After` names every problem found.
async fn healthz(State(st): State<AppState>) -> axum::response::Response {
    let problems = tokio::time::timeout(Duration::from_secs(5), st.svc.store.health())
        .await
        .unwrap_or_else(|_| vec!["the database did not answer within 5 seconds".to_owned()]);
    if problems.is_empty() {
        (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok"}))).into_response()
    } else {
        tracing::warn!(?problems, "health check failed");
        let body = serde_json::json!({"status": "unavailable", "problems": problems});
        let mut res = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
        res.headers_mut().insert(header::RETRY_AFTER, error::RETRY_AFTER.clone());
        res
    }
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", loopdesk_domain::reason!("errors.no_route", uri = uri.path()))
            .into_response()
    } else {
        pages::not_found_page().into_response()
    }
}

/// Serves until `shutdown` resolves; connections carry the client address for rate limiting.
pub async fn serve(
    listener: tokio::net::TcpListener,
    svc: Service,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(svc).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

//! The one gate all query strings and form bodies pass through before any handler sees them
//! (JSON bodies pass through `extract::parse_json`): text holding the NUL character is refused
//! with 422 naming the field, on every route, so neither engine ever receives one.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use loopdesk_domain::input::check_text;
use loopdesk_service::ServiceError;

use crate::AppState;
use crate::error::ApiError;

/// The first `name=value` pair of an URL-encoded text whose name or value holds NUL.
fn refused(encoded: &[u8]) -> Option<loopdesk_domain::DomainError> {
    form_urlencoded::parse(encoded).find_map(|(k, v)| {
        let field = k.replace('\0', "\u{fffd}");
        check_text(&field, &k).and_then(|()| check_text(&field, &v)).err()
    })
}

fn is_form(req: &Request) -> bool {
    req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    })
}

fn refuse(st: &AppState, req: &Request, e: loopdesk_domain::DomainError) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::from(e).into_response()
    } else {
        let locale = crate::pages::anonymous_locale(req.headers(), st);
        crate::pages::PageError::Service(ServiceError::Domain(e), locale).into_response()
    }
}

pub async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(e) = req.uri().query().and_then(|q| refused(q.as_bytes())) {
        return refuse(&st, &req, e);
    }
    if !is_form(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                loopdesk_domain::reason!("errors.form_may_at_most_bytes", max_body_bytes = crate::MAX_BODY_BYTES),
            )
            .into_response();
        }
    };
    let req = Request::from_parts(parts, Body::from(bytes.clone()));
    if let Some(e) = refused(&bytes) {
        return refuse(&st, &req, e);
    }
    next.run(req).await
}

/// With an https public URL, every cookie the server sets is `Secure`: the browser never sends
/// the session over plain http.
pub async fn secure_cookies(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let cookies: Vec<_> = res.headers().get_all(axum::http::header::SET_COOKIE).iter().cloned().collect();
    res.headers_mut().remove(axum::http::header::SET_COOKIE);
    for c in cookies {
        let secured = c
            .to_str()
            .ok()
            .filter(|v| !v.to_ascii_lowercase().contains("; secure"))
            .and_then(|v| axum::http::HeaderValue::from_str(&format!("{v}; Secure")).ok())
            .unwrap_or(c);
        res.headers_mut().append(axum::http::header::SET_COOKIE, secured);
    }
    res
}

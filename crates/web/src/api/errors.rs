//! One error shape for every API answer, found missing by the API fuzzer (scripts/fuzz-api.sh):
//! axum's own extractor rejections (an unparsable path parameter, a broken multipart body) answered
//! in plain text, and the OpenAPI document did not list the errors every operation can give.

use axum::extract::{MatchedPath, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::error::ApiError;

/// Rewrites an error response that is not JSON into `{"error":{"code","message","field"}}`,
/// keeping its status. A path parameter that does not parse is named when the route has one.
pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.map(|b| String::from_utf8_lossy(&b).trim().to_owned());
    let text = text.unwrap_or_default();
    let field = if text.starts_with("Invalid URL") {
        let params: Vec<&str> = template
            .as_deref()
            .map(|t| t.split('{').skip(1).filter_map(|s| s.split('}').next()).collect())
            .unwrap_or_default();
        Some(if params.len() == 1 { params[0].to_owned() } else { "path".to_owned() })
    } else if matches!(status, StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE) {
        Some("body".to_owned())
    } else {
        None
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    // A 5xx says nothing internal (its details are logged where it was raised).
    let message = if status.is_server_error() || text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut out = ApiError { status, code, message, field, retry_after: None }.into_response();
    // Keep what the client needs from the original, e.g. `Allow` on a 405.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
        .build()
        .into()
}

/// Adds to every operation the error answers it can give besides its own: 400, 404 and 422 when it
/// takes any input, 401 and 403 when it needs a token, 429 when it does not (public operations are
/// throttled per address), 413 and 415 when it takes a body. Documented answers stay as they are.
pub(super) fn document_common_errors(mut doc: OpenApi) -> OpenApi {
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            add_common_errors(op);
        }
    }
    doc
}

fn add_common_errors(op: &mut Operation) {
    // `security: [{}]` (utoipa's `security(())`) means no token is needed.
    let public = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|m| m.is_empty())))
    });
    let has_body = op.request_body.is_some();
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let responses = &mut op.responses.responses;
    let mut add = |code: &str, description: &str| {
        responses.entry(code.to_owned()).or_insert_with(|| error_response(description));
    };
    if has_body || has_params {
        add("400", "The request cannot be read: a path parameter or body of the wrong type");
        add("404", "A record named in the path or body does not exist (or is outside your scope)");
        add("422", "Invalid input; `field` names it");
    }
    if public {
        add("429", "Too many requests from your address; retry later");
    } else {
        add("401", "No valid bearer token");
        add("403", "Your role may not do this");
    }
    if has_body {
        add("413", "The body is too large");
        add("415", "The body is not in the documented media type");
    }
}

//! Request extractors: the JSON body with field-naming errors, and the authenticated actor.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use loopdesk_domain::access::Actor;
use loopdesk_store::org::User;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "ld_session";

/// A JSON body whose errors name the offending field (`roles[2]`, `version`, …).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json =
            req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let too_big = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > crate::MAX_JSON_BYTES);
        if too_big {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("a JSON body may be at most {} bytes", crate::MAX_JSON_BYTES),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(e.status(), "body", format!("could not read the request body: {}", e.body_text()))
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        // serde names a missing field only in its message: "missing field `x`".
        let field = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.starts_with("missing field") || msg.starts_with("unknown field"))
            .map(|f| if path == "." { f.to_owned() } else { format!("{path}.{f}") })
            .or_else(|| (path != "." && !path.is_empty()).then_some(path));
        let status = if inner.is_syntax() || inner.is_eof() {
            axum::http::StatusCode::BAD_REQUEST
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        };
        let code = if status == axum::http::StatusCode::BAD_REQUEST { "malformed_json" } else { "invalid" };
        ApiError { status, code, message: msg, field }
    })
}

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The caller of an API route: a bearer token, or (for reading) a signed-in browser session.
pub struct ApiActor {
    pub actor: Actor,
    pub user: User,
}

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            let token = auth
                .strip_prefix("Bearer ")
                .ok_or_else(|| ApiError::bad_request(Some("Authorization".into()), "expected 'Bearer <token>'"))?;
            let (actor, user) = state.svc.token_actor(token.trim()).await?;
            return Ok(ApiActor { actor, user });
        }
        // A browser session may read the API; writes need a token (no CSRF exposure).
        if parts.method.is_safe()
            && let Some(c) = cookie(parts, SESSION_COOKIE)
        {
            let (actor, user, _) = state.svc.session(c).await?;
            return Ok(ApiActor { actor, user });
        }
        Err(loopdesk_domain::DomainError::Unauthenticated.into())
    }
}

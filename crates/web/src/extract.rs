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
                "errors.send_body_application_json",
            ));
        }
        let too_big = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > crate::MAX_JSON_BYTES);
        let too_large = || {
            ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                loopdesk_domain::reason!("errors.json_body_may_at_most", max_json_bytes = crate::MAX_JSON_BYTES),
            )
        };
        if too_big {
            return Err(too_large());
        }
        // A chunked body announces no length: the limit is counted while it is read.
        let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, crate::MAX_JSON_BYTES)));
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::new(
                    e.status(),
                    "body",
                    loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                )
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Where the first string holding a NUL character sits in a JSON value (a key counts as its
/// value's place), named as serde names fields: `items[2].note`.
fn nul_at(v: &serde_json::Value, path: &mut String) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = nul_at(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(map) => map.iter().any(|(k, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = k.contains('\0') || nul_at(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

/// Every JSON body of the API is read here. Text may not hold the NUL character (PostgreSQL
/// cannot store it; SQLite would keep it silently): a 422 names the field, whatever the endpoint.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // JSON can only carry NUL as the escape `\u0000`; look closer only when that text appears.
    if bytes.windows(6).any(|w| w == b"\\u0000")
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
    {
        let mut path = String::new();
        if nul_at(&v, &mut path) {
            let field = if path.is_empty() { "body".to_owned() } else { path };
            let reason = match loopdesk_domain::input::check_text(&field, "\0") {
                Err(loopdesk_domain::DomainError::Invalid { reason, .. }) => reason,
                _ => "errors.must_not_contain_nul_character_2".to_owned(),
            };
            return Err(ApiError::invalid(field, reason));
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let field = field_of(&path, &msg);
        let status = if inner.is_syntax() || inner.is_eof() {
            axum::http::StatusCode::BAD_REQUEST
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        };
        let code = if status == axum::http::StatusCode::BAD_REQUEST { "malformed_json" } else { "invalid" };
        ApiError {
            status,
            code,
            message: loopdesk_domain::reason!("errors.bad_value", e = msg),
            field,
            retry_after: None,
        }
    })
}

/// The field a serde error is about. serde names a missing field only in its message ("missing
/// field `x`", the path being the object that lacks it); for an unknown field the path already
/// ends with the field's own name. Other messages quote what was expected (`true` or `false`),
/// which is no field name: the path is.
pub(crate) fn field_of(path: &str, msg: &str) -> Option<String> {
    let path = if path == "." { "" } else { path };
    let quoted = msg.split('`').nth(1);
    if msg.starts_with("missing field")
        && let Some(f) = quoted
    {
        return Some(if path.is_empty() { f.to_owned() } else { format!("{path}.{f}") });
    }
    if msg.starts_with("unknown field")
        && let Some(f) = quoted
    {
        let named = path == f || path.ends_with(&format!(".{f}")) || path.ends_with(&format!("]{f}"));
        return Some(match (named, path.is_empty()) {
            (true, _) => path.to_owned(),
            (false, true) => f.to_owned(),
            (false, false) => format!("{path}.{f}"),
        });
    }
    (!path.is_empty()).then(|| path.to_owned())
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

/// Tells [`crate::error::localize`] the signed-in reader's language.
fn reader_locale(parts: &Parts, locale: &str) {
    if let (Some(cell), Some(l)) =
        (parts.extensions.get::<crate::error::ReaderLocale>(), loopdesk_domain::locale::Locale::parse(locale))
    {
        let _ = cell.0.set(l);
    }
}

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            let token = auth
                .strip_prefix("Bearer ")
                .ok_or_else(|| ApiError::bad_request(Some("Authorization".into()), "errors.expected_bearer_token"))?;
            let (actor, user) = state.svc.token_actor(token.trim()).await?;
            reader_locale(parts, &user.locale);
            return Ok(ApiActor { actor, user });
        }
        // A browser session may read the API; writes need a token (no CSRF exposure).
        if parts.method.is_safe()
            && let Some(c) = cookie(parts, SESSION_COOKIE)
        {
            let (actor, user, _) = state.svc.session(c).await?;
            reader_locale(parts, &user.locale);
            return Ok(ApiActor { actor, user });
        }
        Err(loopdesk_domain::DomainError::Unauthenticated.into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        note: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        subject: String,
        open: Option<bool>,
        items: Option<Vec<Inner>>,
    }

    fn field(json: &str) -> (u16, Option<String>) {
        let e = parse_json::<Body>(json.as_bytes()).unwrap_err();
        (e.status.as_u16(), e.field)
    }

    #[test]
    fn an_unknown_field_is_named_once() {
        assert_eq!(field(r#"{"subject":"x","evil":1}"#), (422, Some("evil".into())));
        assert_eq!(field(r#"{"subject":"x","items":[{"note":"a","evil":1}]}"#), (422, Some("items[0].evil".into())));
    }

    #[test]
    fn a_wrong_value_names_its_field_not_what_was_expected() {
        assert_eq!(field(r#"{"subject":"x","open":"maybe"}"#), (422, Some("open".into())));
        assert_eq!(field(r#"{"open":true}"#), (422, Some("subject".into())));
        assert_eq!(field(r#"{"subject":"x","items":[{}]}"#), (422, Some("items[0].note".into())));
    }

    #[test]
    fn nul_in_any_json_text_is_refused_naming_the_field() {
        assert_eq!(field(r#"{"subject":"a\u0000b"}"#), (422, Some("subject".into())));
        assert_eq!(
            field(r#"{"subject":"x","items":[{"note":"ok"},{"note":"\u0000"}]}"#),
            (422, Some("items[1].note".into()))
        );
        // An escaped backslash before "u0000" is no NUL.
        assert!(parse_json::<Body>(br#"{"subject":"\\u0000"}"#).is_ok());
    }
}

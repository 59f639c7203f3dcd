//! Sign-in, sign-out and the language switch.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use loopdesk_domain::DomainError;
use loopdesk_domain::locale::Locale;
use loopdesk_service::ServiceError;
use loopdesk_service::access::SESSION_HOURS;
use serde::Deserialize;

use super::{Chrome, FormData, LANG_COOKIE, PRE_CSRF_COOKIE, SignedIn, anonymous_locale, render, set_cookie};
use crate::AppState;
use crate::extract::{SESSION_COOKIE, cookie};
use crate::i18n::Tr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang", post(switch_language))
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login {
    c: Chrome,
    error: Option<String>,
    next: String,
    username: String,
}

pub(super) fn anonymous_chrome(st: &AppState, locale: Locale, csrf: String) -> Chrome {
    Chrome::anonymous(locale, st.svc.settings.name.clone(), st.svc.settings.timezone, csrf)
}

/// Only same-site paths are followed after sign-in (`domain::input::same_site_path`).
fn safe_next(next: &str) -> String {
    loopdesk_domain::input::same_site_path(next).to_owned()
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

pub(super) fn new_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

/// Double-submit token for forms shown before there is a session.
pub(super) fn pre_csrf(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(&format!("{PRE_CSRF_COOKIE}=")).map(str::to_owned))
}

async fn login_form(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let locale = anonymous_locale(&headers, &st);
    let csrf = pre_csrf(&headers).unwrap_or_else(new_token);
    let page = Login {
        c: anonymous_chrome(&st, locale, csrf.clone()),
        error: None,
        next: safe_next(q.next.as_deref().unwrap_or("/")),
        username: String::new(),
    };
    ([set_cookie(PRE_CSRF_COOKIE, &csrf, 3600, true)], render(&page)).into_response()
}

async fn login(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let locale = anonymous_locale(&headers, &st);
    let t = Tr(locale);
    let csrf = pre_csrf(&headers).unwrap_or_default();
    let fail = |status: StatusCode, msg: String| {
        let fresh = new_token();
        let page = Login {
            c: anonymous_chrome(&st, locale, fresh.clone()),
            error: Some(msg),
            next: safe_next(form.get("next")),
            username: form.get("username").to_owned(),
        };
        (status, [set_cookie(PRE_CSRF_COOKIE, &fresh, 3600, true)], render(&page)).into_response()
    };
    if csrf.is_empty() || form.get("_csrf") != csrf {
        return fail(StatusCode::FORBIDDEN, t.get("error.csrf").to_owned());
    }
    match st.svc.login(form.get("username"), form.get("password"), &addr.ip().to_string()).await {
        Ok(s) => {
            let max_age = SESSION_HOURS * 3600;
            (
                axum::response::AppendHeaders([
                    set_cookie(SESSION_COOKIE, &s.cookie, max_age, true),
                    set_cookie(PRE_CSRF_COOKIE, "", 0, true),
                    set_cookie(LANG_COOKIE, &s.user.locale, 365 * 86400, false),
                ]),
                Redirect::to(&safe_next(form.get("next"))),
            )
                .into_response()
        }
        Err(e @ ServiceError::Domain(DomainError::RateLimited { .. })) => {
            super::with_retry_after(&e, fail(StatusCode::TOO_MANY_REQUESTS, t.get("login.throttled").to_owned()))
        }
        Err(ServiceError::Domain(_)) => fail(StatusCode::UNAUTHORIZED, t.get("login.failed").to_owned()),
        Err(e) => super::PageError::Service(e, locale).into_response(),
    }
}

async fn logout(State(st): State<AppState>, s: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    if let Err(e) = s.check_csrf(&form) {
        return e.into_response();
    }
    let parts = Parts::from_headers(headers);
    if let Some(c) = cookie(&parts, SESSION_COOKIE) {
        let _ = st.svc.logout(c).await;
    }
    ([set_cookie(SESSION_COOKIE, "", 0, true)], Redirect::to("/login")).into_response()
}

/// Switches language: stored on the user when signed in, in a cookie otherwise.
async fn switch_language(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormData::parse(&body);
    let Some(locale) = Locale::parse(form.get("locale")) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "locale: must be zh-CN or en").into_response();
    };
    let mut parts = Parts::from_headers(headers.clone());
    // Back to the page the switch was made on, when that page is on this site.
    let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let back = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| loopdesk_domain::input::referer_path(r, host))
        .map(safe_next)
        .unwrap_or_else(|| "/".into());
    if let Ok(s) = SignedIn::from_request_parts(&mut parts, &st).await {
        if let Err(e) = s.check_csrf(&form) {
            return e.into_response();
        }
        let patch = loopdesk_service::org::UserPatch {
            version: s.user.version,
            locale: Some(locale.code().to_owned()),
            ..Default::default()
        };
        if let Err(e) = st.svc.update_user(&s.actor, s.user.id, &patch).await {
            return super::PageError::Service(e, s.locale).into_response();
        }
    }
    ([set_cookie(LANG_COOKIE, locale.code(), 365 * 86400, false)], Redirect::to(&back)).into_response()
}

trait FromHeaders {
    fn from_headers(h: HeaderMap) -> Parts;
}

impl FromHeaders for Parts {
    fn from_headers(h: HeaderMap) -> Parts {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        parts.headers = h;
        parts
    }
}

//! The customer portal's pages: no sign-in, no JavaScript. Forms carry a double-submit CSRF
//! token (cookie + field); the tracking code travels only in POST bodies, never in URLs.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use loopdesk_domain::DomainError;
use loopdesk_domain::case::CaseType;
use loopdesk_domain::customer::Coded;
use loopdesk_domain::locale::Locale;
use loopdesk_service::ServiceError;

use super::customers::label;
use super::session::{anonymous_chrome, new_token, pre_csrf};
use super::{Chrome, FormData, PRE_CSRF_COOKIE, anonymous_locale, render, set_cookie};
use crate::AppState;
use crate::api::cases::PublicCaseDto;
use crate::i18n::Tr;
use crate::portal::{PUBLIC_TYPES, Submission};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal", get(form).post(submit))
        .route("/portal/track", get(track_form).post(track))
        .route("/portal/act", axum::routing::post(act))
        .route("/portal/evidence", axum::routing::post(evidence))
}

#[derive(Template)]
#[template(path = "portal.html")]
struct Portal {
    c: Chrome,
    f: FormData,
    types: Vec<(String, String)>,
    error: Option<String>,
    created: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "portal_track.html")]
struct Track {
    c: Chrome,
    error: Option<String>,
    message: Option<String>,
    view: Option<PublicCaseDto>,
    steps: Vec<(String, String, String)>,
    code: String,
}

impl Track {
    /// The message key of a customer action's button.
    fn action_label(&self, a: &str) -> &'static str {
        action_label(a)
    }
}

fn action_label(a: &str) -> &'static str {
    match a {
        "accept" => "portal.accept",
        "reject" => "portal.reject",
        "withdraw" => "portal.withdraw",
        _ => "portal.add_information",
    }
}

/// Locale and CSRF token for a visitor; the response must set the returned token's cookie.
fn visitor(st: &AppState, headers: &HeaderMap) -> (Locale, String) {
    (anonymous_locale(headers, st), pre_csrf(headers).unwrap_or_else(new_token))
}

fn types(l: Locale) -> Vec<(String, String)> {
    PUBLIC_TYPES
        .iter()
        .filter_map(|t| CaseType::parse(t).ok())
        .map(|t| (t.code().to_owned(), label(l, t).to_owned()))
        .collect()
}

fn with_cookie(csrf: &str, status: StatusCode, page: Response) -> Response {
    (status, [set_cookie(PRE_CSRF_COOKIE, csrf, 3600, true)], page).into_response()
}

async fn form(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (l, csrf) = visitor(&st, &headers);
    let page = Portal {
        c: anonymous_chrome(&st, l, csrf.clone()),
        f: FormData(vec![("type".into(), "complaint".into())]),
        types: types(l),
        error: None,
        created: None,
    };
    with_cookie(&csrf, StatusCode::OK, render(&page))
}

fn checked_csrf(headers: &HeaderMap, f: &FormData) -> bool {
    pre_csrf(headers).is_some_and(|c| !c.is_empty() && c == f.get("_csrf"))
}

fn user_message(t: Tr, e: &ServiceError) -> Option<String> {
    match e {
        ServiceError::Domain(DomainError::NotFound { .. }) => Some(t.get("portal.not_found").to_owned()),
        ServiceError::Domain(DomainError::RateLimited { .. }) => Some(t.get("login.throttled").to_owned()),
        ServiceError::Domain(d) => Some(t.domain(d)),
        ServiceError::Unavailable(_) => Some(t.get("storage.unavailable").to_owned()),
        ServiceError::Internal(_) => None,
    }
}

async fn submit(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (l, csrf) = visitor(&st, &headers);
    let f = FormData::parse(&body);
    let t = Tr(l);
    let mut page = Portal {
        c: anonymous_chrome(&st, l, csrf.clone()),
        f: FormData(vec![]),
        types: types(l),
        error: None,
        created: None,
    };
    if !checked_csrf(&headers, &f) {
        page.error = Some(t.get("error.csrf").to_owned());
        page.f = f;
        return with_cookie(&csrf, StatusCode::FORBIDDEN, render(&page));
    }
    let s = Submission {
        case_type: f.get("type").into(),
        name: f.get("name").into(),
        phone: f.get("phone").into(),
        email: f.get("email").into(),
        company: f.get("company").into(),
        product_code: f.get("product_code").into(),
        model: String::new(),
        serial: f.get("serial").into(),
        subject: f.get("subject").into(),
        description: f.get("description").into(),
        locale: Some(l.code().into()),
    };
    match crate::portal::submit(&st, &addr.ip().to_string(), s).await {
        Ok(created) => {
            page.created = Some((created.case.number, created.tracking_code));
            with_cookie(&csrf, StatusCode::CREATED, render(&page))
        }
        Err(e) => {
            let status = match &e {
                ServiceError::Domain(DomainError::RateLimited { .. }) => StatusCode::TOO_MANY_REQUESTS,
                ServiceError::Domain(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            page.error = Some(user_message(t, &e).unwrap_or_else(|| t.get("error.internal").to_owned()));
            page.f = f;
            super::with_retry_after(&e, with_cookie(&csrf, status, render(&page)))
        }
    }
}

async fn track_form(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let (l, csrf) = visitor(&st, &headers);
    let page = Track {
        c: anonymous_chrome(&st, l, csrf.clone()),
        error: None,
        message: None,
        view: None,
        steps: vec![],
        code: String::new(),
    };
    with_cookie(&csrf, StatusCode::OK, render(&page))
}

/// The tracking page after `outcome`: a success note (`Ok`) or a refusal (`Err`, shown in the
/// error box with 422, never in the success box).
async fn track_page(
    st: &AppState,
    headers: &HeaderMap,
    addr: &str,
    f: &FormData,
    outcome: Option<Result<String, String>>,
) -> Response {
    let (l, csrf) = visitor(st, headers);
    let t = Tr(l);
    let refused = matches!(outcome, Some(Err(_)));
    let (message, error) = match outcome {
        Some(Ok(m)) => (Some(m), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let mut page = Track {
        c: anonymous_chrome(st, l, csrf.clone()),
        error,
        message,
        view: None,
        steps: vec![],
        code: String::new(),
    };
    if !checked_csrf(headers, f) {
        page.error = Some(t.get("error.csrf").to_owned());
        return with_cookie(&csrf, StatusCode::FORBIDDEN, render(&page));
    }
    match crate::portal::status(st, addr, f.get("number"), f.get("code")).await {
        Ok(v) => {
            page.steps = v.steps.iter().map(|s| (page.c.time(&s.at), s.state.clone(), s.text.clone())).collect();
            page.view = Some(v);
            page.code = f.get("code").to_owned();
            let status = if refused { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            with_cookie(&csrf, status, render(&page))
        }
        Err(e) => {
            let status = match &e {
                ServiceError::Domain(DomainError::RateLimited { .. }) => StatusCode::TOO_MANY_REQUESTS,
                ServiceError::Domain(_) => StatusCode::NOT_FOUND,
                ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            page.error = Some(user_message(t, &e).unwrap_or_else(|| t.get("error.internal").to_owned()));
            page.message = None;
            super::with_retry_after(&e, with_cookie(&csrf, status, render(&page)))
        }
    }
}

async fn track(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = FormData::parse(&body);
    track_page(&st, &headers, &addr.ip().to_string(), &f, None).await
}

/// Photos, videos or PDFs the customer adds to the case (004-M); each file is checked alone.
async fn evidence(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    mut mp: axum::extract::Multipart,
) -> Response {
    let ip = addr.ip().to_string();
    let (l, _) = visitor(&st, &headers);
    let t = Tr(l);
    let mut fields = Vec::new();
    let mut files: Vec<(String, Bytes)> = Vec::new();
    let mut broken = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                if name == "file" {
                    let fname = field.file_name().unwrap_or("").to_owned();
                    match field.bytes().await {
                        Ok(b) if !fname.is_empty() && !b.is_empty() => files.push((fname, b)),
                        Ok(_) => {}
                        Err(e) => broken = Some(e.body_text()),
                    }
                } else if let Ok(v) = field.text().await {
                    fields.push((name, v));
                }
            }
            Ok(None) => break,
            Err(e) => {
                broken = Some(e.body_text());
                break;
            }
        }
    }
    let f = FormData(fields);
    if !checked_csrf(&headers, &f) {
        return track_page(&st, &headers, &ip, &f, Some(Err(t.get("error.csrf").to_owned()))).await;
    }
    let outcome = if let Some(e) = broken {
        Err(format!(
            "{}: {}",
            t.get("portal.evidence"),
            t.reason(&loopdesk_domain::reason!("errors.could_not_read_request_body", e))
        ))
    } else if files.is_empty() {
        Err(t.get("portal.evidence_none").to_owned())
    } else {
        let (mut done, mut refused) = (Vec::new(), Vec::new());
        for (name, data) in &files {
            match crate::portal::evidence(&st, &ip, f.get("number"), f.get("code"), name, data).await {
                Ok(()) => done.push(format!("{name}: {}", t.get("portal.done"))),
                Err(e) => refused.push(format!(
                    "{name}: {}",
                    user_message(t, &e).unwrap_or_else(|| t.get("error.internal").to_owned())
                )),
            }
        }
        // Any refused file puts the whole answer in the error box (naming what did go through).
        if refused.is_empty() {
            Ok(done.join("; "))
        } else {
            Err(refused.into_iter().chain(done).collect::<Vec<_>>().join("; "))
        }
    };
    track_page(&st, &headers, &ip, &f, Some(outcome)).await
}

async fn act(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = FormData::parse(&body);
    let ip = addr.ip().to_string();
    let (l, _) = visitor(&st, &headers);
    if !checked_csrf(&headers, &f) {
        return track_page(&st, &headers, &ip, &f, None).await;
    }
    let mut fields = std::collections::BTreeMap::new();
    for k in ["reason", "comment"] {
        if let Some(v) = f.opt(k) {
            fields.insert(k.to_owned(), v);
        }
    }
    let outcome = match crate::portal::act(&st, &ip, f.get("number"), f.get("code"), f.get("action"), &fields).await {
        Ok(()) => Ok(Tr(l).get("portal.done").to_owned()),
        Err(e) => Err(user_message(Tr(l), &e).unwrap_or_else(|| Tr(l).get("error.internal").to_owned())),
    };
    track_page(&st, &headers, &ip, &f, Some(outcome)).await
}

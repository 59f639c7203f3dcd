//! Server-rendered pages. They work without JavaScript; every form carries a CSRF token that must
//! match the session's (or, before sign-in, a cookie set with the form).

mod admin;
mod api_docs;
mod audit;
mod calendars;
mod case_record;
mod cases;
mod customers;
mod escalation;
mod followup;
mod outbox;
mod portal;
mod reports;
mod scope;
mod search;
mod service;
mod session;
mod surveys;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::locale::Locale;
use loopdesk_domain::page::Page;
use loopdesk_service::ServiceError;
use loopdesk_store::org::User;

use crate::AppState;
use crate::extract::{SESSION_COOKIE, cookie};
use crate::i18n::Tr;

pub const LANG_COOKIE: &str = "ld_lang";
pub const PRE_CSRF_COOKIE: &str = "ld_csrf";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/assets/app.css", get(css))
        .merge(session::routes())
        .merge(admin::routes())
        .merge(api_docs::routes())
        .merge(audit::routes())
        .merge(calendars::routes())
        .merge(customers::routes())
        .merge(cases::routes())
        .merge(case_record::routes())
        .merge(portal::routes())
        .merge(surveys::routes())
        .merge(escalation::routes())
        .merge(outbox::routes())
        .merge(followup::routes())
        .merge(reports::routes())
        .merge(scope::routes())
        .merge(search::routes())
        .merge(service::routes())
}

async fn css() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../assets/app.css"))
}

/// What the layout needs on every page.
pub struct Chrome {
    pub t: Tr,
    pub org: String,
    pub tz: chrono_tz::Tz,
    pub signed_in: bool,
    pub user_name: String,
    pub csrf: String,
    pub nav: &'static str,
    pub can_users: bool,
    pub can_departments: bool,
    pub can_audit: bool,
    pub can_calendars: bool,
    pub can_customers: bool,
    pub can_surveys: bool,
    /// Unread inbox items of the signed-in user.
    pub unread: i64,
}

impl Chrome {
    /// The layout for a visitor who is not signed in: no navigation.
    pub fn anonymous(locale: Locale, org: String, tz: chrono_tz::Tz, csrf: String) -> Chrome {
        Chrome {
            t: Tr(locale),
            org,
            tz,
            signed_in: false,
            user_name: String::new(),
            csrf,
            nav: "",
            can_users: false,
            can_departments: false,
            can_audit: false,
            can_calendars: false,
            can_customers: false,
            can_surveys: false,
            unread: 0,
        }
    }

    /// A time in the organisation's zone, as people there read it.
    pub fn time(&self, at: &DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// A signed-in browser user. Pages that take it redirect anonymous visitors to the login page.
pub struct SignedIn {
    pub actor: Actor,
    pub user: User,
    pub csrf: String,
    pub locale: Locale,
    /// Unread inbox items, for the navigation badge.
    pub unread: i64,
    st: AppState,
}

impl SignedIn {
    pub fn chrome(&self, nav: &'static str) -> Chrome {
        Chrome {
            t: Tr(self.locale),
            org: self.st.svc.settings.name.clone(),
            tz: self.st.svc.settings.timezone,
            signed_in: true,
            user_name: self.user.display_name.clone(),
            csrf: self.csrf.clone(),
            nav,
            can_users: self.actor.can(Permission::ReadUsers),
            can_departments: self.actor.can(Permission::SignIn),
            can_audit: self.actor.can(Permission::ReadAudit),
            can_calendars: self.actor.can(Permission::ManageSettings),
            can_customers: self.actor.can(Permission::ReadCustomers),
            can_surveys: self.actor.can(Permission::ReadReports),
            unread: self.unread,
        }
    }

    pub fn tr(&self) -> Tr {
        Tr(self.locale)
    }

    /// Refuses a form whose `_csrf` does not match the session.
    pub fn check_csrf(&self, form: &FormData) -> Result<(), PageError> {
        if form.get("_csrf") == self.csrf { Ok(()) } else { Err(PageError::Csrf(self.locale)) }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let login = || PageError::Login(parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default());
        let Some(c) = cookie(parts, SESSION_COOKIE) else { return Err(login()) };
        match st.svc.session(c).await {
            Ok((actor, user, csrf)) => {
                let locale = Locale::parse(&user.locale).unwrap_or(st.svc.settings.default_locale);
                // The badge is a convenience: a failed count shows none rather than failing the page.
                let unread = st.svc.unread_count(&actor).await.unwrap_or(0);
                Ok(SignedIn { actor, user, csrf, locale, unread, st: st.clone() })
            }
            Err(ServiceError::Domain(DomainError::Unauthenticated)) => Err(login()),
            Err(e) => Err(PageError::Service(e, st.svc.settings.default_locale)),
        }
    }
}

/// The visitor's language before sign-in: the `ld_lang` cookie, then the browser, then the default.
pub fn anonymous_locale(headers: &HeaderMap, st: &AppState) -> Locale {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(&format!("{LANG_COOKIE}=")).and_then(Locale::parse))
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(st.svc.settings.default_locale)
}

/// A urlencoded form body; repeated keys (checkboxes) are kept.
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(form_urlencoded::parse(body).into_owned().collect())
    }
    pub fn get(&self, k: &str) -> &str {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0.iter().filter(|(key, _)| key == k).map(|(_, v)| v.clone()).collect()
    }
    pub fn opt(&self, k: &str) -> Option<String> {
        let v = self.get(k).trim();
        (!v.is_empty()).then(|| v.to_owned())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    heading: String,
    message: String,
}

pub enum PageError {
    Login(String),
    Csrf(Locale),
    Service(ServiceError, Locale),
}

fn bare_chrome(locale: Locale) -> Chrome {
    Chrome::anonymous(locale, "Loopdesk".into(), chrono_tz::Asia::Shanghai, String::new())
}

fn error_page(status: StatusCode, locale: Locale, heading_key: &str, message: String) -> Response {
    let t = Tr(locale);
    let page = ErrorPage { c: bare_chrome(locale), heading: t.get(heading_key).to_owned(), message };
    let mut res = (status, Html(page.render().unwrap_or_default())).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, crate::error::RETRY_AFTER.clone());
    }
    res
}

pub fn not_found_page() -> Response {
    error_page(StatusCode::NOT_FOUND, Locale::ZhCn, "error.not_found", "404 · Not found".into())
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login(next) => {
                let q: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Redirect::to(&format!("/login?next={q}")).into_response()
            }
            PageError::Csrf(l) => {
                error_page(StatusCode::FORBIDDEN, l, "error.title", Tr(l).get("error.csrf").to_owned())
            }
            PageError::Service(e, l) => {
                let t = Tr(l);
                let (status, key, detail) = match &e {
                    ServiceError::Domain(DomainError::NotFound { .. }) => {
                        (StatusCode::NOT_FOUND, "error.not_found", String::new())
                    }
                    ServiceError::Domain(d @ DomainError::Forbidden { .. }) => {
                        (StatusCode::FORBIDDEN, "error.forbidden", t.domain(d))
                    }
                    ServiceError::Domain(d @ DomainError::Conflict { .. }) => {
                        (StatusCode::CONFLICT, "error.conflict", t.domain(d))
                    }
                    ServiceError::Domain(d @ DomainError::Invalid { .. }) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "error.invalid", t.domain(d))
                    }
                    ServiceError::Domain(d) => (StatusCode::BAD_REQUEST, "error.title", t.domain(d)),
                    ServiceError::Unavailable(reason) => {
                        tracing::warn!(%reason, "storage unavailable on a page");
                        (StatusCode::SERVICE_UNAVAILABLE, "storage.unavailable", String::new())
                    }
                    ServiceError::Internal(m) => {
                        tracing::error!(error = %m, "internal error on a page");
                        (StatusCode::INTERNAL_SERVER_ERROR, "error.internal", String::new())
                    }
                };
                let message =
                    if detail.is_empty() { t.get(key).to_owned() } else { format!("{}: {detail}", t.get(key)) };
                error_page(status, l, "error.title", message)
            }
        }
    }
}

/// A throttled request's page says when to come back (`Retry-After`), as the API does.
pub fn with_retry_after(e: &ServiceError, mut page: Response) -> Response {
    if let ServiceError::Domain(DomainError::RateLimited { retry_after_secs }) = e {
        page.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after_secs));
    }
    page
}

/// Lets page handlers use `?` on service calls.
pub trait OrPage<T> {
    fn page(self, s: &SignedIn) -> Result<T, PageError>;
}

impl<T, E: Into<ServiceError>> OrPage<T> for Result<T, E> {
    fn page(self, s: &SignedIn) -> Result<T, PageError> {
        self.map_err(|e| PageError::Service(e.into(), s.locale))
    }
}

/// Renders a template into a response (a template error is a bug; it is logged and shown as 500).
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, http_only: bool) -> (axum::http::HeaderName, String) {
    let ho = if http_only { "; HttpOnly" } else { "" };
    (SET_COOKIE, format!("{name}={value}; Path=/; Max-Age={max_age_secs}; SameSite=Lax{ho}"))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    c: Chrome,
    roles: Vec<String>,
    department: String,
    /// (communication id, version, customer id, customer name, subject, due, overdue)
    follow_ups: Vec<(i64, i64, i64, String, String, String, bool)>,
    /// Open cases owned by me, then the newest open cases in my scope: (id, number, subject, received).
    my_cases: Vec<(i64, String, String, String)>,
    queue: Vec<(i64, String, String, String)>,
    /// For administrators: calendars without this (or, from November, next) year's holiday table.
    missing_tables: Vec<(String, String, String)>,
}

async fn home(s: SignedIn) -> Result<Response, PageError> {
    let department = match s.user.department_id {
        Some(id) => s.st.svc.department(&s.actor, id).await.page(&s)?.name,
        None => s.tr().get("common.none").to_owned(),
    };
    let roles = s.user.roles.iter().map(|r| s.tr().role(r.code())).collect();
    let today = Utc::now().with_timezone(&s.st.svc.settings.timezone).date_naive();
    let follow_ups =
        s.st.svc
            .my_follow_ups(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .map(|(m, name)| {
                let due = m.follow_up_due.map(|d| d.to_string()).unwrap_or_default();
                let overdue = m.follow_up_due.is_some_and(|d| d < today);
                (m.id, m.version, m.customer_id, name, m.subject, due, overdue)
            })
            .collect();
    let missing_tables = if s.actor.can(Permission::ManageSettings) {
        s.st.svc
            .missing_holiday_tables()
            .await
            .page(&s)?
            .into_iter()
            .map(|m| (m.code, m.name, m.years.iter().map(ToString::to_string).collect::<Vec<_>>().join("、")))
            .collect()
    } else {
        vec![]
    };
    let (mut my_cases, mut queue) = (vec![], vec![]);
    if s.actor.can(Permission::ReadCases) {
        let open = s.st.svc.terminal_states().await.page(&s)?;
        let c = s.chrome("home");
        let row = |k: loopdesk_store::cases::Case| (k.id, k.number, k.subject, c.time(&k.received_at));
        let mine = loopdesk_store::cases::CaseFilter {
            owner_id: s.user.id.into(),
            exclude_states: open.clone(),
            ..Default::default()
        };
        my_cases =
            s.st.svc
                .cases(&s.actor, mine, Page { page: 1, per_page: 20 })
                .await
                .page(&s)?
                .items
                .into_iter()
                .map(row)
                .collect();
        let all = loopdesk_store::cases::CaseFilter { exclude_states: open, ..Default::default() };
        queue =
            s.st.svc
                .cases(&s.actor, all, Page { page: 1, per_page: 20 })
                .await
                .page(&s)?
                .items
                .into_iter()
                .map(row)
                .collect();
    }
    Ok(render(&Home { c: s.chrome("home"), roles, department, follow_ups, my_cases, queue, missing_tables }))
}

/// Keeps pages from rendering raw URIs: used by the pager.
pub fn query_without_page(uri: &Uri) -> String {
    let q = uri.query().unwrap_or("");
    let kept: Vec<String> = form_urlencoded::parse(q.as_bytes())
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.append_pair(&k, &v);
            s.finish()
        })
        .collect();
    if kept.is_empty() { String::new() } else { format!("{}&", kept.join("&")) }
}

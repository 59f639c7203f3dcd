//! The delivery log (admins): every message of the outbox with its status and tries, filters,
//! and "send again" / "cancel" for messages that failed, wait as uncertain or are still pending.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loopdesk_domain::access::Permission;
use loopdesk_domain::notify::{Channel, Status};
use loopdesk_domain::page::Page;
use loopdesk_store::outbox::Filter;
use serde::Deserialize;

use super::{Chrome, FormData, OrPage, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outbox", get(list))
        .route("/outbox/{id}", get(detail))
        .route("/outbox/{id}/retry", post(retry))
        .route("/outbox/{id}/cancel", post(cancel))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    recipient: Option<String>,
    #[serde(default)]
    case_id: Option<String>,
    #[serde(default)]
    page: Option<u32>,
}

struct Row {
    id: i64,
    when: String,
    channel: String,
    recipient: String,
    subject: String,
    status: String,
    status_label: String,
    attempts: i64,
    last_error: String,
    case_id: Option<i64>,
    can_retry: bool,
    can_cancel: bool,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct List {
    c: Chrome,
    rows: Vec<Row>,
    statuses: Vec<(String, String)>,
    channels: Vec<String>,
    status: String,
    channel: String,
    recipient: String,
    case_id: String,
    query: String,
    page: u32,
    pages: u32,
    total: i64,
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn row(c: &Chrome, m: loopdesk_store::outbox::Message) -> Row {
    let status_label = c.t.get(&format!("notify.status.{}", m.status)).to_owned();
    Row {
        id: m.id,
        when: c.time(&m.created_at),
        channel: m.channel,
        recipient: if m.recipient_name.is_empty() {
            m.recipient
        } else {
            format!("{} <{}>", m.recipient_name, m.recipient)
        },
        subject: m.subject,
        can_retry: matches!(m.status.as_str(), "failed" | "uncertain" | "cancelled"),
        can_cancel: matches!(m.status.as_str(), "pending" | "failed" | "uncertain"),
        status: m.status,
        status_label,
        attempts: m.attempts,
        last_error: m.last_error,
        case_id: m.case_id,
    }
}

async fn list(s: SignedIn, Query(q): Query<ListQuery>) -> Result<Response, PageError> {
    s.actor.require(Permission::ManageSettings).page(&s)?;
    let page = Page::parse(q.page, None).page(&s)?;
    let case_id = match blank(&q.case_id) {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| loopdesk_domain::DomainError::invalid("case_id", "errors.must_number"))
                .page(&s)?,
        ),
        None => None,
    };
    let f = Filter {
        status: blank(&q.status),
        channel: blank(&q.channel),
        recipient: blank(&q.recipient),
        case_id,
        ..Default::default()
    };
    let p = s.st.svc.outbox(&s.actor, &f, page).await.page(&s)?;
    let c = s.chrome("outbox");
    let rows = p.items.into_iter().map(|m| row(&c, m)).collect();
    let statuses = Status::ALL
        .iter()
        .map(|st| (st.code().to_owned(), c.t.get(&format!("notify.status.{}", st.code())).to_owned()))
        .collect();
    let pages = u32::try_from((p.total + i64::from(p.per_page) - 1) / i64::from(p.per_page)).unwrap_or(1).max(1);
    let enc = |v: &Option<String>| {
        blank(v).map(|v| v.replace('&', "%26").replace('#', "%23").replace('+', "%2B")).unwrap_or_default()
    };
    let query = format!(
        "status={}&channel={}&recipient={}&case_id={}",
        enc(&q.status),
        enc(&q.channel),
        enc(&q.recipient),
        enc(&q.case_id)
    );
    Ok(render(&List {
        c,
        rows,
        statuses,
        channels: Channel::ALL.iter().map(|ch| ch.code().to_owned()).collect(),
        status: f.status.unwrap_or_default(),
        channel: f.channel.unwrap_or_default(),
        recipient: f.recipient.unwrap_or_default(),
        case_id: case_id.map(|i| i.to_string()).unwrap_or_default(),
        query,
        page: p.page,
        pages,
        total: p.total,
    }))
}

struct TryRow {
    attempt: i64,
    node: String,
    started: String,
    finished: String,
    outcome: String,
    provider_code: String,
    excerpt: String,
}

#[derive(Template)]
#[template(path = "outbox_message.html")]
struct Detail {
    c: Chrome,
    m: Row,
    event_id: String,
    dedupe_key: String,
    body: String,
    next_attempt: String,
    tries: Vec<TryRow>,
}

async fn detail(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let (m, tries) = s.st.svc.outbox_message(&s.actor, id).await.page(&s)?;
    let c = s.chrome("outbox");
    let (event_id, dedupe_key, body, next) =
        (m.event_id.clone(), m.dedupe_key.clone(), m.body_text.clone(), c.time(&m.next_attempt_at));
    let tries = tries
        .into_iter()
        .map(|a| TryRow {
            attempt: a.attempt,
            node: a.node,
            started: c.time(&a.started_at),
            finished: c.time(&a.finished_at),
            outcome: a.outcome,
            provider_code: a.provider_code,
            excerpt: a.excerpt,
        })
        .collect();
    let m = row(&c, m);
    Ok(render(&Detail { c, m, event_id, dedupe_key, body, next_attempt: next, tries }))
}

async fn retry(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    s.st.svc.retry_message(&s.actor, id).await.page(&s)?;
    Ok(Redirect::to(&format!("/outbox/{id}")).into_response())
}

async fn cancel(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    s.st.svc.cancel_message(&s.actor, id).await.page(&s)?;
    Ok(Redirect::to(&format!("/outbox/{id}")).into_response())
}

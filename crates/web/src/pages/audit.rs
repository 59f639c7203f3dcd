//! The auditor's view of the audit trail.

use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Query};
use axum::response::Response;
use axum::routing::get;
use loopdesk_domain::page::Page;
use loopdesk_store::audit::AuditFilter;
use serde::Deserialize;

use super::{Chrome, OrPage, PageError, SignedIn, query_without_page, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit))
}

pub struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    /// Field-by-field difference: (field label, before, after); empty sides are shown as "—".
    changes: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Audit {
    c: Chrome,
    rows: Vec<Row>,
    entity: String,
    actor: String,
    verify: Option<(bool, String)>,
    page: u32,
    pages: u32,
    total: i64,
    query: String,
}

#[derive(Deserialize)]
struct AuditQuery {
    entity: Option<String>,
    entity_id: Option<String>,
    actor: Option<String>,
    verify: Option<String>,
    page: Option<u32>,
}

/// The difference of an event's snapshots, fields named by their label where one exists
/// (`case.field.*`), otherwise by their path.
fn changes(t: &crate::i18n::Tr, before: Option<&str>, after: Option<&str>) -> Vec<(String, String, String)> {
    use loopdesk_domain::diff;
    let (b, a) = (diff::parse_snapshot(before), diff::parse_snapshot(after));
    let none = || "—".to_owned();
    diff::changes(b.as_ref(), a.as_ref())
        .into_iter()
        .map(|c| {
            let key = format!("case.field.{}", c.path);
            let label = match t.get(&key) {
                l if l == key => c.path.clone(),
                l => format!("{l} ({})", c.path),
            };
            (label, c.before.unwrap_or_else(none), c.after.unwrap_or_else(none))
        })
        .collect()
}

async fn audit(s: SignedIn, OriginalUri(uri): OriginalUri, Query(q): Query<AuditQuery>) -> Result<Response, PageError> {
    let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let filter =
        AuditFilter { entity: nonempty(&q.entity), entity_id: nonempty(&q.entity_id), actor: nonempty(&q.actor) };
    let page = Page::parse(q.page, None).page(&s)?;
    let found = s.st.svc.audit_events(&s.actor, &filter, page).await.page(&s)?;
    let verify = if q.verify.is_some() {
        let r = s.st.svc.verify_audit(&s.actor, |_| {}).await.page(&s)?;
        Some(match r.broken {
            None => (true, format!("{}{}", s.tr().get("audit.intact"), r.checked)),
            Some(b) => (false, format!("{}{} — {}", s.tr().get("audit.broken"), b.seq, b.reason)),
        })
    } else {
        None
    };
    let c = s.chrome("audit");
    let pages = found.pages();
    let rows = found
        .items
        .into_iter()
        .map(|e| Row {
            seq: e.seq,
            at: c.time(&e.at),
            action: loopdesk_domain::audit::AuditAction::parse(&e.action)
                .map(|a| c.t.get(&format!("action.{}", a.code())).to_owned())
                .unwrap_or(e.action),
            actor: e.actor,
            entity: e.entity,
            entity_id: e.entity_id,
            changes: changes(&c.t, e.before.as_deref(), e.after.as_deref()),
        })
        .collect();
    Ok(render(&Audit {
        c,
        rows,
        entity: q.entity.unwrap_or_default(),
        actor: q.actor.unwrap_or_default(),
        verify,
        page: found.page,
        pages,
        total: found.total,
        query: query_without_page(&uri),
    }))
}

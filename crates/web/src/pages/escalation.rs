//! The inbox, the clock-policy editor and the service-level report.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Permission;
use loopdesk_domain::calendar::Duration;
use loopdesk_domain::case::Severity;
use loopdesk_domain::page::Page;
use loopdesk_domain::process::CASE_TYPES;
use loopdesk_domain::sla::{EscalationStep, Escalee, Policy, PolicySet, Target};
use loopdesk_service::ServiceError;
use loopdesk_service::escalation::SlaRow;
use serde::Deserialize;

use super::cases::label_of;
use super::{Chrome, FormData, OrPage, PageError, SignedIn, render};
use crate::AppState;
use crate::i18n::Tr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox))
        .route("/inbox/read", post(read_all))
        .route("/inbox/{id}/read", post(read_one))
        .route("/reports/service-levels", get(report))
        .route("/clock-policies", get(policies).post(save_policies))
}

/// What an escalation alert says, in the reader's language.
pub(crate) fn alert_text(t: &Tr, c: &Chrome, kind: &str, params: &serde_json::Value) -> String {
    let get = |k: &str| params.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let clock = {
        let name = get("clock");
        let key = format!("clock.{name}");
        let label = t.get(&key);
        if label == key { name } else { label.to_owned() }
    };
    let due = params
        .get("due_at")
        .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
        .map(|d| c.time(&d))
        .unwrap_or_default();
    let to = t.get(&format!("escalee.{}", get("to"))).to_owned();
    let level = params.get("level").and_then(|v| v.as_u64()).unwrap_or(0).to_string();
    t.get(&format!("alert.{kind}"))
        .replace("{clock}", &clock)
        .replace("{due}", &due)
        .replace("{to}", &to)
        .replace("{level}", &level)
        .replace("{number}", &get("number"))
        .replace("{department}", &get("department"))
        .replace("{due_date}", &get("due_date"))
        .replace("{channel}", &get("channel"))
        .replace("{recipient}", &get("recipient"))
}

/// Time left (or over) as people read it: `2 d 3 h`, `45 min`; working time says so.
pub(crate) fn remaining_text(t: &Tr, left: chrono::Duration, working: bool) -> String {
    let mins = left.num_minutes().abs();
    let (d, h, m) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    let mut parts = vec![];
    if d > 0 && !working {
        parts.push(format!("{d}{}", t.get("unit.days")));
    }
    let h = if working { h + d * 24 } else { h };
    if h > 0 {
        parts.push(format!("{h}{}", t.get("unit.hours")));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m}{}", t.get("unit.minutes")));
    }
    let amount = parts.join(" ");
    let amount = if working { format!("{amount}{}", t.get("clock.working_suffix")) } else { amount };
    let key = if left < chrono::Duration::zero() { "clock.over" } else { "clock.left" };
    t.get(key).replace("{}", &amount)
}

#[derive(Deserialize)]
struct InboxQuery {
    #[serde(default)]
    unread: Option<String>,
    #[serde(default)]
    page: Option<u32>,
}

struct InboxRow {
    id: i64,
    when: String,
    text: String,
    case_link: Option<(i64, String)>,
    unread: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct Inbox {
    c: Chrome,
    rows: Vec<InboxRow>,
    unread_only: bool,
    page: u32,
    pages: u32,
    total: i64,
}

async fn inbox(s: SignedIn, Query(q): Query<InboxQuery>) -> Result<Response, PageError> {
    let unread_only = q.unread.as_deref().is_some_and(|v| !v.is_empty() && v != "0");
    let page = Page::parse(q.page, None).page(&s)?;
    let p = s.st.svc.inbox(&s.actor, unread_only, page).await.page(&s)?;
    let c = s.chrome("inbox");
    let t = s.tr();
    let rows = p
        .items
        .into_iter()
        .map(|i| {
            let params: serde_json::Value = serde_json::from_str(&i.params).unwrap_or_default();
            let number = params.get("number").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let subject = params.get("subject").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            InboxRow {
                id: i.id,
                when: c.time(&i.created_at),
                text: alert_text(&t, &c, &i.kind, &params),
                case_link: i.case_id.map(|id| (id, format!("{number} {subject}"))),
                unread: i.read_at.is_none(),
            }
        })
        .collect();
    let pages = u32::try_from((p.total + i64::from(p.per_page) - 1) / i64::from(p.per_page)).unwrap_or(1).max(1);
    Ok(render(&Inbox { c, rows, unread_only, page: p.page, pages, total: p.total }))
}

async fn read_one(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    s.st.svc.mark_read(&s.actor, Some(id)).await.page(&s)?;
    Ok(Redirect::to(next_of(&f)).into_response())
}

async fn read_all(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    s.st.svc.mark_read(&s.actor, None).await.page(&s)?;
    Ok(Redirect::to("/inbox").into_response())
}

/// Where to go after marking an item read: its case, or back to the inbox (local paths only).
fn next_of(f: &FormData) -> &str {
    let n = f.get("next");
    if n.starts_with('/') && !n.starts_with("//") { n } else { "/inbox" }
}

#[derive(Deserialize)]
struct ReportQuery {
    #[serde(default)]
    year: Option<i32>,
}

struct ReportRow {
    month: String,
    department: String,
    r: SlaRow,
    rate: String,
    below: bool,
}

#[derive(Template)]
#[template(path = "sla_report.html")]
struct Report {
    c: Chrome,
    year: i32,
    target: String,
    rows: Vec<ReportRow>,
    months: Vec<ReportRow>,
    total: ReportRow,
}

fn pct(r: &SlaRow) -> (String, bool) {
    match r.reply_rate_pct() {
        Some(p) => (format!("{p:.1}%"), r.meets_target() == Some(false)),
        None => ("—".into(), false),
    }
}

async fn report(s: SignedIn, Query(q): Query<ReportQuery>) -> Result<Response, PageError> {
    let tz = s.st.svc.settings.timezone;
    let year = q.year.unwrap_or_else(|| s.st.svc.now().with_timezone(&tz).year());
    let rep = s.st.svc.sla_report(&s.actor, year).await.page(&s)?;
    let names: std::collections::BTreeMap<i64, String> =
        s.st.svc.departments(&s.actor).await.page(&s)?.into_iter().map(|d| (d.id, d.name)).collect();
    let t = s.tr();
    let month = |m: u32| t.get("report.month").replace("{}", &m.to_string());
    let row = |r: SlaRow, label: String, dept: String| {
        let (rate, below) = pct(&r);
        ReportRow { month: label, department: dept, r, rate, below }
    };
    let dept_name = |d: Option<i64>| match d {
        Some(id) => names.get(&id).cloned().unwrap_or_else(|| id.to_string()),
        None => t.get("report.no_department").to_owned(),
    };
    let rows = rep.rows.into_iter().map(|r| row(r.clone(), month(r.month), dept_name(r.department_id))).collect();
    let months = rep.months.into_iter().map(|r| row(r.clone(), month(r.month), String::new())).collect();
    let total = row(rep.total, t.get("report.total").to_owned(), String::new());
    Ok(render(&Report {
        c: s.chrome("reports"),
        year: rep.year,
        target: format!("{:.0}%", rep.target_pct),
        rows,
        months,
        total,
    }))
}

/// One target as a form row.
struct TargetRow {
    case_type: String,
    case_type_label: String,
    severity: String,
    severity_label: String,
    clock: String,
    clock_label: String,
    amount: i64,
    unit: &'static str,
    calendar: String,
    warn: u8,
}

#[derive(Template)]
#[template(path = "clock_policies.html")]
struct Policies {
    c: Chrome,
    saved_at: Option<String>,
    rows: Vec<TargetRow>,
    /// Six slots of the chain: (index, escalee code or "", hours after due).
    chain: Vec<(usize, String, u32)>,
    can_edit: bool,
    error: Option<String>,
    calendars: Vec<String>,
    case_types: Vec<(String, String)>,
    severities: Vec<(String, String)>,
    clocks: Vec<(String, String)>,
    units: Vec<(String, String)>,
    escalees: Vec<(String, String)>,
}

const UNITS: [&str; 5] = ["hours", "working_hours", "working_minutes", "working_days", "months"];
const CHAIN_SLOTS: usize = 6;
const ESCALEES: [Escalee; 4] = [Escalee::Owner, Escalee::DeptHead, Escalee::MgmtRep, Escalee::GmOffice];

fn unit_of(d: Duration) -> (i64, &'static str) {
    match d {
        Duration::Hours(n) => (n, "hours"),
        Duration::WorkingMinutes(n) if n % 60 == 0 => (n / 60, "working_hours"),
        Duration::WorkingMinutes(n) => (n, "working_minutes"),
        Duration::WorkingDays(n) => (n, "working_days"),
        Duration::Months(n) => (n, "months"),
    }
}

fn duration_of(row: usize, amount: &str, unit: &str) -> Result<Duration, DomainError> {
    let field = format!("row {row}: amount");
    let n: i64 = amount.trim().parse().map_err(|_| DomainError::invalid(field.clone(), "errors.not_whole_number"))?;
    Ok(match unit {
        "hours" => Duration::Hours(n),
        "working_hours" => Duration::working_hours(n),
        "working_minutes" => Duration::WorkingMinutes(n),
        "working_days" => Duration::WorkingDays(n),
        "months" => Duration::Months(n),
        _ => return Err(DomainError::invalid(format!("row {row}: unit"), "errors.not_unit")),
    })
}

async fn policies_page(s: &SignedIn, set: Option<PolicySet>, error: Option<String>) -> Result<Policies, PageError> {
    let rec = s.st.svc.clock_policies(&s.actor).await.page(s)?;
    let c = s.chrome("calendars");
    let l = s.locale;
    let t = s.tr();
    let clock_label = |name: &str| {
        let key = format!("clock.{name}");
        let v = t.get(&key);
        if v == key { name.to_owned() } else { v.to_owned() }
    };
    let set = set.unwrap_or(rec.set);
    let rows = set
        .policies
        .iter()
        .flat_map(|p| {
            p.targets.iter().map(|tg| {
                let (amount, unit) = unit_of(tg.duration);
                TargetRow {
                    case_type: p.case_type.clone(),
                    case_type_label: label_of::<loopdesk_domain::case::CaseType>(l, &p.case_type),
                    severity: p.severity.clone(),
                    severity_label: if p.severity == "*" {
                        t.get("policy.any_severity").to_owned()
                    } else {
                        label_of::<Severity>(l, &p.severity)
                    },
                    clock: tg.clock.clone(),
                    clock_label: clock_label(&tg.clock),
                    amount,
                    unit,
                    calendar: tg.calendar.clone(),
                    warn: tg.warn_pct,
                }
            })
        })
        .collect();
    let mut calendars: Vec<String> = s.st.svc.calendars(&s.actor).await.page(s)?.into_iter().map(|r| r.code).collect();
    for code in ["OFFICE", "24X7"] {
        if !calendars.iter().any(|c| c == code) {
            calendars.push(code.into());
        }
    }
    use loopdesk_domain::customer::Coded;
    Ok(Policies {
        saved_at: rec.saved_at.map(|a| c.time(&a)),
        rows,
        chain: (0..CHAIN_SLOTS)
            .map(|j| match set.escalation.get(j) {
                Some(e) => (j, e.to.code().to_owned(), e.after_hours),
                None => (j, String::new(), 0),
            })
            .collect(),
        can_edit: s.actor.can(Permission::ManageSettings),
        error,
        calendars,
        case_types: CASE_TYPES
            .iter()
            .map(|k| (k.to_string(), label_of::<loopdesk_domain::case::CaseType>(l, k)))
            .collect(),
        severities: std::iter::once(("*".to_owned(), t.get("policy.any_severity").to_owned()))
            .chain(Severity::ALL.iter().map(|v| (v.code().to_owned(), label_of::<Severity>(l, v.code()))))
            .collect(),
        clocks: loopdesk_domain::sla::CLOCK_NAMES.iter().map(|n| (n.to_string(), clock_label(n))).collect(),
        units: UNITS.iter().map(|u| (u.to_string(), t.get(&format!("policy.unit.{u}")).to_owned())).collect(),
        escalees: ESCALEES
            .iter()
            .map(|e| (e.code().to_owned(), t.get(&format!("escalee.{}", e.code())).to_owned()))
            .collect(),
        c,
    })
}

async fn policies(s: SignedIn) -> Result<Response, PageError> {
    Ok(render(&policies_page(&s, None, None).await?))
}

/// Rebuilds the whole set from the form: one row per target (rows marked for removal dropped,
/// the blank "new" row added when filled in), and the chain.
fn set_from_form(f: &FormData) -> Result<PolicySet, DomainError> {
    let mut policies: Vec<Policy> = vec![];
    let rows = f.get("rows").parse::<usize>().unwrap_or(0).min(500);
    let mut add = |row: usize, p: &str| -> Result<(), DomainError> {
        let g = |k: &str| f.get(&format!("{p}.{k}")).trim().to_owned();
        if g("remove") == "1" {
            return Ok(());
        }
        let warn: u8 =
            g("warn").parse().map_err(|_| DomainError::invalid(format!("row {row}: warn"), "errors.not_percentage"))?;
        let target = Target {
            clock: g("clock"),
            duration: duration_of(row, &g("amount"), &g("unit"))?,
            calendar: g("calendar"),
            warn_pct: warn,
        };
        let (case_type, severity) = (g("case_type"), g("severity"));
        match policies.iter_mut().find(|p| p.case_type == case_type && p.severity == severity) {
            Some(p) => p.targets.push(target),
            None => policies.push(Policy { case_type, severity, targets: vec![target] }),
        }
        Ok(())
    };
    for i in 0..rows {
        add(i + 1, &format!("t{i}"))?;
    }
    if !f.get("new.clock").trim().is_empty() && !f.get("new.amount").trim().is_empty() {
        add(rows + 1, "new")?;
    }
    let mut escalation = vec![];
    for j in 0..CHAIN_SLOTS {
        let to = f.get(&format!("e{j}.to")).trim().to_owned();
        if to.is_empty() {
            continue;
        }
        let to = ESCALEES
            .into_iter()
            .find(|e| e.code() == to)
            .ok_or_else(|| DomainError::invalid(format!("escalation[{j}].to"), "errors.not_step_chain"))?;
        let after_hours = f.get(&format!("e{j}.after")).trim().parse().map_err(|_| {
            DomainError::invalid(format!("escalation[{j}].after_hours"), "errors.not_whole_number_hours")
        })?;
        escalation.push(EscalationStep { to, after_hours });
    }
    Ok(PolicySet { policies, escalation })
}

async fn save_policies(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let set = match set_from_form(&f) {
        Ok(set) => set,
        Err(e) => {
            let page = policies_page(&s, None, Some(s.tr().error(&e))).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
    };
    match s.st.svc.put_clock_policies(&s.actor, set.clone()).await {
        Ok(_) => Ok(Redirect::to("/clock-policies").into_response()),
        Err(ServiceError::Domain(e @ DomainError::Invalid { .. })) => {
            let page = policies_page(&s, Some(set), Some(s.tr().error(&e))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e).page(&s),
    }
}

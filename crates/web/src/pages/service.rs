//! After-sales service pages (issue #19): service orders (list, new, the phone-sized order page
//! with every step's form, the customer's sign-off, the printable 售后服务报告单 JL-7.5-02-3), the
//! technician's day and week list, spare-part resends (备件补发通知单 JL-7.5-02-1, printable) and
//! the warranty spare-parts ledger (三包备件登记台账 JL-7.5-02-2: page, print, CSV/XLSX).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::customer::format_cny;
use loopdesk_domain::sanbao::{VoidReason, citation};
use loopdesk_domain::service_order::{DIAGNOSES, KINDS, LINE_KINDS, PRIORITIES, definition};
use loopdesk_domain::spare_parts::{FATES, MOVEMENTS, PAYERS};
use loopdesk_service::service_orders::{DiagnosisInput, LineInput, OrderInput, OrderView, SignOffInput};
use loopdesk_service::spare_parts::{LedgerInput, ResendInput};
use loopdesk_service::tabular;
use loopdesk_store::service_orders::ServiceOrder;
use loopdesk_store::spare_parts::{LedgerEntry, Resend};
use serde::Deserialize;

use super::{Chrome, FormData, OrPage, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/service-orders", get(list).post(create))
        .route("/service-orders/new", get(new_form))
        .route("/service-orders/{id}", get(detail))
        .route("/service-orders/{id}/step", post(step))
        .route("/service-orders/{id}/lines", post(add_line))
        .route("/service-orders/{id}/print", get(print))
        .route("/technician", get(technician))
        .route("/spare-parts", get(resends).post(create_resend))
        .route("/spare-parts/{id}/decide", post(decide))
        .route("/spare-parts/{id}/ship", post(ship))
        .route("/spare-parts/{id}/print", get(resend_print))
        .route("/warranty-ledger", get(ledger).post(append_ledger))
        .route("/warranty-ledger/export", get(ledger_export))
        .route("/assets/signature.js", get(signature_js))
}

async fn signature_js() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../assets/signature.js"))
}

/// (code, label) pairs of a coded list, labels from `service.{list}.{code}`.
fn options(c: &Chrome, list: &str, codes: &[&str]) -> Vec<(String, String)> {
    codes.iter().map(|k| ((*k).to_owned(), c.t.get(&format!("service.{list}.{k}")).to_owned())).collect()
}

fn label(c: &Chrome, list: &str, code: &str) -> String {
    if code.is_empty() { String::new() } else { c.t.get(&format!("service.{list}.{code}")).to_owned() }
}

fn when(c: &Chrome, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| c.time(&t)).unwrap_or_default()
}

/// A `datetime-local` value (organisation's zone) as UTC.
fn local_time(c: &Chrome, field: &str, v: &str) -> Result<DateTime<Utc>, DomainError> {
    let naive = chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M")
        .map_err(|_| DomainError::invalid(field, "service.err.datetime"))?;
    c.tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| DomainError::invalid(field, "service.err.datetime"))
}

fn num(field: &str, v: &str) -> Result<i64, DomainError> {
    v.trim().parse::<i64>().map_err(|_| DomainError::invalid(field, "service.err.number"))
}

fn opt_num(field: &str, v: &str) -> Result<Option<i64>, DomainError> {
    if v.trim().is_empty() { Ok(None) } else { num(field, v).map(Some) }
}

/// Yuan typed as `120.50` → fen.
fn fen(field: &str, v: &str) -> Result<i64, DomainError> {
    let t = v.trim();
    if t.is_empty() {
        return Ok(0);
    }
    let (y, f) = t.split_once('.').unwrap_or((t, ""));
    if f.len() > 2
        || y.is_empty()
        || !y.bytes().all(|b| b.is_ascii_digit())
        || !f.bytes().all(|b| b.is_ascii_digit())
        || y.len() > 12
    {
        return Err(DomainError::invalid(field, "service.err.money"));
    }
    let y: i64 = y.parse().map_err(|_| DomainError::invalid(field, "service.err.money"))?;
    let f: i64 = format!("{f:0<2}").parse().unwrap_or(0);
    Ok(y * 100 + f)
}

fn date(field: &str, v: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| DomainError::invalid(field, "service.err.date"))
}

struct OrderRow {
    id: i64,
    number: String,
    state: String,
    kind: String,
    priority: String,
    planned: String,
    fault: String,
    onsite_due: String,
}

fn order_row(c: &Chrome, o: &ServiceOrder) -> OrderRow {
    let def = definition();
    OrderRow {
        id: o.id,
        number: o.number.clone(),
        state: state_label(c, &def, &o.state),
        kind: label(c, "kind", &o.kind),
        priority: label(c, "priority", &o.priority),
        planned: when(c, o.planned_start),
        fault: o.reported_fault.chars().take(80).collect(),
        onsite_due: when(c, o.onsite_due_at.filter(|_| o.arrived_at.is_none())),
    }
}

fn state_label(c: &Chrome, def: &loopdesk_domain::process::ProcessDefinition, code: &str) -> String {
    def.state(code)
        .map(|s| if c.t.code() == "zh-CN" { s.zh.clone() } else { s.en.clone() })
        .unwrap_or_else(|| code.to_owned())
}

#[derive(Template)]
#[template(path = "service_orders.html")]
struct ListPage {
    c: Chrome,
    title: String,
    rows: Vec<OrderRow>,
    can_create: bool,
}

async fn list(s: SignedIn) -> Result<Response, PageError> {
    let rows = s.st.svc.service_orders(&s.actor, None, None, None).await.page(&s)?;
    let c = s.chrome("service");
    let rows = rows.iter().map(|o| order_row(&c, o)).collect();
    let title = c.t.get("service.orders.title").to_owned();
    Ok(render(&ListPage { c, title, rows, can_create: true }))
}

#[derive(Deserialize)]
struct TechQuery {
    #[serde(default)]
    week: Option<String>,
}

/// The technician's own orders planned today (or this week with `?week=1`), in planned order.
async fn technician(s: SignedIn, Query(q): Query<TechQuery>) -> Result<Response, PageError> {
    let c = s.chrome("technician");
    let today = s.st.svc.now().with_timezone(&c.tz).date_naive();
    let (from, days) = if q.week.is_some() {
        (today - Duration::days(i64::from(today.weekday().num_days_from_monday())), 7)
    } else {
        (today, 1)
    };
    let start =
        |d: NaiveDate| c.tz.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest().map(|t| t.with_timezone(&Utc));
    let (Some(a), Some(b)) = (start(from), start(from + Duration::days(days))) else {
        return Err(PageError::Service(DomainError::invalid("week", "service.err.date").into(), s.locale));
    };
    let rows = s.st.svc.service_orders(&s.actor, s.actor.user_id, None, Some((a, b))).await.page(&s)?;
    let rows = rows.iter().map(|o| order_row(&c, o)).collect();
    let title =
        format!("{} {}", c.t.get(if q.week.is_some() { "service.tech.week" } else { "service.tech.today" }), from);
    Ok(render(&ListPage { c, title, rows, can_create: false }))
}

#[derive(Template)]
#[template(path = "service_order_form.html")]
struct NewPage {
    c: Chrome,
    case_id: String,
    kinds: Vec<(String, String)>,
    priorities: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    case_id: Option<i64>,
}

async fn new_form(s: SignedIn, Query(q): Query<NewQuery>) -> Result<Response, PageError> {
    let c = s.chrome("service");
    let kinds = options(&c, "kind", &KINDS);
    let priorities = options(&c, "priority", &PRIORITIES);
    Ok(render(&NewPage { c, case_id: q.case_id.map(|i| i.to_string()).unwrap_or_default(), kinds, priorities }))
}

async fn create(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let i = OrderInput {
        case_id: opt_num("case_id", f.get("case_id")).page(&s)?,
        customer_id: opt_num("customer_id", f.get("customer_id")).page(&s)?,
        asset_id: opt_num("asset_id", f.get("asset_id")).page(&s)?,
        serial: f.get("serial").to_owned(),
        kind: f.get("kind").to_owned(),
        priority: f.opt("priority").unwrap_or_else(|| "normal".into()),
        reported_fault: f.get("reported_fault").to_owned(),
        fault_task: f.get("fault_task").to_owned(),
        on_site: f.get("on_site") == "yes",
        ..Default::default()
    };
    let o = s.st.svc.create_service_order(&s.actor, &i).await.page(&s)?;
    Ok(Redirect::to(&format!("/service-orders/{}", o.id)).into_response())
}

struct Fact {
    label: String,
    value: String,
}

struct LineRow {
    kind: String,
    description: String,
    part_code: String,
    quantity: i32,
    hours: String,
    serials: String,
    fate: String,
    payer: String,
    cost: String,
}

struct Basis {
    citation: String,
    remedies: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "service_order.html")]
struct DetailPage {
    c: Chrome,
    o: ServiceOrder,
    state: String,
    facts: Vec<Fact>,
    lines: Vec<LineRow>,
    total: String,
    in_warranty: Option<bool>,
    remedies: Vec<(String, String)>,
    period_end: String,
    bases: Vec<Basis>,
    steps: Vec<String>,
    technicians: Vec<(i64, String)>,
    diagnoses: Vec<(String, String)>,
    voids: Vec<(String, String)>,
    line_kinds: Vec<(String, String)>,
    payers: Vec<(String, String)>,
    fates: Vec<(String, String)>,
    resends: Vec<ResendRow>,
    can_line: bool,
    needs_report: bool,
    svg: String,
}

fn line_row(c: &Chrome, l: &loopdesk_store::service_orders::OrderLine) -> LineRow {
    LineRow {
        kind: label(c, "line", &l.kind),
        description: l.description.clone(),
        part_code: l.part_code.clone(),
        quantity: l.quantity,
        hours: if l.hours_tenths > 0 {
            format!("{}.{}", l.hours_tenths / 10, l.hours_tenths % 10)
        } else {
            String::new()
        },
        serials: [l.faulty_serial.as_str(), l.replacement_serial.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" → "),
        fate: label(c, "fate", &l.fate),
        payer: label(c, "payer", &l.payer),
        cost: format_cny(l.cost_fen),
    }
}

fn facts(c: &Chrome, v: &OrderView) -> Vec<Fact> {
    let o = &v.order;
    let mut f = vec![];
    let mut add = |k: &str, val: String| {
        if !val.is_empty() {
            f.push(Fact { label: c.t.get(k).to_owned(), value: val });
        }
    };
    add("service.f.case", v.case_number.clone());
    add("service.f.customer", v.customer_name.clone());
    add("service.f.serial", o.serial.clone());
    add("service.f.kind", label(c, "kind", &o.kind));
    add("service.f.priority", label(c, "priority", &o.priority));
    add("service.f.fault", o.reported_fault.clone());
    add("service.f.fault_task", o.fault_task.clone());
    add("service.f.technician", v.technician_name.clone());
    add(
        "service.f.planned",
        [when(c, o.planned_start), when(c, o.planned_end)].join(" – ").trim_matches([' ', '–']).to_owned(),
    );
    add("service.f.onsite_due", when(c, o.onsite_due_at));
    add("service.f.arrived", when(c, o.arrived_at));
    add("service.f.departed", when(c, o.departed_at));
    add("service.f.diagnosis", label(c, "diagnosis", &o.diagnosis));
    add("service.f.failure_code", o.failure_code.clone());
    add("service.f.cause_code", o.cause_code.clone());
    add("service.f.invoice_date", o.invoice_date.map(|d| d.to_string()).unwrap_or_default());
    add("service.f.remedy", label(c, "remedy", &o.remedy));
    add(
        "service.f.quote",
        o.quote_fen.map(format_cny).map(|q| format!("{q} · {}", label(c, "quote", &o.quote_state))).unwrap_or_default(),
    );
    add("service.f.work_done", o.work_done.clone());
    add("service.f.report_due", when(c, o.report_due_at.filter(|_| o.report_at.is_none())));
    add("service.f.report", o.report_text.clone());
    add(
        "service.f.signoff",
        if o.signoff_name.is_empty() {
            String::new()
        } else {
            format!("{} · {} · {}", o.signoff_name, when(c, o.signoff_at), label(c, "signoff", &o.signoff_method))
        },
    );
    add("service.f.rating", o.rating.map(|r| format!("{r}/5 {}", o.rating_comment)).unwrap_or_default());
    f
}

async fn detail(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let v = s.st.svc.service_order(&s.actor, id).await.page(&s)?;
    let technicians = s.st.svc.technicians(&s.actor).await.page(&s)?;
    let resends = s.st.svc.resends(&s.actor, None, Some(id)).await.unwrap_or_default();
    let c = s.chrome("service");
    let def = definition();
    let steps: Vec<String> = def.from_state(&v.order.state).map(|t| t.code.clone()).collect();
    let d = v.decision.clone();
    let total = format_cny(v.lines.iter().map(|l| l.cost_fen).sum());
    let page = DetailPage {
        state: state_label(&c, &def, &v.order.state),
        facts: facts(&c, &v),
        lines: v.lines.iter().map(|l| line_row(&c, l)).collect(),
        total,
        in_warranty: d.as_ref().map(|d| d.in_warranty),
        remedies: d
            .as_ref()
            .map(|d| d.remedies.iter().map(|r| (r.code().to_owned(), label(&c, "remedy", r.code()))).collect())
            .unwrap_or_default(),
        period_end: d.as_ref().map(|d| d.period_end.to_string()).unwrap_or_default(),
        bases: d
            .as_ref()
            .map(|d| {
                d.articles
                    .iter()
                    .map(|b| Basis {
                        citation: citation(b),
                        remedies: b
                            .remedies
                            .iter()
                            .map(|r| label(&c, "remedy", r.code()))
                            .collect::<Vec<_>>()
                            .join("、"),
                        reason: reason_text(&c, &b.reason),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        steps,
        technicians,
        diagnoses: options(&c, "diagnosis", &DIAGNOSES),
        voids: options(&c, "void", &VoidReason::ALL.map(|v| v.code())),
        line_kinds: options(&c, "line", &LINE_KINDS),
        payers: options(&c, "payer", &PAYERS),
        fates: options(&c, "fate", &FATES),
        resends: resends.iter().map(|r| resend_row(&c, r)).collect(),
        can_line: matches!(v.order.state.as_str(), "on_site" | "diagnosed" | "in_repair" | "awaiting_quote"),
        needs_report: v.order.completed_at.is_some() && v.order.report_at.is_none(),
        svg: def.to_svg(Some(&v.order.state), c.t.code() == "zh-CN"),
        o: v.order,
        c,
    };
    Ok(render(&page))
}

/// A reason `key|name=value…` in the reader's language.
fn reason_text(c: &Chrome, reason: &str) -> String {
    let mut parts = reason.split('|');
    let key = parts.next().unwrap_or("");
    let mut text = c.t.get(key).to_owned();
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            text = text.replace(&format!("{{{k}}}"), v);
        }
    }
    text
}

async fn step(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let c = s.chrome("service");
    let svc = &s.st.svc;
    let a = &s.actor;
    let v = num("version", f.get("version")).page(&s)?;
    match f.get("action") {
        "schedule" => {
            let t = num("technician_id", f.get("technician_id")).page(&s)?;
            let start = local_time(&c, "planned_start", f.get("planned_start")).page(&s)?;
            let end = local_time(&c, "planned_end", f.get("planned_end")).page(&s)?;
            svc.schedule_service_order(a, id, v, t, start, end).await.page(&s)?;
        }
        "arrive" => {
            svc.arrive(a, id, v).await.page(&s)?;
        }
        "diagnose" => {
            let void =
                f.all("void").iter().filter_map(|x| VoidReason::ALL.into_iter().find(|r| r.code() == x)).collect();
            let invoice = match f.opt("invoice_date") {
                Some(d) => Some(date("invoice_date", &d).page(&s)?),
                None => None,
            };
            let d = DiagnosisInput {
                diagnosis: f.get("diagnosis").to_owned(),
                failure_code: f.get("failure_code").to_owned(),
                cause_code: f.get("cause_code").to_owned(),
                invoice_date: invoice,
                main_part: f.get("main_part") == "yes",
                void,
            };
            svc.diagnose(a, id, v, &d).await.page(&s)?;
        }
        "quote" => {
            svc.quote(a, id, v, fen("quote", f.get("quote")).page(&s)?).await.page(&s)?;
        }
        "accept_quote" | "reject_quote" => {
            svc.decide_quote(a, id, v, f.get("action") == "accept_quote", f.get("name")).await.page(&s)?;
        }
        "start_repair" => {
            svc.start_repair(a, id, v, f.get("remedy")).await.page(&s)?;
        }
        "complete" => {
            svc.complete_service_order(a, id, v, f.get("work_done")).await.page(&s)?;
        }
        "sign_off" => {
            let rating = num("rating", f.get("rating")).page(&s)?;
            let so = SignOffInput {
                name: f.get("name").to_owned(),
                signature: f.get("signature").to_owned(),
                rating,
                comment: f.get("comment").to_owned(),
            };
            svc.sign_off(a, id, v, &so).await.page(&s)?;
        }
        "report" => {
            svc.submit_service_report(a, id, v, f.get("report_text")).await.page(&s)?;
        }
        "close" | "cancel" => {
            svc.end_service_order(a, id, v, f.get("action")).await.page(&s)?;
        }
        _ => {
            return Err(PageError::Service(
                DomainError::invalid("action", "service.err.unknown_action").into(),
                s.locale,
            ));
        }
    }
    Ok(Redirect::to(&format!("/service-orders/{id}")).into_response())
}

async fn add_line(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let hours = f.get("hours").trim().to_owned();
    let hours_tenths = if hours.is_empty() {
        0
    } else {
        let h: f64 = hours.parse().map_err(|_| DomainError::invalid("hours", "service.err.number")).page(&s)?;
        if !(0.0..=1000.0).contains(&h) {
            return Err(PageError::Service(
                DomainError::invalid("hours", "service.err.range|min=0|max=1000").into(),
                s.locale,
            ));
        }
        (h * 10.0).round() as i64
    };
    let l = LineInput {
        kind: f.get("kind").to_owned(),
        description: f.get("description").to_owned(),
        part_code: f.get("part_code").to_owned(),
        quantity: opt_num("quantity", f.get("quantity")).page(&s)?.unwrap_or(1),
        hours_tenths,
        faulty_serial: f.get("faulty_serial").to_owned(),
        replacement_serial: f.get("replacement_serial").to_owned(),
        fate: f.get("fate").to_owned(),
        payer: f.get("payer").to_owned(),
        cost_fen: fen("cost", f.get("cost")).page(&s)?,
        supplier: f.get("supplier").to_owned(),
    };
    s.st.svc.add_order_line(&s.actor, id, &l).await.page(&s)?;
    Ok(Redirect::to(&format!("/service-orders/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "service_order_print.html")]
struct PrintPage {
    c: Chrome,
    o: ServiceOrder,
    facts: Vec<Fact>,
    lines: Vec<LineRow>,
    total: String,
    bases: Vec<Basis>,
}

async fn print(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let v = s.st.svc.service_order(&s.actor, id).await.page(&s)?;
    let c = s.chrome("service");
    let bases = v
        .decision
        .as_ref()
        .map(|d| {
            d.articles
                .iter()
                .map(|b| Basis {
                    citation: citation(b),
                    remedies: b.remedies.iter().map(|r| label(&c, "remedy", r.code())).collect::<Vec<_>>().join("、"),
                    reason: reason_text(&c, &b.reason),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(render(&PrintPage {
        facts: facts(&c, &v),
        lines: v.lines.iter().map(|l| line_row(&c, l)).collect(),
        total: format_cny(v.lines.iter().map(|l| l.cost_fen).sum()),
        bases,
        o: v.order,
        c,
    }))
}

struct ResendRow {
    id: i64,
    version: i64,
    number: String,
    state: String,
    state_code: String,
    part: String,
    quantity: i32,
    receiver: String,
    shipped: String,
    order_id: Option<i64>,
}

fn resend_row(c: &Chrome, r: &Resend) -> ResendRow {
    ResendRow {
        id: r.id,
        version: r.version,
        number: r.number.clone(),
        state: label(c, "resend", &r.state),
        state_code: r.state.clone(),
        part: format!("{} {} {}", r.part_code, r.part_name, r.spec).trim().to_owned(),
        quantity: r.quantity,
        receiver: r.receiver_name.clone(),
        shipped: [r.ship_date.map(|d| d.to_string()).unwrap_or_default(), r.carrier.clone(), r.tracking_no.clone()]
            .iter()
            .filter(|x| !x.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        order_id: r.service_order_id,
    }
}

#[derive(Template)]
#[template(path = "spare_parts.html")]
struct ResendsPage {
    c: Chrome,
    rows: Vec<ResendRow>,
    payers: Vec<(String, String)>,
    order_id: String,
    can_decide: bool,
    today: String,
}

#[derive(Deserialize)]
struct ResendQuery {
    #[serde(default)]
    order: Option<i64>,
}

async fn resends(s: SignedIn, Query(q): Query<ResendQuery>) -> Result<Response, PageError> {
    let rows = s.st.svc.resends(&s.actor, None, None).await.page(&s)?;
    let c = s.chrome("spare_parts");
    let rows = rows.iter().map(|r| resend_row(&c, r)).collect();
    let payers = options(&c, "payer", &PAYERS);
    let can_decide = s
        .actor
        .roles
        .iter()
        .any(|r| matches!(r, loopdesk_domain::access::Role::MgmtRep | loopdesk_domain::access::Role::Admin));
    let today = s.st.svc.now().with_timezone(&c.tz).date_naive().to_string();
    Ok(render(&ResendsPage {
        c,
        rows,
        payers,
        order_id: q.order.map(|o| o.to_string()).unwrap_or_default(),
        can_decide,
        today,
    }))
}

async fn create_resend(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let i = ResendInput {
        service_order_id: opt_num("service_order_id", f.get("service_order_id")).page(&s)?,
        customer_name: f.get("customer_name").to_owned(),
        asset_serial: f.get("asset_serial").to_owned(),
        product_code: f.get("product_code").to_owned(),
        part_code: f.get("part_code").to_owned(),
        part_name: f.get("part_name").to_owned(),
        spec: f.get("spec").to_owned(),
        quantity: num("quantity", f.get("quantity")).page(&s)?,
        unit_cost_fen: fen("unit_cost", f.get("unit_cost")).page(&s)?,
        payer: f.get("payer").to_owned(),
        cause: f.get("cause").to_owned(),
        supplier: f.get("supplier").to_owned(),
        ship_place: f.get("ship_place").to_owned(),
        receiver_name: f.get("receiver_name").to_owned(),
        receiver_phone: f.get("receiver_phone").to_owned(),
        receiver_address: f.get("receiver_address").to_owned(),
        reason: f.get("reason").to_owned(),
        ..Default::default()
    };
    s.st.svc.request_resend(&s.actor, &i).await.page(&s)?;
    Ok(Redirect::to("/spare-parts").into_response())
}

async fn decide(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let v = num("version", f.get("version")).page(&s)?;
    s.st.svc.decide_resend(&s.actor, id, v, f.get("decision") == "approve", f.get("note")).await.page(&s)?;
    Ok(Redirect::to("/spare-parts").into_response())
}

async fn ship(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let v = num("version", f.get("version")).page(&s)?;
    let d = date("ship_date", f.get("ship_date")).page(&s)?;
    s.st.svc.ship_resend(&s.actor, id, v, d, f.get("carrier"), f.get("tracking_no")).await.page(&s)?;
    Ok(Redirect::to("/spare-parts").into_response())
}

#[derive(Template)]
#[template(path = "resend_print.html")]
struct ResendPrint {
    c: Chrome,
    r: Resend,
    state: String,
    cost: String,
    decided: String,
}

async fn resend_print(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let r = s.st.svc.resend(&s.actor, id).await.page(&s)?;
    let c = s.chrome("spare_parts");
    let state = label(&c, "resend", &r.state);
    let cost = format_cny(r.unit_cost_fen * i64::from(r.quantity));
    let decided = when(&c, r.decided_at);
    Ok(render(&ResendPrint { c, r, state, cost, decided }))
}

#[derive(Deserialize)]
struct LedgerQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    print: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

struct LedgerRow {
    date: String,
    movement: String,
    part: String,
    quantity: i32,
    cost: String,
    order: String,
    resend: String,
    customer: String,
    serial: String,
    supplier: String,
    note: String,
}

#[derive(Template)]
#[template(path = "warranty_ledger.html")]
struct LedgerPage {
    c: Chrome,
    rows: Vec<LedgerRow>,
    from: String,
    to: String,
    movements: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "warranty_ledger_print.html")]
struct LedgerPrint {
    c: Chrome,
    rows: Vec<LedgerRow>,
    from: String,
    to: String,
}

fn range(s: &SignedIn, q: &LedgerQuery) -> Result<(NaiveDate, NaiveDate), PageError> {
    let today = s.st.svc.now().with_timezone(&s.st.svc.settings.timezone).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let from = match q.from.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(v) => date("from", v).page(s)?,
        None => first,
    };
    let to = match q.to.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(v) => date("to", v).page(s)?,
        None => today,
    };
    Ok((from, to))
}

fn ledger_row(c: &Chrome, l: LedgerEntry) -> LedgerRow {
    LedgerRow {
        date: l.entry_date.to_string(),
        movement: label(c, "movement", &l.movement),
        part: format!("{} {} {}", l.part_code, l.part_name, l.spec).trim().to_owned(),
        quantity: l.quantity,
        cost: format_cny(l.cost_fen),
        order: l.service_order_id.map(|i| i.to_string()).unwrap_or_default(),
        resend: l.resend_id.map(|i| i.to_string()).unwrap_or_default(),
        customer: l.customer_name,
        serial: l.asset_serial,
        supplier: l.supplier,
        note: l.note,
    }
}

async fn ledger(s: SignedIn, Query(q): Query<LedgerQuery>) -> Result<Response, PageError> {
    let (from, to) = range(&s, &q)?;
    let lines = s.st.svc.ledger(&s.actor, from, to).await.page(&s)?;
    let c = s.chrome("ledger");
    let rows = lines.into_iter().map(|l| ledger_row(&c, l)).collect();
    if q.print.is_some() {
        return Ok(render(&LedgerPrint { c, rows, from: from.to_string(), to: to.to_string() }));
    }
    let movements = options(&c, "movement", &MOVEMENTS);
    Ok(render(&LedgerPage { c, rows, from: from.to_string(), to: to.to_string(), movements }))
}

async fn ledger_export(s: SignedIn, Query(q): Query<LedgerQuery>) -> Result<Response, PageError> {
    let (from, to) = range(&s, &q)?;
    let rows = s.st.svc.ledger_rows(&s.actor, from, to).await.page(&s)?;
    let disposition = |ext: &str| format!("attachment; filename=\"warranty-parts-ledger-{from}-{to}.{ext}\"");
    match q.format.as_deref().unwrap_or("xlsx") {
        "csv" => {
            let body = tabular::write_csv(&rows).page(&s)?;
            Ok((
                [
                    (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (axum::http::header::CONTENT_DISPOSITION, disposition("csv")),
                ],
                body,
            )
                .into_response())
        }
        _ => {
            let body = tabular::write_xlsx("三包备件登记台账", &rows).page(&s)?;
            Ok((
                [
                    (CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
                    (axum::http::header::CONTENT_DISPOSITION, disposition("xlsx")),
                ],
                body,
            )
                .into_response())
        }
    }
}

async fn append_ledger(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let l = LedgerInput {
        entry_date: date("entry_date", f.get("entry_date")).page(&s)?,
        movement: f.get("movement").to_owned(),
        part_code: f.get("part_code").to_owned(),
        part_name: f.get("part_name").to_owned(),
        spec: f.get("spec").to_owned(),
        quantity: num("quantity", f.get("quantity")).page(&s)?,
        cost_fen: fen("cost", f.get("cost")).page(&s)?,
        service_order_id: opt_num("service_order_id", f.get("service_order_id")).page(&s)?,
        resend_id: None,
        customer_name: f.get("customer_name").to_owned(),
        asset_serial: f.get("asset_serial").to_owned(),
        supplier: f.get("supplier").to_owned(),
        note: f.get("note").to_owned(),
    };
    s.st.svc.append_ledger(&s.actor, &l).await.page(&s)?;
    Ok(Redirect::to("/warranty-ledger").into_response())
}

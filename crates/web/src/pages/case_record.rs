//! Pages about a case's record after intake (issue #14): the correction form, the customer's
//! acknowledgement slip with its tracking code and QR code, printable 信息传递单 and 会议纪要, the
//! case register download, and the grievances an employee filed.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loopdesk_domain::DomainError;
use loopdesk_domain::case::CaseType;
use loopdesk_domain::case_record::InjuryAnswer;
use loopdesk_domain::customer::Coded;
use loopdesk_domain::locale::Locale;
use loopdesk_service::ServiceError;
use loopdesk_service::case_record::{CaseEdit, task_numbers};
use loopdesk_store::cases::Case;
use serde::Deserialize;

use super::cases::{ListQuery, label_of, list_filter};
use super::{Chrome, FormData, OrPage, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/edit", get(edit_form).post(edit))
        .route("/cases/{id}/tracking-code", post(reissue))
        .route("/cases/{id}/tasks/{task_id}/print", get(task_print))
        .route("/cases/{id}/meetings/print", get(meetings_print))
        .route("/cases/register", get(register))
        .route("/my/grievances", get(my_grievances))
        .route("/my/grievances/{id}", get(my_grievance))
}

#[derive(Template)]
#[template(path = "case_edit.html")]
struct EditPage {
    c: Chrome,
    k: Case,
    error: Option<String>,
    /// (code, label) of the category tree, indented by level.
    categories: Vec<(String, String)>,
    /// (username, display name) of active users.
    users: Vec<(String, String)>,
    owner: String,
    ship_date: String,
    customer_id: String,
    contact_id: String,
    injury: String,
    injuries: Vec<(String, String)>,
    /// The form's values after a refusal, so nothing typed is lost.
    f: BTreeMap<String, String>,
}

impl EditPage {
    /// The value a field shows: what was typed, else the stored one.
    fn value(&self, name: &str, stored: &str) -> String {
        self.f.get(name).cloned().unwrap_or_else(|| stored.to_owned())
    }
}

fn injury_of(k: &Case) -> String {
    serde_json::from_str::<serde_json::Value>(&k.fields)
        .ok()
        .and_then(|v| v.get("serious_injury").and_then(|x| x.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// The serious-injury answer as the case page shows it: the answer, who recorded it and when.
pub(super) fn injury_text(s: &SignedIn, k: &Case) -> String {
    let v: serde_json::Value = serde_json::from_str(&k.fields).unwrap_or_default();
    match v.get("serious_injury").and_then(|x| x.as_str()) {
        Some(code) => {
            let by = v.get("serious_injury_by").and_then(|x| x.as_str()).unwrap_or("");
            format!("{} ({} {by})", label_of::<InjuryAnswer>(s.locale, code), s.tr().get("cases.injury_by"))
        }
        None if loopdesk_domain::case_record::injury_question_applies(&k.case_type, names_product(k)) => {
            s.tr().get("cases.injury_unanswered").to_owned()
        }
        None => String::new(),
    }
}

fn names_product(k: &Case) -> bool {
    k.product_id.is_some() || !k.product_code.is_empty() || !k.model.is_empty() || !k.serial.is_empty()
}

/// Whether the assessment form must ask the serious-injury question.
pub(super) fn injury_unanswered(k: &Case) -> bool {
    loopdesk_domain::case_record::injury_question_applies(&k.case_type, names_product(k)) && injury_of(k).is_empty()
}

async fn edit_page(
    s: &SignedIn,
    id: i64,
    error: Option<String>,
    f: BTreeMap<String, String>,
) -> Result<EditPage, PageError> {
    let k = s.st.svc.case(&s.actor, id).await.page(s)?;
    let zh = s.locale != Locale::En;
    let categories =
        s.st.svc
            .categories(&s.actor)
            .await
            .page(s)?
            .into_iter()
            .map(|x| {
                let indent = if x.parent_id.is_some() { "　" } else { "" };
                (x.code, format!("{indent}{}", if zh { x.zh } else { x.en }))
            })
            .collect();
    let users =
        s.st.svc
            .users(
                &loopdesk_domain::access::Actor::system(),
                Default::default(),
                loopdesk_domain::page::Page { page: 1, per_page: 500 },
            )
            .await
            .page(s)?
            .items
            .into_iter()
            .filter(|u| u.active)
            .map(|u| (u.username, u.display_name))
            .collect::<Vec<_>>();
    let owner = match k.owner_id {
        Some(o) => {
            s.st.svc.user(&loopdesk_domain::access::Actor::system(), o).await.map(|u| u.username).unwrap_or_default()
        }
        None => String::new(),
    };
    Ok(EditPage {
        c: s.chrome("cases"),
        categories,
        users,
        owner,
        ship_date: k.ship_date.map(|d| d.to_string()).unwrap_or_default(),
        customer_id: k.customer_id.map(|v| v.to_string()).unwrap_or_default(),
        contact_id: k.contact_id.map(|v| v.to_string()).unwrap_or_default(),
        injury: injury_of(&k),
        injuries: InjuryAnswer::ALL
            .iter()
            .map(|a| (a.code().to_owned(), label_of::<InjuryAnswer>(s.locale, a.code())))
            .collect(),
        error,
        f,
        k,
    })
}

async fn edit_form(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    Ok(render(&edit_page(&s, id, None, BTreeMap::new()).await?))
}

/// The correction form's fields: each sent field is a correction; an unchanged one changes nothing.
async fn edit(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let typed: BTreeMap<String, String> = f.0.iter().filter(|(k, _)| k != "_csrf").cloned().collect();
    let r = async {
        let version =
            f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2"))?;
        let id_of = |name: &str| -> Result<Option<i64>, DomainError> {
            match f.opt(name) {
                Some(v) => v.parse::<i64>().map(Some).map_err(|_| DomainError::invalid(name, "errors.not_number_2")),
                None => Ok(None),
            }
        };
        let text = |name: &str| typed.get(name).cloned();
        let edit = CaseEdit {
            customer_id: id_of("customer_id")?,
            contact_id: id_of("contact_id")?,
            contact_name: text("contact_name"),
            contact_phone: text("contact_phone"),
            contact_email: text("contact_email"),
            product_code: text("product_code"),
            model: text("model"),
            serial: text("serial"),
            ship_date: text("ship_date"),
            category: text("category"),
            subject: text("subject"),
            description: text("description"),
            owner: text("owner"),
            serious_injury: text("serious_injury").filter(|v| !v.trim().is_empty()),
        };
        s.st.svc.edit_case(&s.actor, id, version, &edit).await
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(ServiceError::Domain(e @ (DomainError::Invalid { .. } | DomainError::Conflict { .. }))) => {
            let status = if matches!(e, DomainError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut typed = typed;
            // After a stale version the form shows the case as it is now, with the refusal.
            if status == StatusCode::CONFLICT {
                typed.clear();
            }
            Ok((status, render(&edit_page(&s, id, Some(s.tr().error(&e)), typed).await?)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

#[derive(Template)]
#[template(path = "case_slip.html")]
struct Slip {
    c: Chrome,
    k: Case,
    kind: String,
    received: String,
    code: String,
    track_url: String,
    /// The QR code of `track_url`, as SVG markup we generated ourselves.
    qr_svg: String,
    /// What happens next and by when: (step, due).
    next: Vec<(String, String)>,
}

/// The portal's tracking address for a case, from the address the agent reached us at.
fn track_url(headers: &HeaderMap, number: &str) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
    let number: String = form_urlencoded::byte_serialize(number.as_bytes()).collect();
    format!("{scheme}://{host}/portal/track?number={number}")
}

fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(q) => q
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(160, 160)
            .quiet_zone(true)
            .build()
            // The XML declaration is not allowed inside HTML.
            .split_once("?>")
            .map(|(_, svg)| svg.trim().to_owned())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The printable acknowledgement slip (受理回执) with the tracking code, shown once: right after a
/// staff registration or a re-issue.
pub(super) async fn slip(s: &SignedIn, headers: &HeaderMap, k: Case, code: String) -> Result<Response, PageError> {
    let c = s.chrome("cases");
    let clocks = s.st.svc.clocks(&s.actor, k.id).await.page(s)?;
    let t = s.tr();
    let mut next: Vec<(String, String)> = clocks
        .iter()
        .filter(|r| r.state == "running")
        .map(|r| (t.get(&format!("clock.{}", r.name)).to_owned(), c.time(&r.due_at)))
        .collect();
    next.push((t.get("slip.next_track").to_owned(), String::new()));
    let url = track_url(headers, &k.number);
    let page = Slip {
        kind: label_of::<CaseType>(s.locale, &k.case_type),
        received: c.time(&k.received_at),
        qr_svg: qr_svg(&url),
        track_url: url,
        code,
        next,
        c,
        k,
    };
    let mut r = render(&page);
    // The code is shown once: never kept by a cache.
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn reissue(s: SignedIn, headers: HeaderMap, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let (k, code) = s.st.svc.reissue_tracking_code(&s.actor, id, version).await.page(&s)?;
    slip(&s, &headers, k, code).await
}

#[derive(Template)]
#[template(path = "task_print.html")]
struct TaskPrint {
    c: Chrome,
    k: Case,
    number: String,
    department: String,
    question: String,
    due: String,
    created: String,
    answer: String,
    answered: String,
}

/// The 信息传递单 of one department task, printable.
async fn task_print(s: SignedIn, Path((id, task_id)): Path<(i64, i64)>) -> Result<Response, PageError> {
    let k = s.st.svc.case(&s.actor, id).await.page(&s)?;
    let tasks = s.st.svc.tasks(&s.actor, id).await.page(&s)?;
    let numbers = task_numbers(&k.number, &tasks);
    let t = tasks.into_iter().find(|t| t.id == task_id).ok_or(DomainError::NotFound { entity: "task" }).page(&s)?;
    let departments = s.st.svc.departments(&s.actor).await.page(&s)?;
    let c = s.chrome("cases");
    Ok(render(&TaskPrint {
        number: numbers.get(&t.id).cloned().unwrap_or_default(),
        department: departments.iter().find(|d| d.id == t.department_id).map(|d| d.name.clone()).unwrap_or_default(),
        question: t.question,
        due: t.due_date.to_string(),
        created: c.time(&t.created_at),
        answer: t.answer,
        answered: t.answered_at.map(|a| c.time(&a)).unwrap_or_default(),
        c,
        k,
    }))
}

/// (action, owner, due, done)
type ActionLine = (String, String, String, bool);
/// (held, place, attendees, minutes, decisions, action items)
type MeetingRow = (String, String, String, String, String, Vec<ActionLine>);

#[derive(Template)]
#[template(path = "meeting_print.html")]
struct MeetingPrint {
    c: Chrome,
    k: Case,
    meetings: Vec<MeetingRow>,
}

/// The 会议纪要 of a case's coordination meetings with their action items, printable.
async fn meetings_print(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let k = s.st.svc.case(&s.actor, id).await.page(&s)?;
    let (ms, acts) = s.st.svc.meetings(&s.actor, id).await.page(&s)?;
    let c = s.chrome("cases");
    let mut names: BTreeMap<i64, String> = BTreeMap::new();
    for o in acts.iter().filter_map(|a| a.owner_id) {
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(o) {
            let n = s.st.svc.user(&loopdesk_domain::access::Actor::system(), o).await.map(|u| u.display_name);
            slot.insert(n.unwrap_or_default());
        }
    }
    let meetings = ms
        .iter()
        .map(|m| {
            let items = acts
                .iter()
                .filter(|a| a.meeting_id == m.id)
                .map(|a| {
                    (
                        a.description.clone(),
                        a.owner_id.and_then(|o| names.get(&o).cloned()).unwrap_or_default(),
                        a.due_date.to_string(),
                        a.done_at.is_some(),
                    )
                })
                .collect();
            (c.time(&m.held_at), m.place.clone(), m.attendees.clone(), m.minutes.clone(), m.decisions.clone(), items)
        })
        .collect();
    Ok(render(&MeetingPrint { meetings, c, k }))
}

#[derive(Deserialize)]
struct RegisterFormat {
    format: Option<String>,
    lang: Option<String>,
}

/// The case register of the list's current filters, as XLSX or CSV.
async fn register(
    s: SignedIn,
    Query(q): Query<ListQuery>,
    Query(fmt): Query<RegisterFormat>,
) -> Result<Response, PageError> {
    let filter = list_filter(&s, &q).await?;
    let chinese = match fmt.lang.as_deref() {
        Some("en") => false,
        Some("zh") => true,
        _ => s.locale != Locale::En,
    };
    let format = loopdesk_service::tabular::Format::parse(fmt.format.as_deref().unwrap_or("xlsx")).page(&s)?;
    let rows = s.st.svc.case_register(&s.actor, filter, chinese).await.page(&s)?;
    let stamp = s.st.svc.now().format("%Y%m%d");
    use loopdesk_service::tabular::{self, Format};
    let download = crate::api::customers::download;
    Ok(match format {
        Format::Csv => {
            download(tabular::write_csv(&rows).page(&s)?, "text/csv; charset=utf-8", &format!("cases-{stamp}.csv"))
        }
        Format::Xlsx => download(
            tabular::write_xlsx(if chinese { "客户投诉登记表" } else { "Case register" }, &rows).page(&s)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("cases-{stamp}.xlsx"),
        ),
    })
}

#[derive(Template)]
#[template(path = "my_grievances.html")]
struct MyGrievances {
    c: Chrome,
    /// (id, number, subject, state, received)
    rows: Vec<(i64, String, String, String, String)>,
    /// The selected grievance: its steps (time, step, state), the process ahead, the decision.
    view: Option<GrievanceView>,
}

struct GrievanceView {
    number: String,
    subject: String,
    state: String,
    category: String,
    steps: Vec<(String, String, String)>,
    /// The states the process goes through, marked when reached.
    path: Vec<(String, bool)>,
    decision: String,
    /// Running clocks: (name, due).
    due: Vec<(String, String)>,
}

async fn my_grievances(s: SignedIn) -> Result<Response, PageError> {
    Ok(render(&grievances_page(&s, None).await?))
}

async fn my_grievance(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    Ok(render(&grievances_page(&s, Some(id)).await?))
}

async fn grievances_page(s: &SignedIn, id: Option<i64>) -> Result<MyGrievances, PageError> {
    let c = s.chrome("");
    let zh = s.locale != Locale::En;
    let def = loopdesk_domain::process::default_definition("grievance");
    let state_label = |code: &str| {
        def.as_ref()
            .and_then(|d| d.state(code))
            .map(|st| if zh { st.zh.clone() } else { st.en.clone() })
            .unwrap_or_else(|| code.to_owned())
    };
    let rows =
        s.st.svc
            .filed_grievances(&s.actor)
            .await
            .page(s)?
            .into_iter()
            .map(|k| (k.id, k.number, k.subject, state_label(&k.state), c.time(&k.received_at)))
            .collect();
    let view = match id {
        None => None,
        Some(id) => {
            let (k, events, def) = s.st.svc.filed_grievance(&s.actor, id).await.page(s)?;
            let label = |code: &str| {
                def.state(code)
                    .map(|st| if zh { st.zh.clone() } else { st.en.clone() })
                    .unwrap_or_else(|| code.to_owned())
            };
            let steps = events
                .iter()
                .map(|e| {
                    let what = if e.kind == "created" {
                        s.tr().get("case.created_event").to_owned()
                    } else {
                        def.transition(&e.transition)
                            .map(|t| if zh { t.zh.clone() } else { t.en.clone() })
                            .unwrap_or_else(|| e.transition.clone())
                    };
                    (c.time(&e.at), what, label(&e.to_state))
                })
                .collect();
            let reached: Vec<&str> = events.iter().map(|e| e.to_state.as_str()).collect();
            let path = ["received", "investigating", "replied", "closed"]
                .iter()
                .filter(|st| def.state(st).is_some())
                .map(|st| (label(st), reached.contains(st) || k.state == *st))
                .collect();
            let fields: BTreeMap<String, String> = serde_json::from_str(&k.fields).unwrap_or_default();
            let cats = s.st.svc.categories(&s.actor).await.page(s)?;
            let category = cats
                .iter()
                .find(|x| x.code == k.category)
                .map(|x| if zh { x.zh.clone() } else { x.en.clone() })
                .unwrap_or_default();
            let due =
                s.st.svc
                    .case_clocks_for_filer(&s.actor, k.id)
                    .await
                    .page(s)?
                    .into_iter()
                    .map(|r| (s.tr().get(&format!("clock.{}", r.name)).to_owned(), c.time(&r.due_at)))
                    .collect();
            Some(GrievanceView {
                number: k.number.clone(),
                subject: k.subject.clone(),
                state: label(&k.state),
                category,
                steps,
                path,
                decision: fields.get("reply").cloned().unwrap_or_default(),
                due,
            })
        }
    };
    Ok(MyGrievances { c, rows, view })
}

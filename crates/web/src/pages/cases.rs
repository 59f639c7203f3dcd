//! The agent's case pages: list with filters, intake form, the case page with its next steps,
//! flowchart and timeline.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::case::{CaseType, IntakeChannel, Responsibility, Severity};
use loopdesk_domain::customer::Coded;
use loopdesk_domain::locale::Locale;
use loopdesk_domain::page::Page;
use loopdesk_domain::process::{ProcessDefinition, RecordKind};
use loopdesk_service::ServiceError;
use loopdesk_service::cases::CaseInput;
use loopdesk_store::cases::{Case, CaseFilter};
use loopdesk_store::customers::CustomerFilter;
use serde::Deserialize;

use super::customers::{label, options};
use super::escalation::remaining_text;
use super::{Chrome, FormData, OrPage, PageError, SignedIn, query_without_page, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases", get(list).post(create))
        .route("/cases/new", get(new_form))
        .route("/cases/{id}", get(show))
        .route("/cases/{id}/transitions", post(take))
        .route("/cases/{id}/tasks", post(add_task))
        .route("/case-tasks/{id}/answer", post(answer_task))
        .route("/case-tasks/{id}/review", post(review_task))
        .route("/cases/{id}/responsibility-review", post(review_responsibility))
        .route("/cases/{id}/meetings", post(record_meeting))
        .route("/meeting-actions/{id}/complete", post(complete_action))
        .route("/cases/{id}/reportability", post(reportability))
        .route("/cases/{id}/merge", post(merge))
        .route("/cases/{id}/print", get(print))
        .route("/cases/{id}/links", post(add_link))
        .route("/cases/{id}/comments", post(comment))
        .route("/cases/{id}/attachments", post(attach))
        .route("/process-definitions", get(definitions))
        .route("/process-definitions/{case_type}", post(put_definition))
        .route("/process-definitions/{kind}/{case_type}", post(put_kind_definition))
        .route("/cases/{id}/split", post(split))
}

pub(super) fn label_of<T: Coded>(l: Locale, code: &str) -> String {
    T::parse(code).map(|v| label(l, v).to_owned()).unwrap_or_else(|_| code.to_owned())
}

/// Every state code of the given definitions once, labelled in `l`; a code two case types name
/// differently shows both names ("处理中 / 调查中").
fn state_options<'a>(defs: impl Iterator<Item = &'a ProcessDefinition>, l: Locale) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for d in defs {
        for st in &d.states {
            let name = if l == Locale::En { &st.en } else { &st.zh };
            match out.iter_mut().find(|(c, _)| *c == st.code) {
                Some((_, label)) if !label.split(" / ").any(|n| n == name) => {
                    label.push_str(" / ");
                    label.push_str(name);
                }
                Some(_) => {}
                None => out.push((st.code.clone(), name.clone())),
            }
        }
    }
    out
}

fn state_name(def: Option<&ProcessDefinition>, l: Locale, code: &str) -> String {
    def.and_then(|d| d.state(code))
        .map(|s| if l == Locale::En { s.en.clone() } else { s.zh.clone() })
        .unwrap_or_else(|| code.to_owned())
}

pub struct Row {
    id: i64,
    number: String,
    kind: String,
    subject: String,
    contact: String,
    severity: String,
    state: String,
    received: String,
    /// The next deadline: due time, time left or over, overdue.
    due: Option<(String, String, bool)>,
    /// An open department task or meeting action item is past its due date.
    items_overdue: bool,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct List {
    c: Chrome,
    rows: Vec<Row>,
    /// The state filter's choices: every state of every case type by its label (issue #16 item 3).
    states: Vec<(String, String)>,
    types: Vec<(String, String)>,
    severities: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    ftype: String,
    fseverity: String,
    fdepartment: String,
    fcustomer: String,
    ffrom: String,
    fto: String,
    fstate: String,
    fq: String,
    fopen: bool,
    foverdue: bool,
    can_write: bool,
    page: u32,
    pages: u32,
    /// "10050+" when the count stopped early.
    total: String,
    query: String,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    #[serde(rename = "type")]
    case_type: Option<String>,
    severity: Option<String>,
    department: Option<String>,
    customer: Option<String>,
    from: Option<String>,
    to: Option<String>,
    state: Option<String>,
    open: Option<String>,
    overdue: Option<String>,
    q: Option<String>,
    page: Option<u32>,
}

/// The start of a local calendar day in the organisation's zone, as UTC.
pub(super) fn day_start(
    s: &SignedIn,
    field: &str,
    v: &str,
    plus_days: i64,
) -> Result<chrono::DateTime<chrono::Utc>, PageError> {
    let d = loopdesk_domain::customer::parse_date(field, v).page(s)? + chrono::Duration::days(plus_days);
    let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    use chrono::TimeZone;
    s.st.svc.settings.timezone.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&chrono::Utc)).ok_or_else(
        || PageError::Service(DomainError::invalid(field, "errors.does_not_exist_local_time").into(), s.locale),
    )
}

/// The list's filters as a case filter (also used by the register export).
pub(super) async fn list_filter(s: &SignedIn, q: &ListQuery) -> Result<CaseFilter, PageError> {
    let nonempty = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let department_id = match nonempty(&q.department) {
        Some(d) => {
            Some(d.parse::<i64>().map_err(|_| DomainError::invalid("department", "errors.not_number_2")).page(s)?)
        }
        None => None,
    };
    let open = q.open.is_some();
    let customer_id = match nonempty(&q.customer) {
        Some(code) => {
            let found = s
                .st
                .svc
                .customers(&s.actor, &CustomerFilter { q: Some(code.clone()), ..Default::default() }, Page::default())
                .await
                .page(s)?;
            // An unknown code matches no case rather than all of them.
            Some(found.items.iter().find(|k| k.code.eq_ignore_ascii_case(code.trim())).map(|k| k.id).unwrap_or(-1))
        }
        None => None,
    };
    let received_from = match nonempty(&q.from) {
        Some(v) => Some(day_start(s, "from", &v, 0)?),
        None => None,
    };
    let received_to = match nonempty(&q.to) {
        Some(v) => Some(day_start(s, "to", &v, 1)?),
        None => None,
    };
    let overdue = q.overdue.is_some();
    Ok(CaseFilter {
        state: nonempty(&q.state),
        overdue_at: overdue.then(|| s.st.svc.now()),
        customer_id,
        received_from,
        received_to,
        case_type: nonempty(&q.case_type),
        severity: nonempty(&q.severity),
        department_id,
        exclude_states: if open { s.st.svc.terminal_states().await.page(s)? } else { vec![] },
        text: match nonempty(&q.q) {
            Some(text) => Some(loopdesk_domain::search::parse_query(&text).page(s)?),
            None => None,
        },
        ..Default::default()
    })
}

async fn list(s: SignedIn, OriginalUri(uri): OriginalUri, Query(q): Query<ListQuery>) -> Result<Response, PageError> {
    let f = list_filter(&s, &q).await?;
    let (open, overdue) = (q.open.is_some(), q.overdue.is_some());
    let page = Page::parse(q.page, None).page(&s)?;
    let found = s.st.svc.cases(&s.actor, f, page).await.page(&s)?;
    let l = s.locale;
    let c = s.chrome("cases");
    let defs: BTreeMap<String, ProcessDefinition> =
        s.st.svc
            .process_definitions(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .map(|(_, d)| (d.case_type.clone(), d))
            .collect();
    let pages = found.pages();
    let now = s.st.svc.now();
    let t = s.tr();
    let late_items = s.st.svc.cases_with_overdue_items(&s.actor, &found.items).await.page(&s)?;
    let rows = found
        .items
        .iter()
        .map(|k| Row {
            id: k.id,
            number: k.number.clone(),
            kind: label_of::<CaseType>(l, &k.case_type),
            subject: k.subject.clone(),
            contact: k.contact_name.clone(),
            severity: if k.severity.is_empty() { String::new() } else { label_of::<Severity>(l, &k.severity) },
            state: state_name(defs.get(&k.case_type), l, &k.state),
            received: c.time(&k.received_at),
            due: k.next_due_at.map(|at| (c.time(&at), remaining_text(&t, at - now, false), at < now)),
            items_overdue: late_items.contains(&k.id),
        })
        .collect();
    let departments =
        s.st.svc.departments(&s.actor).await.page(&s)?.into_iter().map(|d| (d.id.to_string(), d.name)).collect();
    Ok(render(&List {
        rows,
        states: state_options(defs.values(), l),
        types: options::<CaseType>(l),
        severities: options::<Severity>(l),
        departments,
        ftype: q.case_type.unwrap_or_default(),
        fseverity: q.severity.unwrap_or_default(),
        fdepartment: q.department.unwrap_or_default(),
        fcustomer: q.customer.unwrap_or_default(),
        ffrom: q.from.unwrap_or_default(),
        fto: q.to.unwrap_or_default(),
        fstate: q.state.unwrap_or_default(),
        fq: q.q.unwrap_or_default(),
        foverdue: overdue,
        fopen: open,
        can_write: s.actor.can(Permission::WriteCases),
        page: found.page,
        pages,
        total: if found.total_is_lower_bound { format!("{}+", found.total) } else { found.total.to_string() },
        query: query_without_page(&uri),
        c,
    }))
}

#[derive(Template)]
#[template(path = "case_form.html")]
struct Form {
    c: Chrome,
    error: Option<String>,
    f: FormData,
    types: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    severities: Vec<(String, String)>,
}

fn form(s: &SignedIn, f: FormData, error: Option<String>) -> Form {
    Form {
        c: s.chrome("cases"),
        error,
        f,
        types: options::<CaseType>(s.locale),
        channels: options::<IntakeChannel>(s.locale),
        severities: options::<Severity>(s.locale),
    }
}

async fn new_form(s: SignedIn) -> Result<Response, PageError> {
    s.actor.require(Permission::WriteCases).page(&s)?;
    Ok(render(&form(&s, FormData(vec![("case_type".into(), "complaint".into())]), None)))
}

async fn create(s: SignedIn, headers: axum::http::HeaderMap, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let result = async {
        let customer_id = match f.opt("customer_code") {
            Some(code) => {
                let found =
                    s.st.svc
                        .customers(
                            &s.actor,
                            &CustomerFilter { q: Some(code.clone()), ..Default::default() },
                            Page::default(),
                        )
                        .await?;
                let k = found.items.into_iter().find(|k| k.code.eq_ignore_ascii_case(&code)).ok_or_else(|| {
                    DomainError::invalid(
                        "customer_code",
                        loopdesk_domain::reason!("errors.no_customer_with_code", code),
                    )
                })?;
                Some(k.id)
            }
            None => None,
        };
        let input = CaseInput {
            case_type: f.get("case_type").into(),
            customer_id,
            contact_name: f.opt("contact_name"),
            contact_phone: f.opt("contact_phone"),
            channel: f.opt("channel"),
            product_code: f.opt("product_code"),
            model: f.opt("model"),
            serial: f.opt("serial"),
            ship_date: f.opt("ship_date"),
            subject: f.get("subject").into(),
            description: f.get("description").into(),
            severity: f.opt("severity"),
            adverse_event: Some(f.get("adverse_event") == "1"),
            customer_deadline: f.opt("customer_deadline"),
            ..Default::default()
        };
        s.st.svc.create_case(&s.actor, &input).await
    }
    .await;
    match result {
        // A case registered by staff (phone, visit, letter…): the tracking code is shown this
        // once, on the acknowledgement slip for the customer.
        Ok(created) if !created.case.confidential && created.case.channel != "portal" => {
            super::case_record::slip(&s, &headers, created.case, created.tracking_code).await
        }
        // An employee filing a grievance follows it on their own page, not in the case file.
        Ok(created) if created.case.confidential && s.st.svc.case_access(&s.actor, created.case.id).await.is_err() => {
            Ok(Redirect::to(&format!("/my/grievances/{}", created.case.id)).into_response())
        }
        Ok(created) => Ok(Redirect::to(&format!("/cases/{}", created.case.id)).into_response()),
        Err(ServiceError::Domain(e @ (DomainError::Invalid { .. } | DomainError::Conflict { .. }))) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form(&s, f, Some(s.tr().error(&e))))).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

/// A choice in a select: (value, label).
type Choice = (String, String);

pub struct Action {
    code: String,
    label: String,
    /// (name, label, options — empty for free text —, required)
    fields: Vec<(String, String, Vec<Choice>, bool)>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct Show {
    c: Chrome,
    k: Case,
    error: Option<String>,
    kind: String,
    state: String,
    received: String,
    channel: String,
    customer: Option<(i64, String)>,
    ship_date: String,
    severity: String,
    responsibility: String,
    department: String,
    actions: Vec<Action>,
    svg: String,
    timeline: Vec<(String, String, String, String, String)>,
    tasks: Vec<TaskRow>,
    department_options: Vec<Choice>,
    can_write: bool,
    /// The customer-service manager (or an administrator) may review tasks and findings.
    can_review: bool,
    /// A "not the company's responsibility" finding waits for that review.
    responsibility_review_pending: bool,
    can_approve: bool,
    reportability: Option<String>,
    /// (held, place, attendees, minutes + decisions)
    meetings: Vec<(String, String, String, String)>,
    actions_list: Vec<ActionRow>,
    /// (kind label, id, number, subject)
    links: Vec<(String, i64, String, String)>,
    /// (clock name, due, state label, overdue, time left or over while running)
    clocks: Vec<(String, String, String, bool, String)>,
    category: String,
    /// (id, file name, size, uploaded by)
    attachments: Vec<(i64, String, String, String)>,
    /// The owner (投诉处理人员), the serious-injury answer with who recorded it, and whether the
    /// actor may record meeting minutes.
    owner: String,
    injury: String,
    can_minute: bool,
}

pub struct ActionRow {
    id: i64,
    version: i64,
    description: String,
    owner: String,
    due: String,
    /// Open past its due date.
    overdue: bool,
    done: bool,
    note: String,
    can_complete: bool,
}

pub struct TaskRow {
    id: i64,
    number: String,
    version: i64,
    department: String,
    question: String,
    due: String,
    answer: String,
    answered: bool,
    /// Open past its due date (the scheduler escalates it).
    overdue: bool,
    can_answer: bool,
    /// `none`, `pending`, `approved` or `refused` (the customer-service manager's review).
    review_state: String,
    review_note: String,
}

async fn show(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    Ok(render(&show_page(&s, id, None).await?))
}

async fn show_page(s: &SignedIn, id: i64, error: Option<String>) -> Result<Show, PageError> {
    let k = s.st.svc.case(&s.actor, id).await.page(s)?;
    let def = s.st.svc.case_definition(&s.actor, &k).await.page(s)?;
    let history = s.st.svc.history(&s.actor, id).await.page(s)?;
    let l = s.locale;
    let zh = l != Locale::En;
    let c = s.chrome("cases");
    let departments = s.st.svc.departments(&s.actor).await.page(s)?;
    let cats = s.st.svc.categories(&s.actor).await.page(s)?;
    let cat_label = |code: &str| {
        cats.iter()
            .find(|x| x.code == code)
            .map(|x| if zh { x.zh.clone() } else { x.en.clone() })
            .unwrap_or_else(|| code.to_owned())
    };
    let field_options = |name: &str| -> Vec<(String, String)> {
        match name {
            "category" => cats
                .iter()
                .map(|x| {
                    let indent = if x.parent_id.is_some() { "　" } else { "" };
                    (x.code.clone(), format!("{indent}{}", if zh { &x.zh } else { &x.en }))
                })
                .collect(),
            "severity" => options::<Severity>(l),
            "responsibility" => options::<Responsibility>(l),
            "lead_department" => departments.iter().map(|d| (d.code.clone(), d.name.clone())).collect(),
            "on_site" => ["no", "yes"]
                .iter()
                .map(|v| ((*v).to_owned(), s.tr().get(&format!("clocks.on_site.{v}")).to_owned()))
                .collect(),
            // No answer is preselected: "no" must be said, not defaulted to.
            "serious_injury" => std::iter::once((String::new(), "—".to_owned()))
                .chain(options::<loopdesk_domain::case_record::InjuryAnswer>(l))
                .collect(),
            _ => vec![],
        }
    };
    let case_tasks = s.st.svc.tasks(&s.actor, id).await.page(s)?;
    let open_tasks = case_tasks.iter().any(|t| t.answered_at.is_none());
    // A department taking part through a task (or an action owner) reads the case and works only
    // its own task or item; the forms offered say the same.
    let access = s.st.svc.case_access(&s.actor, id).await.page(s)?;
    let handles = access.may_handle() && s.actor.can(Permission::WriteCases);
    let actions = if handles {
        def.from_state(&k.state)
            .filter(|t| t.code != "merge" && ProcessDefinition::allows(t, &s.actor.roles))
            .map(|t| {
                let mut names = t.required.clone();
                if names.iter().any(|n| n == "responsibility") && !names.iter().any(|n| n == "responsibility_note") {
                    names.push("responsibility_note".into());
                }
                // The assessment may record (or correct) the customer's own deadline.
                if names.iter().any(|n| n == "severity") && !names.iter().any(|n| n == "customer_deadline") {
                    names.push("customer_deadline".into());
                    // …and whether someone must go on site (starts the 48 h on-site clock).
                    if k.case_type == "complaint" || k.case_type == "service_request" {
                        names.push("on_site".into());
                    }
                }
                if open_tasks && ProcessDefinition::resolves(t) {
                    names.push("open_tasks_reason".into());
                }
                if t.to == "assessed" && super::case_record::injury_unanswered(&k) {
                    names.push("serious_injury".into());
                }
                Action {
                    code: t.code.clone(),
                    label: if zh { t.zh.clone() } else { t.en.clone() },
                    fields: names
                        .iter()
                        .map(|n| {
                            let required = t.required.contains(n) || n == "open_tasks_reason";
                            (n.clone(), s.tr().get(&format!("case.field.{n}")).to_owned(), field_options(n), required)
                        })
                        .collect(),
                }
            })
            .collect()
    } else {
        vec![]
    };
    let customer = match k.customer_id {
        Some(cid) => s.st.svc.customer(&s.actor, cid).await.ok().map(|cu| (cu.id, format!("{} {}", cu.code, cu.name))),
        None => None,
    };
    let timeline = history
        .iter()
        .map(|e| {
            let what = match e.kind.as_str() {
                "created" => s.tr().get("case.created_event").to_owned(),
                "customer_comment" => s.tr().get("case.customer_comment").to_owned(),
                "comment" => s.tr().get("comment.add").to_owned(),
                "attachment" => s.tr().get("attach.title").to_owned(),
                "survey_invitation" => s.tr().get("portal.survey").to_owned(),
                "clock_restarted" => s.tr().get("case.event.clock_restarted").to_owned(),
                "clock_kept" => s.tr().get("case.event.clock_kept").to_owned(),
                "item_warning"
                | "item_overdue"
                | "item_escalated"
                | "task_review_requested"
                | "task_review_approved"
                | "task_review_refused"
                | "responsibility_review_requested"
                | "responsibility_review_approved"
                | "responsibility_review_refused" => s.tr().get(&format!("case.event.{}", e.kind)).to_owned(),
                _ => def
                    .transition(&e.transition)
                    .map(|t| if zh { t.zh.clone() } else { t.en.clone() })
                    .unwrap_or_else(|| e.transition.clone()),
            };
            let detail = if e.body.is_empty() {
                serde_json::from_str::<serde_json::Value>(&e.fields)
                    .ok()
                    .and_then(|v| v.get("fields").cloned())
                    .and_then(|v| v.as_object().cloned())
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default()
            } else {
                e.body.clone()
            };
            (c.time(&e.at), e.actor.clone(), what, state_name(Some(&def), l, &e.to_state), detail)
        })
        .collect();
    let numbers = loopdesk_service::case_record::task_numbers(&k.number, &case_tasks);
    let tasks = case_tasks
        .into_iter()
        .map(|t| TaskRow {
            number: numbers.get(&t.id).cloned().unwrap_or_default(),
            answered: t.answered_at.is_some(),
            overdue: t.answered_at.is_none()
                && t.sent()
                && t.due_date < s.st.svc.now().with_timezone(&s.st.svc.settings.timezone).date_naive(),
            id: t.id,
            version: t.version,
            department: departments
                .iter()
                .find(|d| d.id == t.department_id)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            can_answer: loopdesk_domain::scope::may_answer_task(&s.actor, access, t.department_id),
            question: t.question,
            due: t.due_date.to_string(),
            review_state: t.review_state,
            review_note: t.review_note,
            answer: t.answer,
        })
        .collect();
    let (ms, acts) = s.st.svc.meetings(&s.actor, id).await.page(s)?;
    let today = s.st.svc.now().with_timezone(&s.st.svc.settings.timezone).date_naive();
    let mut owners = BTreeMap::new();
    for a in &acts {
        if let Some(o) = a.owner_id
            && !owners.contains_key(&o)
        {
            let name = s.st.svc.user(&Actor::system(), o).await.map(|u| u.display_name).unwrap_or_default();
            owners.insert(o, name);
        }
    }
    let reportability =
        serde_json::from_str::<BTreeMap<String, String>>(&k.fields).ok().and_then(|m| m.get("reportability").cloned());
    let links =
        s.st.svc
            .linked_cases(&s.actor, id)
            .await
            .page(s)?
            .into_iter()
            .map(|(kind, o)| (s.tr().get(&format!("link.{kind}")).to_owned(), o.id, o.number, o.subject))
            .collect();
    let now = s.st.svc.now();
    let clocks =
        s.st.svc
            .clocks(&s.actor, id)
            .await
            .page(s)?
            .into_iter()
            .map(|r| {
                let overdue = (r.state == "running" && r.due_at < now) || r.breached_at.is_some();
                let name = s.tr().get(&format!("clock.{}", r.name)).to_owned();
                let state = s.tr().get(&format!("clock.state.{}", r.state)).to_owned();
                let left =
                    if r.state == "running" { remaining_text(&s.tr(), r.due_at - now, false) } else { String::new() };
                (name, c.time(&r.due_at), state, overdue, left)
            })
            .collect();
    let category = cat_label(&k.category);
    let attachments =
        s.st.svc
            .attachments(&s.actor, id)
            .await
            .page(s)?
            .into_iter()
            .map(|a| (a.id, a.file_name, format!("{:.1} KB", a.size as f64 / 1024.0), a.uploaded_by))
            .collect();
    let owner = match k.owner_id {
        Some(o) => s.st.svc.user(&Actor::system(), o).await.map(|u| u.display_name).unwrap_or_default(),
        None => String::new(),
    };
    let injury = super::case_record::injury_text(s, &k);
    Ok(Show {
        owner,
        injury,
        can_minute: s.actor.roles.iter().any(|r| r.records_meetings()),
        attachments,
        category,
        clocks,
        links,
        reportability,
        can_approve: s.actor.can(Permission::ApproveActions),
        meetings: ms
            .iter()
            .map(|m| {
                (c.time(&m.held_at), m.place.clone(), m.attendees.clone(), format!("{}\n{}", m.minutes, m.decisions))
            })
            .collect(),
        actions_list: acts
            .into_iter()
            .map(|a| ActionRow {
                id: a.id,
                version: a.version,
                can_complete: loopdesk_domain::scope::may_complete_action(&s.actor, access, a.owner_id),
                owner: a.owner_id.and_then(|o| owners.get(&o).cloned()).unwrap_or_default(),
                description: a.description,
                due: a.due_date.to_string(),
                overdue: a.done_at.is_none() && a.due_date < today,
                done: a.done_at.is_some(),
                note: a.done_note,
            })
            .collect(),
        tasks,
        department_options: departments.iter().map(|d| (d.code.clone(), d.name.clone())).collect(),
        can_write: handles,
        can_review: s.actor.can(Permission::WriteCases) && s.st.svc.is_reviewer(&s.actor).await.page(s)?,
        responsibility_review_pending: serde_json::from_str::<BTreeMap<String, String>>(&k.fields)
            .ok()
            .and_then(|m| m.get("responsibility_review").cloned())
            .is_some_and(|v| v == "pending"),
        kind: label_of::<CaseType>(l, &k.case_type),
        state: state_name(Some(&def), l, &k.state),
        received: c.time(&k.received_at),
        channel: label_of::<IntakeChannel>(l, &k.channel),
        customer,
        ship_date: k.ship_date.map(|d| d.to_string()).unwrap_or_default(),
        severity: if k.severity.is_empty() { String::new() } else { label_of::<Severity>(l, &k.severity) },
        responsibility: if k.responsibility.is_empty() {
            String::new()
        } else {
            label_of::<Responsibility>(l, &k.responsibility)
        },
        department: k
            .lead_department_id
            .and_then(|d| departments.iter().find(|x| x.id == d))
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        actions,
        svg: def.to_svg(Some(&k.state), zh),
        timeline,
        error,
        c,
        k,
    })
}

async fn take(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let code = f.get("transition").to_owned();
    let fields: BTreeMap<String, String> =
        f.0.iter().filter(|(k, _)| !matches!(k.as_str(), "_csrf" | "version" | "transition")).cloned().collect();
    let r = s.st.svc.transition(&s.actor, id, &code, version, &fields).await;
    after_form(&s, id, r).await
}

async fn add_task(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let r = s.st.svc.add_task(&s.actor, id, f.get("department"), f.get("question"), f.get("due_date")).await;
    after_form(&s, id, r).await
}

async fn answer_task(s: SignedIn, Path(task_id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let case_id =
        f.get("case_id").parse::<i64>().map_err(|_| DomainError::invalid("case_id", "errors.not_number_2")).page(&s)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let r = s.st.svc.answer_task(&s.actor, task_id, version, f.get("answer")).await;
    after_form(&s, case_id, r).await
}

/// The customer-service manager's review of a task: `decision` is `approve` or `refuse`.
async fn review_task(s: SignedIn, Path(task_id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let case_id =
        f.get("case_id").parse::<i64>().map_err(|_| DomainError::invalid("case_id", "errors.not_number_2")).page(&s)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let approve = f.get("decision") == "approve";
    let r = s.st.svc.review_task(&s.actor, task_id, version, approve, f.get("reason")).await;
    after_form(&s, case_id, r).await
}

/// The customer-service manager's review of a "not the company's responsibility" finding.
async fn review_responsibility(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let approve = f.get("decision") == "approve";
    let r = s.st.svc.review_responsibility(&s.actor, id, version, approve, f.get("reason")).await;
    after_form(&s, id, r).await
}

/// Back to the case page on success; the page with the reason on a form mistake.
async fn after_form<T>(s: &SignedIn, id: i64, r: Result<T, ServiceError>) -> Result<Response, PageError> {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(ServiceError::Domain(
            e @ (DomainError::Invalid { .. } | DomainError::Conflict { .. } | DomainError::Forbidden { .. }),
        )) => {
            let status = match e {
                DomainError::Forbidden { .. } => StatusCode::FORBIDDEN,
                DomainError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            Ok((status, render(&show_page(s, id, Some(s.tr().error(&e))).await?)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

async fn record_meeting(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let (ds, os, dues) = (f.all("action_description"), f.all("action_owner"), f.all("action_due"));
    let actions = ds
        .iter()
        .zip(os.iter())
        .zip(dues.iter())
        .filter(|((d, _), _)| !d.trim().is_empty())
        .map(|((d, o), due)| loopdesk_service::cases::ActionInput {
            description: d.clone(),
            owner: o.clone(),
            due_date: due.clone(),
        })
        .collect();
    let m = loopdesk_service::cases::MeetingInput {
        attendees: f.get("attendees").into(),
        minutes: f.get("minutes").into(),
        decisions: f.opt("decisions"),
        actions,
        ..Default::default()
    };
    let r = s.st.svc.record_meeting(&s.actor, id, &m).await;
    after_form(&s, id, r).await
}

async fn complete_action(s: SignedIn, Path(action_id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let case_id =
        f.get("case_id").parse::<i64>().map_err(|_| DomainError::invalid("case_id", "errors.not_number_2")).page(&s)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let r = s.st.svc.complete_action(&s.actor, action_id, version, f.get("note")).await;
    after_form(&s, case_id, r).await
}

async fn reportability(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let r =
        s.st.svc
            .decide_reportability(
                &s.actor,
                id,
                version,
                f.get("reportable") == "1",
                f.opt("regime").as_deref(),
                f.get("reason"),
            )
            .await;
    after_form(&s, id, r).await
}

async fn merge(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    let r = async {
        let number = f.get("into").trim().to_owned();
        let found = s.st.svc.case_by_number(&s.actor, &number).await.map_err(|_| {
            ServiceError::from(DomainError::invalid(
                "into",
                loopdesk_domain::reason!("errors.no_case_numbered", number),
            ))
        })?;
        s.st.svc.merge_case(&s.actor, id, version, found.id, f.get("reason")).await
    }
    .await;
    after_form(&s, id, r).await
}

#[derive(Template)]
#[template(path = "case_print.html")]
struct Print {
    c: Chrome,
    k: Case,
    customer_name: String,
    address: String,
    received: String,
    channel: String,
    product: String,
    ship_date: String,
    severity: String,
    responsibility: String,
    resolution: String,
    reply: String,
    follow_up: String,
    state: String,
    /// The category's name, not its code.
    category: String,
}

/// The 客户投诉/反馈报告 as a printable record (ISO 13485 8.2.2 contents).
async fn print(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let k = s.st.svc.case(&s.actor, id).await.page(&s)?;
    let def = s.st.svc.case_definition(&s.actor, &k).await.page(&s)?;
    let l = s.locale;
    let c = s.chrome("cases");
    let (customer_name, address) = match k.customer_id {
        Some(cid) => s.st.svc.customer(&s.actor, cid).await.map(|cu| (cu.name, cu.address)).unwrap_or_default(),
        None => (String::new(), String::new()),
    };
    let product = match k.product_id {
        Some(_) => {
            s.st.svc
                .products(&s.actor)
                .await
                .page(&s)?
                .into_iter()
                .find(|p| Some(p.id) == k.product_id)
                .map(|p| format!("{} {}", p.name, p.model))
                .unwrap_or_default()
        }
        None => String::new(),
    };
    let fields: BTreeMap<String, String> = serde_json::from_str(&k.fields).unwrap_or_default();
    let field = |n: &str| fields.get(n).cloned().unwrap_or_default();
    Ok(render(&Print {
        customer_name,
        address,
        received: c.time(&k.received_at),
        channel: label_of::<IntakeChannel>(l, &k.channel),
        product,
        ship_date: k.ship_date.map(|d| d.to_string()).unwrap_or_default(),
        severity: if k.severity.is_empty() { String::new() } else { label_of::<Severity>(l, &k.severity) },
        responsibility: if k.responsibility.is_empty() {
            String::new()
        } else {
            label_of::<Responsibility>(l, &k.responsibility)
        },
        resolution: field("resolution"),
        reply: field("reply"),
        follow_up: field("follow_up_outcome"),
        state: state_name(Some(&def), l, &k.state),
        category: s
            .st
            .svc
            .categories(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .find(|x| x.code == k.category)
            .map(|x| if l == Locale::En { x.en } else { x.zh })
            .unwrap_or_else(|| k.category.clone()),
        c,
        k,
    }))
}

async fn add_link(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let r = async {
        let number = f.get("number").trim().to_owned();
        let other = s.st.svc.case_by_number(&s.actor, &number).await.map_err(|_| {
            ServiceError::from(DomainError::invalid(
                "number",
                loopdesk_domain::reason!("errors.no_case_numbered", number),
            ))
        })?;
        s.st.svc.link_cases(&s.actor, id, other.id).await
    }
    .await;
    after_form(&s, id, r).await
}

async fn split(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    match s.st.svc.split_case(&s.actor, id, None, f.get("subject"), f.get("description")).await {
        Ok(created) => Ok(Redirect::to(&format!("/cases/{}", created.case.id)).into_response()),
        Err(e) => after_form::<()>(&s, id, Err(e)).await,
    }
}

#[derive(Template)]
#[template(path = "definitions.html")]
struct Definitions {
    c: Chrome,
    error: Option<String>,
    can_manage: bool,
    /// (anchor and form path — `complaint` for a case type, `capa/capa` for other kinds —, type
    /// label, version, svg, TOML text)
    defs: Vec<(String, String, i64, String, String)>,
}

/// A definition's label on the definitions page: the case type's, or the kind's name.
fn definition_label(l: Locale, d: &ProcessDefinition) -> (String, String) {
    match d.kind {
        RecordKind::Case => (d.case_type.clone(), label_of::<CaseType>(l, &d.case_type)),
        k => {
            let (zh, en) = k.labels();
            (format!("{}/{}", k.code(), d.case_type), if l == Locale::En { en } else { zh }.to_owned())
        }
    }
}

async fn definitions_page(s: &SignedIn, error: Option<String>) -> Result<Definitions, PageError> {
    let l = s.locale;
    let defs =
        s.st.svc
            .all_process_definitions(&s.actor)
            .await
            .page(s)?
            .into_iter()
            .map(|(v, d)| {
                let text = toml::to_string(&d).unwrap_or_default();
                let (key, label) = definition_label(l, &d);
                (key, label, v, d.to_svg(None, l != Locale::En), text)
            })
            .collect();
    Ok(Definitions { c: s.chrome("cases"), error, can_manage: s.actor.can(Permission::ManageSettings), defs })
}

async fn definitions(s: SignedIn) -> Result<Response, PageError> {
    Ok(render(&definitions_page(&s, None).await?))
}

async fn put_definition(s: SignedIn, Path(case_type): Path<String>, body: Bytes) -> Result<Response, PageError> {
    save_definition(s, RecordKind::Case, case_type, body).await
}

async fn put_kind_definition(
    s: SignedIn,
    Path((kind, case_type)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let kind = RecordKind::parse(&kind).page(&s)?;
    save_definition(s, kind, case_type, body).await
}

async fn save_definition(s: SignedIn, kind: RecordKind, case_type: String, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    match s.st.svc.put_record_definition(&s.actor, kind, &case_type, f.get("definition")).await {
        Ok((_, d)) => {
            Ok(Redirect::to(&format!("/process-definitions#{}", definition_label(s.locale, &d).0)).into_response())
        }
        Err(ServiceError::Domain(e @ (DomainError::Invalid { .. } | DomainError::Forbidden { .. }))) => {
            let status = if matches!(e, DomainError::Forbidden { .. }) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok((status, render(&definitions_page(&s, Some(s.tr().error(&e))).await?)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

async fn comment(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let r = s.st.svc.comment(&s.actor, id, f.get("body"), f.get("public") == "1").await;
    after_form(&s, id, r).await
}

async fn attach(s: SignedIn, Path(id): Path<i64>, mut mp: axum::extract::Multipart) -> Result<Response, PageError> {
    let mut fields = Vec::new();
    let mut file: Option<(String, Bytes)> = None;
    loop {
        let next = mp
            .next_field()
            .await
            .map_err(|e| {
                DomainError::invalid(
                    "file",
                    loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                )
            })
            .page(&s)?;
        let Some(field) = next else { break };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let fname = field.file_name().unwrap_or("").to_owned();
            file = Some((
                fname,
                field
                    .bytes()
                    .await
                    .map_err(|e| {
                        DomainError::invalid(
                            "file",
                            loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                        )
                    })
                    .page(&s)?,
            ));
        } else {
            fields.push((
                name.clone(),
                field
                    .text()
                    .await
                    .map_err(|e| {
                        DomainError::invalid(
                            name,
                            loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                        )
                    })
                    .page(&s)?,
            ));
        }
    }
    let f = FormData(fields);
    s.check_csrf(&f)?;
    let (name, bytes) = file.unwrap_or_default();
    let r = s.st.svc.attach(&s.actor, id, &name, &bytes, f.get("public") == "1").await;
    after_form(&s, id, r).await
}

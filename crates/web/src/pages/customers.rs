//! Customer files: list, form, the customer page (客户360), products, import.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, OriginalUri, Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Permission;
use loopdesk_domain::customer::{
    Channel, Coded, ContractStatus, CustomerCategory, CustomerKind, Direction, Stage, format_cny, split_list,
};
use loopdesk_domain::import::{RowError, Sheet};
use loopdesk_domain::locale::Locale;
use loopdesk_domain::page::Page;
use loopdesk_service::ServiceError;
use loopdesk_service::customers::{
    AssetInput, CommunicationInput, ContactInput, ContractInput, CustomerInput, ImportOutcome, ProductInput,
};
use loopdesk_store::customers::{Customer, CustomerFilter, Product};
use serde::Deserialize;

use super::{Chrome, FormData, OrPage, PageError, SignedIn, query_without_page, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list).post(create))
        .route("/customers/new", get(new_form))
        .route("/customers/import", get(import_form).post(import))
        .route("/customers/{id}", get(show))
        .route("/customers/{id}/edit", get(edit_form).post(save))
        .route("/customers/{id}/contacts", post(add_contact))
        .route("/customers/{id}/assets", post(add_asset))
        .route("/customers/{id}/contracts", post(add_contract))
        .route("/customers/{id}/communications", post(add_communication))
        .route("/follow-ups/{id}/done", post(follow_up_done))
        .route("/products", get(products).post(create_product))
}

/// A coded value's label in the reader's language.
pub fn label<T: Coded>(locale: Locale, v: T) -> &'static str {
    let (zh, en) = v.labels();
    if locale == Locale::En { en } else { zh }
}

fn label_of<T: Coded>(locale: Locale, code: &str) -> String {
    T::parse(code).map(|v| label(locale, v).to_owned()).unwrap_or_else(|_| code.to_owned())
}

pub fn options<T: Coded>(locale: Locale) -> Vec<(String, String)> {
    T::ALL.iter().map(|v| (v.code().to_owned(), label(locale, *v).to_owned())).collect()
}

fn sheet_options(s: &SignedIn) -> Vec<(String, String)> {
    Sheet::ALL
        .iter()
        .map(|k| (k.code().to_owned(), s.tr().get(&format!("cust.kind_{}", k.code())).to_owned()))
        .collect()
}

/// A form validation failure is shown on the form again; anything else is an error page.
fn is_user_error(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Domain(DomainError::Invalid { .. } | DomainError::Conflict { .. }))
}

pub struct ListRow {
    id: i64,
    code: String,
    name: String,
    category: String,
    region: String,
    phones: String,
    tags: String,
    is_new: bool,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct List {
    c: Chrome,
    rows: Vec<ListRow>,
    q: String,
    region: String,
    category: String,
    regions: Vec<String>,
    categories: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    can_write: bool,
    page: u32,
    pages: u32,
    total: i64,
    query: String,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    region: Option<String>,
    category: Option<String>,
    page: Option<u32>,
}

async fn list(s: SignedIn, OriginalUri(uri): OriginalUri, Query(q): Query<ListQuery>) -> Result<Response, PageError> {
    let nonempty = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let f = CustomerFilter {
        q: nonempty(&q.q),
        region: nonempty(&q.region),
        category: nonempty(&q.category),
        ..Default::default()
    };
    let page = Page::parse(q.page, None).page(&s)?;
    let found = s.st.svc.customers(&s.actor, &f, page).await.page(&s)?;
    let l = s.locale;
    let pages = found.pages();
    let rows = found
        .items
        .into_iter()
        .map(|k| ListRow {
            id: k.id,
            category: label_of::<CustomerCategory>(l, &k.category),
            phones: k.phones.0.join("; "),
            tags: k.tags.0.join("、"),
            code: k.code,
            name: k.name,
            region: k.region,
            is_new: k.is_new,
        })
        .collect();
    Ok(render(&List {
        c: s.chrome("customers"),
        rows,
        q: q.q.unwrap_or_default(),
        region: q.region.unwrap_or_default(),
        category: q.category.unwrap_or_default(),
        regions: s.st.svc.regions(&s.actor).await.page(&s)?,
        categories: options::<CustomerCategory>(l),
        kinds: sheet_options(&s),
        can_write: s.actor.can(Permission::WriteCustomers),
        page: found.page,
        pages,
        total: found.total,
        query: query_without_page(&uri),
    }))
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct Form {
    c: Chrome,
    heading: String,
    action: String,
    back: String,
    error: Option<String>,
    version: i64,
    f: FormData,
    kinds: Vec<(String, String)>,
    categories: Vec<(String, String)>,
}

fn form_page(s: &SignedIn, customer: Option<&Customer>, f: FormData, error: Option<String>) -> Form {
    Form {
        c: s.chrome("customers"),
        heading: s.tr().get(if customer.is_some() { "cust.edit" } else { "cust.new" }).to_owned(),
        action: customer.map(|k| format!("/customers/{}/edit", k.id)).unwrap_or_else(|| "/customers".into()),
        back: customer.map(|k| format!("/customers/{}", k.id)).unwrap_or_else(|| "/customers".into()),
        error,
        version: customer.map(|k| k.version).unwrap_or(0),
        f,
        kinds: options::<CustomerKind>(s.locale),
        categories: options::<CustomerCategory>(s.locale),
    }
}

fn input_from(f: &FormData) -> CustomerInput {
    CustomerInput {
        code: f.opt("code"),
        name: f.get("name").into(),
        kind: f.opt("kind"),
        category: f.opt("category"),
        is_new: Some(f.get("is_new") == "1"),
        region: f.opt("region"),
        address: f.opt("address"),
        phones: split_list(f.get("phones")),
        emails: split_list(f.get("emails")),
        tags: split_list(f.get("tags")),
        owner: Some(f.get("owner").trim().to_owned()),
        notes: f.opt("notes"),
    }
}

async fn new_form(s: SignedIn) -> Result<Response, PageError> {
    s.actor.require(Permission::WriteCustomers).page(&s)?;
    let f = FormData(vec![("kind".into(), "organisation".into()), ("category".into(), "end_user".into())]);
    Ok(render(&form_page(&s, None, f, None)))
}

async fn create(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    match s.st.svc.create_customer(&s.actor, &input_from(&f)).await {
        Ok(k) => Ok(Redirect::to(&format!("/customers/{}", k.id)).into_response()),
        Err(e) if is_user_error(&e) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_page(&s, None, f, Some(s.tr().error(&e)))))
                .into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

async fn edit_form(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    s.actor.require(Permission::WriteCustomers).page(&s)?;
    let k = s.st.svc.customer(&s.actor, id).await.page(&s)?;
    let owner = match k.owner_id {
        Some(o) => s.st.svc.user(&s.actor, o).await.map(|u| u.username).unwrap_or_default(),
        None => String::new(),
    };
    let f = FormData(vec![
        ("code".into(), k.code.clone()),
        ("name".into(), k.name.clone()),
        ("kind".into(), k.kind.clone()),
        ("category".into(), k.category.clone()),
        ("is_new".into(), if k.is_new { "1" } else { "" }.into()),
        ("region".into(), k.region.clone()),
        ("address".into(), k.address.clone()),
        ("phones".into(), k.phones.0.join("; ")),
        ("emails".into(), k.emails.0.join("; ")),
        ("tags".into(), k.tags.0.join("; ")),
        ("owner".into(), owner),
        ("notes".into(), k.notes.clone()),
    ]);
    Ok(render(&form_page(&s, Some(&k), f, None)))
}

async fn save(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    match s.st.svc.update_customer(&s.actor, id, version, &input_from(&f)).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(e) if is_user_error(&e) => {
            let k = s.st.svc.customer(&s.actor, id).await.page(&s)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&form_page(&s, Some(&k), f, Some(s.tr().error(&e)))))
                .into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

pub struct CommRow {
    at: String,
    channel: String,
    direction: String,
    stage: String,
    subject: String,
    content: String,
    follow_up: String,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct Show {
    c: Chrome,
    k: Customer,
    error: Option<String>,
    kind: String,
    category: String,
    phones: String,
    emails: String,
    tags: String,
    owner: String,
    contacts: Vec<(String, String, String, String, bool)>,
    contact_options: Vec<(i64, String)>,
    assets: Vec<(String, String, String, String)>,
    products: Vec<(String, String)>,
    contracts: Vec<(String, String, String, String, String)>,
    statuses: Vec<(String, String)>,
    comms: Vec<CommRow>,
    /// (id, number, type, subject, state code, received)
    cases: Vec<(i64, String, String, String, String, String)>,
    /// Follow-up visits (issue #20): (case number, due, state label, rating, outcome).
    visits: Vec<(String, String, String, String, String)>,
    channels: Vec<(String, String)>,
    directions: Vec<(String, String)>,
    stages: Vec<(String, String)>,
    can_write: bool,
    page: u32,
    pages: u32,
    total: i64,
    query: String,
}

#[derive(Deserialize)]
struct ShowQuery {
    page: Option<u32>,
}

async fn show(s: SignedIn, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> Result<Response, PageError> {
    show_page(&s, id, q.page, None).await.map(|p| render(&p))
}

async fn show_page(s: &SignedIn, id: i64, page: Option<u32>, error: Option<String>) -> Result<Show, PageError> {
    let page = Page::parse(page, Some(20)).page(s)?;
    let v = s.st.svc.customer_360(&s.actor, id, page).await.page(s)?;
    let products = s.st.svc.products(&s.actor).await.page(s)?;
    let l = s.locale;
    let c = s.chrome("customers");
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let comms = v
        .communications
        .items
        .iter()
        .map(|m| CommRow {
            at: c.time(&m.occurred_at),
            channel: label_of::<Channel>(l, &m.channel),
            direction: label_of::<Direction>(l, &m.direction),
            stage: label_of::<Stage>(l, &m.stage),
            subject: m.subject.clone(),
            content: m.content.clone(),
            follow_up: match (m.follow_up, m.follow_up_due, m.follow_up_done_at) {
                (true, Some(d), None) => d.to_string(),
                (true, _, Some(_)) => s.tr().get("cust.follow_up_done").to_owned(),
                _ => String::new(),
            },
        })
        .collect();
    let cases = if s.actor.can(Permission::ReadCases) {
        let defs = s.st.svc.process_definitions(&s.actor).await.page(s)?;
        let state_name = |t: &str, code: &str| {
            defs.iter()
                .find(|(_, d)| d.case_type == t)
                .and_then(|(_, d)| d.state(code))
                .map(|st| if l == Locale::En { st.en.clone() } else { st.zh.clone() })
                .unwrap_or_else(|| code.to_owned())
        };
        let f = loopdesk_store::cases::CaseFilter { customer_id: Some(id), ..Default::default() };
        s.st.svc
            .cases(&s.actor, f, Page { page: 1, per_page: 100 })
            .await
            .page(s)?
            .items
            .into_iter()
            .map(|k| {
                let kind = label_of::<loopdesk_domain::case::CaseType>(l, &k.case_type);
                let state = state_name(&k.case_type, &k.state);
                (k.id, k.number, kind, k.subject, state, c.time(&k.received_at))
            })
            .collect()
    } else {
        vec![]
    };
    let visits = if s.actor.can(Permission::ReadCases) {
        let f = loopdesk_store::followup::Filter { customer_id: Some(id), ..Default::default() };
        s.st.svc
            .follow_up_visits(&s.actor, &f)
            .await
            .page(s)?
            .into_iter()
            .map(|r| {
                (
                    r.case_number.unwrap_or_default(),
                    r.visit.due_on.to_string(),
                    s.tr().get(&format!("followup.state.{}", r.visit.state)).to_owned(),
                    r.visit.rating.map(|x| x.to_string()).unwrap_or_default(),
                    r.visit.outcome,
                )
            })
            .collect()
    } else {
        vec![]
    };
    Ok(Show {
        error,
        cases,
        visits,
        kind: label_of::<CustomerKind>(l, &v.customer.kind),
        category: label_of::<CustomerCategory>(l, &v.customer.category),
        phones: v.customer.phones.0.join("; "),
        emails: v.customer.emails.0.join("; "),
        tags: v.customer.tags.0.join("、"),
        owner: v.owner_name.clone().unwrap_or_default(),
        contacts: v
            .contacts
            .iter()
            .map(|p| (p.name.clone(), p.title.clone(), p.phones.0.join("; "), p.email.clone(), p.is_primary))
            .collect(),
        contact_options: v.contacts.iter().map(|p| (p.id, p.name.clone())).collect(),
        assets: v
            .assets
            .iter()
            .map(|(a, p)| {
                (
                    format!("{} {} ({})", p.code, p.name, p.model),
                    a.serial.clone(),
                    date(a.ship_date),
                    date(a.warranty_end),
                )
            })
            .collect(),
        products: products
            .iter()
            .map(|p: &Product| (p.code.clone(), format!("{} {} {}", p.code, p.name, p.model)))
            .collect(),
        contracts: v
            .contracts
            .iter()
            .map(|t| {
                (
                    t.number.clone(),
                    t.signed_on.to_string(),
                    format_cny(t.value_fen),
                    date(t.completed_on),
                    label_of::<ContractStatus>(l, &t.status),
                )
            })
            .collect(),
        statuses: options::<ContractStatus>(l),
        comms,
        channels: options::<Channel>(l),
        directions: options::<Direction>(l),
        stages: options::<Stage>(l),
        can_write: s.actor.can(Permission::WriteCustomers),
        page: v.communications.page,
        pages: v.communications.pages(),
        total: v.communications.total,
        query: String::new(),
        k: v.customer,
        c,
    })
}

/// Runs a form action on the customer page: success goes back to the page, a form mistake shows
/// the page with the reason.
async fn on_customer_page<T>(s: &SignedIn, id: i64, result: Result<T, ServiceError>) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(e) if is_user_error(&e) => {
            let page = show_page(s, id, None, Some(s.tr().error(&e))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

async fn add_contact(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let i = ContactInput {
        name: f.get("name").into(),
        title: f.opt("title"),
        phones: split_list(f.get("phones")),
        email: f.opt("email"),
        primary: Some(f.get("primary") == "1"),
    };
    let r = s.st.svc.add_contact(&s.actor, id, &i).await;
    on_customer_page(&s, id, r).await
}

async fn add_asset(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let i = AssetInput {
        product_code: f.get("product_code").into(),
        serial: f.get("serial").into(),
        ship_date: f.opt("ship_date"),
        warranty_end: f.opt("warranty_end"),
    };
    let r = s.st.svc.add_asset(&s.actor, id, &i).await;
    on_customer_page(&s, id, r).await
}

async fn add_contract(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let i = ContractInput {
        number: f.get("number").into(),
        signed_on: f.get("signed_on").into(),
        value: f.opt("value"),
        completed_on: f.opt("completed_on"),
        status: f.opt("status"),
    };
    let r = s.st.svc.add_contract(&s.actor, id, &i).await;
    on_customer_page(&s, id, r).await
}

async fn add_communication(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let contact_id = match f.opt("contact_id") {
        Some(v) => {
            Some(v.parse::<i64>().map_err(|_| DomainError::invalid("contact_id", "errors.not_number_2")).page(&s)?)
        }
        None => None,
    };
    let i = CommunicationInput {
        contact_id,
        occurred_at: None,
        channel: f.get("channel").into(),
        direction: f.get("direction").into(),
        stage: f.get("stage").into(),
        subject: f.get("subject").into(),
        content: f.opt("content"),
        follow_up: Some(f.get("follow_up") == "1"),
        follow_up_due: f.opt("follow_up_due"),
        case_id: None,
    };
    let r = s.st.svc.add_communication(&s.actor, id, &i).await;
    on_customer_page(&s, id, r).await
}

async fn follow_up_done(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(&s)?;
    s.st.svc.close_follow_up(&s.actor, id, version).await.page(&s)?;
    Ok(Redirect::to("/").into_response())
}

#[derive(Template)]
#[template(path = "products.html")]
struct Products {
    c: Chrome,
    rows: Vec<Product>,
    error: Option<String>,
    can_write: bool,
}

async fn products(s: SignedIn) -> Result<Response, PageError> {
    let rows = s.st.svc.products(&s.actor).await.page(&s)?;
    Ok(render(&Products {
        c: s.chrome("customers"),
        rows,
        error: None,
        can_write: s.actor.can(Permission::WriteCustomers),
    }))
}

async fn create_product(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let months = match f.opt("warranty_months") {
        Some(v) => Some(
            v.parse::<i32>()
                .map_err(|_| DomainError::invalid("warranty_months", "errors.not_whole_number"))
                .page(&s)?,
        ),
        None => None,
    };
    let i = ProductInput {
        code: f.get("code").into(),
        name: f.get("name").into(),
        model: f.opt("model"),
        warranty_months: months,
    };
    match s.st.svc.create_product(&s.actor, &i).await {
        Ok(_) => Ok(Redirect::to("/products").into_response()),
        Err(e) if is_user_error(&e) => {
            let rows = s.st.svc.products(&s.actor).await.page(&s)?;
            let page = Products { c: s.chrome("customers"), rows, error: Some(s.tr().error(&e)), can_write: true };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

#[derive(Template)]
#[template(path = "customer_import.html")]
struct Import {
    c: Chrome,
    kinds: Vec<(String, String)>,
    kind: String,
    imported: Option<usize>,
    error: Option<String>,
    report_id: Option<i64>,
    errors: Vec<RowError>,
}

fn import_page(s: &SignedIn, kind: &str) -> Import {
    Import {
        c: s.chrome("customers"),
        kinds: sheet_options(s),
        kind: kind.to_owned(),
        imported: None,
        error: None,
        report_id: None,
        errors: vec![],
    }
}

async fn import_form(s: SignedIn) -> Result<Response, PageError> {
    s.actor.require(Permission::WriteCustomers).page(&s)?;
    Ok(render(&import_page(&s, "customers")))
}

async fn import(s: SignedIn, mut mp: Multipart) -> Result<Response, PageError> {
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
            let fname = field.file_name().unwrap_or("upload.csv").to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| {
                    DomainError::invalid(
                        "file",
                        loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                    )
                })
                .page(&s)?;
            file = Some((fname, bytes));
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| {
                    DomainError::invalid(
                        name.clone(),
                        loopdesk_domain::reason!("errors.could_not_read_request_body", e = e.body_text()),
                    )
                })
                .page(&s)?;
            fields.push((name, text));
        }
    }
    let form = FormData(fields);
    s.check_csrf(&form)?;
    let kind = form.get("kind").to_owned();
    let mut page = import_page(&s, &kind);
    let result = async {
        let sheet = Sheet::parse(&kind)?;
        let (name, bytes) =
            file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| DomainError::invalid("file", "errors.choose_file"))?;
        let rows = loopdesk_service::tabular::read(&name, &bytes)?;
        s.st.svc.import(&s.actor, sheet, &name, &rows, |_, _| {}).await
    }
    .await;
    match result {
        Ok(ImportOutcome::Imported { rows }) => {
            page.imported = Some(rows);
            Ok(render(&page))
        }
        Ok(ImportOutcome::Rejected { report_id, errors }) => {
            page.report_id = Some(report_id);
            page.errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) if is_user_error(&e) => {
            page.error = Some(s.tr().error(&e));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

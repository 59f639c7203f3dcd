//! User and department administration pages.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use loopdesk_domain::access::{Permission, Role};
use loopdesk_domain::org::DEPARTMENT_KINDS;
use loopdesk_domain::page::Page;
use loopdesk_service::org::{DepartmentInput, NewUser, UserPatch};
use loopdesk_store::org::{Department, User, UserFilter};
use serde::Deserialize;

use super::{Chrome, FormData, OrPage, PageError, SignedIn, query_without_page, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users).post(create_user))
        .route("/users/new", get(new_user))
        .route("/users/{id}", get(edit_user).post(save_user))
        .route("/departments", get(departments).post(create_department))
        .route("/departments/new", get(new_department))
        .route("/departments/{id}", get(edit_department).post(save_department))
}

pub struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    department: String,
    roles: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct Users {
    c: Chrome,
    rows: Vec<UserRow>,
    q: String,
    role: String,
    all_roles: Vec<(String, String)>,
    can_manage: bool,
    page: u32,
    pages: u32,
    total: i64,
    query: String,
}

#[derive(Deserialize)]
struct UsersQuery {
    q: Option<String>,
    role: Option<String>,
    page: Option<u32>,
}

fn role_options(s: &SignedIn) -> Vec<(String, String)> {
    Role::ALL.iter().map(|r| (r.code().to_owned(), s.tr().role(r.code()))).collect()
}

fn dept_name(depts: &[Department], id: Option<i64>) -> String {
    id.and_then(|id| depts.iter().find(|d| d.id == id)).map(|d| d.name.clone()).unwrap_or_default()
}

async fn users(s: SignedIn, OriginalUri(uri): OriginalUri, Query(q): Query<UsersQuery>) -> Result<Response, PageError> {
    let role = q.role.as_deref().filter(|r| !r.is_empty()).map(Role::parse).transpose().page(&s)?;
    let filter = UserFilter { q: q.q.clone().filter(|v| !v.trim().is_empty()), role, ..Default::default() };
    let page = Page::parse(q.page, None).page(&s)?;
    let st = &s.st;
    let found = st.svc.users(&s.actor, filter, page).await.page(&s)?;
    let depts = st.svc.departments(&s.actor).await.page(&s)?;
    let pages = found.pages();
    let rows = found
        .items
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            department: dept_name(&depts, u.department_id),
            roles: u.roles.iter().map(|r| s.tr().role(r.code())).collect::<Vec<_>>().join("、"),
            username: u.username,
            display_name: u.display_name,
            active: u.active,
        })
        .collect();
    Ok(render(&Users {
        c: s.chrome("users"),
        rows,
        q: q.q.unwrap_or_default(),
        role: q.role.unwrap_or_default(),
        all_roles: role_options(&s),
        can_manage: s.actor.can(Permission::ManageUsers),
        page: found.page,
        pages,
        total: found.total,
        query: query_without_page(&uri),
    }))
}

#[derive(Template)]
#[template(path = "user_form.html")]
struct UserForm {
    c: Chrome,
    heading: String,
    action: String,
    is_new: bool,
    saved: bool,
    error: Option<String>,
    version: i64,
    username: String,
    display_name: String,
    email: String,
    phone: String,
    department_id: String,
    departments: Vec<(String, String)>,
    roles: Vec<(String, String, bool)>,
    locale: String,
    active: bool,
    can_manage: bool,
    /// The user's API tokens: (name, created, expires — empty for never, revoked).
    tokens: Vec<(String, String, String, bool)>,
    token_days: u32,
}

impl UserForm {
    async fn build(
        s: &SignedIn,
        user: Option<&User>,
        form: Option<&FormData>,
        error: Option<String>,
    ) -> Result<UserForm, PageError> {
        let depts = s.st.svc.departments(&s.actor).await.page(s)?;
        let pick = |k: &str, current: Option<String>| form.map(|f| f.get(k).to_owned()).or(current).unwrap_or_default();
        let chosen: Vec<String> = match (form, user) {
            (Some(f), _) => f.all("roles"),
            (None, Some(u)) => u.roles.iter().map(|r| r.code().to_owned()).collect(),
            (None, None) => vec!["agent".into()],
        };
        Ok(UserForm {
            c: s.chrome("users"),
            heading: s.tr().get(if user.is_some() { "user.edit" } else { "user.new" }).to_owned(),
            action: user.map(|u| format!("/users/{}", u.id)).unwrap_or_else(|| "/users".into()),
            is_new: user.is_none(),
            saved: false,
            error,
            version: user.map(|u| u.version).unwrap_or(0),
            username: pick("username", user.map(|u| u.username.clone())),
            display_name: pick("display_name", user.map(|u| u.display_name.clone())),
            email: pick("email", user.and_then(|u| u.email.clone())),
            phone: pick("phone", user.and_then(|u| u.phone.clone())),
            department_id: pick("department_id", user.and_then(|u| u.department_id.map(|d| d.to_string()))),
            departments: depts.iter().map(|d| (d.id.to_string(), format!("{} ({})", d.name, d.code))).collect(),
            roles: Role::ALL
                .iter()
                .map(|r| (r.code().to_owned(), s.tr().role(r.code()), chosen.iter().any(|c| c == r.code())))
                .collect(),
            locale: pick("locale", user.map(|u| u.locale.clone()).or(Some(s.locale.code().to_owned()))),
            active: form.map(|f| f.get("active") == "1").or(user.map(|u| u.active)).unwrap_or(true),
            can_manage: s.actor.can(Permission::ManageUsers),
            tokens: Vec::new(),
            token_days: s.st.svc.settings.token_days,
        })
    }
}

async fn new_user(s: SignedIn) -> Result<Response, PageError> {
    s.actor.require(Permission::ManageUsers).page(&s)?;
    Ok(render(&UserForm::build(&s, None, None, None).await?))
}

fn parse_id(field: &str, v: &str) -> Result<Option<i64>, loopdesk_domain::DomainError> {
    if v.trim().is_empty() {
        return Ok(None);
    }
    v.trim().parse().map(Some).map_err(|_| loopdesk_domain::DomainError::invalid(field, "errors.not_number_2"))
}

async fn create_user(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let department_id = parse_id("department_id", f.get("department_id")).page(&s)?;
    let input = NewUser {
        username: f.get("username").into(),
        display_name: f.get("display_name").into(),
        email: f.opt("email"),
        phone: f.opt("phone"),
        department_id,
        roles: f.all("roles"),
        locale: f.opt("locale"),
        password: f.get("password").into(),
    };
    match s.st.svc.create_user(&s.actor, &input).await {
        Ok(u) => Ok(Redirect::to(&format!("/users/{}?saved=1", u.id)).into_response()),
        Err(loopdesk_service::ServiceError::Domain(
            e @ (loopdesk_domain::DomainError::Invalid { .. } | loopdesk_domain::DomainError::Conflict { .. }),
        )) => {
            let mut page = UserForm::build(&s, None, Some(&f), Some(s.tr().error(&e))).await?;
            page.is_new = true;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

async fn edit_user(s: SignedIn, Path(id): Path<i64>, Query(q): Query<Saved>) -> Result<Response, PageError> {
    let u = s.st.svc.user(&s.actor, id).await.page(&s)?;
    let mut page = UserForm::build(&s, Some(&u), None, None).await?;
    page.saved = q.saved.is_some();
    page.tokens =
        s.st.svc
            .tokens(&s.actor, id)
            .await
            .page(&s)?
            .iter()
            .map(|t| {
                let c = &page.c;
                (
                    t.name.clone(),
                    c.time(&t.created_at),
                    t.expires_at.map(|e| c.time(&e)).unwrap_or_default(),
                    t.revoked_at.is_some(),
                )
            })
            .collect();
    Ok(render(&page))
}

async fn save_user(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = f
        .get("version")
        .parse::<i64>()
        .map_err(|_| loopdesk_domain::DomainError::invalid("version", "errors.not_number_2"))
        .page(&s)?;
    let admin = s.actor.can(Permission::ManageUsers);
    let patch = UserPatch {
        version,
        display_name: Some(f.get("display_name").into()),
        email: Some(f.get("email").into()),
        phone: Some(f.get("phone").into()),
        department_id: if admin { Some(parse_id("department_id", f.get("department_id")).page(&s)?) } else { None },
        roles: admin.then(|| f.all("roles")),
        locale: f.opt("locale"),
        active: admin.then(|| f.get("active") == "1"),
        password: f.opt("password"),
        current_password: f.opt("current_password"),
    };
    match s.st.svc.update_user(&s.actor, id, &patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?saved=1")).into_response()),
        Err(loopdesk_service::ServiceError::Domain(
            e @ (loopdesk_domain::DomainError::Invalid { .. } | loopdesk_domain::DomainError::Conflict { .. }),
        )) => {
            let u = s.st.svc.user(&s.actor, id).await.page(&s)?;
            let page = UserForm::build(&s, Some(&u), Some(&f), Some(s.tr().error(&e))).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

pub struct DeptRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    depth: usize,
}

#[derive(Template)]
#[template(path = "departments.html")]
struct Departments {
    c: Chrome,
    rows: Vec<DeptRow>,
    can_manage: bool,
}

/// Departments in tree order (each followed by its children), with depth for indentation.
fn tree_order(depts: &[Department]) -> Vec<(&Department, usize)> {
    fn walk<'a>(all: &'a [Department], parent: Option<i64>, depth: usize, out: &mut Vec<(&'a Department, usize)>) {
        for d in all.iter().filter(|d| d.parent_id == parent) {
            out.push((d, depth));
            if depth < 8 {
                walk(all, Some(d.id), depth + 1, out);
            }
        }
    }
    let mut out = Vec::with_capacity(depts.len());
    walk(depts, None, 0, &mut out);
    out
}

async fn departments(s: SignedIn) -> Result<Response, PageError> {
    let depts = s.st.svc.departments(&s.actor).await.page(&s)?;
    let rows = tree_order(&depts)
        .into_iter()
        .map(|(d, depth)| DeptRow {
            id: d.id,
            code: d.code.clone(),
            name: d.name.clone(),
            kind: s.tr().get(&format!("kind.{}", d.kind)).to_owned(),
            depth: depth.min(4),
        })
        .collect();
    Ok(render(&Departments {
        c: s.chrome("departments"),
        rows,
        can_manage: s.actor.can(Permission::ManageDepartments),
    }))
}

#[derive(Template)]
#[template(path = "department_form.html")]
struct DepartmentForm {
    c: Chrome,
    heading: String,
    action: String,
    error: Option<String>,
    version: i64,
    code: String,
    name: String,
    kind: String,
    parent_id: String,
    kinds: Vec<(String, String)>,
    parents: Vec<(String, String)>,
}

impl DepartmentForm {
    async fn build(
        s: &SignedIn,
        d: Option<&Department>,
        f: Option<&FormData>,
        error: Option<String>,
    ) -> Result<Self, PageError> {
        let depts = s.st.svc.departments(&s.actor).await.page(s)?;
        let pick = |k: &str, cur: Option<String>| f.map(|f| f.get(k).to_owned()).or(cur).unwrap_or_default();
        Ok(DepartmentForm {
            c: s.chrome("departments"),
            heading: s.tr().get(if d.is_some() { "dept.edit" } else { "dept.new" }).to_owned(),
            action: d.map(|d| format!("/departments/{}", d.id)).unwrap_or_else(|| "/departments".into()),
            error,
            version: d.map(|d| d.version).unwrap_or(0),
            code: pick("code", d.map(|d| d.code.clone())),
            name: pick("name", d.map(|d| d.name.clone())),
            kind: pick("kind", d.map(|d| d.kind.clone())),
            parent_id: pick("parent_id", d.and_then(|d| d.parent_id.map(|p| p.to_string()))),
            kinds: DEPARTMENT_KINDS
                .iter()
                .map(|k| (k.to_string(), s.tr().get(&format!("kind.{k}")).to_owned()))
                .collect(),
            parents: depts
                .iter()
                .filter(|p| d.is_none_or(|d| d.id != p.id))
                .map(|p| (p.id.to_string(), format!("{} ({})", p.name, p.code)))
                .collect(),
        })
    }
}

async fn new_department(s: SignedIn) -> Result<Response, PageError> {
    s.actor.require(Permission::ManageDepartments).page(&s)?;
    Ok(render(&DepartmentForm::build(&s, None, None, None).await?))
}

fn department_input(s: &SignedIn, f: &FormData) -> Result<DepartmentInput, PageError> {
    Ok(DepartmentInput {
        code: f.get("code").into(),
        name: f.get("name").into(),
        kind: f.get("kind").into(),
        parent_id: parse_id("parent_id", f.get("parent_id")).page(s)?,
    })
}

async fn create_department(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let input = department_input(&s, &f)?;
    match s.st.svc.create_department(&s.actor, &input).await {
        Ok(_) => Ok(Redirect::to("/departments").into_response()),
        Err(loopdesk_service::ServiceError::Domain(
            e @ (loopdesk_domain::DomainError::Invalid { .. } | loopdesk_domain::DomainError::Conflict { .. }),
        )) => {
            let page = DepartmentForm::build(&s, None, Some(&f), Some(s.tr().error(&e))).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

async fn edit_department(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    s.actor.require(Permission::ManageDepartments).page(&s)?;
    let d = s.st.svc.department(&s.actor, id).await.page(&s)?;
    Ok(render(&DepartmentForm::build(&s, Some(&d), None, None).await?))
}

async fn save_department(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = f
        .get("version")
        .parse::<i64>()
        .map_err(|_| loopdesk_domain::DomainError::invalid("version", "errors.not_number_2"))
        .page(&s)?;
    let input = department_input(&s, &f)?;
    match s.st.svc.update_department(&s.actor, id, version, &input).await {
        Ok(_) => Ok(Redirect::to("/departments").into_response()),
        Err(loopdesk_service::ServiceError::Domain(
            e @ (loopdesk_domain::DomainError::Invalid { .. } | loopdesk_domain::DomainError::Conflict { .. }),
        )) => {
            let d = s.st.svc.department(&s.actor, id).await.page(&s)?;
            let page = DepartmentForm::build(&s, Some(&d), Some(&f), Some(s.tr().error(&e))).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

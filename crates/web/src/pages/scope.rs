//! The handling-department setting: which departments see and work every case of a type
//! (customer service for every complaint, seed 001 2.1).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loopdesk_domain::access::Permission;
use loopdesk_domain::case::CaseType;
use loopdesk_domain::customer::Coded;

use super::customers::label;
use super::{Chrome, FormData, OrPage, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/handling-departments", get(handling)).route("/handling-departments/{id}", post(save_handling))
}

pub struct TypeBox {
    code: String,
    label: String,
    checked: bool,
}

pub struct HandlingRow {
    id: i64,
    name: String,
    code: String,
    /// Labels of the handled types, for readers.
    handled: String,
    boxes: Vec<TypeBox>,
}

#[derive(Template)]
#[template(path = "handling_departments.html")]
struct Handling {
    c: Chrome,
    rows: Vec<HandlingRow>,
    can_manage: bool,
    error: Option<String>,
}

/// Case types a department can be made to handle: every type but the confidential grievance.
fn handled_types() -> impl Iterator<Item = CaseType> {
    CaseType::ALL.iter().copied().filter(|t| *t != CaseType::Grievance)
}

async fn build(s: &SignedIn, error: Option<String>) -> Result<Handling, PageError> {
    let depts = s.st.svc.departments(&s.actor).await.page(s)?;
    let settings = s.st.svc.handling_departments(&s.actor).await.page(s)?;
    let sep = if s.locale == loopdesk_domain::locale::Locale::En { ", " } else { "、" };
    let rows = depts
        .iter()
        .map(|d| {
            let mine: Vec<String> =
                settings.iter().find(|h| h.department_id == d.id).map(|h| h.case_types.clone()).unwrap_or_default();
            let boxes: Vec<TypeBox> = handled_types()
                .map(|t| TypeBox {
                    code: t.code().to_owned(),
                    label: label(s.locale, t).to_owned(),
                    checked: mine.iter().any(|m| m == t.code()),
                })
                .collect();
            let handled = boxes.iter().filter(|b| b.checked).map(|b| b.label.as_str()).collect::<Vec<_>>().join(sep);
            HandlingRow { id: d.id, name: d.name.clone(), code: d.code.clone(), handled, boxes }
        })
        .collect();
    Ok(Handling { c: s.chrome("departments"), rows, can_manage: s.actor.can(Permission::ManageDepartments), error })
}

async fn handling(s: SignedIn) -> Result<Response, PageError> {
    Ok(render(&build(&s, None).await?))
}

async fn save_handling(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    match s.st.svc.set_handled_types(&s.actor, id, &f.all("case_type")).await {
        Ok(_) => Ok(Redirect::to("/handling-departments").into_response()),
        Err(loopdesk_service::ServiceError::Domain(e @ loopdesk_domain::DomainError::Invalid { .. })) => {
            let page = build(&s, Some(s.tr().error(&e))).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

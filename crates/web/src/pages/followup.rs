//! The follow-up visits page (回访, issue #20 item 7): open and recorded visits within the
//! reader's scope, each open one with a form to record its outcome (rating on the 10/8/6/3/1
//! scale and what the customer said, not reached, refused).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loopdesk_domain::followup::{OUTCOMES, RATINGS, STATES, is_late};
use loopdesk_service::followup::OutcomeInput;
use loopdesk_store::followup::Filter;
use serde::Deserialize;

use super::{Chrome, FormData, OrPage, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/follow-ups", get(list)).route("/follow-ups/{id}/outcome", post(record))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: Option<String>,
}

struct Row {
    id: i64,
    version: i64,
    case_id: Option<i64>,
    case_number: String,
    customer: String,
    department: String,
    assignee: String,
    subject: String,
    due: String,
    late: bool,
    open: bool,
    state_label: String,
    rating: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "follow_ups.html")]
struct List {
    c: Chrome,
    rows: Vec<Row>,
    states: Vec<(String, String)>,
    state: String,
    outcomes: Vec<(String, String)>,
    ratings: Vec<(i64, String)>,
}

async fn list(s: SignedIn, Query(q): Query<ListQuery>) -> Result<Response, PageError> {
    let state = q.state.as_deref().map(str::trim).filter(|v| !v.is_empty()).unwrap_or("open").to_owned();
    let f = Filter { state: (state != "all").then(|| state.clone()), ..Default::default() };
    let visits = s.st.svc.follow_up_visits(&s.actor, &f).await.page(&s)?;
    let c = s.chrome("follow_ups");
    let today = s.st.svc.now().with_timezone(&c.tz).date_naive();
    let rows = visits
        .into_iter()
        .map(|r| {
            let v = r.visit;
            Row {
                id: v.id,
                version: v.version,
                case_id: v.case_id,
                case_number: r.case_number.unwrap_or_default(),
                customer: r.customer_name.unwrap_or_default(),
                department: r.department_name.unwrap_or_default(),
                assignee: r.assignee_name.unwrap_or_default(),
                subject: v.subject,
                due: v.due_on.to_string(),
                late: is_late(&v.state, v.due_on, today),
                open: v.state == "open",
                state_label: c.t.get(&format!("followup.state.{}", v.state)).to_owned(),
                rating: v.rating.map(|r| r.to_string()).unwrap_or_default(),
                outcome: v.outcome,
            }
        })
        .collect();
    let mut states: Vec<(String, String)> =
        STATES.iter().map(|st| (st.to_string(), c.t.get(&format!("followup.state.{st}")).to_owned())).collect();
    states.push(("all".into(), c.t.get("common.all").to_owned()));
    let outcomes =
        OUTCOMES.iter().map(|o| (o.to_string(), c.t.get(&format!("followup.state.{o}")).to_owned())).collect();
    let ratings = RATINGS.iter().map(|r| (*r, c.t.get(&format!("followup.rating.{r}")).to_owned())).collect();
    Ok(render(&List { c, rows, states, state, outcomes, ratings }))
}

async fn record(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = f.get("version").parse::<i64>().unwrap_or(0);
    let rating = match f.get("rating").trim() {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| loopdesk_domain::DomainError::invalid("rating", "followup.err.rating_scale"))
                .page(&s)?,
        ),
    };
    let i = OutcomeInput { outcome: f.get("outcome").to_owned(), rating, text: f.get("text").to_owned() };
    s.st.svc.record_follow_up_visit(&s.actor, id, version, &i).await.page(&s)?;
    Ok(Redirect::to("/follow-ups").into_response())
}

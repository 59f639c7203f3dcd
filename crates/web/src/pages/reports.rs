//! The monthly case report: a year's cases by type, category, lead department and severity.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use chrono::Datelike;
use loopdesk_domain::case::{CaseType, Severity};
use loopdesk_domain::customer::Coded;
use loopdesk_domain::locale::Locale;
use serde::Deserialize;

use super::customers::label;
use super::{Chrome, OrPage, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/reports/cases", get(case_report))
}

/// One dimension's table: a row per value with twelve monthly counts and the row total.
pub struct Table {
    title: String,
    rows: Vec<(String, Vec<i64>, i64)>,
}

#[derive(Template)]
#[template(path = "case_report.html")]
struct CaseReportPage {
    c: Chrome,
    year: i32,
    total: i64,
    month_names: Vec<String>,
    months: Vec<i64>,
    tables: Vec<Table>,
}

#[derive(Deserialize)]
struct ReportQuery {
    year: Option<String>,
}

fn label_of<T: Coded>(l: Locale, code: &str) -> String {
    T::parse(code).map(|v| label(l, v).to_owned()).unwrap_or_else(|_| code.to_owned())
}

async fn case_report(s: SignedIn, Query(q): Query<ReportQuery>) -> Result<Response, PageError> {
    let now_year = s.st.svc.now().with_timezone(&s.st.svc.settings.timezone).year();
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        Some(y) => {
            y.parse::<i32>().map_err(|_| loopdesk_domain::DomainError::invalid("year", "errors.not_year")).page(&s)?
        }
        None => now_year,
    };
    let report = s.st.svc.case_report(&s.actor, year).await.page(&s)?;
    let l = s.locale;
    let c = s.chrome("case_reports");
    let zh = l != Locale::En;
    let none = c.t.get("report.unassessed").to_owned();
    let categories: HashMap<String, String> =
        s.st.svc
            .categories(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .map(|x| (x.code, if zh { x.zh } else { x.en }))
            .collect();
    let departments: HashMap<i64, String> =
        s.st.svc.departments(&s.actor).await.page(&s)?.into_iter().map(|d| (d.id, d.name)).collect();
    let table = |title: &str, by: std::collections::BTreeMap<String, [i64; 12]>| Table {
        title: c.t.get(title).to_owned(),
        rows: by.into_iter().map(|(k, m)| (k, m.to_vec(), m.iter().sum())).collect(),
    };
    let or_none = |v: String| if v.is_empty() { none.clone() } else { v };
    let tables = vec![
        table("report.by_type", report.by_month(|r| label_of::<CaseType>(l, &r.case_type))),
        table(
            "report.by_category",
            report.by_month(|r| or_none(categories.get(&r.category).cloned().unwrap_or_else(|| r.category.clone()))),
        ),
        table(
            "report.by_department",
            report.by_month(|r| {
                or_none(departments.get(&r.department_id).cloned().unwrap_or_else(|| {
                    if r.department_id == 0 { String::new() } else { format!("#{}", r.department_id) }
                }))
            }),
        ),
        table(
            "report.by_severity",
            report.by_month(|r| {
                or_none(if r.severity.is_empty() { String::new() } else { label_of::<Severity>(l, &r.severity) })
            }),
        ),
    ];
    let months = report.by_month(|_| ()).remove(&()).unwrap_or([0; 12]).to_vec();
    const EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month_names = (1..=12).map(|m| if zh { format!("{m}月") } else { EN[m - 1].to_owned() }).collect();
    Ok(render(&CaseReportPage { year, total: report.total(), month_names, months, tables, c }))
}

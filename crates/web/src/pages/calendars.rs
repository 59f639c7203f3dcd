//! Business calendar pages: the list, a month view with holidays and 调休 make-up days, and forms
//! for weekly hours, dated exceptions and importing a year's exceptions as CSV.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate, Utc, Weekday};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Permission;
use loopdesk_domain::calendar::official_years;
use loopdesk_domain::calendar::{DAY_KEYS, DayRule, ExceptionSpec, PeriodSpec, WeeklySpec};
use loopdesk_service::ServiceError;
use loopdesk_service::calendars::{CalendarRecord, ExceptionsFormat, calendar_missing_years};
use serde::Deserialize;

use super::{Chrome, FormData, OrPage, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calendars", get(list))
        .route("/calendars/{code}", get(show))
        .route("/calendars/{code}/weekly", post(save_weekly))
        .route("/calendars/{code}/exceptions", post(add_exception))
        .route("/calendars/{code}/exceptions/remove", post(remove_exception))
        .route("/calendars/{code}/import", post(import))
        .route("/calendars/{code}/official", post(load_official))
        .route("/calendars/{code}/notice", post(notice))
}

pub struct CalendarRow {
    code: String,
    name: String,
    timezone: String,
    is_default: bool,
    exceptions: usize,
}

#[derive(Template)]
#[template(path = "calendars.html")]
struct Calendars {
    c: Chrome,
    rows: Vec<CalendarRow>,
}

async fn list(s: SignedIn) -> Result<Response, PageError> {
    let rows =
        s.st.svc
            .calendars(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .map(|r| CalendarRow {
                timezone: r.calendar.timezone().name().to_owned(),
                exceptions: r.calendar.exceptions().len(),
                code: r.code,
                name: r.name,
                is_default: r.is_default,
            })
            .collect();
    Ok(render(&Calendars { c: s.chrome("calendars"), rows }))
}

/// One day of the month grid.
pub struct DayCell {
    day: u32,
    date: String,
    /// `cal-work`, `cal-off`, `cal-holiday`, `cal-makeup` or `cal-hours`.
    class: &'static str,
    /// The exception's label, empty on an ordinary day.
    label: String,
    hours: String,
}

pub struct ExceptionRow {
    date: String,
    kind: String,
    hours: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    c: Chrome,
    code: String,
    name: String,
    timezone: String,
    version: i64,
    can_manage: bool,
    saved: bool,
    error: Option<String>,
    month: String,
    month_title: String,
    prev: String,
    next: String,
    year: i32,
    weekday_names: Vec<String>,
    weeks: Vec<Vec<Option<DayCell>>>,
    /// (key, label, text of the form field)
    weekly: Vec<(String, String, String)>,
    exceptions: Vec<ExceptionRow>,
    import_text: String,
    /// Years this calendar has no holiday table for (this year; from 1 November the next).
    missing_years: Vec<i32>,
    /// The years whose official table can be loaded.
    official_years: Vec<i32>,
    notice: Option<NoticePreview>,
}

/// A pasted notice shown for confirmation before it is applied.
pub struct NoticePreview {
    year: i32,
    text: String,
    /// (festival, days off, days worked)
    festivals: Vec<(String, String, String)>,
    /// (month title, weeks) for every month of the year, as the calendar would be.
    months: Vec<(String, Vec<Vec<Option<DayCell>>>)>,
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
    saved: Option<String>,
}

fn periods_text(periods: &[loopdesk_domain::calendar::Period]) -> String {
    periods.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// `2025-10` → the first of that month.
fn parse_month(s: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("month", "errors.not_month_yyyy_mm"))
}

fn month_grid(s: &SignedIn, rec: &CalendarRecord, first: NaiveDate) -> Vec<Vec<Option<DayCell>>> {
    let t = s.tr();
    let cal = &rec.calendar;
    let mut weeks = Vec::new();
    let mut week: Vec<Option<DayCell>> = (0..first.weekday().num_days_from_monday()).map(|_| None).collect();
    for date in first.iter_days().take_while(|d| d.month() == first.month()) {
        let (class, label) = match cal.rule_on(date) {
            Some(DayRule::Holiday) => ("cal-holiday", t.get("calendar.holiday")),
            Some(DayRule::Workday(_)) => ("cal-makeup", t.get("calendar.makeup")),
            Some(DayRule::Hours(_)) => ("cal-hours", t.get("calendar.changed_hours")),
            None if cal.is_working_day(date) => ("cal-work", ""),
            None => ("cal-off", ""),
        };
        week.push(Some(DayCell {
            day: date.day(),
            date: date.format("%Y-%m-%d").to_string(),
            class,
            label: label.to_owned(),
            hours: periods_text(cal.periods_on(date)),
        }));
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
    }
    if !week.is_empty() {
        week.resize_with(7, || None);
        weeks.push(week);
    }
    weeks
}

fn kind_label(s: &SignedIn, rule: &DayRule) -> String {
    let key = match rule {
        DayRule::Holiday => "calendar.holiday",
        DayRule::Workday(_) => "calendar.makeup",
        DayRule::Hours(_) => "calendar.changed_hours",
    };
    s.tr().get(key).to_owned()
}

impl CalendarPage {
    fn build(
        s: &SignedIn,
        rec: &CalendarRecord,
        month: Option<&str>,
        form: Option<&FormData>,
    ) -> Result<Self, PageError> {
        let cal = &rec.calendar;
        let first = match month.filter(|m| !m.trim().is_empty()) {
            Some(m) => parse_month(m).page(s)?,
            // No month asked for: this month where the calendar is.
            None => {
                let today = cal.local_date(Utc::now());
                today.with_day(1).unwrap_or(today)
            }
        };
        let prev = first.checked_sub_months(chrono::Months::new(1)).unwrap_or(first);
        let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
        let days = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
        let t = s.tr();
        let weekly = DAY_KEYS
            .iter()
            .zip(days)
            .map(|(key, day)| {
                let text = form.map(|f| f.get(key).to_owned()).unwrap_or_else(|| periods_text(cal.weekly_periods(day)));
                (key.to_string(), t.get(&format!("calendar.day.{key}")).to_owned(), text)
            })
            .collect();
        Ok(CalendarPage {
            c: s.chrome("calendars"),
            code: rec.code.clone(),
            name: rec.name.clone(),
            timezone: cal.timezone().name().to_owned(),
            version: rec.version,
            can_manage: s.actor.can(Permission::ManageSettings),
            saved: false,
            error: None,
            month: first.format("%Y-%m").to_string(),
            month_title: first.format(if s.locale.code() == "en" { "%B %Y" } else { "%Y年%-m月" }).to_string(),
            prev: prev.format("%Y-%m").to_string(),
            next: next.format("%Y-%m").to_string(),
            year: first.year(),
            weekday_names: DAY_KEYS.iter().map(|k| t.get(&format!("calendar.short.{k}")).to_owned()).collect(),
            weeks: month_grid(s, rec, first),
            weekly,
            exceptions: cal
                .exceptions_in_year(first.year())
                .map(|(d, r)| ExceptionRow {
                    date: d.format("%Y-%m-%d").to_string(),
                    kind: kind_label(s, r),
                    hours: periods_text(r.periods()),
                })
                .collect(),
            import_text: form.map(|f| f.get("csv").to_owned()).unwrap_or_default(),
            missing_years: calendar_missing_years(cal, cal.local_date(s.st.svc.now())),
            official_years: official_years().collect(),
            notice: None,
        })
    }
}

async fn show(s: SignedIn, Path(code): Path<String>, Query(q): Query<MonthQuery>) -> Result<Response, PageError> {
    let rec = s.st.svc.calendar(&s.actor, &code).await.page(&s)?;
    let mut page = CalendarPage::build(&s, &rec, q.month.as_deref(), None)?;
    page.saved = q.saved.is_some();
    Ok(render(&page))
}

/// `08:30-12:00,13:30-17:30` → periods as the JSON contract has them; the domain checks the times.
fn parse_periods(text: &str) -> Vec<PeriodSpec> {
    text.split([',', ';', '，'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, b)) => [a.trim().to_owned(), b.trim().to_owned()],
            None => [p.to_owned(), String::new()],
        })
        .collect()
}

fn version_of(s: &SignedIn, f: &FormData) -> Result<i64, PageError> {
    f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.not_number_2")).page(s)
}

/// After a change: back to the month being looked at, or the form again with the error.
async fn finish(
    s: &SignedIn,
    code: &str,
    f: &FormData,
    result: Result<CalendarRecord, ServiceError>,
) -> Result<Response, PageError> {
    let month = f.opt("month");
    match result {
        Ok(rec) => {
            let q: String = month
                .map(|m| format!("month={}&", form_urlencoded::byte_serialize(m.as_bytes()).collect::<String>()))
                .unwrap_or_default();
            Ok(Redirect::to(&format!("/calendars/{}?{q}saved=1", rec.code)).into_response())
        }
        Err(ServiceError::Domain(e @ (DomainError::Invalid { .. } | DomainError::Conflict { .. }))) => {
            let status = if matches!(e, DomainError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let rec = s.st.svc.calendar(&s.actor, code).await.page(s)?;
            let mut page = CalendarPage::build(s, &rec, month.as_deref(), Some(f))?;
            page.error = Some(s.tr().error(&e));
            Ok((status, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

async fn save_weekly(s: SignedIn, Path(code): Path<String>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = version_of(&s, &f)?;
    let day = |k: &str| parse_periods(f.get(k));
    let weekly = WeeklySpec {
        mon: day("mon"),
        tue: day("tue"),
        wed: day("wed"),
        thu: day("thu"),
        fri: day("fri"),
        sat: day("sat"),
        sun: day("sun"),
    };
    let result = s.st.svc.set_calendar_weekly(&s.actor, &code, version, weekly).await;
    finish(&s, &code, &f, result).await
}

async fn add_exception(s: SignedIn, Path(code): Path<String>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = version_of(&s, &f)?;
    let exception = ExceptionSpec {
        date: f.get("date").into(),
        kind: f.get("kind").into(),
        periods: parse_periods(f.get("periods")),
    };
    let result = s.st.svc.set_calendar_exception(&s.actor, &code, version, exception).await;
    finish(&s, &code, &f, result).await
}

async fn remove_exception(s: SignedIn, Path(code): Path<String>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = version_of(&s, &f)?;
    let date = NaiveDate::parse_from_str(f.get("date").trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("date", "errors.not_date_yyyy_mm_dd"))
        .page(&s)?;
    let result = s.st.svc.remove_calendar_exception(&s.actor, &code, version, date).await;
    finish(&s, &code, &f, result).await
}

async fn import(s: SignedIn, Path(code): Path<String>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let year =
        f.get("year").trim().parse::<i32>().map_err(|_| DomainError::invalid("year", "errors.not_year")).page(&s)?;
    let result = s.st.svc.import_calendar_exceptions(&s.actor, &code, year, ExceptionsFormat::Csv, f.get("csv")).await;
    finish(&s, &code, &f, result).await
}

fn year_of(s: &SignedIn, f: &FormData) -> Result<i32, PageError> {
    f.get("year").trim().parse::<i32>().map_err(|_| DomainError::invalid("year", "errors.not_year")).page(s)
}

/// "Load the official table for year N".
async fn load_official(s: SignedIn, Path(code): Path<String>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = version_of(&s, &f)?;
    let year = year_of(&s, &f)?;
    let result = s.st.svc.load_official_holidays(&s.actor, &code, version, year).await;
    finish(&s, &code, &f, result).await
}

/// A pasted State Council notice: "preview" shows the year as it would be; "apply" stores it.
async fn notice(s: SignedIn, Path(code): Path<String>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let year = year_of(&s, &f)?;
    let text = f.get("text");
    if f.get("apply") == "1" {
        let version = version_of(&s, &f)?;
        let result = s.st.svc.apply_holiday_notice(&s.actor, &code, version, year, text).await;
        return finish(&s, &code, &f, result).await;
    }
    let (preview, festivals) = match s.st.svc.preview_holiday_notice(&s.actor, &code, year, text).await {
        Ok(p) => p,
        Err(e) => return finish(&s, &code, &f, Err(e)).await,
    };
    let current = s.st.svc.calendar(&s.actor, &code).await.page(&s)?;
    let mut page = CalendarPage::build(&s, &current, None, Some(&f))?;
    let join = |d: &[NaiveDate]| d.iter().map(|x| x.format("%m-%d").to_string()).collect::<Vec<_>>().join(" ");
    let months = (1..=12)
        .filter_map(|m| NaiveDate::from_ymd_opt(year, m, 1))
        .map(|first| {
            let title = first.format(if s.locale.code() == "en" { "%B %Y" } else { "%Y年%-m月" }).to_string();
            (title, month_grid(&s, &preview, first))
        })
        .collect();
    page.notice = Some(NoticePreview {
        year,
        text: text.to_owned(),
        festivals: festivals.iter().map(|x| (x.name.clone(), join(&x.off), join(&x.work))).collect(),
        months,
    });
    Ok(render(&page))
}

//! Business calendars: the JSON contract, due-time arithmetic, and a year's exceptions as CSV or iCalendar.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use loopdesk_domain::calendar::{CalendarSpec, Duration, ExceptionSpec, WeeklySpec};
use loopdesk_service::calendars::{CalendarInput, CalendarRecord, ExceptionsFormat};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

#[derive(Serialize, ToSchema)]
pub struct CalendarDto {
    pub code: String,
    pub name: String,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// `{"mon":[["08:30","12:00"],["13:30","17:30"]],…,"sun":[]}`; `24:00` ends a period at midnight.
    #[schema(value_type = Object)]
    pub weekly: WeeklySpec,
    /// `[{"date":"2025-10-01","kind":"holiday"},{"date":"2025-10-11","kind":"workday","periods":[…]}]`.
    #[schema(value_type = Vec<Object>)]
    pub exceptions: Vec<ExceptionSpec>,
    pub is_default: bool,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl From<CalendarRecord> for CalendarDto {
    fn from(r: CalendarRecord) -> Self {
        let spec = r.calendar.to_spec();
        CalendarDto {
            code: r.code,
            name: r.name,
            timezone: spec.timezone,
            weekly: spec.weekly,
            exceptions: spec.exceptions,
            is_default: r.is_default,
            version: r.version,
            updated_at: r.updated_at,
        }
    }
}

/// All calendars.
#[utoipa::path(get, path = "/calendars", tag = "calendars", responses((status = 200, body = Vec<CalendarDto>)))]
pub async fn list_calendars(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<CalendarDto>>> {
    Ok(Json(st.svc.calendars(&a.actor).await?.into_iter().map(Into::into).collect()))
}

/// One calendar.
#[utoipa::path(get, path = "/calendars/{code}", tag = "calendars", params(("code" = String, Path)),
    responses((status = 200, body = CalendarDto), (status = 404, body = ErrorBody)))]
pub async fn get_calendar(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<CalendarDto>> {
    Ok(Json(st.svc.calendar(&a.actor, &code).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    /// Defaults to the code when creating; kept when left out on update.
    pub name: Option<String>,
    /// Required when the calendar exists: the version you read (stale → 409).
    pub version: Option<i64>,
    pub timezone: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub weekly: WeeklySpec,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub exceptions: Vec<ExceptionSpec>,
}

/// Create or replace a calendar (administrators). Errors name the field, e.g. `weekly.mon[1]`.
#[utoipa::path(put, path = "/calendars/{code}", tag = "calendars", params(("code" = String, Path)), request_body = CalendarBody,
    responses((status = 200, body = CalendarDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_calendar(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<CalendarBody>,
) -> ApiResult<Json<CalendarDto>> {
    let input = CalendarInput {
        name: b.name,
        version: b.version,
        spec: CalendarSpec { timezone: b.timezone, weekly: b.weekly, exceptions: b.exceptions },
    };
    Ok(Json(st.svc.put_calendar(&a.actor, &code, &input).await?.into()))
}

/// A service-level target; exactly one key.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum DurationBody {
    WorkingHours(i64),
    WorkingMinutes(i64),
    WorkingDays(i64),
    Hours(i64),
    Months(i64),
}

fn parse_duration(v: serde_json::Value) -> Result<Duration, ApiError> {
    parse_duration_at("duration", v)
}

/// A duration object; errors name `field`.
pub(crate) fn parse_duration_at(field: &str, v: serde_json::Value) -> Result<Duration, ApiError> {
    let d: DurationBody = serde_json::from_value(v).map_err(|e| {
        ApiError::invalid(field, loopdesk_domain::reason!("errors.expected_one_working_hours_working", e))
    })?;
    Ok(match d {
        DurationBody::WorkingHours(h) => Duration::working_hours(h),
        DurationBody::WorkingMinutes(m) => Duration::WorkingMinutes(m),
        DurationBody::WorkingDays(n) => Duration::WorkingDays(n),
        DurationBody::Hours(h) => Duration::Hours(h),
        DurationBody::Months(n) => Duration::Months(n),
    })
}

fn parse_instant(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::invalid(field, loopdesk_domain::reason!("errors.not_rfc_3339_time_with", e)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DueBody {
    /// RFC 3339 with offset, e.g. `2025-09-26T16:00:00+08:00`.
    pub start: String,
    /// `{"working_hours": N}`, `{"working_minutes": N}`, `{"working_days": N}`, `{"hours": N}` or `{"months": N}`.
    #[schema(value_type = Object)]
    pub duration: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct DueDto {
    /// RFC 3339 in the calendar's time zone.
    pub due: String,
}

/// When a target started at `start` falls due under this calendar.
#[utoipa::path(post, path = "/calendars/{code}/due", tag = "calendars", params(("code" = String, Path)), request_body = DueBody,
    responses((status = 200, body = DueDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn due(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<DueBody>,
) -> ApiResult<Json<DueDto>> {
    let start = parse_instant("start", &b.start)?;
    let duration = parse_duration(b.duration)?;
    let at = st.svc.calendar_due(&a.actor, &code, start, duration).await?;
    Ok(Json(DueDto { due: at.to_rfc3339_opts(SecondsFormat::Secs, false) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElapsedBody {
    /// RFC 3339 with offset.
    pub from: String,
    /// RFC 3339 with offset; before `from` gives a negative result.
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct ElapsedDto {
    pub working_minutes: i64,
}

/// Open time between two instants under this calendar, in whole minutes.
#[utoipa::path(post, path = "/calendars/{code}/elapsed", tag = "calendars", params(("code" = String, Path)), request_body = ElapsedBody,
    responses((status = 200, body = ElapsedDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn elapsed(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<ElapsedBody>,
) -> ApiResult<Json<ElapsedDto>> {
    let from = parse_instant("from", &b.from)?;
    let to = parse_instant("to", &b.to)?;
    let d = st.svc.calendar_elapsed(&a.actor, &code, from, to).await?;
    Ok(Json(ElapsedDto { working_minutes: d.num_minutes() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The year whose exceptions are read or replaced, e.g. 2025.
    pub year: i32,
}

fn media_type(format: ExceptionsFormat) -> (&'static str, &'static str) {
    match format {
        ExceptionsFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExceptionsFormat::Ical => ("text/calendar; charset=utf-8", "ics"),
    }
}

async fn export(st: &AppState, a: &ApiActor, code: &str, year: i32, format: ExceptionsFormat) -> ApiResult<Response> {
    let text = st.svc.export_calendar_exceptions(&a.actor, code, year, format).await?;
    let (mime, ext) = media_type(format);
    // The code is restricted to ASCII letters, digits, - and _, so it is safe in the header.
    let disposition = format!("attachment; filename=\"{}-{year}.{ext}\"", code.trim().to_ascii_uppercase());
    Ok(([(CONTENT_TYPE, mime.to_owned()), (CONTENT_DISPOSITION, disposition)], text).into_response())
}

async fn import(
    st: &AppState,
    a: &ApiActor,
    code: &str,
    year: i32,
    format: ExceptionsFormat,
    body: &[u8],
) -> ApiResult<Json<CalendarDto>> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid("body", "errors.not_utf_8_text"))?;
    Ok(Json(st.svc.import_calendar_exceptions(&a.actor, code, year, format, text).await?.into()))
}

/// A year's exceptions as CSV (`date,kind,periods`).
#[utoipa::path(get, path = "/calendars/{code}/exceptions.csv", tag = "calendars", params(("code" = String, Path), YearQuery),
    responses((status = 200, body = String, content_type = "text/csv"), (status = 404, body = ErrorBody)))]
pub async fn export_csv(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> ApiResult<Response> {
    export(&st, &a, &code, q.year, ExceptionsFormat::Csv).await
}

/// Replace a year's exceptions by a CSV file (administrators); all or nothing.
#[utoipa::path(post, path = "/calendars/{code}/exceptions.csv", tag = "calendars", params(("code" = String, Path), YearQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = CalendarDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_csv(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
    body: Bytes,
) -> ApiResult<Json<CalendarDto>> {
    import(&st, &a, &code, q.year, ExceptionsFormat::Csv, &body).await
}

/// A year's exceptions as iCalendar all-day events.
#[utoipa::path(get, path = "/calendars/{code}/exceptions.ics", tag = "calendars", params(("code" = String, Path), YearQuery),
    responses((status = 200, body = String, content_type = "text/calendar"), (status = 404, body = ErrorBody)))]
pub async fn export_ics(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> ApiResult<Response> {
    export(&st, &a, &code, q.year, ExceptionsFormat::Ical).await
}

/// Replace a year's exceptions by an iCalendar file (administrators); all or nothing.
#[utoipa::path(post, path = "/calendars/{code}/exceptions.ics", tag = "calendars", params(("code" = String, Path), YearQuery),
    request_body(content = String, content_type = "text/calendar"),
    responses((status = 200, body = CalendarDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_ics(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<YearQuery>,
    body: Bytes,
) -> ApiResult<Json<CalendarDto>> {
    import(&st, &a, &code, q.year, ExceptionsFormat::Ical, &body).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficialBody {
    /// The version you read (stale → 409).
    pub version: i64,
    /// A year with a shipped table (2007–2026).
    #[schema(minimum = 1900, maximum = 2200)]
    pub year: i32,
}

/// Load the shipped official China holiday table of one year into a calendar (administrators);
/// that year's exceptions are replaced.
#[utoipa::path(post, path = "/calendars/{code}/official", tag = "calendars", params(("code" = String, Path)), request_body = OfficialBody,
    responses((status = 200, body = CalendarDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn load_official(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<OfficialBody>,
) -> ApiResult<Json<CalendarDto>> {
    Ok(Json(st.svc.load_official_holidays(&a.actor, &code, b.version, b.year).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    #[schema(minimum = 1900, maximum = 2200)]
    pub year: i32,
    /// The notice's text (国务院办公厅关于N年部分节假日安排的通知), at least its numbered sections.
    #[schema(max_length = 20000)]
    pub text: String,
    /// Give the version you read to apply the notice; leave it out to preview only.
    pub version: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct FestivalDto {
    pub name: String,
    pub off: Vec<String>,
    pub work: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeDto {
    pub applied: bool,
    pub festivals: Vec<FestivalDto>,
    /// The calendar as it is (applied) or would be (preview).
    pub calendar: CalendarDto,
}

/// Read a pasted State Council holiday notice: preview the holidays and make-up days it names, or
/// (with `version`) apply them to the calendar. Errors name `text`, `section N` or `year`.
#[utoipa::path(post, path = "/calendars/{code}/notice", tag = "calendars", params(("code" = String, Path)), request_body = NoticeBody,
    responses((status = 200, body = NoticeDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn notice(
    State(st): State<AppState>,
    a: ApiActor,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<NoticeBody>,
) -> ApiResult<Json<NoticeDto>> {
    let (rec, festivals) = st.svc.preview_holiday_notice(&a.actor, &code, b.year, &b.text).await?;
    let festivals = festivals
        .into_iter()
        .map(|f| FestivalDto {
            name: f.name,
            off: f.off.iter().map(ToString::to_string).collect(),
            work: f.work.iter().map(ToString::to_string).collect(),
        })
        .collect();
    let (applied, rec) = match b.version {
        Some(v) => (true, st.svc.apply_holiday_notice(&a.actor, &code, v, b.year, &b.text).await?),
        None => (false, rec),
    };
    Ok(Json(NoticeDto { applied, festivals, calendar: rec.into() }))
}

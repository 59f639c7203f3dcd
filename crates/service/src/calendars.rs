//! Business calendars (issue "Service-level clocks and business calendars"): stored as their JSON
//! contract, parsed by `Calendar::from_spec` on every read and write so a stored calendar is always
//! valid, and used for due-time arithmetic.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::calendar::{
    Calendar, CalendarSpec, DayRule, Duration, ExceptionSpec, Festival, WeeklySpec, due, elapsed_working,
    exceptions_in_year_from, exceptions_to_csv, exceptions_to_ical, official_exceptions, official_years,
    parse_exceptions_csv, parse_exceptions_ical, parse_holiday_notice, years_missing_table,
};
use loopdesk_domain::org::{DepartmentCode, required_text};
use loopdesk_store::StoreError;
use loopdesk_store::calendars::{self, CalendarFields, CalendarRow};

use crate::error::StoreResultExt;
use crate::{Service, ServiceError, ServiceResult};

/// A stored calendar with its parsed rules.
#[derive(Debug, Clone)]
pub struct CalendarRecord {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub calendar: Calendar,
    pub is_default: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CalendarRecord {
    fn from_row(row: CalendarRow) -> ServiceResult<CalendarRecord> {
        // A stored spec was checked when written; failing to parse it now means the table was edited by hand.
        let spec: CalendarSpec = serde_json::from_str(&row.spec)
            .map_err(|e| ServiceError::Internal(format!("calendar {}: stored spec unreadable: {e}", row.code)))?;
        let calendar = Calendar::from_spec(&spec)
            .map_err(|e| ServiceError::Internal(format!("calendar {}: stored spec invalid: {e}", row.code)))?;
        Ok(CalendarRecord {
            id: row.id,
            code: row.code,
            name: row.name,
            calendar,
            is_default: row.is_default,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The body of `PUT /calendars/{code}`.
#[derive(Debug, Clone)]
pub struct CalendarInput {
    /// Defaults to the code for a new calendar, keeps the stored name otherwise.
    pub name: Option<String>,
    /// Required when the calendar exists (a stale version is a conflict); ignored on creation.
    pub version: Option<i64>,
    pub spec: CalendarSpec,
}

/// Exchange formats for a year's exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionsFormat {
    Csv,
    Ical,
}

/// Where a change to an existing calendar comes from: a form with the version it was read at, or
/// an import that applies to whatever is current.
enum Expect {
    Version(i64),
    Current,
}

fn to_json(spec: &CalendarSpec) -> ServiceResult<String> {
    serde_json::to_string(spec).map_err(|e| ServiceError::Internal(format!("calendar spec: {e}")))
}

fn check_year(year: i32) -> Result<(), DomainError> {
    if (1900..=2200).contains(&year) { Ok(()) } else { Err(DomainError::invalid("year", "errors.must_1900_2200")) }
}

/// Standard office hours: Monday to Friday 08:30–12:00 and 13:30–17:30, with every shipped China
/// holiday table (2007 onwards).
pub(crate) fn office_calendar() -> Result<Calendar, DomainError> {
    let day = || vec![["08:30".to_owned(), "12:00".to_owned()], ["13:30".to_owned(), "17:30".to_owned()]];
    let spec = CalendarSpec {
        timezone: "Asia/Shanghai".into(),
        weekly: WeeklySpec { mon: day(), tue: day(), wed: day(), thu: day(), fri: day(), ..Default::default() },
        exceptions: Vec::new(),
    };
    let mut cal = Calendar::from_spec(&spec)?;
    fill_official_years(&mut cal, |_| true)?;
    Ok(cal)
}

/// Loads the shipped table into every year `which` selects; returns the years loaded.
fn fill_official_years(cal: &mut Calendar, which: impl Fn(i32) -> bool) -> Result<Vec<i32>, DomainError> {
    let makeup = cal.makeup_workday()?;
    let mut loaded = Vec::new();
    for year in official_years().filter(|y| which(*y)) {
        if let Some(rows) = official_exceptions(year, makeup.periods()) {
            cal.replace_exceptions_in_year(year, rows)?;
            loaded.push(year);
        }
    }
    Ok(loaded)
}

/// True when the calendar keeps holiday tables at all (an always-open calendar has none to miss).
fn uses_holiday_tables(cal: &Calendar) -> bool {
    cal.exceptions().values().any(|r| *r == DayRule::Holiday)
}

/// The years, as of `today`, for which a calendar that keeps holiday tables has none: the current
/// year and, from 1 November, the next.
pub fn calendar_missing_years(cal: &Calendar, today: NaiveDate) -> Vec<i32> {
    if !uses_holiday_tables(cal) {
        return Vec::new();
    }
    years_missing_table(today, |y| cal.exceptions_in_year(y).any(|(_, r)| *r == DayRule::Holiday))
}

/// Applies a parsed notice for `year`: its rows dated in `year` replace that year's exceptions, rows
/// of the neighbouring years (a 元旦 break from 30 December) are set one by one.
fn apply_festivals(cal: &mut Calendar, year: i32, festivals: &[Festival]) -> Result<(), DomainError> {
    let makeup = cal.makeup_workday()?;
    cal.replace_exceptions_in_year(year, exceptions_in_year_from(year, festivals, makeup.periods()))?;
    for other in [year - 1, year + 1] {
        for (date, rule) in exceptions_in_year_from(other, festivals, makeup.periods()) {
            cal.set_exception(date, rule)?;
        }
    }
    Ok(())
}

/// A calendar without the holiday table of a year it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingHolidayTable {
    pub code: String,
    pub name: String,
    pub years: Vec<i32>,
}

impl Service {
    pub async fn calendars(&self, actor: &Actor) -> ServiceResult<Vec<CalendarRecord>> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        calendars::list(&mut h.conn()).await?.into_iter().map(CalendarRecord::from_row).collect()
    }

    pub async fn calendar(&self, actor: &Actor, code: &str) -> ServiceResult<CalendarRecord> {
        actor.require(Permission::SignIn)?;
        let code = DepartmentCode::parse(code)?;
        let mut h = self.store.read().await?;
        CalendarRecord::from_row(calendars::get_by_code(&mut h.conn(), code.as_str()).await.entity("calendar")?)
    }

    /// Creates the calendar `code`, or replaces it when `input.version` matches the stored one.
    pub async fn put_calendar(
        &self,
        actor: &Actor,
        code: &str,
        input: &CalendarInput,
    ) -> ServiceResult<CalendarRecord> {
        actor.require(Permission::ManageSettings)?;
        let code = DepartmentCode::parse(code)?;
        let name =
            input.name.as_deref().map(|n| required_text("name", n, crate::limits::calendars::NAME)).transpose()?;
        let calendar = Calendar::from_spec(&input.spec)?;
        let spec = to_json(&calendar.to_spec())?;
        let timezone = calendar.timezone().name();
        let mut tx = self.store.begin().await?;
        let existing = match calendars::get_by_code(&mut tx.conn(), code.as_str()).await {
            Ok(row) => Some(row),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(ServiceError::from_store("calendar", e)),
        };
        let row = match existing {
            None => {
                let name = name.unwrap_or_else(|| code.as_str().to_owned());
                let fields =
                    CalendarFields { code: code.as_str(), name: &name, timezone, spec: &spec, is_default: false };
                let row = calendars::insert(&mut tx.conn(), &fields).await.entity("calendar")?;
                tx.audit(actor, AuditAction::Create, "calendar", row.id, None::<&()>, Some(&row)).await?;
                row
            }
            Some(before) => {
                let version = input
                    .version
                    .ok_or_else(|| DomainError::invalid("version", "errors.required_change_existing_calendar_send"))?;
                let name = name.unwrap_or_else(|| before.name.clone());
                let fields = CalendarFields {
                    code: code.as_str(),
                    name: &name,
                    timezone,
                    spec: &spec,
                    is_default: before.is_default,
                };
                let after = calendars::update(&mut tx.conn(), before.id, version, &fields).await.entity("calendar")?;
                tx.audit(actor, AuditAction::Update, "calendar", after.id, Some(&before), Some(&after)).await?;
                after
            }
        };
        tx.commit().await?;
        self.rules_changed();
        CalendarRecord::from_row(row)
    }

    /// Reads, changes and writes back one calendar in one transaction, with its audit event.
    async fn change_calendar(
        &self,
        actor: &Actor,
        code: &str,
        expect: Expect,
        change: impl FnOnce(&mut Calendar) -> Result<(), DomainError>,
    ) -> ServiceResult<CalendarRecord> {
        actor.require(Permission::ManageSettings)?;
        let code = DepartmentCode::parse(code)?;
        let mut tx = self.store.begin().await?;
        let before = calendars::get_by_code(&mut tx.conn(), code.as_str()).await.entity("calendar")?;
        let mut calendar = CalendarRecord::from_row(before.clone())?.calendar;
        change(&mut calendar)?;
        let spec = to_json(&calendar.to_spec())?;
        let fields = CalendarFields {
            code: &before.code,
            name: &before.name,
            timezone: calendar.timezone().name(),
            spec: &spec,
            is_default: before.is_default,
        };
        let version = match expect {
            Expect::Version(v) => v,
            Expect::Current => before.version,
        };
        let after = calendars::update(&mut tx.conn(), before.id, version, &fields).await.entity("calendar")?;
        tx.audit(actor, AuditAction::Update, "calendar", after.id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        self.rules_changed();
        CalendarRecord::from_row(after)
    }

    /// Replaces the weekly hours; errors name `weekly.mon[1]`.
    pub async fn set_calendar_weekly(
        &self,
        actor: &Actor,
        code: &str,
        version: i64,
        weekly: WeeklySpec,
    ) -> ServiceResult<CalendarRecord> {
        self.change_calendar(actor, code, Expect::Version(version), |cal| {
            let mut spec = cal.to_spec();
            spec.weekly = weekly;
            *cal = Calendar::from_spec(&spec)?;
            Ok(())
        })
        .await
    }

    /// Adds or replaces the exception on one date. A make-up workday given without periods gets
    /// the calendar's standard weekday hours. Errors name `date`, `kind`, `periods[i]`.
    pub async fn set_calendar_exception(
        &self,
        actor: &Actor,
        code: &str,
        version: i64,
        exception: ExceptionSpec,
    ) -> ServiceResult<CalendarRecord> {
        self.change_calendar(actor, code, Expect::Version(version), |cal| {
            let mut exception = exception;
            if exception.kind.trim().eq_ignore_ascii_case("workday") && exception.periods.is_empty() {
                exception.periods =
                    cal.makeup_workday()?.periods().iter().map(|p| [p.start_text(), p.end_text()]).collect();
            }
            // Parse the one exception alone so that its errors name the form's fields, not a list index.
            let alone =
                CalendarSpec { timezone: "UTC".into(), weekly: WeeklySpec::default(), exceptions: vec![exception] };
            let parsed = Calendar::from_spec(&alone).map_err(|e| match e {
                DomainError::Invalid { field, reason } => {
                    DomainError::invalid(field.strip_prefix("exceptions[0].").unwrap_or(&field), reason)
                }
                e => e,
            })?;
            let (date, rule) = parsed
                .exceptions()
                .iter()
                .next()
                .map(|(d, r)| (*d, r.clone()))
                .ok_or_else(|| DomainError::invalid("date", "errors.required"))?;
            cal.set_exception(date, rule)
        })
        .await
    }

    pub async fn remove_calendar_exception(
        &self,
        actor: &Actor,
        code: &str,
        version: i64,
        date: NaiveDate,
    ) -> ServiceResult<CalendarRecord> {
        self.change_calendar(actor, code, Expect::Version(version), |cal| {
            cal.remove_exception(date)
                .map(|_| ())
                .ok_or_else(|| DomainError::invalid("date", loopdesk_domain::reason!("errors.has_no_exception", date)))
        })
        .await
    }

    /// Replaces the exceptions of `year` by the file's rows, all or nothing.
    pub async fn import_calendar_exceptions(
        &self,
        actor: &Actor,
        code: &str,
        year: i32,
        format: ExceptionsFormat,
        text: &str,
    ) -> ServiceResult<CalendarRecord> {
        check_year(year)?;
        let rows = match format {
            ExceptionsFormat::Csv => parse_exceptions_csv(text)?,
            ExceptionsFormat::Ical => parse_exceptions_ical(text)?,
        };
        self.change_calendar(actor, code, Expect::Current, |cal| cal.replace_exceptions_in_year(year, rows)).await
    }

    pub async fn export_calendar_exceptions(
        &self,
        actor: &Actor,
        code: &str,
        year: i32,
        format: ExceptionsFormat,
    ) -> ServiceResult<String> {
        check_year(year)?;
        let rec = self.calendar(actor, code).await?;
        let rows = rec.calendar.exceptions_in_year(year);
        Ok(match format {
            ExceptionsFormat::Csv => exceptions_to_csv(rows),
            ExceptionsFormat::Ical => exceptions_to_ical(rows),
        })
    }

    /// Replaces the exceptions of `year` by the shipped official table ("load the official table for
    /// year N"). Refused naming `year` when no table for it is shipped.
    pub async fn load_official_holidays(
        &self,
        actor: &Actor,
        code: &str,
        version: i64,
        year: i32,
    ) -> ServiceResult<CalendarRecord> {
        check_year(year)?;
        if !official_years().any(|y| y == year) {
            return Err(DomainError::invalid(
                "year",
                loopdesk_domain::reason!("errors.no_official_table_shipped_paste", year),
            )
            .into());
        }
        self.change_calendar(actor, code, Expect::Version(version), |cal| {
            fill_official_years(cal, |y| y == year).map(|_| ())
        })
        .await
    }

    /// Parses a pasted State Council notice for `year` and shows what the calendar would become,
    /// without storing anything.
    pub async fn preview_holiday_notice(
        &self,
        actor: &Actor,
        code: &str,
        year: i32,
        text: &str,
    ) -> ServiceResult<(CalendarRecord, Vec<Festival>)> {
        actor.require(Permission::ManageSettings)?;
        let festivals = parse_holiday_notice(year, text)?;
        let mut rec = self.calendar(actor, code).await?;
        apply_festivals(&mut rec.calendar, year, &festivals)?;
        Ok((rec, festivals))
    }

    /// Parses a pasted notice again and applies it to the calendar read at `version`.
    pub async fn apply_holiday_notice(
        &self,
        actor: &Actor,
        code: &str,
        version: i64,
        year: i32,
        text: &str,
    ) -> ServiceResult<CalendarRecord> {
        let festivals = parse_holiday_notice(year, text)?;
        self.change_calendar(actor, code, Expect::Version(version), |cal| apply_festivals(cal, year, &festivals)).await
    }

    /// Calendars that miss the holiday table of the current year or, from 1 November, the next
    /// (for the calendar page, the administrators' home page and the server's start-up banner).
    pub async fn missing_holiday_tables(&self) -> ServiceResult<Vec<MissingHolidayTable>> {
        let mut h = self.store.read().await?;
        let rows = calendars::list(&mut h.conn()).await?;
        drop(h);
        let now = self.now();
        let mut out = Vec::new();
        for row in rows {
            let rec = CalendarRecord::from_row(row)?;
            let years = calendar_missing_years(&rec.calendar, rec.calendar.local_date(now));
            if !years.is_empty() {
                out.push(MissingHolidayTable { code: rec.code, name: rec.name, years });
            }
        }
        Ok(out)
    }

    /// When a target of `duration` started at `start` falls due, in the calendar's zone.
    pub async fn calendar_due(
        &self,
        actor: &Actor,
        code: &str,
        start: DateTime<Utc>,
        duration: Duration,
    ) -> ServiceResult<DateTime<Tz>> {
        let rec = self.calendar(actor, code).await?;
        let at = due(&rec.calendar, start, duration)?;
        Ok(at.with_timezone(&rec.calendar.timezone()))
    }

    /// Open time between two instants (negative when `to` is before `from`).
    pub async fn calendar_elapsed(
        &self,
        actor: &Actor,
        code: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ServiceResult<TimeDelta> {
        let rec = self.calendar(actor, code).await?;
        Ok(elapsed_working(&rec.calendar, from, to))
    }

    /// Creates the built-in calendars if missing: `OFFICE` (Asia/Shanghai office hours with every
    /// shipped China holiday table, the default) and `24X7` (always open). An existing `OFFICE` gets
    /// the shipped tables of the years in which it has no exception at all; nothing else changes.
    pub async fn ensure_default_calendars(&self) -> ServiceResult<()> {
        let sys = Actor::system();
        let builtin = [
            ("OFFICE", "办公时间", office_calendar()?, true),
            ("24X7", "全天候", Calendar::always_open(chrono_tz::Asia::Shanghai), false),
        ];
        let mut tx = self.store.begin().await?;
        for (code, name, calendar, is_default) in builtin {
            match calendars::get_by_code(&mut tx.conn(), code).await {
                Ok(before) if code == "OFFICE" => {
                    let mut cal = CalendarRecord::from_row(before.clone())?.calendar;
                    let empty: Vec<i32> =
                        official_years().filter(|y| cal.exceptions_in_year(*y).next().is_none()).collect();
                    if empty.is_empty() || cal.makeup_workday().is_err() {
                        continue;
                    }
                    fill_official_years(&mut cal, |y| empty.contains(&y))?;
                    let spec = to_json(&cal.to_spec())?;
                    let fields = CalendarFields {
                        code,
                        name: &before.name,
                        timezone: cal.timezone().name(),
                        spec: &spec,
                        is_default: before.is_default,
                    };
                    let after = calendars::update(&mut tx.conn(), before.id, before.version, &fields)
                        .await
                        .entity("calendar")?;
                    tx.audit(&sys, AuditAction::Update, "calendar", after.id, Some(&before), Some(&after)).await?;
                    continue;
                }
                Ok(_) => continue,
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(ServiceError::from_store("calendar", e)),
            }
            let spec = to_json(&calendar.to_spec())?;
            let fields = CalendarFields { code, name, timezone: calendar.timezone().name(), spec: &spec, is_default };
            let row = calendars::insert(&mut tx.conn(), &fields).await.entity("calendar")?;
            tx.audit(&sys, AuditAction::Create, "calendar", row.id, None::<&()>, Some(&row)).await?;
        }
        tx.commit().await?;
        self.rules_changed();
        Ok(())
    }
}

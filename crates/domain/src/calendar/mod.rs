//! Business calendars for service-level clocks: weekly office hours, public holidays and China's
//! 调休 make-up working days, in one IANA time zone.
//!
//! # Model
//!
//! A [`Calendar`] has seven weekly lists of [`Period`]s (Monday first) and per-date exceptions
//! ([`DayRule`]): a holiday closes the date, a make-up workday or changed hours replace the weekly
//! periods for that date. Periods are local wall-clock times with minute precision; `24:00` ends a
//! period at the following midnight. Within a day periods are sorted and neither overlap nor touch,
//! so every calendar has exactly one representation.
//!
//! # From wall clock to instants
//!
//! A period of a local date covers the instants from its start to its end, each mapped to UTC by
//! one rule: a wall time that occurs twice (autumn DST change) means its *first* occurrence; a wall
//! time that does not exist (spring DST gap) means the instant the gap ends. The mapping never goes
//! backwards in time, so a period spanning the repeated hour is an hour longer, one spanning the gap
//! is shorter, and one lying wholly inside the gap vanishes for that date.
//!
//! # Service-level arithmetic ([`due`], [`elapsed_working`])
//!
//! - [`Duration::Hours`]: elapsed real time (3600 s each), ignoring the calendar; across a DST
//!   change 24 hours is not the same wall time the next day.
//! - [`Duration::WorkingMinutes`]: only open time counts; a start in closed time effectively moves
//!   to the next opening. The due instant is where the last minute is used up, so it lies inside an
//!   open period or exactly at its end, never at the start of the following period (08:30 + 3.5 h
//!   with a 12:00–13:30 lunch is 12:00, not 13:30). Zero returns the start unchanged.
//! - [`Duration::WorkingDays`]: end-of-business rule. The *received day* is the first working day
//!   whose close (end of its last open period) is after the start: today if the start is before
//!   today's close, otherwise the next working day. `N` working days fall due at the close of the
//!   `N`th working day after the received day; `0` means the close of the received day itself.
//! - [`Duration::Months`]: the same local date and wall time `N` months later in the calendar's
//!   time zone, clamped to the last day of the month (Jan 31 + 1 month = Feb 28/29), mapped to an
//!   instant by the rule above. The calendar's hours are ignored.
//! - [`elapsed_working`] is the open time between two instants, antisymmetric: negative when `to`
//!   is before `from`. For working minutes `elapsed_working(s, due(s, d)) == d`.
//! - Negative and absurdly long durations are refused ([`Duration::check`]). A search that meets
//!   more than [`SEARCH_HORIZON_DAYS`] consecutive closed days fails instead of looping.
//!
//! # Exchange formats
//!
//! JSON contract ([`CalendarSpec`]), CSV of exceptions ([`parse_exceptions_csv`]) and iCalendar
//! all-day events ([`parse_exceptions_ical`]); every parser returns `DomainError::Invalid` naming
//! the field (`weekly.mon[1]`, `exceptions[3].date`, `line 4.periods[0]`, `event 2.DTSTART`) and
//! never panics.

mod china;
mod clock;
mod csv;
mod ical;
mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::DomainError;

pub use china::{
    FIRST_OFFICIAL_YEAR, Festival, LAST_OFFICIAL_YEAR, MAX_NOTICE_CHARS, OfficialTable, china_2025_exceptions,
    exceptions_in_year_from, official_exceptions, official_table, official_years, parse_holiday_notice,
    years_missing_table,
};
pub use clock::{Duration, due, elapsed_working};
pub use csv::{exceptions_to_csv, parse_exceptions_csv};
pub use ical::{exceptions_to_ical, parse_exceptions_ical};
pub use spec::{CalendarSpec, ExceptionSpec, PeriodSpec, WeeklySpec};

/// Minutes in a (wall-clock) day; the largest value a period end may take (`24:00`).
pub const MINUTES_PER_DAY: u16 = 1440;

/// How many consecutive closed days a search tolerates before concluding the calendar has no open
/// time: three years, so that a year of holidays cannot trip it but an empty calendar cannot loop.
pub const SEARCH_HORIZON_DAYS: u32 = 3 * 366;

/// Lower-case day keys, Monday first, as used in the JSON contract and in field names.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An open span of one day, `[start, end)` in minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    start: u16,
    end: u16,
}

impl Period {
    /// `start` in `0..1440`, `end` in `1..=1440`, `start < end`.
    pub fn new(start_minute: u16, end_minute: u16) -> Result<Period, DomainError> {
        Self::checked("period", start_minute, end_minute)
    }

    /// Parses `"08:30"`, `"12:00"`; `"24:00"` is accepted as an end only.
    pub fn parse(start: &str, end: &str) -> Result<Period, DomainError> {
        Self::parse_in("period", start, end)
    }

    pub fn start_minute(self) -> u16 {
        self.start
    }

    pub fn end_minute(self) -> u16 {
        self.end
    }

    pub fn minutes(self) -> u16 {
        self.end - self.start
    }

    /// `"08:30"`.
    pub fn start_text(self) -> String {
        hm(self.start)
    }

    /// `"17:30"`, or `"24:00"` for a period that runs to midnight.
    pub fn end_text(self) -> String {
        hm(self.end)
    }

    pub(crate) fn checked(field: &str, start: u16, end: u16) -> Result<Period, DomainError> {
        if end > MINUTES_PER_DAY {
            return Err(DomainError::invalid(field, "end must be at most 24:00"));
        }
        if start >= end {
            return Err(DomainError::invalid(field, format!("start {} must be before end {}", hm(start), hm(end))));
        }
        Ok(Period { start, end })
    }

    pub(crate) fn parse_in(field: &str, start: &str, end: &str) -> Result<Period, DomainError> {
        let s = parse_hm(start)
            .ok_or_else(|| DomainError::invalid(field, format!("start {} is not a time HH:MM", shown(start))))?;
        let e = parse_hm(end)
            .ok_or_else(|| DomainError::invalid(field, format!("end {} is not a time HH:MM", shown(end))))?;
        Self::checked(field, s, e)
    }

    /// Parses `"08:30-12:00"`, the form used by CSV and iCalendar.
    pub(crate) fn parse_range_in(field: &str, text: &str) -> Result<Period, DomainError> {
        let (s, e) = text
            .split_once('-')
            .ok_or_else(|| DomainError::invalid(field, format!("{} is not a range HH:MM-HH:MM", shown(text))))?;
        Self::parse_in(field, s, e)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

impl FromStr for Period {
    type Err = DomainError;

    /// `"08:30-12:00"`.
    fn from_str(s: &str) -> Result<Period, DomainError> {
        Period::parse_range_in("period", s)
    }
}

/// `HH:MM` (hour may be one digit), `00:00` to `24:00`.
fn parse_hm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return None;
    }
    Some(h * 60 + m)
}

fn hm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Quotes user text in messages, cut short so a pasted file cannot bloat an error.
pub(crate) fn shown(s: &str) -> String {
    let cut: String = s.chars().take(40).collect();
    if cut.len() < s.len() { format!("{cut:?}…") } else { format!("{cut:?}") }
}

/// Rejects unsorted, overlapping or touching periods, naming the offending element `field[i]`.
pub(crate) fn check_periods(field: &str, periods: &[Period]) -> Result<(), DomainError> {
    for (i, pair) in periods.windows(2).enumerate() {
        let (prev, next) = (pair[0], pair[1]);
        if next.start < prev.start {
            return Err(DomainError::invalid(format!("{field}[{}]", i + 1), "periods must be in time order"));
        }
        if next.start <= prev.end {
            return Err(DomainError::invalid(
                format!("{field}[{}]", i + 1),
                format!(
                    "starts at {}, not after the previous period ending at {}; merge them",
                    next.start_text(),
                    prev.end_text()
                ),
            ));
        }
    }
    Ok(())
}

/// What happens on one particular date instead of the weekly hours.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DayRule {
    /// Closed all day.
    Holiday,
    /// A make-up working day (调休上班), usually on a weekend, with its own periods.
    Workday(Vec<Period>),
    /// Changed opening hours for this date only.
    Hours(Vec<Period>),
}

impl DayRule {
    /// The contract's name: `holiday`, `workday` or `hours`.
    pub fn kind(&self) -> &'static str {
        match self {
            DayRule::Holiday => "holiday",
            DayRule::Workday(_) => "workday",
            DayRule::Hours(_) => "hours",
        }
    }

    pub fn periods(&self) -> &[Period] {
        match self {
            DayRule::Holiday => &[],
            DayRule::Workday(p) | DayRule::Hours(p) => p,
        }
    }

    /// Builds and checks a rule from its parts as they arrive in a file or request.
    pub(crate) fn from_parts(
        kind_field: &str,
        periods_field: &str,
        kind: &str,
        periods: Vec<Period>,
    ) -> Result<DayRule, DomainError> {
        let rule = match kind.trim().to_ascii_lowercase().as_str() {
            "holiday" if !periods.is_empty() => {
                return Err(DomainError::invalid(periods_field, "must be empty for a holiday"));
            }
            "holiday" => DayRule::Holiday,
            "workday" => DayRule::Workday(periods),
            "hours" => DayRule::Hours(periods),
            _ => {
                return Err(DomainError::invalid(
                    kind_field,
                    format!("{} must be holiday, workday or hours", shown(kind)),
                ));
            }
        };
        check_rule(periods_field, &rule)?;
        Ok(rule)
    }
}

/// A holiday has no periods; the other rules need at least one, in order.
fn check_rule(periods_field: &str, rule: &DayRule) -> Result<(), DomainError> {
    match rule {
        DayRule::Holiday => Ok(()),
        DayRule::Workday(p) if p.is_empty() => Err(DomainError::invalid(
            periods_field,
            "a make-up workday needs its open periods (Calendar::makeup_workday copies the weekday hours)",
        )),
        DayRule::Hours(p) if p.is_empty() => {
            Err(DomainError::invalid(periods_field, "changed hours need at least one period; use holiday to close"))
        }
        DayRule::Workday(p) | DayRule::Hours(p) => check_periods(periods_field, p),
    }
}

/// One time zone, weekly hours and dated exceptions. Fields are private so a value is always valid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct Calendar {
    timezone: Tz,
    weekly: [Vec<Period>; 7],
    exceptions: BTreeMap<NaiveDate, DayRule>,
}

impl Calendar {
    /// Checks every list of periods; errors name `weekly.mon[1]` or `exceptions[2025-10-01].periods[0]`.
    pub fn new(
        timezone: Tz,
        weekly: [Vec<Period>; 7],
        exceptions: BTreeMap<NaiveDate, DayRule>,
    ) -> Result<Calendar, DomainError> {
        for (key, periods) in DAY_KEYS.iter().zip(&weekly) {
            check_periods(&format!("weekly.{key}"), periods)?;
        }
        for (date, rule) in &exceptions {
            check_rule(&format!("exceptions[{date}].periods"), rule)?;
        }
        Ok(Calendar { timezone, weekly, exceptions })
    }

    /// Open around the clock, every day, with no exceptions.
    pub fn always_open(timezone: Tz) -> Calendar {
        let all_day = Period { start: 0, end: MINUTES_PER_DAY };
        Calendar { timezone, weekly: std::array::from_fn(|_| vec![all_day]), exceptions: BTreeMap::new() }
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn weekly_periods(&self, day: Weekday) -> &[Period] {
        &self.weekly[day.num_days_from_monday() as usize]
    }

    pub fn exceptions(&self) -> &BTreeMap<NaiveDate, DayRule> {
        &self.exceptions
    }

    pub fn exceptions_in_year(&self, year: i32) -> impl Iterator<Item = (&NaiveDate, &DayRule)> {
        self.exceptions.iter().filter(move |(d, _)| d.year() == year)
    }

    pub fn set_exception(&mut self, date: NaiveDate, rule: DayRule) -> Result<(), DomainError> {
        check_rule(&format!("exceptions[{date}].periods"), &rule)?;
        self.exceptions.insert(date, rule);
        Ok(())
    }

    pub fn remove_exception(&mut self, date: NaiveDate) -> Option<DayRule> {
        self.exceptions.remove(&date)
    }

    /// Replaces all exceptions of `year` by `rows` (an imported year table), all or nothing.
    pub fn replace_exceptions_in_year(
        &mut self,
        year: i32,
        rows: Vec<(NaiveDate, DayRule)>,
    ) -> Result<(), DomainError> {
        let mut fresh = BTreeMap::new();
        for (i, (date, rule)) in rows.into_iter().enumerate() {
            if date.year() != year {
                return Err(DomainError::invalid(format!("rows[{i}].date"), format!("{date} is not in {year}")));
            }
            check_rule(&format!("rows[{i}].periods"), &rule)?;
            if fresh.insert(date, rule).is_some() {
                return Err(DomainError::invalid(format!("rows[{i}].date"), format!("{date} appears twice")));
            }
        }
        self.exceptions.retain(|d, _| d.year() != year);
        self.exceptions.extend(fresh);
        Ok(())
    }

    /// A make-up workday with the calendar's standard weekday hours: Monday's, or the first of
    /// Tuesday to Friday that has hours.
    pub fn makeup_workday(&self) -> Result<DayRule, DomainError> {
        self.weekly[..5]
            .iter()
            .find(|p| !p.is_empty())
            .map(|p| DayRule::Workday(p.clone()))
            .ok_or_else(|| DomainError::invalid("weekly", "no weekday has hours to copy for a make-up workday"))
    }

    /// A make-up workday that works like the given weekday (调休 "上周X的班").
    pub fn makeup_workday_like(&self, day: Weekday) -> Result<DayRule, DomainError> {
        let periods = self.weekly_periods(day);
        if periods.is_empty() {
            let key = DAY_KEYS[day.num_days_from_monday() as usize];
            return Err(DomainError::invalid(format!("weekly.{key}"), "has no hours to copy for a make-up workday"));
        }
        Ok(DayRule::Workday(periods.to_vec()))
    }

    /// The exception for `date`, if any.
    pub fn rule_on(&self, date: NaiveDate) -> Option<&DayRule> {
        self.exceptions.get(&date)
    }

    /// The local periods in force on `date`, after exceptions.
    pub fn periods_on(&self, date: NaiveDate) -> &[Period] {
        match self.exceptions.get(&date) {
            Some(rule) => rule.periods(),
            None => self.weekly_periods(date.weekday()),
        }
    }

    /// True when `date` has any open time (a period lying wholly in a DST gap does not count).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.open_periods_on(date).is_empty()
    }

    /// The open intervals `[start, end)` of the local date `date` as instants, in order, for
    /// month views and for the arithmetic. Consecutive days never overlap.
    pub fn open_periods_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.periods_on(date)
            .iter()
            .filter_map(|p| {
                let start = local_instant(self.timezone, date, p.start)?;
                let end = local_instant(self.timezone, date, p.end)?;
                (start < end).then_some((start, end))
            })
            .collect()
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }
}

/// `minute` after local midnight of `date` (1440 = next midnight) as an instant.
fn local_instant(tz: Tz, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
    let (date, minute) = if minute >= MINUTES_PER_DAY { (date.succ_opt()?, 0) } else { (date, minute) };
    let wall = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
    resolve_wall(tz, wall)
}

/// Maps a wall time to an instant: first occurrence if repeated, end of the gap if skipped.
pub(crate) fn resolve_wall(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(t) = tz.from_local_datetime(&wall).earliest() {
        return Some(t.with_timezone(&Utc));
    }
    // Inside a gap: binary-search the first valid wall time after it. Gaps are at most a day
    // (Samoa 2011), so two days bound the search; the instant at the gap's end is that wall time.
    let exists = |secs: i64| {
        wall.checked_add_signed(TimeDelta::seconds(secs))
            .and_then(|w| tz.from_local_datetime(&w).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    let (mut lo, mut hi) = (0_i64, 2 * 86_400_i64);
    exists(hi)?;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if exists(mid).is_some() { hi = mid } else { lo = mid }
    }
    exists(hi)
}

//! Service-level clock arithmetic; the rules are documented on the `calendar` module.

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{Calendar, SEARCH_HORIZON_DAYS, resolve_wall};
use crate::DomainError;

/// A service-level target. Serialized as e.g. `{"working_minutes": 90}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duration {
    /// Calendar hours: real elapsed time, open or not.
    Hours(i64),
    /// Open time, minute precision (working hours are `60 ×` this; see [`Duration::working_hours`]).
    WorkingMinutes(i64),
    /// Whole working days, end-of-business rule.
    WorkingDays(i64),
    /// Calendar months in local time, clamped to month end.
    Months(i64),
}

impl Duration {
    /// Upper bounds: 100 years of hours, 10 years of round-the-clock minutes, about 10 years of
    /// working days, 100 years of months. Service levels are far shorter; the caps bound the work.
    pub const MAX_HOURS: i64 = 100 * 8_766;
    pub const MAX_WORKING_MINUTES: i64 = 10 * 525_960;
    pub const MAX_WORKING_DAYS: i64 = 3_660;
    pub const MAX_MONTHS: i64 = 1_200;

    pub fn working_hours(hours: i64) -> Duration {
        Duration::WorkingMinutes(hours.saturating_mul(60))
    }

    /// Refuses negative and over-long durations, naming the field `duration`.
    pub fn check(self) -> Result<(), DomainError> {
        let (value, max) = match self {
            Duration::Hours(v) => (v, Self::MAX_HOURS),
            Duration::WorkingMinutes(v) => (v, Self::MAX_WORKING_MINUTES),
            Duration::WorkingDays(v) => (v, Self::MAX_WORKING_DAYS),
            Duration::Months(v) => (v, Self::MAX_MONTHS),
        };
        if value < 0 {
            return Err(DomainError::invalid("duration", "errors.must_not_negative"));
        }
        if value > max {
            return Err(DomainError::invalid("duration", crate::reason!("errors.must_at_most", max)));
        }
        Ok(())
    }
}

fn out_of_range() -> DomainError {
    DomainError::invalid("duration", "errors.result_outside_supported_date_range")
}

/// When a service-level target `d` started at `start` falls due (rules in the module docs).
pub fn due(cal: &Calendar, start: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>, DomainError> {
    d.check()?;
    match d {
        Duration::Hours(h) => start.checked_add_signed(TimeDelta::hours(h)).ok_or_else(out_of_range),
        Duration::WorkingMinutes(0) => Ok(start),
        Duration::WorkingMinutes(m) => add_open_time(cal, start, TimeDelta::minutes(m)),
        Duration::WorkingDays(n) => add_working_days(cal, start, n),
        // Identity, even inside a repeated hour where the wall time would map to its first pass.
        Duration::Months(0) => Ok(start),
        Duration::Months(n) => {
            let months = Months::new(u32::try_from(n).map_err(|_| out_of_range())?);
            let wall = start.with_timezone(&cal.timezone).naive_local().checked_add_months(months);
            wall.and_then(|w| resolve_wall(cal.timezone, w)).ok_or_else(out_of_range)
        }
    }
}

/// Open time between two instants. Antisymmetric: `elapsed_working(a, b) == -elapsed_working(b, a)`,
/// so a negative value means `to` lies before `from` (e.g. time left until a due instant).
pub fn elapsed_working(cal: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
    if to < from {
        return -elapsed_working(cal, to, from);
    }
    let first = cal.local_date(from);
    // A repeated hour around midnight can put the previous date's hours after `from`.
    let mut date = first.pred_opt().unwrap_or(first);
    let last = cal.local_date(to);
    let mut total = TimeDelta::zero();
    loop {
        for (a, b) in cal.open_periods_on(date) {
            let (lo, hi) = (a.max(from), b.min(to));
            if hi > lo {
                total += hi - lo;
            }
        }
        match date.succ_opt() {
            Some(next) if date < last => date = next,
            _ => return total,
        }
    }
}

/// Walks the open intervals day by day from the day before `start`'s local date until `visit`
/// returns a value, failing after [`SEARCH_HORIZON_DAYS`] consecutive closed days.
fn scan<T>(
    cal: &Calendar,
    start: DateTime<Utc>,
    mut visit: impl FnMut(&[(DateTime<Utc>, DateTime<Utc>)]) -> Option<T>,
) -> Result<T, DomainError> {
    let first = cal.local_date(start);
    let mut date = first.pred_opt().unwrap_or(first);
    let mut closed_run = 0_u32;
    loop {
        let day = cal.open_periods_on(date);
        if day.is_empty() {
            closed_run += 1;
            if closed_run > SEARCH_HORIZON_DAYS {
                return Err(DomainError::invalid(
                    "calendar",
                    crate::reason!("errors.has_no_open_time_days", SEARCH_HORIZON_DAYS, date),
                ));
            }
        } else {
            closed_run = 0;
        }
        if let Some(found) = visit(&day) {
            return Ok(found);
        }
        date = date.succ_opt().ok_or_else(out_of_range)?;
    }
}

/// Consumes `amount` (> 0) of open time after `start`.
fn add_open_time(cal: &Calendar, start: DateTime<Utc>, amount: TimeDelta) -> Result<DateTime<Utc>, DomainError> {
    let mut left = amount;
    scan(cal, start, |day| {
        for &(a, b) in day {
            if b <= start {
                continue;
            }
            let from = a.max(start);
            let available = b - from;
            // `<=` so that using up a period exactly lands on its end, not the next opening.
            if left <= available {
                return Some(from + left);
            }
            left -= available;
        }
        None
    })
}

fn add_working_days(cal: &Calendar, start: DateTime<Utc>, n: i64) -> Result<DateTime<Utc>, DomainError> {
    let mut received = false;
    let mut counted = 0_i64;
    scan(cal, start, |day| {
        let &(_, close) = day.last()?;
        if !received {
            if close <= start {
                return None;
            }
            received = true;
            return (n == 0).then_some(close);
        }
        counted += 1;
        (counted == n).then_some(close)
    })
}

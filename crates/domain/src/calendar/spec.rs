//! The JSON contract for calendars:
//! `{"timezone":"Asia/Shanghai","weekly":{"mon":[["08:30","12:00"]],…},
//!   "exceptions":[{"date":"2026-10-01","kind":"holiday"}]}`.
//!
//! Values stay strings here so that [`Calendar::from_spec`] can name the offending field
//! (`weekly.mon[1]`, `exceptions[3].date`) instead of leaking a serde message.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Calendar, DAY_KEYS, DayRule, Period, check_periods, shown};
use crate::DomainError;

/// `["08:30", "12:00"]`; the end may be `"24:00"`.
pub type PeriodSpec = [String; 2];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklySpec {
    #[serde(default)]
    pub mon: Vec<PeriodSpec>,
    #[serde(default)]
    pub tue: Vec<PeriodSpec>,
    #[serde(default)]
    pub wed: Vec<PeriodSpec>,
    #[serde(default)]
    pub thu: Vec<PeriodSpec>,
    #[serde(default)]
    pub fri: Vec<PeriodSpec>,
    #[serde(default)]
    pub sat: Vec<PeriodSpec>,
    #[serde(default)]
    pub sun: Vec<PeriodSpec>,
}

impl WeeklySpec {
    fn days(&self) -> [&Vec<PeriodSpec>; 7] {
        [&self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionSpec {
    /// `YYYY-MM-DD`, local to the calendar's time zone.
    pub date: String,
    /// `holiday`, `workday` (调休 make-up day) or `hours` (changed hours).
    pub kind: String,
    /// Required for `workday` and `hours`, absent for `holiday`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<PeriodSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA name such as `Asia/Shanghai`.
    pub timezone: String,
    #[serde(default)]
    pub weekly: WeeklySpec,
    #[serde(default)]
    pub exceptions: Vec<ExceptionSpec>,
}

fn period_specs(field: &str, specs: &[PeriodSpec]) -> Result<Vec<Period>, DomainError> {
    let periods = specs
        .iter()
        .enumerate()
        .map(|(i, [s, e])| Period::parse_in(&format!("{field}[{i}]"), s, e))
        .collect::<Result<Vec<_>, _>>()?;
    check_periods(field, &periods)?;
    Ok(periods)
}

fn to_specs(periods: &[Period]) -> Vec<PeriodSpec> {
    periods.iter().map(|p| [p.start_text(), p.end_text()]).collect()
}

impl Calendar {
    /// Checks and converts the contract body; every error names its field.
    pub fn from_spec(spec: &CalendarSpec) -> Result<Calendar, DomainError> {
        let timezone: Tz = spec.timezone.trim().parse().map_err(|_| {
            DomainError::invalid("timezone", crate::reason!("errors.not_iana_time_zone", shown = shown(&spec.timezone)))
        })?;
        let mut weekly: [Vec<Period>; 7] = Default::default();
        for ((slot, key), specs) in weekly.iter_mut().zip(DAY_KEYS).zip(spec.weekly.days()) {
            *slot = period_specs(&format!("weekly.{key}"), specs)?;
        }
        let mut exceptions = BTreeMap::new();
        let mut first_seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for (i, ex) in spec.exceptions.iter().enumerate() {
            let date_field = format!("exceptions[{i}].date");
            let date = NaiveDate::parse_from_str(ex.date.trim(), "%Y-%m-%d").map_err(|_| {
                DomainError::invalid(
                    &date_field,
                    crate::reason!("errors.not_date_yyyy_mm_dd_3", shown = shown(&ex.date)),
                )
            })?;
            if let Some(j) = first_seen.insert(date, i) {
                return Err(DomainError::invalid(
                    date_field,
                    crate::reason!("errors.already_given_exceptions", date, j),
                ));
            }
            let periods_field = format!("exceptions[{i}].periods");
            let periods = period_specs(&periods_field, &ex.periods)?;
            let rule = DayRule::from_parts(&format!("exceptions[{i}].kind"), &periods_field, &ex.kind, periods)?;
            exceptions.insert(date, rule);
        }
        Calendar::new(timezone, weekly, exceptions)
    }

    /// The contract body; [`Calendar::from_spec`] of it gives back an equal calendar.
    pub fn to_spec(&self) -> CalendarSpec {
        let [mon, tue, wed, thu, fri, sat, sun] = self.weekly.each_ref().map(|p| to_specs(p));
        CalendarSpec {
            timezone: self.timezone.name().to_owned(),
            weekly: WeeklySpec { mon, tue, wed, thu, fri, sat, sun },
            exceptions: self
                .exceptions
                .iter()
                .map(|(date, rule)| ExceptionSpec {
                    date: date.format("%Y-%m-%d").to_string(),
                    kind: rule.kind().to_owned(),
                    periods: to_specs(rule.periods()),
                })
                .collect(),
        }
    }

    /// Parses the JSON contract body. Structural errors (wrong types, unknown keys) are reported on
    /// the field `calendar` with serde's position; value errors name their field.
    pub fn from_json(text: &str) -> Result<Calendar, DomainError> {
        let spec: CalendarSpec = serde_json::from_str(text)
            .map_err(|e| DomainError::invalid("calendar", crate::reason!("errors.not_valid_json", e)))?;
        Calendar::from_spec(&spec)
    }
}

impl TryFrom<CalendarSpec> for Calendar {
    type Error = DomainError;

    fn try_from(spec: CalendarSpec) -> Result<Calendar, DomainError> {
        Calendar::from_spec(&spec)
    }
}

impl From<Calendar> for CalendarSpec {
    fn from(cal: Calendar) -> CalendarSpec {
        cal.to_spec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<Calendar, DomainError>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn parses_contract_body_and_round_trips() {
        let json = r#"{"timezone":"Asia/Shanghai",
            "weekly":{"mon":[["08:30","12:00"],["13:30","17:30"]],"sat":[["00:00","24:00"]]},
            "exceptions":[{"date":"2026-10-01","kind":"holiday"},
                          {"date":"2026-09-27","kind":"workday","periods":[["08:30","12:00"]]},
                          {"date":"2026-12-24","kind":"HOURS","periods":[["09:00","15:00"]]}]}"#;
        let cal = Calendar::from_json(json).expect("valid");
        assert_eq!(cal.timezone(), chrono_tz::Asia::Shanghai);
        assert_eq!(cal.weekly_periods(chrono::Weekday::Mon).len(), 2);
        assert_eq!(cal.weekly_periods(chrono::Weekday::Sat)[0].end_text(), "24:00");
        assert_eq!(cal.exceptions().len(), 3);
        let spec = cal.to_spec();
        assert_eq!(spec.exceptions[2].kind, "hours");
        assert_eq!(Calendar::from_spec(&spec).expect("round trip"), cal);
        let text = serde_json::to_string(&cal).expect("serialize");
        assert_eq!(serde_json::from_str::<Calendar>(&text).expect("deserialize"), cal);
    }

    #[test]
    fn errors_name_the_field() {
        let base = |weekly: &str, exceptions: &str| {
            Calendar::from_json(&format!(
                r#"{{"timezone":"Asia/Shanghai","weekly":{{{weekly}}},"exceptions":[{exceptions}]}}"#
            ))
        };
        assert_eq!(field_of(base(r#""mon":[["08:30","12:00"],["11:00","13:00"]]"#, "")), "weekly.mon[1]");
        assert_eq!(field_of(base(r#""mon":[["08:30","12:00"],["12:00","13:00"]]"#, "")), "weekly.mon[1]");
        assert_eq!(field_of(base(r#""tue":[["13:30","12:00"]]"#, "")), "weekly.tue[0]");
        assert_eq!(field_of(base(r#""wed":[["08:30","12:00"],["07:00","08:00"]]"#, "")), "weekly.wed[1]");
        assert_eq!(field_of(base(r#""thu":[["24:00","24:00"]]"#, "")), "weekly.thu[0]");
        assert_eq!(field_of(base(r#""fri":[["8h","12:00"]]"#, "")), "weekly.fri[0]");
        assert_eq!(field_of(base(r#""sun":[["09:00","24:01"]]"#, "")), "weekly.sun[0]");
        let ex = |date: &str, kind: &str, periods: &str| {
            format!(r#"{{"date":"{date}","kind":"{kind}","periods":[{periods}]}}"#)
        };
        let ok = ex("2026-10-01", "holiday", "");
        assert_eq!(field_of(base("", &format!("{ok},{ok}"))), "exceptions[1].date");
        assert_eq!(field_of(base("", &format!("{ok},{}", ex("2026-02-30", "holiday", "")))), "exceptions[1].date");
        assert_eq!(field_of(base("", &ex("2026-10-02", "closed", ""))), "exceptions[0].kind");
        assert_eq!(field_of(base("", &ex("2026-10-02", "workday", ""))), "exceptions[0].periods");
        assert_eq!(field_of(base("", &ex("2026-10-02", "hours", ""))), "exceptions[0].periods");
        assert_eq!(field_of(base("", &ex("2026-10-02", "holiday", r#"["08:00","09:00"]"#))), "exceptions[0].periods");
        assert_eq!(
            field_of(base("", &ex("2026-10-02", "hours", r#"["08:00","09:00"],["10:00","9:00"]"#))),
            "exceptions[0].periods[1]"
        );
        assert_eq!(field_of(Calendar::from_json(r#"{"timezone":"Mars/Olympus"}"#)), "timezone");
        assert_eq!(field_of(Calendar::from_json(r#"{"timezone":"UTC","weekly":{"weds":[]}}"#)), "calendar");
        assert_eq!(field_of(Calendar::from_json("not json")), "calendar");
    }
}

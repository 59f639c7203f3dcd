//! A year's exceptions as CSV. The format has no quoting (no field can contain a comma), so it is
//! split by hand rather than pulling in a CSV crate.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{DayRule, Period, shown};
use crate::DomainError;

const CSV_HEADER: &str = "date,kind,periods";

/// A `date,kind,periods` header and one line per exception, in the order given (a `BTreeMap`
/// iterates by date); e.g. `exceptions_to_csv(cal.exceptions_in_year(2025))`.
pub fn exceptions_to_csv<'a>(rows: impl IntoIterator<Item = (&'a NaiveDate, &'a DayRule)>) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for (date, rule) in rows {
        let periods: Vec<String> = rule.periods().iter().map(Period::to_string).collect();
        out.push_str(&format!("{},{},{}\n", date.format("%Y-%m-%d"), rule.kind(), periods.join(";")));
    }
    out
}

/// Parses `date,kind,periods` lines (`2025-01-26,workday,08:30-12:00;13:30-17:30`,
/// `2025-10-01,holiday,`) into exceptions sorted by date. Accepts an optional header, blank lines,
/// `#` comments, CRLF and a UTF-8 BOM; a date given twice is an error. Errors name `line N.date`,
/// `line N.kind`, `line N.periods[i]`.
pub fn parse_exceptions_csv(text: &str) -> Result<Vec<(NaiveDate, DayRule)>, DomainError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows: BTreeMap<NaiveDate, (usize, DayRule)> = BTreeMap::new();
    let mut seen_content = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let is_header = !seen_content && fields[0].eq_ignore_ascii_case("date");
        seen_content = true;
        if is_header {
            continue;
        }
        let at = format!("line {line_no}");
        if !(2..=3).contains(&fields.len()) {
            return Err(DomainError::invalid(at, "errors.expected_three_fields_date_kind"));
        }
        let date = NaiveDate::parse_from_str(fields[0], "%Y-%m-%d").map_err(|_| {
            DomainError::invalid(
                format!("{at}.date"),
                crate::reason!("errors.not_date_yyyy_mm_dd_3", shown = shown(fields[0])),
            )
        })?;
        let periods_field = format!("{at}.periods");
        let periods = parse_period_list(&periods_field, fields.get(2).copied().unwrap_or(""), ';')?;
        let rule = DayRule::from_parts(&format!("{at}.kind"), &periods_field, fields[1], periods)?;
        if let Some((first, _)) = rows.get(&date) {
            return Err(DomainError::invalid(
                format!("{at}.date"),
                crate::reason!("errors.already_given_on_line", date, first),
            ));
        }
        rows.insert(date, (line_no, rule));
    }
    Ok(rows.into_iter().map(|(date, (_, rule))| (date, rule)).collect())
}

/// `08:30-12:00;13:30-17:30` (empty for none); shared with the iCalendar property.
pub(crate) fn parse_period_list(field: &str, text: &str, separator: char) -> Result<Vec<Period>, DomainError> {
    text.split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, s)| Period::parse_range_in(&format!("{field}[{i}]"), s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<Vec<(NaiveDate, DayRule)>, DomainError>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_and_lenient_input() {
        let p = |s: &str| s.parse::<Period>().expect("period");
        let mut map = BTreeMap::new();
        map.insert(NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"), DayRule::Holiday);
        map.insert(
            NaiveDate::from_ymd_opt(2025, 1, 26).expect("date"),
            DayRule::Workday(vec![p("08:30-12:00"), p("13:30-17:30")]),
        );
        map.insert(NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"), DayRule::Hours(vec![p("09:00-24:00")]));
        let text = exceptions_to_csv(&map);
        assert_eq!(
            text,
            "date,kind,periods\n2025-01-01,holiday,\n2025-01-26,workday,08:30-12:00;13:30-17:30\n2025-12-31,hours,09:00-24:00\n"
        );
        let back: BTreeMap<_, _> = parse_exceptions_csv(&text).expect("parse").into_iter().collect();
        assert_eq!(back, map);

        let messy = "\u{feff}# 2025\r\n\r\n2025-12-31 , Hours , 09:00-24:00 ;\r\n2025-01-01,holiday\r\n";
        let rows = parse_exceptions_csv(messy).expect("lenient");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1, DayRule::Holiday);
    }

    #[test]
    fn errors_name_line_and_field() {
        assert_eq!(field_of(parse_exceptions_csv("date,kind,periods\n2025-13-01,holiday,")), "line 2.date");
        assert_eq!(field_of(parse_exceptions_csv("2025-01-01,off,")), "line 1.kind");
        assert_eq!(field_of(parse_exceptions_csv("2025-01-01,hours,08:00-09:00;10:00")), "line 1.periods[1]");
        assert_eq!(field_of(parse_exceptions_csv("2025-01-01,hours,08:00-09:00;08:30-10:00")), "line 1.periods[1]");
        assert_eq!(field_of(parse_exceptions_csv("2025-01-01,workday,")), "line 1.periods");
        assert_eq!(field_of(parse_exceptions_csv("2025-01-01")), "line 1");
        assert_eq!(field_of(parse_exceptions_csv("2025-01-01,holiday,\n2025-01-01,holiday,")), "line 2.date");
    }
}

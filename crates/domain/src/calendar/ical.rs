//! Exceptions as iCalendar (RFC 5545) all-day events. Timed and recurring events are refused
//! rather than half-understood: an exception is always a whole local date.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::csv::parse_period_list;
use super::{DayRule, Period, shown};
use crate::DomainError;

/// Longest all-day event accepted, so a typo in DTEND cannot expand into millions of dates.
const MAX_EVENT_DAYS: i64 = 366;

/// A VCALENDAR with one all-day VEVENT per exception: `DTSTART;VALUE=DATE`, `DTEND`, a `SUMMARY`,
/// `X-LOOPDESK-KIND` (holiday/workday/hours) and `X-LOOPDESK-PERIODS` (`08:30-12:00\;13:30-17:30`).
/// `DTSTAMP` (required by RFC 5545) is derived from the date so the output depends on the input only.
pub fn exceptions_to_ical<'a>(rows: impl IntoIterator<Item = (&'a NaiveDate, &'a DayRule)>) -> String {
    let mut out = String::new();
    let mut line = |s: &str| push_folded(&mut out, s);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Loopdesk//Business calendar//EN");
    line("CALSCALE:GREGORIAN");
    for (date, rule) in rows {
        let day = date.format("%Y%m%d").to_string();
        let summary = match rule {
            DayRule::Holiday => "Holiday",
            DayRule::Workday(_) => "Make-up workday",
            DayRule::Hours(_) => "Changed hours",
        };
        line("BEGIN:VEVENT");
        line(&format!("UID:{day}-{}@loopdesk", rule.kind()));
        line(&format!("DTSTAMP:{day}T000000Z"));
        line(&format!("DTSTART;VALUE=DATE:{day}"));
        if let Some(next) = date.succ_opt() {
            line(&format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")));
        }
        line(&format!("SUMMARY:{summary}"));
        line("TRANSP:TRANSPARENT");
        line(&format!("X-LOOPDESK-KIND:{}", rule.kind()));
        if !rule.periods().is_empty() {
            let periods: Vec<String> = rule.periods().iter().map(Period::to_string).collect();
            // TEXT values escape ';' (RFC 5545 §3.3.11).
            line(&format!("X-LOOPDESK-PERIODS:{}", periods.join("\\;")));
        }
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

/// Lines longer than 75 octets continue on the next line after a space (RFC 5545 §3.1).
fn push_folded(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[derive(Default)]
struct Event {
    start: Option<(String, bool)>,
    end: Option<(String, bool)>,
    duration: Option<String>,
    kind: Option<String>,
    periods: Option<String>,
    recurring: bool,
    cancelled: bool,
}

/// Parses all-day VEVENTs into exceptions sorted by date. Events with `X-LOOPDESK-KIND` (and
/// `X-LOOPDESK-PERIODS`) come back exactly as exported; plain all-day events are holidays on every
/// date from DTSTART up to DTEND (exclusive) or DURATION (`PnD`/`PnW`), one day by default.
/// Timed and recurring events are refused, cancelled ones skipped; a date given two different
/// rules is an error. Errors name `event N.PROPERTY` (N counts VEVENTs from 1) or `line N`.
///
/// A holiday feed that marks 调休 make-up days as ordinary all-day events (e.g. "补班") would
/// turn them into holidays: such feeds need the kind property or a manual fix after import.
pub fn parse_exceptions_ical(text: &str) -> Result<Vec<(NaiveDate, DayRule)>, DomainError> {
    let mut found: BTreeMap<NaiveDate, (usize, DayRule)> = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut event: Option<Event> = None;
    let mut events = 0_usize;
    for (line_no, line) in unfold(text) {
        if line.trim().is_empty() {
            continue;
        }
        let Some(ContentLine { name, params, value }) = split_content_line(&line) else {
            return Err(DomainError::invalid(format!("line {line_no}"), "errors.not_icalendar_name_value_line"));
        };
        match name.as_str() {
            "BEGIN" => {
                let component = value.trim().to_ascii_uppercase();
                if component == "VEVENT" {
                    events += 1;
                    event = Some(Event::default());
                }
                stack.push(component);
            }
            "END" => {
                let component = value.trim().to_ascii_uppercase();
                if stack.pop().as_deref() != Some(component.as_str()) {
                    return Err(DomainError::invalid(
                        format!("line {line_no}"),
                        crate::reason!("errors.end_does_not_close_open", shown = shown(&component)),
                    ));
                }
                if component == "VEVENT"
                    && let Some(done) = event.take()
                {
                    add_event(&mut found, events, done)?;
                }
            }
            _ if stack.last().map(String::as_str) == Some("VEVENT") => {
                if let Some(ev) = event.as_mut() {
                    let is_date = params.iter().any(|(k, v)| k == "VALUE" && v.eq_ignore_ascii_case("DATE"));
                    match name.as_str() {
                        "DTSTART" => ev.start = Some((value.trim().to_owned(), is_date)),
                        "DTEND" => ev.end = Some((value.trim().to_owned(), is_date)),
                        "DURATION" => ev.duration = Some(value.trim().to_owned()),
                        "RRULE" | "RDATE" => ev.recurring = true,
                        "STATUS" => ev.cancelled = value.trim().eq_ignore_ascii_case("CANCELLED"),
                        "X-LOOPDESK-KIND" => ev.kind = Some(unescape(value)),
                        "X-LOOPDESK-PERIODS" => ev.periods = Some(unescape(value)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(DomainError::invalid("ical", crate::reason!("errors.begin_never_closed", shown = shown(open))));
    }
    Ok(found.into_iter().map(|(date, (_, rule))| (date, rule)).collect())
}

fn add_event(found: &mut BTreeMap<NaiveDate, (usize, DayRule)>, n: usize, ev: Event) -> Result<(), DomainError> {
    let at = |prop: &str| format!("event {n}.{prop}");
    if ev.cancelled {
        return Ok(());
    }
    if ev.recurring {
        return Err(DomainError::invalid(at("RRULE"), "errors.recurring_events_are_not_supported"));
    }
    let (start_text, start_is_date) = ev.start.ok_or_else(|| DomainError::invalid(at("DTSTART"), "errors.required"))?;
    let start = parse_date(&at("DTSTART"), &start_text, start_is_date)?;
    let days = match (ev.end, ev.duration) {
        (Some((end_text, end_is_date)), _) => (parse_date(&at("DTEND"), &end_text, end_is_date)? - start).num_days(),
        (None, Some(d)) => parse_days(&d).ok_or_else(|| {
            DomainError::invalid(at("DURATION"), crate::reason!("errors.not_whole_number_days_pnd", shown = shown(&d)))
        })?,
        (None, None) => 1,
    };
    if !(1..=MAX_EVENT_DAYS).contains(&days) {
        return Err(DomainError::invalid(at("DTEND"), crate::reason!("errors.event_must_span_1_days", MAX_EVENT_DAYS)));
    }
    if ev.kind.is_none() && ev.periods.is_some() {
        return Err(DomainError::invalid(at("X-LOOPDESK-KIND"), "errors.required_with_x_loopdesk_periods"));
    }
    let periods_field = at("X-LOOPDESK-PERIODS");
    let periods = parse_period_list(&periods_field, ev.periods.as_deref().unwrap_or(""), ';')?;
    let kind = ev.kind.as_deref().unwrap_or("holiday");
    let rule = DayRule::from_parts(&at("X-LOOPDESK-KIND"), &periods_field, kind, periods)?;
    for date in start.iter_days().take(usize::try_from(days).unwrap_or(0)) {
        match found.get(&date) {
            Some((_, earlier)) if *earlier == rule => {}
            Some((other, _)) => {
                return Err(DomainError::invalid(
                    at("DTSTART"),
                    crate::reason!("errors.already_given_different_rule_by", date, other),
                ));
            }
            None => {
                found.insert(date, (n, rule.clone()));
            }
        }
    }
    Ok(())
}

/// `YYYYMMDD`; date-times (`…T090000Z`) are refused because only whole days are exceptions.
fn parse_date(field: &str, text: &str, declared_date: bool) -> Result<NaiveDate, DomainError> {
    if !declared_date && text.contains('T') {
        return Err(DomainError::invalid(field, "errors.must_all_day_date_value"));
    }
    let ok = text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| NaiveDate::parse_from_str(text, "%Y%m%d").ok())
        .flatten()
        .ok_or_else(|| DomainError::invalid(field, crate::reason!("errors.not_date_yyyymmdd", shown = shown(text))))
}

/// `P3D`, `P1W`: the only durations an all-day event can sensibly have.
fn parse_days(text: &str) -> Option<i64> {
    let body = text.trim().strip_prefix('P')?;
    let (digits, factor) = match body.strip_suffix('D') {
        Some(d) => (d, 1),
        None => (body.strip_suffix('W')?, 7),
    };
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(|n| n * factor)
}

/// Joins folded lines; yields each logical line with the number of its first physical line.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some((_, last)) = lines.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        lines.push((i + 1, raw.to_owned()));
    }
    lines
}

/// One `NAME;PARAM=VALUE;…:value` line: upper-case name and parameter names, raw value.
struct ContentLine<'a> {
    name: String,
    params: Vec<(String, String)>,
    value: &'a str,
}

/// Colons and semicolons inside double-quoted parameter values do not split.
fn split_content_line(line: &str) -> Option<ContentLine<'_>> {
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = Vec::new();
    let mut current = String::new();
    in_quotes = false;
    for c in head.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    let mut parts = parts.into_iter();
    let name = parts.next()?.trim().to_ascii_uppercase();
    if name.is_empty() {
        return None;
    }
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_uppercase(), v.trim().to_owned()),
            None => (p.trim().to_ascii_uppercase(), String::new()),
        })
        .collect();
    Some(ContentLine { name, params, value })
}

/// Undoes TEXT escaping: `\;` `\,` `\\` `\n`.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
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

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn round_trip_with_folding() {
        let p = |s: &str| s.parse::<Period>().expect("period");
        let many: Vec<Period> = (0..10).map(|h| p(&format!("{:02}:00-{:02}:30", h * 2, h * 2))).collect();
        let mut map = BTreeMap::new();
        map.insert(date(2025, 10, 1), DayRule::Holiday);
        map.insert(date(2025, 9, 28), DayRule::Workday(vec![p("08:30-12:00"), p("13:30-17:30")]));
        map.insert(date(2025, 12, 24), DayRule::Hours(many));
        let text = exceptions_to_ical(&map);
        assert!(text.contains("DTSTART;VALUE=DATE:20251001\r\n"));
        assert!(text.contains("X-LOOPDESK-PERIODS:08:30-12:00\\;13:30-17:30\r\n"));
        assert!(text.lines().all(|l| l.len() <= 75), "folded");
        let back: BTreeMap<_, _> = parse_exceptions_ical(&text).expect("parse").into_iter().collect();
        assert_eq!(back, map);
    }

    #[test]
    fn plain_all_day_events_are_holidays() {
        let feed = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:春节\nDTSTART;VALUE=DATE:20250128\nDTEND;VALUE=DATE:20250205\n\
                    BEGIN:VALARM\nDTSTART:20250101T000000Z\nEND:VALARM\nEND:VEVENT\n\
                    BEGIN:VEVENT\nDTSTART:20250101\nSUMMARY:元旦\nEND:VEVENT\n\
                    BEGIN:VEVENT\nDTSTART;VALUE=DATE:20250404\nDURATION:P3D\nEND:VEVENT\n\
                    BEGIN:VEVENT\nDTSTART;VALUE=DATE:20250601\nSTATUS:CANCELLED\nEND:VEVENT\nEND:VCALENDAR\n";
        let rows = parse_exceptions_ical(feed).expect("parse");
        assert_eq!(rows.len(), 8 + 1 + 3);
        assert!(rows.iter().all(|(_, r)| *r == DayRule::Holiday));
        assert_eq!(rows[0].0, date(2025, 1, 1));
        assert_eq!(rows[8].0, date(2025, 2, 4));
    }

    #[test]
    fn refusals_name_the_event() {
        let one = |body: &str| parse_exceptions_ical(&format!("BEGIN:VEVENT\n{body}\nEND:VEVENT\n"));
        assert_eq!(field_of(one("DTSTART:20250101T090000Z")), "event 1.DTSTART");
        assert_eq!(field_of(one("SUMMARY:x")), "event 1.DTSTART");
        assert_eq!(field_of(one("DTSTART:20250101\nRRULE:FREQ=YEARLY")), "event 1.RRULE");
        assert_eq!(field_of(one("DTSTART:20250101\nDTEND:20250101")), "event 1.DTEND");
        assert_eq!(field_of(one("DTSTART:20250101\nDURATION:PT8H")), "event 1.DURATION");
        assert_eq!(field_of(one("DTSTART:20250101\nX-LOOPDESK-KIND:workday")), "event 1.X-LOOPDESK-PERIODS");
        assert_eq!(field_of(one("DTSTART:20250101\nX-LOOPDESK-KIND:nap")), "event 1.X-LOOPDESK-KIND");
        assert_eq!(
            field_of(one("DTSTART:20250101\nX-LOOPDESK-KIND:hours\nX-LOOPDESK-PERIODS:9-10")),
            "event 1.X-LOOPDESK-PERIODS[0]"
        );
        assert_eq!(field_of(parse_exceptions_ical("BEGIN:VEVENT\nDTSTART:20250101\n")), "ical");
        assert_eq!(field_of(parse_exceptions_ical("garbage")), "line 1");
        let clash = "BEGIN:VEVENT\nDTSTART:20250101\nEND:VEVENT\nBEGIN:VEVENT\nDTSTART:20250101\n\
                     X-LOOPDESK-KIND:hours\nX-LOOPDESK-PERIODS:09:00-10:00\nEND:VEVENT\n";
        assert_eq!(field_of(parse_exceptions_ical(clash)), "event 2.DTSTART");
    }
}

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::{America, Asia, Europe, Tz};
use proptest::prelude::*;

use super::*;
use crate::fuzz::{apply_json_edits, apply_text_edits, json_edits, refused_with_field, text_edits};

fn p(s: &str) -> Period {
    s.parse().expect("period")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, mi, 0).single().expect("unambiguous local time").with_timezone(&Utc)
}

fn sh(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    at(Asia::Shanghai, y, m, d, h, mi)
}

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0).single().expect("utc")
}

fn field_of<T: std::fmt::Debug>(r: Result<T, DomainError>) -> String {
    match r {
        Err(DomainError::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// Mon–Fri 08:30–12:00 and 13:30–17:30.
fn office(tz: Tz) -> Calendar {
    let day = vec![p("08:30-12:00"), p("13:30-17:30")];
    let weekly = [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]];
    Calendar::new(tz, weekly, BTreeMap::new()).expect("office calendar")
}

/// Office hours in Shanghai with the 2025 holiday and 调休 table.
fn china() -> Calendar {
    let mut cal = office(Asia::Shanghai);
    let DayRule::Workday(hours) = cal.makeup_workday().expect("weekday hours") else { panic!("workday rule") };
    cal.replace_exceptions_in_year(2025, china_2025_exceptions(&hours)).expect("2025 table");
    cal
}

fn mins(m: i64) -> Duration {
    Duration::WorkingMinutes(m)
}

#[test]
fn china_2025_table() {
    let cal = china();
    assert_eq!(cal.exceptions_in_year(2025).count(), 28 + 5);
    let holidays = cal.exceptions().values().filter(|r| **r == DayRule::Holiday).count();
    assert_eq!(holidays, 28);
    for (y, m, d) in [(2025, 1, 26), (2025, 2, 8), (2025, 4, 27), (2025, 9, 28), (2025, 10, 11)] {
        assert!(cal.is_working_day(date(y, m, d)), "make-up day {m}-{d}");
    }
    for (m, d) in [(1, 1), (1, 28), (2, 4), (4, 4), (5, 5), (6, 2), (10, 1), (10, 8), (1, 25), (10, 12)] {
        assert!(!cal.is_working_day(date(2025, m, d)), "day off {m}-{d}");
    }
    assert!(cal.is_working_day(date(2025, 2, 5)));
    assert!(cal.is_working_day(date(2025, 10, 9)));
    // Open periods as instants, for the month view: Shanghai is UTC+8 all year.
    assert_eq!(
        cal.open_periods_on(date(2025, 9, 28)),
        vec![(utc(2025, 9, 28, 0, 30), utc(2025, 9, 28, 4, 0)), (utc(2025, 9, 28, 5, 30), utc(2025, 9, 28, 9, 30)),]
    );
    assert!(cal.open_periods_on(date(2025, 10, 3)).is_empty());
}

#[test]
fn five_working_days_over_national_day() {
    let cal = china();
    let start = sh(2025, 9, 26, 16, 0);
    // Received Fri 26; Sun 28 (make-up), Mon 29, Tue 30, then Oct 1–8 off, Thu 9, Fri 10.
    assert_eq!(due(&cal, start, Duration::WorkingDays(5)), Ok(sh(2025, 10, 10, 17, 30)));
    assert_eq!(due(&cal, start, Duration::WorkingDays(6)), Ok(sh(2025, 10, 11, 17, 30)));
    assert_eq!(due(&cal, start, Duration::WorkingDays(0)), Ok(sh(2025, 9, 26, 17, 30)));
    assert_eq!(due(&cal, start, Duration::WorkingDays(1)), Ok(sh(2025, 9, 28, 17, 30)));
    // After close the next working day (Sun 28) is the received day.
    assert_eq!(due(&cal, sh(2025, 9, 26, 17, 30), Duration::WorkingDays(1)), Ok(sh(2025, 9, 29, 17, 30)));
    assert_eq!(due(&cal, sh(2025, 9, 26, 18, 0), Duration::WorkingDays(0)), Ok(sh(2025, 9, 28, 17, 30)));
    // Before opening, the day itself is still the received day.
    assert_eq!(due(&cal, sh(2025, 9, 26, 7, 0), Duration::WorkingDays(1)), Ok(sh(2025, 9, 28, 17, 30)));
    // Open time in between: Fri 1.5 h, Sun/Mon/Tue 7.5 h each, Thu 0.5 h.
    let hours = |h: f64| TimeDelta::minutes((h * 60.0) as i64);
    assert_eq!(elapsed_working(&cal, start, sh(2025, 10, 9, 9, 0)), hours(24.5));
    assert_eq!(elapsed_working(&cal, sh(2025, 10, 9, 9, 0), start), -hours(24.5));
}

#[test]
fn working_hours_across_lunch() {
    let cal = china();
    let mon = |h, m| sh(2025, 3, 3, h, m);
    assert_eq!(due(&cal, mon(11, 0), Duration::working_hours(2)), Ok(mon(14, 30)));
    assert_eq!(due(&cal, mon(12, 30), mins(30)), Ok(mon(14, 0)));
    assert_eq!(elapsed_working(&cal, mon(11, 0), mon(14, 30)), TimeDelta::hours(2));
    assert_eq!(elapsed_working(&cal, mon(12, 5), mon(13, 25)), TimeDelta::zero());
    // Using up a period exactly ends at its close, not at the next opening.
    assert_eq!(due(&cal, mon(8, 30), mins(210)), Ok(mon(12, 0)));
    assert_eq!(due(&cal, mon(8, 30), mins(211)), Ok(mon(13, 31)));
    assert_eq!(due(&cal, mon(8, 30), mins(450)), Ok(mon(17, 30)));
    assert_eq!(due(&cal, mon(8, 30), mins(451)), Ok(sh(2025, 3, 4, 8, 31)));
    assert_eq!(due(&cal, mon(12, 30), mins(0)), Ok(mon(12, 30)));
}

#[test]
fn start_on_a_holiday_moves_to_next_opening() {
    let cal = china();
    assert_eq!(due(&cal, sh(2025, 10, 3, 10, 0), Duration::working_hours(1)), Ok(sh(2025, 10, 9, 9, 30)));
    assert_eq!(due(&cal, sh(2025, 1, 1, 9, 0), mins(30)), Ok(sh(2025, 1, 2, 9, 0)));
    assert_eq!(due(&cal, sh(2025, 10, 3, 10, 0), Duration::WorkingDays(0)), Ok(sh(2025, 10, 9, 17, 30)));
    // Spring festival: Mon Jan 27 17:00, half an hour left, then nothing until Wed Feb 5.
    assert_eq!(due(&cal, sh(2025, 1, 27, 17, 0), mins(60)), Ok(sh(2025, 2, 5, 9, 0)));
    // Friday before: the make-up Sunday Jan 26 is the next opening.
    assert_eq!(due(&cal, sh(2025, 1, 24, 17, 0), mins(60)), Ok(sh(2025, 1, 26, 9, 0)));
}

#[test]
fn twenty_four_working_hours_across_a_weekend() {
    let cal = china();
    let start = sh(2025, 3, 7, 15, 0); // Friday
    // Fri 2.5 h + Mon 7.5 + Tue 7.5 + Wed 3.5 (morning) + 3 h after lunch.
    let end = sh(2025, 3, 12, 16, 30);
    assert_eq!(due(&cal, start, Duration::working_hours(24)), Ok(end));
    assert_eq!(elapsed_working(&cal, start, end), TimeDelta::hours(24));
    // Calendar hours ignore the calendar entirely.
    assert_eq!(due(&cal, start, Duration::Hours(24)), Ok(sh(2025, 3, 8, 15, 0)));
}

#[test]
fn months_clamp_to_month_end() {
    let cal = china();
    assert_eq!(due(&cal, sh(2025, 1, 31, 10, 0), Duration::Months(1)), Ok(sh(2025, 2, 28, 10, 0)));
    assert_eq!(due(&cal, sh(2024, 1, 31, 10, 0), Duration::Months(1)), Ok(sh(2024, 2, 29, 10, 0)));
    assert_eq!(due(&cal, sh(2024, 1, 31, 10, 0), Duration::Months(13)), Ok(sh(2025, 2, 28, 10, 0)));
    assert_eq!(due(&cal, sh(2025, 3, 31, 23, 59), Duration::Months(0)), Ok(sh(2025, 3, 31, 23, 59)));
    // Local, not UTC: 00:30 on Mar 1 in Shanghai is still Feb 28 in UTC.
    assert_eq!(due(&cal, sh(2025, 3, 1, 0, 30), Duration::Months(1)), Ok(sh(2025, 4, 1, 0, 30)));
}

#[test]
fn durations_are_checked() {
    let cal = china();
    let start = sh(2025, 3, 3, 9, 0);
    assert_eq!(field_of(due(&cal, start, mins(-1))), "duration");
    assert_eq!(field_of(due(&cal, start, Duration::Months(-1))), "duration");
    assert_eq!(field_of(due(&cal, start, mins(Duration::MAX_WORKING_MINUTES + 1))), "duration");
    assert_eq!(field_of(due(&cal, start, Duration::working_hours(i64::MAX))), "duration");
    assert!(due(&cal, start, mins(Duration::MAX_WORKING_MINUTES)).is_ok());
    let far = DateTime::<Utc>::MAX_UTC - TimeDelta::hours(1);
    assert_eq!(field_of(due(&cal, far, Duration::Hours(2))), "duration");
    assert_eq!(field_of(due(&Calendar::always_open(Tz::UTC), far, mins(120))), "duration");
    let json = serde_json::to_string(&Duration::WorkingMinutes(90)).expect("json");
    assert_eq!(json, r#"{"working_minutes":90}"#);
}

#[test]
fn a_calendar_without_open_time_fails_instead_of_looping() {
    let closed = Calendar::new(Asia::Shanghai, Default::default(), BTreeMap::new()).expect("valid but closed");
    let start = sh(2025, 3, 3, 9, 0);
    assert_eq!(field_of(due(&closed, start, mins(1))), "calendar");
    assert_eq!(field_of(due(&closed, start, Duration::WorkingDays(0))), "calendar");
    assert_eq!(elapsed_working(&closed, start, sh(2027, 3, 3, 9, 0)), TimeDelta::zero());
    assert_eq!(due(&closed, start, Duration::Hours(1)), Ok(sh(2025, 3, 3, 10, 0)));
    // A long closure within the horizon is fine: a single make-up day two years later.
    let mut sparse = closed.clone();
    sparse.set_exception(date(2027, 3, 1), DayRule::Workday(vec![p("09:00-10:00")])).expect("rule");
    assert_eq!(due(&sparse, start, mins(30)), Ok(sh(2027, 3, 1, 9, 30)));
}

#[test]
fn berlin_dst_changes() {
    let tz = Europe::Berlin;
    let always = Calendar::always_open(tz);
    let local_day = |y, m, d| (at(tz, y, m, d, 0, 0), at(tz, y, m, d + 1, 0, 0));
    let (a, b) = local_day(2025, 3, 30);
    assert_eq!(elapsed_working(&always, a, b), TimeDelta::hours(23));
    let (a, b) = local_day(2025, 10, 26);
    assert_eq!(elapsed_working(&always, a, b), TimeDelta::hours(25));
    assert_eq!(due(&always, a, Duration::working_hours(24)), Ok(utc(2025, 10, 26, 22, 0)));

    // Sunday 01:00–04:00 spans the gap (2 h real) in March and the repeated hour (4 h) in October.
    let mut weekly: [Vec<Period>; 7] = Default::default();
    weekly[6] = vec![p("01:00-04:00")];
    let night = Calendar::new(tz, weekly, BTreeMap::new()).expect("calendar");
    assert_eq!(night.open_periods_on(date(2025, 3, 30)), vec![(utc(2025, 3, 30, 0, 0), utc(2025, 3, 30, 2, 0))]);
    assert_eq!(night.open_periods_on(date(2025, 10, 26)), vec![(utc(2025, 10, 25, 23, 0), utc(2025, 10, 26, 3, 0))]);
    assert_eq!(due(&night, utc(2025, 3, 29, 12, 0), Duration::working_hours(2)), Ok(utc(2025, 3, 30, 2, 0)));

    // A start inside the gap means the gap's end; a period wholly inside it vanishes.
    let mut weekly: [Vec<Period>; 7] = Default::default();
    weekly[6] = vec![p("02:15-02:45"), p("02:50-05:00")];
    let gap = Calendar::new(tz, weekly, BTreeMap::new()).expect("calendar");
    assert_eq!(gap.open_periods_on(date(2025, 3, 30)), vec![(utc(2025, 3, 30, 1, 0), utc(2025, 3, 30, 3, 0))]);
    assert_eq!(gap.open_periods_on(date(2025, 3, 23)).len(), 2);
    let mut march_only = gap.clone();
    march_only.set_exception(date(2025, 3, 30), DayRule::Hours(vec![p("02:15-02:45")])).expect("rule");
    assert!(!march_only.is_working_day(date(2025, 3, 30)));

    // Months: a nonexistent wall time maps to the gap's end, a repeated one to its first occurrence.
    assert_eq!(due(&always, at(tz, 2025, 1, 30, 2, 30), Duration::Months(2)), Ok(utc(2025, 3, 30, 1, 0)));
    assert_eq!(due(&always, at(tz, 2025, 9, 26, 2, 30), Duration::Months(1)), Ok(utc(2025, 10, 26, 0, 30)));
    // Calendar hours are real hours: 24 h after Saturday noon is 13:00 on the DST Sunday.
    assert_eq!(due(&always, at(tz, 2025, 3, 29, 12, 0), Duration::Hours(24)), Ok(at(tz, 2025, 3, 30, 13, 0)));
}

#[test]
fn santiago_changes_clocks_at_midnight() {
    // Chile's DST ends at 24:00 Saturday (back to 23:00) and starts at 24:00 Saturday (on to 01:00).
    let cal = Calendar::always_open(America::Santiago);
    // Apr 5 has 25 hours: its last wall hour repeats, and the first midnight of Apr 6 is at 04:00Z.
    assert_eq!(cal.open_periods_on(date(2025, 4, 5)), vec![(utc(2025, 4, 5, 3, 0), utc(2025, 4, 6, 4, 0))]);
    assert_eq!(cal.open_periods_on(date(2025, 4, 6)), vec![(utc(2025, 4, 6, 4, 0), utc(2025, 4, 7, 4, 0))]);
    // Midnight Sep 7 does not exist: Sep 6 ends and Sep 7 starts at the gap's end.
    assert_eq!(cal.open_periods_on(date(2025, 9, 6)), vec![(utc(2025, 9, 6, 4, 0), utc(2025, 9, 7, 4, 0))]);
    assert_eq!(cal.open_periods_on(date(2025, 9, 7)), vec![(utc(2025, 9, 7, 4, 0), utc(2025, 9, 8, 3, 0))]);
    // An instant in the second pass of the repeated hour still belongs to Apr 5.
    let repeated = utc(2025, 4, 6, 3, 30);
    assert_eq!(cal.local_date(repeated), date(2025, 4, 5));
    assert_eq!(due(&cal, repeated, mins(30)), Ok(utc(2025, 4, 6, 4, 0)));
    assert_eq!(due(&cal, repeated, Duration::WorkingDays(0)), Ok(utc(2025, 4, 6, 4, 0)));
    assert_eq!(due(&cal, repeated, Duration::Months(0)), Ok(repeated));
    assert_eq!(elapsed_working(&cal, utc(2025, 4, 5, 3, 0), utc(2025, 4, 7, 4, 0)), TimeDelta::hours(49));
}

#[test]
fn construction_and_helpers() {
    let cal = office(Asia::Shanghai);
    assert_eq!(cal.makeup_workday(), Ok(DayRule::Workday(vec![p("08:30-12:00"), p("13:30-17:30")])));
    assert_eq!(field_of(cal.makeup_workday_like(Weekday::Sat)), "weekly.sat");
    let closed = Calendar::new(Tz::UTC, Default::default(), BTreeMap::new()).expect("closed");
    assert_eq!(field_of(closed.makeup_workday()), "weekly");

    let mut weekly: [Vec<Period>; 7] = Default::default();
    weekly[2] = vec![p("13:00-14:00"), p("09:00-10:00")];
    assert_eq!(field_of(Calendar::new(Tz::UTC, weekly, BTreeMap::new())), "weekly.wed[1]");
    let mut ex = BTreeMap::new();
    ex.insert(date(2025, 5, 1), DayRule::Workday(vec![]));
    assert_eq!(field_of(Calendar::new(Tz::UTC, Default::default(), ex)), "exceptions[2025-05-01].periods");

    let mut cal = china();
    let rows = vec![(date(2026, 1, 1), DayRule::Holiday), (date(2025, 1, 2), DayRule::Holiday)];
    assert_eq!(field_of(cal.replace_exceptions_in_year(2026, rows)), "rows[1].date");
    assert_eq!(cal.exceptions_in_year(2026).count(), 0, "all or nothing");
    cal.replace_exceptions_in_year(2025, vec![(date(2025, 12, 25), DayRule::Holiday)]).expect("replace");
    assert_eq!(cal.exceptions().len(), 1);
    assert_eq!(cal.remove_exception(date(2025, 12, 25)), Some(DayRule::Holiday));

    assert_eq!(field_of(Period::new(600, 600)), "period");
    assert_eq!(field_of(Period::new(0, 1441)), "period");
    assert_eq!(field_of("24:00-24:00".parse::<Period>()), "period");
    assert_eq!(
        Period::parse("8:05", "24:00").map(|p| (p.start_minute(), p.end_minute(), p.minutes())),
        Ok((485, 1440, 955))
    );
    assert_eq!(p("00:00-24:00").to_string(), "00:00-24:00");
}

#[test]
fn csv_and_ical_carry_the_china_table() {
    let cal = china();
    let csv = exceptions_to_csv(cal.exceptions_in_year(2025));
    assert!(csv.contains("2025-09-28,workday,08:30-12:00;13:30-17:30\n"));
    assert!(csv.contains("2025-10-08,holiday,\n"));
    let mut from_csv = office(Asia::Shanghai);
    from_csv.replace_exceptions_in_year(2025, parse_exceptions_csv(&csv).expect("csv")).expect("rows");
    assert_eq!(from_csv, cal);
    let ics = exceptions_to_ical(cal.exceptions_in_year(2025));
    let mut from_ics = office(Asia::Shanghai);
    from_ics.replace_exceptions_in_year(2025, parse_exceptions_ical(&ics).expect("ics")).expect("rows");
    assert_eq!(from_ics, cal);
    assert_eq!(Calendar::from_spec(&cal.to_spec()), Ok(cal));
}

// ---- properties ----------------------------------------------------------------------------

fn fixtures() -> Vec<Calendar> {
    let office_berlin = office(Europe::Berlin);
    let mut weekly: [Vec<Period>; 7] = std::array::from_fn(|i| office_berlin.weekly_periods(weekday(i)).to_vec());
    // Weekend night hours that cross midnight and both DST changes.
    weekly[5] = vec![p("22:00-24:00")];
    weekly[6] = vec![p("00:00-01:00"), p("02:15-02:45"), p("02:50-04:00")];
    let berlin = Calendar::new(Europe::Berlin, weekly, BTreeMap::new()).expect("berlin");
    let mut sparse_weekly: [Vec<Period>; 7] = Default::default();
    sparse_weekly[2] = vec![p("10:00-11:00")];
    sparse_weekly[5] = vec![p("23:00-24:00")];
    sparse_weekly[6] = vec![p("00:00-00:30")];
    let sparse = Calendar::new(America::Santiago, sparse_weekly, BTreeMap::new()).expect("sparse");
    vec![china(), berlin, Calendar::always_open(Europe::Berlin), Calendar::always_open(America::Santiago), sparse]
}

fn weekday(i: usize) -> Weekday {
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun][i]
}

/// Instants from 2024 to 2026 with second resolution, so starts are not always on the minute.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let base = utc(2024, 1, 1, 0, 0);
    (0_i64..3 * 366 * 86_400).prop_map(move |s| base + TimeDelta::seconds(s))
}

/// `lo < t <= hi` for some open interval around `t`.
fn in_or_at_end_of_open_time(cal: &Calendar, t: DateTime<Utc>) -> bool {
    let d = cal.local_date(t);
    [d.pred_opt(), Some(d), d.succ_opt()]
        .into_iter()
        .flatten()
        .flat_map(|d| cal.open_periods_on(d))
        .any(|(lo, hi)| lo < t && t <= hi)
}

proptest! {
    #[test]
    fn working_due_lands_in_open_time(c in 0_usize..5, s in instant(), m in 1_i64..20_000) {
        let cal = &fixtures()[c];
        let d = due(cal, s, mins(m)).expect("due");
        prop_assert!(d > s);
        prop_assert!(in_or_at_end_of_open_time(cal, d), "{d} not in open time");
        prop_assert_eq!(elapsed_working(cal, s, d), TimeDelta::minutes(m));
    }

    #[test]
    fn working_minutes_add_up(c in 0_usize..5, s in instant(), a in 0_i64..10_000, b in 0_i64..10_000) {
        let cal = &fixtures()[c];
        let first = due(cal, s, mins(a)).expect("due a");
        prop_assert_eq!(due(cal, first, mins(b)), due(cal, s, mins(a + b)));
    }

    #[test]
    fn elapsed_is_monotone_and_additive(c in 0_usize..5, s in instant(), x in 0_i64..2_000_000, y in 0_i64..2_000_000) {
        let cal = &fixtures()[c];
        let (t1, t2) = (s + TimeDelta::seconds(x.min(y)), s + TimeDelta::seconds(x.max(y)));
        let (e1, e2) = (elapsed_working(cal, s, t1), elapsed_working(cal, s, t2));
        prop_assert!(TimeDelta::zero() <= e1 && e1 <= e2);
        prop_assert_eq!(e2 - e1, elapsed_working(cal, t1, t2));
        prop_assert!(elapsed_working(cal, t1, t2) <= t2 - t1);
        prop_assert_eq!(elapsed_working(cal, t2, s), -e2);
    }

    #[test]
    fn working_days_end_at_a_close(c in 0_usize..5, s in instant(), n in 0_i64..40) {
        let cal = &fixtures()[c];
        let d = due(cal, s, Duration::WorkingDays(n)).expect("due");
        let next = due(cal, s, Duration::WorkingDays(n + 1)).expect("due");
        prop_assert!(d > s && next > d);
        let day = cal.open_periods_on(cal.local_date(d - TimeDelta::nanoseconds(1)));
        prop_assert_eq!(day.last().map(|&(_, close)| close), Some(d));
    }

    #[test]
    fn months_never_fail_in_range(c in 0_usize..5, s in instant(), n in 0_i64..1_200) {
        let cal = &fixtures()[c];
        let d = due(cal, s, Duration::Months(n)).expect("due");
        prop_assert!(d >= s - TimeDelta::hours(1));
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in any::<String>()) {
        refused_with_field(&Calendar::from_json(&text))?;
        refused_with_field(&parse_exceptions_csv(&text))?;
        refused_with_field(&parse_exceptions_ical(&text))?;
        refused_with_field(&text.parse::<Period>())?;
    }

    #[test]
    fn parsers_never_panic_on_near_miss_text(parts in prop::collection::vec(prop::sample::select(vec![
        "BEGIN:VEVENT", "END:VEVENT", "BEGIN:VALARM", "END:VALARM", "BEGIN:", "END:", "DTSTART;VALUE=DATE:",
        "DTSTART:", "DTEND;VALUE=DATE:", "DURATION:P", "W", "D", "RRULE:", "STATUS:CANCELLED", "X-LOOPDESK-KIND:",
        "X-LOOPDESK-PERIODS:", "holiday", "workday", "hours", "20250101", "20251231", "99991231", "00000229",
        "2025-01-26", "2025-02-29", "+262143-12-31", "08:30", "24:00", "24:01", "9", "-", ":", ";", ",", "\\;", "\\",
        "\"", "=", "T", "Z", "\n", "\r\n", " ", "\t", "\u{feff}", "日", "date,kind,periods", "#", "{", "}", "[", "]",
        "\"timezone\":\"Asia/Shanghai\"", "\"weekly\":", "\"mon\":", "\"exceptions\":", "\"date\":", "\"kind\":",
        "\"periods\":", "[\"08:30\",\"12:00\"]", "999999999999999999999",
    ]), 0..40)) {
        let text = parts.concat();
        refused_with_field(&Calendar::from_json(&text))?;
        refused_with_field(&parse_exceptions_csv(&text))?;
        refused_with_field(&parse_exceptions_ical(&text))?;
        refused_with_field(&text.parse::<Period>())?;
    }

    /// What we export we import unchanged: CSV, iCalendar and the JSON contract.
    #[test]
    fn exports_import_unchanged(cal in any_calendar()) {
        let rows: Vec<(NaiveDate, DayRule)> = cal.exceptions().iter().map(|(d, r)| (*d, r.clone())).collect();
        prop_assert_eq!(parse_exceptions_csv(&exceptions_to_csv(cal.exceptions())), Ok(rows.clone()));
        prop_assert_eq!(parse_exceptions_ical(&exceptions_to_ical(cal.exceptions())), Ok(rows));
        let json = serde_json::to_string(&cal.to_spec()).expect("json");
        prop_assert_eq!(Calendar::from_json(&json), Ok(cal));
    }

    /// Damaged exports: a refusal naming the line, event or field, or a calendar that still works.
    #[test]
    fn damaged_exports_are_refused_by_field(cal in any_calendar(), edits in text_edits(4), s in instant()) {
        let csv = apply_text_edits(&exceptions_to_csv(cal.exceptions()), &edits);
        refused_with_field(&parse_exceptions_csv(&csv))?;
        let ics = apply_text_edits(&exceptions_to_ical(cal.exceptions()), &edits);
        refused_with_field(&parse_exceptions_ical(&ics))?;
        let json = apply_text_edits(&serde_json::to_string(&cal.to_spec()).expect("json"), &edits);
        let r = Calendar::from_json(&json);
        refused_with_field(&r)?;
        if let Ok(c) = r {
            refused_with_field(&due(&c, s, Duration::WorkingDays(3)))?;
        }
    }

    /// Structural damage to the JSON contract (values swapped for others, keys dropped or added,
    /// dates repeated): refused naming the field, or a calendar whose arithmetic still works.
    #[test]
    fn mutated_calendar_json_is_refused_by_field(cal in any_calendar(), edits in json_edits(5), s in instant()) {
        let doc = serde_json::to_value(cal.to_spec()).expect("json");
        let r = Calendar::from_json(&apply_json_edits(doc, &edits).to_string());
        refused_with_field(&r)?;
        if let Ok(c) = r {
            refused_with_field(&due(&c, s, mins(90)))?;
            let _ = elapsed_working(&c, s, s + TimeDelta::days(3));
        }
    }
}

/// Sorted, non-touching periods of one day (possibly none).
fn any_periods() -> impl Strategy<Value = Vec<Period>> {
    prop::collection::btree_set(0_u16..=MINUTES_PER_DAY, 0..=8).prop_map(|bounds| {
        let b: Vec<u16> = bounds.into_iter().collect();
        b.chunks_exact(2).map(|w| Period::new(w[0], w[1]).expect("ordered bounds")).collect()
    })
}

fn any_rule() -> impl Strategy<Value = DayRule> {
    (0_u8..3, any_periods()).prop_map(|(k, mut periods)| {
        if periods.is_empty() {
            periods.push(p("09:00-17:00"));
        }
        match k {
            0 => DayRule::Holiday,
            1 => DayRule::Workday(periods),
            _ => DayRule::Hours(periods),
        }
    })
}

/// Any valid calendar: one of a few zones, random weekly hours, exceptions from 1900 to 2199.
fn any_calendar() -> impl Strategy<Value = Calendar> {
    let zones = vec![Asia::Shanghai, Europe::Berlin, America::Santiago, Tz::UTC];
    (
        prop::sample::select(zones),
        prop::array::uniform7(any_periods()),
        prop::collection::btree_map(0_i64..109_500, any_rule(), 0..12),
    )
        .prop_map(|(tz, weekly, ex)| {
            let base = date(1900, 1, 1);
            let exceptions = ex.into_iter().map(|(d, r)| (base + TimeDelta::days(d), r)).collect();
            Calendar::new(tz, weekly, exceptions).expect("valid by construction")
        })
}

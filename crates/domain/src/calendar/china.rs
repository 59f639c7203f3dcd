//! China's 2025 public holidays and 调休 make-up working days, per 国务院办公厅关于2025年部分节假日安排的通知.

use chrono::NaiveDate;

use super::{DayRule, Period};

/// Official days off, inclusive ranges `(month, day)..=(month, day)`; weekend days inside a range
/// are listed too because the notice counts them as part of the break.
const HOLIDAYS_2025: [((u32, u32), (u32, u32)); 6] = [
    ((1, 1), (1, 1)),   // 元旦
    ((1, 28), (2, 4)),  // 春节
    ((4, 4), (4, 6)),   // 清明节
    ((5, 1), (5, 5)),   // 劳动节
    ((5, 31), (6, 2)),  // 端午节
    ((10, 1), (10, 8)), // 国庆节、中秋节
];

/// Weekend days worked instead (上班).
const MAKEUP_WORKDAYS_2025: [(u32, u32); 5] = [(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)];

/// The 2025 table as exceptions, sorted by date, for `Calendar::replace_exceptions_in_year(2025, …)`
/// or demo data. Make-up days get `makeup_hours` (typically `Calendar::makeup_workday()`'s periods);
/// an empty list is refused when the rows are added to a calendar.
pub fn china_2025_exceptions(makeup_hours: &[Period]) -> Vec<(NaiveDate, DayRule)> {
    let day = |(m, d): (u32, u32)| NaiveDate::from_ymd_opt(2025, m, d);
    let mut rows: Vec<(NaiveDate, DayRule)> = HOLIDAYS_2025
        .iter()
        .filter_map(|&(first, last)| Some((day(first)?, day(last)?)))
        .flat_map(|(first, last)| first.iter_days().take_while(move |d| *d <= last))
        .map(|d| (d, DayRule::Holiday))
        .chain(MAKEUP_WORKDAYS_2025.iter().filter_map(|&md| Some((day(md)?, DayRule::Workday(makeup_hours.to_vec())))))
        .collect();
    rows.sort_by_key(|(d, _)| *d);
    rows
}

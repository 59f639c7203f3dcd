//! China's official holiday tables (国务院办公厅关于N年部分节假日安排的通知), one shipped JSON file
//! per year in `holidays/cn/`, and the parser that turns a pasted notice into the same shape.
//!
//! A table lists, per festival, the dates the notice names as days off (`off`, weekend days inside a
//! range included; "与周末连休" names none) and the weekend days worked instead (`work`, 调休上班).
//! A notice may reach into the year before (元旦 breaks starting on 30 December): a calendar year's
//! exceptions are the rows dated in that year from its own notice and from the next year's.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::{DayRule, Period};
use crate::DomainError;

/// One festival's rows in a table or a parsed notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Festival {
    pub name: String,
    pub off: Vec<NaiveDate>,
    pub work: Vec<NaiveDate>,
}

/// A shipped year: the notice it comes from and its festivals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialTable {
    pub year: i32,
    pub notice: String,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub urls: Vec<String>,
    pub source: String,
    pub festivals: Vec<Festival>,
}

/// The first and last year shipped.
pub const FIRST_OFFICIAL_YEAR: i32 = 2007;
pub const LAST_OFFICIAL_YEAR: i32 = 2026;

const TABLES: [(i32, &str); 20] = [
    (2007, include_str!("holidays/cn/2007.json")),
    (2008, include_str!("holidays/cn/2008.json")),
    (2009, include_str!("holidays/cn/2009.json")),
    (2010, include_str!("holidays/cn/2010.json")),
    (2011, include_str!("holidays/cn/2011.json")),
    (2012, include_str!("holidays/cn/2012.json")),
    (2013, include_str!("holidays/cn/2013.json")),
    (2014, include_str!("holidays/cn/2014.json")),
    (2015, include_str!("holidays/cn/2015.json")),
    (2016, include_str!("holidays/cn/2016.json")),
    (2017, include_str!("holidays/cn/2017.json")),
    (2018, include_str!("holidays/cn/2018.json")),
    (2019, include_str!("holidays/cn/2019.json")),
    (2020, include_str!("holidays/cn/2020.json")),
    (2021, include_str!("holidays/cn/2021.json")),
    (2022, include_str!("holidays/cn/2022.json")),
    (2023, include_str!("holidays/cn/2023.json")),
    (2024, include_str!("holidays/cn/2024.json")),
    (2025, include_str!("holidays/cn/2025.json")),
    (2026, include_str!("holidays/cn/2026.json")),
];

/// The years that have a shipped table, in order.
pub fn official_years() -> impl Iterator<Item = i32> {
    TABLES.iter().map(|(y, _)| *y)
}

/// The shipped table of the notice for `year`, if that notice is shipped.
pub fn official_table(year: i32) -> Option<OfficialTable> {
    let (_, text) = TABLES.iter().find(|(y, _)| *y == year)?;
    // The files are checked by a unit test; an unreadable one reads as "not shipped".
    serde_json::from_str(text).ok()
}

/// Exceptions dated in `year` from the given notices' festivals; make-up days get `makeup_hours`.
pub fn exceptions_in_year_from(
    year: i32,
    festivals: &[Festival],
    makeup_hours: &[Period],
) -> Vec<(NaiveDate, DayRule)> {
    let mut rows: Vec<(NaiveDate, DayRule)> = Vec::new();
    for f in festivals {
        rows.extend(f.off.iter().filter(|d| d.year() == year).map(|d| (*d, DayRule::Holiday)));
        rows.extend(f.work.iter().filter(|d| d.year() == year).map(|d| (*d, DayRule::Workday(makeup_hours.to_vec()))));
    }
    rows.sort_by_key(|(d, _)| *d);
    rows.dedup_by_key(|(d, _)| *d);
    rows
}

/// The official exceptions of calendar year `year` (its notice and the next year's rows dated in
/// it), or `None` when the notice for `year` is not shipped.
pub fn official_exceptions(year: i32, makeup_hours: &[Period]) -> Option<Vec<(NaiveDate, DayRule)>> {
    let own = official_table(year)?;
    let mut festivals = own.festivals;
    if let Some(next) = official_table(year + 1) {
        festivals.extend(next.festivals);
    }
    Some(exceptions_in_year_from(year, &festivals, makeup_hours))
}

/// The 2025 table as exceptions, sorted by date (kept for callers and demo data).
pub fn china_2025_exceptions(makeup_hours: &[Period]) -> Vec<(NaiveDate, DayRule)> {
    official_exceptions(2025, makeup_hours).unwrap_or_default()
}

/// The years an administrator must still enter, as of `today`: the current year and, from
/// 1 November, the next one, for which `has_table` says no.
pub fn years_missing_table(today: NaiveDate, has_table: impl Fn(i32) -> bool) -> Vec<i32> {
    let mut years = vec![today.year()];
    if today.month() >= 11 {
        years.push(today.year() + 1);
    }
    years.into_iter().filter(|y| !has_table(*y)).collect()
}

// ---------------------------------------------------------------------------------------------
// The notice parser

/// Longest notice accepted, in characters.
pub const MAX_NOTICE_CHARS: usize = 20_000;

const ORDINALS: &str = "一二三四五六七八九十";

/// Parses the arrangement sections of the notice for `year` ("一、元旦：1月1日（周四）至3日（周六）
/// 放假调休，共3天。1月4日（周日）上班。…"). Text before the first numbered section (title,
/// addressees, the revised rule) is skipped. Each sentence is a list of dates that are off
/// ("放假", "补休", "休息") or worked ("上班"); "M月D日至[M月]D日" is a range; "共N天" is checked
/// against the days off; a weekday in brackets (周四, 星期日) is checked against the date. Errors
/// name `text` or `section N` with the reason; nothing panics.
pub fn parse_holiday_notice(year: i32, text: &str) -> Result<Vec<Festival>, DomainError> {
    if !(1900..=2200).contains(&year) {
        return Err(DomainError::invalid("year", "errors.must_1900_2200"));
    }
    if text.chars().count() > MAX_NOTICE_CHARS {
        return Err(DomainError::invalid("text", crate::reason!("errors.longer_than_characters", MAX_NOTICE_CHARS)));
    }
    let text = normalise(text);
    if let Some(named) = title_year(&text)
        && named != year
    {
        return Err(DomainError::invalid("text", crate::reason!("errors.notice_not", named, year)));
    }
    let sections = split_sections(&text);
    if sections.is_empty() {
        return Err(DomainError::invalid("text", "errors.has_no_numbered_sections_like"));
    }
    let mut festivals: Vec<Festival> = Vec::new();
    for (i, (name, body)) in sections.iter().enumerate() {
        let field = format!("section {}", i + 1);
        let f = parse_section(year, &field, name, body)?;
        festivals.push(f);
    }
    let mut seen = std::collections::BTreeMap::new();
    for (i, f) in festivals.iter().enumerate() {
        for (d, off) in f.off.iter().map(|d| (d, true)).chain(f.work.iter().map(|d| (d, false))) {
            if let Some((j, was_off)) = seen.insert(*d, (i, off)) {
                let how = if was_off == off { "twice" } else { "both off and worked" };
                return Err(DomainError::invalid(
                    format!("section {}", i + 1),
                    crate::reason!("errors.named_also_section", d, how, j = j + 1),
                ));
            }
        }
    }
    Ok(festivals)
}

/// Full-width digits and punctuation to ASCII where the parser cares; brackets kept apart.
fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c),
            '(' => '（',
            ')' => '）',
            ':' => '：',
            ',' => '，',
            ';' | '；' => '。',
            '\r' => '\n',
            _ => c,
        })
        .collect()
}

/// The year named in the title ("关于2026年部分节假日安排"), if the title was pasted.
fn title_year(text: &str) -> Option<i32> {
    let at = text.find("年部分节假日")?;
    let digits: String =
        text[..at].chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
    digits.parse().ok()
}

/// `(name, body)` of every "一、name：body" section, in order.
fn split_sections(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let line_start = i == 0 || chars[i - 1] == '\n' || chars[i - 1] == '。';
        if line_start {
            let mut j = i;
            while j < chars.len() && (chars[j] == ' ' || chars[j] == '\u{3000}' || chars[j] == '\t') {
                j += 1;
            }
            let k = j;
            while j < chars.len() && ORDINALS.contains(chars[j]) {
                j += 1;
            }
            if j > k && j < chars.len() && chars[j] == '、' {
                starts.push((i, j + 1));
            }
        }
        i += 1;
    }
    let mut out = Vec::new();
    for (n, (_, body_start)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(chars.len(), |(s, _)| *s);
        let section: String = chars[*body_start..end].iter().collect();
        match section.split_once('：') {
            Some((name, body)) if !name.contains('\n') && name.chars().count() <= 60 => {
                out.push((name.trim().to_owned(), body.to_owned()));
            }
            // A numbered paragraph without "name：" is prose (e.g. the closing remarks): skipped.
            _ => {}
        }
    }
    out
}

/// A date mention: where it ends in the sentence, and whether "至" joins it to the next one.
#[derive(Debug, Clone, Copy)]
struct Mention {
    date: NaiveDate,
    to_next: bool,
}

fn parse_section(year: i32, field: &str, name: &str, body: &str) -> Result<Festival, DomainError> {
    if name.is_empty() {
        return Err(DomainError::invalid(field, "errors.has_no_festival_name_before"));
    }
    let is_new_year = name.contains("元旦");
    let mut off = Vec::new();
    let mut work = Vec::new();
    let mut count: Option<i64> = None;
    for sentence in body.split(['。', '\n']) {
        let mut month: Option<u32> = None;
        for piece in sentence.split('，') {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            if let Some(n) = day_count(piece) {
                count = Some(count.unwrap_or(0) + n);
            }
            let mentions = mentions(year, is_new_year, field, piece, &mut month)?;
            if mentions.is_empty() {
                continue;
            }
            let worked = piece.contains("上班");
            let rest = ["放假", "补休", "休息", "调休", "休假"].iter().any(|k| piece.contains(k));
            if !worked && !rest {
                return Err(DomainError::invalid(
                    field,
                    crate::reason!("errors.names_dates_without_saying", shorten = shorten(piece)),
                ));
            }
            let mut dates = Vec::new();
            let mut iter = mentions.iter().peekable();
            while let Some(m) = iter.next() {
                if m.to_next {
                    let last =
                        iter.next().ok_or_else(|| DomainError::invalid(field, "errors.range_with_has_no_end"))?;
                    if last.date < m.date || (last.date - m.date).num_days() > 60 {
                        return Err(DomainError::invalid(
                            field,
                            crate::reason!("errors.range_not_break", date = m.date, date2 = last.date),
                        ));
                    }
                    dates.extend(m.date.iter_days().take_while(|d| *d <= last.date));
                } else {
                    dates.push(m.date);
                }
            }
            if worked { work.extend(dates) } else { off.extend(dates) }
        }
    }
    if off.is_empty() && work.is_empty() {
        return Err(DomainError::invalid(field, crate::reason!("errors.names_no_dates", shorten = shorten(name))));
    }
    if let Some(n) = count
        && n != off.len() as i64
    {
        return Err(DomainError::invalid(field, crate::reason!("errors.says_but_names_days_off", n, off = off.len())));
    }
    off.sort();
    work.sort();
    Ok(Festival { name: name.to_owned(), off, work })
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(30).collect();
    if s.chars().count() > 30 {
        out.push('…');
    }
    out
}

/// "共3天" → 3.
fn day_count(piece: &str) -> Option<i64> {
    let at = piece.find('共')?;
    let digits: String = piece[at + '共'.len_utf8()..].chars().take_while(char::is_ascii_digit).collect();
    let after = &piece[at + '共'.len_utf8() + digits.len()..];
    if after.starts_with('天') { digits.parse().ok() } else { None }
}

/// The dates in one comma-separated piece: `[YYYY年]M月D日`, or `D日` after a month in the same
/// sentence, each optionally followed by a bracket whose 周X/星期X is checked.
fn mentions(
    year: i32,
    is_new_year: bool,
    field: &str,
    piece: &str,
    month: &mut Option<u32>,
) -> Result<Vec<Mention>, DomainError> {
    let chars: Vec<char> = piece.chars().collect();
    let mut out: Vec<Mention> = Vec::new();
    let mut explicit_year: Option<i32> = None;
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            if chars[i] == '至' {
                match out.last_mut() {
                    Some(m) if !m.to_next => m.to_next = true,
                    _ => return Err(DomainError::invalid(field, "errors.without_date_before")),
                }
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        let unit = chars.get(i).copied();
        // Numbers that are not date parts (共3天, 70周年, 农历…) are skipped.
        let Ok(n) = digits.parse::<u32>() else {
            continue;
        };
        match unit {
            Some('年') => {
                explicit_year = i32::try_from(n).ok();
                i += 1;
            }
            Some('月') => {
                if !(1..=12).contains(&n) {
                    return Err(DomainError::invalid(field, crate::reason!("errors.not_month", n)));
                }
                *month = Some(n);
                i += 1;
            }
            Some('日') => {
                i += 1;
                let m = month.ok_or_else(|| DomainError::invalid(field, crate::reason!("errors.has_no_month", n)))?;
                let y = explicit_year.take().unwrap_or(if is_new_year && m == 12 { year - 1 } else { year });
                let date = NaiveDate::from_ymd_opt(y, m, n)
                    .ok_or_else(|| DomainError::invalid(field, crate::reason!("errors.not_date", y, m, n)))?;
                if (date.year() - year).abs() > 1 {
                    return Err(DomainError::invalid(field, crate::reason!("errors.not_near", date, year)));
                }
                // An optional bracket right after the date: check its weekday.
                if chars.get(i) == Some(&'（') {
                    let close = chars[i..].iter().position(|c| *c == '）').map(|p| i + p);
                    let Some(close) = close else {
                        return Err(DomainError::invalid(field, "errors.bracket_not_closed"));
                    };
                    let inside: String = chars[i + 1..close].iter().collect();
                    if let Some(wd) = bracket_weekday(&inside)
                        && wd != date.weekday()
                    {
                        return Err(DomainError::invalid(
                            field,
                            crate::reason!("errors.not", date, date2 = format!("{:?}", date.weekday()), inside),
                        ));
                    }
                    i = close + 1;
                }
                out.push(Mention { date, to_next: false });
            }
            _ => {}
        }
    }
    if out.last().is_some_and(|m| m.to_next) {
        return Err(DomainError::invalid(field, "errors.range_with_has_no_end"));
    }
    Ok(out)
}

/// 周四 / 星期日 / 星期天 inside a bracket such as （农历腊月二十八、周日）.
fn bracket_weekday(inside: &str) -> Option<Weekday> {
    let after = inside.split_once("星期").or_else(|| inside.split_once('周')).map(|(_, a)| a)?;
    Some(match after.chars().next()? {
        '一' => Weekday::Mon,
        '二' => Weekday::Tue,
        '三' => Weekday::Wed,
        '四' => Weekday::Thu,
        '五' => Weekday::Fri,
        '六' => Weekday::Sat,
        '日' | '天' => Weekday::Sun,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "china_tests.rs"]
mod tests;

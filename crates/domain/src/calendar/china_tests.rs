use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use proptest::prelude::*;

use super::*;
use crate::fuzz::{apply_text_edits, refused_with_field, text_edits};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

const NOTICE_2026: &str = "国务院办公厅关于2026年部分节假日安排的通知
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。";

const NOTICE_2025: &str = "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
根据国务院关于修改《全国年节及纪念日放假办法》的决定，自2025年1月1日起，全体公民放假的假日增加2天。
一、元旦：1月1日（周三）放假1天，不调休。
二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
三、清明节：4月4日（周五）至6日（周日）放假，共3天。
四、劳动节：5月1日（周四）至5日（周一）放假调休，共5天。4月27日（周日）上班。
五、端午节：5月31日（周六）至6月2日（周一）放假，共3天。
六、国庆节、中秋节：10月1日（周三）至8日（周三）放假调休，共8天。9月28日（周日）、10月11日（周六）上班。";

const NOTICE_2017: &str = "一、元旦：1月1日放假，1月2日（星期一）补休。
二、春节：1月27日至2月2日放假调休，共7天。1月22日（星期日）、2月4日（星期六）上班。
三、清明节：4月2日至4日放假调休，共3天。4月1日（星期六）上班。
四、劳动节：5月1日放假，与周末连休。
五、端午节：5月28日至30日放假调休，共3天。5月27日（星期六）上班。
六、中秋节、国庆节：10月1日至8日放假调休，共8天。9月30日（星期六）上班。";

fn parsed_equals_shipped(year: i32, text: &str) {
    let parsed = parse_holiday_notice(year, text).expect("notice parses");
    let shipped = official_table(year).expect("table shipped");
    assert_eq!(parsed, shipped.festivals, "{year}: parsed notice differs from the shipped table");
}

#[test]
fn notice_parser_reads_the_2026_notice_as_the_shipped_table() {
    parsed_equals_shipped(2026, NOTICE_2026);
}

#[test]
fn notice_parser_reads_the_2025_notice_with_its_preamble_as_the_shipped_table() {
    parsed_equals_shipped(2025, NOTICE_2025);
}

#[test]
fn notice_parser_reads_the_2017_wording_buxiu_and_weekend_as_the_shipped_table() {
    parsed_equals_shipped(2017, NOTICE_2017);
}

#[test]
fn official_2026_table_matches_the_state_council_notice() {
    let off: BTreeSet<NaiveDate> = official_exceptions(2026, &[])
        .expect("2026 shipped")
        .into_iter()
        .filter(|(_, r)| *r == DayRule::Holiday)
        .map(|(d, _)| d)
        .collect();
    let mut expected = BTreeSet::new();
    for (m, first, last) in [(1, 1, 3), (2, 15, 23), (4, 4, 6), (5, 1, 5), (6, 19, 21), (9, 25, 27), (10, 1, 7)] {
        expected.extend((first..=last).map(|day| d(2026, m, day)));
    }
    assert_eq!(off, expected);
    let work: BTreeSet<NaiveDate> = official_exceptions(2026, &[])
        .expect("2026 shipped")
        .into_iter()
        .filter(|(_, r)| matches!(r, DayRule::Workday(_)))
        .map(|(d, _)| d)
        .collect();
    let expected: BTreeSet<NaiveDate> =
        [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)].into_iter().map(|(m, day)| d(2026, m, day)).collect();
    assert_eq!(work, expected);
}

#[test]
fn every_year_from_2007_to_2026_is_shipped_with_its_notice() {
    let years: Vec<i32> = official_years().collect();
    assert_eq!(years, (FIRST_OFFICIAL_YEAR..=LAST_OFFICIAL_YEAR).collect::<Vec<_>>());
    for year in years {
        let t = official_table(year).unwrap_or_else(|| panic!("{year} unreadable"));
        assert_eq!(t.year, year);
        assert!(t.notice.contains(&format!("{year}年部分节假日安排")), "{year}: {}", t.notice);
        assert!(!t.source.is_empty());
        assert!(t.festivals.len() >= 4, "{year}: {} festivals", t.festivals.len());
        let mut seen = BTreeSet::new();
        for f in &t.festivals {
            for day in f.off.iter().chain(&f.work) {
                assert!(seen.insert(*day), "{year}: {day} twice");
                assert!((year - 1..=year).contains(&day.year()), "{year}: {day} out of range");
            }
            for day in &f.work {
                assert!(matches!(day.weekday(), Weekday::Sat | Weekday::Sun), "{year}: worked {day} is a weekday");
            }
        }
        // Every year has New Year's Day, the Spring Festival and National Day off.
        let off = |m, day| t.festivals.iter().any(|f| f.off.contains(&d(year, m, day)));
        assert!(off(1, 1) && off(10, 1), "{year}");
    }
}

#[test]
fn official_exceptions_include_next_notices_days_in_december() {
    // The 2008 notice starts 元旦 on 2007-12-30 (2007-12-29 worked).
    let rows = official_exceptions(2007, &[]).expect("2007");
    assert!(rows.iter().any(|(day, r)| *day == d(2007, 12, 31) && *r == DayRule::Holiday));
    assert!(rows.iter().all(|(day, _)| day.year() == 2007));
    assert!(official_exceptions(2027, &[]).is_none());
}

#[test]
fn missing_table_years_are_this_year_and_from_november_the_next() {
    let has = |y: i32| y <= 2026;
    assert_eq!(years_missing_table(d(2026, 10, 31), has), Vec::<i32>::new());
    assert_eq!(years_missing_table(d(2026, 11, 1), has), vec![2027]);
    assert_eq!(years_missing_table(d(2027, 3, 1), has), vec![2027]);
}

#[test]
fn notice_parser_refuses_a_wrong_weekday_naming_the_section() {
    let text = "一、元旦：1月1日（周五）放假。";
    let err = parse_holiday_notice(2026, text).expect_err("2026-01-01 is a Thursday");
    assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "section 1"), "{err:?}");
}

#[test]
fn notice_parser_refuses_a_day_count_that_disagrees() {
    let text = "一、元旦：1月1日至3日放假调休，共4天。";
    assert!(matches!(parse_holiday_notice(2026, text), Err(DomainError::Invalid { .. })));
}

#[test]
fn notice_parser_refuses_another_years_notice_and_text_without_sections() {
    assert!(
        matches!(parse_holiday_notice(2027, NOTICE_2026), Err(DomainError::Invalid { ref field, .. }) if field == "text")
    );
    assert!(
        matches!(parse_holiday_notice(2026, "hello"), Err(DomainError::Invalid { ref field, .. }) if field == "text")
    );
}

/// Writes a table as a notice in one of the wordings seen in real notices.
fn render(festivals: &[Festival], style: u8) -> String {
    const NUM: [&str; 12] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"];
    let wd = |day: NaiveDate| {
        let names = ["一", "二", "三", "四", "五", "六", "日"];
        let n = names[day.weekday().num_days_from_monday() as usize];
        if style.is_multiple_of(2) { format!("（周{n}）") } else { format!("（星期{n}）") }
    };
    let mut out = String::from("国务院办公厅关于部分节假日安排的通知\n");
    for (i, f) in festivals.iter().enumerate() {
        let (first, last) = (f.off[0], f.off[f.off.len() - 1]);
        let mut s = format!("{}、{}：{}月{}日{}", NUM[i], f.name, first.month(), first.day(), wd(first));
        if last != first {
            if last.month() == first.month() {
                s += &format!("至{}日{}", last.day(), wd(last));
            } else {
                s += &format!("至{}月{}日{}", last.month(), last.day(), wd(last));
            }
        }
        s += "放假调休";
        if style & 2 == 0 {
            s += &format!("，共{}天", f.off.len());
        }
        s += "。";
        if !f.work.is_empty() {
            let days: Vec<String> = f.work.iter().map(|w| format!("{}月{}日{}", w.month(), w.day(), wd(*w))).collect();
            s += &format!("{}上班。", days.join("、"));
        }
        out += &s;
        out.push('\n');
    }
    out
}

fn table() -> impl Strategy<Value = (i32, Vec<Festival>)> {
    (2000_i32..2100, prop::collection::vec((1_u32..=20, 1_u32..=12, prop::bool::ANY, 0_u32..2), 1..=6)).prop_map(
        |(year, specs)| {
            let festivals = specs
                .into_iter()
                .enumerate()
                .map(|(i, (start, len, cross, nwork))| {
                    // Festival i lives in month 2i+1 (a range may run into the next month).
                    let month = 2 * i as u32 + 1;
                    let first = if cross { d(year, month, 25) } else { d(year, month, start) };
                    let off: Vec<NaiveDate> = first.iter_days().take(len as usize).collect();
                    let work = (0..nwork)
                        .filter_map(|k| {
                            first.iter_days().rev().skip(2 + k as usize * 7).find(|x| x.weekday() == Weekday::Sat)
                        })
                        .filter(|w| w.year() == year)
                        .collect();
                    Festival { name: format!("节{i}"), off, work }
                })
                .collect();
            (year, festivals)
        },
    )
}

proptest! {
    #[test]
    fn notice_parser_reads_back_any_rendered_table((year, festivals) in table(), style in 0_u8..4) {
        let text = render(&festivals, style);
        let mut expected = festivals.clone();
        for f in &mut expected { f.work.sort(); }
        prop_assert_eq!(parse_holiday_notice(year, &text).expect("renders parse"), expected);
    }

    #[test]
    fn notice_parser_never_panics_on_arbitrary_text(text in ".{0,400}") {
        refused_with_field(&parse_holiday_notice(2026, &text))?;
    }

    #[test]
    fn notice_parser_refuses_mutated_notices_with_a_field(edits in text_edits(6)) {
        let text = apply_text_edits(NOTICE_2026, &edits);
        refused_with_field(&parse_holiday_notice(2026, &text))?;
    }
}

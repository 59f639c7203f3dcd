//! Reporting periods of satisfaction results: a year (`2026`), a half (`2026H1`), a quarter
//! (`2026Q3`) or a month (`2026-05`). Results per period pool every campaign whose own period lies
//! inside it, so a plan's monthly event campaigns add up to its quarter, half and year.

use std::fmt;

use crate::DomainError;

/// How fine a period is; ordered coarse to fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Granularity {
    Year,
    Half,
    Quarter,
    Month,
}

impl Granularity {
    /// The period a plan of this frequency reports on (`annual`, `semi_annual`, `quarterly`;
    /// event-driven plans report by month, one-off plans by year).
    pub fn of_frequency(frequency: &str) -> Granularity {
        match frequency {
            "semi_annual" => Granularity::Half,
            "quarterly" => Granularity::Quarter,
            "event" => Granularity::Month,
            _ => Granularity::Year,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Granularity::Year => "year",
            Granularity::Half => "half",
            Granularity::Quarter => "quarter",
            Granularity::Month => "month",
        }
    }

    fn months(self) -> i32 {
        match self {
            Granularity::Year => 12,
            Granularity::Half => 6,
            Granularity::Quarter => 3,
            Granularity::Month => 1,
        }
    }
}

/// A calendar period, held as its granularity and first month (`year × 12 + month − 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    granularity: Granularity,
    first: i32,
}

const HINT: &str = "use a year (2026), a half (2026H1), a quarter (2026Q2) or a month (2026-05)";

impl Period {
    /// Parses `2026`, `2026H1`, `2026Q3` or `2026-05` (letters in either case); errors name `field`.
    pub fn parse(field: &str, text: &str) -> Result<Period, DomainError> {
        let t = text.trim().to_ascii_uppercase();
        let bad = || DomainError::invalid(field, crate::reason!("errors.not_period", text = text.trim(), HINT));
        let year_of = |s: &str| -> Result<i32, DomainError> {
            if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
                let y: i32 = s.parse().map_err(|_| bad())?;
                if (1900..=9999).contains(&y) { Ok(y) } else { Err(bad()) }
            } else {
                Err(bad())
            }
        };
        let (y, rest) = (t.get(..4).ok_or_else(bad)?, t.get(4..).unwrap_or(""));
        let year = year_of(y)?;
        let of = |g: Granularity, n: &str, max: i32| -> Result<Period, DomainError> {
            let n: i32 = n.parse().map_err(|_| bad())?;
            if (1..=max).contains(&n) {
                Ok(Period { granularity: g, first: year * 12 + (n - 1) * g.months() })
            } else {
                Err(bad())
            }
        };
        match rest.as_bytes() {
            [] => Ok(Period { granularity: Granularity::Year, first: year * 12 }),
            [b'H', d] if d.is_ascii_digit() => of(Granularity::Half, &rest[1..], 2),
            [b'Q', d] if d.is_ascii_digit() => of(Granularity::Quarter, &rest[1..], 4),
            [b'-', a, b] if a.is_ascii_digit() && b.is_ascii_digit() => of(Granularity::Month, &rest[1..], 12),
            _ => Err(bad()),
        }
    }

    /// The period of granularity `g` that holds `date`.
    pub fn containing(date: chrono::NaiveDate, g: Granularity) -> Period {
        use chrono::Datelike;
        let month = date.year() * 12 + date.month0() as i32;
        Period { granularity: g, first: month.div_euclid(g.months()) * g.months() }
    }

    pub fn granularity(self) -> Granularity {
        self.granularity
    }

    fn last(self) -> i32 {
        self.first + self.granularity.months() - 1
    }

    /// True when every month of `other` lies in this period (a period contains itself).
    pub fn contains(self, other: Period) -> bool {
        self.first <= other.first && other.last() <= self.last()
    }

    /// The period of granularity `g` that contains this one; `None` when `g` is finer.
    pub fn within(self, g: Granularity) -> Option<Period> {
        if g > self.granularity {
            return None;
        }
        let first = self.first.div_euclid(g.months()) * g.months();
        Some(Period { granularity: g, first })
    }

    /// The period just before, of the same length: 2026H1 → 2025H2, 2026-01 → 2025-12.
    pub fn previous(self) -> Period {
        Period { granularity: self.granularity, first: self.first - self.granularity.months() }
    }

    /// The period just after, of the same length: 2026H2 → 2027H1.
    pub fn next(self) -> Period {
        Period { granularity: self.granularity, first: self.first + self.granularity.months() }
    }

    /// First day of the period.
    pub fn start(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.first.div_euclid(12), (self.first.rem_euclid(12) + 1) as u32, 1)
            .unwrap_or_default()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m) = (self.first.div_euclid(12), self.first.rem_euclid(12));
        match self.granularity {
            Granularity::Year => write!(f, "{y}"),
            Granularity::Half => write!(f, "{y}H{}", m / 6 + 1),
            Granularity::Quarter => write!(f, "{y}Q{}", m / 3 + 1),
            Granularity::Month => write!(f, "{y}-{:02}", m + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Period {
        Period::parse("period", s).expect(s)
    }

    #[test]
    fn parses_and_prints_every_granularity() {
        for s in ["2026", "2026H1", "2026H2", "2026Q1", "2026Q4", "2026-01", "2026-12"] {
            assert_eq!(p(s).to_string(), s);
        }
        assert_eq!(p(" 2026h2 ").to_string(), "2026H2");
        assert_eq!(p("2026q3").granularity(), Granularity::Quarter);
        for bad in
            ["", "26", "2026H3", "2026Q0", "2026Q5", "2026-13", "2026-00", "2026-5", "2026 H1", "20261", "上半年"]
        {
            match Period::parse("period", bad) {
                Err(DomainError::Invalid { field, reason }) => {
                    assert_eq!(field, "period");
                    assert!(reason.contains("2026H1"), "{reason}");
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn containment_previous_and_coarser_periods() {
        assert!(p("2026").contains(p("2026-12")) && p("2026").contains(p("2026H2")) && p("2026").contains(p("2026")));
        assert!(p("2026H1").contains(p("2026Q2")) && p("2026H1").contains(p("2026-06")));
        assert!(!p("2026H1").contains(p("2026-07")) && !p("2026Q2").contains(p("2026H1")));
        assert!(!p("2026").contains(p("2025-12")));
        assert_eq!(p("2026H1").previous(), p("2025H2"));
        assert_eq!(p("2026Q1").previous(), p("2025Q4"));
        assert_eq!(p("2026-01").previous(), p("2025-12"));
        assert_eq!(p("2026").previous(), p("2025"));
        assert_eq!(p("2026H2").next(), p("2027H1"));
        assert_eq!(p("2026-12").next(), p("2027-01"));
        assert_eq!(p("2026-08").within(Granularity::Half), Some(p("2026H2")));
        assert_eq!(p("2026-08").within(Granularity::Quarter), Some(p("2026Q3")));
        assert_eq!(p("2026Q2").within(Granularity::Year), Some(p("2026")));
        assert_eq!(p("2026H1").within(Granularity::Month), None);
        assert_eq!(p("2026Q3").start(), chrono::NaiveDate::from_ymd_opt(2026, 7, 1).expect("date"));
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        assert_eq!(Period::containing(d, Granularity::Quarter), p("2026Q4"));
        assert_eq!(Period::containing(d, Granularity::Month), p("2026-11"));
        assert_eq!(Granularity::of_frequency("semi_annual"), Granularity::Half);
        assert_eq!(Granularity::of_frequency("event"), Granularity::Month);
    }
}

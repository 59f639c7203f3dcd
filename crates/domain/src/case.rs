//! Case values (spec C3): severity, company responsibility, intake channel, the number format.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::DomainError;
use crate::customer::coded_enum;

coded_enum!(Severity, "severity", {
    Minor => ("minor", "轻微", "Minor"),
    General => ("general", "一般", "General"),
    Major => ("major", "严重", "Major"),
    Critical => ("critical", "特别严重", "Critical"),
});

coded_enum!(Responsibility, "responsibility", {
    Yes => ("yes", "本公司责任", "Company responsible"),
    No => ("no", "非本公司责任", "Not company responsible"),
    Undetermined => ("undetermined", "待定", "Undetermined"),
});

coded_enum!(IntakeChannel, "channel", {
    Phone => ("phone", "电话", "Phone"),
    Visit => ("visit", "来访", "Visit"),
    Letter => ("letter", "信函", "Letter"),
    Fax => ("fax", "传真", "Fax"),
    Email => ("email", "电子邮件", "E-mail"),
    Portal => ("portal", "网上门户", "Web portal"),
    Api => ("api", "接口", "API"),
    Chat => ("chat", "微信/在线", "WeChat / online chat"),
});

coded_enum!(CaseType, "type", {
    Inquiry => ("inquiry", "咨询", "Inquiry"),
    Suggestion => ("suggestion", "建议", "Suggestion"),
    Complaint => ("complaint", "投诉", "Complaint"),
    ServiceRequest => ("service_request", "报修", "Service request"),
    Return => ("return", "退货", "Return"),
    Praise => ("praise", "表扬", "Praise"),
    Grievance => ("grievance", "员工意见/申诉", "Employee grievance"),
});

/// When the company says it is not responsible, the customer is owed the reason (ISO 10002).
pub fn check_responsibility(r: Responsibility, note: &str) -> Result<(), DomainError> {
    if r == Responsibility::No && note.trim().is_empty() {
        return Err(DomainError::invalid("responsibility_note", "errors.explain_customer_why_company_not"));
    }
    Ok(())
}

/// A case number format such as `TS-{YYYY}-{NNNNNN}`: `{YYYY}`/`{YY}` the year of receipt in the
/// organisation's zone, a run of `N` in braces the per-year sequence padded to that width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    pattern: String,
    width: usize,
}

pub const DEFAULT_NUMBER_FORMAT: &str = "TS-{YYYY}-{NNNNNN}";

impl NumberFormat {
    pub fn parse(pattern: &str) -> Result<NumberFormat, DomainError> {
        let bad = |r: &str| DomainError::invalid("number_format", r.to_owned());
        let p = pattern.trim();
        let seqs: Vec<&str> = p
            .split('{')
            .skip(1)
            // Only a closed placeholder counts: `{NNNN` without its brace is left as text.
            .filter_map(|s| s.split_once('}').map(|(t, _)| t))
            .filter(|t| t.chars().all(|c| c == 'N') && !t.is_empty())
            .collect();
        if seqs.len() != 1 {
            return Err(bad("errors.needs_exactly_one_sequence_placeholder"));
        }
        if !p.contains("{YYYY}") && !p.contains("{YY}") {
            return Err(bad("errors.needs_year_numbers_restart_every"));
        }
        let width = seqs[0].len();
        if !(3..=10).contains(&width) {
            return Err(bad("errors.sequence_must_3_10_digits"));
        }
        if p.len() > 40 || !p.chars().all(|c| c.is_ascii_alphanumeric() || "-_/{}".contains(c)) {
            return Err(bad("errors.may_contain_only_letters_digits_3"));
        }
        Ok(NumberFormat { pattern: p.to_owned(), width })
    }

    /// The counter period a number belongs to (its year in the organisation's zone).
    pub fn period(received: DateTime<Utc>, tz: Tz) -> String {
        received.with_timezone(&tz).year().to_string()
    }

    /// The month a case is counted in by reports: `YYYY-MM` of its receipt in the organisation's zone.
    pub fn month(received: DateTime<Utc>, tz: Tz) -> String {
        let local = received.with_timezone(&tz);
        format!("{:04}-{:02}", local.year(), local.month())
    }

    pub fn format(&self, year: i32, seq: i64) -> String {
        let n = format!("{seq:0width$}", width = self.width);
        self.pattern
            .replace("{YYYY}", &format!("{year:04}"))
            .replace("{YY}", &format!("{:02}", year.rem_euclid(100)))
            .replace(&format!("{{{}}}", "N".repeat(self.width)), &n)
    }
}

impl Default for NumberFormat {
    fn default() -> Self {
        NumberFormat { pattern: DEFAULT_NUMBER_FORMAT.into(), width: 6 }
    }
}

/// Regulatory reporting deadlines for adverse events (ISO 13485 8.2.3; EU MDR Art. 87; FDA 21 CFR 803).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Serious public health threat: 2 days.
    EuMdrPublicHealthThreat,
    /// Death or unanticipated serious deterioration in health: 10 days.
    EuMdrDeath,
    /// Other serious incidents: 15 days.
    EuMdrSerious,
    /// Medical device report: 30 calendar days.
    Fda,
}

impl Regime {
    pub fn days(self) -> i64 {
        match self {
            Regime::EuMdrPublicHealthThreat => 2,
            Regime::EuMdrDeath => 10,
            Regime::EuMdrSerious => 15,
            Regime::Fda => 30,
        }
    }

    pub fn parse(s: &str) -> Result<Regime, DomainError> {
        match s.trim() {
            "eu_mdr_public_health_threat" => Ok(Regime::EuMdrPublicHealthThreat),
            "eu_mdr_death" => Ok(Regime::EuMdrDeath),
            "eu_mdr_serious" => Ok(Regime::EuMdrSerious),
            "fda" => Ok(Regime::Fda),
            other => Err(DomainError::invalid("regime", crate::reason!("errors.not_one_eu_mdr_public", other))),
        }
    }

    /// Calendar days from the day the company became aware.
    pub fn deadline(self, aware: DateTime<Utc>) -> DateTime<Utc> {
        aware + chrono::Duration::days(self.days())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Coded;

    #[test]
    fn default_number_format() {
        let f = NumberFormat::parse(DEFAULT_NUMBER_FORMAT).unwrap();
        assert_eq!(f.format(2026, 123), "TS-2026-000123");
        assert_eq!(NumberFormat::parse("KS{YY}/{NNNN}").unwrap().format(2026, 7), "KS26/0007");
        assert!(NumberFormat::parse("TS-{NNNNNN}").is_err());
        assert!(NumberFormat::parse("TS-{YYYY}").is_err());
        assert!(NumberFormat::parse("TS-{YYYY}-{NN}").is_err());
        assert!(NumberFormat::parse("<b>{YYYY}{NNNN}").is_err());
    }

    #[test]
    fn year_is_the_organisations() {
        // 2026-12-31 20:00 UTC is already 2027 in Shanghai.
        let t = DateTime::parse_from_rfc3339("2026-12-31T20:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(NumberFormat::period(t, chrono_tz::Asia::Shanghai), "2027");
        assert_eq!(NumberFormat::period(t, chrono_tz::UTC), "2026");
    }

    #[test]
    fn responsibility_no_needs_a_reason() {
        assert!(check_responsibility(Responsibility::No, " ").is_err());
        assert!(check_responsibility(Responsibility::No, "顾客使用不当").is_ok());
        assert!(check_responsibility(Responsibility::Yes, "").is_ok());
        assert_eq!(Severity::parse("严重").unwrap(), Severity::Major);
    }

    #[test]
    fn adverse_event_deadlines() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(Regime::EuMdrDeath.deadline(t).to_rfc3339(), "2026-03-11T08:00:00+00:00");
        assert_eq!(Regime::Fda.deadline(t).to_rfc3339(), "2026-03-31T08:00:00+00:00");
        assert!(Regime::parse("mdr").is_err());
    }

    #[test]
    fn a_sequence_placeholder_must_be_closed() {
        // Found by the property below: "{NNNN" at the end was taken for a placeholder, and every
        // number of a year came out the same.
        assert!(NumberFormat::parse("TS-{YY}-{NNNN").is_err());
        assert_eq!(NumberFormat::parse("TS-{YY}-{NNNN}").unwrap().format(2072, 7), "TS-72-0007");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::fuzz::{apply_text_edits, refused_with_field, text_edits};

        proptest! {
            /// Any pattern, or a damaged default, is a format or refused on `number_format`; a
            /// format gives distinct numbers to distinct (year, sequence) pairs within its width,
            /// in its own character set.
            #[test]
            fn number_formats_parse_or_name_the_field(
                raw in prop_oneof!["\\PC{0,48}", "[A-Z{}/_Y N-]{0,30}"],
                edits in text_edits(3),
                y1 in 1000_i32..=9999, y2 in 1000_i32..=9999, s1 in 0_i64..1_000, s2 in 0_i64..1_000,
            ) {
                for pattern in [raw, apply_text_edits(DEFAULT_NUMBER_FORMAT, &edits)] {
                    let r = NumberFormat::parse(&pattern);
                    refused_with_field(&r)?;
                    match r {
                        Err(DomainError::Invalid { field, .. }) => prop_assert_eq!(field, "number_format"),
                        Err(e) => prop_assert!(false, "{e:?}"),
                        Ok(f) => {
                            let (a, b) = (f.format(y1, s1), f.format(y2, s2));
                            prop_assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || "-_/{}".contains(c)), "{a}");
                            let same_year = if pattern.contains("{YYYY}") { y1 == y2 } else { y1 % 100 == y2 % 100 };
                            prop_assert_eq!(a == b, same_year && s1 == s2, "{} for {}/{} and {} for {}/{}", a, y1, s1, b, y2, s2);
                        }
                    }
                }
            }

            #[test]
            fn case_values_parse_or_name_the_field(text in "\\PC{0,16}") {
                refused_with_field(&Severity::parse(&text))?;
                refused_with_field(&Responsibility::parse(&text))?;
                refused_with_field(&IntakeChannel::parse(&text))?;
                refused_with_field(&CaseType::parse(&text))?;
                refused_with_field(&Regime::parse(&text))?;
            }
        }
    }
}

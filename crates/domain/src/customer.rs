//! Customer files (顾客档案台账), contacts, products and assets, contracts, and the
//! communication register (与顾客沟通登记表): the values and rules, free of storage.

use chrono::{Months, NaiveDate};

use crate::DomainError;

/// A closed list of codes, each with a Chinese and an English label. Input accepts any of the three.
pub trait Coded: Sized + Copy + 'static {
    const FIELD: &'static str;
    const ALL: &'static [Self];
    fn code(self) -> &'static str;
    fn labels(self) -> (&'static str, &'static str);

    fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|v| {
                let (zh, en) = v.labels();
                v.code().eq_ignore_ascii_case(t) || zh == t || en.eq_ignore_ascii_case(t)
            })
            .ok_or_else(|| {
                let codes: Vec<&str> = Self::ALL.iter().map(|v| v.code()).collect();
                DomainError::invalid(Self::FIELD, crate::reason!("errors.not_one", t, codes = codes.join(", ")))
            })
    }
}

/// Declares a closed list of codes with zh/en labels implementing [`Coded`].
macro_rules! coded_enum {
    ($name:ident, $field:literal, { $($variant:ident => ($code:literal, $zh:literal, $en:literal)),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $crate::customer::Coded for $name {
            const FIELD: &'static str = $field;
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn code(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            fn labels(self) -> (&'static str, &'static str) { match self { $($name::$variant => ($zh, $en)),+ } }
        }
    };
}
pub(crate) use coded_enum;

coded_enum!(CustomerKind, "kind", {
    Organisation => ("organisation", "单位", "Organisation"),
    Person => ("person", "个人", "Person"),
});

coded_enum!(CustomerCategory, "category", {
    EndUser => ("end_user", "终端用户", "End user"),
    Distributor => ("distributor", "经销商", "Distributor"),
    Contractor => ("contractor", "承包商", "Contractor"),
    Owner => ("owner", "业主", "Property owner"),
    Tenant => ("tenant", "租户", "Tenant"),
    Internal => ("internal", "内部顾客", "Internal customer"),
    Other => ("other", "其他", "Other"),
});

coded_enum!(Channel, "channel", {
    Phone => ("phone", "电话", "Phone"),
    Visit => ("visit", "走访/来访", "Visit"),
    Email => ("email", "电子邮件", "E-mail"),
    Fax => ("fax", "传真", "Fax"),
    Letter => ("letter", "信函", "Letter"),
    Chat => ("chat", "微信/在线", "WeChat / online chat"),
    WebForm => ("web_form", "网页表单", "Web form"),
    Meeting => ("meeting", "会议", "Meeting"),
    TradeFair => ("trade_fair", "展会", "Trade fair"),
});

coded_enum!(Direction, "direction", {
    Inbound => ("inbound", "顾客来访/来电", "From the customer"),
    Outbound => ("outbound", "我方走访/去电", "To the customer"),
});

coded_enum!(Stage, "stage", {
    PreSale => ("pre_sale", "售前", "Pre-sale"),
    InSale => ("in_sale", "售中", "In-sale"),
    AfterSale => ("after_sale", "售后", "After-sale"),
});

coded_enum!(ContractStatus, "status", {
    Draft => ("draft", "草拟", "Draft"),
    Active => ("active", "执行中", "In progress"),
    Completed => ("completed", "已完成", "Completed"),
    Cancelled => ("cancelled", "已取消", "Cancelled"),
});

/// A customer code: given by the user (1–32 letters, digits, `-`, `_`, `.`) or generated as `C000123`.
pub fn parse_customer_code(s: &str) -> Result<String, DomainError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 32 {
        return Err(DomainError::invalid("code", "errors.must_1_32_characters_long"));
    }
    if !s.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(DomainError::invalid("code", "errors.may_contain_only_letters_digits_2"));
    }
    Ok(s.to_uppercase())
}

pub fn generated_customer_code(n: i64) -> String {
    format!("C{n:06}")
}

/// Splits a list typed into one cell: `,` `;` `，` `；` `、` or new lines separate items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split([',', ';', '，', '；', '、', '\n', '|'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Phone numbers compare by their digits (and a leading +): `0755-1234 5678` equals `075512345678`.
pub fn normalise_phone(s: &str) -> String {
    let t = s.trim();
    let mut out: String = t.chars().filter(char::is_ascii_digit).collect();
    if t.starts_with('+') {
        out.insert(0, '+');
    }
    out
}

pub fn parse_phones(field: &str, s: &str) -> Result<Vec<String>, DomainError> {
    let items = split_list(s);
    for p in &items {
        let digits = normalise_phone(p).trim_start_matches('+').len();
        if !(3..=20).contains(&digits) || p.chars().any(|c| c.is_alphabetic() && c != 'x' && c != 'X') {
            return Err(DomainError::invalid(field, crate::reason!("errors.not_phone_number", p)));
        }
    }
    Ok(items)
}

pub fn parse_emails(field: &str, s: &str) -> Result<Vec<String>, DomainError> {
    let items = split_list(s);
    for e in &items {
        let ok = e.split_once('@').is_some_and(|(a, d)| !a.is_empty() && d.contains('.') && !d.starts_with('.'))
            && !e.chars().any(char::is_whitespace);
        if !ok {
            return Err(DomainError::invalid(field, crate::reason!("errors.not_e_mail_address", e)));
        }
    }
    Ok(items)
}

/// A yes/no cell: accepts 1/0, true/false, yes/no, y/n, 是/否, 新/老 (for "new customer").
pub fn parse_flag(field: &str, s: &str) -> Result<bool, DomainError> {
    match s.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "是" | "新" | "新顾客" | "新客户" => Ok(true),
        "0" | "false" | "no" | "n" | "否" | "老" | "老顾客" | "老客户" | "" => Ok(false),
        other => Err(DomainError::invalid(field, crate::reason!("errors.not_yes_no", other))),
    }
}

/// A date as `YYYY-MM-DD` (also `YYYY/MM/DD` and `YYYY.MM.DD`, as spreadsheets write them).
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, DomainError> {
    let t = s.trim().replace(['/', '.'], "-");
    let t = t.split([' ', 'T']).next().unwrap_or("");
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid(field, crate::reason!("errors.not_date_yyyy_mm_dd_2", s = s.trim())))
}

pub fn parse_optional_date(field: &str, s: &str) -> Result<Option<NaiveDate>, DomainError> {
    if s.trim().is_empty() { Ok(None) } else { parse_date(field, s).map(Some) }
}

/// Money in CNY held exactly as integer fen (分). Accepts `1234`, `1,234.5`, `¥1234.56`, `1234.56元`.
pub fn parse_cny(field: &str, s: &str) -> Result<i64, DomainError> {
    let bad = || DomainError::invalid(field, crate::reason!("errors.not_amount_yuan_with_at", s = s.trim()));
    let t: String = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches('元')
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    let t = t.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let yuan: i64 = int.parse().map_err(|_| bad())?;
    let fen_part: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
    let fen = yuan.checked_mul(100).and_then(|v| v.checked_add(fen_part)).ok_or_else(bad)?;
    Ok(if neg { -fen } else { fen })
}

/// `123456` fen → `1234.56`.
pub fn format_cny(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Warranty ends `months` after shipment (the same day of month, clamped to the month's end).
pub fn warranty_end(ship_date: NaiveDate, months: u32) -> Option<NaiveDate> {
    ship_date.checked_add_months(Months::new(months))
}

/// What an existing customer looks like to the duplicate check.
#[derive(Debug, Clone)]
pub struct Existing<'a> {
    pub id: i64,
    pub code: &'a str,
    pub name: &'a str,
    pub phones: &'a [String],
}

/// Same code, or same name and a shared phone number, is a duplicate (spec C2).
/// Returns the reason naming the existing customer, or None.
pub fn duplicate_reason(
    code: Option<&str>,
    name: &str,
    phones: &[String],
    existing: &Existing<'_>,
) -> Option<(&'static str, String)> {
    if code.is_some_and(|c| c.eq_ignore_ascii_case(existing.code)) {
        return Some(("code", format!("customer code {} is already used by {}", existing.code, existing.name)));
    }
    let same_name = name.trim() == existing.name.trim();
    let shared_phone = phones
        .iter()
        .map(|p| normalise_phone(p))
        .any(|p| !p.is_empty() && existing.phones.iter().any(|q| normalise_phone(q) == p));
    if same_name && shared_phone {
        return Some((
            "name",
            format!(
                "customer {} ({}) has the same name and phone; this looks like a duplicate",
                existing.code, existing.name
            ),
        ));
    }
    None
}

/// Lower-cased text a customer is found by: code, name, phones (as typed and as digits) and contact names.
pub fn search_text(code: &str, name: &str, phones: &[String], contact_names: &[String], region: &str) -> String {
    let mut parts = vec![code.to_lowercase(), name.to_lowercase(), region.to_lowercase()];
    for p in phones {
        parts.push(p.to_lowercase());
        parts.push(normalise_phone(p));
    }
    parts.extend(contact_names.iter().map(|n| n.to_lowercase()));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_values_accept_code_and_both_labels() {
        assert_eq!(Stage::parse("售后").unwrap(), Stage::AfterSale);
        assert_eq!(Stage::parse("pre_sale").unwrap(), Stage::PreSale);
        assert_eq!(Channel::parse("Trade fair").unwrap(), Channel::TradeFair);
        let e = CustomerCategory::parse("vip").unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "category"));
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(parse_cny("amount", "2,000,000").unwrap(), 200_000_000);
        assert_eq!(parse_cny("amount", "¥1234.5").unwrap(), 123_450);
        assert_eq!(parse_cny("amount", "0.07元").unwrap(), 7);
        assert_eq!(parse_cny("amount", "-3.1").unwrap(), -310);
        assert!(parse_cny("amount", "1.234").is_err());
        assert!(parse_cny("amount", "abc").is_err());
        assert!(parse_cny("amount", "").is_err());
        assert!(parse_cny("amount", "99999999999999999999").is_err());
        assert_eq!(format_cny(123_450), "1234.50");
        assert_eq!(format_cny(-7), "-0.07");
        for v in [0, 1, 99, 100, 123_456_789] {
            assert_eq!(parse_cny("a", &format_cny(v)).unwrap(), v);
        }
    }

    #[test]
    fn warranty_end_clamps_to_month_end() {
        let d = NaiveDate::from_ymd_opt(2025, 8, 31).unwrap();
        assert_eq!(warranty_end(d, 6), NaiveDate::from_ymd_opt(2026, 2, 28));
        assert_eq!(warranty_end(d, 12), NaiveDate::from_ymd_opt(2026, 8, 31));
    }

    #[test]
    fn duplicates_by_code_or_name_and_phone() {
        let phones = vec!["0755-8888 1234".to_owned()];
        let ex = Existing { id: 1, code: "C000001", name: "深圳华星电子有限公司", phones: &phones };
        assert_eq!(duplicate_reason(Some("c000001"), "别的公司", &[], &ex).unwrap().0, "code");
        let r = duplicate_reason(None, "深圳华星电子有限公司", &["075588881234".into()], &ex).unwrap();
        assert_eq!(r.0, "name");
        assert!(r.1.contains("C000001"));
        assert!(duplicate_reason(None, "深圳华星电子有限公司", &["13800000000".into()], &ex).is_none());
        assert!(duplicate_reason(None, "另一家", &["075588881234".into()], &ex).is_none());
    }

    #[test]
    fn lists_phones_emails_flags_dates() {
        assert_eq!(split_list("a，b; c、d"), vec!["a", "b", "c", "d"]);
        assert!(parse_phones("phones", "0755-1234 5678; +86 138 0000 0000").is_ok());
        assert!(parse_phones("phones", "call me").is_err());
        assert!(parse_emails("emails", "a@b.cn, x@y.com").is_ok());
        assert!(parse_emails("emails", "a@b").is_err());
        assert!(parse_flag("is_new", "新").unwrap());
        assert!(!parse_flag("is_new", "否").unwrap());
        assert!(parse_flag("is_new", "maybe").is_err());
        assert_eq!(parse_date("d", "2025/3/7").unwrap(), NaiveDate::from_ymd_opt(2025, 3, 7).unwrap());
        assert!(parse_date("d", "2025-02-30").is_err());
        assert_eq!(generated_customer_code(42), "C000042");
        assert_eq!(parse_customer_code(" hx-01 ").unwrap(), "HX-01");
    }

    /// The cell parsers of an import row, fed anything: a value, or a refusal naming the field
    /// they were given (so the row report can put it under the right column).
    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use crate::fuzz::refused_with_field;

        fn names(field: &str, r: &Result<impl std::fmt::Debug, DomainError>) -> bool {
            match r {
                Err(DomainError::Invalid { field: f, .. }) => f == field,
                _ => true,
            }
        }

        /// Text near what cells hold: digits, separators, currency signs, dates, Chinese.
        fn cell() -> impl Strategy<Value = String> {
            prop_oneof![
                "\\PC{0,24}",
                "[0-9 ,.，¥￥元+\\-/@a-zA-Z是否新老]{0,24}",
                prop::sample::select(vec![
                    "2025-02-29",
                    "2024/2/29",
                    "2025.13.01",
                    "+262143-12-31",
                    "-0.",
                    ".5",
                    "¥-1",
                    "1,2,3.4,5",
                    "92233720368547758.07",
                    "92233720368547758.08",
                    "-92233720368547758.08",
                    "x@y.",
                    "@a.b",
                ])
                .prop_map(str::to_owned),
            ]
        }

        proptest! {
            #[test]
            fn cell_parsers_refuse_by_field(text in cell()) {
                let checks: [(&str, Result<String, DomainError>); 9] = [
                    ("code", parse_customer_code(&text)),
                    ("phones", parse_phones("phones", &text).map(|v| v.join("|"))),
                    ("emails", parse_emails("emails", &text).map(|v| v.join("|"))),
                    ("is_new", parse_flag("is_new", &text).map(|v| v.to_string())),
                    ("ship_date", parse_date("ship_date", &text).map(|v| v.to_string())),
                    ("warranty_end", parse_optional_date("warranty_end", &text).map(|v| format!("{v:?}"))),
                    ("value", parse_cny("value", &text).map(|v| v.to_string())),
                    ("kind", CustomerKind::parse(&text).map(|v| v.code().to_owned())),
                    ("category", CustomerCategory::parse(&text).map(|v| v.code().to_owned())),
                ];
                for (field, r) in checks {
                    refused_with_field(&r)?;
                    prop_assert!(names(field, &r), "{field}: {r:?}");
                }
                for r in [Channel::parse(&text).map(|_| ()), Direction::parse(&text).map(|_| ()),
                    Stage::parse(&text).map(|_| ()), ContractStatus::parse(&text).map(|_| ())] {
                    refused_with_field(&r)?;
                }
            }

            /// Amounts survive export and import exactly (i64::MIN has no positive twin and is left out).
            #[test]
            fn money_round_trips(fen in -i64::MAX..=i64::MAX) {
                prop_assert_eq!(parse_cny("value", &format_cny(fen)), Ok(fen));
            }
        }
    }
}

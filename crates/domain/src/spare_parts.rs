//! Values of the after-sales parts flow (issue #19 items 6, 9-11): who pays, what happens to a
//! faulty part, the movements of the warranty spare-parts ledger (三包备件登记台账), the resend
//! notice's number (备件补发通知单) and the checks on what people type. Reasons are message keys.

use chrono::NaiveDate;

use crate::DomainError;

/// Who bears a cost.
pub const PAYERS: [&str; 4] = ["company", "customer", "supplier", "contractor"];
/// What becomes of a faulty part taken out.
pub const FATES: [&str; 3] = ["return_to_supplier", "scrap", "keep_for_analysis"];
/// The ledger's movements.
pub const MOVEMENTS: [&str; 5] = ["issued", "returned_faulty", "scrapped", "returned_to_supplier", "restocked"];
/// Cost kinds of the monthly facts (a resend posts as `part`).
pub const COST_KINDS: [&str; 4] = ["part", "labour", "travel", "freight"];

/// A resend notice's states: asked → approved by the management representative (or rejected) →
/// shipped by the warehouse.
pub const RESEND_STATES: [&str; 4] = ["awaiting_approval", "approved", "rejected", "shipped"];

/// The ledger movement recorded when a faulty part meets its fate.
pub fn movement_for_fate(fate: &str) -> Option<&'static str> {
    match fate {
        "return_to_supplier" => Some("returned_to_supplier"),
        "scrap" => Some("scrapped"),
        "keep_for_analysis" => Some("returned_faulty"),
        _ => None,
    }
}

/// `BJ-2026-0007`: the resend notice's yearly number.
pub fn resend_number(year: i32, n: i64) -> String {
    format!("BJ-{year}-{n:04}")
}

/// `SV-2026-0012`: the service order's yearly number.
pub fn order_number(year: i32, n: i64) -> String {
    format!("SV-{year}-{n:04}")
}

/// The month a cost belongs to, `YYYY-MM`, from the local date it was posted on.
pub fn cost_month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// One of `allowed`, or `invalid(field, service.err.one_of|allowed=a,b)`.
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, DomainError> {
    let v = value.trim();
    if allowed.contains(&v) {
        Ok(v.to_owned())
    } else {
        Err(DomainError::invalid(field, format!("service.err.one_of|allowed={}", allowed.join(","))))
    }
}

/// A required text of at most `max` characters, without control characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let t = optional(field, value, max)?;
    if t.is_empty() {
        return Err(DomainError::invalid(field, "service.err.required"));
    }
    Ok(t)
}

/// An optional text of at most `max` characters (trimmed); line breaks allowed, other control
/// characters not.
pub fn optional(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    if value.chars().count() > max {
        return Err(DomainError::invalid(field, format!("service.err.too_long|max={max}")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(DomainError::invalid(field, "service.err.control"));
    }
    Ok(value.trim().to_owned())
}

/// A whole number within `lo..=hi`.
pub fn within(field: &str, v: i64, lo: i64, hi: i64) -> Result<i64, DomainError> {
    if v < lo || v > hi {
        Err(DomainError::invalid(field, format!("service.err.range|min={lo}|max={hi}")))
    } else {
        Ok(v)
    }
}

/// Largest cost of one line or resend: 100 million yuan in fen.
pub const MAX_FEN: i64 = 10_000_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_months() {
        assert_eq!(resend_number(2026, 7), "BJ-2026-0007");
        assert_eq!(order_number(2026, 12345), "SV-2026-12345");
        assert_eq!(cost_month(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()), "2026-03");
    }

    #[test]
    fn fates_map_to_ledger_movements() {
        for f in FATES {
            assert!(MOVEMENTS.contains(&movement_for_fate(f).unwrap()));
        }
        assert_eq!(movement_for_fate("lost"), None);
    }

    #[test]
    fn checks_name_the_field() {
        let e = one_of("payer", "bank", &PAYERS).unwrap_err();
        assert!(
            matches!(e, DomainError::Invalid { ref field, ref reason } if field == "payer" && reason.starts_with("service.err.one_of|"))
        );
        assert!(required("part_name", "  ", 10).is_err());
        assert!(required("part_name", "abcdefghijk", 10).is_err());
        assert_eq!(required("part_name", " 主板 ", 10).unwrap(), "主板");
        assert!(optional("note", "a\u{7}b", 10).is_err());
        assert!(within("quantity", 0, 1, 10).is_err());
    }
}

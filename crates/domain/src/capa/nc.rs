//! Nonconformance dispositions (不合格品处置): split by quantity, each with its cost in fen; a
//! concession needs the customer's authorisation reference (IATF 8.7.1.1); the quantities must add
//! up to the nonconforming quantity before the notice closes.

use crate::DomainError;

/// Disposition codes with zh/en names.
pub const DISPOSITIONS: [(&str, &str, &str); 7] = [
    ("rework", "返工", "Rework"),
    ("repair", "返修", "Repair"),
    ("concession", "让步接收", "Concession"),
    ("downgrade", "降级", "Downgrade"),
    ("return_to_supplier", "退供方", "Return to supplier"),
    ("scrap", "报废", "Scrap"),
    ("return_to_customer", "退回顾客", "Return to customer"),
];

/// Where a nonconformance was found.
pub const ORIGINS: [&str; 5] = ["case", "return", "incoming", "in_process", "field"];
/// Who is responsible.
pub const RESPONSIBILITIES: [&str; 5] = ["supplier", "internal", "customer", "transport", "undetermined"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    pub code: String,
    pub quantity: i64,
    pub cost_fen: i64,
    /// The customer's authorisation reference (concession only).
    pub authorisation: String,
}

/// Checks one disposition line (`at` is its index, for the field name).
pub fn check_disposition(at: usize, d: &Disposition) -> Result<(), DomainError> {
    let f = |name: &str| format!("dispositions[{at}].{name}");
    if !DISPOSITIONS.iter().any(|(c, _, _)| *c == d.code) {
        return Err(DomainError::invalid(f("code"), "capa.err.disposition_code"));
    }
    if d.quantity <= 0 {
        return Err(DomainError::invalid(f("quantity"), "capa.err.quantity_positive"));
    }
    if d.cost_fen < 0 {
        return Err(DomainError::invalid(f("cost_fen"), "capa.err.cost_negative"));
    }
    if d.code == "concession" && d.authorisation.trim().is_empty() {
        return Err(DomainError::invalid(f("authorisation"), "capa.err.concession_authorisation"));
    }
    Ok(())
}

/// The closing gate: every line valid and the quantities add up to the nonconforming quantity.
pub fn check_dispositions(nonconforming: i64, ds: &[Disposition]) -> Result<(), DomainError> {
    for (i, d) in ds.iter().enumerate() {
        check_disposition(i, d)?;
    }
    let sum: i64 = ds.iter().map(|d| d.quantity).fold(0i64, i64::saturating_add);
    if sum != nonconforming {
        return Err(DomainError::invalid(
            "dispositions",
            format!("capa.err.dispositions_sum|sum={sum}|nonconforming={nonconforming}"),
        ));
    }
    Ok(())
}

/// A severe nonconformance is disposed within 4 hours and the (deputy) GM is told (002-A 5.7).
pub const SEVERE_DISPOSITION_HOURS: i64 = 4;

/// The total cost of the dispositions, in fen.
pub fn total_cost_fen(ds: &[Disposition]) -> i64 {
    ds.iter().map(|d| d.cost_fen).fold(0i64, i64::saturating_add)
}

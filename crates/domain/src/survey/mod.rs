//! Satisfaction measurement (SPEC C8): indicator weights, rating scales and survey scoring.
//!
//! - [`ahp`]: weights from a pairwise comparison matrix (Analytic Hierarchy Process) with the
//!   consistency check that rejects contradictory judgements (CR ≥ 0.10).
//! - [`scale`]: named rating scales, e.g. the seeds' five levels 10/8/6/3/1 and 100/80/60/30/0.
//! - [`period`]: reporting periods (year, half, quarter, month) and which contains which.
//! - [`scoring`]: manual weights, the indicator tree (≤ 3 levels), item and overall satisfaction,
//!   NPS, CSAT, response rate, the KPI-based internal score and composite index, free-text
//!   category counts and the comparison against target that triggers a corrective action.
//!
//! Conventions: satisfaction values (S_i, S, CSAT, NPS, KPI scores) are percentages on 0–100;
//! weights, shares and rates are fractions on 0–1.

pub mod ahp;
pub mod mail;
pub mod period;
pub mod scale;
pub mod scoring;
pub mod shipped;
pub mod template;

use crate::DomainError;

/// Rejects NaN and infinities, which serde_json cannot produce but other callers can.
pub(crate) fn finite(field: impl Into<String>, v: f64) -> Result<f64, DomainError> {
    if v.is_finite() { Ok(v) } else { Err(DomainError::invalid(field, "errors.must_finite_number")) }
}

/// Rejects values outside 0..=1 (shares, rates, minimums).
pub(crate) fn fraction(field: impl Into<String>, v: f64) -> Result<f64, DomainError> {
    let field = field.into();
    let v = finite(field.clone(), v)?;
    if (0.0..=1.0).contains(&v) { Ok(v) } else { Err(DomainError::invalid(field, "errors.must_between_0_1")) }
}

/// Rejects values outside 0..=100 (satisfaction percentages, targets, thresholds).
pub(crate) fn percentage(field: impl Into<String>, v: f64) -> Result<f64, DomainError> {
    let field = field.into();
    let v = finite(field.clone(), v)?;
    if (0.0..=100.0).contains(&v) { Ok(v) } else { Err(DomainError::invalid(field, "errors.must_between_0_100")) }
}

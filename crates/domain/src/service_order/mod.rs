//! Service orders (售后服务报告单, 003-F 6.5; issue #19 items 1-8): coded values, the lifecycle as a
//! process definition of record kind `service_order` (`service_order.toml`, read by the same
//! `process` types as the case types: states, transitions, roles, clock effects, SVG flowchart),
//! and the rules of the visit: the 48 h on-site clock, the report due two days after returning,
//! the paid-service quote that must be accepted before a repair outside 三包.

use chrono::{DateTime, Duration, Utc};

use crate::DomainError;
use crate::access::Role;
use crate::process::{ProcessDefinition, TransitionDef};
use crate::sanbao::{Decision, Remedy, VoidReason};

/// The record kind of service orders in the process engine.
pub const RECORD_KIND: &str = "service_order";

pub const KINDS: [&str; 6] =
    ["onsite_repair", "remote_support", "depot_repair", "installation", "training", "inspection"];
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
pub const DIAGNOSES: [&str; 7] =
    ["quality_defect", "misuse", "wear", "installation", "transport", "no_fault_found", "undetermined"];
pub const LINE_KINDS: [&str; 4] = ["part", "labour", "travel", "freight"];
pub const SIGNOFF_METHODS: [&str; 3] = ["signature", "typed_name", "portal"];

/// Hours within which a technician must be on site when the case asks for on-site service
/// (003-F 6.5: 48 h).
pub const ON_SITE_HOURS: i64 = 48;
/// Days after returning within which the technician's report is due (003-F 6.5 9).
pub const REPORT_DAYS: i64 = 2;
/// Largest signature image kept (a PNG data URL).
pub const MAX_SIGNATURE_BYTES: usize = 200_000;

/// The shipped lifecycle of service orders (checked by a unit test, so it always parses).
pub fn definition() -> ProcessDefinition {
    // The file is part of the program and tested below.
    #[allow(clippy::expect_used)]
    toml::from_str(include_str!("service_order.toml")).expect("service_order.toml is valid")
}

/// The transition `code` if it may be taken from `state` by `roles` (or by the customer).
pub fn step<'a>(
    def: &'a ProcessDefinition,
    state: &str,
    code: &str,
    roles: &[Role],
    customer: bool,
) -> Result<&'a TransitionDef, DomainError> {
    let t = def.transition(code).ok_or_else(|| DomainError::invalid("action", "service.err.unknown_action"))?;
    if !t.from.iter().any(|f| f == state) {
        return Err(DomainError::Conflict {
            reason: format!("service.err.wrong_state|state={state}"),
            field: Some("state"),
        });
    }
    let allowed = if customer { t.customer } else { ProcessDefinition::allows(t, roles) };
    if !allowed {
        return Err(DomainError::forbidden("service.err.role"));
    }
    Ok(t)
}

/// When the technician must be on site: 48 h after the order was opened.
pub fn on_site_due(opened: DateTime<Utc>) -> DateTime<Utc> {
    opened + Duration::hours(ON_SITE_HOURS)
}

/// When the technician's report is due: two days after leaving the site.
pub fn report_due(departed: DateTime<Utc>) -> DateTime<Utc> {
    departed + Duration::days(REPORT_DAYS)
}

/// The diagnosis adds its own void reason: misuse takes the fault out of 三包.
pub fn void_reasons(diagnosis: &str, given: &[VoidReason]) -> Vec<VoidReason> {
    let mut v = given.to_vec();
    if diagnosis == "misuse" {
        v.push(VoidReason::Misuse);
    }
    v.sort();
    v.dedup();
    v
}

/// Whether the repair is paid service (outside 三包, or voided), so a quote must be accepted first.
pub fn is_paid(d: &Decision) -> bool {
    !d.in_warranty || d.remedies == [Remedy::Paid]
}

/// A code typed for failure or cause (shared with CAPA's Pareto): lower-case letters, digits, `_`,
/// `-` and `.`, at most 32.
pub fn check_code(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if t.chars().count() > 32
        || !t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
    {
        return Err(DomainError::invalid(field, "service.err.code"));
    }
    Ok(t.to_owned())
}

/// A satisfaction rating: 1 (very dissatisfied) to 5 (very satisfied), as the seeds' 5-point scale.
pub fn check_rating(r: i64) -> Result<i32, DomainError> {
    if (1..=5).contains(&r) {
        Ok(r as i32)
    } else {
        Err(DomainError::invalid("rating", "service.err.range|min=1|max=5"))
    }
}

/// A drawn signature: a `data:image/png;base64,` URL of at most [`MAX_SIGNATURE_BYTES`].
pub fn check_signature(s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let Some(b64) = t.strip_prefix("data:image/png;base64,") else {
        return Err(DomainError::invalid("signature", "service.err.signature"));
    };
    if t.len() > MAX_SIGNATURE_BYTES
        || !b64.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    {
        return Err(DomainError::invalid("signature", "service.err.signature"));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_is_a_valid_process_definition() {
        let def = definition();
        assert_eq!(def.case_type, RECORD_KIND);
        assert_eq!(def.initial, "new");
        // Every transition names known states and roles.
        for t in &def.transitions {
            assert!(def.state(&t.to).is_some(), "{}", t.code);
            for f in &t.from {
                assert!(def.state(f).is_some_and(|s| !s.terminal), "{} from {f}", t.code);
            }
            for r in &t.roles {
                Role::parse(r).unwrap();
            }
        }
        assert!(def.to_svg(Some("diagnosed"), true).contains("<svg"));
    }

    #[test]
    fn steps_check_state_and_role() {
        let def = definition();
        assert_eq!(step(&def, "scheduled", "arrive", &[Role::Technician], false).unwrap().to, "on_site");
        assert!(matches!(step(&def, "new", "arrive", &[Role::Technician], false), Err(DomainError::Conflict { .. })));
        assert!(matches!(
            step(&def, "new", "schedule", &[Role::Technician], false),
            Err(DomainError::Forbidden { .. })
        ));
        assert!(step(&def, "completed", "sign_off", &[], true).is_ok());
        assert!(step(&def, "diagnosed", "start_repair", &[], true).is_err());
        assert!(matches!(step(&def, "new", "fly", &[Role::Admin], false), Err(DomainError::Invalid { .. })));
    }

    #[test]
    fn clocks_and_codes() {
        let t = DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(on_site_due(t).to_rfc3339(), "2026-03-04T08:00:00+00:00");
        assert_eq!(report_due(t).to_rfc3339(), "2026-03-04T08:00:00+00:00");
        assert_eq!(void_reasons("misuse", &[]), vec![VoidReason::Misuse]);
        assert!(void_reasons("wear", &[]).is_empty());
        assert!(check_code("failure_code", "motor.overheat-1").is_ok());
        assert!(check_code("failure_code", "Motor Overheat").is_err());
        assert!(check_rating(0).is_err() && check_rating(5).is_ok());
        assert!(check_signature("data:image/png;base64,iVBORw0KGgo=").is_ok());
        assert!(check_signature("javascript:alert(1)").is_err());
    }
}

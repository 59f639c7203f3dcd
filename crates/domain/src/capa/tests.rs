use chrono::TimeZone;
use proptest::prelude::*;

use super::nc::*;
use super::*;

fn at(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::days(i64::from(d))
}

#[test]
fn numbers_are_yearly_with_four_digits() {
    assert_eq!(capa_number(2026, 7), "CA-2026-0007");
    assert_eq!(nc_number(2026, 12345), "NC-2026-12345");
    assert_eq!(parse_six_m("测").unwrap(), "measurement");
    assert!(parse_six_m("money").is_err());
}

#[test]
fn root_cause_gate_needs_verified_causes_and_escape_for_8d() {
    let occ = CauseFacts { kind: CauseKind::Occurrence, verified: true, whys: 5 };
    let esc = CauseFacts { kind: CauseKind::Escape, verified: true, whys: 2 };
    assert!(check_root_cause(false, std::slice::from_ref(&occ)).is_ok());
    assert!(matches!(check_root_cause(true, std::slice::from_ref(&occ)),
        Err(DomainError::Invalid { reason, .. }) if reason == "capa.err.no_escape_cause"));
    assert!(check_root_cause(true, &[occ.clone(), esc]).is_ok());
    let unverified = CauseFacts { verified: false, ..occ.clone() };
    assert!(check_root_cause(false, &[unverified]).is_err());
    let no_whys = CauseFacts { whys: 0, ..occ };
    assert!(check_root_cause(false, &[no_whys]).is_err());
}

#[test]
fn closure_needs_every_action_done() {
    assert!(check_actions_done(&[]).is_err());
    assert!(matches!(check_actions_done(&[true, false, false]),
        Err(DomainError::Conflict { ref reason, field: Some("actions") }) if reason == "capa.err.actions_open|n=2"));
    assert!(check_actions_done(&[true, true]).is_ok());
}

#[test]
fn recurrence_compares_equal_windows_and_the_watch_counts_thirty_days() {
    let arrivals = [at(1), at(20), at(29), at(31), at(70)];
    let r = Recurrence::count(&arrivals, at(30), Duration::days(30));
    assert_eq!(r, Recurrence { before: 3, after: 1 });
    assert!(!r.no_recurrence());
    assert!(suggest_capa(&arrivals[..3], at(29), WATCH_COUNT, WATCH_DAYS, false));
    assert!(!suggest_capa(&arrivals[..3], at(29), WATCH_COUNT, WATCH_DAYS, true));
    assert!(!suggest_capa(&arrivals[..3], at(45), WATCH_COUNT, WATCH_DAYS, false));
}

fn d(code: &str, q: i64) -> Disposition {
    Disposition { code: code.into(), quantity: q, cost_fen: 100, authorisation: String::new() }
}

#[test]
fn three_dispositions_close_only_when_they_add_up() {
    let mut ds = vec![d("rework", 40), d("scrap", 10), d("concession", 50)];
    assert!(matches!(check_dispositions(100, &ds),
        Err(DomainError::Invalid { ref field, .. }) if field == "dispositions[2].authorisation"));
    ds[2].authorisation = "客户授权 2026-031".into();
    assert!(check_dispositions(100, &ds).is_ok());
    assert_eq!(total_cost_fen(&ds), 300);
    ds[1].quantity = 9;
    assert!(matches!(check_dispositions(100, &ds),
        Err(DomainError::Invalid { ref field, ref reason }) if field == "dispositions" && reason.starts_with("capa.err.dispositions_sum|sum=99")));
    assert!(check_dispositions(5, &[d("melt", 5)]).is_err());
}

proptest! {
    #[test]
    fn dispositions_pass_exactly_when_the_quantities_sum(qs in proptest::collection::vec(1i64..1000, 0..8), extra in -3i64..3) {
        let ds: Vec<Disposition> = qs.iter().map(|q| d("rework", *q)).collect();
        let total: i64 = qs.iter().sum();
        prop_assert_eq!(check_dispositions(total + extra, &ds).is_ok(), extra == 0);
    }
}

#[test]
fn quality_records_are_seen_by_quality_and_by_their_departments_and_owners() {
    use crate::access::{Actor, Role, Scope};
    use crate::scope::{QualityFacts, quality_record_visible};
    let staff = |roles: Vec<Role>, dept: i64, uid: i64| Actor {
        user_id: Some(uid),
        username: format!("u{uid}"),
        department_id: Some(dept),
        roles,
        scope: Scope::Departments(vec![dept]),
        kind: crate::access::ActorKind::Staff,
    };
    let r = QualityFacts {
        lead_department: Some(1),
        owner: Some(10),
        action_owners: vec![11],
        action_departments: vec![2],
    };
    assert!(quality_record_visible(&staff(vec![Role::Qa], 9, 1), &r));
    assert!(quality_record_visible(&staff(vec![Role::Member], 1, 2), &r));
    assert!(quality_record_visible(&staff(vec![Role::Member], 2, 3), &r));
    assert!(quality_record_visible(&staff(vec![Role::Member], 9, 11), &r));
    assert!(!quality_record_visible(&staff(vec![Role::Member], 9, 12), &r));
    assert!(!quality_record_visible(&Actor::portal(), &r));
}

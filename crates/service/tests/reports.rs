//! The monthly case counts, on both engines: kept exactly right by every write that registers or
//! reclassifies a case, and equal to a count of the cases themselves.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use loopdesk_domain::access::Actor;
use loopdesk_domain::case::NumberFormat;
use loopdesk_domain::page::Page;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::org::DepartmentInput;
use loopdesk_service::{OrgSettings, Service};
use loopdesk_store::cases::{CaseFilter, CaseSort};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

type Cell = (String, String, String, i64, String);

/// The report of `year`, as cells.
async fn reported(svc: &Service, year: i32) -> BTreeMap<Cell, i64> {
    let r = svc.case_report(&Actor::system(), year).await.unwrap();
    r.rows.into_iter().map(|c| ((c.month, c.case_type, c.category, c.department_id, c.severity), c.n)).collect()
}

/// The same cells counted from the cases themselves.
async fn counted(svc: &Service, year: i32) -> BTreeMap<Cell, i64> {
    let tz = svc.settings.timezone;
    let mut out = BTreeMap::new();
    let mut page = 1;
    loop {
        let p = svc.cases(&Actor::system(), CaseFilter::default(), Page { page, per_page: 500 }).await.unwrap();
        for k in &p.items {
            let month = NumberFormat::month(k.received_at, tz);
            if month.starts_with(&format!("{year}-")) {
                let key = (
                    month,
                    k.case_type.clone(),
                    k.category.clone(),
                    k.lead_department_id.unwrap_or(0),
                    k.severity.clone(),
                );
                *out.entry(key).or_insert(0) += 1;
            }
        }
        if p.items.len() < 500 {
            return out;
        }
        page += 1;
    }
}

async fn assert_counts_right(svc: &Service, step: &str) {
    for year in [2025, 2026] {
        assert_eq!(reported(svc, year).await, counted(svc, year).await, "{step}: {year}");
    }
}

fn input(case_type: &str, received: chrono::DateTime<Utc>) -> CaseInput {
    CaseInput {
        case_type: case_type.into(),
        contact_name: Some("王先生".into()),
        subject: "电源冒烟".into(),
        description: "电源模块批次 L2309 上电后冒烟".into(),
        received_at: Some(received),
        severity: Some("general".into()),
        ..Default::default()
    }
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

both_engines!(case_counts_stay_right_through_create_assess_merge_and_split, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    for (code, name) in [("QA", "品保部"), ("ENG", "工程部")] {
        let d = DepartmentInput { code: code.into(), name: name.into(), kind: "quality".into(), parent_id: None };
        svc.create_department(&sys, &d).await.unwrap();
    }
    // 2025-12-31 20:00 UTC is already 2026-01-01 in Shanghai: counted in January 2026.
    let new_year = Utc.with_ymd_and_hms(2025, 12, 31, 20, 0, 0).unwrap();
    let march = Utc.with_ymd_and_hms(2025, 3, 10, 2, 0, 0).unwrap();
    let a = svc.create_case(&sys, &input("complaint", new_year)).await.unwrap().case;
    let b = svc.create_case(&sys, &input("complaint", march)).await.unwrap().case;
    let c = svc.create_case(&sys, &input("inquiry", march)).await.unwrap().case;
    assert_counts_right(&svc, "created").await;
    let jan: i64 = reported(&svc, 2026).await.iter().filter(|(k, _)| k.0 == "2026-01").map(|(_, n)| n).sum();
    assert_eq!(jan, 1, "the zone decides the month");

    let a = svc.transition(&sys, a.id, "acknowledge", a.version, &f(&[])).await.unwrap();
    let fields =
        [("category", "product_quality"), ("severity", "major"), ("responsibility", "yes"), ("lead_department", "QA")];
    let a = svc.transition(&sys, a.id, "assess", a.version, &f(&fields)).await.unwrap();
    assert_counts_right(&svc, "assessed").await;
    let b = svc.transition(&sys, b.id, "acknowledge", b.version, &f(&[])).await.unwrap();
    let fields = [
        ("category", "delivery"),
        ("severity", "minor"),
        ("responsibility", "no"),
        ("responsibility_note", "承运方延误"),
        ("lead_department", "ENG"),
    ];
    let b = svc.transition(&sys, b.id, "assess", b.version, &f(&fields)).await.unwrap();
    assert_counts_right(&svc, "assessed again").await;

    svc.merge_case(&sys, c.id, c.version, b.id, "同一问题").await.unwrap();
    assert_counts_right(&svc, "merged").await;
    let part = svc.split_case(&sys, a.id, Some("return"), "少发一件", "补发一件").await.unwrap().case;
    assert_eq!(part.received_at, a.received_at);
    assert_counts_right(&svc, "split").await;

    // A stale write changes no count.
    let stale = svc.transition(&sys, a.id, "investigate", a.version - 1, &f(&[])).await;
    assert!(stale.is_err());
    assert_counts_right(&svc, "stale write").await;
    let total: i64 =
        reported(&svc, 2025).await.values().sum::<i64>() + reported(&svc, 2026).await.values().sum::<i64>();
    assert_eq!(total, 4);
    assert!(svc.case_report(&sys, 1999).await.is_err(), "a year out of range is refused");
});

both_engines!(the_list_sorts_by_the_earliest_running_clock, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    svc.ensure_default_calendars().await.unwrap();
    let now = svc.now();
    // Inquiries start a first-reply clock of two working days; complaints a 24-hour acknowledgement.
    let early = svc.create_case(&sys, &input("complaint", now - chrono::Duration::hours(30))).await.unwrap().case;
    let late = svc.create_case(&sys, &input("complaint", now - chrono::Duration::hours(1))).await.unwrap().case;
    let praise = svc.create_case(&sys, &input("praise", now)).await.unwrap().case;
    let f = CaseFilter { sort: CaseSort::Due, ..Default::default() };
    let listed = svc.cases(&sys, f.clone(), Page::default()).await.unwrap();
    let order: Vec<i64> = listed.items.iter().map(|k| k.id).collect();
    assert_eq!(order, vec![early.id, late.id, praise.id], "no running clock sorts last");
    // Stopping the earliest case's clock moves it behind the other.
    svc.transition(&sys, early.id, "acknowledge", early.version, &BTreeMap::new()).await.unwrap();
    let clocks = svc.clocks(&sys, early.id).await.unwrap();
    let due = clocks.iter().filter(|c| c.state == "running").map(|c| c.due_at).min();
    let listed = svc.cases(&sys, f, Page::default()).await.unwrap();
    let pos = |id| listed.items.iter().position(|k| k.id == id).unwrap();
    match due {
        Some(d) if d > late.received_at + chrono::Duration::hours(24) => assert!(pos(early.id) > pos(late.id)),
        _ => assert!(pos(early.id) < pos(praise.id)),
    }
});

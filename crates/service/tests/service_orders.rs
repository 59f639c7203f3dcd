//! Issue #19 on both engines: a service request becomes a service order that is scheduled,
//! visited, diagnosed and decided under 三包 (free repair in warranty; exchange offered after two
//! failed repairs; paid service with an accepted quote after misuse), gets a spare part resent
//! after the management representative's approval, is signed off by the customer, and shows in
//! the warranty spare-parts ledger and the monthly cost facts.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::page::Page;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::customers::{AssetInput, CustomerInput, ProductInput};
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::service_orders::{DiagnosisInput, LineInput, OrderInput, SignOffInput};
use loopdesk_service::spare_parts::ResendInput;
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

struct World {
    svc: Service,
    clock: Arc<AtomicI64>,
    agent: Actor,
    tech: Actor,
    other_tech: Actor,
    rep: Actor,
    warehouse: Actor,
    customer_id: i64,
    asset_id: i64,
}

impl World {
    fn advance(&self, d: Duration) {
        self.clock.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }
}

async fn world(db: &TestDb) -> World {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 20 }).await.unwrap();
    s.migrate().await.unwrap();
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap().timestamp();
    let clock = Arc::new(AtomicI64::new(start));
    let c = clock.clone();
    let svc = Service::new(s, OrgSettings::default())
        .with_time_source(move || DateTime::from_timestamp(c.load(Ordering::SeqCst), 0).unwrap());
    let sys = Actor::system();
    let mut people = vec![];
    for (code, kind, user, role) in [
        ("CS", "customer_service", "agent1", Role::Agent),
        ("ENG", "engineering", "tech1", Role::Technician),
        ("ENG2", "engineering", "tech2", Role::Technician),
        ("QM", "quality", "rep1", Role::MgmtRep),
        ("GX", "sales", "store1", Role::Member),
    ] {
        let d = match svc
            .create_department(
                &sys,
                &DepartmentInput { code: code.into(), name: code.into(), kind: kind.into(), parent_id: None },
            )
            .await
        {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let u = svc
            .create_user(
                &sys,
                &NewUser {
                    username: user.into(),
                    display_name: user.into(),
                    department_id: Some(d.id),
                    roles: vec![role.code().into()],
                    password: "service-pass-123".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        people.push(Actor {
            user_id: Some(u.id),
            username: user.into(),
            department_id: Some(d.id),
            roles: vec![role],
            scope: if role.is_org_wide() { Scope::All } else { Scope::Departments(vec![d.id]) },
            kind: ActorKind::Staff,
        });
    }
    let cu =
        svc.create_customer(&sys, &CustomerInput { name: "华东机械厂".into(), ..Default::default() }).await.unwrap();
    svc.create_product(
        &sys,
        &ProductInput {
            code: "PUMP-A".into(), name: "离心泵".into(), warranty_months: Some(12), ..Default::default()
        },
    )
    .await
    .unwrap();
    let asset = svc
        .add_asset(
            &sys,
            cu.id,
            &AssetInput {
                product_code: "PUMP-A".into(),
                serial: "SN-001".into(),
                ship_date: Some("2026-01-10".into()),
                warranty_end: None,
            },
        )
        .await
        .unwrap();
    let mut it = people.into_iter();
    World {
        svc,
        clock,
        agent: it.next().unwrap(),
        tech: it.next().unwrap(),
        other_tech: it.next().unwrap(),
        rep: it.next().unwrap(),
        warehouse: it.next().unwrap(),
        customer_id: cu.id,
        asset_id: asset.id,
    }
}

fn code_of(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Domain(DomainError::Invalid { .. }) => "invalid",
        ServiceError::Domain(DomainError::Forbidden { .. }) => "forbidden",
        ServiceError::Domain(DomainError::Conflict { .. }) => "conflict",
        ServiceError::Domain(DomainError::NotFound { .. }) => "not_found",
        _ => "other",
    }
}

fn field_of(e: &ServiceError) -> String {
    match e {
        ServiceError::Domain(DomainError::Invalid { field, .. }) => field.clone(),
        _ => String::new(),
    }
}

/// Opens, schedules, visits and diagnoses an order on the asset; returns it diagnosed.
async fn visit(w: &World, case_id: Option<i64>) -> loopdesk_store::service_orders::ServiceOrder {
    let o = w
        .svc
        .create_service_order(
            &w.agent,
            &OrderInput {
                case_id,
                asset_id: Some(w.asset_id),
                kind: "onsite_repair".into(),
                priority: "high".into(),
                reported_fault: if case_id.is_some() { String::new() } else { "泵体漏水".into() },
                on_site: case_id.is_none(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let now = w.svc.now();
    let o = w
        .svc
        .schedule_service_order(
            &w.agent,
            o.id,
            o.version,
            w.tech.user_id.unwrap(),
            now + Duration::hours(3),
            now + Duration::hours(6),
        )
        .await
        .unwrap();
    w.advance(Duration::hours(4));
    let o = w.svc.arrive(&w.tech, o.id, o.version).await.unwrap();
    w.svc
        .diagnose(
            &w.tech,
            o.id,
            o.version,
            &DiagnosisInput {
                diagnosis: "quality_defect".into(),
                failure_code: "seal.leak".into(),
                cause_code: "seal".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

async fn repair_and_finish(w: &World, o: loopdesk_store::service_orders::ServiceOrder) {
    let o = w.svc.start_repair(&w.tech, o.id, o.version, "repair").await.unwrap();
    let o = w.svc.complete_service_order(&w.tech, o.id, o.version, "更换机械密封").await.unwrap();
    let o = w
        .svc
        .sign_off(&w.tech, o.id, o.version, &SignOffInput { name: "李工".into(), rating: 4, ..Default::default() })
        .await
        .unwrap();
    w.svc.end_service_order(&w.agent, o.id, o.version, "close").await.unwrap();
}

both_engines!(a_request_becomes_an_order_decided_under_sanbao_resent_signed_off_and_costed, |db: TestDb| async move {
    let w = world(&db).await;
    let k = w
        .svc
        .create_case(
            &w.agent,
            &CaseInput {
                case_type: "service_request".into(),
                customer_id: Some(w.customer_id),
                contact_name: Some("李工".into()),
                subject: "离心泵漏水".into(),
                description: "机械密封处漏水".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .case;
    // From the case: the fault comes over; scheduled, the technician is told.
    let o = visit(&w, Some(k.id)).await;
    assert!(o.number.starts_with("SV-2026-"), "{}", o.number);
    assert_eq!(o.case_id, Some(k.id));
    assert!(o.reported_fault.contains("离心泵漏水"));
    assert_eq!(o.state, "diagnosed");
    let inbox = w.svc.inbox(&w.tech, false, Page::default()).await.unwrap().items;
    assert!(inbox.iter().any(|i| i.kind == "service_order_assigned"));
    // In warranty, past 15 days, no earlier repair: free repair only (第八条).
    let v = w.svc.service_order(&w.agent, o.id).await.unwrap();
    let d = v.decision.clone().unwrap();
    assert!(d.in_warranty);
    assert_eq!(d.remedies.iter().map(|r| r.code()).collect::<Vec<_>>(), vec!["repair"]);
    assert_eq!(d.period_end, NaiveDate::from_ymd_opt(2027, 1, 10).unwrap());
    // Another technician does not see it; the one assigned does; an unallowed remedy is refused.
    assert_eq!(code_of(&w.svc.service_order(&w.other_tech, o.id).await.unwrap_err()), "not_found");
    let e = w.svc.start_repair(&w.tech, o.id, o.version, "exchange").await.unwrap_err();
    assert_eq!((code_of(&e), field_of(&e).as_str()), ("invalid", "remedy"));
    // A part with serials and fate: ledger lines and the cost fact.
    let line = w
        .svc
        .add_order_line(
            &w.tech,
            o.id,
            &LineInput {
                kind: "part".into(),
                description: "机械密封".into(),
                part_code: "SEAL-35".into(),
                faulty_serial: "S-OLD".into(),
                replacement_serial: "S-NEW".into(),
                fate: "return_to_supplier".into(),
                payer: "supplier".into(),
                cost_fen: 12_000,
                supplier: "密封件厂".into(),
                quantity: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(line.cost_fen, 12_000);
    let e = w
        .svc
        .add_order_line(
            &w.tech,
            o.id,
            &LineInput { kind: "part".into(), payer: "bank".into(), part_code: "X".into(), ..Default::default() },
        )
        .await
        .unwrap_err();
    assert_eq!((code_of(&e), field_of(&e).as_str()), ("invalid", "payer"));
    w.svc
        .add_order_line(
            &w.tech,
            o.id,
            &LineInput {
                kind: "labour".into(),
                hours_tenths: 15,
                quantity: 1,
                payer: "company".into(),
                cost_fen: 9_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // A spare part resent: the warehouse cannot ship before the management representative approves.
    let r = w
        .svc
        .request_resend(
            &w.tech,
            &ResendInput {
                service_order_id: Some(o.id),
                customer_id: Some(w.customer_id),
                asset_serial: "SN-001".into(),
                product_code: "PUMP-A".into(),
                part_code: "IMP-120".into(),
                part_name: "叶轮".into(),
                spec: "Φ120".into(),
                quantity: 2,
                unit_cost_fen: 25_000,
                payer: "company".into(),
                cause: "seal".into(),
                receiver_name: "李工".into(),
                receiver_address: "上海市嘉定区".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(r.number.starts_with("BJ-2026-"));
    assert_eq!(r.state, "awaiting_approval");
    let rep_inbox = w.svc.inbox(&w.rep, false, Page::default()).await.unwrap().items;
    assert!(rep_inbox.iter().any(|i| i.kind == "resend_approval"));
    let ship_day = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let e = w.svc.ship_resend(&w.warehouse, r.id, r.version, ship_day, "顺丰", "SF123").await.unwrap_err();
    assert_eq!(code_of(&e), "conflict");
    assert_eq!(code_of(&w.svc.decide_resend(&w.agent, r.id, r.version, true, "").await.unwrap_err()), "forbidden");
    let r = w.svc.decide_resend(&w.rep, r.id, r.version, true, "同意补发").await.unwrap();
    assert_eq!(r.state, "approved");
    assert_eq!(
        code_of(&w.svc.ship_resend(&w.tech, r.id, r.version, ship_day, "顺丰", "SF123").await.unwrap_err()),
        "forbidden"
    );
    let r = w.svc.ship_resend(&w.warehouse, r.id, r.version, ship_day, "顺丰", "SF123").await.unwrap();
    assert_eq!((r.state.as_str(), r.tracking_no.as_str()), ("shipped", "SF123"));

    // The repair, completion (report due two days after leaving) and the customer's sign-off.
    let o = w.svc.service_order(&w.tech, o.id).await.unwrap().order;
    let o = w.svc.start_repair(&w.tech, o.id, o.version, "repair").await.unwrap();
    w.advance(Duration::hours(2));
    let o = w.svc.complete_service_order(&w.tech, o.id, o.version, "更换机械密封，试车正常").await.unwrap();
    assert_eq!(o.report_due_at, Some(o.departed_at.unwrap() + Duration::days(2)));
    let e = w
        .svc
        .sign_off(&w.tech, o.id, o.version, &SignOffInput { name: "李工".into(), rating: 9, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!((code_of(&e), field_of(&e).as_str()), ("invalid", "rating"));
    let o = w
        .svc
        .sign_off(
            &w.tech,
            o.id,
            o.version,
            &SignOffInput { name: "李工".into(), rating: 5, comment: "及时".into(), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!((o.state.as_str(), o.signoff_method.as_str(), o.rating), ("signed_off", "typed_name", Some(5)));
    let o = w.svc.submit_service_report(&w.tech, o.id, o.version, "密封老化，已更换").await.unwrap();
    assert!(o.report_at.is_some());

    // The ledger: the order's part issued and its faulty part back to the supplier, the resend issued.
    let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    let ledger = w.svc.ledger(&w.agent, day(1), day(31)).await.unwrap();
    let moves: Vec<(&str, &str, i32)> =
        ledger.iter().map(|l| (l.movement.as_str(), l.part_code.as_str(), l.quantity)).collect();
    assert_eq!(moves, vec![("issued", "SEAL-35", 1), ("returned_to_supplier", "SEAL-35", 1), ("issued", "IMP-120", 2)]);
    assert_eq!(ledger[2].cost_fen, 50_000);
    assert_eq!(ledger[2].resend_id, Some(r.id));
    let rows = w.svc.ledger_rows(&w.agent, day(1), day(31)).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(code_of(&w.svc.ledger(&w.tech, day(1), day(31)).await.unwrap_err()), "forbidden");
    // The cost facts of the month.
    let facts = w.svc.cost_facts(&Actor::system(), "2026-03", "2026-03").await.unwrap();
    let f: Vec<(&str, &str, &str, i64)> =
        facts.iter().map(|f| (f.kind.as_str(), f.payer.as_str(), f.product_code.as_str(), f.amount_fen)).collect();
    assert!(f.contains(&("part", "supplier", "PUMP-A", 12_000)), "{f:?}");
    assert!(f.contains(&("labour", "company", "PUMP-A", 9_000)), "{f:?}");
    assert!(f.contains(&("part", "company", "PUMP-A", 50_000)), "{f:?}");
    let e = w.svc.cost_facts(&Actor::system(), "2026-3", "2026-03").await.unwrap_err();
    assert_eq!((code_of(&e), field_of(&e).as_str()), ("invalid", "from"));
    // The order on the case's list.
    let on_case = w.svc.service_orders(&w.agent, None, Some(k.id), None).await.unwrap();
    assert_eq!(on_case.len(), 1);
});

both_engines!(after_two_repairs_the_next_fault_is_offered_an_exchange, |db: TestDb| async move {
    let w = world(&db).await;
    for _ in 0..2 {
        let o = visit(&w, None).await;
        assert!(o.onsite_due_at.is_some());
        repair_and_finish(&w, o).await;
        w.advance(Duration::days(20));
    }
    let o = visit(&w, None).await;
    let d = w.svc.service_order(&w.agent, o.id).await.unwrap().decision.unwrap();
    let remedies: Vec<&str> = d.remedies.iter().map(|r| r.code()).collect();
    assert_eq!(remedies, vec!["exchange", "repair", "refund"]);
    assert!(d.articles.iter().any(|a| a.article == "art11"));
    let o = w.svc.start_repair(&w.tech, o.id, o.version, "exchange").await.unwrap();
    assert_eq!(o.remedy, "exchange");
});

both_engines!(misuse_is_paid_service_that_waits_for_the_accepted_quote, |db: TestDb| async move {
    let w = world(&db).await;
    let o = visit(&w, None).await;
    let o = w
        .svc
        .diagnose(&w.tech, o.id, o.version, &DiagnosisInput { diagnosis: "misuse".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(o.remedy, "paid");
    let e = w.svc.start_repair(&w.tech, o.id, o.version, "repair").await.unwrap_err();
    assert_eq!(code_of(&e), "conflict");
    let e = w.svc.quote(&w.tech, o.id, o.version, -1).await.unwrap_err();
    assert_eq!((code_of(&e), field_of(&e).as_str()), ("invalid", "quote_fen"));
    let o = w.svc.quote(&w.tech, o.id, o.version, 80_000).await.unwrap();
    assert_eq!((o.state.as_str(), o.quote_state.as_str()), ("awaiting_quote", "pending"));
    let o = w.svc.decide_quote(&w.tech, o.id, o.version, true, "李工").await.unwrap();
    assert_eq!((o.state.as_str(), o.quote_state.as_str()), ("in_repair", "accepted"));
    // A step from the wrong state is a conflict; the bad diagnosis names its field.
    let e = w.svc.arrive(&w.tech, o.id, o.version).await.unwrap_err();
    assert_eq!(code_of(&e), "conflict");
    let o2 = visit(&w, None).await;
    let e = w
        .svc
        .diagnose(&w.tech, o2.id, o2.version, &DiagnosisInput { diagnosis: "broken".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!((code_of(&e), field_of(&e).as_str()), ("invalid", "diagnosis"));
});

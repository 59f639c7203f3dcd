//! Clock policies, the escalation scheduler, the inbox and the service-level report, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::calendar::Duration;
use loopdesk_domain::page::Page;
use loopdesk_domain::sla::PolicySet;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

/// A service whose clock the test sets.
async fn service(db: &TestDb, now: &Arc<AtomicI64>) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 20 }).await.unwrap();
    s.migrate().await.unwrap();
    let source = now.clone();
    Service::new(s, OrgSettings::default())
        .with_time_source(move || DateTime::from_timestamp_millis(source.load(Ordering::SeqCst)).unwrap())
}

fn set(now: &AtomicI64, t: DateTime<Utc>) {
    now.store(t.timestamp_millis(), Ordering::SeqCst);
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

struct Org {
    dept: i64,
    head: Actor,
    rep: Actor,
    gm: Actor,
}

fn actor(id: i64, name: &str, role: Role) -> Actor {
    Actor {
        user_id: Some(id),
        username: name.into(),
        department_id: None,
        roles: vec![role],
        scope: Scope::All,
        kind: ActorKind::Staff,
    }
}

async fn org(svc: &Service) -> Org {
    let sys = Actor::system();
    svc.ensure_default_calendars().await.unwrap();
    let dept = svc
        .create_department(
            &sys,
            &DepartmentInput { code: "QA".into(), name: "品保部".into(), kind: "quality".into(), parent_id: None },
        )
        .await
        .unwrap()
        .id;
    let mut users = vec![];
    for (name, role, d) in [("head", "dept_head", Some(dept)), ("rep", "mgmt_rep", None), ("gm", "gm", None)] {
        let u = svc
            .create_user(
                &sys,
                &NewUser {
                    username: name.into(),
                    display_name: name.into(),
                    department_id: d,
                    roles: vec![role.into()],
                    password: "escalation-pass-1".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        users.push(u.id);
    }
    Org {
        dept,
        head: actor(users[0], "head", Role::DeptHead),
        rep: actor(users[1], "rep", Role::MgmtRep),
        gm: actor(users[2], "gm", Role::Gm),
    }
}

fn complaint(dept: i64, received: DateTime<Utc>) -> CaseInput {
    CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王先生".into()),
        subject: "电源冒烟".into(),
        description: "批次 L2309 上电后冒烟".into(),
        lead_department_id: Some(dept),
        received_at: Some(received),
        ..Default::default()
    }
}

async fn unread(svc: &Service, a: &Actor) -> Vec<String> {
    svc.inbox(a, true, Page::default()).await.unwrap().items.into_iter().map(|i| i.kind).collect()
}

async fn kinds(svc: &Service, case_id: i64) -> Vec<String> {
    let sys = Actor::system();
    svc.history(&sys, case_id).await.unwrap().into_iter().map(|e| e.kind).filter(|k| k.starts_with("clock_")).collect()
}

both_engines!(a_late_clock_warns_breaches_and_climbs_the_chain_once_per_step, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let svc = service(&db, &now).await;
    let o = org(&svc).await;
    let t0 = at(2026, 3, 2, 9, 0);
    set(&now, t0);
    let k = svc.create_case(&Actor::system(), &complaint(o.dept, t0)).await.unwrap().case;
    let hours = chrono::Duration::hours;
    // The acknowledgement clock runs 24 h on the 24×7 calendar and warns at 75%.
    set(&now, t0 + hours(17));
    assert_eq!(svc.run_escalations().await.unwrap(), 0);
    set(&now, t0 + hours(18));
    assert_eq!(svc.run_escalations().await.unwrap(), 1);
    assert_eq!(svc.run_escalations().await.unwrap(), 0, "a warning is recorded once");
    // No owner yet: the warning goes to the head of the lead department.
    assert_eq!(unread(&svc, &o.head).await, vec!["clock_warning"]);
    set(&now, t0 + hours(25));
    assert_eq!(svc.run_escalations().await.unwrap(), 2, "breach, and the department head step");
    set(&now, t0 + hours(47));
    assert_eq!(svc.run_escalations().await.unwrap(), 0);
    assert!(unread(&svc, &o.rep).await.is_empty());
    set(&now, t0 + hours(49));
    assert_eq!(svc.run_escalations().await.unwrap(), 1);
    assert_eq!(unread(&svc, &o.rep).await, vec!["clock_escalated"]);
    set(&now, t0 + hours(24 * 30));
    assert_eq!(svc.run_escalations().await.unwrap(), 1);
    assert_eq!(unread(&svc, &o.gm).await, vec!["clock_escalated"]);
    assert_eq!(svc.run_escalations().await.unwrap(), 0, "the chain is exhausted");
    assert_eq!(
        kinds(&svc, k.id).await,
        vec!["clock_warning", "clock_breached", "clock_escalated", "clock_escalated", "clock_escalated"]
    );
    let clocks = svc.clocks(&Actor::system(), k.id).await.unwrap();
    let ack = clocks.iter().find(|c| c.name == "acknowledgement").unwrap();
    assert_eq!((ack.breached_at, ack.escalation_level, ack.next_check_at), (Some(t0 + hours(24)), 3, None));
    // The head reads one item; another user's item cannot be touched.
    let items = svc.inbox(&o.head, false, Page::default()).await.unwrap().items;
    assert_eq!(items.len(), 3);
    assert!(matches!(
        svc.mark_read(&o.rep, Some(items[0].id)).await,
        Err(ServiceError::Domain(DomainError::NotFound { .. }))
    ));
    assert_eq!(svc.mark_read(&o.head, Some(items[0].id)).await.unwrap(), 1);
    assert_eq!(svc.unread_count(&o.head).await.unwrap(), 2);
    assert_eq!(svc.mark_read(&o.head, None).await.unwrap(), 2);
    assert_eq!(svc.unread_count(&o.head).await.unwrap(), 0);
    assert!(svc.verify_audit(&Actor::system(), |_| {}).await.unwrap().broken.is_none());
});

both_engines!(stopped_clocks_stay_quiet_while_running_ones_breach_and_escalate, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let svc = service(&db, &now).await;
    let o = org(&svc).await;
    let t0 = at(2026, 3, 2, 9, 0);
    set(&now, t0);
    let sys = Actor::system();
    let k = svc.create_case(&sys, &complaint(o.dept, t0)).await.unwrap().case;
    set(&now, t0 + chrono::Duration::hours(1));
    svc.transition(&sys, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
    set(&now, t0 + chrono::Duration::days(60));
    // Acknowledged in time (that clock stopped and stays quiet); first reply and resolution are
    // far past due and breach now.
    let n = svc.run_escalations().await.unwrap();
    assert_eq!(n, 2 * 4, "breach and three chain steps for each of the two running clocks");
    assert_eq!(kinds(&svc, k.id).await.iter().filter(|k| *k == "clock_breached").count(), 2);
    assert_eq!(svc.run_escalations().await.unwrap(), 0);
});

both_engines!(policies_are_stored_validated_and_apply_to_new_clocks_only, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let svc = service(&db, &now).await;
    let o = org(&svc).await;
    let sys = Actor::system();
    let t0 = at(2026, 3, 2, 9, 0);
    set(&now, t0);
    let before = svc.create_case(&sys, &complaint(o.dept, t0)).await.unwrap().case;
    let shipped = svc.clock_policies(&sys).await.unwrap();
    assert_eq!(shipped.saved_at, None);
    let mut bad = shipped.set.clone();
    bad.policies[0].targets[0].calendar = "NOPE".into();
    match svc.put_clock_policies(&sys, bad).await {
        Err(ServiceError::Domain(DomainError::Invalid { field, .. })) => {
            assert_eq!(field, "policies[0].targets[0].calendar");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(svc.clock_policies(&sys).await.unwrap().saved_at, None, "a refused set changes nothing");
    let agent = actor(o.head.user_id.unwrap(), "head", Role::DeptHead);
    assert!(svc.put_clock_policies(&agent, PolicySet::default()).await.is_err(), "settings need the permission");
    let mut set2 = shipped.set.clone();
    set2.policies[0].targets[0].duration = Duration::Hours(2);
    let saved = svc.put_clock_policies(&sys, set2.clone()).await.unwrap();
    assert_eq!(saved.saved_at, Some(t0));
    assert_eq!(svc.clock_policies(&sys).await.unwrap().set, set2);
    let after = svc.create_case(&sys, &complaint(o.dept, t0)).await.unwrap().case;
    let due = |rows: Vec<loopdesk_store::cases::ClockRow>| {
        rows.into_iter().find(|r| r.name == "acknowledgement").unwrap().due_at
    };
    assert_eq!(
        due(svc.clocks(&sys, before.id).await.unwrap()),
        t0 + chrono::Duration::hours(24),
        "a running clock keeps its target"
    );
    assert_eq!(due(svc.clocks(&sys, after.id).await.unwrap()), t0 + chrono::Duration::hours(2));
});

both_engines!(the_service_level_report_counts_reply_timeliness_per_month_and_department, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let svc = service(&db, &now).await;
    let o = org(&svc).await;
    let sys = Actor::system();
    let t0 = at(2026, 3, 2, 9, 0); // a Monday
    let decline = [("justification", "不属于质量问题")];
    // Three complaints acknowledged at once; replies (closing the first-reply clock, due in two
    // working days, Wednesday 4 March 17:30) come in time, late, and never.
    let mut ids = vec![];
    for _ in 0..3 {
        set(&now, t0);
        let k = svc.create_case(&sys, &complaint(o.dept, t0)).await.unwrap().case;
        set(&now, t0 + chrono::Duration::hours(1));
        let k = svc.transition(&sys, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
        ids.push((k.id, k.version));
    }
    set(&now, at(2026, 3, 3, 10, 0));
    svc.transition(&sys, ids[0].0, "decline", ids[0].1, &f(&decline)).await.unwrap();
    set(&now, at(2026, 3, 6, 10, 0));
    svc.transition(&sys, ids[1].0, "decline", ids[1].1, &f(&decline)).await.unwrap();
    svc.run_escalations().await.unwrap();
    let r = svc.sla_report(&sys, 2026).await.unwrap();
    assert_eq!(r.target_pct, 95.0);
    let march = &r.months[2];
    // Acknowledgement: 3 met. First reply: met, missed, open and breached. Resolution (5 working
    // days, due Monday 9 March 17:30): two stopped in time by the declines, one still open.
    assert_eq!((march.replies_met, march.replies_settled), (1, 3), "{march:?}");
    assert_eq!(march.reply_rate_pct().map(|p| p.round()), Some(33.0));
    assert_eq!(march.meets_target(), Some(false));
    assert_eq!(march.due, 3 + 3 + 3);
    assert_eq!(march.met, 3 + 1 + 2);
    assert_eq!(march.breached, 2);
    assert_eq!(march.open, 1);
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].department_id, Some(o.dept));
    assert_eq!(r.total.due, 9);
    assert!(svc.sla_report(&sys, 1066).await.is_err());
    assert!(svc.sla_report(&o.gm, 2026).await.is_ok());
});

both_engines!(two_schedulers_on_one_database_record_each_step_once, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let a = service(&db, &now).await;
    let b = service(&db, &now).await;
    let o = org(&a).await;
    let t0 = at(2026, 3, 2, 9, 0);
    set(&now, t0);
    let mut ids = vec![];
    for _ in 0..40 {
        ids.push(a.create_case(&Actor::system(), &complaint(o.dept, t0)).await.unwrap().case.id);
    }
    set(&now, t0 + chrono::Duration::days(10));
    let (x, y) = tokio::join!(a.run_escalations(), b.run_escalations());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x + y, 40 * 4, "breach plus three steps per case, split between the two: {x} + {y}");
    for id in ids {
        assert_eq!(kinds(&a, id).await.len(), 4);
    }
    assert_eq!(a.unread_count(&o.gm).await.unwrap(), 40);
});

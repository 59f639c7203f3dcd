//! Issue #14 items 1–2 on both engines: the official holiday tables on the shipped `OFFICE`
//! calendar, pasted notices, the missing-table warning, and the customer's deadline capping the
//! resolution clock.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Actor;
use loopdesk_domain::calendar::{CalendarSpec, Duration, WeeklySpec};
use loopdesk_service::calendars::CalendarInput;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().with_timezone(&Utc)
}

async fn service(db: &TestDb, now: &Arc<AtomicI64>) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 20 }).await.unwrap();
    s.migrate().await.unwrap();
    let source = now.clone();
    let svc = Service::new(s, OrgSettings::default())
        .with_time_source(move || DateTime::from_timestamp_millis(source.load(Ordering::SeqCst)).unwrap());
    svc.ensure_default_calendars().await.unwrap();
    svc
}

fn set(now: &AtomicI64, t: DateTime<Utc>) {
    now.store(t.timestamp_millis(), Ordering::SeqCst);
}

fn complaint(received: DateTime<Utc>, deadline: Option<&str>) -> CaseInput {
    CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王先生".into()),
        subject: "电源冒烟".into(),
        description: "批次 L2309 上电后冒烟".into(),
        received_at: Some(received),
        customer_deadline: deadline.map(Into::into),
        ..Default::default()
    }
}

async fn resolution_due(svc: &Service, id: i64) -> DateTime<Utc> {
    let clocks = svc.clocks(&Actor::system(), id).await.unwrap();
    clocks.into_iter().find(|c| c.name == "resolution").unwrap().due_at
}

const NOTICE_2026: &str = "一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。";

both_engines!(office_calendar_five_working_days_from_2026_09_30_land_after_national_day, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    set(&now, at(2026, 12, 3, 9, 0));
    let svc = service(&db, &now).await;
    let due = svc.calendar_due(&Actor::system(), "OFFICE", at(2026, 9, 30, 10, 0), Duration::WorkingDays(5)).await;
    // 1–7 Oct off; Thu 8, Fri 9, the make-up Saturday 10, Mon 12, Tue 13.
    assert_eq!(due.unwrap().with_timezone(&Utc), at(2026, 10, 13, 17, 30));
    // Every shipped year is on the calendar, 2007 included.
    let rec = svc.calendar(&Actor::system(), "OFFICE").await.unwrap();
    assert!(rec.calendar.exceptions_in_year(2007).count() > 20);
});

both_engines!(missing_table_warning_names_next_year_from_november_until_loaded, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    set(&now, at(2026, 10, 31, 9, 0));
    let svc = service(&db, &now).await;
    assert!(svc.missing_holiday_tables().await.unwrap().is_empty(), "2026 is shipped");
    set(&now, at(2026, 11, 1, 9, 0));
    let missing = svc.missing_holiday_tables().await.unwrap();
    assert_eq!(missing.len(), 1, "the always-open calendar keeps no holiday tables");
    assert_eq!((missing[0].code.as_str(), missing[0].years.clone()), ("OFFICE", vec![2027]));
    // No table is shipped for 2027 yet: loading it is refused naming the year, and nothing changes.
    let sys = Actor::system();
    let v = svc.calendar(&sys, "OFFICE").await.unwrap().version;
    let err = svc.load_official_holidays(&sys, "OFFICE", v, 2027).await.unwrap_err();
    assert!(matches!(err, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "year"), "{err:?}");
    assert_eq!(svc.calendar(&sys, "OFFICE").await.unwrap().version, v);
});

both_engines!(pasted_notice_previews_without_storing_then_applies_like_the_official_table, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    set(&now, at(2026, 3, 2, 9, 0));
    let svc = service(&db, &now).await;
    let sys = Actor::system();
    let d = || vec![["08:30".to_owned(), "12:00".to_owned()], ["13:30".to_owned(), "17:30".to_owned()]];
    let spec = CalendarSpec {
        timezone: "Asia/Shanghai".into(),
        weekly: WeeklySpec { mon: d(), tue: d(), wed: d(), thu: d(), fri: d(), ..Default::default() },
        exceptions: vec![],
    };
    let blank =
        svc.put_calendar(&sys, "PASTED", &CalendarInput { name: None, version: None, spec: spec.clone() }).await;
    let blank = blank.unwrap();
    let (preview, festivals) = svc.preview_holiday_notice(&sys, "PASTED", 2026, NOTICE_2026).await.unwrap();
    assert_eq!(festivals.len(), 7);
    assert_eq!(preview.calendar.exceptions_in_year(2026).count(), 33 + 6);
    let stored = svc.calendar(&sys, "PASTED").await.unwrap();
    assert_eq!((stored.version, stored.calendar.exceptions().len()), (blank.version, 0), "a preview stores nothing");
    let applied = svc.apply_holiday_notice(&sys, "PASTED", blank.version, 2026, NOTICE_2026).await.unwrap();
    // The pasted notice gives the same year as the shipped table loaded into another calendar.
    let other = svc.put_calendar(&sys, "LOADED", &CalendarInput { name: None, version: None, spec }).await.unwrap();
    let loaded = svc.load_official_holidays(&sys, "LOADED", other.version, 2026).await.unwrap();
    let year = |c: &loopdesk_service::calendars::CalendarRecord| {
        c.calendar.exceptions_in_year(2026).map(|(d, r)| (*d, r.clone())).collect::<Vec<_>>()
    };
    assert_eq!(year(&applied), year(&loaded));
    // A stale version is refused.
    let stale = svc.apply_holiday_notice(&sys, "PASTED", blank.version, 2026, NOTICE_2026).await.unwrap_err();
    assert!(matches!(stale, ServiceError::Domain(DomainError::Conflict { .. })), "{stale:?}");
});

both_engines!(customer_deadline_earlier_than_policy_sets_resolution_due, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let t0 = at(2026, 9, 28, 9, 0);
    set(&now, t0);
    let svc = service(&db, &now).await;
    let sys = Actor::system();
    let k = svc.create_case(&sys, &complaint(t0, Some("2026-09-30"))).await.unwrap().case;
    let k = svc.transition(&sys, k.id, "acknowledge", k.version, &BTreeMap::new()).await.unwrap();
    // The policy's 5 working days would end on 13 October; the customer wants it by 30 September.
    assert_eq!(resolution_due(&svc, k.id).await, at(2026, 10, 1, 0, 0));
    // Without a deadline the policy's time applies.
    let plain = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
    let plain = svc.transition(&sys, plain.id, "acknowledge", plain.version, &BTreeMap::new()).await.unwrap();
    assert_eq!(resolution_due(&svc, plain.id).await, at(2026, 10, 10, 17, 30));
});

both_engines!(customer_deadline_later_than_policy_leaves_resolution_due, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let t0 = at(2026, 9, 28, 9, 0);
    set(&now, t0);
    let svc = service(&db, &now).await;
    let sys = Actor::system();
    let k = svc.create_case(&sys, &complaint(t0, Some("2026-12-31"))).await.unwrap().case;
    let k = svc.transition(&sys, k.id, "acknowledge", k.version, &BTreeMap::new()).await.unwrap();
    assert_eq!(resolution_due(&svc, k.id).await, at(2026, 10, 10, 17, 30));
});

both_engines!(customer_deadline_given_at_assessment_caps_the_running_resolution_clock, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let t0 = at(2026, 9, 28, 9, 0);
    set(&now, t0);
    let svc = service(&db, &now).await;
    let sys = Actor::system();
    let k = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
    let k = svc.transition(&sys, k.id, "acknowledge", k.version, &BTreeMap::new()).await.unwrap();
    let dept = svc
        .create_department(
            &sys,
            &loopdesk_service::org::DepartmentInput {
                code: "QA".into(),
                name: "品保部".into(),
                kind: "quality".into(),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    let cats = svc.categories(&sys).await.unwrap();
    let mut f: BTreeMap<String, String> = [
        ("category", cats[0].code.as_str()),
        ("severity", "general"),
        ("responsibility", "yes"),
        ("lead_department", "QA"),
        ("customer_deadline", "2026-09-29"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let _ = dept;
    // A deadline before the day the case came in is refused, naming the field, and changes nothing.
    f.insert("customer_deadline".into(), "2026-09-01".into());
    let err = svc.transition(&sys, k.id, "assess", k.version, &f).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "customer_deadline")
    );
    f.insert("customer_deadline".into(), "2026-09-29".into());
    svc.transition(&sys, k.id, "assess", k.version, &f).await.unwrap();
    assert_eq!(resolution_due(&svc, k.id).await, at(2026, 9, 30, 0, 0));
});

async fn clock(svc: &Service, id: i64, name: &str) -> Option<loopdesk_store::cases::ClockRow> {
    svc.clocks(&Actor::system(), id).await.unwrap().into_iter().find(|c| c.name == name)
}

async fn department(svc: &Service) {
    svc.create_department(
        &Actor::system(),
        &loopdesk_service::org::DepartmentInput {
            code: "QA".into(),
            name: "品保部".into(),
            kind: "quality".into(),
            parent_id: None,
        },
    )
    .await
    .unwrap();
}

async fn assess(svc: &Service, id: i64, severity: &str, on_site: &str) -> loopdesk_store::cases::Case {
    let sys = Actor::system();
    let k = svc.case(&sys, id).await.unwrap();
    let cats = svc.categories(&sys).await.unwrap();
    let f: BTreeMap<String, String> = [
        ("category", cats[0].code.as_str()),
        ("severity", severity),
        ("responsibility", "yes"),
        ("lead_department", "QA"),
        ("on_site", on_site),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    svc.transition(&sys, id, "assess", k.version, &f).await.unwrap()
}

both_engines!(assessed_on_site_needed_starts_the_48_hour_on_site_clock, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let t0 = at(2026, 9, 28, 9, 0);
    set(&now, t0);
    let svc = service(&db, &now).await;
    department(&svc).await;
    let sys = Actor::system();
    let k = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
    // Intake without a lead department starts the 1-working-day clock for naming one.
    assert_eq!(clock(&svc, k.id, "lead_department").await.unwrap().due_at, at(2026, 9, 29, 17, 30));
    let k = svc.transition(&sys, k.id, "acknowledge", k.version, &BTreeMap::new()).await.unwrap();
    set(&now, at(2026, 9, 28, 10, 0));
    assess(&svc, k.id, "minor", "yes").await;
    let on_site = clock(&svc, k.id, "on_site").await.unwrap();
    assert_eq!((on_site.state.as_str(), on_site.due_at), ("running", at(2026, 9, 30, 10, 0)));
    // Naming the lead department at assessment stopped its clock in time.
    assert_eq!(clock(&svc, k.id, "lead_department").await.unwrap().state, "met");
    // Not needed: no on-site clock.
    let other = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
    svc.transition(&sys, other.id, "acknowledge", other.version, &BTreeMap::new()).await.unwrap();
    assess(&svc, other.id, "minor", "no").await;
    assert!(clock(&svc, other.id, "on_site").await.is_none());
});

both_engines!(
    severity_raised_at_assessment_starts_4_hour_disposition_and_restarts_only_stricter_clocks,
    |db: TestDb| async move {
        let now = Arc::new(AtomicI64::new(0));
        let t0 = at(2026, 9, 28, 9, 0);
        set(&now, t0);
        let svc = service(&db, &now).await;
        department(&svc).await;
        let sys = Actor::system();
        // Registered without a severity: no disposition clock yet; resolution under the general 5 days.
        let k = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
        assert!(clock(&svc, k.id, "disposition").await.is_none());
        let k = svc.transition(&sys, k.id, "acknowledge", k.version, &BTreeMap::new()).await.unwrap();
        let general_due = clock(&svc, k.id, "resolution").await.unwrap().due_at;
        set(&now, at(2026, 9, 28, 11, 0));
        let k = assess(&svc, k.id, "critical", "no").await;
        let disposition = clock(&svc, k.id, "disposition").await.unwrap();
        assert_eq!(disposition.due_at, at(2026, 9, 28, 15, 0), "4 h from the assessment");
        // Critical resolution is 3 working days from now: sooner, so restarted, and the timeline says so.
        let resolution = clock(&svc, k.id, "resolution").await.unwrap();
        assert!(resolution.due_at < general_due);
        assert_eq!(resolution.due_at, at(2026, 10, 8, 17, 30));
        let kinds: Vec<String> = svc.history(&sys, k.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert!(kinds.iter().any(|x| x == "clock_restarted"), "{kinds:?}");
        // A general complaint gets its corrective-action request due in 2 working days instead.
        set(&now, t0);
        let g = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
        svc.transition(&sys, g.id, "acknowledge", g.version, &BTreeMap::new()).await.unwrap();
        assess(&svc, g.id, "general", "no").await;
        assert_eq!(clock(&svc, g.id, "corrective_action").await.unwrap().due_at, at(2026, 9, 30, 17, 30));
        assert!(clock(&svc, g.id, "disposition").await.is_none());
    }
);

both_engines!(severe_complaint_at_intake_starts_the_4_hour_disposition_clock, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let t0 = at(2026, 9, 28, 9, 0);
    set(&now, t0);
    let svc = service(&db, &now).await;
    let k = svc
        .create_case(&Actor::system(), &CaseInput { severity: Some("major".into()), ..complaint(t0, None) })
        .await
        .unwrap()
        .case;
    assert_eq!(clock(&svc, k.id, "disposition").await.unwrap().due_at, at(2026, 9, 28, 13, 0));
});

both_engines!(
    overdue_department_task_warns_then_goes_to_its_head_then_the_case_owner_once_each,
    |db: TestDb| async move {
        let now = Arc::new(AtomicI64::new(0));
        let t0 = at(2026, 3, 2, 9, 0);
        set(&now, t0);
        let svc = service(&db, &now).await;
        let sys = Actor::system();
        let dept = svc
            .create_department(
                &sys,
                &loopdesk_service::org::DepartmentInput {
                    code: "ENG".into(),
                    name: "技术部".into(),
                    kind: "engineering".into(),
                    parent_id: None,
                },
            )
            .await
            .unwrap();
        let mut ids = vec![];
        for (name, role, d) in [("head", "dept_head", Some(dept.id))] {
            let u = svc
                .create_user(
                    &sys,
                    &loopdesk_service::org::NewUser {
                        username: name.into(),
                        display_name: name.into(),
                        department_id: d,
                        roles: vec![role.into()],
                        password: "due-items-pass-1".into(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            ids.push(u.id);
        }
        let actor = |id: i64, name: &str, role| Actor {
            user_id: Some(id),
            username: name.into(),
            department_id: None,
            roles: vec![role],
            scope: loopdesk_domain::access::Scope::All,
            kind: loopdesk_domain::access::ActorKind::Staff,
        };
        let head = actor(ids[0], "head", loopdesk_domain::access::Role::DeptHead);
        let k = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
        svc.add_task(&sys, k.id, "ENG", "请分析尺寸超差原因", "2026-03-04").await.unwrap();
        let kinds = |svc: &Service, a: &Actor| {
            let (svc, a) = (svc.clone(), a.clone());
            async move {
                svc.inbox(&a, false, loopdesk_domain::page::Page::default())
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|i| i.kind)
                    .filter(|k| k.starts_with("item_"))
                    .collect::<Vec<_>>()
            }
        };
        // Before its day nothing is sent.
        set(&now, at(2026, 3, 3, 9, 0));
        assert_eq!(svc.run_item_escalations().await.unwrap(), 0);
        // On its day: a warning to the task department's head, once.
        set(&now, at(2026, 3, 4, 9, 0));
        assert_eq!(svc.run_item_escalations().await.unwrap(), 1);
        assert_eq!(svc.run_item_escalations().await.unwrap(), 0, "a step is recorded once");
        assert_eq!(kinds(&svc, &head).await, vec!["item_warning"]);
        // The day after: overdue, to the head again.
        set(&now, at(2026, 3, 5, 9, 0));
        svc.run_escalations().await.unwrap();
        let mut got = kinds(&svc, &head).await;
        got.sort();
        assert_eq!(got, vec!["item_overdue", "item_warning"], "the clock scheduler's pass watches tasks too");
        // Later still: escalated toward the case owner (none here: the step is still recorded once).
        set(&now, at(2026, 3, 9, 9, 0));
        assert_eq!(svc.run_item_escalations().await.unwrap(), 1);
        assert_eq!(svc.run_item_escalations().await.unwrap(), 0);
        let timeline: Vec<String> = svc.history(&sys, k.id).await.unwrap().into_iter().map(|e| e.kind).collect();
        for step in ["item_warning", "item_overdue", "item_escalated"] {
            assert_eq!(timeline.iter().filter(|x| *x == step).count(), 1, "{step} in {timeline:?}");
        }
        // An answered task is no longer watched.
        let t2 = svc.add_task(&sys, k.id, "ENG", "再次确认", "2026-03-09").await.unwrap();
        svc.answer_task(&head, t2.id, t2.version, "已确认").await.unwrap();
        assert_eq!(svc.run_item_escalations().await.unwrap(), 0);
    }
);

both_engines!(case_list_marks_cases_with_an_overdue_task_or_action_item, |db: TestDb| async move {
    let now = Arc::new(AtomicI64::new(0));
    let t0 = at(2026, 3, 2, 9, 0);
    set(&now, t0);
    let svc = service(&db, &now).await;
    let sys = Actor::system();
    let dept = svc
        .create_department(
            &sys,
            &loopdesk_service::org::DepartmentInput {
                code: "ENG".into(),
                name: "技术部".into(),
                kind: "engineering".into(),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    let head = svc
        .create_user(
            &sys,
            &loopdesk_service::org::NewUser {
                username: "owner1".into(),
                display_name: "owner1".into(),
                department_id: Some(dept.id),
                roles: vec!["dept_head".into()],
                password: "due-items-pass-1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let head = Actor {
        user_id: Some(head.id),
        username: "owner1".into(),
        department_id: Some(dept.id),
        roles: vec![loopdesk_domain::access::Role::DeptHead],
        scope: loopdesk_domain::access::Scope::All,
        kind: loopdesk_domain::access::ActorKind::Staff,
    };
    let with_task = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
    let task = svc.add_task(&sys, with_task.id, "ENG", "请分析原因", "2026-03-04").await.unwrap();
    let with_action = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
    let meeting = loopdesk_service::cases::MeetingInput {
        attendees: "质量部、技术部".into(),
        minutes: "协调会".into(),
        actions: vec![loopdesk_service::cases::ActionInput {
            description: "更换批次".into(),
            owner: "owner1".into(),
            due_date: "2026-03-04".into(),
        }],
        ..Default::default()
    };
    svc.record_meeting(&sys, with_action.id, &meeting).await.unwrap();
    let later = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;
    svc.add_task(&sys, later.id, "ENG", "下周答复", "2026-03-20").await.unwrap();
    let quiet = svc.create_case(&sys, &complaint(t0, None)).await.unwrap().case;

    let marked = |svc: Service| async move {
        let page =
            svc.cases(&Actor::system(), Default::default(), loopdesk_domain::page::Page::default()).await.unwrap();
        assert_eq!(page.items.len(), 4);
        svc.cases_with_overdue_items(&Actor::system(), &page.items).await.unwrap()
    };
    // On the due day nothing is overdue yet.
    set(&now, at(2026, 3, 4, 18, 0));
    assert!(marked(svc.clone()).await.is_empty());
    // The day after: the task's case and the action item's case, not the others.
    set(&now, at(2026, 3, 5, 9, 0));
    let got = marked(svc.clone()).await;
    assert_eq!(got, [with_task.id, with_action.id].into_iter().collect());
    assert!(!got.contains(&later.id) && !got.contains(&quiet.id));
    // Answering the task clears its case's marker.
    svc.answer_task(&head, task.id, task.version, "已分析").await.unwrap();
    assert_eq!(marked(svc.clone()).await, [with_action.id].into_iter().collect());
});

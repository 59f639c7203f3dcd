//! Cases through the service layer, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::page::Page;
use loopdesk_domain::process::default_definition;
use loopdesk_service::cases::{CaseInput, Created};
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::cases::CaseFilter;
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 60 }).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn complaint(subject: &str) -> CaseInput {
    CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王先生".into()),
        subject: subject.into(),
        description: "电源模块批次 L2309 上电后冒烟".into(),
        ..Default::default()
    }
}

/// Registers `n` cases at once, the i-th from `input(i)`; answers in order of i.
async fn register_concurrently(
    svc: &Service,
    n: usize,
    input: impl Fn(usize) -> CaseInput,
) -> Vec<(usize, Result<Created, ServiceError>)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let (svc, input) = (svc.clone(), input(i));
        tasks.push(tokio::spawn(async move { (i, svc.create_case(&Actor::system(), &input).await) }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// The sequence parts of case numbers (`TS-2026-000042` → 42), sorted.
fn sorted_seqs<'a>(numbers: impl IntoIterator<Item = &'a String>) -> Vec<i64> {
    let mut seqs: Vec<i64> = numbers.into_iter().map(|n| n.rsplit('-').next().unwrap().parse().unwrap()).collect();
    seqs.sort();
    seqs
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn role(roles: Vec<Role>) -> Actor {
    Actor {
        user_id: None,
        username: "tester".into(),
        department_id: None,
        roles,
        scope: Scope::All,
        kind: ActorKind::Staff,
    }
}

both_engines!(complaint_walks_the_default_lifecycle_and_reopens_on_rejection, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    svc.create_department(
        &sys,
        &DepartmentInput { code: "QA".into(), name: "品保部".into(), kind: "quality".into(), parent_id: None },
    )
    .await
    .unwrap();
    let created = svc.create_case(&sys, &complaint("冒烟")).await.unwrap();
    let mut k = created.case;
    assert!(k.number.starts_with("TS-") && k.number.ends_with("-000001"), "{}", k.number);
    assert_eq!(k.state, "received");
    let agent = role(vec![Role::Agent]);
    let steps: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("acknowledge", vec![]),
        (
            "assess",
            vec![
                ("category", "product_quality"),
                ("severity", "严重"),
                ("responsibility", "yes"),
                ("lead_department", "QA"),
            ],
        ),
        ("investigate", vec![]),
        ("propose", vec![("resolution", "更换整批电源")]),
        ("gm_approve", vec![("decision", "同意更换")]),
        ("reply", vec![("reply", "我们将更换整批电源")]),
        ("reject", vec![("reason", "希望同时赔偿停工损失")]),
    ];
    // A major complaint's measures are approved by the GM, as a step of its own (001 2.8).
    let gm = role(vec![Role::Gm]);
    for (code, fields) in steps {
        let who = if code == "gm_approve" { &gm } else { &agent };
        k = svc.transition(who, k.id, code, k.version, &f(&fields)).await.unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    assert_eq!(k.state, "investigating", "a rejected resolution reopens the investigation");
    assert_eq!((k.severity.as_str(), k.lead_department_id.is_some()), ("major", true));
    for (code, fields) in [
        ("propose", vec![("resolution", "更换并补偿")]),
        ("gm_approve", vec![("decision", "同意")]),
        ("reply", vec![("reply", "更换并按合同补偿")]),
        ("accept", vec![]),
        ("schedule_follow_up", vec![]),
        ("record_follow_up", vec![("follow_up_outcome", "顾客满意")]),
    ] {
        let who = if code == "gm_approve" { &gm } else { &agent };
        k = svc.transition(who, k.id, code, k.version, &f(&fields)).await.unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    assert_eq!(k.state, "closed");
    assert!(k.closed_at.is_some());
    let history = svc.history(&sys, k.id).await.unwrap();
    let steps: Vec<&str> = history.iter().map(|h| h.transition.as_str()).collect();
    // 13 steps, the opening entry and the follow-up visit opened when the complaint was accepted.
    assert_eq!(history.len(), 15, "two GM approvals among the steps: {steps:?}");
    assert_eq!(history[7].transition, "reject");
    // The customer sees the public steps with the number and tracking code, and nothing without it.
    let (_, public, _) = svc.public_case(&k.number, &created.tracking_code).await.unwrap();
    assert!(public.iter().any(|e| e.body == "更换并按合同补偿"));
    assert!(public.len() < history.len());
    assert!(matches!(
        svc.public_case(&k.number, "guess").await,
        Err(ServiceError::Domain(DomainError::NotFound { .. }))
    ));
});

both_engines!(transitions_check_roles_fields_state_and_version, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let k = svc.create_case(&sys, &complaint("x")).await.unwrap().case;
    let auditor = role(vec![Role::Auditor]);
    assert!(matches!(
        svc.transition(&auditor, k.id, "acknowledge", k.version, &f(&[])).await,
        Err(ServiceError::Domain(DomainError::Forbidden { .. }))
    ));
    let member = role(vec![Role::Member]);
    assert!(matches!(
        svc.transition(&member, k.id, "acknowledge", k.version, &f(&[])).await,
        Err(ServiceError::Domain(DomainError::Forbidden { .. }))
    ));
    let agent = role(vec![Role::Agent]);
    let k2 = svc.transition(&agent, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
    // The stale version is refused.
    let e = svc.transition(&agent, k.id, "assess", k.version, &f(&[])).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Conflict { field: Some("version"), .. })), "{e:?}");
    // A missing required field is named.
    let e = svc
        .transition(&agent, k.id, "assess", k2.version, &f(&[("category", "packaging"), ("severity", "minor")]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "responsibility"),
        "{e:?}"
    );
    // "Not responsible" needs the explanation for the customer.
    let e = svc
        .transition(
            &agent,
            k.id,
            "assess",
            k2.version,
            &f(&[("category", "packaging"), ("severity", "minor"), ("responsibility", "no"), ("lead_department", "1")]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "lead_department" || field == "responsibility_note"),
        "{e:?}"
    );
    // A transition not available in the current state.
    let e = svc.transition(&agent, k.id, "reply", k2.version, &f(&[("reply", "x")])).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Conflict { field: Some("transition"), .. })), "{e:?}");
    // Nothing changed through all of that.
    assert_eq!(svc.case(&sys, k.id).await.unwrap().version, k2.version);
});

both_engines!(a_definition_change_does_not_disturb_running_cases, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let old = svc.create_case(&sys, &complaint("old")).await.unwrap().case;
    let mut def = default_definition("complaint").unwrap();
    def.transitions.retain(|t| t.code != "acknowledge");
    def.transitions.push(loopdesk_domain::process::TransitionDef {
        code: "fast_ack".into(),
        zh: "快速确认".into(),
        en: "Fast acknowledge".into(),
        from: vec!["received".into()],
        to: "acknowledged".into(),
        roles: vec!["agent".into()],
        customer: false,
        required: vec![],
        clocks: vec![],
        notify_customer: true,
        signature: false,
    });
    let (v, _) = svc.put_process_definition(&sys, "complaint", &serde_json::to_string(&def).unwrap()).await.unwrap();
    assert_eq!(v, 2);
    let new = svc.create_case(&sys, &complaint("new")).await.unwrap().case;
    assert_eq!((old.definition_version, new.definition_version), (1, 2));
    // The running case keeps its own steps; the new one has the new ones.
    assert!(svc.transition(&sys, old.id, "acknowledge", old.version, &f(&[])).await.is_ok());
    assert!(svc.transition(&sys, new.id, "acknowledge", new.version, &f(&[])).await.is_err());
    assert!(svc.transition(&sys, new.id, "fast_ack", new.version, &f(&[])).await.is_ok());
    // An invalid definition is refused with the reason.
    let mut bad = default_definition("complaint").unwrap();
    bad.initial = "nowhere".into();
    let e = svc.put_process_definition(&sys, "complaint", &serde_json::to_string(&bad).unwrap()).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "initial"));
});

both_engines!(numbers_stay_gap_free_under_50_concurrent_creators, |db: TestDb| async move {
    let svc = service(&db).await;
    let answers = register_concurrently(&svc, 50, |i| complaint(&format!("并发 {i}"))).await;
    let numbers: Vec<String> = answers.into_iter().map(|(_, r)| r.unwrap().case.number).collect();
    assert_eq!(sorted_seqs(&numbers), (1..=50).collect::<Vec<_>>());
    let listed = svc.cases(&Actor::system(), CaseFilter::default(), Page::default()).await.unwrap();
    assert_eq!(listed.total, 50);
});

both_engines!(group_commit_fails_bad_registrations_alone_and_keeps_numbers_and_audit_whole, |db: TestDb| async move {
    let svc = service(&db).await;
    // 120 concurrent registrations; every fifth names a customer that does not exist, which only
    // the database can tell, so it fails inside a shared batch and must leave no trace.
    let answers = register_concurrently(&svc, 120, |i| CaseInput {
        customer_id: (i % 5 == 0).then_some(999_999),
        ..complaint(&format!("批量 {i}"))
    })
    .await;
    let mut numbers = Vec::new();
    for (i, r) in answers {
        match r {
            Ok(c) => {
                assert_ne!(i % 5, 0, "a registration with a missing customer was accepted");
                numbers.push(c.case.number);
            }
            Err(ServiceError::Domain(DomainError::Invalid { field, .. })) => {
                assert_eq!((i % 5, field.as_str()), (0, "customer_id"));
            }
            Err(e) => panic!("registration {i}: {e}"),
        }
    }
    assert_eq!(sorted_seqs(&numbers), (1..=96).collect::<Vec<_>>(), "gap-free: failed registrations took no number");
    let stats = svc.intake_stats();
    assert_eq!(stats.jobs, 120);
    assert!(stats.batches < 120, "concurrent registrations shared transactions: {stats:?}");
    let sys = Actor::system();
    assert_eq!(svc.cases(&sys, CaseFilter::default(), Page::default()).await.unwrap().total, 96);
    let report = svc.verify_audit(&sys, |_| {}).await.unwrap();
    assert!(report.broken.is_none(), "the audit chain survives rolled-back savepoints");
    // Every accepted case got its clocks and its first event, written in the same batch.
    let listed = svc.cases(&sys, CaseFilter::default(), Page { page: 1, per_page: 100 }).await.unwrap();
    for k in listed.items.iter().take(10) {
        assert!(!svc.clocks(&sys, k.id).await.unwrap().is_empty(), "{} has clocks", k.number);
        assert_eq!(svc.history(&sys, k.id).await.unwrap()[0].kind, "created");
    }
});

both_engines!(a_batch_the_database_refuses_is_written_again_case_by_case, |db: TestDb| async move {
    let svc = service(&db).await;
    // The database refuses one subject: a failure that no check before writing can foresee, so
    // it fails a whole batch's shared statements and the batch must be retried one case at a time.
    db.exec(match db.engine {
        loopdesk_test_support::Engine::Sqlite => {
            "CREATE TRIGGER refuse_subject BEFORE INSERT ON cases WHEN NEW.subject = '拒收'
             BEGIN SELECT RAISE(ABORT, 'refused'); END;"
        }
        loopdesk_test_support::Engine::Postgres => {
            "CREATE FUNCTION refuse_subject() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.subject = '拒收' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER refuse_subject BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION refuse_subject();"
        }
    })
    .await;
    let sys = Actor::system();
    let answers = register_concurrently(&svc, 60, |i| {
        complaint(&if i % 10 == 3 { "拒收".to_owned() } else { format!("重试 {i}") })
    })
    .await;
    let mut created = Vec::new();
    for (i, r) in answers {
        match r {
            Ok(c) => {
                assert_ne!(i % 10, 3, "the refused subject was stored");
                created.push(c);
            }
            Err(e) => assert_eq!(i % 10, 3, "registration {i} failed with its batch: {e}"),
        }
    }
    assert_eq!(created.len(), 54);
    let stats = svc.intake_stats();
    assert!(stats.retries > 0 && stats.batches < 60, "refused batches were retried case by case: {stats:?}");
    assert_eq!(
        sorted_seqs(created.iter().map(|c| &c.case.number)),
        (1..=54).collect::<Vec<_>>(),
        "gap-free: refused registrations took no number"
    );
    assert_eq!(svc.cases(&sys, CaseFilter::default(), Page::default()).await.unwrap().total, 54);
    assert!(svc.verify_audit(&sys, |_| {}).await.unwrap().broken.is_none());
    // The answer to a registration is what is stored, though it is not read back.
    for c in &created {
        assert_eq!(svc.case(&sys, c.case.id).await.unwrap(), c.case, "{}", c.case.number);
        assert_eq!(svc.clocks(&sys, c.case.id).await.unwrap(), c.clocks, "{}", c.case.number);
        assert!(!c.clocks.is_empty());
    }
});

both_engines!(a_query_that_breaks_during_checks_fails_only_the_cases_that_ran_it, |db: TestDb| async move {
    let svc = service(&db).await;
    // Product look-ups now fail in the database itself (on PostgreSQL such an error also spoils
    // the transaction it happens in); registrations that name no product must not suffer.
    db.exec("ALTER TABLE products RENAME TO products_elsewhere").await;
    let answers = register_concurrently(&svc, 40, |i| CaseInput {
        product_code: (i % 8 == 5).then(|| "PS-200".to_owned()),
        ..complaint(&format!("检查 {i}"))
    })
    .await;
    let mut numbers = Vec::new();
    for (i, r) in answers {
        match r {
            Ok(c) => {
                assert_ne!(i % 8, 5, "a registration whose product look-up broke was stored");
                numbers.push(c.case.number);
            }
            Err(e) => assert_eq!(i % 8, 5, "registration {i} failed with others: {e}"),
        }
    }
    assert_eq!(sorted_seqs(&numbers), (1..=35).collect::<Vec<_>>());
    let sys = Actor::system();
    assert!(svc.verify_audit(&sys, |_| {}).await.unwrap().broken.is_none());
});

both_engines!(grievances_are_confidential, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let g =
        svc.create_case(&sys, &CaseInput { case_type: "grievance".into(), ..complaint("申诉") }).await.unwrap().case;
    let qa = role(vec![Role::Qa]);
    assert!(matches!(svc.case(&qa, g.id).await, Err(ServiceError::Domain(DomainError::NotFound { .. }))));
    assert_eq!(svc.cases(&qa, CaseFilter::default(), Page::default()).await.unwrap().total, 0);
    let gm = role(vec![Role::Gm]);
    assert_eq!(svc.cases(&gm, CaseFilter::default(), Page::default()).await.unwrap().total, 1);
    let _ = NewUser::default();
});

both_engines!(an_adverse_event_cannot_close_without_its_decision, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let mut k = svc
        .create_case(&sys, &CaseInput { adverse_event: Some(true), ..complaint("输液泵报警失灵致患者受伤") })
        .await
        .unwrap()
        .case;
    for (code, fields) in [
        ("acknowledge", vec![]),
        (
            "assess",
            vec![
                ("category", "产品质量"),
                ("severity", "critical"),
                ("responsibility", "undetermined"),
                ("lead_department", "1"),
            ],
        ),
    ] {
        if code == "assess" {
            svc.create_department(
                &sys,
                &DepartmentInput {
                    code: "QA".into(), name: "品保部".into(), kind: "quality".into(), parent_id: None
                },
            )
            .await
            .unwrap();
        }
        k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap();
    }
    // Declining to investigate would end it: refused until the decision is recorded.
    let e = svc.transition(&sys, k.id, "decline", k.version, &f(&[("justification", "重复")])).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Conflict { field: Some("reportability"), .. })), "{e:?}");
    let qa = role(vec![Role::Qa]);
    let e = svc.decide_reportability(&qa, k.id, k.version, true, None, "严重伤害").await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "regime"));
    let agent = role(vec![Role::Agent]);
    assert!(svc.decide_reportability(&agent, k.id, k.version, false, None, "x").await.is_err());
    let k2 = svc
        .decide_reportability(&qa, k.id, k.version, true, Some("eu_mdr_serious"), "严重伤害，须向主管部门报告")
        .await
        .unwrap();
    let fields: serde_json::Value = serde_json::from_str(&k2.fields).unwrap();
    let decision: serde_json::Value = serde_json::from_str(fields["reportability"].as_str().unwrap()).unwrap();
    let deadline: chrono::DateTime<chrono::Utc> = serde_json::from_value(decision["deadline"].clone()).unwrap();
    assert_eq!(deadline - k.received_at, chrono::Duration::days(15));
    assert!(svc.transition(&sys, k.id, "decline", k2.version, &f(&[("justification", "已另案处理")])).await.is_ok());
});

both_engines!(a_duplicate_is_merged_into_the_case_kept, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let kept = svc.create_case(&sys, &complaint("门锁失灵")).await.unwrap().case;
    let dup = svc.create_case(&sys, &complaint("门锁失灵（重复来电）")).await.unwrap().case;
    assert!(svc.merge_case(&sys, dup.id, dup.version, dup.id, "x").await.is_err());
    let merged = svc.merge_case(&sys, dup.id, dup.version, kept.id, "同一问题重复来电").await.unwrap();
    assert_eq!((merged.state.as_str(), merged.merged_into_id), ("merged", Some(kept.id)));
    assert!(svc.history(&sys, kept.id).await.unwrap().iter().any(|e| e.kind == "merged_from"));
    // A merged case is closed: nothing more happens to it.
    assert!(svc.transition(&sys, dup.id, "acknowledge", merged.version, &f(&[])).await.is_err());
});

both_engines!(open_department_tasks_block_resolution_unless_explained, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let eng = svc
        .create_department(
            &sys,
            &DepartmentInput {
                code: "ENG".into(), name: "工程部".into(), kind: "engineering".into(), parent_id: None
            },
        )
        .await
        .unwrap();
    let mut k = svc.create_case(&sys, &complaint("尺寸超差")).await.unwrap().case;
    for (code, fields) in [
        ("acknowledge", vec![]),
        (
            "assess",
            vec![
                ("category", "产品质量"),
                ("severity", "general"),
                ("responsibility", "yes"),
                ("lead_department", "ENG"),
            ],
        ),
        ("investigate", vec![]),
    ] {
        k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap();
    }
    let task = svc.add_task(&sys, k.id, "eng", "请分析尺寸超差原因", "2026-12-05").await.unwrap();
    assert!(
        matches!(svc.add_task(&sys, k.id, "NOPE", "x", "2026-12-05").await, Err(ServiceError::Domain(DomainError::Invalid { ref field, .. })) if field == "department")
    );
    let e = svc.transition(&sys, k.id, "propose", k.version, &f(&[("resolution", "返工")])).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Conflict { field: Some("open_tasks_reason"), .. })), "{e:?}");
    // Someone outside engineering may not answer for it.
    let other = Actor {
        user_id: Some(99),
        username: "x".into(),
        department_id: Some(999),
        roles: vec![Role::Member],
        scope: Scope::Departments(vec![999]),
        kind: ActorKind::Staff,
    };
    assert!(svc.answer_task(&other, task.id, task.version, "不是我们").await.is_err());
    let engineer = Actor {
        user_id: None,
        username: "eng".into(),
        department_id: Some(eng.id),
        roles: vec![Role::Member],
        scope: Scope::Departments(vec![eng.id]),
        kind: ActorKind::Staff,
    };
    svc.answer_task(&engineer, task.id, task.version, "模具磨损，已更换").await.unwrap();
    assert!(svc.transition(&sys, k.id, "propose", k.version, &f(&[("resolution", "返工")])).await.is_ok());
});

both_engines!(
    a_major_complaint_goes_to_the_gm_office_and_its_actions_are_tracked_to_closure,
    |db: TestDb| async move {
        use loopdesk_service::cases::{ActionInput, MeetingInput};
        let svc = service(&db).await;
        let sys = Actor::system();
        svc.create_department(
            &sys,
            &DepartmentInput { code: "QA".into(), name: "品保部".into(), kind: "quality".into(), parent_id: None },
        )
        .await
        .unwrap();
        let owner = svc
            .create_user(
                &sys,
                &NewUser {
                    username: "zhou".into(),
                    display_name: "周品保".into(),
                    roles: vec!["qa".into()],
                    password: "qa-pass-123".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut k = svc.create_case(&sys, &complaint("整批退货")).await.unwrap().case;
        for (code, fields) in [
            ("acknowledge", vec![]),
            (
                "assess",
                vec![
                    ("category", "产品质量"),
                    ("severity", "critical"),
                    ("responsibility", "yes"),
                    ("lead_department", "QA"),
                ],
            ),
            ("escalate", vec![("reason", "涉及金额大，部门无法协调")]),
        ] {
            k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap();
        }
        assert_eq!(k.state, "escalated");
        let meeting = MeetingInput {
            attendees: "总经理、管理者代表、品保部、生产部、业务部".into(),
            minutes: "确认为批次工艺问题".into(),
            decisions: Some("全额退换，生产部整改".into()),
            actions: vec![ActionInput {
                description: "生产部完成工艺整改".into(),
                owner: "zhou".into(),
                due_date: "2026-12-15".into(),
            }],
            ..Default::default()
        };
        let member = role(vec![Role::Member]);
        assert!(svc.record_meeting(&member, k.id, &meeting).await.is_err(), "members do not record GM meetings");
        let bad = MeetingInput {
            actions: vec![ActionInput {
                description: "x".into(),
                owner: "nobody".into(),
                due_date: "2026-12-15".into(),
            }],
            ..meeting.clone()
        };
        assert!(
            matches!(svc.record_meeting(&sys, k.id, &bad).await, Err(ServiceError::Domain(DomainError::Invalid { ref field, .. })) if field == "actions[0].owner")
        );
        let (_, actions) = svc.record_meeting(&sys, k.id, &meeting).await.unwrap();
        let gm = role(vec![Role::Gm]);
        k = svc.transition(&gm, k.id, "gm_decide", k.version, &f(&[("decision", "全额退换")])).await.unwrap();
        for (code, fields) in [
            ("propose", vec![("resolution", "全额退换")]),
            ("gm_approve", vec![("decision", "同意全额退换")]),
            ("reply", vec![("reply", "同意全额退换")]),
            ("accept", vec![]),
            ("schedule_follow_up", vec![]),
        ] {
            k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap();
        }
        // Closing waits for the action item.
        let e = svc
            .transition(&sys, k.id, "record_follow_up", k.version, &f(&[("follow_up_outcome", "满意")]))
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::Domain(DomainError::Conflict { field: Some("actions"), .. })), "{e:?}");
        let zhou = Actor {
            user_id: Some(owner.id),
            username: "zhou".into(),
            department_id: None,
            roles: vec![Role::Qa],
            scope: Scope::All,
            kind: ActorKind::Staff,
        };
        svc.complete_action(&zhou, actions[0].id, actions[0].version, "工艺文件已修订").await.unwrap();
        k = svc
            .transition(&sys, k.id, "record_follow_up", k.version, &f(&[("follow_up_outcome", "满意")]))
            .await
            .unwrap();
        assert_eq!(k.state, "closed");
    }
);

both_engines!(cases_link_and_split, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let a = svc.create_case(&sys, &complaint("包装破损且少发一件")).await.unwrap().case;
    let b = svc.create_case(&sys, &complaint("同批次包装问题")).await.unwrap().case;
    svc.link_cases(&sys, a.id, b.id).await.unwrap();
    svc.link_cases(&sys, a.id, b.id).await.unwrap();
    assert!(svc.link_cases(&sys, a.id, a.id).await.is_err());
    let part = svc.split_case(&sys, a.id, Some("return"), "少发一件", "补发一件").await.unwrap().case;
    assert_eq!((part.case_type.as_str(), part.contact_name.as_str()), ("return", "王先生"));
    let links = svc.linked_cases(&sys, a.id).await.unwrap();
    let kinds: Vec<(&str, i64)> = links.iter().map(|(k, c)| (k.as_str(), c.id)).collect();
    assert_eq!(kinds, vec![("related", b.id), ("split_into", part.id)]);
    assert_eq!(svc.linked_cases(&sys, part.id).await.unwrap()[0].0, "split_from");
});

both_engines!(clocks_pause_and_resume_across_a_weekend_and_the_national_day_holiday, |db: TestDb| async move {
    use chrono::TimeZone;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    let now = Arc::new(AtomicI64::new(0));
    let at = |y, mo, d, h, mi| {
        chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap().with_timezone(&chrono::Utc)
    };
    let set = |t: chrono::DateTime<chrono::Utc>| now.store(t.timestamp_millis(), Ordering::SeqCst);
    let source = now.clone();
    let svc = service(&db)
        .await
        .with_time_source(move || chrono::DateTime::from_timestamp_millis(source.load(Ordering::SeqCst)).unwrap());
    let sys = Actor::system();
    svc.ensure_default_calendars().await.unwrap();
    svc.create_user(
        &sys,
        &NewUser {
            username: "tech1".into(),
            display_name: "刘技术员".into(),
            roles: vec!["technician".into()],
            password: "tech-pass-123".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    set(at(2025, 9, 26, 10, 0));
    let input = CaseInput {
        case_type: "service_request".into(),
        received_at: Some(at(2025, 9, 26, 10, 0)),
        ..complaint("设备无法启动")
    };
    let mut k = svc.create_case(&sys, &input).await.unwrap().case;
    let clock =
        |rows: &[loopdesk_store::cases::ClockRow], name: &str| rows.iter().find(|r| r.name == name).cloned().unwrap();
    let rows = svc.clocks(&sys, k.id).await.unwrap();
    assert_eq!(clock(&rows, "acknowledgement").due_at, at(2025, 9, 27, 10, 0));
    assert_eq!(clock(&rows, "on_site").due_at, at(2025, 9, 28, 10, 0));
    let step = |code: &'static str, fields: Vec<(&'static str, &'static str)>| (code, fields);
    for (when, (code, fields)) in [
        (at(2025, 9, 26, 11, 0), step("schedule", vec![("owner", "tech1")])),
        (at(2025, 9, 28, 9, 0), step("arrive", vec![])),
        (at(2025, 9, 29, 9, 0), step("wait_customer", vec![("reason", "等待顾客提供配件")])),
        (at(2025, 10, 9, 9, 0), step("resume", vec![])),
        (at(2025, 10, 13, 10, 0), step("complete", vec![("resolution", "更换电源板")])),
    ] {
        set(when);
        k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    let rows = svc.clocks(&sys, k.id).await.unwrap();
    let ack = clock(&rows, "acknowledgement");
    assert_eq!((ack.state.as_str(), ack.met_at), ("met", Some(at(2025, 9, 26, 11, 0))));
    let on_site = clock(&rows, "on_site");
    assert_eq!((on_site.state.as_str(), on_site.breached_at), ("met", None), "the make-up Sunday visit was in time");
    let resolution = clock(&rows, "resolution");
    // Five working days from Friday 11:00 were due 10 Oct; ten days of waiting (with the holiday)
    // did not count, so the same 29.5 working hours left now end on Monday 13 Oct.
    assert_eq!(resolution.due_at, at(2025, 10, 13, 17, 30));
    assert_eq!(resolution.paused_ms, (at(2025, 10, 9, 9, 0) - at(2025, 9, 29, 9, 0)).num_milliseconds());
    assert_eq!((resolution.state.as_str(), resolution.breached_at), ("met", None));
});

both_engines!(categories_form_a_tree_of_at_most_three_levels, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    assert!(svc.categories(&sys).await.unwrap().iter().any(|c| c.code == "product_quality"));
    svc.add_category(&sys, "scratch", Some("appearance"), "划伤", "Scratches").await.unwrap();
    let e = svc.add_category(&sys, "deep", Some("scratch"), "深", "Deep").await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "parent"), "{e:?}");
    assert!(svc.add_category(&sys, "Bad Code", None, "x", "x").await.is_err());
    let agent = role(vec![Role::Agent]);
    assert!(svc.add_category(&agent, "ok", None, "x", "x").await.is_err());
    let mut k = svc.create_case(&sys, &complaint("x")).await.unwrap().case;
    k = svc.transition(&sys, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
    let e = svc
        .transition(
            &sys,
            k.id,
            "assess",
            k.version,
            &f(&[("category", "天气"), ("severity", "minor"), ("responsibility", "yes"), ("lead_department", "X")]),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "category"), "{e:?}");
});

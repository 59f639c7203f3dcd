//! A case's record after intake (issue #14, items 9–13, 15) through the service, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::page::Page;
use loopdesk_service::case_record::CaseEdit;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::customers::CustomerInput;
use loopdesk_service::org::NewUser;
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::audit::AuditFilter;
use loopdesk_store::cases::CaseFilter;
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 10 }).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn input(case_type: &str, subject: &str) -> CaseInput {
    CaseInput {
        case_type: case_type.into(),
        contact_name: Some("王先生".into()),
        subject: subject.into(),
        description: "电源模块上电后冒烟".into(),
        ..Default::default()
    }
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn role(roles: Vec<Role>, user_id: Option<i64>) -> Actor {
    Actor { user_id, username: "tester".into(), department_id: None, roles, scope: Scope::All, kind: ActorKind::Staff }
}

fn field_of(e: &ServiceError) -> String {
    match e {
        ServiceError::Domain(DomainError::Invalid { field, .. }) => field.clone(),
        other => panic!("not a refusal naming a field: {other:?}"),
    }
}

async fn user(svc: &Service, name: &str, roles: &[&str]) -> Actor {
    let u = svc
        .create_user(
            &Actor::system(),
            &NewUser {
                username: name.into(),
                display_name: name.into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                password: "long-enough-pass-1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let roles: Vec<Role> = roles.iter().map(|r| Role::parse(r).unwrap()).collect();
    let scope = Actor::scope_for(&roles, vec![]);
    Actor { user_id: Some(u.id), username: name.into(), department_id: None, roles, scope, kind: ActorKind::Staff }
}

both_engines!(correcting_a_case_keeps_the_original_on_the_timeline_and_in_the_audit, |db: TestDb| async move {
    let svc = service(&db).await;
    let k = svc.create_case(&Actor::system(), &input("complaint", "冒烟")).await.unwrap().case;
    let agent = role(vec![Role::Agent], None);
    let edit = CaseEdit {
        subject: Some("电源冒烟".into()),
        serial: Some("L2309-17".into()),
        ship_date: Some("2026-03-01".into()),
        category: Some("外观".into()),
        ..Default::default()
    };
    let after = svc.edit_case(&agent, k.id, k.version, &edit).await.unwrap();
    assert_eq!(after.subject, "电源冒烟");
    assert_eq!(after.serial, "L2309-17");
    assert_eq!(after.category, "appearance");
    assert_eq!(after.version, k.version + 1);
    let ev = svc.history(&agent, k.id).await.unwrap().into_iter().find(|e| e.kind == "edited").unwrap();
    assert!(ev.body.contains("subject: «冒烟» → «电源冒烟»"), "{}", ev.body);
    assert!(!ev.public);
    let audit = svc
        .audit_events(
            &Actor::system(),
            &AuditFilter { entity: Some("case".into()), entity_id: Some(k.id.to_string()), actor: None },
            Page { page: 1, per_page: 10 },
        )
        .await
        .unwrap();
    let last = &audit.items[0];
    assert!(last.before.as_deref().unwrap().contains("\"冒烟\""));
    assert!(last.after.as_deref().unwrap().contains("电源冒烟"));
});

both_engines!(correcting_with_a_stale_version_is_refused_and_changes_nothing, |db: TestDb| async move {
    let svc = service(&db).await;
    let k = svc.create_case(&Actor::system(), &input("complaint", "冒烟")).await.unwrap().case;
    let agent = role(vec![Role::Agent], None);
    let edit = CaseEdit { subject: Some("新主题".into()), ..Default::default() };
    svc.edit_case(&agent, k.id, k.version, &edit).await.unwrap();
    let e = svc
        .edit_case(&agent, k.id, k.version, &CaseEdit { subject: Some("另一个".into()), ..Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Conflict { .. })), "{e:?}");
    assert_eq!(svc.case(&agent, k.id).await.unwrap().subject, "新主题");
});

both_engines!(a_bad_correction_names_its_field_and_changes_nothing, |db: TestDb| async move {
    let svc = service(&db).await;
    let k = svc.create_case(&Actor::system(), &input("complaint", "冒烟")).await.unwrap().case;
    let agent = role(vec![Role::Agent], None);
    for (edit, field) in [
        (CaseEdit { ship_date: Some("32/13/2026".into()), ..Default::default() }, "ship_date"),
        (CaseEdit { category: Some("nonsense".into()), ..Default::default() }, "category"),
        (CaseEdit { subject: Some("  ".into()), ..Default::default() }, "subject"),
        (CaseEdit { owner: Some("nobody".into()), ..Default::default() }, "owner"),
        (CaseEdit { customer_id: Some(999), ..Default::default() }, "customer_id"),
        (CaseEdit { serious_injury: Some("maybe".into()), ..Default::default() }, "serious_injury"),
    ] {
        let e = svc.edit_case(&agent, k.id, k.version, &edit).await.unwrap_err();
        assert_eq!(field_of(&e), field);
    }
    let now = svc.case(&agent, k.id).await.unwrap();
    assert_eq!(now.version, k.version);
    let auditor = role(vec![Role::Auditor], None);
    let e = svc.edit_case(&auditor, k.id, k.version, &CaseEdit::default()).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Forbidden { .. })), "{e:?}");
});

both_engines!(a_portal_case_linked_to_a_customer_file_lists_under_that_customer, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let mut i = input("complaint", "门户投诉");
    i.channel = Some("portal".into());
    let k = svc.create_case(&sys, &i).await.unwrap().case;
    let c = svc.create_customer(&sys, &CustomerInput { name: "华东医疗".into(), ..Default::default() }).await.unwrap();
    let filter = CaseFilter { customer_id: Some(c.id), ..Default::default() };
    let page = Page { page: 1, per_page: 10 };
    assert!(svc.cases(&sys, filter.clone(), page).await.unwrap().items.is_empty());
    let after = svc
        .edit_case(&Actor::system(), k.id, k.version, &CaseEdit { customer_id: Some(c.id), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(after.customer_id, Some(c.id));
    assert_eq!(after.contact_name, "王先生", "the name the customer gave stays");
    let listed = svc.cases(&sys, filter, page).await.unwrap().items;
    assert_eq!(listed.iter().map(|k| k.id).collect::<Vec<_>>(), vec![k.id]);
});

both_engines!(owner_is_set_and_changed_by_correction, |db: TestDb| async move {
    let svc = service(&db).await;
    let k = svc.create_case(&Actor::system(), &input("complaint", "冒烟")).await.unwrap().case;
    let li = user(&svc, "li", &["agent"]).await;
    let wang = user(&svc, "wang", &["agent"]).await;
    let k = svc.edit_case(&li, k.id, k.version, &CaseEdit { owner: Some("li".into()), ..Default::default() }).await;
    let k = k.unwrap();
    assert_eq!(k.owner_id, li.user_id);
    let edit = CaseEdit { owner: Some("WANG".into()), ..Default::default() };
    assert_eq!(svc.edit_case(&li, k.id, k.version, &edit).await.unwrap().owner_id, wang.user_id);
});

both_engines!(product_complaint_needs_the_serious_injury_answer_before_assessment, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let mut i = input("complaint", "冒烟");
    i.model = Some("PSU-200".into());
    let k = svc.create_case(&sys, &i).await.unwrap().case;
    let k = svc.transition(&sys, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
    let d = svc
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
    let id = d.id.to_string();
    let mut dept_fields = vec![
        ("category", "function"),
        ("severity", "major"),
        ("responsibility", "yes"),
        ("lead_department", id.as_str()),
    ];
    let e = svc.transition(&sys, k.id, "assess", k.version, &f(&dept_fields)).await.unwrap_err();
    assert_eq!(field_of(&e), "serious_injury");
    assert_eq!(svc.case(&sys, k.id).await.unwrap().state, "acknowledged");
    // Answered with the assessment: recorded with who answered; "yes" makes it an adverse event.
    let agent = user(&svc, "zhao", &["agent"]).await;
    dept_fields.push(("serious_injury", "yes"));
    let k = svc.transition(&agent, k.id, "assess", k.version, &f(&dept_fields)).await.unwrap();
    assert_eq!(k.state, "assessed");
    assert!(k.adverse_event);
    let fields: serde_json::Value = serde_json::from_str(&k.fields).unwrap();
    assert_eq!(fields["serious_injury"], "yes");
    assert_eq!(fields["serious_injury_by"], "zhao");
});

both_engines!(serious_injury_answered_by_correction_lets_assessment_through, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let mut i = input("complaint", "冒烟");
    i.product_code = Some("PSU".into());
    let k = svc.create_case(&sys, &i).await.unwrap().case;
    let k = svc.transition(&sys, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
    let edit = CaseEdit { serious_injury: Some("unknown".into()), ..Default::default() };
    let k = svc.edit_case(&sys, k.id, k.version, &edit).await.unwrap();
    assert!(!k.adverse_event);
    let fields = [("category", "function"), ("severity", "minor"), ("responsibility", "yes")];
    // Without a lead department only that field is missing now.
    let e = svc.transition(&sys, k.id, "assess", k.version, &f(&fields)).await.unwrap_err();
    assert_eq!(field_of(&e), "lead_department");
    // A complaint naming no product is not asked.
    let plain = svc.create_case(&sys, &input("complaint", "态度")).await.unwrap().case;
    let plain = svc.transition(&sys, plain.id, "acknowledge", plain.version, &f(&[])).await.unwrap();
    let e = svc.transition(&sys, plain.id, "assess", plain.version, &f(&fields)).await.unwrap_err();
    assert_eq!(field_of(&e), "lead_department");
});

both_engines!(reissued_tracking_code_works_and_the_old_one_stops, |db: TestDb| async move {
    let svc = service(&db).await;
    let created = svc.create_case(&Actor::system(), &input("complaint", "冒烟")).await.unwrap();
    let k = created.case;
    assert!(svc.public_case(&k.number, &created.tracking_code).await.is_ok());
    let agent = role(vec![Role::Agent], None);
    let (after, code) = svc.reissue_tracking_code(&agent, k.id, k.version).await.unwrap();
    assert_ne!(code, created.tracking_code);
    assert!(svc.public_case(&k.number, &code).await.is_ok());
    let e = svc.public_case(&k.number, &created.tracking_code).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::NotFound { .. })), "{e:?}");
    let e = svc.reissue_tracking_code(&agent, k.id, k.version).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Conflict { .. })), "{e:?}");
    let ev = svc.history(&agent, k.id).await.unwrap();
    assert!(ev.iter().any(|e| e.kind == "tracking_code_reissued"));
    assert_eq!(after.version, k.version + 1);
});

both_engines!(hr_sees_grievances_and_no_other_case, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let employee = user(&svc, "chen", &["member"]).await;
    let g = svc.create_case(&employee, &input("grievance", "加班费申诉")).await.unwrap().case;
    let c = svc.create_case(&sys, &input("complaint", "冒烟")).await.unwrap().case;
    let hr = user(&svc, "hr1", &["hr"]).await;
    let agent = user(&svc, "agent1", &["agent"]).await;
    assert!(svc.case(&hr, g.id).await.is_ok());
    assert!(svc.case(&hr, c.id).await.is_err());
    assert!(svc.case(&agent, g.id).await.is_err());
    let all = Page { page: 1, per_page: 50 };
    let listed = svc.cases(&hr, CaseFilter::default(), all).await.unwrap().items;
    assert_eq!(listed.iter().map(|k| k.id).collect::<Vec<_>>(), vec![g.id]);
    let typed = CaseFilter { case_type: Some("complaint".into()), ..Default::default() };
    assert!(svc.cases(&hr, typed, all).await.unwrap().items.is_empty());
    // HR takes the grievance's steps.
    let e = svc.transition(&hr, g.id, "investigate", g.version, &f(&[])).await.unwrap_err();
    assert_eq!(field_of(&e), "category", "a grievance names its category");
    let g = svc.transition(&hr, g.id, "investigate", g.version, &f(&[("category", "grievance_appeal")])).await;
    let g = g.unwrap();
    assert_eq!((g.state.as_str(), g.category.as_str()), ("investigating", "grievance_appeal"));
});

both_engines!(employee_sees_the_grievance_they_filed_with_its_steps, |db: TestDb| async move {
    let svc = service(&db).await;
    let employee = user(&svc, "chen", &["member"]).await;
    let other = user(&svc, "zhang", &["member"]).await;
    let g = svc.create_case(&employee, &input("grievance", "加班费申诉")).await.unwrap().case;
    let hr = user(&svc, "hr1", &["hr"]).await;
    let g = svc.transition(&hr, g.id, "investigate", g.version, &f(&[("category", "对人员的投诉")])).await.unwrap();
    svc.transition(&hr, g.id, "reply", g.version, &f(&[("reply", "已核实，补发加班费")])).await.unwrap();
    let mine = svc.filed_grievances(&employee).await.unwrap();
    assert_eq!(mine.iter().map(|k| k.id).collect::<Vec<_>>(), vec![g.id]);
    assert!(svc.filed_grievances(&other).await.unwrap().is_empty());
    let (k, events, def) = svc.filed_grievance(&employee, g.id).await.unwrap();
    assert_eq!(k.state, "replied");
    assert!(events.iter().any(|e| e.kind == "transition" && e.to_state == "investigating"));
    assert!(k.fields.contains("已核实，补发加班费"), "the employee gets the decision");
    assert!(def.states.iter().any(|s| s.terminal));
    assert!(svc.filed_grievance(&other, g.id).await.is_err());
    // The employee's own scope hides it from the ordinary case views.
    assert!(svc.case(&employee, g.id).await.is_err());
});

both_engines!(case_register_prints_category_names_and_follows_the_filters, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let a = svc.create_case(&sys, &input("complaint", "冒烟")).await.unwrap().case;
    svc.edit_case(&sys, a.id, a.version, &CaseEdit { category: Some("packaging".into()), ..Default::default() })
        .await
        .unwrap();
    svc.create_case(&sys, &input("inquiry", "询价")).await.unwrap();
    let only = CaseFilter { case_type: Some("complaint".into()), ..Default::default() };
    let zh = svc.case_register(&sys, only.clone(), true).await.unwrap();
    assert_eq!(zh[0][0], "编号");
    assert_eq!(zh.len(), 2, "the filter leaves one case");
    assert_eq!(zh[1][0], a.number);
    assert!(zh[1].contains(&"包装".to_owned()), "{:?}", zh[1]);
    assert!(zh[1].contains(&"投诉".to_owned()));
    let en = svc.case_register(&sys, only, false).await.unwrap();
    assert_eq!(en[0][0], "Number");
    assert!(en[1].contains(&"Packaging".to_owned()), "{:?}", en[1]);
    let every = svc.case_register(&sys, CaseFilter::default(), true).await.unwrap();
    assert_eq!(every.len(), 3);
});

both_engines!(portal_evidence_takes_five_files_within_type_and_size_limits, |db: TestDb| async move {
    let svc = service(&db).await;
    let created = svc.create_case(&Actor::system(), &input("complaint", "冒烟")).await.unwrap();
    let (number, code) = (created.case.number.clone(), created.tracking_code.clone());
    let e = svc.add_portal_evidence(&number, &code, "tool.exe", b"MZ").await.unwrap_err();
    assert_eq!(field_of(&e), "file");
    let e = svc.add_portal_evidence(&number, "wrong-code", "a.jpg", b"\xff\xd8").await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::NotFound { .. })), "{e:?}");
    let big = vec![0u8; 11 * 1024 * 1024];
    assert_eq!(field_of(&svc.add_portal_evidence(&number, &code, "a.png", &big).await.unwrap_err()), "file");
    for n in 0..5 {
        let a = svc.add_portal_evidence(&number, &code, &format!("photo{n}.jpg"), b"\xff\xd8\xff").await.unwrap();
        assert!(a.public);
        assert_eq!(a.content_type, "image/jpeg");
    }
    let e = svc.add_portal_evidence(&number, &code, "clip.mp4", b"....").await.unwrap_err();
    assert_eq!(field_of(&e), "file", "a sixth file is refused");
    let staff = role(vec![Role::Agent], None);
    assert_eq!(svc.attachments(&staff, created.case.id).await.unwrap().len(), 5);
});

//! Follow-up visits (回访) and the shipped questionnaires through the service layer, on both
//! engines (issue #20 items 7 and 10).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::page::Page;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::followup::OutcomeInput;
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::followup::Filter;
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    let svc = Service::new(s, OrgSettings::default());
    svc.ensure_default_calendars().await.unwrap();
    svc
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn staff(user_id: i64, roles: Vec<Role>, scope: Scope) -> Actor {
    Actor {
        user_id: Some(user_id),
        username: format!("u{user_id}"),
        department_id: None,
        roles,
        scope,
        kind: ActorKind::Staff,
    }
}

/// A QA department with one person in it; returns (department id, that person's id).
async fn qa_department(svc: &Service) -> (i64, i64) {
    let sys = Actor::system();
    let d = svc
        .create_department(
            &sys,
            &DepartmentInput { code: "QA".into(), name: "品保部".into(), kind: "quality".into(), parent_id: None },
        )
        .await
        .unwrap();
    let u = svc
        .create_user(
            &sys,
            &NewUser {
                username: "qa1".into(),
                display_name: "李品保".into(),
                roles: vec!["qa".into()],
                department_id: Some(d.id),
                password: "qa-pass-12345".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (d.id, u.id)
}

/// A complaint walked to the reply, led by QA.
async fn replied_complaint(svc: &Service) -> loopdesk_store::cases::Case {
    let sys = Actor::system();
    let input = CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王先生".into()),
        subject: "包装破损".into(),
        description: "外箱压坏".into(),
        ..Default::default()
    };
    let mut k = svc.create_case(&sys, &input).await.unwrap().case;
    for (code, fields) in [
        ("acknowledge", vec![]),
        (
            "assess",
            vec![("category", "packaging"), ("severity", "一般"), ("responsibility", "yes"), ("lead_department", "QA")],
        ),
        ("investigate", vec![]),
        ("propose", vec![("resolution", "补发一件")]),
        ("reply", vec![("reply", "我们将补发一件")]),
    ] {
        k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    assert_eq!(k.state, "replied");
    k
}

both_engines!(
    a_complaint_never_accepted_is_visited_and_the_outcome_reaches_the_lead_department,
    |db: TestDb| async move {
        let svc = service(&db).await;
        let sys = Actor::system();
        let (qa, qa_user) = qa_department(&svc).await;
        let mut k = replied_complaint(&svc).await;
        // The customer never answered: the visit is scheduled straight after the reply.
        k = svc.transition(&sys, k.id, "schedule_follow_up", k.version, &f(&[])).await.unwrap();
        assert_eq!(k.state, "follow_up");
        let clocks = svc.clocks(&sys, k.id).await.unwrap();
        let fu = clocks.iter().find(|c| c.name == "follow_up").expect("a follow_up clock");
        assert_eq!(fu.state, "running");
        assert!(clocks.iter().all(|c| c.name != "resolution" || c.state != "paused"), "the resolution clock stops");
        let visits = svc.follow_up_visits(&sys, &Filter { case_id: Some(k.id), ..Default::default() }).await.unwrap();
        assert_eq!(visits.len(), 1);
        let v = &visits[0].visit;
        assert_eq!((v.state.as_str(), v.department_id, v.source_kind.as_str()), ("open", Some(qa), "case"));
        let today = svc.now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        assert_eq!(v.due_on, loopdesk_domain::followup::due_on(today));
        assert_eq!(visits[0].case_number.as_deref(), Some(k.number.as_str()));

        // A rating off the 10/8/6/3/1 scale is refused and changes nothing.
        let bad = OutcomeInput { outcome: "done".into(), rating: Some(7), text: "还行".into() };
        let e = svc.record_follow_up_visit(&sys, v.id, v.version, &bad).await.unwrap_err();
        assert!(
            matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "rating"),
            "{e:?}"
        );
        assert_eq!(svc.follow_up_visit(&sys, v.id).await.unwrap().visit.state, "open");
        // Someone of another department, not assigned, does not see it.
        let outsider = staff(999, vec![Role::Agent], Scope::Departments(vec![qa + 100]));
        assert!(matches!(
            svc.follow_up_visit(&outsider, v.id).await,
            Err(ServiceError::Domain(DomainError::NotFound { .. }))
        ));

        let good = OutcomeInput { outcome: "done".into(), rating: Some(8), text: "顾客对补发满意".into() };
        let done = svc.record_follow_up_visit(&sys, v.id, v.version, &good).await.unwrap();
        assert_eq!((done.state.as_str(), done.rating), ("done", Some(8)));
        // The complaint waiting in its follow-up step closes with the outcome; its clock is met.
        let k = svc.case(&sys, k.id).await.unwrap();
        assert_eq!(k.state, "closed");
        let fu = svc.clocks(&sys, k.id).await.unwrap().into_iter().find(|c| c.name == "follow_up").unwrap();
        assert_eq!(fu.state, "met");
        assert!(svc.history(&sys, k.id).await.unwrap().iter().any(|e| e.kind == "follow_up_recorded"));
        // Shared with the lead department.
        let inbox = svc
            .inbox(&staff(qa_user, vec![Role::Qa], Scope::Departments(vec![qa])), false, Page::default())
            .await
            .unwrap();
        let item = inbox.items.iter().find(|i| i.kind == "follow_up_recorded").expect("an inbox entry for QA");
        assert!(item.params.contains("\"8\"") && item.params.contains(&k.number));
        // Recording twice is refused.
        let again = svc.record_follow_up_visit(&sys, v.id, done.version, &good).await.unwrap_err();
        assert!(matches!(again, ServiceError::Domain(DomainError::Conflict { .. })), "{again:?}");
    }
);

both_engines!(closing_a_complaint_by_its_step_records_the_visit_with_its_rating, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    qa_department(&svc).await;
    let mut k = replied_complaint(&svc).await;
    for (code, fields) in [
        ("accept", vec![]),
        ("schedule_follow_up", vec![]),
        ("record_follow_up", vec![("follow_up_outcome", "非常满意"), ("follow_up_rating", "10")]),
    ] {
        k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    assert_eq!(k.state, "closed");
    let v = svc.follow_up_visits(&sys, &Filter { case_id: Some(k.id), ..Default::default() }).await.unwrap().remove(0);
    assert_eq!((v.visit.state.as_str(), v.visit.rating, v.visit.outcome.as_str()), ("done", Some(10), "非常满意"));
    let clocks = svc.clocks(&sys, k.id).await.unwrap();
    assert_eq!(clocks.iter().find(|c| c.name == "follow_up").unwrap().state, "met");
});

both_engines!(a_completed_service_request_keeps_its_follow_up_clock_after_closing, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    let (qa, _) = qa_department(&svc).await;
    let input = CaseInput {
        case_type: "service_request".into(),
        contact_name: Some("陈工".into()),
        subject: "设备无法启动".into(),
        description: "上电无反应".into(),
        ..Default::default()
    };
    let mut k = svc.create_case(&sys, &input).await.unwrap().case;
    for (code, fields) in [
        ("schedule", vec![("owner", "qa1")]),
        ("arrive", vec![]),
        ("complete", vec![("resolution", "更换电源板")]),
        ("close", vec![]),
    ] {
        k = svc.transition(&sys, k.id, code, k.version, &f(&fields)).await.unwrap_or_else(|e| panic!("{code}: {e}"));
    }
    assert_eq!(k.state, "closed");
    let fu = svc.clocks(&sys, k.id).await.unwrap().into_iter().find(|c| c.name == "follow_up").unwrap();
    assert_eq!(fu.state, "running", "the visit is still due after the request closed");
    let v = svc.follow_up_visits(&sys, &Filter { state: Some("open".into()), ..Default::default() }).await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].assignee_name.as_deref(), Some("李品保"), "the technician who owned it visits");
    // Reassigned to someone of any department, then "not reached": no rating allowed with it.
    let v = svc.assign_follow_up_visit(&sys, v[0].visit.id, v[0].visit.version, None).await.unwrap();
    let with_rating = OutcomeInput { outcome: "not_reached".into(), rating: Some(10), text: String::new() };
    assert!(svc.record_follow_up_visit(&sys, v.id, v.version, &with_rating).await.is_err());
    let nr = OutcomeInput { outcome: "not_reached".into(), rating: None, text: "电话无人接听".into() };
    let v = svc.record_follow_up_visit(&sys, v.id, v.version, &nr).await.unwrap();
    assert_eq!(v.state, "not_reached");
    let fu = svc.clocks(&sys, k.id).await.unwrap().into_iter().find(|c| c.name == "follow_up").unwrap();
    assert_eq!(fu.state, "met");
    let _ = qa;
    // An unknown state filter names the field.
    let e = svc.follow_up_visits(&sys, &Filter { state: Some("lost".into()), ..Default::default() }).await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "state"));
});

both_engines!(a_fresh_installation_has_the_seed_questionnaires_once, |db: TestDb| async move {
    let svc = service(&db).await;
    let sys = Actor::system();
    assert!(svc.survey_templates(&sys).await.unwrap().is_empty());
    let added = svc.ensure_shipped_survey_templates().await.unwrap();
    assert_eq!(added.len(), 6);
    let ts = svc.survey_templates(&sys).await.unwrap();
    let codes: Vec<_> = ts.iter().map(|t| t.row.code.as_str()).collect();
    for c in ["002H-CSAT", "002C-RESIDENTIAL", "002C-OFFICE", "002C-SALES", "002G-INTERNAL", "002K-SERVICE"] {
        assert!(codes.contains(&c), "{c} in {codes:?}");
    }
    let h = ts.iter().find(|t| t.row.code == "002H-CSAT").unwrap();
    assert_eq!(h.row.name, "顾客满意程度调查表");
    // Starting again adds nothing, and an edited template is not overwritten.
    assert!(svc.ensure_shipped_survey_templates().await.unwrap().is_empty());
    assert_eq!(svc.survey_templates(&sys).await.unwrap().len(), 6);
});

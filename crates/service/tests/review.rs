//! Issue #14 item 8 on both engines: the customer-service manager's review of department tasks
//! (信息传递单) and of "not the company's responsibility" findings, when the case type's process
//! definition asks for it (`[review]`).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::page::Page;
use loopdesk_domain::process::default_definition;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 20 }).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

struct Org {
    /// The customer-service manager: head of the customer-service department.
    cs_manager: Actor,
    /// The head of another department (engineering), which receives the tasks.
    eng_head: Actor,
    agent: Actor,
}

async fn org(svc: &Service, tasks: bool, not_responsible: bool) -> Org {
    let sys = Actor::system();
    let mut people = vec![];
    for (code, kind, user, role) in
        [("CS", "customer_service", "csm", Role::DeptHead), ("ENG", "engineering", "enghead", Role::DeptHead)]
    {
        let d = svc
            .create_department(
                &sys,
                &DepartmentInput { code: code.into(), name: code.into(), kind: kind.into(), parent_id: None },
            )
            .await
            .unwrap();
        let u = svc
            .create_user(
                &sys,
                &NewUser {
                    username: user.into(),
                    display_name: user.into(),
                    department_id: Some(d.id),
                    roles: vec![role.code().into()],
                    password: "review-pass-123".into(),
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
            scope: Scope::All,
            kind: ActorKind::Staff,
        });
    }
    let mut def = default_definition("complaint").unwrap();
    def.review.tasks = tasks;
    def.review.not_responsible = not_responsible;
    svc.put_process_definition(&sys, "complaint", &serde_json::to_string(&def).unwrap()).await.unwrap();
    let agent = Actor {
        user_id: None,
        username: "agent".into(),
        department_id: None,
        roles: vec![Role::Agent],
        scope: Scope::All,
        kind: ActorKind::Staff,
    };
    let eng_head = people.pop().unwrap();
    let cs_manager = people.pop().unwrap();
    Org { cs_manager, eng_head, agent }
}

fn complaint() -> CaseInput {
    CaseInput {
        case_type: "complaint".into(),
        contact_name: Some("王先生".into()),
        subject: "电源冒烟".into(),
        description: "批次 L2309 上电后冒烟".into(),
        ..Default::default()
    }
}

async fn inbox_kinds(svc: &Service, a: &Actor) -> Vec<String> {
    svc.inbox(a, false, Page::default()).await.unwrap().items.into_iter().map(|i| i.kind).collect()
}

async fn timeline(svc: &Service, id: i64) -> Vec<String> {
    svc.history(&Actor::system(), id).await.unwrap().into_iter().map(|e| e.kind).collect()
}

fn conflict(e: ServiceError) -> bool {
    matches!(e, ServiceError::Domain(DomainError::Conflict { .. }))
}

fn forbidden(e: ServiceError) -> bool {
    matches!(e, ServiceError::Domain(DomainError::Forbidden { .. }))
}

both_engines!(task_awaiting_review_goes_out_only_after_the_cs_manager_approves, |db: TestDb| async move {
    let svc = service(&db).await;
    let o = org(&svc, true, false).await;
    let k = svc.create_case(&Actor::system(), &complaint()).await.unwrap().case;
    let t = svc.add_task(&o.agent, k.id, "ENG", "请分析冒烟原因", "2026-12-31").await.unwrap();
    assert_eq!(t.review_state, "pending");
    // Not yet out: the department is not told and may not answer.
    assert!(!inbox_kinds(&svc, &o.eng_head).await.contains(&"task_sent".to_string()));
    assert!(conflict(svc.answer_task(&o.eng_head, t.id, t.version, "原因是…").await.unwrap_err()));
    // Only the customer-service manager reviews: not an agent, not another department's head.
    assert!(forbidden(svc.review_task(&o.agent, t.id, t.version, true, "").await.unwrap_err()));
    assert!(forbidden(svc.review_task(&o.eng_head, t.id, t.version, true, "").await.unwrap_err()));
    let approved = svc.review_task(&o.cs_manager, t.id, t.version, true, "").await.unwrap();
    assert_eq!(approved.review_state, "approved");
    assert!(inbox_kinds(&svc, &o.eng_head).await.contains(&"task_sent".to_string()), "the department is told now");
    assert!(conflict(svc.review_task(&o.cs_manager, t.id, approved.version, true, "").await.unwrap_err()));
    svc.answer_task(&o.eng_head, t.id, approved.version, "原因是焊点虚焊").await.unwrap();
    let tl = timeline(&svc, k.id).await;
    for kind in ["task_review_requested", "task_review_approved", "task_answer"] {
        assert!(tl.contains(&kind.to_string()), "{kind} in {tl:?}");
    }
    assert!(!tl.contains(&"task".to_string()), "the task is recorded as awaiting review, not as sent");
});

both_engines!(refused_task_goes_back_with_its_reason_and_never_reaches_the_department, |db: TestDb| async move {
    let svc = service(&db).await;
    let o = org(&svc, true, false).await;
    let k = svc.create_case(&Actor::system(), &complaint()).await.unwrap().case;
    let t = svc.add_task(&o.agent, k.id, "ENG", "请分析", "2026-12-31").await.unwrap();
    let e = svc.review_task(&o.cs_manager, t.id, t.version, false, "  ").await.unwrap_err();
    assert!(matches!(e, ServiceError::Domain(DomainError::Invalid { ref field, .. }) if field == "reason"), "{e}");
    let refused = svc.review_task(&o.cs_manager, t.id, t.version, false, "问题描述不清").await.unwrap();
    assert_eq!((refused.review_state.as_str(), refused.review_note.as_str()), ("refused", "问题描述不清"));
    assert!(!inbox_kinds(&svc, &o.eng_head).await.contains(&"task_sent".to_string()));
    assert!(conflict(svc.answer_task(&o.eng_head, t.id, refused.version, "…").await.unwrap_err()));
    assert!(timeline(&svc, k.id).await.contains(&"task_review_refused".to_string()));
});

both_engines!(tasks_go_out_at_once_when_the_definition_asks_no_review, |db: TestDb| async move {
    let svc = service(&db).await;
    let o = org(&svc, false, false).await;
    let k = svc.create_case(&Actor::system(), &complaint()).await.unwrap().case;
    let t = svc.add_task(&o.agent, k.id, "ENG", "请分析", "2026-12-31").await.unwrap();
    assert_eq!(t.review_state, "none");
    assert!(inbox_kinds(&svc, &o.eng_head).await.contains(&"task_sent".to_string()));
    assert!(conflict(svc.review_task(&o.cs_manager, t.id, t.version, true, "").await.unwrap_err()));
});

both_engines!(not_responsible_finding_holds_the_case_until_the_cs_manager_confirms, |db: TestDb| async move {
    let svc = service(&db).await;
    let o = org(&svc, false, true).await;
    let k = svc.create_case(&Actor::system(), &complaint()).await.unwrap().case;
    let k = svc.transition(&o.agent, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
    let assess = f(&[
        ("category", "product_quality"),
        ("severity", "一般"),
        ("responsibility", "no"),
        ("responsibility_note", "顾客使用不当"),
        ("lead_department", "ENG"),
    ]);
    let k = svc.transition(&o.agent, k.id, "assess", k.version, &assess).await.unwrap();
    assert_eq!(k.state, "assessed");
    // The case cannot move on while the finding waits.
    let e = svc.transition(&o.agent, k.id, "investigate", k.version, &f(&[])).await.unwrap_err();
    assert!(conflict(e));
    assert!(forbidden(svc.review_responsibility(&o.eng_head, k.id, k.version, true, "").await.unwrap_err()));
    // Refused: back to the state it was assessed from, responsibility undetermined.
    let back = svc.review_responsibility(&o.cs_manager, k.id, k.version, false, "需进一步调查").await.unwrap();
    assert_eq!((back.state.as_str(), back.responsibility.as_str()), ("acknowledged", "undetermined"));
    // Assessed again, confirmed this time: the case moves on.
    let k = svc.transition(&o.agent, back.id, "assess", back.version, &assess).await.unwrap();
    let k = svc.review_responsibility(&o.cs_manager, k.id, k.version, true, "").await.unwrap();
    assert_eq!(k.responsibility, "no");
    let k = svc.transition(&o.agent, k.id, "investigate", k.version, &f(&[])).await.unwrap();
    assert_eq!(k.state, "investigating");
    let tl = timeline(&svc, k.id).await;
    for kind in ["responsibility_review_requested", "responsibility_review_refused", "responsibility_review_approved"] {
        assert!(tl.contains(&kind.to_string()), "{kind} in {tl:?}");
    }
});

both_engines!(a_company_responsible_finding_needs_no_review, |db: TestDb| async move {
    let svc = service(&db).await;
    let o = org(&svc, false, true).await;
    let k = svc.create_case(&Actor::system(), &complaint()).await.unwrap().case;
    let k = svc.transition(&o.agent, k.id, "acknowledge", k.version, &f(&[])).await.unwrap();
    let assess = f(&[
        ("category", "product_quality"),
        ("severity", "一般"),
        ("responsibility", "yes"),
        ("lead_department", "ENG"),
    ]);
    let k = svc.transition(&o.agent, k.id, "assess", k.version, &assess).await.unwrap();
    svc.transition(&o.agent, k.id, "investigate", k.version, &f(&[])).await.unwrap();
});

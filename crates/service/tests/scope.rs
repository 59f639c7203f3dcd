//! Who sees a case and everything hanging from it (`domain::scope`), through the service layer,
//! with real users and tokens, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::page::Page;
use loopdesk_service::cases::{ActionInput, CaseInput, MeetingInput};
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::audit::AuditFilter;
use loopdesk_store::cases::{Case, CaseFilter};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn not_found<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Domain(DomainError::NotFound { .. })))
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Domain(DomainError::Forbidden { .. })))
}

/// An organisation: customer service, quality, engineering, production and sales, each with
/// one person; the actors are the real ones behind API tokens.
struct Org {
    svc: Service,
    sys: Actor,
    dept: BTreeMap<&'static str, i64>,
    agent: Actor,
    qa: Actor,
    eng: Actor,
    prod: Actor,
    sales: Actor,
    gm: Actor,
}

async fn org(db: &TestDb) -> Org {
    let svc = service(db).await;
    let sys = Actor::system();
    let mut dept = BTreeMap::new();
    for (code, name, kind) in [
        ("CS", "客户服务部", "customer_service"),
        ("QA", "品保部", "quality"),
        ("ENG", "工程部", "engineering"),
        ("PROD", "生产部", "production"),
        ("SALES", "业务部", "sales"),
    ] {
        let d = svc
            .create_department(
                &sys,
                &DepartmentInput { code: code.into(), name: name.into(), kind: kind.into(), parent_id: None },
            )
            .await
            .unwrap();
        dept.insert(code, d.id);
    }
    let mut actors = BTreeMap::new();
    for (name, role, d) in [
        ("cs.agent", "agent", "CS"),
        ("qa.li", "qa", "QA"),
        ("eng.wang", "member", "ENG"),
        ("prod.zhao", "member", "PROD"),
        ("sales.sun", "agent", "SALES"),
        ("gm.zhou", "gm", "SALES"),
    ] {
        svc.create_user(
            &sys,
            &NewUser {
                username: name.into(),
                display_name: name.into(),
                roles: vec![role.into()],
                department_id: Some(dept[d]),
                password: "correct horse battery".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let (secret, _) = svc.create_token(&sys, name, "test").await.unwrap();
        actors.insert(name, svc.token_actor(&secret).await.unwrap().0);
    }
    let a = |n: &str| actors[n].clone();
    Org {
        agent: a("cs.agent"),
        qa: a("qa.li"),
        eng: a("eng.wang"),
        prod: a("prod.zhao"),
        sales: a("sales.sun"),
        gm: a("gm.zhou"),
        svc,
        sys,
        dept,
    }
}

fn input(case_type: &str, subject: &str) -> CaseInput {
    CaseInput {
        case_type: case_type.into(),
        contact_name: Some("王先生".into()),
        subject: subject.into(),
        description: "电源模块批次 L2309 上电后冒烟".into(),
        ..Default::default()
    }
}

/// Registers a complaint as `by` and has the system assess it with `lead` leading.
async fn led_complaint(o: &Org, by: &Actor, lead: &str, subject: &str) -> Case {
    let mut k = o.svc.create_case(by, &input("complaint", subject)).await.unwrap().case;
    for (code, fields) in [
        ("acknowledge", vec![]),
        (
            "assess",
            vec![
                ("category", "产品质量"),
                ("severity", "general"),
                ("responsibility", "yes"),
                ("lead_department", lead),
            ],
        ),
    ] {
        k = o.svc.transition(&o.sys, k.id, code, k.version, &f(&fields)).await.unwrap();
    }
    k
}

async fn listed(svc: &Service, actor: &Actor) -> (i64, BTreeSet<i64>) {
    let p = svc.cases(actor, CaseFilter::default(), Page { page: 1, per_page: 500 }).await.unwrap();
    (p.total, p.items.into_iter().map(|k| k.id).collect())
}

both_engines!(the_registering_agent_still_sees_the_case_after_quality_leads_it, |db: TestDb| async move {
    let o = org(&db).await;
    let k = led_complaint(&o, &o.agent, "QA", "外壳开裂").await;
    assert_eq!(k.lead_department_id, Some(o.dept["QA"]));
    assert_eq!(o.svc.case(&o.agent, k.id).await.unwrap().id, k.id);
    assert!(o.svc.history(&o.agent, k.id).await.is_ok());
    assert!(o.svc.listed_contains(&o.agent, k.id).await);
    // The agent still works the case: a comment goes on its timeline.
    o.svc.comment(&o.agent, k.id, "已电话告知客户处理进度", false).await.unwrap();
    // Someone in another department with no relation to it does not see it.
    assert!(not_found(o.svc.case(&o.sales, k.id).await));
    assert!(!o.svc.listed_contains(&o.sales, k.id).await);
});

both_engines!(a_task_department_reads_the_case_and_answers_its_own_task_only, |db: TestDb| async move {
    let o = org(&db).await;
    let k = led_complaint(&o, &o.sys, "QA", "尺寸超差").await;
    let eng_task = o.svc.add_task(&o.qa, k.id, "ENG", "请分析尺寸超差原因", "2026-12-05").await.unwrap();
    let prod_task = o.svc.add_task(&o.qa, k.id, "PROD", "请确认批次", "2026-12-05").await.unwrap();
    // Engineering reads the case and its tasks, and appears in its list.
    assert_eq!(o.svc.case(&o.eng, k.id).await.unwrap().subject, "尺寸超差");
    assert_eq!(o.svc.tasks(&o.eng, k.id).await.unwrap().len(), 2);
    assert!(o.svc.listed_contains(&o.eng, k.id).await);
    // It answers its own task, not production's.
    assert!(forbidden(o.svc.answer_task(&o.eng, prod_task.id, prod_task.version, "不是我们").await));
    o.svc.answer_task(&o.eng, eng_task.id, eng_task.version, "模具磨损，已更换").await.unwrap();
    // Taking part is not handling: no transitions, comments or new tasks.
    assert!(forbidden(o.svc.transition(&o.eng, k.id, "investigate", k.version, &f(&[])).await));
    assert!(forbidden(o.svc.comment(&o.eng, k.id, "x", false).await));
    assert!(forbidden(o.svc.add_task(&o.eng, k.id, "PROD", "x", "2026-12-05").await));
    // Production answers its own.
    o.svc.answer_task(&o.prod, prod_task.id, prod_task.version, "批次 L2309").await.unwrap();
    // Sales took no part: the case and its task are not found.
    assert!(not_found(o.svc.case(&o.sales, k.id).await));
    assert!(not_found(o.svc.tasks(&o.sales, k.id).await));
    let fresh = o.svc.add_task(&o.qa, k.id, "ENG", "补充说明", "2026-12-06").await.unwrap();
    assert!(not_found(o.svc.answer_task(&o.sales, fresh.id, fresh.version, "x").await));
    assert!(not_found(o.svc.answer_task(&o.sales, fresh.id, fresh.version + 7, "x").await), "whatever the version");
});

both_engines!(a_grievance_never_shows_to_an_agent_even_through_its_task_or_action, |db: TestDb| async move {
    let o = org(&db).await;
    let g = o.svc.create_case(&o.sys, &input("grievance", "加班费未发")).await.unwrap().case;
    let task = o.svc.add_task(&o.sys, g.id, "CS", "请核实考勤记录", "2026-12-05").await.unwrap();
    let meeting = MeetingInput {
        attendees: "总经理、人事".into(),
        minutes: "核实后补发".into(),
        actions: vec![ActionInput {
            description: "提供考勤记录".into(),
            owner: "cs.agent".into(),
            due_date: "2026-12-15".into(),
        }],
        ..Default::default()
    };
    let (_, actions) = o.svc.record_meeting(&o.sys, g.id, &meeting).await.unwrap();
    o.svc.attach(&o.sys, g.id, "考勤.txt", b"records", false).await.unwrap();
    for who in [&o.agent, &o.qa, &o.eng, &o.sales] {
        assert!(not_found(o.svc.case(who, g.id).await));
        assert!(not_found(o.svc.tasks(who, g.id).await));
        assert!(not_found(o.svc.meetings(who, g.id).await));
        assert!(not_found(o.svc.attachments(who, g.id).await));
        assert!(not_found(o.svc.history(who, g.id).await));
        let (total, ids) = listed(&o.svc, who).await;
        assert!(!ids.contains(&g.id));
        assert_eq!(total, 0, "{}", who.username);
    }
    // The agent's department received the task and the agent owns the action item: still nothing.
    assert!(not_found(o.svc.answer_task(&o.agent, task.id, task.version, "已核实").await));
    assert!(not_found(o.svc.complete_action(&o.agent, actions[0].id, actions[0].version, "已提供").await));
    assert!(not_found(o.svc.comment(&o.agent, g.id, "x", false).await));
    // Nothing was written into the grievance by them.
    let events = o.svc.history(&o.gm, g.id).await.unwrap();
    assert!(events.iter().all(|e| e.actor != "cs.agent"), "{events:?}");
    assert!(o.svc.tasks(&o.gm, g.id).await.unwrap()[0].answered_at.is_none());
    // The general manager sees it.
    assert_eq!(listed(&o.svc, &o.gm).await.0, 1);
});

both_engines!(the_case_list_and_single_reads_agree_for_every_actor, |db: TestDb| async move {
    let o = org(&db).await;
    o.svc.set_handled_types(&o.sys, o.dept["CS"], &["complaint".into()]).await.unwrap();
    let mut ids = Vec::new();
    ids.push(led_complaint(&o, &o.sys, "QA", "品保主导").await.id);
    ids.push(led_complaint(&o, &o.agent, "ENG", "客服登记").await.id);
    ids.push(o.svc.create_case(&o.sys, &input("inquiry", "未分派咨询")).await.unwrap().case.id);
    let inquiry = {
        let mut k = o.svc.create_case(&o.sys, &input("inquiry", "品保咨询")).await.unwrap().case;
        k = o.svc.transition(&o.sys, k.id, "acknowledge", k.version, &f(&[])).await.unwrap_or(k);
        k
    };
    ids.push(inquiry.id);
    let with_task = led_complaint(&o, &o.sys, "QA", "有任务").await;
    o.svc.add_task(&o.sys, with_task.id, "PROD", "请确认", "2026-12-05").await.unwrap();
    ids.push(with_task.id);
    ids.push(o.svc.create_case(&o.sys, &input("grievance", "申诉")).await.unwrap().case.id);
    ids.push(o.svc.create_case(&o.sales, &input("suggestion", "业务建议")).await.unwrap().case.id);
    for who in [&o.agent, &o.qa, &o.eng, &o.prod, &o.sales, &o.gm] {
        let mut single = BTreeSet::new();
        for &id in &ids {
            match o.svc.case(who, id).await {
                Ok(_) => {
                    single.insert(id);
                }
                Err(e) => assert!(matches!(e, ServiceError::Domain(DomainError::NotFound { .. })), "{e:?}"),
            }
        }
        let (total, listed) = listed(&o.svc, who).await;
        assert_eq!(listed, single, "{}", who.username);
        assert_eq!(total, single.len() as i64, "{}", who.username);
    }
    // Spot checks of the rule itself.
    let (_, agent_sees) = listed(&o.svc, &o.agent).await;
    assert!(agent_sees.contains(&ids[0]), "customer service handles every complaint");
    let (_, prod_sees) = listed(&o.svc, &o.prod).await;
    assert!(prod_sees.contains(&with_task.id) && !prod_sees.contains(&ids[0]));
});

both_engines!(handling_departments_are_stored_audited_and_refuse_confidential_types, |db: TestDb| async move {
    let o = org(&db).await;
    let k = led_complaint(&o, &o.sys, "QA", "品保主导").await;
    assert!(not_found(o.svc.case(&o.agent, k.id).await));
    assert!(forbidden(o.svc.set_handled_types(&o.agent, o.dept["CS"], &["complaint".into()]).await));
    let e = o.svc.set_handled_types(&o.sys, o.dept["CS"], &["complaint".into(), "grievance".into()]).await;
    assert!(matches!(e, Err(ServiceError::Domain(DomainError::Invalid { ref field, .. })) if field == "case_types[1]"));
    let e = o.svc.set_handled_types(&o.sys, o.dept["CS"], &["nonsense".into()]).await;
    assert!(matches!(e, Err(ServiceError::Domain(DomainError::Invalid { ref field, .. })) if field == "case_types[0]"));
    assert!(not_found(o.svc.set_handled_types(&o.sys, 9999, &[]).await));
    let set = o.svc.set_handled_types(&o.sys, o.dept["CS"], &["complaint".into(), "complaint".into()]).await.unwrap();
    assert_eq!(set.case_types, vec!["complaint".to_owned()]);
    assert_eq!(o.svc.handling_departments(&o.agent).await.unwrap(), vec![set]);
    assert_eq!(o.svc.case(&o.agent, k.id).await.unwrap().id, k.id, "customer service now sees every complaint");
    o.svc.set_handled_types(&o.sys, o.dept["CS"], &[]).await.unwrap();
    assert!(not_found(o.svc.case(&o.agent, k.id).await));
    assert!(o.svc.handling_departments(&o.sys).await.unwrap().is_empty());
    let filter = AuditFilter { entity: Some("handling_departments".into()), ..Default::default() };
    let audit = o.svc.audit_events(&o.sys, &filter, Page::default()).await.unwrap();
    assert_eq!(audit.total, 2);
});

both_engines!(the_portal_is_its_own_actor_and_attach_has_no_user_name_shortcut, |db: TestDb| async move {
    let o = org(&db).await;
    let k = led_complaint(&o, &o.sys, "QA", "附件").await;
    // A staff user cannot be named after a built-in actor.
    let e = o
        .svc
        .create_user(
            &o.sys,
            &NewUser {
                username: "customer".into(),
                display_name: "假冒".into(),
                roles: vec!["auditor".into()],
                password: "correct horse battery".into(),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(e, Err(ServiceError::Domain(DomainError::Invalid { ref field, .. })) if field == "username"));
    // An actor called `customer` is checked like anyone else.
    let named_customer = Actor {
        user_id: Some(4242),
        username: "customer".into(),
        department_id: None,
        roles: vec![Role::Auditor],
        scope: Scope::All,
        kind: ActorKind::Staff,
    };
    assert!(forbidden(o.svc.attach(&named_customer, k.id, "x.txt", b"x", true).await));
    let outsider = Actor { roles: vec![Role::Agent], scope: Scope::Departments(vec![]), ..named_customer.clone() };
    assert!(not_found(o.svc.attach(&outsider, k.id, "x.txt", b"x", true).await));
    assert!(o.svc.attachments(&o.sys, k.id).await.unwrap().is_empty());
    // The portal registers a customer's complaint, reads nothing, and cannot file a grievance.
    let portal = Actor::portal();
    let c = o.svc.create_case(&portal, &input("complaint", "网上投诉")).await.unwrap().case;
    assert!(forbidden(o.svc.case(&portal, c.id).await));
    assert!(forbidden(o.svc.cases(&portal, CaseFilter::default(), Page::default()).await));
    assert!(forbidden(o.svc.attach(&portal, c.id, "x.txt", b"x", true).await));
    let e = o.svc.create_case(&portal, &input("grievance", "x")).await;
    assert!(matches!(e, Err(ServiceError::Domain(DomainError::Invalid { ref field, .. })) if field == "type"));
});

trait Listed {
    async fn listed_contains(&self, actor: &Actor, id: i64) -> bool;
}

impl Listed for Service {
    async fn listed_contains(&self, actor: &Actor, id: i64) -> bool {
        listed(self, actor).await.1.contains(&id)
    }
}

both_engines!(inbox_items_about_a_hidden_case_are_neither_shown_counted_nor_marked, |db: TestDb| async move {
    let o = org(&db).await;
    let g = o.svc.create_case(&o.sys, &input("grievance", "申诉")).await.unwrap().case;
    let k = led_complaint(&o, &o.agent, "QA", "客服登记").await;
    let agent_id = o.agent.user_id.unwrap();
    let now = o.svc.now();
    let mut tx = o.svc.store.begin().await.unwrap();
    let hidden = loopdesk_store::escalation::insert_inbox(&mut tx.conn(), agent_id, Some(g.id), "warning", "{}", now)
        .await
        .unwrap();
    let shown = loopdesk_store::escalation::insert_inbox(&mut tx.conn(), agent_id, Some(k.id), "warning", "{}", now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let inbox = o.svc.inbox(&o.agent, false, Page::default()).await.unwrap();
    assert_eq!(inbox.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![shown]);
    assert_eq!(inbox.total, 1);
    assert_eq!(o.svc.unread_count(&o.agent).await.unwrap(), 1);
    assert!(not_found(o.svc.mark_read(&o.agent, Some(hidden)).await));
    assert_eq!(o.svc.mark_read(&o.agent, Some(shown)).await.unwrap(), 1);
    assert_eq!(o.svc.unread_count(&o.agent).await.unwrap(), 0);
});

//! The grievance and HR rules inside `domain::scope`, and the case record's read paths (PATCH,
//! tracking-code re-issue, register, the employee's grievances) asking it, on both engines.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};

use loopdesk_domain::DomainError;
use loopdesk_domain::access::Actor;
use loopdesk_domain::page::Page;
use loopdesk_service::case_record::CaseEdit;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::org::{DepartmentInput, NewUser};
use loopdesk_service::{OrgSettings, Service, ServiceError};
use loopdesk_store::cases::{Case, CaseFilter};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn not_found<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Domain(DomainError::NotFound { .. })))
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::Domain(DomainError::Forbidden { .. })))
}

struct Org {
    svc: Service,
    sys: Actor,
    actors: BTreeMap<&'static str, Actor>,
}

impl Org {
    fn a(&self, name: &str) -> &Actor {
        &self.actors[name]
    }
}

/// Customer service, quality, engineering, HR and finance; the actors are the real ones behind
/// API tokens (roles and departments as stored).
async fn org(db: &TestDb) -> Org {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    let svc = Service::new(s, OrgSettings::default());
    let sys = Actor::system();
    let mut dept = BTreeMap::new();
    for (code, name, kind) in [
        ("CS", "客户服务部", "customer_service"),
        ("QA", "品保部", "quality"),
        ("ENG", "工程部", "engineering"),
        ("HR", "人力资源部", "hr"),
        ("FIN", "财务部", "finance"),
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
    for (name, roles, d) in [
        ("cs.agent", vec!["agent"], "CS"),
        ("eng.wang", vec!["member"], "ENG"),
        ("eng.li", vec!["member"], "ENG"),
        ("hr.xu", vec!["hr"], "HR"),
        ("hr.fin", vec!["hr", "finance"], "HR"),
        ("hr.cs", vec!["hr", "agent"], "CS"),
        ("fin.qian", vec!["finance"], "FIN"),
        ("gm.zhou", vec!["gm"], "QA"),
    ] {
        svc.create_user(
            &sys,
            &NewUser {
                username: name.into(),
                display_name: name.into(),
                roles: roles.into_iter().map(str::to_owned).collect(),
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
    Org { svc, sys, actors }
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

/// A complaint registered by the system and assessed with `lead` leading.
async fn led_complaint(o: &Org, lead: &str, subject: &str) -> Case {
    let mut k = o.svc.create_case(&o.sys, &input("complaint", subject)).await.unwrap().case;
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

async fn listed(svc: &Service, actor: &Actor) -> BTreeSet<i64> {
    let p = svc.cases(actor, CaseFilter::default(), Page { page: 1, per_page: 500 }).await.unwrap();
    assert_eq!(p.total, p.items.len() as i64, "{}", actor.username);
    p.items.into_iter().map(|k| k.id).collect()
}

async fn readable(svc: &Service, actor: &Actor, ids: &[i64]) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for &id in ids {
        match svc.case(actor, id).await {
            Ok(_) => {
                out.insert(id);
            }
            Err(e) => assert!(matches!(e, ServiceError::Domain(DomainError::NotFound { .. })), "{e:?}"),
        }
    }
    out
}

/// The case numbers in the actor's case register (the header row left out).
async fn register_numbers(svc: &Service, actor: &Actor) -> BTreeSet<String> {
    let rows = svc.case_register(actor, CaseFilter::default(), true).await.unwrap();
    rows.into_iter().skip(1).map(|row| row[0].clone()).collect()
}

both_engines!(hr_handles_every_grievance_and_the_list_agrees_for_hr_and_finance_role_sets, |db: TestDb| async move {
    let o = org(&db).await;
    let qa_complaint = led_complaint(&o, "QA", "品保主导").await;
    let cs_complaint = led_complaint(&o, "CS", "客服主导").await;
    // One grievance filed by an engineer, one registered by the system and led by quality.
    let g1 = o.svc.create_case(o.a("eng.wang"), &input("grievance", "加班费未发")).await.unwrap().case;
    let g2 = o.svc.create_case(&o.sys, &input("grievance", "排班不公")).await.unwrap().case;
    let g2 = o.svc.transition(&o.sys, g2.id, "investigate", g2.version, &f(&[("category", "grievance_appeal")])).await;
    let g2 = g2.unwrap();
    let ids = [qa_complaint.id, cs_complaint.id, g1.id, g2.id];
    let expect: [(&str, Vec<i64>); 6] = [
        // HR (alone or beside finance): every grievance, in any department, and nothing else.
        ("hr.xu", vec![g1.id, g2.id]),
        ("hr.fin", vec![g1.id, g2.id]),
        // HR beside customer service: every grievance and customer service's cases.
        ("hr.cs", vec![cs_complaint.id, g1.id, g2.id]),
        ("cs.agent", vec![cs_complaint.id]),
        // Finance reads its own department's cases, no grievance.
        ("fin.qian", vec![]),
        ("gm.zhou", ids.to_vec()),
    ];
    for (who, want) in expect {
        let a = o.a(who);
        let want: BTreeSet<i64> = want.into_iter().collect();
        assert_eq!(readable(&o.svc, a, &ids).await, want, "{who} single reads");
        assert_eq!(listed(&o.svc, a).await, want, "{who} list");
    }
    // HR works a grievance led by another department, and cannot touch a complaint.
    let hr = o.a("hr.xu");
    let k = o.svc.transition(hr, g2.id, "reply", g2.version, &f(&[("reply", "已调整排班")])).await.unwrap();
    assert_eq!(k.state, "replied");
    assert!(not_found(o.svc.comment(hr, qa_complaint.id, "x", false).await));
    // Asking HR's list for complaints finds nothing.
    let typed = CaseFilter { case_type: Some("complaint".into()), ..Default::default() };
    assert!(o.svc.cases(hr, typed, Page { page: 1, per_page: 50 }).await.unwrap().items.is_empty());
});

both_engines!(the_filer_follows_their_grievance_but_never_reads_its_file, |db: TestDb| async move {
    let o = org(&db).await;
    let filer = o.a("eng.wang");
    let g = o.svc.create_case(filer, &input("grievance", "加班费未发")).await.unwrap().case;
    // Their own department gets a task on it: still no case file for them or their colleague.
    o.svc.add_task(&o.sys, g.id, "ENG", "请提供考勤", "2026-12-05").await.unwrap();
    for who in ["eng.wang", "eng.li"] {
        let a = o.a(who);
        assert!(not_found(o.svc.case(a, g.id).await), "{who}");
        assert!(not_found(o.svc.tasks(a, g.id).await), "{who}");
        assert!(not_found(o.svc.clocks(a, g.id).await), "{who}");
        assert!(!listed(&o.svc, a).await.contains(&g.id), "{who}");
    }
    // The filer follows it on their own page; nobody else does there, HR included.
    assert_eq!(o.svc.filed_grievances(filer).await.unwrap().iter().map(|k| k.id).collect::<Vec<_>>(), vec![g.id]);
    assert!(o.svc.filed_grievance(filer, g.id).await.is_ok());
    assert!(o.svc.case_clocks_for_filer(filer, g.id).await.is_ok());
    for who in ["eng.li", "hr.xu", "gm.zhou"] {
        assert!(not_found(o.svc.filed_grievance(o.a(who), g.id).await), "{who}");
        assert!(o.svc.filed_grievances(o.a(who)).await.unwrap().is_empty(), "{who}");
    }
    // A complaint the engineer registered is no "grievance of theirs".
    let k = o.svc.create_case(filer, &input("complaint", "冒烟")).await.unwrap().case;
    assert!(not_found(o.svc.filed_grievance(filer, k.id).await));
});

both_engines!(correcting_reissuing_and_the_register_ask_the_scope_rule, |db: TestDb| async move {
    let o = org(&db).await;
    let k = led_complaint(&o, "QA", "品保主导").await;
    o.svc.add_task(&o.sys, k.id, "ENG", "请分析原因", "2026-12-05").await.unwrap();
    let k = o.svc.case(&o.sys, k.id).await.unwrap();
    let g = o.svc.create_case(&o.sys, &input("grievance", "申诉")).await.unwrap().case;
    let edit = CaseEdit { subject: Some("改过的主题".into()), ..Default::default() };
    // Hidden: not found. Taking part through a task: forbidden. Neither changes anything.
    assert!(not_found(o.svc.edit_case(o.a("cs.agent"), k.id, k.version, &edit).await));
    assert!(forbidden(o.svc.edit_case(o.a("eng.wang"), k.id, k.version, &edit).await));
    assert!(not_found(o.svc.reissue_tracking_code(o.a("cs.agent"), k.id, k.version).await));
    assert!(forbidden(o.svc.reissue_tracking_code(o.a("eng.wang"), k.id, k.version).await));
    assert!(not_found(o.svc.edit_case(o.a("cs.agent"), g.id, g.version, &edit).await));
    assert!(not_found(o.svc.reissue_tracking_code(o.a("eng.wang"), g.id, g.version).await));
    assert_eq!(o.svc.case(&o.sys, k.id).await.unwrap().version, k.version);
    // HR corrects a grievance; the GM corrects the complaint.
    assert!(o.svc.edit_case(o.a("hr.xu"), g.id, g.version, &edit).await.is_ok());
    assert!(o.svc.edit_case(o.a("gm.zhou"), k.id, k.version, &edit).await.is_ok());
    // The register lists what the list lists.
    assert_eq!(register_numbers(&o.svc, o.a("cs.agent")).await, BTreeSet::new());
    assert_eq!(register_numbers(&o.svc, o.a("eng.wang")).await, BTreeSet::from([k.number.clone()]));
    assert_eq!(register_numbers(&o.svc, o.a("hr.xu")).await, BTreeSet::from([g.number.clone()]));
});

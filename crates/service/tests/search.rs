//! Full-text search through the service layer, on both engines, over generated records whose
//! answers are known: for every query, exactly the records whose text contains it.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeSet;

use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::page::Page;
use loopdesk_domain::search::normalize;
use loopdesk_service::cases::CaseInput;
use loopdesk_service::customers::CustomerInput;
use loopdesk_service::org::DepartmentInput;
use loopdesk_service::search::SearchInput;
use loopdesk_service::{OrgSettings, Service};
use loopdesk_store::cases::CaseFilter;
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 60 }).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

const PRODUCTS: &[&str] = &["PS-500", "PS-5000", "PX-500", "TS-200", "KM-75"];
const FAULTS: &[&str] = &[
    "客户要求退款",
    "客户要求退货换新",
    "款式与订单不符",
    "已开具不合格品处置单",
    "处置意见单待审批",
    "外壳破损",
    "上电后冒烟",
    "退回处置",
];
const PLACES: &[&str] = &["深圳", "苏州工业园", "重庆两江新区", "杭州"];
const COMMENTS: &[&str] = &["", "", "同意退款并补发", "请附处置单编号", "已致电客户"];

/// A small deterministic generator, so the data (and its answers) are the same every run.
struct Lcg(u64);
impl Lcg {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        from[((self.0 >> 33) as usize) % from.len()]
    }
}

struct Generated {
    /// (case id, every text of the case: fields and comments, grievance?, lead department)
    cases: Vec<(i64, String, bool, Option<i64>)>,
    /// (customer id, phones)
    customers: Vec<(i64, String)>,
}

async fn generate(svc: &Service, qa: i64, sales: i64) -> Generated {
    let sys = Actor::system();
    let mut rng = Lcg(17);
    let mut customers = Vec::new();
    for i in 0..12 {
        let phone = format!("1{}{:08}", 38 + i % 3, 13_800_000 + i * 7_919);
        let c = svc
            .create_customer(
                &sys,
                &CustomerInput {
                    name: format!("{}客户{i}号", rng.pick(PLACES)),
                    phones: vec![phone.clone()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        customers.push((c.id, phone));
    }
    let mut inputs = Vec::new();
    for i in 0..48 {
        let grievance = i % 9 == 4;
        let product = rng.pick(PRODUCTS);
        let description = format!("{}现场 {} 型号{}，{}。", rng.pick(PLACES), product, product, rng.pick(FAULTS));
        let phone = customers[i % customers.len()].1.clone();
        inputs.push(CaseInput {
            case_type: if grievance { "grievance" } else { "complaint" }.into(),
            contact_name: Some("王先生".into()),
            contact_phone: Some(phone),
            subject: format!("{}故障", rng.pick(FAULTS)),
            description,
            lead_department_id: match i % 3 {
                0 => Some(qa),
                1 => Some(sales),
                _ => None,
            },
            ..Default::default()
        });
    }
    // Registered concurrently: the intake group commit writes cases and their index together.
    let mut tasks = Vec::new();
    for input in inputs.clone() {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move { svc.create_case(&Actor::system(), &input).await.unwrap() }));
    }
    let mut cases = Vec::new();
    for (t, input) in tasks.into_iter().zip(&inputs) {
        let k = t.await.unwrap().case;
        let comment = rng.pick(COMMENTS);
        if !comment.is_empty() {
            svc.comment(&sys, k.id, comment, false).await.unwrap();
        }
        let text = format!(
            "{} {}\n{}\n{}\n{}\n{}",
            k.number,
            input.subject,
            input.description,
            input.contact_name.clone().unwrap_or_default(),
            input.contact_phone.clone().unwrap_or_default(),
            comment
        );
        cases.push((k.id, text, input.case_type == "grievance", k.lead_department_id));
    }
    Generated { cases, customers }
}

fn all_pages() -> Page {
    Page::parse(Some(1), Some(500)).unwrap()
}

async fn found(svc: &Service, actor: &Actor, q: &str, kind: &str) -> BTreeSet<i64> {
    let input = SearchInput { q: q.into(), kind: Some(kind.into()), ..Default::default() };
    let r = svc.search(actor, &input, all_pages()).await.unwrap();
    assert!(!r.total_is_lower_bound);
    let ids: BTreeSet<i64> = r.items.iter().map(|i| i.id).collect();
    for i in &r.items {
        assert_eq!(i.kind, kind);
        assert!(i.snippet.iter().any(|f| f.hit) || i.source == "case", "{q}: no passage marked in {i:?}");
    }
    ids
}

fn agent(scope: Scope) -> Actor {
    Actor {
        user_id: Some(999_999),
        username: "agent".into(),
        department_id: None,
        roles: vec![Role::Agent],
        scope,
        kind: ActorKind::Staff,
    }
}

async fn departments(svc: &Service) -> (i64, i64) {
    let sys = Actor::system();
    let mut ids = Vec::new();
    for (code, name) in [("QA", "品保部"), ("SALES", "销售部")] {
        let d = svc
            .create_department(
                &sys,
                &DepartmentInput { code: code.into(), name: name.into(), kind: "quality".into(), parent_id: None },
            )
            .await
            .unwrap();
        ids.push(d.id);
    }
    (ids[0], ids[1])
}

both_engines!(each_query_finds_exactly_the_records_containing_it, |db: TestDb| async move {
    let svc = service(&db).await;
    let (qa, sales) = departments(&svc).await;
    let g = generate(&svc, qa, sales).await;
    let admin = Actor::system();
    for q in ["退款", "处置单", "PS-500", "处置", "款", "冒烟", "两江新区"] {
        let want: BTreeSet<i64> = g
            .cases
            .iter()
            .filter(|(_, text, ..)| normalize(text).contains(&normalize(q)))
            .map(|(id, ..)| *id)
            .collect();
        assert!(!want.is_empty() && want.len() < g.cases.len(), "{q}: the data should tell matches apart");
        assert_eq!(found(&svc, &admin, q, "case").await, want, "query {q}");
        // The case list takes the same q and finds the same cases.
        let f = CaseFilter { text: Some(loopdesk_domain::search::parse_query(q).unwrap()), ..Default::default() };
        let listed: BTreeSet<i64> =
            svc.cases(&admin, f, all_pages()).await.unwrap().items.iter().map(|k| k.id).collect();
        assert_eq!(listed, want, "case list q={q}");
    }
    // A fragment of a customer's phone number, from the middle of it.
    let (cid, phone) = &g.customers[5];
    let fragment = &phone[3..8];
    let want: BTreeSet<i64> = g.customers.iter().filter(|(_, p)| p.contains(fragment)).map(|(id, _)| *id).collect();
    assert!(want.contains(cid));
    assert_eq!(found(&svc, &admin, fragment, "customer").await, want, "phone fragment {fragment}");
    let want_cases: BTreeSet<i64> =
        g.cases.iter().filter(|(_, text, ..)| text.contains(fragment)).map(|(id, ..)| *id).collect();
    assert!(!want_cases.is_empty());
    assert_eq!(found(&svc, &admin, fragment, "case").await, want_cases, "phone fragment {fragment} in cases");
});

both_engines!(a_grievance_never_appears_in_an_agents_results, |db: TestDb| async move {
    let svc = service(&db).await;
    let (qa, sales) = departments(&svc).await;
    let g = generate(&svc, qa, sales).await;
    let contains = |q: &str| -> Vec<&(i64, String, bool, Option<i64>)> {
        g.cases.iter().filter(|(_, text, ..)| normalize(text).contains(&normalize(q))).collect()
    };
    for q in ["退款", "处置单", "PS-500"] {
        let grievances: BTreeSet<i64> = contains(q).iter().filter(|c| c.2).map(|c| c.0).collect();
        let others: BTreeSet<i64> = contains(q).iter().filter(|c| !c.2).map(|c| c.0).collect();
        assert!(!grievances.is_empty(), "{q}: the data should hold a matching grievance");
        let everyone = agent(Scope::All);
        let input = SearchInput { q: q.into(), ..Default::default() };
        let r = svc.search(&everyone, &input, all_pages()).await.unwrap();
        let ids: BTreeSet<i64> = r.items.iter().filter(|i| i.kind == "case").map(|i| i.id).collect();
        assert_eq!(ids, others, "{q}: an agent sees the other cases, no grievance");
        assert!(r.items.iter().all(|i| !grievances.contains(&i.id) || i.kind != "case"));
        // Not even as a count.
        let case_docs = r.items.iter().filter(|i| i.kind == "case").count() as i64;
        assert_eq!(r.total, r.items.len() as i64);
        assert!(case_docs >= others.len() as i64);
        // The management representative does see them.
        let rep = Actor { roles: vec![Role::MgmtRep], ..agent(Scope::All) };
        assert_eq!(found(&svc, &rep, q, "case").await, &others | &grievances);
        // A department-scoped agent sees its department's cases and the intake queue only.
        let scoped = agent(Scope::Departments(vec![qa]));
        let want: BTreeSet<i64> =
            contains(q).iter().filter(|c| !c.2 && c.3.is_none_or(|d| d == qa)).map(|c| c.0).collect();
        assert_eq!(found(&svc, &scoped, q, "case").await, want, "{q}: department scope");
    }
});

both_engines!(a_case_moved_to_another_department_takes_its_documents_along, |db: TestDb| async move {
    let svc = service(&db).await;
    let (qa, _sales) = departments(&svc).await;
    let sys = Actor::system();
    let k = svc
        .create_case(
            &sys,
            &CaseInput {
                case_type: "complaint".into(),
                contact_name: Some("李女士".into()),
                subject: "电源柜漏电".into(),
                description: "客户要求退款".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .case;
    svc.comment(&sys, k.id, "已安排上门检测漏电", false).await.unwrap();
    let scoped = agent(Scope::Departments(vec![99_999]));
    // In the intake queue (no lead department yet) every agent finds it, by its text and its comment.
    assert_eq!(found(&svc, &scoped, "漏电", "case").await, BTreeSet::from([k.id]));
    assert_eq!(found(&svc, &scoped, "上门", "case").await, BTreeSet::from([k.id]));
    // Given to QA, it leaves the other department's results, comment included.
    let mut moved = k.clone();
    moved.lead_department_id = Some(qa);
    let mut tx = svc.store.begin().await.unwrap();
    loopdesk_store::cases::update_case(&mut tx.conn(), &moved, k.version).await.unwrap();
    tx.commit().await.unwrap();
    assert!(found(&svc, &scoped, "漏电", "case").await.is_empty());
    assert!(found(&svc, &scoped, "上门", "case").await.is_empty());
    assert_eq!(found(&svc, &agent(Scope::Departments(vec![qa])), "上门", "case").await, BTreeSet::from([k.id]));
});

both_engines!(reindex_rebuilds_every_document_with_the_same_answers, |db: TestDb| async move {
    let svc = service(&db).await;
    let (qa, sales) = departments(&svc).await;
    let g = generate(&svc, qa, sales).await;
    let admin = Actor::system();
    let before = found(&svc, &admin, "退款", "case").await;
    let mut calls = Vec::new();
    let n = svc.reindex(&admin, |done, total| calls.push((done, total))).await.unwrap();
    let comments = g.cases.len() as u64; // at most one comment each; counted below
    assert!(n >= (g.cases.len() + g.customers.len()) as u64 && n <= comments * 2 + g.customers.len() as u64);
    assert_eq!(calls.last().map(|c| c.0), Some(n));
    assert_eq!(found(&svc, &admin, "退款", "case").await, before);
    // Refused for those not allowed to change settings, and nothing written.
    assert!(svc.reindex(&agent(Scope::All), |_, _| {}).await.is_err());
});

both_engines!(a_query_without_words_is_refused_naming_q, |db: TestDb| async move {
    let svc = service(&db).await;
    let bad = SearchInput { q: " ，。 ".into(), ..Default::default() };
    let e = svc.search(&Actor::system(), &bad, all_pages()).await.unwrap_err();
    assert!(format!("{e:?}").contains("\"q\""), "{e:?}");
    let bad_kind = SearchInput { q: "退款".into(), kind: Some("nope".into()), ..Default::default() };
    let e = svc.search(&Actor::system(), &bad_kind, all_pages()).await.unwrap_err();
    assert!(format!("{e:?}").contains("\"kind\""), "{e:?}");
});

both_engines!(a_record_with_a_very_long_word_is_stored_and_found, |db: TestDb| async move {
    let svc = service(&db).await;
    let long = format!("PN{}", "7".repeat(4000));
    let k = svc
        .create_case(
            &Actor::system(),
            &CaseInput {
                case_type: "complaint".into(),
                contact_name: Some("王".into()),
                subject: "长编号".into(),
                description: format!("料号 {long} 漏水"),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .case;
    assert_eq!(found(&svc, &Actor::system(), "PN777777", "case").await, BTreeSet::from([k.id]));
});

//! The knowledge base through the service layer on both engines: an article goes through review
//! and publication with its history, emergency plans need the general manager, published articles
//! are found by search according to their visibility.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::access::{Actor, ActorKind, Role, Scope};
use loopdesk_domain::kb::RevisionText;
use loopdesk_domain::page::Page;
use loopdesk_service::ServiceError;
use loopdesk_service::kb::ArticleInput;
use loopdesk_service::search::SearchInput;
use loopdesk_service::{OrgSettings, Service};
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn service(db: &TestDb) -> Service {
    let s = Store::connect(&db.url, &StoreOptions { max_connections: 20 }).await.unwrap();
    s.migrate().await.unwrap();
    Service::new(s, OrgSettings::default())
}

fn staff(roles: &[Role]) -> Actor {
    Actor {
        user_id: None,
        username: format!("{roles:?}"),
        department_id: None,
        roles: roles.to_vec(),
        scope: Scope::All,
        kind: ActorKind::Staff,
    }
}

fn input(kind: &str, visibility: &str, solution: &str) -> ArticleInput {
    ArticleInput {
        kind: kind.into(),
        visibility: visibility.into(),
        text: RevisionText {
            title: "PS-500 上电后冒烟".into(),
            problem: "上电后冒烟".into(),
            solution: solution.into(),
            products: vec!["PS-500".into()],
            ..Default::default()
        },
        ..Default::default()
    }
}

fn search(q: &str) -> SearchInput {
    SearchInput { q: q.into(), kind: Some("article".into()), ..Default::default() }
}

both_engines!(an_article_goes_through_review_and_publication_with_its_history, |db: TestDb| async move {
    let svc = service(&db).await;
    let (agent, qa) = (staff(&[Role::Agent]), staff(&[Role::Qa]));
    let a = svc.create_article(&agent, &input("problem_solution", "portal", "更换电源板")).await.unwrap();
    let id = a.article.id;
    // A draft cannot be approved, and an agent approves nothing.
    assert!(matches!(svc.move_article_revision(&qa, id, 1, "approve").await, Err(ServiceError::Domain(_))));
    svc.move_article_revision(&agent, id, 1, "submit").await.unwrap();
    assert!(svc.move_article_revision(&agent, id, 1, "approve").await.is_err());
    let r = svc.move_article_revision(&qa, id, 1, "approve").await.unwrap();
    assert_eq!((r.state.as_str(), r.approved_role.as_deref()), ("published", Some("qa")));
    assert!(r.approved_at.is_some());
    // Published: found on the portal, by staff; the portal sees only the published revision.
    let page = Page { page: 1, per_page: 20 };
    assert_eq!(svc.search(&Actor::portal(), &search("冒烟"), page).await.unwrap().total, 1);
    // A second revision: the first stays as it was; publishing it archives the first.
    let mut t = input("problem_solution", "portal", "更换电源板\n检查保险丝").text;
    t.title = "PS-500 上电后冒烟（修订）".into();
    svc.revise_article(&agent, id, &t, None, "加检查步骤").await.unwrap();
    assert!(svc.revise_article(&agent, id, &t, None, "").await.is_err(), "one open revision at a time");
    svc.move_article_revision(&agent, id, 2, "submit").await.unwrap();
    svc.move_article_revision(&qa, id, 2, "approve").await.unwrap();
    let d = svc.article(&agent, id).await.unwrap();
    let states: Vec<(i64, &str)> = d.revisions.iter().map(|r| (r.revision, r.state.as_str())).collect();
    assert_eq!(states, vec![(2, "published"), (1, "archived")]);
    assert_eq!(d.revisions[1].solution, "更换电源板", "an old revision's text never changes");
    let diff = svc.article_diff(&agent, id, 1, 2).await.unwrap();
    let fields: Vec<&str> = diff.iter().map(|f| f.field).collect();
    assert_eq!(fields, vec!["title", "solution"]);
    assert!(diff[1].lines.iter().any(|l| l.op == "added" && l.text == "检查保险丝"));
    // Archived: no longer found.
    svc.move_article_revision(&agent, id, 2, "archive").await.unwrap();
    assert_eq!(svc.search(&Actor::portal(), &search("冒烟"), page).await.unwrap().total, 0);
});

both_engines!(emergency_plans_need_the_gm_and_internal_articles_stay_off_the_portal, |db: TestDb| async move {
    let svc = service(&db).await;
    let (agent, qa, gm) = (staff(&[Role::Agent]), staff(&[Role::Qa, Role::MgmtRep]), staff(&[Role::Gm]));
    let a = svc.create_article(&agent, &input("emergency_plan", "internal", "启动应急预案")).await.unwrap();
    svc.move_article_revision(&agent, a.article.id, 1, "submit").await.unwrap();
    assert!(matches!(
        svc.move_article_revision(&qa, a.article.id, 1, "approve").await,
        Err(ServiceError::Domain(loopdesk_domain::DomainError::Forbidden { .. }))
    ));
    let r = svc.move_article_revision(&gm, a.article.id, 1, "approve").await.unwrap();
    assert_eq!(r.approved_role.as_deref(), Some("gm"));
    let page = Page { page: 1, per_page: 20 };
    assert_eq!(svc.search(&agent, &search("应急"), page).await.unwrap().total, 1);
    assert_eq!(svc.search(&Actor::portal(), &search("应急"), page).await.unwrap().total, 0);
    assert!(svc.article(&Actor::portal(), a.article.id).await.is_err());
    let bad = svc.create_article(&agent, &input("problem_solution", "secret", "x")).await.unwrap_err();
    assert!(
        matches!(bad, ServiceError::Domain(loopdesk_domain::DomainError::Invalid { ref field, .. }) if field == "visibility")
    );
});

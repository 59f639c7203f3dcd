//! The storage suite: every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::access::{Actor, Role};
use loopdesk_domain::audit::{AuditAction, ChainVerifier};
use loopdesk_domain::page::Page;
use loopdesk_store::org::{self, DepartmentFields, UserFields, UserFilter};
use loopdesk_store::{Store, StoreError, StoreOptions, audit};
use loopdesk_test_support::{Engine, TestDb, both_engines};

async fn open(db: &TestDb) -> Store {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.expect("connect");
    s.migrate().await.expect("migrate");
    s
}

fn dept<'a>(code: &'a str, name: &'a str, parent: Option<i64>) -> DepartmentFields<'a> {
    DepartmentFields { code, name, kind: "quality", parent_id: parent }
}

both_engines!(migrations_apply_once_and_are_idempotent, |db: TestDb| async move {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    assert!(!s.pending_migrations().await.unwrap().is_empty());
    assert!(s.migrate().await.unwrap() >= 1);
    assert_eq!(s.migrate().await.unwrap(), 0);
    assert!(s.pending_migrations().await.unwrap().is_empty());
    s.close().await;
    // Reopening an existing database keeps its data and needs no migration.
    let s = open(&db).await;
    let mut tx = s.begin().await.unwrap();
    org::insert_department(&mut tx.conn(), &dept("QA", "品保部", None)).await.unwrap();
    tx.commit().await.unwrap();
    s.close().await;
    let s = open(&db).await;
    assert_eq!(org::departments(&mut s.read().await.unwrap().conn()).await.unwrap().len(), 1);
});

both_engines!(unique_codes_become_named_conflicts, |db: TestDb| async move {
    let s = open(&db).await;
    let mut tx = s.begin().await.unwrap();
    org::insert_department(&mut tx.conn(), &dept("QA", "品保部", None)).await.unwrap();
    let err = org::insert_department(&mut tx.conn(), &dept("QA", "质管部", None)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { ref constraint } if constraint == "departments_code_key"), "{err:?}");
});

both_engines!(stale_version_changes_nothing, |db: TestDb| async move {
    let s = open(&db).await;
    let mut tx = s.begin().await.unwrap();
    let d = org::insert_department(&mut tx.conn(), &dept("CS", "客服部", None)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = s.begin().await.unwrap();
    let d2 = org::update_department(&mut tx.conn(), d.id, d.version, &dept("CS", "客户服务部", None)).await.unwrap();
    assert_eq!(d2.version, d.version + 1);
    let err = org::update_department(&mut tx.conn(), d.id, d.version, &dept("CS", "旧名", None)).await.unwrap_err();
    assert!(matches!(err, StoreError::Stale));
    let err = org::update_department(&mut tx.conn(), 999, 1, &dept("X", "x", None)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound));
    tx.commit().await.unwrap();
    let now = org::department(&mut s.read().await.unwrap().conn(), d.id).await.unwrap();
    assert_eq!(now.name, "客户服务部");
});

both_engines!(users_roles_and_scoped_listing, |db: TestDb| async move {
    let s = open(&db).await;
    let mut tx = s.begin().await.unwrap();
    let a = org::insert_department(&mut tx.conn(), &dept("A", "A", None)).await.unwrap();
    let b = org::insert_department(&mut tx.conn(), &dept("B", "B", None)).await.unwrap();
    for (name, d, roles) in [("zhang", a.id, vec![Role::Agent, Role::DeptHead]), ("li", b.id, vec![Role::Qa])] {
        let f = UserFields {
            username: name,
            display_name: name,
            email: None,
            phone: None,
            department_id: Some(d),
            locale: "zh-CN",
            active: true,
            roles: &roles,
        };
        org::insert_user(&mut tx.conn(), &f, "hash").await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut h = s.read().await.unwrap();
    let all = org::users(&mut h.conn(), &UserFilter::default(), Page::default()).await.unwrap();
    assert_eq!(all.total, 2);
    assert_eq!(all.items[1].roles, vec![Role::DeptHead, Role::Agent]);
    let scoped = UserFilter { within: Some(vec![b.id]), ..Default::default() };
    let only_b = org::users(&mut h.conn(), &scoped, Page::default()).await.unwrap();
    assert_eq!(only_b.items.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), vec!["li"]);
    let heads = org::users_with_role(&mut h.conn(), Role::DeptHead, Some(a.id)).await.unwrap();
    assert_eq!(heads.len(), 1);
    let q = UserFilter { q: Some("zha".into()), ..Default::default() };
    assert_eq!(org::users(&mut h.conn(), &q, Page::default()).await.unwrap().total, 1);
});

both_engines!(audit_chain_appends_in_transactions_and_verifies, |db: TestDb| async move {
    let s = open(&db).await;
    let actor = Actor::system();
    // A rolled-back transaction leaves no audit event behind.
    let mut tx = s.begin().await.unwrap();
    tx.audit(&actor, AuditAction::Create, "department", 1, None::<&()>, Some(&"x")).await.unwrap();
    drop(tx);
    for i in 0..5 {
        let mut tx = s.begin().await.unwrap();
        tx.audit(&actor, AuditAction::Update, "department", i, Some(&i), Some(&(i + 1))).await.unwrap();
        tx.audit(&actor, AuditAction::Update, "user", i, Some(&"前"), Some(&"后")).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut h = s.read().await.unwrap();
    let events = audit::chunk(&mut h.conn(), 0, 1000).await.unwrap();
    assert_eq!(events.len(), 10);
    assert_eq!(events[0].seq, 1);
    let mut v = ChainVerifier::new();
    for e in &events {
        v.check(e).unwrap();
    }
    let page = audit::list(
        &mut h.conn(),
        &audit::AuditFilter { entity: Some("user".into()), ..Default::default() },
        Page::default(),
    )
    .await
    .unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(page.items[0].after.as_deref(), Some("\"后\""));
});

both_engines!(concurrent_writers_keep_one_unbroken_chain, |db: TestDb| async move {
    let s = open(&db).await;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let mut tx = s.begin().await.unwrap();
                tx.audit(&Actor::system(), AuditAction::Create, "probe", t * 100 + i, None::<&()>, Some(&i))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = audit::chunk(&mut s.read().await.unwrap().conn(), 0, 1000).await.unwrap();
    assert_eq!(events.len(), 80);
    let mut v = ChainVerifier::new();
    for e in &events {
        v.check(e).unwrap();
    }
});

#[tokio::test]
async fn both_engines_have_the_same_tables_and_columns() {
    let (a, b) = (TestDb::new(Engine::Sqlite).await, TestDb::new(Engine::Postgres).await);
    let (sa, sb) = (open(&a).await, open(&b).await);
    assert_eq!(sa.schema_columns().await.unwrap(), sb.schema_columns().await.unwrap());
}

both_engines!(a_dropped_transaction_frees_the_database_for_other_writers_at_once, |db: TestDb| async move {
    let s = open(&db).await;
    let actor = Actor::system();
    let mut tx = s.begin().await.unwrap();
    tx.audit(&actor, AuditAction::Create, "department", 1, None::<&()>, Some(&"dropped")).await.unwrap();
    drop(tx);
    // Another process (the CLI beside a running server) writes next; it must not wait for the
    // first store's next transaction to clear what the dropped one left.
    let other = open(&db).await;
    let mut tx = tokio::time::timeout(std::time::Duration::from_secs(3), other.begin())
        .await
        .expect("the dropped transaction's lock was released")
        .unwrap();
    tx.audit(&actor, AuditAction::Create, "department", 2, None::<&()>, Some(&"kept")).await.unwrap();
    tx.commit().await.unwrap();
    // And the first store goes on writing.
    let mut tx = s.begin().await.unwrap();
    tx.audit(&actor, AuditAction::Create, "department", 3, None::<&()>, Some(&"also kept")).await.unwrap();
    tx.commit().await.unwrap();
    let mut h = s.read().await.unwrap();
    let events = audit::chunk(&mut h.conn(), 0, 100).await.unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.entity_id.as_str()).collect();
    assert_eq!(ids, ["2", "3"]);
});

//! Calendar storage on both engines: insert, read by code, versioned update, named unique key.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_store::calendars::{self, CalendarFields};
use loopdesk_store::{Store, StoreError, StoreOptions};
use loopdesk_test_support::{TestDb, both_engines};

async fn open(db: &TestDb) -> Store {
    let s = Store::connect(&db.url, &StoreOptions::default()).await.expect("connect");
    s.migrate().await.expect("migrate");
    s
}

const SPEC: &str = r#"{"timezone":"Asia/Shanghai","weekly":{"mon":[["08:30","12:00"]]},"exceptions":[]}"#;

fn fields<'a>(code: &'a str, name: &'a str, spec: &'a str) -> CalendarFields<'a> {
    CalendarFields { code, name, timezone: "Asia/Shanghai", spec, is_default: false }
}

both_engines!(calendars_insert_list_and_read_by_code, |db: TestDb| async move {
    let s = open(&db).await;
    let mut tx = s.begin().await.unwrap();
    let office =
        calendars::insert(&mut tx.conn(), &CalendarFields { is_default: true, ..fields("OFFICE", "办公时间", SPEC) })
            .await
            .unwrap();
    calendars::insert(&mut tx.conn(), &fields("24X7", "全天候", SPEC)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(office.version, 1);
    assert!(office.is_default);
    let mut h = s.read().await.unwrap();
    let all = calendars::list(&mut h.conn()).await.unwrap();
    assert_eq!(all.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), vec!["24X7", "OFFICE"]);
    let got = calendars::get_by_code(&mut h.conn(), "OFFICE").await.unwrap();
    assert_eq!(got, office);
    assert_eq!(got.spec, SPEC);
    assert!(matches!(calendars::get_by_code(&mut h.conn(), "NONE").await, Err(StoreError::NotFound)));
});

both_engines!(calendar_codes_are_unique_by_named_constraint, |db: TestDb| async move {
    let s = open(&db).await;
    let mut tx = s.begin().await.unwrap();
    calendars::insert(&mut tx.conn(), &fields("OFFICE", "a", SPEC)).await.unwrap();
    let err = calendars::insert(&mut tx.conn(), &fields("OFFICE", "b", SPEC)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { ref constraint } if constraint == "calendars_code_key"), "{err:?}");
});

both_engines!(calendar_update_checks_the_version, |db: TestDb| async move {
    let s = open(&db).await;
    let mut tx = s.begin().await.unwrap();
    let c = calendars::insert(&mut tx.conn(), &fields("OFFICE", "办公时间", SPEC)).await.unwrap();
    tx.commit().await.unwrap();
    let changed = r#"{"timezone":"Asia/Shanghai","weekly":{},"exceptions":[]}"#;
    let mut tx = s.begin().await.unwrap();
    let c2 = calendars::update(&mut tx.conn(), c.id, c.version, &fields("OFFICE", "新名", changed)).await.unwrap();
    assert_eq!(c2.version, 2);
    assert_eq!(c2.spec, changed);
    let err = calendars::update(&mut tx.conn(), c.id, c.version, &fields("OFFICE", "旧", SPEC)).await.unwrap_err();
    assert!(matches!(err, StoreError::Stale), "{err:?}");
    let err = calendars::update(&mut tx.conn(), 999, 1, &fields("X", "x", SPEC)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    tx.commit().await.unwrap();
    let now = calendars::get_by_code(&mut s.read().await.unwrap().conn(), "OFFICE").await.unwrap();
    assert_eq!((now.name.as_str(), now.version), ("新名", 2));
});

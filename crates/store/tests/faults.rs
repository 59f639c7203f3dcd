//! Storage faults (issue #13): a full disk, a deleted or replaced SQLite file, a dropped
//! PostgreSQL database or a terminated backend are `StoreError::Unavailable`, and the store
//! recovers by itself once the fault is gone.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::access::Actor;
use loopdesk_domain::audit::{AuditAction, ChainVerifier};
use loopdesk_store::{Store, StoreError, StoreOptions, audit};
use loopdesk_test_support::smallfs::SmallFs;
use loopdesk_test_support::{Engine, TestDb};
use sqlx::Connection;

async fn write_event(s: &Store, i: usize, payload: &str) -> Result<(), StoreError> {
    let mut tx = s.begin().await?;
    tx.audit(&Actor::system(), AuditAction::Create, "filler", i, None::<&()>, Some(&payload)).await?;
    tx.commit().await
}

async fn chain_ok(s: &Store) -> u64 {
    let mut h = s.read().await.unwrap();
    let mut v = ChainVerifier::new();
    for e in audit::chunk(&mut h.conn(), 0, 100_000).await.unwrap() {
        v.check(&e).unwrap();
    }
    v.checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_recover_by_themselves_after_a_full_disk() {
    let fs = SmallFs::new(3072);
    let url = format!("sqlite://{}", fs.path().join("loopdesk.db").display());
    let s = Store::connect(&url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    s.set_min_free_bytes(256 * 1024);
    let payload = "满".repeat(10_000);
    let mut written = 0;
    let full = loop {
        match write_event(&s, written, &payload).await {
            Ok(()) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 1000, "a 1.5 MiB file system never filled up");
    };
    assert!(written > 0, "nothing could be written at all");
    assert!(matches!(full, StoreError::Unavailable { .. }), "a full disk is a storage fault, not {full:?}");
    // Still full: every further write is refused as unavailable, none with a confused connection.
    for i in 0..3 {
        let again = write_event(&s, 10_000 + i, &payload).await.unwrap_err();
        assert!(matches!(again, StoreError::Unavailable { .. }), "while full: {again:?}");
    }
    let problems = s.health().await;
    assert!(!problems.is_empty(), "health passes on a full disk");
    // Space is back: the very next write succeeds, without a restart.
    fs.resize(64 * 1024);
    write_event(&s, 20_000, "回来了").await.unwrap();
    write_event(&s, 20_001, "again").await.unwrap();
    assert_eq!(chain_ok(&s).await, written as u64 + 2, "every acknowledged event is kept and linked");
    assert_eq!(s.health().await, Vec::<String>::new());
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_sqlite_file_refuses_writes_and_fails_health() {
    let db = TestDb::new(Engine::Sqlite).await;
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    s.set_min_free_bytes(0);
    write_event(&s, 1, "before").await.unwrap();
    assert_eq!(s.health().await, Vec::<String>::new());
    let file = db.dir.path().join("loopdesk.db");
    std::fs::remove_file(&file).unwrap();
    let err = write_event(&s, 2, "lost on restart").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { ref reason } if reason.contains("deleted")), "{err:?}");
    let problems = s.health().await;
    assert!(problems.iter().any(|p| p.contains("deleted")), "{problems:?}");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_sqlite_file_refuses_writes_and_fails_health() {
    let db = TestDb::new(Engine::Sqlite).await;
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    s.set_min_free_bytes(0);
    write_event(&s, 1, "before").await.unwrap();
    let file = db.dir.path().join("loopdesk.db");
    let other = db.dir.path().join("other.db");
    std::fs::copy(&file, &other).unwrap();
    std::fs::rename(&other, &file).unwrap();
    let err = write_event(&s, 2, "into the old file").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { ref reason } if reason.contains("replaced")), "{err:?}");
    assert!(s.health().await.iter().any(|p| p.contains("replaced")));
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_space_below_the_threshold_fails_health() {
    let fs = SmallFs::new(4096);
    let url = format!("sqlite://{}", fs.path().join("loopdesk.db").display());
    let s = Store::connect(&url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    s.set_min_free_bytes(1024 * 1024);
    assert_eq!(s.health().await, Vec::<String>::new());
    s.set_min_free_bytes(8 * 1024 * 1024);
    let problems = s.health().await;
    assert!(problems.iter().any(|p| p.contains("free space")), "{problems:?}");
    s.close().await;
}

fn pg_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

async fn pg_admin(url: &str) -> sqlx::PgConnection {
    let admin = format!("{}/postgres", url.rsplit_once('/').unwrap().0);
    sqlx::PgConnection::connect(&admin).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_terminated_backends_are_unavailable_then_recover() {
    let db = TestDb::new(Engine::Postgres).await;
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    write_event(&s, 1, "before").await.unwrap();
    let mut admin = pg_admin(&db.url).await;
    // A backend terminated under an open transaction: its write cannot commit.
    let mut tx = s.begin().await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(pg_name(&db.url))
    .execute(&mut admin)
    .await
    .unwrap();
    let err = match tx.audit(&Actor::system(), AuditAction::Create, "filler", 2, None::<&()>, Some(&"x")).await {
        Ok(_) => tx.commit().await.unwrap_err(),
        Err(e) => {
            drop(tx);
            e
        }
    };
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    // The pool opens fresh connections: the next writes go through.
    let mut ok = false;
    for i in 0..5 {
        if write_event(&s, 100 + i, "recovered").await.is_ok() {
            ok = true;
            break;
        }
    }
    assert!(ok, "the store did not recover after the backends were terminated");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dropped_database_is_unavailable() {
    let db = TestDb::new(Engine::Postgres).await;
    let s = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    s.migrate().await.unwrap();
    write_event(&s, 1, "before").await.unwrap();
    let mut admin = pg_admin(&db.url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {} WITH (FORCE)", pg_name(&db.url))))
        .execute(&mut admin)
        .await
        .unwrap();
    for i in 0..3 {
        let err = write_event(&s, 2 + i, "after").await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    }
    assert!(!s.health().await.is_empty());
    s.close().await;
}

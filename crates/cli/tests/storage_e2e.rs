//! End-to-end storage faults (issue #13) through the real binary: a full disk, files made
//! immutable, a deleted database file, a dropped PostgreSQL database. Each answers 503 with
//! `Retry-After` and `{"error":{"code":"unavailable"}}`, `/healthz` says why, the server stays
//! up, and writes succeed again once the fault is gone, without a restart.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::process::Command;

use loopdesk_test_support::app::{self, DEMO_PASSWORD, Server, browser_login, client, token};
use loopdesk_test_support::smallfs::SmallFs;
use loopdesk_test_support::{Engine, TestDb};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

async fn register(s: &Server, tok: &str, description: &str) -> reqwest::Response {
    client()
        .post(format!("{}/api/v1/cases", s.base))
        .bearer_auth(tok)
        .json(&json!({"type":"complaint","subject":"外壳开裂","description":description}))
        .send()
        .await
        .unwrap()
}

async fn assert_unavailable(r: reqwest::Response) {
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("retry-after").is_some(), "503 without Retry-After");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
}

async fn health(s: &Server) -> (StatusCode, Value) {
    let r = client().get(format!("{}/healthz", s.base)).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_writes_recover_without_a_restart() {
    let db = TestDb::new(Engine::Sqlite).await;
    let fs = SmallFs::new(2 * 1024);
    let url = format!("sqlite://{}", fs.path().join("loopdesk.db").display());
    let dir = fs.path().to_string_lossy().to_string();
    let env = [("LOOPDESK_DATABASE_URL", url.as_str()), ("LOOPDESK_DATA_DIR", dir.as_str())];
    // The demo organisation is loaded on a roomy disk and copied over.
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)").await;
    std::fs::copy(db.dir.path().join("loopdesk.db"), fs.path().join("loopdesk.db")).unwrap();
    let s = app::serve(BIN, &db, &[env[0], env[1], ("LOOPDESK_MIN_FREE_SPACE_MB", "1")]);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let text = "底部漏水，".repeat(800);
    let mut registered = 0;
    let refused = loop {
        let r = register(&s, &agent, &text).await;
        if r.status() != StatusCode::CREATED {
            break r;
        }
        registered += 1;
        assert!(registered < 2000, "the 2 MiB file system never filled up");
    };
    assert_unavailable(refused).await;
    assert_unavailable(register(&s, &agent, "仍然满").await).await;
    let (status, body) = health(&s).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    fs.resize(64 * 1024);
    let r = register(&s, &agent, "空间恢复后的第一件").await;
    assert_eq!(r.status(), StatusCode::CREATED, "the first write after space came back");
    assert_eq!(health(&s).await.0, StatusCode::OK);
    let list = app::get_json(&s, &agent, "/cases?per_page=1").await;
    assert!(list["total"].as_i64().unwrap() > registered, "{list}");
}

fn chattr(flag: &str, files: &[std::path::PathBuf]) {
    let st = Command::new("chattr").arg(flag).args(files).status().unwrap();
    assert!(st.success(), "chattr {flag}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_database_files_answer_503_and_do_not_kill_the_server() {
    let db = TestDb::new(Engine::Sqlite).await;
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let mut s = app::serve(BIN, &db, &[("LOOPDESK_MIN_FREE_SPACE_MB", "0")]);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let cookie = browser_login(&s, "agent", DEMO_PASSWORD).await;
    let files: Vec<_> =
        ["loopdesk.db", "loopdesk.db-wal", "loopdesk.db-shm"].iter().map(|f| db.dir.path().join(f)).collect();
    for round in 0..3 {
        // A write just before: the shared-memory index has pages the next write stores into.
        assert_eq!(register(&s, &agent, "之前").await.status(), StatusCode::CREATED);
        chattr("+i", &files);
        let r = register(&s, &agent, "不可写").await;
        let page = client().get(format!("{}/cases", s.base)).header("cookie", &cookie).send().await.unwrap();
        let (status, body) = health(&s).await;
        chattr("-i", &files);
        assert_unavailable(r).await;
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE, "round {round}");
        assert!(page.headers().get("retry-after").is_some());
        assert!(page.text().await.unwrap().contains("数据库暂时无法处理此请求"));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body["problems"].to_string().contains("immutable"), "{body}");
        assert!(s.alive(), "the server died on immutable files (round {round})");
        assert_eq!(register(&s, &agent, "恢复").await.status(), StatusCode::CREATED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_file_fails_health_and_acknowledges_no_write() {
    let db = TestDb::new(Engine::Sqlite).await;
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[("LOOPDESK_MIN_FREE_SPACE_MB", "0")]);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    assert_eq!(health(&s).await.0, StatusCode::OK);
    for f in ["loopdesk.db", "loopdesk.db-wal", "loopdesk.db-shm"] {
        let _ = std::fs::remove_file(db.dir.path().join(f));
    }
    let (status, body) = health(&s).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["problems"].to_string().contains("deleted"), "{body}");
    assert_unavailable(register(&s, &agent, "会丢失").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_postgres_database_answers_503_not_500() {
    let db = TestDb::new(Engine::Postgres).await;
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    assert_eq!(register(&s, &agent, "之前").await.status(), StatusCode::CREATED);
    let (admin, name) = db.url.rsplit_once('/').unwrap();
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{admin}/postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut c).await.unwrap();
    assert_unavailable(register(&s, &agent, "之后").await).await;
    let r = client().get(format!("{}/api/v1/cases", s.base)).bearer_auth(&agent).send().await.unwrap();
    assert_unavailable(r).await;
    assert_eq!(health(&s).await.0, StatusCode::SERVICE_UNAVAILABLE);
}

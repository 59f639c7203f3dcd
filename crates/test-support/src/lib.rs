//! Test helpers: a fresh database per test on each engine.
//!
//! PostgreSQL is expected at `LOOPDESK_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`).
//! If it cannot be reached the test fails loudly: a skipped PostgreSQL test would hide a broken engine.

pub mod app;
pub mod browser;
pub mod robot;
pub mod smallfs;
pub mod smtp;

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub use tempfile::TempDir;

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database that exists for the life of this value.
pub struct TestDb {
    pub url: String,
    pub engine: Engine,
    /// Holds the SQLite file's folder, or serves as a scratch folder on PostgreSQL.
    pub dir: TempDir,
    pg_name: Option<String>,
}

fn pg_admin_url() -> String {
    std::env::var("LOOPDESK_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        match engine {
            Engine::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("loopdesk.db").display());
                TestDb { url, engine, dir, pg_name: None }
            }
            Engine::Postgres => {
                let name = format!(
                    "loopdesk_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    rand::random::<u32>()
                );
                let admin = format!("{}/postgres", pg_admin_url());
                let mut c = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for this test and is not reachable at {admin}: {e}")
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await
                    .expect("create test database");
                let _ = c.close().await;
                TestDb { url: format!("{}/{name}", pg_admin_url()), engine, dir, pg_name: Some(name) }
            }
        }
    }
}

impl TestDb {
    /// Runs raw SQL (several statements allowed) on the test database: for setting up what no
    /// API can, such as a trigger that makes the database refuse a row.
    pub async fn exec(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.engine {
            Engine::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.expect("connect to the SQLite file");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw SQL");
                let _ = c.close().await;
            }
            Engine::Postgres => {
                let mut c = PgConnection::connect(&self.url).await.expect("connect to PostgreSQL");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw SQL");
                let _ = c.close().await;
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async; a short-lived thread with its own runtime does the cleanup.
            let admin = format!("{}/postgres", pg_admin_url());
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async move {
                    if let Ok(mut c) = PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Expands one async test body into `sqlite` and `postgres` tests, each on its own fresh database:
///
/// ```text
/// both_engines!(creates_user, |db: TestDb| async move { … });
/// ```
#[macro_export]
macro_rules! both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::TestDb::new($crate::Engine::Sqlite).await;
                ($body)(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::TestDb::new($crate::Engine::Postgres).await;
                ($body)(db).await;
            }
        }
    };
}

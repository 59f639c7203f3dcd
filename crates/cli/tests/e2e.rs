//! End-to-end: the real `loopdesk` binary on a free port, on each engine.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::process::Command;

use loopdesk_test_support::app::{self, Server, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

fn cli(db: &TestDb, args: &[&str], stdin: &str) -> std::process::Output {
    app::cli(BIN, db, args, stdin)
}

fn serve(db: &TestDb) -> Server {
    app::serve(BIN, db, &[("LOOPDESK_ORG_NAME", "测试公司")])
}

both_engines!(api_login_permissions_versions_and_errors, |db: TestDb| async move {
    let out = cli(&db, &["user", "add", "boss", "--role", "admin", "--name", "老板"], "s3cret-pass\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = serve(&db);
    let c = client();
    assert_eq!(c.get(format!("{}/healthz", s.base)).send().await.unwrap().status(), StatusCode::OK);
    let openapi: Value = c.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/v1/users/{id}"]["patch"].is_object());

    // Wrong password: 422 naming the field; no token without credentials.
    let r = c
        .post(format!("{}/api/v1/auth/token", s.base))
        .json(&json!({"username":"boss","password":"nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "password");
    assert_eq!(c.get(format!("{}/api/v1/users", s.base)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let admin = token(&s, "boss", "s3cret-pass").await;
    let dept: Value = c
        .post(format!("{}/api/v1/departments", s.base))
        .bearer_auth(&admin)
        .json(&json!({"code":"cs","name":"客户服务部","kind":"customer_service"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dept["code"], "CS");
    let r = c
        .post(format!("{}/api/v1/users", s.base))
        .bearer_auth(&admin)
        .json(&json!({"username":"xiaoli","display_name":"小丽","roles":["agent"],"department_id":dept["id"],"password":"agent-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let agent_user: Value = r.json().await.unwrap();

    // Malformed bodies: 4xx naming the field, and nothing changes.
    let r = c
        .post(format!("{}/api/v1/users", s.base))
        .bearer_auth(&admin)
        .json(&json!({"username":"x2","display_name":"x","roles":"agent","password":"agent-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "roles");
    let r = c
        .post(format!("{}/api/v1/users", s.base))
        .bearer_auth(&admin)
        .json(&json!({"username":"x3","display_name":"x","roles":["boss"],"password":"agent-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "role");
    let r = c
        .post(format!("{}/api/v1/departments", s.base))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"code\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(format!("{}/api/v1/departments", s.base))
        .bearer_auth(&admin)
        .json(&json!({"name":"无代码","kind":"sales"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "code");
    let users: Value =
        c.get(format!("{}/api/v1/users", s.base)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(users["total"], 2);

    // Permission denial: an agent may not create users.
    let agent = token(&s, "xiaoli", "agent-pass-1").await;
    let r = c
        .post(format!("{}/api/v1/users", s.base))
        .bearer_auth(&agent)
        .json(&json!({"username":"sneaky","display_name":"x","roles":["admin"],"password":"agent-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        c.get(format!("{}/api/v1/audit/events", s.base)).bearer_auth(&agent).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    // Optimistic concurrency: the second write with the same version is refused.
    let url = format!("{}/api/v1/users/{}", s.base, agent_user["id"]);
    let v = agent_user["version"].as_i64().unwrap();
    let r =
        c.patch(&url).bearer_auth(&admin).json(&json!({"version": v, "display_name": "张小丽"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r =
        c.patch(&url).bearer_auth(&admin).json(&json!({"version": v, "display_name": "覆盖"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "version");
    let now: Value = c.get(&url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(now["display_name"], "张小丽");

    // Every change left an audit event.
    let events: Value = c
        .get(format!("{}/api/v1/audit/events?entity=user", s.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(events["total"], 3, "{events}");
    assert_eq!(events["items"][0]["after"]["display_name"], "张小丽");
    let metrics = c.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("loopdesk_http_requests_total{method=\"POST\",status=\"4xx\"}"));
});

both_engines!(browser_login_csrf_language_and_escaping, |db: TestDb| async move {
    let out = cli(&db, &["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("loopdesk-demo"));
    let s = serve(&db);
    let c = client();
    // Anonymous visitors are sent to the login page.
    let r = c.get(format!("{}/users", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = c.get(format!("{}/login", s.base)).header("accept-language", "en").send().await.unwrap();
    let pre = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("ld_csrf=").map(str::to_owned))
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign in"));
    // A form without the CSRF token is refused.
    let r = c
        .post(format!("{}/login", s.base))
        .form(&[("username", "admin"), ("password", "loopdesk-demo")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(format!("{}/login", s.base))
        .header("cookie", format!("ld_csrf={pre}"))
        .form(&[("username", "admin"), ("password", "loopdesk-demo"), ("_csrf", &pre), ("next", "/users")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/users");
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok().filter(|v| v.starts_with("ld_session=")))
        .unwrap()
        .to_owned();
    assert!(session.contains("HttpOnly") && session.contains("SameSite"));
    let cookie = session.split(';').next().unwrap().to_owned();
    let html = c.get(format!("{}/users", s.base)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("用户列表") && html.contains("张小丽"), "{html}");
    let csrf = html.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    // Untrusted text is escaped wherever it is shown.
    let r = c
        .post(format!("{}/departments", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("code", "XSS"),
            ("name", "<script>alert(1)</script>"),
            ("kind", "other"),
            ("parent_id", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html =
        c.get(format!("{}/departments", s.base)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") && !html.contains("<script>alert"), "{html}");
    // A bad form comes back with the reason and changes nothing.
    let r = c
        .post(format!("{}/departments", s.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str()), ("code", "坏代码"), ("name", "x"), ("kind", "other"), ("parent_id", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("code:") || body.contains("code：") || body.contains("代码：") || body.contains("编码："),
        "{body}"
    );

    // Switching to English is remembered on the user.
    let r = c
        .post(format!("{}/lang", s.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str()), ("locale", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = c.get(format!("{}/audit", s.base)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Audit trail") && html.contains("Created"), "{html}");
});

both_engines!(audit_verify_detects_a_tampered_row, |db: TestDb| async move {
    let out = cli(&db, &["demo"], "");
    assert!(out.status.success());
    let out = cli(&db, &["audit", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));
    // Someone edits a stored event behind Loopdesk's back.
    match db.engine {
        loopdesk_test_support::Engine::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE audit_events SET actor = 'mallory' WHERE seq = 4").execute(&mut conn).await.unwrap();
        }
        loopdesk_test_support::Engine::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE audit_events SET actor = 'mallory' WHERE seq = 4").execute(&mut conn).await.unwrap();
        }
    }
    let out = cli(&db, &["audit", "verify"], "");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BROKEN at event 4"), "{text}");
});

#[tokio::test]
async fn sqlite_backup_and_restore_round_trip() {
    let db = TestDb::new(loopdesk_test_support::Engine::Sqlite).await;
    assert!(cli(&db, &["demo"], "").status.success());
    let backup = db.dir.path().join("backup.db");
    let out = cli(&db, &["backup", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(cli(&db, &["user", "add", "later", "--role", "agent"], "later-pass-1\n").status.success());
    // Restoring over a live database needs --force.
    assert!(!cli(&db, &["restore", backup.to_str().unwrap()], "").status.success());
    let out = cli(&db, &["restore", "--force", backup.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The user added after the backup is gone; the demo users are back; the chain verifies.
    let out = cli(&db, &["token", "create", "later"], "");
    assert!(!out.status.success());
    assert!(cli(&db, &["token", "create", "admin"], "").status.success());
    assert!(cli(&db, &["audit", "verify"], "").status.success());
}

#[test]
fn help_explains_each_command() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "migrate", "user", "token", "audit", "backup", "restore", "demo"] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
}

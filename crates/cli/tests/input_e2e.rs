//! Issue #13 items 8–14 through the real binary on each engine: input refused in one place with
//! a 422 naming the field, same-site redirects, the JSON limit on chunked bodies, throttling with
//! `Retry-After`, token expiry, password changes, `Secure` cookies, department deletes.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};

use loopdesk_test_support::app::{self, DEMO_PASSWORD, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

async fn error_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json::<Value>().await.unwrap()["error"].clone())
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// The login form's double-submit CSRF token.
async fn pre_csrf(base: &str) -> String {
    let r = client().get(format!("{base}/login")).send().await.unwrap();
    r.headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("ld_csrf=").map(str::to_owned))
        .unwrap()
}

/// Sends a JSON body with `Transfer-Encoding: chunked` (no length announced) over a plain socket
/// and returns the status code.
fn chunked_post(base: &str, path: &str, token: &str, body: &[u8]) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    for chunk in body.chunks(64 * 1024) {
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
            || s.write_all(chunk).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"))
}

both_engines!(bad_input_is_refused_once_with_422_naming_the_field, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let case = |extra: Value| {
        let mut b =
            json!({"type": "complaint", "contact_name": "王先生", "subject": "电源冒烟", "description": "L2309"});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };

    // NUL in JSON text: once a 500 on PostgreSQL and stored silently on SQLite.
    let r = c.post(url("/cases")).bearer_auth(&admin).json(&case(json!({"subject": "a\u{0}b"}))).send().await.unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("subject")), "{e}");
    let total = |v: Value| v["total"].as_i64().unwrap();
    let before = total(app::get_json(&s, &admin, "/cases").await);
    // NUL in a form (the sign-in form; PostgreSQL once failed looking the name up).
    let pre = pre_csrf(&s.base).await;
    let r = c
        .post(format!("{}/login", s.base))
        .header("cookie", format!("ld_csrf={pre}"))
        .form(&[("username", "ad\u{0}min"), ("password", "x"), ("_csrf", pre.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("username") || body.contains("用户名"), "the page names the field");

    // The field named is the field at fault.
    let r = c.post(url("/cases")).bearer_auth(&admin).json(&case(json!({"evil": 1}))).send().await.unwrap();
    assert_eq!(error_of(r).await.1["field"].as_str(), Some("evil"));
    let r = c.get(url("/cases?open=maybe")).bearer_auth(&admin).send().await.unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("open")));

    // No case received before 2000 (it opened a counter TS-0001-…).
    let r = c
        .post(url("/cases"))
        .bearer_auth(&admin)
        .json(&case(json!({"received_at": "0001-01-01T00:00:00Z"})))
        .send()
        .await
        .unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("received_at")));
    assert_eq!(total(app::get_json(&s, &admin, "/cases").await), before, "nothing was stored");

    // The 1 MB JSON limit holds for a chunked body, which announces no length.
    let big = serde_json::to_vec(&case(json!({"description": "长".repeat(400_000)}))).unwrap();
    assert!(big.len() > 1024 * 1024);
    let base = s.base.clone();
    let admin2 = admin.clone();
    let status =
        tokio::task::spawn_blocking(move || chunked_post(&base, "/api/v1/cases", &admin2, &big)).await.unwrap();
    assert_eq!(status, 413);
    let small = serde_json::to_vec(&case(json!({}))).unwrap();
    let (base, admin2) = (s.base.clone(), admin.clone());
    assert_eq!(
        tokio::task::spawn_blocking(move || chunked_post(&base, "/api/v1/cases", &admin2, &small)).await.unwrap(),
        201
    );
});

both_engines!(redirects_stay_on_this_site, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    for (next, expect) in [
        ("/cases?open=true", "/cases?open=true"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/cases\r\nSet-Cookie: x=1", "/"),
        ("/x\ty", "/"),
        ("https://evil.example/", "/"),
    ] {
        let pre = pre_csrf(&s.base).await;
        let r = c
            .post(format!("{}/login", s.base))
            .header("cookie", format!("ld_csrf={pre}"))
            .form(&[("username", "admin"), ("password", DEMO_PASSWORD), ("_csrf", pre.as_str()), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!((r.status(), location(&r)), (StatusCode::SEE_OTHER, expect.to_owned()), "next={next:?}");
    }
    let html = c.get(format!("{}/login?next=%2F%2Fevil.example", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"name="next" value="/""#), "the form carries only a same-site next");

    // The language switch goes back only to a page of this site.
    let host = s.base.trim_start_matches("http://").to_owned();
    for (referer, expect) in [
        (format!("http://{host}/cases?q=1"), "/cases?q=1"),
        ("https://evil.example/cases".to_owned(), "/"),
        (format!("http://{host}//evil.example"), "/"),
    ] {
        let r = c
            .post(format!("{}/lang", s.base))
            .header("referer", &referer)
            .form(&[("locale", "en")])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), expect, "Referer {referer}");
    }
});

both_engines!(throttling_says_retry_after_and_tokens_expire_and_passwords_end_them, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);

    // A token carries its expiry: 90 days unless asked otherwise.
    let r =
        c.post(url("/auth/token")).json(&json!({"username": "admin", "password": DEMO_PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let t: Value = r.json().await.unwrap();
    let expires: chrono::DateTime<chrono::Utc> = t["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - chrono::Utc::now()).num_days(), 89);
    let admin = t["token"].as_str().unwrap().to_owned();
    let r = c
        .post(url("/auth/token"))
        .json(&json!({"username": "admin", "password": DEMO_PASSWORD, "expires_in_days": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1["field"].as_str(), Some("expires_in_days"));

    // Changing one's own password asks for the current one, then ends every token.
    let me = app::get_json(&s, &admin, "/auth/me").await;
    let (id, version) = (me["id"].as_i64().unwrap(), me["version"].as_i64().unwrap());
    let patch = |body: Value| c.patch(url(&format!("/users/{id}"))).bearer_auth(&admin).json(&body).send();
    let r = patch(json!({"version": version, "password": "another long passphrase"})).await.unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password")));
    let r =
        patch(json!({"version": version, "password": "another long passphrase", "current_password": DEMO_PASSWORD}))
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(url("/auth/me")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the old token ended with the password");

    // Five wrong passwords from this address: the sixth try says when to come back.
    for _ in 0..5 {
        let r =
            c.post(url("/auth/token")).json(&json!({"username": "agent", "password": "wrong"})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r =
        c.post(url("/auth/token")).json(&json!({"username": "agent", "password": DEMO_PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&secs), "Retry-After {secs}");
    // The sign-in page says it too.
    let pre = pre_csrf(&s.base).await;
    let r = c
        .post(format!("{}/login", s.base))
        .header("cookie", format!("ld_csrf={pre}"))
        .form(&[("username", "agent"), ("password", DEMO_PASSWORD), ("_csrf", pre.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    // Another account from the same address is not locked out.
    assert!(!token(&s, "sales", DEMO_PASSWORD).await.is_empty());
});

both_engines!(cookies_are_secure_behind_https_and_departments_in_use_are_a_409, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let secure = app::serve(BIN, &db, &[("LOOPDESK_PUBLIC_URL", "https://desk.example.com")]);
    let plain = app::serve(BIN, &db, &[]);
    let cookies = |r: &reqwest::Response| -> Vec<String> {
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    };
    let c = client();
    let r = c.get(format!("{}/login", secure.base)).send().await.unwrap();
    let set = cookies(&r);
    assert!(!set.is_empty() && set.iter().all(|v| v.ends_with("; Secure")), "{set:?}");
    let session = app::browser_login(&secure, "admin", DEMO_PASSWORD).await;
    assert!(session.starts_with("ld_session="));
    let r = c.get(format!("{}/login", plain.base)).send().await.unwrap();
    assert!(cookies(&r).iter().all(|v| !v.contains("Secure")), "plain http keeps cookies usable");

    // A department that leads a case cannot go: 409 naming why, not a 500.
    let admin = token(&plain, "admin", DEMO_PASSWORD).await;
    let url = |p: &str| format!("{}/api/v1{p}", plain.base);
    let d: Value = c
        .post(url("/departments"))
        .bearer_auth(&admin)
        .json(&json!({"code": "QA-X", "name": "质量X", "kind": "quality"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = c
        .post(url("/cases"))
        .bearer_auth(&admin)
        .json(&json!({"type": "complaint", "contact_name": "王先生", "subject": "s", "description": "d", "lead_department_id": d["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case: Value = r.json().await.unwrap();
    db.exec(&format!("UPDATE cases SET lead_department_id = {} WHERE id = {}", d["id"], case["id"])).await;
    let r = c
        .delete(url(&format!("/departments/{}", d["id"])))
        .bearer_auth(&admin)
        .json(&json!({"version": d["version"]}))
        .send()
        .await
        .unwrap();
    let (status, e) = error_of(r).await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("1 个案件") || m.contains("1 cases"), "{e}");
});

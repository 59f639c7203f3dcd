//! End-to-end: the grievance rules of `domain::scope` through the real binary, on each engine —
//! the employee who files a grievance follows it on /my/grievances and never reads its file, HR
//! lists every grievance and nothing else, and the case record's paths (PATCH, tracking-code
//! re-issue) answer 404 for a hidden case.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, DEMO_PASSWORD, browser_login, client, csrf_of, get_json, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

both_engines!(a_filed_grievance_is_followed_by_its_filer_and_handled_by_hr_only, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let r = c
        .post(url("/users"))
        .bearer_auth(&admin)
        .json(&json!({"username":"hr.xu","display_name":"徐人事","roles":["hr"],"password":"correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let hr = token(&s, "hr.xu", "correct horse battery").await;
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let member = token(&s, "member", DEMO_PASSWORD).await;

    // The employee files a grievance on the case form and lands on their own page for it.
    let cookie = browser_login(&s, "member", DEMO_PASSWORD).await;
    let html = c.get(format!("{}/cases/new", s.base)).header("cookie", &cookie).send().await.unwrap();
    let html = html.text().await.unwrap();
    let r = c
        .post(format!("{}/cases", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf_of(&html).as_str()),
            ("case_type", "grievance"),
            ("contact_name", "孙生产"),
            ("subject", "夜班加班费未发"),
            ("description", "十一月夜班加班费未发放"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = to.strip_prefix("/my/grievances/").unwrap_or_else(|| panic!("redirected to {to}")).parse().unwrap();
    let page = |cookie: String, path: String| {
        let (c, u) = (c.clone(), format!("{}{path}", s.base));
        async move {
            let r = c.get(u).header("cookie", cookie).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (st, mine) = page(cookie.clone(), "/my/grievances".into()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(mine.contains("夜班加班费未发"), "{mine}");
    assert_eq!(page(cookie.clone(), format!("/my/grievances/{id}")).await.0, StatusCode::OK);
    // The case file stays closed to them, on the page and the API.
    assert_eq!(page(cookie.clone(), format!("/cases/{id}")).await.0, StatusCode::NOT_FOUND);
    let status_of = |tok: &str, path: String| {
        let (c, u, tok) = (c.clone(), url(&path), tok.to_owned());
        async move { c.get(u).bearer_auth(tok).send().await.unwrap().status() }
    };
    assert_eq!(status_of(&member, format!("/cases/{id}")).await, StatusCode::NOT_FOUND);
    // Someone else's "my grievances" page knows nothing of it.
    let agent_cookie = browser_login(&s, "agent", DEMO_PASSWORD).await;
    assert_eq!(page(agent_cookie.clone(), format!("/my/grievances/{id}")).await.0, StatusCode::NOT_FOUND);
    assert!(!page(agent_cookie, "/my/grievances".into()).await.1.contains("夜班加班费未发"));

    // HR lists every grievance and nothing else; the agent lists none.
    let listed = get_json(&s, &hr, "/cases?per_page=200").await;
    let items = listed["items"].as_array().unwrap();
    assert!(items.iter().any(|k| k["id"] == id), "{listed}");
    assert!(items.iter().all(|k| k["type"] == "grievance"), "{listed}");
    assert_eq!(get_json(&s, &agent, "/cases?type=grievance").await["total"], 0);
    let k = get_json(&s, &hr, &format!("/cases/{id}")).await;
    let v = k["version"].as_i64().unwrap();

    // The case record's paths: hidden answers 404 and changes nothing; HR corrects it.
    let send = |tok: &str, method: reqwest::Method, path: String, body: Value| {
        let (c, u, tok) = (c.clone(), url(&path), tok.to_owned());
        async move { c.request(method, u).bearer_auth(tok).json(&body).send().await.unwrap().status() }
    };
    let patch = reqwest::Method::PATCH;
    let post = reqwest::Method::POST;
    let edit = json!({"version": v, "subject": "改过"});
    assert_eq!(send(&agent, patch.clone(), format!("/cases/{id}"), edit.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(send(&member, patch.clone(), format!("/cases/{id}"), edit.clone()).await, StatusCode::NOT_FOUND);
    let reissue = json!({"version": v});
    assert_eq!(
        send(&agent, post.clone(), format!("/cases/{id}/tracking-code"), reissue.clone()).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get_json(&s, &hr, &format!("/cases/{id}")).await["version"], v);
    assert_eq!(send(&hr, patch, format!("/cases/{id}"), edit).await, StatusCode::OK);
});

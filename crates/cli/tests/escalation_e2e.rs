//! End-to-end: the escalation scheduler of the real binary — late clocks breach and climb the
//! chain once, even with two server processes on one PostgreSQL database — and the pages that show
//! it (inbox, case list deadlines, clock-policy editor, service-level report).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::{Duration, Instant};

use loopdesk_test_support::app::{self, DEMO_PASSWORD, Server, client, csrf_of, get_json, token};
use loopdesk_test_support::{Engine, TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

/// A server whose scheduler looks every second.
fn serve(db: &TestDb) -> Server {
    app::serve(BIN, db, &[("LOOPDESK_ESCALATION_INTERVAL_SECS", "1")])
}

async fn department(s: &Server, tok: &str, code: &str) -> i64 {
    let all = get_json(s, tok, "/departments").await;
    all.as_array().unwrap().iter().find(|d| d["code"] == code).unwrap()["id"].as_i64().unwrap()
}

/// A complaint received `days_ago` days ago, led by `dept`: its acknowledgement clock (24 h) is
/// long past due, so breach and every chain step (+0, +24 h, +48 h) fall due at once.
async fn late_complaint(s: &Server, tok: &str, dept: i64, days_ago: i64, n: usize) -> i64 {
    let received = chrono::Utc::now() - chrono::Duration::days(days_ago);
    // Minor: a major complaint also starts the 4 h disposition clock (issue #14), not counted here.
    let r = client()
        .post(format!("{}/api/v1/cases", s.base))
        .bearer_auth(tok)
        .json(&json!({"type":"complaint","subject":format!("逾期投诉 {n}"),"description":"无人受理",
            "contact_name":"王先生","received_at":received,"lead_department_id":dept,"severity":"minor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// The escalation kinds on a case's timeline.
async fn alerts(s: &Server, tok: &str, id: i64) -> Vec<String> {
    get_json(s, tok, &format!("/cases/{id}/history"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str().filter(|k| k.starts_with("clock_")).map(str::to_owned))
        .collect()
}

/// Waits until every case shows `want` alerts (or the deadline passes), then returns each count.
async fn settle(s: &Server, tok: &str, ids: &[i64], want: usize) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut counts = vec![];
        for id in ids {
            counts.push(alerts(s, tok, *id).await.len());
        }
        if counts.iter().all(|n| *n >= want) || Instant::now() > deadline {
            // One more second: a second, wrong firing would show up now.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let mut again = vec![];
            for id in ids {
                again.push(alerts(s, tok, *id).await.len());
            }
            return again;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

both_engines!(a_late_clock_escalates_and_the_pages_show_it, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = serve(&db);
    let c = client();
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let gm = token(&s, "gm", DEMO_PASSWORD).await;
    let cs = department(&s, &agent, "CS").await;
    let id = late_complaint(&s, &agent, cs, 5, 1).await;

    let counts = settle(&s, &agent, &[id], 4).await;
    assert_eq!(counts, vec![4], "breach and three chain steps, once each");
    let kinds = alerts(&s, &agent, id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "clock_breached").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "clock_escalated").count(), 3);
    let k = get_json(&s, &agent, &format!("/cases/{id}")).await;
    let ack = k["clocks"].as_array().unwrap().iter().find(|c| c["name"] == "acknowledgement").unwrap().clone();
    assert!(ack["breached_at"].is_string(), "{ack}");

    // The GM office got the last step in its inbox, unread.
    let inbox = get_json(&s, &gm, "/inbox?unread=true").await;
    assert!(inbox["unread"].as_i64().unwrap() >= 1);
    let item = inbox["items"].as_array().unwrap().iter().find(|i| i["case_id"] == id).unwrap().clone();
    assert_eq!(item["kind"], "clock_escalated");
    assert_eq!(item["params"]["to"], "gm_office");

    // Pages, in Chinese: the inbox names the clock, the case list marks the deadline overdue.
    let gm_cookie = app::browser_login(&s, "gm", DEMO_PASSWORD).await;
    let page = |path: &'static str, cookie: String| {
        let c = c.clone();
        let u = format!("{}{path}", s.base);
        async move {
            let r = c.get(u).header("cookie", cookie).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (st, html) = page("/inbox", gm_cookie.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("确认受理"), "the clock is named in the reader's language");
    assert!(html.contains("总经理室"), "the step names who it went to");
    assert!(html.contains("class=\"badge\""), "unread badge in the navigation");
    let (_, html) = page("/cases?open=1", gm_cookie.clone()).await;
    assert!(html.contains("class=\"overdue\""), "the late deadline is shown in red");
    assert!(html.contains("已超时"), "the time over is shown");
    let year = chrono::Utc::now().format("%Y").to_string();
    let (st, html) = page("/reports/service-levels", gm_cookie.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("服务时效报表") && html.contains(&year));
    let (st, html) = page("/clock-policies", gm_cookie.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("升级链"));

    // Marking read through the page clears the badge's count.
    let csrf = csrf_of(&html);
    let r = c
        .post(format!("{}/inbox/read", s.base))
        .header("cookie", gm_cookie.clone())
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(get_json(&s, &gm, "/inbox").await["unread"], 0);

    // The report counts the breached acknowledgement in its month.
    let rep = get_json(&s, &gm, &format!("/reports/service-levels?year={year}")).await;
    assert!(rep["total"]["breached"].as_i64().unwrap() >= 1);
    assert_eq!(rep["target_pct"], 95.0);

    // Policies: a bad duration is refused naming the field, and nothing changes.
    let before = get_json(&s, &gm, "/clock-policies").await;
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let bad = json!({"policies":[{"case_type":"complaint","severity":"*","targets":[
        {"clock":"acknowledgement","duration":{"fortnights":2},"calendar":"24X7"}]}]});
    let r = c.put(format!("{}/api/v1/clock-policies", s.base)).bearer_auth(&admin).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["field"], "policies[0].targets[0].duration");
    let unknown = json!({"policies":[{"case_type":"complaint","severity":"*","targets":[
        {"clock":"acknowledgement","duration":{"hours":8},"calendar":"NOPE"}]}]});
    let r = c.put(format!("{}/api/v1/clock-policies", s.base)).bearer_auth(&admin).json(&unknown).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(get_json(&s, &gm, "/clock-policies").await, before);
    // The agent may not change them.
    let good = json!({"policies":[{"case_type":"complaint","severity":"*","targets":[
        {"clock":"acknowledgement","duration":{"hours":8},"calendar":"24X7"}]}]});
    let r = c.put(format!("{}/api/v1/clock-policies", s.base)).bearer_auth(&agent).json(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c.put(format!("{}/api/v1/clock-policies", s.base)).bearer_auth(&admin).json(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let now = get_json(&s, &gm, "/clock-policies").await;
    assert_eq!(now["policies"][0]["targets"][0]["duration"], json!({"hours": 8}));
    assert!(now["saved_at"].is_string());

    // The policy form: a bad amount is refused with 422 naming the row.
    let admin_cookie = app::browser_login(&s, "admin", DEMO_PASSWORD).await;
    let (_, html) = page("/clock-policies", admin_cookie.clone()).await;
    let csrf = csrf_of(&html);
    let r = c
        .post(format!("{}/clock-policies", s.base))
        .header("cookie", admin_cookie.clone())
        .form(&[
            ("_csrf", csrf.as_str()),
            ("rows", "1"),
            ("t0.case_type", "complaint"),
            ("t0.severity", "*"),
            ("t0.clock", "acknowledgement"),
            ("t0.amount", "soon"),
            ("t0.unit", "hours"),
            ("t0.calendar", "24X7"),
            ("t0.warn", "75"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("row 1: amount"));
    assert_eq!(get_json(&s, &gm, "/clock-policies").await, now);
});

/// Two server processes share one PostgreSQL database, each running the scheduler every second:
/// every breach and chain step is still recorded exactly once.
#[tokio::test]
async fn two_server_processes_on_one_postgresql_escalate_each_breach_once() {
    let db = TestDb::new(Engine::Postgres).await;
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let a = serve(&db);
    let b = serve(&db);
    let agent = token(&a, "agent", DEMO_PASSWORD).await;
    let gm = token(&b, "gm", DEMO_PASSWORD).await;
    let cs = department(&a, &agent, "CS").await;
    let before = get_json(&b, &gm, "/inbox").await["total"].as_i64().unwrap();
    let mut ids = vec![];
    for n in 0..24 {
        // Half through each server, so both schedulers find work in the same seconds.
        let s = if n % 2 == 0 { &a } else { &b };
        ids.push(late_complaint(s, &agent, cs, 5, n).await);
    }
    let counts = settle(&a, &agent, &ids, 4).await;
    assert!(counts.iter().all(|n| *n == 4), "each case: one breach and three steps, never twice: {counts:?}");
    // One GM-office notice per case.
    let after = get_json(&b, &gm, "/inbox?per_page=100").await;
    let gm_notices = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "clock_escalated" && i["params"]["to"] == "gm_office")
        .count();
    assert_eq!(gm_notices, ids.len());
    assert_eq!(after["total"].as_i64().unwrap() - before, ids.len() as i64);
    let out = app::cli(BIN, &db, &["audit", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop((a, b));
    drop(db);
}

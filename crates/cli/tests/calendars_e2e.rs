//! End-to-end: business calendars through the real `loopdesk` binary, on each engine.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::calendar::{Period, china_2025_exceptions};
use loopdesk_test_support::app::{self, Server, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");
use loopdesk_test_support::app::DEMO_PASSWORD;

fn cli(db: &TestDb, args: &[&str], stdin: &str) -> std::process::Output {
    app::cli(BIN, db, args, stdin)
}

fn serve(db: &TestDb) -> Server {
    app::serve(BIN, db, &[])
}

async fn browser_login(s: &Server, user: &str) -> String {
    app::browser_login(s, user, DEMO_PASSWORD).await
}

fn office_day() -> Value {
    json!([["08:30", "12:00"], ["13:30", "17:30"]])
}

/// The JSON contract body with Mon–Fri office hours and China's 2025 holiday table.
fn support_calendar() -> Value {
    let hours = [Period::parse("08:30", "12:00").unwrap(), Period::parse("13:30", "17:30").unwrap()];
    let exceptions: Vec<Value> = china_2025_exceptions(&hours)
        .iter()
        .map(|(date, rule)| {
            let periods: Vec<Value> = rule.periods().iter().map(|p| json!([p.start_text(), p.end_text()])).collect();
            json!({"date": date.to_string(), "kind": rule.kind(), "periods": periods})
        })
        .collect();
    let d = office_day();
    json!({
        "name": "售后服务",
        "timezone": "Asia/Shanghai",
        "weekly": {"mon": d, "tue": d, "wed": d, "thu": d, "fri": d},
        "exceptions": exceptions,
    })
}

both_engines!(calendar_api_due_versions_permissions_and_month_page, |db: TestDb| async move {
    let out = cli(&db, &["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = serve(&db);
    let c = client();
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let url = |p: &str| format!("{}/api/v1/calendars{p}", s.base);

    let openapi: Value = c.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/v1/calendars/{code}"]["put"].is_object());
    assert!(openapi["paths"]["/api/v1/calendars/{code}/exceptions.ics"]["post"].is_object());

    // The demo loader created the built-in calendars.
    let all: Value = c.get(url("")).bearer_auth(&agent).send().await.unwrap().json().await.unwrap();
    let codes: Vec<&str> = all.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["24X7", "OFFICE"]);

    // Create with the 2025 table; 5 working days from Friday 16:00 before National Day.
    let r = c.put(url("/support")).bearer_auth(&admin).json(&support_calendar()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let created: Value = r.json().await.unwrap();
    assert_eq!((created["code"].as_str(), created["version"].as_i64()), (Some("SUPPORT"), Some(1)));
    assert_eq!(created["weekly"]["mon"], office_day());
    for code in ["SUPPORT", "OFFICE"] {
        let r = c
            .post(url(&format!("/{code}/due")))
            .bearer_auth(&agent)
            .json(&json!({"start": "2025-09-26T16:00:00+08:00", "duration": {"working_days": 5}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{code}");
        assert_eq!(r.json::<Value>().await.unwrap()["due"], "2025-10-10T17:30:00+08:00", "{code}");
    }
    let due = |start: &str, duration: Value| {
        c.post(url("/SUPPORT/due")).bearer_auth(&agent).json(&json!({"start": start, "duration": duration})).send()
    };
    let r = due("2025-09-30T17:00:00+08:00", json!({"working_hours": 1})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["due"], "2025-10-09T09:00:00+08:00");
    let r = due("2025-09-30T09:00:00Z", json!({"working_minutes": 30})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["due"], "2025-09-30T17:30:00+08:00");
    let r = due("yesterday", json!({"hours": 1})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "start");
    let r = due("2025-09-30T09:00:00+08:00", json!({"weeks": 1})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "duration");
    let r = due("2025-09-30T09:00:00+08:00", json!({"working_days": -1})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "duration");
    let r = c
        .post(url("/SUPPORT/elapsed"))
        .bearer_auth(&agent)
        .json(&json!({"from": "2025-09-30T17:00:00+08:00", "to": "2025-10-09T09:00:00+08:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["working_minutes"], 60);

    // Updating needs the current version: stale → 409, and nothing changes.
    let mut body = support_calendar();
    body["version"] = json!(1);
    body["weekly"]["sat"] = json!([["09:00", "12:00"]]);
    let r = c.put(url("/SUPPORT")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);
    let r = c.put(url("/SUPPORT")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "version");

    // An overlapping period is refused naming it; so is a missing version on an existing calendar.
    let mut bad = support_calendar();
    bad["version"] = json!(2);
    bad["weekly"]["mon"] = json!([["08:30", "12:00"], ["11:00", "17:30"]]);
    let r = c.put(url("/SUPPORT")).bearer_auth(&admin).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "weekly.mon[1]");
    let r = c.put(url("/SUPPORT")).bearer_auth(&admin).json(&support_calendar()).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "version");

    // Only administrators change calendars; everyone signed in reads them.
    let r = c.put(url("/SUPPORT")).bearer_auth(&agent).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c.get(url("/SUPPORT")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);

    // A year's exceptions as CSV and iCalendar; importing replaces the year, all or nothing.
    let r = c.get(url("/SUPPORT/exceptions.csv?year=2025")).bearer_auth(&agent).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(csv.contains("2025-10-11,workday,08:30-12:00;13:30-17:30"), "{csv}");
    let ics = c.get(url("/SUPPORT/exceptions.ics?year=2025")).bearer_auth(&agent).send().await.unwrap();
    assert!(ics.text().await.unwrap().contains("DTSTART;VALUE=DATE:20251001"));
    let import = |ext: &str, body: String| {
        c.post(url(&format!("/SUPPORT/exceptions.{ext}?year=2025")))
            .bearer_auth(&admin)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let r = import("csv", "date,kind,periods\n2025-12-31,holiday,\n2025-13-01,holiday,\n".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "line 3.date");
    let r = import("csv", "date,kind,periods\n2025-12-31,holiday,\n".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let after: Value = r.json().await.unwrap();
    assert_eq!(after["exceptions"], json!([{"date": "2025-12-31", "kind": "holiday"}]));
    let r = import("csv", csv).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["exceptions"], created["exceptions"]);

    // The month view: holidays and the make-up Saturday, in Chinese for the demo administrator.
    let cookie = browser_login(&s, "admin").await;
    let html = c
        .get(format!("{}/calendars/SUPPORT?month=2025-10", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("2025年10月"), "{html}");
    assert!(html.contains(r#"<td class="day cal-holiday"><time datetime="2025-10-01">1</time>"#), "{html}");
    assert!(html.contains(r#"<td class="day cal-makeup"><time datetime="2025-10-11">11</time>"#), "{html}");
    assert!(html.contains(r#"<td class="day cal-work"><time datetime="2025-10-09">9</time>"#), "{html}");
    assert!(html.contains("调休上班") && html.contains("节假日") && html.contains("工作日历"), "{html}");

    // A form without the CSRF token changes nothing; with it, an exception is added.
    let csrf = html.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(version, "4");
    let form = |csrf: &str| {
        vec![
            ("_csrf", csrf.to_owned()),
            ("version", version.clone()),
            ("month", "2025-12".to_owned()),
            ("date", "2025-12-24".to_owned()),
            ("kind", "hours".to_owned()),
            ("periods", "09:00-15:00".to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        c.post(format!("{}/calendars/SUPPORT/exceptions", s.base)).header("cookie", &cookie).form(&f).send()
    };
    assert_eq!(post(form("wrong")).await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = post(form(&csrf)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/calendars/SUPPORT?month=2025-12&saved=1");
    let r = c.get(url("/SUPPORT")).bearer_auth(&agent).send().await.unwrap();
    let now: Value = r.json().await.unwrap();
    assert_eq!(now["version"], 5);
    assert!(now["exceptions"].as_array().unwrap().iter().any(|e| e["date"] == "2025-12-24" && e["kind"] == "hours"));
    // A bad period in the weekly form re-renders the page naming the field.
    let weekly = [("_csrf", csrf.as_str()), ("version", "5"), ("mon", "08:30-12:00,11:00")];
    let r = c
        .post(format!("{}/calendars/SUPPORT/weekly", s.base))
        .header("cookie", &cookie)
        .form(&weekly)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("weekly.mon[1]"));
});

both_engines!(calendar_pages_need_sign_in_and_hide_forms_from_non_admins, |db: TestDb| async move {
    let out = cli(&db, &["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = serve(&db);
    let c = client();
    let r = c.get(format!("{}/calendars", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = browser_login(&s, "agent").await;
    let html = c
        .get(format!("{}/calendars/OFFICE?month=2025-01", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<time datetime="2025-01-26">26</time>"#) && html.contains("cal-makeup"), "{html}");
    assert!(!html.contains("/calendars/OFFICE/weekly"), "{html}");
    let r = c.get(format!("{}/calendars/OFFICE?month=2025-13", s.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
});

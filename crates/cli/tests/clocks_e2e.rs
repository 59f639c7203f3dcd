//! End-to-end (issue #14 items 1–2): the shipped `OFFICE` calendar's 2026 table through the API,
//! a pasted notice over the API, the missing-table warning on the pages and the banner, and the
//! customer's deadline on `POST /api/v1/cases`, through the real binary on each engine.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::calendar::{Period, china_2025_exceptions};
use loopdesk_test_support::app::{self, DEMO_PASSWORD, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

const NOTICE_2026: &str = "国务院办公厅关于2026年部分节假日安排的通知
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。";

both_engines!(office_calendar_answers_due_with_the_official_2026_table, |db: TestDb| async move {
    let out = app::cli(BIN, &db, &["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let url = |p: &str| format!("{}/api/v1/calendars{p}", s.base);
    let r = c
        .post(url("/OFFICE/due"))
        .bearer_auth(&agent)
        .json(&json!({"start": "2026-09-30T10:00:00+08:00", "duration": {"working_days": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // 1–7 October off; Thu 8, Fri 9, the make-up Saturday 10, Mon 12, Tue 13.
    assert_eq!(r.json::<Value>().await.unwrap()["due"], "2026-10-13T17:30:00+08:00");

    // A calendar holding only the 2025 table: the notice for 2026 is previewed, then applied.
    let hours = [Period::parse("08:30", "12:00").unwrap(), Period::parse("13:30", "17:30").unwrap()];
    let exceptions: Vec<Value> = china_2025_exceptions(&hours)
        .iter()
        .map(|(date, rule)| {
            let periods: Vec<Value> = rule.periods().iter().map(|p| json!([p.start_text(), p.end_text()])).collect();
            json!({"date": date.to_string(), "kind": rule.kind(), "periods": periods})
        })
        .collect();
    let d = json!([["08:30", "12:00"], ["13:30", "17:30"]]);
    let body = json!({"timezone": "Asia/Shanghai", "weekly": {"mon": d, "tue": d, "wed": d, "thu": d, "fri": d},
        "exceptions": exceptions});
    let r = c.put(url("/OLD")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let version = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();

    // Its page warns that the current year has no table (the shipped OFFICE has 2026).
    let cookie = app::browser_login(&s, "admin", DEMO_PASSWORD).await;
    let page = |code: &str| {
        let c = c.clone();
        let (base, cookie, code) = (s.base.clone(), cookie.clone(), code.to_owned());
        async move {
            c.get(format!("{base}/calendars/{code}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page("OLD").await;
    assert!(html.contains("缺少法定节假日安排") || html.contains("No public holiday table"), "{html}");
    assert!(html.contains("/calendars/OLD/official") && html.contains("/calendars/OLD/notice"));
    let home = c.get(format!("{}/", s.base)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("/calendars/OLD"), "{home}");

    let r = c
        .post(url("/OLD/notice"))
        .bearer_auth(&admin)
        .json(&json!({"year": 2026, "text": NOTICE_2026}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let preview: Value = r.json().await.unwrap();
    assert_eq!(preview["applied"], false);
    assert_eq!(preview["festivals"][6]["work"], json!(["2026-09-20", "2026-10-10"]));
    let r = c
        .post(url("/OLD/notice"))
        .bearer_auth(&admin)
        .json(&json!({"year": 2026, "text": "一、元旦：1月1日（周五）放假。", "version": version}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "section 1");
    let r = c
        .post(url("/OLD/notice"))
        .bearer_auth(&admin)
        .json(&json!({"year": 2026, "text": NOTICE_2026, "version": version}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(url("/OLD/due"))
        .bearer_auth(&agent)
        .json(&json!({"start": "2026-09-30T10:00:00+08:00", "duration": {"working_days": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["due"], "2026-10-13T17:30:00+08:00");

    // The customer's deadline on the API: a bad one names the field.
    let case = json!({"type": "complaint", "contact_name": "王先生", "subject": "冒烟", "description": "上电冒烟",
        "customer_deadline": "2026-02-30"});
    let r = c.post(format!("{}/api/v1/cases", s.base)).bearer_auth(&agent).json(&case).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "customer_deadline");
    let openapi: Value = c.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/v1/calendars/{code}/notice"]["post"].is_object());
    assert!(openapi["paths"]["/api/v1/calendars/{code}/official"]["post"].is_object());
});

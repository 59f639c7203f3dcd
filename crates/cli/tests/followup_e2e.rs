//! End-to-end (issue #20, items 7 and 10 and the Contract) with the real binary on both engines:
//! a fresh installation (no demo) lists the seeds' questionnaires; a complaint the customer never
//! accepted gets a follow-up visit and a `follow_up` clock; the visit's outcome is refused off the
//! 10/8/6/3/1 scale, recorded on it, and closes the complaint; the page lists the visits.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, browser_login, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

both_engines!(fresh_install_lists_questionnaires_and_a_never_accepted_complaint_is_visited, |db: TestDb| async move {
    let out = app::cli(BIN, &db, &["user", "add", "boss", "--role", "admin", "--name", "老板"], "s3cret-pass\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let tok = token(&s, "boss", "s3cret-pass").await;
    let api = |p: &str| format!("{}/api/v1{p}", s.base);

    // The Contract: the shipped questionnaires, without the demo.
    let ts: Value = c.get(api("/survey-templates")).bearer_auth(&tok).send().await.unwrap().json().await.unwrap();
    let codes: Vec<&str> = ts.as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
    for code in ["002H-CSAT", "002C-RESIDENTIAL", "002C-OFFICE", "002C-SALES", "002G-INTERNAL", "002K-SERVICE"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    let h = ts.as_array().unwrap().iter().find(|t| t["code"] == "002H-CSAT").unwrap();
    assert_eq!(h["definition"]["indicators"].as_array().unwrap().len(), 4);

    let r = c
        .post(api("/departments"))
        .bearer_auth(&tok)
        .json(&json!({"code":"QA","name":"品保部","kind":"quality"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = c
        .post(api("/cases"))
        .bearer_auth(&tok)
        .json(&json!({"type":"complaint","subject":"外箱压坏","description":"包装破损","contact_name":"王先生"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut v = 1;
    for body in [
        json!({"transition":"acknowledge"}),
        json!({"transition":"assess","category":"产品质量","severity":"general","responsibility":"yes","lead_department":"QA"}),
        json!({"transition":"investigate"}),
        json!({"transition":"propose","resolution":"补发一件"}),
        json!({"transition":"reply","reply":"我们将补发一件"}),
        // The customer never answers: the visit is scheduled anyway (001 4.2.3).
        json!({"transition":"schedule_follow_up"}),
    ] {
        let mut body = body;
        body["version"] = json!(v);
        let r = c.post(api(&format!("/cases/{id}/transitions"))).bearer_auth(&tok).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{body}");
        v = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
    }
    let k: Value = c.get(api(&format!("/cases/{id}"))).bearer_auth(&tok).send().await.unwrap().json().await.unwrap();
    let fu =
        k["clocks"].as_array().unwrap().iter().find(|c| c["name"] == "follow_up").expect("a follow_up clock").clone();
    assert_eq!(fu["state"], "running");

    let visits: Value = c
        .get(api(&format!("/follow-up-visits?case_id={id}")))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let visit = visits.as_array().unwrap()[0].clone();
    assert_eq!((visit["state"].as_str(), visit["department_name"].as_str()), (Some("open"), Some("品保部")));
    let vid = visit["id"].as_i64().unwrap();
    let r = c.get(api("/follow-up-visits?state=lost")).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "state");

    // Off the scale: 422 naming the rating, nothing recorded.
    let outcome =
        |rating: i64| json!({"version": visit["version"], "outcome":"done","rating":rating,"text":"顾客对补发满意"});
    let r = c
        .post(api(&format!("/follow-up-visits/{vid}/outcome")))
        .bearer_auth(&tok)
        .json(&outcome(7))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "rating");
    let r = c
        .post(api(&format!("/follow-up-visits/{vid}/outcome")))
        .bearer_auth(&tok)
        .json(&outcome(8))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    assert_eq!((done["state"].as_str(), done["rating"].as_i64()), (Some("done"), Some(8)));
    // Recorded twice: 409.
    let again = json!({"version": done["version"], "outcome":"done","rating":8,"text":"x"});
    let r =
        c.post(api(&format!("/follow-up-visits/{vid}/outcome"))).bearer_auth(&tok).json(&again).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // The complaint closed with the outcome, and a closed complaint has its follow_up clock.
    let k: Value = c.get(api(&format!("/cases/{id}"))).bearer_auth(&tok).send().await.unwrap().json().await.unwrap();
    assert_eq!(k["state"], "closed");
    let fu = k["clocks"].as_array().unwrap().iter().find(|c| c["name"] == "follow_up").unwrap().clone();
    assert_eq!(fu["state"], "met");

    // The page lists the recorded visit with its outcome, in Chinese.
    let cookie = browser_login(&s, "boss", "s3cret-pass").await;
    let r = c.get(format!("{}/follow-ups?state=all", s.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("顾客对补发满意") && html.contains("已回访"), "{html}");
});

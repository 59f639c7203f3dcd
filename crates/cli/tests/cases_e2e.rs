//! End-to-end: cases through the real binary's API and the customer portal API, on each engine.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, DEMO_PASSWORD, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

both_engines!(complaint_by_api_and_portal_with_roles_versions_and_fields, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let auditor = token(&s, "auditor", DEMO_PASSWORD).await;

    // The customer submits on the portal and gets a number and a tracking code.
    let r = c
        .post(url("/public/cases"))
        .json(&json!({"name":"李女士","phone":"13800138000","subject":"热水器漏水","description":"安装三天后底部漏水","locale":"zh-CN"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let number = created["number"].as_str().unwrap().to_owned();
    let code = created["tracking_code"].as_str().unwrap().to_owned();
    assert!(number.starts_with("TS-"));
    // The number alone reveals nothing.
    let r = c.get(url(&format!("/public/cases/{number}"))).header("x-tracking-code", "wrong").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let status: Value = c
        .get(url(&format!("/public/cases/{number}")))
        .header("x-tracking-code", &code)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "已受理");

    let list: Value = c
        .get(url("/cases?type=complaint&open=true&per_page=100"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["number"] == number.as_str())
        .expect("the portal case is in the agent's queue");
    assert_eq!((item["channel"].as_str().unwrap(), item["contact_name"].as_str().unwrap()), ("portal", "李女士"));
    let id = item["id"].as_i64().unwrap();
    // The acknowledgement clock runs from receipt (24 h); nothing is overdue yet.
    let k: Value = c.get(url(&format!("/cases/{id}"))).bearer_auth(&agent).send().await.unwrap().json().await.unwrap();
    let ack = k["clocks"].as_array().unwrap().iter().find(|c| c["name"] == "acknowledgement").unwrap().clone();
    assert_eq!(ack["state"], "running");
    let overdue: Value =
        c.get(url("/cases?overdue=true")).bearer_auth(&agent).send().await.unwrap().json().await.unwrap();
    assert_eq!(overdue["total"], 0);
    let step = |tok: String, body: Value| {
        let c = c.clone();
        let u = url(&format!("/cases/{id}/transitions"));
        async move { c.post(u).bearer_auth(tok).json(&body).send().await.unwrap() }
    };
    // 403 for a role the definition does not allow.
    assert_eq!(
        step(auditor.clone(), json!({"transition":"acknowledge","version":1})).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = step(agent.clone(), json!({"transition":"acknowledge","version":1})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
    // 409 for the stale version.
    let r = step(agent.clone(), json!({"transition":"assess","version":1,"category":"产品质量","severity":"major","responsibility":"yes","lead_department":"QA"})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // 422 naming the missing field.
    let r = step(
        agent.clone(),
        json!({"transition":"assess","version":v,"category":"产品质量","severity":"major","responsibility":"yes"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "lead_department");
    let r = step(agent.clone(), json!({"version":v})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "transition");
    let mut v = v;
    for body in [
        json!({"transition":"assess","category":"产品质量","severity":"general","responsibility":"yes","lead_department":"CS"}),
        json!({"transition":"investigate"}),
        json!({"transition":"propose","resolution":"上门更换密封圈"}),
        json!({"transition":"reply","reply":"我们将于明天上门更换密封圈"}),
    ] {
        let mut body = body;
        body["version"] = json!(v);
        let r = step(agent.clone(), body.clone()).await;
        assert_eq!(r.status(), StatusCode::OK, "{body}");
        v = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
    }
    // The customer reads the reply and rejects it on the portal: the case reopens.
    let status: Value = c
        .get(url(&format!("/public/cases/{number}")))
        .header("x-tracking-code", &code)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(status["steps"].as_array().unwrap().iter().any(|s| s["text"] == "我们将于明天上门更换密封圈"), "{status}");
    assert!(status["actions"].as_array().unwrap().contains(&json!("reject")));
    let r = c
        .post(url(&format!("/public/cases/{number}/actions")))
        .header("x-tracking-code", &code)
        .json(&json!({"action":"reject","reason":"希望直接换新"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let k: Value = c.get(url(&format!("/cases/{id}"))).bearer_auth(&agent).send().await.unwrap().json().await.unwrap();
    assert_eq!(k["state"], "investigating");
    // Department scoping: a technician in engineering does not see a case led by customer service.
    let tech = token(&s, "tech", DEMO_PASSWORD).await;
    assert_eq!(
        c.get(url(&format!("/cases/{id}"))).bearer_auth(&tech).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Every step is on the timeline and in the audit trail.
    let history: Value =
        c.get(url(&format!("/cases/{id}/history"))).bearer_auth(&agent).send().await.unwrap().json().await.unwrap();
    assert_eq!(history.as_array().unwrap().len(), 7);
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let audit: Value = c
        .get(url(&format!("/audit/events?entity=case&entity_id={id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 7);
    let out = app::cli(BIN, &db, &["audit", "verify"], "");
    assert!(out.status.success());
});

both_engines!(process_definitions_are_versioned_and_checked, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let defs: Value =
        c.get(url("/process-definitions")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    // Every type of every record kind: the seven case types, CAPA and nonconformance at least.
    let of_kind = |k: &str| defs.as_array().unwrap().iter().filter(|d| d["kind"] == k).count();
    assert_eq!((of_kind("case"), of_kind("capa"), of_kind("nc")), (7, 1, 1));
    let only: Value =
        c.get(url("/process-definitions?kind=capa")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(only.as_array().unwrap().len(), 1);
    let r = c.get(url("/process-definitions?kind=boat")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "kind");
    // A CAPA definition is versioned like a case type's; a case definition is refused at its path.
    let capa = only[0]["definition"].clone();
    let r = c.put(url("/process-definitions/capa/capa")).bearer_auth(&admin).json(&capa).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);
    let mut complaint =
        defs.as_array().unwrap().iter().find(|d| d["case_type"] == "complaint").unwrap()["definition"].clone();
    complaint["initial"] = json!("nowhere");
    let r = c.put(url("/process-definitions/complaint")).bearer_auth(&admin).json(&complaint).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "initial");
    complaint["initial"] = json!("received");
    let r = c.put(url("/process-definitions/capa/capa")).bearer_auth(&admin).json(&complaint).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "kind");
    let r = c.put(url("/process-definitions/complaint")).bearer_auth(&admin).json(&complaint).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let r = c.put(url("/process-definitions/complaint")).bearer_auth(&agent).json(&complaint).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

/// The double-submit CSRF pair of a public page: (cookie header, form token).
async fn visitor_csrf(c: &reqwest::Client, url: &str) -> (String, String, String) {
    let r = c.get(url).send().await.unwrap();
    let token = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("ld_csrf=").map(str::to_owned))
        .unwrap();
    let html = r.text().await.unwrap();
    (format!("ld_csrf={token}"), token, html)
}

both_engines!(portal_pages_and_the_agent_case_page, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let (cookie, token, html) = visitor_csrf(&c, &format!("{}/portal", s.base)).await;
    assert!(
        html.contains("顾客意见反馈") && !html.contains("员工意见"),
        "the employee channel is not offered publicly"
    );
    // Without the CSRF pair nothing is created.
    let r = c
        .post(format!("{}/portal", s.base))
        .form(&[
            ("type", "complaint"),
            ("name", "赵"),
            ("phone", "13900000000"),
            ("subject", "x"),
            ("description", "y"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(format!("{}/portal", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", token.as_str()),
            ("type", "complaint"),
            ("name", "赵先生"),
            ("phone", "13900000000"),
            ("subject", "<script>x()</script>门锁失灵"),
            ("description", "刚买一周"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let html = r.text().await.unwrap();
    let spans: Vec<String> =
        html.split("<span class=\"code\">").skip(1).map(|p| p.split('<').next().unwrap().to_owned()).collect();
    let (number, code) = (spans[0].clone(), spans[1].clone());
    // Tracking with a wrong code says so and shows nothing.
    let r = c
        .post(format!("{}/portal/track", s.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", token.as_str()), ("number", number.as_str()), ("code", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("编号或查询码不正确"));
    let r = c
        .post(format!("{}/portal/track", s.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", token.as_str()), ("number", number.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("已受理") && page.contains("&#60;script&#62;x()&#60;/script&#62;门锁失灵"), "{page}");

    // The agent opens it, sees the flowchart with the current state marked, and acknowledges it.
    let session = app::browser_login(&s, "agent", DEMO_PASSWORD).await;
    let list = c
        .get(format!("{}/cases?open=1", s.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let row = list.split("<tr>").find(|r| r.contains(number.as_str())).expect("the portal case is listed");
    let id: i64 = row.split("href=\"/cases/").nth(1).and_then(|p| p.split('"').next()?.parse().ok()).unwrap();
    let page =
        c.get(format!("{}/cases/{id}", s.base)).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"class="state current" data-state="received""#) && page.contains("确认收到"), "{page}");
    let csrf = app::csrf_of(&page);
    let r = c
        .post(format!("{}/cases/{id}/transitions", s.base))
        .header("cookie", &session)
        .form(&[("_csrf", csrf.as_str()), ("version", "1"), ("transition", "acknowledge")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Assessing without its fields comes back with the field named.
    let r = c
        .post(format!("{}/cases/{id}/transitions", s.base))
        .header("cookie", &session)
        .form(&[("_csrf", csrf.as_str()), ("version", "2"), ("transition", "assess"), ("category", "产品质量")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("severity"));
    let page =
        c.get(format!("{}/cases/{id}", s.base)).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"class="state current" data-state="acknowledged""#));
    let print = c
        .get(format!("{}/cases/{id}/print", s.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        print.contains("客户投诉/反馈报告")
            && print.contains(number.as_str())
            && print.contains("赵先生")
            && print.contains("刚买一周")
    );
});

both_engines!(coordination_meeting_and_merge_through_the_case_page, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let session = app::browser_login(&s, "mgmtrep", DEMO_PASSWORD).await;
    let get = |p: String| {
        let (c, session) = (c.clone(), session.clone());
        async move { c.get(p).header("cookie", session).send().await.unwrap().text().await.unwrap() }
    };
    let list = get(format!("{}/cases?type=complaint", s.base)).await;
    let ids: Vec<i64> =
        list.split("href=\"/cases/").skip(1).filter_map(|p| p.split('"').next()?.parse().ok()).collect();
    let (first, second) = (ids[0], ids[1]);
    let page = get(format!("{}/cases/{first}", s.base)).await;
    let csrf = app::csrf_of(&page);
    let r = c
        .post(format!("{}/cases/{first}/meetings", s.base))
        .header("cookie", &session)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("attendees", "总经理、品保部、生产部"),
            ("minutes", "确认工艺问题"),
            ("decisions", "全额退换"),
            ("action_description", "修订作业指导书"),
            ("action_owner", "qa"),
            ("action_due", "2026-12-20"),
            ("action_description", ""),
            ("action_owner", ""),
            ("action_due", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get(format!("{}/cases/{first}", s.base)).await;
    assert!(page.contains("确认工艺问题") && page.contains("修订作业指导书") && page.contains("周品保"), "{page}");
    // The management representative merges the second complaint into the first by its number.
    let number = page.split("<h1>").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    let second_page = get(format!("{}/cases/{second}", s.base)).await;
    let version = second_page.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = c
        .post(format!("{}/cases/{second}/merge", s.base))
        .header("cookie", &session)
        .form(&[("_csrf", csrf.as_str()), ("version", version.as_str()), ("into", number.as_str()), ("reason", "重复")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let second_page = get(format!("{}/cases/{second}", s.base)).await;
    assert!(second_page.contains(r#"class="state current" data-state="merged""#));
});

both_engines!(definitions_page_and_case_list_filters, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let session = app::browser_login(&s, "admin", DEMO_PASSWORD).await;
    let get = |p: String| {
        let (c, session) = (c.clone(), session.clone());
        async move { c.get(p).header("cookie", session).send().await.unwrap().text().await.unwrap() }
    };
    let page = get(format!("{}/process-definitions", s.base)).await;
    assert!(
        page.contains("流程定义")
            && page.matches("<svg").count() >= 9
            && page.contains("纠正和预防措施")
            && page.contains("action=\"/process-definitions/capa/capa\"")
            && (page.contains("case_type = &#34;complaint&#34;") || page.contains("case_type = &quot;complaint&quot;"))
    );
    let csrf = app::csrf_of(&page);
    let r = c
        .post(format!("{}/process-definitions/complaint", s.base))
        .header("cookie", &session)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("definition", "case_type = \"complaint\"\ninitial = \"x\"\nstates = []\ntransitions = []"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("不是状态"), "the refusal reads in the admin's language");
    let by_customer = get(format!("{}/cases?customer=C000002", s.base)).await;
    assert!(by_customer.contains("交货延迟一周") && !by_customer.contains("保修期如何计算"));
    let nobody = get(format!("{}/cases?customer=NOPE", s.base)).await;
    assert!(!nobody.contains("交货延迟一周"));
    let future = get(format!("{}/cases?from=2099-01-01", s.base)).await;
    assert!(!future.contains("交货延迟一周"));
    let today = get(format!("{}/cases?to=2099-01-01", s.base)).await;
    assert!(today.contains("交货延迟一周"));
});

#[tokio::test]
async fn the_case_number_format_is_configurable() {
    let db = TestDb::new(loopdesk_test_support::Engine::Sqlite).await;
    let s = app::serve(BIN, &db, &[("LOOPDESK_CASE_NUMBER_FORMAT", "KS-{YY}-{NNNN}")]);
    let r = client()
        .post(format!("{}/api/v1/public/cases", s.base))
        .json(&json!({"name":"钱","phone":"13700000000","subject":"咨询","description":"价格","type":"inquiry"}))
        .send()
        .await
        .unwrap();
    let number = r.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("KS-") && number.ends_with("-0001") && number.len() == 10, "{number}");
}

both_engines!(attachments_and_comments, |db: TestDb| async move {
    use reqwest::multipart::{Form, Part};
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let r = c
        .post(url("/cases"))
        .bearer_auth(&agent)
        .json(&json!({"type":"complaint","subject":"外壳开裂","description":"见照片"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let (id, number, code) = (
        created["id"].as_i64().unwrap(),
        created["number"].as_str().unwrap().to_owned(),
        created["tracking_code"].as_str().unwrap().to_owned(),
    );
    let evil = b"<html><script>alert(1)</script></html>".to_vec();
    let form = Form::new().part("file", Part::bytes(evil.clone()).file_name("现场照片.html")).text("public", "true");
    let r = c.post(url(&format!("/cases/{id}/attachments"))).bearer_auth(&agent).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let att: Value = r.json().await.unwrap();
    assert_eq!(att["content_type"], "application/octet-stream", "unknown types are served as downloads");
    let r = c.get(url(&format!("/attachments/{}", att["id"]))).bearer_auth(&agent).send().await.unwrap();
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), evil);
    // Someone outside the case's scope cannot fetch it.
    let tech = token(&s, "tech", DEMO_PASSWORD).await;
    let k: Value = c.get(url(&format!("/cases/{id}"))).bearer_auth(&agent).send().await.unwrap().json().await.unwrap();
    let mut v = k["version"].as_i64().unwrap();
    for body in [
        json!({"transition":"acknowledge"}),
        json!({"transition":"assess","category":"appearance","severity":"minor","responsibility":"yes","lead_department":"CS"}),
    ] {
        let mut body = body;
        body["version"] = json!(v);
        let r = c.post(url(&format!("/cases/{id}/transitions"))).bearer_auth(&agent).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        v = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
    }
    assert_eq!(
        c.get(url(&format!("/attachments/{}", att["id"]))).bearer_auth(&tech).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Too large is refused naming the field.
    let big = Form::new().part("file", Part::bytes(vec![0u8; 10 * 1024 * 1024 + 1]).file_name("big.bin"));
    let r = c.post(url(&format!("/cases/{id}/attachments"))).bearer_auth(&agent).multipart(big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "file");
    // A public comment reaches the customer; an internal one does not.
    for (text, public) in [("已安排更换外壳", true), ("内部：供应商批次问题", false)] {
        let r = c
            .post(url(&format!("/cases/{id}/comments")))
            .bearer_auth(&agent)
            .json(&json!({"body": text, "public": public}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let status: Value = c
        .get(url(&format!("/public/cases/{number}")))
        .header("x-tracking-code", &code)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = status["steps"].as_array().unwrap().iter().filter_map(|s| s["text"].as_str()).collect();
    assert!(texts.contains(&"已安排更换外壳") && !texts.iter().any(|t| t.contains("内部")), "{texts:?}");
});

both_engines!(
    fifty_concurrent_creators_get_gap_free_numbers_and_adverse_events_wait_for_their_decision,
    |db: TestDb| async move {
        assert!(app::cli(BIN, &db, &["demo"], "").status.success());
        let s = app::serve(BIN, &db, &[]);
        let c = client();
        let url = |p: &str| format!("{}/api/v1{p}", s.base);
        let agent = token(&s, "agent", DEMO_PASSWORD).await;
        let mut tasks = Vec::new();
        for i in 0..50 {
            let (c, u, t) = (c.clone(), url("/cases"), agent.clone());
            tasks.push(tokio::spawn(async move {
                let r = c
                    .post(u)
                    .bearer_auth(t)
                    .json(&json!({"type":"inquiry","subject":format!("并发 {i}"),"description":"x"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                r.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned()
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().rsplit('-').next().unwrap().parse::<i64>().unwrap());
        }
        seqs.sort();
        // The demo created 6 cases first.
        assert_eq!(seqs, (7..=56).collect::<Vec<_>>());

        // An adverse event: declining it is refused until quality records the reportability decision.
        let qa = token(&s, "qa", DEMO_PASSWORD).await;
        let k: Value = c
            .post(url("/cases"))
            .bearer_auth(&qa)
            .json(&json!({"type":"complaint","subject":"输液泵报警失灵","description":"患者受伤","adverse_event":true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = k["id"].as_i64().unwrap();
        let mut v = k["version"].as_i64().unwrap();
        let r = c
            .post(url(&format!("/cases/{id}/transitions")))
            .bearer_auth(&qa)
            .json(&json!({"transition":"acknowledge","version":v}))
            .send()
            .await
            .unwrap();
        v = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
        let r = c
            .post(url(&format!("/cases/{id}/transitions")))
            .bearer_auth(&qa)
            .json(&json!({"transition":"decline","version":v,"justification":"重复"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "reportability");
        let r = c
            .post(url(&format!("/cases/{id}/reportability")))
            .bearer_auth(&qa)
            .json(&json!({"version":v,"reportable":true,"regime":"fda","reason":"严重伤害"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        v = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
        let r = c
            .post(url(&format!("/cases/{id}/transitions")))
            .bearer_auth(&qa)
            .json(&json!({"transition":"decline","version":v,"justification":"已另案处理"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let closed: Value = r.json().await.unwrap();
        assert_eq!(closed["state"], "not_investigated");
        assert!(
            closed["clocks"].as_array().unwrap().iter().all(|c| c["state"] == "met" || c["state"] == "missed"),
            "the end stops every clock"
        );
    }
);

//! End-to-end: who sees a case through the real binary's API (issue #16 item 1 and its contract,
//! issue #13 item 7), on each engine.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, DEMO_PASSWORD, browser_login, client, csrf_of, get_json, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

both_engines!(task_departments_read_the_case_and_grievances_stay_hidden, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let [admin, agent, qa, member, tech, sales] = {
        let mut t = Vec::new();
        for u in ["admin", "agent", "qa", "member", "tech", "sales"] {
            t.push(token(&s, u, DEMO_PASSWORD).await);
        }
        <[String; 6]>::try_from(t).unwrap()
    };
    let post = |tok: &str, path: &str, body: Value| {
        let (c, u, tok) = (c.clone(), url(path), tok.to_owned());
        async move { c.post(u).bearer_auth(tok).json(&body).send().await.unwrap() }
    };
    let status_of = |tok: &str, path: &str| {
        let (c, u, tok) = (c.clone(), url(path), tok.to_owned());
        async move { c.get(u).bearer_auth(tok).send().await.unwrap().status() }
    };

    // The agent registers a complaint; quality takes the lead.
    let r = post(
        &agent,
        "/cases",
        json!({"type":"complaint","contact_name":"王先生","subject":"外壳开裂","description":"运输后外壳开裂"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let k: Value = r.json().await.unwrap();
    let id = k["id"].as_i64().unwrap();
    let mut v = k["version"].as_i64().unwrap();
    for body in [
        json!({"transition":"acknowledge"}),
        json!({"transition":"assess","category":"产品质量","severity":"major","responsibility":"yes","lead_department":"QA"}),
    ] {
        let mut body = body;
        body["version"] = json!(v);
        let r = post(&qa, &format!("/cases/{id}/transitions"), body).await;
        assert_eq!(r.status(), StatusCode::OK);
        v = r.json::<Value>().await.unwrap()["version"].as_i64().unwrap();
    }
    // The registering agent still sees it.
    assert_eq!(get_json(&s, &agent, &format!("/cases/{id}")).await["subject"], "外壳开裂");
    // Production and engineering receive a task each.
    let mut tasks = Vec::new();
    for d in ["PROD", "ENG"] {
        let r = post(
            &qa,
            &format!("/cases/{id}/tasks"),
            json!({"department":d,"question":"请分析","due_date":"2026-12-20"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        tasks.push(r.json::<Value>().await.unwrap());
    }
    // Sales is not involved: 404 on the case and its tasks.
    assert_eq!(status_of(&sales, &format!("/cases/{id}")).await, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&sales, &format!("/cases/{id}/tasks")).await, StatusCode::NOT_FOUND);
    // A member of production gets 200 on the case, answers its own task and not engineering's.
    assert_eq!(get_json(&s, &member, &format!("/cases/{id}")).await["id"], id);
    assert_eq!(get_json(&s, &member, &format!("/cases/{id}/tasks")).await.as_array().unwrap().len(), 2);
    let listed = get_json(&s, &member, "/cases?per_page=100").await;
    assert!(listed["items"].as_array().unwrap().iter().any(|k| k["id"] == id), "{listed}");
    let answer = |t: &Value| format!("/case-tasks/{}/answer", t["id"]);
    // Its case page shows the case and offers only its own task's answer form.
    let member_cookie = browser_login(&s, "member", DEMO_PASSWORD).await;
    let r = c.get(format!("{}/cases/{id}", s.base)).header("cookie", &member_cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("外壳开裂") && html.contains(&answer(&tasks[0])), "{html}");
    assert!(!html.contains(&answer(&tasks[1])) && !html.contains("/comments\"") && !html.contains("/transitions\""));
    let sales_cookie = browser_login(&s, "sales", DEMO_PASSWORD).await;
    let r = c.get(format!("{}/cases/{id}", s.base)).header("cookie", &sales_cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = post(&member, &answer(&tasks[1]), json!({"version":tasks[1]["version"],"answer":"不是我们"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(&member, &answer(&tasks[0]), json!({"version":tasks[0]["version"],"answer":"批次 L2309"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(&tech, &answer(&tasks[1]), json!({"version":tasks[1]["version"],"answer":"模具磨损"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Taking part is not handling.
    let r = post(&member, &format!("/cases/{id}/comments"), json!({"body":"x"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A grievance with a task to customer service: the agent sees none of it.
    let r = post(
        &admin,
        "/cases",
        json!({"type":"grievance","contact_name":"员工","subject":"加班费","description":"加班费未发"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let g = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = post(
        &admin,
        &format!("/cases/{g}/tasks"),
        json!({"department":"CS","question":"核实考勤","due_date":"2026-12-20"}),
    )
    .await;
    let gt: Value = r.json().await.unwrap();
    for path in [format!("/cases/{g}"), format!("/cases/{g}/tasks"), format!("/cases/{g}/history")] {
        assert_eq!(status_of(&agent, &path).await, StatusCode::NOT_FOUND, "{path}");
    }
    for version in [gt["version"].as_i64().unwrap(), 99] {
        let r = post(&agent, &answer(&gt), json!({"version":version,"answer":"已核实"})).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "whatever the version");
    }
    assert_eq!(get_json(&s, &agent, "/cases?type=grievance").await["total"], 0);
    assert_eq!(get_json(&s, &admin, "/cases?type=grievance").await["total"], 1);

    // Customer service is made to handle every complaint (seed 001 2.1); only an administrator may.
    let depts = get_json(&s, &admin, "/departments").await;
    let cs = depts.as_array().unwrap().iter().find(|d| d["code"] == "CS").unwrap()["id"].as_i64().unwrap();
    let put = |tok: &str, body: Value| {
        let (c, u, tok) = (c.clone(), url(&format!("/departments/{cs}/handled-types")), tok.to_owned());
        async move { c.put(u).bearer_auth(tok).json(&body).send().await.unwrap() }
    };
    assert_eq!(put(&agent, json!({"case_types":["complaint"]})).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(put(&admin, json!({"case_types":["grievance"]})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = put(&admin, json!({"case_types":["complaint"]})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        get_json(&s, &agent, "/handling-departments").await,
        json!([{"department_id":cs,"case_types":["complaint"]}])
    );

    // The same setting on the page: an administrator ticks the types, others read them.
    let page = |cookie: String| {
        let (c, u) = (c.clone(), format!("{}/handling-departments", s.base));
        async move { c.get(u).header("cookie", cookie).send().await.unwrap().text().await.unwrap() }
    };
    let admin_cookie = browser_login(&s, "admin", DEMO_PASSWORD).await;
    let html = page(admin_cookie.clone()).await;
    assert!(html.contains("受理部门设置") && html.contains("name=\"case_type\" value=\"complaint\" checked"), "{html}");
    assert!(!html.contains("value=\"grievance\""), "grievances cannot be handed to a department");
    let r = c
        .post(format!("{}/handling-departments/{cs}", s.base))
        .header("cookie", &admin_cookie)
        .form(&[("_csrf", csrf_of(&html).as_str()), ("case_type", "complaint"), ("case_type", "return")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(get_json(&s, &agent, "/handling-departments").await[0]["case_types"], json!(["complaint", "return"]));
    let r = c
        .post(format!("{}/handling-departments/{cs}", s.base))
        .header("cookie", &admin_cookie)
        .form(&[("_csrf", "forged"), ("case_type", "praise")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "a form without the session's CSRF token changes nothing");
    let agent_html = page(browser_login(&s, "agent", DEMO_PASSWORD).await).await;
    assert!(agent_html.contains("退货") && !agent_html.contains("type=\"checkbox\""), "{agent_html}");
});

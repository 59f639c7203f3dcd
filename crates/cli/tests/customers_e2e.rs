//! End-to-end: customer files through the real binary, API, pages and CLI, on each engine.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, DEMO_PASSWORD, Server, browser_login, client, csrf_of, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

fn start(db: &TestDb) -> Server {
    let out = app::cli(BIN, db, &["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    app::serve(BIN, db, &[])
}

both_engines!(customer_api_contract_dedupe_versions_and_search, |db: TestDb| async move {
    let s = start(&db);
    let c = client();
    let t = token(&s, "agent", DEMO_PASSWORD).await;
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let r = c
        .post(url("/customers"))
        .bearer_auth(&t)
        .json(&json!({"name":"宁波海天注塑机械有限公司","category":"end_user","region":"华东","phones":["0574-8618 0000"],"owner":"sales"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert!(created["code"].as_str().unwrap().starts_with('C'));
    // The same name and phone again is a duplicate that names the existing customer.
    let r = c
        .post(url("/customers"))
        .bearer_auth(&t)
        .json(&json!({"name":"宁波海天注塑机械有限公司","phones":["057486180000"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "name");
    assert!(body["error"]["message"].as_str().unwrap().contains(created["code"].as_str().unwrap()));
    // Bad input: 422 naming the field.
    let r = c.post(url("/customers")).bearer_auth(&t).json(&json!({"name":"x","category":"VIP"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "category");
    // Chinese search over names, phones and contacts, with filters and pagination.
    let found: Value = c.get(url("/customers?q=海天")).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    assert_eq!(found["total"], 1);
    let found: Value = c.get(url("/customers?q=王经理")).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    assert_eq!(found["items"][0]["name"], "深圳华星电子有限公司");
    let east: Value = c
        .get(url("/customers?region=华东&per_page=2&page=1"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((east["total"].as_i64().unwrap(), east["items"].as_array().unwrap().len()), (3, 2));
    let r = c.get(url("/customers?per_page=0")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "per_page");
    // PATCH with the version read; the stale one is refused.
    let id = created["id"].as_i64().unwrap();
    let v = created["version"].as_i64().unwrap();
    let r = c
        .patch(url(&format!("/customers/{id}")))
        .bearer_auth(&t)
        .json(&json!({"version": v, "address":"宁波市北仑区"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .patch(url(&format!("/customers/{id}")))
        .bearer_auth(&t)
        .json(&json!({"version": v, "address":"旧地址"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let now: Value =
        c.get(url(&format!("/customers/{id}"))).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    assert_eq!((now["address"].as_str().unwrap(), now["owner_id"].is_i64()), ("宁波市北仑区", true));
    // The communication register.
    let r = c
        .post(url(&format!("/customers/{id}/communications")))
        .bearer_auth(&t)
        .json(&json!({"channel":"visit","direction":"outbound","stage":"售前","subject":"上门演示","follow_up":true,"follow_up_due":"2026-12-10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let comms: Value = c
        .get(url(&format!("/customers/{id}/communications")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((comms["total"].as_i64().unwrap(), comms["items"][0]["stage"].as_str().unwrap()), (1, "pre_sale"));
    // An auditor reads but may not write.
    let aud = token(&s, "auditor", DEMO_PASSWORD).await;
    assert_eq!(
        c.get(url(&format!("/customers/{id}"))).bearer_auth(&aud).send().await.unwrap().status(),
        StatusCode::OK
    );
    let r = c.post(url("/customers")).bearer_auth(&aud).json(&json!({"name":"审计不能建"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

both_engines!(import_over_api_and_cli_all_or_nothing, |db: TestDb| async move {
    let s = start(&db);
    let c = client();
    let t = token(&s, "agent", DEMO_PASSWORD).await;
    let good =
        "Name,Region,Phones,Category\n甲公司,华北,010-1111 2222,distributor\n乙公司,华北,010-3333 4444,end_user\n";
    let part = |body: &str, name: &str| {
        Form::new().part("file", Part::bytes(body.as_bytes().to_vec()).file_name(name.to_owned()))
    };
    let r = c
        .post(format!("{}/api/v1/customers/import", s.base))
        .bearer_auth(&t)
        .multipart(part(good, "good.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["rows"], 2);
    let bad = "客户名称,客户类别\n丙公司,end_user\n,distributor\n丁公司,大客户\n";
    let r = c
        .post(format!("{}/api/v1/customers/import", s.base))
        .bearer_auth(&t)
        .multipart(part(bad, "bad.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    let rows: Vec<i64> = body["errors"].as_array().unwrap().iter().map(|e| e["row"].as_i64().unwrap()).collect();
    assert_eq!(rows, vec![3, 4]);
    let found: Value = c
        .get(format!("{}/api/v1/customers?q=丙公司", s.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 0, "a bad file imports nothing");
    let report = c
        .get(format!("{}/api/v1/imports/{}/report.csv", s.base, body["report_id"]))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), StatusCode::OK);
    let text = report.text().await.unwrap();
    assert!(text.contains("行号") && text.contains("客户类别"), "{text}");
    // Contracts over the CLI: the bad file exits non-zero and lists the row; the good one imports.
    let dir = db.dir.path();
    std::fs::write(dir.join("bad.csv"), "合同/订单号,客户编号,签订日期,金额(元)\nHT-9,C000001,2025-13-01,100\n")
        .unwrap();
    let out = app::cli(BIN, &db, &["import", "contracts", dir.join("bad.csv").to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("row 2, 签订日期"));
    std::fs::write(dir.join("ok.csv"), "Number,Customer code,Date,Value (CNY)\nHT-9,C000001,2025-11-01,\"1,234.50\"\n")
        .unwrap();
    let out = app::cli(BIN, &db, &["import", "contracts", dir.join("ok.csv").to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // Export: CSV with Chinese headers, XLSX as a workbook.
    let csv = c
        .get(format!("{}/api/v1/customers/export?kind=contracts", s.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("HT-9,C000001,2025-11-01,1234.50"), "{csv}");
    let x = c.get(format!("{}/api/v1/customers/export?format=xlsx", s.base)).bearer_auth(&t).send().await.unwrap();
    assert!(x.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
});

both_engines!(customer_page_shows_everything_in_chinese_and_escapes, |db: TestDb| async move {
    let s = start(&db);
    let c = client();
    let cookie = browser_login(&s, "agent", DEMO_PASSWORD).await;
    let get = |p: String| {
        let c = c.clone();
        let cookie = cookie.clone();
        async move { c.get(p).header("cookie", cookie).send().await.unwrap() }
    };
    let list = get(format!("{}/customers?q=华星", s.base)).await.text().await.unwrap();
    assert!(list.contains("顾客档案台账") && list.contains("深圳华星电子有限公司"), "{list}");
    let id: i64 = list.split("href=\"/customers/").skip(1).find_map(|s| s.split('"').next()?.parse().ok()).unwrap();
    let page = get(format!("{}/customers/{id}", s.base)).await.text().await.unwrap();
    for expected in [
        "深圳华星电子有限公司",
        "王经理",
        "采购经理",
        "PS-200",
        "HT-2025-001",
        "180000.00",
        "与顾客沟通登记",
        "询问保修期限",
        "售后",
    ] {
        assert!(page.contains(expected), "{expected} missing from the customer page");
    }
    // Cases show on the customer page within the reader's scope: quality sees the one it leads.
    assert!(!page.contains("电源模块上电冒烟"), "the agent does not see a case led by quality");
    let qa = browser_login(&s, "qa", DEMO_PASSWORD).await;
    let qa_page =
        c.get(format!("{}/customers/{id}", s.base)).header("cookie", &qa).send().await.unwrap().text().await.unwrap();
    assert!(qa_page.contains("电源模块上电冒烟") && qa_page.contains("调查处理中"), "{qa_page}");
    // A communication with markup in it is shown as text.
    let csrf = csrf_of(&page);
    let r = c
        .post(format!("{}/customers/{id}/communications", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("channel", "phone"),
            ("direction", "inbound"),
            ("stage", "after_sale"),
            ("subject", "<img src=x onerror=alert(1)>"),
            ("content", "投诉<b>加急</b>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get(format!("{}/customers/{id}", s.base)).await.text().await.unwrap();
    assert!(page.contains("&#60;img src=x onerror=alert(1)&#62;") && !page.contains("<img src=x"));
    // A follow-up without its due date comes back with the reason.
    let r = c
        .post(format!("{}/customers/{id}/communications", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("channel", "phone"),
            ("direction", "inbound"),
            ("stage", "after_sale"),
            ("subject", "回访"),
            ("follow_up", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("follow_up_due"));
    // With the due date it is recorded, and the agent's open follow-up is on the home page.
    let r = c
        .post(format!("{}/customers/{id}/communications", s.base))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("channel", "phone"),
            ("direction", "outbound"),
            ("stage", "after_sale"),
            ("subject", "满意度回访"),
            ("follow_up", "1"),
            ("follow_up_due", "2020-01-31"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let home = get(format!("{}/", s.base)).await.text().await.unwrap();
    assert!(home.contains("我的待跟进事项") && home.contains("满意度回访") && home.contains("已逾期"), "{home}");
    assert!(
        home.contains("待处理案件") && home.contains("交货延迟一周"),
        "the agent's queue lists open cases in scope"
    );
    let action = home.split("action=\"/follow-ups/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let version = home.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let r = c
        .post(format!("{}/follow-ups/{action}", s.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str()), ("version", version.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let home = get(format!("{}/", s.base)).await.text().await.unwrap();
    assert!(!home.contains("满意度回访"));
});

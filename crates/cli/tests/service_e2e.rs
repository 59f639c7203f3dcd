//! End-to-end (issue #19) through the real binary on each engine: the 三包 calculator contract; a
//! service request becomes a service order that is scheduled, visited, diagnosed under 三包 (free
//! repair in warranty), gets a spare part resent after the management representative's approval,
//! is signed off by the customer on the technician's phone-sized page in a real headless Chromium
//! (signature drawn on the canvas), and shows in the ledger (JSON, CSV, page) and the cost facts.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use loopdesk_test_support::app::{self, DEMO_PASSWORD, Server, browser_login, client, token};
use loopdesk_test_support::browser::{CHROMIUM, Driver, chromedriver};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

/// Headless Chromium the size of a 390 px phone.
async fn phone(d: &Driver, profile: &std::path::Path) -> fantoccini::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=390,844",
                format!("--user-data-dir={}", profile.display()),
            ],
            "mobileEmulation": { "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0 } }
        }),
    );
    ClientBuilder::rustls().unwrap().capabilities(caps).connect(&d.url).await.expect("browser session")
}

both_engines!(service_request_to_signed_off_order_with_resend_ledger_and_costs, |db: TestDb| async move {
    let out = app::cli(BIN, &db, &["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Server = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let tech = token(&s, "tech", DEMO_PASSWORD).await;
    let rep = token(&s, "mgmtrep", DEMO_PASSWORD).await;
    let store = token(&s, "member", DEMO_PASSWORD).await;
    let send = |t: &str, m: reqwest::Method, p: &str, body: Option<Value>| {
        let r = c.request(m, url(p)).bearer_auth(t);
        let r = match body {
            Some(b) => r.json(&b),
            None => r,
        };
        r.send()
    };
    let post = |t: &str, p: &str, b: Value| send(t, reqwest::Method::POST, p, Some(b));
    let get = |t: &str, p: &str| send(t, reqwest::Method::GET, p, None);

    // The calculator contract: after two repairs, exchange or refund; 422 names the field.
    let r = post(&agent, "/warranty/evaluate", json!({
        "policy": {"unit_months": 12, "return_days": 7, "exchange_days": 15, "repair_limit": 2, "no_parts_days": 90, "repair_delay_days": 30},
        "invoice_date": "2026-01-10", "fault_date": "2026-06-01",
        "history": [{"kind": "repair", "date": "2026-03-01", "days_in_repair": 5, "waiting_parts_days": 0},
                    {"kind": "repair", "date": "2026-04-01", "days_in_repair": 3, "waiting_parts_days": 2}],
        "void": []
    })).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["remedies"], json!(["exchange", "repair", "refund"]));
    assert_eq!(d["period_end"], "2027-01-20");
    assert!(
        d["articles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["article"] == "art11" && a["citation"].as_str().unwrap().contains("第十一条"))
    );
    let misuse = post(&agent, "/warranty/evaluate", json!({"policy": {"unit_months": 12}, "invoice_date": "2026-01-10", "fault_date": "2026-01-12", "void": ["misuse"]}))
        .await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(misuse["remedies"], json!(["paid"]));
    for (body, field) in [
        (
            json!({"policy": {"unit_months": 12}, "invoice_date": "2026-01-10", "fault_date": "2025-12-01"}),
            "fault_date",
        ),
        (
            json!({"policy": {"unit_months": 0}, "invoice_date": "2026-01-10", "fault_date": "2026-02-01"}),
            "policy.unit_months",
        ),
        (
            json!({"policy": {"unit_months": 12}, "invoice_date": "2026-01-10", "fault_date": "2026-02-01", "history": [{"kind": "repair", "date": "2026-03-01"}]}),
            "history[0].date",
        ),
        (
            json!({"policy": {"unit_months": 12}, "invoice_date": "2026-13-10", "fault_date": "2026-02-01"}),
            "invoice_date",
        ),
    ] {
        let r = post(&agent, "/warranty/evaluate", body).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: Value = r.json().await.unwrap();
        assert_eq!((e["error"]["code"].as_str(), e["error"]["field"].as_str()), (Some("invalid"), Some(field)), "{e}");
    }

    // The customer's file: a pump sold this year.
    let cu: Value = post(&agent, "/customers", json!({"name": "华东机械厂"})).await.unwrap().json().await.unwrap();
    let r =
        post(&agent, "/products", json!({"code": "PUMP-A", "name": "离心泵", "warranty_months": 12})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let today = chrono::Utc::now().date_naive();
    let sold = today - chrono::Duration::days(40);
    let asset: Value = post(
        &agent,
        &format!("/customers/{}/assets", cu["id"]),
        json!({"product_code": "PUMP-A", "serial": "SN-001", "ship_date": sold.to_string()}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let k: Value = post(&agent, "/cases", json!({"type": "service_request", "customer_id": cu["id"], "contact_name": "李工", "subject": "离心泵漏水", "description": "机械密封处漏水"}))
        .await.unwrap().json().await.unwrap();
    let case_id = k["id"].as_i64().unwrap();

    // The service order from the case.
    let r = post(&agent, "/service-orders", json!({"case_id": case_id, "asset_id": asset["id"], "kind": "onsite_repair", "priority": "high", "on_site": true})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let o: Value = r.json().await.unwrap();
    assert!(o["number"].as_str().unwrap().starts_with("SV-"), "{o}");
    assert_eq!(o["state"], "new");
    assert!(o["onsite_due_at"].is_string());
    let id = o["id"].as_i64().unwrap();
    let r = post(&agent, "/service-orders", json!({"kind": "teleport", "reported_fault": "x"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "kind");
    let me: Value = get(&tech, "/auth/me").await.unwrap().json().await.unwrap();
    let now = chrono::Utc::now();
    let step = |t: String, b: Value| {
        let c = c.clone();
        let u = url(&format!("/service-orders/{id}/steps"));
        async move { c.post(u).bearer_auth(t).json(&b).send().await.unwrap() }
    };
    let version = |o: &Value| o["version"].as_i64().unwrap();
    let r = step(
        agent.clone(),
        json!({"action": "schedule", "version": version(&o), "technician_id": me["id"],
        "planned_start": now.to_rfc3339(), "planned_end": (now + chrono::Duration::hours(3)).to_rfc3339()}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let o: Value = r.json().await.unwrap();
    // The technician's day list has it; arrive; diagnose: in warranty, free repair.
    let mine: Value =
        get(&tech, &format!("/service-orders?technician_id={}", me["id"])).await.unwrap().json().await.unwrap();
    assert!(mine.as_array().unwrap().iter().any(|x| x["id"] == id));
    let o: Value = step(tech.clone(), json!({"action": "arrive", "version": version(&o)})).await.json().await.unwrap();
    assert_eq!(o["state"], "on_site");
    let r = step(tech.clone(), json!({"action": "arrive", "version": version(&o)})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let o: Value = step(tech.clone(), json!({"action": "diagnose", "version": version(&o), "diagnosis": "quality_defect", "failure_code": "seal.leak", "cause_code": "seal"}))
        .await.json().await.unwrap();
    let full: Value = get(&tech, &format!("/service-orders/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(full["decision"]["remedies"], json!(["repair"]), "{full}");
    assert_eq!(full["decision"]["in_warranty"], true);

    // A part on the order and a spare part resent after approval.
    let r = post(&tech, &format!("/service-orders/{id}/lines"), json!({"kind": "part", "part_code": "SEAL-35", "description": "机械密封",
        "faulty_serial": "S-OLD", "replacement_serial": "S-NEW", "fate": "scrap", "payer": "company", "cost_fen": 12000})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = post(&tech, "/spare-part-resends", json!({"service_order_id": id, "part_code": "IMP-120", "part_name": "叶轮", "spec": "Φ120",
        "quantity": 1, "unit_cost_fen": 30000, "payer": "company", "product_code": "PUMP-A", "cause": "seal", "receiver_name": "李工"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let rs: Value = r.json().await.unwrap();
    let rid = rs["id"].as_i64().unwrap();
    let ship =
        json!({"version": rs["version"], "ship_date": today.to_string(), "carrier": "顺丰", "tracking_no": "SF1"});
    let r = post(&store, &format!("/spare-part-resends/{rid}/ship"), ship.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = post(
        &agent,
        &format!("/spare-part-resends/{rid}/decision"),
        json!({"version": rs["version"], "approve": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let rs: Value = post(
        &rep,
        &format!("/spare-part-resends/{rid}/decision"),
        json!({"version": rs["version"], "approve": true, "note": "同意"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(rs["state"], "approved");
    let r = post(
        &store,
        &format!("/spare-part-resends/{rid}/ship"),
        json!({"version": rs["version"], "ship_date": today.to_string(), "carrier": "顺丰", "tracking_no": "SF1"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    // Repair and completion through the API; the sign-off in the browser.
    let o: Value = step(tech.clone(), json!({"action": "start_repair", "version": version(&o), "remedy": "repair"}))
        .await
        .json()
        .await
        .unwrap();
    let r = step(tech.clone(), json!({"action": "complete", "version": version(&o), "text": "更换机械密封，试车正常"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let driver = chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let b = phone(&driver, profile.path()).await;
    b.goto(&format!("{}/login", s.base)).await.unwrap();
    b.find(Locator::Css("input[name='username']")).await.unwrap().send_keys("tech").await.unwrap();
    b.find(Locator::Css("input[name='password']")).await.unwrap().send_keys(DEMO_PASSWORD).await.unwrap();
    b.find(Locator::Css("form[action='/login'] button[type='submit']")).await.unwrap().click().await.unwrap();
    b.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css("a[href='/inbox']")).await.unwrap();
    b.goto(&format!("{}/service-orders/{id}", s.base)).await.unwrap();
    b.wait().at_most(Duration::from_secs(30)).for_element(Locator::Id("signoff-form")).await.unwrap();
    // Phone-sized: nothing wider than the 390 px screen; the pad shows (the script ran).
    let widths = b.execute("return [document.documentElement.clientWidth, document.documentElement.scrollWidth, document.querySelector('.sig-pad').hidden];", vec![]).await.unwrap();
    let w = widths.as_array().unwrap();
    assert!(w[0].as_i64().unwrap() <= 390, "{widths}");
    assert!(w[1].as_i64().unwrap() <= w[0].as_i64().unwrap(), "the page scrolls sideways on a phone: {widths}");
    assert_eq!(w[2], false);
    // Draw a stroke on the canvas as a finger would.
    b.execute(
        "const c = document.getElementById('signature-pad'); const r = c.getBoundingClientRect();
         const ev = (t, x, y) => c.dispatchEvent(new PointerEvent(t, {pointerId: 1, bubbles: true, clientX: r.left + x, clientY: r.top + y}));
         ev('pointerdown', 20, 80); for (let i = 1; i <= 20; i++) { ev('pointermove', 20 + i * 12, 80 + (i % 2 ? 30 : -30)); } ev('pointerup', 260, 80);",
        vec![],
    ).await.unwrap();
    b.find(Locator::Id("signoff_name")).await.unwrap().send_keys("李工").await.unwrap();
    b.find(Locator::Css("input[name='rating'][value='4']")).await.unwrap().click().await.unwrap();
    b.find(Locator::Id("signoff")).await.unwrap().click().await.unwrap();
    b.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css("img.signature")).await.unwrap();
    let state = b.find(Locator::Id("state")).await.unwrap().text().await.unwrap();
    assert_eq!(state, "顾客已签字");
    b.close().await.unwrap();
    drop(driver);

    let full: Value = get(&agent, &format!("/service-orders/{id}")).await.unwrap().json().await.unwrap();
    assert_eq!(
        (full["state"].as_str(), full["signoff_method"].as_str(), full["rating"].as_i64()),
        (Some("signed_off"), Some("signature"), Some(4))
    );
    assert!(full["signoff_image"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert!(full["report_due_at"].is_string());
    // The printable report (JL-7.5-02-3) shows the signature and the 三包 article.
    let cookie = browser_login(&s, "agent", DEMO_PASSWORD).await;
    let html = c
        .get(format!("{}/service-orders/{id}/print", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("售后服务报告单")
            && html.contains("JL-7.5-02-3")
            && html.contains("第八条")
            && html.contains("img class=\"signature\"")
    );

    // The ledger and the cost facts.
    let from = (today - chrono::Duration::days(1)).to_string();
    let to = (today + chrono::Duration::days(1)).to_string();
    let l: Value =
        get(&agent, &format!("/warranty-parts-ledger?from={from}&to={to}")).await.unwrap().json().await.unwrap();
    let mut moves: Vec<(&str, &str)> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["movement"].as_str().unwrap(), x["part_code"].as_str().unwrap()))
        .collect();
    moves.sort();
    assert_eq!(moves, vec![("issued", "IMP-120"), ("issued", "SEAL-35"), ("scrapped", "SEAL-35")]);
    let csv = get(&agent, &format!("/warranty-parts-ledger?from={from}&to={to}&format=csv"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("IMP-120") && csv.contains("300.00"), "{csv}");
    let page = c
        .get(format!("{}/warranty-ledger?from={from}&to={to}", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("三包备件登记台账") && page.contains("叶轮"));
    assert_eq!(
        get(&tech, &format!("/warranty-parts-ledger?from={from}&to={to}")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let month = today.format("%Y-%m").to_string();
    let f: Value =
        get(&rep, &format!("/warranty-cost-facts?from={month}&to={month}")).await.unwrap().json().await.unwrap();
    let total: i64 = f
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["product_code"] == "PUMP-A")
        .map(|x| x["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 42_000, "{f}");
});

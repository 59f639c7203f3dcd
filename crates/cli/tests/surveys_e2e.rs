//! End-to-end: a satisfaction campaign through the real binary on each engine — AHP contract,
//! a template with AHP weights, a plan and a campaign to 20 contacts, one answer given in a real
//! headless Chromium, the others posted as the no-JavaScript form does, results and the
//! below-target corrective-action request.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use loopdesk_test_support::app::{self, DEMO_PASSWORD, Server, browser_login, client, token};
use loopdesk_test_support::browser::{CHROMIUM, Driver, chromedriver};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

fn start(db: &TestDb) -> Server {
    let out = app::cli(BIN, db, &["demo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    app::serve(BIN, db, &[])
}

async fn browser(d: &Driver, profile: &std::path::Path) -> fantoccini::Client {
    // Two rustls crypto providers are linked in (ring via reqwest, aws-lc-rs via fantoccini).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::rustls().unwrap().capabilities(caps).connect(&d.url).await.expect("browser session")
}

fn template() -> Value {
    json!({
        "code": "EXT", "name_zh": "顾客满意程度调查表", "name_en": "Customer satisfaction questionnaire",
        "audience": "external_customer", "weight_method": "ahp", "allow_anonymous": true,
        "indicators": [
            {"code": "Q", "name_zh": "产品质量", "name_en": "Product quality"},
            {"code": "D", "name_zh": "发运及时性", "name_en": "Delivery on time"},
            {"code": "S", "name_zh": "销售服务", "name_en": "Sales service"}
        ],
        "ahp": [{"matrix": [[1,3,5],[0.3333,1,3],[0.2,0.3333,1]]}],
        "questions": [
            {"code": "q", "kind": "rating", "indicator": "Q", "text_zh": "您对产品质量是否满意？", "text_en": "Product quality?", "required": true},
            {"code": "d", "kind": "rating", "indicator": "D", "text_zh": "您对发运及时性是否满意？", "text_en": "Delivery on time?"},
            {"code": "s", "kind": "rating", "indicator": "S", "text_zh": "您对销售服务是否满意？", "text_en": "Sales service?"},
            {"code": "nps", "kind": "nps", "text_zh": "您向他人推荐我们的可能性？", "text_en": "How likely are you to recommend us?"},
            {"code": "op", "kind": "text", "feedback_kind": "suggestion", "text_zh": "您的意见和建议", "text_en": "Your suggestions"}
        ]
    })
}

both_engines!(campaign_to_twenty_contacts_answered_in_a_browser_below_target_opens_request, |db: TestDb| async move {
    let s = start(&db);
    let c = client();
    let t = token(&s, "mgmtrep", DEMO_PASSWORD).await;
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let post = |p: &str, body: Value| c.post(url(p)).bearer_auth(&t).json(&body).send();

    // The AHP contract: weights, λmax, CI, CR; 422 naming the cell otherwise.
    let r = post("/ahp", json!({"matrix": [[1,3,5],[0.3333,1,3],[0.2,0.3333,1]]})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let a: Value = r.json().await.unwrap();
    assert!((a["weights"][0].as_f64().unwrap() - 0.637).abs() < 1e-3 && a["consistent"] == true);
    assert!((a["cr"].as_f64().unwrap() - 0.033).abs() < 1e-3 && a["lambda_max"].as_f64().unwrap() > 3.0);
    for (m, cell) in [
        (json!([[1, 3], [0.5, 1]]), "matrix[1][0]"),
        (json!([[1, 3], [0.3333, 1, 3]]), "matrix[1]"),
        (json!([[1, -3], [0.3333, 1]]), "matrix[0][1]"),
    ] {
        let r = post("/ahp", json!({ "matrix": m })).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], cell);
    }

    // A template whose judgements contradict each other is refused with CR in the reason.
    let mut bad = template();
    bad["ahp"][0]["matrix"] = json!([[1, 9, 0.1111], [0.1111, 1, 9], [9, 0.1111, 1]]);
    let r = post("/survey-templates", bad).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["field"], "ahp[0].matrix");
    assert!(e["error"]["message"].as_str().unwrap().contains("CR ="));
    let r = post("/survey-templates", template()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let tpl: Value = r.json().await.unwrap();
    assert_eq!(tpl["revision"], 1);
    assert!((tpl["item_weights"][0]["multiplier"].as_f64().unwrap() - 0.637 * 3.0).abs() < 5e-3);

    // Twenty contacts in their own region, each with a contract of CNY 2.5 million.
    for k in 0..20 {
        let r = post("/customers", json!({"name": format!("满意度测试客户{k:02}"), "region": "测试区"})).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = post(
            &format!("/customers/{id}/contacts"),
            json!({"name": format!("联系人{k}"), "email": format!("k{k}@example.com")}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = post(
            &format!("/customers/{id}/contracts"),
            json!({"number": format!("CSAT-{k}"), "signed_on": "2026-01-10", "value": "2500000"}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = post(
        "/survey-plans",
        json!({"name": "2026 年度客户满意程度调查计划", "template_code": "EXT", "period_start": "2026-01-01",
               "period_end": "2026-12-31", "frequency": "semi_annual", "target_pct": 90,
               "population": {"region": "测试区", "min_contract_value": "2000000"},
               "triggers": [{"event": "case_closed", "case_type": "complaint"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let plan: Value = r.json().await.unwrap();
    assert_eq!(plan["min_response_rate"], 0.6);
    let r = post("/survey-campaigns", json!({"plan_id": plan["id"], "name": "2026 上半年", "period": "2026H1"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let launch: Value = r.json().await.unwrap();
    let links: Vec<String> =
        launch["links"].as_array().unwrap().iter().map(|l| l["url"].as_str().unwrap().to_owned()).collect();
    assert_eq!(links.len(), 20);
    let id = launch["campaign"]["id"].as_i64().unwrap();

    // The form without sign-in, in the browser's language.
    let page = c.get(format!("{}{}", s.base, links[1])).header("accept-language", "zh-CN").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("您对产品质量是否满意？") && html.contains("非常满意") && !html.contains("<script"));
    assert_eq!(c.get(format!("{}/s/not-a-real-token", s.base)).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // One answer in a real browser, in English, with markup in the free text.
    let driver = chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let b = browser(&driver, profile.path()).await;
    b.goto(&format!("{}{}?lang=en", s.base, links[0])).await.unwrap();
    assert!(b.source().await.unwrap().contains("Product quality?"));
    for (q, v) in [("q", "8"), ("d", "6"), ("s", "8"), ("nps", "9")] {
        b.find(Locator::Css(&format!("input[name='{q}'][value='{v}']"))).await.unwrap().click().await.unwrap();
    }
    b.find(Locator::Css("textarea[name='op']"))
        .await
        .unwrap()
        .send_keys("<script>alert(1)</script>包装需改进")
        .await
        .unwrap();
    b.find(Locator::Id("submit-survey")).await.unwrap().click().await.unwrap();
    let done = b
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("survey-done"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(done, "Thank you");
    // Back and submit again: refused, the link answers once.
    b.goto(&format!("{}{}?lang=en", s.base, links[0])).await.unwrap();
    assert!(b.source().await.unwrap().contains("Already answered"));
    b.close().await.unwrap();
    drop(driver);
    let again = c.post(format!("{}{}", s.base, links[0])).form(&[("q", "10")]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Twelve more answers as the form posts them (no JavaScript needed); one bad value first.
    let r = c.post(format!("{}{}", s.base, links[1])).form(&[("q", "7")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for l in &links[1..13] {
        let r = c
            .post(format!("{}{}?lang=zh", s.base, l))
            .form(&[("q", "6"), ("d", "3"), ("s", "6"), ("nps", "5"), ("op", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
    let reminded: Value =
        post(&format!("/survey-campaigns/{id}/reminders"), json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(reminded["invitation_ids"].as_array().unwrap().len(), 7);

    // Results: S_Q = (8 + 12·6)/(13·10) = 61.54 %, S_D = (6 + 12·3)/130 = 32.31 %, S_S = 61.54 %.
    let r: Value = c
        .get(url(&format!("/survey-campaigns/{id}/results")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sat: Vec<f64> =
        r["items"].as_array().unwrap().iter().map(|i| i["satisfaction_pct"].as_f64().unwrap()).collect();
    for (got, want) in sat.iter().zip([80.0 / 1.3, 42.0 / 1.3, 80.0 / 1.3]) {
        assert!((got - want).abs() < 1e-9, "{sat:?}");
    }
    let overall: f64 = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["weight"].as_f64().unwrap() * i["satisfaction_pct"].as_f64().unwrap())
        .sum();
    assert!((r["overall_pct"].as_f64().unwrap() - overall).abs() < 1e-9);
    assert!((r["response_rate"].as_f64().unwrap() - 0.65).abs() < 1e-12 && r["representative"] == true);
    // NPS: 1 promoter, 12 detractors of 13. CSAT: the browser's two "satisfied" of 39 ratings.
    assert!((r["nps"].as_f64().unwrap() - (1.0 - 12.0) / 13.0 * 100.0).abs() < 1e-9);
    assert!((r["csat_pct"].as_f64().unwrap() - 2.0 / 39.0 * 100.0).abs() < 1e-9);
    assert_eq!(r["tracking"]["opened"], 13);
    assert_eq!(r["texts"][0]["text"], "<script>alert(1)</script>包装需改进");
    assert_eq!(r["feedback"]["suggestions"], 1);
    assert!(r["below_target"] == true && r["corrective_action"].is_null());

    // Closing below target opens the corrective-action request, due in 2 working days.
    let version = r["version"].as_i64().unwrap();
    let closed = post(&format!("/survey-campaigns/{id}/close"), json!({"version": version})).await.unwrap();
    assert_eq!(closed.status(), StatusCode::OK);
    let r: Value = c
        .get(url(&format!("/survey-campaigns/{id}/results")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let car = &r["corrective_action"];
    assert_eq!(
        (car["source"].as_str(), car["source_id"].as_i64(), car["status"].as_str()),
        (Some("survey_campaign"), Some(id), Some("open"))
    );
    let all: Value =
        c.get(url("/corrective-action-requests")).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    assert_eq!(all[0]["id"], car["id"]);
    let late = c.post(format!("{}{}", s.base, links[19])).form(&[("q", "10")]).send().await.unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);

    // The results page escapes free text and draws the chart; the workbook downloads.
    let cookie = browser_login(&s, "mgmtrep", DEMO_PASSWORD).await;
    let html = c
        .get(format!("{}/surveys/campaigns/{id}", s.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("&#60;script&#62;alert(1)") && !html.contains("<script>alert"),
        "{}",
        html.split("id=\"texts\"").nth(1).unwrap_or(&html)
    );
    assert!(html.contains("<svg") && html.contains("id=\"corrective-action\"") && html.contains("id=\"below-target\""));
    let list = c.get(format!("{}/surveys", s.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let x = c.get(url(&format!("/survey-campaigns/{id}/export"))).bearer_auth(&t).send().await.unwrap();
    assert_eq!(x.status(), StatusCode::OK);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
});

/// Posts a form as a signed-in browser does; the answer is not followed.
async fn post_form(s: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let html = client().get(format!("{}/surveys", s.base)).header("cookie", cookie).send().await.unwrap();
    let csrf = app::csrf_of(&html.text().await.unwrap());
    let mut fields: Vec<(&str, &str)> = vec![("_csrf", &csrf)];
    fields.extend_from_slice(form);
    client().post(format!("{}{path}", s.base)).header("cookie", cookie).form(&fields).send().await.unwrap()
}

async fn page(s: &Server, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = client().get(format!("{}{path}", s.base)).header("cookie", cookie).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The template editor's fields for three indicators and their questions.
fn editor_fields<'a>(weights: [&'a str; 3], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("indicator_rows", "4"),
        ("question_rows", "5"),
        ("level_rows", "0"),
        ("code", "WEB"),
        ("name_zh", "网页录入的调查表"),
        ("name_en", "Questionnaire typed in the browser"),
        ("audience", "external_customer"),
        ("scale", "five_level_10"),
        ("weight_method", "manual"),
        ("indicators[0].code", "Q"),
        ("indicators[0].name_zh", "产品质量"),
        ("indicators[0].name_en", "Product quality"),
        ("indicators[0].weight", weights[0]),
        ("indicators[0].threshold", "80"),
        ("indicators[1].code", "D"),
        ("indicators[1].name_zh", "交付"),
        ("indicators[1].name_en", "Delivery"),
        ("indicators[1].weight", weights[1]),
        ("indicators[2].code", "S"),
        ("indicators[2].name_zh", "服务"),
        ("indicators[2].name_en", "Service"),
        ("indicators[2].weight", weights[2]),
        // An untouched blank row is dropped.
        ("indicators[3].code", ""),
        ("questions[0].code", "q"),
        ("questions[0].kind", "rating"),
        ("questions[0].text_zh", "您对产品质量是否满意？"),
        ("questions[0].text_en", "Product quality?"),
        ("questions[0].indicator", "Q"),
        ("questions[0].required", "1"),
        ("questions[1].code", "d"),
        ("questions[1].kind", "rating"),
        ("questions[1].text_zh", "交付"),
        ("questions[1].text_en", "Delivery"),
        ("questions[1].indicator", "D"),
        ("questions[2].code", "s"),
        ("questions[2].kind", "rating"),
        ("questions[2].text_zh", "服务"),
        ("questions[2].text_en", "Service"),
        ("questions[2].indicator", "S"),
        ("questions[3].code", "op"),
        ("questions[3].kind", "text"),
        ("questions[3].text_zh", "意见"),
        ("questions[3].text_en", "Opinions"),
        ("questions[3].feedback_kind", "opinion"),
        ("questions[4].code", "ch"),
        ("questions[4].kind", "single_choice"),
        ("questions[4].text_zh", "您从何处了解我们？"),
        ("questions[4].text_en", "How did you hear of us?"),
        ("questions[4].options", "fair | 展会 | Trade fair\nweb | 网站 | Website"),
    ];
    for (k, v) in extra {
        match f.iter_mut().find(|(key, _)| key == k) {
            Some(field) => field.1 = v,
            None => f.push((k, v)),
        }
    }
    f
}

// Staff pages without JavaScript: the template editor (preview with AHP, a refused matrix, a
// refused weight, a saved revision), the plan form (a refused target), a launch that shows the
// links once, answers, the KPI form (a refused value), classification of free text, and results
// per period in the API, the XLSX and the page with its trend chart. Every refusal is a 422
// naming the field, and the record it would have written is not there afterwards.
both_engines!(staff_forms_build_template_plan_campaign_kpis_and_period_results, |db: TestDb| async move {
    let s = start(&db);
    let c = client();
    let t = token(&s, "mgmtrep", DEMO_PASSWORD).await;
    let cookie = browser_login(&s, "mgmtrep", DEMO_PASSWORD).await;
    let api = |p: &str| format!("{}/api/v1{p}", s.base);
    let get_json = |p: String| {
        let c = c.clone();
        let t = t.clone();
        async move { c.get(p).bearer_auth(&t).send().await.unwrap().json::<Value>().await.unwrap() }
    };

    let (status, html) = page(&s, &cookie, "/surveys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/surveys/templates/new\"") && html.contains("href=\"/surveys/kpis\""));
    let (status, html) = page(&s, &cookie, "/surveys/templates/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"indicators[0].weight\""));

    // A typed weight left out: 422 naming the input, marked; nothing stored.
    let r = post_form(&s, &cookie, "/surveys/templates", &editor_fields(["50", "", "20"], &[("action", "save")])).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("indicators[1].weight：手动设置权重时必须填写"), "{html}");
    assert!(html.contains("name=\"indicators[1].weight\" value=\"\" inputmode=\"decimal\" class=\"invalid\""));
    assert!(get_json(api("/survey-templates")).await.as_array().unwrap().iter().all(|t| t["code"] != "WEB"));

    // AHP in the editor: the pairwise selects for the top level, weights and CR on preview.
    let ahp =
        [("weight_method", "ahp"), ("action", "preview"), ("ahp::Q:D", "3"), ("ahp::Q:S", "5"), ("ahp::D:S", "3")];
    let r = post_form(&s, &cookie, "/surveys/templates", &editor_fields(["", "", ""], &ahp)).await;
    let status = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("name=\"ahp::Q:D\"") && html.contains("CR 0.0332") && html.contains("0.6370"), "{html}");
    let bad = [("weight_method", "ahp"), ("action", "save"), ("ahp::Q:D", "9"), ("ahp::Q:S", "1/9"), ("ahp::D:S", "9")];
    let r = post_form(&s, &cookie, "/surveys/templates", &editor_fields(["", "", ""], &bad)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("ahp[0].matrix") && html.contains("CR = "), "{html}");
    assert!(get_json(api("/survey-templates")).await.as_array().unwrap().iter().all(|t| t["code"] != "WEB"));

    // Saved: weights 50/30/20 normalised, multipliers 1.5/0.9/0.6, Q's threshold kept.
    let r =
        post_form(&s, &cookie, "/surveys/templates", &editor_fields(["50", "30", "20"], &[("action", "save")])).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let saved = r.headers()["location"].to_str().unwrap().to_owned();
    let (status, html) = page(&s, &cookie, &saved).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("WEB r1") && html.contains("1.500") && html.contains("0.600") && html.contains("0.5000"));
    let tpl = get_json(api("/survey-templates")).await;
    let web = tpl.as_array().unwrap().iter().find(|t| t["code"] == "WEB").unwrap().clone();
    assert_eq!(web["definition"]["indicators"][0]["threshold"], 80.0);
    assert_eq!(web["definition"]["questions"][4]["options"][1]["label_en"], "Website");

    for k in 0..3 {
        let r = c
            .post(api("/customers"))
            .bearer_auth(&t)
            .json(&json!({"name": format!("网页客户{k}"), "region": "网页区"}))
            .send()
            .await
            .unwrap();
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = c
            .post(api(&format!("/customers/{id}/contacts")))
            .bearer_auth(&t)
            .json(&json!({"name": format!("联系人{k}"), "email": format!("w{k}@example.com")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    // The plan form: a target above 100 % is refused naming target_pct; nothing stored.
    let plan = |target: &'static str| {
        vec![
            ("name", "2026 网页调查计划"),
            ("template_code", "WEB"),
            ("period_start", "2026-01-01"),
            ("period_end", "2026-12-31"),
            ("frequency", "semi_annual"),
            ("region", "网页区"),
            ("is_new", ""),
            ("min_response_rate", "60"),
            ("target_pct", target),
            ("channel", "email"),
            ("trigger.case_closed", "1"),
            ("trigger.case_type", "complaint"),
        ]
    };
    let r = post_form(&s, &cookie, "/surveys/plans", &plan("150")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("target_pct：必须在 0 到 100 % 之间"));
    assert_eq!(get_json(api("/survey-plans")).await.as_array().unwrap().len(), 0);
    let r = post_form(&s, &cookie, "/surveys/plans", &plan("85")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let plan_path = r.headers()["location"].to_str().unwrap().to_owned();
    let plan_id: i64 = plan_path.rsplit('/').next().unwrap().parse().unwrap();
    let p = get_json(api(&format!("/survey-plans/{plan_id}"))).await;
    assert_eq!((p["min_response_rate"].as_f64(), p["target_pct"].as_f64()), (Some(0.6), Some(85.0)));
    assert_eq!(p["triggers"][0]["case_type"], "complaint");
    assert_eq!(p["population"]["region"], "网页区");

    // Launch from the plan page: a bad period is refused; then the links, shown once.
    let r = post_form(&s, &cookie, &format!("{plan_path}/campaigns"), &[("name", "x"), ("period", "明年")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("period: ") || body.contains("period：") || body.contains("期间：") || body.contains("期间:"),
        "{body}"
    );
    let r = post_form(&s, &cookie, &format!("{plan_path}/campaigns"), &[("name", "2026 上半年"), ("period", "2026H1")])
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let html = r.text().await.unwrap();
    let links: Vec<String> =
        html.split("/s/").skip(1).map(|x| format!("/s/{}", x.split('<').next().unwrap())).collect();
    assert_eq!(links.len(), 3, "{html}");
    for (l, (q, d, sv)) in links.iter().zip([("8", "10", "10"), ("6", "8", "8")]) {
        let r = c
            .post(format!("{}{l}", s.base))
            .form(&[("q", q), ("d", d), ("s", sv), ("op", "包装破损"), ("ch", "fair")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    // KPIs: a word where a number belongs is refused naming the input; then saved.
    let kpi = |complaints: &'static str| {
        vec![
            ("period", "2026H1"),
            ("on_time_delivery.actual", "95"),
            ("on_time_delivery.target", "95"),
            ("complaints.actual", complaints),
            ("complaints.target", "2"),
            ("external_share", "50"),
        ]
    };
    let r = post_form(&s, &cookie, "/surveys/kpis", &kpi("many")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("complaints.actual：不是数字"));
    assert_eq!(get_json(api("/survey-kpis")).await.as_array().unwrap().len(), 0);
    let r = post_form(&s, &cookie, "/surveys/kpis", &kpi("4")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let kpis = get_json(api("/survey-kpis")).await;
    assert_eq!((kpis[0]["period"].as_str(), kpis[0]["kpis"][1]["name"].as_str()), (Some("2026H1"), Some("complaints")));

    // Classify the free-text answers on the results page.
    let campaigns = get_json(api("/survey-campaigns")).await;
    let cid = campaigns[0]["id"].as_i64().unwrap();
    let (_, html) = page(&s, &cookie, &format!("/surveys/campaigns/{cid}")).await;
    let forms: Vec<(String, String)> = html
        .split("action=\"/surveys/answers/")
        .skip(1)
        .map(|x| {
            let id = x.split('/').next().unwrap().to_owned();
            let version = x.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            (id, version)
        })
        .collect();
    assert_eq!(forms.len(), 2);
    for (id, version) in &forms {
        let r = post_form(
            &s,
            &cookie,
            &format!("/surveys/answers/{id}/classify"),
            &[("version", version), ("kind", "opinion"), ("category", "包装")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let stale = post_form(
        &s,
        &cookie,
        &format!("/surveys/answers/{}/classify", forms[0].0),
        &[("version", &forms[0].1), ("kind", "suggestion"), ("category", "价格")],
    )
    .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let r = post_form(&s, &cookie, &format!("/surveys/campaigns/{cid}/reminders"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Results per period: Q (8 + 6)/20 = 70 < its threshold 80, D 90, S 90;
    // overall 0.5·70 + 0.3·90 + 0.2·90 = 80 ≥ target 85? No: 80 < 85, below target.
    // Internal (100 + 50)/2 = 75; composite 0.5·80 + 0.5·75 = 77.5. 2 of 3 answered.
    let r = c.get(api(&format!("/survey-plans/{plan_id}/results?period=2026H1"))).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r: Value = r.json().await.unwrap();
    assert!((r["overall_pct"].as_f64().unwrap() - 80.0).abs() < 1e-9, "{r}");
    assert_eq!(r["period"], "2026H1");
    assert_eq!(r["previous_period"], "2025H2");
    assert!(r["previous_pct"].is_null());
    assert_eq!(r["below_target"], true);
    assert_eq!(r["below_threshold"][0]["code"], "Q");
    assert_eq!(r["items"][0]["threshold_pct"], 80.0);
    assert!((r["composite"]["value"].as_f64().unwrap() - 77.5).abs() < 1e-9);
    assert!((r["response_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12 && r["representative"] == true);
    assert_eq!(r["feedback"]["categories"][0]["category"], "包装");
    assert_eq!(r["feedback"]["categories"][0]["count"], 2);
    assert_eq!(r["trend"].as_array().unwrap().len(), 1);
    assert_eq!((r["tracking"]["invited"].as_u64(), r["tracking"]["reminded"].as_u64()), (Some(3), Some(1)));
    let bad = c.get(api(&format!("/survey-plans/{plan_id}/results?period=H1"))).bearer_auth(&t).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["field"], "period");
    let x = c.get(api(&format!("/survey-plans/{plan_id}/export?period=2026"))).bearer_auth(&t).send().await.unwrap();
    assert_eq!(x.status(), StatusCode::OK);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
    let (status, html) = page(&s, &cookie, &format!("{plan_path}/results?period=2026H1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"trend\"") && html.contains("<polyline") && html.contains("id=\"below-threshold\""));
    assert!(html.contains("id=\"open-car\""));
    let r = post_form(&s, &cookie, &format!("{plan_path}/corrective-action"), &[("period", "2026H1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let again = post_form(&s, &cookie, &format!("{plan_path}/corrective-action"), &[("period", "2026H1")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let cars = get_json(api("/corrective-action-requests")).await;
    assert_eq!(
        (cars[0]["source"].as_str(), cars[0]["source_id"].as_i64()),
        (Some("survey_period:2026H1"), Some(plan_id))
    );
    assert_eq!(cars.as_array().unwrap().len(), 1);
    let doc = get_json(format!("{}/api/openapi.json", s.base)).await;
    assert!(doc["paths"]["/api/v1/survey-plans/{id}/results"]["get"].is_object());
});

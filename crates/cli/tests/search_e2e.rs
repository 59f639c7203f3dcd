//! End-to-end: full-text search through the real binary, on each engine, over the demo
//! generator's cases (written in bulk, indexed in the same transactions).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeSet;

use loopdesk_domain::search::normalize;
use loopdesk_test_support::app::{self, DEMO_PASSWORD, browser_login, client, get_json, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

/// Every case's searchable text as the API shows it, with its id and type.
fn texts(cases: &Value) -> Vec<(i64, String, String)> {
    cases["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let text = ["number", "subject", "description", "contact_name", "contact_phone", "product_code", "model"]
                .iter()
                .map(|f| k[*f].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n");
            (k["id"].as_i64().unwrap(), k["type"].as_str().unwrap().to_owned(), text)
        })
        .collect()
}

fn ids(found: &Value, kind: &str) -> BTreeSet<i64> {
    found["items"].as_array().unwrap().iter().filter(|i| i["kind"] == kind).map(|i| i["id"].as_i64().unwrap()).collect()
}

both_engines!(search_finds_generated_cases_in_scope_over_api_pages_and_cli, |db: TestDb| async move {
    let out = app::cli(BIN, &db, &["demo", "--cases", "300"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = app::serve(BIN, &db, &[]);
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let all = get_json(&s, &admin, "/cases?per_page=500").await;
    let cases = texts(&all);
    assert!(cases.len() >= 300);
    let grievances: BTreeSet<i64> = cases.iter().filter(|k| k.1 == "grievance").map(|k| k.0).collect();
    for q in ["PS-500", "48V", "异响", "验收"] {
        let want: BTreeSet<i64> =
            cases.iter().filter(|k| normalize(&k.2).contains(&normalize(q))).map(|k| k.0).collect();
        assert!(!want.is_empty(), "{q}");
        let path = format!("/search?q={}&kind=case&per_page=500", urlencode(q));
        let found = get_json(&s, &admin, &path).await;
        assert_eq!(ids(&found, "case"), want, "{q}");
        // The case list takes the same q.
        let listed = get_json(&s, &admin, &format!("/cases?q={}&per_page=500", urlencode(q))).await;
        let listed: BTreeSet<i64> =
            listed["items"].as_array().unwrap().iter().map(|k| k["id"].as_i64().unwrap()).collect();
        assert_eq!(listed, want, "case list q={q}");
        // An agent finds some of them, never a grievance.
        let mine = ids(&get_json(&s, &agent, &path).await, "case");
        assert!(mine.is_subset(&want));
        assert!(mine.is_disjoint(&grievances), "{q}: a grievance in an agent's results");
    }
    // A customer's phone fragment (the demo's 华星电子 has 0755-8888 1234).
    let found = get_json(&s, &admin, "/search?q=58888&kind=customer").await;
    assert!(found["items"][0]["title"].as_str().unwrap().contains("华星"), "{found}");
    assert_eq!(found["total"], 1);
    // Bad input names the parameter.
    let c = client();
    for (path, field) in [("/search?q=%20%2C", "q"), ("/search?q=a&kind=x", "kind"), ("/search", "q")] {
        let r = c.get(format!("{}/api/v1{path}", s.base)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], field, "{path}");
    }
    // The page: grouped results, the match marked, untrusted text escaped.
    let r = c
        .post(format!("{}/api/v1/cases", s.base))
        .bearer_auth(&admin)
        .json(&json!({"type":"complaint","contact_name":"李","subject":"<script>x</script>退款申请","description":"客户要求退款"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = browser_login(&s, "admin", DEMO_PASSWORD).await;
    let html = c
        .get(format!("{}/search?q={}", s.base, urlencode("退款")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<mark>退款</mark>"), "{html}");
    assert!(html.contains("&#60;script&#62;x") && !html.contains("<script>x"), "{html}");
    assert!(html.contains("action=\"/search\""));
    // The rebuild, with its progress bar and summary.
    drop(s);
    let out = app::cli(BIN, &db, &["search", "reindex"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("search index rebuilt"));
    let s = app::serve(BIN, &db, &[]);
    let again = get_json(&s, &admin, &format!("/search?q={}&kind=case&per_page=500", urlencode("异响"))).await;
    let want: BTreeSet<i64> = cases.iter().filter(|k| normalize(&k.2).contains("异响")).map(|k| k.0).collect();
    assert_eq!(ids(&again, "case"), want);
});

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

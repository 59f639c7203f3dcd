//! `loopdesk demo --cases N` on each engine: consistent data a real server then serves.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};

use loopdesk_domain::access::Actor;
use loopdesk_domain::case::NumberFormat;
use loopdesk_domain::page::Page;
use loopdesk_service::{OrgSettings, Service};
use loopdesk_store::cases::CaseFilter;
use loopdesk_store::{Store, StoreOptions};
use loopdesk_test_support::app::{self, client, get_json, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

both_engines!(generated_cases_are_numbered_counted_audited_and_served, |db: TestDb| async move {
    let out = app::cli(BIN, &db, &["demo", "--cases", "2000"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = app::cli(BIN, &db, &["audit", "verify"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let store = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    let svc = Service::new(store, OrgSettings::default());
    let sys = Actor::system();
    let tz = svc.settings.timezone;
    let mut cases = Vec::new();
    for page in 1.. {
        let p = svc.cases(&sys, CaseFilter::default(), Page { page, per_page: 500 }).await.unwrap();
        let done = p.items.len() < 500;
        cases.extend(p.items);
        if done {
            break;
        }
    }
    assert_eq!(cases.len(), 2006, "2000 generated and the 6 demo cases");

    // Numbers: unique, gap-free per year, and in the year of receipt.
    let mut per_year: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for k in &cases {
        let (year, seq) = (&k.number[3..7], k.number[8..].parse::<i64>().unwrap());
        assert_eq!(year, NumberFormat::period(k.received_at, tz), "{}", k.number);
        assert!(per_year.entry(year.to_owned()).or_default().insert(seq), "{} twice", k.number);
    }
    for (year, seqs) in &per_year {
        assert_eq!(seqs.iter().copied().collect::<Vec<_>>(), (1..=seqs.len() as i64).collect::<Vec<_>>(), "{year}");
    }
    assert!(per_year.len() >= 2, "two years of cases");

    // Open cases carry a running clock and a timeline starting with `created`.
    let terminal = svc.terminal_states().await.unwrap();
    let generated = cases.iter().filter(|k| !k.model.is_empty()); // the 6 hand-made demo cases have no model
    let open: Vec<_> = generated.filter(|k| !terminal.contains(&k.state)).take(20).collect();
    assert!(!open.is_empty());
    for k in open {
        let clocks = svc.clocks(&sys, k.id).await.unwrap();
        assert!(clocks.iter().any(|c| c.state == "running"), "{} has no running clock", k.number);
        let history = svc.history(&sys, k.id).await.unwrap();
        assert_eq!(history[0].kind, "created", "{}", k.number);
    }

    // The report equals a direct count, month by month.
    let this_year: i32 = per_year.keys().last().unwrap().parse().unwrap();
    for year in [this_year - 1, this_year] {
        let mut direct: BTreeMap<(String, String, String, i64, String), i64> = BTreeMap::new();
        for k in cases.iter().filter(|k| NumberFormat::period(k.received_at, tz) == year.to_string()) {
            let key = (
                NumberFormat::month(k.received_at, tz),
                k.case_type.clone(),
                k.category.clone(),
                k.lead_department_id.unwrap_or(0),
                k.severity.clone(),
            );
            *direct.entry(key).or_insert(0) += 1;
        }
        let report = svc.case_report(&sys, year).await.unwrap();
        let reported: BTreeMap<_, _> = report
            .rows
            .into_iter()
            .map(|c| ((c.month, c.case_type, c.category, c.department_id, c.severity), c.n))
            .collect();
        assert_eq!(reported, direct, "{year}");
    }
    svc.store.close().await;

    // Served: the next case takes the next number; the report and the sorted list answer.
    let s = app::serve(BIN, &db, &[("LOOPDESK_ESCALATION_INTERVAL_SECS", "0")]);
    let t = token(&s, "admin", "loopdesk-demo").await;
    let c = client();
    let r = c
        .post(format!("{}/api/v1/cases", s.base))
        .bearer_auth(&t)
        .json(&json!({"type": "complaint", "subject": "外壳划痕", "description": "收货时发现外壳划痕"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let number = r.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned();
    let last = per_year.get(&number[3..7]).map(|s| s.len()).unwrap_or(0);
    assert_eq!(number[8..].parse::<usize>().unwrap(), last + 1, "{number} follows the generated numbers");

    let r: Value = get_json(&s, &t, &format!("/reports/cases?year={this_year}")).await;
    assert_eq!(r["total"].as_i64().unwrap() as usize, per_year[&this_year.to_string()].len() + 1);
    let r = c.get(format!("{}/api/v1/reports/cases", s.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "year");

    let r: Value = get_json(&s, &t, "/cases?state=investigating&sort=due&per_page=50").await;
    let items = r["items"].as_array().unwrap();
    assert!(!items.is_empty(), "some generated cases are under investigation");
    let mut dues = Vec::new();
    for k in items {
        let one: Value = get_json(&s, &t, &format!("/cases/{}", k["id"])).await;
        assert_eq!(one["state"], "investigating");
        let due = one["clocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["state"] == "running")
            .filter_map(|c| c["due_at"].as_str().map(|d| chrono::DateTime::parse_from_rfc3339(d).unwrap()))
            .min();
        dues.push(due.map(|d| d.timestamp()).unwrap_or(i64::MAX));
    }
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "sorted by the earliest running clock: {dues:?}");
    let r = c.get(format!("{}/api/v1/cases?sort=sideways", s.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "sort");
    let page = c.get(format!("{}/reports/cases?year={this_year}", s.base)).send().await.unwrap();
    assert!(page.status().is_redirection(), "the report page needs a sign-in");
    let cookie = app::browser_login(&s, "admin", "loopdesk-demo").await;
    let page =
        c.get(format!("{}/reports/cases?year={this_year}", s.base)).header("Cookie", cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("案件月度统计") && html.contains("品保部"), "the report page in Chinese with departments");
});

both_engines!(a_list_longer_than_its_count_says_its_total_is_a_lower_bound, |db: TestDb| async move {
    let out = app::cli(BIN, &db, &["demo", "--cases", "10100"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = app::serve(BIN, &db, &[("LOOPDESK_ESCALATION_INTERVAL_SECS", "0")]);
    let t = token(&s, "admin", "loopdesk-demo").await;
    // 10,106 cases; the list counts at most 10,000 rows past the page asked for.
    let r: Value = get_json(&s, &t, "/cases?per_page=50").await;
    assert_eq!((r["total"].as_i64(), r["total_is_lower_bound"].as_bool()), (Some(10_050), Some(true)));
    let r: Value = get_json(&s, &t, "/cases?per_page=100&page=2").await;
    assert_eq!((r["total"].as_i64(), r["total_is_lower_bound"].as_bool()), (Some(10_106), Some(false)));
    // A filter that matches few is counted exactly.
    let r: Value = get_json(&s, &t, "/cases?type=grievance&per_page=50").await;
    assert_eq!(r["total_is_lower_bound"].as_bool(), Some(false));
    assert!(r["total"].as_i64().unwrap() < 10_000);
    // The page says so too.
    let cookie = app::browser_login(&s, "admin", "loopdesk-demo").await;
    let html = client().get(format!("{}/cases", s.base)).header("Cookie", cookie).send().await.unwrap();
    assert!(html.text().await.unwrap().contains("10050+"));
});

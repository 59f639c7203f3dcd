//! End-to-end (issue #14): correcting a case, the case register export, the acknowledgement slip
//! with its tracking code, through the real binary on each engine.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, DEMO_PASSWORD, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

both_engines!(patch_case_corrects_with_version_409_when_stale_422_naming_the_field, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let r = c
        .post(url("/cases"))
        .bearer_auth(&agent)
        .json(&json!({"type":"complaint","subject":"漏水","description":"底部漏水","contact_name":"李女士"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let k: Value = r.json().await.unwrap();
    let id = k["id"].as_i64().unwrap();
    let v = k["version"].as_i64().unwrap();
    let patch = |body: Value| c.patch(url(&format!("/cases/{id}"))).bearer_auth(&agent).json(&body).send();
    let r = patch(json!({"version": v, "ship_date": "2026-13-40"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "ship_date");
    let r =
        patch(json!({"version": v, "subject": "热水器底部漏水", "serial": "SN-778", "owner": "agent"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let after: Value = r.json().await.unwrap();
    assert_eq!(after["subject"], "热水器底部漏水");
    assert_eq!(after["serial"], "SN-778");
    assert!(after["owner_id"].is_i64());
    let r = patch(json!({"version": v, "subject": "又改"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let history = app::get_json(&s, &agent, &format!("/cases/{id}/history")).await;
    let edited = history.as_array().unwrap().iter().find(|e| e["kind"] == "edited").unwrap();
    assert!(edited["body"].as_str().unwrap().contains("«漏水»"), "{edited}");
    // The auditor may read but not correct.
    let auditor = token(&s, "auditor", DEMO_PASSWORD).await;
    let r = c
        .patch(url(&format!("/cases/{id}")))
        .bearer_auth(&auditor)
        .json(&json!({"version": after["version"], "subject": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

both_engines!(case_register_exports_the_filtered_list_as_csv_and_xlsx_in_both_languages, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let url = |p: &str| format!("{}/api/v1{p}", s.base);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    for (t, subject) in [("complaint", "登记表投诉"), ("inquiry", "登记表咨询")] {
        let r = c
            .post(url("/cases"))
            .bearer_auth(&agent)
            .json(&json!({"type": t, "subject": subject, "description": "d"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = c.get(url("/cases/export?format=csv&lang=en&type=inquiry")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    assert!(csv.trim_start_matches('\u{feff}').starts_with("Number,"), "{csv}");
    assert!(csv.contains("登记表咨询") && !csv.contains("登记表投诉"), "the filter applies: {csv}");
    assert!(csv.contains("Inquiry"), "type names, not codes");
    let r = c.get(url("/cases/export?format=csv&lang=zh")).bearer_auth(&agent).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("编号"));
    let r = c.get(url("/cases/export?format=xlsx")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"), "an XLSX is a zip");
    let r = c.get(url("/cases/export?format=pdf")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.get(url("/cases/export?lang=fr")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "lang");
    // The list page offers the same download over its filters.
    let session = app::browser_login(&s, "agent", DEMO_PASSWORD).await;
    let r = c
        .get(format!("{}/cases/register?format=csv&lang=en&type=complaint", s.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    assert!(csv.contains("登记表投诉") && !csv.contains("登记表咨询"), "{csv}");
});

both_engines!(
    staff_registration_shows_the_tracking_code_once_on_a_slip_and_reissue_replaces_it,
    |db: TestDb| async move {
        assert!(app::cli(BIN, &db, &["demo"], "").status.success());
        let s = app::serve(BIN, &db, &[]);
        let c = client();
        let session = app::browser_login(&s, "agent", DEMO_PASSWORD).await;
        let form = c.get(format!("{}/cases/new", s.base)).header("cookie", &session).send().await.unwrap();
        let csrf = app::csrf_of(&form.text().await.unwrap());
        let r = c
            .post(format!("{}/cases", s.base))
            .header("cookie", &session)
            .form(&[
                ("_csrf", csrf.as_str()),
                ("case_type", "complaint"),
                ("channel", "phone"),
                ("contact_name", "周先生"),
                ("subject", "电话投诉<script>"),
                ("description", "来电反映噪音大"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let slip = r.text().await.unwrap();
        assert!(slip.contains("<svg"), "the slip carries a QR code");
        assert!(!slip.contains("电话投诉<script>") && slip.contains("电话投诉&"), "escaped");
        let code = slip.split("class=\"tracking-code\">").nth(1).and_then(|p| p.split('<').next()).unwrap().to_owned();
        let number = slip.split("<strong>").nth(1).and_then(|p| p.split('<').next()).unwrap().to_owned();
        assert!(slip.contains(&format!("/portal/track?number={number}")), "{slip}");
        let status = |code: String| {
            let c = c.clone();
            let u = format!("{}/api/v1/public/cases/{number}", s.base);
            async move { c.get(u).header("x-tracking-code", code).send().await.unwrap().status() }
        };
        assert_eq!(status(code.clone()).await, StatusCode::OK);
        // The case page offers a re-issue; the old code stops working.
        let agent = token(&s, "agent", DEMO_PASSWORD).await;
        let found = app::get_json(&s, &agent, "/cases?per_page=5").await;
        let k = found["items"].as_array().unwrap().iter().find(|k| k["number"] == number.as_str()).unwrap().clone();
        let page = c
            .get(format!("{}/cases/{}", s.base, k["id"]))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("/tracking-code") && page.contains("/edit"), "{page}");
        let csrf = app::csrf_of(&page);
        let r = c
            .post(format!("{}/cases/{}/tracking-code", s.base, k["id"]))
            .header("cookie", &session)
            .form(&[("_csrf", csrf.as_str()), ("version", &k["version"].to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let slip = r.text().await.unwrap();
        let new_code =
            slip.split("class=\"tracking-code\">").nth(1).and_then(|p| p.split('<').next()).unwrap().to_owned();
        assert_ne!(new_code, code);
        assert_eq!(status(new_code).await, StatusCode::OK);
        assert_eq!(status(code).await, StatusCode::NOT_FOUND);
        // The correction form: a stale version comes back 409 with the case as it is now.
        let r = c
            .post(format!("{}/cases/{}/edit", s.base, k["id"]))
            .header("cookie", &session)
            .form(&[("_csrf", csrf.as_str()), ("version", &k["version"].to_string()), ("subject", "改")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let v = (k["version"].as_i64().unwrap() + 1).to_string();
        let r = c
            .post(format!("{}/cases/{}/edit", s.base, k["id"]))
            .header("cookie", &session)
            .form(&[("_csrf", csrf.as_str()), ("version", v.as_str()), ("subject", "电话投诉：噪音")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let k2 = app::get_json(&s, &agent, &format!("/cases/{}", k["id"])).await;
        assert_eq!(k2["subject"], "电话投诉：噪音");
    }
);

both_engines!(portal_track_page_takes_evidence_files_and_staff_see_them, |db: TestDb| async move {
    use reqwest::multipart::{Form, Part};
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let r = c
        .post(format!("{}/api/v1/public/cases", s.base))
        .json(&json!({"name":"李女士","phone":"13800138000","subject":"外壳开裂","description":"收到即开裂"}))
        .send()
        .await
        .unwrap();
    let created: Value = r.json().await.unwrap();
    let number = created["number"].as_str().unwrap().to_owned();
    let code = created["tracking_code"].as_str().unwrap().to_owned();
    let r = c.get(format!("{}/portal/track", s.base)).send().await.unwrap();
    let token = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("ld_csrf=").map(str::to_owned))
        .unwrap();
    let upload = |files: Vec<(&'static str, Vec<u8>)>| {
        let mut form =
            Form::new().text("_csrf", token.clone()).text("number", number.clone()).text("code", code.clone());
        for (name, data) in files {
            form = form.part("file", Part::bytes(data).file_name(name));
        }
        c.post(format!("{}/portal/evidence", s.base))
            .header("cookie", format!("ld_csrf={token}"))
            .multipart(form)
            .send()
    };
    let r = upload(vec![("crack.jpg", vec![0xff, 0xd8, 0xff]), ("virus.exe", b"MZ".to_vec())]).await.unwrap();
    // A refused file is an error (422, in the error box); the accepted one is kept.
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("/portal/evidence"), "the form is offered again: {page}");
    assert!(page.contains("virus.exe"), "the refused file is named: {page}");
    let agent = token_of(&s).await;
    let found = app::get_json(&s, &agent, "/cases?per_page=5").await;
    let k = found["items"].as_array().unwrap().iter().find(|k| k["number"] == number.as_str()).unwrap().clone();
    let files = app::get_json(&s, &agent, &format!("/cases/{}/attachments", k["id"])).await;
    let names: Vec<&str> = files.as_array().unwrap().iter().map(|a| a["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["crack.jpg"]);
});

async fn token_of(s: &app::Server) -> String {
    token(s, "agent", DEMO_PASSWORD).await
}

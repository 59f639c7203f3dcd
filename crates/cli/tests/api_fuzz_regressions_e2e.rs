//! Regressions for what the API fuzzer (scripts/fuzz-api.sh, schemathesis) found, through the real
//! binary on each engine: every error is the JSON error shape naming the field, and the OpenAPI
//! document matches what the server does.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, DEMO_PASSWORD, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

async fn error_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(ct.starts_with("application/json"), "{status} answered as {ct:?}");
    (status, r.json::<Value>().await.unwrap()["error"].clone())
}

both_engines!(malformed_requests_get_json_errors_naming_the_field, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = app::serve(BIN, &db, &[]);
    let c = client();
    let admin = token(&s, "admin", DEMO_PASSWORD).await;
    let url = |p: &str| format!("{}/api/v1{p}", s.base);

    // A path parameter that is not a number: once a plain-text 400 from axum.
    let (status, e) = error_of(c.get(url("/cases/__main__")).bearer_auth(&admin).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("bad_request"), Some("id")));
    let (status, e) = error_of(
        c.get(url("/attachments/1446498073963060139772247096944492544")).bearer_auth(&admin).send().await.unwrap(),
    )
    .await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("id")));

    // A multipart body without its boundary: once plain text.
    let r = c
        .post(url("/customers/import"))
        .bearer_auth(&admin)
        .header("content-type", "multipart/form-data")
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, e) = error_of(r).await;
    assert!(status.is_client_error(), "{status}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));

    // A page number beyond what the API documents (a signed 32-bit integer): once accepted.
    let (status, e) =
        error_of(c.get(url("/audit/events?page=2147483648")).bearer_auth(&admin).send().await.unwrap()).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("page")));

    // A NUL character in a search (PostgreSQL text cannot hold one): once a 500.
    let (status, e) = error_of(c.get(url("/customers?q=%C3%B2%00")).bearer_auth(&admin).send().await.unwrap()).await;
    assert_eq!((status, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("q")));

    // The document lists the errors an operation gives, and query parameters where they go.
    let doc: Value = c.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    let list_users = &doc["paths"]["/api/v1/users"]["get"];
    assert!(list_users["responses"]["401"].is_object());
    assert!(list_users["parameters"].as_array().unwrap().iter().all(|p| p["in"] == "query"));
});

//! End-to-end (issue #14 items 6 and 8) with the real binary on both engines: a complaint
//! definition asking for the customer-service manager's review holds a department task until
//! `cs.head` approves it on the case page; the API shows the review state; once out and past its
//! due date the case list marks the case.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_test_support::app::{self, DEMO_PASSWORD, browser_login, client, csrf_of, get_json, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");
const COMPLAINT: &str = include_str!("../../domain/src/process/defaults/complaint.toml");

async fn page(s: &app::Server, cookie: &str, path: &str) -> String {
    let r = client().get(format!("{}{path}", s.base)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    r.text().await.unwrap()
}

both_engines!(
    task_awaiting_review_is_approved_on_the_case_page_and_then_marks_the_list_when_overdue,
    |db: TestDb| async move {
        assert!(app::cli(BIN, &db, &["demo"], "").status.success());
        let s = app::serve(BIN, &db, &[]);
        let c = client();
        // The administrator switches the review on for complaints.
        let admin = browser_login(&s, "admin", DEMO_PASSWORD).await;
        let form = page(&s, &admin, "/process-definitions").await;
        let def = format!("{COMPLAINT}\n[review]\ntasks = true\n");
        let r = c
            .post(format!("{}/process-definitions/complaint", s.base))
            .header("cookie", &admin)
            .form(&[("_csrf", csrf_of(&form).as_str()), ("definition", def.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let tok = token(&s, "admin", DEMO_PASSWORD).await;
        let r = c
        .post(format!("{}/api/v1/cases", s.base))
        .bearer_auth(&tok)
        .json(&json!({"type":"complaint","subject":"待审核的信息传递单","description":"冒烟","contact_name":"王先生"}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = c
            .post(format!("{}/api/v1/cases/{id}/tasks", s.base))
            .bearer_auth(&tok)
            .json(&json!({"department":"CS","question":"请核实","due_date":"2099-01-02"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let task: Value = r.json().await.unwrap();
        assert_eq!(task["review_state"], "pending");
        let tid = task["id"].as_i64().unwrap();
        // A due date in the past is refused, so the task is made overdue behind the server's back.
        db.exec(&format!("UPDATE case_tasks SET due_date = '2020-01-02' WHERE id = {tid}")).await;
        // Not out yet: not overdue on the list either.
        assert!(!page(&s, &admin, "/cases").await.contains("任务或行动项逾期"));

        // The customer-service manager sees the review form and approves.
        let head = browser_login(&s, "cs.head", DEMO_PASSWORD).await;
        let html = page(&s, &head, &format!("/cases/{id}")).await;
        assert!(html.contains(&format!("/case-tasks/{tid}/review")), "the review form is offered");
        let r = c
            .post(format!("{}/case-tasks/{tid}/review", s.base))
            .header("cookie", &head)
            .form(&[
                ("_csrf", csrf_of(&html).as_str()),
                ("version", task["version"].to_string().as_str()),
                ("case_id", id.to_string().as_str()),
                ("decision", "approve"),
                ("reason", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let tasks = get_json(&s, &tok, &format!("/cases/{id}/tasks")).await;
        assert_eq!(tasks[0]["review_state"], "approved");
        // Out and past its due date: the list marks the case.
        assert!(page(&s, &admin, "/cases").await.contains("任务或行动项逾期"));
        // The API refuses a second review.
        let r = c
            .post(format!("{}/api/v1/case-tasks/{tid}/review", s.base))
            .bearer_auth(&tok)
            .json(&json!({"version": tasks[0]["version"], "approve": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
    }
);

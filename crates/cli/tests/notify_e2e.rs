//! Telling people through the real binary (issue #15): the portal acknowledgement reaches a real
//! SMTP listener (aiosmtpd), the delivery log answers `GET /api/v1/outbox`, and SIGKILLing the
//! server while it dispatches loses no message and never sends one with a second Message-ID.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use loopdesk_test_support::app::{self, DEMO_PASSWORD, client, token};
use loopdesk_test_support::smtp::SmtpSink;
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

fn mail_env(sink: &SmtpSink) -> Vec<(&'static str, String)> {
    vec![
        ("LOOPDESK_SMTP_URL", sink.url()),
        ("LOOPDESK_MAIL_FROM", "Loopdesk 客服 <care@demo.loopdesk.local>".into()),
        ("LOOPDESK_OUTBOX_INTERVAL_MS", "200".into()),
        ("LOOPDESK_OUTBOX_LEASE_SECS", "2".into()),
    ]
}

fn serve(db: &TestDb, env: &[(&'static str, String)]) -> app::Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app::serve(BIN, db, &env)
}

/// Registers a case with a customer address through the staff API; the number and tracking
/// code if the server acknowledged it.
async fn submit(base: &str, tok: &str, n: usize) -> Option<(String, String)> {
    let body = json!({
        "type": "complaint",
        "contact_name": "李雷",
        "contact_email": format!("slow{n}@example.com"),
        "subject": format!("洗衣机漏水 {n}"),
        "description": "滚筒下方漏水",
    });
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .ok()?;
    if r.status() != StatusCode::CREATED {
        return None;
    }
    let v: Value = r.json().await.ok()?;
    Some((v["number"].as_str()?.to_owned(), v["tracking_code"].as_str()?.to_owned()))
}

both_engines!(portal_acknowledgement_is_mailed_and_listed_in_the_outbox, |db: TestDb| async move {
    let sink = SmtpSink::start().await;
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let s = serve(&db, &mail_env(&sink));
    let r = client()
        .post(format!("{}/api/v1/public/cases", s.base))
        .json(&json!({"name": "Amy", "email": "amy@example.com", "subject": "Leaking washer",
                      "description": "Water under the drum", "locale": "en"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let (number, code) = (v["number"].as_str().unwrap(), v["tracking_code"].as_str().unwrap());
    let mail = sink.wait_for(1).await;
    assert_eq!(mail[0]["rcpt_tos"], json!(["amy@example.com"]));
    assert!(mail[0]["subject"].as_str().unwrap().contains(number), "{}", mail[0]["subject"]);
    assert!(mail[0]["text"].as_str().unwrap().contains(code));
    let tok = token(&s, "admin", DEMO_PASSWORD).await;
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = app::get_json(&s, &tok, "/outbox?status=sent").await;
        if listed["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let item = &listed["items"][0];
    assert_eq!(
        (item["channel"].as_str(), item["status"].as_str(), item["attempts"].as_i64()),
        (Some("email"), Some("sent"), Some(1))
    );
    let detail = app::get_json(&s, &tok, &format!("/outbox/{}", item["id"])).await;
    assert_eq!(detail["attempts"][0]["outcome"], "sent");
    let bad = client().get(format!("{}/api/v1/outbox?status=lost", s.base)).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["field"], "status");
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let r = client().get(format!("{}/api/v1/outbox", s.base)).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

// Kills the server with SIGKILL while it is sending, ten times, restarting it on the same
// database: every acknowledged case is mailed, and never under a second Message-ID.
both_engines!(sigkill_while_dispatching_loses_no_mail_and_keeps_its_message_id, |db: TestDb| async move {
    const ROUNDS: usize = 10;
    const PER_ROUND: usize = 12;
    // A slow listener keeps sends in flight when the kill comes.
    let sink = SmtpSink::start_with(&[("SINK_SLOW", "0.3")]).await;
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let env = mail_env(&sink);
    let mut acknowledged = BTreeMap::new();
    for round in 0..ROUNDS {
        let s = serve(&db, &env);
        let base = s.base.clone();
        let tok = token(&s, "agent", DEMO_PASSWORD).await;
        let mut posts = tokio::task::JoinSet::new();
        for i in 0..PER_ROUND {
            let (base, tok) = (base.clone(), tok.clone());
            posts.spawn(async move { submit(&base, &tok, round * PER_ROUND + i).await });
        }
        while let Some(r) = posts.join_next().await {
            if let Some((number, code)) = r.unwrap() {
                acknowledged.insert(number, code);
            }
        }
        // Kill once the first of this round's mails is on the wire (or soon after).
        let before = sink.messages().len();
        for _ in 0..50 {
            if sink.messages().len() > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(s); // SIGKILL
    }
    assert_eq!(acknowledged.len(), ROUNDS * PER_ROUND, "every submission was acknowledged");
    // A last server finishes the outbox (abandoned sends wait for their 2-second lease).
    let s = serve(&db, &env);
    let mail = sink.wait_for(acknowledged.len()).await;
    let mut by_number: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for _ in 0..300 {
        by_number.clear();
        for m in sink.messages() {
            let subject = m["subject"].as_str().unwrap_or_default();
            let number = subject.trim_start_matches('[').split(']').next().unwrap_or_default().to_owned();
            by_number.entry(number).or_default().insert(m["message_id"].as_str().unwrap_or_default().to_owned());
        }
        if acknowledged.keys().all(|n| by_number.contains_key(n)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (number, code) in &acknowledged {
        let ids = by_number.get(number).unwrap_or_else(|| panic!("no mail for {number} ({} mails)", mail.len()));
        assert_eq!(ids.len(), 1, "{number} was mailed under several Message-IDs: {ids:?}");
        let texts: Vec<String> = sink
            .messages()
            .iter()
            .filter(|m| m["subject"].as_str().unwrap_or_default().contains(number.as_str()))
            .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(texts.iter().all(|t| t.contains(code.as_str())));
    }
    drop(s);
});

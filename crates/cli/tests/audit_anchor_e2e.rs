//! End-to-end: the audit chain anchored by signed checkpoints (issue #13 item 5), through the
//! real binary on each engine. Before checkpoints, deleting the newest events or rewriting one
//! and recomputing every later hash passed `audit verify`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use loopdesk_domain::audit::{AuditRecord, GENESIS, link_hash};
use loopdesk_store::{Conn, Store, StoreOptions, audit};
use loopdesk_test_support::app::{self, DEMO_PASSWORD, client, token};
use loopdesk_test_support::{TestDb, both_engines};
use reqwest::StatusCode;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_loopdesk");

fn verify(db: &TestDb) -> (bool, String) {
    let out = app::cli(BIN, db, &["audit", "verify"], "");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
}

async fn events(s: &Store) -> Vec<AuditRecord> {
    audit::chunk(&mut s.read().await.unwrap().conn(), 0, 1_000_000).await.unwrap()
}

/// Writes `recs` back over the stored events with the same numbers.
async fn overwrite(s: &Store, recs: &[AuditRecord]) {
    let mut tx = s.begin().await.unwrap();
    for r in recs {
        let q = "UPDATE audit_events SET after_json = $1, prev_hash = $2, hash = $3 WHERE seq = $4";
        let q = sqlx::query(q).bind(&r.after).bind(&r.prev_hash).bind(&r.hash).bind(r.seq);
        match tx.conn() {
            Conn::Sqlite(c) => q.execute(&mut *c).await.map(|_| ()),
            Conn::Postgres(c) => {
                let q =
                    sqlx::query("UPDATE audit_events SET after_json = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
                        .bind(&r.after)
                        .bind(&r.prev_hash)
                        .bind(&r.hash)
                        .bind(r.seq);
                q.execute(&mut *c).await.map(|_| ())
            }
        }
        .unwrap();
    }
    tx.commit().await.unwrap();
}

both_engines!(audit_verify_names_deleted_newest_and_rehashed_events, |db: TestDb| async move {
    assert!(app::cli(BIN, &db, &["demo"], "").status.success());
    let mut s = app::serve(BIN, &db, &[("LOOPDESK_AUDIT_CHECKPOINT_SECS", "0")]);
    let agent = token(&s, "agent", DEMO_PASSWORD).await;
    let r = client()
        .post(format!("{}/api/v1/cases", s.base))
        .bearer_auth(&agent)
        .json(&json!({"type":"complaint","subject":"外壳开裂","description":"见照片"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(s.stop().success(), "clean shutdown");
    assert!(db.dir.path().join("audit.key").exists(), "the key file is created on first start");

    let (ok, out) = verify(&db);
    assert!(ok, "{out}");
    assert!(out.contains("1 of 1 signed checkpoint(s) matched"), "{out}");

    let store = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    let original = events(&store).await;
    assert!(original.len() > 3);

    // An event rewritten and every later hash recomputed: the plain chain holds, the checkpoint does not.
    let mut forged = original.clone();
    forged[1].after = Some("{\"rewritten\":true}".into());
    for i in 1..forged.len() {
        let prev = if i == 0 { GENESIS.to_owned() } else { forged[i - 1].hash.clone() };
        forged[i].prev_hash = prev.clone();
        forged[i].hash = link_hash(&forged[i], &prev);
    }
    overwrite(&store, &forged[1..]).await;
    let (ok, out) = verify(&db);
    assert!(!ok, "a re-hashed rewrite passed: {out}");
    assert!(out.contains("rewritten and re-hashed"), "{out}");
    overwrite(&store, &original[1..]).await;
    assert!(verify(&db).0, "restored events verify again");

    // An event edited in place is named by its own hash.
    let mut edited = original[2].clone();
    edited.after = Some("{\"edited\":true}".into());
    overwrite(&store, &[edited]).await;
    let (ok, out) = verify(&db);
    assert!(!ok && out.contains(&format!("BROKEN at event {}", original[2].seq)), "{out}");
    overwrite(&store, &original[2..3]).await;

    // The export holds every event and the checkpoint.
    let file = db.dir.path().join("audit.jsonl");
    let out = app::cli(BIN, &db, &["audit", "export", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 1 + original.len() + 1);
    assert!(text.lines().last().unwrap().contains("\"checkpoint\""));

    // The newest event deleted after a clean shutdown.
    let newest = original.last().unwrap().seq;
    let mut tx = store.begin().await.unwrap();
    match tx.conn() {
        Conn::Sqlite(c) => {
            sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(newest).execute(&mut *c).await.map(|_| ())
        }
        Conn::Postgres(c) => {
            sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(newest).execute(&mut *c).await.map(|_| ())
        }
    }
    .unwrap();
    tx.commit().await.unwrap();
    let (ok, out) = verify(&db);
    assert!(!ok, "deleting the newest event passed: {out}");
    assert!(out.contains(&format!("events {newest}..={newest} were deleted")), "{out}");

    // Deleting the checkpoint as well is seen through the record kept beside the key.
    let mut tx = store.begin().await.unwrap();
    match tx.conn() {
        Conn::Sqlite(c) => sqlx::query("DELETE FROM audit_checkpoints").execute(&mut *c).await.map(|_| ()),
        Conn::Postgres(c) => sqlx::query("DELETE FROM audit_checkpoints").execute(&mut *c).await.map(|_| ()),
    }
    .unwrap();
    tx.commit().await.unwrap();
    let (ok, out) = verify(&db);
    assert!(!ok && out.contains("missing from the database"), "{out}");
    store.close().await;
});

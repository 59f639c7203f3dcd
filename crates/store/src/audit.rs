//! The append-only audit trail. Appending happens inside the writing transaction, so an audit
//! event exists exactly when the change it describes was committed.

use chrono::{DateTime, Utc};
use loopdesk_domain::access::Actor;
use loopdesk_domain::audit::{AuditAction, AuditRecord, Checkpoint, GENESIS, link_hash, normalise_time};
use loopdesk_domain::page::{Page, Paged};
use serde::Serialize;

use crate::bulk::Inserts;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};
use crate::{Conn, Tx};

type Row =
    (i64, DateTime<Utc>, Option<i64>, String, String, String, String, Option<String>, Option<String>, String, String);

const COLUMNS: &str = "seq, at, actor_id, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash";

fn from_row(r: Row) -> AuditRecord {
    AuditRecord {
        seq: r.0,
        at: r.1,
        actor_id: r.2,
        actor: r.3,
        action: r.4,
        entity: r.5,
        entity_id: r.6,
        before: r.7,
        after: r.8,
        prev_hash: r.9,
        hash: r.10,
    }
}

/// An audit event waiting to be appended (see [`Tx::audit_batch`]).
pub struct PendingEvent {
    pub action: AuditAction,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl PendingEvent {
    pub fn created<A: Serialize>(entity: &'static str, id: i64, after: &A) -> PendingEvent {
        PendingEvent {
            action: AuditAction::Create,
            entity: entity.to_owned(),
            entity_id: id.to_string(),
            before: None,
            after: Some(to_json(after)),
        }
    }
}

impl Tx {
    /// The chain head, read once per transaction (and locked on PostgreSQL until commit).
    async fn audit_head(&mut self) -> StoreResult<(i64, String)> {
        if let Some(h) = self.audit_head.take() {
            return Ok(h);
        }
        let c = &mut self.conn();
        if let Conn::Postgres(pg) = c {
            // ENGINE: PostgreSQL writers run in parallel; this lock makes appends to the chain
            // take turns until commit. SQLite's single writer connection already does.
            sqlx::query("SELECT pg_advisory_xact_lock(7406001)").execute(&mut **pg).await.map_err(map_err)?;
        }
        let last: Option<(i64, String)> = on!(c, e => sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(e)
            .await
            .map_err(map_err))?;
        Ok(last.unwrap_or((0, GENESIS.to_owned())))
    }

    /// The chain's newest (sequence, hash) as this transaction sees it (locked on PostgreSQL until
    /// commit, so no event is appended between reading it and signing a checkpoint of it).
    pub async fn chain_head(&mut self) -> StoreResult<(i64, String)> {
        let h = self.audit_head().await?;
        self.audit_head = Some(h.clone());
        Ok(h)
    }

    /// Appends one audit event to the chain. `before`/`after` are any serialisable snapshots.
    pub async fn audit<B: Serialize, A: Serialize>(
        &mut self,
        actor: &Actor,
        action: AuditAction,
        entity: &str,
        entity_id: impl ToString,
        before: Option<&B>,
        after: Option<&A>,
    ) -> StoreResult<i64> {
        let ev = PendingEvent {
            action,
            entity: entity.to_owned(),
            entity_id: entity_id.to_string(),
            before: before.map(to_json),
            after: after.map(to_json),
        };
        self.audit_each(vec![(actor, ev)]).await?;
        Ok(self.audit_head.as_ref().map_or(0, |(seq, _)| *seq))
    }

    /// Appends many events with few statements: bulk writes (imports) use this.
    pub async fn audit_batch(&mut self, actor: &Actor, events: Vec<PendingEvent>) -> StoreResult<()> {
        self.audit_each(events.into_iter().map(|e| (actor, e)).collect()).await
    }

    /// Appends many events, each with its own actor, with few statements.
    pub async fn audit_each(&mut self, events: Vec<(&Actor, PendingEvent)>) -> StoreResult<()> {
        let mut ins = Inserts::default();
        self.audit_into(events, &mut ins).await?;
        ins.run(&mut self.conn()).await
    }

    /// Links events, each with its own actor, to the chain and adds them to `ins`, to be written
    /// with the other rows of a batch (intake). The caller runs `ins` in this transaction.
    pub async fn audit_into(&mut self, events: Vec<(&Actor, PendingEvent)>, ins: &mut Inserts) -> StoreResult<()> {
        let recs = self.chain(events).await?;
        const COLS: [(&str, &str); 11] = [
            ("seq", "bigint"),
            ("at", "timestamptz"),
            ("actor_id", "bigint"),
            ("actor", "text"),
            ("action", "text"),
            ("entity", "text"),
            ("entity_id", "text"),
            ("before_json", "text"),
            ("after_json", "text"),
            ("prev_hash", "text"),
            ("hash", "text"),
        ];
        let rows = recs
            .into_iter()
            .map(|r| {
                serde_json::json!([
                    r.seq,
                    crate::bulk::ts(r.at),
                    r.actor_id,
                    r.actor,
                    r.action,
                    r.entity,
                    r.entity_id,
                    r.before,
                    r.after,
                    r.prev_hash,
                    r.hash
                ])
            })
            .collect();
        ins.add("audit_events", &COLS, rows, "");
        Ok(())
    }

    /// Links events to the chain after its head, and moves the head past them.
    async fn chain(&mut self, events: Vec<(&Actor, PendingEvent)>) -> StoreResult<Vec<AuditRecord>> {
        if events.is_empty() {
            return Ok(vec![]);
        }
        let (mut seq, mut prev) = self.audit_head().await?;
        let at = normalise_time(Utc::now());
        let mut recs = Vec::with_capacity(events.len());
        for (actor, ev) in events {
            seq += 1;
            let mut rec = AuditRecord {
                seq,
                at,
                actor_id: actor.user_id,
                actor: actor.username.clone(),
                action: ev.action.code().to_owned(),
                entity: ev.entity,
                entity_id: ev.entity_id,
                before: ev.before,
                after: ev.after,
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            rec.hash = link_hash(&rec, &prev);
            prev = rec.hash.clone();
            recs.push(rec);
        }
        self.audit_head = Some((seq, prev));
        Ok(recs)
    }
}

pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"unserialisable\":\"{e}\"}}"))
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
}

/// Newest first, for the auditor's browser.
pub async fn list(c: &mut Conn<'_>, f: &AuditFilter, page: Page) -> StoreResult<Paged<AuditRecord>> {
    let where_sql =
        "WHERE ($1 IS NULL OR entity = $1) AND ($2 IS NULL OR entity_id = $2) AND ($3 IS NULL OR actor = $3)";
    let total: i64 = on!(c, e => sqlx::query_scalar(sql!("SELECT COUNT(*) FROM audit_events {where_sql}"))
        .bind(&f.entity)
        .bind(&f.entity_id)
        .bind(&f.actor)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    let rows: Vec<Row> = on!(c, e => sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM audit_events {where_sql} ORDER BY seq DESC LIMIT $4 OFFSET $5"
    ))
    .bind(&f.entity)
    .bind(&f.entity_id)
    .bind(&f.actor)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(Paged {
        items: rows.into_iter().map(from_row).collect(),
        total,
        page: page.page,
        per_page: page.per_page,
        total_is_lower_bound: false,
    })
}

/// Events with `seq > after`, oldest first, at most `limit`: the verifier walks the chain in chunks.
pub async fn chunk(c: &mut Conn<'_>, after: i64, limit: i64) -> StoreResult<Vec<AuditRecord>> {
    let rows: Vec<Row> = on!(c, e => sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(rows.into_iter().map(from_row).collect())
}

type CheckpointRow = (i64, i64, String, i64, DateTime<Utc>, String, String, String, String);

const CHECKPOINT_COLUMNS: &str = "id, seq, head_hash, event_count, signed_at, reason, key_id, prev_mac, mac";

fn checkpoint_from_row(r: CheckpointRow) -> Checkpoint {
    Checkpoint {
        id: r.0,
        seq: r.1,
        head_hash: r.2,
        event_count: r.3,
        signed_at: r.4,
        reason: r.5,
        key_id: r.6,
        prev_mac: r.7,
        mac: r.8,
    }
}

/// Every signed checkpoint, oldest first.
pub async fn checkpoints(c: &mut Conn<'_>) -> StoreResult<Vec<Checkpoint>> {
    let rows: Vec<CheckpointRow> = on!(c, e => sqlx::query_as(sql!(
        "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY id"
    ))
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    Ok(rows.into_iter().map(checkpoint_from_row).collect())
}

pub async fn last_checkpoint(c: &mut Conn<'_>) -> StoreResult<Option<Checkpoint>> {
    let row: Option<CheckpointRow> = on!(c, e => sqlx::query_as(sql!(
        "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    Ok(row.map(checkpoint_from_row))
}

pub async fn insert_checkpoint(c: &mut Conn<'_>, k: &Checkpoint) -> StoreResult<()> {
    on!(c, e => sqlx::query(sql!(
        "INSERT INTO audit_checkpoints ({CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(k.id)
    .bind(k.seq)
    .bind(&k.head_hash)
    .bind(k.event_count)
    .bind(k.signed_at)
    .bind(&k.reason)
    .bind(&k.key_id)
    .bind(&k.prev_mac)
    .bind(&k.mac)
    .execute(e)
    .await
    .map(|_| ())
    .map_err(map_err))
}

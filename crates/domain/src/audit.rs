//! The audit trail as a hash chain (ISO record control).
//!
//! Each event's hash covers its own content and the previous event's hash, so changing, deleting or
//! reordering any stored event breaks every link after it. The genesis link uses [`GENESIS`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Create,
    Update,
    Delete,
}

impl AuditAction {
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
        }
    }
    pub fn parse(s: &str) -> Option<AuditAction> {
        [AuditAction::Create, AuditAction::Update, AuditAction::Delete].into_iter().find(|a| a.code() == s)
    }
}

/// One audit event as stored. `before` and `after` are JSON text exactly as stored, so the hash is
/// computed over the very bytes that are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Timestamps are cut to microseconds, the precision both database engines keep.
pub fn normalise_time(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(at)
}

/// The hash of an event: SHA-256 over a length-prefixed field list, hex encoded.
pub fn link_hash(r: &AuditRecord, prev_hash: &str) -> String {
    let at = r.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let actor_id = r.actor_id.map(|i| i.to_string()).unwrap_or_default();
    let seq = r.seq.to_string();
    let fields: [&str; 10] = [
        prev_hash,
        &seq,
        &at,
        &actor_id,
        &r.actor,
        &r.action,
        &r.entity,
        &r.entity_id,
        r.before.as_deref().unwrap_or("\u{0}"),
        r.after.as_deref().unwrap_or("\u{0}"),
    ];
    let mut h = Sha256::new();
    for f in fields {
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Walks events in order and names the first link that does not hold.
/// `expected_prev` is the hash the first event must point to (GENESIS for a full verification).
pub struct ChainVerifier {
    prev_hash: String,
    prev_seq: Option<i64>,
    pub checked: u64,
}

impl ChainVerifier {
    pub fn new() -> Self {
        ChainVerifier { prev_hash: GENESIS.to_owned(), prev_seq: None, checked: 0 }
    }

    pub fn check(&mut self, r: &AuditRecord) -> Result<(), BrokenLink> {
        if let Some(p) = self.prev_seq
            && r.seq != p + 1
        {
            return Err(BrokenLink {
                seq: r.seq,
                reason: format!("sequence jumps from {p} to {}: events are missing", r.seq),
            });
        }
        if r.prev_hash != self.prev_hash {
            return Err(BrokenLink {
                seq: r.seq,
                reason: "previous-hash does not match the event before it (an earlier event was changed or removed)"
                    .into(),
            });
        }
        if link_hash(r, &r.prev_hash) != r.hash {
            return Err(BrokenLink {
                seq: r.seq,
                reason: "content does not match its hash (the event was changed)".into(),
            });
        }
        self.prev_hash = r.hash.clone();
        self.prev_seq = Some(r.seq);
        self.checked += 1;
        Ok(())
    }
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut r = AuditRecord {
                    seq,
                    at: normalise_time(DateTime::from_timestamp(1_700_000_000 + seq, 123_456_789).unwrap()),
                    actor_id: Some(7),
                    actor: "张三".into(),
                    action: "update".into(),
                    entity: "user".into(),
                    entity_id: seq.to_string(),
                    before: Some(format!("{{\"v\":{seq}}}")),
                    after: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                r.hash = link_hash(&r, &prev);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(events: &[AuditRecord]) -> Result<u64, BrokenLink> {
        let mut v = ChainVerifier::new();
        for e in events {
            v.check(e)?;
        }
        Ok(v.checked)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn a_changed_event_is_named() {
        let mut c = chain(5);
        c[2].after = Some("{}".into());
        assert_eq!(verify(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn a_removed_event_is_named() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn a_rehashed_event_still_breaks_the_next_link() {
        let mut c = chain(5);
        c[1].actor = "李四".into();
        c[1].hash = link_hash(&c[1], &c[1].prev_hash);
        assert_eq!(verify(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn field_boundaries_matter() {
        let c = chain(1);
        let mut shifted = c[0].clone();
        shifted.actor = "张".into();
        shifted.action = "三update".into();
        assert_ne!(link_hash(&shifted, GENESIS), c[0].hash);
        assert_ne!(link_hash(&AuditRecord { before: None, ..c[0].clone() }, GENESIS), c[0].hash);
    }
}

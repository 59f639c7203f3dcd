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
    pub(crate) prev_seq: Option<i64>,
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

/// The secret that signs audit checkpoints: 32 bytes, kept outside the database (a key file in
/// the data directory or a path from the configuration), written as 64 hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id())
    }
}

impl AuditKey {
    pub fn from_bytes(bytes: [u8; 32]) -> AuditKey {
        AuditKey(bytes)
    }

    /// Parses 64 hex digits (surrounding white space ignored).
    pub fn parse(text: &str) -> Result<AuditKey, String> {
        let t = text.trim();
        let bytes = hex::decode(t).map_err(|e| format!("the audit key is not hex: {e}"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("the audit key must be 32 bytes (64 hex digits), not {}", b.len()))?;
        Ok(AuditKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A public name of the key (the first 16 hex digits of its SHA-256), stored with each
    /// checkpoint so a verifier holding another key says so instead of "forged".
    pub fn id(&self) -> String {
        let d = Sha256::digest(self.0);
        hex::encode(&d[..8])
    }

    fn mac(&self, fields: &[&str]) -> String {
        use hmac::{KeyInit, Mac};
        let mut m = match <hmac::Hmac<sha2_hmac::Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes a key of any length"),
        };
        for f in fields {
            m.update(&(f.len() as u64).to_be_bytes());
            m.update(f.as_bytes());
        }
        hex::encode(m.finalize().into_bytes())
    }
}

/// A signed statement "the chain had `seq` events and its newest hash was `head_hash` at
/// `signed_at`". Checkpoints are numbered 1, 2, … and each MAC covers the previous one's, so a
/// checkpoint removed from the middle, or one written without the key, is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub id: i64,
    pub seq: i64,
    pub head_hash: String,
    pub event_count: i64,
    pub signed_at: DateTime<Utc>,
    /// `periodic` or `shutdown`.
    pub reason: String,
    pub key_id: String,
    pub prev_mac: String,
    pub mac: String,
}

impl Checkpoint {
    /// The next checkpoint after `prev` (None: the first), signed with `key`.
    pub fn sign(
        key: &AuditKey,
        prev: Option<&Checkpoint>,
        seq: i64,
        head_hash: &str,
        signed_at: DateTime<Utc>,
        reason: &str,
    ) -> Checkpoint {
        let mut c = Checkpoint {
            id: prev.map_or(1, |p| p.id + 1),
            seq,
            head_hash: head_hash.to_owned(),
            // The chain's sequence is gap-free from 1, so the event count is its newest number.
            event_count: seq,
            signed_at: normalise_time(signed_at),
            reason: reason.to_owned(),
            key_id: key.id(),
            prev_mac: prev.map_or_else(|| GENESIS.to_owned(), |p| p.mac.clone()),
            mac: String::new(),
        };
        c.mac = c.expected_mac(key);
        c
    }

    fn expected_mac(&self, key: &AuditKey) -> String {
        let at = self.signed_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        key.mac(&[
            "loopdesk-audit-checkpoint-v1",
            &self.id.to_string(),
            &self.seq.to_string(),
            &self.head_hash,
            &self.event_count.to_string(),
            &at,
            &self.reason,
            &self.key_id,
            &self.prev_mac,
        ])
    }

    fn describe(&self) -> String {
        format!(
            "checkpoint {} (signed {} at event {})",
            self.id,
            self.signed_at.format("%Y-%m-%d %H:%M:%S UTC"),
            self.seq
        )
    }
}

/// Walks the chain like [`ChainVerifier`] and holds it against signed checkpoints: an event
/// changed in place breaks its own hash; a rewrite that recomputed every later hash no longer
/// matches the head hash a checkpoint signed; events deleted from the end leave a checkpoint
/// pointing past the chain's end. What it cannot see: events appended after the newest
/// checkpoint and then removed, and anything done by someone who holds the key as well.
pub struct AnchoredVerifier {
    chain: ChainVerifier,
    checkpoints: Vec<Checkpoint>,
    next: usize,
    /// The newest sequence number a checkpoint confirmed (0: none yet).
    confirmed: i64,
}

impl AnchoredVerifier {
    /// Checks the checkpoints themselves first: numbering, the MAC chain, the key.
    pub fn new(key: &AuditKey, mut checkpoints: Vec<Checkpoint>) -> Result<AnchoredVerifier, BrokenLink> {
        checkpoints.sort_by_key(|c| c.id);
        let mut prev: Option<&Checkpoint> = None;
        for c in &checkpoints {
            let fail = |reason: String| BrokenLink { seq: c.seq, reason };
            let want_id = prev.map_or(1, |p| p.id + 1);
            if c.id != want_id {
                return Err(fail(format!(
                    "checkpoint {want_id} is missing (the next one is {}): checkpoints were deleted",
                    c.id
                )));
            }
            if c.key_id != key.id() {
                return Err(fail(format!(
                    "{} was signed with key {}, not with this key ({}): wrong key file, or a forged checkpoint",
                    c.describe(),
                    c.key_id,
                    key.id()
                )));
            }
            if c.expected_mac(key) != c.mac {
                return Err(fail(format!("{} does not match its signature: it was forged or altered", c.describe())));
            }
            let want_prev = prev.map_or(GENESIS, |p| p.mac.as_str());
            if c.prev_mac != want_prev {
                return Err(fail(format!("{} does not follow checkpoint {}", c.describe(), c.id - 1)));
            }
            if let Some(p) = prev
                && c.seq < p.seq
            {
                return Err(fail(format!("{} goes back behind checkpoint {}", c.describe(), p.id)));
            }
            prev = Some(c);
        }
        Ok(AnchoredVerifier { chain: ChainVerifier::new(), checkpoints, next: 0, confirmed: 0 })
    }

    pub fn checked(&self) -> u64 {
        self.chain.checked
    }

    /// How many checkpoints the chain has matched so far.
    pub fn checkpoints_matched(&self) -> u64 {
        self.next as u64
    }

    pub fn check(&mut self, r: &AuditRecord) -> Result<(), BrokenLink> {
        self.chain.check(r)?;
        while let Some(c) = self.checkpoints.get(self.next)
            && c.seq <= r.seq
        {
            if c.seq == r.seq && c.head_hash != r.hash {
                return Err(BrokenLink {
                    seq: r.seq,
                    reason: format!(
                        "the chain no longer matches {}: events {}..={} were rewritten and re-hashed",
                        c.describe(),
                        self.confirmed + 1,
                        r.seq
                    ),
                });
            }
            if c.seq < r.seq {
                return Err(BrokenLink {
                    seq: r.seq,
                    reason: format!("{} names an event the chain does not have", c.describe()),
                });
            }
            self.confirmed = c.seq;
            self.next += 1;
        }
        Ok(())
    }

    /// After the last event: a checkpoint beyond the chain's end means events were deleted.
    pub fn finish(&self) -> Result<(), BrokenLink> {
        let end = self.chain.prev_seq.unwrap_or(0);
        if let Some(c) = self.checkpoints.get(self.next) {
            let newest = self.checkpoints.last().map_or(c.seq, |l| l.seq.max(c.seq));
            return Err(BrokenLink {
                seq: end + 1,
                reason: format!(
                    "events {}..={newest} were deleted: {} vouches for them, the chain ends at event {end}",
                    end + 1,
                    c.describe()
                ),
            });
        }
        Ok(())
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

    fn key() -> AuditKey {
        AuditKey::from_bytes([7; 32])
    }

    fn anchored(events: &[AuditRecord], cps: Vec<Checkpoint>) -> Result<u64, BrokenLink> {
        let mut v = AnchoredVerifier::new(&key(), cps)?;
        for e in events {
            v.check(e)?;
        }
        v.finish()?;
        Ok(v.checked())
    }

    fn checkpoints(c: &[AuditRecord], at: &[usize]) -> Vec<Checkpoint> {
        let mut out: Vec<Checkpoint> = vec![];
        for &n in at {
            let e = &c[n - 1];
            let cp = Checkpoint::sign(&key(), out.last(), e.seq, &e.hash, e.at, "periodic");
            out.push(cp);
        }
        out
    }

    fn rehash(c: &mut [AuditRecord], from: usize) {
        for i in from..c.len() {
            let prev = if i == 0 { GENESIS.to_owned() } else { c[i - 1].hash.clone() };
            c[i].prev_hash = prev.clone();
            c[i].hash = link_hash(&c[i], &prev);
        }
    }

    #[test]
    fn an_untouched_chain_matches_its_checkpoints() {
        let c = chain(6);
        assert_eq!(anchored(&c, checkpoints(&c, &[2, 4, 6])), Ok(6));
    }

    #[test]
    fn a_rehashed_rewrite_is_named_with_its_range() {
        let mut c = chain(6);
        c[2].after = Some("{\"v\":0}".into());
        rehash(&mut c, 2);
        // The plain chain no longer sees it.
        assert_eq!(verify(&c), Ok(6));
        let b = anchored(&c.clone(), checkpoints(&chain(6), &[2, 4, 6])).unwrap_err();
        assert_eq!(b.seq, 4);
        assert!(b.reason.contains("events 3..=4 were rewritten"), "{}", b.reason);
    }

    #[test]
    fn deleting_the_newest_events_is_named() {
        let c = chain(6);
        let cps = checkpoints(&c, &[3, 6]);
        let b = anchored(&c[..4], cps).unwrap_err();
        assert!(b.reason.contains("events 5..=6 were deleted"), "{}", b.reason);
    }

    #[test]
    fn a_deleted_and_renumbered_event_is_named() {
        let orig = chain(6);
        let cps = checkpoints(&orig, &[6]);
        let mut c = orig.clone();
        c.remove(1);
        for (i, e) in c.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        rehash(&mut c, 0);
        assert_eq!(verify(&c), Ok(5));
        assert!(anchored(&c, cps).unwrap_err().reason.contains("deleted"));
    }

    #[test]
    fn forged_missing_or_foreign_checkpoints_are_refused() {
        let c = chain(4);
        let mut cps = checkpoints(&c, &[1, 2, 3]);
        let mut forged = cps.clone();
        forged[1].seq = 1;
        assert!(anchored(&c, forged).unwrap_err().reason.contains("forged or altered"));
        cps.remove(1);
        assert!(anchored(&c, cps).unwrap_err().reason.contains("checkpoint 2 is missing"));
        let other = AuditKey::from_bytes([8; 32]);
        let foreign = vec![Checkpoint::sign(&other, None, 1, &c[0].hash, c[0].at, "shutdown")];
        assert!(anchored(&c, foreign).unwrap_err().reason.contains("not with this key"));
    }

    #[test]
    fn audit_keys_parse_only_64_hex_digits() {
        let k = key();
        assert_eq!(AuditKey::parse(&format!(" {}\n", k.to_hex())), Ok(k.clone()));
        assert!(AuditKey::parse("abcd").is_err());
        assert!(AuditKey::parse(&"zz".repeat(32)).is_err());
        assert!(!format!("{k:?}").contains(&k.to_hex()), "Debug shows the secret");
    }

    proptest::proptest! {
        #[test]
        fn audit_key_parser_never_panics(s in ".{0,80}") {
            let _ = AuditKey::parse(&s);
        }
    }
}

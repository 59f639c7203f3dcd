-- Storage faults and the anchored audit trail (issue #13).

-- One row the health check updates and commits: proof that the database takes a write now,
-- without scanning anything.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY,
    probed_at  TEXT NOT NULL
);

-- Signed checkpoints of the audit chain: the newest event's sequence number and hash, how many
-- events the chain then held, when, and an HMAC-SHA256 over all of it and the previous
-- checkpoint's MAC, keyed with a secret that is never stored in the database.
CREATE TABLE audit_checkpoints (
    id           INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL,
    head_hash    TEXT NOT NULL,
    event_count  INTEGER NOT NULL,
    signed_at    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    prev_mac     TEXT NOT NULL,
    mac          TEXT NOT NULL
);

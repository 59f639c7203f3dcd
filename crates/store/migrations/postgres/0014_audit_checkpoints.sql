-- Storage faults and the anchored audit trail (issue #13).

-- One row the health check updates and commits: proof that the database takes a write now,
-- without scanning anything.
CREATE TABLE health_probe (
    id         BIGINT PRIMARY KEY,
    probed_at  TIMESTAMPTZ NOT NULL
);

-- Signed checkpoints of the audit chain: the newest event's sequence number and hash, how many
-- events the chain then held, when, and an HMAC-SHA256 over all of it and the previous
-- checkpoint's MAC, keyed with a secret that is never stored in the database.
CREATE TABLE audit_checkpoints (
    id           BIGINT PRIMARY KEY,
    seq          BIGINT NOT NULL,
    head_hash    TEXT NOT NULL,
    event_count  BIGINT NOT NULL,
    signed_at    TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    prev_mac     TEXT NOT NULL,
    mac          TEXT NOT NULL
);

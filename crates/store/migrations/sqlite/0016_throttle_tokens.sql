-- Issue #13: throttling counted in the database, so every node sharing it counts the same
-- attempts; API tokens that expire.

-- One row per counted attempt: `key` names what is counted (an account at an address, an address,
-- a portal action at an address); rows older than the window are pruned.
CREATE TABLE throttle_hits (
    key  TEXT NOT NULL,
    at   TEXT NOT NULL
);
CREATE INDEX throttle_hits_key_at_idx ON throttle_hits (key, at);
CREATE INDEX throttle_hits_at_idx ON throttle_hits (at);

-- NULL: never expires (tokens issued before expiry existed, or issued so on purpose).
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;

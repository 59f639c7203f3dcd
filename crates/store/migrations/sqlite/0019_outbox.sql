-- Telling people (spec C11, C12): the durable outbox. A message is written in the transaction of
-- the change that causes it, rendered at enqueue in the recipient's language, and dispatched by
-- every server process under a lease; each try leaves an attempt row.

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    -- Stable across retries: the Message-ID of a mail, the webhook-id of a webhook.
    event_id         TEXT NOT NULL,
    -- The business fact, so it is never enqueued twice (e.g. `case:123:ack:customer`).
    dedupe_key       TEXT NOT NULL,
    -- email, webhook, wecom, dingtalk, feishu
    channel          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    -- An e-mail address or a destination name.
    recipient        TEXT NOT NULL,
    recipient_name   TEXT NOT NULL DEFAULT '',
    user_id          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    case_id          INTEGER REFERENCES cases(id) ON DELETE SET NULL,
    locale           TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT NOT NULL DEFAULT '',
    -- Threading: the per-case root Message-ID this message refers to ('' for none).
    thread_root      TEXT NOT NULL DEFAULT '',
    -- pending, in_flight, sent, uncertain, failed, cancelled
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    lease_owner      TEXT,
    lease_until      TEXT,
    last_error       TEXT NOT NULL DEFAULT '',
    provider_code    TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    CONSTRAINT outbox_event_id_key UNIQUE (event_id),
    CONSTRAINT outbox_dedupe_key_key UNIQUE (dedupe_key)
);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_case_idx ON outbox (case_id);

CREATE TABLE outbox_attempts (
    id             INTEGER PRIMARY KEY,
    outbox_id      INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    attempt        INTEGER NOT NULL,
    node           TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT NOT NULL,
    -- sent, retry, rejected, ambiguous, abandoned (the node's lease ran out while sending)
    outcome        TEXT NOT NULL,
    provider_code  TEXT NOT NULL DEFAULT '',
    excerpt        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_attempts_outbox_idx ON outbox_attempts (outbox_id, id);

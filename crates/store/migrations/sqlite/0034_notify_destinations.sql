-- Group robots and outgoing webhooks (issue #15): where messages about records go besides people.
-- A destination belongs to the organisation or to one department and receives the event kinds it
-- names. Secrets are stored, never shown (the API and pages are write-only for them).

CREATE TABLE notify_destinations (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    -- webhook, wecom, dingtalk, feishu
    channel          TEXT NOT NULL,
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL DEFAULT '',
    -- The secret before the last rotation: webhooks are signed with both for a while.
    previous_secret  TEXT NOT NULL DEFAULT '',
    -- A robot's security keyword, put into every message that lacks it.
    keyword          TEXT NOT NULL DEFAULT '',
    -- Phone numbers to @mention, comma-separated.
    mention_phones   TEXT NOT NULL DEFAULT '',
    -- NULL: the whole organisation.
    department_id    INTEGER REFERENCES departments(id) ON DELETE CASCADE,
    -- Event kinds, comma-separated (case.created, case.state_changed, ...).
    events           TEXT NOT NULL,
    -- Sends per minute shared by every node (0: no limit).
    per_minute       INTEGER NOT NULL DEFAULT 0,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT notify_destinations_name_key UNIQUE (name)
);

-- A message to a destination names it (robot and webhook messages; NULL for mail).
ALTER TABLE outbox ADD COLUMN destination_id INTEGER REFERENCES notify_destinations(id) ON DELETE SET NULL;

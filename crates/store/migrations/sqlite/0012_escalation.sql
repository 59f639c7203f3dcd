-- Service-level escalation (spec C5): stored clock policies, the scheduler's next look at each
-- clock, and the in-app inbox.

-- Each saved policy set is kept; the newest applies to clocks started from then on.
CREATE TABLE sla_policy_sets (
    id          INTEGER PRIMARY KEY,
    spec        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id)
);

-- When the scheduler should next look at a running clock (NULL: nothing can fall due).
ALTER TABLE case_clocks ADD COLUMN next_check_at TEXT;
CREATE INDEX case_clocks_next_check_idx ON case_clocks (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX case_clocks_due_at_idx ON case_clocks (due_at);

CREATE TABLE inbox_items (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    case_id     INTEGER REFERENCES cases(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    read_at     TEXT
);
CREATE INDEX inbox_items_user_idx ON inbox_items (user_id, id);

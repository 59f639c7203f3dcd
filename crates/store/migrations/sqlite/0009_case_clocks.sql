-- Service-level clocks on cases, stored as facts (due time, pauses, met or breached).
CREATE TABLE case_clocks (
    id                INTEGER PRIMARY KEY,
    case_id           INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    calendar          TEXT NOT NULL,
    duration          TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    due_at            TEXT NOT NULL,
    warn_at           TEXT NOT NULL,
    state             TEXT NOT NULL,
    paused_since      TEXT,
    paused_ms         INTEGER NOT NULL DEFAULT 0,
    met_at            TEXT,
    breached_at       TEXT,
    escalation_level  INTEGER NOT NULL DEFAULT 0,
    warned            BOOLEAN NOT NULL DEFAULT FALSE,
    version           INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT case_clocks_case_id_name_key UNIQUE (case_id, name)
);
CREATE INDEX case_clocks_due_idx ON case_clocks (state, due_at);

-- Coordination meetings on major complaints (重大投诉协调会) and their action items.
CREATE TABLE case_meetings (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    held_at     TEXT NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    attendees   TEXT NOT NULL,
    minutes     TEXT NOT NULL,
    decisions   TEXT NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX case_meetings_case_idx ON case_meetings (case_id);

CREATE TABLE meeting_actions (
    id           INTEGER PRIMARY KEY,
    meeting_id   INTEGER NOT NULL REFERENCES case_meetings(id) ON DELETE CASCADE,
    case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    description  TEXT NOT NULL,
    owner_id     INTEGER REFERENCES users(id),
    due_date     TEXT NOT NULL,
    done_at      TEXT,
    done_note    TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX meeting_actions_case_idx ON meeting_actions (case_id);
CREATE INDEX meeting_actions_owner_idx ON meeting_actions (owner_id, done_at);

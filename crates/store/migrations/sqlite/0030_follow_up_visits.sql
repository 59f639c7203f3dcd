-- Issue #20 item 7: every closed complaint and every completed service request gets a follow-up
-- visit (回访) within one month (001 4.2.3), whether or not the customer formally accepted.
-- source_kind 'case' (source_id = cases.id) or 'service_order' (the service-order module's id);
-- one visit per source. state: 'open', 'done', 'not_reached', 'refused'; rating on the
-- 10/8/6/3/1 scale when done.
CREATE TABLE follow_up_visits (
    id             INTEGER PRIMARY KEY,
    source_kind    TEXT NOT NULL,
    source_id      INTEGER NOT NULL,
    case_id        INTEGER REFERENCES cases(id),
    customer_id    INTEGER REFERENCES customers(id),
    department_id  INTEGER REFERENCES departments(id),
    assignee_id    INTEGER REFERENCES users(id),
    subject        TEXT NOT NULL DEFAULT '',
    due_on         TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'open',
    rating         INTEGER,
    outcome        TEXT NOT NULL DEFAULT '',
    done_at        TEXT,
    done_by        INTEGER REFERENCES users(id),
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CONSTRAINT follow_up_visits_source_key UNIQUE (source_kind, source_id)
);
CREATE INDEX follow_up_visits_state_idx ON follow_up_visits (state, due_on);
CREATE INDEX follow_up_visits_case_idx ON follow_up_visits (case_id);

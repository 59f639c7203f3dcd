-- Cases (客户投诉/反馈), their versioned process definitions and the case timeline.

CREATE TABLE process_definitions (
    id          INTEGER PRIMARY KEY,
    case_type   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    definition  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    CONSTRAINT process_definitions_case_type_version_key UNIQUE (case_type, version)
);

CREATE TABLE cases (
    id                   INTEGER PRIMARY KEY,
    number               TEXT NOT NULL,
    case_type            TEXT NOT NULL,
    definition_version   INTEGER NOT NULL,
    state                TEXT NOT NULL,
    customer_id          INTEGER REFERENCES customers(id),
    contact_id           INTEGER REFERENCES contacts(id),
    contact_name         TEXT NOT NULL DEFAULT '',
    contact_phone        TEXT NOT NULL DEFAULT '',
    contact_email        TEXT NOT NULL DEFAULT '',
    received_at          TEXT NOT NULL,
    channel              TEXT NOT NULL,
    product_id           INTEGER REFERENCES products(id),
    model                TEXT NOT NULL DEFAULT '',
    serial               TEXT NOT NULL DEFAULT '',
    product_code         TEXT NOT NULL DEFAULT '',
    ship_date            TEXT,
    subject              TEXT NOT NULL,
    description          TEXT NOT NULL,
    category             TEXT NOT NULL DEFAULT '',
    severity             TEXT NOT NULL DEFAULT '',
    responsibility       TEXT NOT NULL DEFAULT '',
    responsibility_note  TEXT NOT NULL DEFAULT '',
    lead_department_id   INTEGER REFERENCES departments(id),
    owner_id             INTEGER REFERENCES users(id),
    confidential         BOOLEAN NOT NULL DEFAULT FALSE,
    adverse_event        BOOLEAN NOT NULL DEFAULT FALSE,
    locale               TEXT NOT NULL DEFAULT 'zh-CN',
    tracking_hash        TEXT NOT NULL DEFAULT '',
    merged_into_id       INTEGER REFERENCES cases(id),
    fields               TEXT NOT NULL DEFAULT '{}',
    closed_at            TEXT,
    version              INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    CONSTRAINT cases_number_key UNIQUE (number)
);
CREATE INDEX cases_state_department_idx ON cases (state, lead_department_id);
CREATE INDEX cases_customer_idx ON cases (customer_id);
CREATE INDEX cases_received_idx ON cases (received_at);
CREATE INDEX cases_type_idx ON cases (case_type, received_at);
CREATE INDEX cases_owner_idx ON cases (owner_id, state);

-- The timeline: every state change, comment and reply. `public` events show on the portal.
CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    transition  TEXT NOT NULL DEFAULT '',
    from_state  TEXT NOT NULL DEFAULT '',
    to_state    TEXT NOT NULL DEFAULT '',
    fields      TEXT NOT NULL DEFAULT '{}',
    body        TEXT NOT NULL DEFAULT '',
    public      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);

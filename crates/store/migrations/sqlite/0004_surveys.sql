-- Satisfaction measurement (SPEC C8): templates, plans, campaigns, invitations, responses, internal
-- KPIs and corrective-action requests.
-- A template revision is immutable once stored; editing a template stores the next revision, and a
-- campaign points at the revision it was sent with. `definition` holds the JSON contract (service
-- `TemplateSpec`: scale, indicator tree with weights or AHP matrices, questions); the service
-- re-parses it on every read, as with calendars.
CREATE TABLE survey_templates (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    audience     TEXT NOT NULL,
    definition   TEXT NOT NULL,
    created_by   INTEGER REFERENCES users(id),
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT survey_templates_code_revision_key UNIQUE (code, revision)
);

-- 年度客户满意程度调查计划. `population` is the JSON filter (region, category, is_new, minimum
-- contract value in fen); `triggers` the JSON list of events that start a campaign.
CREATE TABLE survey_plans (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    template_code      TEXT NOT NULL,
    period_start       TEXT NOT NULL,
    period_end         TEXT NOT NULL,
    frequency          TEXT NOT NULL,
    population         TEXT NOT NULL,
    min_response_rate  REAL NOT NULL,
    target_pct         REAL NOT NULL,
    channel            TEXT NOT NULL,
    triggers           TEXT NOT NULL DEFAULT '[]',
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

CREATE TABLE survey_campaigns (
    id                 INTEGER PRIMARY KEY,
    plan_id            INTEGER REFERENCES survey_plans(id),
    template_id        INTEGER NOT NULL REFERENCES survey_templates(id),
    name               TEXT NOT NULL,
    period             TEXT NOT NULL,
    trigger_event      TEXT NOT NULL DEFAULT 'manual',
    min_response_rate  REAL NOT NULL,
    target_pct         REAL NOT NULL,
    anonymous          BOOLEAN NOT NULL DEFAULT FALSE,
    status             TEXT NOT NULL,
    closed_at          TEXT,
    results            TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX survey_campaigns_plan_idx ON survey_campaigns (plan_id, id);

-- One per contact; only the SHA-256 of the link's token is kept.
CREATE TABLE survey_invitations (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES survey_campaigns(id) ON DELETE CASCADE,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    contact_id    INTEGER NOT NULL REFERENCES contacts(id),
    email         TEXT NOT NULL DEFAULT '',
    token_hash    TEXT NOT NULL,
    sent_at       TEXT NOT NULL,
    opened_at     TEXT,
    answered_at   TEXT,
    reminded_at   TEXT,
    reminders     INTEGER NOT NULL DEFAULT 0,
    version       INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT survey_invitations_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX survey_invitations_campaign_idx ON survey_invitations (campaign_id);

-- A submitted questionnaire. Anonymous responses keep no customer or contact.
CREATE TABLE survey_responses (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES survey_campaigns(id) ON DELETE CASCADE,
    customer_id   INTEGER REFERENCES customers(id),
    contact_id    INTEGER REFERENCES contacts(id),
    locale        TEXT NOT NULL,
    submitted_at  TEXT NOT NULL
);
CREATE INDEX survey_responses_campaign_idx ON survey_responses (campaign_id);

-- One row per answered question. `score` for rating and NPS, `choices` (JSON list) for choice
-- questions, `text` for free text with its opinion/suggestion kind and the category staff assign.
CREATE TABLE survey_answers (
    id             INTEGER PRIMARY KEY,
    response_id    INTEGER NOT NULL REFERENCES survey_responses(id) ON DELETE CASCADE,
    campaign_id    INTEGER NOT NULL REFERENCES survey_campaigns(id) ON DELETE CASCADE,
    question_code  TEXT NOT NULL,
    kind           TEXT NOT NULL,
    score          REAL,
    choices        TEXT NOT NULL DEFAULT '[]',
    text           TEXT NOT NULL DEFAULT '',
    feedback_kind  TEXT,
    category       TEXT NOT NULL DEFAULT '',
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX survey_answers_campaign_idx ON survey_answers (campaign_id, question_code);

-- Internal self-assessment KPIs per period (entered by hand until cases and deliveries feed them).
CREATE TABLE survey_kpis (
    id          INTEGER PRIMARY KEY,
    period      TEXT NOT NULL,
    kpis        TEXT NOT NULL,
    external_share  REAL NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CONSTRAINT survey_kpis_period_key UNIQUE (period)
);

-- A request for corrective action (纠正/预防措施处理单), due in 2 working days. The CAPA module
-- will take these over; `source` names what opened it.
CREATE TABLE corrective_action_requests (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    source_id    INTEGER NOT NULL,
    title        TEXT NOT NULL,
    detail       TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    status       TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT corrective_action_requests_source_source_id_key UNIQUE (source, source_id)
);

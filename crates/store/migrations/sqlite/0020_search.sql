-- Full-text search (issue #17). One row per searchable record; the tokens come from
-- `loopdesk_domain::search` (computed in Rust, so both engines index exactly the same tokens).
-- Documents of a case (the case itself, its comments and replies, communications about it) carry
-- the case's id and follow its scope: lead department, owner, confidential.
CREATE TABLE search_docs (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL,
    entity_id          INTEGER NOT NULL,
    case_id            INTEGER,
    department_id      INTEGER,
    owner_id           INTEGER,
    confidential       BOOLEAN NOT NULL DEFAULT FALSE,
    case_type          TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL DEFAULT '',
    title              TEXT NOT NULL,
    body               TEXT NOT NULL,
    at                 TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    tokenizer_version  INTEGER NOT NULL,
    -- ENGINE: PostgreSQL keeps the tokens here as tsvectors; on SQLite they live in search_fts
    -- (rowid = id) and these stay NULL.
    grams              TEXT,
    tails              TEXT,
    CONSTRAINT search_docs_kind_entity_id_key UNIQUE (kind, entity_id)
);
CREATE INDEX search_docs_case_idx ON search_docs (case_id);
CREATE INDEX search_docs_version_idx ON search_docs (tokenizer_version);

-- Contentless: the text is in search_docs; only the index is kept here.
CREATE VIRTUAL TABLE search_fts USING fts5(
    grams, tails, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
);

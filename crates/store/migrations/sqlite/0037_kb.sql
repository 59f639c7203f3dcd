-- The after-sales knowledge base (售后服务知识库, issue #17). An article's kind, visibility,
-- category and owning department belong to the article; its text lives in revisions, each one
-- immutable once written (a controlled document): only its state and the names and times of who
-- submitted, approved or archived it are ever set afterwards. At most one revision of an article
-- is published at a time (publishing a new one archives the old one).
CREATE TABLE kb_categories (
    id          INTEGER PRIMARY KEY,
    parent_id   INTEGER REFERENCES kb_categories(id),
    code        TEXT NOT NULL,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    CONSTRAINT kb_categories_code_key UNIQUE (code)
);

CREATE TABLE kb_articles (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    visibility      TEXT NOT NULL,
    category_id     INTEGER REFERENCES kb_categories(id),
    department_id   INTEGER REFERENCES departments(id),
    source_case_id  INTEGER REFERENCES cases(id),
    created_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX kb_articles_category_idx ON kb_articles (category_id);

CREATE TABLE kb_revisions (
    id            INTEGER PRIMARY KEY,
    article_id    INTEGER NOT NULL REFERENCES kb_articles(id),
    revision      INTEGER NOT NULL,
    state         TEXT NOT NULL,
    title         TEXT NOT NULL,
    problem       TEXT NOT NULL DEFAULT '',
    cause         TEXT NOT NULL DEFAULT '',
    solution      TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    -- JSON arrays of text.
    products      TEXT NOT NULL DEFAULT '[]',
    tags          TEXT NOT NULL DEFAULT '[]',
    review_due    TEXT,
    change_note   TEXT NOT NULL DEFAULT '',
    author_id     INTEGER REFERENCES users(id),
    created_at    TEXT NOT NULL,
    submitted_by  INTEGER REFERENCES users(id),
    submitted_at  TEXT,
    approved_by   INTEGER REFERENCES users(id),
    approved_role TEXT,
    approved_at   TEXT,
    archived_at   TEXT,
    CONSTRAINT kb_revisions_article_id_revision_key UNIQUE (article_id, revision)
);
CREATE INDEX kb_revisions_state_idx ON kb_revisions (state, review_due);

-- The articles a case used, and whether they helped.
CREATE TABLE case_kb_links (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    article_id  INTEGER NOT NULL REFERENCES kb_articles(id),
    revision    INTEGER NOT NULL,
    helpful     BOOLEAN NOT NULL DEFAULT FALSE,
    linked_by   INTEGER REFERENCES users(id),
    linked_at   TEXT NOT NULL,
    CONSTRAINT case_kb_links_case_id_article_id_key UNIQUE (case_id, article_id)
);
CREATE INDEX case_kb_links_article_idx ON case_kb_links (article_id);

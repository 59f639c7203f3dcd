-- Links between cases: related cases, and the parts a case was split into.
CREATE TABLE case_links (
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    other_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (case_id, other_id)
);

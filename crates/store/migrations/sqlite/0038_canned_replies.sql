-- Canned replies (issue #17): a title, a language and a body with placeholders such as
-- {{case.number}}; department_id NULL: offered to everyone, otherwise to that department's
-- subtree (the department scope of the reader decides, as for other department records).
CREATE TABLE canned_replies (
    id             INTEGER PRIMARY KEY,
    title          TEXT NOT NULL,
    locale         TEXT NOT NULL,
    body           TEXT NOT NULL,
    department_id  INTEGER REFERENCES departments(id),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_by     INTEGER REFERENCES users(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX canned_replies_department_idx ON canned_replies (department_id);

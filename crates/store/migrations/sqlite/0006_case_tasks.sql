-- Department tasks on a case (信息传递单/信息联络单): a question to a department with a due date.
CREATE TABLE case_tasks (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    department_id  INTEGER NOT NULL REFERENCES departments(id),
    question       TEXT NOT NULL,
    due_date       TEXT NOT NULL,
    answer         TEXT NOT NULL DEFAULT '',
    answered_by    INTEGER REFERENCES users(id),
    answered_at    TEXT,
    created_by     INTEGER REFERENCES users(id),
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX case_tasks_case_idx ON case_tasks (case_id);
CREATE INDEX case_tasks_department_idx ON case_tasks (department_id, answered_at);

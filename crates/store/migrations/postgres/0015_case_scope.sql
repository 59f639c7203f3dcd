-- Who sees a case (issue #16 item 1): who registered each case and from which department, and
-- the departments set to handle every case of a type (customer service sees every complaint).

CREATE TABLE case_registrations (
    case_id        BIGINT PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
    user_id        BIGINT REFERENCES users(id) ON DELETE SET NULL,
    department_id  BIGINT REFERENCES departments(id) ON DELETE SET NULL
);
CREATE INDEX case_registrations_department_idx ON case_registrations (department_id);
CREATE INDEX case_registrations_user_idx ON case_registrations (user_id);

-- Existing cases: the user of their first event, in the department that user is in now.
INSERT INTO case_registrations (case_id, user_id, department_id)
    SELECT DISTINCT ON (e.case_id) e.case_id, e.actor_id, u.department_id
    FROM case_events e JOIN users u ON u.id = e.actor_id
    WHERE e.kind = 'created'
    ORDER BY e.case_id, e.id;

CREATE TABLE handling_departments (
    case_type      TEXT NOT NULL,
    department_id  BIGINT NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT handling_departments_key PRIMARY KEY (case_type, department_id)
);
CREATE INDEX handling_departments_department_idx ON handling_departments (department_id);

CREATE INDEX meeting_actions_case_owner_idx ON meeting_actions (case_id, owner_id);
CREATE INDEX case_tasks_case_department_idx ON case_tasks (case_id, department_id);

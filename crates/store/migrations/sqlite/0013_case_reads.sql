-- Reads at a million cases (issue #7): the earliest running clock's due time kept on the case
-- (the list sorts by it), indexes that serve the list's filters and sorts without scanning, and
-- monthly case counts kept exactly right by the transactions that insert or reclassify cases.

ALTER TABLE cases ADD COLUMN next_due_at TEXT;
UPDATE cases SET next_due_at =
    (SELECT MIN(k.due_at) FROM case_clocks k WHERE k.case_id = cases.id AND k.state = 'running');

DROP INDEX cases_state_department_idx;
CREATE INDEX cases_state_department_due_idx ON cases (state, lead_department_id, next_due_at, id);
CREATE INDEX cases_state_department_received_idx ON cases (state, lead_department_id, received_at, id);
CREATE INDEX cases_due_idx ON cases (next_due_at, id);

-- Cases received per month (YYYY-MM in the organisation's zone) by type, category, lead
-- department (0: none yet) and severity ('' until assessed). The report reads only this table.
CREATE TABLE case_counts (
    month          TEXT NOT NULL,
    case_type      TEXT NOT NULL,
    category       TEXT NOT NULL,
    department_id  INTEGER NOT NULL,
    severity       TEXT NOT NULL,
    n              INTEGER NOT NULL,
    CONSTRAINT case_counts_key PRIMARY KEY (month, case_type, category, department_id, severity)
);
-- Existing cases are counted in the default zone (Asia/Shanghai, UTC+8 all year).
INSERT INTO case_counts (month, case_type, category, department_id, severity, n)
    SELECT strftime('%Y-%m', received_at, '+8 hours'), case_type, category, COALESCE(lead_department_id, 0), severity, COUNT(*)
    FROM cases GROUP BY 1, 2, 3, 4, 5;

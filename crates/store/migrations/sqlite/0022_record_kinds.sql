-- Process definitions belong to a record kind (case, capa, nc, service_order, return) and a type
-- within it; existing rows are case definitions. SQLite cannot change a constraint in place, so
-- the table is rebuilt.

CREATE TABLE process_definitions_new (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL DEFAULT 'case',
    case_type   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    definition  TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    CONSTRAINT process_definitions_kind_case_type_version_key UNIQUE (kind, case_type, version)
);
INSERT INTO process_definitions_new (id, kind, case_type, version, definition, created_by, created_at)
    SELECT id, 'case', case_type, version, definition, created_by, created_at FROM process_definitions;
DROP TABLE process_definitions;
ALTER TABLE process_definitions_new RENAME TO process_definitions;

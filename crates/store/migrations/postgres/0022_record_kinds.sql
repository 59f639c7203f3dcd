-- Process definitions belong to a record kind (case, capa, nc, service_order, return) and a type
-- within it; existing rows are case definitions.

ALTER TABLE process_definitions ADD COLUMN kind TEXT NOT NULL DEFAULT 'case';
ALTER TABLE process_definitions DROP CONSTRAINT process_definitions_case_type_version_key;
ALTER TABLE process_definitions
    ADD CONSTRAINT process_definitions_kind_case_type_version_key UNIQUE (kind, case_type, version);

-- Evidence attached to cases (photos, video, documents), kept in the database with the record.
CREATE TABLE case_attachments (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    data          BLOB NOT NULL,
    public        BOOLEAN NOT NULL DEFAULT FALSE,
    uploaded_by   TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX case_attachments_case_idx ON case_attachments (case_id);

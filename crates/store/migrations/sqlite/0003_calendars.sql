-- Business calendars: weekly hours and dated exceptions (holidays, 调休 make-up days) in one zone.
-- `spec` holds the JSON contract (domain `CalendarSpec`); the service parses it on every read.
CREATE TABLE calendars (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    spec        TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CONSTRAINT calendars_code_key UNIQUE (code)
);

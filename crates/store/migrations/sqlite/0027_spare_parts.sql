-- Issue #19 items 9-11: spare-part resend notices (备件补发通知单, JL-7.5-02-1), approved by the
-- management representative before the warehouse ships; the append-only warranty spare-parts
-- ledger (三包备件登记台账, JL-7.5-02-2); monthly warranty-cost facts written with every posting.
CREATE TABLE spare_part_resends (
    id                INTEGER PRIMARY KEY,
    number            TEXT NOT NULL,
    service_order_id  INTEGER,
    case_id           INTEGER REFERENCES cases(id) ON DELETE SET NULL,
    customer_id       INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    customer_name     TEXT NOT NULL DEFAULT '',
    asset_serial      TEXT NOT NULL DEFAULT '',
    product_code      TEXT NOT NULL DEFAULT '',
    part_code         TEXT NOT NULL,
    part_name         TEXT NOT NULL,
    spec              TEXT NOT NULL DEFAULT '',
    quantity          INTEGER NOT NULL,
    unit_cost_fen     INTEGER NOT NULL DEFAULT 0,
    payer             TEXT NOT NULL,
    cause             TEXT NOT NULL DEFAULT '',
    supplier          TEXT NOT NULL DEFAULT '',
    ship_date         TEXT,
    ship_place        TEXT NOT NULL DEFAULT '',
    receiver_name     TEXT NOT NULL,
    receiver_phone    TEXT NOT NULL DEFAULT '',
    receiver_address  TEXT NOT NULL DEFAULT '',
    carrier           TEXT NOT NULL DEFAULT '',
    tracking_no       TEXT NOT NULL DEFAULT '',
    reason            TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL,
    requested_by      INTEGER REFERENCES users(id),
    decided_by        INTEGER REFERENCES users(id),
    decided_at        TEXT,
    decision_note     TEXT NOT NULL DEFAULT '',
    shipped_by        INTEGER REFERENCES users(id),
    shipped_at        TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CONSTRAINT spare_part_resends_number_key UNIQUE (number)
);
CREATE INDEX spare_part_resends_state_idx ON spare_part_resends (state, created_at);
CREATE INDEX spare_part_resends_order_idx ON spare_part_resends (service_order_id);

CREATE TABLE warranty_parts_ledger (
    id                INTEGER PRIMARY KEY,
    entry_date        TEXT NOT NULL,
    movement          TEXT NOT NULL,
    part_code         TEXT NOT NULL,
    part_name         TEXT NOT NULL,
    spec              TEXT NOT NULL DEFAULT '',
    quantity          INTEGER NOT NULL,
    cost_fen          INTEGER NOT NULL DEFAULT 0,
    service_order_id  INTEGER,
    resend_id         INTEGER REFERENCES spare_part_resends(id),
    customer_id       INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    customer_name     TEXT NOT NULL DEFAULT '',
    asset_serial      TEXT NOT NULL DEFAULT '',
    supplier          TEXT NOT NULL DEFAULT '',
    note              TEXT NOT NULL DEFAULT '',
    created_by        INTEGER REFERENCES users(id),
    created_at        TEXT NOT NULL
);
CREATE INDEX warranty_parts_ledger_date_idx ON warranty_parts_ledger (entry_date, id);

CREATE TABLE warranty_cost_facts (
    month         TEXT NOT NULL,
    product_code  TEXT NOT NULL,
    cause         TEXT NOT NULL,
    payer         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount_fen    INTEGER NOT NULL,
    postings      INTEGER NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (month, product_code, cause, payer, kind)
);

-- The ledger is append-only: corrections are new entries.
CREATE TRIGGER warranty_parts_ledger_no_update BEFORE UPDATE ON warranty_parts_ledger
BEGIN SELECT RAISE(ABORT, 'warranty_parts_ledger is append-only'); END;
CREATE TRIGGER warranty_parts_ledger_no_delete BEFORE DELETE ON warranty_parts_ledger
BEGIN SELECT RAISE(ABORT, 'warranty_parts_ledger is append-only'); END;

-- Customer files, contacts, products and assets, contracts, the communication register.

-- Gap-free counters (customer codes now; case numbers later), bumped inside the writing transaction.
CREATE TABLE counters (
    name    TEXT NOT NULL,
    period  TEXT NOT NULL,
    value   INTEGER NOT NULL,
    PRIMARY KEY (name, period)
);

CREATE TABLE customers (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    category     TEXT NOT NULL,
    is_new       BOOLEAN NOT NULL DEFAULT FALSE,
    region       TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT '',
    phones       TEXT NOT NULL DEFAULT '[]',
    emails       TEXT NOT NULL DEFAULT '[]',
    tags         TEXT NOT NULL DEFAULT '[]',
    owner_id     INTEGER REFERENCES users(id),
    notes        TEXT NOT NULL DEFAULT '',
    search_text  TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT customers_code_key UNIQUE (code)
);
CREATE INDEX customers_name_key_idx ON customers (name_key);
CREATE INDEX customers_region_idx ON customers (region);
CREATE INDEX customers_category_idx ON customers (category);
CREATE INDEX customers_owner_idx ON customers (owner_id);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    phones       TEXT NOT NULL DEFAULT '[]',
    email        TEXT NOT NULL DEFAULT '',
    is_primary   BOOLEAN NOT NULL DEFAULT FALSE,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX contacts_customer_idx ON contacts (customer_id);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY,
    code             TEXT NOT NULL,
    name             TEXT NOT NULL,
    model            TEXT NOT NULL DEFAULT '',
    warranty_months  INTEGER NOT NULL DEFAULT 12,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT products_code_key UNIQUE (code)
);

CREATE TABLE assets (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    product_id    INTEGER NOT NULL REFERENCES products(id),
    serial        TEXT NOT NULL,
    ship_date     TEXT,
    warranty_end  TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT assets_product_id_serial_key UNIQUE (product_id, serial)
);
CREATE INDEX assets_customer_idx ON assets (customer_id);
CREATE INDEX assets_serial_idx ON assets (serial);

CREATE TABLE contracts (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL,
    customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    signed_on     TEXT NOT NULL,
    value_fen     INTEGER NOT NULL DEFAULT 0,
    completed_on  TEXT,
    status        TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT contracts_number_key UNIQUE (number)
);
CREATE INDEX contracts_customer_idx ON contracts (customer_id);

CREATE TABLE communications (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    contact_id         INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    occurred_at        TEXT NOT NULL,
    channel            TEXT NOT NULL,
    direction          TEXT NOT NULL,
    stage              TEXT NOT NULL,
    subject            TEXT NOT NULL,
    content            TEXT NOT NULL DEFAULT '',
    staff_id           INTEGER REFERENCES users(id),
    follow_up          BOOLEAN NOT NULL DEFAULT FALSE,
    follow_up_due      TEXT,
    follow_up_done_at  TEXT,
    case_id            INTEGER,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX communications_customer_idx ON communications (customer_id, occurred_at);
CREATE INDEX communications_follow_up_idx ON communications (staff_id, follow_up, follow_up_done_at);

-- Per-row error reports of rejected imports, kept so they can be downloaded.
CREATE TABLE import_reports (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    errors      TEXT NOT NULL
);

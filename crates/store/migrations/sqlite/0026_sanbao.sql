-- Issue #19 item 4: 三包 policies per product (the limits of 《部分商品修理更换退货责任规定》 as
-- data) and each asset's 三包 history (repairs and exchanges, days in repair and waiting for parts),
-- which domain::sanbao reads to decide the remedies.
CREATE TABLE warranty_policies (
    product_id         INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    unit_months        INTEGER NOT NULL,
    main_parts_months  INTEGER,
    return_days        INTEGER NOT NULL DEFAULT 7,
    exchange_days      INTEGER NOT NULL DEFAULT 15,
    repair_limit       INTEGER NOT NULL DEFAULT 2,
    no_parts_days      INTEGER NOT NULL DEFAULT 90,
    repair_delay_days  INTEGER NOT NULL DEFAULT 30,
    version            INTEGER NOT NULL DEFAULT 1,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (product_id)
);

CREATE TABLE asset_warranty_events (
    id                  INTEGER PRIMARY KEY,
    asset_id            INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL,
    event_date          TEXT NOT NULL,
    days_in_repair      INTEGER NOT NULL DEFAULT 0,
    waiting_parts_days  INTEGER NOT NULL DEFAULT 0,
    service_order_id    INTEGER,
    created_by          INTEGER REFERENCES users(id),
    created_at          TEXT NOT NULL
);
CREATE INDEX asset_warranty_events_asset_idx ON asset_warranty_events (asset_id, event_date);

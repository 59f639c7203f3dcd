-- The case category tree (问题类别), seeded with the spec's categories; organisations extend it.
CREATE TABLE case_categories (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES case_categories(id),
    zh          TEXT NOT NULL,
    en          TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT case_categories_code_key UNIQUE (code)
);
INSERT INTO case_categories (code, parent_id, zh, en) VALUES
    ('product_quality', NULL, '产品质量', 'Product quality'),
    ('service_attitude', NULL, '服务态度', 'Service attitude'),
    ('timeliness', NULL, '及时性', 'Timeliness'),
    ('delivery', NULL, '交付', 'Delivery'),
    ('packaging', NULL, '包装', 'Packaging'),
    ('price', NULL, '价格', 'Price'),
    ('documentation', NULL, '文件资料', 'Documentation'),
    ('rohs_hsf', NULL, '环保（RoHS/HSF）', 'RoHS / HSF compliance'),
    ('other', NULL, '其他', 'Other');
INSERT INTO case_categories (code, parent_id, zh, en)
    SELECT 'appearance', id, '外观', 'Appearance' FROM case_categories WHERE code = 'product_quality';
INSERT INTO case_categories (code, parent_id, zh, en)
    SELECT 'function', id, '功能/性能', 'Function and performance' FROM case_categories WHERE code = 'product_quality';
INSERT INTO case_categories (code, parent_id, zh, en)
    SELECT 'reliability', id, '可靠性', 'Reliability' FROM case_categories WHERE code = 'product_quality';

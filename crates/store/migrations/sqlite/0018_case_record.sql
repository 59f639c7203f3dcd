-- Grievance categories (员工意见/申诉, 004-A): an opinion, a complaint about a person, an appeal
-- against a decision, under their own top-level category.
INSERT INTO case_categories (code, parent_id, zh, en) VALUES ('grievance', NULL, '员工意见/申诉', 'Employee grievance');
INSERT INTO case_categories (code, parent_id, zh, en)
    SELECT 'grievance_opinion', id, '意见建议', 'Opinion or suggestion' FROM case_categories WHERE code = 'grievance';
INSERT INTO case_categories (code, parent_id, zh, en)
    SELECT 'grievance_person', id, '对人员的投诉', 'Complaint about a person' FROM case_categories WHERE code = 'grievance';
INSERT INTO case_categories (code, parent_id, zh, en)
    SELECT 'grievance_appeal', id, '对处理决定的申诉', 'Appeal against a decision' FROM case_categories WHERE code = 'grievance';

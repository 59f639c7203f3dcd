-- Issue #14 item 8: a department task (信息传递单) can wait for the customer-service manager's
-- review before it goes out. review_state: 'none' (no review asked), 'pending', 'approved',
-- 'refused' (sent back with review_note). Only 'none' and 'approved' tasks reach the department.
ALTER TABLE case_tasks ADD COLUMN review_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE case_tasks ADD COLUMN review_note TEXT NOT NULL DEFAULT '';
ALTER TABLE case_tasks ADD COLUMN reviewed_by INTEGER REFERENCES users(id);

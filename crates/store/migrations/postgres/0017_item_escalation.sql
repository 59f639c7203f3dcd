-- Issue #14 item 6: the scheduler watches department tasks (信息传递单) and meeting action items
-- like clocks. How far each has been escalated: 0 nothing sent, 1 warned on its due day,
-- 2 overdue (told its department head / its owner), 3 escalated to the case owner.
ALTER TABLE case_tasks ADD COLUMN escalation_level BIGINT NOT NULL DEFAULT 0;
ALTER TABLE meeting_actions ADD COLUMN escalation_level BIGINT NOT NULL DEFAULT 0;
CREATE INDEX case_tasks_open_due_idx ON case_tasks (due_date) WHERE answered_at IS NULL;
CREATE INDEX meeting_actions_open_due_idx ON meeting_actions (due_date) WHERE done_at IS NULL;

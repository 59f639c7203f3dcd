-- Send budgets per destination (issue #15): the sends granted in each one-minute window, shared
-- by every node, so a robot's rate limit (20/min WeCom and DingTalk, 100/min Feishu) holds for
-- the whole cluster. A backlog over the budget is merged into one digest message.

CREATE TABLE notify_budgets (
    destination_id  INTEGER NOT NULL REFERENCES notify_destinations(id) ON DELETE CASCADE,
    window_start    TEXT NOT NULL,
    used            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (destination_id, window_start)
);

//! Dated work items the scheduler watches (issue #14 item 6): open department tasks (信息传递单)
//! and meeting action items whose due date has come, and the level each has been escalated to.

use chrono::NaiveDate;

use crate::Conn;
use crate::conn::on;
use crate::error::{StoreResult, map_err};

/// An open task or action item due on or before the day asked about.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueItem {
    /// `task` or `meeting_action`.
    pub kind: String,
    pub id: i64,
    pub case_id: i64,
    pub due_date: NaiveDate,
    pub escalation_level: i64,
    /// The task's department (tasks only).
    pub department_id: Option<i64>,
    /// The action item's owner (action items only).
    pub owner_id: Option<i64>,
    pub description: String,
}

/// Open items due on or before `today` not yet escalated to `max_level`, oldest first.
pub async fn open_items_due(
    c: &mut Conn<'_>,
    today: NaiveDate,
    max_level: i64,
    limit: i64,
) -> StoreResult<Vec<DueItem>> {
    on!(c, e => sqlx::query_as(
        "SELECT 'task' AS kind, id, case_id, due_date, escalation_level, department_id, NULL AS owner_id,
                question AS description
           FROM case_tasks WHERE answered_at IS NULL AND due_date <= $1 AND escalation_level < $2
                AND review_state IN ('none', 'approved')
         UNION ALL
         SELECT 'meeting_action' AS kind, id, case_id, due_date, escalation_level, NULL AS department_id, owner_id,
                description
           FROM meeting_actions WHERE done_at IS NULL AND due_date <= $1 AND escalation_level < $2
         ORDER BY due_date, kind, id LIMIT $3")
        .bind(today)
        .bind(max_level)
        .bind(limit)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// Moves an item from level `from` to `to`; false when another pass (or an answer) got there first.
pub async fn raise_level(c: &mut Conn<'_>, kind: &str, id: i64, from: i64, to: i64) -> StoreResult<bool> {
    let sql_task =
        "UPDATE case_tasks SET escalation_level = $1 WHERE id = $2 AND escalation_level = $3 AND answered_at IS NULL";
    let sql_action =
        "UPDATE meeting_actions SET escalation_level = $1 WHERE id = $2 AND escalation_level = $3 AND done_at IS NULL";
    let sql = if kind == "task" { sql_task } else { sql_action };
    let n = on!(c, e => sqlx::query(sql).bind(to).bind(id).bind(from).execute(e).await.map(|r| r.rows_affected()).map_err(map_err))?;
    Ok(n == 1)
}

/// Of the cases `case_ids` (one page of a list), those with an open task or action item whose due
/// date is before `today`: one query for the whole page, read from the `case_id` indexes.
pub async fn cases_with_overdue_items(c: &mut Conn<'_>, case_ids: &[i64], today: NaiveDate) -> StoreResult<Vec<i64>> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers, written into the statement as such.
    let list = case_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    on!(c, e => sqlx::query_scalar(crate::conn::sql!(
        "SELECT case_id FROM case_tasks WHERE case_id IN ({list}) AND answered_at IS NULL AND due_date < $1
           AND review_state IN ('none', 'approved')
         UNION
         SELECT case_id FROM meeting_actions WHERE case_id IN ({list}) AND done_at IS NULL AND due_date < $1"
    ))
    .bind(today)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

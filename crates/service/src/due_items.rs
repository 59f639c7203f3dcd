//! The scheduler's watch on dated work items (issue #14 item 6): open department tasks
//! (信息传递单) and meeting action items warn on their due day, then go to the task's department
//! head (or the action's owner) when overdue, then to the case owner — each step once, recorded on
//! the case timeline and sent to the inbox, like a clock's steps.

use loopdesk_domain::access::{Actor, Role};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::sla::{DATED_ITEM_MAX_LEVEL, customer_deadline_at, dated_item_level};
use loopdesk_store::cases::{self as ks, NewEvent};
use loopdesk_store::due_items::{self as di, DueItem};
use loopdesk_store::escalation as es;
use loopdesk_store::{Tx, org};

use crate::{Service, ServiceResult};

const BATCH: i64 = 200;

impl Service {
    /// Which of `cases` (a page the actor has just listed, so already in their scope) have an open
    /// department task or meeting action item past its due date in the organisation's zone: the
    /// list's "overdue item" marker, one query per page.
    pub async fn cases_with_overdue_items(
        &self,
        actor: &Actor,
        cases: &[loopdesk_store::cases::Case],
    ) -> ServiceResult<std::collections::BTreeSet<i64>> {
        actor.require(loopdesk_domain::access::Permission::ReadCases)?;
        let today = self.now().with_timezone(&self.settings.timezone).date_naive();
        let ids: Vec<i64> = cases.iter().map(|k| k.id).collect();
        let mut h = self.store.read().await?;
        Ok(di::cases_with_overdue_items(&mut h.conn(), &ids, today).await?.into_iter().collect())
    }

    /// One pass over the dated items; returns the number of steps recorded.
    pub async fn run_item_escalations(&self) -> ServiceResult<usize> {
        let now = self.now();
        let tz = self.settings.timezone;
        let today = now.with_timezone(&tz).date_naive();
        let mut steps = 0;
        loop {
            let mut tx = self.store.begin().await?;
            let items = di::open_items_due(&mut tx.conn(), today, i64::from(DATED_ITEM_MAX_LEVEL), BATCH).await?;
            let n = items.len();
            let mut raised = 0;
            for item in items {
                let level = i64::from(dated_item_level(item.due_date, today));
                if level <= item.escalation_level {
                    continue;
                }
                if !di::raise_level(&mut tx.conn(), &item.kind, item.id, item.escalation_level, level).await? {
                    continue;
                }
                raised += 1;
                steps += record_step(self, &mut tx, &item, level, tz, now).await?;
            }
            tx.commit().await?;
            // Items whose level did not move stay in the next query; stop when nothing moved.
            if n < BATCH as usize || raised == 0 {
                return Ok(steps);
            }
        }
    }
}

/// Whoever must act on the item: the heads of the task's department, or the action item's owner.
async fn responsible(tx: &mut Tx, item: &DueItem) -> ServiceResult<Vec<i64>> {
    Ok(match (item.department_id, item.owner_id) {
        (Some(d), _) => {
            org::users_with_role(&mut tx.conn(), Role::DeptHead, Some(d)).await?.iter().map(|u| u.id).collect()
        }
        (None, Some(owner)) => vec![owner],
        (None, None) => vec![],
    })
}

async fn record_step(
    svc: &Service,
    tx: &mut Tx,
    item: &DueItem,
    level: i64,
    tz: chrono_tz::Tz,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<usize> {
    let k = ks::case(&mut tx.conn(), item.case_id).await?;
    let (kind, to) = match level {
        1 => ("item_warning", "responsible"),
        2 => ("item_overdue", "responsible"),
        _ => ("item_escalated", "owner"),
    };
    let mut users = if to == "owner" { k.owner_id.into_iter().collect() } else { responsible(tx, item).await? };
    if users.is_empty() {
        // Nobody to tell at this step: the case owner, then the lead department's heads, then admins.
        users = k.owner_id.into_iter().collect();
    }
    if users.is_empty()
        && let Some(d) = k.lead_department_id
    {
        users = org::users_with_role(&mut tx.conn(), Role::DeptHead, Some(d)).await?.iter().map(|u| u.id).collect();
    }
    if users.is_empty() {
        users = org::users_with_role(&mut tx.conn(), Role::Admin, None).await?.iter().map(|u| u.id).collect();
    }
    let params = serde_json::json!({
        "clock": item.kind,
        "item_id": item.id,
        "level": level,
        "to": if to == "owner" { "owner" } else { "dept_head" },
        "due_at": customer_deadline_at(item.due_date, tz),
        "due_date": item.due_date,
        "description": item.description,
        "number": k.number,
        "subject": k.subject,
    })
    .to_string();
    ks::insert_event(
        &mut tx.conn(),
        &NewEvent {
            case_id: k.id,
            actor_id: None,
            actor: "system",
            kind,
            fields: params.clone(),
            body: &item.description,
            public: false,
            ..Default::default()
        },
    )
    .await?;
    for &user in &users {
        es::insert_inbox(&mut tx.conn(), user, Some(k.id), kind, &params, now).await?;
    }
    // The same step by mail (issue #15), once per item, level and person.
    let fact = format!("item:{}:{}:{kind}:{level}", item.kind, item.id);
    svc.mail_alert(tx, &users, &k, kind, fact, &item.description, &item.due_date.to_string()).await?;
    let before = serde_json::json!({ "escalation_level": item.escalation_level });
    let after = serde_json::json!({ "escalation_level": level });
    let entity = if item.kind == "task" { "case_task" } else { "meeting_action" };
    tx.audit(&Actor::system(), AuditAction::Update, entity, item.id, Some(&before), Some(&after)).await?;
    Ok(1)
}

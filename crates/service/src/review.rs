//! The customer-service manager's reviews (issue #14 item 8, seed 004 6.1): when a case type's
//! process definition asks for it (`[review] tasks = true`), a department task (信息传递单) is
//! created awaiting review and only goes out to its department — visible, answerable, watched by
//! the scheduler, its department told — once the head of a customer-service department (or an
//! administrator) approves it. A refusal, with its reason, sends it back to the case's handlers.
//!
//! Likewise (`[review] not_responsible = true`) a finding "not the company's responsibility" holds
//! the case — no further step may be taken — until the manager confirms it; a refusal puts the case
//! back in the state it was assessed from, the responsibility undetermined, to be assessed again.

use std::collections::BTreeMap;

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::org::required_text;
use loopdesk_domain::process::may_review;
use loopdesk_store::cases::{self as ks, CaseTask, NewEvent};
use loopdesk_store::{Conn, org};

use crate::error::StoreResultExt;
use crate::scope::readable;
use crate::{Service, ServiceResult};

/// The case field (in `cases.fields`) holding the not-responsible review: `pending`, `approved`
/// or `refused`.
pub const RESPONSIBILITY_REVIEW: &str = "responsibility_review";
/// The state the reviewed finding was taken from (a refusal returns there).
pub const RESPONSIBILITY_REVIEW_FROM: &str = "responsibility_review_from";

/// Whether `actor` is the customer-service manager (or an administrator).
pub(crate) async fn reviewer(c: &mut Conn<'_>, actor: &Actor) -> ServiceResult<bool> {
    let kind = match actor.department_id {
        Some(d) => org::department(c, d).await.ok().map(|d| d.kind),
        None => None,
    };
    Ok(may_review(&actor.roles, kind.as_deref()))
}

impl Service {
    /// Whether `actor` may take the customer-service manager's reviews (the case page's forms).
    pub async fn is_reviewer(&self, actor: &Actor) -> ServiceResult<bool> {
        let mut h = self.store.read().await?;
        reviewer(&mut h.conn(), actor).await
    }

    /// The customer-service manager approves a task awaiting review (it goes out to its
    /// department) or refuses it with `reason` (it goes back; a new task may be written).
    pub async fn review_task(
        &self,
        actor: &Actor,
        task_id: i64,
        version: i64,
        approve: bool,
        reason: &str,
    ) -> ServiceResult<CaseTask> {
        actor.require(Permission::WriteCases)?;
        let reason = if approve { reason.trim().to_owned() } else { required_text("reason", reason, 4000)? };
        if reason.chars().count() > 4000 {
            return Err(DomainError::invalid("reason", "errors.must_at_most_4000_characters").into());
        }
        let mut tx = self.store.begin().await?;
        let before = ks::task(&mut tx.conn(), task_id).await.entity("task")?;
        let k = ks::case(&mut tx.conn(), before.case_id).await.entity("case")?;
        readable(&mut tx.conn(), actor, &k).await.map_err(|_| DomainError::NotFound { entity: "task" })?;
        if !reviewer(&mut tx.conn(), actor).await? {
            return Err(DomainError::forbidden("errors.only_customer_service_manager_reviews").into());
        }
        if before.review_state != "pending" {
            return Err(DomainError::Conflict { reason: "errors.task_not_awaiting_review".into(), field: None }.into());
        }
        let state = if approve { "approved" } else { "refused" };
        let after =
            ks::review_task(&mut tx.conn(), task_id, version, state, &reason, actor.user_id).await.entity("task")?;
        let d = org::department(&mut tx.conn(), after.department_id).await.entity("department")?;
        let body = if approve {
            format!("{} → {}: {}", d.name, after.due_date, after.question)
        } else {
            format!("{} → {}: {}\n{reason}", d.name, after.due_date, after.question)
        };
        let ev = NewEvent {
            case_id: after.case_id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: if approve { "task_review_approved" } else { "task_review_refused" },
            body: &body,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        if approve {
            self.tell_task_sent(&mut tx, &k, after.id, &d, &after.question, &after.due_date.to_string()).await?;
        }
        tx.audit(actor, AuditAction::Update, "case_task", task_id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        if approve {
            self.outbox_woken();
        }
        Ok(after)
    }

    /// The customer-service manager confirms (`approve`) a "not the company's responsibility"
    /// finding, letting the case move on, or refuses it with `reason`: the case goes back to the
    /// state it was assessed from with the responsibility undetermined.
    pub async fn review_responsibility(
        &self,
        actor: &Actor,
        case_id: i64,
        version: i64,
        approve: bool,
        reason: &str,
    ) -> ServiceResult<loopdesk_store::cases::Case> {
        actor.require(Permission::WriteCases)?;
        let reason = if approve { reason.trim().to_owned() } else { required_text("reason", reason, 4000)? };
        if reason.chars().count() > 4000 {
            return Err(DomainError::invalid("reason", "errors.must_at_most_4000_characters").into());
        }
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), case_id).await.entity("case")?;
        readable(&mut tx.conn(), actor, &k).await.map_err(|_| DomainError::NotFound { entity: "case" })?;
        if !reviewer(&mut tx.conn(), actor).await? {
            return Err(DomainError::forbidden("errors.only_customer_service_manager_reviews_2").into());
        }
        let mut extra: BTreeMap<String, String> = serde_json::from_str(&k.fields).unwrap_or_default();
        if extra.get(RESPONSIBILITY_REVIEW).is_none_or(|v| v != "pending") {
            return Err(DomainError::Conflict {
                reason: "errors.no_not_responsible_finding_awaits".into(),
                field: Some("responsibility_review"),
            }
            .into());
        }
        if k.version != version {
            return Err(DomainError::stale("case").into());
        }
        let before = k.clone();
        let mut after = k;
        if approve {
            extra.insert(RESPONSIBILITY_REVIEW.into(), "approved".into());
        } else {
            extra.insert(RESPONSIBILITY_REVIEW.into(), "refused".into());
            if let Some(from) = extra.get(RESPONSIBILITY_REVIEW_FROM) {
                after.state = from.clone();
            }
            after.responsibility = "undetermined".into();
        }
        extra.remove(RESPONSIBILITY_REVIEW_FROM);
        after.fields = serde_json::to_string(&extra).map_err(|e| crate::ServiceError::Internal(e.to_string()))?;
        let saved = ks::update_case(&mut tx.conn(), &after, version).await.entity("case")?;
        let ev = NewEvent {
            case_id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: if approve { "responsibility_review_approved" } else { "responsibility_review_refused" },
            from_state: &before.state,
            to_state: &saved.state,
            body: &reason,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Update, "case", case_id, Some(&before), Some(&saved)).await?;
        tx.commit().await?;
        Ok(saved)
    }
}

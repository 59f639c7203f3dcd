//! Follow-up visits (回访, issue #20 item 7). Every closed complaint and every completed service
//! request gets a visit due within one month (001 4.2.3), whether or not the customer formally
//! accepted; it carries a `follow_up` clock on its case. The outcome — done with a rating on the
//! 10/8/6/3/1 scale and free text, not reached, or refused — is shared with the lead
//! department's people through their inbox.
//!
//! [`open_visit`] is the one way a visit is created, inside the transaction that closes or
//! completes the record; cases call it from `apply_transition`, and the service-order module
//! calls it the same way with `source_kind = "service_order"` when an order is closed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::followup::{self as df, SOURCE_CASE};
use loopdesk_domain::process::{ClockAction, ProcessDefinition};
use loopdesk_domain::scope::{VisitAccess, VisitFacts, visit_access};
use loopdesk_domain::{DomainError, followup};
use loopdesk_store::cases::{self as ks, Case, NewEvent};
use loopdesk_store::followup::{self as fs, Filter, NewVisit, OutcomeFields, Visit, VisitView};
use loopdesk_store::{Tx, escalation as es, org, outbox as ob};

use crate::error::StoreResultExt;
use crate::{Service, ServiceResult};

/// The record a visit follows up.
pub struct VisitSource<'a> {
    /// `case` or `service_order`.
    pub kind: &'a str,
    pub id: i64,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub department_id: Option<i64>,
    /// Who makes the visit (the record's owner by default); reassignable.
    pub assignee_id: Option<i64>,
    pub subject: &'a str,
}

/// Opens the follow-up visit of `src`, due one month after `now` in the organisation's zone;
/// `None` when the record already has one. Call it inside the transaction that closes or
/// completes the record.
pub async fn open_visit(
    tx: &mut Tx,
    actor: &Actor,
    src: &VisitSource<'_>,
    now: DateTime<Utc>,
    tz: Tz,
) -> ServiceResult<Option<Visit>> {
    let due_on = df::due_on(now.with_timezone(&tz).date_naive());
    let new = NewVisit {
        source_kind: src.kind,
        source_id: src.id,
        case_id: src.case_id,
        customer_id: src.customer_id,
        department_id: src.department_id,
        assignee_id: src.assignee_id,
        subject: src.subject,
        due_on,
        at: now,
    };
    let Some(v) = fs::insert_if_missing(&mut tx.conn(), &new).await? else { return Ok(None) };
    tx.audit(actor, AuditAction::Create, "follow_up_visit", v.id, None::<&()>, Some(&v)).await?;
    Ok(Some(v))
}

/// What a case's step means for its follow-up visit (called by `apply_transition` after the
/// step is saved): a complaint reaching its follow-up step or closing, and a service request
/// completed or closed, get their visit; a step recording `follow_up_outcome` records it.
pub(crate) async fn on_case_step(
    tx: &mut Tx,
    actor: &Actor,
    k: &Case,
    fields: &BTreeMap<String, String>,
    now: DateTime<Utc>,
    tz: Tz,
) -> ServiceResult<()> {
    if !df::case_calls_for_visit(&k.case_type, &k.state) {
        return Ok(());
    }
    let rating = df::parse_rating(fields.get("follow_up_rating").map(String::as_str).unwrap_or(""))?;
    let src = VisitSource {
        kind: SOURCE_CASE,
        id: k.id,
        case_id: Some(k.id),
        customer_id: k.customer_id,
        department_id: k.lead_department_id,
        assignee_id: k.owner_id,
        subject: &k.subject,
    };
    open_visit(tx, actor, &src, now, tz).await?;
    let Some(text) = fields.get("follow_up_outcome").map(|t| t.trim()).filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    let Some(v) = fs::visit_of(&mut tx.conn(), SOURCE_CASE, k.id).await? else { return Ok(()) };
    if v.state != "open" {
        return Ok(());
    }
    if text.chars().count() > df::MAX_OUTCOME {
        return Err(DomainError::invalid(
            "follow_up_outcome",
            format!("followup.err.text_long|max={}", df::MAX_OUTCOME),
        )
        .into());
    }
    let o = df::Outcome { state: "done".into(), rating, text: text.to_owned() };
    record_in_tx(tx, actor, &v, &o, Some(k), now).await?;
    Ok(())
}

/// Writes an outcome, puts it on the case's timeline and in the lead department's inboxes.
async fn record_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    v: &Visit,
    o: &df::Outcome,
    k: Option<&Case>,
    now: DateTime<Utc>,
) -> ServiceResult<Visit> {
    let fields = OutcomeFields { state: &o.state, rating: o.rating, outcome: &o.text, done_by: actor.user_id, at: now };
    let after = fs::record(&mut tx.conn(), v.id, v.version, &fields).await.entity("follow-up visit")?;
    tx.audit(actor, AuditAction::Update, "follow_up_visit", v.id, Some(v), Some(&after)).await?;
    let number = k.map(|k| k.number.clone()).unwrap_or_default();
    if let Some(case_id) = after.case_id {
        let body = match o.rating {
            Some(r) => format!("{} ({r}): {}", o.state, o.text),
            None => format!("{}: {}", o.state, o.text),
        };
        let ev = NewEvent {
            case_id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "follow_up_recorded",
            body: &body,
            fields: serde_json::json!({ "visit": after.id, "outcome": o.state, "rating": o.rating }).to_string(),
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
    }
    if let Some(d) = after.department_id {
        let params = serde_json::json!({
            "number": number,
            "subject": after.subject,
            "outcome": o.state,
            "rating": o.rating.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
        })
        .to_string();
        for (uid, ..) in ob::department_people(&mut tx.conn(), d).await? {
            es::insert_inbox(&mut tx.conn(), uid, after.case_id, "follow_up_recorded", &params, now).await?;
        }
    }
    Ok(after)
}

/// An outcome as typed: `done` (rating and text), `not_reached` or `refused`.
#[derive(Debug, Clone, Default)]
pub struct OutcomeInput {
    pub outcome: String,
    pub rating: Option<i64>,
    pub text: String,
}

fn facts(v: &Visit) -> VisitFacts {
    VisitFacts { department: v.department_id, assignee: v.assignee_id }
}

fn hidden() -> crate::ServiceError {
    DomainError::NotFound { entity: "follow-up visit" }.into()
}

impl Service {
    /// Visits the actor may see, soonest due first (at most 500).
    pub async fn follow_up_visits(&self, actor: &Actor, f: &Filter) -> ServiceResult<Vec<VisitView>> {
        actor.require(Permission::ReadCases)?;
        if let Some(s) = &f.state
            && !df::STATES.contains(&s.as_str())
        {
            return Err(DomainError::invalid("state", "followup.err.state").into());
        }
        let mut h = self.store.read().await?;
        let rows = fs::list(&mut h.conn(), f, 500).await?;
        Ok(rows.into_iter().filter(|r| visit_access(actor, &facts(&r.visit)) != VisitAccess::Hidden).collect())
    }

    pub async fn follow_up_visit(&self, actor: &Actor, id: i64) -> ServiceResult<VisitView> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        let f = Filter::default();
        let v = fs::visit(&mut h.conn(), id).await.entity("follow-up visit")?;
        if visit_access(actor, &facts(&v)) == VisitAccess::Hidden {
            return Err(hidden());
        }
        let rows = fs::list(&mut h.conn(), &Filter { case_id: v.case_id, ..f }, 500).await?;
        rows.into_iter().find(|r| r.visit.id == id).ok_or_else(hidden)
    }

    /// Records the outcome of an open visit: stops its case's `follow_up` clock, and closes a
    /// complaint waiting in its follow-up step when the actor may take that step.
    pub async fn record_follow_up_visit(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        i: &OutcomeInput,
    ) -> ServiceResult<Visit> {
        actor.require(Permission::ReadCases)?;
        let o = followup::parse_outcome(&i.outcome, i.rating, &i.text)?;
        let now = crate::cases::micros(self.now());
        let tz = self.settings.timezone;
        let mut tx = self.store.begin().await?;
        let v = fs::visit(&mut tx.conn(), id).await.entity("follow-up visit")?;
        match visit_access(actor, &facts(&v)) {
            VisitAccess::Hidden => return Err(hidden()),
            VisitAccess::Reader => {
                return Err(DomainError::forbidden("followup.err.not_yours").into());
            }
            VisitAccess::Visitor => {}
        }
        if v.version != version {
            return Err(DomainError::stale("follow-up visit").into());
        }
        if v.state != "open" {
            return Err(DomainError::Conflict {
                reason: "followup.err.already_recorded".into(),
                field: Some("outcome"),
            }
            .into());
        }
        let case = match v.case_id {
            Some(cid) => Some(ks::case(&mut tx.conn(), cid).await.entity("case")?),
            None => None,
        };
        let after = record_in_tx(&mut tx, actor, &v, &o, case.as_ref(), now).await?;
        if let Some(k) = case {
            crate::cases::apply_clock_effects(&mut tx, &k, &[("follow_up".into(), ClockAction::Stop)], now, tz).await?;
            let def = crate::cases::definition_of(&mut tx.conn(), &k).await?;
            if k.state == "follow_up"
                && let Some(t) = def.transition("record_follow_up")
                && ProcessDefinition::allows(t, &actor.roles)
                && t.from.contains(&k.state)
            {
                let mut fields = BTreeMap::new();
                let text = if o.text.is_empty() { o.state.clone() } else { o.text.clone() };
                fields.insert("follow_up_outcome".to_owned(), text);
                if let Some(r) = o.rating {
                    fields.insert("follow_up_rating".to_owned(), r.to_string());
                }
                let version = k.version;
                crate::cases::apply_transition(
                    &mut tx,
                    actor,
                    k,
                    "record_follow_up",
                    version,
                    &fields,
                    self.how(false),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Assigns a visit to a person of any department (001 4.5); `None` leaves it unassigned.
    pub async fn assign_follow_up_visit(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        username: Option<&str>,
    ) -> ServiceResult<Visit> {
        actor.require(Permission::WriteCases)?;
        let now = crate::cases::micros(self.now());
        let mut tx = self.store.begin().await?;
        let v = fs::visit(&mut tx.conn(), id).await.entity("follow-up visit")?;
        if visit_access(actor, &facts(&v)) != VisitAccess::Visitor {
            return Err(hidden());
        }
        let assignee = match username.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => Some(
                org::user_for_login(&mut tx.conn(), &u.to_lowercase())
                    .await
                    .map_err(|_| DomainError::invalid("assignee", format!("followup.err.no_user|name={u}")))?
                    .0
                    .id,
            ),
        };
        let after = fs::assign(&mut tx.conn(), id, version, assignee, now).await.entity("follow-up visit")?;
        tx.audit(actor, AuditAction::Update, "follow_up_visit", id, Some(&v), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }
}

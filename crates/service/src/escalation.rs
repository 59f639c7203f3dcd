//! Service-level escalation (spec C5): the stored clock policies, the scheduler pass that records
//! warnings, breaches and chain steps exactly once, the in-app inbox those steps notify, and the
//! monthly service-level report.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Role, Scope};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::page::{Page, Paged};
use loopdesk_domain::sla::{Alert, Escalee, PolicySet, Watch};
use loopdesk_store::cases::{self as ks, NewEvent};
use loopdesk_store::escalation::{self as es, InboxItem};
use loopdesk_store::{StoreError, Tx, calendars, org};
use serde::Serialize;

use crate::cases::to_clock;
use crate::{Service, ServiceError, ServiceResult};

/// The reply-timeliness target of the seeds (回复及时率 ≥ 95%).
pub const REPLY_TARGET_PCT: f64 = 95.0;

/// Clocks one scheduler transaction takes at most.
const BATCH: i64 = 200;

/// The policy set in force: the newest stored one, else the shipped defaults.
pub(crate) async fn current_policies(tx: &mut Tx) -> ServiceResult<PolicySet> {
    match es::latest_policy_set(&mut tx.conn()).await? {
        Some((_, spec, _)) => {
            serde_json::from_str(&spec).map_err(|e| ServiceError::Internal(format!("stored clock policies: {e}")))
        }
        None => Ok(PolicySet::default()),
    }
}

/// The stored policy set and when it was saved (`None`: the shipped defaults apply).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRecord {
    pub saved_at: Option<DateTime<Utc>>,
    pub set: PolicySet,
}

/// One row of the service-level report: clocks due in a month, for one lead department.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SlaRow {
    pub month: u32,
    pub department_id: Option<i64>,
    /// Clocks due in the month.
    pub due: i64,
    /// Stopped in time.
    pub met: i64,
    /// Past their due time (stopped late, or still open and overdue).
    pub breached: i64,
    /// Still open and not yet late.
    pub open: i64,
    /// First replies given in time, and first replies settled (in time or late).
    pub replies_met: i64,
    pub replies_settled: i64,
}

impl SlaRow {
    /// 回复及时率: first replies in time over first replies settled; `None` when none were due.
    pub fn reply_rate_pct(&self) -> Option<f64> {
        (self.replies_settled > 0).then(|| 100.0 * self.replies_met as f64 / self.replies_settled as f64)
    }

    pub fn meets_target(&self) -> Option<bool> {
        self.reply_rate_pct().map(|r| r >= REPLY_TARGET_PCT)
    }

    fn add(&mut self, o: &es::ClockOutcome) {
        self.due += o.n;
        let settled = matches!(o.state.as_str(), "met" | "missed") || o.breached;
        if o.breached || o.state == "missed" {
            self.breached += o.n;
        } else if o.state == "met" {
            self.met += o.n;
        } else {
            self.open += o.n;
        }
        if o.name == "first_reply" && settled {
            self.replies_settled += o.n;
            if o.state == "met" && !o.breached {
                self.replies_met += o.n;
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SlaReport {
    pub year: i32,
    pub target_pct: f64,
    /// Per month and department, months in order; only months and departments with clocks.
    pub rows: Vec<SlaRow>,
    /// Per month over all departments the reader may see (index 0 = January).
    pub months: Vec<SlaRow>,
    pub total: SlaRow,
}

impl Service {
    pub async fn clock_policies(&self, actor: &Actor) -> ServiceResult<PolicyRecord> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        match es::latest_policy_set(&mut h.conn()).await? {
            Some((_, spec, at)) => Ok(PolicyRecord {
                saved_at: Some(at),
                set: serde_json::from_str(&spec)
                    .map_err(|e| ServiceError::Internal(format!("stored clock policies: {e}")))?,
            }),
            None => Ok(PolicyRecord { saved_at: None, set: PolicySet::default() }),
        }
    }

    /// Saves a new policy set. Clocks already running keep the targets they started with.
    pub async fn put_clock_policies(&self, actor: &Actor, set: PolicySet) -> ServiceResult<PolicyRecord> {
        actor.require(Permission::ManageSettings)?;
        let mut tx = self.store.begin().await?;
        let known: BTreeSet<String> = calendars::list(&mut tx.conn()).await?.into_iter().map(|c| c.code).collect();
        set.validate(|code| known.contains(code) || code == "24X7" || code == "OFFICE")?;
        let before = current_policies(&mut tx).await?;
        let spec = serde_json::to_string(&set).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let id = es::insert_policy_set(&mut tx.conn(), &spec, now, actor.user_id).await?;
        tx.audit(actor, AuditAction::Update, "clock_policies", id, Some(&before), Some(&set)).await?;
        tx.commit().await?;
        self.rules_changed();
        Ok(PolicyRecord { saved_at: Some(now), set })
    }

    /// One scheduler pass: every running clock whose next look has come is reviewed, and what fell
    /// due (warning, breach, chain steps) is recorded on the case timeline and sent to the inbox of
    /// whoever the step names, in the same transaction as the clock's new state. On PostgreSQL,
    /// passes of several server processes take disjoint clocks; each step is recorded once.
    /// Returns the number of alerts recorded.
    pub async fn run_escalations(&self) -> ServiceResult<usize> {
        let mut alerts = 0;
        loop {
            let now = self.now();
            let mut tx = self.store.begin().await?;
            let set = current_policies(&mut tx).await?;
            let rows = es::claim_due_clocks(&mut tx.conn(), now, BATCH).await?;
            let n = rows.len();
            for row in rows {
                alerts += review_clock(self, &mut tx, &set, row, now).await?;
            }
            tx.commit().await?;
            if n < BATCH as usize {
                // Department tasks and meeting action items are watched by the same pass.
                return Ok(alerts + self.run_item_escalations().await?);
            }
        }
    }

    pub async fn inbox(&self, actor: &Actor, unread_only: bool, page: Page) -> ServiceResult<Paged<InboxItem>> {
        let user = actor.user_id.ok_or_else(|| DomainError::forbidden("errors.only_users_have_inbox"))?;
        let mut h = self.store.read().await?;
        let mut p = es::inbox(&mut h.conn(), user, unread_only, page).await?;
        // An item about a case the reader may no longer see is not shown (nor counted on this page).
        let mut shown = Vec::with_capacity(p.items.len());
        for item in std::mem::take(&mut p.items) {
            if self.inbox_item_visible(&mut h.conn(), actor, &item).await? {
                shown.push(item);
            } else {
                p.total -= 1;
            }
        }
        p.items = shown;
        Ok(p)
    }

    async fn inbox_item_visible(
        &self,
        c: &mut loopdesk_store::Conn<'_>,
        actor: &Actor,
        item: &InboxItem,
    ) -> ServiceResult<bool> {
        let Some(case_id) = item.case_id else { return Ok(true) };
        match ks::case(c, case_id).await {
            Ok(k) => Ok(crate::scope::access(c, actor, &k).await?.may_read()),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn unread_count(&self, actor: &Actor) -> ServiceResult<i64> {
        let Some(user) = actor.user_id else { return Ok(0) };
        let mut h = self.store.read().await?;
        let n = es::unread_count(&mut h.conn(), user).await?;
        if n == 0 {
            return Ok(0);
        }
        // Items about cases the reader may no longer see are not counted (the newest 500 unread
        // are checked; beyond that the stored count stands).
        let unread = es::inbox(&mut h.conn(), user, true, Page { page: 1, per_page: 500 }).await?;
        let mut hidden = 0;
        for item in &unread.items {
            if !self.inbox_item_visible(&mut h.conn(), actor, item).await? {
                hidden += 1;
            }
        }
        Ok(n - hidden)
    }

    /// Marks one inbox item, or all of them with `None`, read. Another user's item is not found.
    pub async fn mark_read(&self, actor: &Actor, id: Option<i64>) -> ServiceResult<u64> {
        let user = actor.user_id.ok_or_else(|| DomainError::forbidden("errors.only_users_have_inbox"))?;
        let mut tx = self.store.begin().await?;
        if let Some(id) = id {
            match es::inbox_item(&mut tx.conn(), id).await {
                Ok(item) if item.user_id == user && self.inbox_item_visible(&mut tx.conn(), actor, &item).await? => {}
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(DomainError::NotFound { entity: "inbox item" }.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        let n = es::mark_read(&mut tx.conn(), user, id, self.now()).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Clocks due per month of `year` (in the organisation's zone) and lead department: met,
    /// breached, open, and the reply-timeliness rate against its 95% target.
    pub async fn sla_report(&self, actor: &Actor, year: i32) -> ServiceResult<SlaReport> {
        actor.require(Permission::ReadReports)?;
        if !(2000..=2100).contains(&year) {
            return Err(DomainError::invalid("year", "errors.must_between_2000_2100").into());
        }
        let tz = self.settings.timezone;
        let start_of = |y: i32, m: u32| -> ServiceResult<DateTime<Utc>> {
            tz.with_ymd_and_hms(y, m, 1, 0, 0, 0)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| ServiceError::Internal(format!("no midnight on {y}-{m}-01")))
        };
        let mut h = self.store.read().await?;
        let mut rows: BTreeMap<(u32, Option<i64>), SlaRow> = BTreeMap::new();
        let mut months = vec![SlaRow::default(); 12];
        let mut total = SlaRow::default();
        for m in 1..=12u32 {
            let from = start_of(year, m)?;
            let to = if m == 12 { start_of(year + 1, 1)? } else { start_of(year, m + 1)? };
            for o in es::clock_outcomes(&mut h.conn(), from, to).await? {
                if actor.scope != Scope::All && !actor.scope.includes(o.department_id) {
                    continue;
                }
                rows.entry((m, o.department_id))
                    .or_insert_with(|| SlaRow { month: m, department_id: o.department_id, ..Default::default() })
                    .add(&o);
                months[(m - 1) as usize].add(&o);
                total.add(&o);
            }
        }
        for (i, r) in months.iter_mut().enumerate() {
            r.month = i as u32 + 1;
        }
        Ok(SlaReport { year, target_pct: REPLY_TARGET_PCT, rows: rows.into_values().collect(), months, total })
    }
}

/// Reviews one claimed clock; returns how many alerts it recorded.
async fn review_clock(
    svc: &Service,
    tx: &mut Tx,
    set: &PolicySet,
    row: ks::ClockRow,
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let mut clock = to_clock(&row)?;
    let mut watch = Watch { warned: row.warned, level: u8::try_from(row.escalation_level).unwrap_or(u8::MAX) };
    let alerts = clock.review(&mut watch, &set.escalation, now);
    let after = ks::ClockRow {
        breached_at: clock.breached_at,
        warned: watch.warned,
        escalation_level: i64::from(watch.level),
        next_check_at: clock.next_check(watch, &set.escalation),
        ..row.clone()
    };
    match es::save_review(&mut tx.conn(), &after).await {
        Ok(()) => {}
        // Changed under us (only possible if a writer bypassed the claim): leave it to the next pass.
        Err(StoreError::Stale) => return Ok(0),
        Err(e) => return Err(e.into()),
    }
    if alerts.is_empty() {
        return Ok(0);
    }
    let system = Actor::system();
    let k = ks::case(&mut tx.conn(), row.case_id).await?;
    for alert in &alerts {
        let (kind, level, to) = match *alert {
            Alert::Warning => ("clock_warning", 0, Escalee::Owner),
            Alert::Breach => ("clock_breached", 0, Escalee::Owner),
            Alert::Escalation { level, to } => ("clock_escalated", level, to),
        };
        let params = serde_json::json!({
            "clock": row.name,
            "level": level,
            "to": to.code(),
            "due_at": clock.due_at,
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
                public: false,
                ..Default::default()
            },
        )
        .await?;
        let users = recipients(tx, &k, to).await?;
        for &user in &users {
            es::insert_inbox(&mut tx.conn(), user, Some(k.id), kind, &params, now).await?;
        }
        // The same alert by mail (issue #15), once per clock, step and person.
        let fact = format!("clock:{}:{kind}:{level}:{}", row.id, clock.due_at.timestamp());
        let due = clock.due_at.with_timezone(&svc.settings.timezone).format("%Y-%m-%d %H:%M").to_string();
        svc.mail_alert(tx, &users, &k, kind, fact, &row.name, &due).await?;
    }
    tx.audit(&system, AuditAction::Update, "case_clock", row.id, Some(&row), Some(&after)).await?;
    Ok(alerts.len())
}

/// Who a step notifies. Nobody in the role falls through to the next link of the chain, so a
/// step is never recorded without someone being told.
async fn recipients(tx: &mut Tx, k: &ks::Case, to: Escalee) -> ServiceResult<Vec<i64>> {
    let chain = [Escalee::Owner, Escalee::DeptHead, Escalee::MgmtRep, Escalee::GmOffice];
    let from = chain.iter().position(|e| *e == to).unwrap_or(0);
    for step in &chain[from..] {
        let ids: Vec<i64> = match step {
            Escalee::Owner => k.owner_id.into_iter().collect(),
            Escalee::DeptHead => match k.lead_department_id {
                Some(d) => {
                    org::users_with_role(&mut tx.conn(), Role::DeptHead, Some(d)).await?.iter().map(|u| u.id).collect()
                }
                None => vec![],
            },
            Escalee::MgmtRep => {
                org::users_with_role(&mut tx.conn(), Role::MgmtRep, None).await?.iter().map(|u| u.id).collect()
            }
            Escalee::GmOffice => {
                org::users_with_role(&mut tx.conn(), Role::Gm, None).await?.iter().map(|u| u.id).collect()
            }
        };
        if !ids.is_empty() {
            return Ok(ids);
        }
    }
    // Nobody holds any role of the chain: tell the administrators.
    Ok(org::users_with_role(&mut tx.conn(), Role::Admin, None).await?.iter().map(|u| u.id).collect())
}

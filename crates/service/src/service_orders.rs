//! Service orders (售后服务报告单, issue #19 items 1-8): opened from a case or directly, scheduled
//! with a technician, visited (arrival, diagnosis, 三包 decision from `domain::sanbao`, paid-service
//! quote), given lines (parts with serials and fate, labour, travel, freight; every cost also a
//! monthly fact and every part a ledger line), completed, signed off by the customer and reported
//! on by the technician. Every step is a transition of the `service_order` process definition.

use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Role};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::sanbao::{self, Decision, EventKind, Fault, HistoryEvent, Policy, VoidReason};
use loopdesk_domain::scope::{ServiceOrderAccess, service_order_access, service_order_list_scope};
use loopdesk_domain::service_order::{self as so, DIAGNOSES, KINDS, LINE_KINDS, PRIORITIES};
use loopdesk_domain::spare_parts::{self as sp, FATES, MAX_FEN, PAYERS};
use loopdesk_store::service_orders::{self as st, AssetEvent, OrderFilter, OrderLine, ServiceOrder};
use loopdesk_store::spare_parts::{self as ss, NewLedgerEntry};
use loopdesk_store::{Conn, Tx, cases as ks, customers, escalation as es, org};
use serde::Deserialize;

use crate::error::StoreResultExt;
use crate::spare_parts::department_kind;
use crate::{Service, ServiceResult};

/// A new order as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    #[serde(default)]
    pub case_id: Option<i64>,
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub contact_id: Option<i64>,
    #[serde(default)]
    pub asset_id: Option<i64>,
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub serial: String,
    pub kind: String,
    #[serde(default = "normal")]
    pub priority: String,
    #[serde(default)]
    pub reported_fault: String,
    #[serde(default)]
    pub fault_task: String,
    #[serde(default)]
    pub requested_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub requested_to: Option<DateTime<Utc>>,
    /// The 48 h on-site clock runs (also set when the case says on-site service is needed).
    #[serde(default)]
    pub on_site: bool,
    #[serde(default)]
    pub invoice_date: Option<NaiveDate>,
}

fn normal() -> String {
    "normal".into()
}

/// What the technician finds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisInput {
    pub diagnosis: String,
    #[serde(default)]
    pub failure_code: String,
    #[serde(default)]
    pub cause_code: String,
    #[serde(default)]
    pub invoice_date: Option<NaiveDate>,
    #[serde(default)]
    pub main_part: bool,
    #[serde(default)]
    pub void: Vec<VoidReason>,
}

/// One line of an order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub part_code: String,
    #[serde(default = "one")]
    pub quantity: i64,
    /// Labour hours in tenths (15 = 1.5 h).
    #[serde(default)]
    pub hours_tenths: i64,
    #[serde(default)]
    pub faulty_serial: String,
    #[serde(default)]
    pub replacement_serial: String,
    #[serde(default)]
    pub fate: String,
    pub payer: String,
    #[serde(default)]
    pub cost_fen: i64,
    #[serde(default)]
    pub supplier: String,
}

fn one() -> i64 {
    1
}

/// The customer's sign-off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOffInput {
    pub name: String,
    /// A PNG data URL drawn on the phone; empty for a typed name.
    #[serde(default)]
    pub signature: String,
    pub rating: i64,
    #[serde(default)]
    pub comment: String,
}

/// The contract of `POST /api/v1/warranty/evaluate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateInput {
    pub policy: Policy,
    pub invoice_date: NaiveDate,
    pub fault_date: NaiveDate,
    #[serde(default)]
    pub main_part: bool,
    #[serde(default)]
    pub history: Vec<HistoryEvent>,
    #[serde(default)]
    pub void: Vec<VoidReason>,
}

/// An order with its lines.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: ServiceOrder,
    pub lines: Vec<OrderLine>,
    pub decision: Option<Decision>,
    pub technician_name: String,
    pub customer_name: String,
    pub case_number: String,
}

fn policy_of(p: Option<st::Policy>, fallback_months: u32) -> Policy {
    match p {
        Some(p) => Policy {
            unit_months: p.unit_months.max(0) as u32,
            main_parts_months: p.main_parts_months.map(|m| m.max(0) as u32),
            return_days: p.return_days.max(0) as u32,
            exchange_days: p.exchange_days.max(0) as u32,
            repair_limit: p.repair_limit.max(0) as u32,
            no_parts_days: p.no_parts_days.max(0) as u32,
            repair_delay_days: p.repair_delay_days.max(0) as u32,
        },
        None => Policy { unit_months: fallback_months.max(1), ..Policy::default() },
    }
}

/// At most this many earlier repairs and exchanges in one 三包 evaluation.
pub const MAX_HISTORY: usize = 100;
/// At most this many void reasons in one 三包 evaluation or diagnosis.
pub const MAX_VOID: usize = 12;

impl Service {
    /// The 三包 rule as a calculator (no storage).
    pub fn evaluate_warranty(&self, actor: &Actor, i: &EvaluateInput) -> ServiceResult<Decision> {
        actor.require(Permission::SignIn)?;
        if i.history.len() > MAX_HISTORY {
            return Err(DomainError::invalid("history", format!("service.err.too_many|max={MAX_HISTORY}")).into());
        }
        if i.void.len() > MAX_VOID {
            return Err(DomainError::invalid("void", format!("service.err.too_many|max={MAX_VOID}")).into());
        }
        Ok(sanbao::evaluate(
            &i.policy,
            i.invoice_date,
            &Fault { date: i.fault_date, main_part: i.main_part },
            &i.history,
            &i.void,
        )?)
    }

    /// How far `actor` reaches into order `id`; hidden orders are "not found".
    pub(crate) async fn order_access(
        &self,
        c: &mut Conn<'_>,
        actor: &Actor,
        id: i64,
    ) -> ServiceResult<ServiceOrderAccess> {
        let o = st::order(c, id).await.entity("service order")?;
        self.access_to(c, actor, &o).await
    }

    async fn access_to(&self, c: &mut Conn<'_>, actor: &Actor, o: &ServiceOrder) -> ServiceResult<ServiceOrderAccess> {
        let kind = department_kind(c, actor).await?;
        let a = service_order_access(actor, kind.as_deref(), o.technician_id, o.created_by);
        if a == ServiceOrderAccess::Hidden {
            return Err(DomainError::NotFound { entity: "service order" }.into());
        }
        Ok(a)
    }

    /// Sets or replaces a product's 三包 policy.
    pub async fn put_warranty_policy(&self, actor: &Actor, product_id: i64, p: &Policy) -> ServiceResult<st::Policy> {
        actor.require(Permission::WriteCustomers)?;
        p.validate()?;
        let mut tx = self.store.begin().await?;
        customers::product(&mut tx.conn(), product_id).await.entity("product")?;
        let before = st::policy(&mut tx.conn(), product_id).await?;
        let row = st::Policy {
            product_id,
            unit_months: p.unit_months as i32,
            main_parts_months: p.main_parts_months.map(|m| m as i32),
            return_days: p.return_days as i32,
            exchange_days: p.exchange_days as i32,
            repair_limit: p.repair_limit as i32,
            no_parts_days: p.no_parts_days as i32,
            repair_delay_days: p.repair_delay_days as i32,
            version: 0,
            updated_at: self.now(),
        };
        let after = st::put_policy(&mut tx.conn(), &row, self.now()).await?;
        tx.audit(actor, AuditAction::Update, "warranty_policy", product_id, before.as_ref(), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Opens an order, from a case (a service request, complaint or return) or directly.
    pub async fn create_service_order(&self, actor: &Actor, i: &OrderInput) -> ServiceResult<ServiceOrder> {
        actor.require(Permission::WriteCases)?;
        let kind = sp::one_of("kind", &i.kind, &KINDS)?;
        let priority = sp::one_of("priority", &i.priority, &PRIORITIES)?;
        let mut o = blank_order();
        o.kind = kind;
        o.priority = priority;
        o.reported_fault = sp::optional("reported_fault", &i.reported_fault, 4000)?;
        o.fault_task = sp::optional("fault_task", &i.fault_task, 4000)?;
        o.serial = sp::optional("serial", &i.serial, 100)?;
        o.requested_from = i.requested_from;
        o.requested_to = i.requested_to;
        if let (Some(a), Some(b)) = (i.requested_from, i.requested_to)
            && b < a
        {
            return Err(DomainError::invalid("requested_to", "service.err.to_before_from").into());
        }
        o.invoice_date = i.invoice_date;
        o.customer_id = i.customer_id;
        o.contact_id = i.contact_id;
        o.asset_id = i.asset_id;
        o.product_id = i.product_id;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let dk = department_kind(&mut tx.conn(), actor).await?;
        let mut on_site = i.on_site;
        if let Some(cid) = i.case_id {
            let k = ks::case(&mut tx.conn(), cid)
                .await
                .map_err(|_| DomainError::invalid("case_id", "service.err.unknown"))?;
            crate::scope::handled(&mut tx.conn(), actor, &k).await?;
            o.case_id = Some(k.id);
            o.customer_id = o.customer_id.or(k.customer_id);
            o.contact_id = o.contact_id.or(k.contact_id);
            o.product_id = o.product_id.or(k.product_id);
            if o.serial.is_empty() {
                o.serial = k.serial.clone();
            }
            if o.reported_fault.is_empty() {
                o.reported_fault = format!("{}\n{}", k.subject, k.description).trim().to_owned();
            }
            o.invoice_date = o.invoice_date.or(k.ship_date);
            let fields: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&k.fields).unwrap_or_default();
            if fields
                .get("on_site")
                .and_then(|v| v.as_str())
                .is_some_and(|v| loopdesk_domain::sla::parse_on_site(v).unwrap_or(false))
            {
                on_site = true;
            }
        } else if service_order_list_scope(actor, dk.as_deref()).is_some() && actor.user_id.is_some() {
            // Only those who handle service open orders of their own.
            if !actor.roles.iter().any(|r| matches!(r, Role::Agent | Role::DeptHead | Role::Technician)) {
                return Err(DomainError::forbidden("service.err.forbidden").into());
            }
        }
        if o.reported_fault.is_empty() {
            return Err(DomainError::invalid("reported_fault", "service.err.required").into());
        }
        if let Some(a) = o.asset_id {
            let asset = st::asset(&mut tx.conn(), a)
                .await
                .map_err(|_| DomainError::invalid("asset_id", "service.err.unknown"))?;
            o.product_id = o.product_id.or(Some(asset.product_id));
            o.customer_id = o.customer_id.or(Some(asset.customer_id));
            if o.serial.is_empty() {
                o.serial = asset.serial.clone();
            }
            o.invoice_date = o.invoice_date.or(asset.ship_date);
        }
        if let Some(c) = o.customer_id {
            customers::customer(&mut tx.conn(), c)
                .await
                .map_err(|_| DomainError::invalid("customer_id", "service.err.unknown"))?;
        }
        if let Some(p) = o.product_id {
            customers::product(&mut tx.conn(), p)
                .await
                .map_err(|_| DomainError::invalid("product_id", "service.err.unknown"))?;
        }
        if on_site {
            o.onsite_due_at = Some(so::on_site_due(now));
        }
        let year = self.local_today().format("%Y").to_string();
        let n = customers::next_counter(&mut tx.conn(), "service_order", &year).await?;
        o.number = sp::order_number(year.parse().unwrap_or(2000), n);
        o.state = so::definition().initial;
        o.created_by = actor.user_id;
        let row = st::insert_order(&mut tx.conn(), &o, now).await.entity("service order")?;
        if let Some(cid) = row.case_id {
            let body = format!("{} ({})", row.number, row.kind);
            let ev = ks::NewEvent {
                case_id: cid,
                actor_id: actor.user_id,
                actor: &actor.username,
                kind: "service_order_created",
                body: &body,
                ..Default::default()
            };
            ks::insert_event(&mut tx.conn(), &ev).await?;
        }
        tx.audit(actor, AuditAction::Create, "service_order", row.id, None::<&()>, Some(&row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// One order with its lines and 三包 decision.
    pub async fn service_order(&self, actor: &Actor, id: i64) -> ServiceResult<OrderView> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        let o = st::order(&mut h.conn(), id).await.entity("service order")?;
        self.access_to(&mut h.conn(), actor, &o).await?;
        let lines = st::lines(&mut h.conn(), id).await?;
        let technician_name = match o.technician_id {
            Some(t) => org::user(&mut h.conn(), t).await.map(|u| u.display_name).unwrap_or_default(),
            None => String::new(),
        };
        let customer_name = match o.customer_id {
            Some(c) => customers::customer(&mut h.conn(), c).await.map(|c| c.name).unwrap_or_default(),
            None => String::new(),
        };
        let case_number = match o.case_id {
            Some(c) => ks::case(&mut h.conn(), c).await.map(|k| k.number).unwrap_or_default(),
            None => String::new(),
        };
        let decision = serde_json::from_str::<serde_json::Value>(&o.sanbao).ok().and_then(|v| decision_from(&v));
        Ok(OrderView { order: o, lines, decision, technician_name, customer_name, case_number })
    }

    /// Orders the actor may see, newest first; `technician` and a planned window narrow them (a
    /// technician's day or week list).
    pub async fn service_orders(
        &self,
        actor: &Actor,
        technician: Option<i64>,
        case_id: Option<i64>,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> ServiceResult<Vec<ServiceOrder>> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        let kind = department_kind(&mut h.conn(), actor).await?;
        let user = match service_order_list_scope(actor, kind.as_deref()) {
            None => None,
            Some(None) => return Err(DomainError::forbidden("service.err.forbidden").into()),
            Some(Some(u)) => Some(u),
        };
        let f = OrderFilter {
            user,
            technician,
            case_id,
            planned_from: window.map(|w| w.0),
            planned_to: window.map(|w| w.1),
            limit: 500,
        };
        Ok(st::orders(&mut h.conn(), &f).await?)
    }

    /// Loads the order in a transaction, checks the step `code` from its state for the actor, lets
    /// `change` edit it, saves it at `version` and audits it.
    async fn order_step<F>(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        code: &str,
        change: F,
    ) -> ServiceResult<(ServiceOrder, Tx)>
    where
        F: FnOnce(&mut ServiceOrder, DateTime<Utc>) -> ServiceResult<()>,
    {
        actor.require(Permission::WriteCases)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let before = st::order(&mut tx.conn(), id).await.entity("service order")?;
        let access = self.access_to(&mut tx.conn(), actor, &before).await?;
        if access < ServiceOrderAccess::Technician {
            return Err(DomainError::forbidden("service.err.forbidden").into());
        }
        let def = so::definition();
        let roles: Vec<Role> = if actor.user_id.is_none() { vec![Role::Admin] } else { actor.roles.clone() };
        let t = so::step(&def, &before.state, code, &roles, false)?;
        let mut o = before.clone();
        o.version = version;
        o.state = t.to.clone();
        change(&mut o, now)?;
        let after = st::save_order(&mut tx.conn(), &o, now).await.entity("service order")?;
        tx.audit(actor, AuditAction::Update, "service_order", id, Some(&before), Some(&after)).await?;
        Ok((after, tx))
    }

    /// Schedules the order with a technician (`technician` role) and the planned window; the
    /// technician finds it in their inbox and day list.
    pub async fn schedule_service_order(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        technician_id: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> ServiceResult<ServiceOrder> {
        if end <= start {
            return Err(DomainError::invalid("planned_end", "service.err.to_before_from").into());
        }
        {
            let mut h = self.store.read().await?;
            let u = org::user(&mut h.conn(), technician_id)
                .await
                .map_err(|_| DomainError::invalid("technician_id", "service.err.unknown"))?;
            if !u.active || !u.roles.contains(&Role::Technician) {
                return Err(DomainError::invalid("technician_id", "service.err.not_technician").into());
            }
        }
        let (after, mut tx) = self
            .order_step(actor, id, version, "schedule", |o, _| {
                o.technician_id = Some(technician_id);
                o.planned_start = Some(start);
                o.planned_end = Some(end);
                Ok(())
            })
            .await?;
        let params = serde_json::json!({ "number": after.number, "start": start.with_timezone(&self.settings.timezone).format("%Y-%m-%d %H:%M").to_string() }).to_string();
        es::insert_inbox(
            &mut tx.conn(),
            technician_id,
            after.case_id,
            "service_order_assigned",
            &params,
            crate::cases::micros(self.now()),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The technician arrives on site (stops the 48 h clock).
    pub async fn arrive(&self, actor: &Actor, id: i64, version: i64) -> ServiceResult<ServiceOrder> {
        let (after, tx) = self
            .order_step(actor, id, version, "arrive", |o, now| {
                o.arrived_at = Some(now);
                Ok(())
            })
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The diagnosis and the 三包 decision it leads to (product policy, asset history).
    pub async fn diagnose(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        d: &DiagnosisInput,
    ) -> ServiceResult<ServiceOrder> {
        let diagnosis = sp::one_of("diagnosis", &d.diagnosis, &DIAGNOSES)?;
        let failure = so::check_code("failure_code", &d.failure_code)?;
        let cause = so::check_code("cause_code", &d.cause_code)?;
        if d.void.len() > MAX_VOID {
            return Err(DomainError::invalid("void", format!("service.err.too_many|max={MAX_VOID}")).into());
        }
        // What the decision rests on, read before the step.
        let (policy, history, invoice) = {
            let mut h = self.store.read().await?;
            let o = st::order(&mut h.conn(), id).await.entity("service order")?;
            let (policy, months) = match o.product_id {
                Some(p) => {
                    let prod = customers::product(&mut h.conn(), p).await.entity("product")?;
                    (st::policy(&mut h.conn(), p).await?, prod.warranty_months.max(1) as u32)
                }
                None => (None, 12),
            };
            let history = match o.asset_id {
                Some(a) => st::asset_events(&mut h.conn(), a).await?,
                None => vec![],
            };
            (policy_of(policy, months), history, d.invoice_date.or(o.invoice_date))
        };
        let today = self.local_today();
        let void = so::void_reasons(&diagnosis, &d.void);
        let mut void_all = void.clone();
        let invoice = match invoice {
            Some(i) => i,
            None => {
                // No invoice: no 三包 (第十八条), paid service.
                void_all.push(VoidReason::NoCertificate);
                today
            }
        };
        let hist: Vec<HistoryEvent> = history
            .iter()
            .filter(|e| e.event_date >= invoice && e.event_date <= today && e.service_order_id != Some(id))
            .map(|e| HistoryEvent {
                kind: if e.kind == "exchange" { EventKind::Exchange } else { EventKind::Repair },
                date: e.event_date,
                days_in_repair: e.days_in_repair.max(0) as u32,
                waiting_parts_days: e.waiting_parts_days.max(0) as u32,
            })
            .collect();
        if invoice > today {
            return Err(DomainError::invalid("invoice_date", "service.err.future").into());
        }
        let decision =
            sanbao::evaluate(&policy, invoice, &Fault { date: today, main_part: d.main_part }, &hist, &void_all)?;
        let json = serde_json::to_string(&decision).map_err(|e| crate::ServiceError::Internal(e.to_string()))?;
        let voids = serde_json::to_string(&void_all).unwrap_or_else(|_| "[]".into());
        let (after, tx) = self
            .order_step(actor, id, version, "diagnose", |o, _| {
                o.diagnosis = diagnosis;
                o.failure_code = failure;
                o.cause_code = cause;
                o.main_part = d.main_part;
                o.invoice_date = Some(invoice);
                o.void_reasons = voids;
                o.sanbao = json;
                if so::is_paid(&decision) {
                    o.remedy = "paid".into();
                } else {
                    o.remedy = String::new();
                }
                Ok(())
            })
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A quote for paid service; the customer accepts or rejects it before the repair.
    pub async fn quote(&self, actor: &Actor, id: i64, version: i64, quote_fen: i64) -> ServiceResult<ServiceOrder> {
        let q = sp::within("quote_fen", quote_fen, 0, MAX_FEN)?;
        let (after, tx) = self
            .order_step(actor, id, version, "quote", |o, _| {
                o.quote_fen = Some(q);
                o.quote_state = "pending".into();
                Ok(())
            })
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The customer's answer to the quote, signed on site (`by` is the name they signed with).
    pub async fn decide_quote(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        accept: bool,
        by: &str,
    ) -> ServiceResult<ServiceOrder> {
        let by = sp::required("by", by, 100)?;
        let code = if accept { "accept_quote" } else { "reject_quote" };
        let (after, tx) = self
            .order_step(actor, id, version, code, |o, now| {
                o.quote_state = if accept { "accepted" } else { "rejected" }.into();
                o.quote_decided_by = by;
                o.quote_decided_at = Some(now);
                if !accept {
                    o.completed_at = Some(now);
                    o.work_done = "quote_rejected".into();
                }
                Ok(())
            })
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Starts the repair with the remedy chosen (one the 三包 decision allows). Paid service needs
    /// an accepted quote first, which leads here through `accept_quote`.
    pub async fn start_repair(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        remedy: &str,
    ) -> ServiceResult<ServiceOrder> {
        let remedy = sp::one_of("remedy", remedy, &["return", "exchange", "repair", "refund"])?;
        let (after, tx) = self
            .order_step(actor, id, version, "start_repair", |o, _| {
                let d = serde_json::from_str::<serde_json::Value>(&o.sanbao).ok().and_then(|v| decision_from(&v));
                let Some(d) = d else {
                    return Err(DomainError::Conflict {
                        reason: "service.err.not_diagnosed".into(),
                        field: Some("state"),
                    }
                    .into());
                };
                if so::is_paid(&d) {
                    return Err(DomainError::Conflict {
                        reason: "service.err.quote_first".into(),
                        field: Some("quote"),
                    }
                    .into());
                }
                if !d.remedies.iter().any(|r| r.code() == remedy) {
                    return Err(DomainError::invalid("remedy", "service.err.remedy_not_allowed").into());
                }
                o.remedy = remedy;
                Ok(())
            })
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Adds a line. A part line appends the ledger: `issued` for the replacement and the faulty
    /// part's fate; every cost goes to the month's cost fact in the same transaction.
    pub async fn add_order_line(&self, actor: &Actor, id: i64, l: &LineInput) -> ServiceResult<OrderLine> {
        actor.require(Permission::WriteCases)?;
        let kind = sp::one_of("kind", &l.kind, &LINE_KINDS)?;
        let payer = sp::one_of("payer", &l.payer, &PAYERS)?;
        let fate = if l.fate.trim().is_empty() { String::new() } else { sp::one_of("fate", &l.fate, &FATES)? };
        let part_code = sp::optional("part_code", &l.part_code, 64)?;
        if kind == "part" && part_code.is_empty() {
            return Err(DomainError::invalid("part_code", "service.err.required").into());
        }
        let line = OrderLine {
            id: 0,
            order_id: id,
            kind: kind.clone(),
            description: sp::optional("description", &l.description, 500)?,
            part_code,
            quantity: sp::within("quantity", l.quantity, 1, 10_000)? as i32,
            hours_tenths: sp::within("hours_tenths", l.hours_tenths, 0, 10_000)? as i32,
            faulty_serial: sp::optional("faulty_serial", &l.faulty_serial, 100)?,
            replacement_serial: sp::optional("replacement_serial", &l.replacement_serial, 100)?,
            fate,
            payer,
            cost_fen: sp::within("cost_fen", l.cost_fen, 0, MAX_FEN)?,
            created_by: actor.user_id,
            created_at: self.now(),
        };
        let supplier = sp::optional("supplier", &l.supplier, 200)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let o = st::order(&mut tx.conn(), id).await.entity("service order")?;
        if self.access_to(&mut tx.conn(), actor, &o).await? < ServiceOrderAccess::Technician {
            return Err(DomainError::forbidden("service.err.forbidden").into());
        }
        if !matches!(o.state.as_str(), "on_site" | "diagnosed" | "in_repair" | "awaiting_quote") {
            return Err(DomainError::Conflict {
                reason: format!("service.err.wrong_state|state={}", o.state),
                field: Some("state"),
            }
            .into());
        }
        let row = st::insert_line(&mut tx.conn(), &line, now).await?;
        let product_code = match o.product_id {
            Some(p) => customers::product(&mut tx.conn(), p).await.map(|p| p.code).unwrap_or_default(),
            None => String::new(),
        };
        let customer_name = match o.customer_id {
            Some(c) => customers::customer(&mut tx.conn(), c).await.map(|c| c.name).unwrap_or_default(),
            None => String::new(),
        };
        let today = self.local_today();
        let cause = if o.cause_code.is_empty() { o.diagnosis.clone() } else { o.cause_code.clone() };
        self.post_cost(&mut tx, today, &product_code, &cause, &row.payer, &row.kind, row.cost_fen).await?;
        if row.kind == "part" {
            let base = NewLedgerEntry {
                entry_date: today,
                movement: "issued".into(),
                part_code: row.part_code.clone(),
                part_name: if row.description.is_empty() { row.part_code.clone() } else { row.description.clone() },
                spec: String::new(),
                quantity: row.quantity,
                cost_fen: row.cost_fen,
                service_order_id: Some(o.id),
                resend_id: None,
                customer_id: o.customer_id,
                customer_name,
                asset_serial: o.serial.clone(),
                supplier,
                note: format!("{} {}", o.number, row.replacement_serial).trim().to_owned(),
                created_by: actor.user_id,
            };
            ss::append_ledger(&mut tx.conn(), &base, now).await?;
            if let Some(m) = sp::movement_for_fate(&row.fate) {
                let back = NewLedgerEntry {
                    movement: m.into(),
                    cost_fen: 0,
                    note: format!("{} {}", o.number, row.faulty_serial).trim().to_owned(),
                    ..base
                };
                ss::append_ledger(&mut tx.conn(), &back, now).await?;
            }
        }
        tx.audit(actor, AuditAction::Create, "service_order_line", row.id, None::<&()>, Some(&row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The work is done: departure recorded, the report due two days later, the asset's 三包
    /// history gets the repair (or exchange).
    pub async fn complete_service_order(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        work_done: &str,
    ) -> ServiceResult<ServiceOrder> {
        let work = sp::required("work_done", work_done, 4000)?;
        let today = self.local_today();
        let (after, mut tx) = self
            .order_step(actor, id, version, "complete", |o, now| {
                o.work_done = work;
                o.completed_at = Some(now);
                o.departed_at = Some(o.departed_at.unwrap_or(now));
                o.report_due_at = Some(so::report_due(o.departed_at.unwrap_or(now)));
                Ok(())
            })
            .await?;
        if let Some(a) = after.asset_id
            && after.remedy != "paid"
        {
            let started =
                after.arrived_at.unwrap_or(after.created_at).with_timezone(&self.settings.timezone).date_naive();
            let days = (today - started).num_days().max(0) as i32;
            let ev = AssetEvent {
                id: 0,
                asset_id: a,
                kind: if after.remedy == "exchange" { "exchange" } else { "repair" }.into(),
                event_date: started,
                days_in_repair: days,
                waiting_parts_days: 0,
                service_order_id: Some(after.id),
                created_by: actor.user_id,
                created_at: self.now(),
            };
            st::insert_asset_event(&mut tx.conn(), &ev, self.now()).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// The customer signs the 售后服务报告单 on the technician's phone (a drawn signature, or the
    /// typed name without JavaScript) and rates the service.
    pub async fn sign_off(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        s: &SignOffInput,
    ) -> ServiceResult<ServiceOrder> {
        let name = sp::required("name", &s.name, 100)?;
        let image = so::check_signature(&s.signature)?;
        let rating = so::check_rating(s.rating)?;
        let comment = sp::optional("comment", &s.comment, 2000)?;
        let (after, tx) = self
            .order_step(actor, id, version, "sign_off", |o, now| {
                o.signoff_method = if image.is_empty() { "typed_name" } else { "signature" }.into();
                o.signoff_name = name;
                o.signoff_image = image;
                o.signoff_at = Some(now);
                o.rating = Some(rating);
                o.rating_comment = comment;
                Ok(())
            })
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The technician's report after returning (due two days after departure).
    pub async fn submit_service_report(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        text: &str,
    ) -> ServiceResult<ServiceOrder> {
        actor.require(Permission::WriteCases)?;
        let text = sp::required("report_text", text, 8000)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let before = st::order(&mut tx.conn(), id).await.entity("service order")?;
        if self.access_to(&mut tx.conn(), actor, &before).await? < ServiceOrderAccess::Technician {
            return Err(DomainError::forbidden("service.err.forbidden").into());
        }
        if before.completed_at.is_none() {
            return Err(
                DomainError::Conflict { reason: "service.err.not_completed".into(), field: Some("state") }.into()
            );
        }
        let mut o = before.clone();
        o.version = version;
        o.report_text = text;
        o.report_at = Some(now);
        let after = st::save_order(&mut tx.conn(), &o, now).await.entity("service order")?;
        tx.audit(actor, AuditAction::Update, "service_order", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Closes a signed-off order, or cancels one not yet visited (`code` = `close` / `cancel`).
    pub async fn end_service_order(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        code: &str,
    ) -> ServiceResult<ServiceOrder> {
        let code = sp::one_of("action", code, &["close", "cancel"])?;
        let (after, tx) = self.order_step(actor, id, version, &code, |_, _| Ok(())).await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// Reads a stored decision back (tolerant: an unreadable one is treated as not decided).
fn decision_from(v: &serde_json::Value) -> Option<Decision> {
    let remedies = v.get("remedies")?.as_array()?;
    let remedies: Vec<sanbao::Remedy> = remedies
        .iter()
        .filter_map(|r| r.as_str())
        .filter_map(|r| sanbao::Remedy::ALL.into_iter().find(|x| x.code() == r))
        .collect();
    let date = |k: &str| v.get(k).and_then(|d| d.as_str()).and_then(|d| d.parse::<NaiveDate>().ok());
    let voided_by = v
        .get("voided_by")
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str())
                .filter_map(|r| VoidReason::ALL.into_iter().find(|x| x.code() == r))
                .collect()
        })
        .unwrap_or_default();
    let articles = v
        .get("articles")
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|b| {
                    let code = b.get("article")?.as_str()?;
                    let (article, label_zh) = ARTICLES.iter().find(|(c, _)| *c == code).copied()?;
                    Some(sanbao::Basis {
                        article,
                        label_zh,
                        remedies: b
                            .get("remedies")?
                            .as_array()?
                            .iter()
                            .filter_map(|r| r.as_str())
                            .filter_map(|r| sanbao::Remedy::ALL.into_iter().find(|x| x.code() == r))
                            .collect(),
                        reason: b.get("reason").and_then(|r| r.as_str()).unwrap_or("").to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Decision {
        remedies,
        period_start: date("period_start")?,
        period_end: date("period_end")?,
        in_warranty: v.get("in_warranty")?.as_bool()?,
        articles,
        voided_by,
    })
}

const ARTICLES: [(&str, &str); 6] = [
    ("art8", "第八条"),
    ("art9", "第九条"),
    ("art10", "第十条"),
    ("art11", "第十一条"),
    ("art12", "第十二条"),
    ("art18", "第十八条"),
];

fn blank_order() -> ServiceOrder {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    ServiceOrder {
        id: 0,
        number: String::new(),
        case_id: None,
        customer_id: None,
        contact_id: None,
        asset_id: None,
        product_id: None,
        serial: String::new(),
        kind: String::new(),
        priority: String::new(),
        reported_fault: String::new(),
        fault_task: String::new(),
        state: String::new(),
        requested_from: None,
        requested_to: None,
        technician_id: None,
        planned_start: None,
        planned_end: None,
        onsite_due_at: None,
        arrived_at: None,
        departed_at: None,
        diagnosis: String::new(),
        failure_code: String::new(),
        cause_code: String::new(),
        invoice_date: None,
        main_part: false,
        void_reasons: "[]".into(),
        sanbao: String::new(),
        remedy: String::new(),
        quote_fen: None,
        quote_state: "none".into(),
        quote_decided_by: String::new(),
        quote_decided_at: None,
        completed_at: None,
        work_done: String::new(),
        report_due_at: None,
        report_at: None,
        report_text: String::new(),
        signoff_name: String::new(),
        signoff_at: None,
        signoff_method: String::new(),
        signoff_image: String::new(),
        rating: None,
        rating_comment: String::new(),
        created_by: None,
        version: 1,
        created_at: epoch,
        updated_at: epoch,
    }
}

impl Service {
    /// Active users with the technician role, for scheduling: (id, display name).
    pub async fn technicians(&self, actor: &Actor) -> ServiceResult<Vec<(i64, String)>> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        let users = org::users_with_role(&mut h.conn(), Role::Technician, None).await?;
        Ok(users.into_iter().filter(|u| u.active).map(|u| (u.id, u.display_name)).collect())
    }
}

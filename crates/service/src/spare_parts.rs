//! Spare-part resends (备件补发通知单, JL-7.5-02-1), the warranty spare-parts ledger (三包备件登记台账,
//! JL-7.5-02-2) and the monthly warranty-cost facts (issue #19 items 9-11).
//!
//! A resend is asked for by whoever handles the service (or the order's technician), approved or
//! rejected by the management representative (003-F 6.4 5), and only then shipped by the
//! warehouse (供销部/生产部). Shipping appends the `issued` ledger line and posts the part's cost
//! to the month's cost fact in the same transaction. The ledger is append-only.

use chrono::NaiveDate;
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Role};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::scope::{ServiceOrderAccess, service_order_list_scope};
use loopdesk_domain::spare_parts::{self as sp, MAX_FEN, MOVEMENTS, PAYERS};
use loopdesk_store::spare_parts::{self as ss, CostFact, LedgerEntry, NewLedgerEntry, NewResend, Resend};
use loopdesk_store::{Conn, Tx, customers, escalation as es, org};
use serde::Deserialize;

use crate::error::StoreResultExt;
use crate::{Service, ServiceResult};

/// A resend notice as typed (API and page).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendInput {
    #[serde(default)]
    pub service_order_id: Option<i64>,
    #[serde(default)]
    pub case_id: Option<i64>,
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub customer_name: String,
    #[serde(default)]
    pub asset_serial: String,
    #[serde(default)]
    pub product_code: String,
    pub part_code: String,
    pub part_name: String,
    #[serde(default)]
    pub spec: String,
    pub quantity: i64,
    #[serde(default)]
    pub unit_cost_fen: i64,
    pub payer: String,
    #[serde(default)]
    pub cause: String,
    #[serde(default)]
    pub supplier: String,
    #[serde(default)]
    pub ship_date: Option<NaiveDate>,
    #[serde(default)]
    pub ship_place: String,
    pub receiver_name: String,
    #[serde(default)]
    pub receiver_phone: String,
    #[serde(default)]
    pub receiver_address: String,
    #[serde(default)]
    pub reason: String,
}

/// A ledger line typed by the warehouse (faulty part back, scrapped, returned to the supplier,
/// restocked).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerInput {
    pub entry_date: NaiveDate,
    pub movement: String,
    pub part_code: String,
    pub part_name: String,
    #[serde(default)]
    pub spec: String,
    pub quantity: i64,
    #[serde(default)]
    pub cost_fen: i64,
    #[serde(default)]
    pub service_order_id: Option<i64>,
    #[serde(default)]
    pub resend_id: Option<i64>,
    #[serde(default)]
    pub customer_name: String,
    #[serde(default)]
    pub asset_serial: String,
    #[serde(default)]
    pub supplier: String,
    #[serde(default)]
    pub note: String,
}

/// The department kind of the actor's own department.
pub(crate) async fn department_kind(c: &mut Conn<'_>, actor: &Actor) -> ServiceResult<Option<String>> {
    Ok(match actor.department_id {
        Some(d) => org::department(c, d).await.ok().map(|d| d.kind),
        None => None,
    })
}

/// The warehouse: administrators and the sales (供销部) and production departments.
fn ships(actor: &Actor, kind: Option<&str>) -> bool {
    actor.user_id.is_none()
        || actor.roles.contains(&Role::Admin)
        || (actor.can(Permission::WriteCases) && matches!(kind, Some("sales") | Some("production")))
}

impl Service {
    /// Whether `actor` reads every order, resend and the ledger (`true`) or only their own.
    pub(crate) async fn sees_all_service(&self, c: &mut Conn<'_>, actor: &Actor) -> ServiceResult<bool> {
        let kind = department_kind(c, actor).await?;
        match service_order_list_scope(actor, kind.as_deref()) {
            None => Ok(true),
            Some(None) => Err(DomainError::forbidden("service.err.forbidden").into()),
            Some(Some(_)) => Ok(false),
        }
    }

    /// Asks for a spare part to be resent; it waits for the management representative.
    pub async fn request_resend(&self, actor: &Actor, input: &ResendInput) -> ServiceResult<Resend> {
        actor.require(Permission::WriteCases)?;
        let r = check_resend(input)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut r = r;
        if let Some(o) = r.service_order_id {
            let access = self.order_access(&mut tx.conn(), actor, o).await?;
            if access < ServiceOrderAccess::Technician {
                return Err(DomainError::forbidden("service.err.forbidden").into());
            }
        } else if !self.sees_all_service(&mut tx.conn(), actor).await? {
            return Err(DomainError::forbidden("service.err.forbidden").into());
        }
        if let Some(cid) = r.customer_id {
            let cu = customers::customer(&mut tx.conn(), cid).await.entity("customer")?;
            if r.customer_name.is_empty() {
                r.customer_name = cu.name;
            }
        }
        let year = self.local_today().format("%Y").to_string();
        let n = customers::next_counter(&mut tx.conn(), "spare_part_resend", &year).await?;
        r.number = sp::resend_number(year.parse().unwrap_or(2000), n);
        r.requested_by = actor.user_id;
        let row = ss::insert_resend(&mut tx.conn(), &r, now).await.entity("resend")?;
        tx.audit(actor, AuditAction::Create, "spare_part_resend", row.id, None::<&()>, Some(&row)).await?;
        let reps = org::users_with_role(&mut tx.conn(), Role::MgmtRep, None).await?;
        self.tell(&mut tx, reps.iter().map(|u| u.id), "resend_approval", &row).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The management representative approves (`approve`) or rejects a resend.
    pub async fn decide_resend(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        approve: bool,
        note: &str,
    ) -> ServiceResult<Resend> {
        actor.require(Permission::SignIn)?;
        if !(actor.roles.contains(&Role::MgmtRep) || actor.roles.contains(&Role::Admin)) {
            return Err(DomainError::forbidden("service.err.mgmt_rep_only").into());
        }
        let note = if approve { sp::optional("note", note, 2000)? } else { sp::required("note", note, 2000)? };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let before = ss::resend(&mut tx.conn(), id).await.entity("resend")?;
        if before.state != "awaiting_approval" {
            return Err(DomainError::Conflict {
                reason: "service.err.resend_not_awaiting".into(),
                field: Some("state"),
            }
            .into());
        }
        let state = if approve { "approved" } else { "rejected" };
        let after =
            ss::decide_resend(&mut tx.conn(), id, version, state, actor.user_id, &note, now).await.entity("resend")?;
        tx.audit(actor, AuditAction::Update, "spare_part_resend", id, Some(&before), Some(&after)).await?;
        self.tell(&mut tx, after.requested_by.into_iter(), "resend_decided", &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The warehouse ships an approved resend: the `issued` ledger line and the cost fact are
    /// written with it.
    pub async fn ship_resend(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        ship_date: NaiveDate,
        carrier: &str,
        tracking_no: &str,
    ) -> ServiceResult<Resend> {
        actor.require(Permission::SignIn)?;
        let carrier = sp::required("carrier", carrier, 100)?;
        let tracking_no = sp::required("tracking_no", tracking_no, 100)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let kind = department_kind(&mut tx.conn(), actor).await?;
        if !ships(actor, kind.as_deref()) {
            return Err(DomainError::forbidden("service.err.warehouse_only").into());
        }
        let before = ss::resend(&mut tx.conn(), id).await.entity("resend")?;
        if before.state != "approved" {
            return Err(DomainError::Conflict {
                reason: "service.err.resend_not_approved".into(),
                field: Some("state"),
            }
            .into());
        }
        let after = ss::ship_resend(&mut tx.conn(), id, version, ship_date, &carrier, &tracking_no, actor.user_id, now)
            .await
            .entity("resend")?;
        let cost = after.unit_cost_fen.saturating_mul(i64::from(after.quantity));
        let entry = NewLedgerEntry {
            entry_date: ship_date,
            movement: "issued".into(),
            part_code: after.part_code.clone(),
            part_name: after.part_name.clone(),
            spec: after.spec.clone(),
            quantity: after.quantity,
            cost_fen: cost,
            service_order_id: after.service_order_id,
            resend_id: Some(after.id),
            customer_id: after.customer_id,
            customer_name: after.customer_name.clone(),
            asset_serial: after.asset_serial.clone(),
            supplier: after.supplier.clone(),
            note: after.number.clone(),
            created_by: actor.user_id,
        };
        let line = ss::append_ledger(&mut tx.conn(), &entry, now).await?;
        self.post_cost(&mut tx, ship_date, &after.product_code, &after.cause, &after.payer, "part", cost).await?;
        tx.audit(actor, AuditAction::Update, "spare_part_resend", id, Some(&before), Some(&after)).await?;
        tx.audit(actor, AuditAction::Create, "warranty_parts_ledger", line.id, None::<&()>, Some(&line)).await?;
        self.tell(&mut tx, after.requested_by.into_iter(), "resend_shipped", &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Adds to the month's cost fact (inside the caller's transaction). Zero costs post nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn post_cost(
        &self,
        tx: &mut Tx,
        on: NaiveDate,
        product_code: &str,
        cause: &str,
        payer: &str,
        kind: &str,
        amount_fen: i64,
    ) -> ServiceResult<()> {
        if amount_fen == 0 {
            return Ok(());
        }
        let f = CostFact {
            month: sp::cost_month(on),
            product_code: product_code.to_owned(),
            cause: cause.to_owned(),
            payer: payer.to_owned(),
            kind: kind.to_owned(),
            amount_fen,
            postings: 1,
        };
        ss::post_cost(&mut tx.conn(), &f, self.now()).await?;
        Ok(())
    }

    /// In-app inbox entries about a resend for `users`.
    async fn tell(&self, tx: &mut Tx, users: impl Iterator<Item = i64>, kind: &str, r: &Resend) -> ServiceResult<()> {
        let params = serde_json::json!({ "number": r.number, "part": r.part_name, "quantity": r.quantity }).to_string();
        let now = crate::cases::micros(self.now());
        for u in users {
            es::insert_inbox(&mut tx.conn(), u, r.case_id, kind, &params, now).await?;
        }
        Ok(())
    }

    pub async fn resend(&self, actor: &Actor, id: i64) -> ServiceResult<Resend> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        let r = ss::resend(&mut h.conn(), id).await.entity("resend")?;
        if !self.sees_all_service(&mut h.conn(), actor).await? && r.requested_by != actor.user_id {
            let ok = match r.service_order_id {
                Some(o) => self.order_access(&mut h.conn(), actor, o).await? >= ServiceOrderAccess::Technician,
                None => false,
            };
            if !ok {
                return Err(DomainError::NotFound { entity: "resend" }.into());
            }
        }
        Ok(r)
    }

    /// Resends, newest first (the management representative's queue: `awaiting_approval`).
    pub async fn resends(&self, actor: &Actor, state: Option<&str>, order: Option<i64>) -> ServiceResult<Vec<Resend>> {
        actor.require(Permission::SignIn)?;
        if let Some(s) = state {
            sp::one_of("state", s, &sp::RESEND_STATES)?;
        }
        let mut h = self.store.read().await?;
        let all = self.sees_all_service(&mut h.conn(), actor).await?;
        let rows = ss::resends(&mut h.conn(), state, order, 500).await?;
        Ok(rows.into_iter().filter(|r| all || r.requested_by == actor.user_id).collect())
    }

    /// Appends a ledger line typed by the warehouse.
    pub async fn append_ledger(&self, actor: &Actor, l: &LedgerInput) -> ServiceResult<LedgerEntry> {
        actor.require(Permission::WriteCases)?;
        let movement = sp::one_of("movement", &l.movement, &MOVEMENTS)?;
        let entry = NewLedgerEntry {
            entry_date: l.entry_date,
            movement,
            part_code: sp::required("part_code", &l.part_code, 64)?,
            part_name: sp::required("part_name", &l.part_name, 200)?,
            spec: sp::optional("spec", &l.spec, 200)?,
            quantity: sp::within("quantity", l.quantity, 1, 100_000)? as i32,
            cost_fen: sp::within("cost_fen", l.cost_fen, 0, MAX_FEN)?,
            service_order_id: l.service_order_id,
            resend_id: l.resend_id,
            customer_id: None,
            customer_name: sp::optional("customer_name", &l.customer_name, 200)?,
            asset_serial: sp::optional("asset_serial", &l.asset_serial, 100)?,
            supplier: sp::optional("supplier", &l.supplier, 200)?,
            note: sp::optional("note", &l.note, 2000)?,
            created_by: actor.user_id,
        };
        let mut tx = self.store.begin().await?;
        let kind = department_kind(&mut tx.conn(), actor).await?;
        if !ships(actor, kind.as_deref()) && !self.sees_all_service(&mut tx.conn(), actor).await? {
            return Err(DomainError::forbidden("service.err.warehouse_only").into());
        }
        if let Some(r) = entry.resend_id {
            ss::resend(&mut tx.conn(), r)
                .await
                .map_err(|_| DomainError::invalid("resend_id", "service.err.unknown"))?;
        }
        if let Some(o) = entry.service_order_id {
            loopdesk_store::service_orders::order(&mut tx.conn(), o)
                .await
                .map_err(|_| DomainError::invalid("service_order_id", "service.err.unknown"))?;
        }
        let line = ss::append_ledger(&mut tx.conn(), &entry, self.now()).await?;
        tx.audit(actor, AuditAction::Create, "warranty_parts_ledger", line.id, None::<&()>, Some(&line)).await?;
        tx.commit().await?;
        Ok(line)
    }

    /// The ledger between two dates (inclusive), at most 10 000 lines.
    pub async fn ledger(&self, actor: &Actor, from: NaiveDate, to: NaiveDate) -> ServiceResult<Vec<LedgerEntry>> {
        actor.require(Permission::SignIn)?;
        if to < from {
            return Err(DomainError::invalid("to", "service.err.to_before_from").into());
        }
        let mut h = self.store.read().await?;
        if !self.sees_all_service(&mut h.conn(), actor).await? {
            return Err(DomainError::forbidden("service.err.forbidden").into());
        }
        Ok(ss::ledger(&mut h.conn(), from, to, 10_000).await?)
    }

    /// The ledger as rows of text (the header row first) for CSV/XLSX: 三包备件登记台账.
    pub async fn ledger_rows(&self, actor: &Actor, from: NaiveDate, to: NaiveDate) -> ServiceResult<Vec<Vec<String>>> {
        let lines = self.ledger(actor, from, to).await?;
        let mut rows = vec![
            [
                "日期 Date",
                "动向 Movement",
                "备件编号 Part",
                "备件名称 Name",
                "规格型号 Spec",
                "数量 Qty",
                "金额(元) Cost (CNY)",
                "服务单 Order",
                "补发单 Resend",
                "顾客 Customer",
                "产品序列号 Serial",
                "责任供方 Supplier",
                "备注 Note",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        ];
        for l in lines {
            rows.push(vec![
                l.entry_date.to_string(),
                l.movement,
                l.part_code,
                l.part_name,
                l.spec,
                l.quantity.to_string(),
                loopdesk_domain::customer::format_cny(l.cost_fen),
                l.service_order_id.map(|i| i.to_string()).unwrap_or_default(),
                l.resend_id.map(|i| i.to_string()).unwrap_or_default(),
                l.customer_name,
                l.asset_serial,
                l.supplier,
                l.note,
            ]);
        }
        Ok(rows)
    }

    /// The monthly cost facts of months `from..=to` (`YYYY-MM`).
    pub async fn cost_facts(&self, actor: &Actor, from: &str, to: &str) -> ServiceResult<Vec<CostFact>> {
        actor.require(Permission::ReadReports)?;
        for (f, v) in [("from", from), ("to", to)] {
            if NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d").is_err() || v.len() != 7 {
                return Err(DomainError::invalid(f, "service.err.month").into());
            }
        }
        let mut h = self.store.read().await?;
        Ok(ss::cost_facts(&mut h.conn(), from, to).await?)
    }

    /// Today in the organisation's time zone.
    pub(crate) fn local_today(&self) -> NaiveDate {
        self.now().with_timezone(&self.settings.timezone).date_naive()
    }
}

fn check_resend(i: &ResendInput) -> ServiceResult<NewResend> {
    Ok(NewResend {
        number: String::new(),
        service_order_id: i.service_order_id,
        case_id: i.case_id,
        customer_id: i.customer_id,
        customer_name: sp::optional("customer_name", &i.customer_name, 200)?,
        asset_serial: sp::optional("asset_serial", &i.asset_serial, 100)?,
        product_code: sp::optional("product_code", &i.product_code, 64)?,
        part_code: sp::required("part_code", &i.part_code, 64)?,
        part_name: sp::required("part_name", &i.part_name, 200)?,
        spec: sp::optional("spec", &i.spec, 200)?,
        quantity: sp::within("quantity", i.quantity, 1, 100_000)? as i32,
        unit_cost_fen: sp::within("unit_cost_fen", i.unit_cost_fen, 0, MAX_FEN)?,
        payer: sp::one_of("payer", &i.payer, &PAYERS)?,
        cause: sp::optional("cause", &i.cause, 64)?,
        supplier: sp::optional("supplier", &i.supplier, 200)?,
        ship_date: i.ship_date,
        ship_place: sp::optional("ship_place", &i.ship_place, 200)?,
        receiver_name: sp::required("receiver_name", &i.receiver_name, 100)?,
        receiver_phone: sp::optional("receiver_phone", &i.receiver_phone, 50)?,
        receiver_address: sp::optional("receiver_address", &i.receiver_address, 500)?,
        reason: sp::optional("reason", &i.reason, 2000)?,
        requested_by: None,
    })
}

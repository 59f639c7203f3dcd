//! Customer files, contacts, products and assets, contracts, the communication register, and
//! import/export of the ledgers (spec C2).
//!
//! Reading customers is organisation-wide for anyone with `ReadCustomers`: whoever takes a call
//! must be able to find the caller, whatever department owns the account.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::customer::{
    Channel, Coded, ContractStatus, CustomerCategory, CustomerKind, Direction, Existing, Stage, duplicate_reason,
    format_cny, generated_customer_code, parse_cny, parse_customer_code, parse_date, parse_emails, parse_flag,
    parse_optional_date, parse_phones, search_text, split_list, warranty_end,
};
use loopdesk_domain::import::{Row, RowError, Sheet, headers, map_headers};
use loopdesk_domain::org::required_text;
use loopdesk_domain::page::{Page, Paged};
use loopdesk_store::audit::PendingEvent;
use loopdesk_store::customers::{
    self as cs, Asset, Communication, CommunicationFields, Contact, ContactFields, Contract, ContractFields, Customer,
    CustomerFields, CustomerFilter, Product, StrList,
};
use loopdesk_store::org;
use loopdesk_store::{Conn, StoreError, Tx};
use serde::{Deserialize, Serialize};

use crate::error::StoreResultExt;
use crate::limits::{check_len, customers as L};
use crate::{Service, ServiceResult};

/// A customer as typed by a person, an API client or an import row.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomerInput {
    pub code: Option<String>,
    pub name: String,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub is_new: Option<bool>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub tags: Vec<String>,
    /// Username of the responsible staff member (售后服务责任人). On update, `None` keeps the
    /// current owner and an empty string clears it.
    pub owner: Option<String>,
    pub notes: Option<String>,
}

fn opt_text(field: &str, v: Option<&str>, max: usize) -> Result<String, DomainError> {
    // Counted as sent: padding does not bring a long text under the limit.
    check_len(field, v.unwrap_or(""), max)?;
    match v.map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(t) => required_text(field, t, max),
    }
}

fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<String>().to_lowercase()
}

/// Checks everything that needs no database; owner and duplicates are checked by the caller.
fn validate_customer(i: &CustomerInput) -> Result<(Option<String>, CustomerFields), DomainError> {
    check_len("code", i.code.as_deref().unwrap_or(""), L::CODE)?;
    let code = i.code.as_deref().filter(|c| !c.trim().is_empty()).map(parse_customer_code).transpose()?;
    let name = required_text("name", &i.name, L::NAME)?;
    let kind = i.kind.as_deref().filter(|s| !s.trim().is_empty()).map(CustomerKind::parse).transpose()?;
    let category = i.category.as_deref().filter(|s| !s.trim().is_empty()).map(CustomerCategory::parse).transpose()?;
    let phones = parse_phones("phones", &i.phones.join(";"))?;
    let emails = parse_emails("emails", &i.emails.join(";"))?;
    // Each item as sent, and each tag it splits into.
    for t in &i.tags {
        check_len("tags", t, L::TAG)?;
    }
    let tags: Vec<String> = i.tags.iter().flat_map(|t| split_list(t)).collect();
    if tags.iter().any(|t| t.chars().count() > L::TAG) {
        return Err(DomainError::invalid("tags", "errors.tag_must_at_most_40"));
    }
    check_len("notes", i.notes.as_deref().unwrap_or(""), L::NOTES)?;
    let fields = CustomerFields {
        code: code.clone().unwrap_or_default(),
        name_key: name_key(&name),
        name,
        kind: kind.unwrap_or(CustomerKind::Organisation).code().to_owned(),
        category: category.unwrap_or(CustomerCategory::EndUser).code().to_owned(),
        is_new: i.is_new.unwrap_or(false),
        region: opt_text("region", i.region.as_deref(), L::REGION)?,
        address: opt_text("address", i.address.as_deref(), L::ADDRESS)?,
        phones: StrList(phones),
        emails: StrList(emails),
        tags: StrList(tags),
        owner_id: None,
        notes: i.notes.as_deref().unwrap_or("").trim().to_owned(),
        search_text: String::new(),
    };
    Ok((code, fields))
}

async fn owner_id(c: &mut Conn<'_>, owner: Option<&str>) -> ServiceResult<Option<i64>> {
    match owner.map(str::trim).filter(|o| !o.is_empty()) {
        None => Ok(None),
        Some(u) => match org::user_for_login(c, &u.to_lowercase()).await {
            Ok((user, _)) => Ok(Some(user.id)),
            Err(StoreError::NotFound) => {
                Err(DomainError::invalid("owner", loopdesk_domain::reason!("errors.no_user_named_4", u)).into())
            }
            Err(e) => Err(e.into()),
        },
    }
}

async fn check_duplicates(
    c: &mut Conn<'_>,
    code: Option<&str>,
    f: &CustomerFields,
    except: Option<i64>,
) -> ServiceResult<()> {
    for ex in cs::duplicate_candidates(c, code, &f.name_key).await? {
        if Some(ex.id) == except {
            continue;
        }
        let e = Existing { id: ex.id, code: &ex.code, name: &ex.name, phones: &ex.phones.0 };
        if let Some((field, reason)) = duplicate_reason(code, &f.name, &f.phones.0, &e) {
            return Err(DomainError::Conflict { reason, field: Some(field) }.into());
        }
    }
    Ok(())
}

async fn contact_names(c: &mut Conn<'_>, customer_id: i64) -> ServiceResult<Vec<String>> {
    Ok(cs::contacts(c, customer_id).await?.into_iter().map(|k| k.name).collect())
}

/// Everything on the customer page (客户360).
#[derive(Debug, Clone, Serialize)]
pub struct Customer360 {
    pub customer: Customer,
    pub owner_name: Option<String>,
    pub contacts: Vec<Contact>,
    pub assets: Vec<(Asset, Product)>,
    pub contracts: Vec<Contract>,
    pub communications: Paged<Communication>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactInput {
    pub name: String,
    pub title: Option<String>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub primary: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductInput {
    pub code: String,
    pub name: String,
    pub model: Option<String>,
    pub warranty_months: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AssetInput {
    pub product_code: String,
    pub serial: String,
    pub ship_date: Option<String>,
    pub warranty_end: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContractInput {
    pub number: String,
    pub signed_on: String,
    /// Yuan as text, e.g. "2000000.00"; kept exactly.
    pub value: Option<String>,
    pub completed_on: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommunicationInput {
    pub contact_id: Option<i64>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub channel: String,
    pub direction: String,
    pub stage: String,
    pub subject: String,
    pub content: Option<String>,
    pub follow_up: Option<bool>,
    pub follow_up_due: Option<String>,
    pub case_id: Option<i64>,
}

/// The result of an import: all rows, or none and a report.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ImportOutcome {
    Imported { rows: usize },
    Rejected { report_id: i64, errors: Vec<RowError> },
}

impl Service {
    pub async fn customers(&self, actor: &Actor, f: &CustomerFilter, page: Page) -> ServiceResult<Paged<Customer>> {
        actor.require(Permission::ReadCustomers)?;
        let mut h = self.store.read().await?;
        Ok(cs::customers(&mut h.conn(), f, page).await?)
    }

    pub async fn customer(&self, actor: &Actor, id: i64) -> ServiceResult<Customer> {
        actor.require(Permission::ReadCustomers)?;
        let mut h = self.store.read().await?;
        cs::customer(&mut h.conn(), id).await.entity("customer")
    }

    pub async fn regions(&self, actor: &Actor) -> ServiceResult<Vec<String>> {
        actor.require(Permission::ReadCustomers)?;
        let mut h = self.store.read().await?;
        Ok(cs::regions(&mut h.conn()).await?)
    }

    pub async fn create_customer(&self, actor: &Actor, input: &CustomerInput) -> ServiceResult<Customer> {
        actor.require(Permission::WriteCustomers)?;
        let mut tx = self.store.begin().await?;
        let c = insert_customer(&mut tx, actor, input).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Replaces the customer's fields; `version` must be the one read.
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        input: &CustomerInput,
    ) -> ServiceResult<Customer> {
        actor.require(Permission::WriteCustomers)?;
        let (code, mut f) = validate_customer(input)?;
        let mut tx = self.store.begin().await?;
        let before = cs::customer(&mut tx.conn(), id).await.entity("customer")?;
        f.code = code.clone().unwrap_or_else(|| before.code.clone());
        // On update, no owner given keeps the owner; an empty one clears it.
        f.owner_id = match input.owner.as_deref() {
            None => before.owner_id,
            Some(o) => owner_id(&mut tx.conn(), Some(o)).await?,
        };
        check_duplicates(&mut tx.conn(), Some(&f.code), &f, Some(id)).await?;
        let names = contact_names(&mut tx.conn(), id).await?;
        f.search_text = search_text(&f.code, &f.name, &f.phones.0, &names, &f.region);
        let after = cs::update_customer(&mut tx.conn(), id, version, &f).await.entity("customer")?;
        tx.audit(actor, AuditAction::Update, "customer", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn customer_360(&self, actor: &Actor, id: i64, comm_page: Page) -> ServiceResult<Customer360> {
        actor.require(Permission::ReadCustomers)?;
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        let customer = cs::customer(c, id).await.entity("customer")?;
        let owner_name = match customer.owner_id {
            Some(o) => Some(org::user(c, o).await?.display_name),
            None => None,
        };
        let mut assets = Vec::new();
        for a in cs::assets(c, id).await? {
            let p = cs::product(c, a.product_id).await?;
            assets.push((a, p));
        }
        Ok(Customer360 {
            contacts: cs::contacts(c, id).await?,
            contracts: cs::contracts(c, id).await?,
            communications: cs::communications(c, id, comm_page).await?,
            assets,
            owner_name,
            customer,
        })
    }

    pub async fn add_contact(&self, actor: &Actor, customer_id: i64, i: &ContactInput) -> ServiceResult<Contact> {
        actor.require(Permission::WriteCustomers)?;
        let mut tx = self.store.begin().await?;
        let c = insert_contact(&mut tx, actor, customer_id, i).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn products(&self, actor: &Actor) -> ServiceResult<Vec<Product>> {
        actor.require(Permission::ReadCustomers)?;
        let mut h = self.store.read().await?;
        Ok(cs::products(&mut h.conn()).await?)
    }

    pub async fn create_product(&self, actor: &Actor, i: &ProductInput) -> ServiceResult<Product> {
        actor.require(Permission::WriteCustomers)?;
        check_len("code", &i.code, L::CODE)?;
        let code = parse_customer_code(&i.code)?;
        let name = required_text("name", &i.name, L::PRODUCT_NAME)?;
        let model = opt_text("model", i.model.as_deref(), L::PRODUCT_MODEL)?;
        let months = i.warranty_months.unwrap_or(12);
        if !(0..=L::WARRANTY_MONTHS_MAX).contains(&months) {
            return Err(DomainError::invalid("warranty_months", "errors.must_between_0_240").into());
        }
        let mut tx = self.store.begin().await?;
        let p = cs::insert_product(&mut tx.conn(), &code, &name, &model, months).await.entity("product")?;
        tx.audit(actor, AuditAction::Create, "product", p.id, None::<&()>, Some(&p)).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn add_asset(&self, actor: &Actor, customer_id: i64, i: &AssetInput) -> ServiceResult<Asset> {
        actor.require(Permission::WriteCustomers)?;
        let mut tx = self.store.begin().await?;
        let a = insert_asset(&mut tx, actor, customer_id, i).await?;
        tx.commit().await?;
        Ok(a)
    }

    pub async fn add_contract(&self, actor: &Actor, customer_id: i64, i: &ContractInput) -> ServiceResult<Contract> {
        actor.require(Permission::WriteCustomers)?;
        let mut tx = self.store.begin().await?;
        let k = insert_contract(&mut tx, actor, customer_id, i).await?;
        tx.commit().await?;
        Ok(k)
    }

    pub async fn add_communication(
        &self,
        actor: &Actor,
        customer_id: i64,
        i: &CommunicationInput,
    ) -> ServiceResult<Communication> {
        actor.require(Permission::WriteCustomers)?;
        let channel = Channel::parse(&i.channel)?;
        let direction = Direction::parse(&i.direction)?;
        let stage = Stage::parse(&i.stage)?;
        let subject = required_text("subject", &i.subject, L::COMMUNICATION_SUBJECT)?;
        check_len("content", i.content.as_deref().unwrap_or(""), L::COMMUNICATION_CONTENT)?;
        let content = i.content.as_deref().unwrap_or("").trim().to_owned();
        let follow_up = i.follow_up.unwrap_or(false);
        let due = parse_optional_date("follow_up_due", i.follow_up_due.as_deref().unwrap_or(""))?;
        if follow_up && due.is_none() {
            return Err(DomainError::invalid("follow_up_due", "errors.required_when_follow_up_needed").into());
        }
        let mut tx = self.store.begin().await?;
        cs::customer(&mut tx.conn(), customer_id).await.entity("customer")?;
        if let Some(cid) = i.contact_id {
            let ok = cs::contacts(&mut tx.conn(), customer_id).await?.iter().any(|k| k.id == cid);
            if !ok {
                return Err(DomainError::invalid("contact_id", "errors.not_contact_customer").into());
            }
        }
        let f = CommunicationFields {
            customer_id,
            contact_id: i.contact_id,
            occurred_at: i.occurred_at.unwrap_or_else(Utc::now),
            channel: channel.code().into(),
            direction: direction.code().into(),
            stage: stage.code().into(),
            subject,
            content,
            staff_id: actor.user_id,
            follow_up,
            follow_up_due: if follow_up { due } else { None },
            case_id: i.case_id,
        };
        let m = cs::insert_communication(&mut tx.conn(), &f).await?;
        tx.audit(actor, AuditAction::Create, "communication", m.id, None::<&()>, Some(&m)).await?;
        tx.commit().await?;
        Ok(m)
    }

    pub async fn communications(
        &self,
        actor: &Actor,
        customer_id: i64,
        page: Page,
    ) -> ServiceResult<Paged<Communication>> {
        actor.require(Permission::ReadCustomers)?;
        let mut h = self.store.read().await?;
        cs::customer(&mut h.conn(), customer_id).await.entity("customer")?;
        Ok(cs::communications(&mut h.conn(), customer_id, page).await?)
    }

    /// The actor's own open follow-ups, earliest due first.
    pub async fn my_follow_ups(&self, actor: &Actor) -> ServiceResult<Vec<(Communication, String)>> {
        let Some(uid) = actor.user_id else { return Ok(vec![]) };
        if !actor.can(Permission::ReadCustomers) {
            return Ok(vec![]);
        }
        let mut h = self.store.read().await?;
        let mut out = Vec::new();
        for m in cs::open_follow_ups(&mut h.conn(), uid).await? {
            let name = cs::customer(&mut h.conn(), m.customer_id).await?.name;
            out.push((m, name));
        }
        Ok(out)
    }

    pub async fn close_follow_up(&self, actor: &Actor, id: i64, version: i64) -> ServiceResult<Communication> {
        actor.require(Permission::WriteCustomers)?;
        let mut tx = self.store.begin().await?;
        let before = cs::communication(&mut tx.conn(), id).await.entity("communication")?;
        if !before.follow_up || before.follow_up_done_at.is_some() {
            return Err(DomainError::Conflict { reason: "errors.there_no_open_follow_up".into(), field: None }.into());
        }
        let after = cs::close_follow_up(&mut tx.conn(), id, version, Utc::now()).await.entity("communication")?;
        tx.audit(actor, AuditAction::Update, "communication", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Imports a whole file in one transaction: every row, or (on any bad row) none, with a stored
    /// per-row report. `progress(done, total)` is called as rows are processed.
    pub async fn import(
        &self,
        actor: &Actor,
        sheet: Sheet,
        file_name: &str,
        rows: &[Vec<String>],
        mut progress: impl FnMut(usize, usize),
    ) -> ServiceResult<ImportOutcome> {
        actor.require(Permission::WriteCustomers)?;
        let Some((header, data)) = rows.split_first() else {
            return Err(DomainError::invalid("file", "errors.file_empty").into());
        };
        let reject = |errors: Vec<RowError>| async move {
            let mut tx = self.store.begin().await?;
            let json = serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into());
            let id = cs::insert_import_report(&mut tx.conn(), sheet.code(), file_name, actor.user_id, &json).await?;
            tx.commit().await?;
            Ok::<_, crate::ServiceError>(ImportOutcome::Rejected { report_id: id, errors })
        };
        let pos = match map_headers(sheet, header) {
            Ok(p) => p,
            Err(errors) => return reject(errors).await,
        };
        let mut tx = self.store.begin().await?;
        let (imported, errors) = if sheet == Sheet::Customers {
            import_customers(&mut tx, actor, data, &pos, &mut progress).await?
        } else {
            import_rows(&mut tx, actor, sheet, data, &pos, &mut progress).await?
        };
        if errors.is_empty() {
            tx.commit().await?;
            Ok(ImportOutcome::Imported { rows: imported })
        } else {
            drop(tx);
            reject(errors).await
        }
    }

    /// (kind, file name, errors) of a rejected import: the uploader's own, or any for administrators.
    pub async fn import_report(&self, actor: &Actor, id: i64) -> ServiceResult<(String, String, Vec<RowError>)> {
        let mut h = self.store.read().await?;
        let (kind, file, by, json) = cs::import_report(&mut h.conn(), id).await.entity("import report")?;
        if by != actor.user_id {
            actor.require(Permission::ManageUsers)?;
        }
        #[derive(Deserialize)]
        struct E {
            row: usize,
            column: String,
            reason: String,
        }
        let errs: Vec<E> = serde_json::from_str(&json).map_err(|e| crate::ServiceError::Internal(e.to_string()))?;
        Ok((
            kind,
            file,
            errs.into_iter().map(|e| RowError { row: e.row, column: e.column, reason: e.reason }).collect(),
        ))
    }

    /// The rows of an export (header first), with the same columns the import reads.
    pub async fn export(&self, actor: &Actor, sheet: Sheet, chinese: bool) -> ServiceResult<Vec<Vec<String>>> {
        actor.require(Permission::ReadCustomers)?;
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        let mut rows = vec![headers(sheet, chinese)];
        let users: HashMap<i64, String> = org::users(c, &Default::default(), Page { page: 1, per_page: u32::MAX / 2 })
            .await?
            .items
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect();
        let products: HashMap<i64, String> = cs::products(c).await?.into_iter().map(|p| (p.id, p.code)).collect();
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let mut after = String::new();
        loop {
            let batch = cs::customers_after(c, &after, 1000).await?;
            let Some(last) = batch.last() else { break };
            after = last.code.clone();
            for k in batch {
                match sheet {
                    Sheet::Customers => rows.push(vec![
                        k.code.clone(),
                        k.name.clone(),
                        k.kind.clone(),
                        k.category.clone(),
                        if k.is_new { "1" } else { "0" }.into(),
                        k.region.clone(),
                        k.address.clone(),
                        k.phones.0.join("; "),
                        k.emails.0.join("; "),
                        k.tags.0.join("; "),
                        k.owner_id.and_then(|o| users.get(&o).cloned()).unwrap_or_default(),
                        k.notes.clone(),
                    ]),
                    Sheet::Contacts => {
                        for p in cs::contacts(c, k.id).await? {
                            rows.push(vec![
                                k.code.clone(),
                                p.name,
                                p.title,
                                p.phones.0.join("; "),
                                p.email,
                                if p.is_primary { "1" } else { "0" }.into(),
                            ]);
                        }
                    }
                    Sheet::Assets => {
                        for a in cs::assets(c, k.id).await? {
                            rows.push(vec![
                                k.code.clone(),
                                products.get(&a.product_id).cloned().unwrap_or_default(),
                                a.serial,
                                date(a.ship_date),
                                date(a.warranty_end),
                            ]);
                        }
                    }
                    Sheet::Contracts => {
                        for t in cs::contracts(c, k.id).await? {
                            rows.push(vec![
                                t.number,
                                k.code.clone(),
                                t.signed_on.to_string(),
                                format_cny(t.value_fen),
                                date(t.completed_on),
                                t.status,
                            ]);
                        }
                    }
                }
            }
        }
        Ok(rows)
    }
}

async fn insert_customer(tx: &mut Tx, actor: &Actor, input: &CustomerInput) -> ServiceResult<Customer> {
    let (code, mut f) = validate_customer(input)?;
    f.owner_id = owner_id(&mut tx.conn(), input.owner.as_deref()).await?;
    check_duplicates(&mut tx.conn(), code.as_deref(), &f, None).await?;
    f.code = match code {
        Some(c) => c,
        None => generated_customer_code(cs::next_counter(&mut tx.conn(), "customer", "").await?),
    };
    f.search_text = search_text(&f.code, &f.name, &f.phones.0, &[], &f.region);
    let c = cs::insert_customer(&mut tx.conn(), &f).await.entity("customer")?;
    tx.audit(actor, AuditAction::Create, "customer", c.id, None::<&()>, Some(&c)).await?;
    Ok(c)
}

async fn insert_contact(tx: &mut Tx, actor: &Actor, customer_id: i64, i: &ContactInput) -> ServiceResult<Contact> {
    let name = required_text("name", &i.name, L::CONTACT_NAME)?;
    let phones = parse_phones("phones", &i.phones.join(";"))?;
    let email = parse_emails("email", i.email.as_deref().unwrap_or(""))?;
    if email.len() > 1 {
        return Err(DomainError::invalid("email", "errors.give_one_e_mail_address").into());
    }
    let customer = cs::customer(&mut tx.conn(), customer_id).await.entity("customer")?;
    let f = ContactFields {
        customer_id,
        name,
        title: opt_text("title", i.title.as_deref(), L::CONTACT_TITLE)?,
        phones: StrList(phones),
        email: email.into_iter().next().unwrap_or_default(),
        is_primary: i.primary.unwrap_or(false),
    };
    let k = cs::insert_contact(&mut tx.conn(), &f).await?;
    let names = contact_names(&mut tx.conn(), customer_id).await?;
    let text = search_text(&customer.code, &customer.name, &customer.phones.0, &names, &customer.region);
    cs::set_customer_search_text(&mut tx.conn(), customer_id, &text).await?;
    tx.audit(actor, AuditAction::Create, "contact", k.id, None::<&()>, Some(&k)).await?;
    Ok(k)
}

async fn insert_asset(tx: &mut Tx, actor: &Actor, customer_id: i64, i: &AssetInput) -> ServiceResult<Asset> {
    let serial = required_text("serial", &i.serial, L::SERIAL)?;
    let ship = parse_optional_date("ship_date", i.ship_date.as_deref().unwrap_or(""))?;
    let given_end = parse_optional_date("warranty_end", i.warranty_end.as_deref().unwrap_or(""))?;
    cs::customer(&mut tx.conn(), customer_id).await.entity("customer")?;
    let code = i.product_code.trim().to_uppercase();
    let product = match cs::product_by_code(&mut tx.conn(), &code).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return Err(DomainError::invalid(
                "product_code",
                loopdesk_domain::reason!("errors.no_product_with_code", code),
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    if cs::asset_taken(&mut tx.conn(), product.id, &serial).await? {
        let reason = format!("serial {serial} of product {code} is already registered");
        return Err(DomainError::Conflict { reason, field: Some("serial") }.into());
    }
    // The warranty runs from shipment for the product's warranty months, unless given.
    let end =
        given_end.or_else(|| ship.and_then(|d| warranty_end(d, u32::try_from(product.warranty_months).unwrap_or(0))));
    let a =
        cs::insert_asset(&mut tx.conn(), customer_id, product.id, &serial, ship, end).await.map_err(|e| match e {
            StoreError::Conflict { .. } => DomainError::Conflict {
                reason: loopdesk_domain::reason!("errors.serial_product_already_registered", serial, code),
                field: Some("serial"),
            }
            .into(),
            e => crate::ServiceError::from(e),
        })?;
    tx.audit(actor, AuditAction::Create, "asset", a.id, None::<&()>, Some(&a)).await?;
    Ok(a)
}

async fn insert_contract(tx: &mut Tx, actor: &Actor, customer_id: i64, i: &ContractInput) -> ServiceResult<Contract> {
    let number = required_text("number", &i.number, L::CONTRACT_NUMBER)?;
    let f = ContractFields {
        number,
        customer_id,
        signed_on: parse_date("signed_on", &i.signed_on)?,
        value_fen: match i.value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => parse_cny("value", v)?,
            None => 0,
        },
        completed_on: parse_optional_date("completed_on", i.completed_on.as_deref().unwrap_or(""))?,
        status: match i.status.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(s) => ContractStatus::parse(s)?,
            None => ContractStatus::Active,
        }
        .code()
        .to_owned(),
    };
    if f.value_fen < 0 {
        return Err(DomainError::invalid("value", "errors.must_not_negative").into());
    }
    cs::customer(&mut tx.conn(), customer_id).await.entity("customer")?;
    if cs::contract_number_taken(&mut tx.conn(), &f.number).await? {
        let reason = format!("contract number {} already exists", f.number);
        return Err(DomainError::Conflict { reason, field: Some("number") }.into());
    }
    let k = cs::insert_contract(&mut tx.conn(), &f).await.entity("contract")?;
    tx.audit(actor, AuditAction::Create, "contract", k.id, None::<&()>, Some(&k)).await?;
    Ok(k)
}

/// Rows one by one (contacts, assets, contracts: each refers to existing records).
async fn import_rows(
    tx: &mut Tx,
    actor: &Actor,
    sheet: Sheet,
    data: &[Vec<String>],
    pos: &[Option<usize>],
    progress: &mut impl FnMut(usize, usize),
) -> ServiceResult<(usize, Vec<RowError>)> {
    let mut errors = Vec::new();
    let mut imported = 0;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let total = data.len();
    for (i, cells) in data.iter().enumerate() {
        let row = Row::new(i + 2, sheet, cells, pos);
        if row.is_blank() {
            continue;
        }
        // The same key twice in one file is a duplicate the database cannot see yet.
        let key = match sheet {
            Sheet::Contracts => row.get("number").to_owned(),
            Sheet::Assets => format!("{}|{}", row.get("product_code").to_uppercase(), row.get("serial")),
            _ => format!("{}|{}", row.get("customer_code").to_uppercase(), row.get("name")),
        };
        if let Some(first) = seen.insert(key, row.number) {
            errors.push(RowError {
                row: row.number,
                column: sheet.columns()[0].zh.into(),
                reason: format!("same as row {first}"),
            });
            continue;
        }
        match import_row(tx, actor, sheet, &row).await {
            Ok(()) => imported += 1,
            Err(crate::ServiceError::Domain(d)) => errors.push(row.error(d, sheet.columns()[0].key)),
            Err(other) => return Err(other),
        }
        if i % 200 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
        if errors.len() >= 1000 {
            errors.push(RowError {
                row: row.number,
                column: String::new(),
                reason: "too many errors; stopped checking".into(),
            });
            break;
        }
    }
    Ok((imported, errors))
}

/// A customer the duplicate check knows: (code, name, phones, row in this file or 0).
type Known = (String, String, Vec<String>, usize);

/// Customers in bulk: every row is checked in memory against an index of existing customers and
/// the rows above it, then all are written with multi-row statements.
async fn import_customers(
    tx: &mut Tx,
    actor: &Actor,
    data: &[Vec<String>],
    pos: &[Option<usize>],
    progress: &mut impl FnMut(usize, usize),
) -> ServiceResult<(usize, Vec<RowError>)> {
    let sheet = Sheet::Customers;
    let mut codes: HashMap<String, (usize, String)> = HashMap::new();
    // name key → (code, name, phones, row in this file or 0 for the database)
    let mut by_key: HashMap<String, Vec<Known>> = HashMap::new();
    for (_, code, name, key, phones) in cs::dedupe_index(&mut tx.conn()).await? {
        codes.insert(code.clone(), (0, name.clone()));
        by_key.entry(key).or_default().push((code, name, phones.0, 0));
    }
    let users: HashMap<String, i64> =
        org::users(&mut tx.conn(), &Default::default(), Page { page: 1, per_page: u32::MAX / 2 })
            .await?
            .items
            .into_iter()
            .map(|u| (u.username, u.id))
            .collect();
    let mut errors = Vec::new();
    let mut good: Vec<(usize, Option<String>, CustomerFields)> = Vec::new();
    let total = data.len();
    for (i, cells) in data.iter().enumerate() {
        let row = Row::new(i + 2, sheet, cells, pos);
        if row.is_blank() {
            continue;
        }
        let checked = (|| -> Result<(Option<String>, CustomerFields), DomainError> {
            let opt = |k: &str| Some(row.get(k).to_owned()).filter(|v| !v.is_empty());
            let input = CustomerInput {
                code: opt("code"),
                name: row.get("name").into(),
                kind: opt("kind"),
                category: opt("category"),
                is_new: Some(parse_flag("is_new", row.get("is_new"))?),
                region: opt("region"),
                address: opt("address"),
                phones: split_list(row.get("phones")),
                emails: split_list(row.get("emails")),
                tags: split_list(row.get("tags")),
                owner: None,
                notes: opt("notes"),
            };
            let (code, mut f) = validate_customer(&input)?;
            if let Some(o) = opt("owner") {
                f.owner_id = Some(*users.get(&o.to_lowercase()).ok_or_else(|| {
                    DomainError::invalid("owner", loopdesk_domain::reason!("errors.no_user_named_5", o))
                })?);
            }
            let same_row = |r: usize| if r == 0 { String::new() } else { format!(" (row {r} of this file)") };
            if let Some(c) = &code
                && let Some((r, name)) = codes.get(c)
            {
                return Err(DomainError::Conflict {
                    reason: loopdesk_domain::reason!(
                        "errors.customer_code_already_used_by",
                        c,
                        name,
                        same_row = same_row(*r)
                    ),
                    field: Some("code"),
                });
            }
            for (ec, en, ep, r) in by_key.get(&f.name_key).map(|v| v.as_slice()).unwrap_or(&[]) {
                let e = Existing { id: 0, code: ec, name: en, phones: ep };
                if let Some((field, reason)) = duplicate_reason(None, &f.name, &f.phones.0, &e) {
                    return Err(DomainError::Conflict {
                        reason: loopdesk_domain::reason!("errors.msg", reason, same_row = same_row(*r)),
                        field: Some(field),
                    });
                }
            }
            Ok((code, f))
        })();
        match checked {
            Ok((code, f)) => {
                if let Some(c) = &code {
                    codes.insert(c.clone(), (row.number, f.name.clone()));
                }
                by_key.entry(f.name_key.clone()).or_default().push((
                    code.clone().unwrap_or_default(),
                    f.name.clone(),
                    f.phones.0.clone(),
                    row.number,
                ));
                good.push((row.number, code, f));
            }
            Err(e) => errors.push(row.error(e, "name")),
        }
        if i % 500 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
        if errors.len() >= 1000 {
            errors.push(RowError {
                row: row.number,
                column: String::new(),
                reason: "too many errors; stopped checking".into(),
            });
            break;
        }
    }
    if !errors.is_empty() {
        return Ok((0, errors));
    }
    // Codes for rows that gave none, from one reservation of the counter.
    let missing = good.iter().filter(|(_, c, _)| c.is_none()).count() as i64;
    let mut next =
        if missing > 0 { cs::reserve_counter(&mut tx.conn(), "customer", "", missing).await? - missing + 1 } else { 0 };
    for (number, code, f) in good.iter_mut() {
        f.code = match code {
            Some(c) => c.clone(),
            None => {
                let c = generated_customer_code(next);
                next += 1;
                if codes.contains_key(&c) {
                    let reason = format!("the generated code {c} is already taken; give this row a code");
                    errors.push(RowError { row: *number, column: "客户编号".into(), reason });
                }
                c
            }
        };
        f.search_text = search_text(&f.code, &f.name, &f.phones.0, &[], &f.region);
    }
    if !errors.is_empty() {
        return Ok((0, errors));
    }
    let fields: Vec<CustomerFields> = good.into_iter().map(|(_, _, f)| f).collect();
    let inserted = cs::insert_customers(&mut tx.conn(), &fields).await.entity("customer")?;
    let events = inserted.iter().map(|k| PendingEvent::created("customer", k.id, k)).collect();
    tx.audit_batch(actor, events).await?;
    Ok((inserted.len(), vec![]))
}

async fn customer_id_by_code(tx: &mut Tx, code: &str) -> ServiceResult<i64> {
    let code = code.trim().to_uppercase();
    match cs::customer_by_code(&mut tx.conn(), &code).await {
        Ok(c) => Ok(c.id),
        Err(StoreError::NotFound) => {
            Err(DomainError::invalid("customer_code", loopdesk_domain::reason!("errors.no_customer_with_code", code))
                .into())
        }
        Err(e) => Err(e.into()),
    }
}

async fn import_row(tx: &mut Tx, actor: &Actor, sheet: Sheet, r: &Row<'_>) -> ServiceResult<()> {
    let opt = |k: &str| Some(r.get(k).to_owned()).filter(|v| !v.is_empty());
    match sheet {
        // Customers go through `import_customers`, in bulk.
        Sheet::Customers => Err(DomainError::invalid("kind", "errors.customers_are_imported_bulk").into()),
        Sheet::Contacts => {
            let id = customer_id_by_code(tx, r.get("customer_code")).await?;
            let input = ContactInput {
                name: r.get("name").into(),
                title: opt("title"),
                phones: split_list(r.get("phones")),
                email: opt("email"),
                primary: Some(parse_flag("primary", r.get("primary"))?),
            };
            insert_contact(tx, actor, id, &input).await.map(|_| ())
        }
        Sheet::Assets => {
            let id = customer_id_by_code(tx, r.get("customer_code")).await?;
            let input = AssetInput {
                product_code: r.get("product_code").into(),
                serial: r.get("serial").into(),
                ship_date: opt("ship_date"),
                warranty_end: opt("warranty_end"),
            };
            insert_asset(tx, actor, id, &input).await.map(|_| ())
        }
        Sheet::Contracts => {
            let id = customer_id_by_code(tx, r.get("customer_code")).await?;
            let input = ContractInput {
                number: r.get("number").into(),
                signed_on: r.get("signed_on").into(),
                value: opt("value"),
                completed_on: opt("completed_on"),
                status: opt("status"),
            };
            insert_contract(tx, actor, id, &input).await.map(|_| ())
        }
    }
}

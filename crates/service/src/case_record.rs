//! A case's record after intake (issue #14): corrections of the intake fields with the original
//! kept, the serious-injury answer, re-issuing the customer's tracking code, the grievances an
//! employee filed, and the case register export.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::case::{CaseType, Responsibility, Severity};
use loopdesk_domain::case_record::{self as rec, InjuryAnswer};
use loopdesk_domain::customer::{Coded, parse_optional_date};
use loopdesk_domain::org::required_text;
use loopdesk_domain::page::Page;
use loopdesk_domain::process::ProcessDefinition;
use loopdesk_store::cases::{self as ks, Case, CaseEvent, CaseFilter, NewEvent};
use loopdesk_store::customers as cs;
use loopdesk_store::{StoreError, org};
use serde::Deserialize;

use crate::cases::{definition_of, digest, tracking_code};
use crate::error::StoreResultExt;
use crate::{Service, ServiceError, ServiceResult};

/// A correction of the fields taken at intake. A field left out stays as it is; an empty text
/// clears an optional one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaseEdit {
    /// Links the case to a customer file (e.g. a case that came in through the portal).
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub product_code: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// YYYY-MM-DD, or empty to clear.
    pub ship_date: Option<String>,
    /// A code of the category tree (or its name).
    pub category: Option<String>,
    pub subject: Option<String>,
    pub description: Option<String>,
    /// The owner's username (投诉处理人员), or empty for none.
    pub owner: Option<String>,
    /// Did it cause or could it have caused serious injury or death? yes, no or unknown.
    pub serious_injury: Option<String>,
}

/// An optional text field: trimmed, at most `max` characters.
fn text(field: &str, v: &str, max: usize) -> Result<String, DomainError> {
    let t = v.trim();
    if t.contains('\0') {
        return Err(DomainError::invalid(field, "errors.must_not_contain_nul_character_2"));
    }
    if t.chars().count() > max {
        return Err(DomainError::invalid(field, loopdesk_domain::reason!("errors.must_at_most_characters", max)));
    }
    Ok(t.to_owned())
}

/// The editable fields of a case as text, for the timeline's before/after.
fn rendering(k: &Case, owner: &str) -> Vec<(&'static str, String)> {
    let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&k.fields).unwrap_or_default();
    let injury = extra.get("serious_injury").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    vec![
        ("customer_id", id(k.customer_id)),
        ("contact_id", id(k.contact_id)),
        ("contact_name", k.contact_name.clone()),
        ("contact_phone", k.contact_phone.clone()),
        ("contact_email", k.contact_email.clone()),
        ("product_code", k.product_code.clone()),
        ("model", k.model.clone()),
        ("serial", k.serial.clone()),
        ("ship_date", k.ship_date.map(|d| d.to_string()).unwrap_or_default()),
        ("category", k.category.clone()),
        ("subject", k.subject.clone()),
        ("description", k.description.clone()),
        ("owner", owner.to_owned()),
        ("serious_injury", injury),
    ]
}

/// Records the serious-injury answer in the case's fields with who gave it and when; "yes"
/// makes the case an adverse event, whose reportability must then be decided.
pub(crate) fn record_injury_answer(
    k: &mut Case,
    extra: &mut serde_json::Map<String, serde_json::Value>,
    answer: InjuryAnswer,
    actor: &Actor,
    at: DateTime<Utc>,
) {
    extra.insert("serious_injury".into(), answer.code().into());
    extra.insert("serious_injury_by".into(), actor.username.clone().into());
    extra.insert("serious_injury_at".into(), at.to_rfc3339().into());
    if answer == InjuryAnswer::Yes {
        k.adverse_event = true;
    }
}

/// Whether a complaint names a product (and so must answer the serious-injury question).
pub(crate) fn names_product(k: &Case) -> bool {
    k.product_id.is_some() || !k.product_code.is_empty() || !k.model.is_empty() || !k.serial.is_empty()
}

async fn username(c: &mut loopdesk_store::Conn<'_>, id: Option<i64>) -> ServiceResult<String> {
    Ok(match id {
        Some(id) => org::user(c, id).await.map(|u| u.username).unwrap_or_default(),
        None => String::new(),
    })
}

impl Service {
    /// Corrects fields taken at intake (staff with write rights, on the version read). The
    /// original values stay on the timeline and in the audit trail.
    pub async fn edit_case(&self, actor: &Actor, id: i64, version: i64, e: &CaseEdit) -> ServiceResult<Case> {
        actor.require(Permission::WriteCases)?;
        let mut tx = self.store.begin().await?;
        let before = ks::case(&mut tx.conn(), id).await.entity("case")?;
        // Hidden: "not found"; taking part through a task or an action item: "forbidden".
        crate::scope::handled(&mut tx.conn(), actor, &before).await?;
        if before.version != version {
            return Err(DomainError::stale("case").into());
        }
        let mut k = before.clone();
        let mut extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&k.fields).unwrap_or_default();
        if let Some(cid) = e.customer_id {
            cs::customer(&mut tx.conn(), cid).await.map_err(|err| match err {
                StoreError::NotFound => {
                    ServiceError::from(DomainError::invalid("customer_id", "errors.no_such_customer"))
                }
                err => err.into(),
            })?;
            if k.customer_id != Some(cid) {
                k.contact_id = None;
            }
            k.customer_id = Some(cid);
        }
        if let Some(kid) = e.contact_id {
            let cid =
                k.customer_id.ok_or_else(|| DomainError::invalid("contact_id", "errors.link_case_customer_first"))?;
            let contact = cs::contacts(&mut tx.conn(), cid)
                .await?
                .into_iter()
                .find(|c| c.id == kid)
                .ok_or_else(|| DomainError::invalid("contact_id", "errors.not_contact_customer"))?;
            if e.contact_name.is_none() && k.contact_name.is_empty() {
                k.contact_name = contact.name;
            }
            k.contact_id = Some(kid);
        }
        if let Some(v) = &e.contact_name {
            k.contact_name = text("contact_name", v, 200)?;
        }
        if let Some(v) = &e.contact_phone {
            k.contact_phone = text("contact_phone", v, 50)?;
        }
        if let Some(v) = &e.contact_email {
            k.contact_email = text("contact_email", v, 200)?;
        }
        if let Some(v) = &e.product_code {
            let code = text("product_code", v, 64)?.to_uppercase();
            k.product_id = if code.is_empty() {
                None
            } else {
                match cs::product_by_code(&mut tx.conn(), &code).await {
                    Ok(p) => Some(p.id),
                    Err(StoreError::NotFound) => None,
                    Err(err) => return Err(err.into()),
                }
            };
            k.product_code = code;
        }
        if let Some(v) = &e.model {
            k.model = text("model", v, 200)?;
        }
        if let Some(v) = &e.serial {
            k.serial = text("serial", v, 200)?;
        }
        if let Some(v) = &e.ship_date {
            k.ship_date = parse_optional_date("ship_date", v)?;
        }
        if let Some(v) = &e.category {
            let v = v.trim();
            if v.is_empty() {
                k.category = String::new();
            } else {
                let cats = ks::categories(&mut tx.conn()).await?;
                let cat = cats.iter().find(|c| c.code == v || c.zh == v || c.en.eq_ignore_ascii_case(v)).ok_or_else(
                    || DomainError::invalid("category", loopdesk_domain::reason!("errors.not_category_tree", v)),
                )?;
                k.category = cat.code.clone();
            }
        }
        if let Some(v) = &e.subject {
            k.subject = required_text("subject", v, 200)?;
        }
        if let Some(v) = &e.description {
            let d = v.trim();
            if d.is_empty() {
                return Err(DomainError::invalid("description", "errors.required").into());
            }
            k.description = text("description", d, 20_000)?;
        }
        if let Some(v) = &e.owner {
            let v = text("owner", v, 64)?.to_lowercase();
            k.owner_id = if v.is_empty() {
                None
            } else {
                let (u, _) = org::user_for_login(&mut tx.conn(), &v).await.map_err(|_| {
                    DomainError::invalid("owner", loopdesk_domain::reason!("errors.no_user_named_3", v))
                })?;
                if !u.active {
                    return Err(DomainError::invalid("owner", loopdesk_domain::reason!("errors.deactivated", v)).into());
                }
                Some(u.id)
            };
        }
        let now = crate::cases::micros(self.now());
        if let Some(v) = &e.serious_injury {
            let answer = InjuryAnswer::parse(v)?;
            let same = extra.get("serious_injury").and_then(|x| x.as_str()) == Some(answer.code());
            if !same {
                record_injury_answer(&mut k, &mut extra, answer, actor, now);
            }
        }
        k.fields = serde_json::to_string(&extra).map_err(|err| ServiceError::Internal(err.to_string()))?;
        let owner_before = username(&mut tx.conn(), before.owner_id).await?;
        let owner_after = username(&mut tx.conn(), k.owner_id).await?;
        let changes = rec::changes(&rendering(&before, &owner_before), &rendering(&k, &owner_after));
        if changes.is_empty() && k.adverse_event == before.adverse_event {
            return Ok(before);
        }
        let saved = ks::edit_case(&mut tx.conn(), &k, version).await.entity("case")?;
        let body = rec::describe(&changes);
        let ev = NewEvent {
            case_id: id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "edited",
            fields: serde_json::json!({ "changes": changes }).to_string(),
            body: &body,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Update, "case", id, Some(&before), Some(&saved)).await?;
        self.tell_case_changed(&mut tx, &before.state, before.owner_id, &saved).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Issues a new tracking code for the customer; the old one stops working. Returned once.
    pub async fn reissue_tracking_code(&self, actor: &Actor, id: i64, version: i64) -> ServiceResult<(Case, String)> {
        actor.require(Permission::WriteCases)?;
        let mut tx = self.store.begin().await?;
        let before = ks::case(&mut tx.conn(), id).await.entity("case")?;
        crate::scope::handled(&mut tx.conn(), actor, &before).await?;
        if before.version != version {
            return Err(DomainError::stale("case").into());
        }
        let code = tracking_code();
        let saved = ks::set_tracking_hash(&mut tx.conn(), id, version, &digest(&code)).await.entity("case")?;
        let ev = NewEvent {
            case_id: id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "tracking_code_reissued",
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(
            actor,
            AuditAction::Update,
            "case",
            id,
            None::<&()>,
            Some(&serde_json::json!({ "tracking_code": "reissued" })),
        )
        .await?;
        tx.commit().await?;
        Ok((saved, code))
    }

    /// The grievances the signed-in employee filed, newest first.
    pub async fn filed_grievances(&self, actor: &Actor) -> ServiceResult<Vec<Case>> {
        actor.require(Permission::SignIn)?;
        let Some(uid) = actor.user_id else { return Ok(vec![]) };
        let mut h = self.store.read().await?;
        let mut out = Vec::new();
        for k in ks::cases_filed_by(&mut h.conn(), uid, CaseType::Grievance.code()).await? {
            if crate::scope::follows_own_filing(&mut h.conn(), actor, &k).await? {
                out.push(k);
            }
        }
        Ok(out)
    }

    /// One grievance the employee filed, with the steps taken so far and the process it follows.
    pub async fn filed_grievance(
        &self,
        actor: &Actor,
        id: i64,
    ) -> ServiceResult<(Case, Vec<CaseEvent>, ProcessDefinition)> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        let k = ks::case(&mut h.conn(), id).await.entity("case")?;
        if !crate::scope::follows_own_filing(&mut h.conn(), actor, &k).await? {
            return Err(DomainError::NotFound { entity: "case" }.into());
        }
        let events = ks::events(&mut h.conn(), id, false).await?;
        let def = definition_of(&mut h.conn(), &k).await?;
        // The employee sees the steps and their times, not the handlers' internal notes.
        let events = events.into_iter().filter(|e| e.kind == "created" || e.kind == "transition").collect();
        Ok((k, events, def))
    }

    /// Evidence (photos, videos, PDFs) the customer adds on the portal with the number and
    /// tracking code: at most five files per case, within the size and type limits.
    pub async fn add_portal_evidence(
        &self,
        number: &str,
        code: &str,
        file_name: &str,
        data: &[u8],
    ) -> ServiceResult<ks::Attachment> {
        let (k, _, _) = self.public_case(number, code).await?;
        if k.closed_at.is_some() {
            return Err(DomainError::Conflict { reason: "errors.case_closed".into(), field: Some("file") }.into());
        }
        let already = {
            let mut h = self.store.read().await?;
            ks::attachments(&mut h.conn(), k.id).await?.iter().filter(|a| a.uploaded_by == "customer").count()
        };
        rec::check_portal_file(file_name, data.len(), already)?;
        // The portal's own actor: the tracking code, checked above, is what lets it add here.
        let customer = Actor { username: "customer".into(), ..Actor::portal() };
        self.store_attachment(&customer, k.id, file_name, data, true, false).await
    }

    /// The running clocks of a grievance the actor filed: when its next steps fall due.
    pub async fn case_clocks_for_filer(&self, actor: &Actor, id: i64) -> ServiceResult<Vec<ks::ClockRow>> {
        self.filed_grievance(actor, id).await?;
        let mut h = self.store.read().await?;
        Ok(ks::clocks(&mut h.conn(), id).await?.into_iter().filter(|r| r.state == "running").collect())
    }

    /// The case register (客户投诉登记表) over the list's filters: a header row in Chinese or
    /// English and one row per case, with names rather than codes; at most 50,000 rows.
    pub async fn case_register(&self, actor: &Actor, f: CaseFilter, chinese: bool) -> ServiceResult<Vec<Vec<String>>> {
        const MAX_ROWS: usize = 50_000;
        let tz = self.settings.timezone;
        let mut rows = vec![rec::register_headers(chinese)];
        let mut h = self.store.read().await?;
        let c = &mut h.conn();
        let cats: HashMap<String, (String, String)> =
            ks::categories(c).await?.into_iter().map(|k| (k.code, (k.zh, k.en))).collect();
        let depts: HashMap<i64, String> = org::departments(c).await?.into_iter().map(|d| (d.id, d.name)).collect();
        let users: HashMap<i64, String> = org::users(c, &Default::default(), Page { page: 1, per_page: u32::MAX / 2 })
            .await?
            .items
            .into_iter()
            .map(|u| (u.id, if u.display_name.is_empty() { u.username } else { u.display_name }))
            .collect();
        let mut customers: HashMap<i64, String> = HashMap::new();
        let mut states: HashMap<String, (String, String)> = HashMap::new();
        for t in loopdesk_domain::process::CASE_TYPES {
            if let Some(d) = loopdesk_domain::process::default_definition(t) {
                for s in d.states {
                    states.entry(s.code).or_insert((s.zh, s.en));
                }
            }
        }
        drop(h);
        let pick = |(zh, en): (&str, &str)| if chinese { zh } else { en }.to_owned();
        let time = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
        };
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let mut page = 1u32;
        loop {
            let batch = self.cases(actor, f.clone(), Page { page, per_page: 500 }).await?;
            let n = batch.items.len();
            let mut h = self.store.read().await?;
            for k in batch.items {
                let customer = match k.customer_id {
                    Some(id) => match customers.get(&id) {
                        Some(n) => n.clone(),
                        None => {
                            let name = cs::customer(&mut h.conn(), id).await.map(|c| c.name).unwrap_or_default();
                            customers.insert(id, name.clone());
                            name
                        }
                    },
                    None => String::new(),
                };
                let label = |code: &str, f: fn(&str) -> Option<(&'static str, &'static str)>| {
                    f(code).map(pick).unwrap_or_else(|| code.to_owned())
                };
                rows.push(vec![
                    k.number.clone(),
                    label(&k.case_type, |c| CaseType::parse(c).ok().map(|v| v.labels())),
                    time(Some(k.received_at)),
                    label(&k.channel, |c| loopdesk_domain::case::IntakeChannel::parse(c).ok().map(|v| v.labels())),
                    customer,
                    k.contact_name.clone(),
                    k.contact_phone.clone(),
                    k.product_code.clone(),
                    k.model.clone(),
                    k.serial.clone(),
                    date(k.ship_date),
                    k.subject.clone(),
                    cats.get(&k.category)
                        .map(|(zh, en)| pick((zh.as_str(), en.as_str())))
                        .unwrap_or_else(|| k.category.clone()),
                    label(&k.severity, |c| Severity::parse(c).ok().map(|v| v.labels())),
                    label(&k.responsibility, |c| Responsibility::parse(c).ok().map(|v| v.labels())),
                    k.lead_department_id.and_then(|d| depts.get(&d).cloned()).unwrap_or_default(),
                    k.owner_id.and_then(|u| users.get(&u).cloned()).unwrap_or_default(),
                    states
                        .get(&k.state)
                        .map(|(zh, en)| pick((zh.as_str(), en.as_str())))
                        .unwrap_or_else(|| k.state.clone()),
                    time(k.next_due_at),
                    time(k.closed_at),
                ]);
                if rows.len() > MAX_ROWS {
                    return Err(DomainError::invalid(
                        "filters",
                        loopdesk_domain::reason!("errors.more_than_cases_match_narrow", MAX_ROWS),
                    )
                    .into());
                }
            }
            if n < 500 {
                break;
            }
            page += 1;
        }
        Ok(rows)
    }
}

/// Checks that a complaint about a product has its serious-injury question answered before
/// it is assessed (ISO 13485 8.2.2; the answer may come with the assessment itself).
pub(crate) fn check_injury_answered(
    k: &Case,
    to_state: &str,
    extra: &std::collections::BTreeMap<String, String>,
) -> Result<(), DomainError> {
    if to_state == "assessed"
        && rec::injury_question_applies(&k.case_type, names_product(k))
        && !extra.contains_key("serious_injury")
    {
        return Err(DomainError::invalid("serious_injury", "errors.answer_yes_no_unknown_did"));
    }
    Ok(())
}

/// The timeline's text for the task numbers of a case: task id → number, in the order given.
pub fn task_numbers(case_number: &str, tasks: &[ks::CaseTask]) -> HashMap<i64, String> {
    let mut ids: Vec<i64> = tasks.iter().map(|t| t.id).collect();
    ids.sort_unstable();
    ids.into_iter().enumerate().map(|(n, id)| (id, rec::task_number(case_number, n + 1))).collect()
}

//! Feedback and complaint cases (spec C3, C4): intake, numbering, process definitions,
//! transitions with roles and required fields, the timeline, and the customer's tracking code.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, ActorKind, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::case::{CaseType, IntakeChannel, NumberFormat, Responsibility, Severity, check_responsibility};
use loopdesk_domain::customer::{Coded, parse_optional_date};
use loopdesk_domain::org::required_text;
use loopdesk_domain::page::{Page, Paged};
use loopdesk_domain::process::{ClockAction, ProcessDefinition, RecordKind, Taker, default_definition};
use loopdesk_domain::sla::{self, Clock, ClockState, EscalationStep, Watch, target_for};
use loopdesk_store::bulk;
use loopdesk_store::cases::{
    self as ks, Case, CaseEvent, CaseFilter, CaseTask, Meeting, MeetingAction, NewCase, NewEvent, NewMeeting,
};
use loopdesk_store::customers as cs;
use loopdesk_store::{Conn, StoreError, Tx, org};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::StoreResultExt;
use crate::scope::{handled, readable};
use crate::{Service, ServiceError, ServiceResult};

/// What writing a case looks up — process definitions, the clock policies, calendars — read and
/// parsed once per transaction. A group-commit batch writes many cases with one `Lookups`; a
/// definition, policy or calendar saved while a batch runs applies from the next batch on, as if
/// the batch's cases had been registered a moment earlier (on SQLite the batch holds the write
/// lock, so nothing can be saved meanwhile).
#[derive(Default)]
pub(crate) struct Lookups {
    definitions: BTreeMap<String, (i64, ProcessDefinition)>,
    policies: Option<std::sync::Arc<loopdesk_domain::sla::PolicySet>>,
    calendars: BTreeMap<String, loopdesk_domain::calendar::Calendar>,
    /// When these were first read, and the service's rules generation then.
    since: Option<(std::time::Instant, u64)>,
}

/// How long intake's writer keeps using what it looked up, across batches. A change made through
/// this process ends it at once; one made by another node or the CLI within this time.
const LOOKUPS_KEPT: std::time::Duration = std::time::Duration::from_secs(1);

impl Lookups {
    /// Empty lookups that may be kept while the rules stay at `generation`.
    pub(crate) fn keepable(generation: u64) -> Lookups {
        Lookups { since: Some((std::time::Instant::now(), generation)), ..Default::default() }
    }

    /// Whether these may still be used: young enough, and no rule changed since.
    pub(crate) fn still_good(&self, generation: u64) -> bool {
        self.since.is_some_and(|(t, g)| g == generation && t.elapsed() < LOOKUPS_KEPT)
    }

    /// The current definition of `case_type`: (version, initial state, clocks started at intake).
    async fn definition(&mut self, tx: &mut Tx, case_type: &str) -> ServiceResult<(i64, String, Vec<String>)> {
        if !self.definitions.contains_key(case_type) {
            let d = current_definition(tx, case_type).await?;
            self.definitions.insert(case_type.to_owned(), d);
        }
        let (v, d) = self
            .definitions
            .get(case_type)
            .ok_or_else(|| ServiceError::Internal(format!("definition of {case_type} went missing")))?;
        Ok((*v, d.initial.clone(), d.start_clocks.clone()))
    }

    async fn policies(&mut self, tx: &mut Tx) -> ServiceResult<std::sync::Arc<loopdesk_domain::sla::PolicySet>> {
        if let Some(p) = &self.policies {
            return Ok(p.clone());
        }
        let p = std::sync::Arc::new(crate::escalation::current_policies(tx).await?);
        self.policies = Some(p.clone());
        Ok(p)
    }

    async fn calendar(
        &mut self,
        tx: &mut Tx,
        code: &str,
        tz: chrono_tz::Tz,
    ) -> ServiceResult<&loopdesk_domain::calendar::Calendar> {
        if !self.calendars.contains_key(code) {
            let c = calendar_for(tx, code, tz).await?;
            self.calendars.insert(code.to_owned(), c);
        }
        self.calendars.get(code).ok_or_else(|| ServiceError::Internal(format!("calendar {code} went missing")))
    }
}

/// A new case whose fields passed every check that needs no database.
#[derive(Debug, Clone)]
pub(crate) struct CheckedCase {
    input: CaseInput,
    case_type: CaseType,
    subject: String,
    description: String,
    channel: IntakeChannel,
    severity: Option<Severity>,
    ship_date: Option<chrono::NaiveDate>,
    locale: loopdesk_domain::locale::Locale,
    received_at: DateTime<Utc>,
    customer_deadline: Option<chrono::NaiveDate>,
    /// Made before the case reaches the intake writer (it holds SQLite's single write lock):
    /// the tracking code, its hash and the acknowledgement rendered with a slot for the number.
    tracking_code: String,
    tracking_hash: String,
    ack: Option<loopdesk_domain::notify::Rendered>,
}

/// A new case as typed by staff or sent by an API client.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaseInput {
    pub case_type: String,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub channel: Option<String>,
    pub product_code: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub ship_date: Option<String>,
    pub subject: String,
    pub description: String,
    pub severity: Option<String>,
    pub lead_department_id: Option<i64>,
    pub adverse_event: Option<bool>,
    /// The customer's language for the portal and replies (zh-CN or en).
    pub locale: Option<String>,
    /// The customer's own deadline (`YYYY-MM-DD`, the end of that day in the organisation's zone):
    /// the resolution clock falls due no later than it.
    pub customer_deadline: Option<String>,
}

/// A coordination meeting as recorded (重大投诉协调会).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MeetingInput {
    pub held_at: Option<DateTime<Utc>>,
    pub place: Option<String>,
    pub attendees: String,
    pub minutes: String,
    pub decisions: Option<String>,
    pub actions: Vec<ActionInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionInput {
    pub description: String,
    /// Username of the person responsible.
    pub owner: String,
    /// YYYY-MM-DD
    pub due_date: String,
}

/// A created case and, once only, the customer's tracking code.
#[derive(Debug, Clone)]
pub struct Created {
    pub case: Case,
    /// The service-level clocks registration started.
    pub clocks: Vec<ks::ClockRow>,
    pub tracking_code: String,
}

/// A new case checked against the database and ready to be numbered and written.
pub(crate) struct Prepared {
    rows: bulk::NewCaseRows,
    tracking_code: String,
    ack: Option<loopdesk_domain::notify::Rendered>,
}

/// `t` without its nanoseconds: PostgreSQL keeps microseconds, and a case answered from memory
/// must equal the case read back.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// Largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// The content type an attachment is served with: known evidence types by extension, anything
/// else as a plain download.
pub fn content_type_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub(crate) fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

// Who sees a case is decided by `domain::scope::case_access`, asked through `crate::scope`.

/// The definition a case type starts with now (see `crate::process`).
async fn current_definition(tx: &mut Tx, case_type: &str) -> ServiceResult<(i64, ProcessDefinition)> {
    crate::process::current_definition(tx, RecordKind::Case, case_type).await
}

/// The definition a case runs on (the version it started with).
pub(crate) async fn definition_of(c: &mut Conn<'_>, k: &Case) -> ServiceResult<ProcessDefinition> {
    crate::process::definition_at(c, RecordKind::Case, &k.case_type, k.definition_version).await
}

pub(crate) fn tracking_code() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>())
}

fn opt(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or("").to_owned()
}

impl Service {
    pub fn number_format(&self) -> &NumberFormat {
        &self.settings.number_format
    }

    /// Registers a case. Staff need `WriteCases`; the portal calls this with the system actor.
    /// The input is checked here; the writing joins the group commit (`crate::intake`), so many
    /// concurrent registrations share one durable commit, and this returns only after it.
    pub async fn create_case(&self, actor: &Actor, i: &CaseInput) -> ServiceResult<Created> {
        // The portal registers what a customer submits; everyone else needs the permission.
        if actor.kind != ActorKind::Portal {
            actor.require(Permission::WriteCases)?;
        }
        let checked = self.check_case_input(i)?;
        if actor.kind == ActorKind::Portal && checked.case_type == CaseType::Grievance {
            return Err(DomainError::invalid("type", "errors.employee_channel_internal").into());
        }
        crate::intake::submit(self, actor.clone(), checked).await
    }

    /// Everything about a new case that can be checked without the database.
    fn check_case_input(&self, i: &CaseInput) -> ServiceResult<CheckedCase> {
        let case_type = CaseType::parse(&i.case_type).map_err(|_| {
            DomainError::invalid(
                "type",
                loopdesk_domain::reason!(
                    "errors.must_one_3",
                    case_types = loopdesk_domain::process::CASE_TYPES.join(", ")
                ),
            )
        })?;
        let subject = required_text("subject", &i.subject, 200)?;
        let description = i.description.trim().to_owned();
        if description.is_empty() {
            return Err(DomainError::invalid("description", "errors.required").into());
        }
        if i.description.chars().count() > 20_000 {
            return Err(DomainError::invalid("description", "errors.must_at_most_20000_characters").into());
        }
        let channel = match i.channel.as_deref() {
            Some(c) => IntakeChannel::parse(c)?,
            None => IntakeChannel::Phone,
        };
        let severity = i.severity.as_deref().filter(|s| !s.trim().is_empty()).map(Severity::parse).transpose()?;
        let ship_date = parse_optional_date("ship_date", i.ship_date.as_deref().unwrap_or(""))?;
        let locale = match i.locale.as_deref() {
            Some(l) => loopdesk_domain::locale::Locale::parse(l)
                .ok_or_else(|| DomainError::invalid("locale", "errors.must_zh_cn_en"))?,
            None => self.settings.default_locale,
        };
        let received_at = micros(i.received_at.unwrap_or_else(|| self.now()));
        loopdesk_domain::input::check_received_at(received_at)?;
        if received_at > self.now() + chrono::Duration::minutes(5) {
            return Err(DomainError::invalid("received_at", "errors.lies_future").into());
        }
        let received_on = received_at.with_timezone(&self.settings.timezone).date_naive();
        let customer_deadline =
            sla::parse_customer_deadline(i.customer_deadline.as_deref().unwrap_or(""), received_on)?;
        let code = tracking_code();
        let tracking_hash = digest(&code);
        let ack = match i.contact_id {
            // A contact's name and address are read in the writer: rendered there.
            Some(_) => None,
            None => {
                self.acknowledgement_template(locale, &subject, &opt(&i.contact_name), &opt(&i.contact_email), &code)
            }
        };
        Ok(CheckedCase {
            tracking_code: code,
            tracking_hash,
            ack,
            input: i.clone(),
            case_type,
            subject,
            description,
            channel,
            severity,
            ship_date,
            locale,
            received_at,
            customer_deadline,
        })
    }

    /// Writes a checked case inside `tx`: the parts that need the database (customer, contact,
    /// product, department), the gap-free number, the first event, the clocks and the audit event.
    /// An error leaves the transaction for the caller to roll back (to its savepoint).
    /// Looks up and checks everything a new case refers to (customer, contact, product,
    /// department) and works out its row and the clocks it starts. Reads only: a case that fails
    /// here has written nothing.
    pub(crate) async fn prepare_case(
        &self,
        tx: &mut Tx,
        lookups: &mut Lookups,
        actor: &Actor,
        c: &CheckedCase,
    ) -> ServiceResult<Prepared> {
        let CheckedCase {
            input: i,
            case_type,
            subject,
            description,
            channel,
            severity,
            ship_date,
            locale,
            received_at,
            customer_deadline,
            tracking_code: code,
            tracking_hash,
            ack,
        } = c;
        let (case_type, channel, severity, locale, received_at) =
            (*case_type, *channel, *severity, *locale, *received_at);
        let (version, initial, start_clocks) = lookups.definition(tx, case_type.code()).await?;
        let (mut contact_name, mut contact_phone, mut contact_email) =
            (opt(&i.contact_name), opt(&i.contact_phone), opt(&i.contact_email));
        if let Some(cid) = i.customer_id {
            let customer = cs::customer(&mut tx.conn(), cid).await.map_err(|e| match e {
                StoreError::NotFound => {
                    ServiceError::from(DomainError::invalid("customer_id", "errors.no_such_customer"))
                }
                e => e.into(),
            })?;
            if let Some(kid) = i.contact_id {
                let contact = cs::contacts(&mut tx.conn(), cid)
                    .await?
                    .into_iter()
                    .find(|k| k.id == kid)
                    .ok_or_else(|| DomainError::invalid("contact_id", "errors.not_contact_customer"))?;
                contact_name = if contact_name.is_empty() { contact.name } else { contact_name };
                contact_phone = if contact_phone.is_empty() {
                    contact.phones.0.first().cloned().unwrap_or_default()
                } else {
                    contact_phone
                };
                contact_email = if contact_email.is_empty() { contact.email } else { contact_email };
            } else if contact_phone.is_empty() {
                contact_phone = customer.phones.0.first().cloned().unwrap_or_default();
            }
        } else if i.contact_id.is_some() {
            return Err(DomainError::invalid("contact_id", "errors.give_customer_id_with_contact").into());
        }
        let product_id = match i.product_code.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(code) => match cs::product_by_code(&mut tx.conn(), &code.to_uppercase()).await {
                Ok(p) => Some(p.id),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        if let Some(d) = i.lead_department_id {
            org::department(&mut tx.conn(), d)
                .await
                .map_err(|_| DomainError::invalid("lead_department_id", "errors.no_such_department"))?;
        }
        let severity = severity.map(|s| s.code().to_owned()).unwrap_or_default();
        let tz = self.settings.timezone;
        let set = lookups.policies(tx).await?;
        let mut clocks = Vec::new();
        for name in &start_clocks {
            // A department named at intake needs no clock to have one named.
            if name == "lead_department" && i.lead_department_id.is_some() {
                continue;
            }
            let Some(target) = target_for(&set.policies, case_type.code(), &severity, name) else { continue };
            let cal = lookups.calendar(tx, &target.calendar, tz).await?;
            let mut clock = Clock::start(target, cal, received_at)?;
            cap_by_customer_deadline(&mut clock, *customer_deadline, tz);
            clocks.push(to_row(0, &clock, None, &set.escalation));
        }
        let case = NewCase {
            number: String::new(),
            case_type: case_type.code().into(),
            definition_version: version,
            state: initial,
            customer_id: i.customer_id,
            contact_id: i.contact_id,
            contact_name,
            contact_phone,
            contact_email,
            received_at,
            channel: channel.code().into(),
            product_id,
            model: opt(&i.model),
            serial: opt(&i.serial),
            product_code: opt(&i.product_code).to_uppercase(),
            ship_date: *ship_date,
            subject: subject.clone(),
            description: description.clone(),
            fields: match customer_deadline {
                Some(d) => serde_json::json!({ "customer_deadline": d.to_string() }).to_string(),
                None => String::new(),
            },
            severity,
            lead_department_id: i.lead_department_id,
            owner_id: None,
            confidential: case_type == CaseType::Grievance,
            adverse_event: i.adverse_event.unwrap_or(false),
            locale: locale.code().into(),
            tracking_hash: tracking_hash.clone(),
        };
        Ok(Prepared {
            rows: bulk::NewCaseRows {
                case,
                actor_id: actor.user_id,
                actor: actor.username.clone(),
                event_fields: serde_json::json!({ "clocks_started": start_clocks }).to_string(),
                clocks,
            },
            tracking_code: code.clone(),
            ack: ack.clone(),
        })
    }

    /// Numbers prepared cases from the yearly counters, in the order given, and writes them with
    /// one statement per table and their audit events; returns them as stored.
    pub(crate) async fn register_prepared(
        &self,
        tx: &mut Tx,
        actors: &[&Actor],
        prepared: Vec<Prepared>,
    ) -> ServiceResult<Vec<Created>> {
        let tz = self.settings.timezone;
        let mut rows = Vec::with_capacity(prepared.len());
        let mut codes = Vec::with_capacity(prepared.len());
        let mut templates = Vec::with_capacity(prepared.len());
        let mut periods: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (n, p) in prepared.into_iter().enumerate() {
            periods.entry(NumberFormat::period(p.rows.case.received_at, tz)).or_default().push(n);
            rows.push(p.rows);
            codes.push(p.tracking_code);
            templates.push(p.ack);
        }
        for (period, members) in &periods {
            let n = i64::try_from(members.len()).unwrap_or(i64::MAX);
            let last = cs::reserve_counter(&mut tx.conn(), "case", period, n).await?;
            let year: i32 = period.parse().unwrap_or(0);
            for (&m, seq) in members.iter().zip(last - n + 1..) {
                rows[m].case.number = self.number_format().format(year, seq);
            }
        }
        let now = micros(self.now());
        let mut ins = bulk::Inserts::default();
        let stored = bulk::register_cases(&mut tx.conn(), &mut ins, now, rows).await?;
        let events = stored
            .iter()
            .zip(actors)
            .map(|((k, _), a)| (*a, loopdesk_store::audit::PendingEvent::created("case", k.id, k)))
            .collect();
        tx.audit_into(events, &mut ins).await?;
        let acks: Vec<(&Case, &str, Option<&loopdesk_domain::notify::Rendered>)> =
            stored.iter().zip(&codes).zip(&templates).map(|(((k, _), c), t)| (k, c.as_str(), t.as_ref())).collect();
        loopdesk_store::outbox::add_to(&mut ins, &self.acknowledgements(&acks));
        let destinations = loopdesk_store::destinations::active(&mut tx.conn()).await?;
        if !destinations.is_empty() {
            for (k, _) in &stored {
                let ev = crate::notify::CaseEvent::created();
                loopdesk_store::outbox::add_to(&mut ins, &self.destination_messages(&destinations, k, &ev, now));
            }
        }
        ins.run(&mut tx.conn()).await?;
        let registrations: Vec<_> =
            stored.iter().zip(actors).map(|((k, _), a)| (k.id, a.user_id, a.department_id)).collect();
        loopdesk_store::scope::insert_registrations(&mut tx.conn(), &registrations).await?;
        Ok(stored
            .into_iter()
            .zip(codes)
            .map(|((case, clocks), tracking_code)| Created { case, clocks, tracking_code })
            .collect())
    }

    pub async fn case(&self, actor: &Actor, id: i64) -> ServiceResult<Case> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        let k = ks::case(&mut h.conn(), id).await.entity("case")?;
        // Hidden cases are reported as absent, not as forbidden.
        readable(&mut h.conn(), actor, &k).await?;
        Ok(k)
    }

    pub async fn case_by_number(&self, actor: &Actor, number: &str) -> ServiceResult<Case> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        let k = ks::case_by_number(&mut h.conn(), number.trim()).await.entity("case")?;
        readable(&mut h.conn(), actor, &k).await?;
        Ok(k)
    }

    pub async fn cases(&self, actor: &Actor, mut f: CaseFilter, page: Page) -> ServiceResult<Paged<Case>> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        f.scope = Some(crate::scope::list_filter(&mut h.conn(), actor).await?);
        Ok(ks::cases(&mut h.conn(), &f, page).await?)
    }

    /// The terminal states of every case type's current definitions (for "open cases" filters).
    pub async fn terminal_states(&self) -> ServiceResult<Vec<String>> {
        let mut out = Vec::new();
        for t in loopdesk_domain::process::CASE_TYPES {
            if let Some(d) = default_definition(t) {
                out.extend(d.states.into_iter().filter(|s| s.terminal).map(|s| s.code));
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    pub async fn case_definition(&self, actor: &Actor, k: &Case) -> ServiceResult<ProcessDefinition> {
        actor.require(Permission::ReadCases)?;
        let mut h = self.store.read().await?;
        definition_of(&mut h.conn(), k).await
    }

    /// The case's service-level clocks.
    pub async fn clocks(&self, actor: &Actor, id: i64) -> ServiceResult<Vec<ks::ClockRow>> {
        self.case(actor, id).await?;
        let mut h = self.store.read().await?;
        Ok(ks::clocks(&mut h.conn(), id).await?)
    }

    pub async fn history(&self, actor: &Actor, id: i64) -> ServiceResult<Vec<CaseEvent>> {
        self.case(actor, id).await?;
        let mut h = self.store.read().await?;
        Ok(ks::events(&mut h.conn(), id, false).await?)
    }

    /// Takes a transition of the case's process definition. `version` is the case version read;
    /// `fields` carries the values the transition requires.
    pub async fn transition(
        &self,
        actor: &Actor,
        id: i64,
        code: &str,
        version: i64,
        fields: &BTreeMap<String, String>,
    ) -> ServiceResult<Case> {
        actor.require(Permission::WriteCases)?;
        if code == "merge" {
            return Err(DomainError::invalid("transition", "errors.merge_case_with_merge_action").into());
        }
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), id).await.entity("case")?;
        handled(&mut tx.conn(), actor, &k).await?;
        let (state_before, owner_before) = (k.state.clone(), k.owner_id);
        let after = apply_transition(&mut tx, actor, k, code, version, fields, self.how(false)).await?;
        self.tell_case_changed(&mut tx, &state_before, owner_before, &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A comment on the timeline; a public one is a message the customer sees on the portal.
    pub async fn comment(&self, actor: &Actor, id: i64, body: &str, public: bool) -> ServiceResult<CaseEvent> {
        actor.require(Permission::WriteCases)?;
        crate::limits::check_len("body", body, crate::limits::cases::COMMENT)?;
        let body = body.trim();
        if body.is_empty() {
            return Err(DomainError::invalid("body", "errors.required").into());
        }
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), id).await.entity("case")?;
        handled(&mut tx.conn(), actor, &k).await?;
        let ev = NewEvent {
            case_id: id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "comment",
            body,
            public,
            ..Default::default()
        };
        let e = ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Create, "case_comment", e.id, None::<&()>, Some(&e)).await?;
        tx.commit().await?;
        Ok(e)
    }

    /// Attaches evidence (photos, video, documents) up to [`MAX_ATTACHMENT_BYTES`].
    pub async fn attach(
        &self,
        actor: &Actor,
        id: i64,
        file_name: &str,
        data: &[u8],
        public: bool,
    ) -> ServiceResult<ks::Attachment> {
        actor.require(Permission::WriteCases)?;
        self.store_attachment(actor, id, file_name, data, public, true).await
    }

    /// Stores an attachment. `ask_scope` is false only for the portal, which has already proved
    /// with the tracking code that the customer may add to this case (`add_portal_evidence`).
    pub(crate) async fn store_attachment(
        &self,
        actor: &Actor,
        id: i64,
        file_name: &str,
        data: &[u8],
        public: bool,
        ask_scope: bool,
    ) -> ServiceResult<ks::Attachment> {
        let name: String =
            file_name.rsplit(['/', '\\']).next().unwrap_or("").chars().filter(|c| !c.is_control()).take(200).collect();
        if name.trim().is_empty() {
            return Err(DomainError::invalid("file", "errors.has_no_name").into());
        }
        if data.is_empty() {
            return Err(DomainError::invalid("file", "errors.empty").into());
        }
        if data.len() > MAX_ATTACHMENT_BYTES {
            return Err(DomainError::invalid(
                "file",
                loopdesk_domain::reason!(
                    "errors.larger_than_mb",
                    max_attachment_bytes = MAX_ATTACHMENT_BYTES / 1024 / 1024
                ),
            )
            .into());
        }
        let content_type = content_type_of(&name);
        let sha = hex::encode(Sha256::digest(data));
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), id).await.entity("case")?;
        if ask_scope {
            handled(&mut tx.conn(), actor, &k).await?;
        }
        let na = ks::NewAttachment {
            case_id: id,
            file_name: &name,
            content_type,
            sha256: &sha,
            data,
            public,
            uploaded_by: &actor.username,
        };
        let a = ks::insert_attachment(&mut tx.conn(), &na).await?;
        let ev = NewEvent {
            case_id: id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "attachment",
            body: &name,
            public,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Create, "case_attachment", a.id, None::<&()>, Some(&a)).await?;
        tx.commit().await?;
        Ok(a)
    }

    pub async fn attachments(&self, actor: &Actor, id: i64) -> ServiceResult<Vec<ks::Attachment>> {
        self.case(actor, id).await?;
        let mut h = self.store.read().await?;
        Ok(ks::attachments(&mut h.conn(), id).await?)
    }

    /// An attachment's bytes, for someone who may see its case.
    pub async fn attachment(&self, actor: &Actor, attachment_id: i64) -> ServiceResult<(ks::Attachment, Vec<u8>)> {
        let mut h = self.store.read().await?;
        let (a, data) = ks::attachment_data(&mut h.conn(), attachment_id).await.entity("attachment")?;
        drop(h);
        self.case(actor, a.case_id).await?;
        Ok((a, data))
    }

    /// The case category tree.
    pub async fn categories(&self, actor: &Actor) -> ServiceResult<Vec<ks::Category>> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        Ok(ks::categories(&mut h.conn()).await?)
    }

    /// Adds a category under `parent` (administrators); the tree is at most three levels deep.
    pub async fn add_category(
        &self,
        actor: &Actor,
        code: &str,
        parent: Option<&str>,
        zh: &str,
        en: &str,
    ) -> ServiceResult<ks::Category> {
        actor.require(Permission::ManageSettings)?;
        let code = code.trim().to_lowercase();
        if code.is_empty()
            || code.len() > 40
            || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(DomainError::invalid("code", "errors.must_1_40_lower_case").into());
        }
        let zh = required_text("zh", zh, 100)?;
        let en = required_text("en", en, 100)?;
        let mut tx = self.store.begin().await?;
        let cats = ks::categories(&mut tx.conn()).await?;
        let parent_id = match parent.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => {
                let pc = cats
                    .iter()
                    .find(|c| c.code == p)
                    .ok_or_else(|| DomainError::invalid("parent", loopdesk_domain::reason!("errors.no_category", p)))?;
                // The parent's level (1 = top); the new category sits one below it.
                let mut level = 1;
                let mut up = pc.parent_id;
                while let Some(id) = up {
                    level += 1;
                    up = cats.iter().find(|c| c.id == id).and_then(|c| c.parent_id);
                }
                if level >= 3 {
                    return Err(DomainError::invalid("parent", "errors.category_tree_has_at_most").into());
                }
                Some(pc.id)
            }
            None => None,
        };
        let cat = ks::insert_category(&mut tx.conn(), &code, parent_id, &zh, &en).await.entity("category")?;
        tx.audit(actor, AuditAction::Create, "case_category", cat.id, None::<&()>, Some(&cat)).await?;
        tx.commit().await?;
        Ok(cat)
    }

    /// Sends a question to a department (信息传递单) with a due date.
    pub async fn add_task(
        &self,
        actor: &Actor,
        case_id: i64,
        department: &str,
        question: &str,
        due: &str,
    ) -> ServiceResult<CaseTask> {
        actor.require(Permission::WriteCases)?;
        let question = required_text("question", question, crate::limits::cases::TASK_QUESTION)?;
        let due = loopdesk_domain::customer::parse_date("due_date", due)?;
        loopdesk_domain::input::due_not_past("due_date", due, self.today())?;
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), case_id).await.entity("case")?;
        handled(&mut tx.conn(), actor, &k).await?;
        if k.closed_at.is_some() {
            return Err(DomainError::Conflict { reason: "errors.case_closed".into(), field: None }.into());
        }
        let d = match department.trim().parse::<i64>() {
            Ok(id) => org::department(&mut tx.conn(), id).await,
            Err(_) => org::department_by_code(&mut tx.conn(), &department.trim().to_uppercase()).await,
        }
        .map_err(|_| {
            DomainError::invalid(
                "department",
                loopdesk_domain::reason!("errors.no_department", department = department.trim()),
            )
        })?;
        // The definition may ask the customer-service manager to review it before it goes out.
        let review = definition_of(&mut tx.conn(), &k).await?.review.tasks;
        let state = if review { "pending" } else { "none" };
        let task = ks::insert_task(&mut tx.conn(), case_id, d.id, &question, due, actor.user_id, state).await?;
        let body = format!("{} → {}: {question}", d.name, due);
        let ev = NewEvent {
            case_id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: if review { "task_review_requested" } else { "task" },
            body: &body,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        if !review {
            self.tell_task_sent(&mut tx, &k, task.id, &d, &question, &due.to_string()).await?;
        }
        tx.audit(actor, AuditAction::Create, "case_task", task.id, None::<&()>, Some(&task)).await?;
        tx.commit().await?;
        self.outbox_woken();
        Ok(task)
    }

    /// The department answers its task; anyone whose scope covers that department may.
    pub async fn answer_task(
        &self,
        actor: &Actor,
        task_id: i64,
        version: i64,
        answer: &str,
    ) -> ServiceResult<CaseTask> {
        actor.require(Permission::WriteCases)?;
        let answer = required_text("answer", answer, crate::limits::cases::TASK_ANSWER)?;
        let mut tx = self.store.begin().await?;
        let before = ks::task(&mut tx.conn(), task_id).await.entity("task")?;
        let k = ks::case(&mut tx.conn(), before.case_id).await.entity("case")?;
        // A task of a hidden case is itself hidden.
        let access = readable(&mut tx.conn(), actor, &k).await.map_err(|_| DomainError::NotFound { entity: "task" })?;
        if !loopdesk_domain::scope::may_answer_task(actor, access, before.department_id) {
            return Err(DomainError::forbidden("errors.task_was_sent_department_outside").into());
        }
        if before.answered_at.is_some() {
            return Err(DomainError::Conflict { reason: "errors.task_already_answered".into(), field: None }.into());
        }
        if !before.sent() {
            return Err(DomainError::Conflict { reason: "errors.task_has_not_gone_out".into(), field: None }.into());
        }
        let after = ks::answer_task(&mut tx.conn(), task_id, version, &answer, actor.user_id).await.entity("task")?;
        let ev = NewEvent {
            case_id: after.case_id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "task_answer",
            body: &answer,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Update, "case_task", task_id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn tasks(&self, actor: &Actor, case_id: i64) -> ServiceResult<Vec<CaseTask>> {
        self.case(actor, case_id).await?;
        let mut h = self.store.read().await?;
        Ok(ks::tasks(&mut h.conn(), case_id).await?)
    }

    /// Records a coordination meeting on a major complaint with its action items (GM office,
    /// management representative, quality).
    pub async fn record_meeting(
        &self,
        actor: &Actor,
        case_id: i64,
        m: &MeetingInput,
    ) -> ServiceResult<(Meeting, Vec<MeetingAction>)> {
        // 001 4.2.6: customer service records the minutes; the GM office and quality may too.
        if !actor.roles.iter().any(|r| r.records_meetings()) {
            actor.require(Permission::ApproveActions)?;
        }
        let attendees = required_text("attendees", &m.attendees, crate::limits::cases::MEETING_ATTENDEES)?;
        let minutes = m.minutes.trim().to_owned();
        if minutes.is_empty() {
            return Err(DomainError::invalid("minutes", "errors.required").into());
        }
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), case_id).await.entity("case")?;
        handled(&mut tx.conn(), actor, &k).await?;
        let nm = NewMeeting {
            case_id,
            held_at: m.held_at.unwrap_or_else(Utc::now),
            place: m.place.as_deref().unwrap_or("").trim(),
            attendees: &attendees,
            minutes: &minutes,
            decisions: m.decisions.as_deref().unwrap_or("").trim(),
            created_by: actor.user_id,
        };
        let meeting = ks::insert_meeting(&mut tx.conn(), &nm).await?;
        let mut actions = Vec::new();
        for (i, a) in m.actions.iter().enumerate() {
            let at = |f: &str| format!("actions[{i}].{f}");
            let description =
                required_text(&at("description"), &a.description, crate::limits::cases::ACTION_DESCRIPTION)?;
            let due = loopdesk_domain::customer::parse_date(&at("due_date"), &a.due_date)?;
            loopdesk_domain::input::due_not_past(&at("due_date"), due, self.today())?;
            let (owner, _) =
                org::user_for_login(&mut tx.conn(), &a.owner.trim().to_lowercase()).await.map_err(|_| {
                    DomainError::invalid(
                        at("owner"),
                        loopdesk_domain::reason!("errors.no_user_named", owner = a.owner.trim()),
                    )
                })?;
            actions.push(ks::insert_action(&mut tx.conn(), &meeting, &description, Some(owner.id), due).await?);
        }
        let body = format!("{attendees}\n{minutes}");
        let ev = NewEvent {
            case_id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "meeting",
            body: &body,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Create, "case_meeting", meeting.id, None::<&()>, Some(&(&meeting, &actions)))
            .await?;
        self.tell_actions_assigned(&mut tx, &k, &actions).await?;
        tx.commit().await?;
        Ok((meeting, actions))
    }

    /// The owner of an action item (or a manager) records it as done.
    pub async fn complete_action(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        note: &str,
    ) -> ServiceResult<MeetingAction> {
        actor.require(Permission::WriteCases)?;
        let note = required_text("note", note, 4000)?;
        let mut tx = self.store.begin().await?;
        let before = ks::action(&mut tx.conn(), id).await.entity("action item")?;
        let k = ks::case(&mut tx.conn(), before.case_id).await.entity("case")?;
        // An action item of a hidden case is itself hidden.
        let access =
            readable(&mut tx.conn(), actor, &k).await.map_err(|_| DomainError::NotFound { entity: "action item" })?;
        if !loopdesk_domain::scope::may_complete_action(actor, access, before.owner_id) {
            return Err(DomainError::forbidden("errors.only_item_s_owner_approver").into());
        }
        if before.done_at.is_some() {
            return Err(DomainError::Conflict { reason: "errors.action_item_already_done".into(), field: None }.into());
        }
        let after = ks::complete_action(&mut tx.conn(), id, version, &note).await.entity("action item")?;
        let body = format!("{} — {note}", after.description);
        let ev = NewEvent {
            case_id: after.case_id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "action_done",
            body: &body,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Update, "meeting_action", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn meetings(&self, actor: &Actor, case_id: i64) -> ServiceResult<(Vec<Meeting>, Vec<MeetingAction>)> {
        self.case(actor, case_id).await?;
        let mut h = self.store.read().await?;
        Ok((ks::meetings(&mut h.conn(), case_id).await?, ks::actions(&mut h.conn(), case_id).await?))
    }

    /// Links two related cases (both must be visible to the actor).
    pub async fn link_cases(&self, actor: &Actor, a: i64, b: i64) -> ServiceResult<()> {
        actor.require(Permission::WriteCases)?;
        if a == b {
            return Err(DomainError::invalid("other", "errors.case_cannot_linked_itself").into());
        }
        let mut tx = self.store.begin().await?;
        for id in [a, b] {
            let k = ks::case(&mut tx.conn(), id).await.map_err(|e| match e {
                StoreError::NotFound => ServiceError::from(DomainError::invalid("other", "errors.no_such_case")),
                e => e.into(),
            })?;
            if !crate::scope::access(&mut tx.conn(), actor, &k).await?.may_handle() {
                return Err(DomainError::invalid("other", "errors.no_such_case").into());
            }
        }
        ks::link(&mut tx.conn(), a, b, "related", "related", actor.user_id).await?;
        tx.audit(
            actor,
            AuditAction::Create,
            "case_link",
            format!("{a}-{b}"),
            None::<&()>,
            Some(&serde_json::json!({"a": a, "b": b})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Splits off part of a case as a new case of its own (same customer and product), linked to it.
    pub async fn split_case(
        &self,
        actor: &Actor,
        id: i64,
        case_type: Option<&str>,
        subject: &str,
        description: &str,
    ) -> ServiceResult<Created> {
        let k = self.case(actor, id).await?;
        {
            let mut h = self.store.read().await?;
            handled(&mut h.conn(), actor, &k).await?;
        }
        let input = CaseInput {
            case_type: case_type.map(str::to_owned).unwrap_or_else(|| k.case_type.clone()),
            customer_id: k.customer_id,
            contact_id: k.contact_id,
            contact_name: Some(k.contact_name.clone()),
            contact_phone: Some(k.contact_phone.clone()),
            contact_email: Some(k.contact_email.clone()),
            received_at: Some(k.received_at),
            channel: Some(k.channel.clone()),
            product_code: Some(k.product_code.clone()),
            model: Some(k.model.clone()),
            serial: Some(k.serial.clone()),
            ship_date: k.ship_date.map(|d| d.to_string()),
            subject: subject.into(),
            description: description.into(),
            lead_department_id: k.lead_department_id,
            adverse_event: Some(k.adverse_event),
            locale: Some(k.locale.clone()),
            ..Default::default()
        };
        let created = self.create_case(actor, &input).await?;
        let mut tx = self.store.begin().await?;
        ks::link(&mut tx.conn(), id, created.case.id, "split_into", "split_from", actor.user_id).await?;
        let body = created.case.number.clone();
        let ev = NewEvent {
            case_id: id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "split",
            body: &body,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(
            actor,
            AuditAction::Create,
            "case_link",
            format!("{id}-{}", created.case.id),
            None::<&()>,
            Some(&serde_json::json!({"split_from": id, "into": created.case.id})),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Cases linked to this one that the actor may see.
    pub async fn linked_cases(&self, actor: &Actor, id: i64) -> ServiceResult<Vec<(String, Case)>> {
        self.case(actor, id).await?;
        let mut h = self.store.read().await?;
        let mut out = Vec::new();
        for (rel, k) in ks::links(&mut h.conn(), id).await? {
            if crate::scope::access(&mut h.conn(), actor, &k).await?.may_read() {
                out.push((rel, k));
            }
        }
        Ok(out)
    }

    /// Records the regulatory reportability decision of an adverse event (ISO 13485 8.2.3):
    /// reportable or not, by whom, why, and for a reportable one the deadline under its regime.
    pub async fn decide_reportability(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        reportable: bool,
        regime: Option<&str>,
        reason: &str,
    ) -> ServiceResult<Case> {
        actor.require(Permission::ApproveActions)?;
        let reason = required_text("reason", reason, 4000)?;
        let regime = match (reportable, regime.map(str::trim).filter(|r| !r.is_empty())) {
            (true, None) => return Err(DomainError::invalid("regime", "errors.required_reportable_event").into()),
            (_, Some(r)) => Some(loopdesk_domain::case::Regime::parse(r)?),
            (false, None) => None,
        };
        let mut tx = self.store.begin().await?;
        let before = ks::case(&mut tx.conn(), id).await.entity("case")?;
        handled(&mut tx.conn(), actor, &before).await?;
        if !before.adverse_event {
            return Err(DomainError::Conflict {
                reason: "errors.case_not_flagged_adverse_event".into(),
                field: Some("adverse_event"),
            }
            .into());
        }
        let mut after = before.clone();
        let mut extra: BTreeMap<String, serde_json::Value> = serde_json::from_str(&after.fields).unwrap_or_default();
        let decision = serde_json::json!({
            "reportable": reportable,
            "regime": regime,
            "deadline": regime.map(|r| r.deadline(before.received_at)),
            "by": actor.username,
            "reason": reason,
            "at": Utc::now(),
        });
        extra.insert("reportability".into(), serde_json::Value::String(decision.to_string()));
        after.fields = serde_json::to_string(&extra).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let saved = ks::update_case(&mut tx.conn(), &after, version).await.entity("case")?;
        let ev = NewEvent {
            case_id: id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "reportability",
            fields: decision.to_string(),
            body: &reason,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.audit(actor, AuditAction::Update, "case", id, Some(&before), Some(&saved)).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Merges a duplicate into the case that is kept: the duplicate takes its `merge` transition
    /// and points at the kept case; both timelines say so.
    pub async fn merge_case(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        into: i64,
        reason: &str,
    ) -> ServiceResult<Case> {
        actor.require(Permission::WriteCases)?;
        if id == into {
            return Err(DomainError::invalid("into", "errors.case_cannot_merged_into_itself").into());
        }
        let mut tx = self.store.begin().await?;
        let kept = ks::case(&mut tx.conn(), into).await.map_err(|e| match e {
            StoreError::NotFound => ServiceError::from(DomainError::invalid("into", "errors.no_such_case")),
            e => e.into(),
        })?;
        let dup = ks::case(&mut tx.conn(), id).await.entity("case")?;
        handled(&mut tx.conn(), actor, &dup).await?;
        if !crate::scope::access(&mut tx.conn(), actor, &kept).await?.may_handle() {
            return Err(DomainError::invalid("into", "errors.no_such_case").into());
        }
        if kept.merged_into_id.is_some() || kept.closed_at.is_some() {
            return Err(DomainError::invalid("into", "errors.case_kept_must_open").into());
        }
        let fields = BTreeMap::from([("reason".to_owned(), reason.to_owned())]);
        let mut merged = apply_transition(&mut tx, actor, dup, "merge", version, &fields, self.how(false)).await?;
        merged.merged_into_id = Some(kept.id);
        let merged = ks::update_case(&mut tx.conn(), &merged, merged.version).await.entity("case")?;
        let note = format!("{} → {}", merged.number, kept.number);
        let ev = NewEvent {
            case_id: kept.id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "merged_from",
            body: &note,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
        tx.commit().await?;
        Ok(merged)
    }

    /// The case behind a number and tracking code, for the customer; anything else is "not found".
    pub async fn public_case(
        &self,
        number: &str,
        code: &str,
    ) -> ServiceResult<(Case, Vec<CaseEvent>, ProcessDefinition)> {
        let mut h = self.store.read().await?;
        let k = match ks::case_by_number(&mut h.conn(), number.trim()).await {
            Ok(k) => k,
            Err(StoreError::NotFound) => return Err(DomainError::NotFound { entity: "case" }.into()),
            Err(e) => return Err(e.into()),
        };
        // Constant-time comparison of the digests: the code is the only secret.
        let given = digest(code.trim());
        let same = given.len() == k.tracking_hash.len()
            && given.bytes().zip(k.tracking_hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !same || k.confidential {
            return Err(DomainError::NotFound { entity: "case" }.into());
        }
        let events = ks::events(&mut h.conn(), k.id, true).await?;
        let def = definition_of(&mut h.conn(), &k).await?;
        Ok((k, events, def))
    }

    /// A transition the customer takes on the portal (accept, reject, withdraw) or a note they add.
    pub async fn public_action(
        &self,
        number: &str,
        code: &str,
        action: &str,
        fields: &BTreeMap<String, String>,
    ) -> ServiceResult<Case> {
        let (k, _, _) = self.public_case(number, code).await?;
        let customer = Actor { username: "customer".into(), ..Actor::portal() };
        let mut tx = self.store.begin().await?;
        let k = ks::case(&mut tx.conn(), k.id).await?;
        let version = k.version;
        let after = if action == "add_information" {
            let text = fields.get("comment").map(|s| s.trim()).unwrap_or("");
            if text.is_empty() {
                return Err(DomainError::invalid("comment", "errors.required").into());
            }
            if text.chars().count() > 10_000 {
                return Err(DomainError::invalid("comment", "errors.must_at_most_10000_characters").into());
            }
            let ev = NewEvent {
                case_id: k.id,
                actor: "customer",
                kind: "customer_comment",
                body: text,
                public: true,
                ..Default::default()
            };
            ks::insert_event(&mut tx.conn(), &ev).await?;
            tx.audit(
                &customer,
                AuditAction::Update,
                "case",
                k.id,
                None::<&()>,
                Some(&serde_json::json!({"customer_comment": text})),
            )
            .await?;
            k
        } else {
            apply_transition(&mut tx, &customer, k, action, version, fields, self.how(true)).await?
        };
        tx.commit().await?;
        Ok(after)
    }
}

/// The calendar a clock counts on: the stored one by code, else the built-in office hours
/// (`24X7` is always open).
pub(crate) async fn calendar_for(
    tx: &mut Tx,
    code: &str,
    tz: chrono_tz::Tz,
) -> ServiceResult<loopdesk_domain::calendar::Calendar> {
    match loopdesk_store::calendars::get_by_code(&mut tx.conn(), code).await {
        Ok(row) => loopdesk_domain::calendar::Calendar::from_json(&row.spec)
            .map_err(|e| ServiceError::Internal(format!("stored calendar {code}: {e}"))),
        Err(StoreError::NotFound) if code == "24X7" => Ok(loopdesk_domain::calendar::Calendar::always_open(tz)),
        Err(StoreError::NotFound) => Ok(crate::calendars::office_calendar()?),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn to_clock(r: &ks::ClockRow) -> ServiceResult<Clock> {
    Ok(Clock {
        name: r.name.clone(),
        calendar: r.calendar.clone(),
        duration: serde_json::from_str(&r.duration)
            .map_err(|e| ServiceError::Internal(format!("clock duration: {e}")))?,
        started_at: r.started_at,
        due_at: r.due_at,
        warn_at: r.warn_at,
        state: ClockState::parse(&r.state).ok_or_else(|| ServiceError::Internal(format!("clock state {}", r.state)))?,
        paused_since: r.paused_since,
        paused_ms: r.paused_ms,
        met_at: r.met_at,
        breached_at: r.breached_at,
    })
}

/// The customer's deadline caps the resolution clock (seed 004 第八条).
fn cap_by_customer_deadline(clock: &mut Clock, deadline: Option<chrono::NaiveDate>, tz: chrono_tz::Tz) -> bool {
    match deadline.and_then(|d| sla::customer_deadline_at(d, tz)) {
        Some(at) if clock.name == sla::CUSTOMER_DEADLINE_CLOCK => clock.cap_due(at),
        _ => false,
    }
}

/// The deadline stored in a case's fields, if any.
pub(crate) fn customer_deadline_of(k: &Case) -> Option<chrono::NaiveDate> {
    let fields: BTreeMap<String, serde_json::Value> = serde_json::from_str(&k.fields).unwrap_or_default();
    fields.get("customer_deadline")?.as_str()?.parse().ok()
}

fn to_row(case_id: i64, c: &Clock, keep: Option<&ks::ClockRow>, chain: &[EscalationStep]) -> ks::ClockRow {
    let watch = Watch {
        warned: keep.is_some_and(|k| k.warned),
        level: keep.map(|k| u8::try_from(k.escalation_level).unwrap_or(u8::MAX)).unwrap_or(0),
    };
    ks::ClockRow {
        id: keep.map(|k| k.id).unwrap_or(0),
        case_id,
        name: c.name.clone(),
        calendar: c.calendar.clone(),
        duration: serde_json::to_string(&c.duration).unwrap_or_default(),
        started_at: c.started_at,
        due_at: c.due_at,
        warn_at: c.warn_at,
        state: c.state.code().into(),
        paused_since: c.paused_since,
        paused_ms: c.paused_ms,
        met_at: c.met_at,
        breached_at: c.breached_at,
        escalation_level: keep.map(|k| k.escalation_level).unwrap_or(0),
        warned: keep.map(|k| k.warned).unwrap_or(false),
        version: keep.map(|k| k.version).unwrap_or(1),
        next_check_at: c.next_check(watch, chain),
    }
}

/// Applies clock effects of a step to the case's stored clocks. Starting a clock uses the policy
/// for the case's type and severity; a clock with no target is not started.
async fn apply_clocks(
    tx: &mut Tx,
    lookups: &mut Lookups,
    k: &Case,
    effects: &[(String, ClockAction)],
    at: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> ServiceResult<()> {
    let set = lookups.policies(tx).await?;
    let policies = &set.policies;
    let existing = ks::clocks(&mut tx.conn(), k.id).await?;
    let deadline = customer_deadline_of(k);
    // A deadline given or changed by this step applies to a resolution clock already running.
    if deadline.is_some()
        && !effects.iter().any(|(n, _)| n == sla::CUSTOMER_DEADLINE_CLOCK)
        && let Some(r) = existing.iter().find(|r| r.name == sla::CUSTOMER_DEADLINE_CLOCK)
    {
        let mut c = to_clock(r)?;
        if cap_by_customer_deadline(&mut c, deadline, tz) {
            ks::save_clock(&mut tx.conn(), &to_row(k.id, &c, Some(r), &set.escalation)).await?;
        }
    }
    for (name, action) in effects {
        let row = existing.iter().find(|r| &r.name == name);
        let clock = match (action, row) {
            (ClockAction::Start, Some(r))
                if ClockState::parse(&r.state).is_some_and(|s| s != ClockState::Met && s != ClockState::Missed) =>
            {
                continue;
            }
            (ClockAction::Start, _) => {
                let Some(target) = target_for(policies, &k.case_type, &k.severity, name) else { continue };
                let cal = lookups.calendar(tx, &target.calendar, tz).await?;
                let mut c = Clock::start(target, cal, at)?;
                cap_by_customer_deadline(&mut c, deadline, tz);
                c
            }
            (_, None) => continue,
            (a, Some(r)) => {
                let mut c = to_clock(r)?;
                let cal = lookups.calendar(tx, &c.calendar, tz).await?;
                c.apply(*a, at, cal)?;
                cap_by_customer_deadline(&mut c, deadline, tz);
                c
            }
        };
        let keep = if *action == ClockAction::Start { None } else { row };
        ks::save_clock(&mut tx.conn(), &to_row(k.id, &clock, keep, &set.escalation)).await?;
    }
    Ok(())
}

/// A severity change: every open clock whose target differs under the new severity is restarted
/// under it only when that is stricter (falls due sooner, counted from now); either way the
/// timeline says which target the clock now follows.
async fn restart_stricter(
    tx: &mut Tx,
    lookups: &mut Lookups,
    actor: &Actor,
    old_severity: &str,
    k: &Case,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> ServiceResult<()> {
    let set = lookups.policies(tx).await?;
    let escalation = set.escalation.clone();
    let policies = set.policies.clone();
    let deadline = customer_deadline_of(k);
    for r in ks::clocks(&mut tx.conn(), k.id).await? {
        let current = to_clock(&r)?;
        if !current.is_open() {
            continue;
        }
        let Some(new) = target_for(&policies, &k.case_type, &k.severity, &r.name) else { continue };
        if target_for(&policies, &k.case_type, old_severity, &r.name).is_some_and(|o| o == new) {
            continue;
        }
        let cal = lookups.calendar(tx, &new.calendar, tz).await?;
        let mut candidate = Clock::start(new, cal, now)?;
        cap_by_customer_deadline(&mut candidate, deadline, tz);
        let restarted = current.state == ClockState::Running && sla::restart_if_stricter(&current, &candidate);
        if restarted {
            let fresh = ks::ClockRow { escalation_level: 0, warned: false, ..r.clone() };
            ks::save_clock(&mut tx.conn(), &to_row(k.id, &candidate, Some(&fresh), &escalation)).await?;
        }
        let fields = serde_json::json!({
            "clock": r.name,
            "from_severity": old_severity,
            "to_severity": k.severity,
            "due_before": current.due_at,
            "due_after": if restarted { candidate.due_at } else { current.due_at },
        })
        .to_string();
        let shown = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        let after = if restarted { candidate.due_at } else { current.due_at };
        let body = format!(
            "{}: {} → {}; {} → {}",
            r.name,
            if old_severity.is_empty() { "-" } else { old_severity },
            k.severity,
            shown(current.due_at),
            shown(after)
        );
        let ev = NewEvent {
            case_id: k.id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: if restarted { "clock_restarted" } else { "clock_kept" },
            body: &body,
            fields,
            public: false,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
    }
    Ok(())
}

/// Who takes a step and when: staff or the customer, in the organisation's zone, at `now`.
#[derive(Clone, Copy)]
pub(crate) struct How {
    by_customer: bool,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
}

impl Service {
    pub(crate) fn how(&self, by_customer: bool) -> How {
        How { by_customer, tz: self.settings.timezone, now: self.now() }
    }
}

/// Applies clock effects outside a transition (a follow-up visit recorded on its own page).
pub(crate) async fn apply_clock_effects(
    tx: &mut Tx,
    k: &Case,
    effects: &[(String, ClockAction)],
    at: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> ServiceResult<()> {
    apply_clocks(tx, &mut Lookups::default(), k, effects, at, tz).await
}

/// The one place a transition is applied, for staff and for customers alike.
pub(crate) async fn apply_transition(
    tx: &mut Tx,
    actor: &Actor,
    k: Case,
    code: &str,
    version: i64,
    fields: &BTreeMap<String, String>,
    how: How,
) -> ServiceResult<Case> {
    let How { by_customer, tz, now } = how;
    let def = definition_of(&mut tx.conn(), &k).await?;
    let taker = if by_customer { Taker::Customer } else { Taker::Staff(&actor.roles) };
    let t = def.check_step(code, &k.state, k.version, version, taker)?;
    if loopdesk_domain::case_record::needs_gm_approval(
        &k.case_type,
        &k.severity,
        &k.state,
        &t.code,
        def.transition("gm_approve").is_some(),
    ) {
        return Err(DomainError::Conflict {
            reason: "errors.major_complaint_s_measures_need".into(),
            field: Some("gm_approve"),
        }
        .into());
    }
    ProcessDefinition::check_required(t, fields)?;
    let before = k.clone();
    let mut after = k;
    let mut extra: BTreeMap<String, String> = serde_json::from_str(&after.fields).unwrap_or_default();
    // A "not the company's responsibility" finding under review holds the case (issue #14 item 8).
    if extra.get(crate::review::RESPONSIBILITY_REVIEW).is_some_and(|v| v == "pending") {
        return Err(DomainError::Conflict {
            reason: "errors.not_responsible_finding_waits_customer".into(),
            field: Some("responsibility_review"),
        }
        .into());
    }
    let review_finding = def.needs_responsibility_review(t, fields);
    if review_finding {
        extra.insert(crate::review::RESPONSIBILITY_REVIEW.into(), "pending".into());
        extra.insert(crate::review::RESPONSIBILITY_REVIEW_FROM.into(), before.state.clone());
    }
    for (name, value) in fields {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        if value.chars().count() > 20_000 {
            return Err(DomainError::invalid(name.clone(), "errors.must_at_most_20000_characters").into());
        }
        match name.as_str() {
            "category" => {
                // A code of the category tree (or its name in either language).
                let cats = ks::categories(&mut tx.conn()).await?;
                let cat = cats
                    .iter()
                    .find(|c| c.code == value || c.zh == value || c.en.eq_ignore_ascii_case(value))
                    .ok_or_else(|| {
                        DomainError::invalid(
                            "category",
                            loopdesk_domain::reason!("errors.not_category_category_tree", value),
                        )
                    })?;
                after.category = cat.code.clone();
            }
            "severity" => after.severity = Severity::parse(value)?.code().into(),
            "responsibility" => after.responsibility = Responsibility::parse(value)?.code().into(),
            "responsibility_note" => after.responsibility_note = value.into(),
            "lead_department" => {
                let d = match value.parse::<i64>() {
                    Ok(id) => org::department(&mut tx.conn(), id).await,
                    Err(_) => org::department_by_code(&mut tx.conn(), &value.to_uppercase()).await,
                };
                after.lead_department_id = Some(
                    d.map_err(|_| {
                        DomainError::invalid(
                            "lead_department",
                            loopdesk_domain::reason!("errors.no_department_2", value),
                        )
                    })?
                    .id,
                );
            }
            "on_site" => {
                let needed = sla::parse_on_site(value)?;
                extra.insert(name.clone(), if needed { "yes" } else { "no" }.into());
            }
            "customer_deadline" => {
                let received_on = after.received_at.with_timezone(&tz).date_naive();
                let d = sla::parse_customer_deadline(value, received_on)?;
                if let Some(d) = d {
                    extra.insert(name.clone(), d.to_string());
                }
            }
            "owner" => {
                let (u, _) = org::user_for_login(&mut tx.conn(), &value.to_lowercase()).await.map_err(|_| {
                    DomainError::invalid("owner", loopdesk_domain::reason!("errors.no_user_named_2", value))
                })?;
                after.owner_id = Some(u.id);
            }
            "serious_injury" => {
                let answer = loopdesk_domain::case_record::InjuryAnswer::parse(value)?;
                extra.insert("serious_injury".into(), answer.code().into());
                extra.insert("serious_injury_by".into(), actor.username.clone());
                extra.insert("serious_injury_at".into(), now.to_rfc3339());
                if answer == loopdesk_domain::case_record::InjuryAnswer::Yes {
                    after.adverse_event = true;
                }
            }
            other if loopdesk_domain::process::KNOWN_FIELDS.contains(&other) => {
                extra.insert(other.into(), value.into());
            }
            other => return Err(DomainError::invalid(other.to_owned(), "errors.not_field_case").into()),
        }
    }
    crate::case_record::check_injury_answered(&after, &t.to, &extra)?;
    if !after.responsibility.is_empty() {
        check_responsibility(Responsibility::parse(&after.responsibility)?, &after.responsibility_note)?;
    }
    // A case is not resolved while department tasks are open, unless the owner says why.
    if ProcessDefinition::resolves(t) && fields.get("open_tasks_reason").is_none_or(|r| r.trim().is_empty()) {
        let open = ks::tasks(&mut tx.conn(), after.id)
            .await?
            .iter()
            .filter(|x| x.answered_at.is_none() && x.review_state != "refused")
            .count();
        if open > 0 {
            return Err(DomainError::Conflict {
                reason: loopdesk_domain::reason!("errors.department_task_s_are_still", open),
                field: Some("open_tasks_reason"),
            }
            .into());
        }
    }
    // Action items decided at a coordination meeting are tracked to closure before the case ends.
    if def.state(&t.to).is_some_and(|s| s.terminal) && t.code != "merge" {
        let open = ks::actions(&mut tx.conn(), after.id).await?.iter().filter(|a| a.done_at.is_none()).count();
        if open > 0 {
            return Err(DomainError::Conflict {
                reason: loopdesk_domain::reason!("errors.meeting_action_item_s_are", open),
                field: Some("actions"),
            }
            .into());
        }
    }
    // An adverse event (serious injury or death) cannot end without its reportability decision.
    let ends = def.ends(t);
    if ends && after.adverse_event && t.code != "merge" && !extra.contains_key("reportability") {
        return Err(DomainError::Conflict {
            reason: "errors.adverse_event_needs_reportability_decision".into(),
            field: Some("reportability"),
        }
        .into());
    }
    after.state = t.to.clone();
    if ends {
        after.closed_at = Some(now);
    } else {
        after.closed_at = None;
    }
    after.fields = serde_json::to_string(&extra).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let saved = ks::update_case(&mut tx.conn(), &after, version).await.entity("case")?;
    let mut effects = ProcessDefinition::clock_effects(t);
    let visit_due = loopdesk_domain::followup::case_calls_for_visit(&saved.case_type, &saved.state);
    if ends {
        // Reaching an end stops every clock still counting, except the follow-up visit's, which
        // runs until the visit is recorded (issue #20 item 7) unless this step records it.
        for r in ks::clocks(&mut tx.conn(), saved.id).await? {
            if r.name == sla::FOLLOW_UP_CLOCK && visit_due && !effects.iter().any(|(n, _)| n == &r.name) {
                continue;
            }
            if r.state == "running" || r.state == "paused" {
                effects.push((r.name, ClockAction::Stop));
            }
        }
    }
    // A record calling for a follow-up visit has a follow-up clock, whatever path it took.
    if visit_due
        && !effects.iter().any(|(n, _)| n == sla::FOLLOW_UP_CLOCK)
        && !ks::clocks(&mut tx.conn(), saved.id).await?.iter().any(|r| r.name == sla::FOLLOW_UP_CLOCK)
    {
        effects.push((sla::FOLLOW_UP_CLOCK.to_owned(), ClockAction::Start));
    }
    if !ends {
        // What this step found starts the clocks it calls for (on-site, disposition, corrective action).
        let on_site = fields.get("on_site").map(|v| sla::parse_on_site(v)).transpose()?;
        if fields.contains_key("severity") || on_site.is_some() {
            for name in sla::finding_clocks(&saved.case_type, &saved.severity, on_site) {
                if !effects.iter().any(|(n, _)| n == name) {
                    effects.push((name.to_owned(), ClockAction::Start));
                }
            }
        }
    }
    let mut lookups = Lookups::default();
    if !ends && before.severity != saved.severity {
        restart_stricter(tx, &mut lookups, actor, &before.severity, &saved, now, tz).await?;
    }
    apply_clocks(tx, &mut lookups, &saved, &effects, now, tz).await?;
    crate::followup::on_case_step(tx, actor, &saved, fields, now, tz).await?;
    // A closed case invites its contact to the satisfaction surveys listening for it; the link is
    // shown to the customer with the case.
    if saved.state == "closed" {
        for link in crate::surveys::invite_on_case_closed(tx, &saved, now, tz).await? {
            let ev = NewEvent {
                case_id: saved.id,
                actor_id: actor.user_id,
                actor: &actor.username,
                kind: "survey_invitation",
                body: &link,
                public: true,
                ..Default::default()
            };
            ks::insert_event(&mut tx.conn(), &ev).await?;
        }
    }
    let given = serde_json::json!({ "fields": fields, "clocks": t.clocks }).to_string();
    let body = fields.get("reply").or(fields.get("reason")).map(String::as_str).unwrap_or("");
    let ev = NewEvent {
        case_id: saved.id,
        actor_id: actor.user_id,
        actor: &actor.username,
        kind: "transition",
        transition: &t.code,
        from_state: &before.state,
        to_state: &saved.state,
        fields: given,
        body: if t.notify_customer || by_customer { body } else { "" },
        public: t.notify_customer || by_customer,
    };
    ks::insert_event(&mut tx.conn(), &ev).await?;
    if review_finding {
        let note = saved.responsibility_note.clone();
        let ev = NewEvent {
            case_id: saved.id,
            actor_id: actor.user_id,
            actor: &actor.username,
            kind: "responsibility_review_requested",
            body: &note,
            ..Default::default()
        };
        ks::insert_event(&mut tx.conn(), &ev).await?;
    }
    tx.audit(actor, AuditAction::Update, "case", saved.id, Some(&before), Some(&saved)).await?;
    Ok(saved)
}

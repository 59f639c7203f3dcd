//! Satisfaction measurement (spec C8): template revisions, plans, campaigns with single-use
//! invitation links, the public answer flow, results per campaign and per period (pooled over a
//! plan's campaigns, against the target and the previous period), internal KPIs, and the
//! corrective-action requests opened when a campaign closes below target or an indicator below
//! its own threshold, or on demand for a period.
//!
//! Not here yet: mail (invitations and reminders are recorded, links are handed back to the caller
//! once, because only their SHA-256 is stored); of the event triggers only `case_closed` fires (from
//! the case module); the others wait for their modules.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::calendar::{Calendar, CalendarSpec, Duration, due};
use loopdesk_domain::case::CaseType;
use loopdesk_domain::customer::{Coded, CustomerCategory, parse_cny};
use loopdesk_domain::locale::Locale;
use loopdesk_domain::org::required_text;
use loopdesk_domain::survey::ahp::{self, AhpResult};
use loopdesk_domain::survey::period::{Granularity, Period};
use loopdesk_domain::survey::scoring::{
    Classification, CompositeIndex, FORMULA_EN, FORMULA_ZH, FeedbackKind, InternalScore, ItemPool, Kpi, Nps,
    TaggedAnswer, classify, compare, composite_index, internal_score, nps, response_rate,
};
use loopdesk_domain::survey::template::{QuestionKind, Template, TemplateSpec};
use loopdesk_store::StoreError;
use loopdesk_store::calendars;
use loopdesk_store::surveys::{
    self as ss, AnswerFields, AnswerRow, CampaignFields, CampaignRow, CorrectiveActionRow, InvitationRow, KpiRow,
    PlanFields, PlanRow, PopulationFilter, TemplateRow,
};
use serde::{Deserialize, Serialize};

use crate::access::{digest, random_secret};
use crate::error::StoreResultExt;
use crate::{Service, ServiceError, ServiceResult};

/// Corrective-action requests are due this many working days after the results (seeds: 2 个工作日).
pub const CORRECTIVE_ACTION_WORKING_DAYS: i64 = 2;
/// Source name of corrective-action requests opened by a survey campaign.
pub const CAR_SOURCE: &str = "survey_campaign";

/// Source of a request opened on a plan's period (`survey_period:2026H1`, source id the plan): one
/// per plan and period, which the unique (source, source_id) key enforces.
fn period_car_source(period: &str) -> String {
    format!("survey_period:{period}")
}

/// A stored template revision with its parsed rules.
#[derive(Debug, Clone)]
pub struct TemplateRecord {
    pub row: TemplateRow,
    pub template: Template,
}

impl TemplateRecord {
    fn from_row(row: TemplateRow) -> ServiceResult<TemplateRecord> {
        let spec: TemplateSpec = serde_json::from_str(&row.definition)
            .map_err(|e| ServiceError::Internal(format!("template {}: stored definition unreadable: {e}", row.id)))?;
        let template = Template::parse(spec)
            .map_err(|e| ServiceError::Internal(format!("template {}: stored definition invalid: {e}", row.id)))?;
        Ok(TemplateRecord { row, template })
    }
}

fn to_json<T: Serialize>(v: &T) -> ServiceResult<String> {
    serde_json::to_string(v).map_err(|e| ServiceError::Internal(format!("json: {e}")))
}

/// Who a plan surveys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Population {
    pub region: Option<String>,
    pub category: Option<String>,
    /// true: new customers only; false: existing only.
    pub is_new: Option<bool>,
    /// Largest contract at least this value, in yuan as typed ("2000000", "200万" is not accepted).
    pub min_contract_value: Option<String>,
}

/// An event that starts a campaign of the plan. Stored now; fired once cases and service orders exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// case_closed, service_order_closed, project_completed, new_product, product_change,
    /// major_promotion, major_quality_problem
    pub event: String,
    /// For case_closed: the case type it applies to (empty: all).
    #[serde(default)]
    pub case_type: String,
}

pub const TRIGGER_EVENTS: [&str; 7] = [
    "case_closed",
    "service_order_closed",
    "project_completed",
    "new_product",
    "product_change",
    "major_promotion",
    "major_quality_problem",
];
pub const FREQUENCIES: [&str; 5] = ["once", "quarterly", "semi_annual", "annual", "event"];
pub const CHANNELS: [&str; 4] = ["email", "phone", "visit", "fax"];

#[derive(Debug, Clone, Deserialize)]
pub struct PlanInput {
    pub name: String,
    pub template_code: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub frequency: String,
    #[serde(default)]
    pub population: Population,
    /// Fraction 0..1; default 0.60.
    pub min_response_rate: Option<f64>,
    /// Percent 0..100.
    pub target_pct: f64,
    #[serde(default = "default_channel")]
    pub channel: String,
    #[serde(default)]
    pub triggers: Vec<Trigger>,
}

fn default_channel() -> String {
    "email".into()
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub row: PlanRow,
    pub population: Population,
    pub triggers: Vec<Trigger>,
}

impl Plan {
    fn from_row(row: PlanRow) -> ServiceResult<Plan> {
        let population = serde_json::from_str(&row.population)
            .map_err(|e| ServiceError::Internal(format!("plan {}: population: {e}", row.id)))?;
        let triggers = serde_json::from_str(&row.triggers)
            .map_err(|e| ServiceError::Internal(format!("plan {}: triggers: {e}", row.id)))?;
        Ok(Plan { row, population, triggers })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CampaignInput {
    pub plan_id: i64,
    pub name: String,
    /// The reporting period, e.g. 2026H1; KPIs of the same period feed the composite index.
    pub period: String,
    #[serde(default)]
    pub anonymous: bool,
    /// manual (default) or one of the plan's trigger events.
    pub trigger_event: Option<String>,
}

/// One issued link. The token is shown here once; only its SHA-256 is stored.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedLink {
    pub invitation: InvitationRow,
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Launch {
    pub campaign: CampaignRow,
    pub links: Vec<IssuedLink>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tracking {
    pub invited: u64,
    pub opened: u64,
    pub answered: u64,
    pub reminded: u64,
}

fn tracking(inv: &[InvitationRow]) -> Tracking {
    Tracking {
        invited: inv.len() as u64,
        opened: inv.iter().filter(|i| i.opened_at.is_some()).count() as u64,
        answered: inv.iter().filter(|i| i.answered_at.is_some()).count() as u64,
        reminded: inv.iter().filter(|i| i.reminded_at.is_some()).count() as u64,
    }
}

/// What the public answer page needs.
#[derive(Debug, Clone)]
pub struct PublicSurvey {
    pub campaign: CampaignRow,
    pub template: Template,
    pub answered: bool,
    pub closed: bool,
}

/// The raw answers of one submission: question code → values (one for most kinds, several for
/// multiple choice), as a form posts them.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub values: BTreeMap<String, Vec<String>>,
    pub anonymous: bool,
    pub locale: Locale,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub answers: usize,
    pub satisfaction_pct: Option<f64>,
    /// Normalised global weight (leaf weights sum to 1).
    pub weight: f64,
    /// The seeds' multiplier: weight × number of items (they average 1).
    pub multiplier: f64,
    /// The item's own floor, percent.
    pub threshold_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelResult {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub depth: usize,
    pub local_weight: f64,
    pub global_weight: f64,
    pub satisfaction_pct: Option<f64>,
    pub threshold_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TextAnswer {
    pub id: i64,
    pub version: i64,
    pub campaign_id: i64,
    pub question_code: String,
    pub kind: String,
    pub category: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChoiceCount {
    pub question_code: String,
    pub option_code: String,
    pub count: usize,
}

/// An indicator whose satisfaction fell under its own threshold.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdBreach {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub satisfaction_pct: f64,
    pub threshold_pct: f64,
}

/// The figures a campaign's results and a period's results share.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub tracking: Tracking,
    /// answered ÷ invited (0..1).
    pub response_rate: f64,
    pub min_response_rate: f64,
    /// False: fewer answered than the plan's minimum; the result does not speak for the population.
    pub representative: bool,
    pub items: Vec<ItemResult>,
    pub levels: Vec<LevelResult>,
    pub overall_pct: Option<f64>,
    /// Items without answers were left out and the other weights rescaled.
    pub renormalised: bool,
    pub formula_zh: String,
    pub formula_en: String,
    pub nps: Option<f64>,
    pub nps_detail: Nps,
    pub csat_pct: Option<f64>,
    pub target_pct: f64,
    pub delta_vs_target: Option<f64>,
    pub previous_pct: Option<f64>,
    pub delta_vs_previous: Option<f64>,
    /// The overall figure alone is under the target.
    pub overall_below_target: bool,
    /// Indicators under their own threshold.
    pub below_threshold: Vec<ThresholdBreach>,
    /// Overall below target or any indicator below its threshold: a corrective action is due.
    pub below_target: bool,
    pub internal: Option<InternalScore>,
    pub composite: Option<CompositeIndex>,
    pub feedback: Classification,
    pub texts: Vec<TextAnswer>,
    pub choices: Vec<ChoiceCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CampaignResults {
    pub campaign_id: i64,
    pub name: String,
    pub period: String,
    pub status: String,
    /// The campaign's row version, for closing it.
    pub version: i64,
    pub plan_id: Option<i64>,
    pub template_code: String,
    pub template_revision: i64,
    #[serde(flatten)]
    pub scores: Scores,
    pub corrective_action: Option<CorrectiveActionRow>,
}

/// One campaign counted in a period.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodCampaign {
    pub id: i64,
    pub name: String,
    pub period: String,
    pub status: String,
    pub template_revision: i64,
    pub invited: u64,
    pub answered: u64,
    pub overall_pct: Option<f64>,
}

/// One point of the trend chart: a period of the same length as the one reported.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    pub period: String,
    pub overall_pct: Option<f64>,
    pub response_rate: f64,
    pub invited: u64,
    pub answered: u64,
}

/// A plan's results over a period (year, half, quarter or month): every campaign of the plan whose
/// own period lies inside it, pooled answer by answer and scored on the newest template revision
/// among them; compared with the plan's target and with the period before.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodResults {
    pub plan_id: i64,
    pub plan_name: String,
    pub period: String,
    /// year, half, quarter or month
    pub granularity: String,
    pub previous_period: String,
    pub template_code: String,
    pub template_revision: i64,
    pub campaigns: Vec<PeriodCampaign>,
    #[serde(flatten)]
    pub scores: Scores,
    /// Up to eight periods of the same length ending with this one, oldest first.
    pub trend: Vec<TrendPoint>,
    /// Requests opened when the period's campaigns closed.
    pub corrective_actions: Vec<CorrectiveActionRow>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KpiInput {
    pub kpis: Vec<Kpi>,
    /// Share of the external survey in the composite index (default 0.5).
    pub external_share: Option<f64>,
}

fn one_of(field: &str, v: &str, allowed: &[&str]) -> Result<String, DomainError> {
    let v = v.trim();
    if allowed.contains(&v) {
        Ok(v.to_owned())
    } else {
        Err(DomainError::invalid(field, loopdesk_domain::reason!("errors.must_one_4", allowed = allowed.join(", "))))
    }
}

/// A campaign's or KPI set's period: a year, half, quarter or month, written the one canonical way.
fn period_ok(p: &str) -> Result<String, DomainError> {
    Ok(Period::parse("period", p)?.to_string())
}

impl Service {
    /// AHP analysis of one matrix (the pairwise comparison editor and `POST /ahp`).
    pub fn ahp(&self, actor: &Actor, matrix: &[Vec<f64>]) -> ServiceResult<AhpResult> {
        actor.require(Permission::SignIn)?;
        Ok(ahp::analyse(matrix)?)
    }

    /// Stores the next revision of the template `spec.code`.
    pub async fn save_template(&self, actor: &Actor, spec: TemplateSpec) -> ServiceResult<TemplateRecord> {
        actor.require(Permission::ManageSurveys)?;
        let t = Template::parse(spec)?;
        let def = to_json(&t.spec)?;
        let mut tx = self.store.begin().await?;
        let row =
            ss::insert_template(&mut tx.conn(), &t.spec.code, &t.spec.name_zh, &t.spec.audience, &def, actor.user_id)
                .await
                .entity("survey template")?;
        tx.audit(actor, AuditAction::Create, "survey_template", row.id, None::<&()>, Some(&row)).await?;
        tx.commit().await?;
        Ok(TemplateRecord { row, template: t })
    }

    pub async fn survey_templates(&self, actor: &Actor) -> ServiceResult<Vec<TemplateRecord>> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        ss::templates(&mut h.conn()).await?.into_iter().map(TemplateRecord::from_row).collect()
    }

    pub async fn survey_template(&self, actor: &Actor, id: i64) -> ServiceResult<TemplateRecord> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        TemplateRecord::from_row(ss::template(&mut h.conn(), id).await.entity("survey template")?)
    }

    pub async fn create_survey_plan(&self, actor: &Actor, i: &PlanInput) -> ServiceResult<Plan> {
        actor.require(Permission::ManageSurveys)?;
        let name = required_text("name", &i.name, crate::limits::surveys::PLAN_NAME)?;
        if i.period_end < i.period_start {
            return Err(DomainError::invalid("period_end", "errors.must_not_before_period_start").into());
        }
        let frequency = one_of("frequency", &i.frequency, &FREQUENCIES)?;
        let channel = one_of("channel", &i.channel, &CHANNELS)?;
        let min = i.min_response_rate.unwrap_or(loopdesk_domain::survey::scoring::DEFAULT_MIN_RESPONSE_RATE);
        // response_rate validates the minimum as a fraction.
        response_rate(0, 1, Some(min))
            .map_err(|_| DomainError::invalid("min_response_rate", "errors.must_between_0_1"))?;
        if !(0.0..=100.0).contains(&i.target_pct) {
            return Err(DomainError::invalid("target_pct", "errors.must_between_0_100").into());
        }
        let mut pop = i.population.clone();
        pop.region = pop.region.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        pop.category = pop.category.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if let Some(c) = &pop.category {
            CustomerCategory::parse(c).map_err(|e| match e {
                DomainError::Invalid { reason, .. } => DomainError::invalid("population.category", reason),
                other => other,
            })?;
        }
        if let Some(v) = pop.min_contract_value.as_deref().filter(|v| !v.trim().is_empty()) {
            parse_cny("population.min_contract_value", v)?;
        }
        let mut triggers = Vec::with_capacity(i.triggers.len());
        for (k, t) in i.triggers.iter().enumerate() {
            let event = one_of(&format!("triggers[{k}].event"), &t.event, &TRIGGER_EVENTS)?;
            let case_type = match t.case_type.trim() {
                "" => String::new(),
                c => CaseType::parse(c)
                    .map_err(|e| match e {
                        DomainError::Invalid { reason, .. } => {
                            DomainError::invalid(format!("triggers[{k}].case_type"), reason)
                        }
                        other => other,
                    })?
                    .code()
                    .to_owned(),
            };
            triggers.push(Trigger { event, case_type });
        }
        let mut tx = self.store.begin().await?;
        ss::latest_template(&mut tx.conn(), i.template_code.trim()).await.map_err(|e| match e {
            StoreError::NotFound => DomainError::invalid("template_code", "errors.no_template_has_code").into(),
            e => ServiceError::from(e),
        })?;
        let population = to_json(&pop)?;
        let triggers = to_json(&triggers)?;
        let f = PlanFields {
            name: &name,
            template_code: i.template_code.trim(),
            period_start: i.period_start,
            period_end: i.period_end,
            frequency: &frequency,
            population: &population,
            min_response_rate: min,
            target_pct: i.target_pct,
            channel: &channel,
            triggers: &triggers,
        };
        let row = ss::insert_plan(&mut tx.conn(), &f).await.entity("survey plan")?;
        tx.audit(actor, AuditAction::Create, "survey_plan", row.id, None::<&()>, Some(&row)).await?;
        tx.commit().await?;
        Plan::from_row(row)
    }

    pub async fn survey_plans(&self, actor: &Actor) -> ServiceResult<Vec<Plan>> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        ss::plans(&mut h.conn()).await?.into_iter().map(Plan::from_row).collect()
    }

    /// Starts a campaign of a plan: takes the template's newest revision (kept for good), draws the
    /// population and issues one single-use link per contact.
    pub async fn launch_campaign(&self, actor: &Actor, i: &CampaignInput) -> ServiceResult<Launch> {
        actor.require(Permission::ManageSurveys)?;
        let name = required_text("name", &i.name, crate::limits::surveys::CAMPAIGN_NAME)?;
        let period = period_ok(&i.period)?;
        let mut tx = self.store.begin().await?;
        let plan = Plan::from_row(ss::plan(&mut tx.conn(), i.plan_id).await.entity("survey plan")?)?;
        let trigger = match i.trigger_event.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None | Some("manual") => "manual".to_owned(),
            Some(t) if plan.triggers.iter().any(|p| p.event == t) => t.to_owned(),
            Some(_) => {
                return Err(DomainError::invalid("trigger_event", "errors.manual_one_plan_s_triggers").into());
            }
        };
        let template = ss::latest_template(&mut tx.conn(), &plan.row.template_code).await.entity("survey template")?;
        let anonymous_ok = TemplateRecord::from_row(template.clone())?.template.spec.allow_anonymous;
        let filter = PopulationFilter {
            region: plan.population.region.clone(),
            category: plan.population.category.clone(),
            is_new: plan.population.is_new,
            min_contract_fen: match plan.population.min_contract_value.as_deref().filter(|v| !v.trim().is_empty()) {
                Some(v) => Some(parse_cny("population.min_contract_value", v)?),
                None => None,
            },
            need_email: plan.row.channel == "email",
        };
        let invitees = ss::population(&mut tx.conn(), &filter).await?;
        if invitees.is_empty() {
            return Err(DomainError::invalid("plan_id", "errors.plan_s_population_filter_matches").into());
        }
        let f = CampaignFields {
            plan_id: Some(plan.row.id),
            template_id: template.id,
            name: &name,
            period: &period,
            trigger_event: &trigger,
            min_response_rate: plan.row.min_response_rate,
            target_pct: plan.row.target_pct,
            anonymous: i.anonymous && anonymous_ok,
        };
        let campaign = ss::insert_campaign(&mut tx.conn(), &f).await.entity("survey campaign")?;
        let tokens: Vec<String> = invitees.iter().map(|_| random_secret()).collect();
        let rows: Vec<_> = invitees.into_iter().zip(tokens.iter().map(|t| digest(t))).collect();
        let invitations = ss::insert_invitations(&mut tx.conn(), campaign.id, &rows).await?;
        // Issue #20 item 15: each invitee with an address gets the link by mail, through the outbox.
        let pairs: Vec<_> = invitations.iter().zip(tokens.iter().map(String::as_str)).collect();
        let mail = self.survey_mails(&template.name, &pairs, false, crate::cases::micros(self.now()));
        loopdesk_store::outbox::enqueue(&mut tx.conn(), &mail).await?;
        let summary = serde_json::json!({"campaign": &campaign, "invitations": invitations.len()});
        tx.audit(actor, AuditAction::Create, "survey_campaign", campaign.id, None::<&()>, Some(&summary)).await?;
        tx.commit().await?;
        if !mail.is_empty() {
            self.outbox_woken();
        }
        let links =
            invitations.into_iter().zip(tokens).map(|(invitation, token)| IssuedLink { invitation, token }).collect();
        Ok(Launch { campaign, links })
    }

    pub async fn survey_campaigns(&self, actor: &Actor) -> ServiceResult<Vec<(CampaignRow, Tracking)>> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        let mut out = Vec::new();
        for c in ss::campaigns(&mut h.conn()).await? {
            let t = tracking(&ss::invitations(&mut h.conn(), c.id).await?);
            out.push((c, t));
        }
        Ok(out)
    }

    pub async fn survey_invitations(&self, actor: &Actor, campaign_id: i64) -> ServiceResult<Vec<InvitationRow>> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        ss::campaign(&mut h.conn(), campaign_id).await.entity("survey campaign")?;
        Ok(ss::invitations(&mut h.conn(), campaign_id).await?)
    }

    /// Marks every non-responder reminded (the mail itself comes with notifications).
    pub async fn remind_non_responders(&self, actor: &Actor, campaign_id: i64) -> ServiceResult<Vec<InvitationRow>> {
        actor.require(Permission::ManageSurveys)?;
        let mut tx = self.store.begin().await?;
        let c = ss::campaign(&mut tx.conn(), campaign_id).await.entity("survey campaign")?;
        if c.status != "open" {
            return Err(DomainError::Conflict { reason: "errors.campaign_closed".into(), field: None }.into());
        }
        let reminded = ss::remind(&mut tx.conn(), campaign_id).await?;
        // Issue #20 item 15: a reminder mail with a link of its own (the first one keeps working).
        let template = ss::template(&mut tx.conn(), c.template_id).await.entity("survey template")?;
        let mut tokens = Vec::new();
        for r in reminded.iter().filter(|r| !r.email.trim().is_empty()) {
            let token = random_secret();
            ss::set_reminder_token(&mut tx.conn(), r.id, &digest(&token)).await?;
            tokens.push((r, token));
        }
        let pairs: Vec<_> = tokens.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let mail = self.survey_mails(&template.name, &pairs, true, crate::cases::micros(self.now()));
        loopdesk_store::outbox::enqueue(&mut tx.conn(), &mail).await?;
        let ids: Vec<i64> = reminded.iter().map(|r| r.id).collect();
        let after = serde_json::json!({"reminded_invitations": ids, "mailed": mail.len()});
        tx.audit(actor, AuditAction::Update, "survey_campaign", campaign_id, None::<&()>, Some(&after)).await?;
        tx.commit().await?;
        if !mail.is_empty() {
            self.outbox_woken();
        }
        Ok(reminded)
    }

    /// The survey behind a link, recording the first opening. Unknown tokens are not found.
    pub async fn open_survey(&self, token: &str) -> ServiceResult<PublicSurvey> {
        let hash = digest(token.trim());
        let mut tx = self.store.begin().await?;
        let inv = ss::invitation_by_hash(&mut tx.conn(), &hash).await.entity("survey link")?;
        let campaign = ss::campaign(&mut tx.conn(), inv.campaign_id).await.entity("survey campaign")?;
        let template = TemplateRecord::from_row(ss::template(&mut tx.conn(), campaign.template_id).await?)?.template;
        if inv.opened_at.is_none() {
            ss::mark_opened(&mut tx.conn(), inv.id).await?;
        }
        tx.commit().await?;
        let closed = campaign.status != "open";
        Ok(PublicSurvey { campaign, template, answered: inv.answered_at.is_some(), closed })
    }

    /// Stores one submission for the link. A second submission is a conflict, as is one after
    /// the campaign closed; answers are checked against the template revision the campaign uses.
    pub async fn submit_survey(&self, token: &str, s: &Submission) -> ServiceResult<()> {
        let hash = digest(token.trim());
        let mut tx = self.store.begin().await?;
        let inv = ss::invitation_by_hash(&mut tx.conn(), &hash).await.entity("survey link")?;
        let campaign = ss::campaign(&mut tx.conn(), inv.campaign_id).await.entity("survey campaign")?;
        if campaign.status != "open" {
            return Err(DomainError::Conflict { reason: "errors.survey_closed".into(), field: None }.into());
        }
        let t = TemplateRecord::from_row(ss::template(&mut tx.conn(), campaign.template_id).await?)?.template;
        let answers = check_submission(&t, s)?;
        if !ss::mark_answered(&mut tx.conn(), inv.id).await? {
            return Err(
                DomainError::Conflict { reason: "errors.link_has_already_been_used".into(), field: None }.into()
            );
        }
        let anonymous = campaign.anonymous || (s.anonymous && t.spec.allow_anonymous);
        let (customer, contact) = if anonymous { (None, None) } else { (Some(inv.customer_id), Some(inv.contact_id)) };
        let response = ss::insert_response(&mut tx.conn(), campaign.id, customer, contact, s.locale.code()).await?;
        for a in &answers {
            ss::insert_answer(&mut tx.conn(), response, campaign.id, a).await?;
        }
        // The respondent is not a user; the event names the response only, never who gave it.
        let respondent = Actor { username: "survey-respondent".into(), roles: vec![], ..Actor::system() };
        let after = serde_json::json!({"campaign_id": campaign.id, "response_id": response, "answers": answers.len()});
        tx.audit(&respondent, AuditAction::Create, "survey_response", response, None::<&()>, Some(&after)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Staff's classification of a free-text answer (意见/建议 and a category).
    pub async fn classify_survey_answer(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        kind: FeedbackKind,
        category: &str,
    ) -> ServiceResult<AnswerRow> {
        actor.require(Permission::ManageSurveys)?;
        let category = required_text("category", category, crate::limits::surveys::ANSWER_CATEGORY)?;
        let kind = match kind {
            FeedbackKind::Opinion => "opinion",
            FeedbackKind::Suggestion => "suggestion",
        };
        let mut tx = self.store.begin().await?;
        let before = ss::answer(&mut tx.conn(), id).await.entity("survey answer")?;
        if before.kind != QuestionKind::Text.code() {
            return Err(DomainError::invalid("id", "errors.only_free_text_answers_are").into());
        }
        let after = ss::classify_answer(&mut tx.conn(), id, version, kind, &category).await.entity("survey answer")?;
        tx.audit(actor, AuditAction::Update, "survey_answer", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Internal self-assessment KPIs of a period (on-time delivery, complaints, returns, reply timeliness).
    pub async fn put_survey_kpis(&self, actor: &Actor, period: &str, i: &KpiInput) -> ServiceResult<KpiRow> {
        actor.require(Permission::ManageSurveys)?;
        let period = period_ok(period)?;
        internal_score(&i.kpis)?;
        let share = i.external_share.unwrap_or(loopdesk_domain::survey::scoring::DEFAULT_EXTERNAL_SHARE);
        composite_index(0.0, 0.0, Some(share))?;
        let mut tx = self.store.begin().await?;
        let before = ss::kpis(&mut tx.conn(), &period).await?;
        let row = ss::put_kpis(&mut tx.conn(), &period, &to_json(&i.kpis)?, share).await.entity("survey kpis")?;
        let action = if before.is_some() { AuditAction::Update } else { AuditAction::Create };
        tx.audit(actor, action, "survey_kpis", row.id, before.as_ref(), Some(&row)).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn survey_results(&self, actor: &Actor, campaign_id: i64) -> ServiceResult<CampaignResults> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        results(&mut h.conn(), campaign_id).await
    }

    /// Closes the campaign, freezes its results and, below target, opens a corrective-action
    /// request due in 2 working days on the default calendar.
    pub async fn close_campaign(
        &self,
        actor: &Actor,
        campaign_id: i64,
        version: i64,
    ) -> ServiceResult<CampaignResults> {
        actor.require(Permission::ManageSurveys)?;
        let mut tx = self.store.begin().await?;
        let before = ss::campaign(&mut tx.conn(), campaign_id).await.entity("survey campaign")?;
        if before.status != "open" {
            return Err(DomainError::Conflict { reason: "errors.campaign_already_closed".into(), field: None }.into());
        }
        let mut r = results(&mut tx.conn(), campaign_id).await?;
        r.status = "closed".into();
        let after =
            ss::close_campaign(&mut tx.conn(), campaign_id, version, &to_json(&r)?).await.entity("survey campaign")?;
        tx.audit(actor, AuditAction::Update, "survey_campaign", campaign_id, Some(&before), Some(&after)).await?;
        if r.scores.below_target {
            let cal = default_calendar(&mut tx.conn()).await?;
            let due_at = due(&cal, Utc::now(), Duration::WorkingDays(CORRECTIVE_ACTION_WORKING_DAYS))?;
            let (title, detail) = corrective_action_text(&before.name, &r.scores);
            let car = ss::insert_corrective_action(&mut tx.conn(), CAR_SOURCE, campaign_id, &title, &detail, due_at)
                .await
                .entity("corrective action request")?;
            tx.audit(actor, AuditAction::Create, "corrective_action_request", car.id, None::<&()>, Some(&car)).await?;
            r.corrective_action = Some(car);
        }
        tx.commit().await?;
        Ok(r)
    }

    pub async fn corrective_actions(&self, actor: &Actor) -> ServiceResult<Vec<CorrectiveActionRow>> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        Ok(ss::corrective_actions(&mut h.conn()).await?)
    }

    /// The two report sheets: 客户满意度调查汇总表 and 意见/建议分类统计表 (rows of text, header first).
    pub async fn survey_report_sheets(
        &self,
        actor: &Actor,
        campaign_id: i64,
        chinese: bool,
    ) -> ServiceResult<Vec<(String, Vec<Vec<String>>)>> {
        let r = self.survey_results(actor, campaign_id).await?;
        Ok(report_sheets(&r.scores, chinese))
    }

    /// The same two sheets over a plan's period.
    pub async fn survey_period_report_sheets(
        &self,
        actor: &Actor,
        plan_id: i64,
        period: Option<&str>,
        chinese: bool,
    ) -> ServiceResult<Vec<(String, Vec<Vec<String>>)>> {
        let r = self.survey_period_results(actor, plan_id, period).await?;
        Ok(report_sheets(&r.scores, chinese))
    }

    /// Results of a plan over a period (`2026`, `2026H1`, `2026Q2`, `2026-05`; default: the
    /// newest period of the plan's frequency), compared with its target and the period before.
    pub async fn survey_period_results(
        &self,
        actor: &Actor,
        plan_id: i64,
        period: Option<&str>,
    ) -> ServiceResult<PeriodResults> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        period_results(&mut h.conn(), plan_id, period).await
    }

    /// Opens the corrective-action request of a plan's period that is below target (overall or an
    /// indicator under its threshold), due in 2 working days; once per plan and period.
    pub async fn open_period_corrective_action(
        &self,
        actor: &Actor,
        plan_id: i64,
        period: &str,
    ) -> ServiceResult<CorrectiveActionRow> {
        actor.require(Permission::ManageSurveys)?;
        let period = Period::parse("period", period)?.to_string();
        let mut tx = self.store.begin().await?;
        let r = period_results(&mut tx.conn(), plan_id, Some(&period)).await?;
        if !r.scores.below_target {
            return Err(DomainError::invalid("period", "errors.period_meets_target_every_threshold").into());
        }
        let source = period_car_source(&period);
        if ss::corrective_action_for(&mut tx.conn(), &source, plan_id).await?.is_some() {
            return Err(DomainError::Conflict {
                reason: "errors.period_already_has_corrective_action".into(),
                field: Some("period"),
            }
            .into());
        }
        let cal = default_calendar(&mut tx.conn()).await?;
        let due_at = due(&cal, Utc::now(), Duration::WorkingDays(CORRECTIVE_ACTION_WORKING_DAYS))?;
        let (title, detail) = corrective_action_text(&format!("{} {period}", r.plan_name), &r.scores);
        let car = ss::insert_corrective_action(&mut tx.conn(), &source, plan_id, &title, &detail, due_at)
            .await
            .entity("corrective action request")?;
        tx.audit(actor, AuditAction::Create, "corrective_action_request", car.id, None::<&()>, Some(&car)).await?;
        tx.commit().await?;
        Ok(car)
    }

    pub async fn survey_plan(&self, actor: &Actor, id: i64) -> ServiceResult<Plan> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        Plan::from_row(ss::plan(&mut h.conn(), id).await.entity("survey plan")?)
    }

    /// The campaigns of one plan, newest first, with their tracking counts.
    pub async fn survey_plan_campaigns(
        &self,
        actor: &Actor,
        plan_id: i64,
    ) -> ServiceResult<Vec<(CampaignRow, Tracking)>> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        let mut out = Vec::new();
        for c in ss::plan_campaigns(&mut h.conn(), plan_id).await?.into_iter().rev() {
            let t = tracking(&ss::invitations(&mut h.conn(), c.id).await?);
            out.push((c, t));
        }
        Ok(out)
    }

    /// Every period's internal KPIs, newest period first.
    pub async fn survey_kpi_sets(&self, actor: &Actor) -> ServiceResult<Vec<KpiRow>> {
        actor.require(Permission::ReadReports)?;
        let mut h = self.store.read().await?;
        Ok(ss::all_kpis(&mut h.conn()).await?)
    }

    /// Checks a template and computes its weights without storing it (the editor's preview).
    pub fn preview_template(&self, actor: &Actor, spec: TemplateSpec) -> ServiceResult<Template> {
        actor.require(Permission::ManageSurveys)?;
        Ok(Template::parse(spec)?)
    }
}

async fn default_calendar(c: &mut loopdesk_store::Conn<'_>) -> ServiceResult<Calendar> {
    match calendars::get_by_code(c, "OFFICE").await {
        Ok(row) => {
            let spec: CalendarSpec = serde_json::from_str(&row.spec)
                .map_err(|e| ServiceError::Internal(format!("calendar OFFICE: stored spec unreadable: {e}")))?;
            Ok(Calendar::from_spec(&spec)?)
        }
        // No stored calendars yet: the built-in office calendar is what OFFICE would be.
        Err(StoreError::NotFound) => Ok(crate::calendars::office_calendar()?),
        Err(e) => Err(e.into()),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

/// Title and detail of the corrective-action request: why it was opened, item by item.
fn corrective_action_text(name: &str, r: &Scores) -> (String, String) {
    let title = if r.overall_below_target {
        format!("客户满意度低于目标 / Satisfaction below target: {name}")
    } else {
        format!("单项满意度低于阈值 / Items below their thresholds: {name}")
    };
    let mut reasons = Vec::new();
    if r.overall_below_target {
        reasons.push(format!("overall {} % < target {:.1} %", pct(r.overall_pct), r.target_pct));
    }
    for b in &r.below_threshold {
        reasons.push(format!(
            "{} {} / {} {:.1} % < threshold {:.1} %",
            b.code, b.name_zh, b.name_en, b.satisfaction_pct, b.threshold_pct
        ));
    }
    reasons.push(format!(
        "response rate {:.1} % (minimum {:.0} %){}",
        r.response_rate * 100.0,
        r.min_response_rate * 100.0,
        if r.representative { "" } else { "; not representative" }
    ));
    (title, reasons.join("; "))
}

/// The report sheets as rows of text (first row the header).
pub fn report_sheets(r: &Scores, zh: bool) -> Vec<(String, Vec<Vec<String>>)> {
    let h = |a: &str, b: &str| if zh { a.to_owned() } else { b.to_owned() };
    let mut summary = vec![vec![
        h("指标编号", "Code"),
        h("指标", "Indicator"),
        h("层级", "Level"),
        h("权重", "Weight"),
        h("权数", "Multiplier"),
        h("回收份数", "Answers"),
        h("满意度 %", "Satisfaction %"),
        h("阈值 %", "Threshold %"),
    ]];
    for l in &r.levels {
        let item = r.items.iter().find(|i| i.code == l.code);
        summary.push(vec![
            l.code.clone(),
            if zh { l.name_zh.clone() } else { l.name_en.clone() },
            l.depth.to_string(),
            format!("{:.4}", l.global_weight),
            item.map(|i| format!("{:.3}", i.multiplier)).unwrap_or_default(),
            item.map(|i| i.answers.to_string()).unwrap_or_default(),
            pct(l.satisfaction_pct),
            l.threshold_pct.map(|t| format!("{t:.1}")).unwrap_or_default(),
        ]);
    }
    let line = |k: &str, e: &str, v: String| {
        vec![h(k, e), String::new(), String::new(), String::new(), String::new(), String::new(), v, String::new()]
    };
    summary.push(line("顾客满意度", "Overall satisfaction", pct(r.overall_pct)));
    summary.push(line("目标", "Target", format!("{:.1}", r.target_pct)));
    summary.push(line("上期", "Previous period", pct(r.previous_pct)));
    summary.push(line("NPS", "NPS", pct(r.nps)));
    summary.push(line("CSAT %", "CSAT %", pct(r.csat_pct)));
    summary.push(line("回收率 %", "Response rate %", format!("{:.1}", r.response_rate * 100.0)));
    summary.push(line("最低回收率 %", "Minimum response rate %", format!("{:.0}", r.min_response_rate * 100.0)));
    summary.push(line("综合满意度指数", "Composite index", pct(r.composite.as_ref().map(|c| c.value))));
    summary.push(line("计算公式", "Formula", if zh { r.formula_zh.clone() } else { r.formula_en.clone() }));
    let mut feedback = vec![vec![h("类别", "Kind"), h("分类", "Category"), h("数量", "Count"), h("占比 %", "Share %")]];
    for c in &r.feedback.categories {
        let kind = match c.kind {
            FeedbackKind::Opinion => h("意见", "Opinion"),
            FeedbackKind::Suggestion => h("建议", "Suggestion"),
        };
        feedback.push(vec![kind, c.category.clone(), c.count.to_string(), format!("{:.1}", c.share * 100.0)]);
    }
    feedback.push(vec![h("合计", "Total"), String::new(), r.feedback.total.to_string(), String::new()]);
    vec![
        (h("客户满意度调查汇总表", "Satisfaction summary"), summary),
        (h("意见建议分类统计表", "Opinions and suggestions"), feedback),
    ]
}

/// Turns a form's raw values into answer rows, checking each against its question.
fn check_submission<'a>(t: &'a Template, s: &'a Submission) -> ServiceResult<Vec<AnswerFields<'a>>> {
    let mut out = Vec::new();
    for code in s.values.keys() {
        if t.question(code).is_none() {
            return Err(DomainError::invalid(code.clone(), "errors.not_question_survey").into());
        }
    }
    for q in &t.spec.questions {
        let vals: Vec<&str> = s
            .values
            .get(&q.code)
            .map(|v| v.iter().map(|x| x.trim()).filter(|x| !x.is_empty()).collect())
            .unwrap_or_default();
        if vals.is_empty() {
            if q.required {
                return Err(DomainError::invalid(q.code.clone(), "errors.required").into());
            }
            continue;
        }
        let mut a = AnswerFields {
            question_code: &q.code,
            kind: q.kind.code(),
            score: None,
            choices: "[]".into(),
            text: "",
            feedback_kind: None,
        };
        let single = || -> Result<&str, DomainError> {
            if vals.len() == 1 {
                Ok(vals[0])
            } else {
                Err(DomainError::invalid(q.code.clone(), "errors.give_one_answer"))
            }
        };
        match q.kind {
            QuestionKind::Rating => {
                let v: f64 =
                    single()?.parse().map_err(|_| DomainError::invalid(q.code.clone(), "errors.not_number"))?;
                a.score = Some(t.scale.check_answer(q.code.clone(), v)?);
            }
            QuestionKind::Nps => {
                let v: u8 = single()?.parse().map_err(|_| DomainError::invalid(q.code.clone(), "errors.must_0_10"))?;
                if v > 10 {
                    return Err(DomainError::invalid(q.code.clone(), "errors.must_0_10").into());
                }
                a.score = Some(f64::from(v));
            }
            QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
                if q.kind == QuestionKind::SingleChoice {
                    single()?;
                }
                for v in &vals {
                    if !q.options.iter().any(|o| o.code == *v) {
                        return Err(DomainError::invalid(
                            q.code.clone(),
                            loopdesk_domain::reason!("errors.not_option", v),
                        )
                        .into());
                    }
                }
                a.choices = to_json(&vals)?;
            }
            QuestionKind::Text => {
                let v = single()?;
                if v.chars().count() > crate::limits::surveys::ANSWER_TEXT {
                    return Err(DomainError::invalid(q.code.clone(), "errors.at_most_4000_characters").into());
                }
                // Stored as typed; every page escapes it when shown.
                a.text = vals[0];
                a.feedback_kind = Some(match q.feedback_kind.unwrap_or(FeedbackKind::Opinion) {
                    FeedbackKind::Opinion => "opinion",
                    FeedbackKind::Suggestion => "suggestion",
                });
            }
        }
        out.push(a);
    }
    if out.is_empty() {
        return Err(DomainError::invalid("answers", "errors.answer_at_least_one_question").into());
    }
    Ok(out)
}

/// A campaign with everything its scoring needs.
struct Collected {
    campaign: CampaignRow,
    /// The campaign's own period, when it parses (campaigns launched before periods were checked
    /// may carry free text; they are left out of period results).
    period: Option<Period>,
    code: String,
    revision: i64,
    template: Template,
    tracking: Tracking,
    answers: Vec<AnswerRow>,
}

async fn collect(c: &mut loopdesk_store::Conn<'_>, campaign: CampaignRow) -> ServiceResult<Collected> {
    let trow = ss::template(c, campaign.template_id).await.entity("survey template")?;
    let (code, revision) = (trow.code.clone(), trow.revision);
    let template = TemplateRecord::from_row(trow)?.template;
    let tracking = tracking(&ss::invitations(c, campaign.id).await?);
    let answers = ss::answers(c, campaign.id).await?;
    let period = Period::parse("period", &campaign.period).ok();
    Ok(Collected { campaign, period, code, revision, template, tracking, answers })
}

/// What the answers are measured against.
struct Basis<'a> {
    /// The tree, weights and thresholds answers are scored on.
    template: &'a Template,
    target_pct: f64,
    min_response_rate: f64,
    previous_pct: Option<f64>,
    kpis: Option<KpiRow>,
}

/// Scores the answers of one or more campaigns with the domain rules. Each rating answer counts on
/// its own campaign's scale and lands on the basis template's item of the same code; an item the
/// basis no longer has is not scored.
fn score(parts: &[&Collected], b: &Basis<'_>) -> ServiceResult<Scores> {
    let t = b.template;
    let mut pools: BTreeMap<String, ItemPool> =
        t.tree.items().iter().map(|i| ((*i).to_owned(), ItemPool::default())).collect();
    let mut nps_answers = Vec::new();
    let mut tagged = Vec::new();
    let mut texts = Vec::new();
    let mut choice_counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut track = Tracking::default();
    for part in parts {
        track.invited += part.tracking.invited;
        track.opened += part.tracking.opened;
        track.answered += part.tracking.answered;
        track.reminded += part.tracking.reminded;
        for a in &part.answers {
            let Some(q) = part.template.question(&a.question_code) else { continue };
            match q.kind {
                QuestionKind::Rating => {
                    let pool = q.indicator.as_ref().and_then(|ind| pools.get_mut(ind));
                    if let (Some(pool), Some(s)) = (pool, a.score) {
                        pool.add(&part.template.scale, s, &format!("answers.{}", a.id))?;
                    }
                }
                QuestionKind::Nps => {
                    if let Some(s) = a.score {
                        nps_answers.push(s as u8);
                    }
                }
                QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
                    let picked: Vec<String> = serde_json::from_str(&a.choices).unwrap_or_default();
                    for p in picked {
                        *choice_counts.entry((a.question_code.clone(), p)).or_default() += 1;
                    }
                }
                QuestionKind::Text => {
                    let kind = if a.feedback_kind.as_deref() == Some("suggestion") {
                        FeedbackKind::Suggestion
                    } else {
                        FeedbackKind::Opinion
                    };
                    tagged.push(TaggedAnswer { kind, category: a.category.clone() });
                    texts.push(TextAnswer {
                        id: a.id,
                        version: a.version,
                        campaign_id: part.campaign.id,
                        question_code: a.question_code.clone(),
                        kind: a.feedback_kind.clone().unwrap_or_else(|| "opinion".into()),
                        category: a.category.clone(),
                        text: a.text.clone(),
                    });
                }
            }
        }
    }
    let satisfaction: BTreeMap<String, f64> =
        pools.iter().filter_map(|(code, p)| p.satisfaction().map(|s| (code.clone(), s))).collect();
    let roll_up = t.tree.roll_up(&satisfaction)?;
    let items = t
        .item_weights()
        .into_iter()
        .map(|w| {
            let names = t.indicator(&w.code);
            let pool = pools.get(&w.code);
            ItemResult {
                name_zh: names.map(|n| n.name_zh.clone()).unwrap_or_default(),
                name_en: names.map(|n| n.name_en.clone()).unwrap_or_default(),
                answers: pool.map(ItemPool::answers).unwrap_or(0),
                satisfaction_pct: pool.and_then(ItemPool::satisfaction),
                weight: w.weight,
                multiplier: w.multiplier,
                threshold_pct: t.indicator(&w.code).and_then(|n| n.threshold),
                code: w.code,
            }
        })
        .collect();
    let levels = roll_up
        .nodes
        .iter()
        .map(|n| {
            let names = t.indicator(&n.weight.code);
            LevelResult {
                code: n.weight.code.clone(),
                name_zh: names.map(|x| x.name_zh.clone()).unwrap_or_default(),
                name_en: names.map(|x| x.name_en.clone()).unwrap_or_default(),
                depth: n.weight.depth,
                local_weight: n.weight.local_weight,
                global_weight: n.weight.global_weight,
                satisfaction_pct: n.satisfaction,
                threshold_pct: names.and_then(|x| x.threshold),
            }
        })
        .collect();
    let rate = response_rate(track.answered, track.invited.max(1), Some(b.min_response_rate))?;
    let nps_detail = nps(&nps_answers)?;
    let rated: usize = pools.values().map(ItemPool::answers).sum();
    let top_two: usize = pools.values().map(|p| p.top_two).sum();
    let csat_pct = (rated > 0).then(|| top_two as f64 / rated as f64 * 100.0);
    let comparison = match roll_up.overall {
        Some(_) => Some(compare(&roll_up, b.target_pct, b.previous_pct, &t.thresholds())?),
        None => None,
    };
    let below_threshold = comparison
        .as_ref()
        .map(|c| {
            c.below_threshold
                .iter()
                .map(|x| {
                    let names = t.indicator(&x.code);
                    ThresholdBreach {
                        code: x.code.clone(),
                        name_zh: names.map(|n| n.name_zh.clone()).unwrap_or_default(),
                        name_en: names.map(|n| n.name_en.clone()).unwrap_or_default(),
                        satisfaction_pct: x.satisfaction,
                        threshold_pct: x.threshold,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let (internal, composite) = match (&b.kpis, roll_up.overall) {
        (Some(k), Some(overall)) => {
            let kpis: Vec<Kpi> =
                serde_json::from_str(&k.kpis).map_err(|e| ServiceError::Internal(format!("kpis {}: {e}", k.period)))?;
            let internal = internal_score(&kpis)?;
            let composite = composite_index(overall, internal.value, Some(k.external_share))?;
            (Some(internal), Some(composite))
        }
        _ => (None, None),
    };
    Ok(Scores {
        response_rate: rate.rate,
        min_response_rate: rate.minimum,
        representative: rate.representative && track.invited > 0,
        tracking: track,
        items,
        levels,
        overall_pct: roll_up.overall,
        renormalised: roll_up.renormalised,
        formula_zh: FORMULA_ZH.to_owned(),
        formula_en: FORMULA_EN.to_owned(),
        nps: nps_detail.score,
        nps_detail,
        csat_pct,
        target_pct: b.target_pct,
        delta_vs_target: comparison.as_ref().map(|c| c.delta_vs_target),
        previous_pct: b.previous_pct,
        delta_vs_previous: comparison.as_ref().and_then(|c| c.delta_vs_previous),
        overall_below_target: comparison.as_ref().is_some_and(|c| c.overall_below_target),
        below_threshold,
        below_target: comparison.as_ref().is_some_and(|c| c.below_target),
        internal,
        composite,
        feedback: classify(&tagged),
        texts,
        choices: choice_counts
            .into_iter()
            .map(|((q, o), count)| ChoiceCount { question_code: q, option_code: o, count })
            .collect(),
    })
}

/// Computes a campaign's results from its answers with the domain scoring rules.
async fn results(c: &mut loopdesk_store::Conn<'_>, campaign_id: i64) -> ServiceResult<CampaignResults> {
    let campaign = ss::campaign(c, campaign_id).await.entity("survey campaign")?;
    let previous_pct = match campaign.plan_id {
        Some(p) => ss::previous_closed_campaign(c, p, campaign.id)
            .await?
            .and_then(|prev| prev.results)
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
            .and_then(|v| v.get("overall_pct").and_then(serde_json::Value::as_f64)),
        None => None,
    };
    let kpis = ss::kpis(c, &campaign.period).await?;
    let corrective_action = ss::corrective_action_for(c, CAR_SOURCE, campaign_id).await?;
    let part = collect(c, campaign).await?;
    let basis = Basis {
        template: &part.template,
        target_pct: part.campaign.target_pct,
        min_response_rate: part.campaign.min_response_rate,
        previous_pct,
        kpis,
    };
    let scores = score(&[&part], &basis)?;
    let k = &part.campaign;
    Ok(CampaignResults {
        campaign_id,
        name: k.name.clone(),
        period: k.period.clone(),
        status: k.status.clone(),
        version: k.version,
        plan_id: k.plan_id,
        template_code: part.code.clone(),
        template_revision: part.revision,
        scores,
        corrective_action,
    })
}

/// How many periods the trend chart shows.
const TREND_POINTS: usize = 8;

/// Results of a plan over `period` (default: the period of the plan's frequency holding its newest
/// campaign), with the period before and the trend.
async fn period_results(
    c: &mut loopdesk_store::Conn<'_>,
    plan_id: i64,
    period: Option<&str>,
) -> ServiceResult<PeriodResults> {
    let plan = Plan::from_row(ss::plan(c, plan_id).await.entity("survey plan")?)?;
    let mut parts = Vec::new();
    for k in ss::plan_campaigns(c, plan_id).await? {
        parts.push(collect(c, k).await?);
    }
    let granularity = Granularity::of_frequency(&plan.row.frequency);
    let period = match period.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Period::parse("period", p)?,
        None => parts
            .iter()
            .rev()
            .find_map(|k| k.period)
            .map(|p| p.within(granularity).unwrap_or(p))
            .unwrap_or_else(|| Period::containing(plan.row.period_start, granularity)),
    };
    let in_period = |p: Period| -> Vec<&Collected> {
        parts.iter().filter(|k| k.period.is_some_and(|own| p.contains(own))).collect()
    };
    let latest = ss::latest_template(c, &plan.row.template_code).await.entity("survey template")?;
    let latest = TemplateRecord::from_row(latest)?;
    // The newest revision among the period's campaigns; the plan's current one when there are none.
    let basis_of = |members: &[&Collected]| -> (String, i64, Template) {
        match members.last() {
            Some(k) => (k.code.clone(), k.revision, k.template.clone()),
            None => (latest.row.code.clone(), latest.row.revision, latest.template.clone()),
        }
    };
    let overall_of = |p: Period| -> ServiceResult<(Option<f64>, Tracking, f64)> {
        let members = in_period(p);
        let (_, _, t) = basis_of(&members);
        let b = Basis {
            template: &t,
            target_pct: plan.row.target_pct,
            min_response_rate: plan.row.min_response_rate,
            previous_pct: None,
            kpis: None,
        };
        let s = score(&members, &b)?;
        Ok((s.overall_pct, s.tracking, s.response_rate))
    };
    let previous = period.previous();
    let previous_pct = overall_of(previous)?.0;
    let members = in_period(period);
    let (template_code, template_revision, template) = basis_of(&members);
    let basis = Basis {
        template: &template,
        target_pct: plan.row.target_pct,
        min_response_rate: plan.row.min_response_rate,
        previous_pct,
        kpis: ss::kpis(c, &period.to_string()).await?,
    };
    let scores = score(&members, &basis)?;
    let mut campaigns = Vec::with_capacity(members.len());
    let mut corrective_actions = Vec::new();
    for k in &members {
        let own = Basis {
            template: &k.template,
            target_pct: k.campaign.target_pct,
            min_response_rate: k.campaign.min_response_rate,
            previous_pct: None,
            kpis: None,
        };
        campaigns.push(PeriodCampaign {
            id: k.campaign.id,
            name: k.campaign.name.clone(),
            period: k.campaign.period.clone(),
            status: k.campaign.status.clone(),
            template_revision: k.revision,
            invited: k.tracking.invited,
            answered: k.tracking.answered,
            overall_pct: score(&[*k], &own)?.overall_pct,
        });
        if let Some(car) = ss::corrective_action_for(c, CAR_SOURCE, k.campaign.id).await? {
            corrective_actions.push(car);
        }
    }
    if let Some(car) = ss::corrective_action_for(c, &period_car_source(&period.to_string()), plan_id).await? {
        corrective_actions.push(car);
    }
    // Periods of the same length that have campaigns, up to this one, plus this one.
    let mut points: Vec<Period> = parts
        .iter()
        .filter_map(|k| k.period.and_then(|p| p.within(period.granularity())))
        .filter(|p| *p <= period)
        .chain([period])
        .collect();
    points.sort();
    points.dedup();
    let skip = points.len().saturating_sub(TREND_POINTS);
    let mut trend = Vec::new();
    for p in points.into_iter().skip(skip) {
        let (overall_pct, t, rate) = overall_of(p)?;
        trend.push(TrendPoint {
            period: p.to_string(),
            overall_pct,
            response_rate: rate,
            invited: t.invited,
            answered: t.answered,
        });
    }
    Ok(PeriodResults {
        plan_id,
        plan_name: plan.row.name.clone(),
        period: period.to_string(),
        granularity: period.granularity().code().to_owned(),
        previous_period: previous.to_string(),
        template_code,
        template_revision,
        campaigns,
        scores,
        trend,
        corrective_actions,
    })
}

/// Fires the `case_closed` trigger: the contact of a case that has just closed is invited to the
/// open event campaign of every plan listening for that case type (the campaign for the month is
/// opened on first use). Returns the answer links, for the customer's view of the case.
pub(crate) async fn invite_on_case_closed(
    tx: &mut loopdesk_store::Tx,
    k: &loopdesk_store::cases::Case,
    at: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
) -> ServiceResult<Vec<String>> {
    let Some(customer_id) = k.customer_id else { return Ok(vec![]) };
    let contacts = loopdesk_store::customers::contacts(&mut tx.conn(), customer_id).await?;
    let contact = match k.contact_id {
        Some(id) => contacts.into_iter().find(|c| c.id == id),
        None => contacts.into_iter().next(),
    };
    let Some(contact) = contact else { return Ok(vec![]) };
    let period = at.with_timezone(&tz).format("%Y-%m").to_string();
    let mut links = Vec::new();
    for row in ss::plans(&mut tx.conn()).await? {
        let plan = Plan::from_row(row)?;
        let listens = plan
            .triggers
            .iter()
            .any(|t| t.event == "case_closed" && (t.case_type.is_empty() || t.case_type == k.case_type));
        if !listens {
            continue;
        }
        let open = ss::campaigns(&mut tx.conn()).await?.into_iter().find(|c| {
            c.plan_id == Some(plan.row.id)
                && c.trigger_event == "case_closed"
                && c.period == period
                && c.status == "open"
        });
        let campaign = match open {
            Some(c) => c,
            None => {
                let template =
                    ss::latest_template(&mut tx.conn(), &plan.row.template_code).await.entity("survey template")?;
                let name = format!("{} · case_closed {period}", plan.row.name);
                let f = CampaignFields {
                    plan_id: Some(plan.row.id),
                    template_id: template.id,
                    name: &name,
                    period: &period,
                    trigger_event: "case_closed",
                    min_response_rate: plan.row.min_response_rate,
                    target_pct: plan.row.target_pct,
                    anonymous: false,
                };
                ss::insert_campaign(&mut tx.conn(), &f).await.entity("survey campaign")?
            }
        };
        let token = random_secret();
        let invitee = ss::Invitee { customer_id, contact_id: contact.id, email: contact.email.clone() };
        ss::insert_invitations(&mut tx.conn(), campaign.id, &[(invitee, digest(&token))]).await?;
        links.push(format!("/s/{token}"));
    }
    Ok(links)
}

//! Satisfaction surveys: template revisions, plans, campaigns, invitations, responses and answers,
//! internal KPIs per period and corrective-action requests. JSON columns (template definition,
//! population filter, triggers, results, KPIs) are the service's contracts, kept as text here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};
use crate::org::updated;

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: i64,
    pub code: String,
    /// 1, 2, …: each edit stores the next revision; stored revisions never change.
    pub revision: i64,
    pub name: String,
    pub audience: String,
    /// The JSON `TemplateSpec`.
    pub definition: String,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const TEMPLATE_COLS: &str =
    "id, code, revision, name, audience, definition, created_by, version, created_at, updated_at";

/// Stores the next revision of template `code` (1 for a new code).
pub async fn insert_template(
    c: &mut Conn<'_>,
    code: &str,
    name: &str,
    audience: &str,
    definition: &str,
    created_by: Option<i64>,
) -> StoreResult<TemplateRow> {
    let last: Option<i64> = on!(c, e => sqlx::query_scalar("SELECT MAX(revision) FROM survey_templates WHERE code = $1")
            .bind(code)
            .fetch_one(e)
            .await
            .map_err(map_err))?;
    let now = Utc::now();
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO survey_templates (code, revision, name, audience, definition, created_by, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING {TEMPLATE_COLS}"
    ))
    .bind(code)
    .bind(last.unwrap_or(0) + 1)
    .bind(name)
    .bind(audience)
    .bind(definition)
    .bind(created_by)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn template(c: &mut Conn<'_>, id: i64) -> StoreResult<TemplateRow> {
    on!(c, e => sqlx::query_as(sql!("SELECT {TEMPLATE_COLS} FROM survey_templates WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// The newest revision of `code`.
pub async fn latest_template(c: &mut Conn<'_>, code: &str) -> StoreResult<TemplateRow> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {TEMPLATE_COLS} FROM survey_templates WHERE code = $1 ORDER BY revision DESC LIMIT 1"
    ))
    .bind(code)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// The newest revision of every template.
pub async fn templates(c: &mut Conn<'_>) -> StoreResult<Vec<TemplateRow>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {TEMPLATE_COLS} FROM survey_templates t
         WHERE revision = (SELECT MAX(revision) FROM survey_templates u WHERE u.code = t.code) ORDER BY code"
    ))
    .fetch_all(e)
    .await
    .map_err(map_err))
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub name: String,
    pub template_code: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub frequency: String,
    /// JSON population filter.
    pub population: String,
    pub min_response_rate: f64,
    pub target_pct: f64,
    pub channel: String,
    /// JSON list of event triggers.
    pub triggers: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const PLAN_COLS: &str = "id, name, template_code, period_start, period_end, frequency, population, min_response_rate, target_pct, channel, triggers, version, created_at, updated_at";

pub struct PlanFields<'a> {
    pub name: &'a str,
    pub template_code: &'a str,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub frequency: &'a str,
    pub population: &'a str,
    pub min_response_rate: f64,
    pub target_pct: f64,
    pub channel: &'a str,
    pub triggers: &'a str,
}

pub async fn insert_plan(c: &mut Conn<'_>, f: &PlanFields<'_>) -> StoreResult<PlanRow> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO survey_plans (name, template_code, period_start, period_end, frequency, population, min_response_rate,
         target_pct, channel, triggers, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) RETURNING {PLAN_COLS}"
    ))
    .bind(f.name)
    .bind(f.template_code)
    .bind(f.period_start)
    .bind(f.period_end)
    .bind(f.frequency)
    .bind(f.population)
    .bind(f.min_response_rate)
    .bind(f.target_pct)
    .bind(f.channel)
    .bind(f.triggers)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn plan(c: &mut Conn<'_>, id: i64) -> StoreResult<PlanRow> {
    on!(c, e => sqlx::query_as(sql!("SELECT {PLAN_COLS} FROM survey_plans WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn plans(c: &mut Conn<'_>) -> StoreResult<Vec<PlanRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {PLAN_COLS} FROM survey_plans ORDER BY period_start DESC, id DESC"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

// ---------------------------------------------------------------------------------------------
// Campaigns and invitations
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: i64,
    pub plan_id: Option<i64>,
    pub template_id: i64,
    pub name: String,
    pub period: String,
    pub trigger_event: String,
    pub min_response_rate: f64,
    pub target_pct: f64,
    pub anonymous: bool,
    /// open or closed
    pub status: String,
    pub closed_at: Option<DateTime<Utc>>,
    /// JSON results frozen at closing.
    pub results: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CAMPAIGN_COLS: &str = "id, plan_id, template_id, name, period, trigger_event, min_response_rate, target_pct, anonymous, status, closed_at, results, version, created_at, updated_at";

pub struct CampaignFields<'a> {
    pub plan_id: Option<i64>,
    pub template_id: i64,
    pub name: &'a str,
    pub period: &'a str,
    pub trigger_event: &'a str,
    pub min_response_rate: f64,
    pub target_pct: f64,
    pub anonymous: bool,
}

pub async fn insert_campaign(c: &mut Conn<'_>, f: &CampaignFields<'_>) -> StoreResult<CampaignRow> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO survey_campaigns (plan_id, template_id, name, period, trigger_event, min_response_rate, target_pct,
         anonymous, status, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', 1, $9, $9) RETURNING {CAMPAIGN_COLS}"
    ))
    .bind(f.plan_id)
    .bind(f.template_id)
    .bind(f.name)
    .bind(f.period)
    .bind(f.trigger_event)
    .bind(f.min_response_rate)
    .bind(f.target_pct)
    .bind(f.anonymous)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn campaign(c: &mut Conn<'_>, id: i64) -> StoreResult<CampaignRow> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CAMPAIGN_COLS} FROM survey_campaigns WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn campaigns(c: &mut Conn<'_>) -> StoreResult<Vec<CampaignRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CAMPAIGN_COLS} FROM survey_campaigns ORDER BY id DESC LIMIT 500"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// Every campaign of a plan, oldest first.
pub async fn plan_campaigns(c: &mut Conn<'_>, plan_id: i64) -> StoreResult<Vec<CampaignRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CAMPAIGN_COLS} FROM survey_campaigns WHERE plan_id = $1 ORDER BY id"))
        .bind(plan_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// The latest closed campaign of the same plan before `id`: "the previous period".
pub async fn previous_closed_campaign(c: &mut Conn<'_>, plan_id: i64, id: i64) -> StoreResult<Option<CampaignRow>> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {CAMPAIGN_COLS} FROM survey_campaigns WHERE plan_id = $1 AND id < $2 AND status = 'closed'
         ORDER BY id DESC LIMIT 1"
    ))
    .bind(plan_id)
    .bind(id)
    .fetch_optional(e)
    .await
    .map_err(map_err))
}

pub async fn close_campaign(c: &mut Conn<'_>, id: i64, version: i64, results: &str) -> StoreResult<CampaignRow> {
    let now = Utc::now();
    let row: Option<CampaignRow> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE survey_campaigns SET status = 'closed', closed_at = $1, results = $2, version = version + 1, updated_at = $1
         WHERE id = $3 AND version = $4 RETURNING {CAMPAIGN_COLS}"
    ))
    .bind(now)
    .bind(results)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "survey_campaigns", id, row).await
}

/// Who a campaign may invite: one row per contact of a matching customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Invitee {
    pub customer_id: i64,
    pub contact_id: i64,
    pub email: String,
}

#[derive(Debug, Clone, Default)]
pub struct PopulationFilter {
    pub region: Option<String>,
    pub category: Option<String>,
    pub is_new: Option<bool>,
    /// The customer's largest contract is worth at least this many fen.
    pub min_contract_fen: Option<i64>,
    /// Only contacts with an e-mail address.
    pub need_email: bool,
}

pub async fn population(c: &mut Conn<'_>, f: &PopulationFilter) -> StoreResult<Vec<Invitee>> {
    on!(c, e => sqlx::query_as(
        "SELECT cu.id AS customer_id, k.id AS contact_id, k.email FROM customers cu JOIN contacts k ON k.customer_id = cu.id
         WHERE ($1 IS NULL OR cu.region = $1) AND ($2 IS NULL OR cu.category = $2) AND ($3 IS NULL OR cu.is_new = $3)
           AND ($4 IS NULL OR (SELECT COALESCE(MAX(ct.value_fen), 0) FROM contracts ct WHERE ct.customer_id = cu.id) >= $4)
           AND ($5 = FALSE OR k.email <> '')
         ORDER BY cu.id, k.id",
    )
    .bind(&f.region)
    .bind(&f.category)
    .bind(f.is_new)
    .bind(f.min_contract_fen)
    .bind(f.need_email)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub campaign_id: i64,
    pub customer_id: i64,
    pub contact_id: i64,
    pub email: String,
    #[serde(skip)]
    pub token_hash: String,
    pub sent_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub reminded_at: Option<DateTime<Utc>>,
    pub reminders: i64,
    pub version: i64,
}

const INVITATION_COLS: &str = "id, campaign_id, customer_id, contact_id, email, token_hash, sent_at, opened_at, answered_at, reminded_at, reminders, version";

/// Inserts the invitations `(invitee, token hash)`; returns them in input order.
pub async fn insert_invitations(
    c: &mut Conn<'_>,
    campaign_id: i64,
    rows: &[(Invitee, String)],
) -> StoreResult<Vec<InvitationRow>> {
    let now = Utc::now();
    let mut out = Vec::with_capacity(rows.len());
    for (i, hash) in rows {
        let r: InvitationRow = on!(c, e => sqlx::query_as(sql!(
            "INSERT INTO survey_invitations (campaign_id, customer_id, contact_id, email, token_hash, sent_at, reminders, version)
             VALUES ($1, $2, $3, $4, $5, $6, 0, 1) RETURNING {INVITATION_COLS}"
        ))
        .bind(campaign_id)
        .bind(i.customer_id)
        .bind(i.contact_id)
        .bind(&i.email)
        .bind(hash)
        .bind(now)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
        out.push(r);
    }
    Ok(out)
}

pub async fn invitation_by_hash(c: &mut Conn<'_>, token_hash: &str) -> StoreResult<InvitationRow> {
    on!(c, e => sqlx::query_as(sql!(
        "SELECT {INVITATION_COLS} FROM survey_invitations WHERE token_hash = $1 OR reminder_token_hash = $1"
    ))
        .bind(token_hash)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn invitations(c: &mut Conn<'_>, campaign_id: i64) -> StoreResult<Vec<InvitationRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {INVITATION_COLS} FROM survey_invitations WHERE campaign_id = $1 ORDER BY id"))
        .bind(campaign_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

/// Gives an invitation the link of its newest reminder (the first link keeps working).
pub async fn set_reminder_token(c: &mut Conn<'_>, id: i64, token_hash: &str) -> StoreResult<()> {
    on!(c, e => sqlx::query("UPDATE survey_invitations SET reminder_token_hash = $1 WHERE id = $2")
        .bind(token_hash)
        .bind(id)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))
}

/// Records the first opening; later ones change nothing.
pub async fn mark_opened(c: &mut Conn<'_>, id: i64) -> StoreResult<()> {
    on!(c, e => sqlx::query("UPDATE survey_invitations SET opened_at = $1 WHERE id = $2 AND opened_at IS NULL")
        .bind(Utc::now())
        .bind(id)
        .execute(e)
        .await
        .map_err(map_err)
        .map(|_| ()))
}

/// Marks the link used. False when it already was: the single-use check, atomic on both engines.
pub async fn mark_answered(c: &mut Conn<'_>, id: i64) -> StoreResult<bool> {
    let now = Utc::now();
    let n = on!(c, e => sqlx::query(
        "UPDATE survey_invitations SET answered_at = $1, opened_at = COALESCE(opened_at, $1), version = version + 1
         WHERE id = $2 AND answered_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Marks every unanswered invitation of the campaign reminded; returns them.
pub async fn remind(c: &mut Conn<'_>, campaign_id: i64) -> StoreResult<Vec<InvitationRow>> {
    on!(c, e => sqlx::query_as(sql!(
        "UPDATE survey_invitations SET reminded_at = $1, reminders = reminders + 1, version = version + 1
         WHERE campaign_id = $2 AND answered_at IS NULL RETURNING {INVITATION_COLS}"
    ))
    .bind(Utc::now())
    .bind(campaign_id)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

// ---------------------------------------------------------------------------------------------
// Responses and answers
// ---------------------------------------------------------------------------------------------

pub async fn insert_response(
    c: &mut Conn<'_>,
    campaign_id: i64,
    customer_id: Option<i64>,
    contact_id: Option<i64>,
    locale: &str,
) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar(
        "INSERT INTO survey_responses (campaign_id, customer_id, contact_id, locale, submitted_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(campaign_id)
    .bind(customer_id)
    .bind(contact_id)
    .bind(locale)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AnswerRow {
    pub id: i64,
    pub response_id: i64,
    pub campaign_id: i64,
    pub question_code: String,
    pub kind: String,
    pub score: Option<f64>,
    /// JSON list of option codes.
    pub choices: String,
    pub text: String,
    pub feedback_kind: Option<String>,
    pub category: String,
    pub version: i64,
}

const ANSWER_COLS: &str =
    "id, response_id, campaign_id, question_code, kind, score, choices, text, feedback_kind, category, version";

pub struct AnswerFields<'a> {
    pub question_code: &'a str,
    pub kind: &'a str,
    pub score: Option<f64>,
    pub choices: String,
    pub text: &'a str,
    pub feedback_kind: Option<&'a str>,
}

pub async fn insert_answer(
    c: &mut Conn<'_>,
    response_id: i64,
    campaign_id: i64,
    a: &AnswerFields<'_>,
) -> StoreResult<()> {
    on!(c, e => sqlx::query(
        "INSERT INTO survey_answers (response_id, campaign_id, question_code, kind, score, choices, text, feedback_kind, category, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', 1)",
    )
    .bind(response_id)
    .bind(campaign_id)
    .bind(a.question_code)
    .bind(a.kind)
    .bind(a.score)
    .bind(&a.choices)
    .bind(a.text)
    .bind(a.feedback_kind)
    .execute(e)
    .await
    .map_err(map_err)
    .map(|_| ()))
}

pub async fn answers(c: &mut Conn<'_>, campaign_id: i64) -> StoreResult<Vec<AnswerRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {ANSWER_COLS} FROM survey_answers WHERE campaign_id = $1 ORDER BY id"))
        .bind(campaign_id)
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn answer(c: &mut Conn<'_>, id: i64) -> StoreResult<AnswerRow> {
    on!(c, e => sqlx::query_as(sql!("SELECT {ANSWER_COLS} FROM survey_answers WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

/// Staff's classification of a free-text answer (意见/建议分类).
pub async fn classify_answer(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    feedback_kind: &str,
    category: &str,
) -> StoreResult<AnswerRow> {
    let row: Option<AnswerRow> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE survey_answers SET feedback_kind = $1, category = $2, version = version + 1
         WHERE id = $3 AND version = $4 RETURNING {ANSWER_COLS}"
    ))
    .bind(feedback_kind)
    .bind(category)
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "survey_answers", id, row).await
}

// ---------------------------------------------------------------------------------------------
// Internal KPIs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct KpiRow {
    pub id: i64,
    pub period: String,
    /// JSON list of domain `Kpi`.
    pub kpis: String,
    pub external_share: f64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const KPI_COLS: &str = "id, period, kpis, external_share, version, created_at, updated_at";

/// Creates or replaces the KPIs of `period`.
pub async fn put_kpis(c: &mut Conn<'_>, period: &str, kpis: &str, external_share: f64) -> StoreResult<KpiRow> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO survey_kpis (period, kpis, external_share, version, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)
         ON CONFLICT (period) DO UPDATE SET kpis = excluded.kpis, external_share = excluded.external_share,
         version = survey_kpis.version + 1, updated_at = excluded.updated_at RETURNING {KPI_COLS}"
    ))
    .bind(period)
    .bind(kpis)
    .bind(external_share)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Every period's KPIs, newest period first (periods sort as text: 2026-05 after 2026 and 2026H1).
pub async fn all_kpis(c: &mut Conn<'_>) -> StoreResult<Vec<KpiRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {KPI_COLS} FROM survey_kpis ORDER BY period DESC LIMIT 500"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn kpis(c: &mut Conn<'_>, period: &str) -> StoreResult<Option<KpiRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {KPI_COLS} FROM survey_kpis WHERE period = $1"))
        .bind(period)
        .fetch_optional(e)
        .await
        .map_err(map_err))
}

// ---------------------------------------------------------------------------------------------
// Corrective-action requests
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CorrectiveActionRow {
    pub id: i64,
    pub source: String,
    pub source_id: i64,
    pub title: String,
    pub detail: String,
    pub due_at: DateTime<Utc>,
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CAR_COLS: &str = "id, source, source_id, title, detail, due_at, status, version, created_at, updated_at";

pub async fn insert_corrective_action(
    c: &mut Conn<'_>,
    source: &str,
    source_id: i64,
    title: &str,
    detail: &str,
    due_at: DateTime<Utc>,
) -> StoreResult<CorrectiveActionRow> {
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO corrective_action_requests (source, source_id, title, detail, due_at, status, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'open', 1, $6, $6) RETURNING {CAR_COLS}"
    ))
    .bind(source)
    .bind(source_id)
    .bind(title)
    .bind(detail)
    .bind(due_at)
    .bind(Utc::now())
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn corrective_action_for(
    c: &mut Conn<'_>,
    source: &str,
    source_id: i64,
) -> StoreResult<Option<CorrectiveActionRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CAR_COLS} FROM corrective_action_requests WHERE source = $1 AND source_id = $2"))
        .bind(source)
        .bind(source_id)
        .fetch_optional(e)
        .await
        .map_err(map_err))
}

pub async fn corrective_actions(c: &mut Conn<'_>) -> StoreResult<Vec<CorrectiveActionRow>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {CAR_COLS} FROM corrective_action_requests ORDER BY id DESC LIMIT 500"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

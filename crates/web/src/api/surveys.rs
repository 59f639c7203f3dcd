//! Satisfaction measurement: AHP, templates, plans, campaigns, results, KPIs, corrective actions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use loopdesk_domain::survey::scoring::{FeedbackKind, Kpi};
use loopdesk_domain::survey::template::TemplateSpec;
use loopdesk_service::surveys::{CampaignInput, KpiInput, PlanInput, TemplateRecord};
use loopdesk_service::tabular;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::customers::download;
use super::dto::VersionBody;
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

fn object<T: Serialize>(v: &T) -> ApiResult<Map<String, Value>> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "errors.internal_error_has_been_logged")),
    }
}

/// A record as JSON; its fields are described on the endpoint.
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct RecordDto(pub Map<String, Value>);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AhpBody {
    /// Square, positive, reciprocal (a_ji·a_ij = 1 within 1e-3), Saaty 1/9..9, at most 10×10.
    pub matrix: Vec<Vec<f64>>,
}

#[derive(Serialize, ToSchema)]
pub struct AhpDto {
    /// Normalised principal eigenvector, in row order.
    pub weights: Vec<f64>,
    pub lambda_max: f64,
    /// (λmax − n)/(n − 1)
    pub ci: f64,
    /// CI/RI(n)
    pub cr: f64,
    /// CR < 0.10
    pub consistent: bool,
}

/// Weights, λmax, CI and CR of a pairwise comparison matrix. An inconsistent matrix is answered
/// (`consistent: false`); templates refuse it. 422 names the offending cell (`matrix[1][0]`).
#[utoipa::path(post, path = "/ahp", tag = "surveys", request_body = AhpBody,
    responses((status = 200, body = AhpDto), (status = 422, body = ErrorBody)))]
pub async fn ahp(State(st): State<AppState>, a: ApiActor, JsonBody(b): JsonBody<AhpBody>) -> ApiResult<Json<AhpDto>> {
    let r = st.svc.ahp(&a.actor, &b.matrix)?;
    Ok(Json(AhpDto { weights: r.weights, lambda_max: r.lambda_max, ci: r.ci, cr: r.cr, consistent: r.consistent }))
}

fn template_dto(t: TemplateRecord) -> ApiResult<RecordDto> {
    let mut m = object(&t.row)?;
    m.remove("definition");
    m.insert("definition".into(), serde_json::to_value(&t.template.spec).unwrap_or(Value::Null));
    m.insert("item_weights".into(), serde_json::to_value(t.template.item_weights()).unwrap_or(Value::Null));
    m.insert("ahp".into(), serde_json::to_value(&t.template.ahp).unwrap_or(Value::Null));
    Ok(RecordDto(m))
}

/// Store a template. An existing code gets its next revision; running campaigns keep theirs.
/// Body: `{code, name_zh, name_en, audience, scale, weight_method: manual|ahp, indicators:[{code,
/// parent, name_zh, name_en, weight}], ahp:[{parent, matrix}], questions:[{code, kind, text_zh,
/// text_en, indicator, options, feedback_kind, required}], allow_anonymous}`. Answer: the revision
/// with `item_weights` (normalised weight and the seeds' multiplier) and the AHP results per group.
#[utoipa::path(post, path = "/survey-templates", tag = "surveys", request_body = RecordDto,
    responses((status = 201, body = RecordDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_template(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(spec): JsonBody<TemplateSpec>,
) -> ApiResult<(StatusCode, Json<RecordDto>)> {
    Ok((StatusCode::CREATED, Json(template_dto(st.svc.save_template(&a.actor, spec).await?)?)))
}

/// The newest revision of every template.
#[utoipa::path(get, path = "/survey-templates", tag = "surveys", responses((status = 200, body = Vec<RecordDto>)))]
pub async fn list_templates(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<RecordDto>>> {
    Ok(Json(st.svc.survey_templates(&a.actor).await?.into_iter().map(template_dto).collect::<ApiResult<_>>()?))
}

/// One template revision.
#[utoipa::path(get, path = "/survey-templates/{id}", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = RecordDto), (status = 404, body = ErrorBody)))]
pub async fn get_template(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<RecordDto>> {
    Ok(Json(template_dto(st.svc.survey_template(&a.actor, id).await?)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct PlanBody(pub PlanInput);

fn plan_dto(p: loopdesk_service::surveys::Plan) -> ApiResult<RecordDto> {
    let mut m = object(&p.row)?;
    m.insert("population".into(), serde_json::to_value(&p.population).unwrap_or(Value::Null));
    m.insert("triggers".into(), serde_json::to_value(&p.triggers).unwrap_or(Value::Null));
    Ok(RecordDto(m))
}

/// A survey plan (年度客户满意程度调查计划): `{name, template_code, period_start, period_end,
/// frequency, population:{region, category, is_new, min_contract_value}, min_response_rate
/// (default 0.6), target_pct, channel, triggers:[{event, case_type}]}`. Triggers are stored; they
/// fire once cases and service orders exist.
#[utoipa::path(post, path = "/survey-plans", tag = "surveys", request_body = PlanBody,
    responses((status = 201, body = RecordDto), (status = 422, body = ErrorBody)))]
pub async fn create_plan(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<PlanBody>,
) -> ApiResult<(StatusCode, Json<RecordDto>)> {
    Ok((StatusCode::CREATED, Json(plan_dto(st.svc.create_survey_plan(&a.actor, &b.0).await?)?)))
}

#[utoipa::path(get, path = "/survey-plans", tag = "surveys", responses((status = 200, body = Vec<RecordDto>)))]
pub async fn list_plans(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<RecordDto>>> {
    Ok(Json(st.svc.survey_plans(&a.actor).await?.into_iter().map(plan_dto).collect::<ApiResult<_>>()?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    pub plan_id: i64,
    pub name: String,
    /// Reporting period: a year `2026`, half `2026H1`, quarter `2026Q2` or month `2026-05`
    /// (422 naming `period` otherwise); results per period pool the campaigns inside a period.
    pub period: String,
    #[serde(default)]
    pub anonymous: bool,
    /// `manual` (default) or one of the plan's trigger events.
    pub trigger_event: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkDto {
    pub invitation_id: i64,
    pub customer_id: i64,
    pub contact_id: i64,
    pub email: String,
    /// `/s/{token}`: shown once; only the token's SHA-256 is stored.
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct LaunchDto {
    pub campaign: RecordDto,
    pub links: Vec<LinkDto>,
}

/// Start a campaign: draws the plan's population and issues one single-use link per contact.
/// Mail is not sent yet; the links are returned here, once.
#[utoipa::path(post, path = "/survey-campaigns", tag = "surveys", request_body = CampaignBody,
    responses((status = 201, body = LaunchDto), (status = 422, body = ErrorBody)))]
pub async fn create_campaign(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<CampaignBody>,
) -> ApiResult<(StatusCode, Json<LaunchDto>)> {
    let input = CampaignInput {
        plan_id: b.plan_id,
        name: b.name,
        period: b.period,
        anonymous: b.anonymous,
        trigger_event: b.trigger_event,
    };
    let l = st.svc.launch_campaign(&a.actor, &input).await?;
    let links = l
        .links
        .into_iter()
        .map(|k| LinkDto {
            invitation_id: k.invitation.id,
            customer_id: k.invitation.customer_id,
            contact_id: k.invitation.contact_id,
            email: k.invitation.email,
            url: format!("/s/{}", k.token),
        })
        .collect();
    Ok((StatusCode::CREATED, Json(LaunchDto { campaign: RecordDto(object(&l.campaign)?), links })))
}

/// Campaigns with their sent/opened/answered/reminded counts.
#[utoipa::path(get, path = "/survey-campaigns", tag = "surveys", responses((status = 200, body = Vec<RecordDto>)))]
pub async fn list_campaigns(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<RecordDto>>> {
    let mut out = Vec::new();
    for (c, t) in st.svc.survey_campaigns(&a.actor).await? {
        let mut m = object(&c)?;
        m.remove("results");
        m.insert("tracking".into(), serde_json::to_value(&t).unwrap_or(Value::Null));
        out.push(RecordDto(m));
    }
    Ok(Json(out))
}

#[derive(Serialize, ToSchema)]
pub struct ItemDto {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub answers: usize,
    /// S_i = Σ scores ÷ (answers × top score) × 100; null without answers.
    pub satisfaction_pct: Option<f64>,
    /// Normalised global weight.
    pub weight: f64,
    /// The seeds' multiplier (weight × number of items).
    pub multiplier: f64,
    /// The item's own floor: below it a corrective action is due even when the overall meets the target.
    pub threshold_pct: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct ResultsDto {
    /// answered ÷ invited, 0..1.
    pub response_rate: f64,
    pub min_response_rate: f64,
    /// False when fewer answered than the minimum: flagged as not representative.
    pub representative: bool,
    pub items: Vec<ItemDto>,
    /// S = Σ w_i·S_i.
    pub overall_pct: Option<f64>,
    pub nps: Option<f64>,
    pub csat_pct: Option<f64>,
    pub target_pct: f64,
    /// Overall below target, or an indicator below its own threshold (`below_threshold`).
    pub below_target: bool,
    /// Also: tracking, levels (roll-up per tree level), formula_zh/en, nps_detail, previous_pct,
    /// delta_vs_target, delta_vs_previous, overall_below_target, below_threshold ([{code, name_zh,
    /// name_en, satisfaction_pct, threshold_pct}]), internal, composite, feedback, texts, choices;
    /// per campaign: campaign_id, name, period, status, version, plan_id, template_code,
    /// template_revision, corrective_action; per period: plan_id, plan_name, period, granularity,
    /// previous_period, template_code, template_revision, campaigns, trend ([{period,
    /// overall_pct, response_rate, invited, answered}]), corrective_actions.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rest: Map<String, Value>,
}

/// Results of a campaign, computed from its answers (live while open, frozen when closed).
#[utoipa::path(get, path = "/survey-campaigns/{id}/results", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = ResultsDto), (status = 404, body = ErrorBody)))]
pub async fn results(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<ResultsDto>> {
    results_dto(st.svc.survey_results(&a.actor, id).await?).map(Json)
}

fn results_dto(r: loopdesk_service::surveys::CampaignResults) -> ApiResult<ResultsDto> {
    let rest = object(&r)?;
    scores_dto(r.scores, rest)
}

/// The documented figures, plus every other field of `rest` (the serialised result) as it is.
fn scores_dto(r: loopdesk_service::surveys::Scores, mut rest: Map<String, Value>) -> ApiResult<ResultsDto> {
    for k in [
        "response_rate",
        "min_response_rate",
        "representative",
        "items",
        "overall_pct",
        "nps",
        "csat_pct",
        "target_pct",
        "below_target",
    ] {
        rest.remove(k);
    }
    let items = r
        .items
        .into_iter()
        .map(|i| ItemDto {
            code: i.code,
            name_zh: i.name_zh,
            name_en: i.name_en,
            answers: i.answers,
            satisfaction_pct: i.satisfaction_pct,
            weight: i.weight,
            multiplier: i.multiplier,
            threshold_pct: i.threshold_pct,
        })
        .collect();
    Ok(ResultsDto {
        response_rate: r.response_rate,
        min_response_rate: r.min_response_rate,
        representative: r.representative,
        items,
        overall_pct: r.overall_pct,
        nps: r.nps,
        csat_pct: r.csat_pct,
        target_pct: r.target_pct,
        below_target: r.below_target,
        rest,
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// `2026` (year), `2026H1` (half), `2026Q2` (quarter) or `2026-05` (month); default: the newest
    /// period of the plan's frequency.
    pub period: Option<String>,
    /// Export only: zh (default) or en headers.
    pub lang: Option<String>,
}

/// Results of a plan over a period: every campaign of the plan whose own period lies inside it,
/// pooled and scored on the newest template revision among them; compared with the plan's target
/// and with the previous period of the same length; `trend` has up to eight periods for a chart.
/// 422 names `period` when it does not parse.
#[utoipa::path(get, path = "/survey-plans/{id}/results", tag = "surveys", params(("id" = i64, Path), PeriodQuery),
    responses((status = 200, body = ResultsDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn period_results(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<ResultsDto>> {
    let r = st.svc.survey_period_results(&a.actor, id, q.period.as_deref()).await?;
    let rest = object(&r)?;
    scores_dto(r.scores, rest).map(Json)
}

/// XLSX with 客户满意度调查汇总表 and 意见/建议分类统计表 over a plan's period.
#[utoipa::path(get, path = "/survey-plans/{id}/export", tag = "surveys", params(("id" = i64, Path), PeriodQuery),
    responses((status = 200, description = "the workbook"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn period_export(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Response> {
    let zh = q.lang.as_deref() != Some("en");
    let sheets = st.svc.survey_period_report_sheets(&a.actor, id, q.period.as_deref(), zh).await?;
    Ok(download(
        tabular::write_xlsx_sheets(&sheets)?,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("survey-plan-{id}-results.xlsx"),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodBody {
    /// `2026`, `2026H1`, `2026Q2` or `2026-05`.
    pub period: String,
}

/// Open the corrective-action request of a plan's period that is below target (overall, or an
/// indicator under its own threshold), due in 2 working days. 422 naming `period` when the period
/// is on target; 409 when it already has one.
#[utoipa::path(post, path = "/survey-plans/{id}/corrective-action", tag = "surveys", params(("id" = i64, Path)),
    request_body = PeriodBody,
    responses((status = 201, body = RecordDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn period_corrective_action(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<PeriodBody>,
) -> ApiResult<(StatusCode, Json<RecordDto>)> {
    let car = st.svc.open_period_corrective_action(&a.actor, id, &b.period).await?;
    Ok((StatusCode::CREATED, Json(RecordDto(object(&car)?))))
}

/// One plan.
#[utoipa::path(get, path = "/survey-plans/{id}", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = RecordDto), (status = 404, body = ErrorBody)))]
pub async fn get_plan(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<RecordDto>> {
    Ok(Json(plan_dto(st.svc.survey_plan(&a.actor, id).await?)?))
}

/// Every period's internal KPIs, newest first.
#[utoipa::path(get, path = "/survey-kpis", tag = "surveys", responses((status = 200, body = Vec<RecordDto>)))]
pub async fn list_kpis(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<RecordDto>>> {
    let rows = st.svc.survey_kpi_sets(&a.actor).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut m = object(&r)?;
        let kpis: Value = serde_json::from_str(&r.kpis).unwrap_or(Value::Null);
        m.insert("kpis".into(), kpis);
        out.push(RecordDto(m));
    }
    Ok(Json(out))
}

/// Close a campaign: freezes the results; below target it opens a corrective-action request due in
/// 2 working days on the OFFICE calendar.
#[utoipa::path(post, path = "/survey-campaigns/{id}/close", tag = "surveys", params(("id" = i64, Path)), request_body = VersionBody,
    responses((status = 200, body = ResultsDto), (status = 409, body = ErrorBody)))]
pub async fn close(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<VersionBody>,
) -> ApiResult<Json<ResultsDto>> {
    results_dto(st.svc.close_campaign(&a.actor, id, b.version).await?).map(Json)
}

#[derive(Serialize, ToSchema)]
pub struct RemindedDto {
    /// Invitations marked reminded (no mail is sent yet).
    pub invitation_ids: Vec<i64>,
}

/// Mark every non-responder reminded.
#[utoipa::path(post, path = "/survey-campaigns/{id}/reminders", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = RemindedDto), (status = 409, body = ErrorBody)))]
pub async fn remind(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<RemindedDto>> {
    let r = st.svc.remind_non_responders(&a.actor, id).await?;
    Ok(Json(RemindedDto { invitation_ids: r.into_iter().map(|i| i.id).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// zh (default) or en headers.
    pub lang: Option<String>,
}

/// XLSX with 客户满意度调查汇总表 and 意见/建议分类统计表.
#[utoipa::path(get, path = "/survey-campaigns/{id}/export", tag = "surveys", params(("id" = i64, Path), ExportQuery),
    responses((status = 200, description = "the workbook"), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let zh = q.lang.as_deref() != Some("en");
    let sheets = st.svc.survey_report_sheets(&a.actor, id, zh).await?;
    Ok(download(
        tabular::write_xlsx_sheets(&sheets)?,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("survey-{id}-results.xlsx"),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiBody {
    /// `[{"name":"on_time_delivery","actual":95,"target":98,"direction":"higher_is_better"}, …]`
    #[schema(value_type = Vec<Object>)]
    pub kpis: Vec<Kpi>,
    /// Share of the external survey in the composite index, 0..1 (default 0.5).
    pub external_share: Option<f64>,
}

/// Internal self-assessment KPIs of a period (creates or replaces). The period is written like a
/// campaign's (`2026`, `2026H1`, `2026Q2`, `2026-05`); the campaign and period results of the same
/// period use them for the composite index.
#[utoipa::path(put, path = "/survey-kpis/{period}", tag = "surveys", params(("period" = String, Path)), request_body = KpiBody,
    responses((status = 200, body = RecordDto), (status = 422, body = ErrorBody)))]
pub async fn put_kpis(
    State(st): State<AppState>,
    a: ApiActor,
    Path(period): Path<String>,
    JsonBody(b): JsonBody<KpiBody>,
) -> ApiResult<Json<RecordDto>> {
    let row =
        st.svc.put_survey_kpis(&a.actor, &period, &KpiInput { kpis: b.kpis, external_share: b.external_share }).await?;
    Ok(Json(RecordDto(object(&row)?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    pub version: i64,
    /// opinion or suggestion
    #[schema(value_type = String)]
    pub kind: FeedbackKind,
    pub category: String,
}

/// Classify a free-text answer (意见/建议 and a category).
#[utoipa::path(patch, path = "/survey-answers/{id}", tag = "surveys", params(("id" = i64, Path)), request_body = ClassifyBody,
    responses((status = 200, body = RecordDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn classify(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ClassifyBody>,
) -> ApiResult<Json<RecordDto>> {
    let row = st.svc.classify_survey_answer(&a.actor, id, b.version, b.kind, &b.category).await?;
    Ok(Json(RecordDto(object(&row)?)))
}

/// Corrective-action requests (the CAPA module will take them over).
#[utoipa::path(get, path = "/corrective-action-requests", tag = "surveys", responses((status = 200, body = Vec<RecordDto>)))]
pub async fn corrective_actions(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<RecordDto>>> {
    Ok(Json(
        st.svc
            .corrective_actions(&a.actor)
            .await?
            .iter()
            .map(|r| object(r).map(RecordDto))
            .collect::<ApiResult<_>>()?,
    ))
}

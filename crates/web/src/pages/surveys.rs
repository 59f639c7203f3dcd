//! Satisfaction surveys: the public answer page behind an invitation link (no sign-in, no
//! JavaScript), the campaign list, the results page with a server-rendered SVG chart, and the AHP
//! pairwise comparison editor; the template editor (`editor`), plans and their launch, internal
//! KPIs per period, classification of free-text answers and results per period with a trend chart.

mod editor;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Permission;
use loopdesk_domain::case::CaseType;
use loopdesk_domain::customer::{Coded, CustomerCategory};
use loopdesk_domain::locale::Locale;
use loopdesk_domain::survey::period::{Granularity, Period};
use loopdesk_domain::survey::scoring::FeedbackKind;
use loopdesk_domain::survey::scoring::{Kpi, KpiDirection, UNCATEGORISED, internal_score};
use loopdesk_domain::survey::template::{QuestionKind, Template as SurveyTemplate};
use loopdesk_service::ServiceError;
use loopdesk_service::surveys::{
    CHANNELS, CampaignInput, CampaignResults, FREQUENCIES, KpiInput, PeriodResults, Plan, PlanInput, Population,
    Scores, Submission, TRIGGER_EVENTS, TextAnswer, Tracking, Trigger,
};
use loopdesk_store::surveys::CampaignRow;
use serde::Deserialize;

use super::{Chrome, FormData, OrPage, PageError, SignedIn, anonymous_locale, render};
use crate::AppState;
use crate::i18n::Tr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(answer_form).post(answer_submit))
        .route("/surveys", get(list))
        .route("/surveys/ahp", get(ahp_form).post(ahp_submit))
        .route("/surveys/campaigns/{id}", get(results_page))
        .route("/surveys/campaigns/{id}/close", axum::routing::post(close))
        .route("/surveys/campaigns/{id}/reminders", axum::routing::post(remind))
        .route("/surveys/templates/new", get(editor::new_form))
        .route("/surveys/templates", axum::routing::post(editor::submit))
        .route("/surveys/templates/{id}", get(editor::edit_form))
        .route("/surveys/plans/new", get(plan_form))
        .route("/surveys/plans", axum::routing::post(plan_create))
        .route("/surveys/plans/{id}", get(plan_page))
        .route("/surveys/plans/{id}/campaigns", axum::routing::post(launch))
        .route("/surveys/plans/{id}/results", get(period_page))
        .route("/surveys/plans/{id}/corrective-action", axum::routing::post(period_car))
        .route("/surveys/kpis", get(kpi_form).post(kpi_save))
        .route("/surveys/answers/{id}/classify", axum::routing::post(classify))
}

// ---------------------------------------------------------------------------------------------
// Public answer page
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

pub struct Choice {
    value: String,
    label: String,
    checked: bool,
}

pub struct QuestionView {
    code: String,
    kind: &'static str,
    text: String,
    required: bool,
    choices: Vec<Choice>,
    text_value: String,
}

#[derive(Template)]
#[template(path = "survey_answer.html")]
struct AnswerPage {
    t: Tr,
    title: String,
    action: String,
    other_lang: String,
    questions: Vec<QuestionView>,
    allow_anonymous: bool,
    anonymous: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "survey_done.html")]
struct DonePage {
    t: Tr,
    heading: String,
    message: String,
}

fn public_locale(q: &LangQuery, headers: &HeaderMap, st: &AppState) -> Locale {
    q.lang.as_deref().and_then(Locale::parse).unwrap_or_else(|| anonymous_locale(headers, st))
}

fn done(status: StatusCode, l: Locale, heading: &str, message: &str) -> Response {
    let t = Tr(l);
    (status, render(&DonePage { t, heading: t.get(heading).to_owned(), message: t.get(message).to_owned() }))
        .into_response()
}

fn public_error(e: ServiceError, l: Locale) -> Response {
    match e {
        ServiceError::Domain(DomainError::NotFound { .. }) => {
            done(StatusCode::NOT_FOUND, l, "survey.link_invalid", "survey.link_invalid_text")
        }
        ServiceError::Domain(DomainError::Conflict { .. }) => {
            done(StatusCode::CONFLICT, l, "survey.already_answered", "survey.already_answered_text")
        }
        other => {
            tracing::error!(error = %other, "survey page failed");
            done(StatusCode::INTERNAL_SERVER_ERROR, l, "error.title", "error.internal")
        }
    }
}

fn answer_page(t: &SurveyTemplate, l: Locale, token: &str, form: &FormData, error: Option<String>) -> AnswerPage {
    let zh = l == Locale::ZhCn;
    let pick = |a: &str, b: &str| if zh { a.to_owned() } else { b.to_owned() };
    let picked = |code: &str, v: &str| form.all(code).iter().any(|x| x == v);
    let questions = t
        .spec
        .questions
        .iter()
        .map(|q| {
            let choices = match q.kind {
                QuestionKind::Rating => t
                    .scale
                    .levels()
                    .iter()
                    .map(|lv| {
                        let v = lv.value.to_string();
                        Choice { checked: picked(&q.code, &v), value: v, label: pick(&lv.label_zh, &lv.label_en) }
                    })
                    .collect(),
                QuestionKind::Nps => (0..=10)
                    .map(|n| {
                        let v = n.to_string();
                        Choice { checked: picked(&q.code, &v), label: v.clone(), value: v }
                    })
                    .collect(),
                QuestionKind::SingleChoice | QuestionKind::MultipleChoice => q
                    .options
                    .iter()
                    .map(|o| Choice {
                        checked: picked(&q.code, &o.code),
                        value: o.code.clone(),
                        label: pick(&o.label_zh, &o.label_en),
                    })
                    .collect(),
                QuestionKind::Text => Vec::new(),
            };
            QuestionView {
                code: q.code.clone(),
                kind: q.kind.code(),
                text: pick(&q.text_zh, &q.text_en),
                required: q.required,
                choices,
                text_value: form.get(&q.code).to_owned(),
            }
        })
        .collect();
    let (this, other) = if zh { ("zh", "en") } else { ("en", "zh") };
    AnswerPage {
        t: Tr(l),
        title: pick(&t.spec.name_zh, &t.spec.name_en),
        action: format!("/s/{token}?lang={this}"),
        other_lang: format!("/s/{token}?lang={other}"),
        questions,
        allow_anonymous: t.spec.allow_anonymous,
        anonymous: form.get("anonymous") == "1",
        error,
    }
}

async fn answer_form(
    State(st): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = public_locale(&q, &headers, &st);
    match st.svc.open_survey(&token).await {
        Ok(s) if s.answered => done(StatusCode::CONFLICT, l, "survey.already_answered", "survey.already_answered_text"),
        Ok(s) if s.closed => done(StatusCode::CONFLICT, l, "survey.closed", "survey.closed_text"),
        Ok(s) => render(&answer_page(&s.template, l, &token, &FormData(Vec::new()), None)),
        Err(e) => public_error(e, l),
    }
}

async fn answer_submit(
    State(st): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let l = public_locale(&q, &headers, &st);
    let form = FormData::parse(&body);
    let mut sub = Submission { anonymous: form.get("anonymous") == "1", locale: l, ..Default::default() };
    for (k, v) in &form.0 {
        if k != "anonymous" {
            sub.values.entry(k.clone()).or_default().push(v.clone());
        }
    }
    match st.svc.submit_survey(&token, &sub).await {
        Ok(()) => done(StatusCode::OK, l, "survey.thanks", "survey.thanks_text"),
        Err(ServiceError::Domain(DomainError::Invalid { field, reason })) => match st.svc.open_survey(&token).await {
            Ok(s) => {
                let label = s
                    .template
                    .question(&field)
                    .map(|q| if l == Locale::ZhCn { q.text_zh.clone() } else { q.text_en.clone() })
                    .unwrap_or(field);
                let page = answer_page(
                    &s.template,
                    l,
                    &token,
                    &form,
                    Some(format!("{label}{}{}", Tr(l).get("errors.field_sep"), Tr(l).reason(&reason))),
                );
                (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
            }
            Err(e) => public_error(e, l),
        },
        Err(e) => public_error(e, l),
    }
}

// ---------------------------------------------------------------------------------------------
// Staff pages
// ---------------------------------------------------------------------------------------------

pub struct CampaignLine {
    id: i64,
    name: String,
    period: String,
    status: String,
    invited: u64,
    opened: u64,
    answered: u64,
}

pub struct TemplateLine {
    id: i64,
    code: String,
    revision: i64,
    name: String,
    audience: String,
    weights: String,
}

pub struct PlanLine {
    id: i64,
    name: String,
    template_code: String,
    dates: String,
    frequency: String,
    target: String,
}

#[derive(Template)]
#[template(path = "surveys.html")]
struct List {
    c: Chrome,
    campaigns: Vec<CampaignLine>,
    templates: Vec<TemplateLine>,
    plans: Vec<PlanLine>,
    can_manage: bool,
}

fn campaign_lines(s: &SignedIn, rows: Vec<(CampaignRow, Tracking)>) -> Vec<CampaignLine> {
    rows.into_iter()
        .map(|(c, t)| CampaignLine {
            id: c.id,
            name: c.name,
            period: c.period,
            status: s.tr().get(&format!("survey.status_{}", c.status)).to_owned(),
            invited: t.invited,
            opened: t.opened,
            answered: t.answered,
        })
        .collect()
}

async fn list(s: SignedIn) -> Result<Response, PageError> {
    let zh = s.locale == Locale::ZhCn;
    let campaigns = campaign_lines(&s, s.st.svc.survey_campaigns(&s.actor).await.page(&s)?);
    let templates =
        s.st.svc
            .survey_templates(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .map(|t| TemplateLine {
                weights: t
                    .template
                    .item_weights()
                    .iter()
                    .map(|w| format!("{} {:.3} (×{:.2})", w.code, w.weight, w.multiplier))
                    .collect::<Vec<_>>()
                    .join("; "),
                id: t.row.id,
                code: t.row.code,
                revision: t.row.revision,
                name: if zh { t.template.spec.name_zh } else { t.template.spec.name_en },
                audience: s.tr().get(&format!("survey.audience_{}", t.row.audience)).to_owned(),
            })
            .collect();
    let plans =
        s.st.svc
            .survey_plans(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .map(|p| PlanLine {
                id: p.row.id,
                name: p.row.name,
                template_code: p.row.template_code,
                dates: format!("{} – {}", p.row.period_start, p.row.period_end),
                frequency: s.tr().get(&format!("survey.freq_{}", p.row.frequency)).to_owned(),
                target: format!("{:.1}", p.row.target_pct),
            })
            .collect();
    let can_manage = s.actor.can(Permission::ManageSurveys);
    Ok(render(&List { c: s.chrome("surveys"), campaigns, templates, plans, can_manage }))
}

pub struct Bar {
    y: u32,
    text_y: u32,
    width: u32,
    value_x: u32,
    label: String,
    value: String,
    low: bool,
}

pub struct Row {
    code: String,
    name: String,
    depth: usize,
    indent: String,
    weight: String,
    multiplier: String,
    answers: String,
    satisfaction: String,
    threshold: String,
    low: bool,
}

/// What the campaign and the period pages show alike, formatted.
pub struct ScoreView {
    bars: Vec<Bar>,
    chart_height: u32,
    target_x: u32,
    rows: Vec<Row>,
    overall: String,
    nps: String,
    csat: String,
    rate: String,
    min_rate: String,
    target: String,
    delta_target: String,
    previous: String,
    delta_previous: String,
    composite: String,
    internal: String,
    formula: String,
    /// (kind label, category, count)
    feedback: Vec<(String, String, usize)>,
    /// "code name: S % < threshold %"
    breaches: Vec<String>,
}

const LABEL_W: u32 = 180;
const BAR_W: u32 = 400;

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
}

fn signed(v: Option<f64>) -> String {
    v.map(|d| format!("{d:+.1}")).unwrap_or_else(|| "—".into())
}

fn score_view(s: &SignedIn, r: &Scores) -> ScoreView {
    let zh = s.locale == Locale::ZhCn;
    let scale = |v: f64| (v.clamp(0.0, 100.0) / 100.0 * f64::from(BAR_W)).round() as u32;
    let bars: Vec<Bar> = r
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let y = 10 + 30 * i as u32;
            let width = scale(it.satisfaction_pct.unwrap_or(0.0));
            let floor = it.threshold_pct.unwrap_or(0.0).max(r.target_pct);
            Bar {
                y,
                text_y: y + 15,
                width,
                value_x: LABEL_W + 10 + width + 6,
                label: if zh { it.name_zh.clone() } else { it.name_en.clone() },
                value: pct(it.satisfaction_pct),
                low: it.satisfaction_pct.is_some_and(|v| v < floor),
            }
        })
        .collect();
    let rows = r
        .levels
        .iter()
        .map(|l| {
            let item = r.items.iter().find(|i| i.code == l.code);
            Row {
                code: l.code.clone(),
                name: if zh { l.name_zh.clone() } else { l.name_en.clone() },
                depth: l.depth,
                indent: "　".repeat(l.depth.saturating_sub(1)),
                weight: format!("{:.4}", l.global_weight),
                multiplier: item.map(|i| format!("{:.3}", i.multiplier)).unwrap_or_default(),
                answers: item.map(|i| i.answers.to_string()).unwrap_or_default(),
                satisfaction: pct(l.satisfaction_pct),
                threshold: l.threshold_pct.map(|t| format!("{t:.1}")).unwrap_or_default(),
                low: r.below_threshold.iter().any(|b| b.code == l.code),
            }
        })
        .collect();
    ScoreView {
        chart_height: 20 + 30 * bars.len() as u32,
        target_x: LABEL_W + 10 + scale(r.target_pct),
        bars,
        rows,
        overall: pct(r.overall_pct),
        nps: r.nps.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into()),
        csat: pct(r.csat_pct),
        rate: format!("{:.1}", r.response_rate * 100.0),
        min_rate: format!("{:.0}", r.min_response_rate * 100.0),
        target: format!("{:.1}", r.target_pct),
        delta_target: signed(r.delta_vs_target),
        previous: pct(r.previous_pct),
        delta_previous: signed(r.delta_vs_previous),
        composite: pct(r.composite.as_ref().map(|c| c.value)),
        internal: pct(r.internal.as_ref().map(|c| c.value)),
        formula: if zh { r.formula_zh.clone() } else { r.formula_en.clone() },
        feedback: r
            .feedback
            .categories
            .iter()
            .map(|k| {
                let key = match k.kind {
                    FeedbackKind::Opinion => "survey.kind_opinion",
                    FeedbackKind::Suggestion => "survey.kind_suggestion",
                };
                let category = if k.category == UNCATEGORISED {
                    s.tr().get("survey.uncategorised").to_owned()
                } else {
                    k.category.clone()
                };
                (s.tr().get(key).to_owned(), category, k.count)
            })
            .collect(),
        breaches: r
            .below_threshold
            .iter()
            .map(|b| {
                let name = if zh { &b.name_zh } else { &b.name_en };
                format!("{} {name}: {:.1} % < {:.1} %", b.code, b.satisfaction_pct, b.threshold_pct)
            })
            .collect(),
    }
}

pub struct TextRow {
    id: i64,
    version: i64,
    kind: String,
    kind_label: String,
    category: String,
    text: String,
}

#[derive(Template)]
#[template(path = "survey_results.html")]
struct ResultsPage {
    c: Chrome,
    r: CampaignResults,
    v: ScoreView,
    can_close: bool,
    can_classify: bool,
    version: i64,
    status: String,
    car_due: String,
    texts: Vec<TextRow>,
    categories: Vec<String>,
}

/// Category suggestions for classifying free text: the usual ones plus those already in use.
fn categories(s: &SignedIn, used: &[TextAnswer]) -> Vec<String> {
    let mut out: Vec<String> = s.tr().get("survey.category_suggestions").split(';').map(str::to_owned).collect();
    for t in used {
        if !t.category.is_empty() && !out.contains(&t.category) {
            out.push(t.category.clone());
        }
    }
    out
}

fn text_rows(s: &SignedIn, texts: &[TextAnswer]) -> Vec<TextRow> {
    texts
        .iter()
        .map(|x| TextRow {
            id: x.id,
            version: x.version,
            kind_label: s.tr().get(&format!("survey.kind_{}", x.kind)).to_owned(),
            kind: x.kind.clone(),
            category: x.category.clone(),
            text: x.text.clone(),
        })
        .collect()
}

async fn results_page(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let r = s.st.svc.survey_results(&s.actor, id).await.page(&s)?;
    let tz = s.st.svc.settings.timezone;
    let page = ResultsPage {
        c: s.chrome("surveys"),
        v: score_view(&s, &r.scores),
        can_close: r.status == "open" && s.actor.can(Permission::ManageSurveys),
        can_classify: s.actor.can(Permission::ManageSurveys),
        version: r.version,
        status: s.tr().get(&format!("survey.status_{}", r.status)).to_owned(),
        car_due: r
            .corrective_action
            .as_ref()
            .map(|c| c.due_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        texts: text_rows(&s, &r.scores.texts),
        categories: categories(&s, &r.scores.texts),
        r,
    };
    Ok(render(&page))
}

/// Marks every non-responder reminded (mail goes out once notifications exist).
async fn remind(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    s.st.svc.remind_non_responders(&s.actor, id).await.page(&s)?;
    Ok(Redirect::to(&format!("/surveys/campaigns/{id}")).into_response())
}

async fn close(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.missing")).page(&s)?;
    s.st.svc.close_campaign(&s.actor, id, version).await.page(&s)?;
    Ok(Redirect::to(&format!("/surveys/campaigns/{id}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// AHP pairwise comparison editor
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "survey_ahp.html")]
struct AhpPage {
    c: Chrome,
    matrix: String,
    error: Option<String>,
    weights: Vec<(usize, String)>,
    lambda_max: String,
    ci: String,
    cr: String,
    consistent: Option<bool>,
}

const EXAMPLE_MATRIX: &str = "1 3 5\n1/3 1 3\n1/5 1/3 1";

fn ahp_page(s: &SignedIn, matrix: String) -> AhpPage {
    AhpPage {
        c: s.chrome("surveys"),
        matrix,
        error: None,
        weights: Vec::new(),
        lambda_max: String::new(),
        ci: String::new(),
        cr: String::new(),
        consistent: None,
    }
}

async fn ahp_form(s: SignedIn) -> Result<Response, PageError> {
    Ok(render(&ahp_page(&s, EXAMPLE_MATRIX.into())))
}

/// Rows on lines, cells separated by spaces, commas or tabs; `1/3` is accepted.
fn parse_matrix(text: &str) -> Result<Vec<Vec<f64>>, String> {
    let cell = |c: &str| -> Result<f64, String> {
        match c.split_once('/') {
            Some((a, b)) => {
                let (a, b): (f64, f64) =
                    (a.trim().parse().map_err(|_| c.to_owned())?, b.trim().parse().map_err(|_| c.to_owned())?);
                Ok(a / b)
            }
            None => c.trim().parse().map_err(|_| c.to_owned()),
        }
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(|ch: char| ch.is_whitespace() || ch == ',' || ch == '，')
                .filter(|c| !c.is_empty())
                .map(cell)
                .collect()
        })
        .collect()
}

async fn ahp_submit(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let mut page = ahp_page(&s, f.get("matrix").to_owned());
    match parse_matrix(f.get("matrix")) {
        Err(c) => page.error = Some(format!("{}: {c}", s.tr().get("survey.ahp_not_a_number"))),
        Ok(m) => match s.st.svc.ahp(&s.actor, &m) {
            Ok(r) => {
                page.weights = r.weights.iter().enumerate().map(|(i, w)| (i + 1, format!("{w:.4}"))).collect();
                page.lambda_max = format!("{:.4}", r.lambda_max);
                page.ci = format!("{:.4}", r.ci);
                page.cr = format!("{:.4}", r.cr);
                page.consistent = Some(r.consistent);
            }
            Err(e) => page.error = Some(s.tr().error(&e)),
        },
    }
    let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Plans, launching a campaign, results per period
// ---------------------------------------------------------------------------------------------

fn coded_label<T: Coded>(locale: Locale, code: &str) -> String {
    T::parse(code).map(|v| super::customers::label(locale, v).to_owned()).unwrap_or_else(|_| code.to_owned())
}

/// A refused form comes back with the error; anything else is an error page.
fn is_user_error(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Domain(DomainError::Invalid { .. } | DomainError::Conflict { .. }))
}

#[derive(Template)]
#[template(path = "survey_plan_form.html")]
struct PlanForm {
    c: Chrome,
    f: FormData,
    error: Option<String>,
    /// The field the error is about.
    bad: String,
    templates: Vec<(String, String)>,
    frequencies: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    categories: Vec<(String, String)>,
    case_types: Vec<(String, String)>,
    /// (event, label, checked)
    triggers: Vec<(String, String, bool)>,
}

async fn plan_form_page(s: &SignedIn, f: FormData, error: Option<(String, String)>) -> Result<PlanForm, PageError> {
    let zh = s.locale == Locale::ZhCn;
    let t = s.tr();
    let templates =
        s.st.svc
            .survey_templates(&s.actor)
            .await
            .page(s)?
            .into_iter()
            .map(|r| {
                let name = if zh { r.template.spec.name_zh } else { r.template.spec.name_en };
                (r.row.code.clone(), format!("{} · {name}", r.row.code))
            })
            .collect();
    let labelled = |prefix: &str, codes: &[&str]| -> Vec<(String, String)> {
        codes.iter().map(|c| ((*c).to_owned(), t.get(&format!("{prefix}{c}")).to_owned())).collect()
    };
    let triggers = TRIGGER_EVENTS
        .iter()
        .map(|e| {
            ((*e).to_owned(), t.get(&format!("survey.trigger_{e}")).to_owned(), f.get(&format!("trigger.{e}")) == "1")
        })
        .collect();
    let (error, bad) = match error {
        Some((field, reason)) => (Some(s.tr().domain(&DomainError::invalid(field.clone(), reason))), field),
        None => (None, String::new()),
    };
    Ok(PlanForm {
        c: s.chrome("surveys"),
        error,
        bad,
        templates,
        frequencies: labelled("survey.freq_", &FREQUENCIES),
        channels: labelled("survey.channel_", &CHANNELS),
        categories: super::customers::options::<CustomerCategory>(s.locale),
        case_types: super::customers::options::<CaseType>(s.locale),
        triggers,
        f,
    })
}

async fn plan_form(s: SignedIn) -> Result<Response, PageError> {
    s.actor.require(Permission::ManageSurveys).page(&s)?;
    let year = chrono::Utc::now().with_timezone(&s.st.svc.settings.timezone).format("%Y").to_string();
    let f = FormData(vec![
        ("period_start".into(), format!("{year}-01-01")),
        ("period_end".into(), format!("{year}-12-31")),
        ("frequency".into(), "annual".into()),
        ("min_response_rate".into(), "60".into()),
        ("channel".into(), "email".into()),
    ]);
    Ok(render(&plan_form_page(&s, f, None).await?))
}

/// Percent as typed (`60`, `92.5`), checked to lie in 0..=100; errors name the field.
fn percent(f: &FormData, field: &str) -> Result<Option<f64>, DomainError> {
    let v = f.get(field).trim();
    if v.is_empty() {
        return Ok(None);
    }
    let p: f64 =
        v.trim_end_matches('%').trim().parse().map_err(|_| DomainError::invalid(field, "errors.not_number_2"))?;
    if (0.0..=100.0).contains(&p) {
        Ok(Some(p))
    } else {
        Err(DomainError::invalid(field, "errors.must_between_0_100_2"))
    }
}

fn plan_input(f: &FormData) -> Result<PlanInput, DomainError> {
    let date = |k: &str| {
        chrono::NaiveDate::parse_from_str(f.get(k).trim(), "%Y-%m-%d")
            .map_err(|_| DomainError::invalid(k, "errors.use_date_such_2026_01"))
    };
    let triggers = TRIGGER_EVENTS
        .iter()
        .filter(|e| f.get(&format!("trigger.{e}")) == "1")
        .map(|e| Trigger {
            event: (*e).to_owned(),
            case_type: if *e == "case_closed" { f.get("trigger.case_type").trim().to_owned() } else { String::new() },
        })
        .collect();
    Ok(PlanInput {
        name: f.get("name").to_owned(),
        template_code: f.get("template_code").to_owned(),
        period_start: date("period_start")?,
        period_end: date("period_end")?,
        frequency: f.get("frequency").to_owned(),
        population: Population {
            region: f.opt("region"),
            category: f.opt("category"),
            is_new: match f.get("is_new") {
                "new" => Some(true),
                "existing" => Some(false),
                _ => None,
            },
            min_contract_value: f.opt("min_contract_value"),
        },
        min_response_rate: percent(f, "min_response_rate")?.map(|p| p / 100.0),
        target_pct: percent(f, "target_pct")?.ok_or_else(|| DomainError::invalid("target_pct", "errors.required"))?,
        channel: f.get("channel").to_owned(),
        triggers,
    })
}

async fn plan_create(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let result = match plan_input(&f) {
        Ok(input) => s.st.svc.create_survey_plan(&s.actor, &input).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/surveys/plans/{}", p.row.id)).into_response()),
        Err(ServiceError::Domain(DomainError::Invalid { field, reason })) => {
            let page = plan_form_page(&s, f, Some((field, reason))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

#[derive(Template)]
#[template(path = "survey_plan.html")]
struct PlanPage {
    c: Chrome,
    plan: Plan,
    frequency: String,
    channel: String,
    population: String,
    triggers: String,
    campaigns: Vec<CampaignLine>,
    can_manage: bool,
    f: FormData,
    error: Option<String>,
    /// Periods worth a click: the plan's periods of its own frequency.
    periods: Vec<String>,
}

async fn plan_view(s: &SignedIn, id: i64, f: FormData, error: Option<String>) -> Result<PlanPage, PageError> {
    let plan = s.st.svc.survey_plan(&s.actor, id).await.page(s)?;
    let t = s.tr();
    let rows = s.st.svc.survey_plan_campaigns(&s.actor, id).await.page(s)?;
    let p = &plan.population;
    let mut population = Vec::new();
    if let Some(r) = &p.region {
        population.push(format!("{}: {r}", t.get("survey.region")));
    }
    if let Some(c) = &p.category {
        population.push(format!(
            "{}: {}",
            t.get("survey.customer_category"),
            coded_label::<CustomerCategory>(s.locale, c)
        ));
    }
    if let Some(n) = p.is_new {
        population.push(t.get(if n { "survey.new_customers" } else { "survey.existing_customers" }).to_owned());
    }
    if let Some(v) = &p.min_contract_value {
        population.push(format!("{} ≥ {v}", t.get("survey.min_contract_value")));
    }
    let triggers = plan
        .triggers
        .iter()
        .map(|tr| {
            let mut l = t.get(&format!("survey.trigger_{}", tr.event)).to_owned();
            if !tr.case_type.is_empty() {
                l.push_str(&format!(" ({})", coded_label::<CaseType>(s.locale, &tr.case_type)));
            }
            l
        })
        .collect::<Vec<_>>()
        .join("; ");
    let g = Granularity::of_frequency(&plan.row.frequency);
    let mut periods = Vec::new();
    let mut at = Period::containing(plan.row.period_start, g);
    while at.start() <= plan.row.period_end && periods.len() < 24 {
        periods.push(at.to_string());
        at = at.next();
    }
    Ok(PlanPage {
        c: s.chrome("surveys"),
        frequency: t.get(&format!("survey.freq_{}", plan.row.frequency)).to_owned(),
        channel: t.get(&format!("survey.channel_{}", plan.row.channel)).to_owned(),
        population: if population.is_empty() { t.get("common.all").to_owned() } else { population.join("; ") },
        triggers: if triggers.is_empty() { t.get("common.none").to_owned() } else { triggers },
        campaigns: campaign_lines(s, rows),
        can_manage: s.actor.can(Permission::ManageSurveys),
        f,
        error,
        periods,
        plan,
    })
}

async fn plan_page(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let f = FormData(vec![]);
    Ok(render(&plan_view(&s, id, f, None).await?))
}

pub struct LinkLine {
    email: String,
    url: String,
}

#[derive(Template)]
#[template(path = "survey_links.html")]
struct LinksPage {
    c: Chrome,
    campaign_id: i64,
    name: String,
    links: Vec<LinkLine>,
}

/// Launches a campaign of the plan and shows its links once (only their hashes are kept).
async fn launch(s: SignedIn, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let input = CampaignInput {
        plan_id: id,
        name: f.get("name").to_owned(),
        period: f.get("period").to_owned(),
        anonymous: f.get("anonymous") == "1",
        trigger_event: None,
    };
    match s.st.svc.launch_campaign(&s.actor, &input).await {
        Ok(l) => {
            let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            let base = if host.is_empty() { String::new() } else { format!("http://{host}") };
            let links = l
                .links
                .into_iter()
                .map(|k| LinkLine { email: k.invitation.email, url: format!("{base}/s/{}", k.token) })
                .collect();
            let page = LinksPage { c: s.chrome("surveys"), campaign_id: l.campaign.id, name: l.campaign.name, links };
            Ok((StatusCode::CREATED, render(&page)).into_response())
        }
        Err(e) if is_user_error(&e) => {
            let page = plan_view(&s, id, f, Some(s.tr().error(&e))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

pub struct TrendDot {
    x: u32,
    y: u32,
    label_y: u32,
    value: String,
    period: String,
    low: bool,
}

#[derive(Template)]
#[template(path = "survey_period.html")]
struct PeriodPage {
    c: Chrome,
    r: PeriodResults,
    v: ScoreView,
    campaigns: Vec<(i64, String, String, String, u64, u64, String)>,
    dots: Vec<TrendDot>,
    line: String,
    trend_width: u32,
    target_y: u32,
    lang: &'static str,
    cars: Vec<(i64, String, String, String)>,
    /// Below target without a request of its own yet, and the user may open one.
    can_open_car: bool,
}

#[derive(Deserialize)]
struct PeriodParam {
    period: Option<String>,
}

const TREND_H: u32 = 220;
const TREND_TOP: u32 = 20;
const TREND_STEP: u32 = 90;

/// y of a percentage on the trend chart (100 % at the top).
fn trend_y(v: f64) -> u32 {
    let span = f64::from(TREND_H - TREND_TOP - 40);
    TREND_TOP + ((100.0 - v.clamp(0.0, 100.0)) / 100.0 * span).round() as u32
}

async fn period_page(s: SignedIn, Path(id): Path<i64>, Query(q): Query<PeriodParam>) -> Result<Response, PageError> {
    let r = s.st.svc.survey_period_results(&s.actor, id, q.period.as_deref()).await.page(&s)?;
    let tz = s.st.svc.settings.timezone;
    let dots: Vec<TrendDot> = r
        .trend
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let y = p.overall_pct.map(trend_y).unwrap_or(TREND_H - 40);
            TrendDot {
                x: 50 + TREND_STEP * i as u32,
                y,
                label_y: y.saturating_sub(8),
                value: pct(p.overall_pct),
                period: p.period.clone(),
                low: p.overall_pct.is_some_and(|v| v < r.scores.target_pct),
            }
        })
        .collect();
    let line = r
        .trend
        .iter()
        .zip(&dots)
        .filter(|(p, _)| p.overall_pct.is_some())
        .map(|(_, d)| format!("{},{}", d.x, d.y))
        .collect::<Vec<_>>()
        .join(" ");
    let own_car = format!("survey_period:{}", r.period);
    let page = PeriodPage {
        can_open_car: r.scores.below_target
            && s.actor.can(Permission::ManageSurveys)
            && !r.corrective_actions.iter().any(|c| c.source == own_car),
        c: s.chrome("surveys"),
        v: score_view(&s, &r.scores),
        campaigns: r
            .campaigns
            .iter()
            .map(|k| {
                (
                    k.id,
                    k.name.clone(),
                    k.period.clone(),
                    s.tr().get(&format!("survey.status_{}", k.status)).to_owned(),
                    k.invited,
                    k.answered,
                    pct(k.overall_pct),
                )
            })
            .collect(),
        trend_width: 60 + TREND_STEP * dots.len().max(1) as u32,
        target_y: trend_y(r.scores.target_pct),
        dots,
        line,
        lang: if s.locale == Locale::ZhCn { "zh" } else { "en" },
        cars: r
            .corrective_actions
            .iter()
            .map(|c| {
                let due = c.due_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
                (c.id, c.title.clone(), due, c.status.clone())
            })
            .collect(),
        r,
    };
    Ok(render(&page))
}

async fn period_car(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let car = s.st.svc.open_period_corrective_action(&s.actor, id, f.get("period")).await.page(&s)?;
    let period = car.source.trim_start_matches("survey_period:").to_owned();
    Ok(Redirect::to(&format!("/surveys/plans/{id}/results?period={period}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Internal KPIs per period (内部自评)
// ---------------------------------------------------------------------------------------------

/// The four self-assessment KPIs of the seeds, in form order, with their direction.
const KPI_NAMES: [(&str, KpiDirection); 4] = [
    ("on_time_delivery", KpiDirection::HigherIsBetter),
    ("complaints", KpiDirection::LowerIsBetter),
    ("returns", KpiDirection::LowerIsBetter),
    ("reply_timeliness", KpiDirection::HigherIsBetter),
];

pub struct KpiLine {
    name: String,
    label: String,
    unit: String,
    actual: String,
    target: String,
    weight: String,
    bad: String,
}

#[derive(Template)]
#[template(path = "survey_kpis.html")]
struct KpiPage {
    c: Chrome,
    period: String,
    external_share: String,
    lines: Vec<KpiLine>,
    error: Option<String>,
    notice: Option<String>,
    bad: String,
    /// (period, internal score, external share %, updated)
    stored: Vec<(String, String, String, String)>,
    can_manage: bool,
}

#[derive(Deserialize)]
struct KpiQuery {
    period: Option<String>,
    saved: Option<String>,
}

async fn kpi_view(s: &SignedIn, f: &FormData, error: Option<(String, String)>) -> Result<KpiPage, PageError> {
    let t = s.tr();
    let stored =
        s.st.svc
            .survey_kpi_sets(&s.actor)
            .await
            .page(s)?
            .into_iter()
            .map(|k| {
                let score = serde_json::from_str::<Vec<Kpi>>(&k.kpis)
                    .ok()
                    .and_then(|v| internal_score(&v).ok())
                    .map(|i| format!("{:.1}", i.value))
                    .unwrap_or_default();
                let c = s.chrome("surveys");
                (k.period, score, format!("{:.0}", k.external_share * 100.0), c.time(&k.updated_at))
            })
            .collect();
    let (error, bad) = match error {
        Some((field, reason)) => (Some(s.tr().domain(&DomainError::invalid(field.clone(), reason))), field),
        None => (None, String::new()),
    };
    let lines = KPI_NAMES
        .iter()
        .map(|(n, d)| {
            let g = |k: &str| f.get(&format!("{n}.{k}")).to_owned();
            KpiLine {
                name: (*n).to_owned(),
                label: t.get(&format!("survey.kpi_{n}")).to_owned(),
                unit: t
                    .get(if *d == KpiDirection::HigherIsBetter { "survey.kpi_pct" } else { "survey.kpi_count" })
                    .to_owned(),
                actual: g("actual"),
                target: g("target"),
                weight: g("weight"),
                bad: bad.strip_prefix(&format!("{n}.")).unwrap_or("").to_owned(),
            }
        })
        .collect();
    Ok(KpiPage {
        c: s.chrome("surveys"),
        period: f.get("period").to_owned(),
        external_share: f.get("external_share").to_owned(),
        lines,
        error,
        notice: None,
        bad,
        stored,
        can_manage: s.actor.can(Permission::ManageSurveys),
    })
}

async fn kpi_form(s: SignedIn, Query(q): Query<KpiQuery>) -> Result<Response, PageError> {
    let period = q.period.unwrap_or_default();
    let mut fields = vec![("period".to_owned(), period.clone()), ("external_share".to_owned(), "50".to_owned())];
    let stored = s.st.svc.survey_kpi_sets(&s.actor).await.page(&s)?.into_iter().find(|k| k.period == period);
    if let Some(k) = stored {
        fields[1].1 = format!("{}", (k.external_share * 1000.0).round() / 10.0);
        for kpi in serde_json::from_str::<Vec<Kpi>>(&k.kpis).unwrap_or_default() {
            fields.push((format!("{}.actual", kpi.name), format!("{}", kpi.actual)));
            fields.push((format!("{}.target", kpi.name), format!("{}", kpi.target)));
            fields.push((format!("{}.weight", kpi.name), kpi.weight.map(|w| format!("{w}")).unwrap_or_default()));
        }
    }
    let mut page = kpi_view(&s, &FormData(fields), None).await?;
    if q.saved.is_some() {
        page.notice = Some(s.tr().get("common.saved").to_owned());
    }
    Ok(render(&page))
}

/// The form's KPIs; a row with neither actual nor target is left out. Errors name `{kpi}.{field}`.
fn kpi_input(f: &FormData) -> Result<(KpiInput, Vec<&'static str>), DomainError> {
    let number = |field: String| -> Result<Option<f64>, DomainError> {
        let v = f.get(&field).trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.trim_end_matches('%').trim().parse().map(Some).map_err(|_| DomainError::invalid(field, "errors.not_number_2"))
    };
    let mut kpis = Vec::new();
    let mut names = Vec::new();
    for (n, direction) in KPI_NAMES {
        let actual = number(format!("{n}.actual"))?;
        let target = number(format!("{n}.target"))?;
        if actual.is_none() && target.is_none() {
            continue;
        }
        kpis.push(Kpi {
            name: n.to_owned(),
            actual: actual.ok_or_else(|| DomainError::invalid(format!("{n}.actual"), "errors.required_with_target"))?,
            target: target
                .ok_or_else(|| DomainError::invalid(format!("{n}.target"), "errors.required_with_actual_value"))?,
            direction,
            weight: number(format!("{n}.weight"))?,
        });
        names.push(n);
    }
    let external_share = percent(f, "external_share")?.map(|p| p / 100.0);
    Ok((KpiInput { kpis, external_share }, names))
}

async fn kpi_save(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let saved = match kpi_input(&f) {
        Ok((input, names)) => s.st.svc.put_survey_kpis(&s.actor, f.get("period"), &input).await.map_err(|e| match e {
            // `kpis[1].target` is the form's `complaints.target`.
            ServiceError::Domain(DomainError::Invalid { field, reason }) => {
                let named = field
                    .strip_prefix("kpis[")
                    .and_then(|rest| rest.split_once("]."))
                    .and_then(|(i, k)| Some(format!("{}.{k}", names.get(i.parse::<usize>().ok()?)?)));
                ServiceError::Domain(DomainError::invalid(named.unwrap_or(field), reason))
            }
            other => other,
        }),
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(row) => {
            let q: String = form_urlencoded::byte_serialize(row.period.as_bytes()).collect();
            Ok(Redirect::to(&format!("/surveys/kpis?period={q}&saved=1")).into_response())
        }
        Err(ServiceError::Domain(DomainError::Invalid { field, reason })) => {
            let page = kpi_view(&s, &f, Some((field, reason))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(PageError::Service(e, s.locale)),
    }
}

// ---------------------------------------------------------------------------------------------
// Classifying free-text answers (意见/建议分类)
// ---------------------------------------------------------------------------------------------

async fn classify(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version =
        f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "errors.missing")).page(&s)?;
    let kind = match f.get("kind") {
        "opinion" => FeedbackKind::Opinion,
        "suggestion" => FeedbackKind::Suggestion,
        _ => return Err(DomainError::invalid("kind", "errors.opinion_suggestion")).page(&s),
    };
    let row = s.st.svc.classify_survey_answer(&s.actor, id, version, kind, f.get("category")).await.page(&s)?;
    Ok(Redirect::to(&format!("/surveys/campaigns/{}#texts", row.campaign_id)).into_response())
}

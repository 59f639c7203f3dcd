//! Satisfaction surveys: the public answer page behind an invitation link (no sign-in, no
//! JavaScript), the campaign list, the results page with a server-rendered SVG chart, and the AHP
//! pairwise comparison editor.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Permission;
use loopdesk_domain::locale::Locale;
use loopdesk_domain::survey::scoring::FeedbackKind;
use loopdesk_domain::survey::template::{QuestionKind, Template as SurveyTemplate};
use loopdesk_service::ServiceError;
use loopdesk_service::surveys::{CampaignResults, Submission};
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
                let page = answer_page(&s.template, l, &token, &form, Some(format!("{label}: {reason}")));
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
    code: String,
    revision: i64,
    name: String,
    audience: String,
    weights: String,
}

#[derive(Template)]
#[template(path = "surveys.html")]
struct List {
    c: Chrome,
    campaigns: Vec<CampaignLine>,
    templates: Vec<TemplateLine>,
}

async fn list(s: SignedIn) -> Result<Response, PageError> {
    let zh = s.locale == Locale::ZhCn;
    let campaigns =
        s.st.svc
            .survey_campaigns(&s.actor)
            .await
            .page(&s)?
            .into_iter()
            .map(|(c, t)| CampaignLine {
                id: c.id,
                name: c.name,
                period: c.period,
                status: s.tr().get(&format!("survey.status_{}", c.status)).to_owned(),
                invited: t.invited,
                opened: t.opened,
                answered: t.answered,
            })
            .collect();
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
                code: t.row.code,
                revision: t.row.revision,
                name: if zh { t.template.spec.name_zh } else { t.template.spec.name_en },
                audience: s.tr().get(&format!("survey.audience_{}", t.row.audience)).to_owned(),
            })
            .collect();
    Ok(render(&List { c: s.chrome("surveys"), campaigns, templates }))
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
}

#[derive(Template)]
#[template(path = "survey_results.html")]
struct ResultsPage {
    c: Chrome,
    r: CampaignResults,
    bars: Vec<Bar>,
    chart_height: u32,
    target_x: u32,
    rows: Vec<Row>,
    overall: String,
    nps: String,
    csat: String,
    rate: String,
    min_rate: String,
    previous: String,
    delta_previous: String,
    composite: String,
    internal: String,
    formula: String,
    can_close: bool,
    version: i64,
    status: String,
    /// (kind label, category, count)
    feedback: Vec<(String, String, usize)>,
    car_due: String,
}

const LABEL_W: u32 = 180;
const BAR_W: u32 = 400;

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
}

async fn results_page(s: SignedIn, Path(id): Path<i64>) -> Result<Response, PageError> {
    let r = s.st.svc.survey_results(&s.actor, id).await.page(&s)?;
    let zh = s.locale == Locale::ZhCn;
    let scale = |v: f64| (v.clamp(0.0, 100.0) / 100.0 * f64::from(BAR_W)).round() as u32;
    let bars: Vec<Bar> = r
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let y = 10 + 30 * i as u32;
            let width = scale(it.satisfaction_pct.unwrap_or(0.0));
            Bar {
                y,
                text_y: y + 15,
                width,
                value_x: LABEL_W + 10 + width + 6,
                label: if zh { it.name_zh.clone() } else { it.name_en.clone() },
                value: pct(it.satisfaction_pct),
                low: it.satisfaction_pct.is_some_and(|v| v < r.target_pct),
            }
        })
        .collect();
    let chart_height = 20 + 30 * bars.len() as u32;
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
            }
        })
        .collect();
    let tz = s.st.svc.settings.timezone;
    let page = ResultsPage {
        c: s.chrome("surveys"),
        overall: pct(r.overall_pct),
        nps: r.nps.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into()),
        csat: pct(r.csat_pct),
        rate: format!("{:.1}", r.response_rate * 100.0),
        min_rate: format!("{:.0}", r.min_response_rate * 100.0),
        previous: pct(r.previous_pct),
        delta_previous: r.delta_vs_previous.map(|d| format!("{d:+.1}")).unwrap_or_else(|| "—".into()),
        composite: pct(r.composite.as_ref().map(|c| c.value)),
        internal: pct(r.internal.as_ref().map(|c| c.value)),
        formula: if zh { r.formula_zh.clone() } else { r.formula_en.clone() },
        can_close: r.status == "open" && s.actor.can(Permission::ManageSurveys),
        version: r.version,
        status: s.tr().get(&format!("survey.status_{}", r.status)).to_owned(),
        feedback: r
            .feedback
            .categories
            .iter()
            .map(|k| {
                let key = match k.kind {
                    FeedbackKind::Opinion => "survey.kind_opinion",
                    FeedbackKind::Suggestion => "survey.kind_suggestion",
                };
                (s.tr().get(key).to_owned(), k.category.clone(), k.count)
            })
            .collect(),
        car_due: r
            .corrective_action
            .as_ref()
            .map(|c| c.due_at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        target_x: LABEL_W + 10 + scale(r.target_pct),
        bars,
        chart_height,
        rows,
        r,
    };
    Ok(render(&page))
}

async fn close(s: SignedIn, Path(id): Path<i64>, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    let version = f.get("version").parse::<i64>().map_err(|_| DomainError::invalid("version", "missing")).page(&s)?;
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
            Err(e) => page.error = Some(e.to_string()),
        },
    }
    let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)).into_response())
}

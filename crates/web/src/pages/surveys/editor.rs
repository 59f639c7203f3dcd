//! The survey template editor: a plain form (no JavaScript) for the audience, the scale, the
//! indicator tree with hand-typed weights or AHP pairwise comparisons per sibling group, the
//! thresholds and the questions. "Preview" checks the template and shows the normalised weights,
//! the seeds' multipliers and each group's λmax, CI and CR; "Save" stores the next revision.
//!
//! Input names follow the template's own field paths (`indicators[2].weight`,
//! `questions[0].options`), so a validation error names the input it is about. Blank rows are
//! dropped and the form is shown again compacted, which keeps those indexes in step.

use askama::Template;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::Permission;
use loopdesk_domain::locale::Locale;
use loopdesk_domain::survey::scale::{RatingScale, ScaleLevel};
use loopdesk_domain::survey::scoring::FeedbackKind;
use loopdesk_domain::survey::template::{
    AUDIENCES, AhpGroup, ChoiceOption, IndicatorSpec, QuestionKind, QuestionSpec, ScaleChoice, Template as Tpl,
    TemplateSpec, WeightMethod,
};
use loopdesk_service::ServiceError;
use serde::Deserialize;

use crate::pages::{Chrome, FormData, OrPage, PageError, SignedIn, render};

/// Empty rows offered after the filled ones, so a user can add without JavaScript.
const BLANK_ROWS: usize = 3;
/// Saaty's scale as offered in the pairwise selects, "row much more important" first.
const SAATY: [&str; 17] =
    ["9", "8", "7", "6", "5", "4", "3", "2", "1", "1/2", "1/3", "1/4", "1/5", "1/6", "1/7", "1/8", "1/9"];
const KINDS: [QuestionKind; 5] = [
    QuestionKind::Rating,
    QuestionKind::Nps,
    QuestionKind::SingleChoice,
    QuestionKind::MultipleChoice,
    QuestionKind::Text,
];

#[derive(Default, Clone)]
pub struct IndRow {
    i: usize,
    code: String,
    parent: String,
    name_zh: String,
    name_en: String,
    weight: String,
    threshold: String,
    /// Computed on preview: sibling share, product along the path, multiplier (items only).
    local: String,
    global: String,
    multiplier: String,
    /// The part of the field an error is about (`code`, `weight`, …), or empty.
    bad: String,
}

#[derive(Default, Clone)]
pub struct QRow {
    i: usize,
    code: String,
    kind: String,
    text_zh: String,
    text_en: String,
    indicator: String,
    options: String,
    feedback_kind: String,
    required: bool,
    bad: String,
}

#[derive(Default, Clone)]
pub struct LevelRow {
    i: usize,
    value: String,
    label_zh: String,
    label_en: String,
    bad: String,
}

pub struct Pair {
    field: String,
    row: String,
    col: String,
    value: String,
}

pub struct GroupView {
    title: String,
    pairs: Vec<Pair>,
    /// (indicator, weight) once computed.
    weights: Vec<(String, String)>,
    lambda_max: String,
    ci: String,
    cr: String,
    consistent: Option<bool>,
    error: String,
}

/// The editor's state: what was typed, as text, in rows.
#[derive(Default)]
struct Draft {
    code: String,
    name_zh: String,
    name_en: String,
    audience: String,
    scale: String,
    scale_name: String,
    weight_method: String,
    allow_anonymous: bool,
    indicators: Vec<IndRow>,
    questions: Vec<QRow>,
    levels: Vec<LevelRow>,
    /// Pairwise cells by `ahp:{parent}:{row code}:{column code}` (parent empty for the top level).
    cells: Vec<(String, String)>,
}

impl Draft {
    fn parse(f: &FormData) -> Draft {
        let rows = |k: &str| f.get(k).parse::<usize>().unwrap_or(0).min(500);
        let indicators = (0..rows("indicator_rows"))
            .map(|i| {
                let g = |k: &str| f.get(&format!("indicators[{i}].{k}")).trim().to_owned();
                IndRow {
                    code: g("code"),
                    parent: g("parent"),
                    name_zh: g("name_zh"),
                    name_en: g("name_en"),
                    weight: g("weight"),
                    threshold: g("threshold"),
                    ..Default::default()
                }
            })
            .filter(|r| !(r.code.is_empty() && r.name_zh.is_empty() && r.name_en.is_empty()))
            .collect();
        let questions = (0..rows("question_rows"))
            .map(|i| {
                let g = |k: &str| f.get(&format!("questions[{i}].{k}")).trim().to_owned();
                QRow {
                    code: g("code"),
                    kind: g("kind"),
                    text_zh: g("text_zh"),
                    text_en: g("text_en"),
                    indicator: g("indicator"),
                    options: f.get(&format!("questions[{i}].options")).to_owned(),
                    feedback_kind: g("feedback_kind"),
                    required: g("required") == "1",
                    ..Default::default()
                }
            })
            .filter(|q| !(q.code.is_empty() && q.text_zh.is_empty() && q.text_en.is_empty()))
            .collect();
        let levels = (0..rows("level_rows"))
            .map(|i| {
                let g = |k: &str| f.get(&format!("scale.levels[{i}].{k}")).trim().to_owned();
                LevelRow { value: g("value"), label_zh: g("label_zh"), label_en: g("label_en"), ..Default::default() }
            })
            .filter(|l| !(l.value.is_empty() && l.label_zh.is_empty() && l.label_en.is_empty()))
            .collect();
        let mut d = Draft {
            code: f.get("code").trim().to_owned(),
            name_zh: f.get("name_zh").trim().to_owned(),
            name_en: f.get("name_en").trim().to_owned(),
            audience: f.get("audience").to_owned(),
            scale: f.get("scale").to_owned(),
            scale_name: f.get("scale.name").trim().to_owned(),
            weight_method: f.get("weight_method").to_owned(),
            allow_anonymous: f.get("allow_anonymous") == "1",
            indicators,
            questions,
            levels,
            cells: f.0.iter().filter(|(k, _)| k.starts_with("ahp:")).cloned().collect(),
        };
        d.number();
        d
    }

    fn number(&mut self) {
        for (i, r) in self.indicators.iter_mut().enumerate() {
            r.i = i;
        }
        for (i, q) in self.questions.iter_mut().enumerate() {
            q.i = i;
        }
        for (i, l) in self.levels.iter_mut().enumerate() {
            l.i = i;
        }
    }

    /// A stored revision, ready to edit.
    fn of(spec: &TemplateSpec) -> Draft {
        let num = |v: Option<f64>| v.map(|w| format!("{}", (w * 1e6).round() / 1e6)).unwrap_or_default();
        let (scale, scale_name, levels) = match &spec.scale {
            ScaleChoice::Builtin(n) => (n.clone(), String::new(), Vec::new()),
            ScaleChoice::Custom(s) => (
                "custom".to_owned(),
                s.name().to_owned(),
                s.levels()
                    .iter()
                    .map(|l| LevelRow {
                        value: format!("{}", l.value),
                        label_zh: l.label_zh.clone(),
                        label_en: l.label_en.clone(),
                        ..Default::default()
                    })
                    .collect(),
            ),
        };
        let mut cells = Vec::new();
        for g in &spec.ahp {
            let parent = g.parent.clone().unwrap_or_default();
            let members: Vec<&str> = spec
                .indicators
                .iter()
                .filter(|n| n.parent.clone().unwrap_or_default() == parent)
                .map(|n| n.code.as_str())
                .collect();
            for (i, a) in members.iter().enumerate() {
                for (j, b) in members.iter().enumerate().skip(i + 1) {
                    if let Some(v) = g.matrix.get(i).and_then(|row| row.get(j)) {
                        cells.push((format!("ahp:{parent}:{a}:{b}"), saaty_text(*v)));
                    }
                }
            }
        }
        let mut d = Draft {
            code: spec.code.clone(),
            name_zh: spec.name_zh.clone(),
            name_en: spec.name_en.clone(),
            audience: spec.audience.clone(),
            scale,
            scale_name,
            weight_method: match spec.weight_method {
                WeightMethod::Manual => "manual".into(),
                WeightMethod::Ahp => "ahp".into(),
            },
            allow_anonymous: spec.allow_anonymous,
            indicators: spec
                .indicators
                .iter()
                .map(|n| IndRow {
                    code: n.code.clone(),
                    parent: n.parent.clone().unwrap_or_default(),
                    name_zh: n.name_zh.clone(),
                    name_en: n.name_en.clone(),
                    weight: if spec.weight_method == WeightMethod::Manual { num(n.weight) } else { String::new() },
                    threshold: num(n.threshold),
                    ..Default::default()
                })
                .collect(),
            questions: spec
                .questions
                .iter()
                .map(|q| QRow {
                    code: q.code.clone(),
                    kind: q.kind.code().to_owned(),
                    text_zh: q.text_zh.clone(),
                    text_en: q.text_en.clone(),
                    indicator: q.indicator.clone().unwrap_or_default(),
                    options: q
                        .options
                        .iter()
                        .map(|o| format!("{} | {} | {}", o.code, o.label_zh, o.label_en))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    feedback_kind: match q.feedback_kind {
                        Some(FeedbackKind::Suggestion) => "suggestion".into(),
                        _ => "opinion".into(),
                    },
                    required: q.required,
                    ..Default::default()
                })
                .collect(),
            levels,
            cells,
        };
        d.number();
        d
    }

    fn cell(&self, key: &str) -> &str {
        self.cells.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("1")
    }

    /// Sibling groups with more than one member, top level first, members in row order.
    fn groups(&self) -> Vec<(String, Vec<&IndRow>)> {
        let mut out: Vec<(String, Vec<&IndRow>)> = Vec::new();
        for r in &self.indicators {
            match out.iter_mut().find(|(p, _)| *p == r.parent) {
                Some((_, members)) => members.push(r),
                None => out.push((r.parent.clone(), vec![r])),
            }
        }
        out.sort_by_key(|(p, _)| !p.is_empty());
        out.retain(|(_, m)| m.len() > 1);
        out
    }

    /// The pairwise matrix of one group from its upper-triangle cells.
    fn matrix(&self, parent: &str, members: &[&IndRow]) -> Result<Vec<Vec<f64>>, DomainError> {
        let n = members.len();
        let mut m = vec![vec![1.0; n]; n];
        for i in 0..n {
            for j in i + 1..n {
                let key = format!("ahp:{parent}:{}:{}", members[i].code, members[j].code);
                let v = saaty_value(self.cell(&key))
                    .ok_or_else(|| DomainError::invalid(key.clone(), "errors.choose_value_saaty_scale_1"))?;
                m[i][j] = v;
                m[j][i] = 1.0 / v;
            }
        }
        Ok(m)
    }

    fn spec(&self) -> Result<TemplateSpec, DomainError> {
        let number = |field: String, v: &str| -> Result<Option<f64>, DomainError> {
            if v.is_empty() {
                return Ok(None);
            }
            v.replace(',', ".").parse::<f64>().map(Some).map_err(|_| DomainError::invalid(field, "errors.not_number_2"))
        };
        let scale = match self.scale.as_str() {
            "custom" => {
                let mut levels = Vec::with_capacity(self.levels.len());
                for l in &self.levels {
                    let field = format!("scale.levels[{}].value", l.i);
                    levels.push(ScaleLevel {
                        value: number(field.clone(), &l.value)?
                            .ok_or_else(|| DomainError::invalid(field, "errors.required"))?,
                        label_zh: l.label_zh.clone(),
                        label_en: l.label_en.clone(),
                    });
                }
                let s = RatingScale::new(&self.scale_name, levels).map_err(|e| match e {
                    DomainError::Invalid { field, reason } => DomainError::invalid(format!("scale.{field}"), reason),
                    other => other,
                })?;
                ScaleChoice::Custom(s)
            }
            other => ScaleChoice::Builtin(other.to_owned()),
        };
        let weight_method = if self.weight_method == "ahp" { WeightMethod::Ahp } else { WeightMethod::Manual };
        let mut indicators = Vec::with_capacity(self.indicators.len());
        for r in &self.indicators {
            indicators.push(IndicatorSpec {
                code: r.code.clone(),
                parent: Some(r.parent.clone()).filter(|p| !p.is_empty()),
                name_zh: r.name_zh.clone(),
                name_en: r.name_en.clone(),
                weight: match weight_method {
                    WeightMethod::Manual => number(format!("indicators[{}].weight", r.i), &r.weight)?,
                    WeightMethod::Ahp => None,
                },
                threshold: number(format!("indicators[{}].threshold", r.i), &r.threshold)?,
            });
        }
        let mut ahp = Vec::new();
        if weight_method == WeightMethod::Ahp {
            for (parent, members) in self.groups() {
                ahp.push(AhpGroup {
                    matrix: self.matrix(&parent, &members)?,
                    parent: Some(parent).filter(|p| !p.is_empty()),
                });
            }
        }
        let mut questions = Vec::with_capacity(self.questions.len());
        for q in &self.questions {
            let field = |k: &str| format!("questions[{}].{k}", q.i);
            let kind = KINDS
                .into_iter()
                .find(|k| k.code() == q.kind)
                .ok_or_else(|| DomainError::invalid(field("kind"), "errors.choose_kind"))?;
            let mut options = Vec::new();
            for (n, line) in q.options.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
                let parts: Vec<&str> = line.split(['|', '｜']).map(str::trim).collect();
                let [code, zh, en] = parts.as_slice() else {
                    return Err(DomainError::invalid(
                        field("options"),
                        loopdesk_domain::reason!("errors.line_write_code_english", n = n + 1),
                    ));
                };
                options.push(ChoiceOption {
                    code: (*code).to_owned(),
                    label_zh: (*zh).to_owned(),
                    label_en: (*en).to_owned(),
                });
            }
            questions.push(QuestionSpec {
                code: q.code.clone(),
                kind,
                text_zh: q.text_zh.clone(),
                text_en: q.text_en.clone(),
                indicator: Some(q.indicator.clone()).filter(|i| !i.is_empty()),
                options,
                feedback_kind: Some(if q.feedback_kind == "suggestion" {
                    FeedbackKind::Suggestion
                } else {
                    FeedbackKind::Opinion
                }),
                required: q.required,
            });
        }
        Ok(TemplateSpec {
            code: self.code.clone(),
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            audience: self.audience.clone(),
            scale,
            weight_method,
            indicators,
            ahp,
            questions,
            allow_anonymous: self.allow_anonymous,
        })
    }

    /// Marks the input an error names.
    fn mark(&mut self, field: &str) {
        let part = |rest: &str| rest.split(['.', '[']).next().unwrap_or("").to_owned();
        for r in &mut self.indicators {
            if let Some(rest) = field.strip_prefix(&format!("indicators[{}].", r.i)) {
                r.bad = part(rest);
            }
        }
        for q in &mut self.questions {
            if let Some(rest) = field.strip_prefix(&format!("questions[{}].", q.i)) {
                q.bad = part(rest);
            }
        }
        for l in &mut self.levels {
            if let Some(rest) = field.strip_prefix(&format!("scale.levels[{}].", l.i)) {
                l.bad = part(rest);
            }
        }
    }

    /// Writes the computed weights into the rows.
    fn show_weights(&mut self, t: &Tpl) {
        let nodes = t.tree.weights();
        let items = t.item_weights();
        for r in &mut self.indicators {
            if let Some(n) = nodes.iter().find(|n| n.code == r.code) {
                r.local = format!("{:.4}", n.local_weight);
                r.global = format!("{:.4}", n.global_weight);
            }
            if let Some(w) = items.iter().find(|w| w.code == r.code) {
                r.multiplier = format!("{:.3}", w.multiplier);
            }
        }
    }
}

fn saaty_value(s: &str) -> Option<f64> {
    SAATY.contains(&s.trim()).then_some(())?;
    match s.trim().split_once('/') {
        Some((a, b)) => Some(a.parse::<f64>().ok()? / b.parse::<f64>().ok()?),
        None => s.trim().parse().ok(),
    }
}

/// A stored comparison as the select shows it: 3 → "3", 0.3333 → "1/3".
fn saaty_text(v: f64) -> String {
    if v >= 1.0 { format!("{}", v.round().clamp(1.0, 9.0)) } else { format!("1/{}", (1.0 / v).round().clamp(2.0, 9.0)) }
}

#[derive(Template)]
#[template(path = "survey_template_form.html")]
struct EditorPage {
    c: Chrome,
    d: Draft,
    heading: String,
    error: Option<String>,
    notice: Option<String>,
    audiences: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    saaty: Vec<(String, String)>,
    groups: Vec<GroupView>,
    /// Codes of the indicators, for the questions' datalist.
    codes: Vec<String>,
    indicator_rows: usize,
    question_rows: usize,
    level_rows: usize,
    blank_indicators: Vec<usize>,
    blank_questions: Vec<usize>,
    blank_levels: Vec<usize>,
    /// Readers see the template; only survey managers preview and save.
    can_manage: bool,
}

fn editor(s: &SignedIn, d: Draft, heading: String) -> EditorPage {
    let t = s.tr();
    let zh = s.locale == Locale::ZhCn;
    let name_of = |code: &str| {
        d.indicators
            .iter()
            .find(|r| r.code == code)
            .map(|r| if zh { r.name_zh.clone() } else { r.name_en.clone() })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| code.to_owned())
    };
    let groups = if d.weight_method == "ahp" {
        d.groups()
            .into_iter()
            .map(|(parent, members)| {
                let mut pairs = Vec::new();
                for (i, a) in members.iter().enumerate() {
                    for b in members.iter().skip(i + 1) {
                        let field = format!("ahp:{parent}:{}:{}", a.code, b.code);
                        pairs.push(Pair {
                            value: d.cell(&field).to_owned(),
                            field,
                            row: name_of(&a.code),
                            col: name_of(&b.code),
                        });
                    }
                }
                let mut g = GroupView {
                    title: if parent.is_empty() { t.get("survey.top_level").to_owned() } else { name_of(&parent) },
                    pairs,
                    weights: Vec::new(),
                    lambda_max: String::new(),
                    ci: String::new(),
                    cr: String::new(),
                    consistent: None,
                    error: String::new(),
                };
                match d.matrix(&parent, &members).map_err(ServiceError::from).and_then(|m| s.st.svc.ahp(&s.actor, &m)) {
                    Ok(r) => {
                        g.weights = members
                            .iter()
                            .zip(&r.weights)
                            .map(|(m, w)| (name_of(&m.code), format!("{w:.4}")))
                            .collect();
                        g.lambda_max = format!("{:.4}", r.lambda_max);
                        g.ci = format!("{:.4}", r.ci);
                        g.cr = format!("{:.4}", r.cr);
                        g.consistent = Some(r.consistent);
                    }
                    Err(e) => g.error = s.tr().error(&e),
                }
                g
            })
            .collect()
    } else {
        Vec::new()
    };
    let (ni, nq, nl) = (d.indicators.len(), d.questions.len(), d.levels.len());
    let level_blanks = if d.scale == "custom" || nl == 0 { BLANK_ROWS.max(5usize.saturating_sub(nl)) } else { 0 };
    EditorPage {
        c: s.chrome("surveys"),
        heading,
        error: None,
        notice: None,
        audiences: AUDIENCES
            .iter()
            .map(|a| ((*a).to_owned(), t.get(&format!("survey.audience_{a}")).to_owned()))
            .collect(),
        kinds: KINDS
            .iter()
            .map(|k| (k.code().to_owned(), t.get(&format!("survey.qkind_{}", k.code())).to_owned()))
            .collect(),
        saaty: SAATY.iter().map(|v| ((*v).to_owned(), (*v).to_owned())).collect(),
        groups,
        codes: d.indicators.iter().map(|r| r.code.clone()).filter(|c| !c.is_empty()).collect(),
        indicator_rows: ni + BLANK_ROWS,
        question_rows: nq + BLANK_ROWS,
        level_rows: nl + level_blanks,
        blank_indicators: (ni..ni + BLANK_ROWS).collect(),
        blank_questions: (nq..nq + BLANK_ROWS).collect(),
        blank_levels: (nl..nl + level_blanks).collect(),
        can_manage: s.actor.can(Permission::ManageSurveys),
        d,
    }
}

fn blank_draft() -> Draft {
    Draft {
        audience: "external_customer".into(),
        scale: RatingScale::FIVE_LEVEL_10.into(),
        weight_method: "manual".into(),
        ..Default::default()
    }
}

pub async fn new_form(s: SignedIn) -> Result<Response, PageError> {
    s.actor.require(Permission::ManageSurveys).page(&s)?;
    let heading = s.tr().get("survey.new_template").to_owned();
    Ok(render(&editor(&s, blank_draft(), heading)))
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// A stored revision in the editor; saving it stores the next revision of the same code.
pub async fn edit_form(
    s: SignedIn,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Result<Response, PageError> {
    let rec = s.st.svc.survey_template(&s.actor, id).await.page(&s)?;
    let mut d = Draft::of(&rec.template.spec);
    d.show_weights(&rec.template);
    let heading = format!("{} {} r{}", s.tr().get("survey.template"), rec.row.code, rec.row.revision);
    let mut page = editor(&s, d, heading);
    if q.saved.is_some() {
        page.notice = Some(format!("{} r{}", s.tr().get("survey.saved_revision"), rec.row.revision));
    }
    Ok(render(&page))
}

/// Preview or save; a refused template comes back with the error naming its field.
pub async fn submit(s: SignedIn, body: Bytes) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    s.check_csrf(&f)?;
    s.actor.require(Permission::ManageSurveys).page(&s)?;
    let mut d = Draft::parse(&f);
    let heading = s.tr().get("survey.edit_template").to_owned();
    let spec = match d.spec() {
        Ok(spec) => spec,
        Err(e) => return refused(&s, d, heading, e.into()),
    };
    if f.get("action") == "save" {
        return match s.st.svc.save_template(&s.actor, spec).await {
            Ok(rec) => Ok(Redirect::to(&format!("/surveys/templates/{}?saved=1", rec.row.id)).into_response()),
            Err(e) => refused(&s, d, heading, e),
        };
    }
    match s.st.svc.preview_template(&s.actor, spec) {
        Ok(t) => {
            d.show_weights(&t);
            let mut page = editor(&s, d, heading);
            page.notice = Some(s.tr().get("survey.template_ok").to_owned());
            Ok(render(&page))
        }
        Err(e) => refused(&s, d, heading, e),
    }
}

fn refused(s: &SignedIn, mut d: Draft, heading: String, e: ServiceError) -> Result<Response, PageError> {
    match e {
        ServiceError::Domain(DomainError::Invalid { field, reason }) => {
            d.mark(&field);
            let mut page = editor(s, d, heading);
            page.error = Some(s.tr().domain(&DomainError::Invalid { field, reason }));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        e => Err(PageError::Service(e, s.locale)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report

    use super::*;

    fn stored() -> TemplateSpec {
        serde_json::from_value(serde_json::json!({
            "code": "EXT", "name_zh": "调查表", "name_en": "Questionnaire", "audience": "distributor",
            "weight_method": "ahp", "scale": "five_level_100",
            "indicators": [
                {"code": "Q", "name_zh": "质量", "name_en": "Quality", "threshold": 75},
                {"code": "D", "name_zh": "交付", "name_en": "Delivery"},
                {"code": "S", "name_zh": "服务", "name_en": "Service"},
                {"code": "Q1", "parent": "Q", "name_zh": "特性", "name_en": "Performance"},
                {"code": "Q2", "parent": "Q", "name_zh": "外观", "name_en": "Appearance"}
            ],
            "ahp": [
                {"matrix": [[1, 3, 5], [0.3333, 1, 3], [0.2, 0.3333, 1]]},
                {"parent": "Q", "matrix": [[1, 0.5], [2, 1]]}
            ],
            "questions": [
                {"code": "q1", "kind": "rating", "indicator": "Q1", "text_zh": "特性", "text_en": "Performance", "required": true},
                {"code": "q2", "kind": "rating", "indicator": "Q2", "text_zh": "外观", "text_en": "Appearance"},
                {"code": "d", "kind": "rating", "indicator": "D", "text_zh": "交付", "text_en": "Delivery"},
                {"code": "s", "kind": "rating", "indicator": "S", "text_zh": "服务", "text_en": "Service"},
                {"code": "ch", "kind": "multiple_choice", "text_zh": "渠道", "text_en": "Channel",
                 "options": [{"code": "a", "label_zh": "甲", "label_en": "A"}, {"code": "b", "label_zh": "乙", "label_en": "B"}]}
            ]
        }))
        .unwrap()
    }

    /// A stored AHP template shown in the editor and submitted unchanged gives the same weights.
    #[test]
    fn stored_template_round_trips_through_the_form() {
        let spec = stored();
        let before = Tpl::parse(spec.clone()).unwrap();
        let d = Draft::of(&before.spec);
        assert_eq!(d.cell("ahp::Q:D"), "3");
        assert_eq!(d.cell("ahp::D:S"), "3");
        assert_eq!(d.cell("ahp:Q:Q1:Q2"), "1/2");
        let after = Tpl::parse(d.spec().unwrap()).unwrap();
        for (a, b) in before.item_weights().iter().zip(after.item_weights()) {
            assert_eq!(a.code, b.code);
            assert!((a.weight - b.weight).abs() < 1e-3, "{a:?} {b:?}");
        }
        assert_eq!(after.spec.questions[4].options, before.spec.questions[4].options);
        assert_eq!(after.thresholds(), before.thresholds());
        assert_eq!(after.scale, before.scale);
        assert_eq!(after.spec.audience, "distributor");
    }

    /// Blank rows are dropped, so the indexes in errors are those of the form shown again.
    #[test]
    fn blank_rows_are_dropped_and_errors_mark_their_input() {
        let f = FormData(
            [
                ("indicator_rows", "3"),
                ("question_rows", "1"),
                ("weight_method", "manual"),
                ("scale", "five_level_10"),
                ("indicators[1].code", "A"),
                ("indicators[1].weight", "many"),
                ("questions[0].code", "q"),
                ("questions[0].kind", "single_choice"),
                ("questions[0].options", "only one column"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .to_vec(),
        );
        let mut d = Draft::parse(&f);
        assert_eq!(d.indicators.len(), 1);
        assert_eq!(d.indicators[0].i, 0);
        match d.spec() {
            Err(DomainError::Invalid { field, .. }) => {
                assert_eq!(field, "indicators[0].weight");
                d.mark(&field);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.indicators[0].bad, "weight");
        d.indicators[0].weight = "2".into();
        match d.spec() {
            Err(DomainError::Invalid { field, reason }) => {
                assert_eq!(field, "questions[0].options");
                assert!(reason.starts_with("errors.line_write_code_english"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(saaty_value("1/7"), Some(1.0 / 7.0));
        assert_eq!(saaty_value("10"), None);
        assert_eq!(saaty_text(0.3333), "1/3");
        assert_eq!(saaty_text(5.0), "5");
    }
}

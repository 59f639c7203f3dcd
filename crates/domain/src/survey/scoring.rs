//! Survey scoring: weights, the indicator tree, satisfaction, NPS, CSAT, response rate, the
//! composite index, free-text category counts and the comparison against target.
//!
//! Rules (the seeds' wording made precise):
//! - Item satisfaction S_i = Σ scores_i ÷ (answers_i × top score) × 100 %.
//! - Overall S = Σ w_i·S_i over leaf items with Σ w_i = 1, w_i = product of local weights along
//!   the item's path. The seeds' "Σ(S_i × weight) ÷ number of items" is the same number when their
//!   weights are multipliers m_i = w_i × n that average 1 (see [`seeds_overall`]).
//! - An item without answers has no S_i. It is left out and the weights of the answered items are
//!   rescaled to sum 1 (S = Σ_answered w_i·S_i ÷ Σ_answered w_i); reports carry the answered weight
//!   share, the unanswered items and a `renormalised` flag so nobody mistakes it for a full result.
//! - A group's S is the mean of its children weighted by local weights. With unanswered items the
//!   same rescaling applies inside the group (each child weighs local weight × its answered share),
//!   so every level, and the overall figure, equals the global-weight mean of the answered items
//!   beneath it; the levels never disagree with the overall.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scale::RatingScale;
use super::{finite, fraction, percentage};
use crate::DomainError;
use crate::org::required_text;

/// The formula shown next to results (SPEC: "show the formula used").
pub const FORMULA_EN: &str = "S_i = Σ scores_i ÷ (answers_i × top score) × 100%; S = Σ w_i·S_i with Σ w_i = 1 \
     (= Σ(S_i × multiplier_i) ÷ number of items with multiplier_i = w_i × n); \
     items without answers are left out and the other weights rescaled to sum 1";
/// Chinese rendering of [`FORMULA_EN`].
pub const FORMULA_ZH: &str = "单项满意度 S_i = ∑单项评分 ÷ (回收份数 × 最高分) × 100%；顾客满意度 S = ∑(w_i × S_i)，∑w_i = 1 \
     （即 ∑(单项满意度 × 权数) ÷ 项目数，权数 = w_i × 项目数）；无回答的项目不计入，其余权重按比例放大至合计为 1";

const MAX_CODE: usize = 64;
const MAX_NODES: usize = 1000;
/// Leaves deeper than this are refused: the spec allows three levels (一级/二级/三级指标).
pub const MAX_DEPTH: usize = 3;
/// Seeds: at least 60 % of the surveyed population must answer.
pub const DEFAULT_MIN_RESPONSE_RATE: f64 = 0.60;
/// Seeds: external survey 50 %, internal self-assessment 50 %.
pub const DEFAULT_EXTERNAL_SHARE: f64 = 0.5;
/// Category counted for free-text answers that arrive without one.
pub const UNCATEGORISED: &str = "uncategorised";

// ---------------------------------------------------------------------------------------------
// Manual weights
// ---------------------------------------------------------------------------------------------

/// Hand-entered weights scaled to sum 1. Any positive scale works (percentages, points,
/// multipliers). Refuses negative or non-finite entries (`weights[i]`) and an all-zero list.
pub fn normalise_weights(weights: &[f64]) -> Result<Vec<f64>, DomainError> {
    if weights.is_empty() {
        return Err(DomainError::invalid("weights", "errors.must_not_empty"));
    }
    for (i, &w) in weights.iter().enumerate() {
        finite(format!("weights[{i}]"), w)?;
        if w < 0.0 {
            return Err(DomainError::invalid(format!("weights[{i}]"), "errors.must_not_negative"));
        }
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err(DomainError::invalid("weights", "errors.at_least_one_weight_must"));
    }
    Ok(weights.iter().map(|w| w / total).collect())
}

/// The seeds' multipliers: the same weights rescaled to average 1 (m_i = w_i × n).
pub fn to_multipliers(weights: &[f64]) -> Result<Vec<f64>, DomainError> {
    let n = weights.len() as f64;
    Ok(normalise_weights(weights)?.into_iter().map(|w| w * n).collect())
}

// ---------------------------------------------------------------------------------------------
// Item and overall satisfaction (flat)
// ---------------------------------------------------------------------------------------------

/// S_i in percent, or `None` when the item has no answers. Every score must be a level of the
/// scale (`scores[k]`).
pub fn item_satisfaction(scale: &RatingScale, scores: &[f64]) -> Result<Option<f64>, DomainError> {
    for (k, &s) in scores.iter().enumerate() {
        scale.check_answer(format!("scores[{k}]"), s)?;
    }
    if scores.is_empty() {
        return Ok(None);
    }
    let sum: f64 = scores.iter().sum();
    Ok(Some(sum / (scores.len() as f64 * scale.top_score()) * 100.0))
}

/// Overall satisfaction with the share of weight it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    /// Σ w_i·S_i ÷ Σ w_i over answered items; `None` if no item with positive weight has answers.
    pub value: Option<f64>,
    /// Σ w_i over answered items before rescaling (1 when everything was answered).
    pub answered_weight: f64,
    /// Indexes of items without answers.
    pub unanswered: Vec<usize>,
    /// True when weights were rescaled because some weighted item had no answers.
    pub renormalised: bool,
}

/// S = Σ w_i·S_i for a flat list of items; `weights` are normalised first, `None` means the item
/// had no answers (see the module rules).
pub fn overall_satisfaction(weights: &[f64], satisfaction: &[Option<f64>]) -> Result<Overall, DomainError> {
    if weights.len() != satisfaction.len() {
        return Err(DomainError::invalid(
            "satisfaction",
            crate::reason!(
                "errors.has_items_but_there_are",
                satisfaction = satisfaction.len(),
                weights = weights.len()
            ),
        ));
    }
    let w = normalise_weights(weights)?;
    let mut answered_weight = 0.0;
    let mut sum = 0.0;
    let mut unanswered = Vec::new();
    for (i, (wi, si)) in w.iter().zip(satisfaction).enumerate() {
        match si {
            Some(s) => {
                let s = percentage(format!("satisfaction[{i}]"), *s)?;
                answered_weight += wi;
                sum += wi * s;
            }
            None => unanswered.push(i),
        }
    }
    Ok(Overall {
        value: (answered_weight > 0.0).then(|| sum / answered_weight),
        answered_weight,
        renormalised: answered_weight > 0.0 && answered_weight < 1.0 - 1e-9,
        unanswered,
    })
}

/// The seeds' formula as written: Σ(S_i × multiplier_i) ÷ number of items. Equal to Σ w_i·S_i
/// exactly when the multipliers average 1, which this checks (`multipliers`).
pub fn seeds_overall(multipliers: &[f64], satisfaction: &[f64]) -> Result<f64, DomainError> {
    if multipliers.is_empty() || multipliers.len() != satisfaction.len() {
        return Err(DomainError::invalid("multipliers", "errors.need_one_multiplier_per_item"));
    }
    let n = multipliers.len() as f64;
    let mean = multipliers.iter().sum::<f64>() / n;
    if !mean.is_finite() || (mean - 1.0).abs() > 1e-6 {
        return Err(DomainError::invalid(
            "multipliers",
            crate::reason!("errors.must_average_1_they_average", mean = format!("{:.4}", mean)),
        ));
    }
    let mut sum = 0.0;
    for (i, (m, s)) in multipliers.iter().zip(satisfaction).enumerate() {
        sum += finite(format!("multipliers[{i}]"), *m)? * percentage(format!("satisfaction[{i}]"), *s)?;
    }
    Ok(sum / n)
}

// ---------------------------------------------------------------------------------------------
// Indicator tree
// ---------------------------------------------------------------------------------------------

/// One indicator as entered: `weight` is relative to its siblings (any positive scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorNode {
    pub code: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub weight: f64,
}

/// A validated hierarchy of at most [`MAX_DEPTH`] levels. Leaves are the surveyed items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<IndicatorNode>", into = "Vec<IndicatorNode>")]
pub struct IndicatorTree {
    nodes: Vec<IndicatorNode>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    depth: Vec<usize>,
    local: Vec<f64>,
    global: Vec<f64>,
}

impl TryFrom<Vec<IndicatorNode>> for IndicatorTree {
    type Error = DomainError;
    fn try_from(nodes: Vec<IndicatorNode>) -> Result<Self, Self::Error> {
        IndicatorTree::new(nodes)
    }
}

impl From<IndicatorTree> for Vec<IndicatorNode> {
    fn from(t: IndicatorTree) -> Self {
        t.nodes
    }
}

/// Weights and level of one node, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeWeight {
    pub code: String,
    /// 1 for top-level indicators.
    pub depth: usize,
    /// Share among siblings (siblings sum to 1).
    pub local_weight: f64,
    /// Product of local weights from the top down; leaves sum to 1.
    pub global_weight: f64,
    pub is_item: bool,
}

impl IndicatorTree {
    /// Validates codes (unique, `indicators[i].code`), parents (existing, acyclic,
    /// `indicators[i].parent`), depth ≤ 3, weights (finite, ≥ 0, and not all zero among siblings,
    /// `indicators[i].weight`). Codes and parent references are trimmed.
    pub fn new(nodes: Vec<IndicatorNode>) -> Result<IndicatorTree, DomainError> {
        if nodes.is_empty() {
            return Err(DomainError::invalid("indicators", "errors.at_least_one_indicator_required"));
        }
        if nodes.len() > MAX_NODES {
            return Err(DomainError::invalid("indicators", crate::reason!("errors.at_most_indicators", MAX_NODES)));
        }
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut clean = Vec::with_capacity(nodes.len());
        for (i, n) in nodes.into_iter().enumerate() {
            let code = required_text(&format!("indicators[{i}].code"), &n.code, MAX_CODE)?;
            if index.insert(code.clone(), i).is_some() {
                return Err(DomainError::invalid(
                    format!("indicators[{i}].code"),
                    crate::reason!("errors.used_twice_2", code),
                ));
            }
            let weight = finite(format!("indicators[{i}].weight"), n.weight)?;
            if weight < 0.0 {
                return Err(DomainError::invalid(format!("indicators[{i}].weight"), "errors.must_not_negative"));
            }
            let parent = n.parent.map(|p| p.trim().to_owned());
            clean.push(IndicatorNode { code, parent, weight });
        }
        let count = clean.len();
        let mut parent = vec![None; count];
        let mut children = vec![Vec::new(); count];
        for (i, n) in clean.iter().enumerate() {
            if let Some(p) = &n.parent {
                let &pi = index.get(p).ok_or_else(|| {
                    DomainError::invalid(
                        format!("indicators[{i}].parent"),
                        crate::reason!("errors.no_indicator_has_code", p),
                    )
                })?;
                parent[i] = Some(pi);
                children[pi].push(i);
            }
        }
        let mut depth = vec![0; count];
        for i in 0..count {
            // Walk to the root; more steps than nodes means the chain loops.
            let (mut d, mut at) = (1, i);
            while let Some(p) = parent[at] {
                d += 1;
                at = p;
                if d > count {
                    return Err(DomainError::invalid(
                        format!("indicators[{i}].parent"),
                        crate::reason!("errors.own_ancestor_parents_form_cycle", i = clean[i].code),
                    ));
                }
            }
            if d > MAX_DEPTH {
                return Err(DomainError::invalid(
                    format!("indicators[{i}].parent"),
                    crate::reason!("errors.would_on_level_at_most", i = clean[i].code, d, MAX_DEPTH),
                ));
            }
            depth[i] = d;
        }
        let roots: Vec<usize> = (0..count).filter(|&i| parent[i].is_none()).collect();
        let mut local = vec![0.0; count];
        for group in std::iter::once(&roots).chain(children.iter()).filter(|g| !g.is_empty()) {
            let total: f64 = group.iter().map(|&i| clean[i].weight).sum();
            if total <= 0.0 {
                let under = parent[group[0]].map_or("the top level".to_owned(), |p| clean[p].code.clone());
                return Err(DomainError::invalid(
                    format!("indicators[{}].weight", group[0]),
                    crate::reason!("errors.all_weights_under_are_0", under),
                ));
            }
            for &i in group {
                local[i] = clean[i].weight / total;
            }
        }
        // Depth order guarantees a parent's global weight is known before its children's.
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&i| depth[i]);
        let mut global = vec![0.0; count];
        for i in order {
            global[i] = local[i] * parent[i].map_or(1.0, |p| global[p]);
        }
        Ok(IndicatorTree { nodes: clean, parent, children, depth, local, global })
    }

    /// The nodes as validated (trimmed), in input order.
    pub fn nodes(&self) -> &[IndicatorNode] {
        &self.nodes
    }

    fn is_leaf(&self, i: usize) -> bool {
        self.children[i].is_empty()
    }

    fn position(&self, code: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.code == code)
    }

    /// Codes of the surveyed items (leaves), in input order.
    pub fn items(&self) -> Vec<&str> {
        (0..self.nodes.len()).filter(|&i| self.is_leaf(i)).map(|i| self.nodes[i].code.as_str()).collect()
    }

    /// Sibling-normalised weight of every node.
    pub fn local_weights(&self) -> BTreeMap<String, f64> {
        self.nodes.iter().zip(&self.local).map(|(n, w)| (n.code.clone(), *w)).collect()
    }

    /// Product of local weights along the path, for every node; the items' values sum to 1.
    pub fn global_weights(&self) -> BTreeMap<String, f64> {
        self.nodes.iter().zip(&self.global).map(|(n, w)| (n.code.clone(), *w)).collect()
    }

    /// Depth, local and global weight of every node, in input order.
    pub fn weights(&self) -> Vec<NodeWeight> {
        (0..self.nodes.len())
            .map(|i| NodeWeight {
                code: self.nodes[i].code.clone(),
                depth: self.depth[i],
                local_weight: self.local[i],
                global_weight: self.global[i],
                is_item: self.is_leaf(i),
            })
            .collect()
    }

    /// Rolls item satisfaction (percent, by item code) up every level. Items missing from the map
    /// have no answers (see the module rules). Errors name `satisfaction.<code>`.
    pub fn roll_up(&self, satisfaction: &BTreeMap<String, f64>) -> Result<RollUp, DomainError> {
        let count = self.nodes.len();
        let mut value = vec![None; count];
        for (code, &s) in satisfaction {
            let field = format!("satisfaction.{code}");
            let i =
                self.position(code).ok_or_else(|| DomainError::invalid(&field, "errors.no_indicator_has_code_2"))?;
            if !self.is_leaf(i) {
                return Err(DomainError::invalid(field, "errors.group_only_lowest_level_items"));
            }
            value[i] = Some(percentage(field, s)?);
        }
        // mass = Σ global weight of answered items beneath; sum = Σ global weight × S beneath.
        let mut mass = vec![0.0; count];
        let mut sum = vec![0.0; count];
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.depth[i]));
        for &i in &order {
            if let Some(s) = value[i] {
                mass[i] = self.global[i];
                sum[i] = self.global[i] * s;
            }
            if let Some(p) = self.parent[i] {
                mass[p] += mass[i];
                sum[p] += sum[i];
            }
        }
        let nodes = self
            .weights()
            .into_iter()
            .enumerate()
            .map(|(i, w)| NodeScore {
                satisfaction: (mass[i] > 0.0).then(|| sum[i] / mass[i]).or(value[i]),
                answered_weight: mass[i],
                weight: w,
            })
            .collect();
        let roots = (0..count).filter(|&i| self.parent[i].is_none());
        let (m, s) = roots.fold((0.0, 0.0), |(m, s), i| (m + mass[i], s + sum[i]));
        Ok(RollUp {
            nodes,
            overall: (m > 0.0).then(|| s / m),
            answered_weight: m,
            unanswered: (0..count)
                .filter(|&i| self.is_leaf(i) && value[i].is_none())
                .map(|i| self.nodes[i].code.clone())
                .collect(),
            renormalised: m > 0.0 && m < 1.0 - 1e-9,
        })
    }

    /// Scores raw answers: S_i per item on `scale`, then [`IndicatorTree::roll_up`]. Each item may
    /// appear once (`answers[k].code`); every score must be a scale level (`answers[k].scores[m]`).
    pub fn score(&self, scale: &RatingScale, answers: &[ItemAnswers]) -> Result<SatisfactionReport, DomainError> {
        let mut by_code: BTreeMap<String, f64> = BTreeMap::new();
        let mut items = Vec::with_capacity(answers.len());
        for (k, a) in answers.iter().enumerate() {
            let field = format!("answers[{k}].code");
            let code = a.code.trim();
            let i = self
                .position(code)
                .ok_or_else(|| DomainError::invalid(&field, crate::reason!("errors.no_indicator_has_code_3", code)))?;
            if !self.is_leaf(i) {
                return Err(DomainError::invalid(field, crate::reason!("errors.group_answers_belong_items", code)));
            }
            if items.iter().any(|it: &ItemScore| it.code == code) {
                return Err(DomainError::invalid(field, crate::reason!("errors.appears_twice", code)));
            }
            for (m, &s) in a.scores.iter().enumerate() {
                scale.check_answer(format!("answers[{k}].scores[{m}]"), s)?;
            }
            let s = item_satisfaction(scale, &a.scores)?;
            if let Some(s) = s {
                by_code.insert(code.to_owned(), s);
            }
            items.push(ItemScore {
                code: code.to_owned(),
                answers: a.scores.len(),
                total: a.scores.iter().sum(),
                satisfaction: s,
            });
        }
        Ok(SatisfactionReport { items, roll_up: self.roll_up(&by_code)?, formula: FORMULA_EN.to_owned() })
    }
}

/// Raw answers to one item (lowest-level indicator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemAnswers {
    pub code: String,
    pub scores: Vec<f64>,
}

/// S_i of one item with its inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemScore {
    pub code: String,
    pub answers: usize,
    pub total: f64,
    /// Percent; `None` without answers.
    pub satisfaction: Option<f64>,
}

/// One node of the roll-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeScore {
    #[serde(flatten)]
    pub weight: NodeWeight,
    /// Percent; `None` when no item beneath has answers.
    pub satisfaction: Option<f64>,
    /// Global weight of the answered items beneath (equals `global_weight` when all answered).
    pub answered_weight: f64,
}

/// Every level's satisfaction and the overall figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollUp {
    pub nodes: Vec<NodeScore>,
    /// Percent; `None` when no weighted item has answers.
    pub overall: Option<f64>,
    /// Share of the total weight that has answers (1 when complete).
    pub answered_weight: f64,
    /// Items without answers.
    pub unanswered: Vec<String>,
    /// True when the overall rests on rescaled weights because weighted items had no answers.
    pub renormalised: bool,
}

/// Result of [`IndicatorTree::score`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionReport {
    pub items: Vec<ItemScore>,
    pub roll_up: RollUp,
    pub formula: String,
}

// ---------------------------------------------------------------------------------------------
// NPS, CSAT, response rate
// ---------------------------------------------------------------------------------------------

/// Net Promoter Score from 0–10 answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nps {
    pub responses: usize,
    /// Answers 9–10.
    pub promoters: usize,
    /// Answers 7–8.
    pub passives: usize,
    /// Answers 0–6.
    pub detractors: usize,
    /// % promoters − % detractors, −100..100; `None` without answers.
    pub score: Option<f64>,
}

/// NPS = % promoters (9–10) − % detractors (0–6). Answers above 10 are refused (`answers[k]`).
pub fn nps(answers: &[u8]) -> Result<Nps, DomainError> {
    let (mut promoters, mut passives, mut detractors) = (0, 0, 0);
    for (k, &a) in answers.iter().enumerate() {
        match a {
            9..=10 => promoters += 1,
            7..=8 => passives += 1,
            0..=6 => detractors += 1,
            _ => return Err(DomainError::invalid(format!("answers[{k}]"), crate::reason!("errors.must_0_10_got", a))),
        }
    }
    let n = answers.len();
    let score = (n > 0).then(|| (promoters as f64 - detractors as f64) / n as f64 * 100.0);
    Ok(Nps { responses: n, promoters, passives, detractors, score })
}

/// CSAT % = share of answers in the scale's top two levels × 100; `None` without answers.
pub fn csat(scale: &RatingScale, scores: &[f64]) -> Result<Option<f64>, DomainError> {
    let mut top = 0usize;
    for (k, &s) in scores.iter().enumerate() {
        if scale.is_top_two(scale.check_answer(format!("scores[{k}]"), s)?) {
            top += 1;
        }
    }
    Ok((!scores.is_empty()).then(|| top as f64 / scores.len() as f64 * 100.0))
}

/// Rating answers to one item gathered across campaigns, which may use different template
/// revisions and so different scales. Per top score it keeps Σ scores and the count, so S_i is the
/// seeds' formula exactly when one scale was used, and each answer's share of its own scale's top
/// otherwise: S_i = Σ_scales (Σ scores ÷ top) ÷ answers × 100.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemPool {
    /// (top score, Σ scores, answers) per scale used.
    by_top: Vec<(f64, f64, usize)>,
    /// Answers in their scale's top two levels (for CSAT).
    pub top_two: usize,
}

impl ItemPool {
    /// Adds one answer, which must be a level of `scale` (`field`).
    pub fn add(&mut self, scale: &RatingScale, score: f64, field: &str) -> Result<(), DomainError> {
        scale.check_answer(field, score)?;
        let top = scale.top_score();
        match self.by_top.iter_mut().find(|(t, _, _)| *t == top) {
            Some((_, sum, n)) => {
                *sum += score;
                *n += 1;
            }
            None => self.by_top.push((top, score, 1)),
        }
        if scale.is_top_two(score) {
            self.top_two += 1;
        }
        Ok(())
    }

    pub fn answers(&self) -> usize {
        self.by_top.iter().map(|(_, _, n)| n).sum()
    }

    /// S_i in percent; `None` without answers.
    pub fn satisfaction(&self) -> Option<f64> {
        match self.by_top.as_slice() {
            [] => None,
            [(top, sum, n)] => Some(sum / (*n as f64 * top) * 100.0),
            many => {
                let shares: f64 = many.iter().map(|(top, sum, _)| sum / top).sum();
                Some(shares / self.answers() as f64 * 100.0)
            }
        }
    }
}

/// Response rate against the plan's minimum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRate {
    pub answered: u64,
    pub invited: u64,
    /// answered ÷ invited, 0..1.
    pub rate: f64,
    pub minimum: f64,
    /// rate ≥ minimum: enough answers for the result to speak for the population.
    pub representative: bool,
}

/// answered ÷ invited; `minimum` defaults to [`DEFAULT_MIN_RESPONSE_RATE`] and must be 0..1.
pub fn response_rate(answered: u64, invited: u64, minimum: Option<f64>) -> Result<ResponseRate, DomainError> {
    if invited == 0 {
        return Err(DomainError::invalid("invited", "errors.must_at_least_1"));
    }
    if answered > invited {
        return Err(DomainError::invalid("answered", crate::reason!("errors.exceeds_invited", answered, invited)));
    }
    let minimum = fraction("minimum", minimum.unwrap_or(DEFAULT_MIN_RESPONSE_RATE))?;
    let rate = answered as f64 / invited as f64;
    // Compared as a count with a hair of slack so 6 of 10 meets 0.60 despite float rounding.
    let representative = answered as f64 >= (minimum * invited as f64 - 1e-9);
    Ok(ResponseRate { answered, invited, rate, minimum, representative })
}

// ---------------------------------------------------------------------------------------------
// Internal self-assessment and composite index
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiDirection {
    /// E.g. on-time delivery %, reply timeliness %.
    HigherIsBetter,
    /// E.g. number of complaints or returns.
    LowerIsBetter,
}

/// One internal KPI with its target. `weight` defaults to 1; weights are normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    pub name: String,
    pub actual: f64,
    pub target: f64,
    pub direction: KpiDirection,
    #[serde(default)]
    pub weight: Option<f64>,
}

impl Kpi {
    fn of(name: &str, actual: f64, target: f64, direction: KpiDirection) -> Kpi {
        Kpi { name: name.to_owned(), actual, target, direction, weight: None }
    }
    /// 交付及时率, percent of deliveries on time.
    pub fn on_time_delivery(actual_pct: f64, target_pct: f64) -> Kpi {
        Self::of("on_time_delivery", actual_pct, target_pct, KpiDirection::HigherIsBetter)
    }
    /// 顾客投诉/抱怨, number in the period.
    pub fn complaints(actual: f64, target: f64) -> Kpi {
        Self::of("complaints", actual, target, KpiDirection::LowerIsBetter)
    }
    /// 退货, number (or rate) in the period.
    pub fn returns(actual: f64, target: f64) -> Kpi {
        Self::of("returns", actual, target, KpiDirection::LowerIsBetter)
    }
    /// Percent of replies within the promised time.
    pub fn reply_timeliness(actual_pct: f64, target_pct: f64) -> Kpi {
        Self::of("reply_timeliness", actual_pct, target_pct, KpiDirection::HigherIsBetter)
    }

    /// Score 0–100: higher-is-better min(100, actual/target × 100) (target must be > 0);
    /// lower-is-better min(100, target/actual × 100), 100 when actual is 0. Meeting the target
    /// scores 100 and beating it earns nothing extra, so one KPI cannot mask another.
    pub fn score(&self) -> Result<f64, DomainError> {
        let actual = finite("actual", self.actual)?;
        let target = finite("target", self.target)?;
        if actual < 0.0 {
            return Err(DomainError::invalid("actual", "errors.must_not_negative"));
        }
        if target < 0.0 {
            return Err(DomainError::invalid("target", "errors.must_not_negative"));
        }
        Ok(match self.direction {
            KpiDirection::HigherIsBetter if target == 0.0 => {
                return Err(DomainError::invalid("target", "errors.must_positive_higher_better_kpi"));
            }
            KpiDirection::HigherIsBetter => (actual / target * 100.0).min(100.0),
            KpiDirection::LowerIsBetter if actual == 0.0 => 100.0,
            KpiDirection::LowerIsBetter => (target / actual * 100.0).min(100.0),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiScore {
    pub name: String,
    pub score: f64,
    /// Normalised weight.
    pub weight: f64,
}

/// S_internal with its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternalScore {
    pub kpis: Vec<KpiScore>,
    /// Σ weight × score, 0–100.
    pub value: f64,
}

/// Weighted mean of KPI scores (equal weights unless given). Errors name `kpis[i].<field>`.
pub fn internal_score(kpis: &[Kpi]) -> Result<InternalScore, DomainError> {
    if kpis.is_empty() {
        return Err(DomainError::invalid("kpis", "errors.at_least_one_kpi_required"));
    }
    let mut raw = Vec::with_capacity(kpis.len());
    for (i, k) in kpis.iter().enumerate() {
        let w = finite(format!("kpis[{i}].weight"), k.weight.unwrap_or(1.0))?;
        if w < 0.0 {
            return Err(DomainError::invalid(format!("kpis[{i}].weight"), "errors.must_not_negative"));
        }
        raw.push(w);
    }
    let weights =
        normalise_weights(&raw).map_err(|_| DomainError::invalid("kpis", "errors.at_least_one_kpi_weight"))?;
    let mut out = Vec::with_capacity(kpis.len());
    for (i, (k, w)) in kpis.iter().zip(weights).enumerate() {
        let score = k.score().map_err(|e| match e {
            DomainError::Invalid { field, reason } => DomainError::invalid(format!("kpis[{i}].{field}"), reason),
            other => other,
        })?;
        out.push(KpiScore { name: k.name.clone(), score, weight: w });
    }
    let value = out.iter().map(|k| k.score * k.weight).sum();
    Ok(InternalScore { kpis: out, value })
}

/// Composite customer-satisfaction index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompositeIndex {
    pub external: f64,
    pub internal: f64,
    pub external_share: f64,
    pub internal_share: f64,
    /// external_share × external + internal_share × internal, 0–100.
    pub value: f64,
}

/// Combines the external survey S and the internal KPI score; `external_share` defaults to
/// [`DEFAULT_EXTERNAL_SHARE`], the internal share is the rest.
pub fn composite_index(
    external: f64,
    internal: f64,
    external_share: Option<f64>,
) -> Result<CompositeIndex, DomainError> {
    let external = percentage("external", external)?;
    let internal = percentage("internal", internal)?;
    let external_share = fraction("external_share", external_share.unwrap_or(DEFAULT_EXTERNAL_SHARE))?;
    let internal_share = 1.0 - external_share;
    Ok(CompositeIndex {
        external,
        internal,
        external_share,
        internal_share,
        value: external_share * external + internal_share * internal,
    })
}

// ---------------------------------------------------------------------------------------------
// Free-text classification (意见/建议分类统计)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// 意见: a complaint or opinion about what is.
    Opinion,
    /// 建议: a proposal for what could be.
    Suggestion,
}

/// A free-text answer after someone has tagged it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaggedAnswer {
    pub kind: FeedbackKind,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryCount {
    pub kind: FeedbackKind,
    pub category: String,
    pub count: usize,
    /// count ÷ all tagged answers, 0..1.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub total: usize,
    pub opinions: usize,
    pub suggestions: usize,
    /// Opinions first, then by count (largest first), then category name.
    pub categories: Vec<CategoryCount>,
}

/// Counts per (kind, category). Categories are trimmed; blank ones count as [`UNCATEGORISED`].
pub fn classify(answers: &[TaggedAnswer]) -> Classification {
    let mut counts: BTreeMap<(FeedbackKind, String), usize> = BTreeMap::new();
    for a in answers {
        let c = a.category.trim();
        let c = if c.is_empty() { UNCATEGORISED } else { c };
        *counts.entry((a.kind, c.to_owned())).or_default() += 1;
    }
    let total = answers.len();
    let mut categories: Vec<CategoryCount> = counts
        .into_iter()
        .map(|((kind, category), count)| CategoryCount { kind, category, count, share: count as f64 / total as f64 })
        .collect();
    categories.sort_by(|a, b| a.kind.cmp(&b.kind).then(b.count.cmp(&a.count)).then(a.category.cmp(&b.category)));
    let opinions = answers.iter().filter(|a| a.kind == FeedbackKind::Opinion).count();
    Classification { total, opinions, suggestions: total - opinions, categories }
}

// ---------------------------------------------------------------------------------------------
// Comparison against target and previous period
// ---------------------------------------------------------------------------------------------

/// An indicator whose satisfaction fell under its own threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BelowThreshold {
    pub code: String,
    pub satisfaction: f64,
    pub threshold: f64,
    /// satisfaction − threshold (negative).
    pub delta: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub overall: f64,
    pub target: f64,
    /// overall − target, in percentage points.
    pub delta_vs_target: f64,
    pub previous: Option<f64>,
    /// overall − previous, in percentage points.
    pub delta_vs_previous: Option<f64>,
    pub overall_below_target: bool,
    pub below_threshold: Vec<BelowThreshold>,
    /// Overall below target or any indicator below its threshold: opens a corrective action (CAPA).
    pub below_target: bool,
}

/// Compares a roll-up with the target (percent) and the previous period's overall. `thresholds`
/// may name any indicator (item or group, `thresholds.<code>`). "Below" is strict: meeting the
/// target is not below it. Indicators without answers cannot be below anything and are skipped
/// (they are listed in the roll-up's `unanswered`).
pub fn compare(
    roll_up: &RollUp,
    target: f64,
    previous: Option<f64>,
    thresholds: &BTreeMap<String, f64>,
) -> Result<Comparison, DomainError> {
    let target = percentage("target", target)?;
    let previous = previous.map(|p| percentage("previous", p)).transpose()?;
    let overall =
        roll_up.overall.ok_or_else(|| DomainError::invalid("overall", "errors.no_answers_yet_nothing_compare"))?;
    let mut below_threshold = Vec::new();
    for (code, &t) in thresholds {
        let field = format!("thresholds.{code}");
        let threshold = percentage(&field, t)?;
        let node = roll_up
            .nodes
            .iter()
            .find(|n| n.weight.code == *code)
            .ok_or_else(|| DomainError::invalid(&field, "errors.no_indicator_has_code_2"))?;
        if let Some(s) = node.satisfaction.filter(|&s| s < threshold) {
            below_threshold.push(BelowThreshold {
                code: code.clone(),
                satisfaction: s,
                threshold,
                delta: s - threshold,
            });
        }
    }
    let overall_below_target = overall < target;
    Ok(Comparison {
        overall,
        target,
        delta_vs_target: overall - target,
        previous,
        delta_vs_previous: previous.map(|p| overall - p),
        overall_below_target,
        below_target: overall_below_target || !below_threshold.is_empty(),
        below_threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOL: f64 = 1e-9;

    fn field_of<T: std::fmt::Debug>(r: Result<T, DomainError>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn node(code: &str, parent: Option<&str>, weight: f64) -> IndicatorNode {
        IndicatorNode { code: code.to_owned(), parent: parent.map(str::to_owned), weight }
    }

    /// Q product quality 0.6 ─┬─ Q1 appearance 2 (local 0.4, global 0.24)
    ///                        └─ Q2 function 3 (local 0.6, global 0.36) ─┬─ Q2a 1 (0.5 → 0.18)
    ///                                                                    └─ Q2b 1 (0.5 → 0.18)
    /// D delivery 0.4 ─────────── D1 on time 1 (local 1, global 0.4)
    /// Items Q1 + Q2a + Q2b + D1 = 0.24 + 0.18 + 0.18 + 0.4 = 1.
    fn tree() -> IndicatorTree {
        IndicatorTree::new(vec![
            node("Q", None, 0.6),
            node("D", None, 0.4),
            node("Q1", Some("Q"), 2.0),
            node("Q2", Some("Q"), 3.0),
            node("Q2a", Some("Q2"), 1.0),
            node("Q2b", Some("Q2"), 1.0),
            node("D1", Some("D"), 1.0),
        ])
        .expect("valid tree")
    }

    fn sat(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect()
    }

    fn node_s(r: &RollUp, code: &str) -> Option<f64> {
        r.nodes.iter().find(|n| n.weight.code == code).expect("node").satisfaction
    }

    #[test]
    fn manual_weights_and_multipliers() {
        let w = normalise_weights(&[30.0, 20.0, 50.0]).expect("valid");
        assert_eq!(w, [0.3, 0.2, 0.5]);
        let m = to_multipliers(&[30.0, 20.0, 50.0]).expect("valid");
        for (got, e) in m.iter().zip([0.9, 0.6, 1.5]) {
            assert!((got - e).abs() < TOL);
        }
        assert_eq!(field_of(normalise_weights(&[1.0, -1.0])), "weights[1]");
        assert_eq!(field_of(normalise_weights(&[0.0, 0.0])), "weights");
        assert_eq!(field_of(normalise_weights(&[])), "weights");
        assert_eq!(field_of(normalise_weights(&[f64::NAN])), "weights[0]");
    }

    /// Seeds' five-level scale: answers 10, 8, 8, 6, 3 → Σ = 35 of 5 × 10 = 50 → S_i = 70 %.
    #[test]
    fn item_satisfaction_on_seed_scale() {
        let s10 = RatingScale::five_level_10();
        assert_eq!(item_satisfaction(&s10, &[10.0, 8.0, 8.0, 6.0, 3.0]).expect("valid"), Some(70.0));
        assert_eq!(item_satisfaction(&s10, &[]).expect("valid"), None);
        assert_eq!(field_of(item_satisfaction(&s10, &[10.0, 7.0])), "scores[1]");
        // 100-point scale: 100, 60, 0 → 160 / 300 = 53.33 %.
        let s = item_satisfaction(&RatingScale::five_level_100(), &[100.0, 60.0, 0.0]).expect("valid");
        assert!((s.expect("answered") - 160.0 / 3.0).abs() < TOL);
    }

    /// w = (0.3, 0.2, 0.5), S = (90, 70, 80): Σ w·S = 27 + 14 + 40 = 81.
    /// Seeds: multipliers (0.9, 0.6, 1.5): (81 + 42 + 120) ÷ 3 = 81. Same number.
    /// Item 2 unanswered: (27 + 40) ÷ 0.8 = 83.75, answered weight 0.8.
    #[test]
    fn overall_and_seeds_formula_agree() {
        let o = overall_satisfaction(&[30.0, 20.0, 50.0], &[Some(90.0), Some(70.0), Some(80.0)]).expect("valid");
        assert!((o.value.expect("answered") - 81.0).abs() < TOL);
        assert!(!o.renormalised && o.unanswered.is_empty());
        let seeds = seeds_overall(&[0.9, 0.6, 1.5], &[90.0, 70.0, 80.0]).expect("valid");
        assert!((seeds - 81.0).abs() < TOL);
        // Multipliers that do not average 1 would silently change the scale: refused.
        assert_eq!(field_of(seeds_overall(&[30.0, 20.0, 50.0], &[90.0, 70.0, 80.0])), "multipliers");

        let o = overall_satisfaction(&[30.0, 20.0, 50.0], &[Some(90.0), None, Some(80.0)]).expect("valid");
        assert!((o.value.expect("answered") - 83.75).abs() < TOL);
        assert!((o.answered_weight - 0.8).abs() < TOL);
        assert_eq!((o.unanswered, o.renormalised), (vec![1], true));

        let none = overall_satisfaction(&[1.0, 1.0], &[None, None]).expect("valid");
        assert_eq!((none.value, none.answered_weight), (None, 0.0));
        assert_eq!(field_of(overall_satisfaction(&[1.0], &[Some(101.0)])), "satisfaction[0]");
        assert_eq!(field_of(overall_satisfaction(&[1.0], &[])), "satisfaction");
    }

    #[test]
    fn tree_weights_multiply_along_the_path() {
        let t = tree();
        let g = t.global_weights();
        for (code, e) in [("Q", 0.6), ("D", 0.4), ("Q1", 0.24), ("Q2", 0.36), ("Q2a", 0.18), ("Q2b", 0.18), ("D1", 0.4)]
        {
            assert!((g[code] - e).abs() < TOL, "{code}: {}", g[code]);
        }
        assert!((t.local_weights()["Q2"] - 0.6).abs() < TOL);
        assert_eq!(t.items(), ["Q1", "Q2a", "Q2b", "D1"]);
        let items_total: f64 = t.items().iter().map(|c| g[*c]).sum();
        assert!((items_total - 1.0).abs() < TOL);
        let w = t.weights();
        assert_eq!(w.iter().map(|n| n.depth).collect::<Vec<_>>(), [1, 1, 2, 2, 3, 3, 2]);
    }

    /// Item S: Q1 70, Q2a 90, Q2b 70, D1 60.
    /// Q2 = 0.5·90 + 0.5·70 = 80; Q = 0.4·70 + 0.6·80 = 76; D = 60; S = 0.6·76 + 0.4·60 = 69.6.
    /// Flat check: 0.24·70 + 0.18·90 + 0.18·70 + 0.4·60 = 16.8 + 16.2 + 12.6 + 24 = 69.6.
    #[test]
    fn three_level_roll_up() {
        let t = tree();
        let r = t.roll_up(&sat(&[("Q1", 70.0), ("Q2a", 90.0), ("Q2b", 70.0), ("D1", 60.0)])).expect("valid");
        for (code, e) in [("Q2", 80.0), ("Q", 76.0), ("D", 60.0), ("Q1", 70.0)] {
            assert!((node_s(&r, code).expect("scored") - e).abs() < TOL, "{code}");
        }
        assert!((r.overall.expect("scored") - 69.6).abs() < TOL);
        assert!((r.answered_weight - 1.0).abs() < TOL && !r.renormalised && r.unanswered.is_empty());

        // The same through raw answers on the seeds' scale: Q1 (8, 6) → 14/20 = 70 %, etc.
        let answers =
            [("Q1", vec![8.0, 6.0]), ("Q2a", vec![10.0, 8.0]), ("Q2b", vec![8.0, 6.0]), ("D1", vec![6.0, 6.0])]
                .map(|(c, s)| ItemAnswers { code: c.to_owned(), scores: s });
        let rep = t.score(&RatingScale::five_level_10(), &answers).expect("valid");
        assert_eq!(rep.roll_up, r);
        assert_eq!(rep.items[0], ItemScore { code: "Q1".into(), answers: 2, total: 14.0, satisfaction: Some(70.0) });
        assert_eq!(rep.formula, FORMULA_EN);
    }

    /// Q2b unanswered (global weight 0.18 missing, answered 0.82).
    /// Q2 = 90 (only Q2a). Q = (0.24·70 + 0.18·90) ÷ 0.42 = 33 ÷ 0.42 = 78.571 — i.e. Q1 weighs
    /// 0.4 and Q2 weighs 0.6 × ½ answered = 0.3: (0.4·70 + 0.3·90) ÷ 0.7 = 78.571.
    /// S = (33 + 24) ÷ 0.82 = 69.512, which is also 0.6·0.7·78.571 + 0.4·60 over 0.82.
    #[test]
    fn unanswered_item_renormalises_and_is_reported() {
        let r = tree().roll_up(&sat(&[("Q1", 70.0), ("Q2a", 90.0), ("D1", 60.0)])).expect("valid");
        assert!((node_s(&r, "Q2").expect("scored") - 90.0).abs() < TOL);
        assert!((node_s(&r, "Q").expect("scored") - 33.0 / 0.42).abs() < TOL);
        assert!((r.overall.expect("scored") - 57.0 / 0.82).abs() < TOL);
        assert!((r.answered_weight - 0.82).abs() < TOL);
        assert_eq!(r.unanswered, ["Q2b"]);
        assert!(r.renormalised);
        assert_eq!(node_s(&r, "Q2b"), None);

        let empty = tree().roll_up(&BTreeMap::new()).expect("valid");
        assert_eq!((empty.overall, empty.renormalised), (None, false));
        assert_eq!(field_of(tree().roll_up(&sat(&[("Q", 70.0)]))), "satisfaction.Q");
        assert_eq!(field_of(tree().roll_up(&sat(&[("X", 70.0)]))), "satisfaction.X");
    }

    #[test]
    fn score_validates_answers() {
        let t = tree();
        let s10 = RatingScale::five_level_10();
        let a = |code: &str, scores: Vec<f64>| ItemAnswers { code: code.to_owned(), scores };
        assert_eq!(field_of(t.score(&s10, &[a("Q", vec![8.0])])), "answers[0].code");
        assert_eq!(field_of(t.score(&s10, &[a("Z", vec![8.0])])), "answers[0].code");
        assert_eq!(field_of(t.score(&s10, &[a("Q1", vec![8.0]), a("Q1", vec![6.0])])), "answers[1].code");
        assert_eq!(field_of(t.score(&s10, &[a("Q1", vec![8.0, 9.0])])), "answers[0].scores[1]");
        // An item listed with no answers is unanswered, not zero.
        let rep = t.score(&s10, &[a("Q1", vec![]), a("D1", vec![10.0])]).expect("valid");
        assert_eq!(rep.roll_up.overall, Some(100.0));
        assert!(rep.roll_up.unanswered.contains(&"Q1".to_owned()));
    }

    #[test]
    fn tree_validation() {
        let bad = |nodes: Vec<IndicatorNode>| field_of(IndicatorTree::new(nodes));
        assert_eq!(bad(vec![]), "indicators");
        assert_eq!(bad(vec![node("A", None, 1.0), node("A", None, 1.0)]), "indicators[1].code");
        assert_eq!(bad(vec![node(" ", None, 1.0)]), "indicators[0].code");
        assert_eq!(bad(vec![node("A", Some("B"), 1.0)]), "indicators[0].parent");
        assert_eq!(
            bad(vec![node("R", None, 1.0), node("A", Some("B"), 1.0), node("B", Some("A"), 1.0)]),
            "indicators[1].parent"
        );
        assert_eq!(bad(vec![node("A", Some("A"), 1.0)]), "indicators[0].parent");
        assert_eq!(
            bad(vec![
                node("A", None, 1.0),
                node("B", Some("A"), 1.0),
                node("C", Some("B"), 1.0),
                node("D", Some("C"), 1.0)
            ]),
            "indicators[3].parent"
        );
        assert_eq!(bad(vec![node("A", None, -1.0)]), "indicators[0].weight");
        assert_eq!(bad(vec![node("A", None, f64::INFINITY)]), "indicators[0].weight");
        assert_eq!(
            bad(vec![node("A", None, 1.0), node("B", Some("A"), 0.0), node("C", Some("A"), 0.0)]),
            "indicators[1].weight"
        );
        // A zero weight next to a positive one is allowed: that indicator simply does not count.
        let t = IndicatorTree::new(vec![node("A", None, 1.0), node("B", None, 0.0)]).expect("valid");
        assert_eq!(t.global_weights()["B"], 0.0);
        // Serde goes through validation and round-trips as the node list.
        let json = serde_json::to_string(&tree()).expect("json");
        assert_eq!(serde_json::from_str::<IndicatorTree>(&json).expect("valid"), tree());
        assert!(serde_json::from_str::<IndicatorTree>(r#"[{"code":"A","parent":"A","weight":1}]"#).is_err());
    }

    /// [10, 9, 8, 7, 6, 0, 10, 9, 3, 5]: promoters 4, passives 2, detractors 4 → 40 % − 40 % = 0.
    /// [10, 10, 9, 8, 2]: 3 promoters, 1 detractor of 5 → 60 % − 20 % = 40.
    #[test]
    fn nps_examples() {
        let n = nps(&[10, 9, 8, 7, 6, 0, 10, 9, 3, 5]).expect("valid");
        assert_eq!((n.promoters, n.passives, n.detractors, n.responses), (4, 2, 4, 10));
        assert_eq!(n.score, Some(0.0));
        assert_eq!(nps(&[10, 10, 9, 8, 2]).expect("valid").score, Some(40.0));
        assert_eq!(nps(&[0, 6]).expect("valid").score, Some(-100.0));
        assert_eq!(nps(&[9]).expect("valid").score, Some(100.0));
        assert_eq!(nps(&[]).expect("valid").score, None);
        assert_eq!(field_of(nps(&[5, 11])), "answers[1]");
    }

    /// Top two levels of 10/8/6/3/1 are 10 and 8: answers 10, 8, 6, 3, 8 → 3 of 5 = 60 %.
    #[test]
    fn csat_counts_top_two_levels() {
        let s10 = RatingScale::five_level_10();
        assert_eq!(csat(&s10, &[10.0, 8.0, 6.0, 3.0, 8.0]).expect("valid"), Some(60.0));
        assert_eq!(csat(&RatingScale::five_level_100(), &[80.0, 60.0]).expect("valid"), Some(50.0));
        assert_eq!(csat(&s10, &[]).expect("valid"), None);
        assert_eq!(field_of(csat(&s10, &[10.0, 9.0])), "scores[1]");
    }

    /// One scale: (10 + 6) ÷ (2 × 10) = 80 %, as `item_satisfaction`. Two revisions' scales:
    /// 8 of 10 and 60 of 100 → (0.8 + 0.6) ÷ 2 = 70 %. Top two: 10 and 8 (scale 10), 100 and 80.
    #[test]
    fn pooled_items_across_scales() {
        let (s10, s100) = (RatingScale::five_level_10(), RatingScale::five_level_100());
        let mut p = ItemPool::default();
        assert_eq!(p.satisfaction(), None);
        p.add(&s10, 10.0, "q").expect("valid");
        p.add(&s10, 6.0, "q").expect("valid");
        assert_eq!(p.satisfaction(), item_satisfaction(&s10, &[10.0, 6.0]).expect("valid"));
        assert_eq!((p.answers(), p.top_two), (2, 1));
        let mut p = ItemPool::default();
        p.add(&s10, 8.0, "q").expect("valid");
        p.add(&s100, 60.0, "q").expect("valid");
        assert!((p.satisfaction().expect("answered") - 70.0).abs() < TOL);
        assert_eq!(p.top_two, 1);
        assert_eq!(field_of(p.add(&s100, 7.0, "answers.q")), "answers.q");
        assert_eq!(p.answers(), 2);
    }

    #[test]
    fn response_rate_against_minimum() {
        let r = response_rate(6, 10, None).expect("valid");
        assert_eq!((r.rate, r.minimum, r.representative), (0.6, 0.6, true));
        assert!(!response_rate(5, 10, None).expect("valid").representative);
        // 0.7 × 10 is 7.000000000000001 in floating point; 7 of 10 must still count.
        assert!(response_rate(7, 10, Some(0.7)).expect("valid").representative);
        assert!(response_rate(5, 10, Some(0.5)).expect("valid").representative);
        assert_eq!(field_of(response_rate(1, 0, None)), "invited");
        assert_eq!(field_of(response_rate(11, 10, None)), "answered");
        assert_eq!(field_of(response_rate(1, 10, Some(1.5))), "minimum");
    }

    /// on-time 95 % vs 98 % → 95/98 = 96.939; complaints 3 vs 2 → 2/3 = 66.667;
    /// returns 0 vs 1 → 100; reply timeliness 99 % vs 95 % → capped 100.
    /// S_internal = (96.939 + 66.667 + 100 + 100) ÷ 4 = 90.901.
    /// Composite with S_external = 81: 0.5·81 + 0.5·90.901 = 85.951; with 70 % external:
    /// 0.7·81 + 0.3·90.901 = 83.970.
    #[test]
    fn internal_score_and_composite() {
        let kpis = [
            Kpi::on_time_delivery(95.0, 98.0),
            Kpi::complaints(3.0, 2.0),
            Kpi::returns(0.0, 1.0),
            Kpi::reply_timeliness(99.0, 95.0),
        ];
        let i = internal_score(&kpis).expect("valid");
        let scores: Vec<f64> = i.kpis.iter().map(|k| k.score).collect();
        for (got, e) in scores.iter().zip([9500.0 / 98.0, 200.0 / 3.0, 100.0, 100.0]) {
            assert!((got - e).abs() < TOL);
        }
        assert!((i.value - 90.901).abs() < 1e-3);
        let c = composite_index(81.0, i.value, None).expect("valid");
        assert!((c.value - 85.951).abs() < 1e-3);
        assert_eq!((c.external_share, c.internal_share), (0.5, 0.5));
        assert!((composite_index(81.0, i.value, Some(0.7)).expect("valid").value - 83.970).abs() < 1e-3);

        // Weights: on-time 3, complaints 1 → (3·96.939 + 66.667) ÷ 4 = 89.371.
        let mut w = vec![Kpi::on_time_delivery(95.0, 98.0), Kpi::complaints(3.0, 2.0)];
        w[0].weight = Some(3.0);
        assert!((internal_score(&w).expect("valid").value - (3.0 * 9500.0 / 98.0 + 200.0 / 3.0) / 4.0).abs() < TOL);
        // Zero complaints against a target of zero meets it; any complaint then scores 0.
        assert_eq!(Kpi::complaints(0.0, 0.0).score().expect("valid"), 100.0);
        assert_eq!(Kpi::complaints(2.0, 0.0).score().expect("valid"), 0.0);

        assert_eq!(field_of(internal_score(&[])), "kpis");
        assert_eq!(field_of(internal_score(&[Kpi::on_time_delivery(90.0, 0.0)])), "kpis[0].target");
        assert_eq!(field_of(internal_score(&[Kpi::returns(-1.0, 1.0)])), "kpis[0].actual");
        let mut z = Kpi::returns(1.0, 1.0);
        z.weight = Some(0.0);
        assert_eq!(field_of(internal_score(&[z.clone()])), "kpis");
        z.weight = Some(-1.0);
        assert_eq!(field_of(internal_score(&[z])), "kpis[0].weight");
        assert_eq!(field_of(composite_index(101.0, 50.0, None)), "external");
        assert_eq!(field_of(composite_index(50.0, 50.0, Some(-0.1))), "external_share");
    }

    #[test]
    fn classify_counts_per_category() {
        let t = |kind, c: &str| TaggedAnswer { kind, category: c.to_owned() };
        use FeedbackKind::{Opinion, Suggestion};
        let c = classify(&[
            t(Opinion, "交付"),
            t(Suggestion, "包装"),
            t(Opinion, "质量"),
            t(Opinion, " 交付 "),
            t(Suggestion, ""),
        ]);
        assert_eq!((c.total, c.opinions, c.suggestions), (5, 3, 2));
        let rows: Vec<(FeedbackKind, &str, usize)> =
            c.categories.iter().map(|r| (r.kind, r.category.as_str(), r.count)).collect();
        assert_eq!(
            rows,
            [(Opinion, "交付", 2), (Opinion, "质量", 1), (Suggestion, UNCATEGORISED, 1), (Suggestion, "包装", 1)]
        );
        assert!((c.categories[0].share - 0.4).abs() < TOL);
        assert_eq!(classify(&[]).categories, []);
    }

    /// Roll-up 69.6 vs target 75 → −5.4 (below); vs previous 72 → −2.4. D1 = 60 under its 65.
    #[test]
    fn comparison_flags_below_target() {
        let r = tree().roll_up(&sat(&[("Q1", 70.0), ("Q2a", 90.0), ("Q2b", 70.0), ("D1", 60.0)])).expect("valid");
        let c = compare(&r, 75.0, Some(72.0), &sat(&[("D1", 65.0), ("Q", 70.0)])).expect("valid");
        assert!((c.delta_vs_target + 5.4).abs() < TOL);
        assert!((c.delta_vs_previous.expect("previous") + 2.4).abs() < TOL);
        assert!(c.overall_below_target && c.below_target);
        assert_eq!(c.below_threshold.len(), 1);
        assert_eq!(c.below_threshold[0].code, "D1");
        assert!((c.below_threshold[0].delta + 5.0).abs() < TOL);

        // Overall meets the target, but one item is below its own threshold: still a CAPA.
        let c = compare(&r, 60.0, None, &sat(&[("Q2b", 75.0)])).expect("valid");
        assert!(!c.overall_below_target && c.below_target);
        assert_eq!(c.delta_vs_previous, None);
        // Everything fine, and meeting the target exactly is not below it.
        let c = compare(&r, 69.6, None, &sat(&[("D1", 60.0)])).expect("valid");
        assert!(!c.below_target, "{c:?}");

        assert_eq!(field_of(compare(&r, 75.0, None, &sat(&[("X", 50.0)]))), "thresholds.X");
        assert_eq!(field_of(compare(&r, 175.0, None, &BTreeMap::new())), "target");
        let empty = tree().roll_up(&BTreeMap::new()).expect("valid");
        assert_eq!(field_of(compare(&empty, 75.0, None, &BTreeMap::new())), "overall");
    }

    proptest! {
        /// Σ(S_i × m_i) ÷ n with m = normalised w × n equals Σ w_i·S_i for any weights and scores.
        #[test]
        fn seeds_formula_equals_weighted_mean(
            items in prop::collection::vec((0.0f64..100.0, 0.0f64..100.0), 1..20),
        ) {
            let (raw, s): (Vec<f64>, Vec<f64>) = items.into_iter().unzip();
            prop_assume!(raw.iter().sum::<f64>() > 1e-6);
            let w = normalise_weights(&raw).expect("positive");
            let direct = overall_satisfaction(&raw, &s.iter().map(|x| Some(*x)).collect::<Vec<_>>())
                .expect("valid").value.expect("answered");
            let seeds = seeds_overall(&to_multipliers(&raw).expect("positive"), &s).expect("valid");
            let by_hand: f64 = w.iter().zip(&s).map(|(a, b)| a * b).sum();
            prop_assert!((direct - by_hand).abs() < 1e-9);
            prop_assert!((seeds - by_hand).abs() < 1e-9);
        }

        /// For a complete two-level tree the roll-up equals the flat Σ (global weight × S_i).
        #[test]
        fn roll_up_equals_flat_formula(
            groups in prop::collection::vec((0.1f64..10.0, prop::collection::vec((0.1f64..10.0, 0.0f64..100.0), 1..5)), 1..5),
        ) {
            let mut nodes = Vec::new();
            let mut scores = BTreeMap::new();
            for (g, (gw, items)) in groups.iter().enumerate() {
                nodes.push(node(&format!("G{g}"), None, *gw));
                for (k, (w, s)) in items.iter().enumerate() {
                    let code = format!("G{g}.{k}");
                    nodes.push(node(&code, Some(&format!("G{g}")), *w));
                    scores.insert(code, *s);
                }
            }
            let t = IndicatorTree::new(nodes).expect("valid");
            let g = t.global_weights();
            let flat: f64 = scores.iter().map(|(c, s)| g[c] * s).sum();
            let r = t.roll_up(&scores).expect("valid");
            prop_assert!((r.overall.expect("answered") - flat).abs() < 1e-9);
            let total: f64 = t.items().iter().map(|c| g[*c]).sum();
            prop_assert!((total - 1.0).abs() < 1e-9);
        }
    }
}

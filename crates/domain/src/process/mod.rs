//! Process definitions (流程定义, spec C4): the lifecycle of a record as data — states,
//! transitions, who may take them, which fields they require, what they do to service-level
//! clocks, and whether the customer is told. A definition belongs to a record kind (`RecordKind`:
//! cases, CAPA, nonconformance notices, …) and a type within it (a case type for cases).
//! Definitions are versioned by the store; a record keeps the version it started with.
//!
//! A definition is written as TOML or JSON (the same shape) and checked before it is accepted:
//! every state reachable from the initial one, every state able to reach an end, known roles,
//! known states in transitions, at least one terminal state.

mod defaults;
mod kinds;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::access::Role;

pub use defaults::{CASE_TYPES, default_definition, default_definition_of};
pub use kinds::{CAPA_FIELDS, CAPA_TYPES, NC_FIELDS, NC_TYPES, RecordKind, Taker};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDef {
    pub code: String,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub terminal: bool,
}

/// What a transition does to a named service-level clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockAction {
    Start,
    Pause,
    Resume,
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockEffect {
    pub clock: String,
    pub action: ClockAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionDef {
    pub code: String,
    pub zh: String,
    pub en: String,
    /// States it may be taken from.
    pub from: Vec<String>,
    pub to: String,
    /// Staff roles allowed to take it (the case owner's department scope still applies).
    #[serde(default)]
    pub roles: Vec<String>,
    /// The customer may take it from the portal (accept or reject a resolution, withdraw).
    #[serde(default)]
    pub customer: bool,
    /// Fields that must be given with the transition (e.g. `severity`, `resolution`).
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub clocks: Vec<ClockEffect>,
    /// The customer is told (the reply shows on the portal in their language).
    #[serde(default)]
    pub notify_customer: bool,
    /// The step is an electronic signature: the taker re-enters their password and states what
    /// the signature means; both are recorded in the audit trail (004 6.3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signature: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessDefinition {
    /// The record kind this definition drives; definitions stored before kinds existed are cases.
    #[serde(default)]
    pub kind: RecordKind,
    /// The type within the kind (for cases, the case type). Also read as `type`.
    #[serde(alias = "type")]
    pub case_type: String,
    pub initial: String,
    pub states: Vec<StateDef>,
    pub transitions: Vec<TransitionDef>,
    /// Clocks started when a case is created (e.g. acknowledgement).
    #[serde(default)]
    pub start_clocks: Vec<String>,
    /// Steps of this case type the customer-service manager reviews before they take effect.
    #[serde(default, skip_serializing_if = "ReviewDef::is_off")]
    pub review: ReviewDef,
}

/// Reviews by the customer-service manager (seed 004 6.1: the 信息传递单 is reviewed by the
/// manager before it is sent to the departments; a "not the company's responsibility" finding is
/// confirmed by the manager again). Written `[review]` with `tasks = true` and/or
/// `not_responsible = true`; both off when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDef {
    /// A finding `responsibility = "no"` waits for the review before the case can move on.
    #[serde(default)]
    pub not_responsible: bool,
    /// A department task is created awaiting review and goes out to its department once approved.
    #[serde(default)]
    pub tasks: bool,
}

impl ReviewDef {
    pub fn is_off(&self) -> bool {
        !self.not_responsible && !self.tasks
    }
}

/// The department kind whose head is the customer-service manager (市场部/客服部经理).
pub const REVIEWER_DEPARTMENT_KIND: &str = "customer_service";

/// Whether someone may take a review: an administrator, or the head (`dept_head`) of a
/// customer-service department (`department_kind` is the kind of the reviewer's own department).
pub fn may_review(roles: &[Role], department_kind: Option<&str>) -> bool {
    roles.contains(&Role::Admin)
        || (roles.contains(&Role::DeptHead) && department_kind == Some(REVIEWER_DEPARTMENT_KIND))
}

/// Fields a transition may require: the intake and assessment fields of a case, and free texts
/// that are kept on the timeline. `open_tasks_reason` is why a case is resolved while department
/// tasks are still unanswered.
pub const KNOWN_FIELDS: [&str; 19] = [
    "category",
    "severity",
    "responsibility",
    "responsibility_note",
    "lead_department",
    "owner",
    "justification",
    "reason",
    "resolution",
    "reply",
    "follow_up_outcome",
    // The follow-up visit's rating on the 10/8/6/3/1 scale (issue #20 item 7).
    "follow_up_rating",
    "decision",
    "root_cause",
    "disposition",
    "comment",
    "customer_deadline",
    "on_site",
    "open_tasks_reason",
];

impl ProcessDefinition {
    /// Reads TOML or JSON (by its first character) and checks it.
    pub fn parse(text: &str) -> Result<ProcessDefinition, DomainError> {
        let t = text.trim_start();
        let def: ProcessDefinition = if t.starts_with('{') {
            serde_json::from_str(t)
                .map_err(|e| DomainError::invalid("definition", crate::reason!("errors.not_valid_json", e)))?
        } else {
            toml::from_str(t)
                .map_err(|e| DomainError::invalid("definition", crate::reason!("errors.not_valid_toml", e)))?
        };
        def.validate()?;
        Ok(def)
    }

    pub fn state(&self, code: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.code == code)
    }

    pub fn transition(&self, code: &str) -> Option<&TransitionDef> {
        self.transitions.iter().find(|t| t.code == code)
    }

    /// Transitions that leave `state`.
    pub fn from_state<'a>(&'a self, state: &'a str) -> impl Iterator<Item = &'a TransitionDef> + 'a {
        self.transitions.iter().filter(move |t| t.from.iter().any(|f| f == state))
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = |field: String, reason: String| Err(DomainError::Invalid { field, reason });
        let types = self.kind.types();
        if !types.contains(&self.case_type.as_str()) {
            return bad(
                "case_type".into(),
                crate::reason!(
                    "errors.unknown_case_type_known_2",
                    case_type = self.case_type,
                    case_types = types.join(", ")
                ),
            );
        }
        let known_fields = self.kind.fields();
        let mut codes = BTreeSet::new();
        for (i, s) in self.states.iter().enumerate() {
            if !is_code(&s.code) {
                return bad(format!("states[{i}].code"), "errors.must_lower_case_letters_digits".into());
            }
            if !codes.insert(s.code.as_str()) {
                return bad(format!("states[{i}].code"), crate::reason!("errors.state_defined_twice", code = s.code));
            }
            if s.zh.trim().is_empty() || s.en.trim().is_empty() {
                return bad(format!("states[{i}]"), "errors.needs_both_zh_en_name".into());
            }
        }
        if !codes.contains(self.initial.as_str()) {
            return bad("initial".into(), crate::reason!("errors.not_state", initial = self.initial));
        }
        if !self.states.iter().any(|s| s.terminal) {
            return bad("states".into(), "errors.there_no_terminal_state_case".into());
        }
        let mut tcodes = BTreeSet::new();
        for (i, t) in self.transitions.iter().enumerate() {
            let at = |f: &str| format!("transitions[{i}].{f}");
            if !is_code(&t.code) {
                return bad(at("code"), "errors.must_lower_case_letters_digits".into());
            }
            if !tcodes.insert(t.code.as_str()) {
                return bad(at("code"), crate::reason!("errors.transition_defined_twice", t = t.code));
            }
            if t.zh.trim().is_empty() || t.en.trim().is_empty() {
                return bad(format!("transitions[{i}]"), "errors.needs_both_zh_en_name".into());
            }
            if t.from.is_empty() {
                return bad(at("from"), "errors.names_no_state".into());
            }
            for f in &t.from {
                match self.state(f) {
                    None => return bad(at("from"), crate::reason!("errors.unknown_state", f)),
                    Some(s) if s.terminal => {
                        return bad(at("from"), crate::reason!("errors.terminal_nothing_may_leave", f));
                    }
                    Some(_) => {}
                }
            }
            if self.state(&t.to).is_none() {
                return bad(at("to"), crate::reason!("errors.unknown_state_2", to = t.to));
            }
            for r in &t.roles {
                Role::parse(r).map_err(|e| match e {
                    DomainError::Invalid { reason, .. } => DomainError::Invalid { field: at("roles"), reason },
                    e => e,
                })?;
            }
            if t.roles.is_empty() && !t.customer {
                return bad(at("roles"), "errors.nobody_may_take_transition".into());
            }
            for f in &t.required {
                if !known_fields.contains(&f.as_str()) {
                    return bad(
                        at("required"),
                        crate::reason!("errors.unknown_field_known", f, known_fields = known_fields.join(", ")),
                    );
                }
            }
            if t.signature && t.customer {
                return bad(at("signature"), "engine.err.customer_cannot_sign".into());
            }
            for c in &t.clocks {
                if !is_code(&c.clock) {
                    return bad(at("clocks"), crate::reason!("errors.not_clock_name", clock = c.clock));
                }
            }
        }
        if self.review.not_responsible
            && !self.transitions.iter().any(|t| t.required.iter().any(|f| f == "responsibility"))
        {
            return bad("review.not_responsible".into(), "errors.no_transition_asks_responsibility_there".into());
        }
        // Every state reachable from the initial one…
        let reach = self.reachable_from(&self.initial);
        if let Some(s) = self.states.iter().find(|s| !reach.contains(s.code.as_str())) {
            return bad(
                "states".into(),
                crate::reason!("errors.state_cannot_reached_from", code = s.code, initial = self.initial),
            );
        }
        // …and able to reach an end.
        for s in self.states.iter().filter(|s| !s.terminal) {
            let r = self.reachable_from(&s.code);
            if !self.states.iter().any(|t| t.terminal && r.contains(t.code.as_str())) {
                return bad("states".into(), crate::reason!("errors.from_state_no_terminal_state", code = s.code));
            }
        }
        Ok(())
    }

    fn reachable_from<'a>(&'a self, start: &'a str) -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(s) = queue.pop_front() {
            for t in self.from_state(s) {
                if seen.insert(t.to.as_str()) {
                    queue.push_back(t.to.as_str());
                }
            }
        }
        seen
    }

    /// Whether taking `t` with `given` fields waits for the customer-service manager's review: the
    /// definition asks for it and the transition finds the company not responsible.
    pub fn needs_responsibility_review(&self, t: &TransitionDef, given: &BTreeMap<String, String>) -> bool {
        self.review.not_responsible
            && t.required.iter().any(|f| f == "responsibility")
            && given.get("responsibility").is_some_and(|v| v.trim() == "no")
    }

    /// The record-kind neutral checks of taking transition `code` on a record in `state` whose
    /// stored version is `current` when the taker read `version`: the transition exists, the
    /// taker may take it, the record is in a state it leaves, nobody changed the record meanwhile.
    /// Every kind's service calls this (and `check_required`, `ends`, `clock_effects`); the
    /// kind's own gates come after it.
    pub fn check_step(
        &self,
        code: &str,
        state: &str,
        current: i64,
        version: i64,
        taker: Taker<'_>,
    ) -> Result<&TransitionDef, DomainError> {
        let t = self.transition(code).ok_or_else(|| {
            DomainError::invalid("transition", crate::reason!("errors.not_transition_case_type", code))
        })?;
        match taker {
            Taker::Customer if !t.customer => {
                return Err(DomainError::forbidden("errors.customer_may_not_take_step"));
            }
            Taker::Staff(roles) if !ProcessDefinition::allows(t, roles) => {
                return Err(DomainError::forbidden(crate::reason!(
                    "errors.your_roles_may_not",
                    t = t.en.to_lowercase()
                )));
            }
            _ => {}
        }
        if !t.from.iter().any(|f| f == state) {
            return Err(DomainError::Conflict {
                reason: crate::reason!("errors.cannot_taken_state", t = t.code, state),
                field: Some("transition"),
            });
        }
        if current != version {
            return Err(DomainError::stale(self.kind.code()));
        }
        Ok(t)
    }

    /// Whether taking `t` ends the record (its target state is terminal).
    pub fn ends(&self, t: &TransitionDef) -> bool {
        self.state(&t.to).is_some_and(|s| s.terminal)
    }

    /// The clock effects of `t` as (clock, action) pairs.
    pub fn clock_effects(t: &TransitionDef) -> Vec<(String, ClockAction)> {
        t.clocks.iter().map(|c| (c.clock.clone(), c.action)).collect()
    }

    /// Whether `roles` may take `t`. Administrators may take any staff transition.
    pub fn allows(t: &TransitionDef, roles: &[Role]) -> bool {
        roles.iter().any(|r| *r == Role::Admin || t.roles.iter().any(|x| x == r.code()))
    }

    /// Checks that every required field is given (non-blank) and names the first that is not.
    pub fn check_required(t: &TransitionDef, given: &BTreeMap<String, String>) -> Result<(), DomainError> {
        for f in &t.required {
            if given.get(f).is_none_or(|v| v.trim().is_empty()) {
                return Err(DomainError::invalid(
                    f.clone(),
                    crate::reason!("errors.required_2", t_zh = t.zh, t_en = t.en.to_lowercase()),
                ));
            }
        }
        Ok(())
    }

    /// A transition that settles the case (it asks for the resolution): department tasks must be
    /// answered first, or the reason recorded.
    pub fn resolves(t: &TransitionDef) -> bool {
        t.required.iter().any(|f| f == "resolution")
    }

    /// The definition drawn as an SVG flowchart: states in breadth-first layers from the initial
    /// state, transitions as arrows; `current` is highlighted. Labels are escaped.
    pub fn to_svg(&self, current: Option<&str>, chinese: bool) -> String {
        svg::draw(self, current, chinese)
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

mod svg;

#[cfg(test)]
mod tests;

//! Service-level clocks (服务时效, spec C5) as facts: a clock starts with a due time computed on a
//! business calendar, pauses while the case waits for the customer (the paused time does not
//! count), resumes with its remaining time, and stops as met or missed. Every change is computed
//! once, when it happens, and stored; nothing is recomputed later.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::calendar::{Calendar, Duration, due, elapsed_working};
use crate::process::ClockAction;

/// One target of a clock policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub clock: String,
    pub duration: Duration,
    /// Calendar code (e.g. `OFFICE`, `24X7`).
    pub calendar: String,
    /// Warn when this share of the time has gone (percent).
    #[serde(default = "default_warn")]
    pub warn_pct: u8,
}

fn default_warn() -> u8 {
    75
}

/// Which targets apply to a case type and severity (`*` matches any severity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub case_type: String,
    pub severity: String,
    pub targets: Vec<Target>,
}

fn t(clock: &str, duration: Duration, calendar: &str) -> Target {
    Target { clock: clock.into(), duration, calendar: calendar.into(), warn_pct: 75 }
}

/// The follow-up visit's clock (回访 within a month, 001 4.2.3; issue #20 item 7).
pub const FOLLOW_UP_CLOCK: &str = "follow_up";

/// The shipped targets, from the seeds: acknowledgement 24 h, first reply 2 working days,
/// resolution 5 working days, on-site 48 h, follow-up visit within a month, nonconforming-product
/// disposition 4 h for severe cases, corrective-action request 2 working days.
pub fn default_policies() -> Vec<Policy> {
    let office = "OFFICE";
    let clock = "24X7";
    let p = |case_type: &str, severity: &str, targets: Vec<Target>| Policy {
        case_type: case_type.into(),
        severity: severity.into(),
        targets,
    };
    vec![
        p(
            "complaint",
            "*",
            vec![
                t("acknowledgement", Duration::Hours(24), clock),
                t("first_reply", Duration::WorkingDays(2), office),
                t("resolution", Duration::WorkingDays(5), office),
                t("follow_up", Duration::Months(1), clock),
                // The lead department named within 1 working day (004-M), on-site within 48 h when
                // the assessment says so (004 第八条), a corrective-action request within 2 working
                // days for general problems (002 5.7): each started only when the case calls for it.
                t("lead_department", Duration::WorkingDays(1), office),
                t("on_site", Duration::Hours(48), clock),
                t("corrective_action", Duration::WorkingDays(2), office),
            ],
        ),
        p(
            "complaint",
            "critical",
            vec![
                t("acknowledgement", Duration::Hours(4), clock),
                t("first_reply", Duration::WorkingDays(1), office),
                t("resolution", Duration::WorkingDays(3), office),
                t("follow_up", Duration::Months(1), clock),
                t("disposition", Duration::Hours(4), clock),
            ],
        ),
        // Complaints: the lead department named within 1 working day (004-M), on-site within 48 h
        // when the assessment says so (004 第八条), a corrective-action request within 2 working
        // days for general problems (002 5.7) — each started only when the case calls for it.
        // Severe dissatisfaction (stoppage, returns, late supply; 002 5.7): the nonconforming
        // product is disposed of within 4 h.
        p("complaint", "major", vec![t("disposition", Duration::Hours(4), clock)]),
        p("inquiry", "*", vec![t("first_reply", Duration::WorkingDays(1), office)]),
        p(
            "suggestion",
            "*",
            vec![t("acknowledgement", Duration::Hours(24), clock), t("resolution", Duration::WorkingDays(10), office)],
        ),
        p(
            "service_request",
            "*",
            vec![
                t("acknowledgement", Duration::Hours(24), clock),
                t("on_site", Duration::Hours(48), clock),
                t("resolution", Duration::WorkingDays(5), office),
                // The technician's report, 2 days after returning from site (003 6.5).
                t("technician_report", Duration::WorkingDays(2), office),
                // The follow-up visit within a month of completion (001 4.2.3).
                t("follow_up", Duration::Months(1), clock),
            ],
        ),
        p(
            "return",
            "*",
            vec![t("acknowledgement", Duration::Hours(24), clock), t("disposition", Duration::WorkingDays(5), office)],
        ),
        p(
            "return",
            "major",
            vec![t("acknowledgement", Duration::Hours(24), clock), t("disposition", Duration::Hours(4), clock)],
        ),
        p(
            "return",
            "critical",
            vec![t("acknowledgement", Duration::Hours(4), clock), t("disposition", Duration::Hours(4), clock)],
        ),
        p(
            "grievance",
            "*",
            vec![
                t("acknowledgement", Duration::WorkingDays(1), office),
                t("resolution", Duration::WorkingDays(10), office),
            ],
        ),
    ]
}

/// The target for a clock of a case: the severity-specific policy first, then `*`.
pub fn target_for<'a>(policies: &'a [Policy], case_type: &str, severity: &str, clock: &str) -> Option<&'a Target> {
    let pick = |sev: &str| {
        policies
            .iter()
            .find(|p| p.case_type == case_type && p.severity == sev)
            .and_then(|p| p.targets.iter().find(|t| t.clock == clock))
    };
    (if severity.is_empty() { None } else { pick(severity) }).or_else(|| pick("*"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Running,
    Paused,
    /// Stopped in time.
    Met,
    /// Stopped after its due time.
    Missed,
}

impl ClockState {
    pub fn code(self) -> &'static str {
        match self {
            ClockState::Running => "running",
            ClockState::Paused => "paused",
            ClockState::Met => "met",
            ClockState::Missed => "missed",
        }
    }
    pub fn parse(s: &str) -> Option<ClockState> {
        [ClockState::Running, ClockState::Paused, ClockState::Met, ClockState::Missed]
            .into_iter()
            .find(|c| c.code() == s)
    }
}

/// A clock as stored on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub name: String,
    pub calendar: String,
    pub duration: Duration,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// When the warning share of the time has gone.
    pub warn_at: DateTime<Utc>,
    pub state: ClockState,
    pub paused_since: Option<DateTime<Utc>>,
    pub paused_ms: i64,
    pub met_at: Option<DateTime<Utc>>,
    /// The due time, once it has passed while the clock ran.
    pub breached_at: Option<DateTime<Utc>>,
}

fn is_working(d: Duration) -> bool {
    matches!(d, Duration::WorkingMinutes(_) | Duration::WorkingDays(_))
}

/// The moment `pct` percent of the span from `start` to `due` has gone, on the clock's own terms.
fn warn_point(
    cal: &Calendar,
    d: Duration,
    start: DateTime<Utc>,
    due_at: DateTime<Utc>,
    pct: u8,
) -> Result<DateTime<Utc>, DomainError> {
    let pct = i64::from(pct.min(100));
    if is_working(d) {
        let total = elapsed_working(cal, start, due_at).num_minutes();
        due(cal, start, Duration::WorkingMinutes(total * pct / 100))
    } else {
        let total = (due_at - start).num_seconds();
        Ok(start + chrono::Duration::seconds(total * pct / 100))
    }
}

impl Clock {
    pub fn start(target: &Target, cal: &Calendar, at: DateTime<Utc>) -> Result<Clock, DomainError> {
        let due_at = due(cal, at, target.duration)?;
        Ok(Clock {
            name: target.clock.clone(),
            calendar: target.calendar.clone(),
            duration: target.duration,
            started_at: at,
            warn_at: warn_point(cal, target.duration, at, due_at, target.warn_pct)?,
            due_at,
            state: ClockState::Running,
            paused_since: None,
            paused_ms: 0,
            met_at: None,
            breached_at: None,
        })
    }

    /// Applies a transition's effect at `at`. Effects that do not fit the state (pausing a paused
    /// clock, stopping a stopped one) change nothing: definitions may name a clock more than once.
    pub fn apply(&mut self, action: ClockAction, at: DateTime<Utc>, cal: &Calendar) -> Result<(), DomainError> {
        match (action, self.state) {
            (ClockAction::Pause, ClockState::Running) => {
                self.mark_breach(at);
                self.state = ClockState::Paused;
                self.paused_since = Some(at);
            }
            (ClockAction::Resume, ClockState::Paused) => {
                let since = self.paused_since.unwrap_or(at);
                // The time left when paused is still left now.
                let new_due = if self.breached_at.is_some() {
                    self.due_at
                } else if is_working(self.duration) {
                    let left = elapsed_working(cal, since, self.due_at).num_minutes().max(0);
                    due(cal, at, Duration::WorkingMinutes(left))?
                } else {
                    self.due_at + (at - since)
                };
                let shift = new_due - self.due_at;
                self.warn_at += shift;
                self.due_at = new_due;
                self.paused_ms += (at - since).num_milliseconds().max(0);
                self.paused_since = None;
                self.state = ClockState::Running;
            }
            (ClockAction::Stop, ClockState::Running | ClockState::Paused) => {
                if let Some(since) = self.paused_since.take() {
                    self.paused_ms += (at - since).num_milliseconds().max(0);
                }
                self.mark_breach(at);
                self.met_at = Some(at);
                self.state = if self.breached_at.is_some() { ClockState::Missed } else { ClockState::Met };
            }
            _ => {}
        }
        Ok(())
    }

    /// Records the breach if the due time has passed while the clock ran.
    pub fn mark_breach(&mut self, now: DateTime<Utc>) -> bool {
        if self.state == ClockState::Running && self.breached_at.is_none() && now > self.due_at {
            self.breached_at = Some(self.due_at);
            return true;
        }
        false
    }

    pub fn is_open(&self) -> bool {
        matches!(self.state, ClockState::Running | ClockState::Paused)
    }

    /// Overdue: running past its due time.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.state == ClockState::Running && now > self.due_at
    }
}

/// Clocks that what a step records calls for (seeds 002 5.7, 004 第八条): `on_site` when a
/// complaint or service request is assessed as needing a visit, `disposition` when a complaint or
/// return is (or becomes) major or critical, `corrective_action` for a general complaint.
/// `on_site_needed` is the `on_site` field's value, when the step gives one.
pub fn finding_clocks(case_type: &str, severity: &str, on_site_needed: Option<bool>) -> Vec<&'static str> {
    let mut out = Vec::new();
    if on_site_needed == Some(true) && matches!(case_type, "complaint" | "service_request") {
        out.push("on_site");
    }
    if matches!(severity, "major" | "critical") && matches!(case_type, "complaint" | "return") {
        out.push("disposition");
    }
    if severity == "general" && case_type == "complaint" {
        out.push("corrective_action");
    }
    out
}

/// Reads the `on_site` field: yes/no (是/否, true/false, 1/0).
pub fn parse_on_site(text: &str) -> Result<bool, DomainError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "是" | "需要" => Ok(true),
        "no" | "false" | "0" | "否" | "不需要" => Ok(false),
        _ => Err(DomainError::invalid("on_site", "errors.must_yes_no")),
    }
}

/// Whether a clock started under one severity is restarted under another: only when the new
/// target, counted from `now`, falls due before the running clock does (stricter).
pub fn restart_if_stricter(current: &Clock, candidate: &Clock) -> bool {
    current.is_open() && candidate.due_at < current.due_at
}

/// How far a dated work item (department task, meeting action item) is to be escalated on
/// `today` in the organisation's zone: 0 not yet due, 1 due today (warning to whoever must act),
/// 2 overdue (told again), 3 overdue for more than a day (escalated to the case owner).
pub fn dated_item_level(due: chrono::NaiveDate, today: chrono::NaiveDate) -> u8 {
    match (today - due).num_days() {
        d if d < 0 => 0,
        0 => 1,
        1 => 2,
        _ => 3,
    }
}

/// The highest level [`dated_item_level`] gives.
pub const DATED_ITEM_MAX_LEVEL: u8 = 3;

/// The clock a customer's own deadline (`customer_deadline`, seed 004 第八条) caps.
pub const CUSTOMER_DEADLINE_CLOCK: &str = "resolution";

/// The instant a customer's deadline falls: the end of that day (the following midnight) in `tz`.
pub fn customer_deadline_at(date: chrono::NaiveDate, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let next = date.succ_opt()?.and_hms_opt(0, 0, 0)?;
    crate::calendar::resolve_wall(tz, next)
}

/// Parses a `customer_deadline` (`YYYY-MM-DD`); it may not lie before the day the case was received.
pub fn parse_customer_deadline(
    text: &str,
    received_on: chrono::NaiveDate,
) -> Result<Option<chrono::NaiveDate>, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("customer_deadline", "errors.not_date_yyyy_mm_dd"))?;
    if date < received_on {
        return Err(DomainError::invalid(
            "customer_deadline",
            crate::reason!("errors.before_case_was_received", date, received_on),
        ));
    }
    Ok(Some(date))
}

impl Clock {
    /// Brings an open clock's due time forward to `deadline` when that is earlier (never before
    /// the clock started); the warning moves with it. True when the due time changed.
    pub fn cap_due(&mut self, deadline: DateTime<Utc>) -> bool {
        if !self.is_open() || deadline >= self.due_at {
            return false;
        }
        let due_at = deadline.max(self.started_at);
        let span = (due_at - self.started_at).num_seconds();
        self.warn_at = self.warn_at.min(self.started_at + chrono::Duration::seconds(span * 3 / 4));
        self.due_at = due_at;
        true
    }
}

/// Whom a step of the escalation chain notifies (spec C5: owner → department head → management
/// representative → GM office).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalee {
    Owner,
    DeptHead,
    MgmtRep,
    GmOffice,
}

impl Escalee {
    pub fn code(self) -> &'static str {
        match self {
            Escalee::Owner => "owner",
            Escalee::DeptHead => "dept_head",
            Escalee::MgmtRep => "mgmt_rep",
            Escalee::GmOffice => "gm_office",
        }
    }
}

/// One step of the chain: reached `after_hours` calendar hours after the due time has passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    pub to: Escalee,
    pub after_hours: u32,
}

/// The organisation's stored clock policies: targets per case type × severity and one escalation
/// chain. A clock keeps the target it started with; the chain applies as it stands when a step falls due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySet {
    pub policies: Vec<Policy>,
    #[serde(default = "default_chain")]
    pub escalation: Vec<EscalationStep>,
}

/// Department head at the breach, management representative a day later, GM office after two.
pub fn default_chain() -> Vec<EscalationStep> {
    vec![
        EscalationStep { to: Escalee::DeptHead, after_hours: 0 },
        EscalationStep { to: Escalee::MgmtRep, after_hours: 24 },
        EscalationStep { to: Escalee::GmOffice, after_hours: 48 },
    ]
}

impl Default for PolicySet {
    fn default() -> Self {
        PolicySet { policies: default_policies(), escalation: default_chain() }
    }
}

/// Clock names the shipped process definitions use; policies may name others for custom definitions.
pub const CLOCK_NAMES: [&str; 7] =
    ["acknowledgement", "first_reply", "on_site", "resolution", "follow_up", "disposition", "corrective_action"];

impl PolicySet {
    /// Checks the set; `calendar_known` says whether a calendar code exists. Errors name the path
    /// of the bad value, e.g. `policies[2].targets[0].warn_pct`.
    pub fn validate(&self, calendar_known: impl Fn(&str) -> bool) -> Result<(), DomainError> {
        let bad = |field: String, reason: String| Err(DomainError::Invalid { field, reason });
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.policies.iter().enumerate() {
            let at = |f: &str| format!("policies[{i}].{f}");
            if !crate::process::CASE_TYPES.contains(&p.case_type.as_str()) {
                return bad(at("case_type"), crate::reason!("errors.not_case_type", case_type = p.case_type));
            }
            if p.severity != "*" && <crate::case::Severity as crate::customer::Coded>::parse(&p.severity).is_err() {
                return bad(at("severity"), crate::reason!("errors.not_severity", severity = p.severity));
            }
            if !seen.insert((p.case_type.clone(), p.severity.clone())) {
                return bad(
                    at("severity"),
                    crate::reason!("errors.given_twice", case_type = p.case_type, severity = p.severity),
                );
            }
            let mut clocks = std::collections::BTreeSet::new();
            for (j, t) in p.targets.iter().enumerate() {
                let at = |f: &str| format!("policies[{i}].targets[{j}].{f}");
                let name_ok = !t.clock.is_empty()
                    && t.clock.len() <= 40
                    && t.clock.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !name_ok {
                    return bad(at("clock"), crate::reason!("errors.not_clock_name", clock = t.clock));
                }
                if !clocks.insert(t.clock.as_str()) {
                    return bad(at("clock"), crate::reason!("errors.given_twice_2", clock = t.clock));
                }
                let positive = match t.duration {
                    Duration::Hours(n) => n > 0,
                    Duration::WorkingMinutes(n) => n > 0,
                    Duration::WorkingDays(n) => n > 0,
                    Duration::Months(n) => n > 0,
                };
                if !positive {
                    return bad(at("duration"), "errors.must_more_than_zero".into());
                }
                if let Err(DomainError::Invalid { reason, .. }) = t.duration.check() {
                    return bad(at("duration"), reason);
                }
                if !(1..=99).contains(&t.warn_pct) {
                    return bad(at("warn_pct"), "errors.must_between_1_99".into());
                }
                if !calendar_known(&t.calendar) {
                    return bad(at("calendar"), crate::reason!("errors.no_calendar", calendar = t.calendar));
                }
            }
        }
        if self.escalation.len() > 6 {
            return bad("escalation".into(), "errors.at_most_6_steps".into());
        }
        for (i, w) in self.escalation.windows(2).enumerate() {
            if w[1].after_hours < w[0].after_hours {
                return bad(format!("escalation[{}].after_hours", i + 1), "errors.must_not_earlier_than_step".into());
            }
        }
        if self.escalation.iter().any(|s| s.after_hours > 24 * 365) {
            return bad("escalation".into(), "errors.after_hours_must_at_most".into());
        }
        Ok(())
    }
}

/// What the scheduler must record for a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// The warning share of the time has gone.
    Warning,
    /// The due time has passed while the clock ran.
    Breach,
    /// A step of the chain was reached (`level` counts from 1).
    Escalation { level: u8, to: Escalee },
}

/// How far the scheduler has taken a clock; stored beside the clock's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Watch {
    pub warned: bool,
    /// Chain steps reached so far.
    pub level: u8,
}

impl Clock {
    /// When the scheduler should next look at this clock, or `None` when nothing more can happen
    /// while it stands as it is (stopped, paused, or the chain exhausted).
    pub fn next_check(&self, w: Watch, chain: &[EscalationStep]) -> Option<DateTime<Utc>> {
        if self.state != ClockState::Running {
            return None;
        }
        if !w.warned && self.breached_at.is_none() && self.warn_at < self.due_at {
            return Some(self.warn_at);
        }
        if self.breached_at.is_none() {
            return Some(self.due_at);
        }
        chain.get(usize::from(w.level)).map(|s| self.due_at + chrono::Duration::hours(i64::from(s.after_hours)))
    }

    /// Everything that has fallen due by `now`, each exactly once: the caller stores the updated
    /// clock and watch in the same transaction as the alerts.
    pub fn review(&mut self, w: &mut Watch, chain: &[EscalationStep], now: DateTime<Utc>) -> Vec<Alert> {
        let mut out = Vec::new();
        if self.state != ClockState::Running {
            return out;
        }
        if self.mark_breach(now) {
            // A warning that was never sent is moot once the clock is breached.
            w.warned = true;
            out.push(Alert::Breach);
        } else if !w.warned && self.breached_at.is_none() && now >= self.warn_at {
            w.warned = true;
            out.push(Alert::Warning);
        }
        if self.breached_at.is_some() {
            while let Some(step) = chain.get(usize::from(w.level)) {
                if now < self.due_at + chrono::Duration::hours(i64::from(step.after_hours)) {
                    break;
                }
                w.level += 1;
                out.push(Alert::Escalation { level: w.level, to: step.to });
            }
        }
        out
    }

    /// Working or calendar time left until the due time (negative when overdue), on the clock's terms.
    pub fn remaining(&self, cal: &Calendar, now: DateTime<Utc>) -> chrono::Duration {
        let at = self.paused_since.unwrap_or(now);
        if is_working(self.duration) {
            if at <= self.due_at {
                elapsed_working(cal, at, self.due_at)
            } else {
                -elapsed_working(cal, self.due_at, at)
            }
        } else {
            self.due_at - at
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Period, china_2025_exceptions};
    use chrono::{Datelike, TimeZone, Weekday};

    fn office() -> Calendar {
        let day = vec![Period::new(510, 720).unwrap(), Period::new(810, 1050).unwrap()];
        let weekly = [day.clone(), day.clone(), day.clone(), day.clone(), day.clone(), vec![], vec![]];
        let mut exceptions = std::collections::BTreeMap::new();
        for (d, r) in china_2025_exceptions(&day) {
            exceptions.insert(d, r);
        }
        Calendar::new(chrono_tz::Asia::Shanghai, weekly, exceptions).unwrap()
    }

    fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn customer_deadline_earlier_than_policy_sets_resolution_due() {
        let cal = office();
        let target = t("resolution", Duration::WorkingDays(5), "OFFICE");
        let mut c = Clock::start(&target, &cal, sh(2025, 9, 26, 10, 0)).unwrap();
        let deadline =
            customer_deadline_at(chrono::NaiveDate::from_ymd_opt(2025, 9, 30).unwrap(), chrono_tz::Asia::Shanghai)
                .unwrap();
        assert_eq!(deadline, sh(2025, 10, 1, 0, 0));
        assert!(c.cap_due(deadline));
        assert_eq!(c.due_at, sh(2025, 10, 1, 0, 0));
        assert!(c.warn_at < c.due_at && c.warn_at > c.started_at);
    }

    #[test]
    fn customer_deadline_later_than_policy_leaves_resolution_due() {
        let cal = office();
        let target = t("resolution", Duration::WorkingDays(5), "OFFICE");
        let mut c = Clock::start(&target, &cal, sh(2025, 9, 26, 10, 0)).unwrap();
        let before = c.clone();
        assert!(!c.cap_due(sh(2025, 12, 1, 0, 0)));
        assert_eq!(c, before);
    }

    #[test]
    fn customer_deadline_before_received_day_is_refused() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert!(matches!(
            parse_customer_deadline("2026-03-01", day),
            Err(DomainError::Invalid { ref field, .. }) if field == "customer_deadline"
        ));
        assert!(matches!(parse_customer_deadline("3/4", day), Err(DomainError::Invalid { .. })));
        assert_eq!(parse_customer_deadline(" ", day).unwrap(), None);
        assert_eq!(parse_customer_deadline("2026-03-02", day).unwrap(), Some(day));
    }

    #[test]
    fn assessment_findings_start_on_site_disposition_and_corrective_action_clocks() {
        assert_eq!(finding_clocks("complaint", "general", Some(true)), vec!["on_site", "corrective_action"]);
        assert_eq!(finding_clocks("complaint", "major", Some(false)), vec!["disposition"]);
        assert_eq!(finding_clocks("complaint", "critical", None), vec!["disposition"]);
        assert_eq!(finding_clocks("return", "major", None), vec!["disposition"]);
        assert_eq!(finding_clocks("service_request", "minor", Some(true)), vec!["on_site"]);
        assert!(finding_clocks("inquiry", "major", Some(true)).is_empty());
        assert!(matches!(parse_on_site("maybe"), Err(DomainError::Invalid { ref field, .. }) if field == "on_site"));
        assert!(parse_on_site(" 是 ").unwrap() && !parse_on_site("no").unwrap());
    }

    #[test]
    fn severity_change_restarts_a_clock_only_when_stricter() {
        let cal = office();
        let p = default_policies();
        let start = sh(2025, 9, 26, 10, 0);
        let general = Clock::start(target_for(&p, "complaint", "general", "resolution").unwrap(), &cal, start).unwrap();
        // Raised to critical that afternoon: 3 working days from now end before 5 from the start.
        let later = sh(2025, 9, 26, 14, 0);
        let critical =
            Clock::start(target_for(&p, "complaint", "critical", "resolution").unwrap(), &cal, later).unwrap();
        assert!(restart_if_stricter(&general, &critical));
        // Lowered back: the general target from now would end later, so the running clock stays.
        let relaxed = Clock::start(target_for(&p, "complaint", "general", "resolution").unwrap(), &cal, later).unwrap();
        assert!(!restart_if_stricter(&critical, &relaxed));
    }

    #[test]
    fn default_policies_name_the_seeds_deadlines() {
        let p = default_policies();
        let d = |ty: &str, sev: &str, clock: &str| target_for(&p, ty, sev, clock).map(|t| t.duration);
        assert_eq!(d("complaint", "major", "disposition"), Some(Duration::Hours(4)));
        assert_eq!(d("complaint", "general", "disposition"), None);
        assert_eq!(d("complaint", "general", "corrective_action"), Some(Duration::WorkingDays(2)));
        assert_eq!(d("complaint", "", "lead_department"), Some(Duration::WorkingDays(1)));
        assert_eq!(d("complaint", "critical", "on_site"), Some(Duration::Hours(48)));
        assert_eq!(d("service_request", "", "technician_report"), Some(Duration::WorkingDays(2)));
    }

    #[test]
    fn dated_items_warn_on_their_day_then_escalate_day_by_day() {
        let due = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let day = |n: i64| due + chrono::Duration::days(n);
        assert_eq!([-1, 0, 1, 2, 30].map(|n| dated_item_level(due, day(n))), [0, 1, 2, 3, 3]);
    }

    #[test]
    fn policies_pick_severity_then_default() {
        let p = default_policies();
        assert_eq!(target_for(&p, "complaint", "critical", "acknowledgement").unwrap().duration, Duration::Hours(4));
        assert_eq!(target_for(&p, "complaint", "minor", "acknowledgement").unwrap().duration, Duration::Hours(24));
        assert_eq!(target_for(&p, "complaint", "", "resolution").unwrap().duration, Duration::WorkingDays(5));
        assert!(target_for(&p, "praise", "", "resolution").is_none());
    }

    #[test]
    fn pause_over_a_weekend_and_a_holiday_does_not_count() {
        let cal = office();
        let target = t("resolution", Duration::WorkingDays(5), "OFFICE");
        // Friday 2025-09-26 10:00; 5 working days with the Sunday make-up day and National Day.
        let mut c = Clock::start(&target, &cal, sh(2025, 9, 26, 10, 0)).unwrap();
        assert_eq!(c.due_at, sh(2025, 10, 10, 17, 30));
        // Waiting for the customer from Monday 29th 9:00 (1 working day and 30 min used so far)…
        c.apply(ClockAction::Pause, sh(2025, 9, 29, 9, 0), &cal).unwrap();
        // …to Thursday 9th 9:00, across the holiday: the time left is the same as when paused.
        c.apply(ClockAction::Resume, sh(2025, 10, 9, 9, 0), &cal).unwrap();
        let left_before = elapsed_working(&cal, sh(2025, 9, 29, 9, 0), sh(2025, 10, 10, 17, 30));
        assert_eq!(elapsed_working(&cal, sh(2025, 10, 9, 9, 0), c.due_at), left_before);
        assert!(c.due_at > sh(2025, 10, 10, 17, 30));
        assert_eq!(c.paused_ms, (sh(2025, 10, 9, 9, 0) - sh(2025, 9, 29, 9, 0)).num_milliseconds());
        // 29.5 working hours were left: Thu 9th, Fri 10th, the make-up Saturday 11th, Monday 13th.
        assert_eq!(c.due_at, sh(2025, 10, 13, 17, 30));
        assert_eq!(cal.local_date(c.due_at).weekday(), Weekday::Mon);
        c.apply(ClockAction::Stop, sh(2025, 10, 13, 10, 0), &cal).unwrap();
        assert_eq!((c.state, c.breached_at), (ClockState::Met, None));
    }

    #[test]
    fn calendar_hour_clocks_shift_by_the_pause_and_breaches_are_recorded() {
        let cal = Calendar::always_open(chrono_tz::Asia::Shanghai);
        let target = t("acknowledgement", Duration::Hours(24), "24X7");
        let start = sh(2026, 3, 2, 9, 0);
        let mut c = Clock::start(&target, &cal, start).unwrap();
        assert_eq!(c.warn_at, start + chrono::Duration::hours(18));
        c.apply(ClockAction::Pause, start + chrono::Duration::hours(2), &cal).unwrap();
        c.apply(ClockAction::Resume, start + chrono::Duration::hours(5), &cal).unwrap();
        assert_eq!(c.due_at, start + chrono::Duration::hours(27));
        assert!(!c.mark_breach(start + chrono::Duration::hours(26)));
        assert!(c.overdue(start + chrono::Duration::hours(28)));
        assert!(c.mark_breach(start + chrono::Duration::hours(28)));
        assert!(!c.mark_breach(start + chrono::Duration::hours(29)), "a breach is recorded once");
        c.apply(ClockAction::Stop, start + chrono::Duration::hours(30), &cal).unwrap();
        assert_eq!(c.state, ClockState::Missed);
        assert_eq!(c.breached_at, Some(start + chrono::Duration::hours(27)));
        // Stopping again changes nothing.
        let before = c.clone();
        c.apply(ClockAction::Stop, start + chrono::Duration::hours(40), &cal).unwrap();
        assert_eq!(c, before);
    }

    fn hours(h: i64) -> chrono::Duration {
        chrono::Duration::hours(h)
    }

    #[test]
    fn review_warns_then_breaches_then_climbs_the_chain_once_each() {
        let cal = Calendar::always_open(chrono_tz::Asia::Shanghai);
        let start = sh(2026, 3, 2, 9, 0);
        let mut c = Clock::start(&t("acknowledgement", Duration::Hours(24), "24X7"), &cal, start).unwrap();
        let chain = default_chain();
        let mut w = Watch::default();
        assert_eq!(c.next_check(w, &chain), Some(start + hours(18)));
        assert!(c.review(&mut w, &chain, start + hours(17)).is_empty());
        assert_eq!(c.review(&mut w, &chain, start + hours(18)), vec![Alert::Warning]);
        assert!(c.review(&mut w, &chain, start + hours(19)).is_empty(), "warned once");
        assert_eq!(c.next_check(w, &chain), Some(start + hours(24)));
        let at = start + hours(25);
        assert_eq!(
            c.review(&mut w, &chain, at),
            vec![Alert::Breach, Alert::Escalation { level: 1, to: Escalee::DeptHead }]
        );
        assert_eq!(c.breached_at, Some(start + hours(24)));
        assert_eq!(c.next_check(w, &chain), Some(start + hours(48)));
        assert!(c.review(&mut w, &chain, start + hours(47)).is_empty());
        assert_eq!(
            c.review(&mut w, &chain, start + hours(80)),
            vec![
                Alert::Escalation { level: 2, to: Escalee::MgmtRep },
                Alert::Escalation { level: 3, to: Escalee::GmOffice }
            ]
        );
        assert_eq!(c.next_check(w, &chain), None, "chain exhausted");
        assert!(c.review(&mut w, &chain, start + hours(500)).is_empty());
    }

    #[test]
    fn a_late_look_skips_the_warning_and_paused_or_stopped_clocks_stay_quiet() {
        let cal = Calendar::always_open(chrono_tz::Asia::Shanghai);
        let start = sh(2026, 3, 2, 9, 0);
        let target = t("acknowledgement", Duration::Hours(24), "24X7");
        let mut c = Clock::start(&target, &cal, start).unwrap();
        let mut w = Watch::default();
        let got = c.review(&mut w, &[], start + hours(30));
        assert_eq!(got, vec![Alert::Breach]);
        assert!(w.warned);
        let mut p = Clock::start(&target, &cal, start).unwrap();
        p.apply(ClockAction::Pause, start + hours(1), &cal).unwrap();
        let mut w = Watch::default();
        assert!(p.review(&mut w, &default_chain(), start + hours(100)).is_empty());
        assert_eq!(p.next_check(w, &default_chain()), None);
        // Paused with 23 h left: the remaining time is frozen at the pause.
        assert_eq!(p.remaining(&cal, start + hours(50)), hours(23));
        p.apply(ClockAction::Resume, start + hours(50), &cal).unwrap();
        assert_eq!(p.next_check(w, &default_chain()), Some(p.warn_at));
        assert_eq!(p.remaining(&cal, start + hours(50)), hours(23));
    }

    #[test]
    fn remaining_counts_working_time_and_goes_negative_when_overdue() {
        let cal = office();
        // Monday 2026-03-02 09:00, one working day: due at the end of Tuesday.
        let c =
            Clock::start(&t("first_reply", Duration::WorkingDays(1), "OFFICE"), &cal, sh(2026, 3, 2, 9, 0)).unwrap();
        assert_eq!(c.due_at, sh(2026, 3, 3, 17, 30));
        // Monday evening: all of Tuesday's 7.5 working hours are left.
        assert_eq!(c.remaining(&cal, sh(2026, 3, 2, 20, 0)), chrono::Duration::minutes(450));
        // Wednesday 10:00: 90 working minutes over (08:30–10:00).
        assert_eq!(c.remaining(&cal, sh(2026, 3, 4, 10, 0)), chrono::Duration::minutes(-90));
    }

    #[test]
    fn policy_sets_validate_and_name_the_bad_field() {
        let ok = |c: &str| c == "OFFICE" || c == "24X7";
        assert!(PolicySet::default().validate(ok).is_ok());
        let field = |set: &PolicySet| match set.validate(ok) {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        };
        let mut s = PolicySet::default();
        s.policies[1].targets[0].warn_pct = 0;
        assert_eq!(field(&s), "policies[1].targets[0].warn_pct");
        let mut s = PolicySet::default();
        s.policies[0].targets[2].calendar = "MOON".into();
        assert_eq!(field(&s), "policies[0].targets[2].calendar");
        let mut s = PolicySet::default();
        s.policies[0].case_type = "picnic".into();
        assert_eq!(field(&s), "policies[0].case_type");
        let mut s = PolicySet::default();
        s.policies[0].targets[0].duration = Duration::Hours(0);
        assert_eq!(field(&s), "policies[0].targets[0].duration");
        let mut s = PolicySet::default();
        s.policies.push(s.policies[0].clone());
        assert_eq!(field(&s), format!("policies[{}].severity", s.policies.len() - 1));
        let mut s = PolicySet::default();
        s.escalation[2].after_hours = 1;
        assert_eq!(field(&s), "escalation[2].after_hours");
        // The stored form round-trips, and a set without a chain gets the default one.
        let json = serde_json::to_string(&PolicySet::default()).unwrap();
        assert_eq!(serde_json::from_str::<PolicySet>(&json).unwrap(), PolicySet::default());
        let bare: PolicySet = serde_json::from_str(r#"{"policies":[]}"#).unwrap();
        assert_eq!(bare.escalation, default_chain());
    }
}

//! Corrective and preventive action (纠正和预防措施 / 8D) and nonconforming-product disposition
//! (不合格品处置单) rules (issue #18): record numbers, the 6M cause categories, the gates a CAPA
//! passes (verified root cause, occurrence and escape for 8D, every action done before closure),
//! the recurrence evidence and watch, and the disposition quantities of a notice. Pure: times
//! and counts come in as arguments. The lifecycles themselves are process definitions
//! (`process/defaults/capa.toml`, `nc.toml`).

use chrono::{DateTime, Duration, Utc};

use crate::DomainError;

/// `CA-{YYYY}-{NNNN}`: gap-free per year (the sequence comes from the `counters` row taken in
/// the creating transaction).
pub fn capa_number(year: i32, seq: i64) -> String {
    format!("CA-{year:04}-{seq:04}")
}

/// `NC-{YYYY}-{NNNN}`.
pub fn nc_number(year: i32, seq: i64) -> String {
    format!("NC-{year:04}-{seq:04}")
}

/// The Ishikawa categories (6M: 人 机 料 法 环 测).
pub const SIX_M: [(&str, &str, &str); 6] = [
    ("man", "人", "Man"),
    ("machine", "机", "Machine"),
    ("material", "料", "Material"),
    ("method", "法", "Method"),
    ("environment", "环", "Environment"),
    ("measurement", "测", "Measurement"),
];

pub fn parse_six_m(s: &str) -> Result<&'static str, DomainError> {
    SIX_M
        .iter()
        .find(|(c, zh, en)| *c == s.trim() || *zh == s.trim() || en.eq_ignore_ascii_case(s.trim()))
        .map(|(c, _, _)| *c)
        .ok_or_else(|| DomainError::invalid("category", "capa.err.six_m"))
}

/// Whether a cause explains why the problem occurred or why it escaped detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseKind {
    Occurrence,
    Escape,
}

/// One root cause as the D4 gate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseFacts {
    pub kind: CauseKind,
    pub verified: bool,
    /// Steps of its 5-Why chain.
    pub whys: usize,
}

/// The D4 gate: at least one verified cause with a why-chain; an 8D needs a verified occurrence
/// cause and a verified escape cause.
pub fn check_root_cause(eight_d: bool, causes: &[CauseFacts]) -> Result<(), DomainError> {
    let ok = |k: CauseKind| causes.iter().any(|c| c.kind == k && c.verified && c.whys > 0);
    if !ok(CauseKind::Occurrence) {
        return Err(DomainError::invalid("causes", "capa.err.no_verified_cause"));
    }
    if eight_d && !ok(CauseKind::Escape) {
        return Err(DomainError::invalid("causes", "capa.err.no_escape_cause"));
    }
    Ok(())
}

/// The closure gate: every action done (or cancelled) and at least one action planned.
pub fn check_actions_done(done: &[bool]) -> Result<(), DomainError> {
    if done.is_empty() {
        return Err(DomainError::invalid("actions", "capa.err.no_actions"));
    }
    let open = done.iter().filter(|d| !**d).count();
    if open > 0 {
        return Err(DomainError::Conflict {
            reason: format!("capa.err.actions_open|n={open}"),
            field: Some("actions"),
        });
    }
    Ok(())
}

/// Recurrence evidence (002-E 4.2.2): matching cases in the window after implementation against
/// the same length before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    pub before: usize,
    pub after: usize,
}

impl Recurrence {
    /// Counts `arrivals` (received times of cases with the same product and category) in
    /// `[implemented - window, implemented)` and `[implemented, implemented + window)`.
    pub fn count(arrivals: &[DateTime<Utc>], implemented: DateTime<Utc>, window: Duration) -> Recurrence {
        let before = arrivals.iter().filter(|t| **t >= implemented - window && **t < implemented).count();
        let after = arrivals.iter().filter(|t| **t >= implemented && **t < implemented + window).count();
        Recurrence { before, after }
    }

    /// "No recurrence" holds when nothing matching arrived after.
    pub fn no_recurrence(self) -> bool {
        self.after == 0
    }
}

/// The default recurrence watch: N cases of one product and category in 30 days.
pub const WATCH_COUNT: usize = 3;
pub const WATCH_DAYS: i64 = 30;

/// Whether quality's inbox gets a suggestion: at least `n` arrivals within `days` ending at
/// `now`, and no open or recently closed CAPA on the product and category.
pub fn suggest_capa(arrivals: &[DateTime<Utc>], now: DateTime<Utc>, n: usize, days: i64, has_capa: bool) -> bool {
    !has_capa && n > 0 && arrivals.iter().filter(|t| **t > now - Duration::days(days) && **t <= now).count() >= n
}

pub mod nc;

#[cfg(test)]
mod tests;

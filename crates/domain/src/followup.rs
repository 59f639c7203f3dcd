//! Follow-up visits (回访, issue #20 item 7): every closed complaint and every completed service
//! request is visited within one month (001 4.2.3), whether or not the customer formally accepted;
//! the outcome is done (with a rating on the 10/8/6/3/1 scale and free text), not reached or
//! refused. Pure rules: which records call for a visit, when it is due, what an outcome may be.

use chrono::{Months, NaiveDate};

use crate::DomainError;

/// The states of a visit; `open` until an outcome is recorded.
pub const STATES: [&str; 4] = ["open", "done", "not_reached", "refused"];
/// The outcomes staff record.
pub const OUTCOMES: [&str; 3] = ["done", "not_reached", "refused"];
/// The five levels of 002-H 4.1.2: 非常满意 10, 满意 8, 满足需要 6, 不满意 3, 非常不满意 1.
pub const RATINGS: [i64; 5] = [10, 8, 6, 3, 1];
/// What a visit hangs from.
pub const SOURCE_CASE: &str = "case";
pub const SOURCE_SERVICE_ORDER: &str = "service_order";
/// The longest free-text outcome.
pub const MAX_OUTCOME: usize = 4000;

/// Whether a case of `case_type` now in `state` calls for a follow-up visit: a complaint once it
/// reaches its follow-up step or closes, a service request once completed or closed.
pub fn case_calls_for_visit(case_type: &str, state: &str) -> bool {
    match case_type {
        "complaint" => state == "follow_up" || state == "closed",
        "service_request" => state == "completed" || state == "closed",
        _ => false,
    }
}

/// The visit is due one calendar month after the day the record was closed or completed (the
/// last day of a shorter month when that day does not exist).
pub fn due_on(closed_on: NaiveDate) -> NaiveDate {
    closed_on.checked_add_months(Months::new(1)).unwrap_or(closed_on)
}

/// A recorded outcome, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub state: String,
    pub rating: Option<i64>,
    pub text: String,
}

/// Checks an outcome: `done` needs a rating on the five-level scale; `not_reached` and `refused`
/// take none. The text is trimmed and at most [`MAX_OUTCOME`] characters; `done` needs it too.
pub fn parse_outcome(state: &str, rating: Option<i64>, text: &str) -> Result<Outcome, DomainError> {
    let state = state.trim();
    if !OUTCOMES.contains(&state) {
        return Err(DomainError::invalid("outcome", "followup.err.outcome"));
    }
    let text = text.trim();
    if text.chars().count() > MAX_OUTCOME {
        return Err(DomainError::invalid("text", format!("followup.err.text_long|max={MAX_OUTCOME}")));
    }
    match (state, rating) {
        ("done", None) => return Err(DomainError::invalid("rating", "followup.err.rating_required")),
        ("done", Some(r)) if !RATINGS.contains(&r) => {
            return Err(DomainError::invalid("rating", "followup.err.rating_scale"));
        }
        ("done", _) if text.is_empty() => return Err(DomainError::invalid("text", "followup.err.text_required")),
        (_, Some(_)) if state != "done" => {
            return Err(DomainError::invalid("rating", "followup.err.rating_only_done"));
        }
        _ => {}
    }
    Ok(Outcome { state: state.to_owned(), rating, text: text.to_owned() })
}

/// A rating typed as text (a form or a case field): empty is none.
pub fn parse_rating(v: &str) -> Result<Option<i64>, DomainError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<i64>() {
        Ok(r) if RATINGS.contains(&r) => Ok(Some(r)),
        _ => Err(DomainError::invalid("rating", "followup.err.rating_scale")),
    }
}

/// Whether an open visit is late on `today`.
pub fn is_late(state: &str, due: NaiveDate, today: NaiveDate) -> bool {
    state == "open" && today > due
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn complaints_and_service_requests_call_for_a_visit_whatever_the_acceptance() {
        assert!(case_calls_for_visit("complaint", "follow_up"));
        assert!(case_calls_for_visit("complaint", "closed"));
        assert!(case_calls_for_visit("service_request", "completed"));
        assert!(!case_calls_for_visit("complaint", "replied"));
        assert!(!case_calls_for_visit("inquiry", "closed"));
    }

    #[test]
    fn due_one_month_later_clamped_to_the_month_end() {
        assert_eq!(due_on(d(2026, 12, 3)), d(2027, 1, 3));
        assert_eq!(due_on(d(2026, 1, 31)), d(2026, 2, 28));
    }

    #[test]
    fn an_outcome_is_checked_against_the_five_levels() {
        assert_eq!(parse_outcome("done", Some(8), " 满意 ").unwrap().text, "满意");
        let field = |r: Result<Outcome, DomainError>| match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(parse_outcome("done", Some(7), "x")), "rating");
        assert_eq!(field(parse_outcome("done", None, "x")), "rating");
        assert_eq!(field(parse_outcome("done", Some(10), " ")), "text");
        assert_eq!(field(parse_outcome("refused", Some(10), "")), "rating");
        assert_eq!(field(parse_outcome("lost", None, "")), "outcome");
        assert!(parse_outcome("not_reached", None, "").is_ok());
        assert_eq!(field(parse_outcome("done", Some(10), &"长".repeat(MAX_OUTCOME + 1))), "text");
    }

    #[test]
    fn ratings_typed_as_text() {
        assert_eq!(parse_rating("").unwrap(), None);
        assert_eq!(parse_rating("6").unwrap(), Some(6));
        assert!(parse_rating("5").is_err());
        assert!(parse_rating("x").is_err());
    }

    #[test]
    fn late_only_while_open_and_past_due() {
        assert!(is_late("open", d(2026, 1, 1), d(2026, 1, 2)));
        assert!(!is_late("open", d(2026, 1, 2), d(2026, 1, 2)));
        assert!(!is_late("done", d(2026, 1, 1), d(2026, 2, 1)));
    }
}

//! Rules for untrusted input that every entry point shares (issue #13): where a browser may be sent
//! after signing in, which characters text may hold, how a spreadsheet cell is kept from being
//! read as a formula, and the earliest time a case may say it was received.

use chrono::{DateTime, TimeZone, Utc};

use crate::DomainError;

/// `next` (after sign-in) and the language switch's way back: only a path on this site. A path is
/// `/` followed by anything but a second `/` or a `\` (both make browsers leave the site), and
/// it holds no control character (TAB, CR, LF would split or bend the `Location` header).
/// Anything else means the home page.
pub fn same_site_path(candidate: &str) -> &str {
    let mut chars = candidate.chars();
    let ok = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !candidate.chars().any(|c| c == '\\' || c.is_control());
    if ok { candidate } else { "/" }
}

/// The path of a `Referer` value, when the referring page is on `host` (the request's own
/// `Host`); `None` for another site or something that is not an absolute http(s) URL.
pub fn referer_path<'a>(referer: &'a str, host: &str) -> Option<&'a str> {
    let rest = referer.strip_prefix("https://").or_else(|| referer.strip_prefix("http://"))?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || !authority.eq_ignore_ascii_case(host) || authority.contains('@') {
        return None;
    }
    Some(if path.starts_with('/') { path } else { "/" })
}

/// Text may not hold the NUL character: PostgreSQL cannot store it and SQLite would keep it
/// silently. Every other character is the writer's own business (escaping happens on output).
/// A due date must not lie before `today` (the organisation's date now): 422 naming the field.
pub fn due_not_past(field: &str, due: chrono::NaiveDate, today: chrono::NaiveDate) -> Result<(), DomainError> {
    if due < today {
        return Err(DomainError::invalid(field, crate::reason!("errors.due_in_past", today)));
    }
    Ok(())
}

pub fn check_text(field: &str, text: &str) -> Result<(), DomainError> {
    if text.contains('\0') { Err(DomainError::invalid(field, "errors.must_not_contain_nul_character")) } else { Ok(()) }
}

/// What a spreadsheet program treats as the start of a formula (OWASP "CSV injection").
fn starts_like_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A formula start behind any number of `'` (so that a cell already written with one reads back).
fn quoted_formula(cell: &str) -> bool {
    starts_like_formula(cell.trim_start_matches('\''))
}

/// A cell as written to a CSV file: one that a spreadsheet would run as a formula gets a leading
/// `'`, which spreadsheets show as plain text.
pub fn csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if quoted_formula(cell) { format!("'{cell}").into() } else { cell.into() }
}

/// The inverse of [`csv_cell`] for a file read back: the `'` that neutralised a formula is
/// dropped, so an exported file imports unchanged.
pub fn csv_cell_read(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if quoted_formula(rest) => rest,
        _ => cell,
    }
}

/// The earliest `received_at` accepted: nothing the organisation handles predates it, and a year
/// before it would open a case-number counter such as `TS-0001-…`.
pub fn earliest_received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Refuses a `received_at` before 2000-01-01 (UTC).
pub fn check_received_at(at: DateTime<Utc>) -> Result<(), DomainError> {
    if at < earliest_received_at() {
        Err(DomainError::invalid("received_at", "errors.must_on_after_2000_01"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn next_is_only_a_path_on_this_site() {
        for ok in ["/", "/cases?state=open", "/cases/12#t", "/a/b/c"] {
            assert_eq!(same_site_path(ok), ok);
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "/cases\r\nSet-Cookie: x=1",
            "/x\ty",
            "/x\ny",
            "/a\\b",
            " /x",
        ] {
            assert_eq!(same_site_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn a_referer_counts_only_from_this_host() {
        assert_eq!(referer_path("http://desk.example/cases?q=1", "desk.example"), Some("/cases?q=1"));
        assert_eq!(referer_path("https://desk.example:8443/x", "desk.example:8443"), Some("/x"));
        assert_eq!(referer_path("https://desk.example", "desk.example"), Some("/"));
        assert_eq!(referer_path("https://evil.example/cases", "desk.example"), None);
        assert_eq!(referer_path("https://desk.example@evil.example/", "desk.example"), None);
        assert_eq!(referer_path("javascript:alert(1)", "desk.example"), None);
        assert_eq!(referer_path("//desk.example/x", "desk.example"), None);
    }

    #[test]
    fn nul_is_refused_naming_the_field() {
        assert!(check_text("subject", "投诉 ok\n\t").is_ok());
        let e = check_text("subject", "a\0b").unwrap_err();
        assert!(matches!(e, DomainError::Invalid { ref field, .. } if field == "subject"), "{e:?}");
    }

    #[test]
    fn formula_cells_are_neutralised_and_read_back_unchanged() {
        for f in ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"] {
            let w = csv_cell(f);
            assert_eq!(w, format!("'{f}"));
            assert_eq!(csv_cell_read(&w), f);
        }
        assert_eq!(csv_cell("'=x"), "''=x");
        assert_eq!(csv_cell_read("''=x"), "'=x");
        for plain in ["客户", "0755-1", "'quoted", "", "a=b"] {
            assert_eq!(csv_cell(plain), plain);
            assert_eq!(csv_cell_read(plain), plain);
        }
    }

    #[test]
    fn received_at_before_2000_is_refused() {
        assert!(check_received_at(Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap()).is_err());
        assert!(check_received_at(Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap()).is_err());
        assert!(check_received_at(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()).is_ok());
    }

    proptest! {
        #[test]
        fn same_site_path_never_yields_another_site_or_a_control_character(s in any::<String>()) {
            let p = same_site_path(&s);
            prop_assert!(p.starts_with('/'));
            prop_assert!(!p.starts_with("//") && !p.starts_with("/\\"));
            prop_assert!(!p.chars().any(|c| c.is_control() || c == '\\'));
            prop_assert!(p == s || p == "/");
        }

        #[test]
        fn any_cell_round_trips_and_never_starts_a_formula(s in any::<String>()) {
            let w = csv_cell(&s);
            prop_assert!(!starts_like_formula(&w));
            prop_assert_eq!(csv_cell_read(&w), s.as_str());
        }
    }

    #[test]
    fn a_due_date_before_today_is_refused() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let e = due_not_past("due_date", today.pred_opt().unwrap(), today).unwrap_err();
        assert_eq!(e, DomainError::invalid("due_date", "errors.due_in_past|today=2026-12-04"));
        assert!(due_not_past("due_date", today, today).is_ok());
    }
}

//! Departments and users: the values that enter the system, parsed once at the edge.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A login name: 2–64 characters of letters, digits, `.`, `_`, `-` (Chinese letters allowed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Username, DomainError> {
        let s = s.trim();
        let n = s.chars().count();
        if !(2..=64).contains(&n) {
            return Err(DomainError::invalid("username", "errors.must_2_64_characters_long"));
        }
        if !s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')) {
            return Err(DomainError::invalid("username", "errors.may_contain_only_letters_digits"));
        }
        let name = s.to_lowercase();
        if crate::access::RESERVED_USERNAMES.contains(&name.as_str()) {
            return Err(DomainError::invalid("username", crate::reason!("errors.reserved_built_actor", name)));
        }
        Ok(Username(name))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A department code such as `CS` or `QA-2`: 1–32 ASCII letters, digits, `-` or `_`, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DepartmentCode(String);

impl DepartmentCode {
    pub fn parse(s: &str) -> Result<DepartmentCode, DomainError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 32 {
            return Err(DomainError::invalid("code", "errors.must_1_32_characters_long"));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(DomainError::invalid("code", "errors.may_contain_only_ascii_letters"));
        }
        Ok(DepartmentCode(s.to_ascii_uppercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A required human-readable name, trimmed, at most `max` characters.
pub fn required_text(field: &str, s: &str, max: usize) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::invalid(field, "errors.required"));
    }
    // Counted before trimming, as the OpenAPI document's maxLength counts: a longer text is
    // refused even when its padding would bring it under the limit.
    if s.chars().count() > max {
        return Err(DomainError::invalid(field, crate::reason!("errors.must_at_most_characters", max)));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid(field, "errors.must_not_contain_control_characters"));
    }
    Ok(t.to_owned())
}

/// Password rule: at least 8 characters, at most 256, not all one character class of digits.
pub fn check_password(p: &str) -> Result<(), DomainError> {
    let n = p.chars().count();
    if n < 8 {
        return Err(DomainError::invalid("password", "errors.must_at_least_8_characters"));
    }
    if n > 256 {
        return Err(DomainError::invalid("password", "errors.must_at_most_256_characters"));
    }
    if p.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::invalid("password", "errors.must_not_consist_digits_only"));
    }
    Ok(())
}

/// Kinds of department named in the spec; free text is allowed beyond these.
pub const DEPARTMENT_KINDS: [&str; 12] = [
    "customer_service",
    "sales",
    "quality",
    "engineering",
    "production",
    "finance",
    "purchasing",
    "gm_office",
    "branch",
    "hr",
    "audit",
    "other",
];

pub fn parse_department_kind(s: &str) -> Result<String, DomainError> {
    let s = s.trim();
    if DEPARTMENT_KINDS.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(DomainError::invalid(
            "kind",
            crate::reason!("errors.must_one", department_kinds = DEPARTMENT_KINDS.join(", ")),
        ))
    }
}

/// Given `(id, parent_id)` pairs, the ids of `root` and every department below it.
pub fn subtree(departments: &[(i64, Option<i64>)], root: i64) -> Vec<i64> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        for &(id, parent) in departments {
            if parent == Some(cur) && !out.contains(&id) {
                out.push(id);
            }
        }
        i += 1;
    }
    out
}

/// Moving `id` under `new_parent` must not create a cycle.
pub fn check_parent(departments: &[(i64, Option<i64>)], id: i64, new_parent: Option<i64>) -> Result<(), DomainError> {
    if let Some(p) = new_parent
        && subtree(departments, id).contains(&p)
    {
        return Err(DomainError::invalid("parent", "errors.department_cannot_placed_under_itself"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(Username::parse(" Zhang.San ").unwrap().as_str(), "zhang.san");
        assert!(Username::parse("张三").is_ok());
        assert!(Username::parse("a").is_err());
        assert!(Username::parse("a b").is_err());
    }

    #[test]
    fn built_in_actor_names_are_reserved() {
        for name in ["customer", "Customer", " PORTAL ", "system", "survey-respondent"] {
            let err = Username::parse(name).unwrap_err();
            assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "username"), "{name}");
        }
        assert!(Username::parse("customer2").is_ok());
    }

    #[test]
    fn department_codes() {
        assert_eq!(DepartmentCode::parse("qa-1").unwrap().as_str(), "QA-1");
        assert!(DepartmentCode::parse("质量部").is_err());
        assert!(DepartmentCode::parse("").is_err());
    }

    #[test]
    fn passwords() {
        assert!(check_password("short").is_err());
        assert!(check_password("12345678").is_err());
        assert!(check_password("correct horse").is_ok());
    }

    #[test]
    fn subtree_and_cycles() {
        let tree = [(1, None), (2, Some(1)), (3, Some(2)), (4, Some(1)), (5, None)];
        let mut s = subtree(&tree, 1);
        s.sort();
        assert_eq!(s, vec![1, 2, 3, 4]);
        assert!(check_parent(&tree, 1, Some(3)).is_err());
        assert!(check_parent(&tree, 3, Some(4)).is_ok());
        assert!(check_parent(&tree, 2, Some(2)).is_err());
    }

    #[test]
    fn required_text_names_field() {
        assert_eq!(required_text("name", "  ", 10).unwrap_err(), DomainError::invalid("name", "errors.required"));
        assert_eq!(required_text("name", " 客服部 ", 10).unwrap(), "客服部");
    }
}

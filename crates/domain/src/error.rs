use thiserror::Error;

/// Business outcomes that are not success. Every layer above maps these to its own vocabulary
/// (HTTP status, CLI exit message) without inspecting strings.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A write based on a stale version, or a unique key already taken.
    #[error("conflict: {reason}")]
    Conflict { reason: String, field: Option<&'static str> },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("forbidden: {reason}")]
    Forbidden { reason: String },
    #[error("not signed in")]
    Unauthenticated,
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DomainError::Invalid { field: field.into(), reason: reason.into() }
    }
    pub fn forbidden(reason: impl Into<String>) -> Self {
        DomainError::Forbidden { reason: reason.into() }
    }
    pub fn stale(entity: &str) -> Self {
        DomainError::Conflict {
            reason: crate::reason!("errors.was_changed_by_someone_else", entity),
            field: Some("version"),
        }
    }
    /// A conflict naming the field it is about (`reason` a message key, as everywhere).
    pub fn conflict(field: Option<&'static str>, reason: impl Into<String>) -> Self {
        DomainError::Conflict { reason: reason.into(), field }
    }
    /// The message key and values this error is shown with (`key|name=value…`, see [`reason!`]).
    /// Errors without a reason of their own get a fixed key of the `errors.` family.
    pub fn reason(&self) -> String {
        match self {
            DomainError::NotFound { entity } => crate::reason!("errors.not_found", entity),
            DomainError::Conflict { reason, .. }
            | DomainError::Invalid { reason, .. }
            | DomainError::Forbidden { reason } => reason.clone(),
            DomainError::Unauthenticated => "errors.unauthenticated".to_owned(),
            DomainError::RateLimited { retry_after_secs } => {
                crate::reason!("errors.rate_limited", secs = retry_after_secs)
            }
        }
    }
}

/// Appends one `|name=value` to a reason; a `|` inside the value becomes `¦`, so it cannot start
/// another value. Used by [`reason!`].
pub fn push_arg(reason: &mut String, name: &str, value: &dyn std::fmt::Display) {
    reason.push('|');
    reason.push_str(name);
    reason.push('=');
    reason.push_str(&value.to_string().replace('|', "¦"));
}

/// Splits a reason into its message key and its `(name, value)` pairs.
pub fn parse_reason(reason: &str) -> (&str, Vec<(&str, &str)>) {
    let mut parts = reason.split('|');
    let key = parts.next().unwrap_or("");
    (key, parts.filter_map(|p| p.split_once('=')).collect())
}

/// A reason: a message key with named values, `reason!("errors.no_category", p = code)` giving
/// `"errors.no_category|p=…"`; a bare identifier is its own name (`reason!("k", max)`).
#[macro_export]
macro_rules! reason {
    (@v $name:ident = $val:expr) => { $val };
    (@v $name:ident) => { $name };
    ($key:literal $(, $name:ident $(= $val:expr)?)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut s = ::std::string::String::from($key);
        $( $crate::error::push_arg(&mut s, stringify!($name), &$crate::reason!(@v $name $(= $val)?)); )*
        s
    }};
}

pub type DomainResult<T> = Result<T, DomainError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_carries_its_values() {
        let n = 3;
        let r = crate::reason!("errors.x", n, name = "a|b");
        assert_eq!(r, "errors.x|n=3|name=a¦b");
        assert_eq!(parse_reason(&r), ("errors.x", vec![("n", "3"), ("name", "a¦b")]));
        assert_eq!(DomainError::stale("case").reason(), "errors.was_changed_by_someone_else|entity=case");
        assert_eq!(DomainError::NotFound { entity: "case" }.reason(), "errors.not_found|entity=case");
    }
}

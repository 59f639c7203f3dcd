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
            reason: format!("{entity} was changed by someone else; reload and try again"),
            field: Some("version"),
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

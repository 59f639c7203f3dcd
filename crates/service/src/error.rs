use loopdesk_domain::DomainError;
use loopdesk_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Something broke that the caller cannot fix; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database cannot take the request now (full disk, I/O error, lock timeout, lost
    /// connection); nothing was written, and the same request may succeed later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// Maps a store failure for `entity` into a business outcome.
    pub fn from_store(entity: &'static str, e: StoreError) -> ServiceError {
        match e {
            StoreError::NotFound => DomainError::NotFound { entity }.into(),
            StoreError::Stale => DomainError::stale(entity).into(),
            StoreError::Conflict { constraint } => {
                // Constraints are named `{table}_{column}_key`: the column is the field the user typed.
                let field =
                    constraint.strip_suffix("_key").and_then(|c| c.split_once('_')).map(|(_, col)| col.to_owned());
                let field: Option<&'static str> = match field.as_deref() {
                    Some("code") => Some("code"),
                    Some("username") => Some("username"),
                    Some("number") => Some("number"),
                    _ => None,
                };
                DomainError::Conflict {
                    reason: loopdesk_domain::reason!("errors.already_exists", field = field.unwrap_or("value")),
                    field,
                }
                .into()
            }
            StoreError::Unavailable { reason } => ServiceError::Unavailable(reason),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::from_store("record", e)
    }
}

/// `.entity("user")?` turns a store error into the right not-found / conflict message.
pub trait StoreResultExt<T> {
    fn entity(self, entity: &'static str) -> ServiceResult<T>;
}

impl<T> StoreResultExt<T> for Result<T, StoreError> {
    fn entity(self, entity: &'static str) -> ServiceResult<T> {
        self.map_err(|e| ServiceError::from_store(entity, e))
    }
}

//! Loopdesk use cases. Each public method checks permissions, opens the transaction, calls domain
//! rules, writes through the store and appends the audit event before committing.
//!
//! Architecture invariant: no HTTP here, and no SQL text: the store owns that.

pub mod access;
pub mod audit;
pub mod calendars;
pub mod customers;
mod error;
pub mod org;
mod password;
mod ratelimit;
pub mod surveys;
pub mod tabular;

use std::sync::Arc;

use chrono_tz::Tz;
use loopdesk_domain::locale::Locale;
pub use loopdesk_store::{Engine, Store};

pub use error::{ServiceError, ServiceResult};

/// Organisation-wide settings from the configuration.
#[derive(Debug, Clone)]
pub struct OrgSettings {
    pub name: String,
    pub default_locale: Locale,
    pub timezone: Tz,
}

impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings { name: "Loopdesk".into(), default_locale: Locale::ZhCn, timezone: chrono_tz::Asia::Shanghai }
    }
}

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub settings: Arc<OrgSettings>,
    limiter: Arc<ratelimit::LoginLimiter>,
}

impl Service {
    pub fn new(store: Store, settings: OrgSettings) -> Service {
        Service { store, settings: Arc::new(settings), limiter: Arc::new(ratelimit::LoginLimiter::default()) }
    }
}

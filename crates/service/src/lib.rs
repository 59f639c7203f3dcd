//! Loopdesk use cases. Each public method checks permissions, opens the transaction, calls domain
//! rules, writes through the store and appends the audit event before committing.
//!
//! Architecture invariant: no HTTP here, and no SQL text: the store owns that.

pub mod access;
pub mod audit;
pub mod bulk;
pub mod calendars;
pub mod canned;
pub mod case_record;
pub mod cases;
pub mod customers;
pub mod due_items;
mod error;
pub mod escalation;
pub mod followup;
pub mod intake;
pub mod kb;
pub mod limits;
pub mod notify;
pub mod org;
mod password;
pub mod process;
pub mod ratelimit;
pub mod reports;
pub mod review;
pub mod scope;
pub mod search;
pub mod service_orders;
pub mod spare_parts;
pub mod survey_shipped;
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
    /// How case numbers look, e.g. `TS-{YYYY}-{NNNNNN}`.
    pub number_format: loopdesk_domain::case::NumberFormat,
    /// Days an API token lives unless its request says otherwise; 0: tokens never expire.
    pub token_days: u32,
    /// Where users reach the server (`LOOPDESK_PUBLIC_URL`); empty when not configured. An
    /// `https://` URL makes the cookies `Secure`.
    pub public_url: String,
}

impl OrgSettings {
    /// Cookies carry `Secure` when users reach the server over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.trim().to_ascii_lowercase().starts_with("https://")
    }
}

impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings {
            name: "Loopdesk".into(),
            default_locale: Locale::ZhCn,
            timezone: chrono_tz::Asia::Shanghai,
            number_format: Default::default(),
            token_days: access::DEFAULT_TOKEN_DAYS,
            public_url: String::new(),
        }
    }
}

/// Everything a use case needs; cheap to clone. Throttling counts live in the database
/// (`ratelimit`), shared by every node.
#[derive(Clone)]
pub struct Service {
    pub store: Store,
    pub settings: Arc<OrgSettings>,
    /// Where "now" comes from: the system clock, or a test's own.
    now: Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>,
    /// The group commit of case intake.
    intake: Arc<intake::Intake>,
    /// Actors behind recently used API tokens.
    tokens: Arc<access::TokenMemory>,
    /// Counts changes to process definitions, clock policies and calendars made through this
    /// process, so what intake remembers of them is dropped at once.
    rules: Arc<std::sync::atomic::AtomicU64>,
    /// How messages are sent (outbox dispatcher, mail transport).
    notify: Arc<notify::Notifier>,
    /// The key that signs audit checkpoints, when this process has it (see `audit`).
    audit_key: Arc<std::sync::OnceLock<loopdesk_domain::audit::AuditKey>>,
}

impl Service {
    /// Process definitions, clock policies or calendars changed.
    pub(crate) fn rules_changed(&self) {
        self.rules.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn rules_generation(&self) -> u64 {
        self.rules.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current time as the rules see it (clocks, due times, escalation).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.now)()
    }

    /// Today's date in the organisation's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now().with_timezone(&self.settings.timezone).date_naive()
    }

    /// Replaces the time source (tests move time forward to cross weekends and deadlines).
    pub fn with_time_source(
        mut self,
        now: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static,
    ) -> Service {
        self.now = Arc::new(now);
        self
    }

    pub fn new(store: Store, settings: OrgSettings) -> Service {
        // The monthly case counts are kept by the store in the organisation's zone.
        loopdesk_store::cases::set_report_zone(settings.timezone);
        Service {
            store,
            settings: Arc::new(settings),
            now: Arc::new(chrono::Utc::now),
            intake: Arc::new(intake::Intake::default()),
            tokens: Arc::new(access::TokenMemory::default()),
            rules: Arc::default(),
            notify: Arc::default(),
            audit_key: Arc::default(),
        }
    }
}

//! Typed configuration: defaults, then a TOML file, then `LOOPDESK_*` environment variables.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://<data_dir>/loopdesk.db`.
    pub database_url: String,
    pub listen: String,
    pub data_dir: PathBuf,
    pub org_name: String,
    /// `zh-CN` or `en`.
    pub default_locale: String,
    pub timezone: String,
    pub max_connections: u32,
    /// Case numbers: `{YYYY}` or `{YY}` and one run of N in braces, e.g. `TS-{YYYY}-{NNNNNN}`.
    pub case_number_format: String,
    /// Seconds between passes of the escalation scheduler (clock warnings, breaches, the chain);
    /// 0 turns it off in this process.
    pub escalation_interval_secs: u64,
    /// Outgoing mail: `smtp://host:port`, `smtp+starttls://…` or `smtps://…`, with
    /// `user:password@` when needed; empty sends no mail.
    pub smtp_url: String,
    /// The sender of outgoing mail, `Name <address>` or an address.
    pub mail_from: String,
    /// Where replies to outgoing mail go (empty: to the sender).
    pub mail_reply_to: String,
    /// The address people reach this server at, e.g. `https://desk.example.com`, for links in
    /// messages (empty: `http://<listen>`); an https URL makes the session cookie `Secure`.
    pub public_url: String,
    /// Days a new API token lives unless its request says otherwise; 0: tokens never expire.
    pub token_days: u32,
    /// Longest wait, in milliseconds, between two looks at the outbox when nothing was enqueued
    /// by this process; 0 turns the dispatcher off in this process.
    pub outbox_interval_ms: u64,
    /// Seconds a server process holds a message it is sending before other processes treat the
    /// send as ambiguous (at least 2).
    pub outbox_lease_secs: u64,
    /// `/healthz` fails when the SQLite database's folder has less free space than this (MiB);
    /// 0 turns the check off.
    pub min_free_space_mb: u64,
    /// The HMAC key that signs audit checkpoints; empty means `<data_dir>/audit.key`. Created
    /// (mode 0600) on first start; never stored in the database. Back it up with the database.
    pub audit_key_file: PathBuf,
    /// Seconds between signed audit checkpoints while serving (one more at shutdown); 0: only at
    /// shutdown.
    pub audit_checkpoint_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: String::new(),
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            org_name: "Loopdesk".into(),
            default_locale: "zh-CN".into(),
            timezone: "Asia/Shanghai".into(),
            max_connections: 16,
            case_number_format: loopdesk_domain::case::DEFAULT_NUMBER_FORMAT.into(),
            escalation_interval_secs: 30,
            smtp_url: String::new(),
            mail_from: String::new(),
            mail_reply_to: String::new(),
            public_url: String::new(),
            token_days: loopdesk_service::access::DEFAULT_TOKEN_DAYS,
            outbox_interval_ms: 1000,
            outbox_lease_secs: 120,
            min_free_space_mb: 64,
            audit_key_file: PathBuf::new(),
            audit_checkpoint_secs: 60,
        }
    }
}

/// The database URL with its password hidden, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact(&self.database_url))
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("org_name", &self.org_name)
            .field("default_locale", &self.default_locale)
            .field("timezone", &self.timezone)
            .field("case_number_format", &self.case_number_format)
            .field("escalation_interval_secs", &self.escalation_interval_secs)
            .field("smtp_url", &redact(&self.smtp_url))
            .field("mail_from", &self.mail_from)
            .field("mail_reply_to", &self.mail_reply_to)
            .field("public_url", &self.public_url)
            .field("token_days", &self.token_days)
            .field("outbox_interval_ms", &self.outbox_interval_ms)
            .field("outbox_lease_secs", &self.outbox_lease_secs)
            .field("min_free_space_mb", &self.min_free_space_mb)
            .field("audit_key_file", &self.audit_key_file)
            .field("audit_checkpoint_secs", &self.audit_checkpoint_secs)
            .finish()
    }
}

impl Config {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                anyhow::ensure!(f.exists(), "configuration file {} does not exist", f.display());
                fig = fig.merge(Toml::file(f));
            }
            None => fig = fig.merge(Toml::file("loopdesk.toml")),
        }
        let mut cfg: Config = fig.merge(Env::prefixed("LOOPDESK_")).extract()?;
        if cfg.database_url.is_empty() {
            cfg.database_url = format!("sqlite://{}", cfg.data_dir.join("loopdesk.db").display());
        }
        if cfg.audit_key_file.as_os_str().is_empty() {
            cfg.audit_key_file = cfg.data_dir.join("audit.key");
        }
        Ok(cfg)
    }

    pub fn settings(&self) -> anyhow::Result<loopdesk_service::OrgSettings> {
        let default_locale = loopdesk_domain::locale::Locale::parse(&self.default_locale)
            .ok_or_else(|| anyhow::anyhow!("default_locale: must be zh-CN or en, not {:?}", self.default_locale))?;
        let timezone: chrono_tz::Tz =
            self.timezone.parse().map_err(|_| anyhow::anyhow!("timezone: unknown time zone {:?}", self.timezone))?;
        let number_format = loopdesk_domain::case::NumberFormat::parse(&self.case_number_format)
            .map_err(|e| anyhow::anyhow!("case_number_format: {e}"))?;
        let public_url = self.public_url.trim().to_owned();
        if !public_url.is_empty() && !public_url.starts_with("http://") && !public_url.starts_with("https://") {
            anyhow::bail!("public_url: must start with http:// or https://, not {public_url:?}");
        }
        anyhow::ensure!(
            self.token_days <= loopdesk_service::access::MAX_TOKEN_DAYS,
            "token_days: at most {}",
            loopdesk_service::access::MAX_TOKEN_DAYS
        );
        Ok(loopdesk_service::OrgSettings {
            name: self.org_name.clone(),
            default_locale,
            timezone,
            number_format,
            token_days: self.token_days,
            public_url,
        })
    }
}

impl Config {
    /// How this process sends messages.
    pub fn notify(&self) -> anyhow::Result<loopdesk_service::notify::NotifyConfig> {
        let smtp = match self.smtp_url.trim() {
            "" => None,
            u => Some(
                loopdesk_domain::notify::SmtpUrl::parse(u)
                    .map_err(|e| anyhow::anyhow!("smtp_url: {e} ({})", redact(u)))?,
            ),
        };
        anyhow::ensure!(smtp.is_none() || !self.mail_from.trim().is_empty(), "mail_from: is required with smtp_url");
        let public_url = match self.public_url.trim() {
            "" => format!("http://{}", self.listen),
            u => u.trim_end_matches('/').to_owned(),
        };
        let reply_to = Some(self.mail_reply_to.trim().to_owned()).filter(|r| !r.is_empty());
        Ok(loopdesk_service::notify::NotifyConfig {
            smtp,
            mail_from: self.mail_from.trim().to_owned(),
            reply_to,
            public_url,
            lease: std::time::Duration::from_secs(self.outbox_lease_secs.max(2)),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_bad_field() {
        let bad = Config { case_number_format: "TS-{NNNN}".into(), ..Default::default() };
        assert!(bad.settings().unwrap_err().to_string().starts_with("case_number_format:"));
        let bad = Config { timezone: "Mars/Olympus".into(), ..Default::default() };
        assert!(bad.settings().unwrap_err().to_string().starts_with("timezone:"));
        let good = Config { case_number_format: "KS-{YY}-{NNNN}".into(), ..Default::default() };
        assert_eq!(good.settings().unwrap().number_format.format(2026, 1), "KS-26-0001");
    }

    #[test]
    fn mail_settings_name_the_bad_field_and_hide_the_password() {
        let bad =
            Config { smtp_url: "smtp://u:hunter2@mail:x".into(), mail_from: "a@b.cn".into(), ..Default::default() };
        let e = bad.notify().unwrap_err().to_string();
        assert!(e.starts_with("smtp_url:") && !e.contains("hunter2"), "{e}");
        let no_from = Config { smtp_url: "smtp://mail:25".into(), ..Default::default() };
        assert!(no_from.notify().unwrap_err().to_string().starts_with("mail_from:"));
        let good =
            Config { smtp_url: "smtps://u:hunter2@mail".into(), mail_from: "a@b.cn".into(), ..Default::default() };
        assert_eq!(good.notify().unwrap().smtp.unwrap().port, 465);
        assert!(!format!("{good:?}").contains("hunter2"));
    }

    #[test]
    fn hides_database_password() {
        assert_eq!(redact("postgres://u:secret@db:5432/x"), "postgres://u:***@db:5432/x");
        assert_eq!(redact("sqlite://data/loopdesk.db"), "sqlite://data/loopdesk.db");
        let c = Config { database_url: "postgres://u:pw@h/d".into(), ..Default::default() };
        assert!(!format!("{c:?}").contains("pw@"));
    }
}

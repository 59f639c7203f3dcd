//! Translations. Every message lives in `locales/*.toml` (one file per area, listed in `FILES`) with
//! both languages side by side, so a missing translation is visible in review and refused by a unit
//! test; a key defined in two files is refused too.

use std::collections::HashMap;
use std::sync::OnceLock;

use loopdesk_domain::locale::Locale;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct Entry {
    pub(crate) zh: String,
    pub(crate) en: String,
}

#[derive(Deserialize)]
struct File {
    app: HashMap<String, Entry>,
}

/// The message files, compiled in: the general one and one per area of the product.
const FILES: &[(&str, &str)] = &[
    ("messages.toml", include_str!("../locales/messages.toml")),
    ("storage.toml", include_str!("../locales/storage.toml")),
    ("access.toml", include_str!("../locales/access.toml")),
    ("input.toml", include_str!("../locales/input.toml")),
    ("clocks.toml", include_str!("../locales/clocks.toml")),
    ("cases.toml", include_str!("../locales/cases.toml")),
    ("notify.toml", include_str!("../locales/notify.toml")),
    ("search.toml", include_str!("../locales/search.toml")),
    ("engine.toml", include_str!("../locales/engine.toml")),
    ("capa.toml", include_str!("../locales/capa.toml")),
    ("service.toml", include_str!("../locales/service.toml")),
    ("followup.toml", include_str!("../locales/followup.toml")),
    ("kb.toml", include_str!("../locales/kb.toml")),
    ("errors.toml", include_str!("../locales/errors.toml")),
    ("pages.toml", include_str!("../locales/pages.toml")),
    ("demo.toml", include_str!("../locales/demo.toml")),
];

pub(crate) fn table() -> &'static HashMap<String, Entry> {
    static T: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    T.get_or_init(|| {
        let mut all = HashMap::new();
        for &(name, text) in FILES {
            match toml::from_str::<File>(text) {
                Ok(f) => all.extend(f.app),
                Err(e) => tracing::error!("{name} is broken: {e}"),
            }
        }
        all
    })
}

/// A translator bound to one locale; templates call `t.get("key")`.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Locale);

impl Tr {
    /// The text for `key`; the key itself if it is missing (a test keeps that from happening).
    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        match table().get(key) {
            Some(e) => match self.0 {
                Locale::ZhCn => &e.zh,
                Locale::En => &e.en,
            },
            None => key,
        }
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The text of an error reason (`key|name=value…`, built by `loopdesk_domain::reason!`) in this
    /// language, its `{name}`s filled in; a value that is itself a reason is rendered too. A reason
    /// that is no key is shown as it is (`i18n::tests::every_error_reason_is_a_key` keeps that from
    /// happening in our code).
    pub fn reason(&self, reason: &str) -> String {
        let (key, args) = loopdesk_domain::error::parse_reason(reason);
        if table().get(key).is_none() {
            return reason.to_owned();
        }
        let mut text = self.get(key).to_owned();
        // `name_zh` / `name_en` give `{name}` in one language each (a step's own zh/en name).
        let lang = match self.0 {
            Locale::ZhCn => "_zh",
            Locale::En => "_en",
        };
        let other = if lang == "_zh" { "_en" } else { "_zh" };
        for (name, value) in args {
            if name.ends_with(other) {
                continue;
            }
            let name = name.strip_suffix(lang).unwrap_or(name);
            let value = value.replace('¦', "|");
            let inner = loopdesk_domain::error::parse_reason(&value).0;
            let shown = if value.contains('.') && table().contains_key(inner) { self.reason(&value) } else { value };
            text = text.replace(&format!("{{{name}}}"), &shown);
        }
        text
    }

    /// The label of an input named by an error's `field`: `errors.field.{field}`, else the case
    /// field label, else the name itself (indexed paths such as `indicators[2].weight`).
    pub fn field(&self, field: &str) -> String {
        for k in [format!("errors.field.{field}"), format!("case.field.{field}")] {
            if table().contains_key(&k) {
                return self.get(&k).to_owned();
            }
        }
        field.to_owned()
    }

    /// A domain error as a person reads it: the field's label and the reason, in this language.
    pub fn domain(&self, e: &loopdesk_domain::DomainError) -> String {
        match e {
            loopdesk_domain::DomainError::Invalid { field, reason } => {
                format!("{}{}{}", self.field(field), self.get("errors.field_sep"), self.reason(reason))
            }
            other => self.reason(&other.reason()),
        }
    }

    /// An error as a person reads it, in this language (see [`Shown`]).
    pub fn error(&self, e: &impl Shown) -> String {
        e.shown(*self)
    }

    /// A service error as a person reads it (storage and internal faults by their fixed texts).
    pub fn service(&self, e: &loopdesk_service::ServiceError) -> String {
        match e {
            loopdesk_service::ServiceError::Domain(d) => self.domain(d),
            loopdesk_service::ServiceError::Unavailable(_) => self.reason("errors.database_cannot_take_request_right"),
            loopdesk_service::ServiceError::Internal(_) => self.reason("errors.internal_error_has_been_logged"),
        }
    }

    /// Label of a role code, e.g. `role.mgmt_rep`.
    pub fn role(&self, code: &str) -> String {
        self.get(&format!("role.{code}")).to_owned()
    }
}

/// An error a page shows to a person: rendered in the reader's language.
pub trait Shown {
    fn shown(&self, t: Tr) -> String;
}

impl Shown for loopdesk_domain::DomainError {
    fn shown(&self, t: Tr) -> String {
        t.domain(self)
    }
}

impl Shown for loopdesk_service::ServiceError {
    fn shown(&self, t: Tr) -> String {
        t.service(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_exists_in_both_languages() {
        let mut seen = std::collections::HashSet::new();
        for &(name, text) in FILES {
            let raw: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let Some(app) = raw.get("app").and_then(|a| a.as_table()) else { continue };
            for (k, v) in app {
                assert!(seen.insert(k.clone()), "{k} is defined twice ({name})");
                for lang in ["zh", "en"] {
                    let s = v.get(lang).and_then(|s| s.as_str()).unwrap_or("");
                    assert!(!s.trim().is_empty(), "{k} has no {lang} text ({name})");
                }
            }
        }
        assert!(seen.len() > 50);
        assert_eq!(table().len(), seen.len());
    }

    #[test]
    fn every_role_and_department_kind_has_a_label() {
        for r in loopdesk_domain::access::Role::ALL {
            assert!(table().contains_key(&format!("role.{}", r.code())), "{r:?}");
        }
        for k in loopdesk_domain::org::DEPARTMENT_KINDS {
            assert!(table().contains_key(&format!("kind.{k}")), "{k}");
        }
    }

    #[test]
    fn looks_up_by_locale() {
        assert_eq!(Tr(Locale::ZhCn).get("login.title"), "登录");
        assert_eq!(Tr(Locale::En).get("login.title"), "Sign in");
    }
}

//! Canned replies: a title, a language and a body with placeholders such as `{{case.number}}`,
//! filled in from the case a reply is written on.

use crate::DomainError;
use crate::locale::Locale;

/// The placeholders a canned reply may use.
pub const PLACEHOLDERS: [&str; 7] =
    ["case.number", "case.subject", "case.due", "case.state", "customer.name", "contact.name", "agent.name"];

pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 5_000;

/// The placeholders named in a body, in order of first use; an unclosed `{{` is not one.
pub fn placeholders_in(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim().to_owned();
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end + 2..];
    }
    out
}

/// A checked canned reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedText {
    pub title: String,
    pub locale: Locale,
    pub body: String,
}

/// Checks a canned reply: a title, a body, and only known placeholders.
pub fn check(title: &str, locale: &str, body: &str) -> Result<CannedText, DomainError> {
    let title = title.trim().to_owned();
    let body = body.trim().replace("\r\n", "\n");
    if title.is_empty() {
        return Err(DomainError::invalid("title", "kb.err.required"));
    }
    if title.chars().count() > MAX_TITLE {
        return Err(DomainError::invalid("title", format!("kb.err.too_long|max={MAX_TITLE}")));
    }
    if body.is_empty() {
        return Err(DomainError::invalid("body", "kb.err.required"));
    }
    if body.chars().count() > MAX_BODY {
        return Err(DomainError::invalid("body", format!("kb.err.too_long|max={MAX_BODY}")));
    }
    if let Some(bad) = placeholders_in(&body).into_iter().find(|p| !PLACEHOLDERS.contains(&p.as_str())) {
        let bad: String = bad.chars().filter(|c| *c != '|').take(40).collect();
        return Err(DomainError::invalid("body", format!("kb.err.placeholder|name={bad}")));
    }
    let locale = Locale::parse(locale).ok_or_else(|| DomainError::invalid("locale", "kb.err.locale"))?;
    Ok(CannedText { title, locale, body })
}

/// The body with each known placeholder replaced by its value (`value(name)`); a placeholder
/// without a value becomes empty, text that is not a placeholder stays as written.
pub fn render(body: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        out.push_str(&rest[..start]);
        if PLACEHOLDERS.contains(&name) {
            out.push_str(&value(name).unwrap_or_default());
        } else {
            out.push_str(&rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn placeholders_are_filled_from_the_case() {
        let body = "{{customer.name}}您好：您的案件 {{ case.number }} 将于 {{case.due}} 前答复。";
        let out = render(body, |n| match n {
            "customer.name" => Some("深圳客户".into()),
            "case.number" => Some("TS-2026-000123".into()),
            _ => None,
        });
        assert_eq!(out, "深圳客户您好：您的案件 TS-2026-000123 将于  前答复。");
        assert_eq!(placeholders_in(body), vec!["customer.name", "case.number", "case.due"]);
    }

    #[test]
    fn an_unknown_placeholder_is_refused_naming_the_body() {
        let e = check("问候", "zh-CN", "您好 {{case.secret}}").unwrap_err();
        assert_eq!(e, DomainError::invalid("body", "kb.err.placeholder|name=case.secret"));
        assert!(check("", "zh-CN", "x").is_err());
        assert!(check("t", "xx", "x").is_err());
        let ok = check(" 问候 ", "en", "Hello {{contact.name}}").unwrap();
        assert_eq!((ok.title.as_str(), ok.locale), ("问候", Locale::En));
    }

    proptest! {
        #[test]
        fn rendering_never_panics_and_text_without_braces_is_kept(s in "\\PC{0,60}") {
            let out = render(&s, |_| Some("X".into()));
            if !s.contains("{{") {
                prop_assert_eq!(out, s);
            }
        }
    }
}

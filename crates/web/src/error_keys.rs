//! The walk over every error the code can produce (issue #16): each reason given to
//! `DomainError::invalid` / `forbidden` / a conflict, to `ApiError`, or built with `reason!`, is
//! read from the source of every crate and must be a message key with both languages. An
//! English sentence, a `format!` or an unknown key fails the test, naming the file and line.

use std::path::{Path, PathBuf};

use loopdesk_domain::DomainError;
use loopdesk_domain::locale::Locale;

use crate::i18n::{Tr, table};

/// The call sites and which argument (0-based) is the reason; `None` means the `reason:` field
/// of a struct literal.
const SITES: &[(&str, Option<usize>)] = &[
    ("DomainError::invalid(", Some(1)),
    ("DomainError::forbidden(", Some(0)),
    ("DomainError::conflict(", Some(1)),
    ("DomainError::Conflict {", None),
    ("DomainError::Invalid {", None),
    ("DomainError::Forbidden {", None),
    ("ApiError::invalid(", Some(1)),
    ("ApiError::bad_request(", Some(1)),
    ("ApiError::new(", Some(2)),
    ("reason!(", Some(0)),
];

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> =
        ["domain", "service", "store", "web", "cli"].iter().map(|c| root.join(c).join("src")).collect();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())).flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".rs")
                && name != "tests.rs"
                && name != "fuzz.rs"
                && name != "error_keys.rs"
                && !name.ends_with("_tests.rs")
            {
                out.push(p);
            }
        }
    }
    out
}

/// Index just past the string literal starting at `i` (a `"`).
fn skip_string(s: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < s.len() && s[i] != b'"' {
        if s[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// The top-level arguments of the call whose opening bracket is just before `i`.
fn arguments(s: &str, mut i: usize) -> Vec<&str> {
    let b = s.as_bytes();
    let (mut depth, mut start, mut out) = (1, i, Vec::new());
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'\'' if i + 2 < b.len() && b[i + 2] == b'\'' => {
                i += 3;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    out.push(s[start..i].trim());
                    return out;
                }
            }
            b',' if depth == 1 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// What a reason expression is: `Ok(Some(key))` for a literal or `reason!` key, `Ok(None)` for an
/// expression passing on a reason made elsewhere, `Err` for text that cannot be a key.
fn key_of(expr: &str) -> Result<Option<String>, String> {
    let e = expr.trim();
    let lit = |t: &str| -> Option<String> {
        let t = t.trim();
        let t =
            t.strip_suffix(".into()").or(t.strip_suffix(".to_owned()")).or(t.strip_suffix(".to_string()")).unwrap_or(t);
        (t.starts_with('"') && t.ends_with('"') && t.len() >= 2).then(|| t[1..t.len() - 1].to_owned())
    };
    // The contract's `key|name=value` form: the key is what comes before the first `|`.
    let key_part = |k: String| -> String { k.split('|').next().unwrap_or_default().to_owned() };
    if let Some(k) = lit(e) {
        return Ok(Some(key_part(k)));
    }
    if let Some(rest) = e.strip_prefix("format!(") {
        // `format!("key|max={max}")` is a key with values; any other format! is text.
        if let Some(first) = arguments(rest, 0).first()
            && let Some(f) = lit(first)
            && f.split_once('|').is_some_and(|(k, _)| !k.is_empty() && !k.contains(['{', ' ']))
        {
            return Ok(Some(key_part(f)));
        }
        return Err(format!("a format! is not a message key: {e}"));
    }
    if let Some(rest) = e.split_once("reason!(").map(|(_, r)| r)
        && let Some(first) = arguments(rest, 0).first()
    {
        return lit(first).map(Some).ok_or_else(|| format!("reason! needs a literal key: {e}"));
    }
    Ok(None)
}

#[test]
fn every_error_reason_is_a_key_in_both_languages() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in sources() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let code = match text.find("#[cfg(test)]\nmod") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        for &(pat, arg) in SITES {
            for (at, _) in code.match_indices(pat) {
                // `Invalid { .. }` patterns in a `match` have no `reason:`; struct literals do.
                let args = arguments(code, at + pat.len());
                let expr = match arg {
                    Some(n) => args.get(n).copied(),
                    None => args.iter().find_map(|a| a.strip_prefix("reason:")),
                };
                let Some(expr) = expr else { continue };
                let line_start = code[..at].rfind('\n').map_or(0, |i| i + 1);
                if code[line_start..at].trim_start().starts_with("//") {
                    continue; // documentation
                }
                let line = code[..at].matches('\n').count() + 1;
                let here = format!("{}:{line}", path.display());
                match key_of(expr) {
                    Ok(Some(k)) => {
                        checked += 1;
                        match table().get(&k) {
                            None => problems.push(format!("{here}: '{k}' is not a message key")),
                            Some(e) if e.zh.trim().is_empty() || e.en.trim().is_empty() => {
                                problems.push(format!("{here}: '{k}' lacks a language"))
                            }
                            Some(_) => {}
                        }
                    }
                    Ok(None) => {}
                    Err(why) => problems.push(format!("{here}: {why}")),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} reasons are not message keys:\n{}", problems.len(), problems.join("\n"));
    assert!(checked > 300, "only {checked} reasons found: the walk is broken");
}

#[test]
fn the_walk_refuses_an_english_reason() {
    assert!(key_of("\"is required\"").is_ok_and(|k| k.is_some_and(|k| !table().contains_key(&k))));
    assert!(key_of("format!(\"no case '{n}'\")").is_err());
    assert_eq!(
        key_of("loopdesk_domain::reason!(\"errors.no_case_numbered\", number)").ok().flatten().as_deref(),
        Some("errors.no_case_numbered")
    );
    assert_eq!(key_of("reason").ok(), Some(None));
}

#[test]
fn sample_errors_read_in_both_languages() {
    let zh = Tr(Locale::ZhCn);
    let en = Tr(Locale::En);
    let e = DomainError::invalid("phone", "errors.give_phone_number_e_mail");
    assert_eq!(en.domain(&e), "Phone: give a phone number or an e-mail address so we can answer");
    assert_eq!(zh.domain(&e), "电话：请留下电话号码或电子邮箱，以便我们答复您");
    let e = DomainError::invalid("number", loopdesk_domain::reason!("errors.no_case_numbered", number = "TS-1"));
    assert!(zh.domain(&e).contains("没有编号为“TS-1”的案件"), "{}", zh.domain(&e));
    assert!(en.domain(&e).contains("no case numbered 'TS-1'"));
    // A value that is itself a reason is rendered in the same language.
    let inner = loopdesk_domain::reason!("errors.not_date_yyyy_mm_dd_2", s = "x");
    let outer = loopdesk_domain::reason!("errors.row", i = 2, e = inner);
    assert_eq!(zh.reason(&outer), "第 2 行：“x”不是日期（YYYY-MM-DD）");
    assert_eq!(DomainError::stale("case").reason(), "errors.was_changed_by_someone_else|entity=case");
    assert_eq!(zh.domain(&DomainError::NotFound { entity: "case" }), "找不到该记录");
    // Text that is no key is shown as it is.
    assert_eq!(en.reason("plain words"), "plain words");
}

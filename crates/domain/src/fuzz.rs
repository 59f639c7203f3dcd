//! Test-only helpers for the parsers' property tests (issue #7 item 5): mutations of a valid input,
//! so that generated cases get past the first syntax check and reach the deeper rules, and the
//! check that a refusal is `DomainError::Invalid` naming its field.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use crate::DomainError;

/// Passes for `Ok`, and for a refusal that names a field and gives a reason; fails otherwise.
pub(crate) fn refused_with_field<T: std::fmt::Debug>(r: &Result<T, DomainError>) -> Result<(), TestCaseError> {
    match r {
        Ok(_) => Ok(()),
        Err(DomainError::Invalid { field, reason }) => {
            prop_assert!(!field.trim().is_empty(), "a refusal without a field: {reason}");
            prop_assert!(!reason.trim().is_empty(), "a refusal of {field} without a reason");
            Ok(())
        }
        Err(e) => Err(TestCaseError::fail(format!("expected Invalid {{field, reason}}, got {e:?}"))),
    }
}

/// Text that looks like what the parsers expect, or like classic trouble.
const SNIPPETS: &[&str] = &[
    "",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\u{feff}",
    "\0",
    ",",
    ";",
    ":",
    "-",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "=",
    "#",
    "0",
    "-1",
    "24:00",
    "08:30",
    "99:99",
    "2026-02-29",
    "2024-02-29",
    "+262143-12-31",
    "0000-01-01",
    "9999999999",
    "1e309",
    "NaN",
    "complaint",
    "received",
    "admin",
    "holiday",
    "workday",
    "hours",
    "Asia/Shanghai",
    "{YYYY}",
    "{NNNNNN}",
    "客户",
    "投诉",
    "𝕏",
    "é",
];

fn snippet() -> impl Strategy<Value = String> {
    prop_oneof![prop::sample::select(SNIPPETS).prop_map(str::to_owned), "\\PC{0,8}", "[ -~]{0,8}"]
}

/// A value a mutation may put anywhere in a JSON document.
pub(crate) fn json_atom() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![0_i64, 1, -1, 2, 3, 9, 10, 100, i64::MAX, i64::MIN]).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![0.0, 0.5, -0.5, 1e-300, 1e300, f64::MAX, -f64::MAX, f64::MIN_POSITIVE])
            .prop_map(Value::from),
        snippet().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["08:30", "12:00"])),
        Just(json!([[1, 1], [1, 1]])),
    ]
}

/// One edit of a JSON document: `target` picks a node (modulo the node count, pre-order).
#[derive(Debug, Clone)]
pub(crate) struct JsonEdit {
    target: usize,
    op: u8,
    atom: Value,
    key: String,
}

pub(crate) fn json_edits(max: usize) -> impl Strategy<Value = Vec<JsonEdit>> {
    prop::collection::vec(
        (any::<usize>(), 0_u8..5, json_atom(), snippet()).prop_map(|(target, op, atom, key)| JsonEdit {
            target,
            op,
            atom,
            key,
        }),
        1..=max,
    )
}

fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, x) in map {
                pointers(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Applies the edits in order: replace a node, remove it, grow it (a new element or key),
/// mangle a string, or duplicate an array element (duplicate codes, repeated dates).
pub(crate) fn apply_json_edits(mut doc: Value, edits: &[JsonEdit]) -> Value {
    for e in edits {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let ptr = all[e.target % all.len()].clone();
        let (parent, last) = ptr.rsplit_once('/').map_or((None, ""), |(p, l)| (Some(p.to_owned()), l));
        let Some(node) = doc.pointer_mut(&ptr) else { continue };
        match e.op {
            0 => *node = e.atom.clone(),
            1 => match parent.as_deref().and_then(|p| doc.pointer_mut(p)) {
                Some(Value::Array(items)) => {
                    if let Ok(i) = last.parse::<usize>()
                        && i < items.len()
                    {
                        items.remove(i);
                    }
                }
                Some(Value::Object(map)) => {
                    map.remove(&last.replace("~1", "/").replace("~0", "~"));
                }
                _ => doc = e.atom.clone(),
            },
            2 => match node {
                Value::Array(items) => {
                    let grown = items.first().cloned().unwrap_or_else(|| e.atom.clone());
                    items.push(grown);
                }
                Value::Object(map) => {
                    map.insert(e.key.clone(), e.atom.clone());
                }
                other => *other = e.atom.clone(),
            },
            3 => match node {
                Value::String(s) => {
                    let cut = s.char_indices().nth(s.chars().count() / 2).map_or(s.len(), |(i, _)| i);
                    *s = format!("{}{}{}", &s[..cut], e.key, &s[cut..]);
                }
                other => *other = e.atom.clone(),
            },
            _ => {
                let copy = node.clone();
                if let Some(Value::Array(items)) = parent.as_deref().and_then(|p| doc.pointer_mut(p)) {
                    items.push(copy);
                }
            }
        }
    }
    doc
}

/// One edit of a text: at a character position (modulo its length) delete a few characters,
/// insert a snippet, or repeat a stretch.
#[derive(Debug, Clone)]
pub(crate) struct TextEdit {
    at: usize,
    len: usize,
    op: u8,
    insert: String,
}

pub(crate) fn text_edits(max: usize) -> impl Strategy<Value = Vec<TextEdit>> {
    prop::collection::vec(
        (any::<usize>(), 0_usize..12, 0_u8..3, snippet()).prop_map(|(at, len, op, insert)| TextEdit {
            at,
            len,
            op,
            insert,
        }),
        1..=max,
    )
}

pub(crate) fn apply_text_edits(text: &str, edits: &[TextEdit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let at = e.at % (chars.len() + 1);
        let end = (at + e.len).min(chars.len());
        match e.op {
            0 => {
                chars.drain(at..end);
            }
            1 => {
                chars.splice(at..at, e.insert.chars());
            }
            _ => {
                let stretch: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, stretch);
            }
        }
    }
    chars.into_iter().collect()
}

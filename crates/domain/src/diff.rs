//! Field-by-field difference of two JSON snapshots (the audit trail's before and after): nested
//! objects are flattened to dotted paths (`address.city`), arrays to indexed ones (`from[0]`), and
//! only the paths whose value differs are listed, in path order. A missing side is `None` (a
//! created or deleted record lists every field).

use std::collections::BTreeMap;

use serde_json::Value;

/// One changed field: its path, the value before (None: absent) and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// How a scalar is shown: strings as they are, everything else as JSON text.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&p, v, out);
            }
        }
        Value::Array(a) if !a.is_empty() && a.iter().any(|x| x.is_object() || x.is_array()) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        // A list of plain values reads best on one line.
        Value::Array(a) if !a.is_empty() => {
            out.insert(prefix.to_owned(), a.iter().map(show).collect::<Vec<_>>().join(", "));
        }
        other => {
            out.insert(if prefix.is_empty() { "value".to_owned() } else { prefix.to_owned() }, show(other));
        }
    }
}

/// Parses a stored snapshot; text that is not JSON is kept as one `value`.
pub fn parse_snapshot(text: Option<&str>) -> Option<Value> {
    text.map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned())))
}

/// The changed fields between `before` and `after`.
pub fn changes(before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let mut b = BTreeMap::new();
    let mut a = BTreeMap::new();
    if let Some(v) = before {
        flatten("", v, &mut b);
    }
    if let Some(v) = after {
        flatten("", v, &mut a);
    }
    let mut paths: Vec<&String> = b.keys().chain(a.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|p| {
            let (x, y) = (b.get(p), a.get(p));
            (x != y).then(|| Change { path: p.clone(), before: x.cloned(), after: y.cloned() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ch(path: &str, before: Option<&str>, after: Option<&str>) -> Change {
        Change { path: path.into(), before: before.map(Into::into), after: after.map(Into::into) }
    }

    #[test]
    fn lists_only_changed_fields_with_paths() {
        let b =
            json!({"state": "received", "version": 1, "subject": "漏水", "address": {"city": "上海", "zip": "200000"}});
        let a = json!({"state": "acknowledged", "version": 2, "subject": "漏水", "address": {"city": "杭州", "zip": "200000"}});
        assert_eq!(
            changes(Some(&b), Some(&a)),
            vec![
                ch("address.city", Some("上海"), Some("杭州")),
                ch("state", Some("received"), Some("acknowledged")),
                ch("version", Some("1"), Some("2"))
            ]
        );
    }

    #[test]
    fn created_and_removed_fields_have_an_empty_side() {
        let a = json!({"name": "Wang", "roles": ["agent", "qa"], "note": null});
        assert_eq!(
            changes(None, Some(&a)),
            vec![ch("name", None, Some("Wang")), ch("note", None, Some("null")), ch("roles", None, Some("agent, qa"))]
        );
        let b = json!({"name": "Wang", "gone": true});
        assert_eq!(changes(Some(&b), Some(&json!({"name": "Wang"}))), vec![ch("gone", Some("true"), None)]);
        assert!(changes(Some(&b), Some(&b)).is_empty());
        assert!(changes(None, None).is_empty());
    }

    #[test]
    fn arrays_of_objects_are_indexed_and_bad_json_is_one_value() {
        let b = json!({"items": [{"q": 1}, {"q": 2}]});
        let a = json!({"items": [{"q": 1}, {"q": 3}, {"q": 4}]});
        assert_eq!(
            changes(Some(&b), Some(&a)),
            vec![ch("items[1].q", Some("2"), Some("3")), ch("items[2].q", None, Some("4"))]
        );
        let raw = parse_snapshot(Some("not json"));
        assert_eq!(changes(None, raw.as_ref()), vec![ch("value", None, Some("not json"))]);
    }
}

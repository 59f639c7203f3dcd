//! "API 文档": the OpenAPI document rendered server-side as an HTML reference, grouped by tag, each
//! operation with its parameters, request body and responses, and every schema with its
//! properties and the limits the server enforces. Nothing is fetched from elsewhere; the raw JSON
//! stays at `/api/openapi.json`.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::{Chrome, PageError, SignedIn, render};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api-docs", get(docs))
}

/// A type as shown: its text and, for a named schema, the anchor it links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    pub text: String,
    pub link: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub ty: TypeRef,
    pub limits: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Body {
    pub status: String,
    pub description: String,
    pub media: String,
    pub ty: Option<TypeRef>,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<Param>,
    pub request: Option<Body>,
    pub responses: Vec<Body>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub tag: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    pub required: bool,
    pub ty: TypeRef,
    pub limits: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub name: String,
    pub anchor: String,
    pub description: String,
    /// Shown when the schema is not an object with properties (an enum, a list, a union).
    pub shape: Option<TypeRef>,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub title: String,
    pub version: String,
    pub description: String,
    pub groups: Vec<Group>,
    pub schemas: Vec<Schema>,
}

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The anchor of a named schema.
pub fn schema_anchor(name: &str) -> String {
    format!("schema-{}", name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "-"))
}

/// How a schema reads as a type: `string`, `integer (int64)`, `array of Case`, `A | B`, `null`…
pub fn type_of(s: &Value) -> TypeRef {
    let plain = |t: String| TypeRef { text: t, link: None };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        return TypeRef { link: Some(schema_anchor(&name)), text: name };
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            let parts: Vec<TypeRef> = list.iter().map(type_of).collect();
            // A single named schema (possibly with null) links to it.
            let named: Vec<&TypeRef> = parts.iter().filter(|p| p.text != "null").collect();
            let sep = if key == "allOf" { " & " } else { " | " };
            let text = parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(sep);
            let link = if named.len() == 1 { named[0].link.clone() } else { None };
            return TypeRef { text, link };
        }
    }
    let types: Vec<String> = match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec![],
    };
    if types.is_empty() {
        return plain(if s.get("properties").is_some() { "object".into() } else { "any".into() });
    }
    let mut link = None;
    let shown: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "array" => {
                let item = s.get("items").map(type_of).unwrap_or_else(|| plain("any".into()));
                link = item.link.clone();
                format!("array of {}", item.text)
            }
            other => match s.get("format").and_then(Value::as_str) {
                Some(f) => format!("{other} ({f})"),
                None => other.to_owned(),
            },
        })
        .collect();
    TypeRef { text: shown.join(" | "), link }
}

/// The limits a schema declares: enum values, length, range, pattern, default.
pub fn limits_of(s: &Value) -> String {
    let mut out = Vec::new();
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        out.push(format!(
            "enum: {}",
            e.iter()
                .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (k, label) in [
        ("minLength", "minLength"),
        ("maxLength", "maxLength"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("minItems", "minItems"),
        ("maxItems", "maxItems"),
        ("pattern", "pattern"),
        ("default", "default"),
    ] {
        if let Some(v) = s.get(k) {
            out.push(format!("{label}: {}", v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())));
        }
    }
    if let Some(items) = s.get("items") {
        let inner = limits_of(items);
        if !inner.is_empty() {
            out.push(format!("items: {inner}"));
        }
    }
    out.join("; ")
}

fn body(status: String, b: &Value) -> Body {
    let (media, ty) = b
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().next())
        .map(|(m, c)| (m.clone(), c.get("schema").map(type_of)))
        .unwrap_or_default();
    Body { status, description: text(b, "description"), media, ty }
}

/// The reference of an OpenAPI document (as JSON).
pub fn reference(doc: &Value) -> Reference {
    let mut groups: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, op) in item {
                if op.get("responses").is_none() {
                    continue;
                }
                let tag = op
                    .get("tags")
                    .and_then(Value::as_array)
                    .and_then(|t| t.first())
                    .and_then(Value::as_str)
                    .unwrap_or("other")
                    .to_owned();
                let params = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                let schema = p.get("schema").cloned().unwrap_or(Value::Null);
                                Param {
                                    name: text(p, "name"),
                                    location: text(p, "in"),
                                    required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                                    ty: type_of(&schema),
                                    limits: limits_of(&schema),
                                    description: text(p, "description"),
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let request = op.get("requestBody").map(|b| body(String::new(), b));
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|rs| rs.iter().map(|(code, r)| body(code.clone(), r)).collect())
                    .unwrap_or_default();
                let anchor = format!(
                    "op-{}-{}",
                    method,
                    path.replace(|c: char| !c.is_ascii_alphanumeric(), "-").trim_matches('-')
                );
                groups.entry(tag).or_default().push(Operation {
                    anchor,
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(op, "summary"),
                    description: text(op, "description"),
                    params,
                    request,
                    responses,
                });
            }
        }
    }
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(name, s)| {
                    let required: Vec<&str> = s
                        .get("required")
                        .and_then(Value::as_array)
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let properties: Vec<Property> = s
                        .get("properties")
                        .and_then(Value::as_object)
                        .map(|ps| {
                            ps.iter()
                                .map(|(pn, p)| Property {
                                    name: pn.clone(),
                                    required: required.contains(&pn.as_str()),
                                    ty: type_of(p),
                                    limits: limits_of(p),
                                    description: text(p, "description"),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let shape = properties.is_empty().then(|| {
                        let t = type_of(s);
                        let l = limits_of(s);
                        if l.is_empty() { t } else { TypeRef { text: format!("{} — {l}", t.text), link: t.link } }
                    });
                    Schema {
                        name: name.clone(),
                        anchor: schema_anchor(name),
                        description: text(s, "description"),
                        shape,
                        properties,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Reference {
        title: doc.pointer("/info/title").and_then(Value::as_str).unwrap_or("API").to_owned(),
        version: doc.pointer("/info/version").and_then(Value::as_str).unwrap_or_default().to_owned(),
        description: doc.pointer("/info/description").and_then(Value::as_str).unwrap_or_default().to_owned(),
        groups: groups.into_iter().map(|(tag, operations)| Group { tag, operations }).collect(),
        schemas,
    }
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct Docs {
    c: Chrome,
    r: Reference,
}

async fn docs(s: SignedIn, State(st): State<AppState>) -> Result<Response, PageError> {
    let doc: Value = serde_json::from_str(&st.openapi).unwrap_or(Value::Null);
    Ok(render(&Docs { c: s.chrome("api"), r: reference(&doc) }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn types_read_as_names_lists_and_unions() {
        assert_eq!(
            type_of(&json!({"$ref": "#/components/schemas/Case"})),
            TypeRef { text: "Case".into(), link: Some("schema-Case".into()) }
        );
        assert_eq!(
            type_of(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Case"}})).text,
            "array of Case"
        );
        assert_eq!(type_of(&json!({"type": ["string", "null"]})).text, "string | null");
        assert_eq!(type_of(&json!({"type": "integer", "format": "int64"})).text, "integer (int64)");
        let u = type_of(&json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/X"}]}));
        assert_eq!((u.text.as_str(), u.link.as_deref()), ("null | X", Some("schema-X")));
        assert_eq!(
            limits_of(&json!({"type": "string", "maxLength": 200, "enum": ["a", "b"]})),
            "enum: a, b; maxLength: 200"
        );
    }

    #[test]
    fn the_shipped_document_is_grouped_by_tag_with_every_operation() {
        let (_, doc) = crate::api::routes();
        let doc = serde_json::to_value(doc).unwrap();
        let r = reference(&doc);
        let ops: usize = r.groups.iter().map(|g| g.operations.len()).sum();
        let expected: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|i| i.as_object().unwrap().values().filter(|o| o.get("responses").is_some()).count())
            .sum();
        assert_eq!(ops, expected);
        assert!(r.groups.len() > 3, "grouped by tag");
        // Every link to a schema has its section.
        let anchors: Vec<String> = r.schemas.iter().map(|s| s.anchor.clone()).collect();
        for g in &r.groups {
            for o in &g.operations {
                assert!(!o.responses.is_empty(), "{} {}", o.method, o.path);
                for t in o.params.iter().map(|p| &p.ty).chain(o.request.iter().filter_map(|b| b.ty.as_ref())) {
                    if let Some(l) = &t.link {
                        assert!(anchors.contains(l), "{} {}: {l} has no section", o.method, o.path);
                    }
                }
            }
        }
        let cases =
            r.groups.iter().flat_map(|g| &g.operations).find(|o| o.path == "/api/v1/cases" && o.method == "POST");
        assert!(
            cases.is_some_and(|o| o.request.as_ref().is_some_and(|b| b.ty.is_some())),
            "POST /api/v1/cases has its body"
        );
    }
}

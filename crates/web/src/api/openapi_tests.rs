//! The OpenAPI document is what clients and the API fuzzer (scripts/fuzz-api.sh) generate requests
//! from, so it must say where each parameter goes and what it accepts.

use std::collections::BTreeSet;

use serde_json::Value;

fn document() -> Value {
    let (_, doc) = super::routes();
    serde_json::to_value(doc).expect("openapi as json")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if op.get("responses").is_some() {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// Query-string structs once came out as required *path* parameters (utoipa's default for
/// `IntoParams`), so generated requests never sent them.
#[test]
fn path_parameters_are_exactly_the_placeholders_of_the_path() {
    let doc = document();
    for (path, method, op) in operations(&doc) {
        let placeholders: BTreeSet<String> =
            path.split('{').skip(1).filter_map(|s| s.split('}').next()).map(str::to_owned).collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let in_path: BTreeSet<String> =
            params.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().expect("name").to_owned()).collect();
        assert_eq!(in_path, placeholders, "{method} {path}: path parameters");
    }
}

#[test]
fn optional_query_parameters_are_not_required_and_pages_are_bounded() {
    let doc = document();
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().cloned().unwrap_or_default() {
            if p["in"] != "query" {
                continue;
            }
            let nullable = p["schema"]["type"].as_array().is_some_and(|t| t.contains(&Value::from("null")));
            if nullable {
                assert_ne!(p["required"], true, "{method} {path}: optional {} is documented as required", p["name"]);
            }
            match p["name"].as_str() {
                Some("page") => {
                    assert_eq!(p["schema"]["minimum"], 1, "{method} {path}: page");
                    assert_eq!(p["schema"]["maximum"], loopdesk_domain::page::Page::MAX_PAGE, "{method} {path}: page");
                }
                Some("per_page") => {
                    assert_eq!(p["schema"]["minimum"], 1, "{method} {path}: per_page");
                    assert_eq!(p["schema"]["maximum"], 500, "{method} {path}: per_page");
                }
                _ => {}
            }
        }
    }
}

/// Two types named `LinkDto` (case links, survey invitation links) once shared one schema name, so
/// the case links were documented with the survey shape.
#[test]
fn case_links_are_documented_with_their_own_shape() {
    let doc = document();
    let schema = &doc["paths"]["/api/v1/cases/{id}/links"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        ["items"]["$ref"];
    let name = schema.as_str().expect("a schema reference").rsplit('/').next().expect("name");
    let props = &doc["components"]["schemas"][name]["properties"];
    assert!(props["kind"].is_object() && props["case"].is_object(), "{name}: {props}");
}

#[test]
fn every_operation_documents_its_error_answers() {
    let doc = document();
    for (path, method, op) in operations(&doc) {
        let r = &op["responses"];
        let public = path.contains("/public/") || path.ends_with("/auth/token");
        if !public {
            assert!(r["401"].is_object(), "{method} {path}: 401");
        }
        if op.get("requestBody").is_some() {
            assert!(r["415"].is_object() && r["422"].is_object() && r["400"].is_object(), "{method} {path}");
        }
    }
}

/// A bad `kind` or file answers the plain error shape with 422, so the rejected-rows fields are
/// optional in the document.
#[test]
fn import_rejection_documents_only_the_error_as_required() {
    let doc = document();
    assert_eq!(doc["components"]["schemas"]["ImportRejectedDto"]["required"], serde_json::json!(["error"]));
}

/// Issue #13 item 15: the limits the server enforces are in the document, so generated requests
/// inside the schema pass them and requests outside it are refused.
#[test]
fn text_limits_the_server_enforces_are_documented() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for (schema, field, key, value) in [
        ("CaseBody", "subject", "maxLength", 200),
        ("CaseBody", "description", "maxLength", 20_000),
        ("NewUserBody", "display_name", "maxLength", 100),
        ("NewUserBody", "password", "minLength", 8),
        ("NewUserBody", "password", "maxLength", 256),
        ("UserPatchBody", "display_name", "maxLength", 100),
        ("UserPatchBody", "password", "maxLength", 256),
        ("DepartmentBody", "name", "maxLength", 100),
        ("DepartmentPatchBody", "name", "maxLength", 100),
        ("TokenRequest", "name", "maxLength", 100),
        ("TokenRequest", "expires_in_days", "minimum", 1),
        ("TokenRequest", "expires_in_days", "maximum", loopdesk_service::access::MAX_TOKEN_DAYS as i64),
    ] {
        let prop = &schemas[schema]["properties"][field];
        assert_eq!(prop[key], value, "{schema}.{field} {key}: {prop}");
    }
}

/// The string schemas behind a property: itself, an array's items, or the variants of a nullable one.
fn strings(doc: &Value, prop: &Value) -> Vec<Value> {
    if let Some(r) = prop["$ref"].as_str() {
        return strings(doc, &doc["components"]["schemas"][r.rsplit('/').next().unwrap_or("")]);
    }
    if let Some(variants) = prop["oneOf"].as_array() {
        return variants.iter().flat_map(|v| strings(doc, v)).collect();
    }
    if prop["items"].is_object() {
        return strings(doc, &prop["items"]);
    }
    vec![prop.clone()]
}

/// Issue #13 item 15: every limit of `limits::BODIES` and `limits::QUERIES` (read from the
/// constants the service checks against) is in the document, on the property it names, for
/// customers, contacts, assets, contracts, communications, products, survey campaigns and answers,
/// calendars, tasks, meetings, comments and the outbox filters.
#[test]
fn every_limit_of_the_tables_is_in_the_document() {
    use loopdesk_service::limits as l;
    let doc = document();
    let check = |what: &str, prop: &Value, t: super::limits::Text| {
        let s = strings(&doc, prop);
        let s: Vec<&Value> = s.iter().filter(|s| s["type"] != "null").collect();
        assert!(!s.is_empty(), "{what}: {prop}");
        for s in s {
            match t.max {
                Some(max) => assert_eq!(s["maxLength"], max, "{what}: {s}"),
                None => assert!(s.get("maxLength").is_none(), "{what}: {s}"),
            }
            if t.min > 0 {
                assert_eq!(s["minLength"], t.min, "{what}: {s}");
            }
            if t.plain {
                assert_eq!(s["pattern"], super::limits::NO_CONTROL, "{what}: {s}");
            }
        }
    };
    for &(schema, field, t) in super::limits::BODIES {
        check(&format!("{schema}.{field}"), &doc["components"]["schemas"][schema]["properties"][field], t);
    }
    for &(path, name, t) in super::limits::QUERIES {
        let params = doc["paths"][path]["get"]["parameters"].as_array().cloned().unwrap_or_default();
        let p = params.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{path} {name}"));
        check(&format!("{path} {name}"), &p["schema"], t);
    }
    // A sample read back against the constants themselves, one per area.
    let schemas = &doc["components"]["schemas"];
    for (schema, field, max) in [
        ("CustomerBody", "name", l::customers::NAME),
        ("CustomerBody", "notes", l::customers::NOTES),
        ("ContactBody", "name", l::customers::CONTACT_NAME),
        ("AssetBody", "serial", l::customers::SERIAL),
        ("ContractBody", "number", l::customers::CONTRACT_NUMBER),
        ("CommunicationBody", "content", l::customers::COMMUNICATION_CONTENT),
        ("CampaignBody", "name", l::surveys::CAMPAIGN_NAME),
        ("ClassifyBody", "category", l::surveys::ANSWER_CATEGORY),
        ("TaskBody", "question", l::cases::TASK_QUESTION),
        ("AnswerBody", "answer", l::cases::TASK_ANSWER),
        ("MeetingBody", "attendees", l::cases::MEETING_ATTENDEES),
        ("ActionBody", "description", l::cases::ACTION_DESCRIPTION),
        ("CommentBody", "body", l::cases::COMMENT),
    ] {
        let s = strings(&doc, &schemas[schema]["properties"][field]);
        assert!(s.iter().any(|s| s["maxLength"] == max), "{schema}.{field}: {s:?}");
    }
    let tags = strings(&doc, &schemas["CustomerBody"]["properties"]["tags"]);
    assert!(tags.iter().any(|s| s["maxLength"] == l::customers::TAG), "tags: {tags:?}");
    let months = &schemas["ProductBody"]["properties"]["warranty_months"];
    assert_eq!(months["maximum"], l::customers::WARRANTY_MONTHS_MAX, "{months}");
    let recipient = doc["paths"]["/api/v1/outbox"]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "recipient").cloned())
        .unwrap_or_default();
    assert!(strings(&doc, &recipient["schema"]).iter().any(|s| s["maxLength"] == l::outbox::RECIPIENT_FILTER));
}

/// utoipa names a component after its type and keeps only one of two types with the same name, so
/// a request body documented with another type's shape goes unnoticed (the escalation step and the
/// service-order step were both `StepBody`). Every schema type of the API has its own name.
#[test]
fn every_schema_type_has_its_own_name() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut clashes = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut schema = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                schema = true;
            } else if line.starts_with("#[schema(as") {
                schema = false;
            } else if schema && (line.starts_with("pub struct ") || line.starts_with("pub enum ")) {
                let name = line.split_whitespace().nth(2).unwrap_or("").trim_end_matches(['{', '(', ';']);
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                if let Some(other) = seen.insert(name.to_owned(), file.clone()) {
                    clashes.push(format!("{name} in {other} and {file}"));
                }
                schema = false;
            } else if !line.starts_with("#[") && !line.starts_with("///") {
                schema = false;
            }
        }
    }
    assert!(seen.len() > 50, "the walk found only {} schema types", seen.len());
    assert!(clashes.is_empty(), "schema types sharing a name: {clashes:?}");
}

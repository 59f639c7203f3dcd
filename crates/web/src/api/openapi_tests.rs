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

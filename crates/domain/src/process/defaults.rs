//! The shipped definitions, one TOML file per case type (ISO 10002 and the seeds' procedures)
//! and one per type of the other record kinds (`capa.toml`, `nc.toml`).

use super::{ProcessDefinition, RecordKind};

/// Case types (spec C3). `grievance` is the confidential employee channel (员工意见/申诉).
pub const CASE_TYPES: [&str; 7] =
    ["inquiry", "suggestion", "complaint", "service_request", "return", "praise", "grievance"];

fn source(case_type: &str) -> Option<&'static str> {
    Some(match case_type {
        "inquiry" => include_str!("defaults/inquiry.toml"),
        "suggestion" => include_str!("defaults/suggestion.toml"),
        "complaint" => include_str!("defaults/complaint.toml"),
        "service_request" => include_str!("defaults/service_request.toml"),
        "return" => include_str!("defaults/return.toml"),
        "praise" => include_str!("defaults/praise.toml"),
        "grievance" => include_str!("defaults/grievance.toml"),
        _ => return None,
    })
}

fn kind_source(kind: RecordKind, record_type: &str) -> Option<&'static str> {
    Some(match (kind, record_type) {
        (RecordKind::Case, t) => return source(t),
        (RecordKind::Capa, "capa") => include_str!("defaults/capa.toml"),
        (RecordKind::Nc, "nc") => include_str!("defaults/nc.toml"),
        _ => return None,
    })
}

/// The shipped definition of a type of any record kind (checked by a unit test).
pub fn default_definition_of(kind: RecordKind, record_type: &str) -> Option<ProcessDefinition> {
    kind_source(kind, record_type).and_then(|s| ProcessDefinition::parse(s).ok()).filter(|d| d.kind == kind)
}

/// The shipped definition of a case type (checked by a unit test, so parsing cannot fail for a
/// known type).
pub fn default_definition(case_type: &str) -> Option<ProcessDefinition> {
    source(case_type).and_then(|s| ProcessDefinition::parse(s).ok())
}

//! Record kinds (记录类别): the lifecycles run by the one process engine. A definition belongs to
//! a kind and a type within it (a case type for cases); the fields a transition may require are
//! known per kind.

use serde::{Deserialize, Serialize};

use super::defaults::CASE_TYPES;
use crate::DomainError;

/// What a process definition drives. Existing definitions without a kind are case definitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Customer cases (投诉、咨询、建议…), typed by `CASE_TYPES`.
    #[default]
    Case,
    /// Corrective and preventive actions (纠正和预防措施 / 8D).
    Capa,
    /// Nonconforming-product notices (不合格品处置单).
    Nc,
    /// Service orders (服务工单), defined by their own module.
    ServiceOrder,
    /// Returns (退换货), defined by their own module.
    Return,
}

/// The types of a CAPA definition (one lifecycle; the 8D method adds gates in `domain::capa`).
pub const CAPA_TYPES: [&str; 1] = ["capa"];
/// The types of a nonconformance definition.
pub const NC_TYPES: [&str; 1] = ["nc"];

/// Fields a CAPA transition may require (free texts kept with the step, decisions, reasons).
pub const CAPA_FIELDS: [&str; 10] = [
    "reason",
    "decision",
    "merge_into",
    "comment",
    "problem",
    "containment",
    "root_cause",
    "plan",
    "verification_result",
    "closure_note",
];

/// Fields a nonconformance transition may require.
pub const NC_FIELDS: [&str; 7] =
    ["reason", "comment", "responsibility", "review_note", "decision", "closure_note", "containment"];

impl RecordKind {
    pub const ALL: [RecordKind; 5] =
        [RecordKind::Case, RecordKind::Capa, RecordKind::Nc, RecordKind::ServiceOrder, RecordKind::Return];

    pub fn code(self) -> &'static str {
        match self {
            RecordKind::Case => "case",
            RecordKind::Capa => "capa",
            RecordKind::Nc => "nc",
            RecordKind::ServiceOrder => "service_order",
            RecordKind::Return => "return",
        }
    }

    pub fn parse(s: &str) -> Result<RecordKind, DomainError> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| DomainError::invalid("kind", format!("engine.err.unknown_kind|kind={}", s.trim())))
    }

    /// (zh, en) names.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            RecordKind::Case => ("案件", "Cases"),
            RecordKind::Capa => ("纠正和预防措施", "Corrective and preventive actions"),
            RecordKind::Nc => ("不合格品处置", "Nonconforming product"),
            RecordKind::ServiceOrder => ("服务工单", "Service orders"),
            RecordKind::Return => ("退换货", "Returns"),
        }
    }

    /// The types a definition of this kind may have (each has a shipped default).
    pub fn types(self) -> &'static [&'static str] {
        match self {
            RecordKind::Case => &CASE_TYPES,
            RecordKind::Capa => &CAPA_TYPES,
            RecordKind::Nc => &NC_TYPES,
            RecordKind::ServiceOrder | RecordKind::Return => &[],
        }
    }

    /// Fields a transition of this kind may require.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::Case => &super::KNOWN_FIELDS,
            RecordKind::Capa => &CAPA_FIELDS,
            RecordKind::Nc => &NC_FIELDS,
            RecordKind::ServiceOrder | RecordKind::Return => &[],
        }
    }
}

/// Who takes a step: staff with their roles, or the customer on the portal.
#[derive(Debug, Clone, Copy)]
pub enum Taker<'a> {
    Staff(&'a [crate::access::Role]),
    Customer,
}

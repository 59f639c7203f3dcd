//! The process engine's record-kind neutral part (spec C4, issue #18): stored, versioned
//! definitions for every `RecordKind` (the shipped default stored as version 1 on first use;
//! running records keep the version they started with) and the definitions list and upload. The
//! shared start of every transition is `ProcessDefinition::check_step` (exists, roles, from
//! state, version) with `check_required`, `ends` and `clock_effects`; each kind's service
//! (cases, CAPA, nonconformance, …) calls those and adds its own gates and writes.

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::process::{ProcessDefinition, RecordKind, default_definition_of};
use loopdesk_store::cases as ks;
use loopdesk_store::{Conn, Tx};

use crate::{Service, ServiceError, ServiceResult};

fn parse_stored(text: &str) -> ServiceResult<ProcessDefinition> {
    ProcessDefinition::parse(text).map_err(|e| ServiceError::Internal(format!("stored definition: {e}")))
}

/// The definition a type of `kind` starts with now: the newest stored version, or the shipped
/// default stored as version 1 on first use.
pub(crate) async fn current_definition(
    tx: &mut Tx,
    kind: RecordKind,
    record_type: &str,
) -> ServiceResult<(i64, ProcessDefinition)> {
    if let Some((v, text)) = ks::latest_definition(&mut tx.conn(), kind.code(), record_type).await? {
        return Ok((v, parse_stored(&text)?));
    }
    let def = default_definition_of(kind, record_type).ok_or_else(|| {
        DomainError::invalid(
            "type",
            loopdesk_domain::reason!("engine.err.unknown_type", kind = kind.code(), known = kind.types().join(", ")),
        )
    })?;
    let text = serde_json::to_string(&def).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let (v, stored) = ks::seed_definition(&mut tx.conn(), kind.code(), record_type, &text).await?;
    Ok((v, parse_stored(&stored)?))
}

/// The definition a record runs on: the version it started with.
pub(crate) async fn definition_at(
    c: &mut Conn<'_>,
    kind: RecordKind,
    record_type: &str,
    version: i64,
) -> ServiceResult<ProcessDefinition> {
    parse_stored(&ks::definition(c, kind.code(), record_type, version).await?)
}

impl Service {
    /// The current definition of every case type (storing the defaults on first use).
    pub async fn process_definitions(&self, actor: &Actor) -> ServiceResult<Vec<(i64, ProcessDefinition)>> {
        self.process_definitions_of(actor, RecordKind::Case).await
    }

    /// The current definition of every type of `kind`.
    pub async fn process_definitions_of(
        &self,
        actor: &Actor,
        kind: RecordKind,
    ) -> ServiceResult<Vec<(i64, ProcessDefinition)>> {
        actor.require(Permission::ReadCases)?;
        let mut tx = self.store.begin().await?;
        let mut out = Vec::new();
        for t in kind.types() {
            out.push(current_definition(&mut tx, kind, t).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The current definition of every type of every kind, cases first.
    pub async fn all_process_definitions(&self, actor: &Actor) -> ServiceResult<Vec<(i64, ProcessDefinition)>> {
        let mut out = Vec::new();
        for kind in RecordKind::ALL {
            out.extend(self.process_definitions_of(actor, kind).await?);
        }
        Ok(out)
    }

    /// Stores a changed case definition as the next version. Running cases keep theirs.
    pub async fn put_process_definition(
        &self,
        actor: &Actor,
        case_type: &str,
        text: &str,
    ) -> ServiceResult<(i64, ProcessDefinition)> {
        self.put_record_definition(actor, RecordKind::Case, case_type, text).await
    }

    /// Stores a changed definition of a type of `kind` as the next version. Running records keep
    /// theirs. The text must name the same kind and type.
    pub async fn put_record_definition(
        &self,
        actor: &Actor,
        kind: RecordKind,
        record_type: &str,
        text: &str,
    ) -> ServiceResult<(i64, ProcessDefinition)> {
        actor.require(Permission::ManageSettings)?;
        let def = ProcessDefinition::parse(text)?;
        if def.kind != kind {
            return Err(DomainError::invalid(
                "kind",
                loopdesk_domain::reason!("engine.err.wrong_kind", kind = def.kind.code(), wanted = kind.code()),
            )
            .into());
        }
        if def.case_type != record_type {
            return Err(DomainError::invalid(
                "case_type",
                loopdesk_domain::reason!("errors.definition_not", case_type = def.case_type, case_type2 = record_type),
            )
            .into());
        }
        let canonical = serde_json::to_string(&def).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        current_definition(&mut tx, kind, record_type).await?;
        let v = ks::insert_definition(&mut tx.conn(), kind.code(), record_type, &canonical, actor.user_id).await?;
        // Case definitions keep their audit key (`complaint/2`); other kinds are prefixed.
        let key = match kind {
            RecordKind::Case => format!("{record_type}/{v}"),
            k => format!("{}/{record_type}/{v}", k.code()),
        };
        tx.audit(actor, AuditAction::Create, "process_definition", key, None::<&()>, Some(&def)).await?;
        tx.commit().await?;
        self.rules_changed();
        Ok((v, def))
    }
}

//! Asking `domain::scope` about a case: gathering its facts, answering "not found" for a hidden
//! case, and the handling-department setting (a department made to handle every case of a type).

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Scope};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::scope::{CaseAccess, CaseFacts, ListScope, case_access, list_scope};
use loopdesk_store::Conn;
use loopdesk_store::cases::Case;
use loopdesk_store::org;
use loopdesk_store::scope as sc;
use serde::Serialize;

use crate::{Service, ServiceResult};

/// The facts of `k` the rule needs for `actor`. An organisation-wide actor's answer depends on
/// the case alone, so their facts are not read from storage.
pub(crate) async fn facts(c: &mut Conn<'_>, actor: &Actor, k: &Case) -> ServiceResult<CaseFacts> {
    // A confidential case's filer is known only from storage (`case_registrations`).
    if actor.scope == Scope::All && !k.confidential {
        return Ok(CaseFacts {
            case_type: k.case_type.clone(),
            confidential: k.confidential,
            lead_department: k.lead_department_id,
            owner: k.owner_id,
            ..Default::default()
        });
    }
    Ok(sc::case_facts(c, k).await?)
}

/// What the actor may do with `k`.
pub(crate) async fn access(c: &mut Conn<'_>, actor: &Actor, k: &Case) -> ServiceResult<CaseAccess> {
    Ok(case_access(actor, &facts(c, actor, k).await?))
}

/// Whether the actor follows `k` on their own page as a grievance they filed
/// (`domain::scope::follows_own_filing`).
pub(crate) async fn follows_own_filing(c: &mut Conn<'_>, actor: &Actor, k: &Case) -> ServiceResult<bool> {
    Ok(loopdesk_domain::scope::follows_own_filing(actor, &sc::case_facts(c, k).await?))
}

/// The actor's access to `k`, or "not found" when the case is hidden from them.
pub(crate) async fn readable(c: &mut Conn<'_>, actor: &Actor, k: &Case) -> ServiceResult<CaseAccess> {
    let a = access(c, actor, k).await?;
    if a.may_read() { Ok(a) } else { Err(DomainError::NotFound { entity: "case" }.into()) }
}

/// Succeeds when the actor handles `k`: "not found" when it is hidden, "forbidden" when they only
/// take part in it (through a task or an action item).
pub(crate) async fn handled(c: &mut Conn<'_>, actor: &Actor, k: &Case) -> ServiceResult<()> {
    match readable(c, actor, k).await? {
        CaseAccess::Handler => Ok(()),
        _ => Err(DomainError::forbidden("errors.you_take_part_case_through").into()),
    }
}

/// The case list's filter for the actor.
pub(crate) async fn list_filter(c: &mut Conn<'_>, actor: &Actor) -> ServiceResult<ListScope> {
    let handled = match &actor.scope {
        Scope::All => vec![],
        Scope::Departments(ids) => sc::types_handled_by(c, ids).await?,
    };
    Ok(list_scope(actor, handled))
}

/// One department's handling setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlingSetting {
    pub department_id: i64,
    pub case_types: Vec<String>,
}

impl Service {
    /// How far the actor may go with case `id` (pages use it to offer only what will be allowed);
    /// "not found" when it is hidden.
    pub async fn case_access(&self, actor: &Actor, id: i64) -> ServiceResult<CaseAccess> {
        let mut h = self.store.read().await?;
        let k = loopdesk_store::cases::case(&mut h.conn(), id).await.map_err(|e| match e {
            loopdesk_store::StoreError::NotFound => crate::ServiceError::from(DomainError::NotFound { entity: "case" }),
            e => e.into(),
        })?;
        readable(&mut h.conn(), actor, &k).await
    }

    /// Every department's handled case types (departments with none are left out).
    pub async fn handling_departments(&self, actor: &Actor) -> ServiceResult<Vec<HandlingSetting>> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        let rows = sc::handling_departments(&mut h.conn()).await?;
        let mut out: Vec<HandlingSetting> = Vec::new();
        for (t, d) in rows {
            match out.last_mut() {
                Some(last) if last.department_id == d => last.case_types.push(t),
                _ => out.push(HandlingSetting { department_id: d, case_types: vec![t] }),
            }
        }
        Ok(out)
    }

    /// Makes `department_id` handle every case of `case_types` (replacing what it handled).
    /// A confidential type cannot be handed to a department: its narrower rule stands.
    pub async fn set_handled_types(
        &self,
        actor: &Actor,
        department_id: i64,
        case_types: &[String],
    ) -> ServiceResult<HandlingSetting> {
        actor.require(Permission::ManageDepartments)?;
        let mut types: Vec<String> = Vec::new();
        for (i, t) in case_types.iter().enumerate() {
            let t = t.trim();
            if !loopdesk_domain::process::CASE_TYPES.contains(&t) {
                return Err(DomainError::invalid(
                    format!("case_types[{i}]"),
                    loopdesk_domain::reason!(
                        "errors.unknown_case_type_known",
                        case_types = loopdesk_domain::process::CASE_TYPES.join(", ")
                    ),
                )
                .into());
            }
            if t == "grievance" {
                return Err(DomainError::invalid(
                    format!("case_types[{i}]"),
                    "errors.grievances_are_confidential_cannot_handed",
                )
                .into());
            }
            if !types.iter().any(|x| x == t) {
                types.push(t.to_owned());
            }
        }
        types.sort();
        let mut tx = self.store.begin().await?;
        org::department(&mut tx.conn(), department_id).await.map_err(|e| match e {
            loopdesk_store::StoreError::NotFound => {
                crate::ServiceError::from(DomainError::NotFound { entity: "department" })
            }
            e => e.into(),
        })?;
        let mut before: Vec<String> = sc::handling_departments(&mut tx.conn())
            .await?
            .into_iter()
            .filter(|(_, d)| *d == department_id)
            .map(|(t, _)| t)
            .collect();
        before.sort();
        sc::set_types_handled(&mut tx.conn(), department_id, &types, self.now()).await?;
        let after = HandlingSetting { department_id, case_types: types };
        tx.audit(
            actor,
            AuditAction::Update,
            "handling_departments",
            department_id,
            Some(&HandlingSetting { department_id, case_types: before }),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

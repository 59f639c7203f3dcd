//! Roles, permissions and department scoping (spec C1).

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The built-in roles. A user holds one or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    /// 总经理室
    Gm,
    /// 管理者代表
    MgmtRep,
    DeptHead,
    /// 客服/业务员
    Agent,
    Member,
    Qa,
    Technician,
    /// Read-only; sees the audit trail.
    Auditor,
    /// Portal only.
    Customer,
    /// 人力资源: handles employee grievances (004-A).
    Hr,
    /// 财务
    Finance,
}

impl Role {
    pub const ALL: [Role; 12] = [
        Role::Admin,
        Role::Gm,
        Role::MgmtRep,
        Role::DeptHead,
        Role::Agent,
        Role::Member,
        Role::Qa,
        Role::Technician,
        Role::Auditor,
        Role::Customer,
        Role::Hr,
        Role::Finance,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Gm => "gm",
            Role::MgmtRep => "mgmt_rep",
            Role::DeptHead => "dept_head",
            Role::Agent => "agent",
            Role::Member => "member",
            Role::Qa => "qa",
            Role::Technician => "technician",
            Role::Auditor => "auditor",
            Role::Customer => "customer",
            Role::Hr => "hr",
            Role::Finance => "finance",
        }
    }

    pub fn parse(s: &str) -> Result<Role, DomainError> {
        Role::ALL.into_iter().find(|r| r.code() == s.trim()).ok_or_else(|| {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
            DomainError::invalid("role", crate::reason!("errors.unknown_role_known_roles", s, known = known.join(", ")))
        })
    }

    /// Organisation-wide roles see every department; the others see their own subtree.
    pub fn is_org_wide(self) -> bool {
        matches!(self, Role::Admin | Role::Gm | Role::MgmtRep | Role::Qa | Role::Auditor)
    }

    /// Whether the role handles employee grievances (confidential cases).
    pub fn handles_grievances(self) -> bool {
        matches!(self, Role::Admin | Role::Gm | Role::MgmtRep | Role::Hr)
    }

    /// Whether the role records coordination meetings' minutes (customer service, 001 4.2.6).
    pub fn records_meetings(self) -> bool {
        matches!(self, Role::Agent | Role::DeptHead) || self.grants(Permission::ApproveActions)
    }

    /// The permission table. Read it as "who may do what"; it is the single place this is decided.
    pub fn grants(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => !matches!(p, PortalOnly),
            Role::Auditor => matches!(p, SignIn | ReadAudit | ReadUsers | ReadCases | ReadCustomers | ReadReports),
            Role::Gm | Role::MgmtRep => matches!(
                p,
                SignIn
                    | ReadAudit
                    | ReadUsers
                    | ReadCases
                    | WriteCases
                    | ReadCustomers
                    | WriteCustomers
                    | ReadReports
                    | ManageSurveys
                    | ApproveActions
            ),
            Role::DeptHead => {
                matches!(p, SignIn | ReadUsers | ReadCases | WriteCases | ReadCustomers | WriteCustomers | ReadReports)
            }
            Role::Qa => matches!(
                p,
                SignIn | ReadCases | WriteCases | ReadCustomers | ReadReports | ManageSurveys | ApproveActions
            ),
            Role::Agent => matches!(p, SignIn | ReadCases | WriteCases | ReadCustomers | WriteCustomers),
            Role::Technician | Role::Member => matches!(p, SignIn | ReadCases | WriteCases | ReadCustomers),
            Role::Customer => matches!(p, PortalOnly),
            // HR sees and handles employee grievances only (the case scope keeps it to them).
            Role::Hr => matches!(p, SignIn | ReadCases | WriteCases | ReadUsers),
            Role::Finance => matches!(p, SignIn | ReadCases | ReadCustomers | ReadReports),
        }
    }
}

/// What can be asked of the system. Later capabilities add their own variants here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Use the staff web UI and API at all.
    SignIn,
    ManageUsers,
    ReadUsers,
    ManageDepartments,
    ReadAudit,
    ReadCases,
    WriteCases,
    ReadCustomers,
    WriteCustomers,
    ReadReports,
    ManageSurveys,
    ApproveActions,
    ManageSettings,
    PortalOnly,
}

/// Which departments' records an actor may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// The ids of the actor's department and all departments below it.
    Departments(Vec<i64>),
}

impl Scope {
    pub fn includes(&self, department_id: Option<i64>) -> bool {
        match (self, department_id) {
            (Scope::All, _) => true,
            (Scope::Departments(ids), Some(d)) => ids.contains(&d),
            (Scope::Departments(_), None) => false,
        }
    }
}

/// What kind of actor this is. Decided by how the actor was made, never by a user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in user or an API token's owner.
    Staff,
    /// The operator at the command line or a background job.
    System,
    /// A customer on the portal (no account): holds no role, so passes no permission check;
    /// the portal's own service methods (submit, follow with the tracking code) serve it.
    Portal,
}

/// User names the built-in actors are audited under; no user may be created with one.
pub const RESERVED_USERNAMES: [&str; 4] = ["system", "portal", "customer", "survey-respondent"];

/// Whoever is acting: a signed-in user, an API token's owner, the portal, or the system itself
/// (CLI, scheduler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: String,
    pub department_id: Option<i64>,
    pub roles: Vec<Role>,
    pub scope: Scope,
    pub kind: ActorKind,
}

impl Actor {
    /// The operator at the command line or a background job: may do everything, audited as `system`.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            username: "system".into(),
            department_id: None,
            roles: vec![Role::Admin],
            scope: Scope::All,
            kind: ActorKind::System,
        }
    }

    /// A customer on the portal, audited as `portal`: no roles, no departments.
    pub fn portal() -> Actor {
        Actor {
            user_id: None,
            username: "portal".into(),
            department_id: None,
            roles: vec![],
            scope: Scope::Departments(vec![]),
            kind: ActorKind::Portal,
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.roles.iter().any(|r| r.grants(p))
    }

    pub fn require(&self, p: Permission) -> Result<(), DomainError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(DomainError::forbidden(crate::reason!("errors.your_roles_do_not_allow", p = format!("{:?}", p))))
        }
    }

    /// Computes the scope from roles and the department subtree (given by the caller, who can read the tree).
    pub fn scope_for(roles: &[Role], subtree: Vec<i64>) -> Scope {
        if roles.iter().any(|r| r.is_org_wide()) { Scope::All } else { Scope::Departments(subtree) }
    }

    /// Permission plus department scoping in one check, for a record owned by `department_id`.
    pub fn require_in_scope(&self, p: Permission, department_id: Option<i64>) -> Result<(), DomainError> {
        self.require(p)?;
        if self.scope.includes(department_id) {
            Ok(())
        } else {
            Err(DomainError::forbidden("errors.record_belongs_department_outside_your"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: Vec<Role>, subtree: Vec<i64>) -> Actor {
        let scope = Actor::scope_for(&roles, subtree.clone());
        Actor {
            user_id: Some(1),
            username: "u".into(),
            department_id: subtree.first().copied(),
            roles,
            scope,
            kind: ActorKind::Staff,
        }
    }

    #[test]
    fn roles_round_trip_through_their_codes() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code()).unwrap(), r);
        }
        let err = Role::parse("boss").unwrap_err();
        assert!(matches!(err, DomainError::Invalid { ref field, .. } if field == "role"));
    }

    #[test]
    fn only_admin_manages_users_and_auditor_only_reads() {
        for r in Role::ALL {
            assert_eq!(r.grants(Permission::ManageUsers), r == Role::Admin, "{r:?}");
        }
        assert!(Role::Auditor.grants(Permission::ReadAudit));
        assert!(!Role::Auditor.grants(Permission::WriteCases));
        assert!(!Role::Agent.grants(Permission::ReadAudit));
        assert!(!Role::Customer.grants(Permission::SignIn));
    }

    #[test]
    fn the_portal_actor_passes_no_permission_check() {
        let p = Actor::portal();
        assert_eq!(p.kind, ActorKind::Portal);
        for perm in [Permission::SignIn, Permission::ReadCases, Permission::WriteCases, Permission::PortalOnly] {
            assert!(!p.can(perm), "{perm:?}");
        }
    }

    #[test]
    fn hr_handles_grievances_and_finance_only_reads() {
        assert!(Role::Hr.handles_grievances());
        assert!(Role::Hr.grants(Permission::WriteCases));
        assert!(!Role::Hr.grants(Permission::ReadCustomers));
        assert!(!Role::Finance.handles_grievances());
        assert!(!Role::Finance.grants(Permission::WriteCases));
        assert!(Role::Finance.grants(Permission::ReadReports));
        assert!(!Role::Agent.handles_grievances());
    }

    #[test]
    fn department_roles_are_scoped_to_their_subtree() {
        let agent = actor(vec![Role::Agent], vec![10, 11]);
        assert!(agent.require_in_scope(Permission::ReadCases, Some(11)).is_ok());
        assert!(agent.require_in_scope(Permission::ReadCases, Some(12)).is_err());
        let gm = actor(vec![Role::Gm, Role::Agent], vec![10]);
        assert!(gm.require_in_scope(Permission::ReadCases, Some(12)).is_ok());
    }
}

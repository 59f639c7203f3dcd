//! Who sees a case and everything hanging from it (issue #16 item 1, issue #13 item 7).
//!
//! One function, [`case_access`], decides from plain facts whether an actor may read a case, and
//! whether they handle it or only take part in it (answer their own department's task, complete
//! their own action item). Every read path of the service asks it, and the case list's SQL filter
//! is written to say the same thing (a test in the service crate checks they agree). Search and
//! any later reader call it with the same facts.
//!
//! The rule, for an actor whose roles allow reading cases at all:
//! - an actor whose only case-handling role is HR ([`grievances_only`]) handles every employee
//!   grievance, whichever department leads it, and sees no other case;
//! - a confidential case (employee grievance) is handled only by the roles cleared for it
//!   ([`Role::handles_grievances`]); the employee who filed it follows it ([`CaseAccess::Filer`]:
//!   the steps taken and when the next fall due, at /my/grievances, never the case file); no
//!   relation below opens it to anyone else;
//! - organisation-wide roles see every other case;
//! - a department-scoped actor (their department and the departments below it) handles a case
//!   led by, registered by, or "handled" (per case type) by a department in their scope, a case
//!   they own or registered themself, and a case without a lead department yet (the intake queue);
//! - they take part in (read, and act only on what is theirs) a case one of whose tasks went to a
//!   department in their scope, or one of whose meeting action items they own;
//! - anything else is hidden, and hidden answers "not found", never "forbidden".

use crate::access::{Actor, ActorKind, Permission, Role, Scope};
use crate::case::CaseType;
use crate::customer::Coded;

/// The facts about one case that decide who sees it. Every list is small (a case has a few
/// tasks and action items); the caller reads them from storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFacts {
    /// The case type's code (`complaint`, `grievance`…).
    pub case_type: String,
    pub confidential: bool,
    pub lead_department: Option<i64>,
    /// The department of the user who registered the case, as it was then.
    pub registering_department: Option<i64>,
    /// The user who registered the case.
    pub registered_by: Option<i64>,
    pub owner: Option<i64>,
    /// Departments that received one of the case's tasks (信息传递单).
    pub task_departments: Vec<i64>,
    /// Owners of the case's meeting action items.
    pub action_owners: Vec<i64>,
    /// Departments set to handle every case of this case type (e.g. customer service for
    /// complaints, seed 001 2.1).
    pub handling_departments: Vec<i64>,
}

/// How far an actor may go with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaseAccess {
    /// Not visible: the case and everything hanging from it answer "not found".
    Hidden,
    /// The employee who filed a confidential case (a grievance): follows its steps on their own
    /// page ([`follows_own_filing`]); the case file and everything hanging from it stay hidden.
    Filer,
    /// Reads the case; acts only on their own task or action item.
    Participant,
    /// Reads and works the case (as far as their permissions go).
    Handler,
}

impl CaseAccess {
    /// Reads the case file (and its tasks, meetings, attachments, clocks…).
    pub fn may_read(self) -> bool {
        matches!(self, CaseAccess::Participant | CaseAccess::Handler)
    }

    pub fn may_handle(self) -> bool {
        self == CaseAccess::Handler
    }
}

/// Whether the actor's department scope covers `department`.
fn covers(scope: &Scope, department: Option<i64>) -> bool {
    scope.includes(department)
}

/// Whether the actor is cleared for confidential cases (employee grievances).
fn cleared(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| r.handles_grievances())
}

/// Whether the actor's only case-handling role is HR (finance beside it reads nothing more): they
/// handle every grievance, in any department, and see no other case.
pub fn grievances_only(actor: &Actor) -> bool {
    actor.roles.contains(&Role::Hr) && actor.roles.iter().all(|r| matches!(r, Role::Hr | Role::Finance))
}

/// The one scope rule. See the module documentation.
pub fn case_access(actor: &Actor, k: &CaseFacts) -> CaseAccess {
    if actor.kind == ActorKind::Portal || !actor.can(Permission::ReadCases) {
        return CaseAccess::Hidden;
    }
    let me = |u: Option<i64>| u.is_some() && u == actor.user_id;
    if grievances_only(actor) {
        return if k.case_type == CaseType::Grievance.code() { CaseAccess::Handler } else { CaseAccess::Hidden };
    }
    if k.confidential {
        return if cleared(actor) {
            CaseAccess::Handler
        } else if me(k.registered_by) {
            CaseAccess::Filer
        } else {
            CaseAccess::Hidden
        };
    }
    let scope = &actor.scope;
    if *scope == Scope::All {
        return CaseAccess::Handler;
    }
    let handles = k.lead_department.is_none()
        || covers(scope, k.lead_department)
        || covers(scope, k.registering_department)
        || me(k.owner)
        || me(k.registered_by)
        || k.handling_departments.iter().any(|d| covers(scope, Some(*d)));
    if handles {
        return CaseAccess::Handler;
    }
    let takes_part =
        k.task_departments.iter().any(|d| covers(scope, Some(*d))) || k.action_owners.iter().any(|u| me(Some(*u)));
    if takes_part { CaseAccess::Participant } else { CaseAccess::Hidden }
}

/// Whether the actor follows `k` as a grievance they filed themself (/my/grievances): they
/// registered it and the rule does not hide it from them. Whoever else reads it does so on the
/// case page, not here.
pub fn follows_own_filing(actor: &Actor, k: &CaseFacts) -> bool {
    k.case_type == CaseType::Grievance.code()
        && k.registered_by.is_some()
        && k.registered_by == actor.user_id
        && case_access(actor, k) != CaseAccess::Hidden
}

/// Whether the actor may answer a task sent to `task_department` on a case they may read:
/// the department the task went to (or one above it) answers, nobody else.
pub fn may_answer_task(actor: &Actor, access: CaseAccess, task_department: i64) -> bool {
    access.may_read() && actor.can(Permission::WriteCases) && covers(&actor.scope, Some(task_department))
}

/// Whether the actor may complete a meeting action item owned by `owner`: its owner, or whoever
/// approves actions and handles the case.
pub fn may_complete_action(actor: &Actor, access: CaseAccess, owner: Option<i64>) -> bool {
    if !access.may_read() || !actor.can(Permission::WriteCases) {
        return false;
    }
    (owner.is_some() && owner == actor.user_id) || (access.may_handle() && actor.can(Permission::ApproveActions))
}

/// The case list's scope filter, as plain values the store turns into SQL: what
/// [`case_access`] says for every case, expressed for a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListScope {
    /// `None`: no department restriction (organisation-wide roles).
    pub departments: Option<Vec<i64>>,
    pub user_id: Option<i64>,
    /// Case types one of the actor's departments handles.
    pub handled_types: Vec<String>,
    /// `Some`: only cases of these types, whatever the departments (HR: grievances only).
    pub only_types: Option<Vec<String>>,
    /// Confidential cases are listed (to those cleared to handle them; a filer follows theirs on
    /// their own page, not in the list).
    pub include_confidential: bool,
    /// Nothing at all is visible (the portal, or no permission to read cases).
    pub nothing: bool,
}

/// The list filter for an actor; `handled_types` are the case types a department in the actor's
/// scope is set to handle.
pub fn list_scope(actor: &Actor, handled_types: Vec<String>) -> ListScope {
    let nothing = actor.kind == ActorKind::Portal || !actor.can(Permission::ReadCases);
    if grievances_only(actor) {
        return ListScope {
            departments: None,
            user_id: actor.user_id,
            handled_types: vec![],
            only_types: Some(vec![CaseType::Grievance.code().to_owned()]),
            include_confidential: true,
            nothing,
        };
    }
    let departments = match &actor.scope {
        Scope::All => None,
        Scope::Departments(ids) => Some(ids.clone()),
    };
    ListScope {
        handled_types: if departments.is_some() { handled_types } else { vec![] },
        departments,
        user_id: actor.user_id,
        only_types: None,
        include_confidential: cleared(actor),
        nothing,
    }
}

/// The visibilities of knowledge-base articles an actor may read (issue #17): signed-in staff
/// read every published article (and the drafts behind them); a customer on the portal reads
/// those shown on the portal and public ones; anyone else public ones only.
pub fn article_visibilities(actor: &Actor) -> &'static [crate::kb::Visibility] {
    use crate::kb::Visibility as V;
    if actor.kind != ActorKind::Portal && actor.can(Permission::SignIn) {
        &[V::Internal, V::Portal, V::Public]
    } else if actor.kind == ActorKind::Portal {
        &[V::Portal, V::Public]
    } else {
        &[V::Public]
    }
}

/// Whether an actor reads an article of this visibility (its published revision).
pub fn article_readable(actor: &Actor, visibility: crate::kb::Visibility) -> bool {
    article_visibilities(actor).contains(&visibility)
}

/// Whether an actor reads an article's drafts and history: staff who sign in.
pub fn article_drafts_readable(actor: &Actor) -> bool {
    actor.kind != ActorKind::Portal && actor.can(Permission::SignIn)
}

/// How far an actor reaches into one service order (issue #19): the assigned technician works
/// their own orders; the customer-service (service) and sales (供销部) departments, organisation-wide
/// roles and whoever opened the order handle every one; finance reads them; anyone else is told
/// "not found".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceOrderAccess {
    Hidden,
    /// Reads the order (finance).
    Reader,
    /// The assigned technician: reads and records the visit, lines and sign-off.
    Technician,
    Handler,
}

/// Whether the actor's department (of kind `department_kind`) handles every service order.
fn handles_service_orders(actor: &Actor, department_kind: Option<&str>) -> bool {
    actor.kind == ActorKind::Staff
        && actor.can(Permission::ReadCases)
        && (actor.roles.iter().any(|r| r.is_org_wide() || *r == Role::Admin)
            || actor.user_id.is_none()
            || matches!(department_kind, Some("customer_service") | Some("sales")) && !grievances_only(actor))
}

/// [`ServiceOrderAccess`] for one order, from its technician and its creator.
pub fn service_order_access(
    actor: &Actor,
    department_kind: Option<&str>,
    technician_id: Option<i64>,
    created_by: Option<i64>,
) -> ServiceOrderAccess {
    if actor.kind != ActorKind::Staff || !actor.can(Permission::ReadCases) {
        return ServiceOrderAccess::Hidden;
    }
    if handles_service_orders(actor, department_kind) || (actor.user_id.is_some() && actor.user_id == created_by) {
        return ServiceOrderAccess::Handler;
    }
    if actor.user_id.is_some() && actor.user_id == technician_id {
        return ServiceOrderAccess::Technician;
    }
    if actor.roles.contains(&Role::Finance) {
        return ServiceOrderAccess::Reader;
    }
    ServiceOrderAccess::Hidden
}

/// The service-order list's filter: `None` lists every order; `Some(user)` only those the user is
/// assigned to or opened; the portal and actors without case access get `Some(None)` (nothing).
pub fn service_order_list_scope(actor: &Actor, department_kind: Option<&str>) -> Option<Option<i64>> {
    if actor.kind != ActorKind::Staff || !actor.can(Permission::ReadCases) {
        return Some(None);
    }
    if handles_service_orders(actor, department_kind) || actor.roles.contains(&Role::Finance) {
        return None;
    }
    Some(actor.user_id)
}

#[cfg(test)]
mod service_order_tests {
    use super::*;

    fn staff(id: i64, roles: Vec<Role>) -> Actor {
        Actor {
            user_id: Some(id),
            username: format!("u{id}"),
            department_id: Some(1),
            roles,
            scope: Scope::Departments(vec![1]),
            kind: ActorKind::Staff,
        }
    }

    #[test]
    fn technician_sees_only_assigned_orders() {
        let t = staff(7, vec![Role::Technician]);
        assert_eq!(service_order_access(&t, Some("engineering"), Some(7), None), ServiceOrderAccess::Technician);
        assert_eq!(service_order_access(&t, Some("engineering"), Some(8), None), ServiceOrderAccess::Hidden);
        assert_eq!(service_order_list_scope(&t, Some("engineering")), Some(Some(7)));
    }

    #[test]
    fn service_department_and_org_wide_roles_see_all() {
        let agent = staff(3, vec![Role::Agent]);
        assert_eq!(service_order_access(&agent, Some("customer_service"), Some(7), None), ServiceOrderAccess::Handler);
        assert_eq!(service_order_access(&agent, Some("quality"), Some(7), None), ServiceOrderAccess::Hidden);
        let rep = staff(4, vec![Role::MgmtRep]);
        assert_eq!(service_order_access(&rep, Some("quality"), None, None), ServiceOrderAccess::Handler);
        assert_eq!(service_order_list_scope(&rep, None), None);
        let fin = staff(5, vec![Role::Finance]);
        assert_eq!(service_order_access(&fin, Some("finance"), None, None), ServiceOrderAccess::Reader);
        let hr = staff(6, vec![Role::Hr]);
        assert_eq!(service_order_access(&hr, Some("customer_service"), None, None), ServiceOrderAccess::Hidden);
        let mut portal = staff(9, vec![]);
        portal.kind = ActorKind::Portal;
        assert_eq!(service_order_list_scope(&portal, None), Some(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: i64 = 7;
    const MY_DEPT: i64 = 10;
    const CHILD_DEPT: i64 = 11;
    const OTHER_DEPT: i64 = 20;
    const OTHER_USER: i64 = 99;

    fn actor(role: Role) -> Actor {
        actor_with(vec![role])
    }

    fn actor_with(roles: Vec<Role>) -> Actor {
        let scope = Actor::scope_for(&roles, vec![MY_DEPT, CHILD_DEPT]);
        Actor {
            user_id: Some(ME),
            username: "u".into(),
            department_id: Some(MY_DEPT),
            roles,
            scope,
            kind: ActorKind::Staff,
        }
    }

    /// A case led by another department with every relation to the actor cut.
    fn unrelated(case_type: &str) -> CaseFacts {
        CaseFacts {
            case_type: case_type.into(),
            confidential: case_type == "grievance",
            lead_department: Some(OTHER_DEPT),
            registering_department: Some(OTHER_DEPT),
            registered_by: Some(OTHER_USER),
            owner: Some(OTHER_USER),
            task_departments: vec![OTHER_DEPT],
            action_owners: vec![OTHER_USER],
            handling_departments: vec![],
        }
    }

    #[derive(Debug, Clone, Copy)]
    enum Relation {
        None,
        LeadDepartment,
        LeadChildDepartment,
        RegisteringDepartment,
        RegisteredByMe,
        Owner,
        HandlingDepartment,
        TaskDepartment,
        ActionOwner,
        IntakeQueue,
    }

    const RELATIONS: [Relation; 10] = [
        Relation::None,
        Relation::LeadDepartment,
        Relation::LeadChildDepartment,
        Relation::RegisteringDepartment,
        Relation::RegisteredByMe,
        Relation::Owner,
        Relation::HandlingDepartment,
        Relation::TaskDepartment,
        Relation::ActionOwner,
        Relation::IntakeQueue,
    ];

    fn with(rel: Relation, case_type: &str) -> CaseFacts {
        let mut k = unrelated(case_type);
        match rel {
            Relation::None => {}
            Relation::LeadDepartment => k.lead_department = Some(MY_DEPT),
            Relation::LeadChildDepartment => k.lead_department = Some(CHILD_DEPT),
            Relation::RegisteringDepartment => k.registering_department = Some(MY_DEPT),
            Relation::RegisteredByMe => k.registered_by = Some(ME),
            Relation::Owner => k.owner = Some(ME),
            Relation::HandlingDepartment => k.handling_departments = vec![OTHER_DEPT + 1, MY_DEPT],
            Relation::TaskDepartment => k.task_departments = vec![OTHER_DEPT, CHILD_DEPT],
            Relation::ActionOwner => k.action_owners = vec![OTHER_USER, ME],
            Relation::IntakeQueue => k.lead_department = None,
        }
        k
    }

    /// What the rule says for a department-scoped role, by relation, for an ordinary case type.
    fn expected_scoped(rel: Relation) -> CaseAccess {
        use CaseAccess::*;
        match rel {
            Relation::None => Hidden,
            Relation::TaskDepartment | Relation::ActionOwner => Participant,
            _ => Handler,
        }
    }

    #[test]
    fn case_access_table_role_by_relation_by_type() {
        use CaseAccess::*;
        for role in Role::ALL {
            for rel in RELATIONS {
                for case_type in ["complaint", "inquiry", "grievance"] {
                    let got = case_access(&actor(role), &with(rel, case_type));
                    let want = if role == Role::Customer {
                        // Portal-only accounts never read staff cases.
                        Hidden
                    } else if role == Role::Hr {
                        // HR: every grievance in any department, and no other case.
                        if case_type == "grievance" { Handler } else { Hidden }
                    } else if case_type == "grievance" {
                        // Confidential: only the cleared roles, whatever the relation; the
                        // employee who filed it follows it.
                        if role.handles_grievances() {
                            Handler
                        } else if matches!(rel, Relation::RegisteredByMe) {
                            Filer
                        } else {
                            Hidden
                        }
                    } else if role.is_org_wide() {
                        Handler
                    } else {
                        expected_scoped(rel)
                    };
                    assert_eq!(got, want, "{role:?} × {rel:?} × {case_type}");
                }
            }
        }
    }

    /// Actors holding several roles: HR beside finance still sees grievances only; HR beside a
    /// case-handling role handles every grievance and the other role's cases as that role would.
    #[test]
    fn case_access_table_for_hr_and_finance_role_sets() {
        use CaseAccess::*;
        for rel in RELATIONS {
            for case_type in ["complaint", "inquiry", "grievance"] {
                let k = with(rel, case_type);
                let g = case_type == "grievance";
                let hr_fin = case_access(&actor_with(vec![Role::Hr, Role::Finance]), &k);
                assert_eq!(hr_fin, if g { Handler } else { Hidden }, "hr+finance × {rel:?} × {case_type}");
                let hr_agent = case_access(&actor_with(vec![Role::Hr, Role::Agent]), &k);
                assert_eq!(
                    hr_agent,
                    if g { Handler } else { expected_scoped(rel) },
                    "hr+agent × {rel:?} × {case_type}"
                );
                let hr_gm = case_access(&actor_with(vec![Role::Hr, Role::Gm]), &k);
                assert_eq!(hr_gm, Handler, "hr+gm × {rel:?} × {case_type}");
                let finance = case_access(&actor(Role::Finance), &k);
                let want = match (g, rel) {
                    (true, Relation::RegisteredByMe) => Filer,
                    (true, _) => Hidden,
                    (false, rel) => expected_scoped(rel),
                };
                assert_eq!(finance, want, "finance × {rel:?} × {case_type}");
            }
        }
    }

    #[test]
    fn hr_sees_a_confidential_case_of_another_type_no_more_than_any_other_case() {
        let mut k = with(Relation::LeadDepartment, "complaint");
        k.confidential = true;
        assert_eq!(case_access(&actor(Role::Hr), &k), CaseAccess::Hidden);
        assert_eq!(case_access(&actor(Role::Gm), &k), CaseAccess::Handler);
    }

    #[test]
    fn the_employee_who_filed_a_grievance_follows_it_but_does_not_read_the_file() {
        let member = actor(Role::Member);
        let mine = with(Relation::RegisteredByMe, "grievance");
        let access = case_access(&member, &mine);
        assert_eq!(access, CaseAccess::Filer);
        assert!(!access.may_read() && !access.may_handle());
        assert!(follows_own_filing(&member, &mine));
        assert!(!may_answer_task(&member, access, CHILD_DEPT));
        assert!(!may_complete_action(&member, access, Some(ME)));
        // Someone else's grievance, or a complaint they registered, is not "their grievance".
        assert!(!follows_own_filing(&member, &with(Relation::None, "grievance")));
        assert!(!follows_own_filing(&member, &with(Relation::RegisteredByMe, "complaint")));
        assert!(!follows_own_filing(&actor(Role::Hr), &with(Relation::None, "grievance")));
        // A cleared filer handles it and still follows it on their page.
        let hr = actor(Role::Hr);
        assert_eq!(case_access(&hr, &mine), CaseAccess::Handler);
        assert!(follows_own_filing(&hr, &mine));
        // The portal files no grievance and follows none here.
        assert!(!follows_own_filing(&Actor::portal(), &mine));
    }

    #[test]
    fn a_grievance_task_recipient_or_action_owner_sees_nothing() {
        for role in
            [Role::Agent, Role::Member, Role::DeptHead, Role::Qa, Role::Auditor, Role::Technician, Role::Finance]
        {
            for rel in [Relation::TaskDepartment, Relation::ActionOwner, Relation::Owner, Relation::LeadDepartment] {
                let a = actor(role);
                let access = case_access(&a, &with(rel, "grievance"));
                assert_eq!(access, CaseAccess::Hidden, "{role:?} {rel:?}");
                assert!(!may_answer_task(&a, access, CHILD_DEPT));
                assert!(!may_complete_action(&a, access, Some(ME)));
            }
        }
    }

    #[test]
    fn the_portal_and_the_system_are_their_own_actors() {
        let k = with(Relation::IntakeQueue, "complaint");
        assert_eq!(case_access(&Actor::portal(), &k), CaseAccess::Hidden);
        assert_eq!(case_access(&Actor::system(), &k), CaseAccess::Handler);
        assert_eq!(case_access(&Actor::system(), &with(Relation::None, "grievance")), CaseAccess::Handler);
        assert!(list_scope(&Actor::portal(), vec![]).nothing);
    }

    #[test]
    fn a_task_department_answers_its_own_task_only() {
        let a = actor(Role::Member);
        let access = case_access(&a, &with(Relation::TaskDepartment, "complaint"));
        assert_eq!(access, CaseAccess::Participant);
        assert!(may_answer_task(&a, access, CHILD_DEPT));
        assert!(!may_answer_task(&a, access, OTHER_DEPT));
        assert!(!may_answer_task(&a, CaseAccess::Hidden, CHILD_DEPT));
        // Read-only roles answer nothing.
        let auditor = actor(Role::Auditor);
        assert!(!may_answer_task(&auditor, CaseAccess::Handler, CHILD_DEPT));
    }

    #[test]
    fn an_action_item_is_completed_by_its_owner_or_an_approver_handling_the_case() {
        let owner = actor(Role::Member);
        let access = case_access(&owner, &with(Relation::ActionOwner, "complaint"));
        assert!(may_complete_action(&owner, access, Some(ME)));
        assert!(!may_complete_action(&owner, access, Some(OTHER_USER)));
        let qa = actor(Role::Qa);
        assert!(may_complete_action(&qa, CaseAccess::Handler, Some(OTHER_USER)));
        assert!(!may_complete_action(&qa, CaseAccess::Participant, Some(OTHER_USER)));
    }

    #[test]
    fn the_list_scope_carries_the_same_facts() {
        let a = actor(Role::Agent);
        let s = list_scope(&a, vec!["complaint".into()]);
        assert_eq!(s.departments, Some(vec![MY_DEPT, CHILD_DEPT]));
        assert_eq!(s.user_id, Some(ME));
        assert!(!s.include_confidential && !s.nothing);
        let gm = list_scope(&actor(Role::Gm), vec![]);
        assert_eq!(gm.departments, None);
        assert!(gm.include_confidential);
        assert!(!list_scope(&actor(Role::Qa), vec![]).include_confidential);
        assert_eq!(gm.only_types, None);
        // HR: every department's grievances and nothing else.
        for roles in [vec![Role::Hr], vec![Role::Hr, Role::Finance]] {
            let hr = list_scope(&actor_with(roles), vec!["complaint".into()]);
            assert_eq!(hr.departments, None);
            assert_eq!(hr.only_types, Some(vec!["grievance".to_owned()]));
            assert!(hr.include_confidential && !hr.nothing);
        }
        // HR beside another role lists grievances beside that role's cases.
        let hr_agent = list_scope(&actor_with(vec![Role::Hr, Role::Agent]), vec![]);
        assert_eq!(hr_agent.only_types, None);
        assert!(hr_agent.include_confidential);
        assert_eq!(hr_agent.departments, Some(vec![MY_DEPT, CHILD_DEPT]));
        let finance = list_scope(&actor(Role::Finance), vec![]);
        assert!(!finance.include_confidential && finance.only_types.is_none());
    }
}

/// The facts about one CAPA or nonconformance notice that decide who sees it (issue #18).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualityFacts {
    pub lead_department: Option<i64>,
    pub owner: Option<i64>,
    /// Owners of its actions.
    pub action_owners: Vec<i64>,
    /// Departments of its actions.
    pub action_departments: Vec<i64>,
}

/// Who sees a CAPA or nonconformance notice: quality, the management representative, the GM and
/// administrators see all; a department-scoped actor sees those led by a department in their
/// scope, those they own, and those with an action owned by them or given to a department in
/// their scope. Anything else is hidden (answered "not found").
pub fn quality_record_visible(actor: &Actor, r: &QualityFacts) -> bool {
    if actor.kind == ActorKind::Portal || !actor.can(Permission::ReadCases) {
        return false;
    }
    if actor.kind == ActorKind::System
        || actor.roles.iter().any(|x| matches!(x, Role::Qa | Role::MgmtRep | Role::Gm | Role::Admin))
    {
        return true;
    }
    let me = actor.user_id;
    covers(&actor.scope, r.lead_department)
        || (me.is_some() && (r.owner == me || r.action_owners.iter().any(|o| Some(*o) == me)))
        || r.action_departments.iter().any(|d| covers(&actor.scope, Some(*d)))
}

/// The facts about one follow-up visit (回访, issue #20 item 7) that decide who sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitFacts {
    /// The lead department of the record visited (the case's lead department).
    pub department: Option<i64>,
    /// The person the visit is assigned to (of any department, 001 4.5).
    pub assignee: Option<i64>,
}

/// How far an actor may go with a follow-up visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VisitAccess {
    Hidden,
    /// Sees the visit and its outcome (the lead department's people, readers of reports).
    Reader,
    /// Records the outcome and assigns it: its assignee, and case handlers of the department.
    Visitor,
}

/// Who sees and records a follow-up visit: organisation-wide actors and the lead department's
/// subtree (with case-writing rights to record), and the assignee, whatever their department.
pub fn visit_access(actor: &Actor, v: &VisitFacts) -> VisitAccess {
    if actor.kind == ActorKind::Portal || !actor.can(Permission::SignIn) {
        return VisitAccess::Hidden;
    }
    let mine = actor.user_id.is_some() && actor.user_id == v.assignee;
    if mine && actor.can(Permission::ReadCases) {
        return VisitAccess::Visitor;
    }
    let in_scope = match (&actor.scope, v.department) {
        (Scope::All, _) => true,
        (Scope::Departments(ids), Some(d)) => ids.contains(&d),
        // A visit without a lead department sits with customer service's queue, like intake.
        (Scope::Departments(_), None) => true,
    };
    if !in_scope || !actor.can(Permission::ReadCases) {
        return VisitAccess::Hidden;
    }
    if actor.can(Permission::WriteCases) { VisitAccess::Visitor } else { VisitAccess::Reader }
}

#[cfg(test)]
mod visit_tests {
    use super::*;

    fn staff(roles: Vec<Role>, user: i64, scope: Scope) -> Actor {
        Actor {
            user_id: Some(user),
            username: format!("u{user}"),
            department_id: None,
            roles,
            scope,
            kind: ActorKind::Staff,
        }
    }

    #[test]
    fn the_assignee_records_whatever_their_department_and_others_stay_out() {
        let v = VisitFacts { department: Some(1), assignee: Some(7) };
        let other_dept = Scope::Departments(vec![2]);
        assert_eq!(visit_access(&staff(vec![Role::Member], 7, other_dept.clone()), &v), VisitAccess::Visitor);
        assert_eq!(visit_access(&staff(vec![Role::Agent], 8, other_dept), &v), VisitAccess::Hidden);
        assert_eq!(visit_access(&staff(vec![Role::Agent], 8, Scope::Departments(vec![1])), &v), VisitAccess::Visitor);
        assert_eq!(visit_access(&staff(vec![Role::Auditor], 9, Scope::All), &v), VisitAccess::Reader);
        assert_eq!(visit_access(&Actor::portal(), &v), VisitAccess::Hidden);
    }
}

//! Departments and users (spec C1).

use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission, Role};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::locale::Locale;
use loopdesk_domain::org::{
    DepartmentCode, Username, check_parent, check_password, parse_department_kind, required_text,
};
use loopdesk_domain::page::{Page, Paged};
use loopdesk_store::org::{self, Department, DepartmentFields, User, UserFields, UserFilter};
use serde::Deserialize;

use crate::error::StoreResultExt;
use crate::{Service, ServiceError, ServiceResult, password};

#[derive(Debug, Clone, Deserialize)]
pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    pub roles: Vec<String>,
    pub locale: Option<String>,
    pub password: String,
}

/// A partial update: fields left out keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserPatch {
    pub version: i64,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department_id: Option<Option<i64>>,
    pub roles: Option<Vec<String>>,
    pub locale: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
    /// Needed, and checked, when users change their own password.
    pub current_password: Option<String>,
}

fn optional_text(field: &str, v: Option<&str>, max: usize) -> ServiceResult<Option<String>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => Ok(Some(required_text(field, t, max)?)),
    }
}

fn parse_email(v: Option<&str>) -> ServiceResult<Option<String>> {
    let e = optional_text("email", v, 254)?;
    if let Some(e) = &e
        && !(e.contains('@') && !e.starts_with('@') && !e.ends_with('@') && !e.contains(' '))
    {
        return Err(DomainError::invalid("email", "errors.not_e_mail_address_2").into());
    }
    Ok(e)
}

fn parse_roles(roles: &[String]) -> ServiceResult<Vec<Role>> {
    if roles.is_empty() {
        return Err(DomainError::invalid("roles", "errors.at_least_one_role_required").into());
    }
    let mut out = roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn parse_locale(v: Option<&str>, default: Locale) -> ServiceResult<Locale> {
    match v {
        None => Ok(default),
        Some(s) => Ok(Locale::parse(s).ok_or_else(|| DomainError::invalid("locale", "errors.must_zh_cn_en"))?),
    }
}

impl Service {
    pub async fn departments(&self, actor: &Actor) -> ServiceResult<Vec<Department>> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        Ok(org::departments(&mut h.conn()).await?)
    }

    pub async fn department(&self, actor: &Actor, id: i64) -> ServiceResult<Department> {
        actor.require(Permission::SignIn)?;
        let mut h = self.store.read().await?;
        org::department(&mut h.conn(), id).await.entity("department")
    }

    pub async fn create_department(&self, actor: &Actor, input: &DepartmentInput) -> ServiceResult<Department> {
        actor.require(Permission::ManageDepartments)?;
        let code = DepartmentCode::parse(&input.code)?;
        let name = required_text("name", &input.name, 100)?;
        let kind = parse_department_kind(&input.kind)?;
        let mut tx = self.store.begin().await?;
        if let Some(p) = input.parent_id {
            org::department(&mut tx.conn(), p)
                .await
                .map_err(|_| DomainError::invalid("parent_id", "errors.no_such_department"))?;
        }
        let fields = DepartmentFields { code: code.as_str(), name: &name, kind: &kind, parent_id: input.parent_id };
        let d = org::insert_department(&mut tx.conn(), &fields).await.entity("department")?;
        tx.audit(actor, AuditAction::Create, "department", d.id, None::<&()>, Some(&d)).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(d)
    }

    pub async fn update_department(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        input: &DepartmentInput,
    ) -> ServiceResult<Department> {
        actor.require(Permission::ManageDepartments)?;
        let code = DepartmentCode::parse(&input.code)?;
        let name = required_text("name", &input.name, 100)?;
        let kind = parse_department_kind(&input.kind)?;
        let mut tx = self.store.begin().await?;
        // The cycle check and the write must see one tree: two moves at once could otherwise
        // make two departments each other's parent.
        org::lock_departments(&mut tx.conn()).await?;
        let before = org::department(&mut tx.conn(), id).await.entity("department")?;
        let tree: Vec<(i64, Option<i64>)> =
            org::departments(&mut tx.conn()).await?.iter().map(|d| (d.id, d.parent_id)).collect();
        if let Some(p) = input.parent_id
            && !tree.iter().any(|(i, _)| *i == p)
        {
            return Err(DomainError::invalid("parent_id", "errors.no_such_department").into());
        }
        check_parent(&tree, id, input.parent_id).map_err(|e| match e {
            DomainError::Invalid { reason, .. } => DomainError::invalid("parent_id", reason),
            e => e,
        })?;
        let fields = DepartmentFields { code: code.as_str(), name: &name, kind: &kind, parent_id: input.parent_id };
        let after = org::update_department(&mut tx.conn(), id, version, &fields).await.entity("department")?;
        tx.audit(actor, AuditAction::Update, "department", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(after)
    }

    pub async fn delete_department(&self, actor: &Actor, id: i64, version: i64) -> ServiceResult<()> {
        actor.require(Permission::ManageDepartments)?;
        let mut tx = self.store.begin().await?;
        org::lock_departments(&mut tx.conn()).await?;
        let before = org::department(&mut tx.conn(), id).await.entity("department")?;
        let (users, children) = org::department_usage(&mut tx.conn(), id).await?;
        let (cases, tasks) = org::department_cases(&mut tx.conn(), id).await?;
        if users > 0 || children > 0 || cases > 0 || tasks > 0 {
            return Err(DomainError::Conflict {
                reason: loopdesk_domain::reason!(
                    "errors.department_still_has_users_sub",
                    users,
                    children,
                    cases,
                    tasks
                ),
                field: None,
            }
            .into());
        }
        org::delete_department(&mut tx.conn(), id, version).await.map_err(|e| {
            if org::is_still_referenced(&e) {
                DomainError::Conflict { reason: "errors.other_records_still_refer_department".into(), field: None }
                    .into()
            } else {
                ServiceError::from_store("department", e)
            }
        })?;
        tx.audit(actor, AuditAction::Delete, "department", id, Some(&before), None::<&()>).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(())
    }

    pub async fn users(&self, actor: &Actor, mut filter: UserFilter, page: Page) -> ServiceResult<Paged<User>> {
        actor.require(Permission::ReadUsers)?;
        if let loopdesk_domain::access::Scope::Departments(ids) = &actor.scope {
            filter.within = Some(ids.clone());
        }
        let mut h = self.store.read().await?;
        Ok(org::users(&mut h.conn(), &filter, page).await?)
    }

    /// A user record: anyone may read their own; others need ReadUsers within scope.
    pub async fn user(&self, actor: &Actor, id: i64) -> ServiceResult<User> {
        let mut h = self.store.read().await?;
        let u = org::user(&mut h.conn(), id).await.entity("user")?;
        if actor.user_id != Some(id) {
            actor.require_in_scope(Permission::ReadUsers, u.department_id)?;
        }
        Ok(u)
    }

    pub async fn user_by_username(&self, actor: &Actor, username: &str) -> ServiceResult<User> {
        let mut h = self.store.read().await?;
        let (u, _) = org::user_for_login(&mut h.conn(), &username.trim().to_lowercase()).await.entity("user")?;
        drop(h);
        self.user(actor, u.id).await
    }

    pub async fn create_user(&self, actor: &Actor, input: &NewUser) -> ServiceResult<User> {
        actor.require(Permission::ManageUsers)?;
        let username = Username::parse(&input.username)?;
        let display_name = required_text("display_name", &input.display_name, 100)?;
        let email = parse_email(input.email.as_deref())?;
        let phone = optional_text("phone", input.phone.as_deref(), 40)?;
        let roles = parse_roles(&input.roles)?;
        let locale = parse_locale(input.locale.as_deref(), self.settings.default_locale)?;
        check_password(&input.password)?;
        let hash = password::hash(&input.password)?;
        let mut tx = self.store.begin().await?;
        if let Some(d) = input.department_id {
            org::department(&mut tx.conn(), d)
                .await
                .map_err(|_| DomainError::invalid("department_id", "errors.no_such_department"))?;
        }
        let fields = UserFields {
            username: username.as_str(),
            display_name: &display_name,
            email: email.as_deref(),
            phone: phone.as_deref(),
            department_id: input.department_id,
            locale: locale.code(),
            active: true,
            roles: &roles,
        };
        let u = org::insert_user(&mut tx.conn(), &fields, &hash).await.entity("user")?;
        tx.audit(actor, AuditAction::Create, "user", u.id, None::<&()>, Some(&u)).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(u)
    }

    /// Administrators may change anything; a user may change their own name, contact details,
    /// language and password, but not their roles, department or active flag.
    pub async fn update_user(&self, actor: &Actor, id: i64, p: &UserPatch) -> ServiceResult<User> {
        let is_admin = actor.can(Permission::ManageUsers);
        if !is_admin {
            if actor.user_id != Some(id) {
                actor.require(Permission::ManageUsers)?;
            }
            if p.roles.is_some() || p.department_id.is_some() || p.active.is_some() {
                return Err(DomainError::forbidden("errors.only_administrator_may_change_roles").into());
            }
        }
        if p.password.is_some() && actor.user_id == Some(id) {
            self.check_current_password(id, p.current_password.as_deref()).await?;
        }
        let mut tx = self.store.begin().await?;
        let before = org::user(&mut tx.conn(), id).await.entity("user")?;
        let display_name = match &p.display_name {
            Some(n) => required_text("display_name", n, 100)?,
            None => before.display_name.clone(),
        };
        let email = match &p.email {
            Some(e) => parse_email(Some(e))?,
            None => before.email.clone(),
        };
        let phone = match &p.phone {
            Some(v) => optional_text("phone", Some(v), 40)?,
            None => before.phone.clone(),
        };
        let roles = match &p.roles {
            Some(r) => parse_roles(r)?,
            None => before.roles.clone(),
        };
        let locale = match &p.locale {
            Some(l) => parse_locale(Some(l), self.settings.default_locale)?.code().to_owned(),
            None => before.locale.clone(),
        };
        let department_id = p.department_id.unwrap_or(before.department_id);
        if let Some(d) = department_id
            && p.department_id.is_some()
        {
            org::department(&mut tx.conn(), d)
                .await
                .map_err(|_| DomainError::invalid("department_id", "errors.no_such_department"))?;
        }
        if actor.user_id == Some(id) && is_admin && (!roles.contains(&Role::Admin) || p.active == Some(false)) {
            return Err(DomainError::invalid("roles", "errors.you_cannot_remove_your_own").into());
        }
        let fields = UserFields {
            username: &before.username,
            display_name: &display_name,
            email: email.as_deref(),
            phone: phone.as_deref(),
            department_id,
            locale: &locale,
            active: p.active.unwrap_or(before.active),
            roles: &roles,
        };
        let mut after = org::update_user(&mut tx.conn(), id, p.version, &fields).await.entity("user")?;
        if let Some(pw) = &p.password {
            check_password(pw)?;
            org::set_password(&mut tx.conn(), id, &password::hash(pw)?).await?;
            // A new password ends every session and API token of that user: whoever knew the
            // old one keeps nothing it gave them.
            loopdesk_store::auth::delete_user_sessions(&mut tx.conn(), id).await?;
            loopdesk_store::auth::revoke_user_tokens(&mut tx.conn(), id).await?;
            after = org::user(&mut tx.conn(), id).await?;
        }
        if !after.active {
            loopdesk_store::auth::delete_user_sessions(&mut tx.conn(), id).await?;
        }
        tx.audit(actor, AuditAction::Update, "user", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(after)
    }

    /// Refuses a change of one's own password unless the current one is given and right.
    async fn check_current_password(&self, id: i64, current: Option<&str>) -> ServiceResult<()> {
        let current = current.unwrap_or("");
        if current.is_empty() {
            return Err(DomainError::invalid("current_password", "errors.give_your_current_password_change").into());
        }
        let mut h = self.store.read().await?;
        let user = org::user(&mut h.conn(), id).await.entity("user")?;
        let (_, hash) = org::user_for_login(&mut h.conn(), &user.username).await.entity("user")?;
        drop(h);
        if !password::verify(current, &hash) {
            return Err(DomainError::invalid("current_password", "errors.not_your_current_password").into());
        }
        Ok(())
    }
}

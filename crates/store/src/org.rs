//! Departments, users and their roles.

use chrono::{DateTime, Utc};
use loopdesk_domain::access::Role;
use loopdesk_domain::page::{Page, Paged};
use serde::Serialize;

use crate::Conn;
use crate::conn::{on, sql};
use crate::error::{StoreError, StoreResult, map_err};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    pub locale: String,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Filled from `user_roles`; kept sorted.
    #[sqlx(skip)]
    pub roles: Vec<Role>,
}

const DEPT_COLS: &str = "id, code, name, kind, parent_id, version, created_at, updated_at";
const USER_COLS: &str =
    "id, username, display_name, email, phone, department_id, locale, active, version, created_at, updated_at";

/// After an `UPDATE … WHERE id AND version` touched no row: was the row gone, or the version stale?
/// The updated row, or — when `UPDATE … WHERE id AND version` matched nothing — why not.
pub(crate) async fn updated<T>(c: &mut Conn<'_>, table: &str, id: i64, row: Option<T>) -> StoreResult<T> {
    match row {
        Some(r) => Ok(r),
        None => Err(stale_or_missing(c, table, id).await),
    }
}

pub(crate) async fn stale_or_missing(c: &mut Conn<'_>, table: &str, id: i64) -> StoreError {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
    let n: Result<i64, _> =
        on!(c, e => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_one(e).await);
    match n {
        Ok(0) => StoreError::NotFound,
        Ok(_) => StoreError::Stale,
        Err(e) => map_err(e),
    }
}

pub async fn departments(c: &mut Conn<'_>) -> StoreResult<Vec<Department>> {
    on!(c, e => sqlx::query_as(sql!("SELECT {DEPT_COLS} FROM departments ORDER BY code"))
        .fetch_all(e)
        .await
        .map_err(map_err))
}

pub async fn department(c: &mut Conn<'_>, id: i64) -> StoreResult<Department> {
    on!(c, e => sqlx::query_as(sql!("SELECT {DEPT_COLS} FROM departments WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub async fn department_by_code(c: &mut Conn<'_>, code: &str) -> StoreResult<Department> {
    on!(c, e => sqlx::query_as(sql!("SELECT {DEPT_COLS} FROM departments WHERE code = $1"))
        .bind(code)
        .fetch_one(e)
        .await
        .map_err(map_err))
}

pub struct DepartmentFields<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub parent_id: Option<i64>,
}

pub async fn insert_department(c: &mut Conn<'_>, f: &DepartmentFields<'_>) -> StoreResult<Department> {
    let now = Utc::now();
    on!(c, e => sqlx::query_as(sql!(
        "INSERT INTO departments (code, name, kind, parent_id, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING {DEPT_COLS}"
    ))
    .bind(f.code)
    .bind(f.name)
    .bind(f.kind)
    .bind(f.parent_id)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

pub async fn update_department(
    c: &mut Conn<'_>,
    id: i64,
    version: i64,
    f: &DepartmentFields<'_>,
) -> StoreResult<Department> {
    let row: Option<Department> = on!(c, e => sqlx::query_as(sql!(
        "UPDATE departments SET code = $1, name = $2, kind = $3, parent_id = $4, version = version + 1, updated_at = $5
         WHERE id = $6 AND version = $7 RETURNING {DEPT_COLS}"
    ))
    .bind(f.code)
    .bind(f.name)
    .bind(f.kind)
    .bind(f.parent_id)
    .bind(Utc::now())
    .bind(id)
    .bind(version)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    updated(c, "departments", id, row).await
}

pub async fn delete_department(c: &mut Conn<'_>, id: i64, version: i64) -> StoreResult<()> {
    let n = on!(c, e => sqlx::query("DELETE FROM departments WHERE id = $1 AND version = $2")
        .bind(id)
        .bind(version)
        .execute(e)
        .await
        .map_err(map_err)?
    .rows_affected());
    if n == 0 { Err(stale_or_missing(c, "departments", id).await) } else { Ok(()) }
}

/// How many users and sub-departments hang on a department (a department in use is not deleted).
/// Makes changes to the department tree take turns until commit, so that a move's cycle check
/// and its write see the same tree. ENGINE: PostgreSQL writers run in parallel (an advisory lock);
/// SQLite's single writer connection already takes turns.
pub async fn lock_departments(c: &mut Conn<'_>) -> StoreResult<()> {
    if let Conn::Postgres(pg) = c {
        sqlx::query("SELECT pg_advisory_xact_lock(7406016)").execute(&mut **pg).await.map_err(map_err)?;
    }
    Ok(())
}

/// Cases led by the department and department tasks addressed to it.
pub async fn department_cases(c: &mut Conn<'_>, id: i64) -> StoreResult<(i64, i64)> {
    on!(c, e => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM cases WHERE lead_department_id = $1), (SELECT COUNT(*) FROM case_tasks WHERE department_id = $1)",
    )
    .bind(id)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

/// Whether a store error is a foreign key refusing to let a referenced row go.
pub fn is_still_referenced(e: &StoreError) -> bool {
    matches!(e, StoreError::Other(sqlx::Error::Database(db)) if db.is_foreign_key_violation())
}

pub async fn department_usage(c: &mut Conn<'_>, id: i64) -> StoreResult<(i64, i64)> {
    on!(c, e => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM users WHERE department_id = $1), (SELECT COUNT(*) FROM departments WHERE parent_id = $1)",
    )
    .bind(id)
    .fetch_one(e)
    .await
    .map_err(map_err))
}

async fn fill_roles(c: &mut Conn<'_>, users: &mut [User]) -> StoreResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    // The ids are integers we formatted ourselves, so inlining them is safe.
    let sql = format!("SELECT user_id, role FROM user_roles WHERE user_id IN ({}) ORDER BY role", ids.join(","));
    let rows: Vec<(i64, String)> =
        on!(c, e => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(e).await.map_err(map_err))?;
    for u in users.iter_mut() {
        u.roles = rows.iter().filter(|(id, _)| *id == u.id).filter_map(|(_, r)| Role::parse(r).ok()).collect();
        u.roles.sort();
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Matches username or display name, anywhere.
    pub q: Option<String>,
    pub department_id: Option<i64>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Department scoping: `None` is every department.
    pub within: Option<Vec<i64>>,
}

pub async fn users(c: &mut Conn<'_>, f: &UserFilter, page: Page) -> StoreResult<Paged<User>> {
    let mut cond = vec![
        "($1 IS NULL OR username LIKE $1 OR display_name LIKE $1)".to_owned(),
        "($2 IS NULL OR department_id = $2)".to_owned(),
        "($3 IS NULL OR id IN (SELECT user_id FROM user_roles WHERE role = $3))".to_owned(),
        "($4 IS NULL OR active = $4)".to_owned(),
    ];
    if let Some(ids) = &f.within {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        cond.push(if list.is_empty() { "1 = 0".to_owned() } else { format!("department_id IN ({})", list.join(",")) });
    }
    let where_sql = cond.join(" AND ");
    let q = f.q.as_ref().map(|q| format!("%{}%", q.trim()));
    let role = f.role.map(|r| r.code());
    let total: i64 = on!(c, e => sqlx::query_scalar(sql!("SELECT COUNT(*) FROM users WHERE {where_sql}"))
        .bind(&q)
        .bind(f.department_id)
        .bind(role)
        .bind(f.active)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    let mut items: Vec<User> = on!(c, e => sqlx::query_as(sql!(
        "SELECT {USER_COLS} FROM users WHERE {where_sql} ORDER BY username LIMIT $5 OFFSET $6"
    ))
    .bind(&q)
    .bind(f.department_id)
    .bind(role)
    .bind(f.active)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    fill_roles(c, &mut items).await?;
    Ok(Paged { items, total, page: page.page, per_page: page.per_page, total_is_lower_bound: false })
}

pub async fn user(c: &mut Conn<'_>, id: i64) -> StoreResult<User> {
    let u: User = on!(c, e => sqlx::query_as(sql!("SELECT {USER_COLS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    let mut v = [u];
    fill_roles(c, &mut v).await?;
    let [u] = v;
    Ok(u)
}

/// The user and their password hash, for sign-in.
pub async fn user_for_login(c: &mut Conn<'_>, username: &str) -> StoreResult<(User, String)> {
    let id_hash: (i64, String) = on!(c, e => sqlx::query_as("SELECT id, password_hash FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(e)
        .await
        .map_err(map_err))?;
    Ok((user(c, id_hash.0).await?, id_hash.1))
}

pub struct UserFields<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub department_id: Option<i64>,
    pub locale: &'a str,
    pub active: bool,
    pub roles: &'a [Role],
}

async fn set_roles(c: &mut Conn<'_>, user_id: i64, roles: &[Role]) -> StoreResult<()> {
    on!(c, e => sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(user_id).execute(e).await.map_err(map_err).map(|_| ()))?;
    for r in roles {
        on!(c, e => sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(user_id)
            .bind(r.code())
            .execute(e)
            .await
            .map_err(map_err)
            .map(|_| ()))?;
    }
    Ok(())
}

pub async fn insert_user(c: &mut Conn<'_>, f: &UserFields<'_>, password_hash: &str) -> StoreResult<User> {
    let now = Utc::now();
    let id: i64 = on!(c, e => sqlx::query_scalar(
        "INSERT INTO users (username, display_name, email, phone, department_id, password_hash, locale, active, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) RETURNING id",
    )
    .bind(f.username)
    .bind(f.display_name)
    .bind(f.email)
    .bind(f.phone)
    .bind(f.department_id)
    .bind(password_hash)
    .bind(f.locale)
    .bind(f.active)
    .bind(now)
    .fetch_one(e)
    .await
    .map_err(map_err))?;
    set_roles(c, id, f.roles).await?;
    user(c, id).await
}

pub async fn update_user(c: &mut Conn<'_>, id: i64, version: i64, f: &UserFields<'_>) -> StoreResult<User> {
    let n = on!(c, e => sqlx::query(
        "UPDATE users SET username = $1, display_name = $2, email = $3, phone = $4, department_id = $5, locale = $6,
         active = $7, version = version + 1, updated_at = $8 WHERE id = $9 AND version = $10",
    )
    .bind(f.username)
    .bind(f.display_name)
    .bind(f.email)
    .bind(f.phone)
    .bind(f.department_id)
    .bind(f.locale)
    .bind(f.active)
    .bind(Utc::now())
    .bind(id)
    .bind(version)
    .execute(e)
    .await
    .map_err(map_err)?
    .rows_affected());
    if n == 0 {
        return Err(stale_or_missing(c, "users", id).await);
    }
    set_roles(c, id, f.roles).await?;
    user(c, id).await
}

pub async fn set_password(c: &mut Conn<'_>, id: i64, password_hash: &str) -> StoreResult<()> {
    let n = on!(c, e => sqlx::query("UPDATE users SET password_hash = $1, version = version + 1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(Utc::now())
        .bind(id)
        .execute(e)
        .await
        .map_err(map_err)?
    .rows_affected());
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Active users holding `role` in a department: the escalation chain and task routing ask this.
pub async fn users_with_role(c: &mut Conn<'_>, role: Role, department_id: Option<i64>) -> StoreResult<Vec<User>> {
    let mut items: Vec<User> = on!(c, e => sqlx::query_as(sql!(
        "SELECT {USER_COLS} FROM users WHERE active AND id IN (SELECT user_id FROM user_roles WHERE role = $1)
         AND ($2 IS NULL OR department_id = $2) ORDER BY username"
    ))
    .bind(role.code())
    .bind(department_id)
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    fill_roles(c, &mut items).await?;
    Ok(items)
}

pub async fn count_users(c: &mut Conn<'_>) -> StoreResult<i64> {
    on!(c, e => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(e).await.map_err(map_err))
}

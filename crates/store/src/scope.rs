//! The facts that decide who sees a case (`domain::scope`): who registered it and from where,
//! which departments its tasks went to, who owns its action items, and which departments handle
//! its case type; and the case list's SQL filter that says the same as `domain::scope::case_access`.

use chrono::{DateTime, Utc};
use loopdesk_domain::scope::{CaseFacts, ListScope};

use crate::Conn;
use crate::cases::Case;
use crate::conn::{on, sql};
use crate::error::{StoreResult, map_err};

/// Records who registered each new case: `(case_id, user_id, department_id)`. Cases registered
/// by no user from no department (the portal, the system) need no row.
pub async fn insert_registrations(c: &mut Conn<'_>, rows: &[(i64, Option<i64>, Option<i64>)]) -> StoreResult<()> {
    let rows: Vec<_> = rows.iter().filter(|(_, u, d)| u.is_some() || d.is_some()).collect();
    let per = c.rows_per_insert(3).max(1);
    let opt = |v: &Option<i64>| v.map_or_else(|| "NULL".to_owned(), |v| v.to_string());
    for chunk in rows.chunks(per) {
        // Every value is an integer written by us, never text from outside.
        let values: Vec<String> = chunk.iter().map(|(k, u, d)| format!("({k}, {}, {})", opt(u), opt(d))).collect();
        let q =
            format!("INSERT INTO case_registrations (case_id, user_id, department_id) VALUES {}", values.join(", "));
        on!(c, e => sqlx::query(sqlx::AssertSqlSafe(q.clone())).execute(e).await.map(|_| ()).map_err(map_err))?;
    }
    Ok(())
}

/// Everything `domain::scope::case_access` needs to know about one case.
pub async fn case_facts(c: &mut Conn<'_>, k: &Case) -> StoreResult<CaseFacts> {
    let reg: Option<(Option<i64>, Option<i64>)> = on!(c, e => sqlx::query_as(
        "SELECT user_id, department_id FROM case_registrations WHERE case_id = $1",
    )
    .bind(k.id)
    .fetch_optional(e)
    .await
    .map_err(map_err))?;
    let task_departments: Vec<i64> = on!(c, e => sqlx::query_scalar(
        "SELECT DISTINCT department_id FROM case_tasks WHERE case_id = $1 AND review_state IN ('none', 'approved')",
    )
    .bind(k.id)
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    let action_owners: Vec<i64> = on!(c, e => sqlx::query_scalar(
        "SELECT DISTINCT owner_id FROM meeting_actions WHERE case_id = $1 AND owner_id IS NOT NULL",
    )
    .bind(k.id)
    .fetch_all(e)
    .await
    .map_err(map_err))?;
    let handling_departments = departments_handling(c, &k.case_type).await?;
    let (registered_by, registering_department) = reg.unwrap_or_default();
    Ok(CaseFacts {
        case_type: k.case_type.clone(),
        confidential: k.confidential,
        lead_department: k.lead_department_id,
        registering_department,
        registered_by,
        owner: k.owner_id,
        task_departments,
        action_owners,
        handling_departments,
    })
}

/// Departments set to handle every case of `case_type`.
pub async fn departments_handling(c: &mut Conn<'_>, case_type: &str) -> StoreResult<Vec<i64>> {
    on!(c, e => sqlx::query_scalar(
        "SELECT department_id FROM handling_departments WHERE case_type = $1 ORDER BY department_id",
    )
    .bind(case_type)
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// Every handling-department setting as `(case_type, department_id)`.
pub async fn handling_departments(c: &mut Conn<'_>) -> StoreResult<Vec<(String, i64)>> {
    on!(c, e => sqlx::query_as(
        "SELECT case_type, department_id FROM handling_departments ORDER BY department_id, case_type",
    )
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// The case types that one of `departments` handles.
pub async fn types_handled_by(c: &mut Conn<'_>, departments: &[i64]) -> StoreResult<Vec<String>> {
    if departments.is_empty() {
        return Ok(vec![]);
    }
    let list: Vec<String> = departments.iter().map(i64::to_string).collect();
    on!(c, e => sqlx::query_scalar(sql!(
        "SELECT DISTINCT case_type FROM handling_departments WHERE department_id IN ({}) ORDER BY case_type",
        list.join(",")
    ))
    .fetch_all(e)
    .await
    .map_err(map_err))
}

/// Replaces the case types `department_id` handles.
pub async fn set_types_handled(
    c: &mut Conn<'_>,
    department_id: i64,
    case_types: &[String],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on!(c, e => sqlx::query("DELETE FROM handling_departments WHERE department_id = $1")
        .bind(department_id)
        .execute(e)
        .await
        .map(|_| ())
        .map_err(map_err))?;
    for t in case_types {
        on!(c, e => sqlx::query(
            "INSERT INTO handling_departments (case_type, department_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(t)
        .bind(department_id)
        .bind(now)
        .execute(e)
        .await
        .map(|_| ())
        .map_err(map_err))?;
    }
    Ok(())
}

/// The list's WHERE condition for a [`ListScope`], over the `cases` table: the same rule as
/// `domain::scope::case_access` (a case is listed when it is not hidden). Only integers and checked
/// type codes are written into it.
pub(crate) fn list_condition(s: &ListScope) -> Vec<String> {
    let mut cond = Vec::new();
    if s.nothing {
        cond.push("FALSE".to_owned());
        return cond;
    }
    if !s.include_confidential {
        cond.push("NOT confidential".to_owned());
    }
    if let Some(types) = &s.only_types {
        let types: Vec<String> = types.iter().filter(|t| is_type_code(t)).map(|t| format!("'{t}'")).collect();
        cond.push(if types.is_empty() { "FALSE".to_owned() } else { format!("case_type IN ({})", types.join(",")) });
    }
    if let Some(ids) = &s.departments {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let mut any = vec!["lead_department_id IS NULL".to_owned()];
        if s.include_confidential {
            // Cleared for confidential cases (HR beside a department role): every one of them.
            any.push("confidential".to_owned());
        }
        if !list.is_empty() {
            let list = list.join(",");
            any.push(format!("lead_department_id IN ({list})"));
            any.push(format!(
                "EXISTS (SELECT 1 FROM case_registrations r WHERE r.case_id = cases.id AND r.department_id IN ({list}))"
            ));
            any.push(format!(
                "EXISTS (SELECT 1 FROM case_tasks t WHERE t.case_id = cases.id AND t.department_id IN ({list}) \
                 AND t.review_state IN ('none', 'approved'))"
            ));
        }
        if let Some(u) = s.user_id {
            any.push(format!("owner_id = {u}"));
            any.push(format!(
                "EXISTS (SELECT 1 FROM case_registrations r WHERE r.case_id = cases.id AND r.user_id = {u})"
            ));
            any.push(format!(
                "EXISTS (SELECT 1 FROM meeting_actions a WHERE a.case_id = cases.id AND a.owner_id = {u})"
            ));
        }
        let types: Vec<String> = s.handled_types.iter().filter(|t| is_type_code(t)).map(|t| format!("'{t}'")).collect();
        if !types.is_empty() {
            any.push(format!("case_type IN ({})", types.join(",")));
        }
        cond.push(format!("({})", any.join(" OR ")));
    }
    cond
}

/// A case type code safe to write into SQL as a literal: lower-case letters, digits, `_`.
fn is_type_code(t: &str) -> bool {
    !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

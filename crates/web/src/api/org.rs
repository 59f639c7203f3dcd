use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use loopdesk_domain::access::Role;
use loopdesk_domain::page::Page;
use loopdesk_service::org::{DepartmentInput, NewUser, UserPatch};
use loopdesk_store::org::UserFilter;
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use super::dto::{DepartmentDto, PageDto, UserDto, VersionBody};
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Matches username or name.
    pub q: Option<String>,
    pub department_id: Option<i64>,
    pub role: Option<String>,
    pub active: Option<bool>,
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// List users within your department scope.
#[utoipa::path(get, path = "/users", tag = "users", params(UserQuery),
    responses((status = 200, body = PageDto<UserDto>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(st): State<AppState>,
    a: ApiActor,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<PageDto<UserDto>>> {
    let page = Page::parse(q.page, q.per_page)?;
    let role = q.role.as_deref().map(Role::parse).transpose()?;
    let f = UserFilter { q: q.q, department_id: q.department_id, role, active: q.active, within: None };
    Ok(Json(PageDto::from_paged(st.svc.users(&a.actor, f, page).await?, Into::into)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub username: String,
    #[schema(max_length = 100)]
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department_id: Option<i64>,
    /// Role codes: admin, gm, mgmt_rep, dept_head, agent, member, qa, technician, auditor, customer, hr,
    /// finance.
    pub roles: Vec<String>,
    /// zh-CN or en.
    pub locale: Option<String>,
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

/// Create a user (administrators).
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, body = UserDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<NewUserBody>,
) -> ApiResult<(StatusCode, Json<UserDto>)> {
    let input = NewUser {
        username: b.username,
        display_name: b.display_name,
        email: b.email,
        phone: b.phone,
        department_id: b.department_id,
        roles: b.roles,
        locale: b.locale,
        password: b.password,
    };
    Ok((StatusCode::CREATED, Json(st.svc.create_user(&a.actor, &input).await?.into())))
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_user(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<UserDto>> {
    Ok(Json(st.svc.user(&a.actor, id).await?.into()))
}

/// Distinguishes a field sent as `null` from one left out.
fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    /// The version you read; a stale version answers 409 and changes nothing.
    pub version: i64,
    #[schema(max_length = 100)]
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub department_id: Option<Option<i64>>,
    pub roles: Option<Vec<String>>,
    pub locale: Option<String>,
    pub active: Option<bool>,
    /// A new password; it ends every session and API token of the user.
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// Your current password, needed when you change your own.
    pub current_password: Option<String>,
}

/// Change a user; fields left out keep their value.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserPatchBody,
    responses((status = 200, body = UserDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_user(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<UserPatchBody>,
) -> ApiResult<Json<UserDto>> {
    let p = UserPatch {
        version: b.version,
        display_name: b.display_name,
        email: b.email,
        phone: b.phone,
        department_id: b.department_id,
        roles: b.roles,
        locale: b.locale,
        active: b.active,
        password: b.password,
        current_password: b.current_password,
    };
    Ok(Json(st.svc.update_user(&a.actor, id, &p).await?.into()))
}

/// All departments (a tree through `parent_id`).
#[utoipa::path(get, path = "/departments", tag = "departments", responses((status = 200, body = Vec<DepartmentDto>)))]
pub async fn list_departments(State(st): State<AppState>, a: ApiActor) -> ApiResult<Json<Vec<DepartmentDto>>> {
    Ok(Json(st.svc.departments(&a.actor).await?.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentBody {
    /// 1–32 ASCII letters, digits, - or _; stored upper-case.
    pub code: String,
    #[schema(max_length = 100)]
    pub name: String,
    /// customer_service, sales, quality, engineering, production, finance, purchasing, gm_office, branch, hr, audit, other.
    pub kind: String,
    pub parent_id: Option<i64>,
}

impl From<DepartmentBody> for DepartmentInput {
    fn from(b: DepartmentBody) -> Self {
        DepartmentInput { code: b.code, name: b.name, kind: b.kind, parent_id: b.parent_id }
    }
}

/// Create a department (administrators).
#[utoipa::path(post, path = "/departments", tag = "departments", request_body = DepartmentBody,
    responses((status = 201, body = DepartmentDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_department(
    State(st): State<AppState>,
    a: ApiActor,
    JsonBody(b): JsonBody<DepartmentBody>,
) -> ApiResult<(StatusCode, Json<DepartmentDto>)> {
    Ok((StatusCode::CREATED, Json(st.svc.create_department(&a.actor, &b.into()).await?.into())))
}

/// One department.
#[utoipa::path(get, path = "/departments/{id}", tag = "departments", params(("id" = i64, Path)),
    responses((status = 200, body = DepartmentDto), (status = 404, body = ErrorBody)))]
pub async fn get_department(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<DepartmentDto>> {
    Ok(Json(st.svc.department(&a.actor, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentPatchBody {
    pub version: i64,
    pub code: Option<String>,
    #[schema(max_length = 100)]
    pub name: Option<String>,
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<Option<i64>>,
}

/// Change a department; fields left out keep their value.
#[utoipa::path(patch, path = "/departments/{id}", tag = "departments", params(("id" = i64, Path)), request_body = DepartmentPatchBody,
    responses((status = 200, body = DepartmentDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_department(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<DepartmentPatchBody>,
) -> ApiResult<Json<DepartmentDto>> {
    let cur = st.svc.department(&a.actor, id).await?;
    let input = DepartmentInput {
        code: b.code.unwrap_or(cur.code),
        name: b.name.unwrap_or(cur.name),
        kind: b.kind.unwrap_or(cur.kind),
        parent_id: b.parent_id.unwrap_or(cur.parent_id),
    };
    Ok(Json(st.svc.update_department(&a.actor, id, b.version, &input).await?.into()))
}

/// Delete an unused department.
#[utoipa::path(delete, path = "/departments/{id}", tag = "departments", params(("id" = i64, Path)), request_body = VersionBody,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_department(
    State(st): State<AppState>,
    a: ApiActor,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<VersionBody>,
) -> ApiResult<StatusCode> {
    st.svc.delete_department(&a.actor, id, b.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

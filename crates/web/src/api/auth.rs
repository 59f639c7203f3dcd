use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{TokenDto, UserDto};
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiActor, JsonBody};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
    /// A label to recognise the token by later (default "api").
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// Days until the token expires; left out: the server's `token_days` (90 unless configured).
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token. Shown once; only its hash is stored.
    pub token: String,
    pub id: i64,
    /// When the token stops working; absent: never.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Exchange a username and password for a bearer token.
#[utoipa::path(post, path = "/auth/token", tag = "auth", security(()), request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_token(
    State(st): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    JsonBody(req): JsonBody<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let user = st.svc.authenticate(&req.username, &req.password, &addr.ip().to_string()).await?;
    let actor = {
        let mut h = st.svc.store.read().await.map_err(loopdesk_service::ServiceError::from)?;
        loopdesk_service::access::actor_for(&mut h.conn(), &user).await?
    };
    let name = req.name.as_deref().unwrap_or("api");
    let (token, t) = match req.expires_in_days {
        Some(days) => st.svc.create_token_for(&actor, &user.username, name, Some(days)).await?,
        None => st.svc.create_token(&actor, &user.username, name).await?,
    };
    Ok((StatusCode::CREATED, Json(TokenResponse { token, id: t.id, expires_at: t.expires_at })))
}

/// The signed-in user.
#[utoipa::path(get, path = "/auth/me", tag = "auth", responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)))]
pub async fn me(a: ApiActor) -> Json<UserDto> {
    Json(a.user.into())
}

/// Revoke an API token (your own, or any as administrator).
#[utoipa::path(delete, path = "/auth/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 200, body = TokenDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_token(State(st): State<AppState>, a: ApiActor, Path(id): Path<i64>) -> ApiResult<Json<TokenDto>> {
    Ok(Json(st.svc.revoke_token(&a.actor, id).await?.into()))
}

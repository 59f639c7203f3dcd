//! Signing in: passwords, web sessions, API tokens, and turning a credential into an [`Actor`].

use std::time::Instant;

use base64::Engine as _;
use chrono::{Duration, Utc};
use loopdesk_domain::DomainError;
use loopdesk_domain::access::{Actor, Permission};
use loopdesk_domain::audit::AuditAction;
use loopdesk_domain::org::subtree;
use loopdesk_store::auth::{self, ApiToken};
use loopdesk_store::org::{self, User};
use loopdesk_store::{Conn, StoreError};
use sha2::{Digest, Sha256};

use crate::error::StoreResultExt;
use crate::{Service, ServiceError, ServiceResult, password, ratelimit};

pub const SESSION_HOURS: i64 = 12;
/// Days an API token lives by default (`token_days` in the configuration).
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// The longest lifetime a token may ask for.
pub const MAX_TOKEN_DAYS: u32 = 3650;

pub(crate) fn random_secret() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub(crate) fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How long a bearer token's actor is remembered. Changes made through this process (users,
/// departments, tokens) forget at once; a change made elsewhere (another node, the CLI) takes
/// effect within this time.
const TOKEN_MEMORY: std::time::Duration = std::time::Duration::from_secs(2);
/// Most tokens remembered at once.
const TOKEN_MEMORY_SIZE: usize = 10_000;

/// Actors behind recently seen bearer tokens, so an API client's burst of requests does not look
/// its credential up again for every request. Keyed by the token's digest, never the secret.
#[derive(Default)]
pub(crate) struct TokenMemory {
    seen: std::sync::Mutex<std::collections::HashMap<String, (Instant, Actor, User)>>,
}

impl TokenMemory {
    fn get(&self, key: &str) -> Option<(Actor, User)> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(key).filter(|(at, ..)| at.elapsed() < TOKEN_MEMORY).map(|(_, a, u)| (a.clone(), u.clone()))
    }

    fn put(&self, key: String, actor: &Actor, user: &User) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= TOKEN_MEMORY_SIZE {
            seen.retain(|_, (at, ..)| at.elapsed() < TOKEN_MEMORY);
            if seen.len() >= TOKEN_MEMORY_SIZE {
                seen.clear();
            }
        }
        seen.insert(key, (Instant::now(), actor.clone(), user.clone()));
    }

    /// Forgets every remembered token: who may do what has changed.
    pub(crate) fn forget(&self) {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A new web session: the cookie value (shown once) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
    pub user: User,
}

/// Builds the actor for a user, with the department subtree that scopes what they see.
pub async fn actor_for(c: &mut Conn<'_>, user: &User) -> ServiceResult<Actor> {
    let scope = if user.roles.iter().any(|r| r.is_org_wide()) {
        loopdesk_domain::access::Scope::All
    } else {
        let tree: Vec<(i64, Option<i64>)> =
            org::departments(c).await?.into_iter().map(|d| (d.id, d.parent_id)).collect();
        Actor::scope_for(&user.roles, user.department_id.map(|d| subtree(&tree, d)).unwrap_or_default())
    };
    Ok(Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        department_id: user.department_id,
        roles: user.roles.clone(),
        scope,
        kind: loopdesk_domain::access::ActorKind::Staff,
    })
}

impl Service {
    /// Checks a password, with throttling. Fails the same way for an unknown user and a wrong password.
    pub async fn authenticate(&self, username: &str, password: &str, addr: &str) -> ServiceResult<User> {
        let key = username.trim().to_lowercase();
        let now = self.now();
        let (account_key, addr_key) = (ratelimit::account_key(&key, addr), ratelimit::addr_key(addr));
        self.throttle_check(
            &[(account_key.clone(), ratelimit::MAX_PER_ACCOUNT_AT_ADDR), (addr_key.clone(), ratelimit::MAX_PER_ADDR)],
            now,
        )
        .await?;
        let found = {
            let mut h = self.store.read().await?;
            match org::user_for_login(&mut h.conn(), &key).await {
                Ok(f) => Some(f),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        };
        let ok = match &found {
            Some((u, hash)) => {
                password::verify(password, hash) && u.active && u.roles.iter().any(|r| r.grants(Permission::SignIn))
            }
            None => {
                password::verify(password, password::dummy_hash());
                false
            }
        };
        match (ok, found) {
            (true, Some((u, _))) => {
                self.throttle_clear(&account_key).await?;
                Ok(u)
            }
            _ => {
                self.throttle_hit(&[account_key, addr_key], now).await?;
                Err(DomainError::invalid("password", "errors.wrong_username_password").into())
            }
        }
    }

    pub async fn login(&self, username: &str, password: &str, addr: &str) -> ServiceResult<NewSession> {
        let user = self.authenticate(username, password, addr).await?;
        let cookie = random_secret();
        let csrf = random_secret();
        let mut tx = self.store.begin().await?;
        auth::insert_session(
            &mut tx.conn(),
            &digest(&cookie),
            user.id,
            &csrf,
            Utc::now() + Duration::hours(SESSION_HOURS),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user = %user.username, "signed in");
        Ok(NewSession { cookie, csrf, user })
    }

    pub async fn logout(&self, cookie: &str) -> ServiceResult<()> {
        let mut tx = self.store.begin().await?;
        auth::delete_session(&mut tx.conn(), &digest(cookie)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor, user and CSRF token behind a session cookie.
    pub async fn session(&self, cookie: &str) -> ServiceResult<(Actor, User, String)> {
        let mut h = self.store.read().await?;
        let (user_id, csrf) =
            auth::session(&mut h.conn(), &digest(cookie), Utc::now()).await?.ok_or(DomainError::Unauthenticated)?;
        let user = org::user(&mut h.conn(), user_id).await.entity("user")?;
        if !user.active {
            return Err(DomainError::Unauthenticated.into());
        }
        let actor = actor_for(&mut h.conn(), &user).await?;
        actor.require(Permission::SignIn).map_err(|_| DomainError::Unauthenticated)?;
        Ok((actor, user, csrf))
    }

    /// The actor behind a bearer token.
    pub async fn token_actor(&self, token: &str) -> ServiceResult<(Actor, User)> {
        let key = digest(token);
        if let Some(known) = self.tokens.get(&key) {
            return Ok(known);
        }
        let mut h = self.store.read().await?;
        let user_id = auth::token_user(&mut h.conn(), &key, self.now()).await?.ok_or(DomainError::Unauthenticated)?;
        let user = org::user(&mut h.conn(), user_id).await.entity("user")?;
        if !user.active {
            return Err(DomainError::Unauthenticated.into());
        }
        let actor = actor_for(&mut h.conn(), &user).await?;
        actor.require(Permission::SignIn).map_err(|_| DomainError::Unauthenticated)?;
        self.tokens.put(key, &actor, &user);
        Ok((actor, user))
    }

    /// Issues an API token for `username`: the user themself, or an administrator for anyone.
    /// Returns the secret, which is shown once and never stored. The token expires after the
    /// configured `token_days` (90 by default; 0 means never).
    pub async fn create_token(&self, actor: &Actor, username: &str, name: &str) -> ServiceResult<(String, ApiToken)> {
        let days = self.settings.token_days;
        self.create_token_for(actor, username, name, (days > 0).then_some(days)).await
    }

    /// Like [`Service::create_token`], with the token's own lifetime in days (`None`: never
    /// expires), 1 to 3650.
    pub async fn create_token_for(
        &self,
        actor: &Actor,
        username: &str,
        name: &str,
        days: Option<u32>,
    ) -> ServiceResult<(String, ApiToken)> {
        if let Some(d) = days
            && !(1..=MAX_TOKEN_DAYS).contains(&d)
        {
            return Err(DomainError::invalid(
                "expires_in_days",
                loopdesk_domain::reason!("errors.must_1", MAX_TOKEN_DAYS),
            )
            .into());
        }
        let expires_at = days.map(|d| self.now() + Duration::days(i64::from(d)));
        let mut tx = self.store.begin().await?;
        let (user, _) = org::user_for_login(&mut tx.conn(), &username.trim().to_lowercase()).await.entity("user")?;
        if actor.user_id != Some(user.id) {
            actor.require(Permission::ManageUsers)?;
        }
        let name = loopdesk_domain::org::required_text("name", name, 100)?;
        let secret = format!("ldt_{}", random_secret());
        let token = auth::insert_token(&mut tx.conn(), user.id, &name, &digest(&secret), expires_at).await?;
        tx.audit(actor, AuditAction::Create, "api_token", token.id, None::<&()>, Some(&token)).await?;
        tx.commit().await?;
        Ok((secret, token))
    }

    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> ServiceResult<ApiToken> {
        let mut tx = self.store.begin().await?;
        let before = auth::token(&mut tx.conn(), id).await.entity("api token")?;
        if actor.user_id != Some(before.user_id) {
            actor.require(Permission::ManageUsers)?;
        }
        let after = auth::revoke_token(&mut tx.conn(), id).await.map_err(|e| match e {
            StoreError::NotFound => {
                ServiceError::from(DomainError::Conflict { reason: "errors.token_already_revoked".into(), field: None })
            }
            e => e.into(),
        })?;
        tx.audit(actor, AuditAction::Update, "api_token", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        self.tokens.forget();
        Ok(after)
    }

    pub async fn tokens(&self, actor: &Actor, user_id: i64) -> ServiceResult<Vec<ApiToken>> {
        if actor.user_id != Some(user_id) {
            actor.require(Permission::ManageUsers)?;
        }
        let mut h = self.store.read().await?;
        Ok(auth::tokens_of(&mut h.conn(), user_id).await?)
    }
}

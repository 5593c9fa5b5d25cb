//! Login, logout and the check every authenticated request goes through.
//!
//! A wrong password, an unknown user, an unknown tenant and a disabled user all end in the
//! same `Unauthorized`, and all of them pay for one password verification, so neither the
//! answer nor its timing tells which it was.

use std::net::IpAddr;

use crate::auth::password::Verified;
use crate::auth::session::Session;
use crate::db::models::{Tenant, User};
use crate::db::repos;
use crate::domain::{Caller, Role, TenantId, UserId};
use crate::services::users::UserView;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Which tenant a login names.
#[derive(Clone, Debug)]
pub enum TenantRef {
    Slug(String),
    /// The request's host name (the old `/api/users/login` carries no tenant).
    Host(String),
}

pub struct LoginInput {
    pub tenant: TenantRef,
    pub username: String,
    pub password: String,
    pub client_ip: Option<IpAddr>,
}

/// A successful login.
#[derive(Debug, serde::Serialize)]
pub struct LoginOutcome {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub user: UserView,
}

async fn resolve_tenant(state: &AppState, tenant: &TenantRef) -> ServiceResult<Option<Tenant>> {
    let mut conn = state.db.get().await?;
    match tenant {
        TenantRef::Slug(slug) => Ok(repos::tenants::find_by_slug(&mut conn, slug.trim()).await?),
        TenantRef::Host(host) => {
            let host = host.split(':').next().unwrap_or_default().to_ascii_lowercase();
            if let Some(t) = repos::tenants::find_by_domain(&mut conn, &host).await? {
                return Ok(Some(t));
            }
            match &state.config.default_tenant {
                Some(slug) => Ok(repos::tenants::find_by_slug(&mut conn, slug).await?),
                None => Ok(None),
            }
        }
    }
}

pub async fn login(state: &AppState, input: LoginInput) -> ServiceResult<LoginOutcome> {
    // Bound what we hash and store in Redis keys before anything else.
    if input.username.len() > 255 || input.password.len() > 1024 {
        return Err(ServiceError::Unauthorized);
    }
    let tenant = resolve_tenant(state, &input.tenant).await?.filter(|t| t.enabled);
    let tenant_key = match (&tenant, &input.tenant) {
        (Some(t), _) => t.slug.clone(),
        (None, TenantRef::Slug(s)) => s.trim().to_ascii_lowercase(),
        (None, TenantRef::Host(h)) => h.to_ascii_lowercase(),
    };
    let ip = input.client_ip.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
    let username = input.username.trim().to_string();
    if let Some(wait) = state.limiter.check(&tenant_key, &username, &ip).await? {
        return Err(ServiceError::RateLimited { retry_after: wait });
    }
    let user: Option<User> = match &tenant {
        Some(t) => {
            let mut conn = state.db.get().await?;
            repos::users::find_by_username(&mut conn, TenantId(t.id), &username).await?
        }
        None => None,
    };
    let stored = user.as_ref().filter(|u| u.enabled).map(|u| u.password_hash.clone());
    let hasher = state.hasher.clone();
    let password = input.password;
    let verified = tokio::task::spawn_blocking(move || hasher.verify(&password, stored.as_deref()))
        .await
        .map_err(|e| ServiceError::internal("password check", e))?;
    let (Some(user), Some(tenant)) = (user, tenant) else {
        state.limiter.record_failure(&tenant_key, &username, &ip).await?;
        return Err(ServiceError::Unauthorized);
    };
    match verified {
        Verified::No => {
            state.limiter.record_failure(&tenant_key, &username, &ip).await?;
            Err(ServiceError::Unauthorized)
        }
        Verified::YesRehash(new_hash) => {
            let mut conn = state.db.get().await?;
            repos::users::replace_hash(&mut conn, UserId(user.id), &user.password_hash, &new_hash).await?;
            finish_login(state, &tenant, user, &tenant_key).await
        }
        Verified::Yes => finish_login(state, &tenant, user, &tenant_key).await,
    }
}

async fn finish_login(state: &AppState, tenant: &Tenant, user: User, tenant_key: &str) -> ServiceResult<LoginOutcome> {
    let role: Role = user.role.parse().map_err(|e: String| ServiceError::internal("stored role", e))?;
    let session = Session {
        user: UserId(user.id),
        tenant: TenantId(tenant.id),
        role,
        created_at: chrono::Utc::now().timestamp(),
    };
    let sid = state.sessions.create(&session, state.tokens.lifetime()).await?;
    let (token, exp) =
        state.tokens.issue(session.user, session.tenant, role, &sid).map_err(|e| ServiceError::internal("token", e))?;
    state.limiter.clear_user(tenant_key, &user.username).await?;
    let expires_at = chrono::DateTime::from_timestamp(exp, 0).unwrap_or_default();
    tracing::info!(tenant.id = tenant.id, user.id = user.id, "user logged in");
    Ok(LoginOutcome { token, expires_at, user: UserView::from(user) })
}

/// Checks a bearer token: signature, expiry, and a live session that names the same user.
pub async fn authenticate(state: &AppState, token: &str) -> ServiceResult<Caller> {
    let claims = state.tokens.verify(token).map_err(|_| ServiceError::Unauthorized)?;
    let session = state.sessions.get(&claims.sid).await?.ok_or(ServiceError::Unauthorized)?;
    if claims.user() != Some(session.user) || session.tenant.0 != claims.tid {
        return Err(ServiceError::Unauthorized);
    }
    Ok(Caller { user: session.user, tenant: session.tenant, role: session.role, session: claims.sid })
}

pub async fn logout(state: &AppState, caller: &Caller) -> ServiceResult<()> {
    state.sessions.delete(&caller.session, caller.user).await?;
    state.ws.close(&caller.session, mayday_actors::push::CloseReason::SessionEnded);
    crate::services::licenses::release_session(state, &caller.session).await;
    Ok(())
}

/// The caller's own user record.
pub async fn me(state: &AppState, caller: &Caller) -> ServiceResult<UserView> {
    let mut conn = state.db.get().await?;
    Ok(UserView::from(repos::users::find(&mut conn, caller.tenant, caller.user).await?))
}

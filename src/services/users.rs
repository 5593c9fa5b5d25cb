//! Users of a tenant: who may see and change whom.
//!
//! Rules: admins manage the users of their own tenant; managers read them; agents read
//! themselves. Only a superadmin creates or changes a superadmin, and superadmins live in
//! the platform tenant. Nobody changes their own role or disables or deletes themself.
//! Disabling a user, changing their password or role, or deleting them ends their sessions.
//! Agents have phones in Asterisk's tables: they are created, changed, disabled and deleted
//! through `services::agents` (`/api/agents`); here only their password and e-mail change.

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{NewUser, User, UserChanges};
use crate::db::repos::{self, users::UserFilter};
use crate::db::{Page, Paged};
use crate::domain::{Caller, Role, TenantId, UserId, PLATFORM_TENANT};
use crate::services::audit::{self, Change};
use crate::services::{require, validate, ServiceError, ServiceResult};
use crate::state::AppState;

/// A user as the API shows it (never the hash).
#[derive(Clone, Debug, Serialize)]
pub struct UserView {
    pub id: u64,
    pub tenant_id: u64,
    pub username: String,
    pub role: String,
    pub display_name: String,
    pub email: Option<String>,
    pub extension: Option<String>,
    pub callerid: Option<String>,
    pub enabled: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            tenant_id: u.tenant_id,
            username: u.username,
            role: u.role,
            display_name: u.display_name,
            email: u.email,
            extension: u.extension,
            callerid: u.callerid,
            enabled: u.enabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub extension: Option<String>,
    #[serde(default)]
    pub callerid: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A partial update; absent fields stay as they are, `null` clears an optional one.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub password: Option<String>,
    pub role: Option<Role>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub extension: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub callerid: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// `absent` -> None, `null` -> Some(None), value -> Some(Some(v)).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Which tenant a request acts on: the caller's own, or for a superadmin the one it names.
pub fn scope(caller: &Caller, requested: Option<u64>) -> ServiceResult<TenantId> {
    match requested {
        None => Ok(caller.tenant),
        Some(t) if t == caller.tenant.0 => Ok(caller.tenant),
        Some(t) if caller.is_superadmin() => Ok(TenantId(t)),
        Some(_) => Err(ServiceError::Forbidden("you may only act on your own tenant".into())),
    }
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    filter: UserFilter,
    page: Page,
) -> ServiceResult<Paged<UserView>> {
    require(caller, Role::Manager)?;
    if let Some(role) = &filter.role {
        role.parse::<Role>().map_err(|e| ServiceError::invalid("role", e))?;
    }
    let mut conn = state.db.get().await?;
    Ok(repos::users::list(&mut conn, tenant, &filter, page).await?.map(UserView::from))
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: UserId) -> ServiceResult<UserView> {
    if !caller.role.at_least(Role::Manager) && id != caller.user {
        return Err(ServiceError::Forbidden("agents may only read themselves".into()));
    }
    let mut conn = state.db.get().await?;
    Ok(UserView::from(repos::users::find(&mut conn, tenant, id).await?))
}

async fn tenant_is_platform(state: &AppState, tenant: TenantId) -> ServiceResult<bool> {
    let mut conn = state.db.get().await?;
    let t = repos::tenants::find(&mut conn, tenant).await?;
    Ok(t.slug == PLATFORM_TENANT)
}

fn check_role_grant(caller: Option<&Caller>, role: Role, platform: bool) -> ServiceResult<()> {
    if role == Role::Superadmin {
        if caller.is_some_and(|c| !c.is_superadmin()) {
            return Err(ServiceError::Forbidden("only a superadmin may create or promote a superadmin".into()));
        }
        if !platform {
            return Err(ServiceError::invalid("role", "superadmins belong to the platform tenant"));
        }
    }
    Ok(())
}

/// Creates a user. `caller` is `None` for the CLI (an operator on the machine).
pub async fn create(
    state: &AppState,
    caller: Option<&Caller>,
    tenant: TenantId,
    input: CreateUser,
) -> ServiceResult<UserView> {
    if let Some(c) = caller {
        require(c, Role::Admin)?;
    }
    if input.role == Role::Agent {
        return Err(ServiceError::invalid("role", "agents are created through POST /api/agents (they need a phone)"));
    }
    let username = validate::username(&input.username)?;
    validate::password("password", &input.password)?;
    let display_name = validate::optional_text("display_name", input.display_name.as_deref(), 120)?.unwrap_or_default();
    let email = validate::email(input.email.as_deref())?;
    let extension = validate::extension(input.extension.as_deref())?;
    let callerid = validate::did("callerid", input.callerid.as_deref())?;
    check_role_grant(caller, input.role, tenant_is_platform(state, tenant).await?)?;
    let hash = hash_password(state, input.password).await?;
    let new = NewUser {
        tenant_id: tenant.0,
        username,
        password_hash: hash,
        role: input.role.as_str().to_string(),
        display_name,
        email,
        extension,
        callerid,
        enabled: input.enabled.unwrap_or(true),
    };
    let mut conn = state.db.get().await?;
    let user = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let id = repos::users::insert(conn, &new).await?;
            let change = Change {
                tenant: Some(tenant),
                action: "create",
                entity: "user",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"username": new.username, "role": new.role})),
            };
            audit::record(conn, caller, change).await?;
            Ok(repos::users::find(conn, tenant, id).await?)
        })
        .await?;
    Ok(UserView::from(user))
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    id: UserId,
    input: UpdateUser,
) -> ServiceResult<UserView> {
    let is_self = id == caller.user && tenant == caller.tenant;
    let mut conn = state.db.get().await?;
    let current = repos::users::find(&mut conn, tenant, id).await?;
    drop(conn);
    let current_role: Role = current.role.parse().map_err(|e: String| ServiceError::internal("stored role", e))?;
    if current_role == Role::Agent
        && (input.display_name.is_some()
            || input.extension.is_some()
            || input.callerid.is_some()
            || input.enabled.is_some())
    {
        return Err(ServiceError::invalid(
            "id",
            "is an agent: change its name, extension, caller id or enabled flag through PUT /api/agents/{id}",
        ));
    }
    if is_self {
        if input.role.is_some_and(|r| r != current_role) {
            return Err(ServiceError::Forbidden("nobody changes their own role".into()));
        }
        if input.enabled == Some(false) {
            return Err(ServiceError::Forbidden("you cannot disable yourself".into()));
        }
        let admin_only = input.extension.is_some() || input.callerid.is_some() || input.enabled.is_some();
        if admin_only {
            require(caller, Role::Admin)?;
        }
    } else {
        require(caller, Role::Admin)?;
        if current_role == Role::Superadmin && !caller.is_superadmin() {
            return Err(ServiceError::Forbidden("only a superadmin may change a superadmin".into()));
        }
    }
    if input.role.is_some_and(|r| r != current_role && (r == Role::Agent || current_role == Role::Agent)) {
        return Err(ServiceError::invalid("role", "nobody becomes or stops being an agent: use /api/agents"));
    }
    if let Some(role) = input.role {
        check_role_grant(Some(caller), role, tenant_is_platform(state, tenant).await?)?;
    }
    let mut changes = UserChanges {
        role: input.role.map(|r| r.as_str().to_string()),
        display_name: input
            .display_name
            .as_deref()
            .map(|d| validate::optional_text("display_name", Some(d), 120).map(Option::unwrap_or_default))
            .transpose()?,
        email: input.email.map(|e| validate::email(e.as_deref())).transpose()?,
        extension: input.extension.map(|e| validate::extension(e.as_deref())).transpose()?,
        callerid: input.callerid.map(|c| validate::did("callerid", c.as_deref())).transpose()?,
        enabled: input.enabled,
        password_hash: None,
    };
    if let Some(pw) = input.password {
        validate::password("password", &pw)?;
        changes.password_hash = Some(hash_password(state, pw).await?);
    }
    let ends_sessions = changes.password_hash.is_some()
        || changes.enabled == Some(false)
        || changes.role.as_deref().is_some_and(|r| r != current.role);
    let fields: Vec<&str> = [
        changes.display_name.as_ref().map(|_| "display_name"),
        changes.email.as_ref().map(|_| "email"),
        changes.extension.as_ref().map(|_| "extension"),
        changes.callerid.as_ref().map(|_| "callerid"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let detail = json!({
        "role": changes.role,
        "enabled": changes.enabled,
        "password_changed": changes.password_hash.is_some(),
        "fields": fields,
    });
    if ends_sessions {
        // Before the change too: with Redis away the change is refused (503), never made
        // with the user's sessions alive.
        end_sessions(state, id).await?;
    }
    let mut conn = state.db.get().await?;
    let user = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let nothing = changes.role.is_none()
                && changes.display_name.is_none()
                && changes.email.is_none()
                && changes.extension.is_none()
                && changes.callerid.is_none()
                && changes.enabled.is_none()
                && changes.password_hash.is_none();
            if !nothing && repos::users::update(conn, tenant, id, &changes).await? == 0 {
                // MariaDB counts changed rows: 0 may mean "same values"; check existence.
                repos::users::find(conn, tenant, id).await?;
            }
            let change = Change {
                tenant: Some(tenant),
                action: "update",
                entity: "user",
                entity_id: Some(id.to_string()),
                detail: Some(detail),
            };
            audit::record(conn, Some(caller), change).await?;
            Ok(repos::users::find(conn, tenant, id).await?)
        })
        .await?;
    if ends_sessions {
        end_sessions(state, id).await?;
    }
    Ok(UserView::from(user))
}

pub async fn delete(state: &AppState, caller: &Caller, tenant: TenantId, id: UserId) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    if id == caller.user {
        return Err(ServiceError::Forbidden("you cannot delete yourself".into()));
    }
    let mut conn = state.db.get().await?;
    let current = repos::users::find(&mut conn, tenant, id).await?;
    if current.role == Role::Superadmin.as_str() && !caller.is_superadmin() {
        return Err(ServiceError::Forbidden("only a superadmin may delete a superadmin".into()));
    }
    if current.role == Role::Agent.as_str() {
        return Err(ServiceError::Conflict("this user is an agent: delete it through DELETE /api/agents/{id}".into()));
    }
    end_sessions(state, id).await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        if repos::users::delete(conn, tenant, id).await? == 0 {
            return Err(ServiceError::NotFound);
        }
        let change = Change {
            tenant: Some(tenant),
            action: "delete",
            entity: "user",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"username": current.username})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await?;
    end_sessions(state, id).await?;
    Ok(())
}

/// Ends every session of a user at once.
pub async fn end_sessions(state: &AppState, id: UserId) -> ServiceResult<()> {
    let ended = state.sessions.delete_all(id).await?;
    for sid in &ended {
        state.ws.close(sid, mayday_actors::push::CloseReason::SessionEnded);
        crate::services::licenses::release_session(state, sid).await;
    }
    if !ended.is_empty() {
        tracing::info!(user.id = id.0, sessions = ended.len(), "ended the user's sessions");
    }
    Ok(())
}

pub async fn hash_password(state: &AppState, password: String) -> ServiceResult<String> {
    let hasher = state.hasher.clone();
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(|e| ServiceError::internal("hashing", e))?
        .map_err(|e| ServiceError::internal("hashing", e))
}

/// For operators (the CLI, the demo): creates the user, or brings an existing one of that
/// username up to date (password, role, name, extension, enabled), ending its sessions.
pub async fn ensure_as_operator(state: &AppState, tenant: TenantId, input: CreateUser) -> ServiceResult<UserView> {
    if input.role == Role::Agent {
        return Err(ServiceError::invalid("role", "agents are provisioned through services::agents"));
    }
    let existing = {
        let mut conn = state.db.get().await?;
        repos::users::find_by_username(&mut conn, tenant, input.username.trim()).await?
    };
    let Some(user) = existing else {
        return create(state, None, tenant, input).await;
    };
    validate::password("password", &input.password)?;
    let changes = UserChanges {
        password_hash: Some(hash_password(state, input.password).await?),
        role: Some(input.role.as_str().to_string()),
        display_name: input.display_name,
        email: None,
        extension: Some(validate::extension(input.extension.as_deref())?),
        callerid: None,
        enabled: Some(input.enabled.unwrap_or(true)),
    };
    let id = UserId(user.id);
    let mut conn = state.db.get().await?;
    repos::users::update(&mut conn, tenant, id, &changes).await?;
    let view = UserView::from(repos::users::find(&mut conn, tenant, id).await?);
    drop(conn);
    end_sessions(state, id).await?;
    Ok(view)
}

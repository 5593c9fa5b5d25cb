//! Agents: users with role agent and a phone. This service is the only one that creates,
//! changes, disables and deletes agent users, because each change also rewrites the PJSIP
//! rows Asterisk reads (`ps_endpoints`, `ps_auths`, `ps_aors`) and the agent's
//! `queue_members` rows, in the same transaction as Mayday's own rows: never half an agent.
//!
//! Rules: admins manage their tenant's agents, managers read them, an agent reads itself.
//! The SIP password is generated (or set by an admin when it passes the strength rule), is
//! stored in Asterisk's table only as `md5_cred`, and is kept by Mayday only encrypted; the
//! API never shows it, except to the agent itself at softphone login.

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::asterisk as rt;
use crate::db::models::{AgentRow, NewUser, Tenant, User, UserChanges};
use crate::db::repos::{self, agents::AgentFilter, Conn};
use crate::db::{Page, Paged};
use crate::domain::{Caller, Role, TenantId, UserId};
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, Used};
use crate::services::telephony::{self, PhoneSpec, Profile};
use crate::services::users::{double_option, end_sessions, hash_password, UserView};
use crate::services::{dids, live, require, validate, ServiceError, ServiceResult};
use crate::state::AppState;

/// An agent as the API shows it: never a password.
#[derive(Clone, Debug, Serialize)]
pub struct AgentView {
    #[serde(flatten)]
    pub user: UserView,
    pub profile: Profile,
    pub codecs: Vec<String>,
    /// The Asterisk endpoint id, also the SIP auth user name (`<name prefix><extension>`).
    pub sip_username: String,
    pub queues: Vec<AgentQueueView>,
}

/// A queue the agent is a member of.
#[derive(Clone, Debug, Serialize)]
pub struct AgentQueueView {
    pub queue_id: u64,
    pub name: String,
    pub penalty: i32,
    pub paused: bool,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    pub username: String,
    /// The agent's login password (Mayday's, argon2id).
    pub password: String,
    pub extension: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The default DID shown to people the agent calls (`users.callerid`).
    #[serde(default)]
    pub callerid: Option<String>,
    #[serde(default)]
    pub profile: Option<Profile>,
    #[serde(default)]
    pub codecs: Option<Vec<String>>,
    /// A SIP password chosen by the admin (must pass the strength rule); generated if absent.
    #[serde(default)]
    pub sip_password: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A partial update; absent fields stay, `null` clears an optional one.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    pub password: Option<String>,
    pub extension: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub callerid: Option<Option<String>>,
    pub profile: Option<Profile>,
    pub codecs: Option<Vec<String>>,
    /// A new SIP password chosen by the admin.
    pub sip_password: Option<String>,
    /// `true`: generate a new SIP password (the agent's softphone gets it at its next login).
    #[serde(default)]
    pub rotate_sip_password: bool,
    pub enabled: Option<bool>,
}

/// An extension as the configured pattern allows: digits, within the length bounds.
pub fn extension(state: &AppState, value: &str) -> ServiceResult<String> {
    let (min, max) = (state.config.telephony.extension_min_digits, state.config.telephony.extension_max_digits);
    let v = value.trim();
    if v.len() < min || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ServiceError::invalid("extension", format!("must be {min} to {max} digits")));
    }
    Ok(v.to_string())
}

/// The interface of an agent's phone in `queue_members` and AMI (`PJSIP/<endpoint>`).
pub fn interface(endpoint: &str) -> String {
    format!("PJSIP/{endpoint}")
}

// Passwords never reach a log through Debug.
impl std::fmt::Debug for CreateAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateAgent")
            .field("username", &self.username)
            .field("extension", &self.extension)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UpdateAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateAgent")
            .field("extension", &self.extension)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SoftphoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftphoneConfig")
            .field("uri", &self.uri)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

fn profile_of(row: &AgentRow) -> ServiceResult<Profile> {
    Profile::parse(&row.profile).ok_or_else(|| ServiceError::internal("stored profile", &row.profile))
}

fn codecs_of(row: &AgentRow) -> Vec<String> {
    row.codecs.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect()
}

pub fn display(user: &User) -> &str {
    if user.display_name.is_empty() {
        &user.username
    } else {
        &user.display_name
    }
}

async fn view(conn: &mut Conn, user: User, row: AgentRow) -> ServiceResult<AgentView> {
    let queues = repos::queues::memberships_of(conn, UserId(user.id))
        .await?
        .into_iter()
        .map(|m| AgentQueueView { queue_id: m.queue_id, name: m.name, penalty: m.penalty, paused: m.paused })
        .collect();
    Ok(AgentView {
        profile: profile_of(&row)?,
        codecs: codecs_of(&row),
        sip_username: row.endpoint.clone(),
        queues,
        user: UserView::from(user),
    })
}

/// Brings Asterisk's rows of an agent to what `user` and `row` say: its phone and its
/// realtime queue members. `old_endpoint` is the id its rows had (`None` for a new agent).
/// Rows keep their place where they can: an unchanged phone keeps its registration
/// (`ps_contacts`) and its members keep their `uniqueid` (Asterisk's key for them).
async fn sync_asterisk_rows(
    conn: &mut Conn,
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    row: &AgentRow,
    secret: &str,
    old_endpoint: Option<&str>,
) -> ServiceResult<()> {
    let renamed = old_endpoint.is_some_and(|o| o != row.endpoint);
    // A disabled tenant's phones are not provisioned either: they must not register.
    let active = user.enabled && tenant.enabled;
    if let Some(old) = old_endpoint.filter(|_| renamed || !active) {
        remove_asterisk_rows(conn, old).await?;
    }
    if !active {
        return Ok(());
    }
    let extension = user.extension.as_deref().unwrap_or_default();
    let codecs = codecs_of(row);
    let (endpoint, auth, aor) = telephony::phone_rows(&PhoneSpec {
        tenant,
        extension,
        display_name: display(user),
        profile: profile_of(row)?,
        codecs: &codecs,
        secret,
        realm: &state.config.telephony.sip_realm,
        default_did: user.callerid.as_deref(),
    });
    if old_endpoint.is_none() || renamed {
        // A name Mayday does not own yet: an insert, so that a row of that name made by
        // someone else is a conflict, never overwritten.
        rt::put_phone(conn, &endpoint, &auth, &aor).await.map_err(ServiceError::duplicate_as("extension"))?;
    } else {
        rt::replace_phone(conn, &endpoint, &auth, &aor).await?;
    }
    let pause = repos::live::pause_of(conn, TenantId(tenant.id), UserId(user.id)).await?;
    for m in repos::queues::memberships_of(conn, UserId(user.id)).await? {
        let member = member_row(&m.asterisk_name, &row.endpoint, user, m.penalty, m.paused || pause.is_some());
        // An existing row keeps its paused state: Asterisk writes it back on QueuePause.
        rt::put_member(conn, &member, false).await?;
    }
    Ok(())
}

/// The realtime `queue_members` row of an agent in a queue.
pub fn member_row(queue: &str, endpoint: &str, user: &User, penalty: i32, paused: bool) -> rt::NewMember {
    rt::NewMember {
        queue_name: queue.to_string(),
        interface: interface(endpoint),
        membername: Some(telephony::clean(display(user))),
        state_interface: Some(interface(endpoint)),
        penalty: Some(penalty),
        paused: Some(i32::from(paused)),
    }
}

/// Brings the Asterisk rows of every agent of `tenant` to what the tenant's and the agents'
/// states say (a tenant disabled or enabled again).
pub async fn sync_tenant_phones(conn: &mut Conn, state: &AppState, tenant: &Tenant) -> ServiceResult<()> {
    for (user, row) in repos::agents::all_of(conn, TenantId(tenant.id)).await? {
        let secret = state.secrets.open(&row.sip_secret_enc).map_err(|e| ServiceError::internal("SIP secret", e))?;
        sync_asterisk_rows(conn, state, tenant, &user, &row, &secret, Some(&row.endpoint)).await?;
    }
    Ok(())
}

/// Removes the agent's phone, its registrations and its realtime queue members.
async fn remove_asterisk_rows(conn: &mut Conn, endpoint: &str) -> ServiceResult<()> {
    rt::remove_pjsip(conn, endpoint).await?;
    rt::remove_contacts_of(conn, endpoint).await?;
    rt::remove_members_of(conn, &interface(endpoint)).await?;
    Ok(())
}

/// `<name prefix><extension>`, within Asterisk's 40-character names (`ps_auths.username`).
fn endpoint_name(tenant: &Tenant, extension: &str) -> ServiceResult<String> {
    let id = telephony::object_id(tenant, extension);
    if id.len() > 40 {
        return Err(ServiceError::invalid(
            "extension",
            "with the tenant's name prefix is longer than Asterisk's 40 characters",
        ));
    }
    Ok(id)
}

/// The Asterisk names of the agent's queues (to refresh the live view after a change).
async fn queue_names(conn: &mut Conn, user: UserId) -> ServiceResult<Vec<String>> {
    Ok(repos::queues::memberships_of(conn, user).await?.into_iter().map(|m| m.asterisk_name).collect())
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    filter: AgentFilter,
    page: Page,
) -> ServiceResult<Paged<AgentView>> {
    require(caller, Role::Manager)?;
    if let Some(p) = &filter.profile {
        Profile::parse(p).ok_or_else(|| ServiceError::invalid("profile", "must be webrtc, softphone or deskphone"))?;
    }
    let mut conn = state.db.get().await?;
    let found = repos::agents::list(&mut conn, tenant, &filter, page).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for (user, row) in found.items {
        items.push(view(&mut conn, user, row).await?);
    }
    Ok(Paged { items, page: found.page, per_page: found.per_page, total: found.total })
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: UserId) -> ServiceResult<AgentView> {
    let is_self = id == caller.user && tenant == caller.tenant;
    if !caller.role.at_least(Role::Manager) && !is_self {
        return Err(ServiceError::Forbidden("agents may only read themselves".into()));
    }
    let mut conn = state.db.get().await?;
    let (user, row) = repos::agents::find(&mut conn, tenant, id).await?;
    view(&mut conn, user, row).await
}

/// Creates an agent. `caller` is `None` for operators (the CLI, the demo).
pub async fn create(
    state: &AppState,
    caller: Option<&Caller>,
    tenant_id: TenantId,
    input: CreateAgent,
) -> ServiceResult<AgentView> {
    if let Some(c) = caller {
        require(c, Role::Admin)?;
    }
    let username = validate::username(&input.username)?;
    validate::password("password", &input.password)?;
    let extension = extension(state, &input.extension)?;
    let display_name = validate::optional_text("display_name", input.display_name.as_deref(), 80)?.unwrap_or_default();
    let email = validate::email(input.email.as_deref())?;
    let callerid = validate::did("callerid", input.callerid.as_deref())?;
    let profile = input.profile.unwrap_or(Profile::Webrtc);
    let codecs = telephony::codecs(input.codecs.as_deref(), profile)?;
    let secret = match input.sip_password {
        Some(s) => {
            telephony::check_secret("sip_password", &s)?;
            s
        }
        None => telephony::generate_secret(),
    };
    let enabled = input.enabled.unwrap_or(true);
    let hash = hash_password(state, input.password).await?;
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, tenant_id).await?;
    let endpoint = endpoint_name(&tenant, &extension)?;
    let new = NewUser {
        tenant_id: tenant_id.0,
        username,
        password_hash: hash,
        role: Role::Agent.as_str().to_string(),
        display_name,
        email,
        extension: Some(extension),
        callerid,
        enabled,
    };
    let sealed = state.secrets.seal(&secret);
    let agent = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let id = repos::users::insert(conn, &new).await?;
            let row = AgentRow {
                user_id: id.0,
                tenant_id: tenant_id.0,
                profile: profile.as_str().to_string(),
                codecs: codecs.join(","),
                sip_secret_enc: sealed,
                endpoint: endpoint.clone(),
            };
            repos::agents::insert(conn, &row).await.map_err(ServiceError::duplicate_as("extension"))?;
            let user = repos::users::find(conn, tenant_id, id).await?;
            if let Some(did) = &user.callerid {
                dids::check_default_did(conn, tenant_id, did).await?;
            }
            sync_asterisk_rows(conn, state, &tenant, &user, &row, &secret, None).await?;
            dialplan::regenerate(conn, state, tenant_id).await?;
            let change = Change {
                tenant: Some(tenant_id),
                action: "create",
                entity: "agent",
                entity_id: Some(id.to_string()),
                detail: Some(json!({
                    "username": user.username, "extension": user.extension, "profile": row.profile,
                    "endpoint": row.endpoint, "sip_password": "generated or set (not recorded)",
                })),
            };
            audit::record(conn, caller, change).await?;
            view(conn, user, row).await
        })
        .await?;
    tracing::info!(tenant.id = tenant_id.0, agent.id = agent.user.id, endpoint = %agent.sip_username, "agent created");
    live::provisioned(state, tenant_id, Vec::new()).await;
    Ok(agent)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    tenant_id: TenantId,
    id: UserId,
    input: UpdateAgent,
) -> ServiceResult<AgentView> {
    require(caller, Role::Admin)?;
    if id == caller.user && input.enabled == Some(false) {
        return Err(ServiceError::Forbidden("you cannot disable yourself".into()));
    }
    let extension = input.extension.as_deref().map(|e| extension(state, e)).transpose()?;
    let display_name = input
        .display_name
        .as_deref()
        .map(|d| validate::optional_text("display_name", Some(d), 80).map(Option::unwrap_or_default))
        .transpose()?;
    let email = input.email.map(|e| validate::email(e.as_deref())).transpose()?;
    let callerid = input.callerid.map(|c| validate::did("callerid", c.as_deref())).transpose()?;
    if input.sip_password.is_some() && input.rotate_sip_password {
        return Err(ServiceError::invalid("sip_password", "give a SIP password or rotate_sip_password, not both"));
    }
    if let Some(s) = &input.sip_password {
        telephony::check_secret("sip_password", s)?;
    }
    let password_hash = match input.password {
        Some(pw) => {
            validate::password("password", &pw)?;
            Some(hash_password(state, pw).await?)
        }
        None => None,
    };
    let ends_sessions = password_hash.is_some() || input.enabled == Some(false);
    let mut conn = state.db.get().await?;
    if ends_sessions {
        // Before the change too (once the agent is known to be this tenant's): with Redis
        // away the change is refused (503), never made with the agent's sessions alive.
        repos::agents::find(&mut conn, tenant_id, id).await?;
        end_sessions(state, id).await?;
    }
    let (agent, queues) = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let tenant = repos::tenants::find(conn, tenant_id).await?;
            // Read under the transaction's lock, so that two changes of one agent queue up.
            let (_, current) = repos::agents::find_for_update(conn, tenant_id, id).await?;
            let profile = input.profile.unwrap_or(profile_of(&current)?);
            let codecs = match (&input.codecs, input.profile) {
                (Some(list), _) => telephony::codecs(Some(list), profile)?,
                // A new profile without codecs takes the profile's defaults.
                (None, Some(p)) if p.as_str() != current.profile => profile.default_codecs(),
                (None, _) => codecs_of(&current),
            };
            let new_secret = match (input.sip_password, input.rotate_sip_password) {
                (Some(s), _) => Some(s),
                (None, true) => Some(telephony::generate_secret()),
                (None, false) => None,
            };
            let secret = match &new_secret {
                Some(s) => s.clone(),
                None => {
                    state.secrets.open(&current.sip_secret_enc).map_err(|e| ServiceError::internal("SIP secret", e))?
                }
            };
            let endpoint = match &extension {
                Some(e) => endpoint_name(&tenant, e)?,
                None => current.endpoint.clone(),
            };
            let row = AgentRow {
                user_id: id.0,
                tenant_id: tenant_id.0,
                profile: profile.as_str().to_string(),
                codecs: codecs.join(","),
                sip_secret_enc: match &new_secret {
                    Some(s) => state.secrets.seal(s),
                    None => current.sip_secret_enc.clone(),
                },
                endpoint,
            };
            let changes = UserChanges {
                password_hash,
                role: None,
                display_name,
                email,
                extension: extension.clone().map(Some),
                callerid,
                enabled: input.enabled,
            };
            let detail = json!({
                "extension": extension, "profile": row.profile, "codecs": row.codecs, "enabled": changes.enabled,
                "password_changed": changes.password_hash.is_some(), "sip_password_changed": new_secret.is_some(),
            });
            if let Some(Some(did)) = &changes.callerid {
                dids::check_default_did(conn, tenant_id, did).await?;
            }
            if !changes.is_empty() {
                repos::users::update(conn, tenant_id, id, &changes).await?;
            }
            repos::agents::update(conn, &row).await.map_err(ServiceError::duplicate_as("extension"))?;
            let user = repos::users::find(conn, tenant_id, id).await?;
            sync_asterisk_rows(conn, state, &tenant, &user, &row, &secret, Some(&current.endpoint)).await?;
            dialplan::regenerate(conn, state, tenant_id).await?;
            let change = Change {
                tenant: Some(tenant_id),
                action: "update",
                entity: "agent",
                entity_id: Some(id.to_string()),
                detail: Some(detail),
            };
            audit::record(conn, Some(caller), change).await?;
            let queues = queue_names(conn, id).await?;
            Ok((view(conn, user, row).await?, queues))
        })
        .await?;
    if ends_sessions {
        end_sessions(state, id).await?;
    }
    live::provisioned(state, tenant_id, queues).await;
    Ok(agent)
}

pub async fn delete(state: &AppState, caller: &Caller, tenant_id: TenantId, id: UserId) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    repos::agents::find(&mut conn, tenant_id, id).await?;
    end_sessions(state, id).await?;
    let queues = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let (user, row) = repos::agents::find_for_update(conn, tenant_id, id).await?;
            dialplan::refuse_if_used(conn, tenant_id, Used::Agent(id.0), "agent").await?;
            let queues = queue_names(conn, id).await?;
            remove_asterisk_rows(conn, &row.endpoint).await?;
            repos::live::clear_pause(conn, tenant_id, id).await?;
            // Cascades to `agents` and `queue_memberships`.
            if repos::users::delete(conn, tenant_id, id).await? == 0 {
                return Err(ServiceError::NotFound);
            }
            let change = Change {
                tenant: Some(tenant_id),
                action: "delete",
                entity: "agent",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"username": user.username, "endpoint": row.endpoint})),
            };
            audit::record(conn, Some(caller), change).await?;
            dialplan::regenerate(conn, state, tenant_id).await?;
            Ok(queues)
        })
        .await?;
    end_sessions(state, id).await?;
    live::provisioned(state, tenant_id, queues).await;
    Ok(())
}

/// What a browser or Chrome-extension softphone (JsSIP, SIP.js) needs to register.
#[derive(Serialize)]
pub struct SoftphoneConfig {
    /// `sip:<endpoint>@<SIP_DOMAIN>`.
    pub uri: String,
    pub auth_username: String,
    pub password: String,
    pub realm: String,
    pub display_name: String,
    pub extension: String,
    pub profile: Profile,
    /// Asterisk's WebSocket transport (`SIP_WSS_URL`); null when not configured.
    pub wss_url: Option<String>,
    pub ice_servers: Vec<IceServer>,
}

/// One entry of `RTCPeerConnection`'s `iceServers`.
#[derive(Debug, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// When the TURN credential stops working (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// The caller's own softphone settings, SIP password included. Only the agent itself gets
/// them: an admin's token gets 403, there is no way to name another agent.
pub async fn softphone(state: &AppState, caller: &Caller) -> ServiceResult<SoftphoneConfig> {
    if caller.role != Role::Agent {
        return Err(ServiceError::Forbidden("softphone credentials are only for agents, and only their own".into()));
    }
    let mut conn = state.db.get().await?;
    let (user, row) = repos::agents::find(&mut conn, caller.tenant, caller.user).await?;
    drop(conn);
    if !user.enabled {
        return Err(ServiceError::Forbidden("the agent is disabled".into()));
    }
    let t = &state.config.telephony;
    let password = state.secrets.open(&row.sip_secret_enc).map_err(|e| ServiceError::internal("SIP secret", e))?;
    let mut ice_servers = Vec::new();
    if !t.stun_urls.is_empty() {
        ice_servers.push(IceServer { urls: t.stun_urls.clone(), username: None, credential: None, expires_at: None });
    }
    if let (false, Some(secret)) = (t.turn_urls.is_empty(), &t.turn_secret) {
        let expires_at = chrono::Utc::now().timestamp() + i64::try_from(t.turn_ttl.as_secs()).unwrap_or(3600);
        let (username, credential) = telephony::turn_credentials(secret.expose(), &row.endpoint, expires_at);
        ice_servers.push(IceServer {
            urls: t.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
            expires_at: Some(expires_at),
        });
    }
    tracing::info!(tenant.id = caller.tenant.0, agent.id = caller.user.0, "softphone credentials handed out");
    Ok(SoftphoneConfig {
        uri: format!("sip:{}@{}", row.endpoint, t.sip_domain),
        auth_username: row.endpoint.clone(),
        password,
        realm: t.sip_realm.clone(),
        display_name: display(&user).to_string(),
        extension: user.extension.clone().unwrap_or_default(),
        profile: profile_of(&row)?,
        wss_url: t.sip_wss_url.clone(),
        ice_servers,
    })
}

/// Whether a user is an agent (other services refuse to change agents themselves).
pub fn is_agent_role(role: &str) -> bool {
    role == Role::Agent.as_str()
}

/// The answer to a softphone login: a session like `/api/auth/login`'s, and the phone.
#[derive(Debug, Serialize)]
pub struct SoftphoneLogin {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub user: UserView,
    pub sip: SoftphoneConfig,
}

/// Logs an agent in with its own credentials and hands its softphone what it needs. A
/// valid login of someone who is not an agent gets 403 and keeps no session.
pub async fn softphone_login(
    state: &AppState,
    input: crate::services::auth::LoginInput,
) -> ServiceResult<SoftphoneLogin> {
    let outcome = crate::services::auth::login(state, input).await?;
    let caller = crate::services::auth::authenticate(state, &outcome.token).await?;
    match softphone(state, &caller).await {
        Ok(sip) => Ok(SoftphoneLogin { token: outcome.token, expires_at: outcome.expires_at, user: outcome.user, sip }),
        Err(e) => {
            crate::services::auth::logout(state, &caller).await?;
            Err(e)
        }
    }
}

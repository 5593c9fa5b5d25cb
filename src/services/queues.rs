//! A tenant's queues and their members. Each queue is Mayday's `tenant_queues` row plus
//! the `queues` row Asterisk's realtime app_queue reads (named `<name prefix><name>`);
//! each member is Mayday's `queue_memberships` row plus a realtime `queue_members` row for
//! an enabled agent, written in one transaction.
//!
//! Asterisk loads realtime members at each queue load (a call entering the queue,
//! QueueStatus) with no reload, and refuses QueueRemove on them: Mayday never adds dynamic
//! members (QueueAdd) for the interfaces it manages. After a change Mayday sends
//! `QueueStatus` for the queue (Asterisk loads the members; the live view shows them) and,
//! for a penalty, `QueuePenalty`.

use diesel_async::AsyncConnection;
use mayday_actors::ami::action;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::asterisk::{self as rt, AsteriskQueue};
use crate::db::models::{Membership, QueueFields, Tenant, TenantQueue};
use crate::db::repos::{self, Conn};
use crate::db::{Page, Paged};
use crate::domain::{Caller, Role, TenantId, UserId};
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, Used};
use crate::services::users::double_option;
use crate::services::{agents, live, require, telephony, ServiceError, ServiceResult};
use crate::state::AppState;

/// app_queue's strategies (`queue_strategy_values`, asterisk.md 4.1).
pub const STRATEGIES: [&str; 8] =
    ["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear", "wrandom", "rrordered"];

/// The conditions `joinempty` / `leavewhenempty` take (app_queue's `parse_empty_options`).
const EMPTY_CONDITIONS: [&str; 12] = [
    "yes",
    "no",
    "strict",
    "loose",
    "paused",
    "penalty",
    "inuse",
    "ringing",
    "unavailable",
    "invalid",
    "unknown",
    "wrapup",
];

#[derive(Clone, Debug, Serialize)]
pub struct QueueView {
    pub id: u64,
    pub name: String,
    /// The queue's name in Asterisk (`Queue(<asterisk_name>)` in the dialplan).
    pub asterisk_name: String,
    pub strategy: String,
    pub timeout_secs: u32,
    pub retry_secs: u32,
    pub wrapup_secs: u32,
    pub service_level_secs: u32,
    pub max_len: u32,
    pub join_empty: Option<String>,
    pub leave_when_empty: Option<String>,
    pub ring_in_use: bool,
    pub music_class: Option<String>,
    pub announce: Option<String>,
    pub weight: i32,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl From<TenantQueue> for QueueView {
    fn from(q: TenantQueue) -> Self {
        QueueView {
            id: q.id,
            name: q.name,
            asterisk_name: q.asterisk_name,
            strategy: q.strategy,
            timeout_secs: q.timeout_secs,
            retry_secs: q.retry_secs,
            wrapup_secs: q.wrapup_secs,
            service_level_secs: q.service_level_secs,
            max_len: q.max_len,
            join_empty: q.join_empty,
            leave_when_empty: q.leave_when_empty,
            ring_in_use: q.ring_in_use,
            music_class: q.music_class,
            announce: q.announce,
            weight: q.weight,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// A queue's settings as the API takes them; on update, absent fields stay and `null`
/// clears an optional one.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueInput {
    pub name: Option<String>,
    pub strategy: Option<String>,
    pub timeout_secs: Option<u32>,
    pub retry_secs: Option<u32>,
    pub wrapup_secs: Option<u32>,
    pub service_level_secs: Option<u32>,
    pub max_len: Option<u32>,
    #[serde(default, deserialize_with = "double_option")]
    pub join_empty: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub leave_when_empty: Option<Option<String>>,
    pub ring_in_use: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub music_class: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub announce: Option<Option<String>>,
    pub weight: Option<i32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    pub agent_id: u64,
    pub username: String,
    pub display_name: String,
    pub extension: Option<String>,
    /// `PJSIP/<endpoint>`, as Asterisk names the member.
    pub interface: String,
    pub penalty: i32,
    pub paused: bool,
    /// A disabled agent keeps its membership but is not in Asterisk's table.
    pub enabled: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// Required when adding with POST; the path names it with PUT.
    pub agent_id: Option<u64>,
    pub penalty: Option<i32>,
    pub paused: Option<bool>,
}

/// Queue names: 1 to 40 of lowercase letters, digits, `-` and `_`, starting with a letter
/// or digit (safe in Asterisk names and dialplan; the prefix is added in front).
pub fn queue_name(value: &str) -> ServiceResult<String> {
    let v = value.trim();
    let ok = (1..=40).contains(&v.len())
        && v.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 40 lowercase letters, digits, - or _, starting with a letter or digit",
        ));
    }
    Ok(v.to_string())
}

fn bounded(field: &str, v: u32, max: u32) -> ServiceResult<u32> {
    if v > max {
        return Err(ServiceError::invalid(field, format!("must be at most {max}")));
    }
    Ok(v)
}

fn strategy(v: &str) -> ServiceResult<String> {
    let v = v.trim().to_ascii_lowercase();
    if STRATEGIES.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(ServiceError::invalid("strategy", format!("must be one of {}", STRATEGIES.join(", "))))
    }
}

fn empty_conditions(field: &str, v: Option<&str>) -> ServiceResult<Option<String>> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let mut out = Vec::new();
    for c in v.split(',').map(|c| c.trim().to_ascii_lowercase()) {
        if !EMPTY_CONDITIONS.contains(&c.as_str()) {
            return Err(ServiceError::invalid(field, format!("{c:?} is not one of {}", EMPTY_CONDITIONS.join(", "))));
        }
        out.push(c);
    }
    let joined = out.join(",");
    if joined.len() > 128 {
        return Err(ServiceError::invalid(field, "is too long"));
    }
    Ok(Some(joined))
}

/// Music-on-hold classes and sound file names: no spaces, quotes or `;`.
fn asset(field: &str, v: Option<&str>, max: usize) -> ServiceResult<Option<String>> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.len() > max || !v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.')) {
        return Err(ServiceError::invalid(field, format!("must be up to {max} letters, digits, - _ / .")));
    }
    if v.contains("..") {
        return Err(ServiceError::invalid(field, "must not contain .."));
    }
    Ok(Some(v.to_string()))
}

/// Applies an input over a queue's current fields (or the defaults for a new queue).
fn fields(tenant: &Tenant, current: Option<&TenantQueue>, input: QueueInput) -> ServiceResult<QueueFields> {
    let name = match (input.name.as_deref(), current) {
        (Some(n), _) => queue_name(n)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ServiceError::invalid("name", "is required")),
    };
    let asterisk_name = telephony::object_id(tenant, &name);
    // queue_members.queue_name is varchar(80) in Asterisk's schema.
    if asterisk_name.len() > 80 {
        return Err(ServiceError::invalid("name", "with the tenant's name prefix must be at most 80 characters"));
    }
    let keep = |a: Option<u32>, f: fn(&TenantQueue) -> u32, default: u32| a.unwrap_or(current.map_or(default, f));
    let opt = |a: Option<Option<String>>, f: fn(&TenantQueue) -> Option<String>| match a {
        Some(v) => v,
        None => current.and_then(f),
    };
    Ok(QueueFields {
        tenant_id: tenant.id,
        name,
        asterisk_name,
        strategy: match input.strategy.as_deref() {
            Some(s) => strategy(s)?,
            None => current.map_or("rrmemory".to_string(), |c| c.strategy.clone()),
        },
        timeout_secs: bounded("timeout_secs", keep(input.timeout_secs, |c| c.timeout_secs, 15), 600)?,
        retry_secs: bounded("retry_secs", keep(input.retry_secs, |c| c.retry_secs, 5), 600)?,
        wrapup_secs: bounded("wrapup_secs", keep(input.wrapup_secs, |c| c.wrapup_secs, 0), 3600)?,
        service_level_secs: bounded(
            "service_level_secs",
            keep(input.service_level_secs, |c| c.service_level_secs, 20),
            3600,
        )?,
        max_len: bounded("max_len", keep(input.max_len, |c| c.max_len, 0), 10_000)?,
        join_empty: empty_conditions("join_empty", opt(input.join_empty, |c| c.join_empty.clone()).as_deref())?,
        leave_when_empty: empty_conditions(
            "leave_when_empty",
            opt(input.leave_when_empty, |c| c.leave_when_empty.clone()).as_deref(),
        )?,
        ring_in_use: input.ring_in_use.unwrap_or(current.is_some_and(|c| c.ring_in_use)),
        music_class: asset("music_class", opt(input.music_class, |c| c.music_class.clone()).as_deref(), 80)?,
        announce: asset("announce", opt(input.announce, |c| c.announce.clone()).as_deref(), 128)?,
        weight: match input.weight.or(current.map(|c| c.weight)).unwrap_or(0) {
            w if (0..=1000).contains(&w) => w,
            _ => return Err(ServiceError::invalid("weight", "must be 0 to 1000")),
        },
    })
}

/// The `queues` row Asterisk reads. NULL (never '') for what is unset: through ODBC both
/// mean "default" (asterisk.md 4.9).
fn asterisk_row(f: &QueueFields) -> AsteriskQueue {
    let int = |v: u32| Some(i32::try_from(v).unwrap_or(i32::MAX));
    AsteriskQueue {
        name: f.asterisk_name.clone(),
        musiconhold: f.music_class.clone(),
        announce: f.announce.clone(),
        timeout: int(f.timeout_secs),
        ringinuse: telephony::yes_no(f.ring_in_use),
        retry: int(f.retry_secs),
        wrapuptime: int(f.wrapup_secs),
        autofill: telephony::yes_no(true),
        maxlen: int(f.max_len),
        servicelevel: int(f.service_level_secs),
        strategy: Some(f.strategy.clone()),
        joinempty: f.join_empty.clone(),
        leavewhenempty: f.leave_when_empty.clone(),
        weight: Some(f.weight),
    }
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    q: Option<&str>,
    page: Page,
) -> ServiceResult<Paged<QueueView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    Ok(repos::queues::list(&mut conn, tenant, q, page).await?.map(QueueView::from))
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<QueueView> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    Ok(QueueView::from(repos::queues::find(&mut conn, tenant, id).await?))
}

pub async fn create(
    state: &AppState,
    caller: Option<&Caller>,
    tenant_id: TenantId,
    input: QueueInput,
) -> ServiceResult<QueueView> {
    if let Some(c) = caller {
        require(c, Role::Admin)?;
    }
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, tenant_id).await?;
    let f = fields(&tenant, None, input)?;
    telephony::check_name_is_own(&mut conn, &tenant, &f.asterisk_name, "name").await?;
    let asterisk_name = f.asterisk_name.clone();
    let view = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let id = repos::queues::insert(conn, &f).await.map_err(ServiceError::duplicate_as("name"))?;
            if rt::asterisk_queue(conn, &f.asterisk_name).await?.is_some() {
                // A queue of that name exists in Asterisk's table and is not Mayday's.
                return Err(ServiceError::Duplicate { field: "name".into() });
            }
            rt::put_queue(conn, &asterisk_row(&f)).await?;
            let change = Change {
                tenant: Some(tenant_id),
                action: "create",
                entity: "queue",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"name": f.name, "asterisk_name": f.asterisk_name, "strategy": f.strategy})),
            };
            dialplan::regenerate(conn, state, tenant_id).await?;
            audit::record(conn, caller, change).await?;
            Ok(QueueView::from(repos::queues::find(conn, tenant_id, id).await?))
        })
        .await?;
    live::provisioned(state, tenant_id, vec![asterisk_name]).await;
    Ok(view)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    tenant_id: TenantId,
    id: u64,
    input: QueueInput,
) -> ServiceResult<QueueView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, tenant_id).await?;
    let current = repos::queues::find(&mut conn, tenant_id, id).await?;
    let f = fields(&tenant, Some(&current), input)?;
    telephony::check_name_is_own(&mut conn, &tenant, &f.asterisk_name, "name").await?;
    let (old_name, new_name) = (current.asterisk_name.clone(), f.asterisk_name.clone());
    let renamed = old_name != new_name;
    let view = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            repos::queues::update(conn, tenant_id, id, &f).await.map_err(ServiceError::duplicate_as("name"))?;
            if renamed {
                if rt::asterisk_queue(conn, &f.asterisk_name).await?.is_some() {
                    return Err(ServiceError::Duplicate { field: "name".into() });
                }
                rt::remove_queue(conn, &current.asterisk_name).await?;
            }
            rt::put_queue(conn, &asterisk_row(&f)).await?;
            if renamed {
                // Members move with the queue.
                for (m, user) in repos::queues::members(conn, id).await? {
                    write_member(conn, tenant_id, &f.asterisk_name, &m, &user, true).await?;
                }
            }
            let change = Change {
                tenant: Some(tenant_id),
                action: "update",
                entity: "queue",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"name": f.name, "strategy": f.strategy, "renamed": renamed})),
            };
            dialplan::regenerate(conn, state, tenant_id).await?;
            audit::record(conn, Some(caller), change).await?;
            Ok(QueueView::from(repos::queues::find(conn, tenant_id, id).await?))
        })
        .await?;
    let refresh = if renamed { vec![old_name, new_name] } else { vec![new_name] };
    live::provisioned(state, tenant_id, refresh).await;
    Ok(view)
}

pub async fn delete(state: &AppState, caller: &Caller, tenant_id: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let current = repos::queues::find(&mut conn, tenant_id, id).await?;
    let asterisk_name = current.asterisk_name.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        dialplan::refuse_if_used(conn, tenant_id, Used::Queue(id), "queue").await?;
        rt::remove_queue(conn, &current.asterisk_name).await?;
        if repos::queues::delete(conn, tenant_id, id).await? == 0 {
            return Err(ServiceError::NotFound);
        }
        let change = Change {
            tenant: Some(tenant_id),
            action: "delete",
            entity: "queue",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": current.name})),
        };
        dialplan::regenerate(conn, state, tenant_id).await?;
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await?;
    live::provisioned(state, tenant_id, vec![asterisk_name]).await;
    Ok(())
}

/// Writes an agent's realtime member row when the agent is enabled (a disabled agent has
/// no Asterisk rows). A Mayday pause of the agent pauses a new row too.
async fn write_member(
    conn: &mut Conn,
    tenant: TenantId,
    queue: &str,
    m: &Membership,
    user: &crate::db::models::User,
    set_paused: bool,
) -> ServiceResult<()> {
    if !user.enabled {
        return Ok(());
    }
    let Some(agent) = repos::agents::by_user(conn, UserId(user.id)).await? else { return Ok(()) };
    let paused_by_mayday = repos::live::pause_of(conn, tenant, UserId(user.id)).await?.is_some();
    let row = agents::member_row(queue, &agent.endpoint, user, m.penalty, m.paused || paused_by_mayday);
    rt::put_member(conn, &row, set_paused).await?;
    Ok(())
}

fn member_view(m: Membership, user: crate::db::models::User, endpoint: &str) -> MemberView {
    MemberView {
        agent_id: user.id,
        display_name: agents::display(&user).to_string(),
        username: user.username,
        extension: user.extension,
        interface: agents::interface(endpoint),
        penalty: m.penalty,
        paused: m.paused,
        enabled: user.enabled,
    }
}

pub async fn members(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    queue: u64,
) -> ServiceResult<Vec<MemberView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    repos::queues::find(&mut conn, tenant, queue).await?;
    let mut out = Vec::new();
    for (m, user) in repos::queues::members(&mut conn, queue).await? {
        let endpoint =
            repos::agents::by_user(&mut conn, UserId(user.id)).await?.map(|a| a.endpoint).unwrap_or_default();
        out.push(member_view(m, user, &endpoint));
    }
    Ok(out)
}

/// Adds an agent to a queue, or changes its penalty or paused flag. `true` when added.
/// `caller` is `None` for operators (the demo).
pub async fn put_member(
    state: &AppState,
    caller: Option<&Caller>,
    tenant_id: TenantId,
    queue: u64,
    agent: UserId,
    input: MemberInput,
) -> ServiceResult<(MemberView, bool)> {
    if let Some(c) = caller {
        require(c, Role::Admin)?;
    }
    if input.agent_id.is_some_and(|a| a != agent.0) {
        return Err(ServiceError::invalid("agent_id", "does not match the agent in the path"));
    }
    let penalty = match input.penalty {
        Some(p) if !(0..=1000).contains(&p) => return Err(ServiceError::invalid("penalty", "must be 0 to 1000")),
        p => p,
    };
    let mut conn = state.db.get().await?;
    let q = repos::queues::find(&mut conn, tenant_id, queue).await?;
    let (user, row) = match repos::agents::find(&mut conn, tenant_id, agent).await {
        Err(diesel::result::Error::NotFound) => {
            return Err(ServiceError::invalid("agent_id", "is not an agent of this tenant"))
        }
        other => other?,
    };
    let existing = repos::queues::member(&mut conn, queue, agent).await?;
    let added = existing.is_none();
    let m = Membership {
        queue_id: queue,
        user_id: agent.0,
        penalty: penalty.or(existing.as_ref().map(|e| e.penalty)).unwrap_or(0),
        paused: input.paused.or(existing.as_ref().map(|e| e.paused)).unwrap_or(false),
    };
    let penalty_changed = existing.as_ref().is_some_and(|e| e.penalty != m.penalty);
    let set_paused = added || input.paused.is_some();
    let asterisk_name = q.asterisk_name.clone();
    let endpoint = row.endpoint.clone();
    let view = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            repos::queues::put_member(conn, &m).await?;
            write_member(conn, tenant_id, &q.asterisk_name, &m, &user, set_paused).await?;
            let change = Change {
                tenant: Some(tenant_id),
                action: if added { "add_member" } else { "update_member" },
                entity: "queue",
                entity_id: Some(queue.to_string()),
                detail: Some(json!({"agent_id": agent.0, "penalty": m.penalty, "paused": m.paused})),
            };
            audit::record(conn, caller, change).await?;
            Ok(member_view(m, user, &row.endpoint))
        })
        .await?;
    if penalty_changed && view.enabled {
        let a = action::queue_penalty(&agents::interface(&endpoint), view.penalty, Some(&asterisk_name));
        live::nudge(state, tenant_id, a);
    }
    live::provisioned(state, tenant_id, vec![asterisk_name]).await;
    Ok((view, added))
}

pub async fn remove_member(
    state: &AppState,
    caller: &Caller,
    tenant_id: TenantId,
    queue: u64,
    agent: UserId,
) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let q = repos::queues::find(&mut conn, tenant_id, queue).await?;
    let endpoint = repos::agents::find(&mut conn, tenant_id, agent).await?.1.endpoint;
    let asterisk_name = q.asterisk_name.clone();
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        if repos::queues::remove_member(conn, queue, agent).await? == 0 {
            return Err(ServiceError::NotFound);
        }
        rt::remove_member(conn, &q.asterisk_name, &agents::interface(&endpoint)).await?;
        let change = Change {
            tenant: Some(tenant_id),
            action: "remove_member",
            entity: "queue",
            entity_id: Some(queue.to_string()),
            detail: Some(json!({"agent_id": agent.0})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await?;
    live::provisioned(state, tenant_id, vec![asterisk_name]).await;
    Ok(())
}

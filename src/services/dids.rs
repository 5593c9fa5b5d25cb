//! A tenant's DID inventory: numbers agents present as caller ID (their default DID, or one
//! picked per call with a dial prefix 43-49) and numbers callers dial (inbound routes).

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{Did, DidFields};
use crate::db::repos::{self, routing, Conn};
use crate::domain::{Caller, Role, TenantId};
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, Used};
use crate::services::users::double_option;
use crate::services::{require, validate, ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct DidView {
    pub id: u64,
    pub did: String,
    pub label: String,
    pub trunk_id: Option<u64>,
    pub allow_inbound: bool,
    pub allow_outbound: bool,
    pub active: bool,
    pub dial_prefix: Option<u8>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl From<Did> for DidView {
    fn from(d: Did) -> Self {
        DidView {
            id: d.id,
            did: d.did,
            label: d.label,
            trunk_id: d.trunk_id,
            allow_inbound: d.allow_inbound,
            allow_outbound: d.allow_outbound,
            active: d.active,
            dial_prefix: d.dial_prefix,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// On update absent fields stay, `null` clears an optional one.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DidInput {
    pub did: Option<String>,
    pub label: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub trunk_id: Option<Option<u64>>,
    pub allow_inbound: Option<bool>,
    pub allow_outbound: Option<bool>,
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub dial_prefix: Option<Option<u8>>,
}

/// An entry of the old DID dropdowns (`GET /api/users/inbound_route/dids`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DidOption {
    pub did: String,
    pub label: String,
}

async fn fields(conn: &mut Conn, tenant: TenantId, current: Option<&Did>, input: DidInput) -> ServiceResult<DidFields> {
    let did = match (input.did.as_deref(), current) {
        (Some(d), _) => validate::did("did", Some(d))?.ok_or_else(|| ServiceError::invalid("did", "is required"))?,
        (None, Some(c)) => c.did.clone(),
        (None, None) => return Err(ServiceError::invalid("did", "is required")),
    };
    // Asterisk prefers an exact DID to a pattern: a DID inside another tenant's inbound
    // pattern would take that tenant's calls to it.
    if current.is_none_or(|c| c.did != did)
        && routing::inbound::patterns_of_others(conn, tenant)
            .await?
            .iter()
            .any(|p| crate::dialplan::pattern::matches(p, &did))
    {
        return Err(ServiceError::invalid("did", "falls in another tenant's inbound pattern"));
    }
    let label = match (input.label.as_deref(), current) {
        (Some(l), _) => validate::text("label", l, 80)?,
        (None, Some(c)) => c.label.clone(),
        (None, None) => return Err(ServiceError::invalid("label", "is required")),
    };
    let trunk_id = input.trunk_id.unwrap_or(current.and_then(|c| c.trunk_id));
    if let Some(t) = trunk_id {
        repos::trunks::find(conn, tenant, t).await.map_err(|e| match e {
            diesel::result::Error::NotFound => ServiceError::invalid("trunk_id", "is not a trunk of this tenant"),
            other => other.into(),
        })?;
    }
    let dial_prefix = input.dial_prefix.unwrap_or(current.and_then(|c| c.dial_prefix));
    if dial_prefix.is_some_and(|p| !(43..=49).contains(&p)) {
        return Err(ServiceError::invalid("dial_prefix", "must be 43 to 49"));
    }
    Ok(DidFields {
        tenant_id: tenant.0,
        did,
        label,
        trunk_id,
        allow_inbound: input.allow_inbound.or(current.map(|c| c.allow_inbound)).unwrap_or(true),
        allow_outbound: input.allow_outbound.or(current.map(|c| c.allow_outbound)).unwrap_or(true),
        active: input.active.or(current.map(|c| c.active)).unwrap_or(true),
        dial_prefix,
    })
}

/// An agent's default DID must be an active, outbound-allowed DID of its tenant.
pub async fn check_default_did(conn: &mut Conn, tenant: TenantId, did: &str) -> ServiceResult<()> {
    match routing::did::by_number(conn, tenant, did).await? {
        Some(d) if d.active && d.allow_outbound => Ok(()),
        Some(_) => Err(ServiceError::invalid("callerid", "is not an active DID that may be used outbound")),
        None => Err(ServiceError::invalid("callerid", "is not a DID of this tenant's inventory")),
    }
}

/// Agents presenting a DID by default.
async fn agents_using(conn: &mut Conn, tenant: TenantId, did: &str) -> ServiceResult<Vec<String>> {
    Ok(repos::agents::all_of(conn, tenant)
        .await?
        .into_iter()
        .filter(|(u, _)| u.callerid.as_deref() == Some(did))
        .map(|(u, _)| format!("agent {:?}", u.username))
        .collect())
}

pub async fn list(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<Vec<DidView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    Ok(routing::did::all_of(&mut conn, tenant).await?.into_iter().map(DidView::from).collect())
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<DidView> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    Ok(DidView::from(routing::did::find(&mut conn, tenant, id).await?))
}

pub async fn create(state: &AppState, caller: &Caller, tenant: TenantId, input: DidInput) -> ServiceResult<DidView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let f = fields(&mut conn, tenant, None, input).await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let id = routing::did::insert(conn, &f).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "create",
            entity: "did",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"did": f.did, "dial_prefix": f.dial_prefix})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(DidView::from(routing::did::find(conn, tenant, id).await?))
    })
    .await
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    id: u64,
    input: DidInput,
) -> ServiceResult<DidView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::did::find(conn, tenant, id).await?;
        let f = fields(conn, tenant, Some(&current), input).await?;
        let still_usable = f.did == current.did && f.active && f.allow_outbound;
        if !still_usable {
            let users = agents_using(conn, tenant, &current.did).await?;
            if !users.is_empty() {
                return Err(ServiceError::Conflict(format!(
                    "this DID is the default caller ID of {}: give them another first",
                    users.join(", ")
                )));
            }
        }
        routing::did::update(conn, tenant, id, &f).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "update",
            entity: "did",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"did": f.did, "active": f.active, "dial_prefix": f.dial_prefix})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(DidView::from(routing::did::find(conn, tenant, id).await?))
    })
    .await
}

pub async fn delete(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::did::find(conn, tenant, id).await?;
        let mut users = dialplan::users_of(conn, tenant, Used::Did(id)).await?;
        users.extend(agents_using(conn, tenant, &current.did).await?);
        for r in routing::inbound::all_of(conn, tenant).await? {
            if r.pattern == current.did {
                users.push(format!("inbound route {:?}", r.name));
            }
        }
        if !users.is_empty() {
            return Err(ServiceError::Conflict(format!("this DID is used by {}", users.join(", "))));
        }
        routing::did::delete(conn, tenant, id).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "delete",
            entity: "did",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"did": current.did})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await
}

/// The DID dropdown of the old clients: active outbound-allowed inventory DIDs, or when the
/// inventory has none, the DIDs of enabled inbound routes; labelled `<label> (<did>)`.
pub async fn dropdown(state: &AppState, caller: &Caller) -> ServiceResult<Vec<DidOption>> {
    let mut conn = state.db.get().await?;
    let inventory: Vec<DidOption> = routing::did::all_of(&mut conn, caller.tenant)
        .await?
        .into_iter()
        .filter(|d| d.active && d.allow_outbound)
        .map(|d| DidOption { label: format!("{} ({})", d.label, d.did), did: d.did })
        .collect();
    if !inventory.is_empty() {
        return Ok(inventory);
    }
    Ok(routing::inbound::all_of(&mut conn, caller.tenant)
        .await?
        .into_iter()
        .filter(|r| r.enabled && !r.pattern.starts_with('_'))
        .map(|r| DidOption { label: format!("{} ({})", r.name, r.pattern), did: r.pattern })
        .collect())
}

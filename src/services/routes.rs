//! Inbound routes (a DID or pattern to a destination, with an optional time condition and a
//! fallback) and outbound routes (dial patterns, trunks in failover order, digits to strip
//! and prepend, which DID to present). Each change regenerates the tenant's dialplan in the
//! same transaction.

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{InboundFields, InboundRow, OutboundFields, OutboundRow};
use crate::db::repos::{self, routing, Conn};
use crate::dialplan::{pattern, CalleridPolicy, Destination};
use crate::domain::{Caller, Role, TenantId};
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, parse, to_json, Used};
use crate::services::users::double_option;
use crate::services::{require, validate, ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct InboundView {
    pub id: u64,
    pub name: String,
    pub pattern: String,
    pub destination: Destination,
    pub time_condition_id: Option<u64>,
    pub fallback: Option<Destination>,
    pub enabled: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

fn inbound_view(r: InboundRow) -> ServiceResult<InboundView> {
    Ok(InboundView {
        destination: parse("route destination", &r.destination)?,
        fallback: r.fallback.as_deref().map(|f| parse("route fallback", f)).transpose()?,
        id: r.id,
        name: r.name,
        pattern: r.pattern,
        time_condition_id: r.time_condition_id,
        enabled: r.enabled,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundInput {
    pub name: Option<String>,
    /// A DID of the tenant, or a pattern (`_0323X.`).
    pub pattern: Option<String>,
    pub destination: Option<Destination>,
    #[serde(default, deserialize_with = "double_option")]
    pub time_condition_id: Option<Option<u64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub fallback: Option<Option<Destination>>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutboundView {
    pub id: u64,
    pub name: String,
    pub position: i32,
    pub patterns: Vec<String>,
    pub trunk_ids: Vec<u64>,
    pub strip_digits: u32,
    pub prepend: String,
    pub callerid_policy: CalleridPolicy,
    pub fixed_did_id: Option<u64>,
    pub enabled: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

fn outbound_view(r: OutboundRow) -> ServiceResult<OutboundView> {
    Ok(OutboundView {
        patterns: parse("route patterns", &r.patterns)?,
        trunk_ids: parse("route trunks", &r.trunk_ids)?,
        callerid_policy: dialplan::policy_of(&r.callerid_policy),
        id: r.id,
        name: r.name,
        position: r.position,
        strip_digits: r.strip_digits,
        prepend: r.prepend,
        fixed_did_id: r.fixed_did_id,
        enabled: r.enabled,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundInput {
    pub name: Option<String>,
    pub position: Option<i32>,
    pub patterns: Option<Vec<String>>,
    pub trunk_ids: Option<Vec<u64>>,
    pub strip_digits: Option<u32>,
    pub prepend: Option<String>,
    pub callerid_policy: Option<CalleridPolicy>,
    #[serde(default, deserialize_with = "double_option")]
    pub fixed_did_id: Option<Option<u64>>,
    pub enabled: Option<bool>,
}

fn policy_name(p: CalleridPolicy) -> &'static str {
    match p {
        CalleridPolicy::Agent => "agent",
        CalleridPolicy::Prefix => "prefix",
        CalleridPolicy::Fixed => "fixed",
    }
}

/// An inbound pattern: an active inbound DID of the tenant, or a pattern that starts with at
/// least 4 literal digits and matches no other tenant's DID (`mayday-inbound` is shared).
async fn inbound_pattern(conn: &mut Conn, tenant: TenantId, p: &str) -> ServiceResult<String> {
    let p = p.trim();
    if !pattern::is_valid(p) || p.len() > 40 {
        return Err(ServiceError::invalid(
            "pattern",
            "must be a DID or an Asterisk pattern such as _0323X. (at most 40)",
        ));
    }
    if !p.starts_with('_') {
        return match routing::did::by_number(conn, tenant, p).await? {
            Some(d) if d.active && d.allow_inbound => Ok(p.to_string()),
            Some(_) => Err(ServiceError::invalid("pattern", "is a DID that is inactive or not allowed inbound")),
            None => Err(ServiceError::invalid("pattern", "is not a DID of this tenant's inventory")),
        };
    }
    if pattern::literal_prefix(p).len() < 4 {
        return Err(ServiceError::invalid(
            "pattern",
            "must start with at least 4 digits (other tenants share the PBX)",
        ));
    }
    if routing::did::numbers_of_others(conn, tenant).await?.iter().any(|d| pattern::matches(p, d)) {
        return Err(ServiceError::invalid("pattern", "matches another tenant's DID"));
    }
    Ok(p.to_string())
}

async fn inbound_fields(
    conn: &mut Conn,
    state: &AppState,
    tenant: TenantId,
    current: Option<&InboundRow>,
    input: InboundInput,
) -> ServiceResult<InboundFields> {
    let name = match (input.name.as_deref(), current) {
        (Some(n), _) => validate::text("name", n, 80)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ServiceError::invalid("name", "is required")),
    };
    let pattern = match (input.pattern.as_deref(), current) {
        (Some(p), _) => inbound_pattern(conn, tenant, p).await?,
        (None, Some(c)) => c.pattern.clone(),
        (None, None) => return Err(ServiceError::invalid("pattern", "is required")),
    };
    let destination = match (input.destination, current) {
        (Some(d), _) => d,
        (None, Some(c)) => parse("route destination", &c.destination)?,
        (None, None) => return Err(ServiceError::invalid("destination", "is required")),
    };
    let fallback = match input.fallback {
        Some(f) => f,
        None => current.and_then(|c| c.fallback.as_deref()).map(|f| parse("route fallback", f)).transpose()?,
    };
    let time_condition_id = input.time_condition_id.unwrap_or(current.and_then(|c| c.time_condition_id));
    let tenant_row = repos::tenants::find(conn, tenant).await?;
    let plan = dialplan::plan_of(conn, state, &tenant_row).await?;
    if let Some(tc) = time_condition_id {
        if !plan.time_conditions.contains_key(&tc) {
            return Err(ServiceError::invalid("time_condition_id", "is not a time condition of this tenant"));
        }
    }
    if let (Some(c), Destination::Route { id }) = (current, &destination) {
        if *id == c.id {
            return Err(ServiceError::invalid("destination", "cannot be the route itself"));
        }
    }
    dialplan::check_destination(&plan, "destination", &destination)?;
    if let Some(f) = &fallback {
        dialplan::check_destination(&plan, "fallback", f)?;
    }
    Ok(InboundFields {
        tenant_id: tenant.0,
        name,
        pattern,
        destination: to_json(&destination),
        time_condition_id,
        fallback: fallback.as_ref().map(to_json),
        enabled: input.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
    })
}

pub async fn list_inbound(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<Vec<InboundView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    routing::inbound::all_of(&mut conn, tenant).await?.into_iter().map(inbound_view).collect()
}

pub async fn get_inbound(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<InboundView> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    inbound_view(routing::inbound::find(&mut conn, tenant, id).await?)
}

pub async fn create_inbound(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    input: InboundInput,
) -> ServiceResult<InboundView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let f = inbound_fields(conn, state, tenant, None, input).await?;
        let id = routing::inbound::insert(conn, &f).await.map_err(ServiceError::from)?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "create",
            entity: "inbound_route",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name, "pattern": f.pattern})),
        };
        audit::record(conn, Some(caller), change).await?;
        inbound_view(routing::inbound::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn update_inbound(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    id: u64,
    input: InboundInput,
) -> ServiceResult<InboundView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::inbound::find(conn, tenant, id).await?;
        let f = inbound_fields(conn, state, tenant, Some(&current), input).await?;
        routing::inbound::update(conn, tenant, id, &f).await.map_err(ServiceError::from)?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "update",
            entity: "inbound_route",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name, "pattern": f.pattern, "enabled": f.enabled})),
        };
        audit::record(conn, Some(caller), change).await?;
        inbound_view(routing::inbound::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn delete_inbound(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::inbound::find(conn, tenant, id).await?;
        dialplan::refuse_if_used(conn, tenant, Used::Route(id), "route").await?;
        routing::inbound::delete(conn, tenant, id).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "delete",
            entity: "inbound_route",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": current.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await
}

async fn outbound_fields(
    conn: &mut Conn,
    tenant: TenantId,
    current: Option<&OutboundRow>,
    input: OutboundInput,
) -> ServiceResult<OutboundFields> {
    let name = match (input.name.as_deref(), current) {
        (Some(n), _) => validate::text("name", n, 80)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ServiceError::invalid("name", "is required")),
    };
    let patterns: Vec<String> = match (input.patterns, current) {
        (Some(p), _) => p.into_iter().map(|p| p.trim().to_string()).collect(),
        (None, Some(c)) => parse("route patterns", &c.patterns)?,
        (None, None) => return Err(ServiceError::invalid("patterns", "is required")),
    };
    if patterns.is_empty() || patterns.len() > 20 {
        return Err(ServiceError::invalid("patterns", "must list 1 to 20 dial patterns"));
    }
    if let Some(bad) = patterns.iter().find(|p| !pattern::is_valid(p) || p.len() > 36) {
        return Err(ServiceError::invalid("patterns", format!("{bad:?} is not a dial pattern such as _0X.")));
    }
    let trunk_ids: Vec<u64> = match (input.trunk_ids, current) {
        (Some(t), _) => t,
        (None, Some(c)) => parse("route trunks", &c.trunk_ids)?,
        (None, None) => Vec::new(),
    };
    if trunk_ids.len() > 8 {
        return Err(ServiceError::invalid("trunk_ids", "must list at most 8 trunks"));
    }
    for t in &trunk_ids {
        repos::trunks::find(conn, tenant, *t).await.map_err(|e| match e {
            diesel::result::Error::NotFound => {
                ServiceError::invalid("trunk_ids", format!("{t} is not a trunk of this tenant"))
            }
            other => other.into(),
        })?;
    }
    let strip_digits = input.strip_digits.or(current.map(|c| c.strip_digits)).unwrap_or(0);
    if strip_digits > 20 {
        return Err(ServiceError::invalid("strip_digits", "must be at most 20"));
    }
    let prepend =
        input.prepend.map(|p| p.trim().to_string()).or(current.map(|c| c.prepend.clone())).unwrap_or_default();
    if prepend.len() > 20 || !prepend.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'*' | b'#')) {
        return Err(ServiceError::invalid("prepend", "must be up to 20 digits, + * #"));
    }
    let policy = input
        .callerid_policy
        .unwrap_or(current.map_or(CalleridPolicy::Prefix, |c| dialplan::policy_of(&c.callerid_policy)));
    let fixed_did_id = input.fixed_did_id.unwrap_or(current.and_then(|c| c.fixed_did_id));
    match (policy, fixed_did_id) {
        (CalleridPolicy::Fixed, None) => {
            return Err(ServiceError::invalid("fixed_did_id", "is required with callerid_policy fixed"))
        }
        (_, Some(d)) => match routing::did::find(conn, tenant, d).await {
            Ok(did) if did.active && did.allow_outbound => {}
            Ok(_) => {
                return Err(ServiceError::invalid("fixed_did_id", "is not an active DID that may be used outbound"))
            }
            Err(diesel::result::Error::NotFound) => {
                return Err(ServiceError::invalid("fixed_did_id", "is not a DID of this tenant"));
            }
            Err(e) => return Err(e.into()),
        },
        _ => {}
    }
    Ok(OutboundFields {
        tenant_id: tenant.0,
        name,
        position: input.position.or(current.map(|c| c.position)).unwrap_or(0),
        patterns: to_json(&patterns),
        trunk_ids: to_json(&trunk_ids),
        strip_digits,
        prepend,
        callerid_policy: policy_name(policy).to_string(),
        fixed_did_id,
        enabled: input.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
    })
}

pub async fn list_outbound(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<Vec<OutboundView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    routing::outbound::all_of(&mut conn, tenant).await?.into_iter().map(outbound_view).collect()
}

pub async fn get_outbound(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<OutboundView> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    outbound_view(routing::outbound::find(&mut conn, tenant, id).await?)
}

pub async fn create_outbound(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    input: OutboundInput,
) -> ServiceResult<OutboundView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let f = outbound_fields(conn, tenant, None, input).await?;
        let id = routing::outbound::insert(conn, &f).await.map_err(ServiceError::duplicate_as("name"))?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "create",
            entity: "outbound_route",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name, "patterns": f.patterns})),
        };
        audit::record(conn, Some(caller), change).await?;
        outbound_view(routing::outbound::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn update_outbound(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    id: u64,
    input: OutboundInput,
) -> ServiceResult<OutboundView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::outbound::find(conn, tenant, id).await?;
        let f = outbound_fields(conn, tenant, Some(&current), input).await?;
        routing::outbound::update(conn, tenant, id, &f).await.map_err(ServiceError::duplicate_as("name"))?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "update",
            entity: "outbound_route",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name, "patterns": f.patterns, "enabled": f.enabled})),
        };
        audit::record(conn, Some(caller), change).await?;
        outbound_view(routing::outbound::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn delete_outbound(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::outbound::find(conn, tenant, id).await?;
        routing::outbound::delete(conn, tenant, id).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "delete",
            entity: "outbound_route",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": current.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await
}

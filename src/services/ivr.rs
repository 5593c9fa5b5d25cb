//! IVR menus: a prompt, one digit read, options to destinations, and what happens on
//! timeout or a wrong digit once the retries are used up.

use std::collections::BTreeMap;

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{IvrFields, IvrRow};
use crate::db::repos::{self, routing, Conn};
use crate::dialplan::Destination;
use crate::domain::{Caller, Role, TenantId};
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, parse, to_json, Used};
use crate::services::users::double_option;
use crate::services::{require, validate, ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct IvrView {
    pub id: u64,
    pub name: String,
    pub prompt_id: Option<u64>,
    pub timeout_secs: u32,
    pub retries: u32,
    pub options: BTreeMap<String, Destination>,
    pub timeout_destination: Option<Destination>,
    pub invalid_destination: Option<Destination>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

fn view(r: IvrRow) -> ServiceResult<IvrView> {
    Ok(IvrView {
        options: parse("ivr options", &r.options)?,
        timeout_destination: r.timeout_destination.as_deref().map(|d| parse("ivr timeout", d)).transpose()?,
        invalid_destination: r.invalid_destination.as_deref().map(|d| parse("ivr invalid", d)).transpose()?,
        id: r.id,
        name: r.name,
        prompt_id: r.prompt_id,
        timeout_secs: r.timeout_secs,
        retries: r.retries,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IvrInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub prompt_id: Option<Option<u64>>,
    pub timeout_secs: Option<u32>,
    pub retries: Option<u32>,
    pub options: Option<BTreeMap<String, Destination>>,
    #[serde(default, deserialize_with = "double_option")]
    pub timeout_destination: Option<Option<Destination>>,
    #[serde(default, deserialize_with = "double_option")]
    pub invalid_destination: Option<Option<Destination>>,
}

async fn fields(
    conn: &mut Conn,
    state: &AppState,
    tenant: TenantId,
    current: Option<&IvrRow>,
    input: IvrInput,
) -> ServiceResult<IvrFields> {
    let name = match (input.name.as_deref(), current) {
        (Some(n), _) => validate::text("name", n, 80)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ServiceError::invalid("name", "is required")),
    };
    let prompt_id = input.prompt_id.unwrap_or(current.and_then(|c| c.prompt_id));
    if let Some(p) = prompt_id {
        routing::prompt::find(conn, tenant, p).await.map_err(|e| match e {
            diesel::result::Error::NotFound => ServiceError::invalid("prompt_id", "is not a prompt of this tenant"),
            other => other.into(),
        })?;
    }
    let timeout_secs = input.timeout_secs.or(current.map(|c| c.timeout_secs)).unwrap_or(5);
    if !(1..=60).contains(&timeout_secs) {
        return Err(ServiceError::invalid("timeout_secs", "must be 1 to 60"));
    }
    let retries = input.retries.or(current.map(|c| c.retries)).unwrap_or(2);
    if retries > 5 {
        return Err(ServiceError::invalid("retries", "must be 0 to 5"));
    }
    let options: BTreeMap<String, Destination> = match (input.options, current) {
        (Some(o), _) => o,
        (None, Some(c)) => parse("ivr options", &c.options)?,
        (None, None) => BTreeMap::new(),
    };
    let pick =
        |a: Option<Option<Destination>>, c: Option<&Option<String>>, what| -> ServiceResult<Option<Destination>> {
            match a {
                Some(d) => Ok(d),
                None => c.and_then(|s| s.as_deref()).map(|d| parse(what, d)).transpose(),
            }
        };
    let timeout_destination = pick(input.timeout_destination, current.map(|c| &c.timeout_destination), "ivr timeout")?;
    let invalid_destination = pick(input.invalid_destination, current.map(|c| &c.invalid_destination), "ivr invalid")?;
    let t = repos::tenants::find(conn, tenant).await?;
    let plan = dialplan::plan_of(conn, state, &t).await?;
    for (digit, d) in &options {
        if digit.len() != 1 || !digit.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#') {
            return Err(ServiceError::invalid("options", format!("{digit:?} is not one key (0-9, * or #)")));
        }
        dialplan::check_destination(&plan, &format!("options.{digit}"), d)?;
    }
    for (field, d) in [("timeout_destination", &timeout_destination), ("invalid_destination", &invalid_destination)] {
        if let Some(d) = d {
            dialplan::check_destination(&plan, field, d)?;
        }
    }
    Ok(IvrFields {
        tenant_id: tenant.0,
        name,
        prompt_id,
        timeout_secs,
        retries,
        options: to_json(&options),
        timeout_destination: timeout_destination.as_ref().map(to_json),
        invalid_destination: invalid_destination.as_ref().map(to_json),
    })
}

pub async fn list(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<Vec<IvrView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    routing::ivr::all_of(&mut conn, tenant).await?.into_iter().map(view).collect()
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<IvrView> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    view(routing::ivr::find(&mut conn, tenant, id).await?)
}

pub async fn create(state: &AppState, caller: &Caller, tenant: TenantId, input: IvrInput) -> ServiceResult<IvrView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let f = fields(conn, state, tenant, None, input).await?;
        let id = routing::ivr::insert(conn, &f).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "create",
            entity: "ivr_menu",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        view(routing::ivr::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    id: u64,
    input: IvrInput,
) -> ServiceResult<IvrView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::ivr::find(conn, tenant, id).await?;
        let f = fields(conn, state, tenant, Some(&current), input).await?;
        routing::ivr::update(conn, tenant, id, &f).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "update",
            entity: "ivr_menu",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": f.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        view(routing::ivr::find(conn, tenant, id).await?)
    })
    .await
}

pub async fn delete(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = routing::ivr::find(conn, tenant, id).await?;
        let users: Vec<String> = dialplan::users_of(conn, tenant, Used::Ivr(id))
            .await?
            .into_iter()
            .filter(|u| *u != format!("IVR menu {:?}", current.name))
            .collect();
        if !users.is_empty() {
            return Err(ServiceError::Conflict(format!("this IVR menu is used by {}", users.join(", "))));
        }
        routing::ivr::delete(conn, tenant, id).await?;
        dialplan::regenerate(conn, state, tenant).await?;
        let change = Change {
            tenant: Some(tenant),
            action: "delete",
            entity: "ivr_menu",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": current.name})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await
}

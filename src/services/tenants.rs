//! Tenants (superadmins only): each lives on one PBX and names its Asterisk objects with a
//! prefix, so several tenants can share a PBX without their names colliding (design.md,
//! "PBXs and tenants").

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{NewTenant, Tenant, TenantChanges};
use crate::db::repos::{self, Conn};
use crate::db::{Page, Paged};
use crate::domain::{Caller, PbxId, TenantId, PLATFORM_TENANT};
use crate::services::audit::{self, Change};
use crate::services::users::double_option;
use crate::services::{validate, ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct TenantView {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub enabled: bool,
    pub pbx_id: Option<u64>,
    pub name_prefix: String,
    pub domains: Vec<String>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl TenantView {
    fn new(t: Tenant, domains: Vec<String>) -> Self {
        TenantView {
            id: t.id,
            slug: t.slug,
            name: t.name,
            timezone: t.timezone,
            enabled: t.enabled,
            pbx_id: t.pbx_id,
            name_prefix: t.name_prefix,
            domains,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub pbx_id: Option<u64>,
    /// Defaults to `<slug>-`; empty for a tenant alone on its PBX.
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub domains: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub pbx_id: Option<Option<u64>>,
    pub name_prefix: Option<String>,
    pub domains: Option<Vec<String>>,
}

fn require_superadmin(caller: Option<&Caller>) -> ServiceResult<()> {
    match caller {
        Some(c) if !c.is_superadmin() => Err(ServiceError::Forbidden("this needs the superadmin role".into())),
        _ => Ok(()),
    }
}

fn domains(input: Option<Vec<String>>) -> ServiceResult<Option<Vec<String>>> {
    let Some(list) = input else { return Ok(None) };
    if list.len() > 20 {
        return Err(ServiceError::invalid("domains", "at most 20 host names"));
    }
    let mut out: Vec<String> = list.iter().map(|d| validate::hostname("domains", d)).collect::<ServiceResult<_>>()?;
    out.sort();
    out.dedup();
    Ok(Some(out))
}

/// Asterisk's realtime tables are shared by every PBX that reads Mayday's database, so
/// a tenant's names must not collide with any other tenant's, on any PBX: the context
/// prefixes (the name prefix, or `<slug>-` without one) of two tenants never overlap, no
/// Asterisk object already carries a new prefix, and tenants sharing a PBX all have one.
async fn check_prefix(
    conn: &mut Conn,
    pbx: Option<u64>,
    me: Option<TenantId>,
    slug: &str,
    prefix: &str,
    prefix_is_new: bool,
) -> ServiceResult<()> {
    if let Some(pbx) = pbx {
        repos::pbxes::find(conn, PbxId(pbx)).await.map_err(|e| match e {
            diesel::result::Error::NotFound => ServiceError::invalid("pbx_id", "no such PBX"),
            other => other.into(),
        })?;
    }
    let mine = if prefix.is_empty() { format!("{slug}-") } else { prefix.to_string() };
    if mine.starts_with("mayday-") {
        return Err(ServiceError::invalid(
            "name_prefix",
            "mayday- names the static dialplan's contexts: choose another",
        ));
    }
    for other in repos::tenants::all(conn).await? {
        if Some(TenantId(other.id)) == me {
            continue;
        }
        if pbx.is_some() && other.pbx_id == pbx && (prefix.is_empty() || other.name_prefix.is_empty()) {
            return Err(ServiceError::Conflict(format!(
                "PBX {} is shared with tenant {}: every tenant on a shared PBX needs a non-empty name_prefix",
                pbx.unwrap_or_default(),
                other.slug
            )));
        }
        // Names without a prefix are plain (`1001`, `support`): two such tenants would
        // collide in the shared tables (the platform tenant has no Asterisk objects).
        if prefix.is_empty() && other.name_prefix.is_empty() && other.slug != PLATFORM_TENANT {
            return Err(ServiceError::Conflict(format!(
                "tenant {} already names its Asterisk objects without a prefix, and every PBX reads the same tables: give this one a name_prefix",
                other.slug
            )));
        }
        let theirs = crate::services::telephony::context_prefix(&other);
        if mine.starts_with(&theirs) || theirs.starts_with(&mine) {
            return Err(ServiceError::Conflict(format!(
                "the tenant's Asterisk names ({mine}...) would overlap tenant {}'s ({theirs}...): set another name_prefix",
                other.slug
            )));
        }
    }
    if prefix_is_new && !prefix.is_empty() && crate::db::asterisk::any_named_with_prefix(conn, prefix).await? {
        return Err(ServiceError::Conflict(format!(
            "Asterisk already has endpoints or queues named {prefix}...: set another name_prefix"
        )));
    }
    Ok(())
}

pub async fn list(state: &AppState, caller: &Caller, q: Option<&str>, page: Page) -> ServiceResult<Paged<TenantView>> {
    require_superadmin(Some(caller))?;
    let mut conn = state.db.get().await?;
    let tenants = repos::tenants::list(&mut conn, q, page).await?;
    let mut items = Vec::with_capacity(tenants.items.len());
    for t in tenants.items {
        let d = repos::tenants::domains(&mut conn, TenantId(t.id)).await?;
        items.push(TenantView::new(t, d));
    }
    Ok(Paged { items, page: tenants.page, per_page: tenants.per_page, total: tenants.total })
}

pub async fn get(state: &AppState, caller: &Caller, id: TenantId) -> ServiceResult<TenantView> {
    if !caller.is_superadmin() && caller.tenant != id {
        return Err(ServiceError::NotFound);
    }
    let mut conn = state.db.get().await?;
    let t = repos::tenants::find(&mut conn, id).await?;
    let d = repos::tenants::domains(&mut conn, id).await?;
    Ok(TenantView::new(t, d))
}

/// Creates a tenant; `caller` is `None` for the CLI.
pub async fn create(state: &AppState, caller: Option<&Caller>, input: CreateTenant) -> ServiceResult<TenantView> {
    require_superadmin(caller)?;
    let slug = validate::slug(&input.slug)?;
    if slug == PLATFORM_TENANT {
        return Err(ServiceError::invalid("slug", "is reserved"));
    }
    let name = validate::text("name", &input.name, 120)?;
    let timezone = validate::timezone(input.timezone.as_deref().unwrap_or("UTC"))?;
    let name_prefix = validate::name_prefix(input.name_prefix.as_deref().unwrap_or(&format!("{slug}-")))?;
    let domains = domains(input.domains)?.unwrap_or_default();
    let new = NewTenant {
        slug,
        name,
        timezone,
        enabled: input.enabled.unwrap_or(true),
        pbx_id: input.pbx_id,
        name_prefix,
        dialplan_generation: crate::dialplan::GENERATION,
    };
    let mut conn = state.db.get().await?;
    // Asterisk's call records name the tenant by its slug: a new tenant with the slug of a
    // deleted one would see that tenant's call history.
    if crate::db::asterisk::cdr_names_tenant(&mut conn, &new.slug).await? {
        return Err(ServiceError::invalid("slug", "has call records of a deleted tenant: choose another"));
    }
    let view = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            check_prefix(conn, new.pbx_id, None, &new.slug, &new.name_prefix, true).await?;
            let id = repos::tenants::insert(conn, &new).await?;
            repos::tenants::set_domains(conn, id, &domains).await?;
            let change = Change {
                tenant: Some(id),
                action: "create",
                entity: "tenant",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"slug": new.slug, "pbx_id": new.pbx_id, "name_prefix": new.name_prefix})),
            };
            audit::record(conn, caller, change).await?;
            Ok(TenantView::new(repos::tenants::find(conn, id).await?, domains))
        })
        .await?;
    state.live.reload(state).await;
    Ok(view)
}

pub async fn update(
    state: &AppState,
    caller: Option<&Caller>,
    id: TenantId,
    input: UpdateTenant,
) -> ServiceResult<TenantView> {
    require_superadmin(caller)?;
    let changes = TenantChanges {
        name: input.name.as_deref().map(|n| validate::text("name", n, 120)).transpose()?,
        timezone: input.timezone.as_deref().map(validate::timezone).transpose()?,
        enabled: input.enabled,
        pbx_id: input.pbx_id,
        name_prefix: input.name_prefix.as_deref().map(validate::name_prefix).transpose()?,
    };
    let new_domains = domains(input.domains)?;
    let mut conn = state.db.get().await?;
    let disabled = changes.enabled == Some(false);
    let changes_enabled = changes.enabled;
    let before = repos::tenants::find(&mut conn, id).await?;
    if before.slug == PLATFORM_TENANT && (disabled || changes.pbx_id.is_some()) {
        return Err(ServiceError::Forbidden("the platform tenant cannot be disabled or put on a PBX".into()));
    }
    if disabled {
        // Before the change too: with Redis away the tenant is not disabled (503) with its
        // users' sessions alive.
        for user in repos::users::ids_in_tenant(&mut conn, id).await? {
            crate::services::users::end_sessions(state, user).await?;
        }
    }
    let view = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
                let current = repos::tenants::find(conn, id).await?;
                if current.slug == PLATFORM_TENANT && (changes.enabled == Some(false) || changes.pbx_id.is_some()) {
                    return Err(ServiceError::Forbidden("the platform tenant cannot be disabled or put on a PBX".into()));
                }
                let pbx = changes.pbx_id.unwrap_or(current.pbx_id);
                let prefix = changes.name_prefix.clone().unwrap_or_else(|| current.name_prefix.clone());
                // Only what changes is checked: tenants that predate a rule keep working.
                if prefix != current.name_prefix || pbx != current.pbx_id {
                    check_prefix(conn, pbx, Some(id), &current.slug, &prefix, prefix != current.name_prefix).await?;
                }
                // Asterisk object names carry the prefix: they would all have to be renamed.
                if prefix != current.name_prefix && repos::trunks::count_provisioned(conn, id).await? > 0 {
                    return Err(ServiceError::Conflict(
                        "the name prefix cannot change while the tenant has agents, queues or trunks".into(),
                    ));
                }
                repos::tenants::update(conn, id, &changes).await?;
                if changes.enabled.is_some_and(|e| e != current.enabled) {
                    // A disabled tenant's phones and trunks are taken out of Asterisk's
                    // tables (they neither register nor call), and come back with it.
                    let now = repos::tenants::find(conn, id).await?;
                    crate::services::agents::sync_tenant_phones(conn, state, &now).await?;
                    crate::services::trunks::sync_tenant_trunks(conn, state, &now).await?;
                }
                if changes.timezone.is_some() || changes.enabled.is_some_and(|e| e != current.enabled) {
                    // Time conditions run in the tenant's time zone; a disabled tenant has
                    // no dialplan.
                    crate::services::dialplan::regenerate(conn, state, id).await?;
                }
                if let Some(d) = &new_domains {
                    repos::tenants::set_domains(conn, id, d).await?;
                }
                let change = Change {
                    tenant: Some(id),
                    action: "update",
                    entity: "tenant",
                    entity_id: Some(id.to_string()),
                    detail: Some(json!({"enabled": changes.enabled, "pbx_id": changes.pbx_id, "name_prefix": changes.name_prefix, "timezone": changes.timezone})),
                };
                audit::record(conn, caller, change).await?;
                let d = repos::tenants::domains(conn, id).await?;
                Ok(TenantView::new(repos::tenants::find(conn, id).await?, d))
            }
        )
        .await?;
    let mut conn = state.db.get().await?;
    if disabled {
        for user in repos::users::ids_in_tenant(&mut conn, id).await? {
            crate::services::users::end_sessions(state, user).await?;
        }
    }
    // Registrations follow their rows only when res_pjsip_outbound_registration reloads:
    // without this a disabled tenant's trunks stay registered with the provider. Sent while
    // the tenant's link is still known to the live side (before it reloads).
    let toggled = changes_enabled.is_some_and(|e| e != before.enabled);
    if toggled && repos::trunks::all_of(&mut conn, id).await?.iter().any(|t| t.register) {
        crate::services::live::nudge(
            state,
            id,
            mayday_actors::ami::action::reload(Some(crate::services::trunks::REGISTRATION_MODULE)),
        );
    }
    state.live.reload(state).await;
    Ok(view)
}

/// Deletes an empty tenant; one with users must be emptied (or disabled) first.
pub async fn delete(state: &AppState, caller: &Caller, id: TenantId) -> ServiceResult<()> {
    require_superadmin(Some(caller))?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let current = repos::tenants::find(conn, id).await?;
        if current.slug == PLATFORM_TENANT {
            return Err(ServiceError::Forbidden("the platform tenant cannot be deleted".into()));
        }
        if repos::users::count_in_tenant(conn, id).await? > 0 {
            return Err(ServiceError::Conflict("the tenant still has users: delete them or disable the tenant".into()));
        }
        repos::tenants::set_domains(conn, id, &[]).await?;
        repos::tenants::delete(conn, id).await?;
        let change = Change {
            tenant: Some(id),
            action: "delete",
            entity: "tenant",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"slug": current.slug})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await?;
    state.live.reload(state).await;
    Ok(())
}

/// Finds a tenant by slug (CLI).
pub async fn find_by_slug(state: &AppState, slug: &str) -> ServiceResult<TenantView> {
    let mut conn = state.db.get().await?;
    let t = repos::tenants::find_by_slug(&mut conn, slug).await?.ok_or(ServiceError::NotFound)?;
    let d = repos::tenants::domains(&mut conn, TenantId(t.id)).await?;
    Ok(TenantView::new(t, d))
}

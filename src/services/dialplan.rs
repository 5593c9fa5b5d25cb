//! The tenant's realtime dialplan: built from the routing records and written to table
//! `extensions` inside the transaction of the change that needs it, so Asterisk (which reads
//! committed rows) sees the old contexts or the new ones, never half of them. Also: what uses
//! what (deleting something a route uses is refused), and where prompts are for Asterisk.

use std::collections::BTreeMap;

use crate::config::PromptMode;
use crate::db::asterisk::{self as rt, ExtensionRow};
use crate::db::models::{InboundRow, IvrRow, OutboundRow, Tenant};
use crate::db::repos::{self, routing, Conn};
use crate::dialplan::{
    self, CalleridPolicy, ClosedDate, CompileError, Destination, InboundRoute, IvrMenu, OutboundRoute, PrefixDid, Row,
    TenantPlan, TimeCondition, WeeklyRange, INBOUND_CONTEXT,
};
use crate::domain::{Caller, Role, TenantId};
use crate::services::{require, telephony, ServiceError, ServiceResult};
use crate::state::AppState;

/// A stored JSON column that does not parse is Mayday's own bug, never the caller's.
pub fn parse<T: serde::de::DeserializeOwned>(what: &'static str, json: &str) -> ServiceResult<T> {
    serde_json::from_str(json).map_err(|e| ServiceError::internal(what, e))
}

pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Where Asterisk finds a prompt: a sound path (no extension: Asterisk picks the format) or
/// a signed URL for `res_http_media_cache`. The URL is long on purpose (asterisk.md 4.6: a
/// URL shorter than Asterisk's cache path fails) and valid until `PROMPT_URL_TTL` after the
/// start of the current UTC day, so a day's regenerations write the same rows.
pub fn prompt_location(state: &AppState, tenant: &Tenant, id: u64, sha256: &str) -> String {
    let cfg = &state.config.prompts;
    match cfg.mode {
        PromptMode::Directory => format!("{}/{}/prompt-{id}", cfg.asterisk_dir, tenant.slug),
        PromptMode::Http => {
            let day = chrono::Utc::now().timestamp().div_euclid(86_400) * 86_400;
            let expires = day + i64::try_from(cfg.url_ttl.as_secs()).unwrap_or(30 * 86_400);
            let base = state.config.telephony.public_api_url.as_deref().unwrap_or_default().trim_end_matches('/');
            let sig = state.secrets.sign(&prompt_message(id, sha256, expires));
            format!("{base}/api/prompts/{id}/media/{expires}/{sig}.wav")
        }
    }
}

/// What a prompt URL signs.
pub fn prompt_message(id: u64, sha256: &str, expires: i64) -> String {
    format!("prompt:{id}:{sha256}:{expires}")
}

fn ivr_menu(row: &IvrRow, prompt: Option<String>) -> ServiceResult<IvrMenu> {
    Ok(IvrMenu {
        prompt,
        timeout_secs: row.timeout_secs,
        retries: row.retries,
        options: parse("ivr options", &row.options)?,
        timeout: row.timeout_destination.as_deref().map(|d| parse("ivr timeout", d)).transpose()?,
        invalid: row.invalid_destination.as_deref().map(|d| parse("ivr invalid", d)).transpose()?,
    })
}

fn inbound_route(row: &InboundRow) -> ServiceResult<InboundRoute> {
    Ok(InboundRoute {
        id: row.id,
        pattern: row.pattern.clone(),
        destination: parse("route destination", &row.destination)?,
        time_condition: row.time_condition_id,
        fallback: row.fallback.as_deref().map(|d| parse("route fallback", d)).transpose()?,
    })
}

pub fn policy_of(s: &str) -> CalleridPolicy {
    match s {
        "agent" => CalleridPolicy::Agent,
        "fixed" => CalleridPolicy::Fixed,
        _ => CalleridPolicy::Prefix,
    }
}

/// Everything the tenant's dialplan is compiled from, as the database holds it now.
pub async fn plan_of(conn: &mut Conn, state: &AppState, tenant: &Tenant) -> ServiceResult<TenantPlan> {
    let id = TenantId(tenant.id);
    let mut plan = TenantPlan {
        slug: tenant.slug.clone(),
        context_prefix: telephony::context_prefix(tenant),
        timezone: tenant.timezone.clone(),
        ..TenantPlan::default()
    };
    for (user, agent) in repos::agents::all_of(conn, id).await? {
        if let (true, Some(ext)) = (user.enabled, user.extension.clone()) {
            plan.agents.push((ext, agent.endpoint.clone()));
        }
        plan.agent_endpoints.insert(user.id, agent.endpoint);
    }
    for q in repos::queues::all_of(conn, id).await? {
        plan.queues.insert(q.id, q.asterisk_name);
    }
    for t in repos::trunks::all_of(conn, id).await? {
        if t.is_default && t.enabled {
            plan.default_trunk = Some(t.endpoint.clone());
        }
        plan.trunks.insert(t.id, t.endpoint);
    }
    let dids = routing::did::all_of(conn, id).await?;
    for d in &dids {
        if let (Some(prefix), true, true) = (d.dial_prefix, d.active, d.allow_outbound) {
            let trunk = d.trunk_id.and_then(|t| plan.trunks.get(&t).cloned());
            plan.prefix_dids.push(PrefixDid { prefix, did: d.did.clone(), trunk });
        }
    }
    plan.prefix_dids.sort_by_key(|p| p.prefix);
    for tc in routing::time_condition::all_of(conn, id).await? {
        let weekly: Vec<WeeklyRange> = parse("time condition hours", &tc.weekly)?;
        let closed_dates: Vec<ClosedDate> = parse("time condition dates", &tc.closed_dates)?;
        plan.time_conditions.insert(tc.id, TimeCondition { weekly, closed_dates });
    }
    let prompts: BTreeMap<u64, String> =
        routing::prompt::all_of(conn, id).await?.into_iter().map(|p| (p.id, p.sha256)).collect();
    for menu in routing::ivr::all_of(conn, id).await? {
        let prompt = menu.prompt_id.and_then(|p| prompts.get(&p).map(|sha| prompt_location(state, tenant, p, sha)));
        plan.ivrs.insert(menu.id, ivr_menu(&menu, prompt)?);
    }
    for r in routing::inbound::all_of(conn, id).await?.iter().filter(|r| r.enabled) {
        plan.inbound.push(inbound_route(r)?);
    }
    plan.inbound.sort_by_key(|r| r.id);
    for r in routing::outbound::all_of(conn, id).await?.iter().filter(|r| r.enabled) {
        plan.outbound.push(outbound_route(r, &plan.trunks, &dids)?);
    }
    Ok(plan)
}

fn outbound_route(
    r: &OutboundRow,
    trunks: &BTreeMap<u64, String>,
    dids: &[crate::db::models::Did],
) -> ServiceResult<OutboundRoute> {
    let trunk_ids: Vec<u64> = parse("route trunks", &r.trunk_ids)?;
    Ok(OutboundRoute {
        patterns: parse("route patterns", &r.patterns)?,
        trunks: trunk_ids.iter().filter_map(|t| trunks.get(t).cloned()).collect(),
        strip: r.strip_digits,
        prepend: r.prepend.clone(),
        policy: policy_of(&r.callerid_policy),
        fixed_did: r.fixed_did_id.and_then(|id| dids.iter().find(|d| d.id == id).map(|d| d.did.clone())),
    })
}

fn compile_error(e: CompileError) -> ServiceError {
    match e {
        CompileError::Missing { .. } => ServiceError::invalid("destination", e.to_string()),
        CompileError::TooDeep | CompileError::NotDialable(_) => ServiceError::invalid("destination", e.to_string()),
        CompileError::TooLong(_) => ServiceError::Conflict(format!("the dialplan cannot be written: {e}")),
    }
}

/// Checks that a destination leads somewhere that exists (before anything is written).
pub fn check_destination(plan: &TenantPlan, field: &str, d: &Destination) -> ServiceResult<()> {
    dialplan::check(plan, d).map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// Rewrites the tenant's dialplan rows; call it inside the transaction of the change.
pub async fn regenerate(conn: &mut Conn, state: &AppState, tenant_id: TenantId) -> ServiceResult<usize> {
    // One regeneration of a tenant at a time: the next one waits here, then (READ
    // COMMITTED, see db::pool) reads what this one committed.
    repos::tenants::lock_dialplan(conn, tenant_id).await?;
    let tenant = repos::tenants::find(conn, tenant_id).await?;
    let (plan, dropped) = dialplan::without_undialable(&plan_of(conn, state, &tenant).await?);
    if !dropped.is_empty() {
        tracing::warn!(tenant.id = tenant_id.0, numbers = ?dropped, "external destinations with numbers that are not dialable hang up instead; fix them through the API");
    }
    // A disabled tenant has no dialplan: its phones reach nothing and its DIDs are not
    // answered, until it is enabled again (which writes it back).
    // (Compiled either way: it is also the check of the change being made.)
    let rows = dialplan::compile(&plan).map_err(compile_error)?;
    let rows = if tenant.enabled { rows } else { Vec::new() };
    let marker = format!("__MAYDAY_TENANT={}", plan.slug);
    let mine = rt::extens_starting_with(conn, INBOUND_CONTEXT, "Set", &marker).await?;
    let old = rt::row_ids(conn, &[plan.agents_context(), plan.rt_context()], INBOUND_CONTEXT, &mine).await?;
    rt::remove_rows(conn, &old).await?;
    let rows: Vec<ExtensionRow> = rows
        .into_iter()
        .map(|r| ExtensionRow {
            context: r.context,
            exten: r.exten,
            priority: r.priority,
            app: r.app,
            appdata: r.appdata,
        })
        .collect();
    rt::insert_rows(conn, &rows).await.map_err(|e| match ServiceError::from(e) {
        ServiceError::Duplicate { .. } => ServiceError::Conflict(
            "a row of the dialplan already exists and is not this tenant's (an inbound DID or pattern taken in mayday-inbound)"
                .into(),
        ),
        other => other,
    })?;
    Ok(rows.len())
}

/// Rewrites, once, the rows of every tenant that an older Mayday's compiler wrote (so a fix
/// in what is generated reaches the PBX without waiting for each tenant's next change). A
/// tenant whose plan no longer compiles keeps its rows and is named in the log.
pub fn upgrade_old_dialplans(state: AppState) {
    actix::spawn(async move {
        use diesel_async::AsyncConnection;
        let old = async {
            let mut conn = state.db.get().await?;
            Ok::<_, ServiceError>(repos::tenants::with_dialplan_before(&mut conn, dialplan::GENERATION).await?)
        };
        let tenants = match old.await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for dialplans an older Mayday wrote; they are rewritten at each tenant's next change");
                return;
            }
        };
        for id in tenants {
            let done = async {
                let mut conn = state.db.get().await?;
                conn.transaction::<_, ServiceError, _>(async |conn| regenerate(conn, &state, id).await).await
            };
            match done.await {
                Ok(rows) => {
                    tracing::info!(tenant.id = id.0, rows, "dialplan rewritten by this Mayday's compiler");
                    // After the rewrite committed, on its own: inside it, this update would
                    // lock the tenant's row while holding the dialplan lock, against a change
                    // that share-locked the row (a foreign key) and waits for that lock.
                    if let Ok(mut conn) = state.db.get().await {
                        if let Err(e) =
                            repos::tenants::set_dialplan_generation(&mut conn, id, dialplan::GENERATION).await
                        {
                            tracing::warn!(tenant.id = id.0, error = %e, "could not record the dialplan's generation; it is rewritten again at the next start");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(tenant.id = id.0, error = %e, "the dialplan an older Mayday wrote could not be rewritten")
                }
            }
        }
    });
}

/// The tenant's contexts by their short names.
pub fn context_name(plan_prefix: &str, short: &str) -> Option<String> {
    match short {
        "agents" => Some(format!("{plan_prefix}agents")),
        "rt" => Some(format!("{plan_prefix}rt")),
        "inbound" | INBOUND_CONTEXT => Some(INBOUND_CONTEXT.to_string()),
        _ => None,
    }
}

/// `GET /api/dialplan/{context}`: one of the tenant's contexts (`agents`, `rt`, `inbound`,
/// or their full names) as `exten => ...` lines, read from table `extensions`.
pub async fn show(state: &AppState, caller: &Caller, context: &str) -> ServiceResult<String> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, caller.tenant).await?;
    let prefix = telephony::context_prefix(&tenant);
    let short = context.strip_prefix(prefix.as_str()).unwrap_or(context);
    let name = context_name(&prefix, short).ok_or(ServiceError::NotFound)?;
    let mut rows = rt::context_rows(&mut conn, &name).await?;
    if name == INBOUND_CONTEXT {
        let mine =
            rt::extens_starting_with(&mut conn, INBOUND_CONTEXT, "Set", &format!("__MAYDAY_TENANT={}", tenant.slug))
                .await?;
        rows.retain(|r| mine.contains(&r.exten));
    }
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|r| Row { context: r.context, exten: r.exten, priority: r.priority, app: r.app, appdata: r.appdata })
        .collect();
    Ok(dialplan::render(&rows))
}

/// Something routes may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    Queue(u64),
    Agent(u64),
    Ivr(u64),
    TimeCondition(u64),
    Route(u64),
    Trunk(u64),
    Did(u64),
    Prompt(u64),
}

fn destination_uses(d: &Destination, what: Used) -> bool {
    match (d, what) {
        (Destination::Queue { id }, Used::Queue(x))
        | (Destination::Agent { id }, Used::Agent(x))
        | (Destination::Ivr { id }, Used::Ivr(x))
        | (Destination::Route { id }, Used::Route(x)) => *id == x,
        (Destination::External { trunk_id: Some(t), .. }, Used::Trunk(x)) => *t == x,
        (Destination::TimeCondition { id, open, closed }, w) => {
            matches!(w, Used::TimeCondition(x) if *id == x) || destination_uses(open, w) || destination_uses(closed, w)
        }
        _ => false,
    }
}

/// The names of the routes and menus that use `what` (empty: it may go).
pub async fn users_of(conn: &mut Conn, tenant: TenantId, what: Used) -> ServiceResult<Vec<String>> {
    let mut out = Vec::new();
    for r in routing::inbound::all_of(conn, tenant).await? {
        let route = inbound_route(&r)?;
        let uses = destination_uses(&route.destination, what)
            || route.fallback.as_ref().is_some_and(|f| destination_uses(f, what))
            || matches!(what, Used::TimeCondition(x) if route.time_condition == Some(x));
        if uses {
            out.push(format!("inbound route {:?}", r.name));
        }
    }
    for m in routing::ivr::all_of(conn, tenant).await? {
        let menu = ivr_menu(&m, None)?;
        let uses = menu.options.values().any(|d| destination_uses(d, what))
            || menu.timeout.as_ref().is_some_and(|d| destination_uses(d, what))
            || menu.invalid.as_ref().is_some_and(|d| destination_uses(d, what))
            || matches!(what, Used::Prompt(x) if m.prompt_id == Some(x));
        if uses {
            out.push(format!("IVR menu {:?}", m.name));
        }
    }
    for r in routing::outbound::all_of(conn, tenant).await? {
        let trunk_ids: Vec<u64> = parse("route trunks", &r.trunk_ids)?;
        let uses = matches!(what, Used::Trunk(x) if trunk_ids.contains(&x))
            || matches!(what, Used::Did(x) if r.fixed_did_id == Some(x));
        if uses {
            out.push(format!("outbound route {:?}", r.name));
        }
    }
    Ok(out)
}

/// Refuses to delete what routes use, naming them.
pub async fn refuse_if_used(conn: &mut Conn, tenant: TenantId, what: Used, kind: &str) -> ServiceResult<()> {
    let users = users_of(conn, tenant, what).await?;
    if users.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!("this {kind} is used by {}", users.join(", "))))
    }
}

/// Re-signs prompt URLs (`PROMPT_MODE=http`) before they expire: regenerates the dialplan of
/// every enabled tenant that has IVR menus, every few hours.
pub fn keep_prompt_urls_fresh(state: AppState) {
    if state.config.prompts.mode != PromptMode::Http {
        return;
    }
    actix::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(6 * 3600));
        loop {
            tick.tick().await;
            if let Err(e) = regenerate_all_with_ivr(&state).await {
                tracing::warn!(error = %e, "could not re-sign prompt URLs; retrying at the next tick");
            }
        }
    });
}

async fn regenerate_all_with_ivr(state: &AppState) -> ServiceResult<()> {
    use diesel_async::AsyncConnection;
    let mut conn = state.db.get().await?;
    for t in repos::tenants::all_enabled(&mut conn).await? {
        let id = TenantId(t.id);
        if routing::ivr::all_of(&mut conn, id).await?.is_empty() {
            continue;
        }
        conn.transaction::<_, ServiceError, _>(async |conn| regenerate(conn, state, id).await.map(|_| ())).await?;
    }
    Ok(())
}

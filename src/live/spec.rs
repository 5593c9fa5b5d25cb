//! Builds what the live side runs from the database: every enabled PBX with its decrypted
//! AMI secret, every enabled tenant with its agents (users with role agent and an
//! extension), its provisioned queues' settings, Mayday's pauses and today's persisted counters in the tenant's time zone.

use std::collections::HashMap;
use std::sync::Arc;

use mayday_actors::ami::{AmiConfig, AuthMode, PbxId, Secret};
use mayday_actors::live::agent::state::AgentCounters;
use mayday_actors::live::figures::QueueCounters;
use mayday_actors::live::spec::{AgentSpec, LiveSpec, PauseState, PbxSpec, QueueSettings, TenantSpec};
use mayday_actors::live::AgentId;

use crate::config::AmiTimers;
use crate::db::models::{Pbx, Tenant};
use crate::db::repos::{self, Conn};
use crate::domain::{TenantId, PLATFORM_TENANT};
use crate::services::ServiceResult;
use crate::state::AppState;

/// The AMI settings of a PBX row, with the configured timers.
pub fn ami_config(p: &Pbx, secret: String, timers: &AmiTimers) -> AmiConfig {
    let mut cfg = AmiConfig::new(
        PbxId(p.id),
        p.ami_host.clone(),
        u16::try_from(p.ami_port).unwrap_or(5038),
        p.ami_username.clone(),
        Secret::new(secret),
    );
    cfg.auth = if p.ami_auth == "plain" { AuthMode::Plain } else { AuthMode::Md5 };
    cfg.connect_timeout = timers.connect_timeout;
    cfg.login_timeout = timers.login_timeout;
    cfg.boot_wait = timers.boot_wait;
    cfg.action_timeout = timers.action_timeout;
    cfg.ping_interval = timers.ping_interval;
    cfg.ping_timeout = timers.ping_timeout;
    cfg.backoff_initial = timers.backoff_initial;
    cfg.backoff_max = timers.backoff_max;
    cfg.auth_retry = timers.auth_retry;
    cfg
}

/// One tenant's spec.
pub async fn tenant_spec(conn: &mut Conn, t: &Tenant) -> ServiceResult<TenantSpec> {
    let id = TenantId(t.id);
    let tz: chrono_tz::Tz = t.timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let pauses: HashMap<u64, PauseState> = repos::live::pauses(conn, id)
        .await?
        .into_iter()
        .map(|p| (p.user_id, PauseState { reason: p.reason, since_ms: p.since.and_utc().timestamp_millis() }))
        .collect();
    let mut agent_today: HashMap<u64, AgentCounters> = HashMap::new();
    let mut queue_counters = HashMap::new();
    for row in repos::live::counters_of_day(conn, id, today).await? {
        match row.kind.as_str() {
            "queue" => {
                if let Ok(c) = serde_json::from_str::<QueueCounters>(&row.counters) {
                    queue_counters.insert(row.name, (row.day, c));
                }
            }
            "agent" => {
                if let (Ok(user), Ok(c)) =
                    (row.name.parse::<u64>(), serde_json::from_str::<AgentCounters>(&row.counters))
                {
                    agent_today.insert(user, c);
                }
            }
            _ => {}
        }
    }
    let agents = repos::users::agents_with_extension(conn, id)
        .await?
        .into_iter()
        .filter_map(|u| {
            let extension = u.extension.clone()?;
            Some(AgentSpec {
                id: AgentId(u.id),
                extension,
                name: if u.display_name.is_empty() { u.username.clone() } else { u.display_name.clone() },
                pause: pauses.get(&u.id).cloned(),
                today: agent_today.remove(&u.id).map(|c| (today, c)),
            })
        })
        .collect();
    let mut spec = TenantSpec::new(id, &t.slug, &t.name_prefix, t.pbx_id.map(PbxId));
    spec.timezone = tz;
    spec.agents = agents;
    spec.queue_counters = queue_counters;
    // The queues provisioned through Mayday: their threshold and wrap-up are Mayday's.
    spec.queue_settings = repos::queues::all_of(conn, id)
        .await?
        .into_iter()
        .map(|q| {
            let settings = QueueSettings {
                service_level_secs: Some(u64::from(q.service_level_secs)),
                wrapup_secs: Some(u64::from(q.wrapup_secs)),
            };
            (q.asterisk_name, settings)
        })
        .collect();
    Ok(spec)
}

/// Everything enabled, from the database.
pub async fn build(state: &AppState) -> ServiceResult<LiveSpec> {
    let mut conn = state.db.get().await?;
    let mut pbxes = Vec::new();
    for p in repos::pbxes::all_enabled(&mut conn).await? {
        match state.secrets.open(&p.ami_secret_enc) {
            Ok(secret) => pbxes.push(PbxSpec { id: PbxId(p.id), ami: ami_config(&p, secret, &state.config.ami) }),
            Err(e) => {
                tracing::error!(pbx.id = p.id, error = %e, "cannot read the PBX's AMI secret; not connecting to it")
            }
        }
    }
    let mut tenants = Vec::new();
    for t in repos::tenants::all_enabled(&mut conn).await? {
        if t.slug == PLATFORM_TENANT {
            continue;
        }
        tenants.push(Arc::new(tenant_spec(&mut conn, &t).await?));
    }
    Ok(LiveSpec { pbxes, tenants })
}

//! `mayday demo`: the server with an in-process simulated PBX (live traffic) and a seeded
//! demo tenant, so a newcomer sees a live wallboard at once. It uses its own database
//! (`mayday_demo`) unless `DATABASE_URL` is set, and prints the wallboard's URL and fresh
//! passwords for an admin and a manager (reset on every start, shown once).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use mayday_actors::sim::{
    self, DirectorySnapshot, SimConfig, SimEndpoint, SimMember, SimQueue, StaticDirectory, Traffic,
};

use crate::config::Config;
use crate::db::{repos, Page};
use crate::domain::{Role, TenantId};
use crate::services;
use crate::startup::Application;

pub const DEMO_TENANT: &str = "demo";
const DEMO_PBX: &str = "demo-simulated-pbx";
const QUEUES: [&str; 3] = ["sales", "support", "billing"];

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Agents on the simulated PBX (extensions 1001...).
    #[arg(long, default_value_t = 12)]
    pub agents: usize,
    /// Callers arriving per second.
    #[arg(long, default_value_t = 0.4)]
    pub calls_per_second: f64,
    /// Mean talk time.
    #[arg(long, default_value = "25s", value_parser = humantime::parse_duration)]
    pub mean_talk: Duration,
}

/// The demo call center: agents in two queues each.
pub fn directory(agents: usize) -> DirectorySnapshot {
    let endpoints: Vec<SimEndpoint> = (0..agents)
        .map(|i| SimEndpoint {
            id: format!("{}", 1001 + i),
            name: agent_name(i),
            tenantid: None,
            context: "mayday-agents".into(),
            registered: true,
        })
        .collect();
    let queues = QUEUES
        .iter()
        .enumerate()
        .map(|(qi, name)| SimQueue {
            name: name.to_string(),
            strategy: "leastrecent".into(),
            ring_timeout_secs: 12,
            wrapup_secs: 5,
            service_level_secs: 20,
            max_len: 0,
            weight: 0,
            max_wait_secs: 180,
            tenantid: None,
            caller_context: "mayday-inbound".into(),
            members: endpoints
                .iter()
                .enumerate()
                .filter(|(i, _)| i % QUEUES.len() != (qi + 1) % QUEUES.len())
                .map(|(_, e)| SimMember {
                    interface: format!("PJSIP/{}", e.id),
                    membername: e.name.clone(),
                    state_interface: format!("PJSIP/{}", e.id),
                    penalty: 0,
                    paused: false,
                    realtime: true,
                })
                .collect(),
        })
        .collect();
    DirectorySnapshot { endpoints, queues }
}

fn agent_name(i: usize) -> String {
    const NAMES: [&str; 16] = [
        "Amani", "Baraka", "Chebet", "Dalia", "Emeka", "Fatuma", "Githinji", "Halima", "Imani", "Jabari", "Kamau",
        "Lulu", "Makena", "Njeri", "Otieno", "Pendo",
    ];
    let base = NAMES.get(i % NAMES.len()).copied().unwrap_or("Agent");
    if i < NAMES.len() {
        base.to_string()
    } else {
        format!("{base} {}", i / NAMES.len() + 1)
    }
}

fn password() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}

/// Runs the demo until interrupted.
pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    if std::env::var_os("DATABASE_URL").is_none() {
        let (server, _) =
            crate::db::pool::split_database(config.database_url.expose()).map_err(|e| anyhow::anyhow!("{e}"))?;
        config.database_url = crate::config::SecretString::new(format!("{}mayday_demo", server));
    }
    config.live.enabled = true;
    config.migrate_on_start = true;
    let secret = password();
    let traffic = Traffic {
        calls_per_second: args.calls_per_second,
        mean_talk: args.mean_talk,
        mean_patience: Duration::from_secs(50),
        min_ring: Duration::from_secs(1),
        max_ring: Duration::from_secs(5),
        after_queue: Duration::from_secs(2),
        ..Traffic::default()
    };
    let sim_cfg = SimConfig {
        username: "mayday".into(),
        secret: secret.clone(),
        traffic: (args.calls_per_second > 0.0).then_some(traffic),
        ..SimConfig::default()
    };
    let sim = sim::start(sim_cfg, Arc::new(StaticDirectory(directory(args.agents))))
        .await
        .context("starting the simulated PBX")?;
    let listen = config.listen;
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let (admin_pw, manager_pw) = seed(&state, sim.addr().port(), &secret, args.agents).await?;
    let host = if listen.ip().is_unspecified() { "127.0.0.1".to_string() } else { listen.ip().to_string() };
    let url = format!("http://{host}:{}/wallboard.html?tenant={DEMO_TENANT}", app.port());
    println!();
    println!(
        "Mayday demo is running with a simulated PBX ({} agents, {} callers/s).",
        args.agents, args.calls_per_second
    );
    println!();
    println!("  Wallboard: {url}");
    println!("  Tenant:    {DEMO_TENANT}");
    println!("  Manager:   manager / {manager_pw}");
    println!("  Admin:     admin / {admin_pw}");
    println!();
    println!("These passwords are shown once and change at every start. Ctrl-C stops the demo.");
    app.run_until_stopped().await?;
    sim.shutdown();
    Ok(())
}

/// Creates (or brings up to date) the demo PBX, tenant and users; returns the admin's and
/// the manager's new passwords.
pub async fn seed(
    state: &crate::state::AppState,
    sim_port: u16,
    sim_secret: &str,
    agents: usize,
) -> anyhow::Result<(String, String)> {
    let err = |e: services::ServiceError| anyhow::anyhow!("seeding the demo: {e}");
    let mut conn = state.db.get().await.map_err(|_| anyhow::anyhow!("MariaDB is not reachable"))?;
    let existing = repos::pbxes::list(&mut conn, Page::new(Some(1), Some(200)))
        .await?
        .items
        .into_iter()
        .find(|p| p.name == DEMO_PBX);
    drop(conn);
    let pbx_id = match existing {
        Some(p) => {
            let update = services::pbxes::UpdatePbx {
                ami_host: Some("127.0.0.1".into()),
                ami_port: Some(u32::from(sim_port)),
                ami_username: Some("mayday".into()),
                ami_secret: Some(sim_secret.into()),
                ami_auth: Some("md5".into()),
                enabled: Some(true),
                ..Default::default()
            };
            services::pbxes::update(state, None, crate::domain::PbxId(p.id), update).await.map_err(err)?.id
        }
        None => {
            let create = services::pbxes::CreatePbx {
                name: DEMO_PBX.into(),
                ami_host: "127.0.0.1".into(),
                ami_port: Some(u32::from(sim_port)),
                ami_username: "mayday".into(),
                ami_secret: sim_secret.into(),
                ami_auth: Some("md5".into()),
                enabled: Some(true),
            };
            services::pbxes::create(state, None, create).await.map_err(err)?.id
        }
    };
    let tenant = match services::tenants::find_by_slug(state, DEMO_TENANT).await {
        Ok(t) => t.id,
        Err(_) => {
            let create = services::tenants::CreateTenant {
                slug: DEMO_TENANT.into(),
                name: "Demo call center".into(),
                timezone: Some("Africa/Nairobi".into()),
                enabled: Some(true),
                pbx_id: Some(pbx_id),
                name_prefix: Some(String::new()),
                domains: None,
            };
            services::tenants::create(state, None, create).await.map_err(err)?.id
        }
    };
    let tenant = TenantId(tenant);
    let attach = services::tenants::UpdateTenant {
        pbx_id: Some(Some(pbx_id)),
        name_prefix: Some(String::new()),
        enabled: Some(true),
        ..Default::default()
    };
    services::tenants::update(state, None, tenant, attach).await.map_err(err)?;
    let (admin_pw, manager_pw) = (password(), password());
    let ensure =
        |username: &str, role: Role, pw: String, extension: Option<String>, name: String| services::users::CreateUser {
            username: username.into(),
            password: pw,
            role,
            display_name: Some(name),
            email: None,
            extension,
            callerid: None,
            enabled: Some(true),
        };
    services::users::ensure_as_operator(
        state,
        tenant,
        ensure("admin", Role::Admin, admin_pw.clone(), None, "Demo admin".into()),
    )
    .await
    .map_err(err)?;
    services::users::ensure_as_operator(
        state,
        tenant,
        ensure("manager", Role::Manager, manager_pw.clone(), None, "Demo manager".into()),
    )
    .await
    .map_err(err)?;
    for i in 0..agents {
        let ext = format!("{}", 1001 + i);
        services::users::ensure_as_operator(
            state,
            tenant,
            ensure(&format!("agent{ext}"), Role::Agent, password(), Some(ext), agent_name(i)),
        )
        .await
        .map_err(err)?;
    }
    state.live.reload(state).await;
    Ok((admin_pw, manager_pw))
}

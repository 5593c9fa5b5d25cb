//! `mayday demo`: the server with an in-process simulated PBX (live traffic) and a seeded
//! demo tenant, so a newcomer sees a live wallboard at once. The simulated PBX reads the
//! realtime tables like Asterisk: agents and queues added through the API take calls. It uses its own database
//! (`mayday_demo`) unless `DATABASE_URL` is set, and prints the wallboard's URL and fresh
//! passwords for an admin and a manager (reset on every start, shown once).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use mayday_actors::sim::{self, SimConfig, Traffic};

use crate::config::Config;
use crate::db::{repos, Page};
use crate::domain::{Role, TenantId};
use crate::services;
use crate::sim_directory::RealtimeDirectory;
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

/// Queue `qi` of the demo: every agent but a third of them (each agent is in two queues).
fn in_queue(agent: usize, qi: usize) -> bool {
    agent % QUEUES.len() != (qi + 1) % QUEUES.len()
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
    // The demo licenses itself (a throwaway key; no licence server), so the development
    // licence's two seats never get in the way of trying agent consoles.
    let (public_key, licence) = crate::license::throwaway("Mayday demo", 500, 30);
    let licence_file = std::env::temp_dir().join(format!("mayday-demo-{}.lic", std::process::id()));
    std::fs::write(&licence_file, licence).context("writing the demo licence")?;
    config.license.public_key = Some(public_key);
    config.license.file = Some(licence_file.clone());
    config.license.server_url = None;
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
    let listen = config.listen;
    let app = Application::build(config).await?;
    let state = app.state().clone();
    // Installed at start (LICENSE_FILE); the file has done its work.
    let _ = std::fs::remove_file(&licence_file);
    let mut directory = RealtimeDirectory::new(state.db.clone());
    directory.caller_max_wait_secs = 180;
    let sim = sim::start(sim_cfg, Arc::new(directory)).await.context("starting the simulated PBX")?;
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
    seed_call_center(state, tenant, agents).await.map_err(err)?;
    state.live.reload(state).await;
    Ok((admin_pw, manager_pw))
}

/// The demo's queues and agents, through the same services as the API (so they land in
/// the realtime tables the simulated PBX reads). Existing ones are left as they are.
async fn seed_call_center(
    state: &crate::state::AppState,
    tenant: TenantId,
    agents: usize,
) -> services::ServiceResult<()> {
    let mut queue_ids = Vec::new();
    for name in QUEUES {
        let existing = {
            let mut conn = state.db.get().await?;
            repos::queues::find_by_name(&mut conn, tenant, name).await?
        };
        let id = match existing {
            Some(q) => q.id,
            None => {
                let input = services::queues::QueueInput {
                    name: Some(name.into()),
                    strategy: Some("leastrecent".into()),
                    timeout_secs: Some(12),
                    wrapup_secs: Some(5),
                    service_level_secs: Some(20),
                    ..Default::default()
                };
                services::queues::create(state, None, tenant, input).await?.id
            }
        };
        queue_ids.push(id);
    }
    for i in 0..agents {
        let ext = format!("{}", 1001 + i);
        let username = format!("agent{ext}");
        let existing = {
            let mut conn = state.db.get().await?;
            match repos::users::find_by_username(&mut conn, tenant, &username).await? {
                Some(u) if repos::agents::by_user(&mut conn, crate::domain::UserId(u.id)).await?.is_some() => Some(u),
                Some(u) => {
                    // A demo database from before agents had phones: start that agent afresh.
                    repos::users::delete(&mut conn, tenant, crate::domain::UserId(u.id)).await?;
                    None
                }
                None => None,
            }
        };
        let id = match existing {
            Some(u) => u.id,
            None => {
                let input = services::agents::CreateAgent {
                    username,
                    password: password(),
                    extension: ext,
                    display_name: Some(agent_name(i)),
                    email: None,
                    callerid: None,
                    profile: Some(services::telephony::Profile::Webrtc),
                    codecs: None,
                    sip_password: None,
                    enabled: Some(true),
                };
                services::agents::create(state, None, tenant, input).await?.user.id
            }
        };
        for queue in queue_ids.iter().enumerate().filter(|(qi, _)| in_queue(i, *qi)).map(|(_, q)| q) {
            let member = services::queues::MemberInput::default();
            services::queues::put_member(state, None, tenant, *queue, crate::domain::UserId(id), member).await?;
        }
    }
    Ok(())
}

//! `mayday sim`: the simulated PBX alone, listening for AMI clients (demos, load, tests of
//! other tools). Its agents and queues come from flags, a JSON directory file, or (with
//! `--realtime`) the realtime tables in `DATABASE_URL`, as Asterisk reads them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use mayday_actors::sim::{self, Directory, SimConfig, StaticDirectory, Traffic};

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Where to listen for AMI clients.
    #[arg(long, default_value = "127.0.0.1:5038")]
    pub listen: SocketAddr,
    /// AMI username clients log in with (the secret comes from MAYDAY_SIM_SECRET, default `mayday`).
    #[arg(long, default_value = "mayday")]
    pub username: String,
    /// Agents (PJSIP endpoints 1001...) when no directory file is given.
    #[arg(long, default_value_t = 20)]
    pub agents: usize,
    /// Queues (queue-01...) when no directory file is given.
    #[arg(long, default_value_t = 2)]
    pub queues: usize,
    /// Name prefix of the generated endpoints and queues (a tenant's `name_prefix`).
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Asterisk `tenantid` set on the generated endpoints.
    #[arg(long)]
    pub tenantid: Option<String>,
    /// A JSON directory file (`{"endpoints": [...], "queues": [...]}`) instead of generated agents.
    #[arg(long)]
    pub directory: Option<std::path::PathBuf>,
    /// Read endpoints, queues and members from the realtime tables of the database in
    /// `DATABASE_URL` (default `mysql://root@127.0.0.1:3306/mayday`), as Asterisk does:
    /// what the API provisions appears at the next queue load, with no restart.
    #[arg(long, conflicts_with = "directory")]
    pub realtime: bool,
    /// Caller arrivals per second; 0 = scripted mode (nothing happens on its own).
    #[arg(long, default_value_t = 1.0)]
    pub calls_per_second: f64,
    /// Mean talk time.
    #[arg(long, default_value = "90s", value_parser = humantime::parse_duration)]
    pub mean_talk: Duration,
    /// Mean patience of a waiting caller before they hang up.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub mean_patience: Duration,
    /// Share of ring attempts nobody answers.
    #[arg(long, default_value_t = 0.1)]
    pub no_answer_rate: f64,
    /// Share of answered calls transferred to another queue.
    #[arg(long, default_value_t = 0.05)]
    pub transfer_rate: f64,
    /// Seed of every random draw: the same seed gives the same traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl SimArgs {
    pub fn traffic(&self) -> Option<Traffic> {
        (self.calls_per_second > 0.0).then(|| Traffic {
            calls_per_second: self.calls_per_second,
            mean_talk: self.mean_talk,
            mean_patience: self.mean_patience,
            no_answer_rate: self.no_answer_rate.clamp(0.0, 1.0),
            transfer_rate: self.transfer_rate.clamp(0.0, 1.0),
            ..Traffic::default()
        })
    }

    pub fn directory(&self) -> anyhow::Result<Arc<dyn Directory>> {
        if self.realtime {
            let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mayday".into());
            let pool = crate::db::pool::pool(&url, 2, Duration::from_secs(5));
            return Ok(Arc::new(crate::sim_directory::RealtimeDirectory::new(pool)));
        }
        match &self.directory {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                Ok(Arc::new(StaticDirectory::from_json(&text).map_err(anyhow::Error::msg)?))
            }
            None => Ok(Arc::new(StaticDirectory::generated(
                &self.prefix,
                self.agents,
                self.queues,
                self.tenantid.as_deref(),
            ))),
        }
    }
}

/// Runs the simulated PBX until interrupted.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let secret = std::env::var("MAYDAY_SIM_SECRET").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "mayday".into());
    let cfg = SimConfig {
        listen: args.listen,
        username: args.username.clone(),
        secret,
        seed: args.seed,
        traffic: args.traffic(),
        ..SimConfig::default()
    };
    let handle = sim::start(cfg, args.directory()?).await.with_context(|| format!("listening on {}", args.listen))?;
    println!(
        "simulated PBX (Asterisk 22, AMI 11.0.0) listening on {} as user {:?}; {}",
        handle.addr(),
        args.username,
        match args.traffic() {
            Some(t) => format!("{} calls/s", t.calls_per_second),
            None => "scripted mode".into(),
        }
    );
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    handle.shutdown();
    Ok(())
}

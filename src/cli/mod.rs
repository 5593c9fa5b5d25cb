//! The command line: `mayday serve` (the default), `migrate`, `tenant create`,
//! `user create`, `pbx create`, `sim`. Passwords and secrets come from stdin or the environment,
//! never from argv (argv is visible to every user of the machine).

pub mod demo;
pub mod license;
pub mod sim;

use std::io::BufRead;

use anyhow::Context as _;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError};
use crate::domain::{Role, TenantId};
use crate::services;
use crate::startup::Application;
use crate::state::AppState;

#[derive(Parser, Debug)]
#[command(name = "mayday", version, about = "Real-time switchboard for Asterisk call centers")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (HTTP + WebSocket). The default.
    Serve,
    /// Create the database if needed and apply pending migrations.
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage PBXs.
    Pbx {
        #[command(subcommand)]
        command: PbxCommand,
    },
    /// Run the simulated PBX alone (it speaks AMI like Asterisk 22).
    Sim(sim::SimArgs),
    /// Run the server with a simulated PBX and a seeded demo tenant (open the printed URL).
    Demo(demo::DemoArgs),
    /// Licences: vendor keys, issuing, installing.
    License {
        #[command(subcommand)]
        command: license::LicenseCommand,
    },
    /// Serve signed licences and the revocation list from a directory (the vendor's side).
    LicenseServer(license::ServerArgs),
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant.
    Create(TenantCreate),
}

#[derive(Args, Debug)]
pub struct TenantCreate {
    #[arg(long)]
    pub slug: String,
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Asterisk name prefix (default `<slug>-`; empty for a tenant alone on its PBX).
    #[arg(long)]
    pub name_prefix: Option<String>,
    /// The PBX it lives on (`pbxes.id`).
    #[arg(long)]
    pub pbx: Option<u64>,
    /// A host name the tenant is reached by (repeatable).
    #[arg(long = "domain")]
    pub domains: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from MAYDAY_USER_PASSWORD, else from stdin.
    Create(UserCreate),
}

#[derive(Args, Debug)]
pub struct UserCreate {
    /// Tenant slug.
    #[arg(long)]
    pub tenant: String,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub role: Role,
    #[arg(long)]
    pub display_name: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum PbxCommand {
    /// Register a PBX. The AMI secret is read from MAYDAY_PBX_SECRET, else from stdin.
    Create(PbxCreate),
}

#[derive(Args, Debug)]
pub struct PbxCreate {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub host: String,
    #[arg(long, default_value_t = 5038)]
    pub port: u32,
    #[arg(long)]
    pub username: String,
    /// `md5` or `plain`.
    #[arg(long, default_value = "md5")]
    pub auth: String,
}

/// Parses argv and runs the command; the process exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // The vendor's commands need none of the server's configuration either.
    match cli.command {
        Some(Command::License { command: license::LicenseCommand::Keygen { out } }) => {
            return finish(license::keygen(&out))
        }
        Some(Command::License { command: license::LicenseCommand::Issue(args) }) => {
            return finish(license::issue(&args))
        }
        Some(Command::LicenseServer(args)) => {
            crate::telemetry::init(crate::config::LogFormat::Pretty);
            return finish(actix_web::rt::System::new().block_on(license::serve(args)));
        }
        _ => {}
    }
    if let Some(Command::Sim(args)) = cli.command {
        // The simulated PBX needs none of the server's configuration.
        crate::telemetry::init(crate::config::LogFormat::Pretty);
        return finish(actix_web::rt::System::new().block_on(sim::run(args)));
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return config_failure(&e),
    };
    crate::telemetry::init(config.log_format);
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let system = actix_web::rt::System::new();
    let result = system.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(&config).await,
            Command::Tenant { command: TenantCommand::Create(args) } => tenant_create(config, args).await,
            Command::User { command: UserCommand::Create(args) } => user_create(config, args).await,
            Command::Pbx { command: PbxCommand::Create(args) } => pbx_create(config, args).await,
            Command::Sim(_) => Ok(()),
            Command::Demo(args) => demo::run(config, args).await,
            Command::License { command: license::LicenseCommand::Install { file } } => {
                license_install(config, &file).await
            }
            Command::License { .. } | Command::LicenseServer(_) => Ok(()),
        }
    });
    finish(result)
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One line naming the variable, exit code 2.
fn config_failure(e: &ConfigError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let app = Application::build(config).await?;
    tracing::info!(listen = %listen, port = app.port(), "mayday is serving");
    app.run_until_stopped().await?;
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let applied = crate::db::pool::run_migrations(config.database_url.expose()).await?;
    if applied.is_empty() {
        println!("migrations: up to date");
    }
    for m in applied {
        println!("applied {m}");
    }
    Ok(())
}

/// State for one-shot commands, with the schema up to date.
async fn command_state(config: Config) -> anyhow::Result<AppState> {
    crate::db::pool::run_migrations(config.database_url.expose()).await?;
    AppState::new(config)
}

fn service(e: services::ServiceError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn tenant_create(config: Config, args: TenantCreate) -> anyhow::Result<()> {
    let state = command_state(config).await?;
    let input = services::tenants::CreateTenant {
        slug: args.slug,
        name: args.name,
        timezone: Some(args.timezone),
        enabled: Some(true),
        pbx_id: args.pbx,
        name_prefix: args.name_prefix,
        domains: Some(args.domains),
    };
    let t = services::tenants::create(&state, None, input).await.map_err(service)?;
    println!("created tenant {} (id {}, name prefix {:?})", t.slug, t.id, t.name_prefix);
    Ok(())
}

async fn user_create(config: Config, args: UserCreate) -> anyhow::Result<()> {
    let password = secret_input("MAYDAY_USER_PASSWORD", "password")?;
    let state = command_state(config).await?;
    let tenant = services::tenants::find_by_slug(&state, &args.tenant)
        .await
        .map_err(|_| anyhow::anyhow!("no tenant {:?}", args.tenant))?;
    let input = services::users::CreateUser {
        username: args.username,
        password,
        role: args.role,
        display_name: args.display_name,
        email: args.email,
        extension: None,
        callerid: None,
        enabled: Some(true),
    };
    let u = services::users::create(&state, None, TenantId(tenant.id), input).await.map_err(service)?;
    println!("created user {} (id {}, role {}) in tenant {}", u.username, u.id, u.role, tenant.slug);
    Ok(())
}

async fn license_install(config: Config, file: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let state = command_state(config).await?;
    let l = services::licenses::install(&state, None, &text).await.map_err(service)?;
    println!(
        "installed licence {} for {}: {} seats ({} WebRTC), expires {}",
        l.id,
        l.organisation,
        l.seats,
        l.webrtc_seats,
        l.expires_at.format("%Y-%m-%d")
    );
    Ok(())
}

async fn pbx_create(config: Config, args: PbxCreate) -> anyhow::Result<()> {
    let secret = secret_input("MAYDAY_PBX_SECRET", "AMI secret")?;
    let state = command_state(config).await?;
    let input = services::pbxes::CreatePbx {
        name: args.name,
        ami_host: args.host,
        ami_port: Some(args.port),
        ami_username: args.username,
        ami_secret: secret,
        ami_auth: Some(args.auth),
        enabled: Some(true),
    };
    let p = services::pbxes::create(&state, None, input).await.map_err(service)?;
    println!("created PBX {} (id {}) at {}:{}", p.name, p.id, p.ami_host, p.ami_port);
    Ok(())
}

/// A secret from an environment variable, else the first line of stdin.
fn secret_input(var: &str, what: &str) -> anyhow::Result<String> {
    if let Ok(v) = std::env::var(var) {
        if !v.is_empty() {
            return Ok(v);
        }
    }
    eprintln!("reading the {what} from stdin (or set {var})");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let value = line.trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() {
        anyhow::bail!("no {what} given: set {var} or pipe it on stdin");
    }
    Ok(value)
}

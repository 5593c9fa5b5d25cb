//! Builds the server exactly as production runs it: state, the actix `App` (one function,
//! used by `main` and the integration tests), and the bound listener (port 0 works).

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Condition, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use crate::config::Config;
use crate::http::{self, error::json_errors, request_span::request_span};
use crate::state::AppState;

/// The actix application with every route, extractor setting and middleware.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.config.max_body_bytes;
    let cors = cors(&state.config.cors_origins);
    App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(max_body))
        .app_data(http::query_config())
        .app_data(http::path_config())
        .wrap(ErrorHandlers::new().default_handler(json_errors))
        .wrap(Condition::new(cors.is_some(), cors.unwrap_or_default()))
        .wrap(from_fn(request_span))
        .configure(http::configure)
        .default_service(web::to(http::not_found))
}

/// CORS only when origins are configured; without it browsers keep to same-origin.
fn cors(origins: &[String]) -> Option<Cors> {
    if origins.is_empty() {
        return None;
    }
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers(["authorization", "content-type", "x-request-id", "idempotency-key"])
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(3600);
    for o in origins {
        cors = cors.allowed_origin(o);
    }
    Some(cors)
}

/// A built server, bound but not yet running.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Binds the listen address, prepares the database (create + migrate, unless turned
    /// off) and builds the server.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let state = web::Data::new(AppState::new(config)?);
        if state.config.migrate_on_start {
            prepare_database(&state).await?;
        }
        crate::services::licenses::start(&state).await;
        crate::live::Live::start(&state).await;
        crate::services::dialplan::upgrade_old_dialplans(state.get_ref().clone());
        crate::services::dialplan::keep_prompt_urls_fresh(state.get_ref().clone());
        crate::services::balance::keep_balances_fresh(state.get_ref().clone());
        crate::services::sms::sweep_stale_queued(state.get_ref().clone());
        let listener =
            TcpListener::bind(state.config.listen).with_context(|| format!("binding {}", state.config.listen))?;
        let port = listener.local_addr()?.port();
        let _ = state.bound.set(listener.local_addr()?);
        let workers = match state.config.http_workers {
            0 => std::thread::available_parallelism().map(usize::from).unwrap_or(2),
            n => n,
        };
        let shared = state.clone();
        let server = HttpServer::new(move || app(shared.clone()))
            .workers(workers)
            .listen(listener)
            .context("listening")?
            .shutdown_timeout(5)
            .run();
        Ok(Application { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Creates and migrates the database. A database that cannot be reached is not fatal: the
/// server starts, readiness says 503, and migrations are retried in the background until
/// they run. A migration that fails on a reachable database is fatal.
async fn prepare_database(state: &web::Data<AppState>) -> anyhow::Result<()> {
    let url = state.config.database_url.expose().to_string();
    match crate::db::pool::run_migrations(&url).await {
        Ok(applied) => {
            for m in &applied {
                tracing::info!(migration = %m, "migration applied");
            }
            Ok(())
        }
        Err(crate::db::pool::SetupError::Connect(_)) => {
            tracing::warn!("MariaDB is not reachable; serving anyway and retrying migrations in the background");
            actix_web::rt::spawn(async move {
                let mut delay = std::time::Duration::from_secs(1);
                loop {
                    actix_web::rt::time::sleep(delay).await;
                    match crate::db::pool::run_migrations(&url).await {
                        Ok(_) => {
                            tracing::info!("MariaDB is back; migrations are up to date");
                            return;
                        }
                        Err(crate::db::pool::SetupError::Connect(_)) => {
                            delay = (delay * 2).min(std::time::Duration::from_secs(30))
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "migrations failed");
                            return;
                        }
                    }
                }
            });
            Ok(())
        }
        Err(e) => Err(e).context("running migrations"),
    }
}

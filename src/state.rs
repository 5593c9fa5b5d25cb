//! What every handler can reach: configuration, the pools, and the auth machinery. Built once
//! at start (`startup`) and shared by all workers.

use std::sync::Arc;

use crate::auth::rate_limit::{Limits, LoginLimiter};
use crate::auth::{PasswordHasher, SessionStore, TokenKeys};
use crate::config::Config;
use crate::crypto::SecretBox;
use crate::db::DbPool;
use crate::live::Live;
use crate::redis::{Keys, RedisPool};
use crate::ws::WsRegistry;
use mayday_actors::push::PushMetrics;

/// Shared server state.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DbPool,
    pub redis: RedisPool,
    pub sessions: SessionStore,
    pub limiter: LoginLimiter,
    pub tokens: TokenKeys,
    pub hasher: Arc<PasswordHasher>,
    pub secrets: SecretBox,
    pub live: Live,
    pub ws: Arc<WsRegistry>,
    pub push_metrics: Arc<PushMetrics>,
    /// The licence in force.
    pub licenses: Arc<crate::services::licenses::Book>,
    pub seats: crate::seats::SeatStore,
    /// Outbound HTTP(S): licence server, SMS and trunk providers.
    pub outbound: crate::outbound::Outbound,
    /// The address the HTTP server is bound to (known once it is), for URLs Mayday hands
    /// out when `PUBLIC_API_URL` is not set.
    pub bound: Arc<std::sync::OnceLock<std::net::SocketAddr>>,
}

impl AppState {
    /// Builds the state without touching the network: pools connect lazily, so a database
    /// or Redis that is down at start shows up as 503s and in readiness, not as a crash.
    pub fn new(config: Config) -> anyhow::Result<AppState> {
        use anyhow::Context as _;
        let db =
            crate::db::pool::pool(config.database_url.expose(), config.database_pool_size, config.database_timeout);
        let redis =
            crate::redis::pool(config.redis_url.expose(), config.redis_timeout).context("building the Redis pool")?;
        let keys = Keys::new(config.redis_prefix.clone());
        let sessions = SessionStore::new(redis.clone(), keys.clone(), config.redis_timeout);
        let limits = Limits {
            per_user: config.login_rate_limit,
            per_ip: config.login_ip_rate_limit,
            window: config.login_rate_window,
        };
        let seats = crate::seats::SeatStore::new(redis.clone(), keys.clone(), config.redis_timeout);
        let limiter = LoginLimiter::new(redis.clone(), keys, limits, config.redis_timeout);
        let tokens = TokenKeys::new(config.jwt_secret.expose().as_bytes(), config.token_lifetime);
        let hasher = Arc::new(PasswordHasher::new(config.hash_cost).context("argon2 parameters")?);
        let secrets = SecretBox::new(&config.secret_key.0);
        let outbound = crate::outbound::Outbound::new(config.outbound_ca_file.as_deref())?;
        Ok(AppState {
            config: Arc::new(config),
            db,
            redis,
            sessions,
            limiter,
            tokens,
            hasher,
            secrets,
            live: Live::default(),
            ws: Arc::new(WsRegistry::default()),
            push_metrics: Arc::new(PushMetrics::default()),
            licenses: crate::services::licenses::new_book(),
            seats,
            outbound,
            bound: Arc::default(),
        })
    }
}

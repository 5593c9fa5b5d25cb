//! Redis through bb8-redis: the pool, and the key prefix every key family takes (so tests,
//! and several installations on one Redis, never see each other's keys).

use std::time::Duration;

use bb8_redis::RedisConnectionManager;

pub type RedisPool = bb8::Pool<RedisConnectionManager>;

/// A Redis failure: down, timed out, or a command error.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("redis pool: {0}")]
    Pool(String),
    #[error("redis: {0}")]
    Command(#[from] redis::RedisError),
}

impl From<bb8::RunError<redis::RedisError>> for RedisError {
    fn from(e: bb8::RunError<redis::RedisError>) -> Self {
        RedisError::Pool(e.to_string())
    }
}

/// Builds the pool without connecting: a Redis that is down makes requests fail with 503
/// (and readiness say so) instead of stopping the server.
pub fn pool(url: &str, timeout: Duration) -> Result<RedisPool, RedisError> {
    let manager = RedisConnectionManager::new(url)?;
    Ok(bb8::Pool::builder().max_size(16).connection_timeout(timeout).build_unchecked(manager))
}

/// Runs a Redis future with a deadline, so a Redis that accepts but never answers fails fast.
pub async fn timed<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Result<T, RedisError> {
    tokio::time::timeout(limit, fut).await.map_err(|_| RedisError::Pool("timed out".into()))?
}

/// One command on a pooled connection, within `limit`.
pub async fn query<T: redis::FromRedisValue>(
    pool: &RedisPool,
    limit: Duration,
    cmd: &redis::Cmd,
) -> Result<T, RedisError> {
    timed(limit, async {
        let mut conn = pool.get().await?;
        Ok(cmd.query_async(&mut *conn).await?)
    })
    .await
}

/// Builds key names under the configured prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Keys { prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn session(&self, sid: &str) -> String {
        format!("{}session:{sid}", self.prefix)
    }

    pub fn user_sessions(&self, user: u64) -> String {
        format!("{}user_sessions:{user}", self.prefix)
    }

    pub fn login_failures_user(&self, tenant: &str, username: &str) -> String {
        format!("{}login_fail:user:{}:{}", self.prefix, tenant.to_lowercase(), username.to_lowercase())
    }

    pub fn login_failures_ip(&self, ip: &str) -> String {
        format!("{}login_fail:ip:{ip}", self.prefix)
    }

    /// Pub/sub channel announcing ended sessions (so open WebSockets close at once).
    pub fn session_events(&self) -> String {
        format!("{}events:sessions", self.prefix)
    }

    /// Any other key family, under the prefix.
    pub fn key(&self, family: &str, rest: &str) -> String {
        format!("{}{family}:{rest}", self.prefix)
    }
}

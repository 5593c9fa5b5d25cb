//! Login rate limits in Redis: failures are counted per username (within a tenant) and per
//! client IP in a fixed window that starts at the first failure. Past the limit, logins are
//! refused with the time left in the window, before any password is checked.

use std::time::Duration;

use crate::redis::timed;
use crate::redis::{Keys, RedisError, RedisPool};

/// Limits and their window.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_user: u32,
    pub per_ip: u32,
    pub window: Duration,
}

#[derive(Clone)]
pub struct LoginLimiter {
    pool: RedisPool,
    keys: Keys,
    limits: Limits,
    timeout: Duration,
}

impl LoginLimiter {
    pub fn new(pool: RedisPool, keys: Keys, limits: Limits, timeout: Duration) -> Self {
        LoginLimiter { pool, keys, limits, timeout }
    }

    /// `Some(wait)` when this user or IP is over its limit.
    pub async fn check(&self, tenant: &str, username: &str, ip: &str) -> Result<Option<Duration>, RedisError> {
        let user_key = self.keys.login_failures_user(tenant, username);
        let ip_key = self.keys.login_failures_ip(ip);
        let (user_n, user_ttl, ip_n, ip_ttl): (Option<u32>, i64, Option<u32>, i64) = timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(redis::pipe()
                .cmd("GET")
                .arg(&user_key)
                .cmd("PTTL")
                .arg(&user_key)
                .cmd("GET")
                .arg(&ip_key)
                .cmd("PTTL")
                .arg(&ip_key)
                .query_async(&mut *conn)
                .await?)
        })
        .await?;
        let wait = |ttl: i64| Duration::from_millis(u64::try_from(ttl).unwrap_or(0).max(1));
        if user_n.unwrap_or(0) >= self.limits.per_user {
            return Ok(Some(wait(user_ttl)));
        }
        if ip_n.unwrap_or(0) >= self.limits.per_ip {
            return Ok(Some(wait(ip_ttl)));
        }
        Ok(None)
    }

    /// Counts one failure for the user and the IP.
    pub async fn record_failure(&self, tenant: &str, username: &str, ip: &str) -> Result<(), RedisError> {
        let window_ms = u64::try_from(self.limits.window.as_millis()).unwrap_or(u64::MAX).max(1);
        let user_key = self.keys.login_failures_user(tenant, username);
        let ip_key = self.keys.login_failures_ip(ip);
        timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            let mut pipe = redis::pipe();
            for key in [&user_key, &ip_key] {
                // The window starts at the first failure: create the counter with its expiry,
                // then count.
                pipe.cmd("SET").arg(key).arg(0).arg("PX").arg(window_ms).arg("NX").ignore();
                pipe.cmd("INCR").arg(key).ignore();
            }
            pipe.query_async::<()>(&mut *conn).await?;
            Ok(())
        })
        .await
    }

    /// A successful login clears the user's counter (not the IP's).
    pub async fn clear_user(&self, tenant: &str, username: &str) -> Result<(), RedisError> {
        let key = self.keys.login_failures_user(tenant, username);
        timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            redis::cmd("DEL").arg(&key).query_async::<()>(&mut *conn).await?;
            Ok(())
        })
        .await
    }
}

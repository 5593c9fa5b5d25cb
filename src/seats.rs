//! Licence seats in Redis: one sorted set per feature (members: session ids, scores: when
//! the seat expires) and one per tenant and feature, changed together by a Lua script so
//! that two requests can never both take the last seat. A seat lives while its client
//! sends heartbeats; an expired one is swept by the next request.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::redis::timed;
use crate::redis::{Keys, RedisError, RedisPool};

/// Take (or renew) a seat: KEYS = [feature set, tenant set, seat info]; ARGV = [now ms,
/// expiry ms, member, licence limit, tenant limit or -1, info json, ttl ms].
/// Returns 2 taken, 1 renewed, -1 licence full, -2 tenant full.
const TAKE: &str = r#"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
if tonumber(ARGV[5]) >= 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return -2 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[7])
return 2
"#;

/// Renew only: KEYS = [feature set, tenant set, seat info]; ARGV = [now, expiry, member, ttl].
/// Returns 1 renewed, 0 no such seat (expired or ended).
const RENEW: &str = r#"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
"#;

/// What a seat request ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    New,
    Renewed,
    LicenceFull,
    TenantFull,
}

/// Who holds a seat (shown to admins).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeatInfo {
    pub user_id: u64,
    pub username: String,
    pub tenant_id: u64,
    pub since: i64,
    #[serde(default)]
    pub client: Option<String>,
}

/// A seat as listed: its holder, session and expiry (unix ms).
#[derive(Clone, Debug, Serialize)]
pub struct Seat {
    pub feature: String,
    pub session: String,
    pub expires_at_ms: i64,
    #[serde(flatten)]
    pub info: SeatInfo,
}

#[derive(Clone)]
pub struct SeatStore {
    pool: RedisPool,
    keys: Keys,
    timeout: Duration,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl SeatStore {
    pub fn new(pool: RedisPool, keys: Keys, timeout: Duration) -> Self {
        SeatStore { pool, keys, timeout }
    }

    fn set(&self, feature: &str) -> String {
        self.keys.key("seats", feature)
    }

    fn tenant_set(&self, feature: &str, tenant: u64) -> String {
        self.keys.key("seats", &format!("{feature}:tenant:{tenant}"))
    }

    fn info_key(&self, feature: &str, session: &str) -> String {
        self.keys.key("seat", &format!("{feature}:{session}"))
    }

    /// Takes a seat for `session`, or renews the one it holds.
    pub async fn take(
        &self,
        feature: &str,
        session: &str,
        info: &SeatInfo,
        limit: u32,
        tenant_limit: Option<u32>,
        ttl: Duration,
    ) -> Result<Taken, RedisError> {
        let now = now_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let info_json = serde_json::to_string(info).map_err(|e| RedisError::Pool(e.to_string()))?;
        let mut inv = redis::cmd("EVAL");
        inv.arg(TAKE)
            .arg(3)
            .arg(self.set(feature))
            .arg(self.tenant_set(feature, info.tenant_id))
            .arg(self.info_key(feature, session))
            .arg(now)
            .arg(now + ttl_ms)
            .arg(session)
            .arg(limit)
            .arg(tenant_limit.map_or(-1, i64::from))
            .arg(info_json)
            .arg(ttl_ms);
        let result: i64 = timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(inv.query_async(&mut *conn).await?)
        })
        .await?;
        Ok(match result {
            2 => Taken::New,
            1 => Taken::Renewed,
            -2 => Taken::TenantFull,
            _ => Taken::LicenceFull,
        })
    }

    /// A heartbeat: `false` when the seat is gone (expired or ended by an admin).
    pub async fn renew(&self, feature: &str, session: &str, tenant: u64, ttl: Duration) -> Result<bool, RedisError> {
        let now = now_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let mut inv = redis::cmd("EVAL");
        inv.arg(RENEW)
            .arg(3)
            .arg(self.set(feature))
            .arg(self.tenant_set(feature, tenant))
            .arg(self.info_key(feature, session))
            .arg(now)
            .arg(now + ttl_ms)
            .arg(session)
            .arg(ttl_ms);
        let result: i64 = timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(inv.query_async(&mut *conn).await?)
        })
        .await?;
        Ok(result == 1)
    }

    /// Whether `session` holds an unexpired seat of `feature` in its tenant.
    pub async fn holds(&self, feature: &str, session: &str, tenant: u64) -> Result<bool, RedisError> {
        let key = self.tenant_set(feature, tenant);
        let score: Option<f64> = timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(redis::cmd("ZSCORE").arg(key).arg(session).query_async(&mut *conn).await?)
        })
        .await?;
        Ok(score.is_some_and(|expires| expires > now_ms() as f64))
    }

    pub async fn release(&self, feature: &str, session: &str, tenant: u64) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZREM")
            .arg(self.set(feature))
            .arg(session)
            .ignore()
            .cmd("ZREM")
            .arg(self.tenant_set(feature, tenant))
            .arg(session)
            .ignore()
            .cmd("DEL")
            .arg(self.info_key(feature, session))
            .ignore();
        timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            let () = pipe.query_async(&mut *conn).await?;
            Ok(())
        })
        .await
    }

    /// Frees a session's seat whatever its tenant (logout, ended sessions).
    pub async fn release_session(&self, feature: &str, session: &str) -> Result<(), RedisError> {
        match self.info(feature, session).await? {
            Some(info) => self.release(feature, session, info.tenant_id).await,
            None => {
                let key = self.set(feature);
                timed(self.timeout, async {
                    let mut conn = self.pool.get().await?;
                    let () = redis::cmd("ZREM").arg(key).arg(session).query_async(&mut *conn).await?;
                    Ok(())
                })
                .await
            }
        }
    }

    /// Seats in use, live ones only.
    pub async fn count(&self, feature: &str, tenant: Option<u64>) -> Result<u64, RedisError> {
        let key = match tenant {
            Some(t) => self.tenant_set(feature, t),
            None => self.set(feature),
        };
        timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(redis::cmd("ZCOUNT").arg(key).arg(now_ms()).arg("+inf").query_async(&mut *conn).await?)
        })
        .await
    }

    /// The live seats of a tenant.
    pub async fn list(&self, feature: &str, tenant: u64) -> Result<Vec<Seat>, RedisError> {
        let key = self.tenant_set(feature, tenant);
        let members: Vec<(String, i64)> = timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(redis::cmd("ZRANGEBYSCORE")
                .arg(&key)
                .arg(now_ms())
                .arg("+inf")
                .arg("WITHSCORES")
                .query_async(&mut *conn)
                .await?)
        })
        .await?;
        let mut out = Vec::new();
        for (session, expires_at_ms) in members {
            let raw: Option<String> = timed(self.timeout, async {
                let mut conn = self.pool.get().await?;
                Ok(redis::cmd("GET").arg(self.info_key(feature, &session)).query_async(&mut *conn).await?)
            })
            .await?;
            if let Some(info) = raw.and_then(|r| serde_json::from_str::<SeatInfo>(&r).ok()) {
                out.push(Seat { feature: feature.to_string(), session, expires_at_ms, info });
            }
        }
        Ok(out)
    }

    /// Who holds a seat (to check the tenant before an admin ends it).
    pub async fn info(&self, feature: &str, session: &str) -> Result<Option<SeatInfo>, RedisError> {
        let raw: Option<String> = timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(redis::cmd("GET").arg(self.info_key(feature, session)).query_async(&mut *conn).await?)
        })
        .await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }
}

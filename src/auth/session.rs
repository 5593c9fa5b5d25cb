//! Login sessions in Redis: `session:<id>` lives as long as the token; `user_sessions:<user>`
//! indexes a user's sessions so disabling them or changing their password ends them all
//! at once. A token whose session is gone is refused, whatever its expiry says.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::{Role, TenantId, UserId};
use crate::redis::{timed, Keys, RedisError, RedisPool};

/// What Redis keeps about one login.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub user: UserId,
    pub tenant: TenantId,
    pub role: Role,
    pub created_at: i64,
}

/// Sessions of every user, in Redis.
#[derive(Clone)]
pub struct SessionStore {
    pool: RedisPool,
    keys: Keys,
    timeout: Duration,
}

impl SessionStore {
    pub fn new(pool: RedisPool, keys: Keys, timeout: Duration) -> Self {
        SessionStore { pool, keys, timeout }
    }

    async fn run<T: redis::FromRedisValue + Send>(&self, cmd: redis::Cmd) -> Result<T, RedisError> {
        timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(cmd.query_async::<T>(&mut *conn).await?)
        })
        .await
    }

    async fn run_pipe<T: redis::FromRedisValue + Send>(&self, pipe: redis::Pipeline) -> Result<T, RedisError> {
        timed(self.timeout, async {
            let mut conn = self.pool.get().await?;
            Ok(pipe.query_async::<T>(&mut *conn).await?)
        })
        .await
    }

    /// Stores a new session for `lifetime`; returns its id.
    pub async fn create(&self, session: &Session, lifetime: Duration) -> Result<String, RedisError> {
        let sid = new_session_id();
        let secs = lifetime.as_secs().max(1);
        let body = serde_json::to_string(session).map_err(|e| RedisError::Pool(e.to_string()))?;
        let index = self.keys.user_sessions(session.user.0);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.keys.session(&sid))
            .arg(body)
            .arg("EX")
            .arg(secs)
            .ignore()
            .cmd("SADD")
            .arg(&index)
            .arg(&sid)
            .ignore()
            .cmd("EXPIRE")
            .arg(&index)
            .arg(secs)
            .ignore();
        self.run_pipe::<()>(pipe).await?;
        Ok(sid)
    }

    /// The live session `sid`, if it still exists.
    pub async fn get(&self, sid: &str) -> Result<Option<Session>, RedisError> {
        let body: Option<String> = self.run(redis::cmd("GET").arg(self.keys.session(sid)).clone()).await?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// Ends one session (logout).
    pub async fn delete(&self, sid: &str, user: UserId) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(self.keys.session(sid))
            .ignore()
            .cmd("SREM")
            .arg(self.keys.user_sessions(user.0))
            .arg(sid)
            .ignore();
        self.run_pipe::<()>(pipe).await
    }

    /// Ends every session of a user (disabled, password changed, role changed, deleted);
    /// returns the ids that were ended.
    pub async fn delete_all(&self, user: UserId) -> Result<Vec<String>, RedisError> {
        let index = self.keys.user_sessions(user.0);
        let sids: Vec<String> = self.run(redis::cmd("SMEMBERS").arg(&index).clone()).await?;
        let mut pipe = redis::pipe();
        for sid in &sids {
            pipe.cmd("DEL").arg(self.keys.session(sid)).ignore();
        }
        pipe.cmd("DEL").arg(&index).ignore();
        self.run_pipe::<()>(pipe).await?;
        Ok(sids)
    }

    /// Round trip to Redis (readiness).
    pub async fn ping(&self) -> Result<(), RedisError> {
        self.run::<String>(redis::cmd("PING")).await.map(|_| ())
    }

    pub fn pool(&self) -> &RedisPool {
        &self.pool
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// 128 random bits, hex.
fn new_session_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

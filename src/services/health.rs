//! Readiness: can we reach MariaDB and Redis, and how long does a round trip take.

use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use serde::Serialize;

use crate::state::AppState;

/// One dependency's answer.
#[derive(Clone, Debug, Serialize)]
pub struct DependencyCheck {
    pub name: &'static str,
    pub ok: bool,
    pub rtt_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every dependency's answer.
#[derive(Clone, Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<DependencyCheck>,
}

pub async fn readiness(state: &AppState) -> Readiness {
    let limit = state.config.database_timeout.max(Duration::from_millis(100));
    let (db, redis) = futures_util::join!(
        check("database", limit, check_db(state)),
        check("redis", limit, async { state.sessions.ping().await.map_err(|_| "not reachable".to_string()) })
    );
    Readiness { ready: db.ok && redis.ok, checks: vec![db, redis] }
}

async fn check(
    name: &'static str,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<(), String>>,
) -> DependencyCheck {
    let start = Instant::now();
    let result = tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| Err("timed out".into()));
    let rtt_ms = start.elapsed().as_secs_f64() * 1000.0;
    DependencyCheck { name, ok: result.is_ok(), rtt_ms: (rtt_ms * 1000.0).round() / 1000.0, error: result.err() }
}

async fn check_db(state: &AppState) -> Result<(), String> {
    let mut conn = state.db.get().await.map_err(|_| "not reachable".to_string())?;
    diesel::sql_query("SELECT 1").execute(&mut *conn).await.map(|_| ()).map_err(|_| "query failed".to_string())
}

//! The MariaDB pool (diesel-async over pure-Rust mysql_async) and the embedded migrations.

use std::time::Duration;

use diesel::migration::MigrationSource;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// Every migration in `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncMysqlConnection>;
pub type DbConn<'a> = PooledConnection<'a, AsyncMysqlConnection>;

/// Builds the pool without connecting: a database that is down at start makes requests
/// fail with 503 (and readiness say so) instead of stopping the server.
///
/// Every connection reads committed data (READ COMMITTED): under InnoDB's default
/// REPEATABLE READ a transaction keeps reading the snapshot of its first read even after it
/// waited for a row lock, so of two changes of one tenant's dialplan queued on the tenant's
/// lock the second deleted the rows it saw before the first committed, then collided with
/// the first's rows on insert. READ COMMITTED also takes no gap locks on searches.
pub fn pool(url: &str, size: u32, timeout: Duration) -> DbPool {
    let mut config = ManagerConfig::<AsyncMysqlConnection>::default();
    config.custom_setup = Box::new(|url| {
        let url = url.to_string();
        Box::pin(async move {
            let mut conn = AsyncMysqlConnection::establish(&url).await?;
            conn.batch_execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncMysqlConnection>::new_with_config(url, config);
    Pool::builder().max_size(size.max(1)).connection_timeout(timeout).build_unchecked(manager)
}

/// Errors setting up the database.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("DATABASE_URL names no valid database")]
    BadUrl,
    #[error("cannot reach MariaDB: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Splits `mysql://u@h:3306/db` into the server URL and the database name.
pub fn split_database(url: &str) -> Result<(String, String), SetupError> {
    let mut parsed = url::Url::parse(url).map_err(|_| SetupError::BadUrl)?;
    let name = parsed.path().trim_start_matches('/').to_string();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(SetupError::BadUrl);
    }
    parsed.set_path("/");
    Ok((parsed.to_string(), name))
}

/// Creates the database named in `url` when it does not exist.
pub async fn ensure_database(url: &str) -> Result<(), SetupError> {
    let (server, name) = split_database(url)?;
    let mut conn = AsyncMysqlConnection::establish(&server).await.map_err(|e| SetupError::Connect(e.to_string()))?;
    // The name was checked to be [A-Za-z0-9_]+: safe to quote as an identifier.
    conn.batch_execute(&format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    ))
    .await
    .map_err(|e| SetupError::Connect(e.to_string()))
}

/// Runs the pending migrations and returns the names of those applied.
pub async fn run_migrations(url: &str) -> Result<Vec<String>, SetupError> {
    ensure_database(url).await?;
    with_harness(url, |conn| {
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|e| SetupError::Migration(e.to_string()))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .await
}

/// Reverts every applied migration (tests check that each `down.sql` undoes its `up.sql`).
pub async fn revert_all_migrations(url: &str) -> Result<(), SetupError> {
    with_harness(url, |conn| {
        conn.revert_all_migrations(MIGRATIONS).map(|_| ()).map_err(|e| SetupError::Migration(e.to_string()))
    })
    .await
}

/// Runs diesel's migration harness on its own thread: the harness drives an async
/// connection with `block_on`, which must not happen on an actix or tokio worker.
async fn with_harness<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut AsyncConnectionWrapper<AsyncMysqlConnection>) -> Result<T, SetupError> + Send + 'static,
) -> Result<T, SetupError> {
    let url = url.to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = <AsyncConnectionWrapper<AsyncMysqlConnection> as diesel::Connection>::establish(&url)
            .map_err(|e| SetupError::Connect(e.to_string()))
            .and_then(|mut conn| f(&mut conn));
        let _ = tx.send(result);
    });
    rx.await.map_err(|_| SetupError::Migration("migration thread ended".into()))?
}

/// Versions of every embedded migration, in order (as `run_migrations` reports them).
pub fn migration_names() -> Vec<String> {
    MigrationSource::<diesel::mysql::Mysql>::migrations(&MIGRATIONS)
        .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default()
}

//! Test databases. Most tests share one migrated database per migration set (named after a
//! hash of `migrations/`) and isolate themselves with a fresh random tenant; migration and
//! failure tests take a private `mayday_test_<unix time>_<random>` database. Leftovers of
//! crashed runs older than an hour are swept. Everything that migrates or sweeps runs under a
//! MariaDB `GET_LOCK`, since nextest runs every test in its own process.

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl, SimpleAsyncConnection};
use sha2::{Digest, Sha256};

/// The server URL tests connect to (no database).
pub fn server_url() -> String {
    std::env::var("TEST_MARIADB_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

pub fn database_url(name: &str) -> String {
    format!("{}/{name}", server_url().trim_end_matches('/'))
}

/// A hash of every migration file, so a changed migration gets a fresh shared database.
fn migrations_fingerprint() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<std::path::PathBuf> = walk(&dir);
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.strip_prefix(&dir).unwrap_or(&f).to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(&h.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Got {
    #[diesel(sql_type = BigInt)]
    got: i64,
}

async fn server() -> AsyncMysqlConnection {
    AsyncMysqlConnection::establish(&format!("{}/", server_url().trim_end_matches('/')))
        .await
        .expect("MariaDB must run at 127.0.0.1:3306 (see .ci/run)")
}

async fn with_lock<T>(f: impl AsyncFnOnce(&mut AsyncMysqlConnection) -> T) -> T {
    let mut conn = server().await;
    let got: Got = diesel::sql_query("SELECT COALESCE(GET_LOCK('mayday_test_setup', 120), 0) AS got")
        .get_result(&mut conn)
        .await
        .expect("GET_LOCK");
    assert_eq!(got.got, 1, "could not take the test setup lock");
    let out = f(&mut conn).await;
    let _ = conn.batch_execute("DO RELEASE_LOCK('mayday_test_setup')").await;
    out
}

/// Drops private test databases of crashed runs (older than an hour).
async fn sweep(conn: &mut AsyncMysqlConnection) {
    let names: Vec<Name> = diesel::sql_query(
        "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mayday\\_test\\_%'",
    )
    .load(conn)
    .await
    .unwrap_or_default();
    let hour_ago = chrono::Utc::now().timestamp() - 3600;
    for n in names {
        let stamp =
            n.name.strip_prefix("mayday_test_").and_then(|r| r.split('_').next()).and_then(|t| t.parse::<i64>().ok());
        if stamp.is_some_and(|t| t < hour_ago) {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS `{}`", n.name)).await;
        }
    }
}

/// The shared, migrated database of this migration set.
pub async fn shared() -> String {
    let name = format!("mayday_test_shared_{}", migrations_fingerprint());
    let url = database_url(&name);
    with_lock(async |conn| {
        sweep(conn).await;
        mayday::db::pool::run_migrations(&url).await.expect("migrating the shared test database");
    })
    .await;
    name
}

/// A fresh private database; `migrate` applies the migrations.
pub async fn private(migrate: bool) -> String {
    let name = format!("mayday_test_{}_{:08x}", chrono::Utc::now().timestamp(), rand::random::<u32>());
    let url = database_url(&name);
    with_lock(async |conn| {
        sweep(conn).await;
        conn.batch_execute(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
            .await
            .expect("create database");
    })
    .await;
    if migrate {
        mayday::db::pool::run_migrations(&url).await.expect("migrating a private test database");
    }
    name
}

/// Drops a private database (on drop of its `TestApp`).
pub async fn drop_database(name: &str) {
    let mut conn = server().await;
    let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS `{name}`")).await;
}

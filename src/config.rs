//! Configuration: one typed struct, read once at start from the environment (and an optional
//! `.env`), validated before anything is served. A bad value is one clear line naming the
//! variable (exit code 2). Secrets are wrapped so they never print.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MAYDAY_LISTEN` | `0.0.0.0:8004` | HTTP + WebSocket listen address |
//! | `MAYDAY_ENV` | `development` | `development` or `production` |
//! | `DATABASE_URL` | `mysql://root@127.0.0.1:3306/mayday` | MariaDB; the database is created when missing |
//! | `DATABASE_POOL_SIZE` | `10` | pooled connections |
//! | `DATABASE_TIMEOUT` | `5s` | wait for a pooled connection / connect |
//! | `REDIS_URL` | `redis://127.0.0.1:6379` | Redis |
//! | `REDIS_PREFIX` | `mayday:` | prefix of every Redis key |
//! | `REDIS_TIMEOUT` | `2s` | wait for a Redis connection |
//! | `JWT_SECRET` | generated in development | HS256 key, at least 32 bytes; required in production |
//! | `TOKEN_LIFETIME` | `12h` | access token and session lifetime |
//! | `MAYDAY_SECRET_KEY` | file in development | 32-byte key (base64 or hex) encrypting stored secrets; required in production |
//! | `MAYDAY_SECRET_KEY_FILE` | `.mayday/secret.key` | where development keeps its generated key |
//! | `CORS_ALLOWED_ORIGINS` | none | comma-separated origins (`https://x`, `chrome-extension://<id>`) |
//! | `TRUSTED_PROXIES` | none | comma-separated IPs or CIDRs of reverse proxies: a request from one is the client named in `X-Forwarded-For` (login rate limits per client IP) |
//! | `LOG_FORMAT` | `pretty` | `pretty` or `json` |
//! | `RUST_LOG` | `info` | log filter |
//! | `LOGIN_RATE_LIMIT` | `10` | failed logins allowed per window for one username |
//! | `LOGIN_IP_RATE_LIMIT` | `100` | failed logins allowed per window from one client IP |
//! | `LOGIN_RATE_WINDOW` | `15m` | the rate-limit window |
//! | `ARGON2_MEMORY_KIB` | `19456` | argon2id memory cost |
//! | `ARGON2_ITERATIONS` | `2` | argon2id time cost |
//! | `MAX_BODY_BYTES` | `1048576` | largest accepted request body |
//! | `MAYDAY_DEFAULT_TENANT` | none | tenant slug for the old `/api/users/login` when the host names none |
//! | `AMI_CONNECT_TIMEOUT` | `5s` | PBX links: TCP connect |
//! | `AMI_LOGIN_TIMEOUT` | `10s` | PBX links: from connect to a completed login |
//! | `AMI_BOOT_WAIT` | `5s` | PBX links: wait for FullyBooted before trusting CoreStatus |
//! | `AMI_ACTION_TIMEOUT` | `10s` | PBX links: answer to an action |
//! | `AMI_PING_INTERVAL` | `15s` | PBX links: keepalive Ping |
//! | `AMI_PING_TIMEOUT` | `30s` | PBX links: a Ping unanswered this long drops the link |
//! | `AMI_BACKOFF_INITIAL` | `250ms` | PBX links: first reconnect delay |
//! | `AMI_BACKOFF_MAX` | `2s` | PBX links: longest reconnect delay (a PBX that comes back is reconnected within it) |
//! | `AMI_AUTH_RETRY` | `30s` | PBX links: first retry after a refused login |
//! | `HTTP_WORKERS` | one per core | HTTP worker threads |
//! | `MAYDAY_LIVE` | `true` | run the live side (PBX links, tenant, queue and agent actors) |
//! | `LIVE_ARBITERS` | one per core | threads the tenant actors are spread over |
//! | `LIVE_PERSIST_AFTER` | `500ms` | today's counters are persisted this long after they change |
//! | `LIVE_DAY_CHECK` | `30s` | how often tenants check for a new day in their time zone |
//! | `LIVE_PAUSE_CONFIRM` | `5s` | how long a pause Mayday sent waits for Asterisk's confirmation |
//! | `LIVE_PUSH_INTERVAL` | `20ms` | changes gather this long before one delta per topic is pushed |
//! | `LIVE_PUSH_HISTORY` | `512` | deltas each topic keeps for clients that resume |
//! | `LIVE_QUEUE_REFRESH` | `60s` | how often queue members and parameters are read again (`0s`: never) |
//! | `WS_HEARTBEAT` | `15s` | WebSocket ping interval (and login-session re-check) |
//! | `WS_IDLE_TIMEOUT` | `45s` | a WebSocket that sends nothing (not even a pong) this long is closed |
//! | `WS_MAX_FRAME_BYTES` | `65536` | largest frame a client may send |
//! | `WS_OUTBOX_FRAMES` | `256` | frames queued for one slow client before its topics coalesce |
//! | `WS_OUTBOX_BYTES` | `1048576` | bytes queued for one slow client before its topics coalesce |
//! | `WS_STUCK_AFTER` | `10s` | a client over its outbox limits this long is closed as too slow |
//! | `SIP_REALM` | `asterisk` | realm of agents' SIP credentials (`ps_auths.realm`, hashed into `md5_cred`) |
//! | `SIP_DOMAIN` | `localhost` | domain of the SIP URIs handed to softphones |
//! | `SIP_WSS_URL` | none | Asterisk's WebSocket transport URL for browser phones (`wss://pbx:8089/ws`) |
//! | `STUN_URLS`, `TURN_URLS` | none | ICE servers handed to softphones (comma-separated) |
//! | `TURN_SECRET` | none | TURN REST shared secret: short-lived TURN credentials are derived from it |
//! | `TURN_TTL` | `1h` | lifetime of TURN credentials |
//! | `EXTENSION_MIN_DIGITS`, `EXTENSION_MAX_DIGITS` | `3`, `6` | allowed extension length |
//! | `PUBLIC_API_URL` | the request's | base URL clients should use (`GET /api/client-config`) |
//! | `PROMPT_MODE` | `directory` | how Asterisk reads IVR prompts: `directory` (files Mayday writes) or `http` (signed URLs) |
//! | `PROMPT_DIR` | `.mayday/prompts` | where Mayday writes prompt files (`directory` mode; shared with Asterisk) |
//! | `PROMPT_ASTERISK_DIR` | `/var/lib/asterisk/sounds/mayday` | the same directory as Asterisk sees it |
//! | `PROMPT_URL_TTL` | `30d` | lifetime of signed prompt URLs (`http` mode; re-signed daily) |
//! | `PROMPT_MAX_BYTES` | `10485760` | largest prompt upload |
//! | `LICENSE_PUBLIC_KEY` | none | the vendor's ed25519 public key (base64) licences are verified with |
//! | `LICENSE_FILE` | none | a licence file installed at start |
//! | `LICENSE_SERVER_URL` | none | licence server fetched on a schedule (renewals, revocations) |
//! | `LICENSE_SYNC_INTERVAL` | `6h` | how often the licence server is asked |
//! | `LICENSE_GRACE` | `7d` | how long the last licence stands while the server does not answer |
//! | `LICENSE_SEAT_TTL` | `90s` | a seat not renewed by a heartbeat this long is free again |
//! | `SMS_BASE_URL` | none | SMS provider API (`{base}/send`, `{base}/balance`) |
//! | `SMS_USERNAME`, `SMS_PASSWORD` | none | SMS provider Basic auth |
//! | `SMS_AUTH_HEADER` | none | a ready `Authorization` header for the provider instead |
//! | `SMS_SENDER` | none | default sender id (`from`) |
//! | `SMS_OVERRIDE_IP` | none | connect to this IP, keeping the provider's host name (TLS is verified against it) |
//! | `SMS_DEFAULT_REGION` | `UG` | region of national numbers (SMS E.164 normalisation, verify-call rates) |
//! | `SMS_RATE_LIMIT` | `60` | messages a tenant may send per minute |
//! | `SMS_TIMEOUT` | `10s` | provider request timeout |
//! | `TRUNK_BALANCE_URL` | none | trunk provider's balance/validation URL |
//! | `TRUNK_BALANCE_USERNAME`, `TRUNK_BALANCE_PASSWORD` | none | its Basic auth |
//! | `TRUNK_BALANCE_INTERVAL` | `15m` | how often balances are refreshed |
//! | `TRUNK_BALANCE_TIMEOUT` | `10s` | provider request timeout |
//! | `TRUNK_LOW_BALANCE` | none | below this amount an alert goes to the tenant's wallboard |
//! | `TRUNK_MIN_BALANCE` | `0` | what must remain after a call (`verify-call`) |
//! | `TRUNK_RATES` | none | per-minute rates by destination prefix: `256=150,2567=200,*=300` |
//! | `OUTBOUND_CA_FILE` | none | PEM certificates trusted for outbound HTTPS besides the public roots (licence server, SMS and trunk providers behind a private CA) |
//! | `METRICS_TOKEN` | none | when set, `GET /metrics` needs `Authorization: Bearer <token>` |
//! | `MAYDAY_MIGRATE_ON_START` | `true` | apply pending migrations when the server starts |

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use rand::RngCore;

/// A secret string whose `Debug` prints nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A 32-byte key whose `Debug` prints nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(pub [u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Password hashing cost (strong by default; tests make it cheap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

/// Timers of the PBX links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmiTimers {
    pub connect_timeout: Duration,
    pub login_timeout: Duration,
    pub boot_wait: Duration,
    pub action_timeout: Duration,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub auth_retry: Duration,
}

impl Default for AmiTimers {
    fn default() -> Self {
        AmiTimers {
            connect_timeout: Duration::from_secs(5),
            login_timeout: Duration::from_secs(10),
            boot_wait: Duration::from_secs(5),
            action_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(30),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(2),
            auth_retry: Duration::from_secs(30),
        }
    }
}

/// The live side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    pub enabled: bool,
    /// Threads for tenant actors (0 = on the main thread).
    pub arbiters: usize,
    pub persist_after: Duration,
    pub day_check: Duration,
    pub pause_confirm: Duration,
    pub push_interval: Duration,
    pub push_history: usize,
    pub queue_refresh: Duration,
}

/// WebSocket sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsConfig {
    pub heartbeat: Duration,
    pub idle_timeout: Duration,
    pub max_frame_bytes: usize,
    pub outbox_frames: usize,
    pub outbox_bytes: usize,
    /// A session over its outbox limits this long is closed as a slow consumer.
    pub stuck_after: Duration,
}

/// How Mayday provisions phones, and what it tells softphones.
#[derive(Clone, Debug)]
pub struct TelephonyConfig {
    /// The realm agents' SIP credentials are hashed with (`ps_auths.realm`).
    pub sip_realm: String,
    /// The domain of SIP URIs handed to softphones (`sip:<endpoint>@<domain>`).
    pub sip_domain: String,
    /// The WebSocket URL of Asterisk's `transport-wss` (what browser phones connect to).
    pub sip_wss_url: Option<String>,
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    /// Shared secret of the TURN REST scheme (coturn `static-auth-secret`).
    pub turn_secret: Option<SecretString>,
    pub turn_ttl: Duration,
    pub extension_min_digits: usize,
    pub extension_max_digits: usize,
    /// Public URLs clients should use (`GET /api/client-config`); default: the request's.
    pub public_api_url: Option<String>,
}

/// How Asterisk gets IVR prompts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptMode {
    /// Mayday writes files into a directory Asterisk reads.
    Directory,
    /// Asterisk fetches them from Mayday (`res_http_media_cache`) through signed URLs.
    Http,
}

#[derive(Clone, Debug)]
pub struct PromptConfig {
    pub mode: PromptMode,
    pub dir: std::path::PathBuf,
    pub asterisk_dir: String,
    pub url_ttl: Duration,
    pub max_bytes: usize,
}

#[derive(Clone, Debug)]
pub struct LicenseConfig {
    pub public_key: Option<String>,
    pub file: Option<std::path::PathBuf>,
    pub server_url: Option<String>,
    pub sync_interval: Duration,
    pub grace: Duration,
    pub seat_ttl: Duration,
}

/// The SMS provider as the environment configures it (a tenant may override it at runtime).
#[derive(Clone, Debug, Default)]
pub struct SmsConfig {
    pub base_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub auth_header: Option<SecretString>,
    pub sender: Option<String>,
    pub override_ip: Option<std::net::IpAddr>,
    pub default_region: String,
    pub rate_limit: u32,
    pub timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct BalanceConfig {
    pub url: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub interval: Duration,
    pub timeout: Duration,
    pub low_balance: Option<f64>,
    pub min_balance: f64,
    /// (prefix, per-minute rate); `*` is the default.
    pub rates: Vec<(String, f64)>,
}

/// Everything Mayday is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub environment: Environment,
    pub database_url: SecretString,
    pub database_pool_size: u32,
    pub database_timeout: Duration,
    pub redis_url: SecretString,
    pub redis_prefix: String,
    pub redis_timeout: Duration,
    pub jwt_secret: SecretString,
    pub token_lifetime: Duration,
    pub secret_key: SecretKey,
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (rate limits, logs).
    pub trusted_proxies: Vec<crate::ip_range::IpRange>,
    pub log_format: LogFormat,
    pub login_rate_limit: u32,
    pub login_ip_rate_limit: u32,
    pub login_rate_window: Duration,
    pub hash_cost: HashCost,
    pub max_body_bytes: usize,
    pub default_tenant: Option<String>,
    pub ami: AmiTimers,
    /// Workers of the HTTP server (0 = one per core).
    pub http_workers: usize,
    /// Run migrations when the server starts.
    pub migrate_on_start: bool,
    pub live: LiveConfig,
    pub ws: WsConfig,
    pub telephony: TelephonyConfig,
    pub prompts: PromptConfig,
    pub license: LicenseConfig,
    pub sms: SmsConfig,
    pub balance: BalanceConfig,
    pub metrics_token: Option<SecretString>,
    /// Extra trust anchors (PEM) for outbound HTTPS.
    pub outbound_ca_file: Option<PathBuf>,
    /// Warnings found while loading (logged once telemetry is up).
    pub warnings: Vec<String>,
}

/// A configuration error: names the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { var, reason: reason.into() }
}

/// Reads variables; tests pass a map instead of the process environment.
pub trait Source {
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment (after loading `.env` if present).
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<S: std::hash::BuildHasher> Source for std::collections::HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<String> {
        std::collections::HashMap::get(self, key).cloned().filter(|v| !v.trim().is_empty())
    }
}

fn duration(src: &dyn Source, var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match src.get(var) {
        None => Ok(default),
        Some(v) => humantime::parse_duration(v.trim())
            .map_err(|e| err(var, format!("not a duration ({e}); use e.g. 500ms, 30s, 15m, 12h"))),
    }
}

fn number<T: std::str::FromStr>(src: &dyn Source, var: &'static str, default: T) -> Result<T, ConfigError> {
    match src.get(var) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| err(var, format!("not a valid number: {v:?}"))),
    }
}

/// `TRUNK_RATES`: `prefix=rate` pairs, comma-separated; `*` is the default rate.
fn rates(src: &dyn Source) -> Result<Vec<(String, f64)>, ConfigError> {
    let mut out = Vec::new();
    for pair in list(src, "TRUNK_RATES") {
        let (prefix, rate) =
            pair.split_once('=').ok_or_else(|| err("TRUNK_RATES", format!("{pair:?} is not prefix=rate")))?;
        let prefix = prefix.trim().trim_start_matches('+');
        if prefix != "*" && !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("TRUNK_RATES", format!("{prefix:?} is not a digit prefix or *")));
        }
        let rate: f64 = rate.trim().parse().map_err(|_| err("TRUNK_RATES", format!("{rate:?} is not a rate")))?;
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(err("TRUNK_RATES", format!("{rate} is not a rate")));
        }
        out.push((prefix.to_string(), rate));
    }
    Ok(out)
}

fn list(src: &dyn Source, var: &'static str) -> Vec<String> {
    src.get(var)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

fn flag(src: &dyn Source, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match src.get(var).as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(err(var, format!("must be true or false, not {other:?}"))),
    }
}

/// Decodes a 32-byte key given as base64 or hex.
pub fn decode_key(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(t).ok()?
    } else {
        base64::engine::general_purpose::STANDARD.decode(t).ok()?
    };
    bytes.try_into().ok()
}

impl Config {
    /// Loads `.env` (if any) and reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_source(&ProcessEnv)
    }

    /// Reads and validates every variable.
    pub fn from_source(src: &dyn Source) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let environment = match src.get("MAYDAY_ENV").as_deref().map(str::trim) {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => return Err(err("MAYDAY_ENV", format!("must be development or production, not {other:?}"))),
        };
        let listen = match src.get("MAYDAY_LISTEN") {
            None => SocketAddr::from(([0, 0, 0, 0], 8004)),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| err("MAYDAY_LISTEN", format!("not a socket address (host:port): {v:?}")))?,
        };
        let database_url = src.get("DATABASE_URL").unwrap_or_else(|| "mysql://root@127.0.0.1:3306/mayday".into());
        let parsed = url::Url::parse(&database_url).map_err(|e| err("DATABASE_URL", format!("not a URL ({e})")))?;
        if parsed.scheme() != "mysql" && parsed.scheme() != "mariadb" {
            return Err(err("DATABASE_URL", "must start with mysql://"));
        }
        if parsed.path().trim_start_matches('/').is_empty() {
            return Err(err("DATABASE_URL", "must name a database (mysql://user@host:3306/mayday)"));
        }
        let redis_url = src.get("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into());
        let parsed = url::Url::parse(&redis_url).map_err(|e| err("REDIS_URL", format!("not a URL ({e})")))?;
        if parsed.scheme() != "redis" && parsed.scheme() != "rediss" {
            return Err(err("REDIS_URL", "must start with redis://"));
        }
        let jwt_secret = match src.get("JWT_SECRET") {
            Some(s) if s.len() >= 32 => SecretString::new(s),
            Some(_) if environment == Environment::Production => {
                return Err(err("JWT_SECRET", "must be at least 32 bytes in production"))
            }
            None if environment == Environment::Production => {
                return Err(err("JWT_SECRET", "is required in production (32 bytes or more)"))
            }
            Some(_) | None => {
                warnings.push("JWT_SECRET missing or shorter than 32 bytes: generated a random one (development only; tokens end with the process)".to_string());
                let mut bytes = [0u8; 48];
                rand::rng().fill_bytes(&mut bytes);
                SecretString::new(hex::encode(bytes))
            }
        };
        let key_file = PathBuf::from(src.get("MAYDAY_SECRET_KEY_FILE").unwrap_or_else(|| ".mayday/secret.key".into()));
        let secret_key = match src.get("MAYDAY_SECRET_KEY") {
            Some(k) => SecretKey(
                decode_key(&k).ok_or_else(|| err("MAYDAY_SECRET_KEY", "must be 32 bytes, base64 or 64 hex digits"))?,
            ),
            None if environment == Environment::Production => {
                return Err(err("MAYDAY_SECRET_KEY", "is required in production (32 bytes, base64 or hex)"))
            }
            None => {
                let (key, created) = dev_key(&key_file).map_err(|e| err("MAYDAY_SECRET_KEY_FILE", e))?;
                warnings.push(format!(
                    "MAYDAY_SECRET_KEY not set: {} the development key in {} (set MAYDAY_SECRET_KEY in production)",
                    if created { "generated" } else { "using" },
                    key_file.display()
                ));
                SecretKey(key)
            }
        };
        let log_format = match src.get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(err("LOG_FORMAT", format!("must be pretty or json, not {other:?}"))),
        };
        let cors_origins: Vec<String> = src
            .get("CORS_ALLOWED_ORIGINS")
            .map(|v| v.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect())
            .unwrap_or_default();
        for o in &cors_origins {
            let ok = o.starts_with("chrome-extension://")
                || url::Url::parse(o).is_ok_and(|u| u.scheme() == "http" || u.scheme() == "https");
            if !ok {
                return Err(err("CORS_ALLOWED_ORIGINS", format!("not an origin: {o:?}")));
            }
        }
        let mut trusted_proxies = Vec::new();
        for p in list(src, "TRUSTED_PROXIES") {
            trusted_proxies.push(
                crate::ip_range::IpRange::parse(&p)
                    .ok_or_else(|| err("TRUSTED_PROXIES", format!("not an IP or CIDR: {p:?}")))?,
            );
        }
        let hash_cost = HashCost {
            memory_kib: number(src, "ARGON2_MEMORY_KIB", 19_456)?,
            iterations: number(src, "ARGON2_ITERATIONS", 2)?,
        };
        if hash_cost.memory_kib < 8 || hash_cost.iterations < 1 {
            return Err(err("ARGON2_MEMORY_KIB", "argon2 needs at least 8 KiB and 1 iteration"));
        }
        if environment == Environment::Production && hash_cost.memory_kib < 19_456 {
            return Err(err("ARGON2_MEMORY_KIB", "must be at least 19456 in production (OWASP minimum)"));
        }
        let defaults = AmiTimers::default();
        let ami = AmiTimers {
            connect_timeout: duration(src, "AMI_CONNECT_TIMEOUT", defaults.connect_timeout)?,
            login_timeout: duration(src, "AMI_LOGIN_TIMEOUT", defaults.login_timeout)?,
            boot_wait: duration(src, "AMI_BOOT_WAIT", defaults.boot_wait)?,
            action_timeout: duration(src, "AMI_ACTION_TIMEOUT", defaults.action_timeout)?,
            ping_interval: duration(src, "AMI_PING_INTERVAL", defaults.ping_interval)?,
            ping_timeout: duration(src, "AMI_PING_TIMEOUT", defaults.ping_timeout)?,
            backoff_initial: duration(src, "AMI_BACKOFF_INITIAL", defaults.backoff_initial)?,
            backoff_max: duration(src, "AMI_BACKOFF_MAX", defaults.backoff_max)?,
            auth_retry: duration(src, "AMI_AUTH_RETRY", defaults.auth_retry)?,
        };
        let token_lifetime = duration(src, "TOKEN_LIFETIME", Duration::from_secs(12 * 3600))?;
        if token_lifetime < Duration::from_secs(1) {
            return Err(err("TOKEN_LIFETIME", "must be at least 1s"));
        }
        Ok(Config {
            listen,
            environment,
            database_url: SecretString::new(database_url),
            database_pool_size: number(src, "DATABASE_POOL_SIZE", 10)?,
            database_timeout: duration(src, "DATABASE_TIMEOUT", Duration::from_secs(5))?,
            redis_url: SecretString::new(redis_url),
            redis_prefix: src.get("REDIS_PREFIX").unwrap_or_else(|| "mayday:".into()),
            redis_timeout: duration(src, "REDIS_TIMEOUT", Duration::from_secs(2))?,
            jwt_secret,
            token_lifetime,
            secret_key,
            cors_origins,
            trusted_proxies,
            log_format,
            login_rate_limit: number(src, "LOGIN_RATE_LIMIT", 10)?,
            login_ip_rate_limit: number(src, "LOGIN_IP_RATE_LIMIT", 100)?,
            login_rate_window: duration(src, "LOGIN_RATE_WINDOW", Duration::from_secs(15 * 60))?,
            hash_cost,
            max_body_bytes: number(src, "MAX_BODY_BYTES", 1024 * 1024)?,
            default_tenant: src.get("MAYDAY_DEFAULT_TENANT"),
            ami,
            http_workers: number(src, "HTTP_WORKERS", 0)?,
            migrate_on_start: flag(src, "MAYDAY_MIGRATE_ON_START", true)?,
            live: LiveConfig {
                enabled: flag(src, "MAYDAY_LIVE", true)?,
                arbiters: number(
                    src,
                    "LIVE_ARBITERS",
                    std::thread::available_parallelism().map(usize::from).unwrap_or(2),
                )?,
                persist_after: duration(src, "LIVE_PERSIST_AFTER", Duration::from_millis(500))?,
                day_check: duration(src, "LIVE_DAY_CHECK", Duration::from_secs(30))?,
                pause_confirm: duration(src, "LIVE_PAUSE_CONFIRM", Duration::from_secs(5))?,
                push_interval: duration(src, "LIVE_PUSH_INTERVAL", Duration::from_millis(20))?,
                push_history: number(src, "LIVE_PUSH_HISTORY", 512)?,
                queue_refresh: duration(src, "LIVE_QUEUE_REFRESH", Duration::from_secs(60))?,
            },
            metrics_token: src.get("METRICS_TOKEN").map(SecretString::new),
            outbound_ca_file: src.get("OUTBOUND_CA_FILE").map(PathBuf::from),
            telephony: TelephonyConfig {
                sip_realm: src.get("SIP_REALM").unwrap_or_else(|| "asterisk".into()),
                sip_domain: src.get("SIP_DOMAIN").unwrap_or_else(|| "localhost".into()),
                sip_wss_url: src.get("SIP_WSS_URL"),
                stun_urls: list(src, "STUN_URLS"),
                turn_urls: list(src, "TURN_URLS"),
                turn_secret: src.get("TURN_SECRET").map(SecretString::new),
                turn_ttl: duration(src, "TURN_TTL", Duration::from_secs(3600))?,
                extension_min_digits: number(src, "EXTENSION_MIN_DIGITS", 3)?,
                extension_max_digits: number(src, "EXTENSION_MAX_DIGITS", 6)?,
                public_api_url: src.get("PUBLIC_API_URL"),
            },
            prompts: PromptConfig {
                mode: match src.get("PROMPT_MODE").as_deref().map(str::trim) {
                    None | Some("directory") => PromptMode::Directory,
                    Some("http") => {
                        if src.get("PUBLIC_API_URL").is_none() {
                            return Err(err(
                                "PROMPT_MODE",
                                "http needs PUBLIC_API_URL (the URL Asterisk fetches prompts from)",
                            ));
                        }
                        PromptMode::Http
                    }
                    Some(other) => return Err(err("PROMPT_MODE", format!("must be directory or http, not {other:?}"))),
                },
                dir: src.get("PROMPT_DIR").unwrap_or_else(|| ".mayday/prompts".into()).into(),
                asterisk_dir: src
                    .get("PROMPT_ASTERISK_DIR")
                    .unwrap_or_else(|| "/var/lib/asterisk/sounds/mayday".into())
                    .trim_end_matches('/')
                    .to_string(),
                url_ttl: duration(src, "PROMPT_URL_TTL", Duration::from_secs(30 * 86_400))?,
                max_bytes: number(src, "PROMPT_MAX_BYTES", 10 * 1024 * 1024)?,
            },
            license: LicenseConfig {
                public_key: src.get("LICENSE_PUBLIC_KEY"),
                file: src.get("LICENSE_FILE").map(Into::into),
                server_url: src.get("LICENSE_SERVER_URL").map(|u| u.trim_end_matches('/').to_string()),
                sync_interval: duration(src, "LICENSE_SYNC_INTERVAL", Duration::from_secs(6 * 3600))?,
                grace: duration(src, "LICENSE_GRACE", Duration::from_secs(7 * 86_400))?,
                seat_ttl: duration(src, "LICENSE_SEAT_TTL", Duration::from_secs(90))?,
            },
            sms: SmsConfig {
                base_url: src.get("SMS_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
                username: src.get("SMS_USERNAME"),
                password: src.get("SMS_PASSWORD").map(SecretString::new),
                auth_header: src.get("SMS_AUTH_HEADER").map(SecretString::new),
                sender: src.get("SMS_SENDER"),
                override_ip: match src.get("SMS_OVERRIDE_IP") {
                    Some(ip) => Some(ip.trim().parse().map_err(|_| err("SMS_OVERRIDE_IP", "not an IP address"))?),
                    None => None,
                },
                default_region: {
                    let region =
                        src.get("SMS_DEFAULT_REGION").unwrap_or_else(|| "UG".into()).trim().to_ascii_uppercase();
                    region
                        .parse::<phonenumber::country::Id>()
                        .map_err(|_| err("SMS_DEFAULT_REGION", "not a region code such as UG"))?;
                    region
                },
                rate_limit: number(src, "SMS_RATE_LIMIT", 60)?,
                timeout: duration(src, "SMS_TIMEOUT", Duration::from_secs(10))?,
            },
            balance: BalanceConfig {
                url: src.get("TRUNK_BALANCE_URL"),
                username: src.get("TRUNK_BALANCE_USERNAME"),
                password: src.get("TRUNK_BALANCE_PASSWORD").map(SecretString::new),
                interval: duration(src, "TRUNK_BALANCE_INTERVAL", Duration::from_secs(15 * 60))?,
                timeout: duration(src, "TRUNK_BALANCE_TIMEOUT", Duration::from_secs(10))?,
                low_balance: match src.get("TRUNK_LOW_BALANCE") {
                    Some(v) => Some(v.trim().parse().map_err(|_| err("TRUNK_LOW_BALANCE", "not a number"))?),
                    None => None,
                },
                min_balance: number(src, "TRUNK_MIN_BALANCE", 0.0)?,
                rates: rates(src)?,
            },
            ws: WsConfig {
                heartbeat: duration(src, "WS_HEARTBEAT", Duration::from_secs(15))?,
                idle_timeout: duration(src, "WS_IDLE_TIMEOUT", Duration::from_secs(45))?,
                max_frame_bytes: number(src, "WS_MAX_FRAME_BYTES", 64 * 1024)?,
                outbox_frames: number(src, "WS_OUTBOX_FRAMES", 256)?,
                outbox_bytes: number(src, "WS_OUTBOX_BYTES", 1024 * 1024)?,
                stuck_after: duration(src, "WS_STUCK_AFTER", Duration::from_secs(10))?,
            },
            warnings: {
                if src.get("SMS_BASE_URL").is_some() && src.get("PUBLIC_API_URL").is_none() {
                    warnings.push(
                        "SMS_BASE_URL is set but PUBLIC_API_URL is not: the SMS provider is given the listen address for delivery reports"
                            .to_string(),
                    );
                }
                warnings
            },
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

/// Reads the development key file, creating it (mode 0600) with a random key when missing.
fn dev_key(path: &std::path::Path) -> Result<([u8; 32], bool), String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return decode_key(&text)
            .map(|k| (k, false))
            .ok_or_else(|| format!("{} does not hold a 32-byte key", path.display()));
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(key);
    write_private(path, &encoded).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((key, true))
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn production_refuses_a_short_jwt_secret() {
        let e = Config::from_source(&env(&[
            ("MAYDAY_ENV", "production"),
            ("JWT_SECRET", "short"),
            ("MAYDAY_SECRET_KEY", &"ab".repeat(32)),
        ]))
        .expect_err("refused");
        assert_eq!(e.var, "JWT_SECRET");
    }

    #[test]
    fn production_requires_the_secret_key() {
        let e = Config::from_source(&env(&[("MAYDAY_ENV", "production"), ("JWT_SECRET", &"x".repeat(40))]))
            .expect_err("refused");
        assert_eq!(e.var, "MAYDAY_SECRET_KEY");
    }

    #[test]
    fn development_generates_what_is_missing_with_warnings() {
        let dir = std::env::temp_dir().join(format!("mayday-cfg-{}", rand::random::<u64>()));
        let file = dir.join("key");
        let src = env(&[("MAYDAY_SECRET_KEY_FILE", file.to_str().expect("utf-8 path"))]);
        let a = Config::from_source(&src).expect("dev config");
        let b = Config::from_source(&src).expect("dev config again");
        assert_eq!(a.secret_key, b.secret_key, "the key file is reused across restarts");
        assert_eq!(a.warnings.len(), 2);
        assert_eq!(a.listen.port(), 8004);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_bad_duration_names_its_variable() {
        let e = Config::from_source(&env(&[("TOKEN_LIFETIME", "soon"), ("MAYDAY_SECRET_KEY", &"ab".repeat(32))]))
            .expect_err("refused");
        assert_eq!(e.var, "TOKEN_LIFETIME");
        let ok = Config::from_source(&env(&[("AMI_PING_INTERVAL", "250ms"), ("MAYDAY_SECRET_KEY", &"ab".repeat(32))]))
            .expect("ok");
        assert_eq!(ok.ami.ping_interval, Duration::from_millis(250));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::from_source(&env(&[("JWT_SECRET", &"s".repeat(40)), ("MAYDAY_SECRET_KEY", &"ab".repeat(32))]))
            .expect("ok");
        let printed = format!("{c:?}");
        assert!(!printed.contains(&"s".repeat(40)));
        assert!(!printed.contains("root@127.0.0.1"));
    }
}

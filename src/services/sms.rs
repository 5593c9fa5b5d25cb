//! SMS through an HTTP provider (the old provider's API first: `POST {base}/send` JSON
//! `{to, from, content, dlr, dlr-url, dlr-level}`, `GET {base}/balance`, Basic auth or a
//! ready `Authorization` header). The environment configures it; a tenant admin may
//! override it at runtime (a Redis key, secrets sealed with `MAYDAY_SECRET_KEY`).
//!
//! A message is stored (`queued`) before the provider is called, then `sent` with the
//! provider's id or `failed` with the reason. Delivery reports only move a message
//! forward (`delivered` is never overwritten by a late `sent`). New messages and status
//! changes go to the tenant's `sms` WebSocket topic.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{NewSms, SmsMessage};
use crate::db::repos::{self, sms as repo};
use crate::db::{Page, Paged};
use crate::domain::{Caller, Role, TenantId};
use crate::services::{licenses, require, ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct MessageView {
    pub id: u64,
    pub direction: String,
    pub partner: String,
    pub our_number: Option<String>,
    pub content: String,
    pub status: String,
    pub provider_id: Option<String>,
    pub error: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl From<SmsMessage> for MessageView {
    fn from(m: SmsMessage) -> Self {
        MessageView {
            id: m.id,
            direction: m.direction,
            partner: m.partner,
            our_number: m.our_number,
            content: m.content,
            status: m.status,
            provider_id: m.provider_id,
            error: m.error,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The provider configuration in force for a tenant (secrets in clear: never serialised).
#[derive(Clone, Default)]
pub struct Provider {
    pub base_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub auth_header: Option<String>,
    pub sender: Option<String>,
    pub override_ip: Option<std::net::IpAddr>,
    /// `environment` or `override`.
    pub source: &'static str,
    /// Set by a tenant admin in production: reach public addresses only.
    pub restricted: bool,
}

/// What the tenant override stores in Redis (secrets sealed).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Stored {
    base_url: Option<String>,
    username: Option<String>,
    password: Option<String>,
    auth_header: Option<String>,
    sender: Option<String>,
    override_ip: Option<String>,
    #[serde(default)]
    restricted: bool,
}

/// `PUT /api/sms/config`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigInput {
    pub base_url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub auth_header: Option<String>,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub override_ip: Option<String>,
}

impl std::fmt::Debug for ConfigInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigInput").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// The configuration as `GET /api/sms/config` shows it: secrets masked.
#[derive(Debug, Serialize)]
pub struct ConfigView {
    pub source: &'static str,
    pub base_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<&'static str>,
    pub auth_header: Option<&'static str>,
    pub sender: Option<String>,
    pub override_ip: Option<String>,
    pub dlr_url: String,
}

const MASK: &str = "********";

fn config_key(state: &AppState, tenant: TenantId) -> String {
    state.sessions.keys().key("sms_config", &tenant.0.to_string())
}

/// One Redis command within `REDIS_TIMEOUT` (Redis down or hanging is a 503).
async fn redis_run<T: redis::FromRedisValue>(state: &AppState, cmd: &redis::Cmd) -> ServiceResult<T> {
    Ok(crate::redis::query(&state.redis, state.config.redis_timeout, cmd).await?)
}

/// The provider for a tenant: its override when set, else the environment.
pub async fn provider(state: &AppState, tenant: TenantId) -> ServiceResult<Provider> {
    let stored: Option<String> = redis_run(state, redis::cmd("GET").arg(config_key(state, tenant))).await?;
    if let Some(raw) = stored {
        let s: Stored = serde_json::from_str(&raw).map_err(|e| ServiceError::internal("sms override", e))?;
        let open = |v: Option<String>| -> ServiceResult<Option<String>> {
            v.map(|sealed| {
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(sealed)
                    .map_err(|e| ServiceError::internal("sms override", e))?;
                state.secrets.open(&bytes).map_err(|e| ServiceError::internal("sms override", e))
            })
            .transpose()
        };
        return Ok(Provider {
            base_url: s.base_url,
            username: s.username,
            password: open(s.password)?,
            auth_header: open(s.auth_header)?,
            sender: s.sender,
            override_ip: s.override_ip.and_then(|ip| ip.parse().ok()),
            source: "override",
            restricted: s.restricted,
        });
    }
    let c = &state.config.sms;
    Ok(Provider {
        base_url: c.base_url.clone(),
        username: c.username.clone(),
        password: c.password.as_ref().map(|p| p.expose().to_string()),
        auth_header: c.auth_header.as_ref().map(|p| p.expose().to_string()),
        sender: c.sender.clone(),
        override_ip: c.override_ip,
        source: "environment",
        restricted: false,
    })
}

/// The secret in a tenant's DLR URL.
fn dlr_secret(state: &AppState, tenant: TenantId) -> String {
    state.secrets.sign(&format!("sms-dlr:{}", tenant.0))
}

/// Where the provider reaches Mayday: `PUBLIC_API_URL`, else the bound address. Never the
/// request's `Host`: a client could point the tenant's secret at a host of its own.
fn api_base(state: &AppState) -> String {
    if let Some(url) = &state.config.telephony.public_api_url {
        return url.trim_end_matches('/').to_string();
    }
    match state.bound.get() {
        Some(addr) if addr.ip().is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
        Some(addr) => format!("http://{addr}"),
        None => "http://127.0.0.1:8004".to_string(),
    }
}

fn dlr_url(state: &AppState, tenant: &crate::db::models::Tenant) -> String {
    format!("{}/api/sms/dlr?tenant={}&secret={}", api_base(state), tenant.slug, dlr_secret(state, TenantId(tenant.id)))
}

pub async fn get_config(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<ConfigView> {
    require(caller, Role::Admin)?;
    let p = provider(state, tenant).await?;
    let mut conn = state.db.get().await?;
    let t = repos::tenants::find(&mut conn, tenant).await?;
    Ok(ConfigView {
        source: p.source,
        base_url: p.base_url,
        username: p.username,
        password: p.password.map(|_| MASK),
        auth_header: p.auth_header.map(|_| MASK),
        sender: p.sender,
        override_ip: p.override_ip.map(|ip| ip.to_string()),
        dlr_url: dlr_url(state, &t),
    })
}

pub async fn put_config(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    input: ConfigInput,
) -> ServiceResult<ConfigView> {
    use base64::Engine as _;
    require(caller, Role::Admin)?;
    let url = url::Url::parse(input.base_url.trim()).map_err(|_| ServiceError::invalid("base_url", "is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ServiceError::invalid("base_url", "must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ServiceError::invalid("base_url", "must not hold credentials: give username and password"));
    }
    let override_ip = match input.override_ip.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(ip) => Some(
            ip.parse::<std::net::IpAddr>().map_err(|_| ServiceError::invalid("override_ip", "is not an IP address"))?,
        ),
        None => None,
    };
    // In production a tenant admin may not point Mayday's requests (with their
    // credentials) at the platform's own network, nor send them in clear; a superadmin may.
    if state.config.is_production() && !caller.role.at_least(Role::Superadmin) {
        let host_ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        if url.scheme() != "https" {
            return Err(ServiceError::invalid("base_url", "must be an https URL"));
        }
        for (field, ip) in [("base_url", host_ip), ("override_ip", override_ip)] {
            if ip.is_some_and(crate::outbound::internal) {
                return Err(ServiceError::invalid(field, "may not be a private, loopback or link-local address"));
            }
        }
    }
    let override_ip = override_ip.map(|ip| ip.to_string());
    let seal = |v: Option<String>| {
        v.filter(|s| !s.is_empty()).map(|s| base64::engine::general_purpose::STANDARD.encode(state.secrets.seal(&s)))
    };
    for (field, v) in [
        ("username", &input.username),
        ("password", &input.password),
        ("auth_header", &input.auth_header),
        ("sender", &input.sender),
    ] {
        if v.as_ref().is_some_and(|v| v.len() > 256 || v.contains(['\r', '\n'])) {
            return Err(ServiceError::invalid(field, "must be one line of at most 256 characters"));
        }
    }
    let stored = Stored {
        base_url: Some(input.base_url.trim().trim_end_matches('/').to_string()),
        username: input.username.filter(|s| !s.is_empty()),
        password: seal(input.password),
        auth_header: seal(input.auth_header),
        sender: input.sender.filter(|s| !s.is_empty()),
        override_ip,
        restricted: state.config.is_production() && !caller.role.at_least(Role::Superadmin),
    };
    let text = serde_json::to_string(&stored).map_err(|e| ServiceError::internal("sms override", e))?;
    let () = redis_run(state, redis::cmd("SET").arg(config_key(state, tenant)).arg(text)).await?;
    tracing::info!(tenant.id = tenant.0, "SMS provider override set");
    get_config(state, caller, tenant).await
}

pub async fn delete_config(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let () = redis_run(state, redis::cmd("DEL").arg(config_key(state, tenant))).await?;
    Ok(())
}

/// A conversation partner: a number in E.164, or an alphanumeric sender id (a bank, an
/// airline) as it came.
pub fn partner(field: &str, raw: &str, region: &str) -> ServiceResult<String> {
    let raw = raw.trim();
    match e164(field, raw, region) {
        Ok(n) => Ok(n),
        Err(_)
            if raw.chars().any(|c| c.is_ascii_alphabetic())
                && raw.len() <= 20
                && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') =>
        {
            Ok(raw.to_string())
        }
        Err(e) => Err(e),
    }
}

/// A number in E.164 (`+256772000000`); national numbers are read in `SMS_DEFAULT_REGION`.
pub fn e164(field: &str, raw: &str, region: &str) -> ServiceResult<String> {
    let region = region.parse::<phonenumber::country::Id>().ok();
    let n =
        phonenumber::parse(region, raw.trim()).map_err(|_| ServiceError::invalid(field, "is not a phone number"))?;
    if !phonenumber::is_valid(&n) {
        return Err(ServiceError::invalid(field, "is not a valid phone number"));
    }
    Ok(n.format().mode(phonenumber::Mode::E164).to_string())
}

fn push(state: &AppState, tenant: TenantId, m: &MessageView) {
    if let Some(entry) = state.live.registry.tenant(tenant) {
        use mayday_actors::live::tenant::actor::PushSms;
        entry.addr.do_send(PushSms(serde_json::to_value(m).unwrap_or_default()));
    }
}

/// Refuses a tenant over `SMS_RATE_LIMIT` messages in the current minute.
async fn rate_limit(state: &AppState, tenant: TenantId) -> ServiceResult<()> {
    let minute = chrono::Utc::now().timestamp() / 60;
    let key = state.sessions.keys().key("sms_rate", &format!("{}:{minute}", tenant.0));
    // The count and its expiry together (the key outlives its minute a little).
    const COUNT: &str = "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 120) return n";
    let count: u32 = redis_run(state, redis::cmd("EVAL").arg(COUNT).arg(1).arg(&key)).await?;
    if count > state.config.sms.rate_limit {
        let wait = 60 - (chrono::Utc::now().timestamp() % 60);
        return Err(ServiceError::RateLimited {
            retry_after: std::time::Duration::from_secs(u64::try_from(wait).unwrap_or(60)),
        });
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    pub to: String,
    pub content: String,
    #[serde(default)]
    pub from: Option<String>,
}

/// The provider's message id in its answer (`message_id`, `id`, `messageId`, maybe under
/// `data`).
fn provider_id(v: &serde_json::Value) -> Option<String> {
    let obj = v.get("data").filter(|d| d.is_object()).unwrap_or(v);
    ["message_id", "messageId", "id", "msgid"].iter().find_map(|k| match obj.get(*k)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The HTTP client for a provider: its override IP, or public addresses only when a tenant
/// admin set it in production.
fn provider_client(state: &AppState, p: &Provider) -> awc::Client {
    match (p.override_ip, p.restricted) {
        (None, true) => state.outbound.public_client(state.config.sms.timeout),
        (ip, _) => state.outbound.client(state.config.sms.timeout, ip),
    }
}

/// A request to the provider at `{base}{path}` with its credentials (a ready header wins
/// over Basic auth).
fn provider_request(
    state: &AppState,
    p: &Provider,
    method: awc::http::Method,
    path: &str,
) -> Result<awc::ClientRequest, String> {
    let base = p.base_url.as_deref().ok_or("no SMS provider is configured")?;
    let req = provider_client(state, p).request(method, format!("{base}{path}"));
    Ok(match (&p.auth_header, &p.username, &p.password) {
        (Some(h), _, _) => req.insert_header(("Authorization", h.clone())),
        (None, Some(user), Some(password)) => req.basic_auth(user, password),
        _ => req,
    })
}

/// Calls the provider; `Ok(provider id)` or the reason in operator's words.
async fn provider_send(state: &AppState, p: &Provider, body: serde_json::Value) -> Result<String, String> {
    let req = provider_request(state, p, awc::http::Method::POST, "/send")?;
    let res = req.send_json(&body).await.map_err(|e| crate::outbound::describe(&e))?;
    let bytes = crate::outbound::answer(res, 64 * 1024).await?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "the provider's answer is not JSON".to_string())?;
    provider_id(&v).ok_or_else(|| "the provider's answer holds no message id".to_string())
}

/// Who a message is sent as: the tenant's configured sender, or one of its own active
/// outbound DIDs. Anything else would let a user send as a bank, or as another tenant, on a
/// provider account the platform may share.
async fn sender(
    conn: &mut crate::db::repos::Conn,
    state: &AppState,
    tenant: TenantId,
    p: &Provider,
    asked: Option<&str>,
) -> ServiceResult<Option<String>> {
    // Stored in sms_messages.our_number (20 characters), as senders are on the wire.
    let fits = |s: Option<String>| match s {
        Some(s) if s.chars().count() > 20 => Err(ServiceError::invalid("from", "must be at most 20 characters")),
        other => Ok(other),
    };
    let Some(asked) = asked.map(str::trim).filter(|a| !a.is_empty()) else { return fits(p.sender.clone()) };
    if p.sender.as_deref() == Some(asked) {
        return fits(Some(asked.to_string()));
    }
    let region = &state.config.sms.default_region;
    let wanted = e164("from", asked, region).ok();
    let own = crate::db::repos::routing::did::all_of(conn, tenant).await?.into_iter().find(|d| {
        d.active
            && d.allow_outbound
            && (d.did == asked || (wanted.is_some() && e164("from", &d.did, region).ok() == wanted))
    });
    match own {
        Some(d) => fits(Some(d.did)),
        None => {
            Err(ServiceError::invalid("from", "must be the tenant's SMS sender or one of its active outbound DIDs"))
        }
    }
}

pub async fn send(
    state: &AppState,
    caller: &Caller,
    input: SendInput,
    idempotency_key: Option<String>,
) -> ServiceResult<(MessageView, bool)> {
    licenses::require_feature(state, "sms")?;
    let tenant = caller.tenant;
    let to = e164("to", &input.to, &state.config.sms.default_region)?;
    let content = input.content.trim().to_string();
    if content.is_empty() || content.chars().count() > 1600 {
        return Err(ServiceError::invalid("content", "must be 1 to 1600 characters"));
    }
    if let Some(k) = &idempotency_key {
        if k.is_empty() || k.len() > 100 || !k.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServiceError::invalid("Idempotency-Key", "must be 1 to 100 printable characters"));
        }
    }
    let mut conn = state.db.get().await?;
    if let Some(k) = &idempotency_key {
        if let Some(existing) = repo::by_idempotency_key(&mut conn, tenant, k).await? {
            return Ok((MessageView::from(existing), false));
        }
    }
    let p = provider(state, tenant).await?;
    let from = sender(&mut conn, state, tenant, &p, input.from.as_deref()).await?;
    rate_limit(state, tenant).await?;
    let new = NewSms {
        tenant_id: tenant.0,
        direction: "out".into(),
        partner: to.clone(),
        our_number: from.clone(),
        content: content.clone(),
        status: "queued".into(),
        provider_id: None,
        idempotency_key: idempotency_key.clone(),
        created_by: Some(caller.user.0),
    };
    // Stored before the provider is called; a concurrent twin with the same key loses here.
    let id = match repo::insert(&mut conn, &new).await {
        Ok(id) => id,
        Err(e) => match ServiceError::from(e) {
            ServiceError::Duplicate { .. } if idempotency_key.is_some() => {
                let k = idempotency_key.as_deref().unwrap_or_default();
                let existing = repo::by_idempotency_key(&mut conn, tenant, k).await?.ok_or(ServiceError::NotFound)?;
                return Ok((MessageView::from(existing), false));
            }
            other => return Err(other),
        },
    };
    let queued = MessageView::from(repo::find(&mut conn, tenant, id).await?);
    push(state, tenant, &queued);
    let t = repos::tenants::find(&mut conn, tenant).await?;
    drop(conn);
    let body = json!({
        "to": to, "from": from, "content": content,
        "dlr": "yes", "dlr-url": dlr_url(state, &t), "dlr-level": 3,
    });
    // In its own task: a client that goes away mid-call does not leave the message queued.
    let st = state.clone();
    let done = actix_web::rt::spawn(async move { call_provider(&st, tenant, id, &p, body).await })
        .await
        .map_err(|e| ServiceError::internal("sms send task", e))??;
    Ok((done, true))
}

/// Messages left `queued` (Mayday stopped mid-call, or the database went away after the
/// provider answered) are marked `failed` once they are clearly not in flight, at start and
/// every few minutes.
pub fn sweep_stale_queued(state: AppState) {
    actix::spawn(async move {
        let every = std::time::Duration::from_secs(300);
        let stale_after = chrono::Duration::from_std(state.config.sms.timeout.saturating_mul(2))
            .unwrap_or(chrono::Duration::MAX)
            .max(chrono::Duration::minutes(5));
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let before = chrono::Utc::now().naive_utc() - stale_after;
            let reason = "Mayday lost track of the provider call: the message may or may not have been sent";
            match state.db.get().await {
                Ok(mut conn) => match repo::fail_stale_queued(&mut conn, before, reason).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(messages = n, "SMS left queued were marked failed"),
                    Err(e) => tracing::warn!(error = %e, "could not sweep queued SMS"),
                },
                Err(e) => tracing::warn!(error = %e, "could not sweep queued SMS"),
            }
        }
    });
}

/// The longest provider id the table keeps.
const PROVIDER_ID_MAX: usize = 100;

/// Calls the provider for a stored `queued` message and records the outcome, then applies
/// a delivery report that came before the provider's answer did.
async fn call_provider(
    state: &AppState,
    tenant: TenantId,
    id: u64,
    p: &Provider,
    body: serde_json::Value,
) -> ServiceResult<MessageView> {
    let outcome = provider_send(state, p, body).await;
    let mut conn = state.db.get().await?;
    match &outcome {
        Ok(pid) if pid.len() <= PROVIDER_ID_MAX => {
            match repo::set_outcome(&mut conn, tenant, id, "sent", Some(pid), None).await.map_err(ServiceError::from) {
                Ok(()) => {}
                // The provider reused an id: the message went out, its reports cannot be matched.
                Err(ServiceError::Duplicate { .. }) => {
                    tracing::warn!(tenant.id = tenant.0, sms.id = id, "the provider reused a message id");
                    let note =
                        "sent, but the provider's message id is already taken: delivery reports cannot be matched";
                    repo::set_outcome(&mut conn, tenant, id, "sent", None, Some(note)).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(_) => {
            let note = "sent, but the provider's message id is too long: delivery reports cannot be matched";
            repo::set_outcome(&mut conn, tenant, id, "sent", None, Some(note)).await?;
        }
        Err(reason) => {
            tracing::warn!(tenant.id = tenant.0, sms.id = id, reason = %reason, "SMS send failed");
            repo::set_outcome(&mut conn, tenant, id, "failed", None, Some(reason)).await?;
        }
    }
    let mut message = repo::find(&mut conn, tenant, id).await?;
    drop(conn);
    if let Some(pid) = message.provider_id.clone() {
        if let Some(word) = take_early_report(state, tenant, &pid).await {
            apply_report(state, tenant, &message, &word).await?;
            let mut conn = state.db.get().await?;
            message = repo::find(&mut conn, tenant, id).await?;
        }
    }
    let done = MessageView::from(message);
    push(state, tenant, &done);
    Ok(done)
}

/// How long a report for a message whose provider id is not stored yet is kept.
const EARLY_REPORT_SECS: u64 = 300;

fn early_key(state: &AppState, tenant: TenantId, provider_id: &str) -> String {
    state.sessions.keys().key("sms_dlr_early", &format!("{}:{provider_id}", tenant.0))
}

/// Keeps a report that may have overtaken the provider's answer to the send.
async fn hold_early_report(state: &AppState, tenant: TenantId, provider_id: &str, word: &str) -> ServiceResult<()> {
    if provider_id.len() > PROVIDER_ID_MAX || word.len() > 32 {
        return Ok(());
    }
    let key = early_key(state, tenant, provider_id);
    redis_run(state, redis::cmd("SET").arg(key).arg(word).arg("EX").arg(EARLY_REPORT_SECS)).await
}

async fn take_early_report(state: &AppState, tenant: TenantId, provider_id: &str) -> Option<String> {
    redis_run(state, redis::cmd("GETDEL").arg(early_key(state, tenant, provider_id))).await.ok()?
}

/// Status ranks: a report moves a message forward only.
fn rank(status: &str) -> u8 {
    match status {
        "queued" => 0,
        "sent" => 1,
        "delivered" | "undelivered" | "failed" => 2,
        _ => 0,
    }
}

/// The outbound statuses a report to `status` may move a message from.
fn lower_than(status: &str) -> Vec<&'static str> {
    ["queued", "sent", "delivered", "undelivered", "failed"].into_iter().filter(|s| rank(s) < rank(status)).collect()
}

/// Applies a report's status word to a message, forward only (atomically: two reports
/// racing cannot move it backwards).
async fn apply_report(state: &AppState, tenant: TenantId, m: &SmsMessage, word: &str) -> ServiceResult<()> {
    let Some(status) = map_status(word) else {
        tracing::warn!(tenant.id = tenant.0, status = %word, "delivery report with an unknown status; ignored");
        return Ok(());
    };
    let error = (status != "delivered" && status != "sent").then(|| format!("provider status {word}"));
    let mut conn = state.db.get().await?;
    if !repo::advance_status(&mut conn, tenant, m.id, &lower_than(status), status, error.as_deref()).await? {
        tracing::debug!(sms.id = m.id, to = status, "late or repeated delivery report; the message keeps its status");
        return Ok(());
    }
    let view = MessageView::from(repo::find(&mut conn, tenant, m.id).await?);
    push(state, tenant, &view);
    Ok(())
}

/// The provider's status words (SMPP-style or plain) in Mayday's.
pub fn map_status(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_uppercase().as_str() {
        "DELIVRD" | "DELIVERED" | "1" => Some("delivered"),
        "UNDELIV" | "UNDELIVERED" | "EXPIRED" | "REJECTD" | "REJECTED" | "2" | "16" => Some("undelivered"),
        "FAILED" | "ERROR" => Some("failed"),
        "SENT" | "ACCEPTD" | "ACCEPTED" | "BUFFERED" | "ENROUTE" | "4" | "8" => Some("sent"),
        _ => None,
    }
}

/// Finds the tenant of a webhook and checks its secret.
async fn webhook_tenant(state: &AppState, slug: &str, secret: &str) -> ServiceResult<TenantId> {
    let mut conn = state.db.get().await?;
    let t = repos::tenants::find_by_slug(&mut conn, slug).await?.ok_or(ServiceError::Unauthorized)?;
    let id = TenantId(t.id);
    if !state.secrets.verify(&format!("sms-dlr:{}", t.id), secret) {
        return Err(ServiceError::Unauthorized);
    }
    Ok(id)
}

/// A delivery report. Unknown ids and unknown status words change nothing (200).
pub async fn delivery_report(
    state: &AppState,
    slug: &str,
    secret: &str,
    report: &serde_json::Value,
) -> ServiceResult<()> {
    let tenant = webhook_tenant(state, slug, secret).await?;
    let field = |keys: &[&str]| {
        keys.iter().find_map(|k| match report.get(*k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let (Some(pid), Some(word)) =
        (field(&["message_id", "messageId", "id", "msgid"]), field(&["status", "stat", "dlr_status"]))
    else {
        tracing::warn!(tenant.id = tenant.0, "delivery report without a message id or status; ignored");
        return Ok(());
    };
    if map_status(&word).is_none() {
        tracing::warn!(tenant.id = tenant.0, status = %word, "delivery report with an unknown status; ignored");
        return Ok(());
    }
    let mut conn = state.db.get().await?;
    let Some(m) = repo::by_provider_id(&mut conn, tenant, "out", &pid).await? else {
        // A send still waiting for the provider's answer may be what this report is about:
        // it is kept a few minutes for that send to pick up. Otherwise nothing changes.
        if repo::has_queued(&mut conn, tenant).await? {
            hold_early_report(state, tenant, &pid, &word).await?;
            tracing::info!(tenant.id = tenant.0, provider_id = %pid, "delivery report ahead of the provider's answer; held");
            // The send may have stored its id between the lookup and the hold: whichever
            // side takes the held report applies it.
            if let Some(m) = repo::by_provider_id(&mut conn, tenant, "out", &pid).await? {
                drop(conn);
                if let Some(word) = take_early_report(state, tenant, &pid).await {
                    apply_report(state, tenant, &m, &word).await?;
                }
            }
        } else {
            tracing::warn!(tenant.id = tenant.0, provider_id = %pid, "delivery report for an unknown message; ignored");
        }
        return Ok(());
    };
    drop(conn);
    apply_report(state, tenant, &m, &word).await
}

/// A message to the tenant (the provider's MO webhook), stored as `received`.
pub async fn inbound(
    state: &AppState,
    slug: &str,
    secret: &str,
    msg: &serde_json::Value,
) -> ServiceResult<MessageView> {
    let tenant = webhook_tenant(state, slug, secret).await?;
    let text = |keys: &[&str]| keys.iter().find_map(|k| msg.get(*k)?.as_str().map(str::to_string));
    let from = text(&["from", "sender", "msisdn"]).ok_or_else(|| ServiceError::invalid("from", "is required"))?;
    let content =
        text(&["content", "text", "message"]).ok_or_else(|| ServiceError::invalid("content", "is required"))?;
    let from = partner("from", &from, &state.config.sms.default_region)?;
    let to = text(&["to", "recipient"]).map(|t| t.chars().take(20).collect());
    let new = NewSms {
        tenant_id: tenant.0,
        direction: "in".into(),
        partner: from,
        our_number: to,
        content: content.chars().take(1600).collect(),
        status: "received".into(),
        provider_id: text(&["id", "message_id"]).map(|i| format!("in:{i}")),
        idempotency_key: None,
        created_by: None,
    };
    let mut conn = state.db.get().await?;
    let id = match repo::insert(&mut conn, &new).await {
        Ok(id) => id,
        // The provider sent the same message twice.
        Err(e) => match ServiceError::from(e) {
            ServiceError::Duplicate { .. } => {
                let pid = new.provider_id.as_deref().unwrap_or_default();
                let m = repo::by_provider_id(&mut conn, tenant, "in", pid).await?.ok_or(ServiceError::NotFound)?;
                return Ok(MessageView::from(m));
            }
            other => return Err(other),
        },
    };
    let view = MessageView::from(repo::find(&mut conn, tenant, id).await?);
    push(state, tenant, &view);
    Ok(view)
}

pub async fn conversations(state: &AppState, caller: &Caller, page: Page) -> ServiceResult<Paged<MessageView>> {
    let mut conn = state.db.get().await?;
    Ok(repo::conversations(&mut conn, caller.tenant, page).await?.map(MessageView::from))
}

pub async fn conversation(
    state: &AppState,
    caller: &Caller,
    phone: &str,
    page: Page,
) -> ServiceResult<Paged<MessageView>> {
    let partner = partner("phone", phone, &state.config.sms.default_region)?;
    let mut conn = state.db.get().await?;
    Ok(repo::with_partner(&mut conn, caller.tenant, &partner, page).await?.map(MessageView::from))
}

#[derive(Debug, Serialize)]
pub struct SmsBalance {
    pub amount: f64,
    pub currency: Option<String>,
}

pub async fn balance(state: &AppState, caller: &Caller) -> ServiceResult<SmsBalance> {
    require(caller, Role::Admin)?;
    let p = provider(state, caller.tenant).await?;
    let req = provider_request(state, &p, awc::http::Method::GET, "/balance").map_err(ServiceError::Upstream)?;
    let res = req.send().await.map_err(|e| ServiceError::Upstream(crate::outbound::describe(&e)))?;
    let body = crate::outbound::answer(res, 64 * 1024).await.map_err(ServiceError::Upstream)?;
    let (amount, currency) = crate::services::balance::parse_answer(&String::from_utf8_lossy(&body))
        .ok_or_else(|| ServiceError::Upstream("the provider's answer holds no balance".into()))?;
    Ok(SmsBalance { amount, currency })
}

#[derive(Debug, Serialize)]
pub struct ProviderView {
    pub name: &'static str,
    pub description: &'static str,
    pub configured: bool,
    pub source: &'static str,
}

pub async fn providers(state: &AppState, caller: &Caller) -> ServiceResult<Vec<ProviderView>> {
    require(caller, Role::Admin)?;
    let p = provider(state, caller.tenant).await?;
    Ok(vec![ProviderView {
        name: "http",
        description: "HTTP JSON API: POST {base}/send, GET {base}/balance, delivery reports to /api/sms/dlr",
        configured: p.base_url.is_some(),
        source: p.source,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_e164() {
        assert_eq!(e164("to", "0772 123456", "UG").expect("national"), "+256772123456");
        assert_eq!(e164("to", "+254 712 345678", "UG").expect("international"), "+254712345678");
        assert!(e164("to", "12", "UG").is_err());
        assert!(e164("to", "not a number", "UG").is_err());
    }

    #[test]
    fn reports_only_move_forward() {
        assert!(rank("delivered") > rank("sent") && rank("sent") > rank("queued"));
        assert_eq!(map_status("DELIVRD"), Some("delivered"));
        assert_eq!(map_status("undeliv"), Some("undelivered"));
        assert_eq!(map_status("whatever"), None);
        assert_eq!(provider_id(&json!({"data": {"message_id": 42}})), Some("42".into()));
    }
}

//! Licensing: the installed licence and what it allows now, its refresh from the licence
//! server (renewals, revocations, a grace period when the server is away), and the seats
//! agent consoles and softphones take after login.
//!
//! Licensing never drops a live call or stops the wallboard: an expired or revoked licence
//! only stops new seats (and features that need one).

use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::repos::{self, licenses as repo};
use crate::domain::{Caller, Role, TenantId};
use crate::license::{self, Effective, License, Revocations, SEAT_FEATURES};
use crate::seats::{Seat, SeatInfo, Taken};
use crate::services::audit::{self, Change};
use crate::services::{require, ServiceError, ServiceResult};
use crate::state::AppState;

type Time = chrono::DateTime<chrono::Utc>;

/// What the process knows of its licence (loaded from MariaDB, refreshed by install and
/// sync).
#[derive(Default)]
pub struct Book {
    inner: RwLock<Known>,
}

#[derive(Clone, Default)]
struct Known {
    installation_id: String,
    license: Option<License>,
    installed_at: Option<Time>,
    revoked: Vec<String>,
    last_sync_ok: Option<Time>,
    last_sync_error: Option<String>,
}

fn utc(t: chrono::NaiveDateTime) -> Time {
    t.and_utc()
}

impl Book {
    /// What is allowed now.
    pub fn effective(&self, state: &AppState) -> Effective {
        let k = self.inner.read().clone();
        let grace_until = state.config.license.server_url.as_ref().map(|_| {
            let since = k.last_sync_ok.or(k.installed_at).unwrap_or_else(chrono::Utc::now);
            since + chrono::Duration::from_std(state.config.license.grace).unwrap_or(chrono::Duration::days(7))
        });
        license::effective(&license::Check {
            license: k.license.as_ref(),
            revoked: &k.revoked,
            installation_id: &k.installation_id,
            development: !state.config.is_production(),
            grace_until,
            now: chrono::Utc::now(),
        })
    }

    pub fn installation_id(&self) -> String {
        self.inner.read().installation_id.clone()
    }
}

fn public_key(state: &AppState) -> ServiceResult<ed25519_dalek::VerifyingKey> {
    let key = state
        .config
        .license
        .public_key
        .as_deref()
        .ok_or_else(|| ServiceError::invalid("license", license::LicenseError::NoKey.to_string()))?;
    license::verifying_key(key).map_err(|e| ServiceError::internal("LICENSE_PUBLIC_KEY", e))
}

/// Reads the licence state from MariaDB into the book.
pub async fn reload(state: &AppState) -> ServiceResult<()> {
    let mut conn = state.db.get().await?;
    let installation_id = repo::installation_id(&mut conn).await?;
    let row = repo::state(&mut conn).await?;
    drop(conn);
    // A stored document that no longer verifies (another vendor key) counts as none.
    let license = match (&row.document, public_key(state)) {
        (Some(doc), Ok(key)) => match license::open::<License>(&key, doc) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "the installed licence does not verify; it is ignored");
                None
            }
        },
        _ => None,
    };
    let known = Known {
        installation_id,
        license,
        installed_at: row.installed_at.map(utc),
        revoked: serde_json::from_str(&row.revoked).unwrap_or_default(),
        last_sync_ok: row.last_sync_ok_at.map(utc),
        last_sync_error: row.last_sync_error,
    };
    *state.licenses.inner.write() = known;
    Ok(())
}

/// At start: the installation id, the stored licence, `LICENSE_FILE`, and the sync loop.
pub async fn start(state: &AppState) {
    if let Some(path) = state.config.license.file.clone() {
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => {
                if let Err(e) = install(state, None, &text).await {
                    tracing::error!(file = %path.display(), error = %e, "LICENSE_FILE was not installed");
                }
            }
            Err(e) => tracing::error!(file = %path.display(), error = %e, "cannot read LICENSE_FILE"),
        }
    }
    if let Err(e) = reload(state).await {
        tracing::warn!(error = %e, "could not read the licence state; the fallback limits apply until it can be read");
    }
    let e = state.licenses.effective(state);
    tracing::info!(source = ?e.source, seats = e.seats, webrtc_seats = e.webrtc_seats, licence = ?e.license_id, problem = ?e.problem, "licence in force");
    if state.config.license.server_url.is_some() {
        let st = state.clone();
        actix::spawn(async move {
            let mut tick = tokio::time::interval(st.config.license.sync_interval);
            loop {
                tick.tick().await;
                if let Err(e) = sync(&st).await {
                    tracing::warn!(error = %e, "licence server sync failed; the last licence stands within the grace period");
                }
            }
        });
    }
}

/// Verifies and installs a licence (CLI, `LICENSE_FILE`, the sync).
pub async fn install(state: &AppState, caller: Option<&Caller>, text: &str) -> ServiceResult<License> {
    let key = public_key(state)?;
    let l: License = license::open(&key, text).map_err(|e| ServiceError::invalid("license", e.to_string()))?;
    let mut conn = state.db.get().await?;
    let installation = repo::installation_id(&mut conn).await?;
    if l.installation_id.as_deref().is_some_and(|i| i != installation) {
        return Err(ServiceError::invalid(
            "license",
            format!("is bound to another installation (this one is {installation})"),
        ));
    }
    repo::install(&mut conn, text.trim(), chrono::Utc::now().naive_utc()).await?;
    let change = Change {
        tenant: None,
        action: "install",
        entity: "license",
        entity_id: Some(l.id.clone()),
        detail: Some(json!({"organisation": l.organisation, "seats": l.seats, "expires_at": l.expires_at})),
    };
    audit::record(&mut conn, caller, change).await?;
    drop(conn);
    reload(state).await?;
    tracing::info!(licence = %l.id, seats = l.seats, expires = %l.expires_at, "licence installed");
    Ok(l)
}

/// Asks the licence server for this installation's licence and the revocation list.
pub async fn sync(state: &AppState) -> ServiceResult<()> {
    let Some(base) = state.config.license.server_url.clone() else {
        return Err(ServiceError::invalid("license", "no licence server is configured (LICENSE_SERVER_URL)"));
    };
    let result = fetch(state, &base).await;
    let mut conn = state.db.get().await?;
    match result {
        Ok((doc, revocations)) => {
            // A served licence that does not verify or is another installation's never
            // replaces the installed one; the revocations apply either way.
            let mut problem = None;
            if let Some(doc) = doc {
                let current = state.licenses.inner.read().license.clone();
                let key = public_key(state)?;
                match license::open::<License>(&key, &doc) {
                    Ok(fetched)
                        if fetched
                            .installation_id
                            .as_deref()
                            .is_some_and(|i| i != state.licenses.installation_id()) =>
                    {
                        problem = Some("the licence server served a licence bound to another installation".to_string());
                    }
                    // Only a newer licence replaces the installed one.
                    Ok(fetched) => {
                        if current.as_ref().is_none_or(|c| fetched.issued_at >= c.issued_at) {
                            repo::install(&mut conn, &doc, chrono::Utc::now().naive_utc()).await?;
                        }
                    }
                    Err(e) => problem = Some(format!("the licence the licence server served does not verify: {e}")),
                }
            }
            let revoked = serde_json::to_string(&revocations.revoked).unwrap_or_default();
            match &problem {
                None => repo::sync_ok(&mut conn, &revoked, chrono::Utc::now().naive_utc()).await?,
                Some(p) => {
                    tracing::warn!(problem = %p, "licence server sync");
                    repo::set_revoked(&mut conn, &revoked).await?;
                    repo::sync_failed(&mut conn, p).await?;
                }
            }
            drop(conn);
            reload(state).await?;
            match problem {
                Some(p) => Err(ServiceError::Upstream(p)),
                None => Ok(()),
            }
        }
        Err(reason) => {
            repo::sync_failed(&mut conn, &reason).await?;
            drop(conn);
            reload(state).await?;
            Err(ServiceError::Unavailable("licence server"))
        }
    }
}

/// `GET {base}/licenses/{installation}` (404: none for us) and `GET {base}/revocations`,
/// both signed by the vendor.
async fn fetch(state: &AppState, base: &str) -> Result<(Option<String>, Revocations), String> {
    let client = state.outbound.client(std::time::Duration::from_secs(10), None);
    let installation = state.licenses.installation_id();
    let mut res = client
        .get(format!("{base}/licenses/{installation}"))
        .send()
        .await
        .map_err(|e| crate::outbound::describe(&e))?;
    let doc = match res.status().as_u16() {
        200 => {
            Some(String::from_utf8_lossy(&res.body().limit(64 * 1024).await.map_err(|e| e.to_string())?).into_owned())
        }
        404 => None,
        s => return Err(format!("the licence server answered {s}")),
    };
    let mut res = client.get(format!("{base}/revocations")).send().await.map_err(|e| crate::outbound::describe(&e))?;
    if res.status().as_u16() != 200 {
        return Err(format!("the licence server answered {} for the revocation list", res.status().as_u16()));
    }
    let body = res.body().limit(1024 * 1024).await.map_err(|e| e.to_string())?;
    let key = public_key(state).map_err(|e| e.to_string())?;
    let revocations: Revocations =
        license::open(&key, &String::from_utf8_lossy(&body)).map_err(|e| format!("revocation list: {e}"))?;
    Ok((doc, revocations))
}

/// `GET /api/licenses/current`.
#[derive(Debug, Serialize)]
pub struct CurrentView {
    #[serde(flatten)]
    pub effective: Effective,
    /// True for the development fallback (clients show it).
    pub development: bool,
    /// Installation-wide details (the id, the licence server and its errors) are shown to
    /// superadmins only; a tenant admin sees the licence and their tenant's seats.
    pub installation_id: Option<String>,
    /// The installed document, when there is one (also when it is not in force).
    pub installed: Option<License>,
    pub revoked: bool,
    pub license_server: Option<String>,
    pub last_sync_at: Option<Time>,
    pub last_sync_error: Option<String>,
    pub seats_in_use: u64,
    pub webrtc_seats_in_use: u64,
}

pub async fn current(state: &AppState, caller: &Caller) -> ServiceResult<CurrentView> {
    require(caller, Role::Admin)?;
    let k = state.licenses.inner.read().clone();
    let effective = state.licenses.effective(state);
    let platform = caller.role.at_least(Role::Superadmin);
    let scope = (!platform).then_some(caller.tenant.0);
    Ok(CurrentView {
        development: effective.source == license::Source::Development,
        installation_id: platform.then_some(k.installation_id),
        revoked: k.license.as_ref().is_some_and(|l| k.revoked.contains(&l.id)),
        installed: k.license.map(|mut l| {
            if !platform {
                l.installation_id = None;
            }
            l
        }),
        license_server: state.config.license.server_url.clone().filter(|_| platform),
        last_sync_at: k.last_sync_ok,
        last_sync_error: k.last_sync_error.filter(|_| platform),
        seats_in_use: state.seats.count("agent", scope).await?,
        webrtc_seats_in_use: state.seats.count("webrtc", scope).await?,
        effective,
    })
}

#[derive(Debug, Serialize)]
pub struct FeatureView {
    pub feature: String,
    pub enabled: bool,
}

/// `GET /api/licenses/features`: every feature and whether the licence in force has it.
pub fn features(state: &AppState) -> Vec<FeatureView> {
    let e = state.licenses.effective(state);
    license::FEATURES.iter().map(|f| FeatureView { feature: f.to_string(), enabled: e.has(f) }).collect()
}

/// Refuses what the licence in force does not include.
pub fn require_feature(state: &AppState, feature: &str) -> ServiceResult<()> {
    let e = state.licenses.effective(state);
    if e.has(feature) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "the licence does not include {feature}{}",
            e.problem.map(|p| format!(" ({p})")).unwrap_or_default()
        )))
    }
}

fn check_feature(f: &str) -> ServiceResult<&'static str> {
    SEAT_FEATURES
        .iter()
        .find(|s| **s == f)
        .copied()
        .ok_or_else(|| ServiceError::invalid("feature", "must be agent or webrtc"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatRequest {
    pub feature: String,
    /// What the client is (shown to admins): `console`, `softphone`, `chrome-extension`.
    #[serde(default)]
    pub client: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SeatGrant {
    pub feature: String,
    pub expires_at_ms: i64,
    /// How often to send a heartbeat.
    pub heartbeat_secs: u64,
}

/// Takes (or renews) a seat for the caller's session: the explicit call consoles and
/// softphones make after login. A webrtc seat needs an agent seat too.
pub async fn take_seat(state: &AppState, caller: &Caller, req: SeatRequest) -> ServiceResult<SeatGrant> {
    let feature = check_feature(&req.feature)?;
    let e = state.licenses.effective(state);
    if feature == "webrtc" && !e.has("webrtc") {
        return Err(ServiceError::Forbidden("licence limit: the licence does not include webrtc".into()));
    }
    if feature == "webrtc" && !state.seats.holds("agent", &caller.session, caller.tenant.0).await? {
        return Err(ServiceError::Forbidden("a webrtc seat needs this session's agent seat first".into()));
    }
    let client = req.client.map(|c| c.chars().filter(|c| !c.is_control()).take(40).collect::<String>());
    let mut conn = state.db.get().await?;
    let user = repos::users::find(&mut conn, caller.tenant, caller.user).await?;
    let tenant_limit = repo::allocation(&mut conn, caller.tenant, feature).await?;
    drop(conn);
    let info = SeatInfo {
        user_id: caller.user.0,
        username: user.username,
        tenant_id: caller.tenant.0,
        since: chrono::Utc::now().timestamp_millis(),
        client,
    };
    let ttl = state.config.license.seat_ttl;
    let limit = e.limit(feature);
    let taken = state.seats.take(feature, &caller.session, &info, limit, tenant_limit, ttl).await?;
    let which = e
        .license_id
        .clone()
        .map(|l| format!("licence {l}"))
        .unwrap_or_else(|| format!("{:?} limits", e.source).to_lowercase());
    match taken {
        Taken::New | Taken::Renewed => Ok(SeatGrant {
            feature: feature.to_string(),
            expires_at_ms: chrono::Utc::now().timestamp_millis() + i64::try_from(ttl.as_millis()).unwrap_or(90_000),
            heartbeat_secs: (ttl.as_secs() / 3).max(1),
        }),
        Taken::LicenceFull => Err(ServiceError::Forbidden(format!(
            "licence limit: all {limit} {feature} seats of the {which} are in use{}",
            e.problem.map(|p| format!(" ({p})")).unwrap_or_default()
        ))),
        Taken::TenantFull => Err(ServiceError::Forbidden(format!(
            "licence limit: all {} {feature} seats given to this tenant are in use",
            tenant_limit.unwrap_or(0)
        ))),
    }
}

/// A heartbeat; a seat that expired (or an admin ended) must be taken again.
pub async fn heartbeat(state: &AppState, caller: &Caller, feature: &str) -> ServiceResult<SeatGrant> {
    let feature = check_feature(feature)?;
    let ttl = state.config.license.seat_ttl;
    if !state.seats.renew(feature, &caller.session, caller.tenant.0, ttl).await? {
        return Err(ServiceError::NotFound);
    }
    Ok(SeatGrant {
        feature: feature.to_string(),
        expires_at_ms: chrono::Utc::now().timestamp_millis() + i64::try_from(ttl.as_millis()).unwrap_or(90_000),
        heartbeat_secs: (ttl.as_secs() / 3).max(1),
    })
}

pub async fn release(state: &AppState, caller: &Caller, feature: &str) -> ServiceResult<()> {
    let feature = check_feature(feature)?;
    state.seats.release(feature, &caller.session, caller.tenant.0).await?;
    Ok(())
}

/// Frees every seat of a session (logout, ended sessions).
pub async fn release_session(state: &AppState, session: &str) {
    for f in SEAT_FEATURES {
        if let Err(e) = state.seats.release_session(f, session).await {
            tracing::warn!(error = %e, "could not free a seat; it expires on its own");
        }
    }
}

/// The tenant's seat sessions (admins).
pub async fn sessions(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<Vec<Seat>> {
    require(caller, Role::Admin)?;
    let mut out = Vec::new();
    for f in SEAT_FEATURES {
        out.extend(state.seats.list(f, tenant.0).await?);
    }
    Ok(out)
}

/// Ends a seat session of the tenant (its client must take a seat again).
pub async fn end_session(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    feature: &str,
    session: &str,
) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let feature = check_feature(feature)?;
    match state.seats.info(feature, session).await? {
        Some(info) if info.tenant_id == tenant.0 => {
            state.seats.release(feature, session, tenant.0).await?;
            let mut conn = state.db.get().await?;
            let change = Change {
                tenant: Some(tenant),
                action: "end_seat",
                entity: "license_seat",
                entity_id: Some(feature.to_string()),
                detail: Some(json!({"user_id": info.user_id})),
            };
            audit::record(&mut conn, Some(caller), change).await?;
            Ok(())
        }
        _ => Err(ServiceError::NotFound),
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    pub tenant_id: u64,
    pub feature: String,
    /// `null` removes the tenant's own cap.
    pub seats: Option<u32>,
}

pub async fn allocations(state: &AppState, caller: &Caller) -> ServiceResult<Vec<Allocation>> {
    require(caller, Role::Superadmin)?;
    let mut conn = state.db.get().await?;
    Ok(repo::allocations(&mut conn)
        .await?
        .into_iter()
        .map(|(t, f, s)| Allocation { tenant_id: t, feature: f, seats: Some(s) })
        .collect())
}

/// Splits the licence's seats: a tenant may take at most `seats` of a feature.
pub async fn set_allocation(state: &AppState, caller: &Caller, a: Allocation) -> ServiceResult<Allocation> {
    require(caller, Role::Superadmin)?;
    let feature = check_feature(&a.feature)?;
    let e = state.licenses.effective(state);
    if a.seats.is_some_and(|s| s > e.limit(feature)) {
        return Err(ServiceError::invalid("seats", format!("the licence has {} {feature} seats", e.limit(feature))));
    }
    let mut conn = state.db.get().await?;
    repos::tenants::find(&mut conn, TenantId(a.tenant_id)).await.map_err(|err| match err {
        diesel::result::Error::NotFound => ServiceError::invalid("tenant_id", "no such tenant"),
        other => other.into(),
    })?;
    repo::set_allocation(&mut conn, TenantId(a.tenant_id), feature, a.seats).await?;
    let change = Change {
        tenant: Some(TenantId(a.tenant_id)),
        action: "allocate_seats",
        entity: "license",
        entity_id: Some(feature.to_string()),
        detail: Some(json!({"seats": a.seats})),
    };
    audit::record(&mut conn, Some(caller), change).await?;
    Ok(a)
}

/// For the `Arc` in `AppState`.
pub fn new_book() -> Arc<Book> {
    Arc::new(Book::default())
}

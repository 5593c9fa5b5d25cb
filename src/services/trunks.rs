//! A tenant's PJSIP trunks (admins): an endpoint with its aor (the provider's contact), an
//! outbound auth, an optional outbound registration and an identify-by-IP row, all named
//! `<name prefix><name>` and written with Mayday's `trunks` row in one transaction.
//!
//! The provider password is write-only: Mayday keeps it encrypted; Asterisk needs it in
//! `ps_auths.password` to answer the provider's challenge (the provider's realm is not
//! known in advance, so `md5_cred` cannot be used). It never appears in a response or log.
//!
//! Endpoints, aors and auths apply at Asterisk's next lookup; registrations are read when
//! res_pjsip_outbound_registration loads, so after a change Mayday sends
//! `Reload Module: res_pjsip_outbound_registration.so`.

use diesel_async::AsyncConnection;
use mayday_actors::ami::action;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::asterisk::{self as rt, Aor, Auth, Endpoint, Identify, Registration};
use crate::db::models::{Tenant, Trunk, TrunkFields};
use crate::db::repos;
use crate::db::{Page, Paged};
use crate::domain::{Caller, Role, TenantId};
use crate::ip_range::IpRange;
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, Used};
use crate::services::users::double_option;
use crate::services::{live, require, telephony, validate, ServiceError, ServiceResult};
use crate::state::AppState;

pub const REGISTRATION_MODULE: &str = "res_pjsip_outbound_registration.so";

#[derive(Clone, Debug, Serialize)]
pub struct TrunkView {
    pub id: u64,
    pub name: String,
    /// The Asterisk endpoint id (`Dial(PJSIP/<number>@<endpoint>)`).
    pub endpoint: String,
    pub host: String,
    pub port: u32,
    pub transport: String,
    pub username: Option<String>,
    /// The password itself is never shown.
    pub has_secret: bool,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    pub send_pai: bool,
    pub send_rpid: bool,
    pub codecs: Vec<String>,
    pub register: bool,
    pub match_ips: Vec<String>,
    pub account_number: Option<String>,
    pub enabled: bool,
    /// The trunk agents' calls leave through unless a route names others.
    pub is_default: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl From<Trunk> for TrunkView {
    fn from(t: Trunk) -> Self {
        TrunkView {
            id: t.id,
            name: t.name,
            endpoint: t.endpoint,
            host: t.host,
            port: t.port,
            transport: t.transport,
            username: t.username,
            has_secret: t.secret_enc.is_some(),
            from_user: t.from_user,
            from_domain: t.from_domain,
            send_pai: t.send_pai,
            send_rpid: t.send_rpid,
            codecs: t.codecs.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
            register: t.register,
            match_ips: t
                .match_ips
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            account_number: t.account_number,
            enabled: t.enabled,
            is_default: t.is_default,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A trunk as the API takes it; on update absent fields stay and `null` clears.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkInput {
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<u32>,
    pub transport: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub username: Option<Option<String>>,
    /// Write-only.
    #[serde(default, deserialize_with = "double_option")]
    pub secret: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub from_user: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub from_domain: Option<Option<String>>,
    pub send_pai: Option<bool>,
    pub send_rpid: Option<bool>,
    pub codecs: Option<Vec<String>>,
    pub register: Option<bool>,
    pub match_ips: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub account_number: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub is_default: Option<bool>,
}

impl std::fmt::Debug for TrunkInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkInput").field("name", &self.name).field("host", &self.host).finish_non_exhaustive()
    }
}

/// Trunk names start with a letter (agents' endpoints are digits, so they never collide).
fn trunk_name(v: &str) -> ServiceResult<String> {
    let v = v.trim();
    let ok = (1..=40).contains(&v.len())
        && v.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        return Err(ServiceError::invalid(
            "name",
            "must be 1 to 40 lowercase letters, digits, - or _, starting with a letter",
        ));
    }
    Ok(v.to_string())
}

/// SIP user parts: what a provider account or caller id user looks like.
fn sip_user(field: &str, v: Option<&str>) -> ServiceResult<Option<String>> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.len() > 40 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'*')) {
        return Err(ServiceError::invalid(field, "must be up to 40 letters, digits or - _ . + *"));
    }
    Ok(Some(v.to_string()))
}

fn secret(v: Option<&str>) -> ServiceResult<Option<String>> {
    let Some(v) = v.filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.len() > 80 || !v.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b'"' | b'\\')) {
        return Err(ServiceError::invalid("secret", "must be up to 80 printable characters without ; \" or \\"));
    }
    Ok(Some(v.to_string()))
}

/// IPs or CIDRs the provider calls from: narrow ones only (/24 or longer for IPv4, /48 for
/// IPv6), since calls from them are taken without a challenge.
fn match_ips(list: &[String]) -> ServiceResult<String> {
    if list.len() > 16 {
        return Err(ServiceError::invalid("match_ips", "must list at most 16 addresses"));
    }
    let mut out = Vec::new();
    for raw in list {
        let v = raw.trim();
        if IpRange::parse(v).is_none() {
            return Err(ServiceError::invalid("match_ips", format!("{v:?} is not an IP address or CIDR")));
        }
        if let Some((ip, bits)) = v.split_once('/') {
            let min = if ip.contains(':') { 48 } else { 24 };
            if bits.parse::<u32>().is_ok_and(|b| b < min) {
                return Err(ServiceError::invalid("match_ips", format!("{v:?} is too broad (at least /{min})")));
            }
        }
        out.push(v.to_string());
    }
    Ok(out.join(","))
}

/// What Asterisk identifies a trunk's calls by (`ps_endpoint_id_ips`): its `match_ips`, else
/// its host when it does not register.
fn identified_by<'a>(match_ips: Option<&'a str>, host: &'a str, register: bool) -> Vec<&'a str> {
    match match_ips {
        Some(m) => m.split(',').filter(|s| !s.is_empty()).collect(),
        None if !register => vec![host],
        None => Vec::new(),
    }
}

/// A trunk must not be identified by what another tenant's trunk is identified by (calls
/// from there would land in the wrong tenant), nor by this machine's own addresses (every
/// call the PBX makes to itself would be the trunk's).
async fn check_identify_free(conn: &mut repos::Conn, tenant: TenantId, f: &TrunkFields) -> ServiceResult<()> {
    let field = if f.match_ips.is_some() { "match_ips" } else { "host" };
    let mine = identified_by(f.match_ips.as_deref(), &f.host, f.register);
    if mine.is_empty() {
        return Ok(());
    }
    for m in &mine {
        let own = match m.split_once('/').map_or(*m, |(ip, _)| ip).parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
            Err(_) => m.eq_ignore_ascii_case("localhost") || m.to_ascii_lowercase().ends_with(".localhost"),
        };
        if own {
            return Err(ServiceError::invalid(field, format!("{m:?} is this machine's own address")));
        }
    }
    for (match_ips, host, register) in repos::trunks::identify_of_others(conn, tenant).await? {
        for theirs in identified_by(match_ips.as_deref(), &host, register) {
            let clash = mine.iter().any(|m| match (IpRange::parse(m), IpRange::parse(theirs)) {
                (Some(a), Some(b)) => a.overlaps(&b),
                (None, None) => m.eq_ignore_ascii_case(theirs),
                _ => false,
            });
            if clash {
                return Err(ServiceError::invalid(field, "overlaps addresses another tenant's trunk is identified by"));
            }
        }
    }
    Ok(())
}

struct Prepared {
    fields: TrunkFields,
    secret: Option<String>,
}

fn prepare(state: &AppState, tenant: &Tenant, current: Option<&Trunk>, input: TrunkInput) -> ServiceResult<Prepared> {
    let name = match (input.name.as_deref(), current) {
        (Some(n), _) => trunk_name(n)?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(ServiceError::invalid("name", "is required")),
    };
    let host = match (input.host.as_deref(), current) {
        (Some(h), _) if h.trim().len() > 80 => {
            return Err(ServiceError::invalid("host", "must be at most 80 characters"))
        }
        (Some(h), _) => validate::hostname("host", h)?,
        (None, Some(c)) => c.host.clone(),
        (None, None) => return Err(ServiceError::invalid("host", "is required")),
    };
    let port = input.port.or(current.map(|c| c.port)).unwrap_or(5060);
    if !(1..=65535).contains(&port) {
        return Err(ServiceError::invalid("port", "must be 1 to 65535"));
    }
    let transport = input
        .transport
        .as_deref()
        .map(|t| t.trim().to_ascii_lowercase())
        .or(current.map(|c| c.transport.clone()))
        .unwrap_or_else(|| "udp".into());
    // The transports of asterisk/pjsip.conf (transport-udp, transport-tcp).
    if !["udp", "tcp"].contains(&transport.as_str()) {
        return Err(ServiceError::invalid("transport", "must be udp or tcp"));
    }
    let pick = |a: Option<Option<String>>, c: Option<Option<String>>| a.unwrap_or(c.flatten());
    let username = sip_user("username", pick(input.username, current.map(|c| c.username.clone())).as_deref())?;
    let from_user = sip_user("from_user", pick(input.from_user, current.map(|c| c.from_user.clone())).as_deref())?;
    let from_domain = match pick(input.from_domain, current.map(|c| c.from_domain.clone())) {
        Some(d) if d.trim().len() > 40 => {
            return Err(ServiceError::invalid("from_domain", "must be at most 40 characters"))
        }
        Some(d) if !d.trim().is_empty() => Some(validate::hostname("from_domain", &d)?),
        _ => None,
    };
    let (secret_plain, secret_enc) = match input.secret {
        Some(s) => {
            let s = secret(s.as_deref())?;
            (s.clone(), s.map(|s| state.secrets.seal(&s)))
        }
        None => {
            let enc = current.and_then(|c| c.secret_enc.clone());
            let plain = match &enc {
                Some(e) => Some(state.secrets.open(e).map_err(|e| ServiceError::internal("trunk secret", e))?),
                None => None,
            };
            (plain, enc)
        }
    };
    let codecs = match (&input.codecs, current) {
        (Some(list), _) => telephony::codecs(Some(list), telephony::Profile::Deskphone)?,
        (None, Some(c)) => c.codecs.split(',').map(str::to_string).collect(),
        (None, None) => vec!["ulaw".into(), "alaw".into()],
    };
    let ips = match (&input.match_ips, current) {
        (Some(list), _) => match_ips(list)?,
        (None, Some(c)) => c.match_ips.clone().unwrap_or_default(),
        (None, None) => String::new(),
    };
    let register = input.register.or(current.map(|c| c.register)).unwrap_or(false);
    if register && (username.is_none() || secret_plain.is_none()) {
        return Err(ServiceError::invalid("register", "needs a username and a secret"));
    }
    let account_number = match pick(input.account_number, current.map(|c| c.account_number.clone())) {
        Some(a) => validate::optional_text("account_number", Some(&a), 64)?,
        None => None,
    };
    let endpoint = telephony::object_id(tenant, &name);
    Ok(Prepared {
        fields: TrunkFields {
            tenant_id: tenant.id,
            name,
            endpoint,
            host,
            port,
            transport,
            username,
            secret_enc,
            from_user,
            from_domain,
            send_pai: input.send_pai.or(current.map(|c| c.send_pai)).unwrap_or(false),
            send_rpid: input.send_rpid.or(current.map(|c| c.send_rpid)).unwrap_or(false),
            codecs: codecs.join(","),
            register,
            match_ips: (!ips.is_empty()).then_some(ips),
            account_number,
            enabled: input.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
            is_default: input.is_default.or(current.map(|c| c.is_default)).unwrap_or(false),
        },
        secret: secret_plain,
    })
}

/// The PJSIP rows of a trunk.
struct TrunkRows {
    endpoint: Endpoint,
    aor: Aor,
    auth: Option<Auth>,
    registration: Option<Registration>,
    identify: Vec<Identify>,
}

fn rows(tenant: &Tenant, f: &TrunkFields, secret: Option<&str>) -> TrunkRows {
    let id = f.endpoint.clone();
    let transport = format!("transport-{}", f.transport);
    // `;` would split the value in realtime: `^3B` is how a literal one is stored.
    let server = match f.transport.as_str() {
        "tcp" => format!("sip:{}:{}^3Btransport=tcp", f.host, f.port),
        _ => format!("sip:{}:{}", f.host, f.port),
    };
    let auth = match (&f.username, secret) {
        (Some(user), Some(pw)) => Some(Auth {
            id: id.clone(),
            auth_type: Some("userpass".into()),
            md5_cred: None,
            password: Some(pw.to_string()),
            realm: None,
            username: Some(user.clone()),
        }),
        _ => None,
    };
    let endpoint = Endpoint {
        id: id.clone(),
        transport: Some(transport.clone()),
        aors: Some(id.clone()),
        outbound_auth: auth.as_ref().map(|a| a.id.clone()),
        context: Some("mayday-inbound".into()),
        disallow: Some("all".into()),
        allow: Some(f.codecs.clone()),
        direct_media: telephony::yes_no(false),
        dtmf_mode: Some("rfc4733".into()),
        force_rport: telephony::yes_no(true),
        rewrite_contact: telephony::yes_no(true),
        rtp_symmetric: telephony::yes_no(true),
        send_pai: telephony::yes_no(f.send_pai),
        send_rpid: telephony::yes_no(f.send_rpid),
        from_user: f.from_user.clone(),
        from_domain: f.from_domain.clone(),
        // Never by username: a trunk takes calls without a challenge, so only its addresses
        // (or its registration's line) may identify it.
        identify_by: Some("ip".into()),
        tenantid: Some(tenant.slug.clone()),
        ..Endpoint::default()
    };
    let aor = Aor { id: id.clone(), contact: Some(server.clone()), qualify_frequency: Some(60), ..Aor::default() };
    let registration = (f.register && auth.is_some()).then(|| Registration {
        id: id.clone(),
        client_uri: f.username.as_ref().map(|u| format!("sip:{u}@{}:{}", f.host, f.port)),
        contact_user: f.username.clone(),
        expiration: Some(3600),
        outbound_auth: Some(id.clone()),
        retry_interval: Some(60),
        server_uri: Some(server),
        transport: Some(transport),
        line: telephony::yes_no(true),
        endpoint: Some(id.clone()),
    });
    // One row per address (`match` is varchar(80)); a trunk without addresses that does not
    // register is identified by its host's address.
    let addresses: Vec<String> = match &f.match_ips {
        Some(m) => m.split(',').map(str::to_string).collect(),
        None if !f.register => vec![f.host.clone()],
        None => Vec::new(),
    };
    let identify = addresses
        .into_iter()
        .enumerate()
        .map(|(i, m)| Identify {
            id: if i == 0 { id.clone() } else { format!("{id}-{i}") },
            endpoint: Some(id.clone()),
            match_: Some(m),
        })
        .collect();
    TrunkRows { endpoint, aor, auth, registration, identify }
}

/// Brings the Asterisk rows of every trunk of `tenant` to what the tenant's and the trunks'
/// states say: a disabled tenant's trunks neither register nor take calls.
pub async fn sync_tenant_trunks(conn: &mut repos::Conn, state: &AppState, tenant: &Tenant) -> ServiceResult<()> {
    for t in repos::trunks::all_of(conn, TenantId(tenant.id)).await? {
        rt::remove_pjsip(conn, &t.endpoint).await?;
        if t.enabled && tenant.enabled {
            let p = prepare(state, tenant, Some(&t), TrunkInput::default())?;
            write_rows(conn, &rows(tenant, &p.fields, p.secret.as_deref())).await?;
        }
    }
    Ok(())
}

async fn write_rows(conn: &mut repos::Conn, r: &TrunkRows) -> ServiceResult<()> {
    rt::put_endpoint_only(conn, &r.endpoint, &r.aor, r.auth.as_ref())
        .await
        .map_err(ServiceError::duplicate_as("name"))?;
    rt::put_trunk_extras(conn, r.registration.as_ref(), &r.identify)
        .await
        .map_err(ServiceError::duplicate_as("name"))?;
    Ok(())
}

pub async fn list(state: &AppState, caller: &Caller, tenant: TenantId, page: Page) -> ServiceResult<Paged<TrunkView>> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    Ok(repos::trunks::list(&mut conn, tenant, page).await?.map(TrunkView::from))
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<TrunkView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    Ok(TrunkView::from(repos::trunks::find(&mut conn, tenant, id).await?))
}

/// The provider account is the platform's: its balance is read with the platform's
/// credentials, so only a superadmin sets or changes it (a tenant admin naming another
/// tenant's account would read that tenant's balance).
fn account_is_theirs_to_set(caller: &Caller, current: Option<&str>, wanted: Option<&str>) -> ServiceResult<()> {
    if wanted.is_some() && wanted != current && !caller.role.at_least(Role::Superadmin) {
        return Err(ServiceError::Forbidden("only a superadmin sets a trunk's provider account_number".into()));
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    tenant_id: TenantId,
    input: TrunkInput,
) -> ServiceResult<TrunkView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, tenant_id).await?;
    let p = prepare(state, &tenant, None, input)?;
    account_is_theirs_to_set(caller, None, p.fields.account_number.as_deref())?;
    check_identify_free(&mut conn, tenant_id, &p.fields).await?;
    telephony::check_name_is_own(&mut conn, &tenant, &p.fields.endpoint, "name").await?;
    let register = p.fields.register;
    let view = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let id = repos::trunks::insert(conn, &p.fields).await.map_err(ServiceError::duplicate_as("name"))?;
            if p.fields.is_default {
                repos::trunks::clear_default_except(conn, tenant_id, id).await?;
            }
            if p.fields.enabled && tenant.enabled {
                write_rows(conn, &rows(&tenant, &p.fields, p.secret.as_deref())).await?;
            }
            let change = Change {
                tenant: Some(tenant_id),
                action: "create",
                entity: "trunk",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"name": p.fields.name, "host": p.fields.host, "register": p.fields.register})),
            };
            dialplan::regenerate(conn, state, tenant_id).await?;
            audit::record(conn, Some(caller), change).await?;
            Ok(TrunkView::from(repos::trunks::find(conn, tenant_id, id).await?))
        })
        .await?;
    if register {
        live::nudge(state, tenant_id, action::reload(Some(REGISTRATION_MODULE)));
    }
    Ok(view)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    tenant_id: TenantId,
    id: u64,
    input: TrunkInput,
) -> ServiceResult<TrunkView> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let tenant = repos::tenants::find(&mut conn, tenant_id).await?;
    let current = repos::trunks::find(&mut conn, tenant_id, id).await?;
    let p = prepare(state, &tenant, Some(&current), input)?;
    account_is_theirs_to_set(caller, current.account_number.as_deref(), p.fields.account_number.as_deref())?;
    check_identify_free(&mut conn, tenant_id, &p.fields).await?;
    telephony::check_name_is_own(&mut conn, &tenant, &p.fields.endpoint, "name").await?;
    let registration_touched = current.register || p.fields.register;
    let view = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            repos::trunks::update(conn, tenant_id, id, &p.fields).await.map_err(ServiceError::duplicate_as("name"))?;
            if p.fields.is_default {
                repos::trunks::clear_default_except(conn, tenant_id, id).await?;
            }
            rt::remove_pjsip(conn, &current.endpoint).await?;
            if p.fields.enabled && tenant.enabled {
                write_rows(conn, &rows(&tenant, &p.fields, p.secret.as_deref())).await?;
            }
            let change = Change {
                tenant: Some(tenant_id),
                action: "update",
                entity: "trunk",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"name": p.fields.name, "host": p.fields.host, "enabled": p.fields.enabled})),
            };
            dialplan::regenerate(conn, state, tenant_id).await?;
            audit::record(conn, Some(caller), change).await?;
            Ok(TrunkView::from(repos::trunks::find(conn, tenant_id, id).await?))
        })
        .await?;
    if registration_touched {
        live::nudge(state, tenant_id, action::reload(Some(REGISTRATION_MODULE)));
    }
    Ok(view)
}

pub async fn delete(state: &AppState, caller: &Caller, tenant_id: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let current = repos::trunks::find(&mut conn, tenant_id, id).await?;
    let register = current.register;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        dialplan::refuse_if_used(conn, tenant_id, Used::Trunk(id), "trunk").await?;
        rt::remove_pjsip(conn, &current.endpoint).await?;
        repos::trunks::delete(conn, tenant_id, id).await?;
        let change = Change {
            tenant: Some(tenant_id),
            action: "delete",
            entity: "trunk",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": current.name})),
        };
        dialplan::regenerate(conn, state, tenant_id).await?;
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await?;
    if register {
        live::nudge(state, tenant_id, action::reload(Some(REGISTRATION_MODULE)));
    }
    Ok(())
}

//! PBXs (superadmins only): where Mayday's AMI links go. The AMI secret is write-only: it is
//! stored encrypted (`crypto::SecretBox`) and never returned or logged.

use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::models::{NewPbx, Pbx, PbxChanges};
use crate::db::repos;
use crate::db::{Page, Paged};
use crate::domain::{Caller, PbxId};
use crate::services::audit::{self, Change};
use crate::services::{validate, ServiceError, ServiceResult};
use crate::state::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct PbxView {
    pub id: u64,
    pub name: String,
    pub ami_host: String,
    pub ami_port: u32,
    pub ami_username: String,
    pub ami_auth: String,
    pub enabled: bool,
    /// The secret itself is never shown.
    pub has_secret: bool,
    pub created_at: chrono::NaiveDateTime,
    pub updated_at: chrono::NaiveDateTime,
}

impl From<Pbx> for PbxView {
    fn from(p: Pbx) -> Self {
        PbxView {
            id: p.id,
            name: p.name,
            ami_host: p.ami_host,
            ami_port: p.ami_port,
            ami_username: p.ami_username,
            ami_auth: p.ami_auth,
            enabled: p.enabled,
            has_secret: !p.ami_secret_enc.is_empty(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePbx {
    pub name: String,
    pub ami_host: String,
    #[serde(default)]
    pub ami_port: Option<u32>,
    pub ami_username: String,
    pub ami_secret: String,
    /// `md5` (default) or `plain`.
    #[serde(default)]
    pub ami_auth: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePbx {
    pub name: Option<String>,
    pub ami_host: Option<String>,
    pub ami_port: Option<u32>,
    pub ami_username: Option<String>,
    pub ami_secret: Option<String>,
    pub ami_auth: Option<String>,
    pub enabled: Option<bool>,
}

// Hand-written so the secret can never reach a log line through `{:?}`.
impl std::fmt::Debug for CreatePbx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatePbx").field("name", &self.name).field("ami_host", &self.ami_host).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UpdatePbx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdatePbx").field("name", &self.name).finish_non_exhaustive()
    }
}

fn require_superadmin(caller: Option<&Caller>) -> ServiceResult<()> {
    match caller {
        Some(c) if !c.is_superadmin() => Err(ServiceError::Forbidden("this needs the superadmin role".into())),
        _ => Ok(()),
    }
}

fn port(p: u32) -> ServiceResult<u32> {
    if (1..=65535).contains(&p) {
        Ok(p)
    } else {
        Err(ServiceError::invalid("ami_port", "must be 1 to 65535"))
    }
}

fn auth_mode(a: &str) -> ServiceResult<String> {
    match a {
        "md5" | "plain" => Ok(a.to_string()),
        _ => Err(ServiceError::invalid("ami_auth", "must be md5 or plain")),
    }
}

fn secret(s: &str) -> ServiceResult<&str> {
    if s.is_empty() || s.len() > 255 || s.contains(['\r', '\n']) {
        return Err(ServiceError::invalid("ami_secret", "must be 1 to 255 bytes without line breaks"));
    }
    Ok(s)
}

fn username(u: &str) -> ServiceResult<String> {
    let v = validate::text("ami_username", u, 80)?;
    if v.contains(char::is_whitespace) {
        return Err(ServiceError::invalid("ami_username", "must not contain spaces"));
    }
    Ok(v)
}

pub async fn list(state: &AppState, caller: &Caller, page: Page) -> ServiceResult<Paged<PbxView>> {
    require_superadmin(Some(caller))?;
    let mut conn = state.db.get().await?;
    Ok(repos::pbxes::list(&mut conn, page).await?.map(PbxView::from))
}

pub async fn get(state: &AppState, caller: &Caller, id: PbxId) -> ServiceResult<PbxView> {
    require_superadmin(Some(caller))?;
    let mut conn = state.db.get().await?;
    Ok(PbxView::from(repos::pbxes::find(&mut conn, id).await?))
}

pub async fn create(state: &AppState, caller: Option<&Caller>, input: CreatePbx) -> ServiceResult<PbxView> {
    require_superadmin(caller)?;
    let new = NewPbx {
        name: validate::text("name", &input.name, 100)?,
        ami_host: validate::hostname("ami_host", &input.ami_host)?,
        ami_port: port(input.ami_port.unwrap_or(5038))?,
        ami_username: username(&input.ami_username)?,
        ami_secret_enc: state.secrets.seal(secret(&input.ami_secret)?),
        ami_auth: auth_mode(input.ami_auth.as_deref().unwrap_or("md5"))?,
        enabled: input.enabled.unwrap_or(true),
    };
    let mut conn = state.db.get().await?;
    let pbx = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let id = repos::pbxes::insert(conn, &new).await?;
            let change = Change {
                tenant: None,
                action: "create",
                entity: "pbx",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"name": new.name, "ami_host": new.ami_host, "ami_port": new.ami_port})),
            };
            audit::record(conn, caller, change).await?;
            Ok(repos::pbxes::find(conn, id).await?)
        })
        .await?;
    state.live.reload(state).await;
    Ok(PbxView::from(pbx))
}

pub async fn update(state: &AppState, caller: Option<&Caller>, id: PbxId, input: UpdatePbx) -> ServiceResult<PbxView> {
    require_superadmin(caller)?;
    let changes = PbxChanges {
        name: input.name.as_deref().map(|n| validate::text("name", n, 100)).transpose()?,
        ami_host: input.ami_host.as_deref().map(|h| validate::hostname("ami_host", h)).transpose()?,
        ami_port: input.ami_port.map(port).transpose()?,
        ami_username: input.ami_username.as_deref().map(username).transpose()?,
        ami_secret_enc: input.ami_secret.as_deref().map(secret).transpose()?.map(|s| state.secrets.seal(s)),
        ami_auth: input.ami_auth.as_deref().map(auth_mode).transpose()?,
        enabled: input.enabled,
    };
    let mut conn = state.db.get().await?;
    let pbx = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
                repos::pbxes::find(conn, id).await?;
                repos::pbxes::update(conn, id, &changes).await?;
                let change = Change {
                    tenant: None,
                    action: "update",
                    entity: "pbx",
                    entity_id: Some(id.to_string()),
                    detail: Some(json!({"enabled": changes.enabled, "ami_host": changes.ami_host, "secret_changed": changes.ami_secret_enc.is_some()})),
                };
                audit::record(conn, caller, change).await?;
                Ok(repos::pbxes::find(conn, id).await?)
            }
        )
        .await?;
    state.live.reload(state).await;
    Ok(PbxView::from(pbx))
}

pub async fn delete(state: &AppState, caller: &Caller, id: PbxId) -> ServiceResult<()> {
    require_superadmin(Some(caller))?;
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        repos::pbxes::find(conn, id).await?;
        let users = repos::tenants::on_pbx(conn, id.0).await?;
        if !users.is_empty() {
            let names: Vec<&str> = users.iter().map(|t| t.slug.as_str()).collect();
            return Err(ServiceError::Conflict(format!("tenants still live on this PBX: {}", names.join(", "))));
        }
        repos::pbxes::delete(conn, id).await?;
        let change =
            Change { tenant: None, action: "delete", entity: "pbx", entity_id: Some(id.to_string()), detail: None };
        audit::record(conn, Some(caller), change).await?;
        Ok(())
    })
    .await?;
    state.live.reload(state).await;
    Ok(())
}

//! IVR prompts: uploaded WAV files, checked and converted to 8 kHz mono 16-bit, stored in
//! MariaDB. Asterisk reads them from a directory Mayday writes (`PROMPT_MODE=directory`) or
//! from Mayday over HTTP through signed, expiring URLs (`PROMPT_MODE=http`).

use diesel_async::AsyncConnection;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audio;
use crate::config::PromptMode;
use crate::db::models::{NewPrompt, PromptRow};
use crate::db::repos::{self, routing};
use crate::domain::{Caller, Role, TenantId};
use crate::services::audit::{self, Change};
use crate::services::dialplan::{self, Used};
use crate::services::{require, validate, ServiceError, ServiceResult};
use crate::state::AppState;

/// The longest prompt accepted.
pub const MAX_SECONDS: u32 = 600;

#[derive(Clone, Debug, Serialize)]
pub struct PromptView {
    pub id: u64,
    pub name: String,
    pub bytes: u32,
    pub duration_ms: u32,
    pub sha256: String,
    pub created_at: chrono::NaiveDateTime,
}

impl From<PromptRow> for PromptView {
    fn from(p: PromptRow) -> Self {
        PromptView {
            id: p.id,
            name: p.name,
            bytes: p.bytes,
            duration_ms: p.duration_ms,
            sha256: p.sha256,
            created_at: p.created_at,
        }
    }
}

fn file_path(state: &AppState, slug: &str, id: u64) -> std::path::PathBuf {
    state.config.prompts.dir.join(slug).join(format!("prompt-{id}.wav"))
}

pub async fn upload(
    state: &AppState,
    caller: &Caller,
    tenant: TenantId,
    name: &str,
    body: &[u8],
) -> ServiceResult<PromptView> {
    require(caller, Role::Admin)?;
    let name = validate::text("name", name, 80)?;
    let prompt = audio::prompt_from_wav(body, MAX_SECONDS).map_err(|e| ServiceError::invalid("file", e.to_string()))?;
    let sha256 = hex::encode(Sha256::digest(&prompt.wav));
    let new = NewPrompt {
        tenant_id: tenant.0,
        name,
        bytes: u32::try_from(prompt.wav.len()).unwrap_or(u32::MAX),
        duration_ms: prompt.duration_ms,
        sha256,
        audio: prompt.wav,
    };
    let mut conn = state.db.get().await?;
    conn.transaction::<_, ServiceError, _>(async move |conn| {
        let id = routing::prompt::insert(conn, &new).await?;
        if state.config.prompts.mode == PromptMode::Directory {
            let t = repos::tenants::find(conn, tenant).await?;
            let path = file_path(state, &t.slug, id);
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await.map_err(|e| ServiceError::internal("PROMPT_DIR", e))?;
            }
            tokio::fs::write(&path, &new.audio).await.map_err(|e| ServiceError::internal("PROMPT_DIR", e))?;
        }
        let change = Change {
            tenant: Some(tenant),
            action: "create",
            entity: "prompt",
            entity_id: Some(id.to_string()),
            detail: Some(json!({"name": new.name, "bytes": new.bytes, "duration_ms": new.duration_ms})),
        };
        audit::record(conn, Some(caller), change).await?;
        Ok(PromptView::from(routing::prompt::find(conn, tenant, id).await?))
    })
    .await
}

pub async fn list(state: &AppState, caller: &Caller, tenant: TenantId) -> ServiceResult<Vec<PromptView>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    Ok(routing::prompt::all_of(&mut conn, tenant).await?.into_iter().map(PromptView::from).collect())
}

pub async fn get(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<PromptView> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    Ok(PromptView::from(routing::prompt::find(&mut conn, tenant, id).await?))
}

/// The audio, for a signed-in manager of the tenant.
pub async fn audio_of(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<Vec<u8>> {
    require(caller, Role::Manager)?;
    let mut conn = state.db.get().await?;
    let (row, audio) = routing::prompt::audio(&mut conn, id).await?;
    if row.tenant_id != tenant.0 {
        return Err(ServiceError::NotFound);
    }
    Ok(audio)
}

/// The audio behind a signed URL (Asterisk's `res_http_media_cache`): the signature must
/// match this prompt's content and expiry, and the expiry must be ahead.
pub async fn media(state: &AppState, id: u64, expires: i64, signature: &str) -> ServiceResult<Vec<u8>> {
    if expires < chrono::Utc::now().timestamp() {
        return Err(ServiceError::NotFound);
    }
    let mut conn = state.db.get().await?;
    let (row, audio) = routing::prompt::audio(&mut conn, id).await?;
    if !state.secrets.verify(&dialplan::prompt_message(id, &row.sha256, expires), signature) {
        return Err(ServiceError::NotFound);
    }
    Ok(audio)
}

pub async fn delete(state: &AppState, caller: &Caller, tenant: TenantId, id: u64) -> ServiceResult<()> {
    require(caller, Role::Admin)?;
    let mut conn = state.db.get().await?;
    let slug = conn
        .transaction::<_, ServiceError, _>(async move |conn| {
            let current = routing::prompt::find(conn, tenant, id).await?;
            dialplan::refuse_if_used(conn, tenant, Used::Prompt(id), "prompt").await?;
            routing::prompt::delete(conn, tenant, id).await?;
            let change = Change {
                tenant: Some(tenant),
                action: "delete",
                entity: "prompt",
                entity_id: Some(id.to_string()),
                detail: Some(json!({"name": current.name})),
            };
            audit::record(conn, Some(caller), change).await?;
            Ok(repos::tenants::find(conn, tenant).await?.slug)
        })
        .await?;
    if state.config.prompts.mode == PromptMode::Directory {
        if let Err(e) = tokio::fs::remove_file(file_path(state, &slug, id)).await {
            tracing::warn!(prompt.id = id, error = %e, "could not remove the prompt file");
        }
    }
    Ok(())
}

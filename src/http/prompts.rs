//! `/api/prompts`: IVR prompts. Upload with `POST /api/prompts?name=<name>` and the WAV file
//! as the body (`Content-Type: audio/wav`); `GET /api/prompts/{id}/audio` for managers;
//! `GET /api/prompts/{id}/media/{expires}/{signature}.wav` for Asterisk (signed URLs,
//! `PROMPT_MODE=http`).

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, TenantScope};
use crate::services::{prompts, users};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/prompts").route(web::get().to(list)).route(web::post().to(upload)))
        .service(web::resource("/api/prompts/{id:\\d+}").route(web::get().to(get)).route(web::delete().to(delete)))
        .service(web::resource("/api/prompts/{id:\\d+}/audio").route(web::get().to(audio)))
        .service(
            web::resource("/api/prompts/{id:\\d+}/media/{expires:\\d+}/{signature:[0-9a-f]{64}}.wav")
                .route(web::get().to(media)),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: String,
    tenant_id: Option<u64>,
}

fn wav(bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok().content_type("audio/wav").body(bytes)
}

async fn list(
    state: web::Data<AppState>,
    auth: Auth<roles::Manager>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(prompts::list(&state, &auth, users::scope(&auth, q.tenant_id)?).await?))
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth<roles::Manager>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(prompts::get(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?))
}

async fn audio(
    state: web::Data<AppState>,
    auth: Auth<roles::Manager>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    Ok(wav(prompts::audio_of(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    prompts::delete(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body is read here, with its own limit (`PROMPT_MAX_BYTES`), so that an oversized file
/// is a 413 naming the field.
async fn upload(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    req: HttpRequest,
    q: web::Query<UploadQuery>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream"]
        .contains(&essence.as_str())
    {
        return Err(ApiError {
            field: Some("file".into()),
            ..ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "file must be sent as audio/wav",
            )
        });
    }
    let limit = state.config.prompts.max_bytes;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the upload: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError {
                field: Some("file".into()),
                ..ApiError::new(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("file is larger than {limit} bytes"),
                )
            });
        }
        body.extend_from_slice(&chunk);
    }
    let view = prompts::upload(&state, &auth, tenant, &q.name, &body).await?;
    Ok(HttpResponse::Created().json(view))
}

async fn media(state: web::Data<AppState>, path: web::Path<(u64, i64, String)>) -> Result<HttpResponse, ApiError> {
    let (id, expires, signature) = path.into_inner();
    Ok(wav(prompts::media(&state, id, expires, &signature).await?))
}

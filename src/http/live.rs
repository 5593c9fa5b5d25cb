//! The live state over REST (the same data as the WebSocket snapshots), the tenant's PBX
//! link, and pausing agents (with the old system's paths for the agent's own softphone).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, OptionalJson};
use crate::domain::UserId;
use crate::services::live;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/live/queues").route(web::get().to(queues)))
        .service(web::resource("/api/live/agents").route(web::get().to(agents)))
        .service(web::resource("/api/live/calls").route(web::get().to(calls)))
        .service(web::resource("/api/pbx").route(web::get().to(pbx)))
        .service(
            web::resource("/api/agents/{id:\\d+}/pause")
                .route(web::post().to(pause))
                .route(web::get().to(pause_status)),
        )
        .service(web::resource("/api/agents/{id:\\d+}/unpause").route(web::post().to(unpause)))
        .service(web::resource("/api/users/pause").route(web::post().to(pause_self)))
        .service(web::resource("/api/users/unpause").route(web::post().to(unpause_self)))
        .service(web::resource("/api/users/pause-status").route(web::get().to(pause_status_self)));
}

#[derive(Deserialize, Default)]
struct PauseRequest {
    #[serde(default)]
    reason: Option<String>,
}

async fn queues(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(live::queues(&state, &auth).await?))
}

async fn agents(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(live::agents(&state, &auth).await?))
}

async fn calls(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(live::calls(&state, &auth).await?))
}

async fn pbx(state: web::Data<AppState>, auth: Auth<roles::Manager>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(live::pbx(&state, &auth).await?))
}

async fn pause(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<u64>,
    body: OptionalJson<PauseRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.0.and_then(|b| b.reason).unwrap_or_default();
    Ok(HttpResponse::Ok().json(live::set_pause(&state, &auth, UserId(id.into_inner()), Some(reason)).await?))
}

async fn unpause(state: web::Data<AppState>, auth: Auth, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(live::set_pause(&state, &auth, UserId(id.into_inner()), None).await?))
}

async fn pause_status(state: web::Data<AppState>, auth: Auth, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(live::pause_status(&state, &auth, UserId(id.into_inner())).await?))
}

async fn pause_self(
    state: web::Data<AppState>,
    auth: Auth,
    body: OptionalJson<PauseRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.0.and_then(|b| b.reason).unwrap_or_default();
    let me = auth.user;
    Ok(HttpResponse::Ok().json(live::set_pause(&state, &auth, me, Some(reason)).await?))
}

async fn unpause_self(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let me = auth.user;
    Ok(HttpResponse::Ok().json(live::set_pause(&state, &auth, me, None).await?))
}

async fn pause_status_self(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let me = auth.user;
    Ok(HttpResponse::Ok().json(live::pause_status(&state, &auth, me).await?))
}

//! `/api/agents`: agents with their phones (admins write, managers read, an agent reads
//! itself), and the softphone logins (`POST /api/agents/softphone-login`, the old
//! `POST /api/users/agent-login`, and `GET /api/agents/me/softphone` for a signed-in agent).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{client_ip, roles, Auth, Json, TenantScope};
use crate::db::repos::agents::AgentFilter;
use crate::db::Page;
use crate::domain::UserId;
use crate::services::agents::{self, CreateAgent, UpdateAgent};
use crate::services::auth::{LoginInput, TenantRef};
use crate::services::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/agents").route(web::get().to(list)).route(web::post().to(create)))
        .service(web::resource("/api/agents/softphone-login").route(web::post().to(softphone_login)))
        .service(web::resource("/api/users/agent-login").route(web::post().to(softphone_login)))
        .service(web::resource("/api/agents/me/softphone").route(web::get().to(my_softphone)))
        .service(
            web::resource("/api/agents/{id:\\d+}")
                .route(web::get().to(get))
                .route(web::put().to(update))
                .route(web::delete().to(delete)),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<u32>,
    per_page: Option<u32>,
    q: Option<String>,
    enabled: Option<bool>,
    profile: Option<String>,
    tenant_id: Option<u64>,
}

async fn list(
    state: web::Data<AppState>,
    auth: Auth<roles::Manager>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let tenant = users::scope(&auth, q.tenant_id)?;
    let filter = AgentFilter { q: q.q, enabled: q.enabled, profile: q.profile };
    Ok(HttpResponse::Ok().json(agents::list(&state, &auth, tenant, filter, Page::new(q.page, q.per_page)).await?))
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(agents::get(&state, &auth, tenant, UserId(id.into_inner())).await?))
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
    body: Json<CreateAgent>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Created().json(agents::create(&state, Some(&auth), tenant, body.0).await?))
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
    body: Json<UpdateAgent>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(agents::update(&state, &auth, tenant, UserId(id.into_inner()), body.0).await?))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    agents::delete(&state, &auth, tenant, UserId(id.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The agent's own credentials; the tenant by slug, else from the host name (old clients).
#[derive(Deserialize)]
struct SoftphoneLoginRequest {
    username: String,
    password: String,
    #[serde(default)]
    tenant: Option<String>,
}

async fn softphone_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<SoftphoneLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    if b.username.len() > 255 || b.password.len() > 1024 {
        return Err(ApiError::unauthorized());
    }
    let tenant = match b.tenant {
        Some(slug) => TenantRef::Slug(slug),
        None => TenantRef::Host(req.connection_info().host().to_string()),
    };
    let input = LoginInput {
        tenant,
        username: b.username,
        password: b.password,
        client_ip: client_ip(&req, &state.config.trusted_proxies),
    };
    let login = agents::softphone_login(&state, input).await?;
    // It holds the SIP password: no cache may keep it.
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(login))
}

async fn my_softphone(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let sip = agents::softphone(&state, &auth).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(sip))
}

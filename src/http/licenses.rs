//! `/api/licenses/*`: the licence in force, its features, a sync with the licence server,
//! the seats consoles and softphones take after login, the tenant's seat sessions, and
//! how a superadmin splits seats between tenants.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::{roles, Auth, Json, TenantScope};
use crate::services::licenses::{self, Allocation, SeatRequest};
use crate::services::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/licenses/current").route(web::get().to(current)))
        .service(web::resource("/api/licenses/features").route(web::get().to(features)))
        .service(web::resource("/api/licenses/sync").route(web::post().to(sync)))
        .service(web::resource("/api/licenses/install").route(web::post().to(install)))
        .service(web::resource("/api/licenses/seats").route(web::post().to(take_seat)))
        .service(
            web::resource("/api/licenses/seats/{feature}")
                .route(web::put().to(heartbeat))
                .route(web::delete().to(release)),
        )
        .service(web::resource("/api/licenses/sessions").route(web::get().to(sessions)))
        .service(web::resource("/api/licenses/sessions/{feature}/{session}").route(web::delete().to(end_session)))
        .service(
            web::resource("/api/licenses/allocations")
                .route(web::get().to(allocations))
                .route(web::put().to(set_allocation)),
        );
}

async fn current(state: web::Data<AppState>, auth: Auth<roles::Admin>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(licenses::current(&state, &auth).await?))
}

async fn features(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(licenses::features(&state)))
}

async fn sync(state: web::Data<AppState>, auth: Auth<roles::Admin>) -> Result<HttpResponse, ApiError> {
    licenses::sync(&state).await?;
    Ok(HttpResponse::Ok().json(licenses::current(&state, &auth).await?))
}

/// The body is the licence file as the vendor sent it.
async fn install(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    body: String,
) -> Result<HttpResponse, ApiError> {
    licenses::install(&state, Some(&auth), &body).await?;
    Ok(HttpResponse::Ok().json(licenses::current(&state, &auth).await?))
}

async fn take_seat(state: web::Data<AppState>, auth: Auth, body: Json<SeatRequest>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(licenses::take_seat(&state, &auth, body.0).await?))
}

async fn heartbeat(
    state: web::Data<AppState>,
    auth: Auth,
    feature: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(licenses::heartbeat(&state, &auth, &feature).await?))
}

async fn release(state: web::Data<AppState>, auth: Auth, feature: web::Path<String>) -> Result<HttpResponse, ApiError> {
    licenses::release(&state, &auth, &feature).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn sessions(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(licenses::sessions(&state, &auth, tenant).await?))
}

async fn end_session(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    path: web::Path<(String, String)>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    let (feature, session) = path.into_inner();
    licenses::end_session(&state, &auth, tenant, &feature, &session).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn allocations(state: web::Data<AppState>, auth: Auth<roles::Superadmin>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(licenses::allocations(&state, &auth).await?))
}

async fn set_allocation(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    body: Json<Allocation>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(licenses::set_allocation(&state, &auth, body.0).await?))
}

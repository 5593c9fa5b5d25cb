//! `/api/trunks`: a tenant's PJSIP trunks (admins only). The provider password is
//! write-only.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, Json, TenantScope};
use crate::db::Page;
use crate::services::balance::{self, VerifyCall};
use crate::services::trunks::{self, TrunkInput};
use crate::services::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/trunks/{id:\\d+}/balance").route(web::get().to(balance)))
        .service(web::resource("/api/trunks/{id:\\d+}/balance/check").route(web::post().to(check_balance)))
        .service(web::resource("/api/balance/verify-call").route(web::post().to(verify_call)))
        .service(web::resource("/api/balance-verification/verify-call").route(web::post().to(verify_call)));
    cfg.service(web::resource("/api/trunks").route(web::get().to(list)).route(web::post().to(create))).service(
        web::resource("/api/trunks/{id:\\d+}")
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
    tenant_id: Option<u64>,
}

async fn list(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(trunks::list(&state, &auth, tenant, Page::new(q.page, q.per_page)).await?))
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(trunks::get(&state, &auth, tenant, id.into_inner()).await?))
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
    body: Json<TrunkInput>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Created().json(trunks::create(&state, &auth, tenant, body.0).await?))
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
    body: Json<TrunkInput>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(trunks::update(&state, &auth, tenant, id.into_inner(), body.0).await?))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    trunks::delete(&state, &auth, tenant, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn balance(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(balance::get(&state, &auth, tenant, id.into_inner()).await?))
}

async fn check_balance(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(balance::check(&state, &auth, tenant, id.into_inner()).await?))
}

/// Before dialing out: may this call go through (any signed-in user of the tenant).
async fn verify_call(state: web::Data<AppState>, auth: Auth, body: Json<VerifyCall>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(balance::verify_call(&state, &auth, body.0).await?))
}

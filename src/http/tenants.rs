//! `/api/tenants` (superadmin; a tenant's own users may read their tenant).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, Json};
use crate::db::Page;
use crate::domain::TenantId;
use crate::services::tenants::{self, CreateTenant, UpdateTenant};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/tenants").route(web::get().to(list)).route(web::post().to(create))).service(
        web::resource("/api/tenants/{id:\\d+}")
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
}

async fn list(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(tenants::list(&state, &auth, q.q.as_deref(), Page::new(q.page, q.per_page)).await?))
}

async fn get(state: web::Data<AppState>, auth: Auth, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(tenants::get(&state, &auth, TenantId(id.into_inner())).await?))
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    body: Json<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(tenants::create(&state, Some(&auth), body.0).await?))
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    id: web::Path<u64>,
    body: Json<UpdateTenant>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(tenants::update(&state, Some(&auth), TenantId(id.into_inner()), body.0).await?))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    tenants::delete(&state, &auth, TenantId(id.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

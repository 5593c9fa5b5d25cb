//! `/api/users`: the users of the caller's tenant (a superadmin may name another with
//! `?tenant_id=`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, Json, TenantScope};
use crate::db::repos::users::UserFilter;
use crate::db::Page;
use crate::domain::UserId;
use crate::services::users::{self, CreateUser, UpdateUser};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/users").route(web::get().to(list)).route(web::post().to(create))).service(
        web::resource("/api/users/{id:\\d+}")
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
    role: Option<String>,
    enabled: Option<bool>,
    q: Option<String>,
    tenant_id: Option<u64>,
}

async fn list(
    state: web::Data<AppState>,
    auth: Auth<roles::Manager>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let tenant = users::scope(&auth, q.tenant_id)?;
    let filter = UserFilter { role: q.role, enabled: q.enabled, q: q.q };
    Ok(HttpResponse::Ok().json(users::list(&state, &auth, tenant, filter, Page::new(q.page, q.per_page)).await?))
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(users::get(&state, &auth, tenant, UserId(id.into_inner())).await?))
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Created().json(users::create(&state, Some(&auth), tenant, body.0).await?))
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(users::update(&state, &auth, tenant, UserId(id.into_inner()), body.0).await?))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    users::delete(&state, &auth, tenant, UserId(id.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

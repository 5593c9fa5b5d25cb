//! `/api/queues` and `/api/queues/{id}/members`: a tenant's queues (admins write, managers
//! read).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, Json, OptionalJson, TenantScope};
use crate::db::Page;
use crate::domain::UserId;
use crate::services::queues::{self, MemberInput, QueueInput};
use crate::services::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/queues").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/api/queues/{id:\\d+}")
                .route(web::get().to(get))
                .route(web::put().to(update))
                .route(web::delete().to(delete)),
        )
        .service(
            web::resource("/api/queues/{id:\\d+}/members")
                .route(web::get().to(members))
                .route(web::post().to(add_member)),
        )
        .service(
            web::resource("/api/queues/{id:\\d+}/members/{agent:\\d+}")
                .route(web::put().to(put_member))
                .route(web::delete().to(remove_member)),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<u32>,
    per_page: Option<u32>,
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
    let page = Page::new(q.page, q.per_page);
    Ok(HttpResponse::Ok().json(queues::list(&state, &auth, tenant, q.q.as_deref(), page).await?))
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth<roles::Manager>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(queues::get(&state, &auth, tenant, id.into_inner()).await?))
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
    body: Json<QueueInput>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Created().json(queues::create(&state, Some(&auth), tenant, body.0).await?))
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
    body: Json<QueueInput>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(queues::update(&state, &auth, tenant, id.into_inner(), body.0).await?))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    queues::delete(&state, &auth, tenant, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn members(
    state: web::Data<AppState>,
    auth: Auth<roles::Manager>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(queues::members(&state, &auth, tenant, id.into_inner()).await?))
}

async fn add_member(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    id: web::Path<u64>,
    q: web::Query<TenantScope>,
    body: Json<MemberInput>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    let Some(agent) = body.0.agent_id else { return Err(ApiError::invalid("agent_id", "agent_id is required")) };
    let (view, added) = queues::put_member(&state, Some(&auth), tenant, id.into_inner(), UserId(agent), body.0).await?;
    Ok(if added { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

async fn put_member(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    path: web::Path<(u64, u64)>,
    q: web::Query<TenantScope>,
    body: OptionalJson<MemberInput>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    let (queue, agent) = path.into_inner();
    let input = body.0.unwrap_or_default();
    let (view, added) = queues::put_member(&state, Some(&auth), tenant, queue, UserId(agent), input).await?;
    Ok(if added { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

async fn remove_member(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    path: web::Path<(u64, u64)>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    let (queue, agent) = path.into_inner();
    queues::remove_member(&state, &auth, tenant, queue, UserId(agent)).await?;
    Ok(HttpResponse::NoContent().finish())
}

//! `/api/pbxes` (superadmin). The AMI secret is accepted, never returned.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, Json};
use crate::db::Page;
use crate::domain::PbxId;
use crate::services::pbxes::{self, CreatePbx, UpdatePbx};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/pbxes").route(web::get().to(list)).route(web::post().to(create))).service(
        web::resource("/api/pbxes/{id:\\d+}")
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
}

async fn list(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(pbxes::list(&state, &auth, Page::new(q.page, q.per_page)).await?))
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(pbxes::get(&state, &auth, PbxId(id.into_inner())).await?))
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    body: Json<CreatePbx>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(pbxes::create(&state, Some(&auth), body.0).await?))
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    id: web::Path<u64>,
    body: Json<UpdatePbx>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(pbxes::update(&state, Some(&auth), PbxId(id.into_inner()), body.0).await?))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth<roles::Superadmin>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    pbxes::delete(&state, &auth, PbxId(id.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

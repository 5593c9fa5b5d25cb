//! Call routing: `/api/dids`, `/api/routes/inbound`, `/api/routes/outbound`,
//! `/api/time-conditions`, `/api/ivr`, `GET /api/dialplan/{context}`, and the old
//! `GET /api/users/inbound_route/dids`. Admins write, managers read.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::{roles, Auth, Json, TenantScope};
use crate::services::dids::{self, DidInput};
use crate::services::ivr::{self, IvrInput};
use crate::services::routes::{self, InboundInput, OutboundInput};
use crate::services::time_conditions::{self, TimeConditionInput};
use crate::services::{dialplan, users};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/dids").route(web::get().to(list_dids)).route(web::post().to(create_did)))
        .service(
            web::resource("/api/dids/{id:\\d+}")
                .route(web::get().to(get_did))
                .route(web::put().to(update_did))
                .route(web::delete().to(delete_did)),
        )
        .service(web::resource("/api/users/inbound_route/dids").route(web::get().to(did_dropdown)))
        .service(
            web::resource("/api/routes/inbound")
                .route(web::get().to(list_inbound))
                .route(web::post().to(create_inbound)),
        )
        .service(
            web::resource("/api/routes/inbound/{id:\\d+}")
                .route(web::get().to(get_inbound))
                .route(web::put().to(update_inbound))
                .route(web::delete().to(delete_inbound)),
        )
        .service(
            web::resource("/api/routes/outbound")
                .route(web::get().to(list_outbound))
                .route(web::post().to(create_outbound)),
        )
        .service(
            web::resource("/api/routes/outbound/{id:\\d+}")
                .route(web::get().to(get_outbound))
                .route(web::put().to(update_outbound))
                .route(web::delete().to(delete_outbound)),
        )
        .service(web::resource("/api/time-conditions").route(web::get().to(list_tcs)).route(web::post().to(create_tc)))
        .service(
            web::resource("/api/time-conditions/{id:\\d+}")
                .route(web::get().to(get_tc))
                .route(web::put().to(update_tc))
                .route(web::delete().to(delete_tc)),
        )
        .service(web::resource("/api/ivr").route(web::get().to(list_ivr)).route(web::post().to(create_ivr)))
        .service(
            web::resource("/api/ivr/{id:\\d+}")
                .route(web::get().to(get_ivr))
                .route(web::put().to(update_ivr))
                .route(web::delete().to(delete_ivr)),
        )
        .service(web::resource("/api/dialplan/{context}").route(web::get().to(show_dialplan)));
}

type Data = web::Data<AppState>;
type Id = web::Path<u64>;
type Scope = web::Query<TenantScope>;

fn ok<T: serde::Serialize>(v: T) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(v))
}

fn created<T: serde::Serialize>(v: T) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(v))
}

fn gone() -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::NoContent().finish())
}

async fn list_dids(state: Data, auth: Auth<roles::Manager>, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(dids::list(&state, &auth, users::scope(&auth, q.tenant_id)?).await?)
}
async fn get_did(state: Data, auth: Auth<roles::Manager>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(dids::get(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?)
}
async fn create_did(
    state: Data,
    auth: Auth<roles::Admin>,
    q: Scope,
    body: Json<DidInput>,
) -> Result<HttpResponse, ApiError> {
    created(dids::create(&state, &auth, users::scope(&auth, q.tenant_id)?, body.0).await?)
}
async fn update_did(
    state: Data,
    auth: Auth<roles::Admin>,
    id: Id,
    q: Scope,
    body: Json<DidInput>,
) -> Result<HttpResponse, ApiError> {
    ok(dids::update(&state, &auth, users::scope(&auth, q.tenant_id)?, *id, body.0).await?)
}
async fn delete_did(state: Data, auth: Auth<roles::Admin>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    dids::delete(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?;
    gone()
}
async fn did_dropdown(state: Data, auth: Auth) -> Result<HttpResponse, ApiError> {
    ok(dids::dropdown(&state, &auth).await?)
}

async fn list_inbound(state: Data, auth: Auth<roles::Manager>, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(routes::list_inbound(&state, &auth, users::scope(&auth, q.tenant_id)?).await?)
}
async fn get_inbound(state: Data, auth: Auth<roles::Manager>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(routes::get_inbound(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?)
}
async fn create_inbound(
    state: Data,
    auth: Auth<roles::Admin>,
    q: Scope,
    body: Json<InboundInput>,
) -> Result<HttpResponse, ApiError> {
    created(routes::create_inbound(&state, &auth, users::scope(&auth, q.tenant_id)?, body.0).await?)
}
async fn update_inbound(
    state: Data,
    auth: Auth<roles::Admin>,
    id: Id,
    q: Scope,
    body: Json<InboundInput>,
) -> Result<HttpResponse, ApiError> {
    ok(routes::update_inbound(&state, &auth, users::scope(&auth, q.tenant_id)?, *id, body.0).await?)
}
async fn delete_inbound(state: Data, auth: Auth<roles::Admin>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    routes::delete_inbound(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?;
    gone()
}

async fn list_outbound(state: Data, auth: Auth<roles::Manager>, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(routes::list_outbound(&state, &auth, users::scope(&auth, q.tenant_id)?).await?)
}
async fn get_outbound(state: Data, auth: Auth<roles::Manager>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(routes::get_outbound(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?)
}
async fn create_outbound(
    state: Data,
    auth: Auth<roles::Admin>,
    q: Scope,
    body: Json<OutboundInput>,
) -> Result<HttpResponse, ApiError> {
    created(routes::create_outbound(&state, &auth, users::scope(&auth, q.tenant_id)?, body.0).await?)
}
async fn update_outbound(
    state: Data,
    auth: Auth<roles::Admin>,
    id: Id,
    q: Scope,
    body: Json<OutboundInput>,
) -> Result<HttpResponse, ApiError> {
    ok(routes::update_outbound(&state, &auth, users::scope(&auth, q.tenant_id)?, *id, body.0).await?)
}
async fn delete_outbound(state: Data, auth: Auth<roles::Admin>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    routes::delete_outbound(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?;
    gone()
}

async fn list_tcs(state: Data, auth: Auth<roles::Manager>, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(time_conditions::list(&state, &auth, users::scope(&auth, q.tenant_id)?).await?)
}
async fn get_tc(state: Data, auth: Auth<roles::Manager>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(time_conditions::get(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?)
}
async fn create_tc(
    state: Data,
    auth: Auth<roles::Admin>,
    q: Scope,
    body: Json<TimeConditionInput>,
) -> Result<HttpResponse, ApiError> {
    created(time_conditions::create(&state, &auth, users::scope(&auth, q.tenant_id)?, body.0).await?)
}
async fn update_tc(
    state: Data,
    auth: Auth<roles::Admin>,
    id: Id,
    q: Scope,
    body: Json<TimeConditionInput>,
) -> Result<HttpResponse, ApiError> {
    ok(time_conditions::update(&state, &auth, users::scope(&auth, q.tenant_id)?, *id, body.0).await?)
}
async fn delete_tc(state: Data, auth: Auth<roles::Admin>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    time_conditions::delete(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?;
    gone()
}

async fn list_ivr(state: Data, auth: Auth<roles::Manager>, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(ivr::list(&state, &auth, users::scope(&auth, q.tenant_id)?).await?)
}
async fn get_ivr(state: Data, auth: Auth<roles::Manager>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    ok(ivr::get(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?)
}
async fn create_ivr(
    state: Data,
    auth: Auth<roles::Admin>,
    q: Scope,
    body: Json<IvrInput>,
) -> Result<HttpResponse, ApiError> {
    created(ivr::create(&state, &auth, users::scope(&auth, q.tenant_id)?, body.0).await?)
}
async fn update_ivr(
    state: Data,
    auth: Auth<roles::Admin>,
    id: Id,
    q: Scope,
    body: Json<IvrInput>,
) -> Result<HttpResponse, ApiError> {
    ok(ivr::update(&state, &auth, users::scope(&auth, q.tenant_id)?, *id, body.0).await?)
}
async fn delete_ivr(state: Data, auth: Auth<roles::Admin>, id: Id, q: Scope) -> Result<HttpResponse, ApiError> {
    ivr::delete(&state, &auth, users::scope(&auth, q.tenant_id)?, *id).await?;
    gone()
}

/// The context as `exten => ...` lines (text/plain), for support.
async fn show_dialplan(
    state: Data,
    auth: Auth<roles::Manager>,
    context: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let text = dialplan::show(&state, &auth, &context).await?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(text))
}

//! `/api/calls/*`: click-to-dial, blind transfer and hanging up live calls (over the tenant's PBX link), and
//! the history of the calls Asterisk recorded (table `cdr`), grouped by call.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::{Auth, Json};
use crate::services::calls::{self, DialInput, TransferInput};
use crate::services::history::{self, HistoryQuery};
use crate::services::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/calls/history").route(web::get().to(list)))
        .service(web::resource("/api/calls/dial").route(web::post().to(dial)))
        .service(web::resource("/api/calls/{linkedid}/hangup").route(web::post().to(hangup)))
        .service(web::resource("/api/calls/{linkedid}/transfer").route(web::post().to(transfer)));
}

async fn dial(state: web::Data<AppState>, auth: Auth, body: Json<DialInput>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Accepted().json(calls::dial(&state, &auth, body.0).await?))
}

async fn hangup(state: web::Data<AppState>, auth: Auth, linkedid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    calls::hangup(&state, &auth, &linkedid).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(state: web::Data<AppState>, auth: Auth, q: web::Query<HistoryQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(history::list(&state, &auth, tenant, q).await?))
}

async fn transfer(
    state: web::Data<AppState>,
    auth: Auth,
    linkedid: web::Path<String>,
    body: Json<TransferInput>,
) -> Result<HttpResponse, ApiError> {
    calls::transfer(&state, &auth, &linkedid, body.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

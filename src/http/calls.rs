//! `/api/calls/history`: the calls Asterisk recorded (table `cdr`), grouped by call.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::Auth;
use crate::services::history::{self, HistoryQuery};
use crate::services::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/calls/history").route(web::get().to(list)));
}

async fn list(state: web::Data<AppState>, auth: Auth, q: web::Query<HistoryQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(history::list(&state, &auth, tenant, q).await?))
}

//! `GET /api/client-config`: the endpoints a client should use for its tenant: the
//! caller's (with a bearer token), else `?tenant=<slug>`, else the host name's.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::bearer_token;
use crate::services::auth::{self, TenantRef};
use crate::services::client_config::{self, Which};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/client-config").route(web::get().to(get)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    tenant: Option<String>,
}

async fn get(state: web::Data<AppState>, req: HttpRequest, q: web::Query<Query>) -> Result<HttpResponse, ApiError> {
    let base = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let which = match (bearer_token(&req), q.into_inner().tenant) {
        (Some(token), _) => Which::Id(auth::authenticate(&state, &token).await?.tenant),
        (None, Some(slug)) => Which::Named(TenantRef::Slug(slug)),
        (None, None) => Which::Named(TenantRef::Host(req.connection_info().host().to_string())),
    };
    Ok(HttpResponse::Ok().json(client_config::get(&state, which, &base).await?))
}

//! The HTTP API: one module per resource, thin handlers (extract, call one service, map the
//! result), the error shape and the extractors.

pub mod agents;
pub mod auth;
pub mod calls;
pub mod client_config;
pub mod error;
pub mod extract;
pub mod health;
pub mod licenses;
pub mod live;
pub mod metrics;
pub mod pages;
pub mod pbxes;
pub mod prompts;
pub mod queues;
pub mod request_span;
pub mod routing;
pub mod sms;
pub mod tenants;
pub mod trunks;
pub mod users;

use actix_web::web;

use error::ApiError;

/// Every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::routes(cfg);
    auth::routes(cfg);
    users::routes(cfg);
    tenants::routes(cfg);
    pbxes::routes(cfg);
    live::routes(cfg);
    calls::routes(cfg);
    agents::routes(cfg);
    queues::routes(cfg);
    trunks::routes(cfg);
    client_config::routes(cfg);
    routing::routes(cfg);
    prompts::routes(cfg);
    licenses::routes(cfg);
    sms::routes(cfg);
    metrics::routes(cfg);
    pages::routes(cfg);
    cfg.service(web::resource("/ws").route(web::get().to(crate::ws::session::connect)));
}

/// A malformed query string is a 400 in the JSON shape.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::bad_request(format!("invalid query string: {err}")).into())
}

/// A path that does not parse (`/api/users/abc`) names no resource: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into())
}

/// Unknown routes.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found())
}

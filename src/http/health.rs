//! Liveness and readiness (and the old system's paths for them).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::services::health;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/health").route(web::get().to(live)))
        .service(web::resource("/api/health/ready").route(web::get().to(ready)))
        .service(web::resource("/api/status").route(web::get().to(ready)))
        .service(web::resource("/api/users/system/health").route(web::get().to(ready)));
}

/// The process answers.
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// MariaDB and Redis answer; 503 naming the one that does not.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let r = health::readiness(&state).await;
    if r.ready {
        return HttpResponse::Ok().json(json!({"status": "ready", "checks": r.checks}));
    }
    let down: Vec<&str> = r.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE).json(json!({
        "error": {"code": "not_ready", "message": format!("unavailable: {}", down.join(", "))},
        "status": "not_ready",
        "checks": r.checks,
    }))
}

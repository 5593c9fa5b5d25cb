//! The browser pages in `static/`, compiled into the binary so the server serves them from
//! wherever it runs: the wallboard for now (the full UI is later work).

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const WALLBOARD_HTML: &str = include_str!("../../static/wallboard.html");
const WALLBOARD_JS: &str = include_str!("../../static/wallboard.js");
const WALLBOARD_CSS: &str = include_str!("../../static/wallboard.css");

/// Same-origin only; the WebSocket goes to the same host.
const CSP: &str =
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(
        web::get().to(|| async { HttpResponse::Found().insert_header((header::LOCATION, "/wallboard.html")).finish() }),
    ))
    .service(
        web::resource("/wallboard.html")
            .route(web::get().to(|| async { page("text/html; charset=utf-8", WALLBOARD_HTML) })),
    )
    .service(
        web::resource("/wallboard.js")
            .route(web::get().to(|| async { page("text/javascript; charset=utf-8", WALLBOARD_JS) })),
    )
    .service(
        web::resource("/wallboard.css")
            .route(web::get().to(|| async { page("text/css; charset=utf-8", WALLBOARD_CSS) })),
    );
}

fn page(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

//! `/api/sms/*`: sending (with `Idempotency-Key`), the provider's delivery reports and
//! inbound messages (authenticated by the tenant's secret in the URL), conversations, the
//! provider's balance, and the tenant's runtime provider configuration.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{roles, Auth, Json, TenantScope};
use crate::db::Page;
use crate::services::sms::{self, ConfigInput, SendInput};
use crate::services::users;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/sms/send").route(web::post().to(send)))
        .service(web::resource("/api/sms/dlr").route(web::post().to(dlr)).route(web::get().to(dlr)))
        .service(web::resource("/api/sms/inbound").route(web::post().to(inbound)))
        .service(web::resource("/api/sms/conversations").route(web::get().to(conversations)))
        .service(web::resource("/api/sms/conversations/{phone}").route(web::get().to(conversation)))
        .service(web::resource("/api/sms/balance").route(web::get().to(balance)))
        .service(web::resource("/api/sms/providers").route(web::get().to(providers)))
        .service(
            web::resource("/api/sms/config")
                .route(web::get().to(get_config))
                .route(web::put().to(put_config))
                .route(web::delete().to(delete_config)),
        );
}

async fn send(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: Json<SendInput>,
) -> Result<HttpResponse, ApiError> {
    let key = req.headers().get("idempotency-key").map(|v| v.to_str().map(str::to_string));
    let key = match key {
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => return Err(ApiError::invalid("Idempotency-Key", "Idempotency-Key must be printable ASCII")),
        None => None,
    };
    let (view, created) = sms::send(&state, &auth, body.0, key).await?;
    Ok(if created { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

/// A webhook's credentials in its URL; missing ones are refused by the service (401).
#[derive(Deserialize)]
struct WebhookQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    secret: String,
}

/// A webhook body as JSON, whether it came as JSON, a form, or query parameters.
fn webhook_body(req: &HttpRequest, body: &web::Bytes) -> Result<serde_json::Value, ApiError> {
    let mut map = serde_json::Map::new();
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    for (k, v) in query.into_iter().filter(|(k, _)| k != "tenant" && k != "secret") {
        map.insert(k, serde_json::Value::String(v));
    }
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !body.is_empty() {
        if content_type.starts_with("application/json") {
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(serde_json::Value::Object(o)) => map.extend(o),
                _ => return Err(ApiError::bad_request("the body is not a JSON object")),
            }
        } else {
            let form: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).map_err(|_| ApiError::bad_request("the body is not a form"))?;
            for (k, v) in form {
                map.insert(k, serde_json::Value::String(v));
            }
        }
    }
    Ok(serde_json::Value::Object(map))
}

async fn dlr(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<WebhookQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let report = webhook_body(&req, &body)?;
    sms::delivery_report(&state, &q.tenant, &q.secret, &report).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"ok": true})))
}

async fn inbound(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<WebhookQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let msg = webhook_body(&req, &body)?;
    Ok(HttpResponse::Ok().json(sms::inbound(&state, &q.tenant, &q.secret, &msg).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page: Option<u32>,
    per_page: Option<u32>,
}

async fn conversations(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sms::conversations(&state, &auth, Page::new(q.page, q.per_page)).await?))
}

async fn conversation(
    state: web::Data<AppState>,
    auth: Auth,
    phone: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sms::conversation(&state, &auth, &phone, Page::new(q.page, q.per_page)).await?))
}

async fn balance(state: web::Data<AppState>, auth: Auth<roles::Admin>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sms::balance(&state, &auth).await?))
}

async fn providers(state: web::Data<AppState>, auth: Auth<roles::Admin>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sms::providers(&state, &auth).await?))
}

async fn get_config(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(sms::get_config(&state, &auth, tenant).await?))
}

async fn put_config(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
    body: Json<ConfigInput>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    Ok(HttpResponse::Ok().json(sms::put_config(&state, &auth, tenant, body.0).await?))
}

async fn delete_config(
    state: web::Data<AppState>,
    auth: Auth<roles::Admin>,
    q: web::Query<TenantScope>,
) -> Result<HttpResponse, ApiError> {
    let tenant = users::scope(&auth, q.tenant_id)?;
    sms::delete_config(&state, &auth, tenant).await?;
    Ok(HttpResponse::NoContent().finish())
}

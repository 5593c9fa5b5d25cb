//! Login, logout, who am I; and the old system's `POST /api/users/login`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{client_ip, Auth, Json};
use crate::services::auth::{self, LoginInput, TenantRef};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/auth/login").route(web::post().to(login)))
        .service(web::resource("/api/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/api/auth/me").route(web::get().to(me)))
        .service(web::resource("/api/users/login").route(web::post().to(legacy_login)));
}

#[derive(Deserialize)]
struct LoginRequest {
    tenant: String,
    username: String,
    password: String,
}

/// The old clients send no tenant: it comes from the host name (or the default tenant).
#[derive(Deserialize)]
struct LegacyLoginRequest {
    username: String,
    password: String,
    #[serde(default)]
    tenant: Option<String>,
}

fn check_lengths(username: &str, password: &str) -> Result<(), ApiError> {
    if username.len() > 255 {
        return Err(ApiError::invalid("username", "username is too long"));
    }
    if password.len() > 1024 {
        return Err(ApiError::invalid("password", "password is too long"));
    }
    Ok(())
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    check_lengths(&b.username, &b.password)?;
    let input = LoginInput {
        tenant: TenantRef::Slug(b.tenant),
        username: b.username,
        password: b.password,
        client_ip: client_ip(&req, &state.config.trusted_proxies),
    };
    Ok(HttpResponse::Ok().json(auth::login(&state, input).await?))
}

async fn legacy_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LegacyLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    check_lengths(&b.username, &b.password)?;
    let tenant = match b.tenant {
        Some(slug) => TenantRef::Slug(slug),
        None => TenantRef::Host(req.connection_info().host().to_string()),
    };
    let input = LoginInput {
        tenant,
        username: b.username,
        password: b.password,
        client_ip: client_ip(&req, &state.config.trusted_proxies),
    };
    Ok(HttpResponse::Ok().json(auth::login(&state, input).await?))
}

async fn logout(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth::logout(&state, &auth.caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn me(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(auth::me(&state, &auth.caller).await?))
}

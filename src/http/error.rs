//! The HTTP error: one JSON shape, `{"error": {"code", "message", "field"}}`, for every 4xx
//! and 5xx, with the status of style.md's table. A 5xx says something generic; its cause is
//! logged here, once, inside the request span.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::services::ServiceError;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// The JSON of an error body.
pub fn error_json(code: &str, message: &str, field: Option<&str>) -> String {
    serde_json::to_string(&Body { error: Inner { code, message, field } })
        .unwrap_or_else(|_| r#"{"error":{"code":"internal","message":"internal error"}}"#.into())
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, retry_after_secs: None }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError { field: Some(field.into()), ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message) }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "invalid credentials or session")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, "application/json"));
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.body(error_json(self.code, &self.message, self.field.as_deref()))
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => ApiError::not_found(),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::Duplicate { field } => ApiError {
                field: Some(field.clone()),
                ..ApiError::new(StatusCode::CONFLICT, "conflict", format!("{field} already exists"))
            },
            ServiceError::Invalid { field, reason } => ApiError::invalid(field.clone(), format!("{field} {reason}")),
            ServiceError::Forbidden(m) => ApiError::forbidden(m),
            ServiceError::Upstream(m) => ApiError::new(StatusCode::BAD_GATEWAY, "upstream", m),
            ServiceError::Unauthorized => ApiError::unauthorized(),
            ServiceError::RateLimited { retry_after } => ApiError {
                retry_after_secs: Some(retry_after.as_secs_f64().ceil().max(1.0) as u64),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many attempts; try again later")
            },
            ServiceError::Unavailable(dep) => {
                tracing::warn!(dependency = dep, "dependency unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    format!("{dep} is unavailable; try again shortly"),
                )
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

/// The code for a bare status, for errors actix produces itself.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// `ErrorHandlers` default: any error response that is not already our JSON (actix's own
/// 404/405/413, a panic's 500, ...) is rewritten into the JSON shape, keeping its status
/// and headers such as `Allow`.
pub fn json_errors<B: MessageBody + 'static>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let message = if status.is_server_error() { "internal error".to_string() } else { message };
    let (req, mut response) = res.into_parts();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    let response = response.set_body(error_json(code_for(status), &message, None)).map_into_boxed_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, response).map_into_right_body()))
}

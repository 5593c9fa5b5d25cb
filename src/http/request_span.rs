//! One span per request, with a request id (`X-Request-Id` honoured when it is sane, else
//! generated, and echoed on the response). Logs one line per request with status and time;
//! never the query string, headers or body.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Instrument;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request (in the request's extensions).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.to_string())
}

pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "http.request",
        request.id = %id,
        http.method = %req.method(),
        http.path = %req.path(),
        tenant.id = tracing::field::Empty,
        user.id = tracing::field::Empty,
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let start = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    let _enter = span.enter();
    match result {
        Ok(mut res) => {
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(REQUEST_ID.clone(), v);
            }
            let status = res.status().as_u16();
            if res.status().is_server_error() {
                tracing::warn!(http.status = status, elapsed_ms, "request answered");
            } else {
                tracing::info!(http.status = status, elapsed_ms, "request answered");
            }
            Ok(res)
        }
        Err(e) => {
            tracing::warn!(elapsed_ms, error = %e, "request failed");
            Err(e)
        }
    }
}

//! Extractors every handler uses, so none can forget the checks:
//! - [`Auth<R>`]: a live session (JWT signature, expiry AND Redis session), the caller's
//!   tenant scope, and at least role `R`; records `tenant.id`/`user.id` on the request span.
//! - [`Json<T>`]: the body, with the content type, the size limit and field-naming errors
//!   (`422` naming the field for a missing or mistyped one, `400` for malformed JSON).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::{Caller, Role};
use crate::services;
use crate::state::AppState;

/// The least role a handler accepts.
pub trait RoleBound {
    const ROLE: Role;
}

/// Role markers for [`Auth`].
pub mod roles {
    use super::{Role, RoleBound};

    /// Any signed-in user.
    pub struct Agent;
    pub struct Manager;
    pub struct Admin;
    pub struct Superadmin;

    impl RoleBound for Agent {
        const ROLE: Role = Role::Agent;
    }
    impl RoleBound for Manager {
        const ROLE: Role = Role::Manager;
    }
    impl RoleBound for Admin {
        const ROLE: Role = Role::Admin;
    }
    impl RoleBound for Superadmin {
        const ROLE: Role = Role::Superadmin;
    }
}

/// An authenticated caller with at least role `R`.
pub struct Auth<R: RoleBound = roles::Agent> {
    pub caller: Caller,
    _role: PhantomData<R>,
}

impl<R: RoleBound> std::ops::Deref for Auth<R> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// The bearer token of a request: `Authorization: Bearer <token>`.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty())
}

/// The client's address: the peer's, or, when the peer is a trusted reverse proxy
/// (`TRUSTED_PROXIES`), the last address in `X-Forwarded-For` that is not one (entries
/// further left are the client's own claims and are not believed).
pub fn client_ip(req: &HttpRequest, trusted: &[crate::ip_range::IpRange]) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // From the right: proxies we trust are skipped; the first other entry is the client.
    // One that is not an address ends the walk (nothing left of it can be believed).
    let mut client = peer;
    for entry in forwarded.into_iter().rev() {
        match entry.parse::<std::net::IpAddr>() {
            Ok(ip) if is_trusted(ip) => client = ip,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(client)
}

/// Checks a token and the role; shared by [`Auth`] and the WebSocket upgrade.
pub async fn authenticate(state: &AppState, token: Option<String>, least: Role) -> Result<Caller, ApiError> {
    let token = token.ok_or_else(ApiError::unauthorized)?;
    let caller = services::auth::authenticate(state, &token).await.map_err(ApiError::from)?;
    let span = tracing::Span::current();
    span.record("tenant.id", caller.tenant.0);
    span.record("user.id", caller.user.0);
    if !caller.role.at_least(least) {
        return Err(ApiError::forbidden(format!("this needs the {least} role")));
    }
    Ok(caller)
}

impl<R: RoleBound + 'static> FromRequest for Auth<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))?;
            let caller = authenticate(&state, token, R::ROLE).await?;
            Ok(Auth { caller, _role: PhantomData })
        })
    }
}

/// A JSON body of type `T`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "expected Content-Type: application/json",
                ));
            }
            let body = bytes.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
                } else {
                    ApiError::bad_request("the request body could not be read")
                }
            })?;
            parse_json(&body).map(Json)
        })
    }
}

/// An optional JSON body: an empty body is `None`; anything else must be valid JSON of
/// type `T` (the old clients post some actions with no body at all).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes.await.map_err(|_| ApiError::bad_request("the request body could not be read"))?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(None));
            }
            // `null` is no body too.
            parse_json::<Option<T>>(&body).map(OptionalJson)
        })
    }
}

/// Deserialises a body: `400` when it is not JSON at all, else `422` naming the field that
/// is missing, unknown or of the wrong type. (serde_json alone cannot tell: some type errors
/// surface as syntax errors, so well-formedness is checked first.)
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(ApiError::bad_request("the JSON body is not valid UTF-8"));
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return Err(ApiError::bad_request("malformed JSON body"));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        let field = if path == "." { missing_field(&message).unwrap_or_default() } else { path };
        ApiError::invalid(field, message)
    })
}

/// serde reports a missing field at the parent's path; the name is in the message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `").or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        age: u32,
    }

    #[test]
    fn json_errors_name_the_field_or_say_malformed() {
        let e = parse_json::<Body>(br#"{"name": "x"}"#).expect_err("missing");
        assert_eq!((e.status, e.field.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("age")));
        let e = parse_json::<Body>(br#"{"name": "x", "age": "old"}"#).expect_err("mistyped");
        assert_eq!((e.status, e.field.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("age")));
        let e = parse_json::<Body>(br#"{"name": "x", "age": 3, "extra": 1}"#).expect_err("unknown");
        assert_eq!(e.field.as_deref(), Some("extra"));
        let e = parse_json::<Body>(b"{\"name\": \"\xff\xfe\", \"age\": 3}").expect_err("not utf-8");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = parse_json::<Body>(b"{nope").expect_err("malformed");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(parse_json::<Body>(br#"{"name": "x", "age": 3}"#).is_ok());
    }
}

/// `?tenant_id=`: a superadmin names the tenant it acts on (`services::users::scope`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantScope {
    pub tenant_id: Option<u64>,
}

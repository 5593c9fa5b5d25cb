//! The service layer's error: what went wrong in business terms. HTTP maps it to a status
//! (`http::error`); the cause of an internal error is logged there once and never sent.

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// An error of a service function.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Missing, or belonging to another tenant (never tell which).
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// A unique key says it exists already (the field, never the value).
    #[error("{field} already exists")]
    Duplicate { field: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0}")]
    Forbidden(String),
    /// Bad credentials or a dead session.
    #[error("invalid credentials")]
    Unauthorized,
    #[error("too many attempts")]
    RateLimited { retry_after: Duration },
    /// An outside provider (SMS, trunk balance) failed: what happened, for an operator.
    #[error("{0}")]
    Upstream(String),
    /// A dependency (database, redis, pbx) is down or saturated.
    #[error("{0} unavailable")]
    Unavailable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::Invalid { field: field.into(), reason: reason.into() }
    }

    /// A database error whose unique-key violation is reported on `field` (the key names
    /// an Asterisk object, the user meant the field it is built from).
    pub fn duplicate_as(field: &'static str) -> impl Fn(DieselError) -> ServiceError {
        move |e| match ServiceError::from(e) {
            ServiceError::Duplicate { .. } => ServiceError::Duplicate { field: field.into() },
            other => other,
        }
    }

    pub fn internal(context: &'static str, e: impl std::fmt::Display) -> Self {
        ServiceError::Internal(anyhow::anyhow!("{context}: {e}"))
    }
}

impl From<DieselError> for ServiceError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::NotFound => ServiceError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                ServiceError::Duplicate { field: unique_field(info.message()) }
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                ServiceError::Conflict("it is still used by other records".into())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | DieselError::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _)
            | DieselError::BrokenTransactionManager => ServiceError::Unavailable("database"),
            DieselError::DatabaseError(_, info) if looks_like_io(info.message()) => {
                ServiceError::Unavailable("database")
            }
            // InnoDB rolled the transaction back to break a deadlock: nothing was written, and
            // the same request again will go through (503 says so).
            DieselError::DatabaseError(_, info) if info.message().contains("Deadlock found") => {
                ServiceError::Unavailable("database")
            }
            _ => ServiceError::Internal(anyhow::anyhow!("database: {e}")),
        }
    }
}

/// mysql_async reports a lost server as an unknown database error with an I/O message.
fn looks_like_io(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "broken pipe",
        "connection reset",
        "connection refused",
        "connection was closed",
        "unexpected eof",
        "io error",
        "timed out",
        "gone away",
        "lost connection",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// The field of MariaDB's "Duplicate entry 'x' for key 'uq_users_tenant_username'", without
/// echoing the value.
fn unique_field(db_message: &str) -> String {
    let key = db_message.rsplit("for key '").next().and_then(|k| k.strip_suffix('\'')).unwrap_or("");
    let key = key.rsplit('.').next().unwrap_or(key);
    // `uq_<table>_<columns>`; table names hold `_` too, so the known ones are tried first.
    const TABLES: [&str; 14] = [
        "tenant_domains",
        "tenant_queues",
        "time_conditions",
        "inbound_routes",
        "outbound_routes",
        "ivr_menus",
        "extensions",
        "prompts",
        "tenants",
        "agents",
        "trunks",
        "pbxes",
        "users",
        "dids",
    ];
    let rest = key.strip_prefix("uq_").unwrap_or(key);
    let field = TABLES
        .iter()
        .find_map(|t| rest.strip_prefix(t).and_then(|r| r.strip_prefix('_')))
        .or_else(|| rest.split_once('_').map(|(_, r)| r))
        .unwrap_or(rest);
    let field = field.strip_prefix("tenant_").unwrap_or(field);
    if key == "PRIMARY" {
        "id".into()
    } else if field.is_empty() {
        "record".into()
    } else {
        field.to_string()
    }
}

impl From<bb8::RunError<diesel_async::pooled_connection::PoolError>> for ServiceError {
    fn from(_: bb8::RunError<diesel_async::pooled_connection::PoolError>) -> Self {
        ServiceError::Unavailable("database")
    }
}

impl From<crate::redis::RedisError> for ServiceError {
    fn from(_: crate::redis::RedisError) -> Self {
        ServiceError::Unavailable("redis")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violation_names_the_field_not_the_value() {
        assert_eq!(unique_field("Duplicate entry '7-alice' for key 'uq_users_tenant_username'"), "username");
        assert_eq!(unique_field("Duplicate entry 'x' for key 'users.uq_users_tenant_extension'"), "extension");
        assert_eq!(unique_field("Duplicate entry 'acme' for key 'uq_tenants_slug'"), "slug");
        assert_eq!(unique_field("Duplicate entry '5' for key 'uq_inbound_routes_pattern'"), "pattern");
        assert_eq!(unique_field("Duplicate entry '5-45' for key 'uq_dids_tenant_dial_prefix'"), "dial_prefix");
        assert_eq!(unique_field("Duplicate entry '5-x' for key 'uq_tenant_queues_tenant_name'"), "name");
        assert_eq!(unique_field("Duplicate entry 'x' for key 'PRIMARY'"), "id");
        assert_eq!(unique_field("weird"), "record");
    }
}

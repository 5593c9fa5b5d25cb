//! Business rules, one module per domain concept: tenant scoping, role rules, transactions,
//! and calls to Redis and the live actors. Services take a `Caller` or a `TenantId`, never
//! a request.

pub mod audit;
pub mod auth;
pub mod error;
pub mod health;
pub mod live;
pub mod pbxes;
pub mod tenants;
pub mod users;
pub mod validate;

pub use error::{ServiceError, ServiceResult};

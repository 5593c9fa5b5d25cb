//! Business rules, one module per domain concept: tenant scoping, role rules, transactions,
//! and calls to Redis and the live actors. Services take a `Caller` or a `TenantId`, never
//! a request.

pub mod agents;
pub mod audit;
pub mod auth;
pub mod balance;
pub mod calls;
pub mod client_config;
pub mod dialplan;
pub mod dids;
pub mod error;
pub mod health;
pub mod history;
pub mod ivr;
pub mod licenses;
pub mod live;
pub mod pbxes;
pub mod prompts;
pub mod queues;
pub mod routes;
pub mod sms;
pub mod telephony;
pub mod tenants;
pub mod time_conditions;
pub mod trunks;
pub mod users;
pub mod validate;

pub use error::{ServiceError, ServiceResult};

use crate::domain::{Caller, Role};

/// The caller has at least `role`.
pub fn require(caller: &Caller, role: Role) -> ServiceResult<()> {
    if caller.role.at_least(role) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!("this needs the {role} role")))
    }
}

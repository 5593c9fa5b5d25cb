//! A tenant: the translation of its AMI events into calls and facts (`state`), and the
//! actor that owns them and its queue and agent actors (`actor`).

pub mod actor;
pub mod state;
pub mod topics;

pub use actor::TenantActor;
pub use state::{Effect, Snapshot, TenantState};

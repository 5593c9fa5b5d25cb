//! Live state: the PBX router, tenant, queue and agent actors, the call registry, and the
//! figures they keep (design.md "Live state"). Each actor's state is a plain struct with
//! unit tests (`*/state.rs`); the actors around them are thin. Snapshots and changes
//! serialise, for the REST API and the push layer.

pub mod agent;
pub mod calls;
pub mod facts;
pub mod figures;
pub mod ids;
pub mod metrics;
pub mod queue;
pub mod registry;
pub mod router;
pub mod routing;
pub mod spec;
pub mod store;
pub mod supervisor;
pub mod tenant;

pub use ids::{AgentId, Millis, TenantId};
pub use registry::Registry;
pub use spec::{AgentSpec, LiveSpec, PauseState, PbxSpec, QueueSettings, TenantSpec};
pub use store::{LiveStore, MemoryStore};
pub use supervisor::LiveSupervisor;

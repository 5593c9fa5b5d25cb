//! An agent: its state machine (`state`) and the actor around it (`actor`).

pub mod actor;
pub mod state;

pub use actor::AgentActor;
pub use state::{AgentSnapshot, AgentState, AgentStatus};

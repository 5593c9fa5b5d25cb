//! A queue: its state machine (`state`) and the actor around it (`actor`).

pub mod actor;
pub mod state;

pub use actor::QueueActor;
pub use state::{QueueSnapshot, QueueState};

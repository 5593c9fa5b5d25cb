//! Mayday's live side: the AMI protocol and connection actor, the live-state actors
//! (PBX router, tenant, queue, agent), the push topics and the simulated PBX.
//!
//! This crate knows no HTTP and no SQL; the server in `src/` feeds it configuration.

pub mod ami;
pub mod live;
pub mod push;
pub mod sim;

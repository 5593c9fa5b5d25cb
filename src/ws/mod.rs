//! WebSocket sessions at `GET /ws` (the only place that uses actix-web-actors, so a move to
//! actix-ws stays local): authentication on upgrade, the client protocol, and the registry
//! that closes a user's sockets when their session ends.

pub mod protocol;
pub mod registry;
pub mod session;

pub use registry::WsRegistry;

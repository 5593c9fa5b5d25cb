//! The AMI protocol: bytes <-> messages, typed events and actions, and the connection
//! actor that owns one PBX link (asterisk.md sections 1-3).

pub mod action;
pub mod codec;
pub mod event;
pub mod message;

pub use action::Action;
pub use codec::{AmiCodec, BatchCodec, CodecError, CodecStats, Frame, Limits};
pub use event::{EventKind, TypedEvent};
pub use message::{Message, MessageKind};

pub mod config;
pub mod connection;
pub mod link;

pub use config::{AmiConfig, AuthMode, Secret};
pub use connection::AmiConnection;
pub use link::{ActionResponse, AmiError, AmiEvents, AmiLink, ConnectKind, LinkEvent, LinkState, LinkStatus, PbxId};

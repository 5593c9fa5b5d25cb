//! Push to browsers (design.md "Push to browsers"): topics with per-topic sequence numbers
//! and a bounded history for resuming, payloads serialised once and shared by every
//! subscriber, and per-subscriber bounded outboxes that coalesce a slow client's backlog
//! into one fresh snapshot per topic, and close it if it stays stuck. The WebSocket session
//! actor (in the server) drains its outbox; nothing here waits on a browser.

pub mod frame;
pub mod metrics;
pub mod outbox;
pub mod topic;

pub use frame::{Frame, FrameKind, TopicName};
pub use metrics::PushMetrics;
pub use outbox::{CloseReason, Drained, Outbox, OutboxLimits};
pub use topic::{Resume, Topic};

//! The handle the rest of Mayday holds on one PBX link, and what the link reports.
//!
//! [`AmiLink`] sends actions and awaits their responses (matched by ActionID inside the
//! connection actor); [`LinkStatus`] is readable at any time for health and the UI; the
//! connection tells its owner about link changes with [`LinkEvent`] and hands decoded
//! events over in [`AmiEvents`] batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use super::action::{is_empty_list_error, Action, InvalidAction};
use super::message::Message;

/// Identifies a PBX (the `pbxes` row id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PbxId(pub u64);

impl std::fmt::Display for PbxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Errors of the AMI layer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmiError {
    #[error("the PBX link is not connected")]
    NotConnected,
    #[error("the PBX link dropped before the answer came")]
    Disconnected,
    #[error("the PBX did not answer in time")]
    Timeout,
    #[error("the PBX refused the login: {0}")]
    LoginRejected(String),
    #[error("the PBX refused the action: {message}")]
    ActionFailed { message: String },
    #[error(transparent)]
    Invalid(#[from] InvalidAction),
}

/// The answer to one action: the response, and for list actions the items and the
/// closing `...Complete` event.
#[derive(Clone, Debug)]
pub struct ActionResponse {
    pub response: Message,
    pub items: Vec<Message>,
    pub complete: Option<Message>,
    /// How many events of this link had been handed to the event subscriber when this
    /// answer was complete. Events numbered below it happened before Asterisk ran the
    /// action (a resync snapshot already reflects them); events from it on happened after.
    pub event_seq: u64,
}

impl ActionResponse {
    /// True for `Response: Success` (and `Follows`, the old Command form).
    pub fn is_success(&self) -> bool {
        self.response.response().is_some_and(|r| r.eq_ignore_ascii_case("Success") || r.eq_ignore_ascii_case("Follows"))
    }

    /// The response's `Message:` text.
    pub fn message(&self) -> Option<&str> {
        self.response.message_text()
    }

    /// Turns `Response: Error` into [`AmiError::ActionFailed`], except the errors that PJSIP
    /// list actions use to mean "nothing to list" (asterisk.md gotcha 14).
    pub fn into_result(self) -> Result<ActionResponse, AmiError> {
        if self.is_success() {
            return Ok(self);
        }
        let message = self.message().unwrap_or("error").to_string();
        if is_empty_list_error(&message) {
            return Ok(ActionResponse { items: Vec::new(), ..self });
        }
        Err(AmiError::ActionFailed { message })
    }
}

/// Why the link is (re)connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectKind {
    /// The first connection of this link.
    First,
    /// The link dropped and came back; Asterisk kept running (same startup time).
    Reconnected,
    /// Asterisk restarted (its startup time changed); it may have sent no Shutdown.
    Restarted,
}

/// Link changes, sent to the link's owner.
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub enum LinkEvent {
    /// Logged in, Asterisk fully booted: time to resync.
    Connected { pbx: PbxId, kind: ConnectKind, startup: String, link: AmiLink },
    /// The link went down (network error, dead keepalive, PBX closed it).
    Disconnected { pbx: PbxId, reason: String },
    /// The PBX refused the credentials; retried slowly.
    AuthFailed { pbx: PbxId, reason: String },
}

/// Decoded events of one link, in wire order, one batch per socket read.
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct AmiEvents {
    pub pbx: PbxId,
    /// Sequence number of `events[0]`; numbers are consecutive within and across batches
    /// of one link (they start again at 0 on each connection).
    pub first_seq: u64,
    /// Which connection of the link these came from (see [`LinkStatus::connection`]).
    pub connection: u64,
    pub events: Vec<Message>,
}

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Connecting,
    LoggingIn,
    Booting,
    Connected,
    Backoff,
    AuthFailed,
    Stopped,
}

/// A snapshot of a link, readable at any time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkStatus {
    pub pbx: PbxId,
    pub state: LinkState,
    /// Increments with each TCP connection made.
    pub connection: u64,
    /// Epoch milliseconds since the current state began.
    pub since_ms: i64,
    /// Asterisk's startup (`CoreStartupDate CoreStartupTime`) seen at the last login.
    pub startup: Option<String>,
    /// The AMI version from the banner.
    pub ami_version: Option<String>,
    /// Connection attempts made since the last successful connection.
    pub attempts: u64,
    /// Login attempts refused in a row.
    pub auth_failures: u64,
    /// Successful connections after the first.
    pub reconnects: u64,
    pub last_error: Option<String>,
    /// Epoch milliseconds of the next attempt, while backing off.
    pub retry_at_ms: Option<i64>,
}

impl LinkStatus {
    pub(crate) fn new(pbx: PbxId) -> Self {
        LinkStatus {
            pbx,
            state: LinkState::Connecting,
            connection: 0,
            since_ms: now_ms(),
            startup: None,
            ami_version: None,
            attempts: 0,
            auth_failures: 0,
            reconnects: 0,
            last_error: None,
            retry_at_ms: None,
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Counters of one link, shared with the metrics endpoint.
#[derive(Debug, Default)]
pub struct LinkMetrics {
    pub events_received: AtomicU64,
    pub responses: AtomicU64,
    pub actions_sent: AtomicU64,
    pub action_timeouts: AtomicU64,
    pub reconnects: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub bytes_received: AtomicU64,
}

impl LinkMetrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Submit an action (internal message to the connection actor).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Submit {
    pub(crate) action: Action,
    pub(crate) timeout: Duration,
    pub(crate) reply: oneshot::Sender<Result<ActionResponse, AmiError>>,
}

/// Stop the link for good (PBX removed or disabled).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopLink;

/// Test and fault hook: drop the current TCP connection as if the network failed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropConnection;

/// A cheap, cloneable handle on one PBX link.
#[derive(Clone)]
pub struct AmiLink {
    pub(crate) addr: Addr<super::connection::AmiConnection>,
    pub(crate) pbx: PbxId,
    pub(crate) default_timeout: Duration,
    pub(crate) status: watch::Receiver<LinkStatus>,
    pub(crate) metrics: Arc<LinkMetrics>,
}

impl std::fmt::Debug for AmiLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmiLink").field("pbx", &self.pbx).finish()
    }
}

impl AmiLink {
    /// The PBX this link talks to.
    pub fn pbx(&self) -> PbxId {
        self.pbx
    }

    /// Sends an action and waits for its answer; `Response: Error` becomes
    /// [`AmiError::ActionFailed`] (see [`ActionResponse::into_result`]).
    pub async fn send(&self, action: impl Into<Action>) -> Result<ActionResponse, AmiError> {
        self.send_raw(action.into(), self.default_timeout).await?.into_result()
    }

    /// Sends with its own timeout.
    pub async fn send_with_timeout(
        &self,
        action: impl Into<Action>,
        timeout: Duration,
    ) -> Result<ActionResponse, AmiError> {
        self.send_raw(action.into(), timeout).await?.into_result()
    }

    /// Sends and returns whatever the PBX answered, errors included.
    pub async fn send_raw(&self, action: Action, timeout: Duration) -> Result<ActionResponse, AmiError> {
        action.validate()?;
        let (reply, rx) = oneshot::channel();
        if !self.addr.connected() {
            return Err(AmiError::NotConnected);
        }
        // do_send ignores the mailbox bound on purpose: thousands of actions may be in flight.
        self.addr.do_send(Submit { action, timeout, reply });
        rx.await.map_err(|_| AmiError::Disconnected)?
    }

    /// The link's state now.
    pub fn status(&self) -> LinkStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<LinkStatus> {
        self.status.clone()
    }

    /// The link's counters.
    pub fn metrics(&self) -> &Arc<LinkMetrics> {
        &self.metrics
    }

    /// Stops the link for good.
    pub fn stop(&self) {
        self.addr.do_send(StopLink);
    }

    /// Drops the TCP connection as a network failure would (tests, fault drills).
    pub fn drop_connection(&self) {
        self.addr.do_send(DropConnection);
    }

    /// True while the connection actor is alive (false after a panic killed it).
    pub fn is_alive(&self) -> bool {
        self.addr.connected()
    }
}

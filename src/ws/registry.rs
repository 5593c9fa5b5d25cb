//! Open WebSocket sessions by login session, so logout, disabling a user or changing their
//! password closes their sockets at once (sessions also re-check Redis on each heartbeat,
//! which covers sessions ended by another node).

use actix::prelude::*;
use dashmap::DashMap;
use mayday_actors::push::CloseReason;

/// Close a session's socket.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct CloseSocket(pub CloseReason);

#[derive(Default)]
pub struct WsRegistry {
    by_session: DashMap<String, Vec<(u64, Recipient<CloseSocket>)>>,
}

impl WsRegistry {
    pub fn add(&self, sid: &str, id: u64, socket: Recipient<CloseSocket>) {
        self.by_session.entry(sid.to_string()).or_default().push((id, socket));
    }

    pub fn remove(&self, sid: &str, id: u64) {
        if let Some(mut list) = self.by_session.get_mut(sid) {
            list.retain(|(i, _)| *i != id);
        }
        self.by_session.remove_if(sid, |_, list| list.is_empty());
    }

    /// Closes every socket of a login session.
    pub fn close(&self, sid: &str, reason: CloseReason) {
        if let Some((_, list)) = self.by_session.remove(sid) {
            for (_, socket) in list {
                socket.do_send(CloseSocket(reason));
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_session.iter().map(|e| e.value().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

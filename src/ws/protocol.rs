//! The WebSocket protocol: what a client sends (JSON text frames, one `op` each) and the
//! control frames the server answers with. Topic frames (`snapshot`, `delta`) come from
//! the push layer (`mayday_actors::push::Frame`).

use serde::{Deserialize, Serialize};

/// Where a client left a topic: its epoch and last sequence number.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Since {
    pub epoch: u64,
    pub seq: u64,
}

/// A client's request.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientOp {
    Subscribe {
        topic: String,
        #[serde(default)]
        since: Option<Since>,
        #[serde(default)]
        id: Option<String>,
    },
    Unsubscribe {
        topic: String,
        #[serde(default)]
        id: Option<String>,
    },
    /// Pause an agent (yourself when `agent` is absent).
    Pause {
        #[serde(default)]
        agent: Option<u64>,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        id: Option<String>,
    },
    Unpause {
        #[serde(default)]
        agent: Option<u64>,
        #[serde(default)]
        id: Option<String>,
    },
    Ping {
        #[serde(default)]
        id: Option<String>,
    },
}

impl ClientOp {
    pub fn id(&self) -> Option<&str> {
        match self {
            ClientOp::Subscribe { id, .. }
            | ClientOp::Unsubscribe { id, .. }
            | ClientOp::Pause { id, .. }
            | ClientOp::Unpause { id, .. }
            | ClientOp::Ping { id } => id.as_deref(),
        }
    }
}

/// A control frame of the server.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Hello {
        user: u64,
        tenant: u64,
        role: &'a str,
        heartbeat_ms: u64,
        idle_timeout_ms: u64,
        /// Where the licence limits come from (`licensed`, `development`, `unlicensed`):
        /// clients show a development or unlicensed installation as such.
        licence: crate::license::Source,
    },
    Subscribed {
        topic: &'a str,
        resumed: bool,
        replayed: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
    },
    Unsubscribed {
        topic: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
    },
    Ack {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        result: serde_json::Value,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        code: &'a str,
        message: &'a str,
    },
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
    },
}

impl ServerFrame<'_> {
    pub fn to_text(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"type":"error","code":"internal","message":"internal error"}"#.into())
    }
}

/// Parses a client frame; the error says what was wrong, for an `error` frame.
pub fn parse(text: &str) -> Result<ClientOp, String> {
    serde_json::from_str::<ClientOp>(text).map_err(|e| {
        let m = e.to_string();
        if e.is_data() {
            format!("unknown or malformed op: {}", m.split(" at line ").next().unwrap_or(&m))
        } else {
            "not JSON".to_string()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_parse_and_garbage_is_named() {
        assert_eq!(
            parse(r#"{"op":"subscribe","topic":"wallboard","since":{"epoch":3,"seq":41}}"#),
            Ok(ClientOp::Subscribe { topic: "wallboard".into(), since: Some(Since { epoch: 3, seq: 41 }), id: None })
        );
        assert_eq!(
            parse(r#"{"op":"pause","reason":"lunch","id":"c1"}"#).map(|o| o.id().map(str::to_string)),
            Ok(Some("c1".into()))
        );
        assert!(parse("}{").expect_err("garbage").contains("not JSON"));
        assert!(parse(r#"{"op":"format_disk"}"#).expect_err("unknown").contains("unknown or malformed op"));
        assert!(parse(r#"{"op":"subscribe"}"#).is_err(), "the topic is required");
        let hello = ServerFrame::Error { id: Some("x"), code: "forbidden", message: "no" }.to_text();
        assert_eq!(hello, r#"{"type":"error","id":"x","code":"forbidden","message":"no"}"#);
    }
}

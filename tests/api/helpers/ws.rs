//! WebSocket test clients: a well-behaved one (awc) and a raw one that can stop reading.

use std::collections::BTreeMap;
use std::time::Duration;

use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::TestApp;

pub struct WsClient {
    framed: actix_codec::Framed<awc::BoxedSocket, ws::Codec>,
    /// Control frames seen while waiting for something else.
    pub seen: Vec<Value>,
    /// The server's first frame.
    pub hello: Value,
}

/// What a client closed with.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl TestApp {
    /// Connects with the token as the `bearer` subprotocol (what browsers do).
    pub async fn ws(&self, token: &str) -> WsClient {
        let url = format!("ws://127.0.0.1:{}/ws", self.port);
        let (res, framed) =
            awc::Client::new().ws(url).protocols(["bearer", token]).connect().await.expect("WebSocket connects");
        assert_eq!(res.status().as_u16(), 101);
        let mut c = WsClient { framed, seen: Vec::new(), hello: Value::Null };
        let hello = c.next().await.expect("hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        c.hello = hello;
        c
    }

    /// A refused upgrade: its HTTP status.
    pub async fn ws_refused(&self, token: Option<&str>) -> u16 {
        let url = format!("ws://127.0.0.1:{}/ws", self.port);
        let mut req = awc::Client::new().ws(url);
        if let Some(t) = token {
            req = req.protocols(["bearer", t]);
        }
        match req.connect().await {
            Err(awc::error::WsClientError::InvalidResponseStatus(s)) => s.as_u16(),
            Ok((res, _)) => res.status().as_u16(),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
}

impl WsClient {
    pub async fn send(&mut self, v: Value) {
        self.framed.send(ws::Message::Text(v.to_string().into())).await.expect("sent");
    }

    pub async fn send_raw(&mut self, msg: ws::Message) {
        self.framed.send(msg).await.expect("sent");
    }

    /// The next text frame as JSON (pings answered, pongs skipped), within 5 s.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(Duration::from_secs(5)).await
    }

    pub async fn next_within(&mut self, within: Duration) -> Option<Value> {
        loop {
            let frame = actix_web::rt::time::timeout(within, self.framed.next()).await.ok()??;
            match frame.ok()? {
                ws::Frame::Text(b) => return serde_json::from_slice(&b).ok(),
                ws::Frame::Ping(b) => {
                    let _ = self.framed.send(ws::Message::Pong(b)).await;
                }
                ws::Frame::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// Waits for the server to close; returns its code and reason.
    pub async fn closed(&mut self) -> Option<Closed> {
        loop {
            let frame = actix_web::rt::time::timeout(Duration::from_secs(10), self.framed.next()).await.ok()??;
            match frame.ok()? {
                ws::Frame::Close(Some(r)) => {
                    return Some(Closed { code: r.code.into(), reason: r.description.unwrap_or_default() })
                }
                ws::Frame::Close(None) => return Some(Closed { code: 1005, reason: String::new() }),
                _ => {}
            }
        }
    }

    /// Sends an op and returns the first frame of `kind` that answers it (by id).
    pub async fn request(&mut self, mut op: Value, id: &str) -> Value {
        op["id"] = json!(id);
        self.send(op).await;
        loop {
            let v = self.next().await.expect("an answer");
            if v["id"] == id {
                return v;
            }
            self.seen.push(v);
        }
    }
}

/// A client's picture of the wallboard, built from a snapshot and deltas.
#[derive(Debug, Default)]
pub struct WallboardModel {
    pub epoch: u64,
    pub seq: u64,
    pub queues: BTreeMap<String, Value>,
    pub agents: BTreeMap<u64, Value>,
    /// Sequence numbers of the deltas applied, in order.
    pub applied: Vec<u64>,
}

impl WallboardModel {
    /// Applies a `snapshot` or `delta` of the wallboard topic.
    pub fn apply(&mut self, f: &Value) {
        let seq = f["seq"].as_u64().expect("seq");
        match f["type"].as_str() {
            Some("snapshot") => {
                self.queues.clear();
                self.agents.clear();
                self.applied.clear();
            }
            Some("delta") => {
                assert_eq!(seq, self.seq + 1, "deltas arrive in order with no gap");
                self.applied.push(seq);
            }
            other => panic!("not a topic frame: {other:?}"),
        }
        self.epoch = f["epoch"].as_u64().expect("epoch");
        self.seq = seq;
        let data = &f["data"];
        for q in data["queues"].as_array().into_iter().flatten() {
            self.queues.insert(q["asterisk_name"].as_str().unwrap_or_default().to_string(), q.clone());
        }
        for a in data["agents"].as_array().into_iter().flatten() {
            self.agents.insert(a["id"].as_u64().unwrap_or_default(), a.clone());
        }
        for n in data["removed_agents"].as_array().into_iter().flatten() {
            self.agents.remove(&n.as_u64().unwrap_or_default());
        }
    }

    /// Differences with the simulated PBX's truth (figures, waiting, agent states).
    pub fn differences(&self, truth: &mayday_actors::sim::Truth) -> Vec<String> {
        let mut d = Vec::new();
        for (name, tq) in &truth.queues {
            let Some(q) = self.queues.get(name) else {
                d.push(format!("queue {name} missing"));
                continue;
            };
            let figures = serde_json::to_value(&tq.figures).expect("figures");
            if q["figures"] != figures || q["waiting"].as_u64() != Some(tq.waiting.len() as u64) {
                d.push(format!(
                    "queue {name}: {} waiting {} != truth {figures} waiting {}",
                    q["figures"],
                    q["waiting"],
                    tq.waiting.len()
                ));
            }
        }
        for a in self.agents.values() {
            let ext = a["extension"].as_str().unwrap_or_default();
            let Some(ta) = truth.agents.get(ext) else { continue };
            if a["status"].as_str() != Some(ta.status.as_str())
                || (ta.status == "paused" && a["reason"].as_str() != ta.reason.as_deref())
            {
                d.push(format!("agent {ext}: {} {} != truth {} {:?}", a["status"], a["reason"], ta.status, ta.reason));
            }
        }
        d
    }
}

/// A raw WebSocket client with a tiny receive buffer, which can stop reading: the slow
/// consumer of the slow-consumer test.
pub struct RawWs {
    stream: tokio::net::TcpStream,
}

impl RawWs {
    pub async fn connect(port: u16, token: &str) -> RawWs {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("small receive buffer");
        let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.expect("connect");
        let req = format!(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: bearer, {token}\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await.expect("handshake sent");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).await.expect("handshake answer");
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        RawWs { stream }
    }

    /// Sends a masked text frame.
    pub async fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        let mask = [7u8, 13, 21, 42];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.expect("frame sent");
    }
}

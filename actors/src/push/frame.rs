//! What goes to a browser, already serialised: `{"type":"snapshot"|"delta","topic":...,
//! "epoch":...,"seq":...,"data":...}`. The JSON is built once per topic change and the
//! text is shared (`ByteString` is a reference-counted buffer) by every subscriber.

use std::sync::Arc;

use bytestring::ByteString;

/// A topic's name: `wallboard`, `calls`, `queue:<name>`, `agent:<id>`.
pub type TopicName = Arc<str>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Snapshot,
    Delta,
    /// Anything else the session sends (errors, acks, closes): never coalesced.
    Control,
}

/// One frame for one topic.
#[derive(Clone, Debug)]
pub struct Frame {
    pub topic: TopicName,
    pub kind: FrameKind,
    pub seq: u64,
    pub text: ByteString,
}

impl Frame {
    /// Builds a snapshot or delta frame around `data` (already JSON).
    pub fn build(topic: &TopicName, kind: FrameKind, epoch: u64, seq: u64, data: &str) -> Frame {
        let kind_name = match kind {
            FrameKind::Snapshot => "snapshot",
            FrameKind::Delta => "delta",
            FrameKind::Control => "control",
        };
        let topic_json = serde_json::to_string(&**topic).unwrap_or_else(|_| "\"\"".into());
        let mut s = String::with_capacity(data.len() + topic_json.len() + 64);
        s.push_str("{\"type\":\"");
        s.push_str(kind_name);
        s.push_str("\",\"topic\":");
        s.push_str(&topic_json);
        s.push_str(",\"epoch\":");
        s.push_str(&epoch.to_string());
        s.push_str(",\"seq\":");
        s.push_str(&seq.to_string());
        s.push_str(",\"data\":");
        s.push_str(data);
        s.push('}');
        Frame { topic: topic.clone(), kind, seq, text: ByteString::from(s) }
    }

    /// A control frame (not tied to a topic's sequence).
    pub fn control(text: String) -> Frame {
        Frame { topic: Arc::from(""), kind: FrameKind::Control, seq: 0, text: ByteString::from(text) }
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_valid_json_with_its_topic_and_sequence() {
        let f = Frame::build(&Arc::from("queue:\"sales\""), FrameKind::Delta, 7, 42, r#"{"x":1}"#);
        let v: serde_json::Value = serde_json::from_str(&f.text).expect("json");
        assert_eq!(v["type"], "delta");
        assert_eq!(v["topic"], "queue:\"sales\"");
        assert_eq!((v["epoch"].as_u64(), v["seq"].as_u64(), v["data"]["x"].as_u64()), (Some(7), Some(42), Some(1)));
    }
}

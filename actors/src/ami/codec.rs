//! Bytes <-> AMI messages (asterisk.md 1.2, 1.5).
//!
//! The decoder is resumable: it remembers the fields it has already split and where the
//! next line starts, so a message arriving one byte at a time is scanned once. A message
//! is cut out of the read buffer as one frozen `Bytes` and its fields are spans into it.
//! It bounds itself (a line over `max_line_bytes` or a message over `max_message_bytes` is
//! dropped and the decoder resynchronises at the next blank line), replaces invalid UTF-8
//! instead of failing, tolerates LF-only line ends and empty messages, and reads both forms
//! of Command output. Only I/O errors end a stream. No I/O, clock or actix here.

use bytes::{Buf, BytesMut};
use memchr::memchr;
use tokio_util::codec::{Decoder, Encoder};

use super::message::{span, Field, Message};

/// Size bounds of the decoder.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest accepted line (asterisk.md suggests 64 KiB).
    pub max_line_bytes: usize,
    /// Largest accepted message (asterisk.md suggests 4 MiB).
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line_bytes: 64 * 1024, max_message_bytes: 4 * 1024 * 1024 }
    }
}

/// What the decoder yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The first line a PBX sends: `Asterisk Call Manager/<AMI version>`.
    Banner(String),
    /// One complete message.
    Message(Message),
}

/// Counters of what the decoder had to repair or drop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodecStats {
    pub messages: u64,
    pub dropped_oversized: u64,
    pub empty_messages: u64,
    pub invalid_utf8_repaired: u64,
}

/// Errors that end a stream: only I/O.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("AMI stream I/O error: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for the banner line (client side only).
    Banner,
    /// Reading `Key: Value` lines.
    Headers,
    /// Inside an Asterisk <= 13 `Response: Follows` Command answer: every line up to
    /// `--END COMMAND--` is output.
    Follows,
    /// Dropping an oversized message until the next blank line. `in_line` is true while the
    /// rest of an overlong line is still being discarded.
    Skipping { in_line: bool },
}

/// The AMI decoder/encoder. Use [`AmiCodec::client`] to read a PBX (expects the banner) and
/// [`AmiCodec::server`] to read clients (the simulated PBX).
#[derive(Debug)]
pub struct AmiCodec {
    limits: Limits,
    state: State,
    /// Offset of the start of the next unread line; the current message starts at 0.
    line_start: usize,
    fields: Vec<Field>,
    stats: CodecStats,
}

const END_COMMAND: &[u8] = b"--END COMMAND--";

impl AmiCodec {
    /// A decoder for the PBX side of a connection: the first line is the banner.
    pub fn client(limits: Limits) -> Self {
        Self::new(limits, State::Banner)
    }

    /// A decoder for the client side of a connection (no banner).
    pub fn server(limits: Limits) -> Self {
        Self::new(limits, State::Headers)
    }

    fn new(limits: Limits, state: State) -> Self {
        AmiCodec { limits, state, line_start: 0, fields: Vec::with_capacity(24), stats: CodecStats::default() }
    }

    /// What has been decoded, dropped and repaired so far.
    pub fn stats(&self) -> CodecStats {
        self.stats
    }

    fn reset_message(&mut self) {
        self.fields.clear();
        self.line_start = 0;
    }

    /// Starts discarding the current message; everything read so far is released.
    fn start_skipping(&mut self, src: &mut BytesMut, consumed: usize, in_line: bool) {
        self.stats.dropped_oversized += 1;
        tracing::warn!(
            dropped = self.stats.dropped_oversized,
            max_line_bytes = self.limits.max_line_bytes,
            max_message_bytes = self.limits.max_message_bytes,
            "AMI message over the size limit dropped; resynchronising at the next blank line"
        );
        src.advance(consumed.min(src.len()));
        self.reset_message();
        self.state = State::Skipping { in_line };
    }

    /// Cuts the finished message (`end` = bytes including its terminating blank line).
    fn finish_message(&mut self, src: &mut BytesMut, end: usize) -> Option<Frame> {
        let bytes = src.split_to(end).freeze();
        let fields = std::mem::replace(&mut self.fields, Vec::with_capacity(24));
        self.line_start = 0;
        self.state = State::Headers;
        self.stats.messages += 1;
        // One UTF-8 check per message (std's has an ASCII fast path, and AMI is ASCII but
        // for names); reading fields afterwards is slicing.
        if let Ok(text) = bytestring::ByteString::try_from(bytes.clone()) {
            return Some(Frame::Message(Message::from_parts(text, fields)));
        }
        // Rare path: Asterisk passes SIP display names through as bytes. Replace the bad
        // sequences and split the repaired text again (spans moved).
        self.stats.invalid_utf8_repaired += 1;
        let repaired = String::from_utf8_lossy(&bytes).into_owned();
        Some(Frame::Message(reparse(repaired)))
    }

    fn decode_one(&mut self, src: &mut BytesMut) -> Option<Frame> {
        loop {
            let Some(rel) = memchr(b'\n', src.get(self.line_start..)?) else {
                self.check_partial_line(src);
                return None;
            };
            let nl = self.line_start + rel;
            let line_end = if nl > self.line_start && src.get(nl - 1) == Some(&b'\r') { nl - 1 } else { nl };
            let start = self.line_start;
            let next = nl + 1;

            match self.state {
                State::Banner => {
                    let line = src.get(start..line_end).unwrap_or_default();
                    if line.is_empty() {
                        // Stray blank line before the banner: skip it.
                        src.advance(next);
                        continue;
                    }
                    if memchr(b':', line).is_some() && !line.starts_with(b"Asterisk Call Manager") {
                        // No banner (a proxy, or a test peer): this is already a header line.
                        self.state = State::Headers;
                        continue;
                    }
                    let banner = String::from_utf8_lossy(line).into_owned();
                    src.advance(next);
                    self.reset_message();
                    self.state = State::Headers;
                    return Some(Frame::Banner(banner));
                }
                State::Skipping { in_line } => {
                    let blank = !in_line && line_end == start;
                    src.advance(next);
                    self.line_start = 0;
                    if blank {
                        self.state = State::Headers;
                    } else {
                        self.state = State::Skipping { in_line: false };
                    }
                    continue;
                }
                State::Headers | State::Follows => {}
            }

            if line_end - start > self.limits.max_line_bytes || next > self.limits.max_message_bytes {
                // The whole line is consumed; the skip ends at the next blank line.
                self.start_skipping(src, next, false);
                continue;
            }

            if line_end == start {
                // Blank line: the end of a message, or an empty message to ignore.
                if self.state == State::Follows {
                    // A blank line inside old Command output is output.
                    self.fields.push(Field::output(span(start, start)));
                    self.line_start = next;
                    continue;
                }
                if self.fields.is_empty() {
                    self.stats.empty_messages += 1;
                    src.advance(next);
                    self.line_start = 0;
                    continue;
                }
                return self.finish_message(src, next);
            }

            if self.state == State::Follows {
                let line = src.get(start..line_end).unwrap_or_default();
                if let Some(prefix_len) = line.len().checked_sub(END_COMMAND.len()) {
                    if line.ends_with(END_COMMAND) {
                        if prefix_len > 0 {
                            self.fields.push(Field::output(span(start, start + prefix_len)));
                        }
                        // Back to headers: the blank line that follows ends the message.
                        self.state = State::Headers;
                        self.line_start = next;
                        continue;
                    }
                }
                if self.fields.len() <= 3 && is_follows_header(line) {
                    self.push_header(src, start, line_end);
                } else {
                    self.fields.push(Field::output(span(start, line_end)));
                }
                self.line_start = next;
                continue;
            }

            self.push_header(src, start, line_end);
            if self.fields.len() == 1 && self.is_follows_response(src) {
                self.state = State::Follows;
            }
            self.line_start = next;
        }
    }

    fn push_header(&mut self, src: &BytesMut, start: usize, end: usize) {
        let line = src.get(start..end).unwrap_or_default();
        let field = match memchr(b':', line) {
            Some(colon) => {
                let key_end = start + colon;
                let mut value_start = key_end + 1;
                // Exactly one space after the colon belongs to the separator; more is data
                // (Output lines keep their indentation).
                if src.get(value_start) == Some(&b' ') && value_start < end {
                    value_start += 1;
                }
                Field { key: span(start, key_end), value: span(value_start.min(end), end) }
            }
            // A line without a colon: keep it as a key with an empty value, never lose it.
            None => Field { key: span(start, end), value: span(end, end) },
        };
        self.fields.push(field);
    }

    fn is_follows_response(&self, src: &BytesMut) -> bool {
        let Some(f) = self.fields.first() else {
            return false;
        };
        let key = src.get(f.key.start as usize..f.key.end as usize).unwrap_or_default();
        let value = src.get(f.value.start as usize..f.value.end as usize).unwrap_or_default();
        key.eq_ignore_ascii_case(b"Response") && value.eq_ignore_ascii_case(b"Follows")
    }

    /// No newline yet: bound the partial line and the partial message.
    fn check_partial_line(&mut self, src: &mut BytesMut) {
        let pending_line = src.len().saturating_sub(self.line_start);
        match self.state {
            State::Skipping { .. } if pending_line > self.limits.max_line_bytes => {
                // Still inside discarded data: release it, remembering we are mid-line so the
                // end of this line is not mistaken for the blank line that ends the message.
                let len = src.len();
                src.advance(len);
                self.line_start = 0;
                self.state = State::Skipping { in_line: true };
            }
            State::Skipping { .. } => {}
            _ if pending_line > self.limits.max_line_bytes || src.len() > self.limits.max_message_bytes => {
                let len = src.len();
                self.start_skipping(src, len, true);
            }
            _ => {}
        }
    }
}

/// The header lines Asterisk <= 13 writes before raw Command output.
fn is_follows_header(line: &[u8]) -> bool {
    let starts = |p: &[u8]| line.len() >= p.len() && line[..p.len()].eq_ignore_ascii_case(p);
    starts(b"Privilege:") || starts(b"ActionID:")
}

/// Splits repaired (valid UTF-8) text of one message again.
fn reparse(text: String) -> Message {
    let mut codec = AmiCodec::server(Limits { max_line_bytes: usize::MAX, max_message_bytes: usize::MAX });
    let mut buf = BytesMut::from(text.as_bytes());
    if !buf.ends_with(b"\n\n") && !buf.ends_with(b"\r\n\r\n") {
        buf.extend_from_slice(b"\r\n");
    }
    match codec.decode_one(&mut buf) {
        Some(Frame::Message(m)) => m,
        _ => Message::builder().build(),
    }
}

impl Decoder for AmiCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        Ok(self.decode_one(src))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if let Some(frame) = self.decode_one(src) {
            return Ok(Some(frame));
        }
        // The peer closed without the final blank line: finish what we have.
        if matches!(self.state, State::Skipping { .. }) {
            src.clear();
            self.reset_message();
            self.state = State::Headers;
            return Ok(None);
        }
        if src.len() > self.line_start {
            src.extend_from_slice(b"\r\n");
            if let Some(frame) = self.decode_one(src) {
                return Ok(Some(frame));
            }
        }
        if !self.fields.is_empty() {
            let end = src.len();
            return Ok(self.finish_message(src, end));
        }
        src.clear();
        self.reset_message();
        Ok(None)
    }
}

impl Encoder<&Message> for AmiCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode_to(dst);
        Ok(())
    }
}

impl Encoder<Message> for AmiCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode_to(dst);
        Ok(())
    }
}

/// Wraps [`AmiCodec`] to yield every complete frame in the buffer at once, so a reader
/// hands its consumer one batch per socket read instead of one item per message.
#[derive(Debug)]
pub struct BatchCodec {
    inner: AmiCodec,
}

impl BatchCodec {
    pub fn new(inner: AmiCodec) -> Self {
        BatchCodec { inner }
    }

    pub fn stats(&self) -> CodecStats {
        self.inner.stats()
    }
}

impl Decoder for BatchCodec {
    type Item = Vec<Frame>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Frame>>, CodecError> {
        let mut out = Vec::new();
        while let Some(frame) = self.inner.decode_one(src) {
            out.push(frame);
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Frame>>, CodecError> {
        let mut out = Vec::new();
        while let Some(frame) = self.inner.decode_eof(src)? {
            out.push(frame);
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}

impl Encoder<&Message> for BatchCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode_to(dst);
        Ok(())
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;

//! An AMI message: an ordered list of `Key: Value` fields over one shared buffer.
//!
//! The codec hands out messages whose fields are spans into a frozen `Bytes` slice of the
//! read buffer, so decoding allocates one small vector per message and no `String` per
//! field. Keys are compared without case (asterisk.md 1.2), repeated keys are kept in
//! order (`ChanVariable`, `Variable`, `Output`), and the first occurrence wins for
//! [`Message::get`], as it does inside Asterisk.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

/// Marks a field whose key is not in the buffer: the body lines of an old
/// `Response: Follows` Command answer, which carry no key and read as `Output`.
const SYNTHETIC_OUTPUT: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) key: Span,
    pub(crate) value: Span,
}

impl Field {
    pub(crate) fn output(value: Span) -> Self {
        Field { key: Span { start: SYNTHETIC_OUTPUT, end: SYNTHETIC_OUTPUT }, value }
    }
}

/// One AMI message (response, event or action).
#[derive(Clone)]
pub struct Message {
    /// Every span in `fields` lies inside it on char boundaries (spans end on ASCII
    /// delimiters), so reading a field is a slice, not a UTF-8 check.
    buf: ByteString,
    fields: Vec<Field>,
}

/// What a message is, from its first field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Response,
    Event,
    Action,
    Other,
}

impl Message {
    /// Builds a message from a buffer already checked to be UTF-8 and spans inside it.
    pub(crate) fn from_parts(buf: ByteString, fields: Vec<Field>) -> Self {
        Message { buf, fields }
    }

    /// Starts a message built field by field (actions, the simulated PBX, tests).
    pub fn builder() -> MessageBuilder {
        MessageBuilder::default()
    }

    /// Builds a message from `(key, value)` pairs.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut b = Message::builder();
        for (k, v) in pairs {
            b = b.field(k.as_ref(), v.as_ref());
        }
        b.build()
    }

    fn text(&self, span: Span) -> &str {
        if span.start == SYNTHETIC_OUTPUT {
            return "Output";
        }
        // Spans end on ASCII delimiters (':', ' ', '\r', '\n'), hence on char boundaries:
        // this never fails; an empty string is the harmless answer if it ever did.
        self.buf.get(span.start as usize..span.end as usize).unwrap_or_default()
    }

    /// The raw bytes of a key, for comparisons that need no UTF-8 check.
    fn key_bytes(&self, span: Span) -> &[u8] {
        if span.start == SYNTHETIC_OUTPUT {
            return b"Output";
        }
        self.buf.as_bytes().get(span.start as usize..span.end as usize).unwrap_or_default()
    }

    fn key_is(&self, f: &Field, key: &str) -> bool {
        let k = self.key_bytes(f.key);
        k.len() == key.len() && k.eq_ignore_ascii_case(key.as_bytes())
    }

    /// The first value of each of `keys` (compared without case), in one pass over the
    /// fields; keys are compared as bytes and only the values found are turned into `str`.
    pub fn get_many<const N: usize>(&self, keys: &[&str; N]) -> [Option<&str>; N] {
        let mut out = [None; N];
        let mut found = 0;
        for f in &self.fields {
            let k = self.key_bytes(f.key);
            for (i, want) in keys.iter().enumerate() {
                if out[i].is_none() && k.len() == want.len() && k.eq_ignore_ascii_case(want.as_bytes()) {
                    out[i] = Some(self.text(f.value));
                    found += 1;
                    break;
                }
            }
            if found == N {
                break;
            }
        }
        out
    }

    /// Like [`Message::get_many`] for a block of keys that Asterisk writes together and in
    /// order (a channel block): finds the first key, then takes the following fields while
    /// they are the expected keys. A missing key other than the last makes the block
    /// irregular: `None`, and the caller scans instead.
    pub fn get_run<const N: usize>(&self, keys: &[&str; N]) -> Option<[Option<&str>; N]> {
        let first = keys.first()?;
        let start = self.fields.iter().position(|f| self.key_is(f, first))?;
        let mut out = [None; N];
        let mut fields = self.fields.get(start..)?.iter().peekable();
        for (i, want) in keys.iter().enumerate() {
            match fields.peek() {
                Some(f) if self.key_is(f, want) => {
                    out[i] = Some(self.text(f.value));
                    fields.next();
                }
                _ if i + 1 == N => {}
                _ => return None,
            }
        }
        Some(out)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the message has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Fields in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.fields.iter().map(|f| (self.text(f.key), self.text(f.value)))
    }

    /// The first value for `key`, compared without case.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|f| self.key_is(f, key)).map(|f| self.text(f.value))
    }

    /// Every value for `key` in wire order (repeated keys such as `Output`, `Variable`).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter(move |f| self.key_is(f, key)).map(|f| self.text(f.value))
    }

    /// The first key/value pair, which names the message (`Event: X`, `Response: Y`).
    pub fn first(&self) -> Option<(&str, &str)> {
        // Hot: called for every event to read its name.
        self.fields.first().map(|f| (self.text(f.key), self.text(f.value)))
    }

    /// Response, event or action, from the first field.
    pub fn kind(&self) -> MessageKind {
        match self.first() {
            Some((k, _)) if k.eq_ignore_ascii_case("Event") => MessageKind::Event,
            Some((k, _)) if k.eq_ignore_ascii_case("Response") => MessageKind::Response,
            Some((k, _)) if k.eq_ignore_ascii_case("Action") => MessageKind::Action,
            _ => MessageKind::Other,
        }
    }

    /// The event name when this is an event.
    pub fn event_name(&self) -> Option<&str> {
        match self.first() {
            Some((k, v)) if k.eq_ignore_ascii_case("Event") => Some(v),
            _ => None,
        }
    }

    /// `Success`, `Error`, `Goodbye`, `Follows` when this is a response.
    pub fn response(&self) -> Option<&str> {
        match self.first() {
            Some((k, v)) if k.eq_ignore_ascii_case("Response") => Some(v),
            _ => None,
        }
    }

    /// The action name when this is an action (what a PBX receives).
    pub fn action_name(&self) -> Option<&str> {
        match self.first() {
            Some((k, v)) if k.eq_ignore_ascii_case("Action") => Some(v),
            _ => None,
        }
    }

    /// The `ActionID`, wherever it sits (list items put it first or last).
    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// The `Message:` text of a response.
    pub fn message_text(&self) -> Option<&str> {
        self.get("Message")
    }

    /// Size of the message's bytes on the wire (as received, or as built).
    pub fn size_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Writes the message in wire form (`Key: Value\r\n`... `\r\n`).
    pub fn encode_to(&self, dst: &mut BytesMut) {
        for (k, v) in self.iter() {
            dst.reserve(k.len() + v.len() + 4);
            dst.put_slice(k.as_bytes());
            dst.put_slice(b": ");
            dst.put_slice(v.as_bytes());
            dst.put_slice(b"\r\n");
        }
        dst.put_slice(b"\r\n");
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.buf.len() + 4 * self.fields.len() + 2);
        self.encode_to(&mut out);
        out.freeze()
    }

    /// Keys in wire order (for shape comparisons).
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.fields.iter().map(|f| self.text(f.key))
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for (k, v) in self.iter() {
            list.entry(&k, &v);
        }
        list.finish()
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Message {}

/// Builds a [`Message`] into one buffer.
#[derive(Default)]
pub struct MessageBuilder {
    buf: String,
    fields: Vec<Field>,
}

impl MessageBuilder {
    /// Adds a field. Keys and values are taken as given; CR and LF are replaced by spaces so
    /// a built message can never smuggle an extra header (asterisk.md 1.2).
    pub fn field(mut self, key: &str, value: &str) -> Self {
        self.push(key, value);
        self
    }

    /// Adds a field in place.
    pub fn push(&mut self, key: &str, value: &str) {
        let key_start = self.buf.len();
        put_clean(&mut self.buf, key);
        let key_end = self.buf.len();
        self.buf.push_str(": ");
        let value_start = self.buf.len();
        put_clean(&mut self.buf, value);
        let value_end = self.buf.len();
        self.buf.push_str("\r\n");
        self.fields.push(Field { key: span(key_start, key_end), value: span(value_start, value_end) });
    }

    /// Finishes the message.
    pub fn build(self) -> Message {
        Message { buf: ByteString::from(self.buf), fields: self.fields }
    }
}

fn put_clean(buf: &mut String, text: &str) {
    if text.bytes().any(|b| b == b'\r' || b == b'\n') {
        buf.extend(text.chars().map(|ch| if ch == '\r' || ch == '\n' { ' ' } else { ch }));
    } else {
        buf.push_str(text);
    }
}

/// Spans are u32: the codec caps a message at 4 MiB, far below u32::MAX.
pub(crate) fn span(start: usize, end: usize) -> Span {
    Span { start: u32::try_from(start).unwrap_or(u32::MAX - 1), end: u32::try_from(end).unwrap_or(u32::MAX - 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_in_order_is_read_positionally_and_an_irregular_one_is_refused() {
        let m = Message::from_pairs([("Event", "Newstate"), ("A", "1"), ("B", "2"), ("C", "3"), ("D", "4")]);
        assert_eq!(m.get_run(&["a", "b", "c"]), Some([Some("1"), Some("2"), Some("3")]));
        assert_eq!(m.get_run(&["B", "C", "X"]), Some([Some("2"), Some("3"), None]), "the last key may be absent");
        assert_eq!(m.get_run(&["A", "C", "D"]), None, "B stands in the way");
        assert_eq!(m.get_many(&["D", "a", "nope"]), [Some("4"), Some("1"), None]);
    }

    #[test]
    fn lookup_ignores_case_and_first_occurrence_wins() {
        let m = Message::from_pairs([("Event", "Status"), ("Variable", "a=1"), ("variable", "b=2")]);
        assert_eq!(m.get("VARIABLE"), Some("a=1"));
        assert_eq!(m.get_all("Variable").collect::<Vec<_>>(), vec!["a=1", "b=2"]);
        assert_eq!(m.event_name(), Some("Status"));
        assert_eq!(m.kind(), MessageKind::Event);
    }

    #[test]
    fn builder_replaces_line_breaks_so_no_header_can_be_injected() {
        let m = Message::builder().field("Action", "Ping").field("X", "a\r\nAction: Hangup").build();
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("X"), Some("a  Action: Hangup"));
        assert_eq!(&m.to_bytes()[..], b"Action: Ping\r\nX: a  Action: Hangup\r\n\r\n");
    }
}

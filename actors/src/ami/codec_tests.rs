use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use super::*;
use crate::ami::message::Message;

const TRANSCRIPTS: &[&str] = &["actions", "pjsip", "md5-login", "login-failed", "login-events-off"];

fn transcript(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/asterisk-transcripts/{name}.raw", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Feeds `chunks` one after the other, then signals EOF.
fn decode_chunks<'a>(codec: &mut AmiCodec, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Frame> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(f) = codec.decode(&mut buf).expect("decode never fails without I/O") {
            out.push(f);
        }
    }
    while let Some(f) = codec.decode_eof(&mut buf).expect("decode_eof never fails without I/O") {
        out.push(f);
    }
    out
}

fn decode_all(bytes: &[u8]) -> Vec<Frame> {
    decode_chunks(&mut AmiCodec::client(Limits::default()), [bytes])
}

fn messages(frames: &[Frame]) -> Vec<&Message> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m),
            Frame::Banner(_) => None,
        })
        .collect()
}

/// An independent, naive reading of a CRLF transcript: split on blank lines, then lines
/// on the first ':' with one space stripped.
fn naive(bytes: &[u8]) -> (String, Vec<Vec<(String, String)>>) {
    let text = String::from_utf8_lossy(bytes);
    let (banner, rest) = text.split_once("\r\n").expect("a banner line");
    let msgs = rest
        .split("\r\n\r\n")
        .filter(|m| !m.is_empty())
        .map(|m| {
            m.split("\r\n")
                .map(|line| match line.split_once(':') {
                    Some((k, v)) => (k.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()),
                    None => (line.to_string(), String::new()),
                })
                .collect()
        })
        .collect();
    (banner.to_string(), msgs)
}

fn pairs(m: &Message) -> Vec<(String, String)> {
    m.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn every_transcript_decodes_like_a_naive_reader() {
    for name in TRANSCRIPTS {
        let raw = transcript(name);
        let frames = decode_all(&raw);
        let (banner, expected) = naive(&raw);
        assert_eq!(frames.first(), Some(&Frame::Banner(banner)), "{name}: banner first");
        let got: Vec<_> = messages(&frames).into_iter().map(pairs).collect();
        assert_eq!(got.len(), expected.len(), "{name}: message count");
        assert_eq!(got, expected, "{name}: fields");
    }
}

#[test]
fn every_transcript_decodes_the_same_when_fed_one_byte_at_a_time() {
    for name in TRANSCRIPTS {
        let raw = transcript(name);
        let whole = decode_all(&raw);
        let bytewise = decode_chunks(&mut AmiCodec::client(Limits::default()), raw.chunks(1));
        assert_eq!(bytewise, whole, "{name}");
    }
}

#[test]
fn small_transcripts_decode_the_same_split_in_two_at_every_boundary() {
    for name in ["md5-login", "login-failed", "login-events-off"] {
        let raw = transcript(name);
        let whole = decode_all(&raw);
        for cut in 0..=raw.len() {
            let (a, b) = raw.split_at(cut);
            let split = decode_chunks(&mut AmiCodec::client(Limits::default()), [a, b]);
            assert_eq!(split, whole, "{name} cut at {cut}");
        }
    }
}

#[test]
fn transcripts_decode_the_same_with_their_recorded_chunking() {
    for name in TRANSCRIPTS {
        let raw = transcript(name);
        let chunks_path = format!("{}/testdata/asterisk-transcripts/{name}.chunks.jsonl", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&chunks_path).expect("chunks file");
        let mut pieces = Vec::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("chunk json");
            let off = v["off"].as_u64().expect("off") as usize;
            let len = v["len"].as_u64().expect("len") as usize;
            pieces.push(&raw[off..off + len]);
        }
        assert_eq!(decode_chunks(&mut AmiCodec::client(Limits::default()), pieces), decode_all(&raw), "{name}");
    }
}

#[test]
fn lf_only_line_ends_decode_like_crlf() {
    let raw = transcript("actions");
    let lf: Vec<u8> = String::from_utf8_lossy(&raw).replace("\r\n", "\n").into_bytes();
    assert_eq!(decode_all(&lf), decode_all(&raw));
}

#[test]
fn duplicate_keys_are_kept_in_order_and_first_wins() {
    let raw = b"Asterisk Call Manager/11.0.0\r\nEvent: Status\r\nVariable: a=1\r\nChanVariable(PJSIP/x-01): b=2\r\nVariable: c=3\r\n\r\n";
    let frames = decode_all(raw);
    let m = messages(&frames)[0];
    assert_eq!(m.get_all("variable").collect::<Vec<_>>(), vec!["a=1", "c=3"]);
    assert_eq!(m.get("Variable"), Some("a=1"));
    assert_eq!(m.get("ChanVariable(PJSIP/x-01)"), Some("b=2"));
}

#[test]
fn values_containing_colon_space_and_leading_spaces_are_kept() {
    let raw = b"Response: Success\r\nOutput:    indented: yes\r\nRequestType: Action: NoSuchAction\r\nEmpty:\r\n\r\n";
    let frames = decode_chunks(&mut AmiCodec::server(Limits::default()), [&raw[..]]);
    let m = messages(&frames)[0];
    assert_eq!(m.get("Output"), Some("   indented: yes"));
    assert_eq!(m.get("RequestType"), Some("Action: NoSuchAction"));
    assert_eq!(m.get("Empty"), Some(""));
}

#[test]
fn command_output_reads_in_both_forms() {
    let new_form = b"Response: Success\r\nActionID: 5\r\nMessage: Command output follows\r\nOutput: line one\r\nOutput: line two\r\n\r\n";
    let old_form = b"Response: Follows\r\nPrivilege: Command\r\nActionID: 5\r\nline one\nline two: with colon\n\n  indented\n--END COMMAND--\r\n\r\nResponse: Success\r\nActionID: 6\r\n\r\n";
    let new_frames = decode_chunks(&mut AmiCodec::server(Limits::default()), [&new_form[..]]);
    let new = messages(&new_frames)[0];
    assert_eq!(new.get_all("Output").collect::<Vec<_>>(), vec!["line one", "line two"]);

    let old_frames = decode_chunks(&mut AmiCodec::server(Limits::default()), old_form.chunks(3));
    let old = messages(&old_frames);
    assert_eq!(old.len(), 2, "the Follows body ends at --END COMMAND--, then the next message decodes");
    assert_eq!(old[0].action_id(), Some("5"));
    assert_eq!(
        old[0].get_all("Output").collect::<Vec<_>>(),
        vec!["line one", "line two: with colon", "", "  indented"]
    );
    assert_eq!(old[1].action_id(), Some("6"));
}

#[test]
fn old_command_output_without_final_newline_keeps_its_last_line() {
    let raw = b"Response: Follows\r\nPrivilege: Command\r\nlast line--END COMMAND--\r\n\r\n";
    let frames = decode_chunks(&mut AmiCodec::server(Limits::default()), [&raw[..]]);
    assert_eq!(messages(&frames)[0].get_all("Output").collect::<Vec<_>>(), vec!["last line"]);
}

#[test]
fn empty_messages_are_skipped() {
    // res_pjsip puts a '\n' inside Message:, which reads as an early end plus an empty message.
    let raw = b"Response: Error\r\nActionID: 2\r\nMessage: No endpoints found\n\r\n\r\n\r\nEvent: Ping\r\n\r\n";
    let mut codec = AmiCodec::server(Limits::default());
    let frames = decode_chunks(&mut codec, [&raw[..]]);
    let m = messages(&frames);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].message_text(), Some("No endpoints found"));
    assert_eq!(m[1].event_name(), Some("Ping"));
    assert!(codec.stats().empty_messages >= 1);
}

fn valid_event(n: usize) -> Vec<u8> {
    format!("Event: Test\r\nN: {n}\r\n\r\n").into_bytes()
}

#[test]
fn a_5_mib_message_is_dropped_and_the_next_one_decodes() {
    let mut raw = valid_event(1);
    raw.extend_from_slice(b"Event: Huge\r\n");
    let line = format!("X: {}\r\n", "a".repeat(1000));
    for _ in 0..(5 * 1024) {
        raw.extend_from_slice(line.as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(&valid_event(2));
    let mut codec = AmiCodec::server(Limits::default());
    let frames = decode_chunks(&mut codec, raw.chunks(8192));
    let m = messages(&frames);
    assert_eq!(m.iter().map(|m| m.get("N")).collect::<Vec<_>>(), vec![Some("1"), Some("2")]);
    assert_eq!(codec.stats().dropped_oversized, 1);
}

#[test]
fn a_100_kib_line_drops_its_message_and_the_next_one_decodes() {
    for chunk in [1usize << 20, 4096, 7] {
        let mut raw = valid_event(1);
        raw.extend_from_slice(b"Event: Long\r\nX: ");
        raw.extend(std::iter::repeat_n(b'y', 100 * 1024));
        raw.extend_from_slice(b"\r\nAfter: line\r\n\r\n");
        raw.extend_from_slice(&valid_event(2));
        let mut codec = AmiCodec::server(Limits::default());
        let frames = decode_chunks(&mut codec, raw.chunks(chunk));
        let m = messages(&frames);
        assert_eq!(m.iter().map(|m| m.get("N")).collect::<Vec<_>>(), vec![Some("1"), Some("2")], "chunk {chunk}");
        assert_eq!(codec.stats().dropped_oversized, 1, "chunk {chunk}");
    }
}

#[test]
fn skipping_keeps_memory_bounded() {
    let mut codec = AmiCodec::server(Limits { max_line_bytes: 1024, max_message_bytes: 4096 });
    let mut buf = BytesMut::new();
    for _ in 0..1000 {
        buf.extend_from_slice(&[b'z'; 1000]);
        assert!(codec.decode(&mut buf).expect("decode").is_none());
        assert!(buf.len() <= 4096 + 1000, "buffer stays bounded while a line is discarded");
    }
    buf.extend_from_slice(b"\r\n\r\n");
    buf.extend_from_slice(&valid_event(7));
    let frames = decode_chunks(&mut codec, [&buf[..]]);
    assert_eq!(messages(&frames)[0].get("N"), Some("7"));
}

#[test]
fn binary_garbage_between_messages_does_not_stop_the_next_valid_message() {
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    for round in 0..50 {
        let mut raw = valid_event(round);
        let len = (next() % 3000) as usize;
        let garbage: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        raw.extend_from_slice(&garbage);
        raw.extend_from_slice(b"\r\n\r\n");
        raw.extend_from_slice(&valid_event(round + 1000));
        let frames = decode_chunks(&mut AmiCodec::server(Limits::default()), raw.chunks(1 + round % 17));
        let m = messages(&frames);
        let first = m.first().expect("first valid message");
        let last = m.last().expect("last valid message");
        assert_eq!(first.get("N"), Some(round.to_string().as_str()));
        assert_eq!(last.get("N"), Some((round + 1000).to_string().as_str()), "round {round}");
        assert_eq!(last.event_name(), Some("Test"));
    }
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let raw = b"Event: Newchannel\r\nCallerIDName: Jos\xe9\r\nUniqueid: 1.1\r\n\r\n";
    let mut codec = AmiCodec::server(Limits::default());
    let frames = decode_chunks(&mut codec, [&raw[..]]);
    let m = messages(&frames)[0];
    assert_eq!(m.get("CallerIDName"), Some("Jos\u{fffd}"));
    assert_eq!(m.get("Uniqueid"), Some("1.1"));
    assert_eq!(codec.stats().invalid_utf8_repaired, 1);
}

#[test]
fn missing_final_blank_line_at_eof_still_yields_the_message() {
    for raw in [&b"Event: Last\r\nN: 9\r\n"[..], b"Event: Last\r\nN: 9", b"Event: Last\nN: 9\n"] {
        let frames = decode_chunks(&mut AmiCodec::server(Limits::default()), [raw]);
        let m = messages(&frames);
        assert_eq!(m.len(), 1, "{:?}", String::from_utf8_lossy(raw));
        assert_eq!(m[0].get("N"), Some("9"));
    }
}

#[test]
fn batch_codec_yields_everything_buffered_at_once() {
    let raw = transcript("login-events-off");
    let mut codec = BatchCodec::new(AmiCodec::client(Limits::default()));
    let mut buf = BytesMut::from(&raw[..]);
    let batch = codec.decode(&mut buf).expect("decode").expect("a batch");
    assert_eq!(batch.len(), 1 + 6, "banner and six messages");
    assert!(codec.decode(&mut buf).expect("decode").is_none());
}

fn key_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9()/_-]{0,20}"
}

fn value_strategy() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[^\r\n]{0,60}").expect("value regex")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096), cut in 1usize..64) {
        let mut codec = AmiCodec::client(Limits { max_line_bytes: 256, max_message_bytes: 1024 });
        let _ = decode_chunks(&mut codec, data.chunks(cut));
    }

    #[test]
    fn encode_then_decode_gives_the_message_back(
        fields in proptest::collection::vec((key_strategy(), value_strategy()), 1..20),
        cut in 1usize..50,
    ) {
        prop_assume!(!(fields[0].0.eq_ignore_ascii_case("Response") && fields[0].1.eq_ignore_ascii_case("Follows")));
        let msg = Message::from_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let wire = msg.to_bytes();
        let frames = decode_chunks(&mut AmiCodec::server(Limits::default()), wire.chunks(cut));
        prop_assert_eq!(frames, vec![Frame::Message(msg)]);
    }
}

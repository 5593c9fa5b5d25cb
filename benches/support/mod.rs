//! Inputs shared by the benches: recorded AMI streams, real and simulated.

#![allow(dead_code)]

use std::time::Duration;

use mayday_actors::sim::{record::record_stream, StaticDirectory, Traffic};

/// How many events the simulated stream holds (the issue asks for at least 100,000).
pub const SIM_EVENTS: usize = 120_000;

/// A call-center day in fast forward: 200 agents, 10 queues, busy traffic, recorded in
/// virtual time as the simulated PBX would send it (banner and login answer first).
pub fn simulated_stream() -> Vec<u8> {
    let directory = StaticDirectory::generated("", 200, 10, None).0;
    let traffic = Traffic {
        calls_per_second: 40.0,
        mean_talk: Duration::from_secs(60),
        mean_patience: Duration::from_secs(45),
        ..Traffic::default()
    };
    record_stream(directory, traffic, 7, SIM_EVENTS)
}

/// The real Asterisk 22 recording `pjsip.raw` without its banner line, repeated to about
/// `target_bytes`.
pub fn real_stream(target_bytes: usize) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/actors/testdata/asterisk-transcripts/pjsip.raw");
    let raw = std::fs::read(path).expect("the recording is in the repository");
    let body_start = raw.windows(2).position(|w| w == b"\r\n").map(|p| p + 2).unwrap_or(0);
    let body = &raw[body_start..];
    let mut out = Vec::with_capacity(target_bytes + body.len());
    while out.len() < target_bytes {
        out.extend_from_slice(body);
    }
    out
}

/// Messages in a stream (blank-line terminated), counted without parsing.
pub fn count_messages(stream: &[u8]) -> usize {
    memchr::memmem::find_iter(stream, b"\r\n\r\n").count()
}

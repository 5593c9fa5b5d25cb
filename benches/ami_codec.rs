//! AMI decoding throughput: recorded streams through the codec, fed in 64 KiB reads as the
//! connection's `FramedRead` does. A bare memchr scan of the same bytes is the ceiling.

mod support;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mayday_actors::ami::codec::{AmiCodec, BatchCodec, Frame, Limits};
use tokio_util::codec::Decoder;

const READ: usize = 64 * 1024;

fn decode_all(stream: &[u8]) -> usize {
    let mut codec = AmiCodec::client(Limits::default());
    let mut buf = BytesMut::with_capacity(READ * 2);
    let mut messages = 0;
    for chunk in stream.chunks(READ) {
        buf.extend_from_slice(chunk);
        while let Ok(Some(frame)) = codec.decode(&mut buf) {
            if let Frame::Message(m) = frame {
                messages += usize::from(!m.is_empty());
            }
        }
    }
    messages
}

fn decode_batched(stream: &[u8]) -> usize {
    let mut codec = BatchCodec::new(AmiCodec::client(Limits::default()));
    let mut buf = BytesMut::with_capacity(READ * 2);
    let mut messages = 0;
    for chunk in stream.chunks(READ) {
        buf.extend_from_slice(chunk);
        while let Ok(Some(frames)) = codec.decode(&mut buf) {
            messages += frames.len();
        }
    }
    messages
}

fn bench(c: &mut Criterion) {
    let sim = support::simulated_stream();
    let real = support::real_stream(8 * 1024 * 1024);
    let sim_events = decode_all(&sim);
    let real_events = decode_all(&real);
    assert!(sim_events >= support::SIM_EVENTS, "the simulated stream holds {sim_events} events");
    println!(
        "inputs: simulated {} events / {:.1} MB; real (pjsip.raw repeated) {} events / {:.1} MB",
        sim_events,
        sim.len() as f64 / 1e6,
        real_events,
        real.len() as f64 / 1e6
    );

    for (name, stream, events) in [("simulated", &sim, sim_events), ("real", &real, real_events)] {
        let mut g = c.benchmark_group(format!("codec/{name}"));
        g.sample_size(20);
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function("events", |b| b.iter(|| assert_eq!(decode_all(stream), events)));
        g.throughput(Throughput::Bytes(stream.len() as u64));
        g.bench_function("bytes", |b| b.iter(|| assert_eq!(decode_all(stream), events)));
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function("batched_events", |b| b.iter(|| decode_batched(stream)));
        g.bench_function("memchr_scan_ceiling", |b| b.iter(|| support::count_messages(stream)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

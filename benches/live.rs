//! Events per second through the PBX router and the tenant, queue and agent actors, all on
//! one core (one actix system, tenants on its own thread): recorded AMI traffic, decoded
//! into 64 KiB batches beforehand as the connection would hand them over, is sent to the
//! router; the clock stops when every queue and agent actor has applied its facts.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mayday_actors::ami::codec::{AmiCodec, BatchCodec, Frame, Limits};
use mayday_actors::ami::{AmiConfig, AmiEvents, Message, PbxId, Secret};
use mayday_actors::live::registry::Registry;
use mayday_actors::live::spec::{AgentSpec, LiveSpec, PbxSpec, TenantSpec};
use mayday_actors::live::supervisor::{Apply, LiveSupervisor};
use mayday_actors::live::tenant::actor::{GetQueues, LiveTimings, Settle};
use mayday_actors::live::{AgentId, MemoryStore, TenantId};
use tokio_util::codec::Decoder;

/// Event batches as one 64 KiB socket read each.
fn batches(stream: &[u8]) -> Vec<Vec<Message>> {
    let mut codec = BatchCodec::new(AmiCodec::client(Limits::default()));
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in stream.chunks(64 * 1024) {
        buf.extend_from_slice(chunk);
        while let Ok(Some(frames)) = codec.decode(&mut buf) {
            let events: Vec<Message> = frames
                .into_iter()
                .filter_map(|f| match f {
                    Frame::Message(m) if m.event_name().is_some() => Some(m),
                    _ => None,
                })
                .collect();
            if !events.is_empty() {
                out.push(events);
            }
        }
    }
    out
}

fn tenant(agents: usize) -> TenantSpec {
    let mut t = TenantSpec::new(TenantId(1), "bench", "", Some(PbxId(1)));
    t.agents = (0..agents)
        .map(|i| AgentSpec {
            id: AgentId(i as u64 + 1),
            extension: format!("{}", 1001 + i),
            name: format!("Agent {}", 1001 + i),
            pause: None,
            today: None,
        })
        .collect();
    t
}

/// One run: fresh actors, every batch sent, timed until all facts are applied.
fn run_once(input: Arc<Vec<Vec<Message>>>, events: usize, agents: usize) -> Duration {
    System::new().block_on(async move {
        let registry = Arc::new(Registry::default());
        let timings = LiveTimings { persist_after: Duration::from_secs(3600), ..LiveTimings::default() };
        let supervisor = LiveSupervisor::new(registry.clone(), Arc::new(MemoryStore::default()), timings, 0).start();
        // A PBX nobody listens for: the router is real, its link just never connects.
        let mut ami = AmiConfig::new(PbxId(1), "127.0.0.1", 9, "bench", Secret::new("bench"));
        ami.backoff_initial = Duration::from_secs(3600);
        let spec = LiveSpec { pbxes: vec![PbxSpec { id: PbxId(1), ami }], tenants: vec![Arc::new(tenant(agents))] };
        supervisor.send(Apply(spec)).await.expect("applied");
        let router = registry.pbx(PbxId(1)).expect("router").router;
        let t = registry.tenant(TenantId(1)).expect("tenant");
        // The batches are copied before the clock starts: the connection hands over fresh
        // ones, and copying them is not the router's work.
        let mut seq = 0;
        let messages: Vec<AmiEvents> = input
            .iter()
            .map(|batch| {
                let m = AmiEvents { pbx: PbxId(1), first_seq: seq, connection: 1, events: batch.clone() };
                seq += batch.len() as u64;
                m
            })
            .collect();
        let start = Instant::now();
        for m in messages {
            router.do_send(m);
        }
        // The tenant has everything once its counter says so; Settle waits for its actors.
        while t.metrics.events.load(Ordering::Relaxed) < events as u64 {
            tokio::task::yield_now().await;
        }
        t.addr.send(Settle).await.expect("settled");
        let elapsed = start.elapsed();
        let queues = t.addr.send(GetQueues).await.expect("queues");
        assert!(!queues.is_empty(), "the traffic reached the queues");
        elapsed
    })
}

fn bench(c: &mut Criterion) {
    let sim = batches(&support::simulated_stream());
    let sim_events: usize = sim.iter().map(Vec::len).sum();
    let real = batches(&support::real_stream(8 * 1024 * 1024));
    let real_events: usize = real.iter().map(Vec::len).sum();
    println!("inputs: simulated {sim_events} events in {} batches; real (pjsip.raw repeated) {real_events} events in {} batches", sim.len(), real.len());
    let sim = Arc::new(sim);
    let real = Arc::new(real);
    for (name, input, events) in [("simulated", sim, sim_events), ("real", real, real_events)] {
        let mut g = c.benchmark_group(format!("live/{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function("router_tenant_queue_agent", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run_once(input.clone(), events, 200)).sum())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

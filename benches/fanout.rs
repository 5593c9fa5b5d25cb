//! One update fanned out to N subscribers: the topic serialises the delta once and queues
//! the same frame in every subscriber's outbox (the sessions' socket writes are measured by
//! the `ws_load` scenario).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use mayday_actors::push::{Outbox, OutboxLimits, PushMetrics, Topic};

/// A wallboard delta of a realistic size (one queue and two agents changed).
const DELTA: &str = r#"{"queues":[{"name":"sales","asterisk_name":"acme-sales","waiting":3,"oldest_joined_ms":1796115538000,"available":4,"logged_in":12,"service_level_secs":20,"figures":{"offered":412,"answered":390,"abandoned":14,"timed_out":8,"answered_within_sl":351,"sl1_pct":90.0,"sl2_pct":87.7,"abandon_rate_pct":3.4,"asa_secs":11.2,"aht_secs":184.5}}],"agents":[{"id":1042,"name":"Amani","extension":"1001","status":"on_call","since_ms":1796115538000,"reason":null,"call":{"linkedid":"1796115538.42","kind":"queue","queue":"acme-sales","party":"+254700000001","since_ms":1796115538000},"calls_today":31},{"id":1043,"name":"Baraka","extension":"1002","status":"available","since_ms":1796115538000,"reason":null,"call":null,"calls_today":28}],"removed_queues":[],"removed_agents":[]}"#;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fanout/wallboard_delta");
    for n in [1usize, 10, 100, 1_000, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter_batched(
                || {
                    let metrics = Arc::new(PushMetrics::default());
                    let mut topic = Topic::new(Arc::from("wallboard"), 1, 512);
                    let outboxes: Vec<Arc<Outbox>> =
                        (0..n).map(|_| Outbox::new(OutboxLimits::default(), metrics.clone(), || {})).collect();
                    for o in &outboxes {
                        topic.subscribe(o.clone(), None, &|| "{}".into());
                        o.take(usize::MAX);
                    }
                    (topic, outboxes)
                },
                |(mut topic, outboxes)| {
                    let reached = topic.publish(DELTA, &|| "{}".into());
                    assert_eq!(reached, n);
                    // Each session takes its frame (the shared text, not a copy).
                    for o in &outboxes {
                        let f = o.take(1);
                        assert_eq!(f.len(), 1);
                    }
                    (topic, outboxes)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The full AMI path: a recorded stream written over loopback TCP by a minimal Asterisk
//! stand-in, through the `AmiConnection` actor's codec and correlation, to a subscriber
//! actor that counts what it receives. Every event must arrive (zero loss is asserted).
//! Timed from the first byte of the burst to the last event counted; one core does it all
//! (the actix system is single-threaded, the writer is a task on it).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::StreamExt;
use mayday_actors::ami::codec::{AmiCodec, Frame, Limits};
use mayday_actors::ami::{AmiConfig, AmiConnection, AmiEvents, AuthMode, LinkEvent, Message, PbxId, Secret};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

/// Counts events; wakes the bench when `target` is reached.
struct Counter {
    seen: Arc<AtomicUsize>,
    target: usize,
    done: Arc<Notify>,
}

impl Actor for Counter {
    type Context = Context<Self>;
}

impl Handler<AmiEvents> for Counter {
    type Result = ();

    fn handle(&mut self, batch: AmiEvents, _: &mut Context<Self>) {
        let n = self.seen.fetch_add(batch.events.len(), Ordering::Relaxed) + batch.events.len();
        if n >= self.target {
            self.done.notify_one();
        }
    }
}

/// Forwards every `Connected` of the link.
struct Links(tokio::sync::mpsc::UnboundedSender<()>);

impl Actor for Links {
    type Context = Context<Self>;
}

impl Handler<LinkEvent> for Links {
    type Result = ();

    fn handle(&mut self, ev: LinkEvent, _: &mut Context<Self>) {
        if let LinkEvent::Connected { .. } = ev {
            let _ = self.0.send(());
        }
    }
}

/// Ignores events.
struct Sink;

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<AmiEvents> for Sink {
    type Result = ();

    fn handle(&mut self, _: AmiEvents, _: &mut Context<Self>) {}
}

/// The simulated PBX goes away for `outage` (connections refused), then comes back: the
/// time from its return to the link being connected again, with production timers.
fn reconnect_once(outage: Duration) -> Duration {
    use mayday_actors::sim::{self, Fault, SimConfig, StaticDirectory};
    System::new().block_on(async move {
        let sim =
            sim::start(SimConfig::default(), Arc::new(StaticDirectory::generated("", 2, 1, None))).await.expect("sim");
        let (tx, mut connected) = tokio::sync::mpsc::unbounded_channel();
        let links = Links(tx).start();
        let cfg = AmiConfig::new(PbxId(1), "127.0.0.1", sim.addr().port(), "mayday", Secret::new("mayday"));
        let link = AmiConnection::start(cfg, Sink.start().recipient(), links.recipient());
        connected.recv().await.expect("first connect");
        sim.fault(Fault::Down).await.expect("down");
        tokio::time::sleep(outage).await;
        sim.fault(Fault::Up).await.expect("up");
        let back = Instant::now();
        tokio::time::timeout(Duration::from_secs(30), connected.recv()).await.expect("reconnected").expect("event");
        let took = back.elapsed();
        link.stop();
        sim.shutdown();
        took
    })
}

/// Accepts one client, logs it in like Asterisk (plain login, FullyBooted, CoreStatus),
/// waits for `go`, then writes `body` in 64 KiB writes.
async fn stand_in(
    listener: TcpListener,
    body: Arc<Vec<u8>>,
    go: oneshot::Receiver<()>,
    started: oneshot::Sender<Instant>,
) {
    let Ok((stream, _)) = listener.accept().await else { return };
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut frames = tokio_util::codec::FramedRead::new(read, AmiCodec::server(Limits::default()));
    let _ = write.write_all(b"Asterisk Call Manager/11.0.0\r\n").await;
    let mut go = Some(go);
    while let Some(Ok(Frame::Message(action))) = frames.next().await {
        let id = action.action_id().unwrap_or_default().to_string();
        let name = action.action_name().unwrap_or_default().to_ascii_lowercase();
        let reply = match name.as_str() {
            "login" => format!("Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\nLastReload: 5\r\nStatus: Fully Booted\r\n\r\n"),
            "corestatus" => format!("Response: Success\r\nActionID: {id}\r\nCoreStartupDate: 2026-12-01\r\nCoreStartupTime: 08:00:00\r\nCoreReloadDate: 2026-12-01\r\nCoreReloadTime: 08:00:00\r\nCoreCurrentCalls: 0\r\n\r\n"),
            _ => format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\nTimestamp: 1.0\r\n\r\n"),
        };
        let _ = write.write_all(reply.as_bytes()).await;
        if name == "corestatus" {
            if let Some(go) = go.take() {
                let _ = go.await;
                let _ = started.send(Instant::now());
                for chunk in body.chunks(64 * 1024) {
                    if write.write_all(chunk).await.is_err() {
                        return;
                    }
                }
                let _ = write.flush().await;
                // Keep the socket open until the client goes away.
                while frames.next().await.is_some() {}
                return;
            }
        }
    }
}

/// One run: connect, log in, then time the burst to its last event.
fn run_once(body: Arc<Vec<u8>>, events: usize) -> Duration {
    System::new().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (go_tx, go_rx) = oneshot::channel();
        let (started_tx, started_rx) = oneshot::channel();
        actix::spawn(stand_in(listener, body, go_rx, started_tx));
        let seen = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(Notify::new());
        let counter = Counter { seen: seen.clone(), target: events, done: done.clone() }.start();
        let (connected_tx, mut connected_rx) = tokio::sync::mpsc::unbounded_channel();
        let links = Links(connected_tx).start();
        let mut cfg = AmiConfig::new(PbxId(1), "127.0.0.1", port, "bench", Secret::new("bench"));
        cfg.auth = AuthMode::Plain;
        cfg.ping_interval = Duration::from_secs(3600);
        cfg.ping_timeout = Duration::from_secs(3600);
        let link = AmiConnection::start(cfg, counter.recipient(), links.recipient());
        connected_rx.recv().await.expect("the link connects");
        let _ = go_tx.send(());
        let started = started_rx.await.expect("the burst starts");
        tokio::time::timeout(Duration::from_secs(120), done.notified()).await.expect("every event arrived");
        let elapsed = started.elapsed();
        assert_eq!(seen.load(Ordering::Relaxed), events, "zero loss");
        link.stop();
        elapsed
    })
}

fn bench(c: &mut Criterion) {
    let sim = support::simulated_stream();
    // The recorded stream starts with its own banner and login answer: the stand-in sends
    // those, so the burst is the events after them.
    let skip = sim.windows(4).enumerate().filter(|(_, w)| *w == b"\r\n\r\n").nth(1).map(|(i, _)| i + 4).unwrap_or(0);
    let sim_body = Arc::new(sim[skip..].to_vec());
    let sim_events = support::count_messages(&sim_body);
    let real_body = Arc::new(support::real_stream(8 * 1024 * 1024));
    let real_events = count_decodable(&real_body);

    for (name, body, events) in [("simulated", sim_body, sim_events), ("real", real_body, real_events)] {
        let mut g = c.benchmark_group(format!("link/{name}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(events as u64));
        let b2 = body.clone();
        g.bench_function("events", |b| b.iter_custom(|iters| (0..iters).map(|_| run_once(b2.clone(), events)).sum()));
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("bytes", |b| b.iter_custom(|iters| (0..iters).map(|_| run_once(body.clone(), events)).sum()));
        g.finish();
    }

    // The "reconnect within 2 s of the PBX coming back", with production timers.
    let mut g = c.benchmark_group("link/reconnect");
    g.sample_size(10);
    g.bench_function("after_a_3s_outage", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| reconnect_once(Duration::from_secs(3))).sum())
    });
    g.finish();
}

/// Events (non-empty messages that are not responses) the connection will hand over.
fn count_decodable(stream: &[u8]) -> usize {
    use tokio_util::codec::Decoder;
    let mut codec = AmiCodec::client(Limits::default());
    let mut buf = bytes::BytesMut::from(stream);
    let mut n = 0;
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        if let Frame::Message(m) = frame {
            n += usize::from(is_event(&m));
        }
    }
    n
}

fn is_event(m: &Message) -> bool {
    m.event_name().is_some() && m.action_id().is_none_or(|id| !id.starts_with("mayday-"))
}

criterion_group!(benches, bench);
criterion_main!(benches);

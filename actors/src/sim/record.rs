//! Records what the simulated PBX would send, in virtual time and as fast as the CPU allows:
//! the byte streams the benches decode and replay.

use std::time::Duration;

use bytes::BytesMut;

use super::auto::{Auto, Traffic};
use super::directory::DirectorySnapshot;
use super::world::World;

/// Runs automatic traffic in virtual time until at least `events` events were written and
/// returns the AMI bytes a client with every event class would have received (banner,
/// login answer, FullyBooted, then the events).
pub fn record_stream(directory: DirectorySnapshot, traffic: Traffic, seed: u64, events: usize) -> Vec<u8> {
    let mut world = World::new(1_795_529_000, seed);
    world.apply_directory(directory, Duration::ZERO);
    let mut auto = Auto::new(Some(traffic));
    let mut out = BytesMut::with_capacity(events * 700);
    out.extend_from_slice(b"Asterisk Call Manager/11.0.0\r\n");
    out.extend_from_slice(b"Response: Success\r\nActionID: mayday-1\r\nMessage: Authentication accepted\r\n\r\n");
    out.extend_from_slice(
        b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 0\r\nLastReload: 0\r\nStatus: Fully Booted\r\n\r\n",
    );
    let mut written = 0;
    while written < events {
        let Some(now) = auto.next_due() else { break };
        auto.run_due(&mut world, now);
        for (_, msg) in world.out.drain(..) {
            msg.encode_to(&mut out);
            written += 1;
        }
    }
    out.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::codec::{AmiCodec, Frame, Limits};
    use crate::sim::StaticDirectory;
    use tokio_util::codec::Decoder;

    #[test]
    fn a_recorded_stream_decodes_and_is_deterministic() {
        let dir = StaticDirectory::generated("", 20, 3, None).0;
        let traffic = Traffic { calls_per_second: 5.0, ..Traffic::default() };
        let a = record_stream(dir.clone(), traffic.clone(), 7, 2_000);
        let b = record_stream(dir, traffic, 7, 2_000);
        assert_eq!(a, b, "same seed, same bytes");
        let mut codec = AmiCodec::client(Limits::default());
        let mut buf = BytesMut::from(&a[..]);
        let mut n = 0;
        while let Some(f) = codec.decode(&mut buf).expect("decode") {
            if let Frame::Message(m) = f {
                assert!(m.event_name().is_some() || m.response().is_some());
                n += 1;
            }
        }
        assert!(n >= 2_000, "decoded {n}");
    }
}

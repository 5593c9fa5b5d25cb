//! A TCP forwarder to a real service that a test can cut and restore: the service "goes
//! away mid-request" (open connections reset, new ones refused) without stopping the
//! service every other test uses.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

pub struct Forwarder {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    /// Bumped by each cut: connections of an earlier epoch end.
    epoch: Arc<AtomicU64>,
    /// Connections being forwarded.
    live: Arc<AtomicU64>,
}

impl Forwarder {
    pub async fn to(target: SocketAddr) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let open = Arc::new(AtomicBool::new(true));
        let epoch = Arc::new(AtomicU64::new(0));
        let live = Arc::new(AtomicU64::new(0));
        let (o, e, l) = (open.clone(), epoch.clone(), live.clone());
        actix_web::rt::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let (o, e, l) = (o.clone(), e.clone(), l.clone());
                l.fetch_add(1, Ordering::SeqCst);
                actix_web::rt::spawn(async move {
                    pipe(client, target, o, e).await;
                    l.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Forwarder { addr, open, epoch, live }
    }

    /// Resets every open connection and refuses new ones; returns once they are closed.
    pub async fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        while self.live.load(Ordering::SeqCst) > 0 {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// Connections being forwarded now.
    pub fn connections(&self) -> u64 {
        self.live.load(Ordering::SeqCst)
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

async fn pipe(mut client: TcpStream, target: SocketAddr, open: Arc<AtomicBool>, epoch: Arc<AtomicU64>) {
    let Ok(mut server) = TcpStream::connect(target).await else { return };
    let mine = epoch.load(Ordering::SeqCst);
    let cut = async {
        while open.load(Ordering::SeqCst) && epoch.load(Ordering::SeqCst) == mine {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut => {}
    }
}

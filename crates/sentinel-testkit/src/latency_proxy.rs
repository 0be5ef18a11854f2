//! [`LatencyProxy`]: a TCP proxy that holds every reply for a configurable delay, to test
//! what a slow server does to its clients (deadlines, fail modes) without a slow server.
//!
//! It runs as tasks on the caller's tokio runtime and waits with `tokio::time::sleep`, so
//! under a paused clock (`#[tokio::test(start_paused = true)]`) the delay is virtual: a test
//! asserts outcomes (which deadline passed first), never durations.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A latency-injecting TCP proxy in front of `upstream`. Requests pass at once; each chunk of
/// reply waits [`LatencyProxy::set_delay`] before it is forwarded. Dropping the proxy stops
/// accepting and closes every proxied connection.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::time::Duration;
/// use sentinel_testkit::latency_proxy::LatencyProxy;
///
/// let proxy = LatencyProxy::start("127.0.0.1:6379".parse().unwrap()).await?;
/// proxy.set_delay(Duration::from_millis(150));
/// let url = format!("redis://{}", proxy.addr());
/// # drop(url); Ok(()) }
/// ```
#[derive(Debug)]
pub struct LatencyProxy {
    addr: SocketAddr,
    delay_us: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl LatencyProxy {
    /// Listens on an ephemeral port of 127.0.0.1, forwarding to `upstream`, with no delay yet.
    ///
    /// # Errors
    /// When the listening socket cannot be bound.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let delay_us = Arc::new(AtomicU64::new(0));
        let delay = Arc::clone(&delay_us);
        let accept = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let delay = Arc::clone(&delay);
                conns.spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        proxy(client, server, delay).await;
                    }
                });
            }
        });
        Ok(Self {
            addr,
            delay_us,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How long each reply waits from now on.
    pub fn set_delay(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.delay_us.store(us, Ordering::Relaxed);
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection.
        self.accept.abort();
    }
}

/// Forwards requests at once and replies after the delay, until either side closes.
async fn proxy(client: TcpStream, server: TcpStream, delay_us: Arc<AtomicU64>) {
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    let up = async move {
        let _ = tokio::io::copy(&mut client_rd, &mut server_wr).await;
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let delay = delay_us.load(Ordering::Relaxed);
            if delay > 0 {
                tokio::time::sleep(Duration::from_micros(delay)).await;
            }
            if client_wr
                .write_all(buf.get(..n).unwrap_or_default())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

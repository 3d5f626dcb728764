//! Serving the listener's connections: HTTP/1 over each, bounded per client address,
//! with a watchdog that closes a connection stalled in its headers or idle too long.

use super::{route, Ctx, HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS};
use crate::listener::Listener;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Serves until `shutdown`; connection tasks run on `tracker`.
pub(super) async fn serve(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let listener = Listener::new(listener, MAX_CONNECTIONS, "push listener");
    let per_address = Arc::new(PerAddress::default());
    while let Some((stream, peer)) = listener.accept(&shutdown).await {
        let Some(share) = PerAddress::admit(&per_address, peer.ip()) else {
            log::debug!("push listener: {} holds {MAX_CONNECTIONS_PER_ADDRESS} connections; one more closed", peer.ip());
            continue;
        };
        let permit = listener.slot().await;
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let idle = Arc::new(IdleWatch::new());
            let served = idle.clone();
            let service = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                let served = served.clone();
                async move {
                    served.busy();
                    let response = route(ctx, req).await;
                    served.waiting();
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            // The header timeout is kept by `IdleWatch` rather than by hyper, whose timer
            // is set and cancelled for every request.
            let conn = hyper::server::conn::http1::Builder::new()
                .writev(false)
                .header_read_timeout(None)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                biased;
                _ = conn.as_mut() => {}
                _ = idle.stalled() => {}
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
            drop(share);
        });
    }
}

/// Connections open per client address.
#[derive(Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One connection's place in [`PerAddress`], given back when dropped.
struct Share {
    table: Arc<PerAddress>,
    ip: std::net::IpAddr,
}

impl PerAddress {
    /// A place for one more connection from `ip`, unless it holds
    /// [`MAX_CONNECTIONS_PER_ADDRESS`] already.
    fn admit(table: &Arc<PerAddress>, ip: std::net::IpAddr) -> Option<Share> {
        let mut open = table.0.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if *n >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Share {
            table: table.clone(),
            ip,
        })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        if let Ok(mut open) = self.table.0.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// How long a connection has been waiting for its next request: from its accept, or
/// from its last answer, until the head of a request is read. A connection that waits
/// longer than [`HEADER_TIMEOUT`] (a client that stalls while sending headers, or an
/// idle keep-alive connection) is closed. A request's body has its own timeout.
struct IdleWatch {
    /// Since when, in milliseconds after `epoch` plus one; 0 while a request is served.
    since: std::sync::atomic::AtomicU64,
    epoch: tokio::time::Instant,
}

impl IdleWatch {
    fn new() -> IdleWatch {
        IdleWatch {
            since: std::sync::atomic::AtomicU64::new(1),
            epoch: tokio::time::Instant::now(),
        }
    }

    fn busy(&self) {
        self.since.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    fn waiting(&self) {
        let ms = self.epoch.elapsed().as_millis();
        let ms = u64::try_from(ms).unwrap_or(u64::MAX - 1);
        self.since
            .store(ms + 1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Resolves once the connection has waited longer than [`HEADER_TIMEOUT`]; its
    /// timer is set again only when that much time has passed, not per request.
    async fn stalled(&self) {
        loop {
            let since = self.since.load(std::sync::atomic::Ordering::Relaxed);
            let now = tokio::time::Instant::now();
            let deadline = match since {
                0 => now + HEADER_TIMEOUT,
                ms => self.epoch + Duration::from_millis(ms - 1) + HEADER_TIMEOUT,
            };
            if since != 0 && deadline <= now {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

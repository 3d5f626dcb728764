//! The accept loop shared by the control socket and the push listener (after
//! mini-redis's `Listener`): connections are accepted until shutdown, an accept error
//! (typically EMFILE, out of file descriptors) backs off instead of spinning, and a
//! semaphore bounds the connections served at once.

use crate::domain::time::Backoff;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// First wait after a failed accept; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait after failed accepts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A socket that accepts connections.
pub trait Accept: Send + Sync + 'static {
    /// A connection.
    type Stream: Send + 'static;
    /// The address of its peer.
    type Peer: Send + 'static;
    /// The next connection.
    fn accept(&self) -> impl Future<Output = std::io::Result<(Self::Stream, Self::Peer)>> + Send;
}

impl Accept for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    type Peer = std::net::SocketAddr;

    fn accept(&self) -> impl Future<Output = std::io::Result<(Self::Stream, Self::Peer)>> + Send {
        tokio::net::TcpListener::accept(self)
    }
}

impl Accept for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;
    type Peer = tokio::net::unix::SocketAddr;

    fn accept(&self) -> impl Future<Output = std::io::Result<(Self::Stream, Self::Peer)>> + Send {
        tokio::net::UnixListener::accept(self)
    }
}

/// A listening socket and the slots of the connections it may serve at once.
pub struct Listener<L> {
    socket: L,
    slots: Arc<Semaphore>,
    /// Named in log lines (`control socket`, `push listener`).
    name: &'static str,
}

impl<L: Accept> Listener<L> {
    /// Serves at most `max` connections at once.
    pub fn new(socket: L, max: usize, name: &'static str) -> Listener<L> {
        Listener {
            socket,
            slots: Arc::new(Semaphore::new(max)),
            name,
        }
    }

    /// The next connection, or `None` once `shutdown` is cancelled.
    pub async fn accept(&self, shutdown: &CancellationToken) -> Option<(L::Stream, L::Peer)> {
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return None,
                r = self.socket.accept() => r,
            };
            match accepted {
                Ok(connection) => return Some(connection),
                Err(e) => {
                    log::warn!("{}: accept failed: {e}", self.name);
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        _ = tokio::time::sleep(backoff.next_wait()) => {}
                    }
                }
            }
        }
    }

    /// A slot for a connection, waiting for one to be free (the connection waits in the
    /// kernel's backlog meanwhile, rather than being dropped).
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        match self.slots.clone().acquire_owned().await {
            Ok(permit) => permit,
            // The semaphore is never closed.
            Err(_) => unreachable!("the connection slots are never closed"),
        }
    }

    /// A slot for a connection if one is free now.
    pub fn try_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }
}

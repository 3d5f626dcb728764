//! The daemon's end of the control socket.
//!
//! [`bind`] makes the socket safe to own: a live socket (another daemon answers) is an
//! error, a stale one (nobody answers) is replaced, and the new one gets mode 0660 and,
//! if configured, the operators' group. [`serve`] accepts connections until shutdown;
//! each is checked against the peer's credentials (SO_PEERCRED), must open with a
//! matching `Hello`, and then carries any number of requests. A malformed or oversized
//! frame ends that connection only.

use super::codec::{self, CodecError};
use super::protocol::{ErrorKind, Request, Response, PROTOCOL_VERSION};
use crate::listener::Listener;
use futures_util::{SinkExt, StreamExt};
use nix::unistd::{Gid, Uid};
use std::future::Future;
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Connections served at once; further ones are told to retry.
const MAX_CONNECTIONS: usize = 64;
/// Time a client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Answers requests; implemented by the daemon.
pub trait Service: Send + Sync + 'static {
    /// Handles one request (never `Hello`, which the server answers itself) from
    /// `peer`, already admitted by [`Access::check`].
    fn handle(&self, request: Request, peer: Peer) -> impl Future<Output = Response> + Send;
}

/// Who is on the other end of a connection, from its socket credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The peer's user id.
    pub uid: u32,
    /// Root or skypunchd's own user: may do everything, including what runs a program
    /// as skypunchd (a `command` notifier). A `socket_group` member is not.
    pub privileged: bool,
}

/// Errors while setting the socket up.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another daemon answers on the socket.
    #[error("skypunchd is already running (its control socket {0} answers)")]
    AlreadyRunning(PathBuf),
    /// The path holds something else, which is never removed.
    #[error(
        "control socket {0}: something that is not a socket is there; move it away or set another [daemon] socket"
    )]
    NotASocket(PathBuf),
    /// A file system operation failed.
    #[error("control socket {path}: cannot {action}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// A peer that may not use the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("permission denied: uid {uid} is neither root, skypunchd's user, nor in its socket_group")]
pub struct Refused {
    /// The peer's user id.
    pub uid: u32,
}

/// Who may talk to the daemon besides root and the daemon's own user.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// The daemon's effective user.
    pub own_uid: Uid,
    /// The configured `socket_group`, if any.
    pub group: Option<Gid>,
}

impl Access {
    /// Checks a peer, returning who it is or why it is refused.
    pub fn check(&self, uid: u32, gid: u32) -> Result<Peer, Refused> {
        if uid == 0 || uid == self.own_uid.as_raw() {
            return Ok(Peer {
                uid,
                privileged: true,
            });
        }
        if let Some(group) = self.group {
            if gid == group.as_raw() || user_in_group(uid, group) {
                return Ok(Peer {
                    uid,
                    privileged: false,
                });
            }
        }
        Err(Refused { uid })
    }
}

fn user_in_group(uid: u32, group: Gid) -> bool {
    let Ok(Some(user)) = nix::unistd::User::from_uid(Uid::from_raw(uid)) else {
        return false;
    };
    let Ok(name) = std::ffi::CString::new(user.name) else {
        return false;
    };
    nix::unistd::getgrouplist(&name, user.gid)
        .map(|groups| groups.contains(&group))
        .unwrap_or(false)
}

/// Creates the listening socket at `path` (must run inside the tokio runtime).
pub fn bind(path: &Path, group: Option<Gid>) -> Result<UnixListener, BindError> {
    let io = |action, source| BindError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create its directory", e))?;
    }
    // Only a socket is ever replaced: a regular file (connecting to one is refused just
    // as a stale socket's connection is) may be anything, the database included.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(BindError::NotASocket(path.to_path_buf()));
        }
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => return Err(BindError::AlreadyRunning(path.to_path_buf())),
        Err(e) if e.kind() == IoKind::NotFound => {}
        Err(e) if e.kind() == IoKind::ConnectionRefused => {
            log::warn!("removing stale control socket {}", path.display());
            std::fs::remove_file(path).map_err(|e| io("remove the stale socket", e))?;
        }
        Err(e) => return Err(io("check the existing file", e)),
    }
    let listener = UnixListener::bind(path).map_err(|e| io("bind", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| io("set its mode to 0660", e))?;
    if let Some(gid) = group {
        nix::unistd::chown(path, None, Some(gid))
            .map_err(|e| io("give it to socket_group", std::io::Error::from(e)))?;
    }
    Ok(listener)
}

/// Serves connections until `shutdown` is cancelled. Connection tasks are spawned on
/// `tracker`, so the caller can wait for in-flight requests to finish.
pub async fn serve<S: Service>(
    listener: UnixListener,
    access: Access,
    service: Arc<S>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let listener = Listener::new(listener, MAX_CONNECTIONS, "control socket");
    while let Some((stream, _)) = listener.accept(&shutdown).await {
        let Some(permit) = listener.try_slot() else {
            tracker.spawn(refuse(stream, "too many control connections; try again"));
            continue;
        };
        let service = service.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            connection(stream, access, &*service, shutdown).await;
            drop(permit);
        });
    }
}

/// Runs [`serve`] on a thread of its own, with its own single-threaded event loop, until
/// `shutdown`; `tracker` counts it until its connections are drained.
///
/// On the daemon's main runtime a request waited behind every check task ready to
/// run: with the machine saturated by checks, `skypunchctl targets` (a few pages, each
/// a read and a reply) took three times as long as its reads. Here it waits only for
/// the operating system to give its thread a turn.
pub fn spawn<S: Service>(
    listener: UnixListener,
    access: Access,
    service: Arc<S>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> std::io::Result<()> {
    let listener = listener.into_std()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let token = tracker.token();
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            let connections = TaskTracker::new();
            runtime.block_on(async {
                match UnixListener::from_std(listener) {
                    Ok(l) => serve(l, access, service, shutdown, connections.clone()).await,
                    Err(e) => log::error!("control socket: {e}"),
                }
                connections.close();
                connections.wait().await;
            });
            drop(token);
        })?;
    Ok(())
}

async fn refuse(stream: UnixStream, message: &str) {
    let mut framed = codec::framed(stream);
    let _ = send(&mut framed, &error(ErrorKind::Failed, message)).await;
}

type Conn = tokio_util::codec::Framed<UnixStream, tokio_util::codec::LengthDelimitedCodec>;

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        kind,
        message: message.into(),
    }
}

async fn send(framed: &mut Conn, response: &Response) -> Result<(), ()> {
    let bytes = match codec::encode(response) {
        Ok(bytes) if bytes.len() <= codec::MAX_FRAME => bytes,
        // The peer hears why instead of seeing the connection close.
        encoded => {
            let why = match encoded {
                Ok(bytes) => format!(
                    "the answer is {} bytes, over the {} a frame may carry",
                    bytes.len(),
                    codec::MAX_FRAME
                ),
                Err(e) => e.to_string(),
            };
            log::error!("control socket: {why}");
            let why = error(
                ErrorKind::Internal,
                format!("cannot send the answer: {why}"),
            );
            codec::encode(&why).map_err(|_| ())?
        }
    };
    framed.send(bytes.as_slice()).await.map_err(|_| ())
}

/// Reads the next request; `None` ends the connection (after telling the peer why,
/// where there is something to tell).
async fn next_request(framed: &mut Conn, wait: Duration) -> Option<Request> {
    let frame = match tokio::time::timeout(wait, framed.next()).await {
        Err(_) | Ok(None) => return None,
        Ok(Some(Ok(frame))) => frame,
        Ok(Some(Err(e))) => {
            log::warn!("control socket: bad frame: {e}");
            let _ = send(
                framed,
                &error(ErrorKind::Protocol, format!("bad frame: {e}")),
            )
            .await;
            return None;
        }
    };
    match codec::decode::<Request>(&frame) {
        Ok(req) => Some(req),
        Err(e @ CodecError::Decode(_)) | Err(e @ CodecError::Encode(_)) => {
            log::warn!("control socket: {e}");
            let _ = send(framed, &error(ErrorKind::Protocol, e.to_string())).await;
            None
        }
    }
}

async fn connection<S: Service>(
    stream: UnixStream,
    access: Access,
    service: &S,
    shutdown: CancellationToken,
) {
    let cred = stream.peer_cred();
    let mut framed = codec::framed(stream);
    let allowed = match cred {
        Ok(c) => access.check(c.uid(), c.gid()).map_err(|r| r.to_string()),
        Err(e) => Err(format!("cannot read the peer's credentials: {e}")),
    };
    let peer = match allowed {
        Ok(peer) => peer,
        Err(message) => {
            log::warn!("control socket: {message}");
            // Take the client's Hello first: closing while it is still writing would
            // give it a broken pipe instead of the reason.
            let _ = next_request(&mut framed, HELLO_TIMEOUT).await;
            let _ = send(&mut framed, &error(ErrorKind::PermissionDenied, message)).await;
            return;
        }
    };
    match next_request(&mut framed, HELLO_TIMEOUT).await {
        Some(Request::Hello { protocol_version }) if protocol_version == PROTOCOL_VERSION => {
            let hello = Response::Hello {
                protocol_version: PROTOCOL_VERSION,
                daemon_version: crate::VERSION.to_string(),
                pid: std::process::id(),
            };
            if send(&mut framed, &hello).await.is_err() {
                return;
            }
        }
        Some(Request::Hello { protocol_version }) => {
            let message = format!(
                "protocol version mismatch: skypunchctl speaks version {protocol_version}, \
                 skypunchd {} speaks version {PROTOCOL_VERSION}",
                crate::VERSION
            );
            let _ = send(&mut framed, &error(ErrorKind::Protocol, message)).await;
            return;
        }
        Some(_) => {
            let message = "the first request on a connection must be Hello";
            let _ = send(&mut framed, &error(ErrorKind::Protocol, message)).await;
            return;
        }
        None => return,
    }
    loop {
        let request = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = next_request(&mut framed, IDLE_TIMEOUT) => r,
        };
        let response = match request {
            None => return,
            Some(Request::Hello { .. }) => {
                error(ErrorKind::Protocol, "Hello was already exchanged")
            }
            Some(request) => service.handle(request, peer).await,
        };
        if send(&mut framed, &response).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_and_the_own_user_are_privileged() {
        let access = Access {
            own_uid: Uid::from_raw(4242),
            group: Some(Gid::from_raw(777)),
        };
        let peer = |uid, gid| access.check(uid, gid);
        assert!(peer(0, 0).unwrap().privileged);
        assert!(peer(4242, 1).unwrap().privileged);
        // A socket_group member is served, but not trusted to run programs.
        assert_eq!(
            peer(5000, 777).unwrap(),
            Peer {
                uid: 5000,
                privileged: false
            }
        );
        assert!(peer(5000, 1).unwrap_err().to_string().contains("uid 5000"));
    }
}

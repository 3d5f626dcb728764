//! The client's end of the control socket.

use super::codec;
use super::protocol::{Request, Response, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use tokio::net::UnixStream;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Errors of talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// There is no socket file.
    #[error("skypunchd is not running (no socket at {0})")]
    NoSocket(PathBuf),
    /// The socket file exists but nobody listens on it: a leftover of a killed daemon
    /// (the next start replaces it), reported in SPEC.md §6's words like a missing one.
    #[error("skypunchd is not running (no socket at {0})")]
    NoAnswer(PathBuf),
    /// Connecting failed for another reason (permissions, most often).
    #[error("cannot connect to skypunchd at {path}: {source}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The daemon refused the conversation or answered nonsense.
    #[error("{0}")]
    Protocol(String),
    /// The connection broke.
    #[error("lost the connection to skypunchd: {0}")]
    Io(String),
}

impl ClientError {
    /// True when the daemon is simply not running (exit status 3).
    pub fn is_not_running(&self) -> bool {
        matches!(self, ClientError::NoSocket(_) | ClientError::NoAnswer(_))
    }
}

/// A conversation with the daemon.
pub struct Client {
    framed: Framed<UnixStream, LengthDelimitedCodec>,
    /// The daemon's package version.
    pub daemon_version: String,
    /// The daemon's process id.
    pub pid: u32,
}

impl Client {
    /// Connects to the socket at `path` and exchanges `Hello`.
    pub async fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|e| match e.kind() {
                IoKind::NotFound => ClientError::NoSocket(path.to_path_buf()),
                IoKind::ConnectionRefused => ClientError::NoAnswer(path.to_path_buf()),
                _ => ClientError::Connect {
                    path: path.to_path_buf(),
                    source: e,
                },
            })?;
        let mut client = Client {
            framed: codec::framed(stream),
            daemon_version: String::new(),
            pid: 0,
        };
        let hello = Request::Hello {
            protocol_version: PROTOCOL_VERSION,
        };
        match client.request(&hello).await? {
            Response::Hello {
                protocol_version,
                daemon_version,
                pid,
            } if protocol_version == PROTOCOL_VERSION => {
                client.daemon_version = daemon_version;
                client.pid = pid;
                Ok(client)
            }
            Response::Hello {
                protocol_version, ..
            } => Err(ClientError::Protocol(format!(
                "protocol version mismatch: skypunchctl speaks version {PROTOCOL_VERSION}, \
                 skypunchd speaks version {protocol_version}"
            ))),
            Response::Error { message, .. } => Err(ClientError::Protocol(message)),
            other => Err(ClientError::Protocol(format!(
                "unexpected answer to Hello: {other:?}"
            ))),
        }
    }

    /// Sends one request and waits for its response.
    pub async fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        let bytes = codec::encode(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.framed
            .send(bytes.as_slice())
            .await
            .map_err(|e| ClientError::Io(e.to_string()))?;
        let frame = self
            .framed
            .next()
            .await
            .ok_or_else(|| ClientError::Io("skypunchd closed the connection".into()))?
            .map_err(|e| ClientError::Io(e.to_string()))?;
        codec::decode(&frame).map_err(|e| ClientError::Protocol(e.to_string()))
    }
}

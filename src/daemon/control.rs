//! The daemon's answers to control requests.
//!
//! Reads go straight to the store; anything that changes the daemon itself (stop,
//! reload) is sent to the main loop, which owns that state.

use crate::config::Config;
use crate::control::protocol::{ErrorKind, Request, Response, StatusReport};
use crate::control::server::Service;
use crate::store::Store;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

/// What the control handlers ask of the main loop.
#[derive(Debug)]
pub enum Command {
    /// Stop gracefully.
    Stop,
    /// Reload the configuration; the reply says what happened.
    Reload(oneshot::Sender<Result<String, String>>),
}

/// Shared state the handlers read.
pub struct ControlService {
    /// The database.
    pub store: Store,
    /// The configuration in force.
    pub config: watch::Receiver<Arc<Config>>,
    /// When the daemon started.
    pub started: Instant,
    /// The main loop.
    pub commands: mpsc::Sender<Command>,
}

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        kind,
        message: message.into(),
    }
}

impl Service for ControlService {
    async fn handle(&self, request: Request) -> Response {
        match request {
            Request::Hello { .. } => error(ErrorKind::Protocol, "Hello was already exchanged"),
            Request::Status => self.status().await,
            Request::Stop => match self.commands.send(Command::Stop).await {
                Ok(()) => Response::Done {
                    message: "skypunchd is stopping".into(),
                },
                Err(_) => error(ErrorKind::Failed, "skypunchd is already stopping"),
            },
            Request::Reload => {
                let (tx, rx) = oneshot::channel();
                if self.commands.send(Command::Reload(tx)).await.is_err() {
                    return error(ErrorKind::Failed, "skypunchd is stopping");
                }
                match rx.await {
                    Ok(Ok(message)) => Response::Done { message },
                    Ok(Err(message)) => error(ErrorKind::InvalidInput, message),
                    Err(_) => error(ErrorKind::Failed, "skypunchd is stopping"),
                }
            }
        }
    }
}

impl ControlService {
    async fn status(&self) -> Response {
        let config = self.config.borrow().clone();
        match self.store.counts().await {
            Ok(counts) => Response::Status(StatusReport {
                version: crate::VERSION.to_string(),
                pid: std::process::id(),
                uptime_s: self.started.elapsed().as_secs(),
                config: config.path.display().to_string(),
                database: config.daemon.database.display().to_string(),
                listen: config.push.listen.clone(),
                counts,
            }),
            Err(e) => error(ErrorKind::Internal, e.to_string()),
        }
    }
}

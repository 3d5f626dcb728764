//! The daemon's answers to control requests.
//!
//! Reads go straight to the store; anything that changes the daemon itself (stop,
//! reload) is sent to the main loop, which owns that state.

use crate::config::{Config, NotifierKind};
use crate::control::protocol::{
    ErrorKind, NewNotifier, NewTarget, Request, Response, StatusReport, TestReport,
};
use crate::control::server::{Peer, Service};
use crate::probe::Prober;
use crate::scheduler::SchedulerHandle;
use crate::store::notifiers::{NotifierParams, NotifierRow};
use crate::store::{Store, StoreError};
use crate::target::{Origin, TargetDef, TargetRow};
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
    /// Runs manual checks.
    pub prober: Arc<Prober>,
    /// Told when targets change.
    pub scheduler: SchedulerHandle,
    /// The push listener's bound address, empty when disabled.
    pub listen: String,
    /// Sends test messages through notifiers.
    pub deliverer: crate::notify::Deliverer,
}

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        kind,
        message: message.into(),
    }
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound(m) => error(ErrorKind::NotFound, m),
        StoreError::Invalid(m) => error(ErrorKind::InvalidInput, m),
        other if other.is_unavailable() => error(ErrorKind::Unavailable, other.to_string()),
        other => error(ErrorKind::Internal, other.to_string()),
    }
}

/// Turns a store result into a response.
fn reply<T>(r: Result<T, StoreError>, f: impl FnOnce(T) -> Response) -> Response {
    r.map_or_else(store_error, f)
}

impl Service for ControlService {
    async fn handle(&self, request: Request, peer: Peer) -> Response {
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
            Request::Targets => reply(self.store.list_targets().await, Response::Targets),
            Request::Target { id } => self.target(id).await,
            Request::SetTargetEnabled { id, enabled } => {
                match self.store.set_target_enabled(id, enabled).await {
                    Ok(_) => {
                        self.scheduler.refresh();
                        reply(self.store.target_info(id).await, Response::Target)
                    }
                    Err(e) => store_error(e),
                }
            }
            Request::TestTarget { id } => self.test_target(id).await,
            Request::AddTarget(new) => self.add_target(new).await,
            Request::Servers { name } => reply(self.store.servers(name).await, Response::Servers),
            Request::AddServer { name } => {
                reply(self.store.add_server(name.clone()).await, |key| {
                    log::info!("server {name:?} added by skypunchctl");
                    Response::ServerAdded { name, key }
                })
            }
            Request::RemoveServer { name } => {
                reply(self.store.remove_server(name.clone()).await, |()| {
                    Response::Done {
                        message: format!("Server: {name} has been removed"),
                    }
                })
            }
            Request::Services { server } => {
                reply(self.store.services(server).await, Response::Services)
            }
            Request::Alerts { since_ms, limit } => {
                reply(self.store.alerts(since_ms, limit).await, Response::Alerts)
            }
            Request::Notifiers => reply(self.store.list_notifiers().await, Response::Notifiers),
            Request::Notifier { id } => {
                reply(self.store.notifier_info(id).await, Response::Notifier)
            }
            Request::SetNotifierEnabled { id, enabled } => {
                match self.store.set_notifier_enabled(id, enabled).await {
                    Ok(_) => reply(self.store.notifier_info(id).await, Response::Notifier),
                    Err(e) => store_error(e),
                }
            }
            Request::TestNotifier { id } => self.test_notifier(id).await,
            Request::AddNotifier(new)
                if !peer.privileged
                    && NotifierKind::parse(&new.kind) == Some(NotifierKind::Command) =>
            {
                error(
                    ErrorKind::PermissionDenied,
                    format!(
                        "permission denied: a command notifier runs a program as skypunchd's user; \
                         only root or that user may add one (uid {} is a socket_group member)",
                        peer.uid
                    ),
                )
            }
            Request::AddNotifier(new) => self.add_notifier(new).await,
            Request::RemoveNotifier { id } => reply(self.store.remove_notifier(id).await, |name| {
                log::info!("notifier `{name}` removed by skypunchctl");
                Response::Done {
                    message: format!("Notifier: {name} has been removed"),
                }
            }),
            Request::RemoveTarget { id } => match self.store.remove_target(id).await {
                Ok(name) => {
                    self.scheduler.refresh();
                    Response::Done {
                        message: format!("Target: {name} has been removed"),
                    }
                }
                Err(e) => store_error(e),
            },
        }
    }
}

impl ControlService {
    /// One target; its latest trace comes from memory when the daemon has one.
    async fn target(&self, id: i64) -> Response {
        reply(self.store.target_info(id).await, |mut t| {
            if let Some(trace) = self.scheduler.last_trace(id) {
                t.last_trace = Some(trace);
            }
            Response::Target(t)
        })
    }

    async fn test_target(&self, id: i64) -> Response {
        let row = match self.store.target_row(id).await {
            Ok(r) => r,
            Err(e) => return store_error(e),
        };
        let def = TargetDef::from_row(&row);
        let outcome = self.prober.check(&def).await;
        log::info!("[{id}] manual test: {}", outcome.result_line(&def));
        Response::Test(TestReport {
            id,
            name: def.name.clone(),
            passed: outcome.passed,
            description: outcome.description.clone(),
            line: outcome.result_line(&def),
            trace: outcome.trace_text(&def),
        })
    }

    async fn add_target(&self, new: NewTarget) -> Response {
        let row = TargetRow {
            id: 0,
            name: new.name,
            url: new.url,
            method: new.method,
            authn: new.authn,
            authn_params: new.authn_params,
            expect_status: new.expect_status,
            frequency: new.frequency,
            timeout: new.timeout,
            enabled: new.enabled,
            options: new.options,
            unreadable: None,
        };
        if let Some(problem) = TargetDef::from_row(&row).invalid {
            return error(
                ErrorKind::InvalidInput,
                format!("target {:?}: {problem}", row.name),
            );
        }
        match self.store.add_target(row, Origin::Cli).await {
            Ok(id) => {
                self.scheduler.refresh();
                reply(self.store.target_info(id).await, Response::Target)
            }
            Err(e) => store_error(e),
        }
    }

    async fn test_notifier(&self, id: i64) -> Response {
        let row = match self.store.notifier_row(id).await {
            Ok(r) => r,
            Err(e) => return store_error(e),
        };
        let alert = crate::notify::text::test_alert(&row.name);
        let outcome = self.deliverer.deliver(&row, &alert).await;
        match &outcome {
            Ok(answer) => log::info!("notifier `{}`: test message delivered ({answer})", row.name),
            Err(e) => log::warn!("notifier `{}`: test message not delivered: {e}", row.name),
        }
        Response::NotifierTest {
            name: row.name,
            delivered: outcome.is_ok(),
            message: outcome.unwrap_or_else(|e| e.reason),
        }
    }

    async fn add_notifier(&self, new: NewNotifier) -> Response {
        let Some(kind) = NotifierKind::parse(&new.kind) else {
            return error(
                ErrorKind::InvalidInput,
                format!(
                    "notifier type {:?} is not smtp, command or webhook",
                    new.kind
                ),
            );
        };
        if new.name.trim().is_empty() {
            return error(ErrorKind::InvalidInput, "notifier name must not be empty");
        }
        if let Err(e) = crate::config::check_notifier_address(kind, &new.address) {
            return error(
                ErrorKind::InvalidInput,
                format!("notifier {:?}: {e}", new.name),
            );
        }
        if let Err(e) = serde_json::from_str::<NotifierParams>(&new.params) {
            return error(
                ErrorKind::InvalidInput,
                format!("notifier {:?}: params are not valid: {e}", new.name),
            );
        }
        let row = NotifierRow {
            id: 0,
            name: new.name,
            kind: kind.as_str().to_string(),
            address: new.address,
            params: new.params,
            enabled: new.enabled,
        };
        match self.store.add_notifier(row, Origin::Cli).await {
            Ok(id) => reply(self.store.notifier_info(id).await, Response::Notifier),
            Err(e) => store_error(e),
        }
    }

    async fn status(&self) -> Response {
        let config = self.config.borrow().clone();
        match self.store.counts().await {
            Ok(counts) => Response::Status(StatusReport {
                version: crate::VERSION.to_string(),
                pid: std::process::id(),
                uptime_s: self.started.elapsed().as_secs(),
                config: config.path.display().to_string(),
                database: config.daemon.database.display().to_string(),
                listen: self.listen.clone(),
                counts,
            }),
            Err(e) => error(ErrorKind::Internal, e.to_string()),
        }
    }
}

//! The daemon's answers to control requests.
//!
//! Reads go straight to the store; anything that changes the daemon itself (stop,
//! reload) is sent to the main loop, which owns that state.

use crate::config::{Config, NotifierKind};
use crate::control::protocol::{
    AlertInfo, Counts, ErrorKind, NewNotifier, NewTarget, NotifierInfo, ReportInfo, ReportLine,
    ReportQuery, Request, Response, ServerInfo, ServiceInfo, StatusReport, TargetInfo, TargetLine,
    TestReport,
};
use crate::control::server::{Peer, Service};
use crate::domain::target::{Origin, TargetRow};
use crate::probe::Prober;
use crate::scheduler::SchedulerHandle;
use crate::store::notifiers::{NotifierParams, NotifierRow};
use crate::store::{Store, StoreError};
use crate::target::TargetDef;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

/// How much of a long list (targets, services) one answer carries, as the store
/// estimates it (high: a row's text and a bound on its numbers): three quarters of the
/// largest frame.
const LIST_PAGE_BYTES: usize = crate::control::codec::MAX_FRAME / 4 * 3;

/// What the control handlers ask of the main loop.
#[derive(Debug)]
pub enum MainCommand {
    /// Stop gracefully.
    Stop,
    /// Reload the configuration; the reply says what happened.
    Reload(oneshot::Sender<Result<String, super::ReloadError>>),
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
    pub commands: mpsc::Sender<MainCommand>,
    /// Runs manual checks.
    pub prober: Arc<Prober>,
    /// Told when targets change.
    pub scheduler: SchedulerHandle,
    /// The push listener's bound address, empty when disabled.
    pub listen: String,
    /// Sends test messages through notifiers.
    pub deliverer: crate::notify::Deliverer,
    /// The daemon's main runtime: the control socket has a thread of its own, and a
    /// manual check or test message runs where the scheduled ones do (their
    /// connections and the tasks those spawn belong to it).
    pub main: tokio::runtime::Handle,
}

pub(super) fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        kind,
        message: message.into(),
    }
}

pub(super) fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound(m) => error(ErrorKind::NotFound, m),
        StoreError::Invalid(m) => error(ErrorKind::InvalidInput, m),
        other if other.is_unavailable() => error(ErrorKind::Unavailable, other.to_string()),
        other => error(ErrorKind::Internal, other.to_string()),
    }
}

/// Turns a store result into a response.
pub(super) fn reply<T>(r: Result<T, StoreError>, f: impl FnOnce(T) -> Response) -> Response {
    r.map_or_else(store_error, f)
}

/// Turns a store row into the protocol's answer type, then into a response.
fn answer<T, A: From<T>>(r: Result<T, StoreError>, f: impl FnOnce(A) -> Response) -> Response {
    r.map_or_else(store_error, |row| f(A::from(row)))
}

/// [`answer`] for a list of rows.
fn answers<T, A: From<T>>(
    r: Result<Vec<T>, StoreError>,
    f: impl FnOnce(Vec<A>) -> Response,
) -> Response {
    r.map_or_else(store_error, |rows| {
        f(rows.into_iter().map(A::from).collect())
    })
}

impl From<crate::store::targets::TargetLine> for TargetLine {
    fn from(row: crate::store::targets::TargetLine) -> Self {
        TargetLine {
            id: row.id,
            name: row.name,
            status: row.status,
            last_updated: row.last_updated,
            enabled: row.enabled,
            pass_count: row.pass_count,
            fail_count: row.fail_count,
        }
    }
}

impl From<crate::store::targets::TargetInfo> for TargetInfo {
    fn from(row: crate::store::targets::TargetInfo) -> Self {
        TargetInfo {
            id: row.id,
            name: row.name,
            status: row.status,
            status_description: row.status_description,
            last_updated: row.last_updated,
            enabled: row.enabled,
            url: row.url,
            method: row.method,
            auth_type: row.auth_type,
            expect_status: row.expect_status,
            frequency: row.frequency,
            timeout: row.timeout,
            pass_count: row.pass_count,
            fail_count: row.fail_count,
            warn_count: row.warn_count,
            count200: row.count200,
            count300: row.count300,
            count400: row.count400,
            count500: row.count500,
            network_fails: row.network_fails,
            repeated_fails: row.repeated_fails,
            last_trace: row.last_trace,
        }
    }
}

impl From<crate::store::servers::ServerInfo> for ServerInfo {
    fn from(row: crate::store::servers::ServerInfo) -> Self {
        ServerInfo {
            id: row.id,
            name: row.name,
            origin: row.origin,
            created: row.created,
            services: row.services,
            last_report: row.last_report,
            ping_key: row.ping_key,
        }
    }
}

impl From<crate::store::services::ServiceInfo> for ServiceInfo {
    fn from(row: crate::store::services::ServiceInfo) -> Self {
        ServiceInfo {
            id: row.id,
            server: row.server,
            name: row.name,
            state: row.state,
            info: row.info,
            period: row.period,
            last_report: row.last_report,
            timed_out: row.timed_out,
        }
    }
}

impl From<crate::store::alerts::AlertInfo> for AlertInfo {
    fn from(row: crate::store::alerts::AlertInfo) -> Self {
        AlertInfo {
            id: row.id,
            time: row.time,
            server: row.server,
            service: row.service,
            target: row.target,
            channel: row.channel,
            event: row.event,
            message: row.message,
            suppressed: row.suppressed,
            group_size: row.group_size,
        }
    }
}

impl From<crate::store::notifiers::NotifierInfo> for NotifierInfo {
    fn from(row: crate::store::notifiers::NotifierInfo) -> Self {
        NotifierInfo {
            id: row.id,
            name: row.name,
            enabled: row.enabled,
            kind: row.kind,
            address: row.address,
            pass_count: row.pass_count,
            fail_count: row.fail_count,
            pending: row.pending,
            last_error: row.last_error,
        }
    }
}

impl From<crate::store::Report> for ReportInfo {
    fn from(r: crate::store::Report) -> Self {
        ReportInfo {
            from: r.from,
            to: r.to,
            time_zone: r.time_zone,
            rows: r
                .rows
                .into_iter()
                .map(|row| {
                    let f = row.figures;
                    ReportLine {
                        kind: row.kind.as_str().to_string(),
                        id: row.id,
                        source: row.source,
                        covered_ms: f.covered_ms,
                        no_data_ms: f.no_data_ms,
                        uptime_pct: f.uptime_pct,
                        degraded_pct: f.degraded_pct,
                        downtime_ms: f.downtime_ms,
                        incidents: f.incidents,
                        longest_ms: f.longest_ms,
                        mttr_ms: f.mttr_ms,
                        p95_ms: f.p95_ms,
                    }
                })
                .collect(),
        }
    }
}

impl From<ReportQuery> for crate::store::ReportAsk {
    fn from(q: ReportQuery) -> Self {
        crate::store::ReportAsk {
            target: q.target,
            server: q.server,
            service: q.service,
            month: q.month,
            from: q.from,
            to: q.to,
        }
    }
}

impl From<crate::store::Counts> for Counts {
    fn from(row: crate::store::Counts) -> Self {
        Counts {
            targets: row.targets,
            targets_enabled: row.targets_enabled,
            targets_failing: row.targets_failing,
            servers: row.servers,
            services: row.services,
            pending_alerts: row.pending_alerts,
        }
    }
}

impl Service for ControlService {
    async fn handle(&self, request: Request, peer: Peer) -> Response {
        match request {
            Request::Hello { .. } => error(ErrorKind::Protocol, "Hello was already exchanged"),
            Request::Status => self.status().await,
            r @ (Request::AddSilence(_)
            | Request::Silences { .. }
            | Request::RemoveSilence { .. }
            | Request::Ack { .. }
            | Request::Quiet) => self.quiet_request(r, &peer).await,
            r @ (Request::Jobs { .. } | Request::AddJob(_) | Request::RemoveJob { .. }) => {
                self.job_request(r).await
            }
            Request::Stop => match self.commands.send(MainCommand::Stop).await {
                Ok(()) => Response::Done {
                    message: "skypunchd is stopping".into(),
                },
                Err(_) => error(ErrorKind::Failed, "skypunchd is already stopping"),
            },
            Request::Reload => {
                let (tx, rx) = oneshot::channel();
                if self.commands.send(MainCommand::Reload(tx)).await.is_err() {
                    return error(ErrorKind::Failed, "skypunchd is stopping");
                }
                match rx.await {
                    Ok(Ok(message)) => Response::Done { message },
                    Ok(Err(e)) => error(ErrorKind::InvalidInput, e.to_string()),
                    Err(_) => error(ErrorKind::Failed, "skypunchd is stopping"),
                }
            }
            Request::Targets { after } => answers(
                self.store.list_targets_after(after, LIST_PAGE_BYTES).await,
                Response::Targets,
            ),
            Request::TargetLines { after } => answers(
                self.store
                    .list_target_lines_after(after, LIST_PAGE_BYTES)
                    .await,
                Response::TargetLines,
            ),
            Request::Target { id } => self.target(id).await,
            Request::SetTargetEnabled { id, enabled } => {
                match self.store.set_target_enabled(id, enabled).await {
                    Ok(_) => {
                        self.scheduler.refresh();
                        answer(self.store.target_info(id).await, Response::Target)
                    }
                    Err(e) => store_error(e),
                }
            }
            Request::TestTarget { id } => self.test_target(id).await,
            Request::AddTarget(new) => self.add_target(new).await,
            Request::Servers { name } => answers(self.store.servers(name).await, Response::Servers),
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
            Request::Services { server, after } => answers(
                self.store
                    .services_after(server, after, LIST_PAGE_BYTES)
                    .await,
                Response::Services,
            ),
            Request::Alerts { since_ms, limit } => {
                answers(self.store.alerts(since_ms, limit).await, Response::Alerts)
            }
            Request::Notifiers => answers(self.store.list_notifiers().await, Response::Notifiers),
            Request::Notifier { id } => {
                answer(self.store.notifier_info(id).await, Response::Notifier)
            }
            Request::SetNotifierEnabled { id, enabled } => {
                match self.store.set_notifier_enabled(id, enabled).await {
                    Ok(_) => answer(self.store.notifier_info(id).await, Response::Notifier),
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
            Request::Report(query) => {
                use crate::store::ReportError;
                let now = crate::domain::time::now_ms();
                match self.store.report_for(query.into(), now).await {
                    Ok(report) => Response::Report(report.into()),
                    Err(ReportError::Asked(m)) => error(ErrorKind::InvalidInput, m),
                    Err(ReportError::NotFound(m)) => error(ErrorKind::NotFound, m),
                    Err(ReportError::Store(e)) => store_error(e),
                }
            }
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
        answer(self.store.target_info(id).await, |mut t: TargetInfo| {
            if let Some(trace) = self.scheduler.last_trace(id) {
                t.last_trace = Some(trace);
            }
            Response::Target(t)
        })
    }

    /// Runs `work` on the daemon's main runtime; a panic in it is answered as `what`
    /// not having ended.
    async fn on_main<T: Send + 'static>(
        &self,
        what: &str,
        work: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T, Response> {
        self.main
            .spawn(work)
            .await
            .map_err(|e| error(ErrorKind::Failed, format!("{what} did not end: {e}")))
    }

    async fn test_target(&self, id: i64) -> Response {
        let row = match self.store.target_row(id).await {
            Ok(r) => r,
            Err(e) => return store_error(e),
        };
        let def = TargetDef::from_row(&row);
        let prober = self.prober.clone();
        let checked = self.on_main("the check", async move {
            let outcome = prober.check(&def).await;
            (def, outcome)
        });
        let (def, outcome) = match checked.await {
            Ok(done) => done,
            Err(answer) => return answer,
        };
        log::info!("[{id}] manual test: {}", outcome.result_line(&def));
        Response::Test(TestReport {
            id,
            name: def.name.clone(),
            verdict: outcome.verdict,
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
                answer(self.store.target_info(id).await, Response::Target)
            }
            Err(e) => store_error(e),
        }
    }

    async fn test_notifier(&self, id: i64) -> Response {
        let row = match self.store.notifier_row(id).await {
            Ok(r) => r,
            Err(e) => return store_error(e),
        };
        let deliverer = self.deliverer.clone();
        let delivered = self.on_main("the test message", async move {
            let alert = crate::notify::text::test_alert(&row.name);
            let outcome = deliverer.deliver(&row, std::slice::from_ref(&alert)).await;
            (row, outcome)
        });
        let (row, outcome) = match delivered.await {
            Ok(done) => done,
            Err(answer) => return answer,
        };
        match &outcome {
            Ok(d) => log::info!(
                "notifier `{}`: test message delivered ({})",
                row.name,
                d.answer
            ),
            Err(e) => log::warn!("notifier `{}`: test message not delivered: {e}", row.name),
        }
        Response::NotifierTest {
            name: row.name,
            delivered: outcome.is_ok(),
            message: outcome.map_or_else(|e| e.reason, |d| d.answer),
        }
    }

    async fn add_notifier(&self, new: NewNotifier) -> Response {
        let Some(kind) = NotifierKind::parse(&new.kind) else {
            return error(
                ErrorKind::InvalidInput,
                format!(
                    "notifier type {:?} is not smtp, command, webhook or alertmanager",
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
        let params = match serde_json::from_str::<NotifierParams>(&new.params) {
            Ok(p) => p,
            Err(e) => {
                return error(
                    ErrorKind::InvalidInput,
                    format!("notifier {:?}: params are not valid: {e}", new.name),
                )
            }
        };
        if kind == NotifierKind::Alertmanager {
            let resend = params
                .resend_interval
                .unwrap_or(crate::config::DEFAULT_RESEND_INTERVAL_S);
            if let Err(e) = crate::config::check_alertmanager_params(&params.labels, resend) {
                return error(
                    ErrorKind::InvalidInput,
                    format!("notifier {:?}: {e}", new.name),
                );
            }
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
            Ok(id) => answer(self.store.notifier_info(id).await, Response::Notifier),
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
                counts: counts.into(),
            }),
            Err(e) => error(ErrorKind::Internal, e.to_string()),
        }
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;

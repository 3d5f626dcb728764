//! The daemon's life: start-up, the main loop, reload and graceful stop.
//!
//! Start-up takes, in order, the log file, the pid file (exclusive lock), the control
//! socket and the database; any failure is reported to whoever started the daemon
//! (see [`detach`]). The main loop then owns the configuration and reacts to signals
//! and control commands. Stopping cancels the shutdown token, waits for in-flight work
//! to finish, closes the database (every queued write committed) and removes the
//! socket and pid file.

pub mod control;
pub mod detach;
mod jobs;
pub mod pidfile;
mod quiet;
pub mod signals;

use crate::config::{Config, DatabaseSync};
use crate::control::server::{self, Access, BindError};
use crate::logging::{LogError, Logging};
use crate::probe::Prober;
use crate::scheduler::{self, SchedulerHandle};
use crate::store::notifiers::NotifierRow;
use crate::store::{Durability, Store, StoreError};
use crate::target::row_from_config;
use control::{ControlService, MainCommand};
use detach::Readiness;
use pidfile::{PidError, PidFile};
use signals::Signal;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Longest wait for in-flight work at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the daemon could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Logging could not be set up.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The pid file is held or unusable.
    #[error(transparent)]
    Pid(#[from] PidError),
    /// The control socket could not be set up.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

/// Runs the daemon to completion on a new tokio runtime.
///
/// `readiness` is told once the daemon serves, or why it could not start.
/// Files the daemon creates (database and its WAL, log, pid file, and whatever its
/// notifier commands write) hold target passwords and alert history: they are made
/// 0640 or stricter whatever umask the daemon was started with (an interactive shell's
/// is often 022). The control socket is given 0660 explicitly.
fn restrict_umask() {
    use nix::sys::stat::{umask, Mode};
    let inherited = umask(Mode::from_bits_truncate(0o027));
    umask(inherited | Mode::from_bits_truncate(0o027));
}

/// Runs the daemon until it is stopped: logging, the runtime, then [`run`]; a start-up
/// failure is reported through `readiness` (to the parent of a forked daemon, or to
/// systemd) before it is returned.
pub fn main(config: Config, foreground: bool, mut readiness: Readiness) -> Result<(), DaemonError> {
    restrict_umask();
    let logging = match Logging::init(&config.daemon, foreground) {
        Ok(l) => l,
        Err(e) => {
            readiness.failed(&e.to_string());
            return Err(e.into());
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if config.daemon.worker_threads > 0 {
        builder.worker_threads(config.daemon.worker_threads);
    }
    let runtime = builder
        .enable_all()
        .thread_name("skypunchd")
        .build()
        .map_err(|e| DaemonError::Other(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(run(config, logging, &mut readiness));
    if let Err(e) = &result {
        if readiness.pending() {
            readiness.failed(&e.to_string());
        }
        log::error!("skypunchd failed: {e}");
    }
    // Handler threads blocked in SQLite or DNS must not hold the exit up.
    runtime.shutdown_timeout(Duration::from_secs(1));
    // INFO lines wait a moment to be written together; the last ones must not be lost.
    log::logger().flush();
    result
}

fn socket_group(name: &str) -> Result<Option<nix::unistd::Gid>, DaemonError> {
    if name.is_empty() {
        return Ok(None);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(Some(g.gid)),
        Ok(None) => Err(DaemonError::Other(format!(
            "[daemon] socket_group: no group named {name:?}"
        ))),
        Err(e) => Err(DaemonError::Other(format!(
            "[daemon] socket_group {name:?}: {e}"
        ))),
    }
}

async fn run(
    config: Config,
    logging: Logging,
    readiness: &mut Readiness,
) -> Result<(), DaemonError> {
    let started = Instant::now();
    let group = socket_group(&config.daemon.socket_group)?;
    let pid_file = PidFile::acquire(&config.daemon.pid_file)?;
    let listener = match server::bind(&config.daemon.socket, group) {
        Ok(l) => l,
        Err(e) => {
            pid_file.remove();
            return Err(e.into());
        }
    };
    let socket_path = config.daemon.socket.clone();
    let durability = match config.daemon.database_sync {
        DatabaseSync::Normal => Durability::Normal,
        DatabaseSync::Full => Durability::Full,
    };
    let store = match Store::open(&config.daemon.database, durability) {
        Ok(s) => s,
        Err(e) => {
            remove_socket(&socket_path);
            pid_file.remove();
            return Err(e.into());
        }
    };
    let started_up = async {
        sync_targets(&store, &config).await?;
        match config.push.listen_addr() {
            Some(addr) => crate::push::bind(addr)
                .await
                .map(Some)
                .map_err(|e| DaemonError::Other(e.to_string())),
            None => Ok(None),
        }
    };
    let push_listener = match started_up.await {
        Ok(l) => l,
        Err(e) => {
            store.close().await;
            remove_socket(&socket_path);
            pid_file.remove();
            return Err(e);
        }
    };
    let listen = push_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .unwrap_or_default();
    let mut signals = signals::listen()
        .map_err(|e| DaemonError::Other(format!("cannot install signal handlers: {e}")))?;

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (config_tx, config_rx) = watch::channel(Arc::new(without_targets(config)));
    let (cmd_tx, mut cmd_rx) = mpsc::channel(16);
    let prober = Arc::new(Prober::new());
    let scheduler = scheduler::spawn(
        store.clone(),
        prober.clone(),
        config_tx.borrow().daemon.max_concurrent_checks,
        tracker.clone(),
        shutdown.clone(),
    );
    tracker.spawn(prune_history(
        store.clone(),
        config_rx.clone(),
        shutdown.clone(),
    ));
    tracker.spawn(crate::push::watch_periods(store.clone(), shutdown.clone()));
    if let Some(listener) = push_listener {
        log::info!("push listener on {listen}");
        crate::push::spawn(
            listener,
            store.clone(),
            scheduler.clone(),
            config_rx.clone(),
            shutdown.clone(),
            &tracker,
        )
        .map_err(|e| DaemonError::Other(e.to_string()))?;
    }
    let deliverer = crate::notify::Deliverer {
        prober: prober.clone(),
        config: config_rx.clone(),
        store: store.clone(),
    };
    crate::notify::spawn(
        store.clone(),
        deliverer.clone(),
        tracker.clone(),
        shutdown.clone(),
    );
    let service = Arc::new(ControlService {
        store: store.clone(),
        config: config_rx,
        started,
        commands: cmd_tx,
        prober,
        scheduler: scheduler.clone(),
        listen,
        deliverer,
        main: tokio::runtime::Handle::current(),
    });
    let access = Access {
        own_uid: nix::unistd::geteuid(),
        group,
    };
    server::spawn(listener, access, service, shutdown.clone(), &tracker).map_err(|e| {
        DaemonError::Other(format!("cannot start the control socket's thread: {e}"))
    })?;

    {
        let c = config_tx.borrow();
        log::info!(
            "skypunchd {} started (pid {}, config {}, database {}, socket {})",
            crate::VERSION,
            std::process::id(),
            c.path.display(),
            c.daemon.database.display(),
            c.daemon.socket.display()
        );
    }
    // Only after the line is in the log: whoever waits for readiness may read it next.
    readiness.ready();

    let reason = loop {
        tokio::select! {
            sig = signals.recv() => match sig {
                Some(Signal::Stop(name)) => break format!("received {name}"),
                Some(Signal::Reload) => {
                    log::info!("received SIGHUP");
                    let _ = reload(&config_tx, &logging, &store, &scheduler).await;
                }
                None => break "signal thread ended".to_string(),
            },
            cmd = cmd_rx.recv() => match cmd {
                Some(MainCommand::Stop) => break "stop requested by skypunchctl".to_string(),
                Some(MainCommand::Reload(reply)) => {
                    let _ = reply.send(reload(&config_tx, &logging, &store, &scheduler).await);
                }
                None => break "control service ended".to_string(),
            },
        }
    };

    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    log::info!("stopping: {reason}");
    shutdown.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        log::warn!(
            "stopping: work still running after {} s is abandoned",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    store.close().await;
    remove_socket(&socket_path);
    pid_file.remove();
    log::info!("skypunchd stopped");
    Ok(())
}

/// The rows a `[[notifier]]` entry stands for (one per Alertmanager of a cluster).
fn notifier_rows(n: &crate::config::NotifierConfig) -> Vec<NotifierRow> {
    let alertmanager = n.kind == crate::config::NotifierKind::Alertmanager;
    let params = crate::store::notifiers::NotifierParams {
        timeout: Some(n.timeout),
        headers: n.headers.clone(),
        only_targets: n.only_targets.clone(),
        only_servers: n.only_servers.clone(),
        group_interval: Some(n.group_interval()),
        escalate_after: (n.escalate_after > 0).then_some(n.escalate_after),
        labels: n.labels.clone(),
        resend_interval: alertmanager.then_some(n.resend_interval),
    };
    n.rows()
        .into_iter()
        .map(|(name, address)| NotifierRow {
            id: 0,
            name,
            kind: n.kind.as_str().to_string(),
            address,
            params: params.to_json(),
            enabled: n.enabled,
        })
        .collect()
}

/// Makes the database's config-made targets and notifiers match the file, and puts
/// its service rules in force.
async fn sync_targets(store: &Store, config: &Config) -> Result<(), StoreError> {
    store.set_max_alerts_per_minute(config.push.max_alerts_per_minute);
    store.set_history(crate::store::HistorySettings {
        calendar: config.calendar(),
        sample_ms: i64::from(config.history.service_sample_seconds) * 1000,
    });
    store.set_service_rules(config.service_rules()).await?;
    store
        .set_maintenance(Arc::from(config.maintenance_windows()))
        .await?;
    let rows = config.targets.iter().map(row_from_config).collect();
    let targets = store.sync_config_targets(rows).await?;
    let rows = config.notifiers.iter().flat_map(notifier_rows).collect();
    let notifiers = store.sync_config_notifiers(rows).await?;
    for (what, r) in [("targets", targets), ("notifiers", notifiers)] {
        if r.added + r.updated + r.removed > 0 {
            log::info!(
                "{what} from {}: {} added, {} updated, {} removed",
                config.path.display(),
                r.added,
                r.updated,
                r.removed
            );
        }
    }
    Ok(())
}

/// Every ten minutes, from a minute after the start: deletes raw history older than `[history] raw_days`, figures and
/// incidents older than `rollup_days`, and alerts, deliveries and abandoned pushing
/// servers older than `alerts_days`.
async fn prune_history(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    shutdown: CancellationToken,
) {
    // The first pruning waits a minute: starting is busy enough, and an operator's
    // `sqlite3` typed in right after a start should not meet a stream of deletes.
    let mut every = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(60),
        Duration::from_secs(600),
    );
    let days_ago = |days: u32| crate::domain::time::now_ms() - i64::from(days) * 86_400_000;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let (raw, rollup, alerts) = {
            let c = config.borrow();
            (c.raw_days(), c.history.rollup_days, c.history.alerts_days)
        };
        match store.prune_history(days_ago(raw), days_ago(rollup)).await {
            Ok(p) if p == crate::store::Pruned::default() => {}
            Ok(p) => log::info!(
                "history: deleted {} check results and {} service states older than {raw} days, \
                 {} hourly and daily figures and {} incidents older than {rollup} days",
                p.results,
                p.states,
                p.rollups,
                p.incidents
            ),
            Err(e) => log::error!("history: pruning failed: {e}"),
        }
        let before = days_ago(alerts);
        match store.prune_alerts(before).await {
            Ok(0) => {}
            Ok(n) => log::info!(
                "history: {n} alerts older than {alerts} days deleted, with their deliveries"
            ),
            Err(e) => log::error!("history: pruning alerts failed: {e}"),
        }
        match store.prune_abandoned(before).await {
            Ok((0, 0)) => {}
            Ok((services, servers)) => log::info!(
                "history: {services} services offline and {servers} self-registered servers silent for over {alerts} days deleted"
            ),
            Err(e) => log::error!("history: pruning abandoned servers failed: {e}"),
        }
    }
}

/// Why a reload changed nothing, or not everything.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file (or its logging set-up) is refused: nothing changed.
    #[error("reload refused, configuration unchanged: {0}")]
    Refused(String),
    /// The file was taken but its targets and notifiers could not be stored.
    #[error("reload failed while updating targets and notifiers: {0}")]
    Sync(StoreError),
}

/// Re-reads the configuration file. A broken file changes nothing and is reported.
async fn reload(
    config_tx: &watch::Sender<Arc<Config>>,
    logging: &Logging,
    store: &Store,
    scheduler: &SchedulerHandle,
) -> Result<String, ReloadError> {
    let current = config_tx.borrow().clone();
    let refused = |e: ReloadError| {
        log::error!("{e}");
        e
    };
    let new =
        Config::load(&current.path).map_err(|e| refused(ReloadError::Refused(e.to_string())))?;
    logging
        .reload(&new.daemon)
        .map_err(|e| refused(ReloadError::Refused(e.to_string())))?;
    for (what, old, now) in [
        ("socket", &current.daemon.socket, &new.daemon.socket),
        ("pid_file", &current.daemon.pid_file, &new.daemon.pid_file),
        ("database", &current.daemon.database, &new.daemon.database),
    ] {
        if old != now {
            log::warn!(
                "[daemon] {what} changed to {}; it takes effect at the next restart",
                now.display()
            );
        }
    }
    sync_targets(store, &new)
        .await
        .map_err(|e| refused(ReloadError::Sync(e)))?;
    scheduler.refresh();
    let msg = format!("configuration reloaded from {}", new.path.display());
    log::info!("{msg}");
    config_tx.send_replace(Arc::new(without_targets(new)));
    Ok(msg)
}

/// The configuration as the daemon keeps it once the file's targets are in the
/// database: the scheduler reads them from there, and a second copy would cost
/// ~560 bytes a target (56 MB for 100,000).
fn without_targets(mut config: Config) -> Config {
    config.targets = Vec::new();
    config
}

fn remove_socket(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            log::warn!("cannot remove control socket {}: {e}", path.display());
        }
    }
}

//! Messages on the control socket.
//!
//! The first exchange of every connection is [`Request::Hello`] / [`Response::Hello`];
//! a peer with another [`PROTOCOL_VERSION`] gets an error naming both versions. New
//! variants are only ever appended, so the encoding of existing ones never moves;
//! anything else bumps the version.

pub use super::jobs::{JobInfo, NewJob};
pub use super::quiet::{AckInfo, NewSilence, QuietInfo, SilenceInfo, WindowInfo};
use serde::{Deserialize, Serialize};

/// Version of this protocol; both sides must agree.
pub const PROTOCOL_VERSION: u32 = 6;

/// What `skypunchctl` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Opens a conversation.
    Hello {
        /// The client's [`PROTOCOL_VERSION`].
        protocol_version: u32,
    },
    /// Version, pid, uptime and counts.
    Status,
    /// Stop the daemon gracefully.
    Stop,
    /// Re-read the configuration file.
    Reload,
    /// Targets with an id above `after`, in id order, as many as fit a frame well
    /// under [`MAX_FRAME`](super::codec::MAX_FRAME) (100,000 targets do not fit one);
    /// an empty answer means there are no more.
    Targets {
        /// The last id of the page before (`i64::MIN` for the first: ids typed in by
        /// hand may be 0 or below).
        after: i64,
    },
    /// One target with its last trace.
    Target {
        /// Target id.
        id: i64,
    },
    /// Enable or disable a target.
    SetTargetEnabled {
        /// Target id.
        id: i64,
        /// The new setting.
        enabled: bool,
    },
    /// Check a target now without recording anything.
    TestTarget {
        /// Target id.
        id: i64,
    },
    /// Create a target.
    AddTarget(NewTarget),
    /// Delete a target and its history.
    RemoveTarget {
        /// Target id.
        id: i64,
    },
    /// All servers, or the one named.
    Servers {
        /// Only this server.
        name: Option<String>,
    },
    /// Register a server with a generated key.
    AddServer {
        /// Its name.
        name: String,
    },
    /// Remove a server, its services and their history.
    RemoveServer {
        /// Its name.
        name: String,
    },
    /// Services, of all servers or one.
    Services {
        /// Only this server's.
        server: Option<String>,
        /// The last (server, service) of the page before; none for the first. An answer
        /// carries as many services as fit a frame well under
        /// [`MAX_FRAME`](super::codec::MAX_FRAME); an empty one means there are no more.
        after: Option<(String, String)>,
    },
    /// Recent alerts, newest first.
    Alerts {
        /// Only those at or after this time (ms since the epoch).
        since_ms: Option<i64>,
        /// At most this many.
        limit: u32,
    },
    /// All notifiers.
    Notifiers,
    /// One notifier with its counters.
    Notifier {
        /// Notifier id.
        id: i64,
    },
    /// Enable or disable a notifier.
    SetNotifierEnabled {
        /// Notifier id.
        id: i64,
        /// The new setting.
        enabled: bool,
    },
    /// Send a test message through a notifier now.
    TestNotifier {
        /// Notifier id.
        id: i64,
    },
    /// Create a notifier.
    AddNotifier(NewNotifier),
    /// Delete a notifier and its pending deliveries.
    RemoveNotifier {
        /// Notifier id.
        id: i64,
    },
    /// Uptime and incident figures per source over a range.
    Report(ReportQuery),
    /// The target list's table columns only, in pages as [`Request::Targets`]:
    /// answered with [`Response::TargetLines`].
    TargetLines {
        /// Only targets with a larger id (`i64::MIN` for the first page).
        after: i64,
    },
    /// Adds a silence: answered with [`Response::Silences`] holding it.
    AddSilence(NewSilence),
    /// The silences in force, or every one kept (`all`).
    Silences {
        /// Also those expired or removed.
        all: bool,
    },
    /// Ends a silence now.
    RemoveSilence {
        /// Its id.
        id: i64,
    },
    /// Acknowledges an alert's FAILURE or offline for its source, until it recovers.
    Ack {
        /// The alert.
        alert: i64,
        /// Why.
        comment: String,
    },
    /// What keeps alerts quiet now: answered with [`Response::Quiet`].
    Quiet,
    /// The jobs, all or one server's: answered with [`Response::Jobs`].
    Jobs {
        /// Only this server's.
        server: Option<String>,
    },
    /// Adds a job: answered with [`Response::Jobs`] holding it.
    AddJob(NewJob),
    /// Removes a job and its history.
    RemoveJob {
        /// Its id.
        id: i64,
    },
}

/// What `skypunchctl report` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// One target, by id or name.
    pub target: Option<String>,
    /// One server's services.
    pub server: Option<String>,
    /// One service of that server.
    pub service: Option<String>,
    /// A month, `YYYY-MM`.
    pub month: Option<String>,
    /// First date, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last date, `YYYY-MM-DD`, included.
    pub to: Option<String>,
}

/// A notifier to create, as `skypunchctl notifiers add` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNotifier {
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// `smtp`, `command` or `webhook`.
    pub kind: String,
    /// E-mail addresses, command line or URL.
    pub address: String,
    /// JSON of the further settings (`NotifierParams`).
    pub params: String,
    /// Used from the start or not.
    pub enabled: bool,
}

/// A target to create, as `skypunchctl targets add` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTarget {
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// URL.
    pub url: String,
    /// HTTP method (GET, PUT, POST, DELETE, HEAD, PATCH, OPTIONS).
    pub method: String,
    /// Expected status.
    pub expect_status: i64,
    /// Seconds between checks.
    pub frequency: i64,
    /// Seconds per check.
    pub timeout: i64,
    /// Checked from the start or not.
    pub enabled: bool,
    /// `NONE`, `BASIC` or `OPENSTACK`.
    pub authn: String,
    /// Skypunch's `user=..,password=..` string or a JSON object.
    pub authn_params: String,
    /// JSON of the further options (`TargetOptions`).
    pub options: String,
}

/// What `skypunchd` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Accepts a conversation.
    Hello {
        /// The daemon's [`PROTOCOL_VERSION`].
        protocol_version: u32,
        /// The daemon's package version.
        daemon_version: String,
        /// The daemon's process id.
        pid: u32,
    },
    /// Answer to [`Request::Status`].
    Status(StatusReport),
    /// The operation was carried out; the text says what happened.
    Done {
        /// A sentence for the operator.
        message: String,
    },
    /// Answer to [`Request::Targets`]: one page.
    Targets(Vec<TargetInfo>),
    /// Answer to [`Request::Target`], [`Request::SetTargetEnabled`] and
    /// [`Request::AddTarget`].
    Target(TargetInfo),
    /// Answer to [`Request::TestTarget`].
    Test(TestReport),
    /// Answer to [`Request::Servers`].
    Servers(Vec<ServerInfo>),
    /// Answer to [`Request::AddServer`]: the key, shown this once.
    ServerAdded {
        /// The server.
        name: String,
        /// Its generated key.
        key: String,
    },
    /// Answer to [`Request::Services`].
    Services(Vec<ServiceInfo>),
    /// Answer to [`Request::Alerts`].
    Alerts(Vec<AlertInfo>),
    /// The request failed.
    Error {
        /// What class of failure.
        kind: ErrorKind,
        /// What is wrong, naming the thing and the cause.
        message: String,
    },
    /// Answer to [`Request::Notifiers`].
    Notifiers(Vec<NotifierInfo>),
    /// Answer to [`Request::Notifier`], [`Request::SetNotifierEnabled`] and
    /// [`Request::AddNotifier`].
    Notifier(NotifierInfo),
    /// Answer to [`Request::TestNotifier`].
    NotifierTest {
        /// The notifier.
        name: String,
        /// Whether the message was delivered.
        delivered: bool,
        /// What the peer answered, or why it failed.
        message: String,
    },
    /// Answer to [`Request::Report`].
    Report(ReportInfo),
    /// Answer to [`Request::TargetLines`]: one page of the list, empty after the last.
    TargetLines(Vec<TargetLine>),
    /// Answer to [`Request::AddSilence`] and [`Request::Silences`].
    Silences(Vec<SilenceInfo>),
    /// Answer to [`Request::Quiet`].
    Quiet(QuietInfo),
    /// Answer to [`Request::Jobs`] and [`Request::AddJob`].
    Jobs(Vec<JobInfo>),
}

// The answers' own types: the store's rows are converted into them by the daemon's
// handler, so a column added in the store never changes what goes over the wire.

/// A target as one line of `skypunchctl targets`' table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetLine {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// NEW, PASS, WARN or FAIL.
    pub status: String,
    /// `YYYY-MM-DD HH:MM:SS` (UTC) of the last check, empty before the first.
    pub last_updated: String,
    /// Checked or not.
    pub enabled: bool,
    /// Checks PASS.
    pub pass_count: i64,
    /// Checks FAIL.
    pub fail_count: i64,
}

/// A target as `skypunchctl targets` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Row id.
    pub id: i64,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// NEW, PASS or FAIL.
    pub status: String,
    /// Description of the last check.
    pub status_description: String,
    /// `YYYY-MM-DD HH:MM:SS` (UTC) of the last check, empty before the first.
    pub last_updated: String,
    /// Checked or not.
    pub enabled: bool,
    /// URL.
    pub url: String,
    /// HTTP method (GET, PUT, POST, DELETE, HEAD, PATCH, OPTIONS).
    pub method: String,
    /// NONE, BASIC or OPENSTACK.
    pub auth_type: String,
    /// Expected status.
    pub expect_status: i64,
    /// Seconds between checks.
    pub frequency: i64,
    /// Seconds per check.
    pub timeout: i64,
    /// Checks PASS.
    pub pass_count: i64,
    /// Checks FAIL.
    pub fail_count: i64,
    /// Checks WARN.
    pub warn_count: i64,
    /// Responses with a 2xx status.
    pub count200: i64,
    /// Responses with a 3xx status.
    pub count300: i64,
    /// Responses with a 4xx status.
    pub count400: i64,
    /// Responses with a 5xx status.
    pub count500: i64,
    /// Checks that got no HTTP response at all.
    pub network_fails: i64,
    /// Consecutive failed checks.
    pub repeated_fails: i64,
    /// The last check's trace (detail view only).
    pub last_trace: Option<String>,
}

/// A server as `skypunchctl servers` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Row id.
    pub id: i64,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// `auto` (first report) or `cli` (`servers add`).
    pub origin: String,
    /// When it was registered.
    pub created: String,
    /// How many services it reports.
    pub services: i64,
    /// Its latest report, empty if none.
    pub last_report: String,
    /// The key of its jobs' slug ping URLs (`/ping/<ping_key>/<job>`).
    pub ping_key: String,
}

/// A service as `skypunchctl services` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Row id.
    pub id: i64,
    /// Its server.
    pub server: String,
    /// Unique name, as shown in tables, logs and alert texts.
    pub name: String,
    /// OK, WARN, FAIL or UNK.
    pub state: String,
    /// The last info.
    pub info: String,
    /// Seconds within which it promised to report.
    pub period: i64,
    /// Its latest report.
    pub last_report: String,
    /// It missed its period.
    pub timed_out: bool,
}

/// An alert as `skypunchctl alerts` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInfo {
    /// Row id.
    pub id: i64,
    /// When it was raised (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub time: String,
    /// Server (pushed alerts).
    pub server: String,
    /// Service (pushed alerts).
    pub service: String,
    /// Target (check alerts).
    pub target: String,
    /// `target`, `service:state`, `plugin`, `api`.
    pub channel: String,
    /// `FAILURE`, `RECOVERY`, the new state, `offline`, `online`, `alert`.
    pub event: String,
    /// The message.
    pub message: String,
    /// Why it was delivered to nobody (`parent target:router is FAIL`); empty if not.
    pub suppressed: String,
    /// The most alerts a message that delivered it listed (1: alone, more: grouped;
    /// 0: not delivered yet, or to nobody).
    pub group_size: i64,
}

/// A notifier as `skypunchctl notifiers` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierInfo {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Whether alerts are delivered to it.
    pub enabled: bool,
    /// `smtp`, `command` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// E-mail addresses, a command line or a URL.
    pub address: String,
    /// Deliveries made.
    pub pass_count: i64,
    /// Attempts that failed.
    pub fail_count: i64,
    /// Deliveries waiting for it.
    pub pending: i64,
    /// The error of its latest failed attempt, if any.
    pub last_error: String,
}

/// How much the daemon is looking after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// All targets.
    pub targets: u64,
    /// Targets that are enabled.
    pub targets_enabled: u64,
    /// Targets whose state is FAIL.
    pub targets_failing: u64,
    /// Servers that push.
    pub servers: u64,
    /// Services reported by them.
    pub services: u64,
    /// Deliveries not yet made.
    pub pending_alerts: u64,
}

/// Classes of failure, which `skypunchctl` maps to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The peer speaks another protocol or sent something out of order.
    Protocol,
    /// The peer's user may not use the socket.
    PermissionDenied,
    /// The thing asked for does not exist.
    NotFound,
    /// A value in the request was refused.
    InvalidInput,
    /// The operation was tried and failed.
    Failed,
    /// The daemon itself failed (database, internal error).
    Internal,
    /// The database is unavailable for now (locked by another process, disk full,
    /// read-only): nothing was changed; the same request may succeed later.
    Unavailable,
}

/// The outcome of a manual check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    /// Target id.
    pub id: i64,
    /// Target name.
    pub name: String,
    /// PASS, WARN or FAIL.
    pub verdict: crate::domain::supervise::Verdict,
    /// The check's description.
    pub description: String,
    /// The result line.
    pub line: String,
    /// The trace.
    pub trace: String,
}

/// Answer to [`Request::Report`]; its JSON is that of `/api/report`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportInfo {
    /// Start of the range, local time `YYYY-MM-DD HH:MM`.
    pub from: String,
    /// End of the range (excluded), local time.
    pub to: String,
    /// The time zone of both.
    pub time_zone: String,
    /// One row per source.
    pub rows: Vec<ReportLine>,
}

/// One source's figures in a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    /// `target` or `service`.
    pub kind: String,
    /// Its id.
    pub id: i64,
    /// The target's name, or `server/service`.
    pub source: String,
    /// Time with data (ms).
    pub covered_ms: i64,
    /// Time without data (ms), not counted as up.
    pub no_data_ms: i64,
    /// Share of the covered time not in FAIL or offline, in percent.
    pub uptime_pct: Option<f64>,
    /// Share of the covered time in WARN, in percent.
    pub degraded_pct: Option<f64>,
    /// FAIL and offline time (ms).
    pub downtime_ms: i64,
    /// Incidents overlapping the range.
    pub incidents: u32,
    /// The longest, within the range (ms).
    pub longest_ms: i64,
    /// Mean time to recover (ms).
    pub mttr_ms: Option<i64>,
    /// 95th percentile response time (ms).
    pub p95_ms: Option<f64>,
}

/// Answer to [`Request::Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Package version of the daemon.
    pub version: String,
    /// Process id.
    pub pid: u32,
    /// Seconds since start.
    pub uptime_s: u64,
    /// The configuration file in use.
    pub config: String,
    /// The database file.
    pub database: String,
    /// The push listener's address, empty when disabled.
    pub listen: String,
    /// What the daemon looks after.
    pub counts: Counts,
}

#[cfg(test)]
#[path = "protocol_pins.rs"]
mod tests;

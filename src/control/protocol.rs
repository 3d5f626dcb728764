//! Messages on the control socket.
//!
//! The first exchange of every connection is [`Request::Hello`] / [`Response::Hello`];
//! a peer with another [`PROTOCOL_VERSION`] gets an error naming both versions. New
//! variants are only ever appended, so the encoding of existing ones never moves;
//! anything else bumps the version.

use crate::store::targets::TargetInfo;
use crate::store::Counts;
use serde::{Deserialize, Serialize};

/// Version of this protocol; both sides must agree.
pub const PROTOCOL_VERSION: u32 = 1;

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
    /// All targets.
    Targets,
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
}

/// A notifier to create, as `skypunchctl notifiers add` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNotifier {
    /// Name.
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
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Method.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Answer to [`Request::Targets`].
    Targets(Vec<TargetInfo>),
    /// Answer to [`Request::Target`], [`Request::SetTargetEnabled`] and
    /// [`Request::AddTarget`].
    Target(TargetInfo),
    /// Answer to [`Request::TestTarget`].
    Test(TestReport),
    /// Answer to [`Request::Servers`].
    Servers(Vec<crate::store::push::ServerInfo>),
    /// Answer to [`Request::AddServer`]: the key, shown this once.
    ServerAdded {
        /// The server.
        name: String,
        /// Its generated key.
        key: String,
    },
    /// Answer to [`Request::Services`].
    Services(Vec<crate::store::push::ServiceInfo>),
    /// Answer to [`Request::Alerts`].
    Alerts(Vec<crate::store::push::AlertInfo>),
    /// The request failed.
    Error {
        /// What class of failure.
        kind: ErrorKind,
        /// What is wrong, naming the thing and the cause.
        message: String,
    },
    /// Answer to [`Request::Notifiers`].
    Notifiers(Vec<crate::store::notifiers::NotifierInfo>),
    /// Answer to [`Request::Notifier`], [`Request::SetNotifierEnabled`] and
    /// [`Request::AddNotifier`].
    Notifier(crate::store::notifiers::NotifierInfo),
    /// Answer to [`Request::TestNotifier`].
    NotifierTest {
        /// The notifier.
        name: String,
        /// Whether the message was delivered.
        delivered: bool,
        /// What the peer answered, or why it failed.
        message: String,
    },
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
    /// PASS or FAIL.
    pub passed: bool,
    /// The check's description.
    pub description: String,
    /// The result line.
    pub line: String,
    /// The trace.
    pub trace: String,
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

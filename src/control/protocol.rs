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
mod tests {
    use super::*;
    use crate::control::codec::{decode, encode};

    /// One value of every request, with small, fixed contents.
    fn requests() -> Vec<Request> {
        let target = NewTarget {
            name: "n".into(),
            url: "u".into(),
            method: "GET".into(),
            expect_status: 200,
            frequency: 1,
            timeout: 2,
            enabled: true,
            authn: "NONE".into(),
            authn_params: String::new(),
            options: "{}".into(),
        };
        let notifier = NewNotifier {
            name: "n".into(),
            kind: "smtp".into(),
            address: "a@b".into(),
            params: "{}".into(),
            enabled: false,
        };
        vec![
            Request::Hello {
                protocol_version: PROTOCOL_VERSION,
            },
            Request::Status,
            Request::Stop,
            Request::Reload,
            Request::Targets { after: 8 },
            Request::Target { id: 8 },
            Request::SetTargetEnabled {
                id: 8,
                enabled: false,
            },
            Request::TestTarget { id: 8 },
            Request::AddTarget(target),
            Request::RemoveTarget { id: 8 },
            Request::Servers {
                name: Some("h".into()),
            },
            Request::AddServer { name: "h".into() },
            Request::RemoveServer { name: "h".into() },
            Request::Services {
                server: None,
                after: Some(("h".into(), "s".into())),
            },
            Request::Alerts {
                since_ms: Some(-1),
                limit: 3,
            },
            Request::Notifiers,
            Request::Notifier { id: 2 },
            Request::SetNotifierEnabled {
                id: 2,
                enabled: true,
            },
            Request::TestNotifier { id: 2 },
            Request::AddNotifier(notifier),
            Request::RemoveNotifier { id: 2 },
            Request::Report(ReportQuery {
                server: Some("h".into()),
                month: Some("2026-11".into()),
                ..ReportQuery::default()
            }),
            Request::TargetLines { after: 8 },
            Request::AddSilence(NewSilence {
                server: Some("h".into()),
                matcher: Some("target:a*".into()),
                ends_ms: 9,
                comment: "c".into(),
                ..NewSilence::default()
            }),
            Request::Silences { all: true },
            Request::RemoveSilence { id: 3 },
            Request::Ack {
                alert: 4,
                comment: "c".into(),
            },
            Request::Quiet,
            Request::Jobs {
                server: Some("h".into()),
            },
            Request::AddJob(NewJob {
                name: "backup".into(),
                server: "h".into(),
                cron: Some("0 3 * * *".into()),
                grace_s: 60,
                ..NewJob::default()
            }),
            Request::RemoveJob { id: 5 },
        ]
    }

    /// One value of every response.
    fn responses() -> Vec<Response> {
        let target = TargetInfo {
            id: 1,
            name: "t".into(),
            status: "PASS".into(),
            last_trace: Some("x".into()),
            ..TargetInfo::default()
        };
        vec![
            Response::Hello {
                protocol_version: PROTOCOL_VERSION,
                daemon_version: "v".into(),
                pid: 7,
            },
            Response::Status(StatusReport {
                version: "v".into(),
                pid: 7,
                uptime_s: 9,
                config: "c".into(),
                database: "d".into(),
                listen: String::new(),
                counts: Counts {
                    targets: 1,
                    ..Counts::default()
                },
            }),
            Response::Done {
                message: "m".into(),
            },
            Response::Targets(vec![target.clone()]),
            Response::Target(target),
            Response::Test(TestReport {
                id: 1,
                name: "t".into(),
                verdict: crate::domain::supervise::Verdict::Pass,
                description: "OK".into(),
                line: "l".into(),
                trace: "r".into(),
            }),
            Response::Servers(vec![ServerInfo {
                id: 1,
                name: "h".into(),
                ..ServerInfo::default()
            }]),
            Response::ServerAdded {
                name: "h".into(),
                key: "k".into(),
            },
            Response::Services(vec![ServiceInfo {
                id: 1,
                timed_out: true,
                ..ServiceInfo::default()
            }]),
            Response::Alerts(vec![AlertInfo {
                id: 1,
                event: "e".into(),
                ..AlertInfo::default()
            }]),
            Response::Error {
                kind: ErrorKind::Unavailable,
                message: "m".into(),
            },
            Response::Notifiers(vec![NotifierInfo {
                id: 1,
                enabled: true,
                ..NotifierInfo::default()
            }]),
            Response::Notifier(NotifierInfo {
                id: 2,
                ..NotifierInfo::default()
            }),
            Response::NotifierTest {
                name: "n".into(),
                delivered: false,
                message: "m".into(),
            },
            Response::Report(ReportInfo {
                time_zone: "UTC".into(),
                rows: vec![ReportLine {
                    id: 1,
                    uptime_pct: Some(99.5),
                    p95_ms: Some(12.25),
                    ..ReportLine::default()
                }],
                ..ReportInfo::default()
            }),
            Response::TargetLines(vec![TargetLine {
                id: 1,
                enabled: true,
                ..TargetLine::default()
            }]),
            Response::Silences(vec![SilenceInfo {
                id: 3,
                matches: "db1/*".into(),
                ..SilenceInfo::default()
            }]),
            Response::Quiet(QuietInfo {
                windows: vec![WindowInfo {
                    name: "w".into(),
                    matches: vec!["server:db*".into()],
                    open: true,
                    ..WindowInfo::default()
                }],
                acked: vec![AckInfo {
                    alert_id: 4,
                    target_id: Some(1),
                    user: "u".into(),
                    ..AckInfo::default()
                }],
                ..QuietInfo::default()
            }),
            Response::Jobs(vec![JobInfo {
                id: 5,
                status: "OK".into(),
                run_ms: Some(1200),
                ..JobInfo::default()
            }]),
        ]
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The bytes of every message are pinned: a change to a type that moves them (a
    /// field added, a variant inserted) fails here, and must come with a new
    /// [`PROTOCOL_VERSION`] and new pins, never by accident.
    #[test]
    fn the_encoding_of_every_message_is_pinned() {
        let got: Vec<String> = requests()
            .iter()
            .map(|r| hex(&encode(r).unwrap()))
            .chain(responses().iter().map(|r| hex(&encode(r).unwrap())))
            .collect();
        assert_eq!(
            got, PINNED,
            "the wire format changed: bump PROTOCOL_VERSION and re-pin"
        );
        for r in requests() {
            assert_eq!(decode::<Request>(&encode(&r).unwrap()).unwrap(), r);
        }
        for r in responses() {
            assert_eq!(decode::<Response>(&encode(&r).unwrap()).unwrap(), r);
        }
    }

    const PINNED: &[&str] = &[
        "0006",
        "01",
        "02",
        "03",
        "0410",
        "0510",
        "061000",
        "0710",
        "08016e017503474554fb9001020401044e4f4e4500027b7d",
        "0910",
        "0a010168",
        "0b0168",
        "0c0168",
        "0d000101680173",
        "0e010103",
        "0f",
        "1004",
        "110401",
        "1204",
        "13016e04736d747003614062027b7d00",
        "1404",
        "1500010168000107323032362d31310000",
        "1610",
        "17000101680001097461726765743a612a120163",
        "1801",
        "1906",
        "1a080163",
        "1b",
        "1c010168",
        "1d066261636b75700168000109302033202a202a202a003c",
        "1e0a",
        "0006017607",
        "01017607090163016400010000000000",
        "02016d",
        "03010201740450415353000000000000000000000000000000000000010178",
        "040201740450415353000000000000000000000000000000000000010178",
        "0502017400024f4b016c0172",
        "06010201680000000000",
        "070168016b",
        "08010200000000000001",
        "09010200000000000165000000",
        "0a06016d",
        "0b01020001000000000000",
        "0c040000000000000000",
        "0d016e00016d",
        "0e000003555443010002000000010000000000e058400000000000010000000000802840",
        "0f0102000000010000",
        "100106056462312f2a0000000000",
        "1100010177010a7365727665723a64622a000001010801020000000001750000",
        "12010a000000000000024f4b01fb600900",
    ];
}

//! The sections of `skypunchd.toml` other than its entries: `[daemon]`, `[push]`,
//! `[history]`, `[smtp]`, each with its defaults.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `[daemon]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Control socket path.
    pub socket: PathBuf,
    /// Pid file path.
    pub pid_file: PathBuf,
    /// SQLite database path.
    pub database: PathBuf,
    /// Log file path.
    pub log_file: PathBuf,
    /// Level of the built-in logging setup.
    pub log_level: LogLevel,
    /// Size at which the log file is rotated, in bytes.
    pub log_rotate_bytes: u64,
    /// How many rotated log files are kept.
    pub log_rotate_keep: u32,
    /// Optional log4rs YAML file that replaces the built-in logging setup.
    pub log_config: Option<PathBuf>,
    /// Optional group whose members may use the control socket.
    pub socket_group: String,
    /// The older name of `[history] raw_days`, still accepted.
    pub history_days: Option<u32>,
    /// Most checks running at once; further due checks wait for a slot.
    pub max_concurrent_checks: usize,
    /// Threads running checks and requests; 0 = one per CPU core.
    pub worker_threads: usize,
    /// SQLite `synchronous` mode: `normal` survives a crash of the daemon,
    /// `full` also survives a power loss, at one fsync per commit.
    pub database_sync: DatabaseSync,
    /// Seconds an alert's delivery to a notifier is retried before it is given up.
    pub delivery_retry_seconds: u64,
    /// Where this daemon probes from (`"fra1"`): a `location` label on every series
    /// of `/metrics`; empty: no label.
    pub location: String,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            socket: "/run/skypunch/skypunchd.sock".into(),
            pid_file: "/run/skypunch/skypunchd.pid".into(),
            database: "/var/lib/skypunch/skypunch.db".into(),
            log_file: "/var/log/skypunch/skypunch.log".into(),
            log_level: LogLevel::Info,
            log_rotate_bytes: 10 * 1024 * 1024,
            log_rotate_keep: 5,
            log_config: None,
            socket_group: String::new(),
            history_days: None,
            max_concurrent_checks: 4096,
            worker_threads: 0,
            database_sync: DatabaseSync::Normal,
            delivery_retry_seconds: 86_400,
            location: String::new(),
        }
    }
}

/// Log levels accepted by `log_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// No log at all.
    Off,
    /// Errors only (failed checks among them).
    Error,
    /// Warnings and errors.
    Warn,
    /// Every check result; the default.
    Info,
    /// Diagnostics of the daemon itself (scheduling, reloads, connections).
    Debug,
    /// Everything, the libraries' own messages included.
    Trace,
}

impl From<LogLevel> for log::LevelFilter {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// SQLite durability mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseSync {
    /// WAL with `synchronous=NORMAL`: commits survive a daemon crash or kill -9.
    Normal,
    /// `synchronous=FULL`: commits also survive a power loss.
    Full,
}

/// `[history]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Days every check result and kept service report are kept (default 7; see
    /// [`Config::raw_days`]).
    pub raw_days: Option<u32>,
    /// Days hourly and daily figures and incidents are kept.
    pub rollup_days: u32,
    /// Days alerts and their deliveries are kept; also how long an auto-registered
    /// server whose services have all been offline is kept.
    pub alerts_days: u32,
    /// A service's unchanged reports are kept in its history at most this often
    /// (seconds; 0 keeps every one).
    pub service_sample_seconds: u32,
    /// The time zone days and months are counted in (an IANA name such as
    /// `Europe/Berlin`); the machine's own when unset.
    pub time_zone: Option<String>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            raw_days: None,
            rollup_days: 400,
            alerts_days: 400,
            service_sample_seconds: 300,
            time_zone: None,
        }
    }
}

/// Days of raw history kept when neither `[history] raw_days` nor `[daemon]
/// history_days` is set.
pub const DEFAULT_RAW_DAYS: u32 = 7;

/// `[push]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// Listen address; empty disables the listener.
    pub listen: String,
    /// Register unknown servers on their first report.
    pub auto_register: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Optional Basic-auth user for the status page and read APIs.
    pub ui_user: String,
    /// Its password.
    pub ui_password: Secret,
    /// Alerts one server may raise in a minute (state changes, offline/online, its
    /// own `/api/set/alerts` entries); beyond it they are dropped and counted in one
    /// `api/flood` alert. 0 = no limit.
    pub max_alerts_per_minute: u32,
    /// The base of jobs' ping URLs as their hosts reach this listener
    /// (`https://mon.example.com`); empty: `http://<listen>`.
    pub public_url: String,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            listen: "127.0.0.1:5000".into(),
            auto_register: true,
            max_body_bytes: 1024 * 1024,
            ui_user: String::new(),
            ui_password: Secret::default(),
            max_alerts_per_minute: 600,
            public_url: String::new(),
        }
    }
}

impl PushConfig {
    /// The base of ping URLs: `public_url`, or `http://<bound address>` (the host's
    /// name for an address that listens everywhere).
    pub fn ping_base(&self, bound: &str) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_string();
        }
        let addr = if bound.is_empty() {
            self.listen.as_str()
        } else {
            bound
        };
        match addr.parse::<SocketAddr>() {
            Ok(a) if a.ip().is_unspecified() => {
                let host = nix::unistd::gethostname()
                    .ok()
                    .and_then(|h| h.into_string().ok())
                    .unwrap_or_else(|| "localhost".into());
                format!("http://{host}:{}", a.port())
            }
            _ => format!("http://{addr}"),
        }
    }

    /// The parsed listen address, `None` when the listener is disabled.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        if self.listen.is_empty() {
            None
        } else {
            self.listen.parse().ok()
        }
    }
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// `host:port` of the relay.
    pub server: String,
    /// Envelope and header sender.
    pub from: String,
    /// TLS mode.
    pub starttls: StartTls,
    /// Optional login.
    pub username: String,
    /// Its password.
    pub password: Secret,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            server: "localhost:25".into(),
            from: "skypunch@localhost".into(),
            starttls: StartTls::Opportunistic,
            username: String::new(),
            password: Secret::default(),
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// Plain text only.
    Never,
    /// STARTTLS when the server offers it.
    Opportunistic,
    /// STARTTLS or fail.
    Required,
    /// TLS from the first byte (port 465).
    Tls,
}

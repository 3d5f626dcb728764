//! The command line of `skypunchctl`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Control the skypunch monitoring daemon.
#[derive(Debug, Parser)]
#[command(name = "skypunchctl", version, max_term_width = 100)]
pub struct Cli {
    /// Configuration file (read only to find the socket)
    #[arg(long, global = true, value_name = "PATH", env = "SKYPUNCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Control socket of skypunchd (overrides the configuration file)
    #[arg(long, global = true, value_name = "PATH", env = "SKYPUNCH_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Print one JSON document instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start skypunchd in the background and wait until it answers
    Start,
    /// Ask skypunchd to stop and wait until it has exited
    Stop,
    /// Version, pid, uptime and counts
    Status,
    /// Make skypunchd re-read its configuration file
    Reload,
    /// List targets, show one, enable, disable or test it, add or remove one
    Targets(Box<TargetsArgs>),
    /// List notifiers, show one, enable, disable or test it, add or remove one
    Notifiers(Box<NotifiersArgs>),
    /// List servers that push, or add (printing its key) or remove one
    Servers(ServersArgs),
    /// Services reported by all servers, or by one
    Services {
        /// Only this server's services
        server: Option<String>,
    },
    /// Recent alerts, newest first
    Alerts {
        /// Only alerts younger than this: 30s, 10m, 2h, 7d
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Uptime, downtime, incidents and response times per target and service
    Report(ReportArgs),
    /// Silence alerts for a while (add), list or remove silences
    Silence(SilenceArgs),
    /// Jobs that ping a URL (cron jobs, scripts): list, add or remove one
    Jobs(Box<JobsArgs>),
    /// Acknowledge an alert: no renotify or escalation for its source until it recovers
    Ack {
        /// The alert's id (see `skypunchctl alerts`)
        alert: i64,
        /// Why, for the others
        #[arg(long, value_name = "TEXT", default_value = "")]
        comment: String,
    },
    /// Print a shell completion script (bash, zsh, fish)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

/// `jobs [SERVER]`, `jobs add ...`, `jobs remove ID`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct JobsArgs {
    /// Only this server's jobs
    pub server: Option<String>,
    /// Add or remove a job
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
}

/// `jobs add` and `jobs remove`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Add a job and print its ping URL
    Add(AddJob),
    /// Remove a job and its history
    Remove {
        /// Job id
        id: i64,
    },
}

/// `jobs add NAME --server SERVER (--period DURATION | --cron "EXPR" [--tz ZONE])
/// [--grace DURATION]`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("schedule").required(true).args(["period", "cron"])))]
pub struct AddJob {
    /// The job's name (a service of its server)
    pub name: String,
    /// Its server (created when it does not exist)
    #[arg(long, value_name = "SERVER")]
    pub server: String,
    /// It pings this often: 90s, 15m, 2h, 1d
    #[arg(long, value_name = "DURATION", value_parser = seconds)]
    pub period: Option<u32>,
    /// It runs at these times: five fields, "m h dom mon dow"
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// The time zone of --cron (default: the daemon host's)
    #[arg(long, value_name = "ZONE", requires = "cron")]
    pub tz: Option<String>,
    /// How late a ping may be before the job is late (default 1h)
    #[arg(long, value_name = "DURATION", value_parser = seconds, default_value = "1h")]
    pub grace: u32,
}

/// `silence add|list|remove`.
#[derive(Debug, Args)]
pub struct SilenceArgs {
    /// What to do
    #[command(subcommand)]
    pub command: SilenceCommand,
}

/// The silence commands.
#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Record the alerts of a target, server, service or glob and deliver none until
    /// the silence ends; prints its id
    Add(Box<AddSilence>),
    /// The silences in force (ID | Matches | Starts | Ends | Comment | Created By)
    List {
        /// Also those expired or removed
        #[arg(long)]
        all: bool,
    },
    /// End a silence now
    Remove {
        /// Silence id
        id: i64,
    },
}

/// `silence add (--target ID|NAME | --server NAME [--service NAME] | --match GLOB)
/// (--for DURATION | --until TIME) [--comment TEXT]`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["target", "server", "matcher"])))]
#[command(group(clap::ArgGroup::new("end").required(true).args(["for_", "until"])))]
pub struct AddSilence {
    /// One target (id or name)
    #[arg(long, value_name = "ID|NAME")]
    pub target: Option<String>,
    /// One server: everything it pushes, or one service with --service
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// One service of --server
    #[arg(long, value_name = "NAME", requires = "server")]
    pub service: Option<String>,
    /// A glob: "target:<glob>", "server:<glob>" or "<server glob>/<service glob>"
    #[arg(long = "match", value_name = "GLOB")]
    pub matcher: Option<String>,
    /// How long: 90s, 15m, 2h, 3d
    #[arg(long = "for", value_name = "DURATION")]
    pub for_: Option<String>,
    /// Until: RFC 3339, or "YYYY-MM-DD HH:MM" (local time)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Why, for the others
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
}

/// `report [--target ID|NAME | --server NAME [--service NAME]] [--month YYYY-MM |
/// --from DATE --to DATE]`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only this target (id or name)
    #[arg(long, value_name = "ID|NAME", conflicts_with = "server")]
    pub target: Option<String>,
    /// Only this server's services
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// Only this service of the server
    #[arg(long, value_name = "NAME", requires = "server")]
    pub service: Option<String>,
    /// A calendar month in the daemon's time zone (default: the last 30 days)
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// First day of the range
    #[arg(long, value_name = "YYYY-MM-DD", requires = "to")]
    pub from: Option<String>,
    /// Last day of the range (included)
    #[arg(long, value_name = "YYYY-MM-DD", requires = "from")]
    pub to: Option<String>,
}

/// `targets [ID] [enable|disable|test]`, `targets add ...`, `targets remove ID`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TargetsArgs {
    /// Target id (without it: the table of all targets)
    pub id: Option<i64>,
    /// What to do with the target (without it: all its details and its last trace)
    pub action: Option<TargetAction>,
    /// Add or remove a target
    #[command(subcommand)]
    pub command: Option<TargetsCommand>,
}

/// What to do with one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetAction {
    /// Check it again on its schedule
    Enable,
    /// Stop checking it (it stays in the database)
    Disable,
    /// Check it now and print the result line and the trace; exit 1 if it FAILs
    Test,
}

/// `targets add` and `targets remove`.
#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// Add a target
    Add(Box<AddTarget>),
    /// Remove a target and its history
    Remove {
        /// Target id
        id: i64,
    },
}

/// The options of `targets add`.
#[derive(Debug, Args)]
pub struct AddTarget {
    /// Name of the target
    #[arg(long)]
    pub name: String,
    /// URL to check: http://, https://, tcp://host:port, tls://host:port,
    /// smtp://host[:port][?starttls=true], dns://[server]/name[?type=T&expect=V] or
    /// icmp://host[?count=N]
    #[arg(long)]
    pub url: String,
    /// HTTP method: GET PUT POST DELETE HEAD PATCH OPTIONS
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Status that means PASS
    #[arg(long, default_value_t = 200)]
    pub expect_status: i64,
    /// Seconds between checks
    #[arg(long, default_value_t = 10)]
    pub frequency: i64,
    /// Seconds for the whole check
    #[arg(long, default_value_t = 10)]
    pub timeout: i64,
    /// Authentication: none, basic or openstack
    #[arg(long, default_value = "none")]
    pub auth: String,
    /// Authentication parameters, Skypunch style: user=U,password=P[,osauthendpoint=URL,tenantid=T]
    #[arg(long, value_name = "PARAMS", default_value = "")]
    pub auth_params: String,
    /// Extra request header, NAME:VALUE (repeatable)
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Every other key of a `[[target]]` entry, as a flag.
    #[command(flatten)]
    pub options: crate::config::TargetOptions,
    /// Add it disabled
    #[arg(long)]
    pub disabled: bool,
}

/// `servers [NAME]`, `servers add NAME`, `servers remove NAME`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServersArgs {
    /// Show only this server
    pub name: Option<String>,
    /// Add or remove a server
    #[command(subcommand)]
    pub command: Option<ServersCommand>,
}

/// `servers add` and `servers remove`.
#[derive(Debug, Subcommand)]
pub enum ServersCommand {
    /// Register a server and print the key it must report with
    Add {
        /// Its name
        name: String,
    },
    /// Remove a server, its services and their history
    Remove {
        /// Its name
        name: String,
    },
}

/// `notifiers [ID] [enable|disable|test]`, `notifiers add ...`, `notifiers remove ID`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NotifiersArgs {
    /// Notifier id (without it: the table of all notifiers)
    pub id: Option<i64>,
    /// What to do with the notifier (without it: all its details)
    pub action: Option<NotifierAction>,
    /// Add or remove a notifier
    #[command(subcommand)]
    pub command: Option<NotifiersCommand>,
}

/// What to do with one notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotifierAction {
    /// Tell it about alerts again
    Enable,
    /// Stop telling it (it stays in the database)
    Disable,
    /// Send a test message through it now; exit 1 if it is not delivered
    Test,
}

/// `notifiers add` and `notifiers remove`.
#[derive(Debug, Subcommand)]
pub enum NotifiersCommand {
    /// Add a notifier
    Add(Box<AddNotifier>),
    /// Remove a notifier and what it has not yet been told
    Remove {
        /// Notifier id
        id: i64,
    },
}

/// The options of `notifiers add`.
#[derive(Debug, Args)]
pub struct AddNotifier {
    /// Name of the notifier
    #[arg(long)]
    pub name: String,
    /// smtp, command, webhook or alertmanager
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    /// E-mail addresses, comma-separated (smtp)
    #[arg(long)]
    pub address: Option<String>,
    /// Command line reading the alert text on stdin (command)
    #[arg(long)]
    pub command: Option<String>,
    /// URL to POST the alert to (webhook), or an Alertmanager's base URL
    /// (alertmanager; add one notifier per Alertmanager of a cluster)
    #[arg(long)]
    pub url: Option<String>,
    /// Seconds one delivery attempt may take
    #[arg(long, default_value_t = 30)]
    pub timeout: u32,
    /// Extra request header, NAME:VALUE (webhook; repeatable)
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Label added to every alert, NAME=VALUE (alertmanager; repeatable)
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    /// How often firing alerts are sent again (alertmanager; default 1m)
    #[arg(long = "resend-interval", value_name = "DURATION", value_parser = seconds)]
    pub resend_interval: Option<u32>,
    /// Only alerts about this target (repeatable)
    #[arg(long = "only-target", value_name = "NAME")]
    pub only_targets: Vec<String>,
    /// Only alerts about this server (repeatable)
    #[arg(long = "only-server", value_name = "NAME")]
    pub only_servers: Vec<String>,
    /// Seconds after a message during which further alerts are held and sent as one
    /// (0: each alone; default 30, 0 for alertmanager)
    #[arg(long = "group-interval", value_name = "SECONDS")]
    pub group_interval: Option<u32>,
    /// Tell it only of alerts still unresolved and unacknowledged after this long
    /// (`15m`), and then of their recovery
    #[arg(long = "escalate-after", value_name = "DURATION", value_parser = seconds)]
    pub escalate_after: Option<u32>,
    /// Add it disabled
    #[arg(long)]
    pub disabled: bool,
}

/// A duration argument (`90s`, `15m`, `2h`, `3d`) in seconds.
pub fn seconds(text: &str) -> Result<u32, crate::domain::time::DurationError> {
    let ms = crate::domain::time::duration_ms(text)?;
    Ok(u32::try_from(ms / 1000).unwrap_or(u32::MAX))
}

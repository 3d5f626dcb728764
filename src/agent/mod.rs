//! `skypunch-agent`: pushes this host's service states to a skypunchd (OverC's
//! `overcli`, with its `-s` / `-i` flags honoured and a spool that loses nothing).

pub mod client;
pub mod ini;
pub mod monitor;
pub mod spool;

use clap::{Parser, Subcommand};
use client::{PushClient, SendError};
use serde_json::json;
use std::path::PathBuf;

/// Exit status: done.
pub const EXIT_OK: u8 = 0;
/// Exit status: the server refused the report or could not be reached.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;

/// Push service states to a skypunchd (or an OverC server).
#[derive(Debug, Parser)]
#[command(name = "skypunch-agent", version, max_term_width = 100)]
pub struct Cli {
    /// Server URL, e.g. http://mon.example:5000/ (user:password@ for Basic auth)
    #[arg(short = 's', long = "server", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// This host's identity, NAME:KEY
    #[arg(
        short = 'i',
        long = "server-id",
        value_name = "NAME:KEY",
        global = true
    )]
    pub server_id: Option<String>,
    /// monitor: file keeping undelivered reports (default: $STATE_DIRECTORY/spool.jsonl,
    /// else CONFIG.spool beside the INI file)
    #[arg(long, value_name = "PATH", global = true)]
    pub spool: Option<PathBuf>,
    /// monitor: most reports kept in the spool; the oldest are dropped beyond it
    #[arg(long, value_name = "N", default_value_t = 100_000, global = true)]
    pub spool_max: usize,
    /// monitor: log each result, not only changes of the connection
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    /// What to do
    #[command(subcommand)]
    pub command: AgentCommand,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Check the connection and the key
    Ping,
    /// Report one service's state
    ServiceStatus {
        /// Seconds until the next report is due
        period: String,
        /// Service name
        name: String,
        /// OK, WARN, FAIL or UNK
        state: String,
        /// A line of detail
        info: Option<String>,
    },
    /// Report an alert
    Alert {
        /// The service it is about
        #[arg(long, value_name = "NAME")]
        service: Option<String>,
        /// The message
        message: String,
    },
    /// Run the services of an overcli INI file on their periods and report them
    Monitor {
        /// The INI file
        config: PathBuf,
    },
}

/// Runs the agent; returns the exit status.
pub fn main(cli: Cli) -> u8 {
    let level = if cli.verbose {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    };
    if let Err(e) = crate::logging::init_stderr(level) {
        eprintln!("skypunch-agent: {e}");
        return EXIT_USAGE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skypunch-agent: cannot start: {e}");
            return EXIT_FAILED;
        }
    };
    runtime.block_on(run(cli))
}

fn usage(message: impl std::fmt::Display) -> u8 {
    eprintln!("skypunch-agent: {message}");
    EXIT_USAGE
}

/// What `-i` must be; the value given is never quoted (it holds the key).
const IDENTITY_USAGE: &str = "-i: expected NAME:KEY (a server name, a colon, its key)";

/// `NAME:KEY` (the key may itself contain `:`).
fn identity(pair: &str) -> Option<monitor::Identity> {
    match pair.split_once(':') {
        Some((name, key)) if !name.is_empty() && !key.is_empty() => Some(monitor::Identity {
            name: name.to_string(),
            key: key.to_string(),
        }),
        _ => None,
    }
}

async fn run(cli: Cli) -> u8 {
    if let AgentCommand::Monitor { config } = &cli.command {
        return monitor(&cli, config).await;
    }
    let (Some(server), Some(id)) = (&cli.server, &cli.server_id) else {
        return usage("-s URL and -i NAME:KEY are required");
    };
    let Some(me) = identity(id) else {
        return usage(IDENTITY_USAGE);
    };
    let client = match PushClient::new(server) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let who = json!({ "name": me.name, "key": me.key });
    let (path, body) = match &cli.command {
        AgentCommand::Ping => ("api/ping", json!({ "server": who })),
        AgentCommand::ServiceStatus {
            period,
            name,
            state,
            info,
        } => {
            let mut service = json!({ "name": name, "state": state });
            if let Some(info) = info {
                service["info"] = json!(info);
            }
            (
                "api/set/service/status",
                json!({ "server": who, "period": period, "services": [service] }),
            )
        }
        AgentCommand::Alert { service, message } => {
            let mut alert = json!({ "message": message });
            if let Some(s) = service {
                alert["service"] = json!(s);
            }
            (
                "api/set/alerts",
                json!({ "server": who, "alerts": [alert] }),
            )
        }
        AgentCommand::Monitor { .. } => unreachable!("handled above"),
    };
    match client.post(path, &body).await {
        Ok(_) => {
            if matches!(cli.command, AgentCommand::Ping) {
                println!("pong");
            }
            EXIT_OK
        }
        Err(SendError::Refused { status, message }) => {
            eprintln!(
                "skypunch-agent: {} refused ({status}): {message}",
                client.server()
            );
            EXIT_FAILED
        }
        Err(SendError::Unavailable(why)) => {
            eprintln!("skypunch-agent: {why}");
            EXIT_FAILED
        }
    }
}

async fn monitor(cli: &Cli, path: &std::path::Path) -> u8 {
    let config = match ini::load(path) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let Some(server) = cli.server.clone().or_else(|| config.server.clone()) else {
        return usage(format!(
            "no server: give -s URL or set server in [overc] of {}",
            path.display()
        ));
    };
    let me = match &cli.server_id {
        Some(pair) => match identity(pair) {
            Some(me) => me,
            None => return usage(IDENTITY_USAGE),
        },
        None => match (&config.name, &config.key) {
            (Some(n), Some(k)) if !n.is_empty() && !k.is_empty() => monitor::Identity {
                name: n.clone(),
                key: k.clone(),
            },
            _ => {
                return usage(format!(
                    "no identity: give -i NAME:KEY or set my-name and my-key in [overc] of {}",
                    path.display()
                ))
            }
        },
    };
    let client = match PushClient::new(&server) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let spool_path = cli
        .spool
        .clone()
        .or_else(|| config.spool.clone())
        .or_else(|| {
            std::env::var_os("STATE_DIRECTORY")
                .and_then(|d| std::env::split_paths(&d).next())
                .map(|d| d.join("spool.jsonl"))
        })
        .unwrap_or_else(|| path.with_extension("spool"));
    let spool = match spool::Spool::open(Some(spool_path), cli.spool_max) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skypunch-agent: {e}");
            return EXIT_FAILED;
        }
    };
    monitor::run(config, client, me, spool).await
}
